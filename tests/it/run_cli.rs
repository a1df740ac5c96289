//! `matrix run --engine host`, the real binary: a fake CPython tarball (configure can sleep; `./python -m test` exits with a chosen status) and a fake
//! gcc stand in for the real thing, so the run directory, results, deadlines, interrupts and
//! resume are observed in seconds.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{self, write_executable, PATIENCE};

const VERSION: &str = "3.13.0b4";
/// Four cells: gcc, no sanitizer, each `configure` value.
const SELECTION: [&str; 10] = [
    "--only",
    "platform=amd64",
    "--only",
    "os=ubuntu-24.04",
    "--only",
    "python=3.13.0b4",
    "--only",
    "compiler=gcc",
    "--only",
    "sanitizer=none",
];

const CONFIGURE: &str = r#"#!/bin/sh
echo "configure: checking for a fake compiler... $CC"
if [ -n "${FAKE_SLEEP:-}" ]; then
    # A child of its own, like configure's compiler runs.
    sleep "$FAKE_SLEEP"
fi
cp Makefile.in Makefile
"#;

/// `./python -m test`: prints its arguments (and FAKE_TEST_OUTPUT, `\n` for line breaks) and
/// exits with FAKE_TEST_STATUS.
const FAKE_PYTHON: &str = r#"#!/bin/sh
echo "ran-tests $*"
if [ -n "${FAKE_TEST_OUTPUT:-}" ]; then printf '%b\n' "$FAKE_TEST_OUTPUT"; fi
exit "${FAKE_TEST_STATUS:-0}"
"#;

/// With FAKE_HANG_CC, `gcc --version` in a cell ignores TERM and hangs: the script waits for a
/// foreground command before it runs its TERM trap, so such a cell does not stop on TERM. (Not
/// in the run's preflight, which has no MATRIX_CELL: that one would refuse to start.)
const FAKE_GCC: &str = r#"#!/bin/sh
if [ -n "${FAKE_HANG_CC:-}" ] && [ -n "${MATRIX_CELL:-}" ]; then
    trap '' TERM
    echo "fake gcc hangs"
    sleep 300
fi
[ "$1" = --version ] && echo 'gcc (Fake) 14.1.0'
"#;

/// A fake CPython source, a fake gcc and the built-in definition without checksums: `matrix
/// run --engine host` of [`SELECTION`] in seconds (the run tests of other files use it too).
pub(crate) struct Sandbox {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    config: PathBuf,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let tree = root.join("tree").join(format!("Python-{VERSION}"));
        fs::create_dir_all(&tree).unwrap();
        write_executable(&tree.join("configure"), CONFIGURE);
        write_executable(&tree.join("fake-python"), FAKE_PYTHON);
        fs::write(tree.join("Makefile.in"), "all:\n\tcp fake-python python\n").unwrap();
        fs::create_dir_all(root.join("bin")).unwrap();
        write_executable(&root.join("bin/gcc"), FAKE_GCC);
        let status = Command::new("tar")
            .arg("-czf")
            .arg(root.join(format!("Python-{VERSION}.tgz")))
            .arg("-C")
            .arg(root.join("tree"))
            .arg(format!("Python-{VERSION}"))
            .status()
            .unwrap();
        assert!(status.success());
        // The built-in definition without checksums: the fake tarball has none of its own.
        let init = Command::new(assert_cmd::cargo::cargo_bin("matrix"))
            .arg("init")
            .arg(root.join("full.yaml"))
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let mut raw: serde_yaml::Value =
            serde_yaml::from_str(&fs::read_to_string(root.join("full.yaml")).unwrap()).unwrap();
        if let Some(source) = raw.get_mut("source").and_then(|s| s.as_mapping_mut()) {
            source.remove("sha256");
        }
        let config = root.join("matrix.yaml");
        fs::write(&config, serde_yaml::to_string(&raw).unwrap()).unwrap();
        Sandbox {
            _dir: dir,
            root,
            config,
        }
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        self.command_on("host", args, env)
    }

    pub(crate) fn command_on(&self, engine: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        self.command_selecting(engine, &SELECTION, args, env)
    }

    /// `matrix run` of the cells `selection` names (none: the run's own, when resuming).
    pub(crate) fn command_selecting(
        &self,
        engine: &str,
        selection: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Command {
        let mut command = self.command_of("run", env);
        command
            .args(["--engine", engine])
            .args(selection)
            .args(args);
        command
    }

    /// `matrix --config … SUBCOMMAND --cache … --source …` (`run` or `repro`) with the fake
    /// gcc first on PATH.
    pub(crate) fn command_of(&self, subcommand: &str, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("matrix"));
        command
            .current_dir(&self.root)
            .arg("--config")
            .arg(&self.config)
            .args([subcommand, "--cache"])
            .arg(self.root.join("cache"))
            .arg("--source")
            .arg(format!(
                "{VERSION}={}",
                self.root.join(format!("Python-{VERSION}.tgz")).display()
            ))
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.root.join("bin").display(),
                    std::env::var("PATH").unwrap()
                ),
            );
        for (k, v) in env {
            command.env(k, v);
        }
        command
    }

    pub(crate) fn run(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        self.command(args, env).output().unwrap()
    }

    pub(crate) fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        self.command(args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// results.csv's rows, by column name.
    pub(crate) fn result_rows(&self, run: &str) -> Vec<std::collections::BTreeMap<String, String>> {
        common::csv_rows(&fs::read(self.root.join(run).join("results.csv")).unwrap())
    }

    /// `(cell, result)` of results.csv.
    pub(crate) fn results(&self, run: &str) -> Vec<(String, String)> {
        let mut reader = csv::Reader::from_path(self.root.join(run).join("results.csv")).unwrap();
        let header = reader.headers().unwrap().clone();
        let col = header.iter().position(|h| h == "result").unwrap();
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[col].to_string())
            })
            .collect()
    }

    /// Waits until some cell's log says it is configuring.
    pub(crate) fn wait_for_configure(&self, run: &str, child: &mut Child) {
        self.wait_for(run, child, "configure: checking for a fake compiler")
    }

    /// Waits until some cell's log holds `needle`.
    pub(crate) fn wait_for(&self, run: &str, child: &mut Child, needle: &str) {
        let logs = self.root.join(run).join("logs");
        common::wait_until(&format!("a log holding {needle:?}"), PATIENCE, || {
            let found = fs::read_dir(&logs)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| fs::read_to_string(e.path()).is_ok_and(|t| t.contains(needle)));
            assert!(
                found || child.try_wait().unwrap().is_none(),
                "matrix run ended early"
            );
            found
        });
    }

    /// The log of `cell` in run directory `run`.
    pub(crate) fn log(&self, run: &str, cell: &str) -> String {
        fs::read_to_string(self.root.join(run).join("logs").join(format!("{cell}.log"))).unwrap()
    }
}

