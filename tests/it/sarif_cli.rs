//! `matrix sarif` end to end on synthetic SARIF trees written by the tests themselves.

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use serde_json::{json, Value};

use crate::common::matrix;

/// A GCC-like SARIF log with one run: `results` are (uri, line, rule, message, function);
/// a `None` uri gives a result with only a logical location, as GCC writes for some.
pub(crate) fn log(version: &str, results: &[(Option<&str>, u64, &str, &str, &str)]) -> String {
    let results: Vec<Value> = results
        .iter()
        .map(|(uri, line, rule, message, function)| {
            let logical =
                json!([{"name": function, "fullyQualifiedName": function, "kind": "function"}]);
            let location = match uri {
                Some(uri) => json!({
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri, "uriBaseId": "PWD"},
                        "region": {"startLine": line, "startColumn": 5, "endColumn": 9},
                        "contextRegion": {"startLine": line, "snippet": {"text": "  x = *p;\n"}}
                    },
                    "logicalLocations": logical
                }),
                None => json!({"logicalLocations": logical}),
            };
            json!({
                "ruleId": rule,
                "level": "warning",
                "message": {"text": message},
                "locations": [location],
                "codeFlows": [{"threadFlows": [{"locations": []}]}]
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "GNU C11", "version": "14.2.1", "rules": []}},
            "invocations": [{"executionSuccessful": true, "toolExecutionNotifications": []}],
            "originalUriBaseIds": {"PWD": {"uri": format!("file:///src/Python-{version}/")}},
            "artifacts": [],
            "results": results
        }]
    });
    serde_json::to_string_pretty(&log).unwrap()
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const NULL: &str = "-Wanalyzer-null-dereference";
const LEAK: &str = "-Wanalyzer-malloc-leak";

/// Two 3.12.4 builds and one 3.13.0b4 build in the corpus layout.
fn corpus_like(root: &Path) {
    let file = |build: &str, version: &str, name: &str| {
        root.join(build)
            .join("sarif-data/src")
            .join(format!("Python-{version}"))
            .join(name)
    };
    let a = [
        (
            Some("./Objects/listobject.c"),
            120,
            NULL,
            "dereference of NULL 'op'",
            "list_item",
        ),
        (
            Some("./Include/object.h"),
            220,
            NULL,
            "dereference of NULL 'ob'",
            "Py_TYPE",
        ),
        (
            None,
            0,
            "-Wanalyzer-use-of-pointer-in-stale-stack-frame",
            "stale frame",
            "f",
        ),
    ];
    write(
        &file("build_001", "3.12.4", "listobject.c.sarif"),
        &log("3.12.4", &a),
    );
    // Same findings spelled without `./`, one more, and an empty result list.
    write(
        &file("build_002", "3.12.4", "listobject.c.sarif"),
        &log(
            "3.12.4",
            &[
                (
                    Some("Objects/listobject.c"),
                    120,
                    NULL,
                    "dereference of NULL 'op'",
                    "list_item.part.0",
                ),
                (Some("./Python/ceval.c"), 7, LEAK, "leak of 'buf'", "eval"),
            ],
        ),
    );
    write(
        &file("build_002", "3.12.4", "empty.c.sarif"),
        &log("3.12.4", &[]),
    );
    // 3.13.0b4: the listobject finding moved by 10 lines, the leak is gone, two are new.
    write(
        &file("build_003", "3.13.0b4", "listobject.c.sarif"),
        &log(
            "3.13.0b4",
            &[
                (
                    Some("./Objects/listobject.c"),
                    130,
                    NULL,
                    "dereference of NULL 'op'",
                    "list_item",
                ),
                (
                    Some("./Objects/listobject.c"),
                    140,
                    NULL,
                    "dereference of NULL 'op'",
                    "list_ass",
                ),
                (
                    Some("./Modules/a,b.c"),
                    3,
                    LEAK,
                    "leak of \"q\", again",
                    "g",
                ),
            ],
        ),
    );
}

/// What `matrix sarif DIR ARGS...` prints, when it succeeds.
fn stdout_of(args: &[&str], dir: &Path) -> String {
    let dir = dir.to_str().unwrap();
    crate::common::stdout_of(&[&["sarif", dir], args].concat())
}

