//! What the integration tests share: the binary under test, the project's files, and the
//! optional data and tools some tests need (`../shared/`, shellcheck, hadolint), with one
//! policy for when they are missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use matrix::definition::RawDefinition;

/// The built-in matrix definition, as the binary embeds it.
pub const BUILTIN_DEFINITION: &str = include_str!("../../definition/matrix.yaml");

/// How long a test waits for something that takes milliseconds on an idle machine (a command
/// to refuse its input, a process to stop, a log line to appear) before calling it a hang. It
/// only tells a hang from an answer, so it is generous: a 2-core machine running the whole
/// suite beside two other builds, or at `nice -n 19` beside a CPU hog, must still pass. A test
/// asserts on elapsed time only where time is what it tests, never to check that some stage
/// was still running (make that stage block on purpose, or read which stage the log says ran).
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Polls `ready` every 50 ms until it holds; panics naming `what` after `patience`.
pub fn wait_until(what: &str, patience: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < patience,
            "gave up after {patience:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child's exit status once it has ended, or `None` if it still runs after [`PATIENCE`]
/// (the caller kills it and fails, naming what hung).
pub fn exited_within_patience(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if start.elapsed() > PATIENCE {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines of a child's output, read on a thread of their own so that a test can wait for
/// one while the child runs; the channel closes when the output does.
pub fn lines_of(output: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(output)
            .lines()
            .map_while(Result::ok)
        {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Waits up to [`PATIENCE`] for each next line until one holds `needle`; returns the lines
/// read, that one included.
pub fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(PATIENCE) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(err) => panic!("no line holding {needle:?} ({err}); read: {seen:#?}"),
        }
    }
}

/// The stage a build log of our scripts was in when it ended, as `report` names stages
/// (`Configure`, `Compilation`, `Tests`): the last `stage-start` marker's. A test of a deadline
/// or a signal asserts `<that stage>. Timeout`, whatever stage the machine's speed let the cell
/// reach, instead of betting on one.
pub fn last_started_stage(log: &str) -> Option<&'static str> {
    let name = log
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("::matrix:: event=stage-start stage="))?;
    Some(match name.split_whitespace().next()? {
        "configure" => "Configure",
        "compile" => "Compilation",
        "tests" => "Tests",
        other => panic!("a deadline or signal in stage `{other}`, which has no result of its own"),
    })
}

/// Processes (pid and command line) whose working directory is inside `root`, zombies left
/// out: what a run or a script in a sandbox must not leave behind.
pub fn processes_inside(root: &Path) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'));
        let inside =
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(root));
        if inside && !zombie {
            let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push((pid, cmd.replace('\0', " ")));
        }
    }
    found
}

