//! `matrix report LOGDIR`: classified results of build logs as CSV, JSON or a table, with
//! optional chart (SVG) and report page (HTML or AsciiDoc) files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use super::{format, Cli, Stdout};
use crate::definition::workflow::{WorkflowDefaults, DEFAULT_DEADLINE};
use crate::export::{Export, OutputFormat};
use crate::finding::Finding;
use crate::grammar::parse_duration;
use crate::logs::{self, Index};
use crate::output::{write_atomic, Spool};
use crate::report::output::{CsvCaseClash, DiffInsightsView, DiffView, InsightsView, ReportView};
use crate::report::reasons::{ReasonsView, TestsView};
use crate::report::{self, chart, diff, insights, page, reasons};
use crate::run::rundir::RUN_MARKER;
use crate::templates::{Templates, ADOC_REPORT_TEMPLATE, HTML_REPORT_TEMPLATE};
use crate::{fetch, findings, sarif};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,

    /// Directory of build logs: flat (`build_004-1.sh.txt`, `*.log`, `.zip`, `.gz`) or Argo's
    /// artifact layout (`<workflow>/<pod>/main.log`, `.tgz`).
    #[arg(value_name = "LOGDIR", required_unless_present = "diff")]
    pub logdir: Option<PathBuf>,

    /// The old spelling of `matrix report diff OLD NEW`, kept for a release.
    #[arg(
        long,
        hide = true,
        num_args = 2,
        value_names = ["OLD", "NEW"],
        conflicts_with_all = ["logdir", "chart", "html", "adoc", "by", "reasons", "tests", "sarif"]
    )]
    pub diff: Option<Vec<PathBuf>>,

    /// With the old --diff: `matrix report diff --all`.
    #[arg(long, hide = true, requires = "diff")]
    pub all: bool,

    /// With the old --diff: `matrix report diff --fail-on-regression`.
    #[arg(long, hide = true, requires = "diff")]
    pub fail_on_regression: bool,

    /// CSV index of the cells (`matrix render`'s, or one with a `script_name` column); its
    /// cells without a log are reported as Missing.
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,

    /// Output format (default: table on a terminal, CSV otherwise).
    #[arg(long, value_parser = format::parser(ReportView::FORMATS))]
    pub format: Option<OutputFormat>,

    /// Count results per combination of these index columns (needs --index).
    #[arg(long, value_name = "AXIS,AXIS", value_delimiter = ',')]
    pub by: Vec<String>,

    /// Write the distribution of results as a chart (SVG).
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,

    /// Write a self-contained HTML page: headline counts, insights, the results (a heat map
    /// by the --by axes, the chart), the findings, then the cells, each linked to its log.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Write the same page as AsciiDoc.
    #[arg(long, value_name = "FILE")]
    pub adoc: Option<PathBuf>,

    /// Instead of the cells: the failed cells grouped by cause (reason, cells, results, the
    /// index values they share, an example cell and its log:line).
    #[arg(long, conflicts_with_all = ["tests", "insights"])]
    pub reasons: bool,

    /// Instead of the cells: each test regrtest lists as failed, with its cells and the index
    /// values they share.
    #[arg(long, conflicts_with = "insights")]
    pub tests: bool,

    /// Add the static analyzer's findings of the SARIF files under DIR (as `matrix sarif`
    /// reads them) to the page's Findings section, linked from the cells they came from
    /// (needs --html or --adoc).
    #[arg(long, value_name = "DIR")]
    pub sarif: Option<PathBuf>,

    /// Known-findings catalog (as `matrix findings --known`): the page lists new and regressed
    /// sanitizer findings first and folds the known ones (needs --html or --adoc).
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,

    /// Print the insights instead of the cells: the minimal conditions (`axis=value` terms of
    /// the index) whose cells share an outcome (needs --index).
    #[arg(long)]
    pub insights: bool,

    /// The most `axis=value` terms in an insight's condition.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub depth: usize,

    /// The fewest cells an insight must cover.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_cells: u64,

    #[command(flatten)]
    pub live: LiveArgs,

    /// Title of the chart and the page.
    #[arg(long, value_name = "TEXT", default_value = "Build results")]
    pub title: String,

    /// Render the pages from the templates in DIR (report.html.j2, report.adoc.j2; those it
    /// lacks are the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