#[test]
fn csv_lists_distinct_findings_sorted_with_build_counts() {
    let dir = tempfile::tempdir().unwrap();
    corpus_like(dir.path());
    let expected = "\
version,uri,line,rule,message,builds
3.12.4,Include/object.h,220,'-Wanalyzer-null-dereference,dereference of NULL 'ob',1
3.12.4,Objects/listobject.c,120,'-Wanalyzer-null-dereference,dereference of NULL 'op',2
3.12.4,Python/ceval.c,7,'-Wanalyzer-malloc-leak,leak of 'buf',1
3.13.0b4,\"Modules/a,b.c\",3,'-Wanalyzer-malloc-leak,\"leak of \"\"q\"\", again\",1
3.13.0b4,Objects/listobject.c,130,'-Wanalyzer-null-dereference,dereference of NULL 'op',1
3.13.0b4,Objects/listobject.c,140,'-Wanalyzer-null-dereference,dereference of NULL 'op',1
";
    matrix()
        .arg("sarif")
        .arg(dir.path())
        .args(["--format", "csv"])
        .assert()
        .success()
        .stdout(expected)
        .stderr(predicate::str::contains(
            "note: 3.12.4: 1 distinct result without a source location not listed",
        ));
}

#[test]
fn unlocated_results_are_listed_on_request() {
    let dir = tempfile::tempdir().unwrap();
    corpus_like(dir.path());
    let out = stdout_of(&["--format", "csv", "--unlocated"], dir.path());
    assert_eq!(out.lines().count(), 1 + 7);
    assert!(out.contains(
        "3.12.4,,,'-Wanalyzer-use-of-pointer-in-stale-stack-frame,stale frame,1\n3.13.0b4,"
    ));
}

#[test]
fn table_and_json_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    corpus_like(dir.path());
    let table = stdout_of(&["--format", "table"], dir.path());
    insta::assert_snapshot!("sarif_table", table);
    let json = stdout_of(&["--format", "json"], dir.path());
    insta::assert_snapshot!("sarif_json", json);
    // Same input, same bytes.
    assert_eq!(json, stdout_of(&["--format", "json"], dir.path()));
}

#[test]
fn summary_counts_per_version_rule_and_file() {
    let dir = tempfile::tempdir().unwrap();
    corpus_like(dir.path());
    let out = stdout_of(&["--format", "csv", "--summary"], dir.path());
    assert_eq!(
        out,
        "\
by,key,version,findings
version,3.12.4,3.12.4,3
version,3.13.0b4,3.13.0b4,3
rule,'-Wanalyzer-malloc-leak,3.12.4,1
rule,'-Wanalyzer-malloc-leak,3.13.0b4,1
rule,'-Wanalyzer-null-dereference,3.12.4,2
rule,'-Wanalyzer-null-dereference,3.13.0b4,2
file,Include/object.h,3.12.4,1
file,\"Modules/a,b.c\",3.13.0b4,1
file,Objects/listobject.c,3.12.4,1
file,Objects/listobject.c,3.13.0b4,2
file,Python/ceval.c,3.12.4,1
"
    );
    let json: Value =
        serde_json::from_str(&stdout_of(&["--format", "json", "--summary"], dir.path())).unwrap();
    assert!(json.get("findings").is_none());
    assert_eq!(json["versions"][0]["unlocated"], 1);
    assert_eq!(json["versions"][0]["builds"], 2);
    assert_eq!(json["versions"][0]["sarif_files"], 3);
}

#[test]
fn diff_lists_what_the_second_version_adds() {
    let dir = tempfile::tempdir().unwrap();
    corpus_like(dir.path());
    // The moved finding is matched; the second one in the same file and the new file are new.
    assert_eq!(
        stdout_of(
            &["--format", "csv", "--diff", "3.12.4", "3.13.0b4"],
            dir.path()
        ),
        "\
version,uri,line,rule,message,builds
3.13.0b4,\"Modules/a,b.c\",3,'-Wanalyzer-malloc-leak,\"leak of \"\"q\"\", again\",1
3.13.0b4,Objects/listobject.c,140,'-Wanalyzer-null-dereference,dereference of NULL 'op',1
"
    );
    let back = stdout_of(
        &["--format", "csv", "--diff", "3.13.0b4", "3.12.4"],
        dir.path(),
    );
    assert_eq!(
        back.lines().skip(1).collect::<Vec<_>>(),
        [
            "3.12.4,Include/object.h,220,'-Wanalyzer-null-dereference,dereference of NULL 'ob',1",
            "3.12.4,Python/ceval.c,7,'-Wanalyzer-malloc-leak,leak of 'buf',1",
        ]
    );
    let table = stdout_of(
        &["--format", "table", "--diff", "3.12.4", "3.13.0b4"],
        dir.path(),
    );
    assert!(
        table
            .starts_with("3.13.0b4: 2 findings that 3.12.4 does not have; 1 build, 1 SARIF file\n"),
        "{table}"
    );
}

