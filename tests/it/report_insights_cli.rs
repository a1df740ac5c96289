//! `matrix report --insights`, the table's width, and the report's refusals, end to end on
//! small synthetic legacy logs written by these tests.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use predicates::prelude::*;

use crate::common::matrix;

/// Legacy logs: a configure that segfaults for gcc with preload, tests that fail otherwise.
fn fixture(dir: &Path) {
    let logs = dir.join("logs");
    fs::create_dir_all(&logs).unwrap();
    let mut index = String::from("Compiler,LDPreloadMode,BuildOption,script_name,Result\n");
    let mut n = 0;
    for compiler in ["gcc", "clang"] {
        for preload in ["enabled", "disabled"] {
            for option in ["debug", "release"] {
                n += 1;
                let script = format!("build_{n:03}.sh");
                index.push_str(&format!("{compiler},{preload},{option},{script},x\n"));
                let body = if compiler == "gcc" && preload == "enabled" {
                    "+ ./configure\nchecking for gcc... gcc\n./configure: line 1: 42 Segmentation fault (core dumped) cc conftest.c\nconfigure: error: C compiler cannot create executables\n"
                } else {
                    "+ ./configure\nchecking for gcc... gcc\n+ make\ngcc -o python Programs/python.o\n+ ./python -m test -uall\n== CPython 3.12.4\n0:00:01 load avg: 1.00 [1/1] test_os\n== Tests result: FAILURE ==\n"
                };
                fs::write(
                    logs.join(format!("build_{n:03}-1.sh.txt")),
                    format!("+ set -e\n{body}"),
                )
                .unwrap();
            }
        }
    }
    fs::write(dir.join("labels.csv"), index).unwrap();
}

#[test]
fn insights_name_the_condition_as_csv_json_and_text() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    let run = |format: &str| {
        let out = matrix()
            .current_dir(tmp.path())
            .args([
                "report",
                "logs",
                "--index",
                "labels.csv",
                "--insights",
                "--min-cells",
                "2",
            ])
            .args(["--format", format])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let csv = run("csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("condition,property,cells,results"));
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.contains(&"every cell,none-passed,8,\"2 Configure. Failed, 6 Tests. Failed\"")
            || rows.iter().any(|r| r.starts_with(",none-passed,8,")),
        "{csv}"
    );
    assert!(
        rows.iter()
            .any(|r| r
                .starts_with("Compiler=gcc ∧ LDPreloadMode=enabled,all-same-result:Configure.")),
        "{csv}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("LDPreloadMode=disabled,all-same-result:Tests. Failed,4,")),
        "{csv}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json.as_array().unwrap().len(), rows.len());
    let text = run("table");
    assert!(
        text.contains("Compiler=gcc ∧ LDPreloadMode=enabled: all 2 cells ended Configure."),
        "{text}"
    );
    // The same run twice gives the same bytes.
    assert_eq!(run("csv"), csv);
}

#[test]
fn insights_need_an_index_and_by_is_not_silently_dropped_from_csv() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    matrix()
        .current_dir(tmp.path())
        .args(["report", "logs", "--insights"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("--insights needs --index"));
    matrix()
        .current_dir(tmp.path())
        .args([
            "report",
            "logs",
            "--index",
            "labels.csv",
            "--by",
            "Compiler",
            "--format",
            "csv",
        ])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("--format json"));
}

#[test]
fn a_directory_without_logs_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    matrix()
        .args(["report"])
        .arg(tmp.path())
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("no build logs found"));
}

