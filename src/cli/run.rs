//! `matrix run`: renders the selected cells, runs their scripts on this machine and prints the
//! results' summary; the work itself is [`crate::run`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;

use super::{Cli, Failed, SelectionArgs};
use crate::cell::Cell;
use crate::definition::workflow::DEFAULT_DEADLINE;
use crate::definition::Matrix;
use crate::engine::{engine_memory, Engine, EngineChoice};
use crate::grammar::parse_duration;
use crate::images::verify;
use crate::index::index_csv;
use crate::render::{Renderer, Script, SourceView};
use crate::report::{output, CellResult, Outcome, Stage};
use crate::run::cache::{self, default_cache_dir, LocalSource, Prepared};
use crate::run::jobs::{parallelism, Machine, Parallelism};
use crate::run::preflight::{run_bash, Missing, Preflight};
use crate::run::rundir::RunDir;
use crate::run::{self, CellJob, Rendered, RunOptions, Setting, STOP_GRACE};

/// `--engine`: the command-line spelling of [`EngineChoice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// A container engine that answers (podman, then docker), else host.
    Auto,
    Podman,
    Docker,
    Host,
}

impl From<EngineArg> for EngineChoice {
    fn from(arg: EngineArg) -> Self {
        match arg {
            EngineArg::Auto => EngineChoice::Auto,
            EngineArg::Podman => EngineChoice::Podman,
            EngineArg::Docker => EngineChoice::Docker,
            EngineArg::Host => EngineChoice::Host,
        }
    }
}

/// A setting of the run as its flag, so the run's messages name what the user typed.
pub(super) fn flag(setting: Setting) -> String {
    match setting {
        Setting::Jobs => "--jobs (-j)".into(),
        other => format!("--{}", other.key()),
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run directory: index.csv, scripts/, logs/, artifacts/, results.csv.
    #[arg(long, value_name = "RUNDIR", default_value = "matrix-run")]
    pub out: PathBuf,

    /// Cells at once [default: what the cores and memory fit, at most one per core].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// Where the scripts run: in their OS's image (podman, docker), or directly here (host).
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,

    /// Source cache shared by all cells [default: ~/.cache/matrix/sources].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// The source of a CPython version instead of its download (repeatable): a tarball, a git
    /// checkout or an unpacked source tree; a branch version (`main`, `3.14`) needs one.
    #[arg(long, value_name = "VERSION=PATH")]
    pub source: Vec<LocalSource>,

    #[arg(long, value_name = "DURATION", help = format!(
        "Per-cell deadline, e.g. 4h, 90m, 30s (default: `workflow.deadline`, else \
         {DEFAULT_DEADLINE})"
    ))]
    pub deadline: Option<String>,

    /// Keep each cell's work directory (its source tree and build) when it ends.
    #[arg(long)]
    pub keep_work: bool,

    /// Continue the run in RUNDIR: cells whose log has a finish marker are kept, the rest run.
    #[arg(long)]
    pub resume: bool,

    /// Exit non-zero when a cell's result is one of these: a result (`Tests. Failed`), an
    /// outcome (`Failed`, `Timeout`, `Segmentation fault`, `Aborted`, `OOM`), `Unknown`, or
    /// `any` (anything but Passed).
    #[arg(long, value_name = "RESULT,...", value_delimiter = ',')]
    pub fail_on: Vec<String>,

    /// Use the templates in DIR instead of the built-in ones (those it lacks stay built-in).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// Container registry of the images (default: the definition's `image.registry`).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    #[arg(long, help = format!(
        "Run every cell of the definition when it has more than {UNSELECTED_LIMIT} and no \
         selection (--only, --except, --cover) narrows them"
    ))]
    pub all: bool,

    #[command(flatten)]
    pub tests: super::TestsArg,
}

/// More cells than this, with no selection, need `--all`: a few dozen cells are an evening's
/// run of one machine, the whole matrix more likely a missing `--only`.
pub const UNSELECTED_LIMIT: usize = 40;