/// `--deadline`'s help, with the built-in default.
fn deadline_help() -> String {
    format!(
        "How long a cell may run: a log with a started stage and no finish marker, modified less \
         than this long ago, is `Running` (default: the definition's `workflow.deadline` when \
         `--config` or ./matrix.yaml is there, else {DEFAULT_DEADLINE})"
    )
}

/// The modes of `matrix report` that are commands of their own.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Compare two runs: per cell, old result → new result and the change (regression, fix,
    /// changed, only-old, only-new); a summary on stderr.
    Diff(DiffArgs),
}

/// `matrix report diff OLD NEW`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier run: a log directory (read with --index) or a results file written earlier
    /// (`matrix report --format csv` or `json`). Cells are matched by id; a legacy index's
    /// (script names) by their axis values.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The later run, in either form.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// List unchanged cells too.
    #[arg(long)]
    pub all: bool,

    /// Exit non-zero when a cell regressed (for nightly CI); the output is printed all the
    /// same.
    #[arg(long)]
    pub fail_on_regression: bool,

    /// CSV index of the cells of a side that is a log directory (`matrix render`'s, or one with
    /// a `script_name` column).
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,

    /// Output format (default: table on a terminal, CSV otherwise).
    #[arg(long, value_parser = format::parser(DiffView::FORMATS))]
    pub format: Option<OutputFormat>,

    /// Instead of the cells: the axis values all regressions (fixes, other changes) share.
    #[arg(long)]
    pub insights: bool,

    /// The fewest cells a shared condition must cover.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_cells: u64,

    #[command(flatten)]
    pub live: LiveArgs,
}

pub fn run(cli: &Cli, args: &ReportArgs) -> Result<Stdout> {
    if let Some(ReportCommand::Diff(diff)) = &args.command {
        return run_diff(&DiffSettings::resolve(cli, diff)?).map(Stdout::Bytes);
    }
    if args.diff.is_some() {
        super::deprecated("matrix report --diff", "matrix report diff");
    }
    let settings = Settings::resolve(cli, args)?;
    if let Some(sides) = &args.diff {
        return run_diff(&DiffSettings::of_old_spelling(
            settings, &sides[0], &sides[1],
        ))
        .map(Stdout::Bytes);
    }
    let logdir = args
        .logdir
        .as_deref()
        .expect("clap requires LOGDIR without a command or --diff");
    run_logdir(&settings, logdir).map_err(|err| {
        super::with_flags(err, |clash: CsvCaseClash| {
            anyhow::anyhow!(
                "{}: rename one of them in the index, or use --format json",
                clash.clash()
            )
        })
    })
}

/// What `matrix report diff` asks for, resolved once.
struct DiffSettings {
    old: PathBuf,
    new: PathBuf,
    index: Option<Index>,
    /// `None` when nothing is Running (--finished).
    live: Option<logs::Live>,
    format: OutputFormat,
    all: bool,
    insights: bool,
    fail_on_regression: bool,
    min_cells: usize,
}

impl DiffSettings {
    fn resolve(cli: &Cli, args: &DiffArgs) -> Result<DiffSettings> {
        let index = args.index.as_deref().map(Index::from_file).transpose()?;
        let live = args.live.resolve(cli)?;
        Ok(DiffSettings {
            old: args.old.clone(),
            new: args.new.clone(),
            index,
            live,
            format: format::or_by_terminal(args.format),
            all: args.all,
            insights: args.insights,
            fail_on_regression: args.fail_on_regression,
            min_cells: args.min_cells as usize,
        })
    }

    /// `matrix report --diff OLD NEW`, its flags checked as [`Settings::resolve`] checks them.
    fn of_old_spelling(settings: Settings<'_>, old: &Path, new: &Path) -> DiffSettings {
        let args = settings.args;
        DiffSettings {
            old: old.to_path_buf(),
            new: new.to_path_buf(),
            index: settings.index,
            live: settings.live,
            format: settings.format,
            all: args.all,
            insights: args.insights,
            fail_on_regression: args.fail_on_regression,
            min_cells: args.min_cells as usize,
        }
    }
}