/// Asserts that no process is left inside `root`, waiting up to [`PATIENCE`] for processes
/// that were sent a signal to die; kills what is still there before failing, so a failing
/// test leaves nothing running. The processes a test checks for must outlive [`PATIENCE`] by
/// themselves (a fake stage sleeps for minutes), or a leak would pass unseen.
pub fn assert_no_processes_inside(root: &Path) {
    let start = Instant::now();
    loop {
        let left = processes_inside(root);
        if left.is_empty() {
            return;
        }
        if start.elapsed() > PATIENCE {
            for (pid, _) in &left {
                // SAFETY: kill(2) has no memory preconditions.
                unsafe { libc::kill(*pid, libc::SIGKILL) };
            }
            panic!("processes left inside {}: {left:?}", root.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `matrix` binary under test.
pub fn matrix() -> Command {
    Command::cargo_bin("matrix").unwrap()
}

/// What `matrix ARGS` prints on stdout; it must succeed (its stderr is the failure's message).
pub fn stdout_of(args: &[&str]) -> String {
    output(None, args)
}

/// [`stdout_of`], run in `dir`.
pub fn stdout_in(dir: &Path, args: &[&str]) -> String {
    output(Some(dir), args)
}

/// What `matrix ARGS` prints on stderr; it must exit 2 ("could not run": README, "Exit
/// status") with nothing on stdout.
pub fn refused(args: &[&str]) -> String {
    refusal(None, args)
}

fn output(dir: Option<&Path>, args: &[&str]) -> String {
    let mut command = matrix();
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "matrix {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn refusal(dir: Option<&Path>, args: &[&str]) -> String {
    let mut command = matrix();
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command.args(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "matrix {args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "matrix {args:?} refused, but printed on stdout"
    );
    stderr
}

/// A test's own directory, and the `matrix` binary run in it: the case builder of the CLI
/// tests (after just's `Test` and uv's `TestContext`). The directory goes with it.
pub struct TestContext {
    dir: tempfile::TempDir,
}

impl TestContext {
    pub fn new() -> Self {
        TestContext {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `relative` in the directory, creating its parents; returns its path.
    pub fn write(&self, relative: impl AsRef<Path>, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `matrix` with the directory as its working directory, for a test that asserts more.
    pub fn matrix(&self) -> Command {
        let mut command = matrix();
        command.current_dir(self.dir.path());
        command
    }

    /// [`stdout_of`], run in the directory.
    pub fn stdout(&self, args: &[&str]) -> String {
        output(Some(self.dir.path()), args)
    }

    /// [`refused`], run in the directory.
    pub fn refused(&self, args: &[&str]) -> String {
        refusal(Some(self.dir.path()), args)
    }
}

/// Writes an executable script (a fake compiler, configure or test suite).
pub fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The project's root directory.
pub fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Says that a test did not run its checks, and why. libtest captures `eprintln!` of passing
/// tests, so this writes to the process's stderr directly: the line shows in every `cargo test`
/// run, the way an ignored test would. Under `CI=true` a missing prerequisite is a failure,
/// because `.ci/run` installs every one of them.
pub fn skip(test: &str, reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {reason}, but CI is set: .ci/run must provide it"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// A file or directory under `../shared/` (beside the project; `MATRIX_SHARED_DIR` stands for
/// it in a checkout that is not beside it, such as a git worktree), or `None` after [`skip`]
/// when it is not there.
pub fn shared(test: &str, relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("MATRIX_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("../shared"));
    let path = root.join(relative);
    if path.exists() {
        Some(path)
    } else {
        skip(test, &format!("../shared/{relative} is not present"));
        None
    }
}

/// Argo Workflows' JSON schema from `../shared/argo/`, or `None` after [`skip`].
pub fn argo_schema_path(test: &str) -> Option<PathBuf> {
    shared(test, "argo/schema.json")
}

/// Unpacks `../shared/corpus/<set>.tar.xz` (only `members`, when given) into a temporary
/// directory, or returns `None` after [`skip`].
pub fn corpus(test: &str, set: &str, members: &[&str]) -> Option<tempfile::TempDir> {
    let archive = shared(test, &format!("corpus/{set}.tar.xz"))?;
    let dir = tempfile::tempdir().unwrap();
    let status = Process::new("tar")
        .arg("xJf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .args(members)
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar xJf {} failed", archive.display());
    Some(dir)
}

/// An external program from PATH (or the given extra places), or `None` after [`skip`] with
/// how to install it.
pub fn tool(test: &str, name: &str, install: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = extra.to_vec();
    if let Some(paths) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&paths).map(|p| p.join(name)));
    }
    match candidates.into_iter().find(|p| p.is_file()) {
        Some(path) => Some(path),
        None => {
            skip(test, &format!("{name} is not installed ({install})"));
            None
        }
    }
}

/// The built-in definition with `edit` applied to its types, written to `dir/matrix.yaml`
/// (serialized from the types): for tests that change what the matrix holds.
pub fn edited_definition(dir: &Path, edit: impl FnOnce(&mut RawDefinition)) -> PathBuf {
    let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "test").unwrap();
    edit(&mut raw);
    let path = dir.join("matrix.yaml");
    std::fs::write(&path, serde_yaml::to_string(&raw).unwrap()).unwrap();
    path
}

/// `text` with `from`, which must occur exactly once, replaced by `to`: for tests that edit the
/// definition's text as a user would (typos, comments), and fail loudly when the text they edit
/// is no longer there.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

/// `matrix report --format csv` of one log, written as `<cell>.log` in a directory of its own:
/// its rows by column.
pub fn report_of_log(cell: &str, log: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{cell}.log")), log).unwrap();
    let dir = dir.path().to_str().unwrap();
    csv_rows(stdout_of(&["report", dir, "--format", "csv"]).as_bytes())
}

/// The rows of a CSV output, each a map from column name to the value it stands for, as
/// `matrix` reads its own CSV back (a formula-like cell's leading `'` taken away; see
/// `matrix::spreadsheet`).
pub fn csv_rows(bytes: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    csv_cells(bytes)
        .into_iter()
        .map(|row| {
            (row.into_iter())
                .map(|(k, v)| (k, matrix::spreadsheet::original(&v).to_owned()))
                .collect()
        })
        .collect()
}

/// The rows of a CSV output, each a map from column name to the cell as it is in the file.
pub fn csv_cells(bytes: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}
