//! `matrix run`: runs the selected cells' rendered scripts on this machine, a few at a time, in
//! a run directory, and keeps `results.csv` (report's classification of their logs) current.
//! Submodules: [`process`] (a cell's processes), [`leftovers`] (what a killed run left
//! running), [`preflight`], [`jobs`]
//! (parallelism), [`cache`] and [`checkout`] (sources), [`rundir`] (layout), [`lock`] (one run
//! at a time in a directory), [`results`], [`progress`].

pub mod about;
pub mod cache;
pub mod checkout;
pub mod jobs;
pub mod leftovers;
pub mod lock;
pub mod preflight;
pub mod process;
pub mod progress;
pub mod results;
pub mod rundir;

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::engine::{self, CellLaunch, Engine};
use crate::report::filter::ResultFilter;
use crate::report::{CellResult, Outcome};
use cache::Prepared;
use jobs::Parallelism;
use process::CellProcess;
use progress::Progress;
use results::Results;
use rundir::RunDir;

/// How long a cell may take to stop after TERM (its script records the stage, the container
/// stops) before everything left of it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(30);
/// How often running cells are looked at.
const TICK: Duration = Duration::from_millis(100);

/// A setting of a run that its messages name: where the run writes, whether it resumes, how
/// many cells run at once, the engine, the source cache, a local source. The caller says how
/// each is named (`name` arguments, [`RunOptions::name`]): the command line names its flags,
/// so a message points at what the user typed, while the run itself knows no flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Out,
    Resume,
    Jobs,
    Engine,
    Cache,
    Source,
}

impl Setting {
    pub fn key(self) -> &'static str {
        match self {
            Setting::Out => "out",
            Setting::Resume => "resume",
            Setting::Jobs => "jobs",
            Setting::Engine => "engine",
            Setting::Cache => "cache",
            Setting::Source => "source",
        }
    }

    /// The name of a setting for a caller that has none of its own: its key, quoted.
    pub fn plain(self) -> String {
        format!("`{}`", self.key())
    }
}

/// One cell to run: its id, image, script and source.
#[derive(Debug, Clone)]
pub struct CellJob {
    pub id: String,
    /// Shared by the cells of one image and of one version: a million cells' jobs hold
    /// each string once.
    pub image: std::sync::Arc<str>,
    pub source: std::sync::Arc<crate::render::SourceView>,
    /// Its container runs without the engine's seccomp filter (the plan's `unconfined`).
    pub unconfined: bool,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// What the run records of itself in `RUNDIR/run.json` (the first start's, kept on resume).
    pub about: about::RunAbout,
    pub engine: Engine,
    pub parallelism: Parallelism,
    pub deadline: Duration,
    pub stop_grace: Duration,
    pub keep_work: bool,
    pub resume: bool,
    /// With `resume`: finished cells whose result is one of these run again.
    pub rerun: Vec<ResultFilter>,
    pub cache: PathBuf,
    /// Each version's source, ready in the cache ([`cache::prepare`], before the run
    /// directory is made): what a cell unpacks and its identity.
    pub sources: std::collections::BTreeMap<String, Prepared>,
    /// A container's memory limit, in the engine's notation.
    pub memory: String,
    /// How messages name a setting ([`Setting::plain`] when the caller has no better name).
    pub name: fn(Setting) -> String,
}

/// What a run came to.
pub struct RunOutcome {
    /// What the final results.csv holds.
    pub written: results::Written,
    /// Cells skipped because a previous run finished them (`--resume`).
    pub resumed: usize,
    /// Set when Ctrl-C or TERM stopped the run: how many cells were stopped unfinished.
    pub interrupted: Option<usize>,
    /// Set when the container engine could not run a cell ([`engine_failure`]): what
    /// happened, to which cell, and what to do. The run stopped there.
    pub engine_failure: Option<String>,
}

/// The files of a run that come from rendering: the scripts (as `matrix render` writes them,
/// rendered here a part at a time as they are written) and the index.
pub struct Rendered<'a> {
    pub renderer: &'a crate::render::Renderer,
    pub matrix: &'a crate::definition::Matrix,
    pub cells: &'a [crate::cell::Cell],
    /// The registry of the cells' images, for the index.
    pub registry: &'a str,
}

