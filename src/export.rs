//! The output layer: the one set of output formats, and the trait through which every result
//! type (report, SARIF analysis, findings, check, explain) is written in them.

use std::fmt;

use anyhow::{bail, Result};

/// A way to write a result on stdout. Which formats a result has is its [`Export::FORMATS`];
/// asking for another is an error that names the ones it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputFormat {
    /// Comma-separated values with a header row (serialized by the `csv` crate).
    Csv,
    /// One pretty-printed JSON document (serialized by serde).
    Json,
    /// Aligned columns for a person at a terminal.
    Table,
    /// Lines of prose for a person (check's problems, explain's answers).
    Text,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 4] = [Self::Csv, Self::Json, Self::Table, Self::Text];

    /// The name on the command line (`--format NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Table => "table",
            Self::Text => "text",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A result that can be written in some of the [`OutputFormat`]s. An implementation lists its
/// formats in `FORMATS` and writes each of them; the others keep the default, which refuses.
/// Callers go through [`Export::export`], which refuses a format not in `FORMATS` with a
/// message naming the ones that are.
pub trait Export {
    /// What the result is, for error messages (`"a report"`).
    const WHAT: &'static str;
    /// The formats this result is written in, in the order help texts list them.
    const FORMATS: &'static [OutputFormat];

    fn csv(&self) -> Result<Vec<u8>> {
        unsupported::<Self>(OutputFormat::Csv)
    }
    fn json(&self) -> Result<Vec<u8>> {
        unsupported::<Self>(OutputFormat::Json)
    }
    fn table(&self) -> Result<Vec<u8>> {
        unsupported::<Self>(OutputFormat::Table)
    }
    fn text(&self) -> Result<Vec<u8>> {
        unsupported::<Self>(OutputFormat::Text)
    }

    /// The result in `format`, or an error naming the formats it has.
    fn export(&self, format: OutputFormat) -> Result<Vec<u8>> {
        if !Self::FORMATS.contains(&format) {
            return unsupported::<Self>(format);
        }
        match format {
            OutputFormat::Csv => self.csv(),
            OutputFormat::Json => self.json(),
            OutputFormat::Table => self.table(),
            OutputFormat::Text => self.text(),
        }
    }
}

fn unsupported<E: Export + ?Sized>(format: OutputFormat) -> Result<Vec<u8>> {
    let names: Vec<&str> = E::FORMATS.iter().map(|f| f.name()).collect();
    bail!(
        "{} has no {format} form; it is written as: {}",
        E::WHAT,
        names.join(", ")
    )
}

/// `value` as pretty-printed JSON ending in a newline: how every JSON output is written.
pub fn json_bytes<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(value)?;
    out.push(b'\n');
    Ok(out)
}

/// The first two names of a CSV header that differ only by case (or not at all): readers that
/// ignore case, spreadsheets among them, would take one column for the other.
pub fn case_clash<S: AsRef<str>>(header: &[S]) -> Option<(&str, &str)> {
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for name in header {
        let name = name.as_ref();
        if let Some(first) = seen.insert(name.to_lowercase(), name) {
            return Some((first, name));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_differ_only_by_case_clash() {
        assert_eq!(
            case_clash(&["key", "Stage", "x", "stage"]),
            Some(("Stage", "stage"))
        );
        assert_eq!(case_clash(&["a", "a"]), Some(("a", "a")));
        assert_eq!(case_clash(&["key", "label", "result"]), None);
    }

    struct Counts(usize);

    impl Export for Counts {
        const WHAT: &'static str = "a count";
        const FORMATS: &'static [OutputFormat] = &[OutputFormat::Json, OutputFormat::Text];
        fn json(&self) -> Result<Vec<u8>> {
            json_bytes(&self.0)
        }
        fn text(&self) -> Result<Vec<u8>> {
            Ok(format!("{} things\n", self.0).into_bytes())
        }
        // Written but not listed: export must still refuse it.
        fn csv(&self) -> Result<Vec<u8>> {
            Ok(b"n\n".to_vec())
        }
    }

    #[test]
    fn listed_formats_are_written() {
        assert_eq!(Counts(3).export(OutputFormat::Json).unwrap(), b"3\n");
        assert_eq!(Counts(3).export(OutputFormat::Text).unwrap(), b"3 things\n");
    }

    #[test]
    fn other_formats_are_refused_naming_the_valid_ones() {
        for format in [OutputFormat::Csv, OutputFormat::Table] {
            let err = Counts(3).export(format).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("a count has no {format} form; it is written as: json, text")
            );
        }
    }
}