/// `--deadline` and `--finished`: what tells a log of a running cell from one of a killed
/// pod, shared by `report` and `report diff`.
#[derive(Debug, Clone, Args)]
pub struct LiveArgs {
    #[arg(
        long,
        value_name = "DURATION",
        conflicts_with = "finished",
        help = deadline_help()
    )]
    pub deadline: Option<String>,

    /// The logs are of runs that are over: a log that stops inside a stage is of a killed pod,
    /// never `Running` (for logs copied without their modification times).
    #[arg(long)]
    pub finished: bool,
}

impl LiveArgs {
    /// With `--finished`, or for logs of a run that is over, nothing is Running; else a log
    /// is Running within the deadline (`--deadline`, else the definition's).
    fn resolve(&self, cli: &Cli) -> Result<Option<logs::Live>> {
        Ok(match self.finished {
            true => None,
            false => Some(logs::Live {
                deadline: Duration::from_secs(deadline_seconds(cli, self.deadline.as_deref())?),
                now: SystemTime::now(),
            }),
        })
    }
}

/// What the flags ask for, resolved once: every check across flags is made here, before any
/// log is read or any file written.
struct Settings<'a> {
    args: &'a ReportArgs,
    templates: Templates,
    index: Option<Index>,
    /// `None` when nothing is Running (--finished).
    live: Option<logs::Live>,
    format: OutputFormat,
    /// A page is written (--html or --adoc).
    page: bool,
    /// `--known FILE`, read.
    known: Option<findings::known::Catalog>,
}

impl<'a> Settings<'a> {
    fn resolve(cli: &Cli, args: &'a ReportArgs) -> Result<Settings<'a>> {
        if let Some(chart) = &args.chart {
            check_chart_name(chart)?;
        }
        check_paths(args)?;
        let templates = load_templates(args)?;
        let page = args.html.is_some() || args.adoc.is_some();
        if args.sarif.is_some() && !page {
            bail!(
                "--sarif DIR adds the SARIF findings to the report page: give --html or --adoc too"
            );
        }
        if args.known.is_some() && !page {
            bail!(
                "--known FILE orders the report page's findings (new first, known folded): give \
                 --html or --adoc too, or use `matrix findings --known FILE`"
            );
        }
        let known = args
            .known
            .as_deref()
            .map(findings::known::Catalog::read)
            .transpose()?;
        let index = index_path(args)
            .as_deref()
            .map(Index::from_file)
            .transpose()?;
        let live = match fetched_run_is_over(args.logdir.as_deref())? {
            true => None,
            false => args.live.resolve(cli)?,
        };
        check_insights_and_by(args, index.as_ref())?;
        let format = format::or_by_terminal(args.format);
        check_by_is_shown(args, args.format, page)?;
        Ok(Settings {
            args,
            templates,
            index,
            live,
            format,
            page,
            known,
        })
    }
}

/// `--chart` names an SVG file: the only kind of chart written.
fn check_chart_name(chart: &Path) -> Result<()> {
    match chart.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") => Ok(()),
        Some(e) if e.eq_ignore_ascii_case("png") => bail!(
            "--chart {}: PNG charts are not supported (they would need a font library); \
             write .svg and convert it (e.g. rsvg-convert)",
            chart.display()
        ),
        _ => bail!(
            "--chart {}: the chart file must end in .svg",
            chart.display()
        ),
    }
}

/// `--index`, else a run directory's own `index.csv` (`matrix run`'s, `matrix fetch`'s).
fn index_path(args: &ReportArgs) -> Option<PathBuf> {
    args.index.clone().or_else(|| {
        let dir = args.logdir.as_deref()?;
        let index = dir.join("index.csv");
        (dir.join(RUN_MARKER).is_file() && index.is_file()).then_some(index)
    })
}

