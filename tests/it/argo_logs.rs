//! `matrix report` on what Argo gives back: the output of `argo logs WORKFLOW` (coloured, with
//! `--no-color`, with `--timestamps`) built from the output of real rendered scripts (run as
//! in `script_run`), and the artifact layout of `argo cp`. Each must give the results the same
//! scripts' logs give as separate files.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::matrix;
use crate::script_run::{script_for, Sandbox};

/// A cell to run: its id, its CPython version, and the fake tools' settings.
type Run = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// One pod's log: its name (as Argo names pods) and its lines.
struct Pod {
    name: String,
    lines: Vec<String>,
}

/// Four pods of one Workflow: a cell that passes, one whose configure fails, one whose tests
/// fail, and one killed in its configure stage (an OOM kill: no finish marker, so only the
/// `MATRIX_CELL=` line of its setup names it). A fifth pod was killed before it printed
/// anything of its cell.
fn pods() -> Vec<Pod> {
    let runs: [Run; 4] = [
        ("amd64-u24.04-py3.12.4-gcc-default", "3.12.4", &[]),
        (
            "amd64-u24.04-py3.12.4-gcc-debug",
            "3.12.4",
            &[("FAKE_CONFIGURE_FAIL", "1")],
        ),
        (
            "amd64-u24.04-py3.12.4-gcc-release",
            "3.12.4",
            &[("FAKE_TEST_STATUS", "2")],
        ),
        ("amd64-u24.04-py3.13.0b4-gcc-default", "3.13.0b4", &[]),
    ];
    let mut pods = Vec::new();
    for (n, (id, version, env)) in runs.into_iter().enumerate() {
        let (_, script) = script_for(id);
        let out = Sandbox::new(version).run(&script, env);
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        if n == 3 {
            // Killed in configure: the log stops there.
            let at = lines
                .iter()
                .position(|l| l.contains("event=stage-start stage=configure"))
                .unwrap();
            lines.truncate(at + 2);
        }
        pods.push(Pod {
            name: format!("build-cpython-x7k2p-build-{}", 1_000_000 + n * 7919),
            lines,
        });
    }
    pods.push(Pod {
        name: "build-cpython-x7k2p-build-2000000".into(),
        lines: vec![
            "Downloading https://www.python.org/ftp/python/3.12.4/Python-3.12.4.tgz".into(),
        ],
    });
    pods
}

/// `argo logs` output of `pods`: their lines interleaved (Argo streams the pods at once),
/// each `pod: line`, coloured as Argo colours a terminal's or not, with or without timestamps.
fn argo_logs(pods: &[Pod], colour: bool, timestamps: bool) -> String {
    let mut out = String::new();
    let longest = pods.iter().map(|p| p.lines.len()).max().unwrap();
    for i in 0..longest {
        for (n, pod) in pods.iter().enumerate() {
            let Some(line) = pod.lines.get(i) else {
                continue;
            };
            let stamp = if timestamps {
                format!("2026-11-25T16:{:02}:{:02}.123456789Z ", i / 60 % 60, i % 60)
            } else {
                String::new()
            };
            let text = format!("{}: {stamp}{line}", pod.name);
            if colour {
                out.push_str(&format!("\x1b[{}m{text}\x1b[0m\n", 31 + n));
            } else {
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
    out
}

/// `report`'s CSV as key → result.
fn results(dir: &Path) -> BTreeMap<String, String> {
    let out = matrix()
        .arg("report")
        .arg(dir)
        // The logs were written just now, but their workflow is over: a pod killed at its
        // deadline is a timeout, not a cell still running.
        .args(["--format", "csv", "--finished"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut rows = csv::Reader::from_reader(out.as_slice());
    rows.records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect()
}

#[test]
fn argo_logs_output_gives_each_pod_its_cell() {
    let pods = pods();
    // The reference: each pod's log as a file of its own.
    let separate = tempfile::tempdir().unwrap();
    for pod in &pods {
        let mut text = pod.lines.join("\n");
        text.push('\n');
        fs::write(separate.path().join(format!("{}.log", pod.name)), text).unwrap();
    }
    let expected = results(separate.path());
    let expect = |key: &str, result: &str| {
        assert_eq!(
            expected.get(key).map(String::as_str),
            Some(result),
            "{expected:?}"
        );
    };
    expect("amd64-u24.04-py3.12.4-gcc-default", "Tests. Passed");
    expect("amd64-u24.04-py3.12.4-gcc-debug", "Configure. Failed");
    expect("amd64-u24.04-py3.12.4-gcc-release", "Tests. Failed");
    expect("amd64-u24.04-py3.13.0b4-gcc-default", "Configure. Timeout");
    expect("build-cpython-x7k2p-build-2000000", "Unknown");
    assert_eq!(expected.len(), 5);

    for (colour, timestamps) in [(false, false), (true, false), (false, true), (true, true)] {
        let dir = tempfile::tempdir().unwrap();
        let text = argo_logs(&pods, colour, timestamps);
        fs::write(dir.path().join("build-cpython-x7k2p.log"), &text).unwrap();
        assert_eq!(
            results(dir.path()),
            expected,
            "colour {colour}, timestamps {timestamps}"
        );
        // Gzipped as well.
        let gz = tempfile::tempdir().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
        fs::write(
            gz.path().join("build-cpython-x7k2p.log.gz"),
            enc.finish().unwrap(),
        )
        .unwrap();
        assert_eq!(results(gz.path()), expected);
    }
}

#[test]
fn argo_cp_layout_names_cells_by_node() {
    let pods = pods();
    let dir = tempfile::tempdir().unwrap();
    for pod in &pods {
        let at = dir
            .path()
            .join("argo/build-cpython-x7k2p")
            .join(&pod.name)
            .join("outputs/main-logs");
        fs::create_dir_all(&at).unwrap();
        let mut text = pod.lines.join("\n");
        text.push('\n');
        fs::write(at.join("main.log"), text).unwrap();
    }
    let got = results(dir.path());
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(
        got.get("build-cpython-x7k2p-build-2000000")
            .map(String::as_str),
        Some("Unknown"),
        "a log without its cell's id is named by its node, not by `main-logs`: {got:?}"
    );
    assert_eq!(
        got.get("amd64-u24.04-py3.12.4-gcc-release")
            .map(String::as_str),
        Some("Tests. Failed")
    );
}

#[test]
fn argo_logs_without_a_usable_temporary_directory_say_where_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    fs::create_dir(&dir).unwrap();
    fs::write(
        dir.join("wf.log"),
        "wf-build-1: ::matrix:: event=stage-start stage=configure\nwf-build-2: + ./configure\n",
    )
    .unwrap();
    let missing = tmp.path().join("no-such-dir");
    let expected = format!(
        "cannot make a temporary file in {} for the pods' logs",
        missing.display()
    );
    let run = |command: &str| {
        matrix()
            .env("TMPDIR", &missing)
            .args([command, "--format", "csv"])
            .arg(&dir)
            .output()
            .unwrap()
    };
    // `report`: the file is a row of unknown result with the reason.
    let out = run("report");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(
        stdout.contains("set TMPDIR to a writable directory"),
        "{stdout}"
    );
    // `findings`: no row to carry it, so a warning on stderr.
    let out = run("findings");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("wf.log") && stderr.contains(&expected),
        "{stderr}"
    );
}
