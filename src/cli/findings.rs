//! `matrix findings LOGDIR`: the sanitizer and fatal-error reports of a run, one row per
//! distinct signature (or per signature and cell, or pivoted by an axis), a diff of two runs,
//! or one report in full.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use super::{format, Cli, Failed};
use crate::export::{Export, OutputFormat};
use crate::findings::output::{Listing, PivotCaseClash, FINDINGS_FORMATS};
use crate::findings::{self, diff, output, Findings, UnknownId};
use crate::logs::Index;
use crate::table::visible;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub command: Option<FindingsCommand>,

    /// Directory of build logs, in any layout `matrix report` reads.
    #[arg(value_name = "LOGDIR", required_unless_present = "diff")]
    pub logdir: Option<PathBuf>,

    /// CSV index of the cells (`matrix render`'s): its columns give the axis values the cells
    /// of a finding share, and `--by`.
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,

    /// Output format [default: table on a terminal, csv otherwise].
    #[arg(long, value_parser = format::parser(FINDINGS_FORMATS))]
    pub format: Option<OutputFormat>,

    /// One row per (signature, cell) instead of one per signature.
    #[arg(long, conflicts_with_all = ["by", "diff", "show"])]
    pub cells: bool,

    /// Pivot: signatures × the values of this index column (cells with each value).
    #[arg(long, value_name = "AXIS", requires = "index", conflicts_with_all = ["diff", "show"])]
    pub by: Option<String>,

    /// Compare two runs: each a log directory or a saved `findings` output (CSV or JSON).
    /// Lists new, gone and persisting signatures.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with_all = ["logdir", "show"])]
    pub diff: Option<Vec<PathBuf>>,

    /// With --diff: exit with status 1 when NEW has a signature OLD does not (for CI).
    #[arg(long, requires = "diff")]
    pub fail_on_new: bool,

    /// The old spelling of `matrix findings show ID LOGDIR`, kept for a release.
    #[arg(long, hide = true, value_name = "ID")]
    pub show: Option<String>,
}

/// The modes of `matrix findings` that are commands of their own.
#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// Print one representative report of a finding in full, from its log.
    Show(ShowArgs),
}

/// `matrix findings show ID LOGDIR`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The finding's id, or a prefix of it (at least 4 hex digits), as the id column prints it.
    #[arg(value_name = "ID")]
    pub id: String,

    /// Directory of build logs, in any layout `matrix report` reads.
    #[arg(value_name = "LOGDIR")]
    pub logdir: PathBuf,

    /// CSV index of the cells (`matrix render`'s).
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
}

/// The findings in the logs under `dir`; a directory without logs is an error (no findings
/// there would read as a clean run).
fn scan(dir: &Path, index: Option<&Index>) -> Result<Findings> {
    let scanned = {
        let bar = super::progress::Bar::new("reading logs");
        findings::scan_dir(dir, index, &|done, total| bar.update(done, total))?
    };
    super::progress::warn(&scanned.warnings);
    // Counted as read, so an archive that holds no log counts as none.
    if scanned.findings.logs == 0 {
        bail!("{}", super::report::no_logs(dir));
    }
    Ok(scanned.findings)
}

fn side(path: &Path) -> Result<Vec<diff::Side>> {
    if path.is_dir() {
        Ok(diff::from_findings(&scan(path, None)?))
    } else if path.exists() {
        diff::from_file(path)
    } else {
        bail!(
            "--diff {}: no such file or directory; give a log directory or a saved \
             `matrix findings` output (CSV or JSON)",
            path.display()
        )
    }
}

/// What the flags ask for, resolved once: the output format, and which of the command's modes
/// with what it needs, its flags checked (the index read, `--by` one of its columns) before
/// any log is read.
struct Settings {
    format: OutputFormat,
    mode: Mode,
}

/// What `matrix findings` does.
enum Mode {
    /// `--diff OLD NEW`; `--fail-on-new`.
    Diff {
        old: PathBuf,
        new: PathBuf,
        fail_on_new: bool,
    },
    /// The findings of one log directory, shown as `view` says.
    Logs {
        logdir: PathBuf,
        index: Option<Index>,
        view: View,
    },
}

/// How the findings of one log directory are shown.
enum View {
    /// One row per signature, or per (signature, cell) with `--cells`.
    Listing { cells: bool },
    /// `--by AXIS`: signatures × the values of an index column.
    Pivot { by: String },
    /// One report in full: `matrix findings show ID`, or the old `--show ID` (`flag`, which
    /// errors about the id name).
    Show {
        id: String,
        flag: Option<&'static str>,
    },
}