/// What the run directory LOGDIR is (or whose `logs/` it is) says of its run, as the page's
/// headline shows it; nothing for other log directories.
fn about_the_run(logdir: &Path) -> Vec<(&'static str, String)> {
    let run = [
        Some(logdir),
        logdir.parent().filter(|_| logdir.ends_with("logs")),
    ]
    .into_iter()
    .flatten()
    .find(|dir| dir.join(RUN_MARKER).is_file());
    let Some(run) = run else {
        return Vec::new();
    };
    let place = std::fs::canonicalize(run).unwrap_or_else(|_| run.to_path_buf());
    let mut facts = vec![("run", place.display().to_string())];
    if let Some(about) = crate::run::about::RunAbout::read(run) {
        facts.extend([
            ("started", about.started),
            ("on", about.host),
            ("engine", about.engine),
            ("definition", about.definition),
            ("matrix", about.matrix),
        ]);
    }
    // A run `matrix fetch` gathered names the Workflows it came from.
    let workflows: std::collections::BTreeSet<String> = fetch::record::read(run)
        .map(|records| records.into_values().map(|r| r.workflow).collect())
        .unwrap_or_default();
    if !workflows.is_empty() {
        let names: Vec<String> = workflows.into_iter().collect();
        facts.push(("workflows", names.join(", ")));
    }
    facts
}

/// Whether LOGDIR is a run `matrix fetch` gathered in which no pod was running: its logs were
/// written when fetched, so their times say nothing of whether the cells still run, and a log
/// that stops inside a stage is of a killed pod (as with --finished). Cells not started have
/// no log, so they do not count.
fn fetched_run_is_over(logdir: Option<&Path>) -> Result<bool> {
    let Some(dir) = logdir.filter(|d| d.join(fetch::record::FETCH_RECORD).is_file()) else {
        return Ok(false);
    };
    let running = fetch::status::Fate::Running.name();
    Ok(fetch::record::read(dir)?
        .values()
        .all(|r| r.fate != running))
}

/// No file written (chart, pages) may be one read (logs, index, templates, SARIF).
fn check_paths(args: &ReportArgs) -> Result<()> {
    let inputs: Vec<(&Path, &str)> = [
        (args.logdir.as_deref(), "the log directory"),
        (args.index.as_deref(), "the index"),
        (args.templates.as_deref(), "the templates"),
        (args.sarif.as_deref(), "the SARIF directory"),
    ]
    .into_iter()
    .filter_map(|(path, what)| Some((path?, what)))
    .collect();
    let outputs: Vec<(&Path, &str)> = [
        (args.chart.as_deref(), "--chart"),
        (args.html.as_deref(), "--html"),
        (args.adoc.as_deref(), "--adoc"),
    ]
    .into_iter()
    .filter_map(|(path, what)| Some((path?, what)))
    .collect();
    crate::output::check_outputs(&inputs, &outputs)
}

/// The page templates (`--templates`, else built-in), those of the pages asked for checked.
fn load_templates(args: &ReportArgs) -> Result<Templates> {
    let templates = Templates::load(args.templates.as_deref())?;
    if args.html.is_some() {
        templates.check(HTML_REPORT_TEMPLATE)?;
    }
    if args.adoc.is_some() {
        templates.check(ADOC_REPORT_TEMPLATE)?;
    }
    Ok(templates)
}

/// --insights and --by are over the index's columns: they need one, and --by names its columns.
fn check_insights_and_by(args: &ReportArgs, index: Option<&Index>) -> Result<()> {
    if args.insights && index.is_none() && args.diff.is_none() {
        bail!("--insights needs --index: the conditions are over the index's axis columns");
    }
    if args.depth > 6 {
        bail!("--depth {}: at most 6 terms (the search grows with the number of axes to the power of the depth)", args.depth);
    }
    if !args.by.is_empty() && index.is_none() {
        bail!("--by needs --index: the axes to group by are the index's columns");
    }
    if let Some(index) = index {
        for name in &args.by {
            if !index.columns.contains(name) {
                bail!(
                    "--by: the index has no column {name:?}; it has: {}",
                    index.columns.join(", ")
                );
            }
        }
    }
    Ok(())
}

/// --by is refused where it would change nothing, before any file is written. A page shows
/// it: then only an explicit `--format csv` is refused, not the CSV a pipe or a cron job gets
/// by default (the page is what such a job asked for).
fn check_by_is_shown(args: &ReportArgs, format: Option<OutputFormat>, page: bool) -> Result<()> {
    let format = match format {
        Some(format) => format,
        None if page => return Ok(()),
        None => format::or_by_terminal(None),
    };
    if !args.by.is_empty() && args.insights && !page {
        bail!(
            "--by with --insights: the insights are conditions over every axis and have no \
             pivot; drop --by, or ask for the pivot without --insights (or on the page, --html)"
        );
    }
    if !args.by.is_empty() && !args.insights && format == OutputFormat::Csv {
        bail!(
            "--by with CSV: the CSV has one row per cell and no room for a pivot; \
             use --format json or table, or the page (--html)"
        );
    }
    Ok(())
}