pub(crate) fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn signal(child: &Child, sig: i32) {
    // SAFETY: plain syscall on our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

/// Waits for `matrix run` to exit; kills it and fails after [`common::PATIENCE`], which only
/// a run that does not stop at all reaches.
pub(crate) fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    common::exited_within_patience(child).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("matrix run did not stop");
    })
}

#[test]
fn a_run_writes_scripts_logs_and_results_and_deletes_work_directories() {
    let sb = Sandbox::new();
    let out = sb.run(&["--out", "run", "-j", "1"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        summary.contains("Tests. Passed      4  100.0%"),
        "{summary}"
    );
    assert!(stderr(&out).contains("--engine host runs the scripts on this machine"));
    let results = sb.results("run");
    assert_eq!(results.len(), 4);
    assert!(
        results.iter().all(|(_, r)| r == "Tests. Passed"),
        "{results:?}"
    );
    let run = sb.root.join("run");
    // The scripts are byte for byte what `matrix render` writes.
    let render = Command::new(assert_cmd::cargo::cargo_bin("matrix"))
        .arg("--config")
        .arg(&sb.config)
        .args(["render", "--out"])
        .arg(sb.root.join("rendered"))
        .args(SELECTION)
        .output()
        .unwrap();
    assert!(render.status.success());
    for (cell, _) in &results {
        let name = format!("{cell}.sh");
        assert_eq!(
            fs::read(run.join("scripts").join(&name)).unwrap(),
            fs::read(sb.root.join("rendered").join(&name)).unwrap()
        );
        assert!(run.join("logs").join(format!("{cell}.log")).is_file());
    }
    assert_eq!(fs::read_dir(run.join("work")).unwrap().count(), 0);
    let csv = fs::read_to_string(run.join("results.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().contains(",host,"), "{csv}");
    let index = fs::read_to_string(run.join("index.csv")).unwrap();
    assert!(index.starts_with("id,script,image,"), "{index}");
    // The cache holds the --source tarball under the definition's name.
    assert!(sb
        .root
        .join("cache")
        .join(format!("Python-{VERSION}.tgz"))
        .is_file());
    // The run records itself, and the page of its logs says what it is of.
    let about: serde_json::Value =
        serde_json::from_slice(&fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(about["engine"], "host");
    assert_eq!(about["matrix"], env!("CARGO_PKG_VERSION"));
    assert!(about["started"].as_str().unwrap().ends_with('Z'), "{about}");
    let page = sb.root.join("page.html");
    let report = Command::new(assert_cmd::cargo::cargo_bin("matrix"))
        .args(["report", "--format", "json", "--html"])
        .arg(&page)
        .arg(run.join("logs"))
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", stderr(&report));
    let html = fs::read_to_string(&page).unwrap();
    // The template engine writes each `/` of a value as `&#x2f;`.
    let place = fs::canonicalize(&run).unwrap().display().to_string();
    assert!(
        html.contains(&format!(
            "<span>run <b>{}</b></span>",
            place.replace('/', "&#x2f;")
        )) && html.contains("<span>engine <b>host</b></span>"),
        "{html}"
    );
}

#[test]
fn keep_work_keeps_work_directories_and_a_failing_test_is_a_result() {
    let sb = Sandbox::new();
    let out = sb.run(
        &["--out", "run", "--keep-work", "--only", "configure=debug"],
        &[("FAKE_TEST_STATUS", "2")],
    );
    assert!(
        out.status.success(),
        "a failing cell is a result: {}",
        stderr(&out)
    );
    assert_eq!(sb.results("run")[0].1, "Tests. Failed");
    assert_eq!(fs::read_dir(sb.root.join("run/work")).unwrap().count(), 1);
    // --fail-on turns that result into a failing exit, with the summary on stdout.
    let out = sb.run(
        &[
            "--out",
            "run2",
            "--only",
            "configure=debug",
            "--fail-on",
            "Tests. Failed",
        ],
        &[("FAKE_TEST_STATUS", "2")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Tests. Failed"));
    assert!(
        stderr(&out).contains("--fail-on: 1 cell(s)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_foreign_or_used_directory_is_refused_with_nothing_on_stdout() {
    let sb = Sandbox::new();
    fs::create_dir(sb.root.join("mine")).unwrap();
    fs::write(sb.root.join("mine/notes"), "x").unwrap();
    let out = sb.run(&["--out", "mine"], &[]);
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(
        stderr(&out).contains("not a run directory"),
        "{}",
        stderr(&out)
    );
    assert!(sb
        .run(&["--out", "run", "--only", "configure=debug"], &[])
        .status
        .success());
    let out = sb.run(&["--out", "run", "--only", "configure=debug"], &[]);
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    let out = sb.run(&["--out", "x", "-j", "999"], &[]);
    assert!(stderr(&out).contains("--jobs (-j) 999"), "{}", stderr(&out));
}

#[test]
fn a_deadline_stops_a_cell_as_the_stages_timeout() {
    let sb = Sandbox::new();
    // Configure blocks on purpose, so the deadline finds it running however slow the machine:
    // setup takes milliseconds, the deadline is seconds, and the result is read against the
    // stage the log says was running rather than assumed.
    let out = sb.run(
        &[
            "--out",
            "run",
            "--deadline",
            "5s",
            "--only",
            "configure=debug",
        ],
        &[("FAKE_SLEEP", "300")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (cell, result) = sb.results("run").remove(0);
    let log = sb.log("run", &cell);
    assert_eq!(common::last_started_stage(&log), Some("Configure"), "{log}");
    assert_eq!(result, "Configure. Timeout");
    assert!(
        log.contains("event=stage-end stage=configure status=143"),
        "{log}"
    );
    common::assert_no_processes_inside(&sb.root);
}

#[test]
fn ctrl_c_stops_every_cell_keeps_finished_results_and_resume_runs_the_rest() {
    let sb = Sandbox::new();
    let mut child = sb.spawn(&["--out", "run", "-j", "2"], &[("FAKE_SLEEP", "300")]);
    sb.wait_for_configure("run", &mut child);
    // While they run, results.csv says so: two Running, the two not started Missing. It is
    // written in batches, no sooner than ten times its last write's time after it: soon.
    common::wait_until("two Running cells in results.csv", PATIENCE, || {
        let mut live: Vec<String> = sb.results("run").into_iter().map(|(_, r)| r).collect();
        live.sort();
        live == ["Missing", "Missing", "Running", "Running"]
    });
    signal(&child, libc::SIGINT);
    let status = wait_for_exit(&mut child);
    assert!(!status.success(), "an interrupted run is not a success");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("interrupted"), "{err}");
    common::assert_no_processes_inside(&sb.root);
    let results = sb.results("run");
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|(_, r)| r == "Missing"), "{results:?}");
    // The stopped cells' logs are kept outside logs/, so they are no result.
    assert_eq!(
        fs::read_dir(sb.root.join("run/interrupted"))
            .unwrap()
            .count(),
        2
    );

    let out = sb.run(&["--out", "run", "--resume"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sb.results("run").iter().all(|(_, r)| r == "Tests. Passed"));
    // A second resume has nothing left to run.
    let out = sb.run(&["--out", "run", "--resume"], &[("FAKE_SLEEP", "300")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("4 cell(s) finished in an earlier run are kept; 0 to run"));
}

#[test]
fn a_second_ctrl_c_kills_cells_that_ignore_term() {
    let sb = Sandbox::new();
    let mut child = sb.spawn(
        &["--out", "run", "-j", "1", "--only", "configure=debug"],
        &[("FAKE_HANG_CC", "1")],
    );
    let lines = common::lines_of(child.stderr.take().unwrap());
    sb.wait_for("run", &mut child, "fake gcc hangs");
    signal(&child, libc::SIGINT);
    // The second Ctrl-C only after matrix has taken the first: two signals sent while a loaded
    // machine has not scheduled it yet would arrive as one.
    common::wait_for_line(&lines, "interrupted: stopping 1 running cell(s)");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C waits for the cell"
    );
    signal(&child, libc::SIGINT);
    let status = wait_for_exit(&mut child);
    assert!(!status.success());
    common::assert_no_processes_inside(&sb.root);
    assert!(sb.root.join("run/results.csv").is_file());
    // An abandoned cell's work directory goes too (no --keep-work), as an ended cell's does.
    assert_eq!(fs::read_dir(sb.root.join("run/work")).unwrap().count(), 0);
    assert_eq!(
        fs::read_dir(sb.root.join("run/running")).unwrap().count(),
        0
    );
}

#[test]
fn tests_replaces_every_cells_test_arguments_as_quoted_words() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin("matrix"))
        .args([
            "render",
            "--tests",
            "test_int 'a b' $(touch pwned)",
            "--out",
        ])
        .arg(dir.path().join("s"))
        .args(SELECTION)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let script =
        fs::read_to_string(dir.path().join("s/amd64-u24.04-py3.13.0b4-gcc-debug.sh")).unwrap();
    assert!(
        script.contains("TEST_ARGS=(test_int 'a b' '$(touch' 'pwned)')\n"),
        "{script}"
    );
    let out = Command::new(assert_cmd::cargo::cargo_bin("matrix"))
        .args(["render", "--tests", "test_int 'open", "--out"])
        .arg(dir.path().join("t"))
        .output()
        .unwrap();
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(
        stderr(&out).contains("unbalanced quotes"),
        "{}",
        stderr(&out)
    );
}

/// A container engine that answers and records what it is asked; its containers run nothing.
const FAKE_PODMAN: &str = r#"#!/bin/sh
echo "$*" >> "$FAKE_PODMAN_LOG"
exit 0
"#;

#[test]
fn resume_removes_a_leftover_container_before_its_cell_starts_again() {
    let sb = Sandbox::new();
    write_executable(&sb.root.join("bin/podman"), FAKE_PODMAN);
    let calls = sb.root.join("podman.log");
    let env = [("FAKE_PODMAN_LOG", calls.to_str().unwrap())];
    let podman = |args: &[&str]| {
        let mut command = sb.command_on("podman", args, &env);
        command.args(["--only", "configure=debug"]);
        command.output().unwrap()
    };
    // The containers run nothing, so the cell does not finish and --resume runs it again.
    let out = podman(&["--out", "run"]);
    let first = fs::read_to_string(&calls)
        .unwrap_or_else(|_| panic!("podman never called: {}", stderr(&out)));
    let name = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("--name="))
        .unwrap_or_else(|| panic!("no container started: {first}"))
        .to_owned();
    assert!(
        name.starts_with("matrix-run-amd64-u24.04-py3.13.0b4-gcc-") && name.len() > 40,
        "{name}"
    );
    assert!(!first.contains(&format!("rm -f {name}\nrun")), "{first}");
    fs::remove_file(&calls).unwrap();
    // The same run directory spelled another way: the same container name, removed first.
    let out = podman(&["--out", "./run/", "--resume"]);
    let again = fs::read_to_string(&calls).unwrap();
    let rm = again.find(&format!("rm -f {name}\n"));
    let run = again.find(&format!("--name={name} "));
    assert!(
        matches!((rm, run), (Some(rm), Some(run)) if rm < run),
        "{}\n{again}",
        stderr(&out)
    );
}
