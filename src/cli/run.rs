//! `matrix run`: renders the selected cells, runs their scripts on this machine and prints the
//! results' summary; the work itself is [`crate::run`]'s.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{Cli, Failed, SelectionArgs};
use crate::cell::Cell;
use crate::definition::workflow::DEFAULT_DEADLINE;
use crate::definition::Matrix;
use crate::engine::{engine_memory, Engine, EngineChoice};
use crate::grammar::parse_duration;
use crate::images::verify;
use crate::render::{Renderer, SourceView, RENDER_PART};
use crate::report::filter::ResultFilter;
use crate::report::output;
use crate::run::cache::{self, default_cache_dir, LocalSource, Prepared};
use crate::run::jobs::{parallelism, Machine, Parallelism};
use crate::run::lock::RunLock;
use crate::run::preflight::{run_bash, Missing, Preflight};
use crate::run::rundir::RunDir;
use crate::run::{self, CellJob, Rendered, RunOptions, Setting, STOP_GRACE};
use crate::selection::{select_cells, CellList, Selection};

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

    /// Continue the run in RUNDIR: cells whose log has a finish marker are kept, the rest run
    /// (without --only/--except/--cells: the cells of RUNDIR/index.csv).
    #[arg(long)]
    pub resume: bool,

    /// Continue the run in RUNDIR (as --resume) and run again its cells whose result is one of
    /// these (`failed`, `timeout`, `unknown`, `any`, an outcome or a result such as
    /// `Tests. Failed`); their earlier logs are kept as attempts (logs/attempts/N/).
    #[arg(long, value_name = "RESULT,...", value_delimiter = ',')]
    pub rerun: Vec<String>,

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

