//! `matrix fetch` against a fake `argo` first on PATH, which serves a recorded run: the
//! Workflow `matrix workflow` emits, with node statuses shaped as `argo get -o json` prints
//! them (passed, failed, OOM-killed, killed at the deadline, evicted, deleted, running, not
//! started), artifact trees for `argo cp` and container logs for `argo logs`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{csv_rows, matrix};

/// Serves `$FAKE_ARGO`: `get/<wf>.json`, `artifacts/<node>/<artifact>/<file>` (`argo cp`),
/// `logs/<cell>` (`argo logs`); every call is appended to `$FAKE_ARGO/calls`.
const FAKE_ARGO: &str = r#"#!/bin/bash
set -eu
root=$FAKE_ARGO
printf '%s\n' "$*" >>"$root/calls"
command=$1
shift
case $command in
get)
    if [[ ! -f $root/get/$1.json ]]; then
        echo "workflows.argoproj.io \"$1\" not found" >&2
        exit 1
    fi
    cat "$root/get/$1.json"
    ;;
cp)
    dir=$2
    shift 2
    while (($#)); do
        case $1 in
        --node-id) node=$2 ;;
        --artifact-name) artifact=$2 ;;
        esac
        shift 2
    done
    if [[ ! -d $root/artifacts/$node/$artifact ]]; then
        echo "failed to get and store artifact data: request failed 404 Not Found" >&2
        exit 1
    fi
    mkdir -p "$dir/$artifact"
    cp -R "$root/artifacts/$node/$artifact/." "$dir/$artifact/"
    ;;
logs)
    workflow=$1
    shift
    while (($#)); do
        case $1 in
        --selector) cell=${2#*=} && shift ;;
        esac
        shift
    done
    if [[ -f $root/logs/$cell ]]; then
        sed "s/^/$workflow-build-1234: /" "$root/logs/$cell"
    fi
    ;;
esac
"#;

const SELECTION: [&str; 4] = ["--only", "platform=amd64", "--only", "sanitizer=analyzer"];
const WORKFLOW: &str = "build-cpython-x7k2p";

fn marker(event: &str) -> String {
    format!("::matrix:: {event} time=2026-01-01T00:00:00Z\n")
}

/// A log of the script that got as far as `stage`; with `status`, it finished there.
fn log(cell: &str, stage: &str, status: Option<i32>) -> String {
    let mut log = format!("MATRIX_CELL={cell}\n");
    for s in ["setup", "configure", "compile", "tests"] {
        log.push_str(&marker(&format!("event=stage-start stage={s}")));
        if s == stage {
            log.push_str("gcc -c -O2 -o Objects/abstract.o Objects/abstract.c\n");
            if let Some(status) = status {
                log.push_str(&marker(&format!(
                    "event=stage-end stage={s} status={status}"
                )));
                log.push_str(&marker(&format!(
                    "event=finish cell={cell} stage={s} status={status}"
                )));
            }
            return log;
        }
        log.push_str(&marker(&format!("event=stage-end stage={s} status=0")));
    }
    unreachable!("no stage {stage}")
}

/// The recorded run in `root`: the Workflow (its spec as `matrix workflow` emits it), nodes
/// made by `nodes`, artifacts and container logs written by the caller.
struct Run {
    root: PathBuf,
    spec: Value,
    cells: Vec<String>,
    nodes: BTreeMap<String, Value>,
}

impl Run {
    fn new(root: &Path) -> Run {
        let out = matrix().arg("workflow").args(SELECTION).output().unwrap();
        assert!(out.status.success());
        let yaml: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
        let spec = serde_json::to_value(&yaml["spec"]).unwrap();
        let list = matrix().arg("list").args(SELECTION).output().unwrap();
        let cells = String::from_utf8(list.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        fs::create_dir_all(root.join("get")).unwrap();
        fs::create_dir_all(root.join("logs")).unwrap();
        Run {
            root: root.to_path_buf(),
            spec,
            cells,
            nodes: BTreeMap::new(),
        }
    }

    /// Cell `i`'s pod node: its phase and message, and which outputs it has.
    fn node(&mut self, i: usize, phase: &str, message: &str, result: &str, artifacts: &[&str]) {
        let cell = &self.cells[i];
        let id = format!("{WORKFLOW}-{}", 1000 + i);
        let artifacts: Vec<Value> = (artifacts.iter())
            .map(|a| json!({"name": a, "s3": {"key": format!("{WORKFLOW}/{id}/{a}")}}))
            .collect();
        let mut node = json!({
            "id": id,
            "name": format!("{WORKFLOW}[0].cells-1[0].build({i}:cell:{cell})"),
            "displayName": format!("build({i}:cell:{cell})"),
            "type": "Pod",
            "templateName": "build",
            "phase": phase,
            "startedAt": "2026-01-01T00:00:00Z",
            "inputs": {"parameters": [{"name": "cell", "value": cell}]},
        });
        if !message.is_empty() {
            node["message"] = json!(message);
        }
        if phase != "Running" {
            node["finishedAt"] = json!("2026-01-01T01:00:00Z");
            node["outputs"] = json!({
                "parameters": [{"name": "result", "value": result}],
                "artifacts": artifacts,
                "exitCode": "0",
            });
        }
        self.nodes.insert(id, node);
    }

    /// The `log` artifact of cell `i`'s node.
    fn artifact_log(&self, i: usize, text: &str) {
        let dir = (self.root.join("artifacts"))
            .join(format!("{WORKFLOW}-{}", 1000 + i))
            .join("log");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("matrix.log"), text).unwrap();
    }

    fn container_log(&self, i: usize, text: &str) {
        fs::write(self.root.join("logs").join(&self.cells[i]), text).unwrap();
    }

    fn sarif(&self, i: usize) {
        let dir = (self.root.join("artifacts"))
            .join(format!("{WORKFLOW}-{}", 1000 + i))
            .join("sarif-data");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("sarif-data.tgz"), b"not read by fetch").unwrap();
    }

    /// Writes `argo get -o json`'s document for the run as it is now.
    fn record(&self) {
        let running = self.nodes.values().any(|n| n["phase"] == "Running");
        let workflow = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"name": WORKFLOW, "namespace": "argo"},
            "spec": self.spec,
            "status": {
                "phase": if running { "Running" } else { "Succeeded" },
                "nodes": self.nodes,
            },
        });
        let path = self.root.join("get").join(format!("{WORKFLOW}.json"));
        fs::write(path, serde_json::to_vec_pretty(&workflow).unwrap()).unwrap();
    }

    fn calls(&self) -> String {
        fs::read_to_string(self.root.join("calls")).unwrap_or_default()
    }
}