struct Running {
    job: CellJob,
    /// Its container's name, whatever the engine (the host engine has none to stop).
    container: String,
    process: CellProcess,
    started: Instant,
    /// When TERM was sent (deadline or interrupt).
    stopping: Option<Instant>,
    /// Stopped by the user: the log is no result.
    interrupted: bool,
    /// The log as the script writes it (the same open file, so the same offset): what the run
    /// itself says about the cell goes between the script's lines, never over them.
    log: fs::File,
    log_offset: u64,
    log_tail: Vec<u8>,
    /// The stage last shown.
    stage: Option<String>,
}

/// Runs `jobs` in `dir` and returns the results; see the module documentation.
pub fn run(
    dir: &RunDir,
    jobs: &[CellJob],
    rendered: &Rendered<'_>,
    options: &RunOptions,
) -> Result<RunOutcome> {
    let host_os = results::host_os_id();
    let set_up = (|| -> Result<Results> {
        write_rendered(dir, rendered)?;
        let mut results = Results::new(dir.index(), options.engine.name(), &host_os, dir.results());
        results.write()?;
        options.about.record(&dir.root)?;
        Ok(results)
    })();
    let mut results = set_up.inspect_err(|_| dir.undo_start())?;
    let mut progress_lines = Vec::new();
    if options.resume {
        progress_lines = stop_leftovers(dir, options)?;
    }
    let (todo, resumed) = keep_finished(dir, jobs, options, &mut results)?;
    results.write()?;

    let mut progress = Progress::new(todo.len());
    for line in progress_lines {
        progress.say(&line);
    }
    let name = options.name;
    if resumed > 0 {
        progress.say(&format!(
            "{}: {resumed} cell(s) finished in an earlier run are kept; {} to run",
            name(Setting::Resume),
            todo.len()
        ));
    }
    if options.engine == Engine::Host {
        progress.say(&format!(
            "warning: {} host runs the scripts on this machine ({host_os}): the `os` axis \
             is not honoured, whatever image a cell names",
            name(Setting::Engine)
        ));
    }
    let signals = Arc::new(AtomicUsize::new(0));
    let _listener = listen_for_signals(signals.clone())?;
    let ended = schedule(dir, todo, options, &signals, &mut results, &mut progress)?;
    progress.finish();
    results.none_running();
    let written = results.write()?;
    Ok(RunOutcome {
        written,
        resumed,
        interrupted: ended.interrupted,
        engine_failure: ended.engine_failure,
    })
}

/// Renders the scripts into the run directory, [`crate::render::RENDER_PART`] at a time (as
/// `matrix render` writes them, so memory holds one part), then writes the index.
fn write_rendered(dir: &RunDir, rendered: &Rendered<'_>) -> Result<()> {
    crate::output::write_dir_with(
        &dir.scripts(),
        false,
        "the build scripts of a run",
        &[],
        |staged| (rendered.renderer).write_all(rendered.matrix, rendered.cells, staged),
    )?;
    crate::output::write_atomic_with(&dir.index(), |file| {
        let (matrix, cells) = (rendered.matrix, rendered.cells);
        crate::index::write_index_csv(matrix, cells, "scripts", rendered.registry, file)?;
        Ok(())
    })
}

/// With `--resume`, before anything else: the cells an earlier run was running when it was
/// killed are stopped for good ([`leftovers`]), their logs set aside (the stage the kill
/// stopped is no result) and their work directories removed, so they run again from the
/// start. Returns what to say about them.
fn stop_leftovers(dir: &RunDir, options: &RunOptions) -> Result<Vec<String>> {
    let root = canonical_root(dir)?;
    let left = leftovers::stop_all(dir, |cell| {
        vec![
            format!("MATRIX_WORK_DIR={}", root.join("work").join(cell).display()),
            format!("--name={}", engine::container_name(&dir.root, cell)),
        ]
    })?;
    let mut lines = Vec::new();
    for cell in left {
        stop_engine(
            options,
            &engine::container_name(&dir.root, &cell.cell),
            true,
        );
        if dir.log(&cell.cell).exists() {
            set_aside(dir, &cell.cell);
        }
        if !options.keep_work {
            leftovers::remove_work(dir, &cell.cell)?;
        }
        lines.push(format!(
            "{}: was running when an earlier `matrix run` was killed; {} process(es) of it \
             were left and are stopped now, its log is set aside in {}, and it runs again",
            cell.cell,
            cell.killed,
            dir.root.join("interrupted").display()
        ));
    }
    Ok(lines)
}