/// `--fail-on`'s values, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FailOn {
    Any,
    Result(Stage, Outcome),
    Outcome(Outcome),
    Unknown,
}

impl FailOn {
    fn parse(text: &str) -> Result<FailOn> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("any") {
            return Ok(FailOn::Any);
        }
        if text.eq_ignore_ascii_case("unknown") {
            return Ok(FailOn::Unknown);
        }
        if let Some(o) = Outcome::ALL
            .iter()
            .find(|o| o.name().eq_ignore_ascii_case(text))
        {
            return Ok(FailOn::Outcome(*o));
        }
        for stage in Stage::ALL {
            for outcome in Outcome::ALL {
                if CellResult::Result(stage, outcome)
                    .label()
                    .eq_ignore_ascii_case(text)
                {
                    return Ok(FailOn::Result(stage, outcome));
                }
            }
        }
        let outcomes: Vec<&str> = Outcome::ALL.iter().map(|o| o.name()).collect();
        bail!(
            "--fail-on `{text}` is not a result: give `any`, `Unknown`, an outcome ({}) or a \
             result such as `Tests. Failed`",
            outcomes.join(", ")
        )
    }

    fn matches(&self, result: &CellResult) -> bool {
        match (self, result) {
            (FailOn::Any, CellResult::Result(_, Outcome::Passed)) => false,
            (FailOn::Any, _) => true,
            (FailOn::Unknown, CellResult::Unknown(_)) => true,
            (FailOn::Outcome(o), CellResult::Result(_, outcome)) => o == outcome,
            (FailOn::Result(s, o), CellResult::Result(stage, outcome)) => {
                s == stage && o == outcome
            }
            _ => false,
        }
    }
}

pub fn run(cli: &Cli, args: &RunArgs) -> Result<Vec<u8>> {
    let settings = Settings::resolve(cli, args)?;
    let scripts = settings
        .renderer
        .render_all(&settings.matrix, &settings.cells)?;
    let index = index_csv(
        &settings.matrix,
        &settings.cells,
        "scripts",
        &settings.registry,
    )?;
    let jobs = cell_jobs(&settings.matrix, &settings.cells, &settings.registry)?;
    let engine = Engine::choose(settings.engine, &flag(Setting::Engine))?;
    preflight(&settings, &scripts, &jobs, &engine)?;
    let sources = prepare_sources(&settings, &jobs)?;
    // Only now, when nothing refused the start, is there a run directory.
    let dir = RunDir::open(&settings.out, settings.resume, flag)?;
    let options = RunOptions {
        engine,
        parallelism: settings.parallelism,
        deadline: settings.deadline,
        stop_grace: STOP_GRACE,
        keep_work: settings.keep_work,
        resume: settings.resume,
        cache: settings.cache.clone(),
        sources,
        memory: settings.memory.clone(),
        name: flag,
    };
    eprintln!(
        "matrix run: {} cell(s) in {}, {} at a time with make -j{} each, engine {}",
        settings.cells.len(),
        settings.out.display(),
        options.parallelism.cells,
        options.parallelism.jobs_per_cell,
        options.engine.name()
    );
    let outcome = run::run(
        &dir,
        &jobs,
        &Rendered {
            scripts: &scripts,
            index_csv: &index,
        },
        &options,
    )?;
    conclude(&settings, &dir, &outcome)
}

/// What the flags ask for over the definition and the defaults, resolved once: every check of
/// a flag, and across flags, is made here, before anything is rendered or any engine asked;
/// the run works from these alone.
struct Settings {
    /// The run directory (`--out`), checked: a directory of its own that `--resume` may or
    /// may not continue.
    out: PathBuf,
    resume: bool,
    keep_work: bool,
    fail_on: Vec<FailOn>,
    matrix: Matrix,
    /// `--deadline`, else the definition's `workflow.deadline`.
    deadline: Duration,
    /// A container's memory limit, the definition's `workflow.memory_limit` in the engine's
    /// notation.
    memory: String,
    /// The templates (`--templates`), with `--tests`.
    renderer: Renderer,
    cells: Vec<Cell>,
    /// `--jobs`, else what the machine fits.
    parallelism: Parallelism,
    /// `--cache`, else the user's cache directory.
    cache: PathBuf,
    sources: Vec<LocalSource>,
    /// `--registry`, else the definition's `image.registry`.
    registry: String,
    engine: EngineChoice,
}

