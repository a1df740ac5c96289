//! The command line: argument types (clap derive) and dispatch to each command's module.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::cell::Cell;
use crate::definition::Matrix;
use crate::output::{NotReplaced, Spool};
use crate::selection::{
    select_cells, CellList, CoverRequest, Filter, FilterError, Selection, Side,
};

mod axes;
mod check;
mod completions;
mod explain;
mod fetch;
mod findings;
mod format;
mod images;
mod init;
mod list;
mod man;
mod progress;
mod render;
mod report;
mod repro;
mod run;
mod sarif;
pub mod workflow;

/// The definition used when `--config` is not given and this file is in the working directory.
pub const LOCAL_DEFINITION: &str = "matrix.yaml";

#[derive(Debug, Parser)]
#[command(
    name = "matrix",
    version,
    about = "Expand the CPython sanitizer build matrix into build scripts, a CSV index and Argo manifests",
    long_about = None,
    after_help = exit_status_help()
)]
pub struct Cli {
    /// Matrix definition to use [default: ./matrix.yaml when present, else the built-in one].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Say on stderr which definition is used.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write one build script per cell into a directory and the CSV index on stdout.
    Render(render::RenderArgs),
    /// Print Argo Workflows manifests for the cells on stdout (`matrix workflow | argo submit -`).
    Workflow(Box<workflow::WorkflowArgs>),
    /// List the cells: their ids, or a table with --long.
    List(list::ListArgs),
    /// The axes, their values, and how many cells have each value.
    Axes(axes::AxesArgs),
    /// Whether a combination is a cell and which rules exclude it; what a slice comes to.
    Explain(explain::ExplainArgs),
    /// Validate the definition, render and lint every script: the CI dry run.
    Check(check::CheckArgs),
    /// Write the built-in matrix definition to a file, for editing.
    Init(init::InitArgs),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff), or write a page per command with --out DIR.
    Man(man::ManArgs),
    /// Write the build images' Dockerfiles (one per OS) after checking them against the matrix.
    Images(images::ImagesArgs),
    /// Distinct GCC -fanalyzer findings per CPython version from a directory of SARIF files.
    Sarif(sarif::SarifArgs),
    /// Classify build logs into results per cell (CSV, JSON or a table; chart; HTML page).
    Report(report::ReportArgs),
    /// The sanitizer and fatal-error reports in build logs, deduplicated by signature.
    Findings(findings::FindingsArgs),
    /// Run the cells' build scripts on this machine and classify their logs into results.
    Run(run::RunArgs),
    /// Run exactly one cell again in a run directory of its own; --shell opens a shell in its
    /// built tree with its environment.
    Repro(repro::ReproArgs),
    /// Gather a run on Argo (its Workflows) into a run directory `matrix report` reads.
    Fetch(fetch::FetchArgs),
}

/// `--tests 'ARGS'`, shared by the commands that render scripts for running.
#[derive(Debug, Clone, Default, Args)]
pub struct TestsArg {
    /// Replace every cell's test arguments, e.g. --tests 'test_int test_bool' (a smoke run).
    #[arg(long, value_name = "ARGS")]
    pub tests: Option<String>,
}

impl TestsArg {
    /// The arguments as words, split the way a shell would.
    pub fn args(&self) -> Result<Option<Vec<String>>> {
        self.tests
            .as_deref()
            .map(|text| {
                shlex::split(text).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--tests {text:?}: unbalanced quotes; give the arguments as a shell would"
                    )
                })
            })
            .transpose()
    }
}

/// `--only` / `--except`, shared by every command that works on a selection of cells.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectionArgs {
    /// Keep only cells whose AXIS has one of the values (repeatable; all must hold);
    /// `id=ID[,ID...]` keeps cells by id, `*` globs allowed (`id=*-tsan-*`).
    #[arg(long, value_name = "AXIS=V1[,V2...]", add = completions::selection_completer())]
    pub only: Vec<Filter>,

    /// Drop cells whose AXIS has one of the values (repeatable); `id=ID[,ID...]` drops cells
    /// by id.
    #[arg(long, value_name = "AXIS=V1[,V2...]", add = completions::selection_completer())]
    pub except: Vec<Filter>,

    /// Keep only the cells FILE names: one id (or `*` glob) a line, `#` comments (repeatable;
    /// a cell must be in every file).
    #[arg(long, value_name = "FILE")]
    pub cells: Vec<PathBuf>,

    #[command(flatten)]
    pub cover: CoverArgs,
}

/// `--cover`, `--cover-seed`, `--include`: a covering subset of the selected cells.
#[derive(Debug, Clone, Default, Args)]
pub struct CoverArgs {
    /// Keep only a covering subset of the selected cells: few cells that together hold every
    /// T-way combination of values found in them (T = 2, 3 or 4).
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u8).range(2..=4))]
    pub cover: Option<u8>,

    /// Seed of the cover: another seed gives another, equally valid cover [default: 0].
    #[arg(long, value_name = "N", requires = "cover")]
    pub cover_seed: Option<u64>,

    /// Cells the cover must hold (e.g. last run's failures); it is completed around them.
    #[arg(
        long,
        value_name = "ID",
        requires = "cover",
        num_args = 1..,
        value_delimiter = ','
    )]
    pub include: Vec<String>,
}

