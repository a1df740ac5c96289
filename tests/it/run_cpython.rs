//! The proof on a real CPython: `matrix run --engine host` builds python.org's 3.13.5 tarball
//! (`../shared/cpython/`) for real and the results come from results.csv. Slow (minutes per
//! cell), so ignored by a plain `cargo test`; `.ci/run` runs them with
//! `cargo test --locked --test it -- --ignored run_cpython --test-threads 1`. The ASan +
//! LD_PRELOAD cells run in containers instead (`images_real.rs`), sharing the CI's time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::common;

const VERSION: &str = "3.13.5";
const TARBALL_SHA256: &str = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640";
/// A short test selection: what a smoke run of a cell takes.
const SMOKE: &str = "test_int test_bool";

/// The built-in definition with 3.13.5 added (its .tar.xz and checksum), the smoke selection as
/// its test arguments, and a contribution
/// giving the plain debug cells a test selection that fails: a test module that does not
/// exist, which regrtest counts as a failed test.
fn definition(dir: &Path) -> PathBuf {
    let mut raw: serde_yaml::Value = serde_yaml::from_str(common::BUILTIN_DEFINITION).unwrap();
    let axes = raw["axes"].as_sequence_mut().unwrap();
    let python = axes.iter_mut().find(|a| a["name"] == "python").unwrap();
    python["values"]
        .as_sequence_mut()
        .unwrap()
        .push(VERSION.into());
    raw["source"]["sha256"][VERSION] = TARBALL_SHA256.into();
    raw["source"]["format"][VERSION] = "tar.xz".into();
    raw["tests"]["args"] = SMOKE.split(' ').map(serde_yaml::Value::from).collect();
    let failing: serde_yaml::Value = serde_yaml::from_str(
        "{ when: { python: '3.13.5', sanitizer: none, configure: debug }, \
           test_args: [test_bool, test_matrix_no_such_module] }",
    )
    .unwrap();
    raw["contributions"]
        .as_sequence_mut()
        .unwrap()
        .push(failing);
    let path = dir.join("matrix.yaml");
    std::fs::write(&path, serde_yaml::to_string(&raw).unwrap()).unwrap();
    path
}

struct Real {
    dir: tempfile::TempDir,
    config: PathBuf,
    tarball: PathBuf,
}

impl Real {
    fn new(test: &str) -> Option<Real> {
        let tarball = common::shared(test, "cpython/Python-3.13.5.tar.xz")?;
        let dir = tempfile::tempdir().unwrap();
        let config = definition(dir.path());
        Some(Real {
            dir,
            config,
            tarball,
        })
    }

    /// Runs `matrix run --engine host` on the gcc / amd64 / ubuntu-24.04 cells of 3.13.5 that
    /// `only` selects; returns (cell, result) from results.csv.
    fn run(&self, name: &str, only: &[&str], extra: &[&str]) -> Vec<(String, String)> {
        let out = self.dir.path().join(name);
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("matrix"));
        command
            .arg("--config")
            .arg(&self.config)
            .args(["run", "--engine", "host", "--out"])
            .arg(&out)
            .arg("--cache")
            .arg(self.dir.path().join("cache"))
            .arg("--source")
            .arg(format!("{VERSION}={}", self.tarball.display()))
            .args(["--only", "python=3.13.5", "--only", "platform=amd64"])
            .args(["--only", "os=ubuntu-24.04", "--only", "compiler=gcc"]);
        for o in only {
            command.args(["--only", o]);
        }
        command.args(extra);
        let start = Instant::now();
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("{name}: {:.0?}\n{stderr}", start.elapsed());
        assert!(output.status.success(), "{name}: {stderr}");
        let mut reader = csv::Reader::from_path(out.join("results.csv")).unwrap();
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
}

#[test]
#[ignore = "builds CPython for real (minutes); run with -- --ignored run_cpython"]
fn run_cpython_plain_cells_pass_a_smoke_selection_and_fail_a_failing_one() {
    let Some(real) = Real::new("run_cpython_plain") else {
        return;
    };
    // Two cells at once, one core each: gcc without a sanitizer, default and debug.
    let results = real.run(
        "plain",
        &["sanitizer=none", "configure=default,debug"],
        &["-j", "2"],
    );
    let mut results = results;
    results.sort();
    assert_eq!(
        results,
        [
            (
                "amd64-u24.04-py3.13.5-gcc-debug".to_string(),
                "Tests. Failed".to_string()
            ),
            (
                "amd64-u24.04-py3.13.5-gcc-default".to_string(),
                "Tests. Passed".to_string()
            ),
        ],
        "the default cell passes {SMOKE}; the debug cell's selection names a missing test"
    );
}

