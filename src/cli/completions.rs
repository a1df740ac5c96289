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

pub fn man() -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}
