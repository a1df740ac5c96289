//! `matrix findings LOGDIR`: the sanitizer and fatal-error reports of a run, one row per
//! distinct signature (or per signature and cell, or pivoted by an axis), a diff of two runs,
//! or one report in full.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use super::{format, Cli, Failed};
use crate::export::{Export, OutputFormat};
use crate::findings::known::{self, Catalog, Decision};
use crate::findings::output::{Listing, PivotCaseClash, FINDINGS_FORMATS};
use crate::findings::{self, diff, output, suppress, Findings, UnknownId};
use crate::logs::Index;
use crate::table::visible;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
#[command(group(clap::ArgGroup::new("baseline").args(["diff", "known"]).multiple(false)))]
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

    /// With --diff: exit with status 1 when NEW has a signature OLD does not; with --known:
    /// when the run has a new or regressed finding (for nightly CI). The output is still
    /// printed.
    #[arg(long, requires = "baseline")]
    pub fail_on_new: bool,

    /// Known-findings catalog (CSV `id,status,link,note,first_seen,last_seen`; status open,
    /// fixed, ignored or flaky; an id a finding's or a family's). Adds a `status` column:
    /// new, regressed (seen after fixed), known, ignored; new and regressed are listed first.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["by", "show"])]
    pub known: Option<PathBuf>,

    /// With --known: only new and regressed findings.
    #[arg(long = "new", requires = "known", conflicts_with = "suppressions")]
    pub new_only: bool,

    /// With --known: write the catalog back (atomically, through a symlink, never over a
    /// special file): each finding seen gets `last_seen`, each new one a row (`open`, first and
    /// last seen). A missing FILE is created.
    #[arg(long, requires = "known")]
    pub update: bool,

    /// With --update: the run's label for `first_seen`/`last_seen` [default: today's date,
    /// UTC, YYYY-MM-DD].
    #[arg(long, value_name = "LABEL", requires = "update")]
    pub run_label: Option<String>,

    /// Print a suppression file in the sanitizer's own syntax for the run's findings of that
    /// sanitizer (TSan `race_top:`/`race:` per site, UBSan `check:file`, LSan `leak:`), each
    /// entry after a comment with its id, cells and (with --known) link.
    #[arg(long, value_name = "SANITIZER", value_parser = ["tsan", "ubsan", "lsan"],
          conflicts_with_all = ["cells", "by", "diff", "show", "update", "fail_on_new", "format"])]
    pub suppressions: Option<String>,

    /// With --suppressions and --known: only findings the catalog gives this status.
    #[arg(long, value_name = "STATUS", value_parser = ["open", "fixed", "ignored", "flaky"],
          requires_all = ["known", "suppressions"])]
    pub status: Option<String>,

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
        known: Option<Box<Known>>,
    },
}

/// `--known FILE` and what goes with it, the catalog read.
struct Known {
    path: PathBuf,
    catalog: Catalog,
    /// `--update`: the run's label.
    update: Option<String>,
    new_only: bool,
    fail_on_new: bool,
}

/// How the findings of one log directory are shown.
enum View {
    /// One row per signature, or per (signature, cell) with `--cells`.
    Listing { cells: bool },
    /// `--suppressions`: a suppression file; with `--status`, of the findings the catalog
    /// gives that status.
    Suppressions {
        which: suppress::Sanitizer,
        status: Option<Decision>,
    },
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
                known: None,
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
        let view = match (&args.show, &args.by, &args.suppressions) {
            (Some(id), _, _) => View::Show {
                id: id.clone(),
                flag: Some("--show"),
            },
            (None, Some(by), _) => View::Pivot { by: by.clone() },
            (None, None, Some(which)) => View::Suppressions {
                which: suppress::Sanitizer::ALL
                    .into_iter()
                    .find(|s| s.name() == which)
                    .expect("clap checks the value"),
                status: args.status.as_deref().map(|s| {
                    Decision::ALL
                        .into_iter()
                        .find(|d| d.name() == s)
                        .expect("clap checks the value")
                }),
            },
            (None, None, None) => View::Listing { cells: args.cells },
        };
        let known = args
            .known
            .as_ref()
            .map(|path| Known::resolve(path, args).map(Box::new))
            .transpose()?;
        Ok(Settings {
            format: if args.suppressions.is_some() {
                OutputFormat::Text
            } else {
                format
            },
            mode: Mode::Logs {
                logdir,
                index,
                view,
                known,
            },
        })
    }
}