pub fn run(cli: &Cli, args: &RunArgs) -> Result<Vec<u8>> {
    let mut settings = Settings::resolve(cli, args)?;
    // The scripts are rendered a part at a time where they are needed (the host's preflight,
    // the run directory), never all at once: 100,000 cells' scripts are a gigabyte.
    let jobs = cell_jobs(&settings.matrix, &settings.cells, &settings.registry)?;
    let engine = Engine::choose(settings.engine, &flag(Setting::Engine))?;
    check_mounts(&settings, &engine)?;
    preflight(&settings, &jobs, &engine)?;
    let sources = prepare_sources(&settings, &jobs)?;
    // Only now, when nothing refused the start, is there a run directory.
    let dir = RunDir::open(&settings.out, settings.resume, flag, settings.lock.take())?;
    let options = RunOptions {
        about: run::about::RunAbout::now(&settings.matrix.origin, engine.name()),
        rerun: settings.rerun.clone(),
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
            renderer: &settings.renderer,
            matrix: &settings.matrix,
            cells: &settings.cells,
            registry: &settings.registry,
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
    /// `--resume`, or implied by `--rerun`.
    resume: bool,
    /// `--rerun`: the results whose cells run again.
    rerun: Vec<ResultFilter>,
    keep_work: bool,
    fail_on: Vec<ResultFilter>,
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
    /// The lock of an existing run directory, taken when it was checked: a second `run` in
    /// it is refused before it renders anything.
    lock: Option<RunLock>,
}

impl Settings {
    fn resolve(cli: &Cli, args: &RunArgs) -> Result<Settings> {
        let fail_on = args
            .fail_on
            .iter()
            .map(|t| ResultFilter::parse(t, "--fail-on"))
            .collect::<Result<Vec<_>>>()?;
        let rerun = args
            .rerun
            .iter()
            .map(|t| ResultFilter::parse(t, "--rerun"))
            .collect::<Result<Vec<_>>>()?;
        let resume = args.resume || !rerun.is_empty();
        let lock = check_out(cli, args, resume)?;
        let matrix = cli.load_matrix()?;
        let deadline = deadline(args, &matrix)?;
        let memory = engine_memory(&matrix.workflow.memory_limit.text)
            .map_err(|e| anyhow::anyhow!("`workflow.memory_limit` of {}: {e}", matrix.origin))?;
        let renderer =
            Renderer::load(args.templates.as_deref())?.with_test_args(args.tests.args()?);
        let cells = cells(args, &matrix, resume)?;
        let parallelism = parallelism(Machine::this(), args.jobs, cells.len(), flag)?;
        let cache = match &args.cache {
            Some(dir) => dir.clone(),
            None => default_cache_dir(flag)?,
        };
        let registry = (args.registry.clone()).unwrap_or_else(|| matrix.image.registry.clone());
        check_all(args, cells.len(), resume)?;
        Ok(Settings {
            out: args.out.clone(),
            resume,
            rerun,
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
            lock,
        })
    }
}

/// The cells to run: the selection's; when resuming without one, the cells of the run's own
/// index (so `--resume` and `--rerun` continue the run that was started, whatever its flags).
fn cells(args: &RunArgs, matrix: &Matrix, resume: bool) -> Result<Vec<Cell>> {
    let index = RunDir::index_of(&args.out);
    if !resume || !index.is_file() {
        return args.selection.cells(matrix);
    }
    let list = CellList::from_index(&index)?;
    if !args.selection.is_empty() {
        let cells = args.selection.cells(matrix)?;
        same_cells(args, &list, &cells)?;
        return Ok(cells);
    }
    let selection = Selection {
        cells: vec![list],
        ..Selection::default()
    };
    select_cells(matrix, &selection).with_context(|| {
        format!(
            "the run in {} has cells the matrix definition no longer has; give the cells to \
             run with --only/--except/--cells",
            args.out.display()
        )
    })
}

/// A selection given to `--resume` or `--rerun` must be the run's own cells: the run's
/// index, scripts and results describe one set of cells, and a resume that ran others would
/// have to rewrite them (dropping the earlier cells' rows and scripts) or mix two runs in one.
/// Another selection is refused, naming what differs.
fn same_cells(args: &RunArgs, run: &CellList, selected: &[Cell]) -> Result<()> {
    use std::collections::BTreeSet;
    let theirs: BTreeSet<&str> = run.ids.iter().map(|p| p.text.as_str()).collect();
    // The index's ids are read as patterns matching exactly themselves.
    let escaped: Vec<String> = selected
        .iter()
        .map(|c| glob::Pattern::escape(&c.id))
        .collect();
    let ours: BTreeSet<&str> = escaped.iter().map(String::as_str).collect();
    let added: Vec<&str> = ours.difference(&theirs).copied().collect();
    let left_out: Vec<&str> = theirs.difference(&ours).copied().collect();
    if added.is_empty() && left_out.is_empty() {
        return Ok(());
    }
    let first = |ids: &[&str]| {
        ids.first()
            .map_or(String::new(), |id| format!(" (first: {id})"))
    };
    bail!(
        "--resume: the selection is not the cells of the run in {}: it adds {} cell(s){} and \
         leaves out {} of its {} cell(s){}. A resume continues the run it was started as: \
         leave out --only/--except/--cells/--cover to take the run's own cells (its index.csv), \
         or run other cells into another --out",
        args.out.display(),
        added.len(),
        first(&added),
        left_out.len(),
        theirs.len(),
        first(&left_out)
    )
}

/// Before anything is rendered or any engine asked: where the run would write is a directory
/// of its own (holding none of the inputs) that `--resume` (or `--rerun`) may or may not
/// continue. An existing run directory is locked here, for the whole run.
fn check_out(cli: &Cli, args: &RunArgs, resume: bool) -> Result<Option<RunLock>> {
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
    if !args.rerun.is_empty() && !args.out.join(crate::run::rundir::RUN_MARKER).is_file() {
        bail!(
            "--rerun: {} is not a run directory: --rerun runs cells of an earlier run again; \
             give its --out",
            args.out.display()
        );
    }
    RunDir::check(&args.out, resume, flag)?;
    if !args.out.join(crate::run::rundir::RUN_MARKER).is_file() {
        return Ok(None);
    }
    let lock = RunLock::acquire(&args.out, &flag(Setting::Out))?;
    // Checked again under the lock: the run that held it may have changed the directory.
    RunDir::check(&args.out, resume, flag)?;
    Ok(Some(lock))
}

/// A container engine mounts the run directory's and the cache's paths with `--volume
/// SOURCE:TARGET:OPTIONS`, which has no way to write a `:` inside SOURCE (podman says
/// `incorrect volume format` for every cell): such a path is refused before anything runs.
fn check_mounts(settings: &Settings, engine: &Engine) -> Result<()> {
    let Engine::Container(tool) = engine else {
        return Ok(());
    };
    for (path, setting) in [
        (&settings.out, Setting::Out),
        (&settings.cache, Setting::Cache),
    ] {
        let full = std::path::absolute(path)
            .with_context(|| format!("cannot resolve {}", path.display()))?;
        if full.to_string_lossy().contains(':') {
            bail!(
                "{} {}: {} mounts it into each cell's container as `--volume {}:...`, which \
                 cannot hold a `:` in the path; give a path without `:`, or {} host",
                flag(setting),
                full.display(),
                tool.program(),
                full.display(),
                flag(Setting::Engine)
            );
        }
    }
    Ok(())
}

/// What the cells need of `engine`, checked before any source is prepared or cell started; on
/// the host, the probes of `matrix images verify` answered here.
fn preflight(settings: &Settings, jobs: &[CellJob], engine: &Engine) -> Result<()> {
    let images: Vec<Arc<str>> = jobs.iter().map(|j| j.image.clone()).collect();
    let host_programs = || -> Result<Missing> {
        let mut per_cell = verify::CellProbes::new();
        for part in settings.cells.chunks(RENDER_PART) {
            let scripts = settings.renderer.render_all(&settings.matrix, part)?;
            verify::add_cells(&mut per_cell, &settings.matrix, part, &scripts)?;
        }
        let plan = verify::assemble(per_cell);
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
    // One per version, in version order: the jobs share them.
    let by_version: BTreeMap<&str, &SourceView> = (jobs.iter())
        .map(|j| (j.source.version.as_str(), &*j.source))
        .collect();
    let sources: Vec<SourceView> = by_version.into_values().cloned().collect();
    cache::prepare(&settings.cache, &sources, &settings.sources, flag, &|m| {
        // Names of sources and what a download printed: escaped, as every message is.
        eprintln!("matrix run: {}", crate::table::visible_lines(m))
    })
}

/// Whether the flags select cells at all: any of them is a choice the user made.
/// A run of more than [`UNSELECTED_LIMIT`] cells nobody selected needs `--all`; a run that
/// continues one (`--resume`, `--rerun`) has the cells of its own index.
fn check_all(args: &RunArgs, cells: usize, resume: bool) -> Result<()> {
    let continues = resume && RunDir::index_of(&args.out).is_file();
    if cells > UNSELECTED_LIMIT && args.selection.is_empty() && !args.all && !continues {
        bail!(
            "no selection, and the definition has {cells} cells (more than \
             {UNSELECTED_LIMIT}): add --all to run them all, or choose some with --only, \
             --except, --cells or --cover"
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
pub(super) fn cell_jobs(matrix: &Matrix, cells: &[Cell], registry: &str) -> Result<Vec<CellJob>> {
    let mut images: HashMap<usize, Arc<str>> = HashMap::new();
    let mut sources: HashMap<usize, Arc<SourceView>> = HashMap::new();
    cells
        .iter()
        .map(|cell| {
            let tag = cell.values[matrix.image.tag_axis];
            let version = cell.values[matrix.source.version_axis];
            Ok(CellJob {
                id: cell.id.clone(),
                image: (images.entry(tag))
                    .or_insert_with(|| cell.image(matrix, registry).into())
                    .clone(),
                source: (sources.entry(version))
                    .or_insert_with(|| Arc::new(SourceView::of(matrix, cell)))
                    .clone(),
                unconfined: crate::plan::BuildPlan::for_cell(matrix, cell)?.unconfined,
            })
        })
        .collect()
}

/// The summary of the results; an error (after the summary) when the run was interrupted or
/// a cell's result is one `--fail-on` names.
fn conclude(settings: &Settings, dir: &RunDir, outcome: &run::RunOutcome) -> Result<Vec<u8>> {
    let summary = output::summary_table(&outcome.written.summary.rows()).into_bytes();
    let results = dir.results();
    if let Some(failure) = &outcome.engine_failure {
        // The results of what finished are written; the cell the engine failed is Missing.
        eprint!("{}", String::from_utf8_lossy(&summary));
        bail!("{failure}");
    }
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
    eprintln!(
        "matrix run: results in {}, logs in {}; `matrix report {}` reads them (--html for a page)",
        results.display(),
        dir.root.join("logs").display(),
        settings.out.display()
    );
    let (failing, first) = outcome.written.failing(&settings.fail_on);
    if let Some(first) = first {
        let message = format!(
            "--fail-on: {failing} cell(s) have a result it names (first: {first}); see {}",
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