impl CoverArgs {
    pub fn request(&self) -> Option<CoverRequest> {
        self.cover.map(|strength| CoverRequest {
            strength: strength.into(),
            seed: self.cover_seed.unwrap_or(0),
            include: self.include.clone(),
        })
    }
}

impl SelectionArgs {
    /// Whether no filter, cells file or cover was given.
    pub fn is_empty(&self) -> bool {
        self.only.is_empty()
            && self.except.is_empty()
            && self.cells.is_empty()
            && self.cover.cover.is_none()
    }

    /// The selection, with its cells files read.
    pub fn selection(&self) -> Result<Selection> {
        Ok(Selection {
            only: self.only.clone(),
            except: self.except.clone(),
            cells: (self.cells.iter())
                .map(|path| CellList::read(path))
                .collect::<Result<_>>()?,
            cover: self.cover.request(),
        })
    }

    /// The selected cells ([`select_cells`]); a filter naming an unknown axis or value is
    /// reported with the flag it was given with.
    pub fn cells(&self, matrix: &Matrix) -> Result<Vec<Cell>> {
        select_cells(matrix, &self.selection()?).map_err(|err| {
            match err.downcast::<FilterError>() {
                Ok(filter) => {
                    let flag = match filter.side {
                        Side::Only => "--only",
                        Side::Except => "--except",
                    };
                    anyhow::anyhow!("{flag} {filter}")
                }
                Err(err) => err,
            }
        })
    }
}

impl Cli {
    /// What a command that writes a directory read and must not delete: the definition file
    /// (when not the built-in one) and the templates directory.
    pub fn inputs<'a>(&'a self, templates: Option<&'a Path>) -> Vec<(&'a Path, &'static str)> {
        let local = Path::new(LOCAL_DEFINITION);
        let definition = match &self.config {
            Some(path) => Some(path.as_path()),
            None if local.symlink_metadata().is_ok() => Some(local),
            None => None,
        };
        (definition.map(|d| (d, "the matrix definition")).into_iter())
            .chain(templates.map(|t| (t, "the templates")))
            .collect()
    }

    /// The definition to work on: `--config`, else `./matrix.yaml`, else the built-in one.
    pub fn load_matrix(&self) -> Result<Matrix> {
        let matrix = load_definition(self.config.as_deref())?;
        if self.verbose {
            eprintln!("matrix: using the matrix definition {}", matrix.origin);
        }
        Ok(matrix)
    }
}

/// `config`, else `./matrix.yaml`, else the built-in definition.
pub fn load_definition(config: Option<&Path>) -> Result<Matrix> {
    let local = Path::new(LOCAL_DEFINITION);
    match config {
        Some(path) => Matrix::from_file(path),
        // Anything by that name counts, so a dangling link or a directory called
        // matrix.yaml is an error instead of a silent fall-back to the built-in matrix.
        None if local.symlink_metadata().is_ok() => Matrix::from_file(local),
        None => Matrix::builtin(),
    }
}

/// A command that ran and found what it was asked to fail on: its report goes to stdout all
/// the same, [`main`] prints the summary as the error, and the exit status is
/// [`EXIT_FOUND`] (`matrix check` with errors, `--fail-on`, `--fail-on-new`, …).
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub struct Failed {
    pub stdout: Vec<u8>,
    pub summary: String,
}

/// The exit status of a command that ran and found what it was asked to fail on ([`Failed`]).
pub const EXIT_FOUND: u8 = 1;
/// The exit status of a command that could not do its job: bad input or arguments (clap's
/// usage errors use it too), a missing tool, an interrupted run.
pub const EXIT_COULD_NOT_RUN: u8 = 2;

/// Each exit status and what it means: `--help` and the man page's EXIT STATUS say this.
pub const EXIT_STATUSES: [(u8, &str); 3] = [
    (0, "the command did its job, whatever it found"),
    (
        EXIT_FOUND,
        "it ran and found what it was asked to fail on (check errors, --fail-on, \
         --fail-on-regression, --fail-on-new, images verify); its report is on stdout",
    ),
    (
        EXIT_COULD_NOT_RUN,
        "it could not run (bad arguments or input, a missing tool, an interrupted run)",
    ),
];

/// [`EXIT_STATUSES`] for `--help`, each meaning folded to fit 80 columns.
fn exit_status_help() -> String {
    let mut out = String::from("Exit status:");
    for (status, meaning) in EXIT_STATUSES {
        out.push_str(&format!("\n  {status} "));
        let mut width = 4;
        for word in meaning.split_whitespace() {
            if width + 1 + word.len() > 80 {
                out.push_str("\n    ");
                width = 4;
            }
            out.push(' ');
            out.push_str(word);
            width += 1 + word.len();
        }
    }
    out
}