/// The report of one log directory: the files asked for (chart, pages) are written, then the
/// view asked for is returned.
fn run_logdir(settings: &Settings<'_>, logdir: &Path) -> Result<Stdout> {
    let args = settings.args;
    let index = settings.index.as_ref();
    // Insights (printed, or on a page) speak of each cell's sanitizer findings, and the page
    // lists them: the reports come from the same pass that classifies the logs.
    let with_findings = args.insights || settings.page;
    let (mut report, found) = read_report(logdir, index, settings.live, with_findings)?;
    if logdir.join(fetch::record::FETCH_RECORD).is_file() {
        report.apply_pod_ends(&fetch::record::pod_ends(logdir)?);
    }
    let statuses: Option<BTreeMap<String, &'static str>> = settings
        .known
        .as_ref()
        .zip(found.as_ref())
        .map(|(catalog, found)| {
            (catalog.statuses(found).into_iter())
                .map(|(id, status)| (id, status.name()))
                .collect()
        });
    let (cell_findings, findings, report_texts) = split_findings(found, logdir, settings.page);
    let sarif_findings = args.sarif.as_deref().map(read_sarif).transpose()?;
    if let Some(index) = index {
        warn_unlisted(index, &report);
    }
    let pivot = if args.by.is_empty() {
        None
    } else {
        Some(report.pivot(&args.by)?)
    };
    let limits = insights::Limits {
        depth: args.depth,
        min_cells: args.min_cells as usize,
    };
    // The search over conditions is the costliest step after reading: only when shown.
    let found = if args.insights || settings.page {
        insights::find(
            &report.index_columns,
            &insights::classified(&report.cells),
            &cell_findings,
            limits,
        )
    } else {
        Default::default()
    };

    if let Some(path) = &args.chart {
        write_atomic(path, chart::svg(&report, &args.title)?.as_bytes())?;
    }
    write_pages(
        settings,
        logdir,
        page::Page {
            title: &args.title,
            report: &report,
            by: &args.by,
            pivot: pivot.as_ref(),
            insights: &found,
            findings: findings.as_deref(),
            sarif: sarif_findings.as_deref(),
            statuses: statuses.as_ref(),
            about: &about_the_run(logdir),
            report_texts: &report_texts,
            log_base: None,
        },
    )?;
    view(settings, &report, pivot.as_ref(), &found)
}

/// The findings of the logs, when read: per cell, the ids of its findings (for the insights),
/// the findings as the page lists them, and for a page the report text of each of the first
/// [`page::REPORT_TEXTS`] (most reports first), read from its example's log.
fn split_findings(
    found: Option<findings::Findings>,
    logdir: &Path,
    page: bool,
) -> (
    insights::CellFindings,
    Option<Vec<Finding>>,
    BTreeMap<String, String>,
) {
    let Some(found) = found else {
        return (Default::default(), None, BTreeMap::new());
    };
    let shapes = (found.findings.iter())
        .map(findings::output::shared_finding)
        .collect::<Vec<Finding>>();
    let mut texts = BTreeMap::new();
    if page {
        let shown = &found.findings[..found.findings.len().min(page::REPORT_TEXTS)];
        let examples: Vec<&findings::Example> = shown.iter().map(|f| &f.example).collect();
        // A log gone since the scan leaves its finding without a text, not the page unwritten.
        if let Ok(read) = findings::report_texts(logdir, &examples) {
            for (finding, text) in shown.iter().zip(read) {
                if let Ok(text) = text {
                    texts.insert(finding.id.clone(), text);
                }
            }
        }
    }
    (found.per_cell(), Some(shapes), texts)
}

/// Warns of logs whose cells the index does not list (their index columns stay empty).
fn warn_unlisted(index: &Index, report: &report::Report) {
    let listed: std::collections::HashSet<&str> =
        index.rows.iter().map(|(k, _)| k.as_str()).collect();
    let extra: Vec<&str> = report
        .cells
        .iter()
        .map(|c| c.key.as_str())
        .filter(|k| !listed.contains(k))
        .collect();
    if let Some(first) = extra.first() {
        eprintln!(
            "warning: {} log(s) are of cells the index does not list (first: {first}); \
             they are reported with empty index columns",
            extra.len(),
            first = crate::table::visible(first)
        );
    }
}