/// With `--resume`, the results of the cells an earlier run finished; returns the cells left to
/// run and how many were kept. A cell runs again when its log has no finish marker (the run
/// was killed) or its result is one `rerun` names; its log is then kept as an attempt.
fn keep_finished<'a>(
    dir: &RunDir,
    jobs: &'a [CellJob],
    options: &RunOptions,
    results: &mut Results,
) -> Result<(Vec<&'a CellJob>, usize)> {
    let mut todo: Vec<&CellJob> = Vec::new();
    let mut resumed = 0;
    for job in jobs {
        let log = dir.log(&job.id);
        if !options.resume || !log.exists() {
            todo.push(job);
            continue;
        }
        let previous = results::finished_result(&log);
        let again = previous
            .as_ref()
            .is_none_or(|result| options.rerun.iter().any(|f| f.matches(result)));
        if again {
            dir.keep_as_attempt(&job.id)?;
            todo.push(job);
        } else {
            results.add_cell(dir, &job.id)?;
            resumed += 1;
        }
    }
    Ok((todo, resumed))
}

/// How the schedule ended, when it did not end by running every cell.
#[derive(Default)]
struct Ended {
    /// Interrupted: how many cells were stopped unfinished.
    interrupted: Option<usize>,
    /// The engine could not run a cell: why.
    engine_failure: Option<String>,
}

/// Runs the cells of `todo`, at most `parallelism.cells` at a time, until all are done or
/// the signals counted in `signals` stop the run: the first Ctrl-C (or TERM, or HUP) stops the
/// running cells and starts no more, the second kills them at once. An engine that cannot run
/// a cell stops the run the same way: its other cells would meet the same fault.
fn schedule(
    dir: &RunDir,
    todo: Vec<&CellJob>,
    options: &RunOptions,
    signals: &AtomicUsize,
    results: &mut Results,
    progress: &mut Progress,
) -> Result<Ended> {
    let mut pending = todo.into_iter();
    let mut running: Vec<Running> = Vec::new();
    let mut interrupted: Option<usize> = None;
    let mut engine_failure: Option<String> = None;
    loop {
        let received = signals.load(Ordering::SeqCst);
        if received >= 2 {
            // A second Ctrl-C: nothing waits any more.
            let count = abandon_all(dir, options, &mut running, progress);
            interrupted = Some(interrupted.unwrap_or(0).max(count));
            break;
        }
        if received == 1 && interrupted.is_none() {
            interrupted = Some(stop_all(
                options,
                &mut running,
                progress,
                ("interrupted", " (Ctrl-C again kills them at once)"),
            ));
        }
        if let Some(failure) = look_at_running(dir, options, &mut running, results, progress)? {
            if engine_failure.is_none() {
                if !running.is_empty() {
                    let why = (
                        "engine failure",
                        " (the engine could not run a cell: see below)",
                    );
                    stop_all(options, &mut running, progress, why);
                }
                engine_failure = Some(failure);
            }
        }
        if interrupted.is_none() && engine_failure.is_none() {
            while running.len() < options.parallelism.cells {
                let Some(job) = pending.next() else { break };
                running.push(start(dir, job, options)?);
                progress.started(&job.id);
                results.started(&job.id);
            }
        }
        // One write for whatever started and ended in this look (at most one a second):
        // a write per cell start and end rebuilds results.csv twice per cell.
        results.flush()?;
        let halted = interrupted.is_some() || engine_failure.is_some();
        if running.is_empty() && (halted || pending.len() == 0) {
            break;
        }
        std::thread::sleep(TICK);
    }
    Ok(Ended {
        interrupted,
        engine_failure,
    })
}