impl Known {
    /// The catalog read (a missing file with `--update` is an empty catalog), the label checked.
    fn resolve(path: &Path, args: &FindingsArgs) -> Result<Known> {
        let missing = std::fs::symlink_metadata(path).is_err();
        let catalog = if missing && args.update {
            Catalog::default()
        } else {
            Catalog::read(path).map_err(|err| anyhow::anyhow!("--known: {err:#}"))?
        };
        let update = args
            .update
            .then(|| args.run_label.clone().unwrap_or_else(known::today));
        if let Some(label) = &update {
            if label.trim().is_empty() || label.contains(['\n', '\r']) {
                bail!("--run-label {label:?}: a label is one non-empty line (a date, a run id)");
            }
        }
        Ok(Known {
            path: path.to_path_buf(),
            catalog,
            update,
            new_only: args.new_only,
            fail_on_new: args.fail_on_new,
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
            known,
        } => {
            let found = scan(&logdir, index.as_ref())?;
            match view {
                View::Listing { cells } if known.is_some() => {
                    let known = known.expect("matched");
                    listing_with_catalog(format, found, cells, &known)
                }
                View::Suppressions { which, status } => {
                    let catalog = known.as_ref().map(|k| &k.catalog);
                    let keep = |f: &findings::Finding| match (catalog, status) {
                        (Some(c), Some(s)) => c.entry_of(f).is_some_and(|e| e.status == s),
                        _ => true,
                    };
                    Ok(suppress::suppressions(&found, which, catalog, &keep).into_bytes())
                }
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
                    statuses: None,
                    width: super::format::terminal_width(),
                }
                .export(format),
            }
        }
    }
}

/// The findings against the catalog: new and regressed first, only those with `--new`; the
/// catalog written back first with `--update` (so a failed write prints nothing); a failure
/// with `--fail-on-new` when any is new or regressed.
fn listing_with_catalog(
    format: OutputFormat,
    mut found: Findings,
    cells: bool,
    known: &Known,
) -> Result<Vec<u8>> {
    let statuses = known.catalog.statuses(&found);
    if let Some(label) = &known.update {
        let updated = known.catalog.updated(&found, label);
        crate::output::write_atomic(&known.path, &updated.to_csv()?)
            .map_err(|err| anyhow::anyhow!("--known --update: {err:#}"))?;
    }
    found.findings.sort_by_key(|f| statuses[&f.id]);
    if known.new_only {
        found.findings.retain(|f| statuses[&f.id].is_news());
    }
    let news = statuses.values().filter(|s| s.is_news()).count();
    let out = Listing {
        findings: &found,
        cells,
        statuses: Some(&statuses),
        width: super::format::terminal_width(),
    }
    .export(format)?;
    if known.fail_on_new && news > 0 {
        return Err(Failed {
            stdout: out,
            summary: format!(
                "{news} new or regressed finding(s) against {}",
                known.path.display()
            ),
        }
        .into());
    }
    Ok(out)
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
        "{} {} {}\nframes: {}\nreports: {} in {} cell(s)\nexample: {}:{}-{}\n{}\n",
        finding.id,
        visible(&finding.signature.tool),
        visible(&finding.signature.kind),
        visible(&frames),
        finding.reports,
        finding.cells.len(),
        visible(&finding.example.log),
        finding.example.line,
        finding.example.end,
        finding.cells.first().map_or(String::new(), |cell| format!(
            "reproduce: {}\n",
            visible(&crate::report::reasons::repro_command(&cell.cell))
        )),
    );
    out.push_str(&findings::report_text(logdir, &finding.example)?);
    Ok(out.into_bytes())
}