/// Writes the pages asked for (--html, then --adoc) of `contents`, each linking to the logs
/// relative to where it is.
fn write_pages(settings: &Settings<'_>, logdir: &Path, contents: page::Page<'_>) -> Result<()> {
    let args = settings.args;
    for (path, kind) in [
        (&args.html, page::Kind::Html),
        (&args.adoc, page::Kind::AsciiDoc),
    ] {
        let Some(path) = path else { continue };
        let page = page::Page {
            log_base: page::log_base(path, logdir),
            ..contents
        };
        write_atomic(
            path,
            page::render(&settings.templates, kind, &page)?.as_bytes(),
        )?;
    }
    Ok(())
}

/// What is printed: the failures by reason (--reasons), by test (--tests), the insights
/// (--insights), or else the cells (with the --by pivot).
fn view(
    settings: &Settings<'_>,
    report: &report::Report,
    pivot: Option<&report::Pivot>,
    found: &[insights::Insight],
) -> Result<Stdout> {
    let (args, format) = (settings.args, settings.format);
    let printed = if args.reasons {
        ReasonsView(&reasons::reasons(report), super::format::terminal_width()).export(format)
    } else if args.tests {
        TestsView(&reasons::tests(report), super::format::terminal_width()).export(format)
    } else if args.insights {
        InsightsView {
            insights: found,
            width: super::format::terminal_width(),
        }
        .export(format)
    } else if format == OutputFormat::Csv {
        // A row per cell: at a million cells hundreds of megabytes, spooled as written
        // instead of held (the pivot goes to the page, never into the CSV).
        let spool = report::output::write_csv(report, Spool::new())?;
        return Ok(Stdout::Spooled(spool));
    } else {
        return cells_view(report, pivot, format).map(Stdout::Bytes);
    };
    printed.map(Stdout::Bytes)
}

/// The cells (and the `--by` pivot) as JSON or a table.
fn cells_view(
    report: &report::Report,
    pivot: Option<&report::Pivot>,
    format: OutputFormat,
) -> Result<Vec<u8>> {
    ReportView {
        report,
        pivot,
        width: super::format::terminal_width(),
    }
    .export(format)
}

/// Reads and classifies the logs under `logdir`; a directory without logs is an error. With
/// `with_findings`, also the findings of the reports the same pass collected; without, each
/// log is kept compact from the moment its pass ends (a million pods' logs are all held until
/// the last is read).
fn read_report(
    logdir: &Path,
    index: Option<&Index>,
    live: Option<logs::Live>,
    with_findings: bool,
) -> Result<(report::Report, Option<findings::Findings>)> {
    if !with_findings {
        let scanned = scan_logs(logdir, &|log| logs::CompactLog::new(log, live))?;
        return Ok((report::build_compact(scanned.logs, index), None));
    }
    let mut scanned = scan_logs(logdir, &|log| log)?;
    let logs = (scanned.logs.iter_mut())
        .map(|log| {
            let reports = std::mem::take(&mut log.reports);
            (&*log, reports)
        })
        .collect();
    let found = findings::from_logs(logs, index);
    Ok((report::build(scanned.logs, index, live), Some(found)))
}

/// Every log under `logdir` as `keep` keeps it, with a progress bar; what was skipped is shown,
/// and a directory without logs is an error.
fn scan_logs<T: Send>(
    logdir: &Path,
    keep: &(dyn Fn(logs::ScannedLog) -> T + Sync),
) -> Result<logs::Scanned<T>> {
    let scanned = {
        let bar = super::progress::Bar::new("reading logs");
        let progress = |done, total| bar.update(done, total);
        logs::scan_dir_as(logdir, logs::Read::CausesAndReports, &progress, keep)?
    };
    super::progress::warn(&scanned.warnings);
    if scanned.logs.is_empty() {
        bail!("{}", no_logs(logdir));
    }
    Ok(scanned)
}