/// A directory holding the fake `argo`, to put first on PATH.
fn fake_argo(dir: &Path) -> String {
    fs::create_dir_all(dir).unwrap();
    let path = dir.join("argo");
    fs::write(&path, FAKE_ARGO).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap())
}

fn fetch(path: &str, run: &Run, out: &Path) -> std::process::Output {
    matrix()
        .env("PATH", path)
        .env("FAKE_ARGO", &run.root)
        .args(["fetch", WORKFLOW, "--out"])
        .arg(out)
        .output()
        .unwrap()
}

fn report(out: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let result = matrix()
        .arg("report")
        .arg(out)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    (csv_rows(&result.stdout).into_iter())
        .map(|row| (row["key"].clone(), row))
        .collect()
}

/// The JSON line the script writes to its result file.
fn result(cell: &str, stage: &str, status: i32) -> String {
    format!(r#"{{"cell":"{cell}","stage":"{stage}","status":{status}}}"#)
}

/// Cells 0 to 6 as a recorded run has them: passed (with SARIF files), failed, OOM-killed,
/// killed at the deadline, evicted, deleted, running; the others not started.
fn record_run(run: &mut Run) {
    let c = run.cells.clone();
    run.node(
        0,
        "Succeeded",
        "",
        &result(&c[0], "tests", 0),
        &["sarif-data", "log"],
    );
    run.artifact_log(0, &log(&c[0], "tests", Some(0)));
    run.sarif(0);
    run.node(
        1,
        "Failed",
        "Error (exit code 2)",
        &result(&c[1], "compile", 2),
        &["log"],
    );
    run.artifact_log(1, &log(&c[1], "compile", Some(2)));
    // OOM-killed in the compile stage: the script's own copy of its log is all there is.
    run.node(2, "Failed", "OOMKilled (exit code 137)", "", &["log"]);
    run.artifact_log(2, &log(&c[2], "compile", None));
    // Killed at the deadline with no artifact saved: the pod, kept, still has its log.
    let deadline = "Pod was active on the node longer than the specified deadline";
    run.node(3, "Failed", deadline, "", &[]);
    run.container_log(3, &log(&c[3], "tests", None));
    let evicted =
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki.";
    run.node(4, "Error", evicted, "", &[]);
    run.node(5, "Error", "pod deleted", "", &[]);
    run.node(6, "Running", "", "", &[]);
    run.container_log(6, &log(&c[6], "configure", None));
    run.record();
}

/// The page of the fetched run in `out` names the Workflow it came from.
fn assert_page_names_the_workflow(out: &Path) {
    let page = out.with_file_name("page.html");
    let made = crate::common::matrix()
        .args(["report", "--format", "json", "--finished", "--html"])
        .arg(&page)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let html = fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(&format!("<span>workflows <b>{WORKFLOW}</b></span>")),
        "{html}"
    );
}