impl Settings {
    /// `matrix findings show ID LOGDIR`.
    fn resolve_show(args: &ShowArgs) -> Result<Settings> {
        Ok(Settings {
            // A report is shown as it is: text.
            format: OutputFormat::Text,
            mode: Mode::Logs {
                logdir: args.logdir.clone(),
                index: args.index.as_deref().map(Index::from_file).transpose()?,
                view: View::Show {
                    id: args.id.clone(),
                    flag: None,
                },
            },
        })
    }

    fn resolve(args: &FindingsArgs) -> Result<Settings> {
        let format = format::or_by_terminal(args.format);
        if let Some(pair) = &args.diff {
            return Ok(Settings {
                format,
                mode: Mode::Diff {
                    old: pair[0].clone(),
                    new: pair[1].clone(),
                    fail_on_new: args.fail_on_new,
                },
            });
        }
        let logdir = (args.logdir.clone()).expect("clap requires LOGDIR without --diff");
        let index = args.index.as_deref().map(Index::from_file).transpose()?;
        if let (Some(by), Some(index)) = (&args.by, &index) {
            if !index.columns.contains(by) {
                bail!(
                    "--by: the index has no column {by:?}; it has: {}",
                    index.columns.join(", ")
                );
            }
        }
        let view = match (&args.show, &args.by) {
            (Some(id), _) => View::Show {
                id: id.clone(),
                flag: Some("--show"),
            },
            (None, Some(by)) => View::Pivot { by: by.clone() },
            (None, None) => View::Listing { cells: args.cells },
        };
        Ok(Settings {
            format,
            mode: Mode::Logs {
                logdir,
                index,
                view,
            },
        })
    }
}

pub fn run(_cli: &Cli, args: &FindingsArgs) -> Result<Vec<u8>> {
    let settings = match &args.command {
        Some(FindingsCommand::Show(show)) => Settings::resolve_show(show)?,
        None => {
            if args.show.is_some() {
                super::deprecated("matrix findings --show", "matrix findings show");
            }
            Settings::resolve(args)?
        }
    };
    let Settings { format, mode } = settings;
    match mode {
        Mode::Diff {
            old,
            new,
            fail_on_new,
        } => run_diff(format, &old, &new, fail_on_new),
        Mode::Logs {
            logdir,
            index,
            view,
        } => {
            let found = scan(&logdir, index.as_ref())?;
            match view {
                View::Show { id, flag } => show(&logdir, &found, &id, flag),
                View::Pivot { by } => (output::pivot(&found, &by)?.export(format)).map_err(|err| {
                    super::with_flags(err, |clash: PivotCaseClash| {
                        anyhow::anyhow!(
                            "--by {}: {}; use --format json or table",
                            clash.by,
                            clash.clash()
                        )
                    })
                }),
                View::Listing { cells } => Listing {
                    findings: &found,
                    cells,
                }
                .export(format),
            }
        }
    }
}

/// `--diff OLD NEW`: new, gone and persisting signatures; with `fail_on_new`, a failure when
/// NEW has one OLD does not.
fn run_diff(format: OutputFormat, old: &Path, new: &Path, fail_on_new: bool) -> Result<Vec<u8>> {
    let changes = diff::compare(&side(old)?, &side(new)?);
    let out = changes.export(format)?;
    let count = changes
        .iter()
        .filter(|c| c.status == diff::Status::New)
        .count();
    if fail_on_new && count > 0 {
        return Err(Failed {
            stdout: out,
            summary: format!("{count} new finding(s) in {}", new.display()),
        }
        .into());
    }
    Ok(out)
}

/// `matrix findings show ID`: the finding's signature, frames and counts, then its example
/// report in full from its log. An id that names no one finding is named with `flag` when it
/// was given with one.
fn show(logdir: &Path, found: &Findings, id: &str, flag: Option<&str>) -> Result<Vec<u8>> {
    let finding = found.by_id(id).map_err(|err| match flag {
        Some(flag) => super::with_flags(err, |unknown: UnknownId| {
            anyhow::anyhow!("{flag} {}: {}", unknown.id, unknown.reason)
        }),
        None => err,
    })?;
    let frames = finding
        .frames
        .iter()
        .map(|f| f.display())
        .collect::<Vec<_>>()
        .join(" < ");
    // Names from a log are shown as what they are, escapes written out.
    let mut out = format!(
        "{} {} {}\nframes: {}\nreports: {} in {} cell(s)\nexample: {}:{}-{}\n\n",
        finding.id,
        visible(&finding.signature.tool),
        visible(&finding.signature.kind),
        visible(&frames),
        finding.reports,
        finding.cells.len(),
        visible(&finding.example.log),
        finding.example.line,
        finding.example.end,
    );
    out.push_str(&findings::report_text(logdir, &finding.example)?);
    Ok(out.into_bytes())
}
