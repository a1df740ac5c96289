//! The command line: argument types (clap derive) and dispatch to each command's module.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::definition::Matrix;
use crate::expand::{Filter, Selection};

mod render;
mod report;

#[derive(Debug, Parser)]
#[command(
    name = "matrix",
    version,
    about = "Expand the CPython sanitizer build matrix into build scripts, a CSV index and Argo manifests",
    long_about = None
)]
pub struct Cli {
    /// Matrix definition to use instead of the built-in one.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write one build script per cell into a directory and the CSV index on stdout.
    Render(render::RenderArgs),
    /// Classify build logs into results per cell (CSV, JSON or a table; chart; HTML page).
    Report(report::ReportArgs),
}

/// `--only` / `--except`, shared by every command that works on a selection of cells.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectionArgs {
    /// Keep only cells whose AXIS has one of the values (repeatable; all must hold).
    #[arg(long, value_name = "AXIS=V1[,V2...]")]
    pub only: Vec<Filter>,

    /// Drop cells whose AXIS has one of the values (repeatable).
    #[arg(long, value_name = "AXIS=V1[,V2...]")]
    pub except: Vec<Filter>,
}

impl SelectionArgs {
    pub fn selection(&self) -> Selection {
        Selection {
            only: self.only.clone(),
            except: self.except.clone(),
        }
    }
}

impl Cli {
    pub fn load_matrix(&self) -> Result<Matrix> {
        match &self.config {
            Some(path) => Matrix::from_file(path),
            None => Matrix::builtin(),
        }
    }
}

/// Parses the arguments, runs the command, and turns an error into a message on stderr and a
/// failing exit status. Nothing reaches stdout unless the command succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(stdout) => match std::io::stdout().lock().write_all(&stdout) {
            Ok(()) => ExitCode::SUCCESS,
            // A closed pipe (`matrix render | head`) is the reader's choice, not an error.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: cannot write to stdout: {err}");
                ExitCode::FAILURE
            }
        },
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command and returns what it prints on stdout.
pub fn run(cli: &Cli) -> Result<Vec<u8>> {
    match &cli.command {
        Command::Render(args) => render::run(cli, args),
        Command::Report(args) => report::run(cli, args),
    }
}