impl Settings {
    fn resolve(cli: &Cli, args: &RunArgs) -> Result<Settings> {
        let fail_on = args
            .fail_on
            .iter()
            .map(|t| FailOn::parse(t))
            .collect::<Result<Vec<_>>>()?;
        check_out(cli, args)?;
        let matrix = cli.load_matrix()?;
        let deadline = deadline(args, &matrix)?;
        let memory = engine_memory(&matrix.workflow.memory_limit.text)
            .map_err(|e| anyhow::anyhow!("`workflow.memory_limit` of {}: {e}", matrix.origin))?;
        let renderer =
            Renderer::load(args.templates.as_deref())?.with_test_args(args.tests.args()?);
        let cells = args.selection.cells(&matrix)?;
        let parallelism = parallelism(Machine::this(), args.jobs, cells.len(), flag)?;
        let cache = match &args.cache {
            Some(dir) => dir.clone(),
            None => default_cache_dir(flag)?,
        };
        let registry = (args.registry.clone()).unwrap_or_else(|| matrix.image.registry.clone());
        check_all(args, cells.len())?;
        Ok(Settings {
            out: args.out.clone(),
            resume: args.resume,
            keep_work: args.keep_work,
            fail_on,
            deadline: Duration::from_secs(deadline),
            memory,
            renderer,
            cells,
            parallelism,
            cache,
            sources: args.source.clone(),
            registry,
            engine: args.engine.into(),
            matrix,
        })
    }
}

/// Before anything is rendered or any engine asked: where the run would write is a directory
/// of its own (holding none of the inputs) that `--resume` may or may not continue.
fn check_out(cli: &Cli, args: &RunArgs) -> Result<()> {
    for (input, what) in cli.inputs(args.templates.as_deref()) {
        if crate::output::holds(&args.out, input)? {
            bail!(
                "--out {} holds {what} ({}): a run writes and deletes inside its directory; \
                 give a directory of its own",
                args.out.display(),
                input.display()
            );
        }
    }
    RunDir::check(&args.out, args.resume, flag)
}

/// What the cells need of `engine`, checked before any source is prepared or cell started; on
/// the host, the probes of `matrix images verify` answered here.
fn preflight(
    settings: &Settings,
    scripts: &[Script],
    jobs: &[CellJob],
    engine: &Engine,
) -> Result<()> {
    let images: Vec<String> = jobs.iter().map(|j| j.image.clone()).collect();
    let host_programs = || -> Result<Missing> {
        let plan = verify::plan(&settings.matrix, &settings.cells, scripts)?;
        let script = verify::script(settings.renderer.templates(), &plan)?;
        let answers = verify::parse_answers(&run_bash(&script)?, plan.probes.len())?;
        let mut missing = Missing::new();
        for shortfall in verify::shortfalls(&plan, &answers) {
            for what in shortfall.missing {
                missing
                    .entry(what)
                    .or_default()
                    .push(shortfall.cell.clone());
            }
        }
        Ok(missing)
    };
    Preflight {
        matrix: &settings.matrix,
        cells: &settings.cells,
        images: &images,
    }
    .check(engine, host_programs)
}

/// Every selected version's source in the cache, with its identity: `--source`'s tarballs and
/// checkouts, else downloads. Resumed cells count too, so a `--source` is checked against the
/// whole selection.
fn prepare_sources(settings: &Settings, jobs: &[CellJob]) -> Result<BTreeMap<String, Prepared>> {
    let mut sources: Vec<SourceView> = jobs.iter().map(|j| j.source.clone()).collect();
    sources.sort_by(|a, b| a.version.cmp(&b.version));
    sources.dedup_by(|a, b| a.version == b.version);
    cache::prepare(&settings.cache, &sources, &settings.sources, flag, &|m| {
        eprintln!("matrix run: {m}")
    })
}

