//! `matrix report` on a live run: an unfinished log modified within the deadline is `Running`;
//! `--deadline` and its errors.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use predicates::prelude::*;

use crate::common::{matrix, project_root, replace_once};

const M: &str = "::matrix::";

/// A log of a cell in its tests, no finish marker yet, last written `age` ago.
fn unfinished(dir: &Path, name: &str, age: Duration) {
    let path = dir.join(name);
    fs::write(
        &path,
        format!(
            "{M} event=stage-start stage=configure time=t\n\
             {M} event=stage-end stage=configure status=0 time=t\n\
             {M} event=stage-start stage=compile time=t\n\
             {M} event=stage-end stage=compile status=0 time=t\n\
             {M} event=stage-start stage=tests time=t\n\
             0:01:02 [ 12/480] test_capi\n"
        ),
    )
    .unwrap();
    let file = fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

fn results(dir: &Path, extra: &[&str]) -> Vec<(String, String)> {
    let out = matrix()
        .current_dir(dir)
        .args(["report", "logs", "--format", "csv"])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (key, result, cause) = (col("key"), col("result"), col("cause"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert!(
                r[result].to_string() != "Running" || r[cause].is_empty(),
                "a running cell has no cause yet: {r:?}"
            );
            (r[key].to_string(), r[result].to_string())
        })
        .collect()
}

#[test]
fn unfinished_and_recent_is_running_old_is_a_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    unfinished(&logs, "fresh.log", Duration::from_secs(60));
    unfinished(&logs, "old.log", Duration::from_secs(5 * 3600));
    assert_eq!(
        results(tmp.path(), &[]),
        [
            ("fresh".to_string(), "Running".to_string()),
            ("old".to_string(), "Tests. Timeout".to_string())
        ]
    );
    // A 30-second deadline: the minute-old log is of a pod that was stopped.
    assert_eq!(
        results(tmp.path(), &["--deadline", "30s"])[0].1,
        "Tests. Timeout"
    );
    // The definition's deadline applies when one is at hand (./matrix.yaml or --config).
    fs::write(
        tmp.path().join("matrix.yaml"),
        replace_once(
            &fs::read_to_string(project_root().join("definition/matrix.yaml")).unwrap(),
            "deadline: 4h",
            "deadline: 30s",
        ),
    )
    .unwrap();
    assert_eq!(results(tmp.path(), &[])[0].1, "Tests. Timeout");
    assert_eq!(results(tmp.path(), &["--deadline", "2h"])[0].1, "Running");
    // The run is over: nothing is running, however fresh its log.
    assert_eq!(results(tmp.path(), &["--finished"])[0].1, "Tests. Timeout");
}

#[test]
fn a_bad_deadline_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    unfinished(&logs, "fresh.log", Duration::from_secs(60));
    matrix()
        .current_dir(tmp.path())
        .args(["report", "logs", "--deadline", "soon"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("--deadline soon"));
}