/// Kills every running cell at once and sets its log aside; returns how many there were.
fn abandon_all(
    dir: &RunDir,
    options: &RunOptions,
    running: &mut Vec<Running>,
    progress: &mut Progress,
) -> usize {
    let count = running.len();
    for cell in running.drain(..) {
        cell.process.kill_all();
        stop_engine(options, &cell.container, true);
        let sid = cell.process.sid();
        drop(cell.process);
        // Its processes are gone (KILL, reaped) before their directory is: a dying compiler
        // would otherwise write into it again.
        let start = Instant::now();
        while !process::session_members(sid).is_empty() && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        if !options.keep_work {
            let _ = leftovers::remove_work(dir, &cell.job.id);
        }
        let _ = fs::remove_dir(dir.artifacts(&cell.job.id));
        leftovers::forget(dir, &cell.job.id);
        set_aside(dir, &cell.job.id);
        progress.abandoned(&cell.job.id);
    }
    count
}

/// Stops every running cell (TERM, then KILL after the grace period), as interrupted: its log
/// is no result. `why` is said first, then `more`. Returns how many there were.
fn stop_all(
    options: &RunOptions,
    running: &mut [Running],
    progress: &Progress,
    (why, more): (&str, &str),
) -> usize {
    progress.say(&format!(
        "{why}: stopping {} running cell(s){more}",
        running.len()
    ));
    for cell in running.iter_mut() {
        stop(options, cell);
        cell.interrupted = true;
    }
    running.len()
}

/// One look at each running cell: the stage its log reached, whether it ended (then its
/// result is taken), and whether it is past its deadline or its grace period. Returns the
/// first engine failure among the cells that ended.
fn look_at_running(
    dir: &RunDir,
    options: &RunOptions,
    running: &mut Vec<Running>,
    results: &mut Results,
    progress: &mut Progress,
) -> Result<Option<String>> {
    let mut failure = None;
    let mut index = 0;
    while index < running.len() {
        let cell = &mut running[index];
        follow_log(dir, cell, progress);
        let status = cell
            .process
            .try_wait()
            .with_context(|| format!("cannot wait for cell {}", cell.job.id))?;
        if let Some(status) = status {
            let cell = running.swap_remove(index);
            let failed = finish(dir, cell, status, options, results, progress)?;
            failure = failure.or(failed);
            continue;
        }
        enforce_time(options, cell, progress);
        index += 1;
    }
    Ok(failure)
}

/// TERM to a cell past its deadline; KILL to one still there after the grace period.
fn enforce_time(options: &RunOptions, cell: &mut Running, progress: &Progress) {
    match cell.stopping {
        None if cell.started.elapsed() >= options.deadline => {
            let deadline = progress::format_duration(options.deadline);
            progress.say(&format!(
                "{}: deadline of {deadline} reached, stopping it",
                cell.job.id
            ));
            // In the log too: the Timeout it becomes is the run's doing, not the build's.
            let _ = std::io::Write::write_fmt(
                &mut cell.log,
                format_args!(
                    "\nmatrix run: the deadline of {deadline} was reached: stopping the cell \
                     (TERM, then KILL after {})\n",
                    progress::format_duration(options.stop_grace)
                ),
            );
            stop(options, cell);
        }
        Some(at) if at.elapsed() >= options.stop_grace => {
            cell.process.kill_all();
            stop_engine(options, &cell.container, true);
        }
        _ => {}
    }
}