#[test]
fn diff_with_an_absent_version_names_the_present_ones() {
    let dir = tempfile::tempdir().unwrap();
    corpus_like(dir.path());
    matrix()
        .arg("sarif")
        .arg(dir.path())
        .args(["--diff", "3.12.4", "3.14.0"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "version `3.14.0` is not in the SARIF data; versions present: 3.12.4, 3.13.0b4",
        ));
}

#[test]
fn argo_artifact_archives_are_read_per_pod() {
    let dir = tempfile::tempdir().unwrap();
    let results = [(
        Some("./Objects/a.c"),
        5,
        NULL,
        "dereference of NULL 'x'",
        "f",
    )];
    for pod in ["build-cpython-x7k2p-101", "build-cpython-x7k2p-202"] {
        let pod_dir = dir.path().join("build-cpython-x7k2p").join(pod);
        fs::create_dir_all(&pod_dir).unwrap();
        fs::write(pod_dir.join("main.log"), "not read\n").unwrap();
        let file = fs::File::create(pod_dir.join("sarif-data.tgz")).unwrap();
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let text = log("3.14.0", &results);
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            "sarif-data/src/Python-3.14.0/a.c.sarif",
            text.as_bytes(),
        )
        .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    // An unpacked artifact of a third pod counts as a third build.
    write(
        &dir.path().join(
            "build-cpython-x7k2p/build-cpython-x7k2p-303/sarif-data/src/Python-3.14.0/a.c.sarif",
        ),
        &log("3.14.0", &results),
    );
    let json: Value = serde_json::from_str(&stdout_of(&["--format", "json"], dir.path())).unwrap();
    assert_eq!(json["findings"][0]["location"]["file"], "Objects/a.c");
    assert_eq!(
        json["findings"][0]["cells"],
        json!([
            "build-cpython-x7k2p/build-cpython-x7k2p-101",
            "build-cpython-x7k2p/build-cpython-x7k2p-202",
            "build-cpython-x7k2p/build-cpython-x7k2p-303"
        ])
    );
}

#[test]
fn a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    matrix()
        .arg("sarif")
        .arg(dir.path().join("nope"))
        .assert()
        .failure()
        .stdout("")
        .stderr(
            predicate::str::contains("error: cannot read SARIF directory")
                .and(predicate::str::contains("nope")),
        );
}

#[test]
fn a_directory_without_sarif_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("build_001/build.log"), "hello\n");
    matrix()
        .arg("sarif")
        .arg(dir.path())
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("error: no SARIF files under"));
}

#[test]
fn malformed_sarif_names_the_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    corpus_like(dir.path());
    let bad = dir
        .path()
        .join("build_009/sarif-data/src/Python-3.12.4/bad.c.sarif");
    // Truncated, as a killed build leaves it.
    write(
        &bad,
        "{\"version\": \"2.1.0\",\n \"runs\": [{\"results\": [",
    );
    matrix()
        .arg("sarif")
        .arg(dir.path())
        .assert()
        .failure()
        .stdout("")
        .stderr(
            predicate::str::contains(bad.display().to_string())
                .and(predicate::str::contains("not valid SARIF"))
                .and(predicate::str::contains("line 2 column 23")),
        );
    // With --skip-invalid it is a warning and the rest is counted.
    let output = matrix()
        .arg("sarif")
        .arg(dir.path())
        .args(["--skip-invalid", "--format", "csv"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("warning: skipped"), "{stderr}");
    assert!(stderr.contains("bad.c.sarif"), "{stderr}");
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().count(), 7);
}

#[test]
fn valid_json_that_is_not_sarif_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("b/src/Python-3.12.4/x.sarif"),
        "{\"version\": \"2.1.0\"}",
    );
    matrix()
        .arg("sarif")
        .arg(dir.path())
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("missing field `runs`"));
}

#[test]
fn a_file_outside_a_python_version_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("b/src/cpython/x.sarif"),
        &log("3.12.4", &[]),
    );
    matrix()
        .arg("sarif")
        .arg(dir.path())
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "cannot tell the CPython version: no Python-<version> directory",
        ));
}

#[test]
fn a_corrupt_archive_is_an_error_or_with_skip_invalid_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    corpus_like(dir.path());
    let archive = dir.path().join("wf/pod-9/sarif-data.tgz");
    write(&archive, "this is not gzip\n");
    matrix()
        .arg("sarif")
        .arg(dir.path())
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(archive.display().to_string()).and(
            predicate::str::contains("not a gzip-compressed tar archive"),
        ));
    let output = matrix()
        .arg("sarif")
        .arg(dir.path())
        .args(["--skip-invalid", "--format", "csv"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("warning: skipped"));
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().count(), 7);
}
