//! `--format`: the command-line spelling of the domain's [`OutputFormat`]s, one value parser
//! per command offering only the formats its result is written in.

use std::io::IsTerminal;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::ValueEnum;

use crate::export::OutputFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Table,
    Text,
}

impl From<Format> for OutputFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Csv => OutputFormat::Csv,
            Format::Json => OutputFormat::Json,
            Format::Table => OutputFormat::Table,
            Format::Text => OutputFormat::Text,
        }
    }
}

/// A `--format` parser that accepts exactly `formats` (a result type's `Export::FORMATS`), so
/// `--help`, completions and the error for any other value list the same ones.
pub fn parser(formats: &'static [OutputFormat]) -> impl TypedValueParser<Value = OutputFormat> {
    let offered = Format::value_variants()
        .iter()
        .filter(|f| formats.contains(&OutputFormat::from(**f)))
        .filter_map(|f| f.to_possible_value());
    PossibleValuesParser::new(offered).map(|name| {
        let format = Format::from_str(&name, false).expect("a value clap offered");
        OutputFormat::from(format)
    })
}

/// The format of a command whose `--format` is optional: a table for a person at a terminal,
/// CSV for a pipe or a file.
pub fn or_by_terminal(format: Option<OutputFormat>) -> OutputFormat {
    format.unwrap_or(if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Csv
    })
}

/// The width tables fit: `COLUMNS` when set, else the terminal's, else unlimited.
pub fn terminal_width() -> usize {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return n;
    }
    console::Term::stdout()
        .size_checked()
        .map_or(usize::MAX, |(_, cols)| cols as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_output_format_has_a_spelling_and_round_trips() {
        for format in OutputFormat::ALL {
            let spelled = Format::from_str(format.name(), false).unwrap();
            assert_eq!(OutputFormat::from(spelled), format);
        }
    }

    #[test]
    fn the_parser_refuses_formats_the_result_lacks() {
        let cmd = clap::Command::new("t").arg(
            clap::Arg::new("format")
                .long("format")
                .value_parser(parser(&[OutputFormat::Csv, OutputFormat::Json])),
        );
        let ok = cmd
            .clone()
            .try_get_matches_from(["t", "--format", "json"])
            .unwrap();
        assert_eq!(
            ok.get_one::<OutputFormat>("format"),
            Some(&OutputFormat::Json)
        );
        let err = cmd
            .try_get_matches_from(["t", "--format", "table"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("[possible values: csv, json]"), "{err}");
    }
}