fn start(dir: &RunDir, job: &CellJob, options: &RunOptions) -> Result<Running> {
    let source = options.sources.get(&job.source.version);
    let launch = CellLaunch {
        cell: job.id.clone(),
        container: engine::container_name(&dir.root, &job.id),
        run_dir: engine::canonical_run(&dir.root),
        script: absolute(dir.script(&job.id))?,
        cache_dir: absolute(options.cache.clone())?,
        // Canonical: it is also the mark by which a later `--resume` knows the cell's
        // processes ([`stop_leftovers`]), whatever spelling of the directory either used.
        work_dir: canonical_root(dir)?.join("work").join(&job.id),
        artifact_dir: absolute(dir.artifacts(&job.id))?,
        jobs: options.parallelism.jobs_per_cell,
        image: job.image.to_string(),
        memory: options.memory.clone(),
        unconfined: job.unconfined,
        source_file: source.and_then(|s| s.file.clone()),
        source_id: source.map(|s| s.id.clone()).unwrap_or_default(),
    };
    for d in [&launch.work_dir, &launch.artifact_dir] {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    if options.resume {
        // An interrupted attempt's container (Ctrl-C twice, a killed `matrix`) would keep the
        // name this one needs.
        stop_engine(options, &launch.container, true);
    }
    // A cell that starts again (resume) starts a new log.
    let log_path = dir.log(&job.id);
    let log = fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let process = CellProcess::spawn(options.engine.command(&launch), &log).with_context(|| {
        format!(
            "cannot start cell {} with {}",
            job.id,
            options.engine.name()
        )
    })?;
    leftovers::record(dir, &job.id, process.sid())?;
    Ok(Running {
        job: job.clone(),
        container: launch.container,
        process,
        started: Instant::now(),
        stopping: None,
        interrupted: false,
        log: log
            .try_clone()
            .with_context(|| format!("cannot write to {}", log_path.display()))?,
        log_offset: 0,
        log_tail: Vec::new(),
        stage: None,
    })
}

fn canonical_root(dir: &RunDir) -> Result<PathBuf> {
    fs::canonicalize(&dir.root).with_context(|| format!("cannot resolve {}", dir.root.display()))
}

fn absolute(path: PathBuf) -> Result<PathBuf> {
    std::path::absolute(&path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// TERM to the cell (and the container's stop); KILL follows after the grace period.
fn stop(options: &RunOptions, cell: &mut Running) {
    if cell.stopping.is_none() {
        cell.stopping = Some(Instant::now());
        cell.process.terminate();
        stop_engine(options, &cell.container, false);
    }
}

/// Asks the container engine to stop (or remove, `now`) the cell's container, in the
/// background for a stop: the grace period is the engine's to wait out.
fn stop_engine(options: &RunOptions, container: &str, now: bool) {
    let command = if now {
        options.engine.cleanup_command(container)
    } else {
        options.engine.stop_command(container, options.stop_grace)
    };
    if let Some(mut command) = command {
        let quiet = |c: &mut Command| {
            c.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        };
        quiet(&mut command);
        if now {
            let _ = command.status();
        } else {
            let _ = command.spawn();
        }
    }
}

/// Reads what the cell wrote since the last look, for the stage it is in.
fn follow_log(dir: &RunDir, cell: &mut Running, progress: &mut Progress) {
    let Ok(mut file) = fs::File::open(dir.log(&cell.job.id)) else {
        return;
    };
    if file.seek(SeekFrom::Start(cell.log_offset)).is_err() {
        return;
    }
    let mut chunk = Vec::new();
    if file.by_ref().take(1 << 20).read_to_end(&mut chunk).is_err() || chunk.is_empty() {
        return;
    }
    cell.log_offset += chunk.len() as u64;
    // A marker may straddle two reads: keep the end of the previous one.
    let mut text = std::mem::take(&mut cell.log_tail);
    text.extend_from_slice(&chunk);
    if let Some(stage) = progress::last_stage(&text) {
        if cell.stage.as_ref() != Some(&stage) {
            progress.stage(&cell.job.id, &stage);
            cell.stage = Some(stage);
        }
    }
    let keep = text.len().saturating_sub(256);
    cell.log_tail = text.split_off(keep);
}

/// Takes the end of a cell whose script (or engine client) exited with `status`: cleans up
/// after it and records its result, or, when the engine could not run it at all, returns why
/// ([`engine_failure`]) and records nothing.
fn finish(
    dir: &RunDir,
    cell: Running,
    status: std::process::ExitStatus,
    options: &RunOptions,
    results: &mut Results,
    progress: &mut Progress,
) -> Result<Option<String>> {
    let id = cell.job.id.clone();
    // The script has exited; nothing it started may outlive it.
    if !cell.process.leftovers().is_empty() {
        cell.process.kill_all();
    }
    stop_engine(options, &cell.container, true);
    drop(cell.process);
    leftovers::forget(dir, &id);
    if !options.keep_work {
        leftovers::remove_work(dir, &id)?;
    }
    // Only analyzer cells leave artifacts; an empty directory says nothing.
    let _ = fs::remove_dir(dir.artifacts(&id));
    let failure = engine_failure(dir, &cell.job, options, status);
    results.ended(&id);
    if cell.interrupted || failure.is_some() {
        set_aside(dir, &id);
        progress.abandoned(&id);
        return Ok(failure);
    }
    let result = results.add_cell(dir, &id)?;
    let passed = matches!(result, CellResult::Result(_, Outcome::Passed));
    let cause = results.cause(&results::relative(dir, &dir.log(&id)));
    let said = match cause {
        // The line is an event; results.csv has the cause whole.
        Some(cause) if !passed => format!(
            "{}: {}",
            result.label(),
            crate::table::clip_chars(cause, 100)
        ),
        _ => result.label(),
    };
    progress.finished(&id, &said, passed, cell.started.elapsed());
    Ok(None)
}

/// podman's and docker's own exit statuses for "the engine failed" (125: the container could
/// not be made, a bad mount or a missing image), "the command cannot be invoked" (126) and
/// "the command was not found" (127) in the image.
const ENGINE_STATUSES: [i32; 3] = [125, 126, 127];

/// Whether a container cell ended without its script having run: the engine's client
/// exited with one of [`ENGINE_STATUSES`] and the log has none of the script's markers
/// (its first line is one). Such a log is no result of the cell but an infrastructure error,
/// said with what the engine printed, the cell, its image and what to do.
fn engine_failure(
    dir: &RunDir,
    job: &CellJob,
    options: &RunOptions,
    status: std::process::ExitStatus,
) -> Option<String> {
    let Engine::Container(tool) = options.engine else {
        return None;
    };
    let code = status.code().filter(|c| ENGINE_STATUSES.contains(c))?;
    let mut head = Vec::new();
    let log = dir.log(&job.id);
    fs::File::open(&log)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut head))
        .ok()?;
    if memchr::memmem::find(&head, b"::matrix:: ").is_some() {
        return None;
    }
    let text = String::from_utf8_lossy(&head);
    let said: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let said = said[said.len().saturating_sub(5)..].join(" / ");
    let program = tool.program();
    Some(format!(
        "cell {}: {program} could not run its script (`{program} run` exited {code} before the \
         script's first line: {}); image {}. This is the engine's fault or the machine's, not \
         a result of the cell: check that the image is there (`matrix images build`, `{program} \
         image inspect`) and that {program} can mount the run directory and the source cache, \
         then `matrix run {} --out {}` runs the cells again (the engine's output is in {})",
        job.id,
        if said.is_empty() {
            "it printed nothing"
        } else {
            said.as_str()
        },
        job.image,
        (options.name)(Setting::Resume),
        dir.root.display(),
        dir.interrupted_log(&job.id).display()
    ))
}

/// Moves an interrupted cell's log out of `logs/`: it is no result, and `--resume` reruns it.
fn set_aside(dir: &RunDir, cell: &str) {
    let to = dir.interrupted_log(cell);
    if let Some(parent) = to.parent() {
        let _ = fs::create_dir_all(parent);
    }
    let _ = fs::rename(dir.log(cell), to);
}

/// Counts SIGINT, SIGTERM and SIGHUP into `received` from a thread of its own. A hang-up (the
/// terminal or the ssh session of the run went away) stops the run as TERM does: by
/// default it would kill `matrix` alone and leave the cells running.
fn listen_for_signals(received: Arc<AtomicUsize>) -> Result<SignalListener> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("cannot install the Ctrl-C handler")?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            received.fetch_add(1, Ordering::SeqCst);
        }
    });
    Ok(SignalListener(handle))
}

/// Restores the default signal handling when the run ends.
struct SignalListener(signal_hook::iterator::Handle);

impl Drop for SignalListener {
    fn drop(&mut self) {
        self.0.close();
    }
}