#[test]
#[ignore = "builds CPython for real (minutes); run with -- --ignored run_cpython"]
fn run_cpython_a_short_deadline_stops_the_stage_it_finds_as_its_timeout() {
    let Some(real) = Real::new("run_cpython_deadline") else {
        return;
    };
    // 60 s is past setup (unpacking 3.13.5) on a loaded machine and long before a release
    // build ends. Whether configure is still running then or compilation has begun is the
    // machine's speed: the log says which, and the result must be that stage's timeout.
    let results = real.run(
        "deadline",
        &["sanitizer=none", "configure=release"],
        &["--deadline", "60s"],
    );
    let cell = "amd64-u24.04-py3.13.5-gcc-release";
    let log = std::fs::read_to_string(
        real.dir
            .path()
            .join("deadline/logs")
            .join(format!("{cell}.log")),
    )
    .unwrap();
    let stage = common::last_started_stage(&log).expect("no stage started");
    assert!(log.contains(" status=143 "), "{log}");
    assert_eq!(
        results,
        [(cell.to_string(), format!("{stage}. Timeout"))],
        "the deadline found {stage} running"
    );
}

/// The results row (by column) and log of one cell.
type CellRun = (std::collections::HashMap<String, String>, String);

/// The cpython-ci definition (`matrix init --profile cpython-ci`): its gcc debug cell of 3.13.5
/// with `sanitizer`, built and run with `matrix run --engine host` and the smoke selection.
fn run_cpython_ci(test: &str, sanitizer: &str) -> Option<CellRun> {
    let tarball = common::shared(test, "cpython/Python-3.13.5.tar.xz")?;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cpython-ci.yaml");
    let init = common::matrix()
        .args(["init", "--profile", "cpython-ci"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = dir.path().join("run");
    let start = Instant::now();
    let output = common::matrix()
        .arg("--config")
        .arg(&config)
        .args(["run", "--engine", "host", "--out"])
        .arg(&out)
        .arg("--source")
        .arg(format!("{VERSION}={}", tarball.display()))
        .args(["--only", "compiler=gcc", "--only", "configure=debug"])
        .args(["--only", &format!("sanitizer={sanitizer}")])
        .args(["--tests", SMOKE])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{test}: {:.0?}\n{stderr}", start.elapsed());
    assert!(output.status.success(), "{test}: {stderr}");
    let mut reader = csv::Reader::from_path(out.join("results.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().expect("one cell").unwrap();
    let cell = format!("amd64-u24.04-py3.13.5-gcc-{sanitizer}-debug");
    assert_eq!(&row[0], cell);
    let row = header
        .iter()
        .map(String::from)
        .zip(row.iter().map(String::from))
        .collect();
    let log = std::fs::read_to_string(out.join("logs").join(format!("{cell}.log"))).unwrap();
    Some((row, log))
}

#[test]
#[ignore = "builds CPython for real (minutes); run with -- --ignored run_cpython"]
fn run_cpython_ci_asan_cell_sees_every_canary_and_passes() {
    let Some((row, log)) = run_cpython_ci("run_cpython_ci_asan", "asan") else {
        return;
    };
    assert_eq!(
        row["canaries"], "heap-overflow-small:seen heap-overflow-large:seen use-after-free:seen",
        "--without-pymalloc lets ASan see small objects"
    );
    assert_eq!(row["blind"], "no");
    assert_eq!(row["result"], "Tests. Passed", "{log}");
    assert!(log.contains("--with-address-sanitizer"), "{log}");
}

#[test]
#[ignore = "builds CPython for real (minutes); run with -- --ignored run_cpython"]
fn run_cpython_ci_tsan_cell_sees_the_data_race() {
    let Some((row, log)) = run_cpython_ci("run_cpython_ci_tsan", "tsan") else {
        return;
    };
    assert_eq!(row["canaries"], "data-race:seen", "{log}");
    assert_eq!(row["blind"], "no");
    assert!(
        log.contains("suppressions=/"),
        "the tree's suppression file, by absolute path: {log}"
    );
}

impl Real {
    /// results.csv of the run directory `name`, by column.
    fn rows(&self, name: &str) -> Vec<std::collections::BTreeMap<String, String>> {
        common::csv_rows(&std::fs::read(self.dir.path().join(name).join("results.csv")).unwrap())
    }

    /// `matrix ARGS` with this test's definition, cache and source, in its directory.
    fn matrix(&self, args: &[&str]) -> Command {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("matrix"));
        command
            .current_dir(self.dir.path())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .arg("--cache")
            .arg(self.dir.path().join("cache"))
            .arg("--source")
            .arg(format!("{VERSION}={}", self.tarball.display()));
        command
    }
}

#[test]
#[ignore = "builds CPython for real (minutes); run with -- --ignored run_cpython"]
fn run_cpython_rerun_of_a_timed_out_cell_gives_its_fresh_result_and_keeps_the_attempt() {
    let Some(real) = Real::new("run_cpython_rerun") else {
        return;
    };
    let cell = "amd64-u24.04-py3.13.5-gcc-default";
    let first = real.run(
        "rerun",
        &["sanitizer=none", "configure=default"],
        &["--deadline", "60s"],
    );
    assert!(first[0].1.ends_with(". Timeout"), "{first:?}");
    // The run's own cells, again, with the definition's deadline: what a fresh run of this
    // cell gives (`run_cpython_plain…`: Tests. Passed), and the timed-out log kept.
    let start = Instant::now();
    let out = real
        .matrix(&[
            "run", "--engine", "host", "--out", "rerun", "--rerun", "timeout",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("rerun: {:.0?}\n{stderr}", start.elapsed());
    assert!(out.status.success(), "{stderr}");
    let rows = real.rows("rerun");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["key"].as_str(), rows[0]["result"].as_str()),
        (cell, "Tests. Passed")
    );
    assert_eq!(rows[0]["attempts"], "2");
    assert_eq!(
        rows[0]["flaky"],
        format!("earlier attempts: {}", first[0].1)
    );
    let attempt = real
        .dir
        .path()
        .join("rerun/logs/attempts/1")
        .join(format!("{cell}.log"));
    assert!(std::fs::read_to_string(attempt)
        .unwrap()
        .contains(" status=143 "));
    // What the cell's markers and regrtest say of it.
    assert_eq!(rows[0]["source_id"], format!("sha256:{TARBALL_SHA256}"));
    assert!(
        rows[0]["compiler_version"].starts_with("gcc"),
        "{:?}",
        rows[0]
    );
    assert!(
        rows[0]["stage_seconds"].starts_with("setup="),
        "{:?}",
        rows[0]
    );
    assert!(
        rows[0]["stage_seconds"].contains(" compile="),
        "{:?}",
        rows[0]
    );
    assert!(
        rows[0]["tests_run"].parse::<u64>().unwrap() > 0,
        "{:?}",
        rows[0]
    );
}

#[test]
#[ignore = "builds CPython for real (minutes); run with -- --ignored run_cpython"]
fn run_cpython_repro_of_a_cell_and_a_shell_in_its_built_tree() {
    let Some(real) = Real::new("run_cpython_repro") else {
        return;
    };
    let cell = "amd64-u24.04-py3.13.5-gcc-debug";
    let start = Instant::now();
    let mut child = real
        .matrix(&[
            "repro", "--engine", "host", "--shell", "--out", "repro", cell,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"./python -c 'import sys; print(\"pydebug\", hasattr(sys, \"gettotalrefcount\"))'\n\
              matrix_tests; echo \"tests exit $?\"\nexit\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("repro: {:.0?}\n{stderr}", start.elapsed());
    assert!(out.status.success(), "{stderr}");
    // The same result as the fresh run of this cell (`run_cpython_plain…`): its selection
    // names a missing test module.
    let rows = real.rows("repro");
    assert_eq!(
        (rows[0]["key"].as_str(), rows[0]["result"].as_str()),
        (cell, "Tests. Failed")
    );
    assert!(
        stdout.contains("pydebug True"),
        "the shell is in the built debug tree: {stdout}"
    );
    assert!(
        stdout.contains("test_matrix_no_such_module") && stdout.contains("tests exit 2"),
        "matrix_tests runs the cell's own test command and arguments: {stdout}"
    );
}