/// Parses the arguments, runs the command, and turns an error into a message on stderr and a
/// failing exit status: [`EXIT_FOUND`] for [`Failed`], [`EXIT_COULD_NOT_RUN`] for any other
/// error. Every error is printed here, once. Nothing reaches stdout unless the command
/// succeeded or is a report of what it found ([`Failed`]).
pub fn main() -> ExitCode {
    completions::complete_from_env();
    let cli = Cli::parse();
    let (stdout, status) = match run(&cli) {
        Ok(stdout) => (stdout, ExitCode::SUCCESS),
        Err(err) => match err.downcast::<Failed>() {
            Ok(failed) => {
                eprintln!("error: {}", crate::table::visible_lines(&failed.summary));
                (Stdout::Bytes(failed.stdout), ExitCode::from(EXIT_FOUND))
            }
            Err(err) => {
                // Errors name files and values from outside (a log's name, a cell id): they
                // print as what they are, never as terminal escapes.
                eprintln!(
                    "error: {}",
                    crate::table::visible_lines(&format!("{err:#}"))
                );
                return ExitCode::from(EXIT_COULD_NOT_RUN);
            }
        },
    };
    let mut out = std::io::stdout().lock();
    let written = match stdout {
        Stdout::Bytes(bytes) => out.write_all(&bytes),
        Stdout::Spooled(spool) => spool.copy_to(&mut out).map(drop),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => status,
        // A closed pipe (`matrix render | head`) is the reader's choice, not an error.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => status,
        Err(err) => {
            eprintln!("error: cannot write to stdout: {err}");
            ExitCode::from(EXIT_COULD_NOT_RUN)
        }
    }
}

/// What a command prints on stdout once it has succeeded.
pub enum Stdout {
    Bytes(Vec<u8>),
    /// Too large to hold in memory (a million cells' workflow): written to a spool as made.
    Spooled(Spool),
}

/// Runs a command and returns what it prints on stdout.
pub fn run(cli: &Cli) -> Result<Stdout> {
    let bytes = match &cli.command {
        Command::Workflow(args) => return workflow::run(cli, args).map(Stdout::Spooled),
        Command::Render(args) => render::run(cli, args),
        Command::List(args) => list::run(cli, args),
        Command::Axes(args) => axes::run(cli, args),
        Command::Explain(args) => explain::run(cli, args),
        Command::Check(args) => check::run(cli, args),
        Command::Init(args) => init::run(cli, args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
        Command::Images(args) => images::run(cli, args),
        Command::Sarif(args) => sarif::run(cli, args),
        Command::Report(args) => return report::run(cli, args),
        Command::Findings(args) => findings::run(cli, args),
        Command::Run(args) => run::run(cli, args),
        Command::Repro(args) => repro::run(cli, args),
        Command::Fetch(args) => fetch::run(cli, args),
    };
    bytes.map(Stdout::Bytes)
}

/// The one note on stderr of a command spelt the old way (a mode that became a command of its
/// own); the old spelling still works for a release.
pub(crate) fn deprecated(old: &str, new: &str) {
    eprintln!("note: `{old}` is now `{new}`; the old spelling goes in a later release");
}

/// The domain's error `E`, when it is `err` itself (no context around it), put in the command
/// line's words by `flagged`; any other error unchanged. The domain names a value or a setting,
/// the command line adds the flag it was given with.
pub(crate) fn with_flags<E>(
    err: anyhow::Error,
    flagged: impl FnOnce(E) -> anyhow::Error,
) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    if !err.chain().next().is_some_and(|outer| outer.is::<E>()) {
        return err;
    }
    match err.downcast::<E>() {
        Ok(domain) => flagged(domain),
        Err(err) => err,
    }
}

/// A directory not replaced ([`NotReplaced`]), with the flags that choose another (`--out`)
/// or replace it all the same (`--force`).
pub(crate) fn out_flags(err: anyhow::Error) -> anyhow::Error {
    with_flags(err, |not: NotReplaced| match not {
        NotReplaced::HoldsInput { .. } => anyhow::anyhow!("{not}: choose another --out"),
        NotReplaced::NotADirectory { .. } => anyhow::anyhow!("{not}; choose another --out"),
        NotReplaced::Foreign { .. } => {
            anyhow::anyhow!("{not}; pass --force to replace it and everything in it")
        }
    })
}

/// Pads columns to their widest cell; for human-readable tables.
pub(crate) fn align(rows: &[Vec<String>]) -> String {
    crate::table::align(rows, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("size budget {0}")]
    struct Budget(usize);

    #[test]
    fn with_flags_rewrites_only_the_outermost_domain_error_of_its_type() {
        let flagged = |err| with_flags(err, |b: Budget| anyhow::anyhow!("--max-bytes {}", b.0));
        assert_eq!(flagged(Budget(3).into()).to_string(), "--max-bytes 3");
        let wrapped = anyhow::Error::from(Budget(3)).context("while packing");
        assert_eq!(
            format!("{:#}", flagged(wrapped)),
            "while packing: size budget 3"
        );
        assert_eq!(flagged(anyhow::anyhow!("other")).to_string(), "other");
    }
}