/// The error for a log directory without logs (`report`, `findings`).
pub(super) fn no_logs(logdir: &Path) -> String {
    format!(
        "{}: no build logs found (looked for *.log, *.txt, *.gz, *.zip, *.tgz, Argo's \
         <workflow>/<pod>/main.log and `argo logs` output)",
        logdir.display()
    )
}

/// The located findings of the SARIF files under `dir`, as `matrix sarif` lists them.
fn read_sarif(dir: &Path) -> Result<Vec<page::StaticFinding>> {
    // Nothing is skipped here: the page's findings would be incomplete.
    let loaded = sarif::load(dir, false).map_err(|err| {
        super::with_flags(err, |unreadable: sarif::Unreadable| {
            anyhow::anyhow!("{} (fix its permissions)", unreadable.problem())
        })
    })?;
    super::progress::warn(&loaded.warnings);
    let analysis = sarif::Analysis::from_loaded(&loaded);
    Ok(static_findings(&analysis.findings))
}

/// The page's static findings: one per shared id (the same finding in several versions is one
/// row), with its versions in release order, its builds and functions merged, in the order
/// the analysis lists them first.
fn static_findings(found: &[sarif::Finding]) -> Vec<page::StaticFinding> {
    let mut rows: Vec<page::StaticFinding> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in found.iter().filter(|f| f.located()) {
        let shared = sarif::format::shared_finding(f);
        let row = *at.entry(shared.id.clone()).or_insert_with(|| {
            rows.push(page::StaticFinding {
                finding: crate::finding::Finding {
                    cells: Vec::new(),
                    reports: 0,
                    versions: Vec::new(),
                    ..shared.clone()
                },
                functions: Vec::new(),
            });
            rows.len() - 1
        });
        let row = &mut rows[row];
        row.finding.versions.push(f.version.text.clone());
        row.finding.reports += shared.reports;
        for build in shared.cells {
            if !row.finding.cells.contains(&build) {
                row.finding.cells.push(build);
            }
        }
        for function in &f.functions {
            if !row.functions.contains(function) {
                row.functions.push(function.clone());
            }
        }
    }
    rows
}

/// `matrix report diff OLD NEW`: the changed cells (all with --all), a summary on stderr, and
/// what the regressions, fixes and changes share.
fn run_diff(settings: &DiffSettings) -> Result<Vec<u8>> {
    let (index, live, format) = (settings.index.as_ref(), settings.live, settings.format);
    let side = |path: &Path| -> Result<_> {
        if path.is_dir() {
            Ok(diff::sides_of_report(
                &read_report(path, index, live, false)?.0,
            ))
        } else {
            diff::sides_of_file(path)
        }
    };
    let (old, new) = (side(&settings.old)?, side(&settings.new)?);
    let comparison = diff::Comparison::of(&old, &new, settings.min_cells)?;
    let (summary, shared) = (&comparison.summary, &comparison.shared);
    let shown: Vec<&diff::Row> = comparison
        .rows
        .iter()
        .filter(|r| settings.all || r.change != diff::Change::Unchanged)
        .collect();
    let width = super::format::terminal_width();
    let out = if settings.insights {
        DiffInsightsView { shared, width }.export(format)?
    } else {
        DiffView {
            rows: &shown,
            summary,
            shared,
            width,
        }
        .export(format)?
    };
    if format != OutputFormat::Table || settings.insights {
        eprintln!("{summary}");
    }
    if settings.fail_on_regression && summary.regression > 0 {
        let regressions = summary.regression;
        return Err(super::Failed {
            stdout: out,
            summary: format!("{regressions} cell(s) regressed (--fail-on-regression)"),
        }
        .into());
    }
    Ok(out)
}

/// The deadline in seconds: `--deadline`, else the definition's `workflow.deadline` (from
/// `--config` or ./matrix.yaml, read only then: a report needs no definition), else the
/// built-in default, as `matrix run`'s.
fn deadline_seconds(cli: &Cli, flag: Option<&str>) -> Result<u64> {
    if let Some(flag) = flag {
        return parse_duration(flag).map_err(|e| anyhow::anyhow!("--deadline {flag}: {e}"));
    }
    if cli.config.is_some() || Path::new(super::LOCAL_DEFINITION).is_file() {
        return Ok(cli.load_matrix()?.workflow.deadline_seconds);
    }
    Ok(WorkflowDefaults::builtin().deadline_seconds)
}