#[test]
fn the_legacy_result_column_is_label_and_the_table_fits_the_width() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    let out = matrix()
        .current_dir(tmp.path())
        .args(["report", "logs", "--index", "labels.csv", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let header = String::from_utf8(out)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        header,
        "key,Compiler,LDPreloadMode,BuildOption,label,result,stage,outcome,attempts,flaky,log,\
         evidence,cause,cause_evidence,failed_tests,failed_count,canaries,blind,seconds,\
         stage_seconds,tests_run,tests_failed,tests_skipped,compiler_version,source_id"
    );
    let out = matrix()
        .current_dir(tmp.path())
        .env("COLUMNS", "110")
        .args([
            "report",
            "logs",
            "--index",
            "labels.csv",
            "--format",
            "table",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let first: Vec<&str> = text.lines().take(9).collect();
    assert!(
        first[0].starts_with("key  ") && first[0].contains("Compiler"),
        "{text}"
    );
    for line in &first {
        assert!(line.chars().count() <= 110, "{line:?} is wider than 110");
    }
    assert!(first.iter().any(|l| l.ends_with('…')), "{text}");
}

#[test]
fn written_files_get_ordinary_permissions_and_keep_an_existing_mode() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    let page = tmp.path().join("page.html");
    let kept = tmp.path().join("kept.adoc");
    fs::write(&kept, "old").unwrap();
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o640)).unwrap();
    matrix()
        .current_dir(tmp.path())
        .args([
            "report",
            "logs",
            "--index",
            "labels.csv",
            "--format",
            "json",
        ])
        .args(["--html", "page.html", "--adoc", "kept.adoc"])
        .assert()
        .success();
    // The test process's umask decides a new file's mode (0644 under the usual 022).
    let umask_bits = 0o666 & !fs::metadata(&page).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        fs::metadata(&page).unwrap().permissions().mode() & 0o777,
        0o666 & !umask_bits
    );
    assert_ne!(
        fs::metadata(&page).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let html = fs::read_to_string(&page).unwrap();
    let insights = html
        .find("<h2 id=\"insights\">Insights</h2>")
        .expect("insights on the page");
    assert!(insights < html.find("<h2 id=\"results\">Results</h2>").unwrap());
    assert!(html.contains("(label where it differs)</span></th>"));
}

#[test]
fn diff_of_two_runs_names_regressions_and_can_fail_the_build() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    let old = matrix()
        .current_dir(tmp.path())
        .args(["report", "logs", "--index", "labels.csv", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    fs::write(tmp.path().join("old.csv"), &old).unwrap();
    // The new run: the clang cells without preload now stop in configure.
    let logs = tmp.path().join("logs");
    for n in [7, 8] {
        fs::write(
            logs.join(format!("build_{n:03}-1.sh.txt")),
            "+ set -e\n+ ./configure\nchecking for gcc... gcc\nconfigure: error: no acceptable C compiler found in $PATH\n",
        )
        .unwrap();
    }
    let out = matrix()
        .current_dir(tmp.path())
        .args(["report", "diff", "old.csv", "logs"])
        .args([
            "--index",
            "labels.csv",
            "--format",
            "csv",
            "--min-cells",
            "2",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("2 regression(s), 0 fix(es)"))
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "key,old,new,change\n\
         build_007.sh,Tests. Failed,Configure. Failed,regression\n\
         build_008.sh,Tests. Failed,Configure. Failed,regression\n"
    );
    // The old spelling works for a release, with one note on stderr.
    let old_spelling = matrix()
        .current_dir(tmp.path())
        .args(["report", "--index", "labels.csv", "--format", "csv"])
        .args(["--min-cells", "2", "--diff", "old.csv", "logs"])
        .output()
        .unwrap();
    assert!(old_spelling.status.success());
    assert_eq!(old_spelling.stdout, out);
    let stderr = String::from_utf8(old_spelling.stderr).unwrap();
    let note = "note: `matrix report --diff` is now `matrix report diff`; the old spelling goes \
                in a later release\n";
    assert!(stderr.starts_with(note), "{stderr}");
    assert_eq!(stderr.matches("note:").count(), 1, "{stderr}");
    let out = matrix()
        .current_dir(tmp.path())
        .args(["report", "diff", "old.csv", "logs", "--fail-on-regression"])
        .args([
            "--index",
            "labels.csv",
            "--format",
            "table",
            "--min-cells",
            "2",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("2 cell(s) regressed"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("all 2 regressions have Compiler=clang ∧ LDPreloadMode=disabled (2 of the 2 cells with it)"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &matrix()
            .current_dir(tmp.path())
            .args(["report", "diff", "old.csv", "logs"])
            .args(["--index", "labels.csv", "--format", "json", "--all"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["summary"]["unchanged"], 6);
    assert_eq!(json["cells"].as_array().unwrap().len(), 8);
    matrix()
        .current_dir(tmp.path())
        .args(["report", "diff", "old.csv", "labels.csv"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("needs the columns key and result"));
}