#[test]
fn a_recorded_run_becomes_a_run_directory_whose_report_names_every_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let path = fake_argo(&tmp.path().join("bin"));
    let mut run = Run::new(&tmp.path().join("argo"));
    let c = run.cells.clone();
    record_run(&mut run);

    let out = tmp.path().join("run");
    let first = fetch(&path, &run, &out);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let summary = String::from_utf8(first.stdout).unwrap();
    assert!(
        summary.contains(&format!("{} cells, 5 with a log", c.len())),
        "{summary}"
    );
    assert!(summary.contains(&format!(
        "{}: no log: its pod was evicted (The node was low",
        c[4]
    )));

    // The index is the Workflow's own: every cell, its image and axis values.
    let index = fs::read_to_string(out.join("index.csv")).unwrap();
    assert!(
        index.starts_with("id,image,platform,os,python,compiler,sanitizer,"),
        "{index}"
    );
    assert_eq!(index.lines().count(), c.len() + 1);
    assert!(
        index.contains(&format!(
            "{},registry.example.invalid/cpython-matrix/build-cpython:fedora-40,amd64,fedora-40,",
            c[0]
        )),
        "{index}"
    );
    assert_eq!(
        fs::read_to_string(out.join("logs").join(format!("{}.log", c[3]))).unwrap(),
        log(&c[3], "tests", None),
        "argo logs' prefixes are gone"
    );
    assert!(out
        .join("artifacts")
        .join(&c[0])
        .join("sarif-data.tgz")
        .is_file());

    let rows = report(&out);
    assert_eq!(rows.len(), c.len());
    assert_eq!(rows[&c[0]]["result"], "Tests. Passed");
    assert_eq!(rows[&c[1]]["result"], "Compilation. Failed");
    assert_eq!(rows[&c[6]]["result"], "Running");
    assert_eq!(rows[&c[4]]["result"], "Missing");
    assert!(
        rows[&c[4]]["evidence"].contains("its pod was evicted"),
        "{:?}",
        rows[&c[4]]
    );
    assert!(rows[&c[5]]["evidence"].contains("its pod was deleted (pod deleted)"));
    assert!(rows[&c[7]]["evidence"].contains("not started (the Workflow has no pod for it)"));
    assert_page_names_the_workflow(&out);

    // The run ends; a second fetch adds the new log and fetches nothing it already has.
    run.node(6, "Succeeded", "", &result(&c[6], "tests", 0), &["log"]);
    run.artifact_log(6, &log(&c[6], "tests", Some(0)));
    run.record();
    fs::remove_file(run.root.join("calls")).unwrap();
    let second = fetch(&path, &run, &out);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let summary = String::from_utf8(second.stdout).unwrap();
    assert!(
        summary.contains("5 with a log (1 fetched now)"),
        "{summary}"
    );
    let calls = run.calls();
    let copies: Vec<&str> = calls.lines().filter(|l| l.starts_with("cp ")).collect();
    assert_eq!(copies.len(), 1, "{calls}");
    assert!(copies[0].contains(&format!("{WORKFLOW}-1006")), "{calls}");

    let rows = report(&out);
    assert_eq!(rows[&c[6]]["result"], "Tests. Passed");
    // Every pod has ended: a log that stops inside a stage is of a killed pod.
    // Read as killed at the deadline by its log alone; its node says OOM.
    assert_eq!(rows[&c[2]]["result"], "Compilation. OOM");
    assert!(rows[&c[2]]["evidence"].contains("OOMKilled (exit code 137)"));
    assert_eq!(rows[&c[3]]["result"], "Tests. Timeout");
    assert_eq!(rows[&c[4]]["result"], "Missing");
    let record = fs::read_to_string(out.join("fetch.csv")).unwrap();
    assert!(
        record.contains(",oom-killed,OOMKilled (exit code 137),artifact,"),
        "{record}"
    );
    assert!(record.contains(",deadline,"), "{record}");
}

#[test]
fn a_workflow_argo_cannot_get_is_an_error_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let path = fake_argo(&tmp.path().join("bin"));
    let run = Run::new(&tmp.path().join("argo"));
    let out = tmp.path().join("run");
    let result = fetch(&path, &run, &out);
    assert_eq!(result.status.code(), Some(2));
    assert!(result.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains(&format!("`argo get {WORKFLOW} -o json` failed")),
        "{stderr}"
    );
    assert!(!out.join("index.csv").exists());
}

#[test]
fn a_symlinked_out_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = fake_argo(&tmp.path().join("bin"));
    let run = Run::new(&tmp.path().join("argo"));
    fs::create_dir(tmp.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), tmp.path().join("run")).unwrap();
    let result = fetch(&path, &run, &tmp.path().join("run"));
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("symbolic link"));
}
