//! `matrix completions SHELL` and `matrix man`: generated from the argument definitions.

use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: Shell,
}

pub fn run(args: &CompletionsArgs) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "matrix", &mut out);
    Ok(out)
}

/// The man page: clap_mangen's sections, with the exit statuses under their usual heading
/// (EXIT STATUS) instead of the generic one it gives `--help`'s closing text.
pub fn man() -> Result<Vec<u8>> {
    use clap_mangen::roff::{bold, roman, Roff};
    let man = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    let mut exit = Roff::new();
    exit.control("SH", ["EXIT STATUS"]);
    for (status, meaning) in super::EXIT_STATUSES {
        exit.control("TP", [] as [&str; 0])
            .text([bold(status.to_string())])
            .text([roman(meaning)]);
    }
    exit.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}
