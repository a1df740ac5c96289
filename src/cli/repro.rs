//! `matrix repro CELL`: runs exactly one cell (its script, image and environment, as `run` runs
//! it) into a run directory of its own; with `--shell`, then opens a shell in its built tree
//! with the environment its tests ran with.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use super::run::{EngineArg, RunArgs};
use super::{Cli, SelectionArgs, TestsArg};
use crate::engine::{engine_memory, CellLaunch, Engine, CELL_ENV_FILE};
use crate::run::cache::LocalSource;
use crate::run::rundir::RunDir;
use crate::selection::{Filter, ID_AXIS};

#[derive(Debug, Args)]
pub struct ReproArgs {
    /// The cell's id, as results.csv, `matrix list` and findings name it.
    #[arg(value_name = "CELL")]
    pub cell: String,

    /// The run directory [default: repro/CELL-N, with the first N not taken].
    #[arg(long, value_name = "RUNDIR")]
    pub out: Option<PathBuf>,

    /// Where the script runs: in its OS's image (podman, docker), or directly here (host).
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,

    /// Then open a shell in the built source tree with the cell's environment (its
    /// variables, `LD_PRELOAD`, sanitizer options; `matrix_tests` runs its tests). Keeps the
    /// work directory.
    #[arg(long)]
    pub shell: bool,

    /// Keep the cell's work directory (its source tree and build) when it ends.
    #[arg(long)]
    pub keep_work: bool,

    /// Source cache [default: ~/.cache/matrix/sources].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Use a local tarball for a CPython version instead of downloading it (repeatable).
    #[arg(long, value_name = "VERSION=PATH")]
    pub source: Vec<LocalSource>,

    /// The cell's deadline, e.g. 4h, 90m (default: `workflow.deadline`).
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,

    /// Use the templates in DIR instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// Container registry of the image (default: the definition's `image.registry`).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    #[command(flatten)]
    pub tests: TestsArg,
}

pub fn run(cli: &Cli, args: &ReproArgs) -> Result<Vec<u8>> {
    if args.cell.contains(['*', '?', '[', ',']) {
        bail!(
            "`{}`: repro takes one cell id, not a pattern or a list (`matrix list --only \
             id=…` shows what a pattern selects)",
            args.cell
        );
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => free_dir(Path::new("repro"), &args.cell),
    };
    let run_args = run_args(args, out.clone());
    eprintln!("matrix repro: {} in {}", args.cell, out.display());
    let summary = match super::run::run(cli, &run_args) {
        Ok(summary) => summary,
        // A cell that failed is what a repro is for: its summary, and the shell if asked.
        Err(err) if err.is::<super::Failed>() => err.downcast::<super::Failed>()?.stdout,
        Err(err) => return Err(err),
    };
    if args.shell {
        eprint!("{}", String::from_utf8_lossy(&summary));
        shell(cli, args, &out)?;
    }
    Ok(summary)
}

/// `run`'s arguments for exactly this cell.
fn run_args(args: &ReproArgs, out: PathBuf) -> RunArgs {
    RunArgs {
        out,
        jobs: None,
        engine: args.engine,
        cache: args.cache.clone(),
        source: args.source.clone(),
        deadline: args.deadline.clone(),
        keep_work: args.keep_work || args.shell,
        resume: false,
        rerun: Vec::new(),
        all: false,
        fail_on: Vec::new(),
        templates: args.templates.clone(),
        registry: args.registry.clone(),
        selection: only_cell(&args.cell),
        tests: args.tests.clone(),
    }
}

/// The selection of exactly the cell `id`.
fn only_cell(id: &str) -> SelectionArgs {
    SelectionArgs {
        only: vec![Filter {
            axis: ID_AXIS.to_string(),
            values: vec![id.to_string()],
        }],
        ..SelectionArgs::default()
    }
}

/// `base/CELL-N` with the first N that is not taken.
fn free_dir(base: &Path, cell: &str) -> PathBuf {
    (1u32..)
        .map(|n| base.join(format!("{cell}-{n}")))
        .find(|dir| dir.symlink_metadata().is_err())
        .expect("some number is free")
}

/// A shell in the cell's kept work directory, with the environment its script saved there.
fn shell(cli: &Cli, args: &ReproArgs, out: &Path) -> Result<()> {
    let dir = RunDir::unlocked(out);
    let work = std::path::absolute(dir.work(&args.cell))?;
    if !work.join(CELL_ENV_FILE).is_file() {
        bail!(
            "--shell: the cell stopped before its source tree was ready (no {}); its log is {}",
            work.join(CELL_ENV_FILE).display(),
            dir.log(&args.cell).display()
        );
    }
    let matrix = cli.load_matrix()?;
    let cells = only_cell(&args.cell).cells(&matrix)?;
    let registry = args
        .registry
        .clone()
        .unwrap_or_else(|| matrix.image.registry.clone());
    // The image and seccomp choice exactly as the run that built it made them.
    let job = super::run::cell_jobs(&matrix, &cells, &registry)?.remove(0);
    let launch = CellLaunch {
        cell: job.id.clone(),
        container: format!("{}-shell", crate::engine::container_name(out, &job.id)),
        run_dir: crate::engine::canonical_run(out),
        script: std::path::absolute(dir.script(&job.id))?,
        cache_dir: std::path::absolute(match &args.cache {
            Some(cache) => cache.clone(),
            None => crate::run::cache::default_cache_dir(super::run::flag)?,
        })?,
        work_dir: work.clone(),
        artifact_dir: std::path::absolute(dir.artifacts(&job.id))?,
        jobs: 1,
        image: job.image.to_string(),
        memory: engine_memory(&matrix.workflow.memory_limit.text)?,
        unconfined: job.unconfined,
        // The shell runs no script: the source is unpacked in the work directory already.
        source_file: None,
        source_id: String::new(),
    };
    std::fs::create_dir_all(&launch.artifact_dir)?;
    let engine = Engine::choose(args.engine.into(), "--engine")?;
    eprintln!(
        "matrix repro: a shell in {} ({}); `matrix_tests [ARGS]` runs the cell's tests, `exit` \
         leaves",
        work.display(),
        engine.name()
    );
    let status = engine
        .shell_command(&launch)
        .status()
        .context("cannot start the shell")?;
    if !status.success() {
        eprintln!("matrix repro: the shell ended with {status}");
    }
    Ok(())
}