/// Whether the flags select cells at all: any of them is a choice the user made.
fn selects(selection: &SelectionArgs) -> bool {
    !selection.only.is_empty() || !selection.except.is_empty() || selection.cover.cover.is_some()
}

/// A run of more than [`UNSELECTED_LIMIT`] cells nobody selected needs `--all`.
fn check_all(args: &RunArgs, cells: usize) -> Result<()> {
    if cells > UNSELECTED_LIMIT && !selects(&args.selection) && !args.all {
        bail!(
            "no selection, and the definition has {cells} cells (more than \
             {UNSELECTED_LIMIT}): add --all to run them all, or choose some with --only, \
             --except or --cover"
        );
    }
    Ok(())
}

/// A cell's deadline in seconds: `--deadline`, else the definition's `workflow.deadline`
/// (its built-in default when it has none).
fn deadline(args: &RunArgs, matrix: &Matrix) -> Result<u64> {
    match &args.deadline {
        Some(flag) => parse_duration(flag).map_err(|e| anyhow::anyhow!("--deadline: {e}")),
        None => Ok(matrix.workflow.deadline_seconds),
    }
}

/// What the run needs of each cell: its id, image, source and whether its container keeps
/// the engine's seccomp filter.
fn cell_jobs(matrix: &Matrix, cells: &[Cell], registry: &str) -> Result<Vec<CellJob>> {
    cells
        .iter()
        .map(|cell| {
            Ok(CellJob {
                id: cell.id.clone(),
                image: cell.image(matrix, registry),
                source: SourceView::of(matrix, cell),
                unconfined: crate::plan::BuildPlan::for_cell(matrix, cell)?.unconfined,
            })
        })
        .collect()
}

/// The summary of the results; an error (after the summary) when the run was interrupted or
/// a cell's result is one `--fail-on` names.
fn conclude(settings: &Settings, dir: &RunDir, outcome: &run::RunOutcome) -> Result<Vec<u8>> {
    let summary = output::summary_table(&outcome.report.summary()).into_bytes();
    let results = dir.results();
    if let Some(stopped) = outcome.interrupted {
        // The results of what finished are written; the rest shows as Missing.
        eprint!("{}", String::from_utf8_lossy(&summary));
        bail!(
            "interrupted: {stopped} running cell(s) stopped without a result; the results of \
             the finished cells are in {}; `matrix run --resume --out {}` runs the rest",
            results.display(),
            settings.out.display()
        );
    }
    let failing: Vec<&str> = outcome
        .report
        .cells
        .iter()
        .filter(|c| settings.fail_on.iter().any(|f| f.matches(&c.result)))
        .map(|c| c.key.as_str())
        .collect();
    if let Some(first) = failing.first() {
        let message = format!(
            "--fail-on: {} cell(s) have a result it names (first: {first}); see {}",
            failing.len(),
            results.display()
        );
        return Err(Failed {
            stdout: summary,
            summary: message,
        }
        .into());
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_takes_results_outcomes_unknown_and_any() {
        let failed = CellResult::Result(Stage::Tests, Outcome::Failed);
        let passed = CellResult::Result(Stage::Tests, Outcome::Passed);
        let timeout = CellResult::Result(Stage::Configure, Outcome::Timeout);
        assert!(FailOn::parse("tests. failed").unwrap().matches(&failed));
        assert!(!FailOn::parse("Tests. Failed").unwrap().matches(&timeout));
        assert!(FailOn::parse("Timeout").unwrap().matches(&timeout));
        assert!(FailOn::parse("any").unwrap().matches(&timeout));
        assert!(!FailOn::parse("any").unwrap().matches(&passed));
        assert!(FailOn::parse("Unknown")
            .unwrap()
            .matches(&CellResult::Unknown("x".into())));
        let err = FailOn::parse("Broken").unwrap_err().to_string();
        assert!(
            err.contains("`Broken`") && err.contains("Tests. Failed"),
            "{err}"
        );
    }
}
