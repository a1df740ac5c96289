//! The output rules, for every `report` and `findings` output: no two CSV columns whose
//! names differ only by case, and `--by` applies to the output or is refused with a message,
//! never silently dropped. End to end on small legacy logs written here.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::common::matrix;

const PASSING_TESTS: &str = "+ ./configure\nchecking for gcc... gcc\n+ make\n\
    gcc -o python Programs/python.o\n+ ./python -m test -uall\n== CPython 3.12.4\n\
    0:00:01 load avg: 1.00 [1/1] test_os\n\
    Objects/longobject.c:120:5: runtime error: signed integer overflow\n\
    == Tests result: FAILURE ==\n";

const CONFIGURE_FAILS: &str = "+ ./configure\nchecking for gcc... gcc\n\
    configure: error: no acceptable C compiler found in $PATH\n";

/// Eight legacy cells (`build_001.sh` … with `Compiler`, `BuildOption`, a `Result` label), and
/// the index's header as given.
fn fixture(dir: &Path, header: &str, options: [&str; 2]) {
    let logs = dir.join("logs");
    fs::create_dir_all(&logs).unwrap();
    let mut index = format!("{header}\n");
    let mut n = 0;
    for compiler in ["gcc", "clang"] {
        for option in options {
            for extra in ["a", "b"] {
                n += 1;
                let script = format!("build_{n:03}.sh");
                index.push_str(&format!("{compiler},{option},{extra},{script},x\n"));
                let body = if compiler == "gcc" && extra == "a" {
                    CONFIGURE_FAILS
                } else {
                    PASSING_TESTS
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

fn run(dir: &Path, args: &[&str]) -> Vec<u8> {
    crate::common::stdout_in(dir, args).into_bytes()
}

fn header(csv: &[u8]) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(csv);
    reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_csv_output_has_two_columns_differing_only_by_case() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(
        dir,
        "Compiler,BuildOption,Extra,script_name,Result",
        ["debug", "release"],
    );
    let old = run(
        dir,
        &["report", "logs", "--index", "labels.csv", "--format", "csv"],
    );
    fs::write(dir.join("old.csv"), &old).unwrap();
    let findings = run(dir, &["findings", "logs", "--format", "csv"]);
    fs::write(dir.join("old-findings.csv"), &findings).unwrap();
    let outputs: Vec<(&str, Vec<&str>)> = vec![
        (
            "report cells",
            vec!["report", "logs", "--index", "labels.csv"],
        ),
        ("report without index", vec!["report", "logs"]),
        (
            "report insights",
            vec!["report", "logs", "--index", "labels.csv", "--insights"],
        ),
        (
            "report diff",
            vec!["report", "diff", "old.csv", "logs", "--index", "labels.csv"],
        ),
        (
            "report diff insights",
            vec!["report", "diff", "old.csv", "old.csv", "--insights"],
        ),
        (
            "findings",
            vec!["findings", "logs", "--index", "labels.csv"],
        ),
        (
            "findings cells",
            vec!["findings", "logs", "--index", "labels.csv", "--cells"],
        ),
        (
            "findings by",
            vec![
                "findings",
                "logs",
                "--index",
                "labels.csv",
                "--by",
                "Compiler",
            ],
        ),
        (
            "findings diff",
            vec!["findings", "--diff", "old-findings.csv", "logs"],
        ),
    ];
    for (what, args) in outputs {
        let mut args = args.clone();
        args.extend(["--format", "csv"]);
        let header = header(&run(dir, &args));
        let folded: BTreeSet<String> = header.iter().map(|h| h.to_lowercase()).collect();
        assert_eq!(folded.len(), header.len(), "{what}: {header:?}");
    }
    // The legacy `Result` is `label`, beside the report's `result`.
    let cells = header(&old);
    assert!(cells.contains(&"label".to_owned()) && cells.contains(&"result".to_owned()));
}

#[test]
fn an_index_or_values_that_would_clash_are_renamed_or_refused_in_csv_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Index columns named like ones the report adds (as the shared corpus's `cause`) are shown
    // as `index_…`, in every format.
    fixture(
        dir,
        "Compiler,Stage,cause,script_name,Result",
        ["debug", "release"],
    );
    let csv = run(
        dir,
        &["report", "logs", "--index", "labels.csv", "--format", "csv"],
    );
    let columns = header(&csv);
    assert_eq!(
        columns[..5],
        ["key", "Compiler", "index_Stage", "index_cause", "label"]
    );
    assert!(columns.contains(&"stage".to_owned()) && columns.contains(&"cause".to_owned()));
    let json: serde_json::Value = serde_json::from_slice(&run(
        dir,
        &[
            "report",
            "logs",
            "--index",
            "labels.csv",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(json["cells"][0]["index"]["index_Stage"], "debug");

    // Two index columns of their own that differ only by case: refused in CSV, named.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(
        dir,
        "Compiler,Extra,EXTRA,script_name,Result",
        ["debug", "release"],
    );
    matrix()
        .current_dir(dir)
        .args(["report", "logs", "--index", "labels.csv", "--format", "csv"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "the index has the columns \"Extra\" and \"EXTRA\", whose names differ only by case",
        ).and(predicate::str::contains("rename one of them in the index, or use --format json")));

    // Values that differ only by case, as the columns of a findings pivot.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(
        dir,
        "Compiler,BuildOption,Extra,script_name,Result",
        ["debug", "Debug"],
    );
    let by = [
        "findings",
        "logs",
        "--index",
        "labels.csv",
        "--by",
        "BuildOption",
    ];
    matrix()
        .current_dir(dir)
        .args(by)
        .args(["--format", "csv"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "--by BuildOption: the CSV columns \"BuildOption=Debug\" and \"BuildOption=debug\" \
             differ only by case (readers that ignore case take one for the other); use --format \
             json or table",
        ));
    let mut args = by.to_vec();
    args.extend(["--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&run(dir, &args)).unwrap();
    assert_eq!(json["values"], serde_json::json!(["Debug", "debug"]));
}

/// The fixture of the `--by` tests, and `report logs --index labels.csv --by Compiler` with
/// `extra` arguments after it.
fn by_fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fixture(
        tmp.path(),
        "Compiler,BuildOption,Extra,script_name,Result",
        ["debug", "release"],
    );
    tmp
}

fn report_by(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "report",
        "logs",
        "--index",
        "labels.csv",
        "--by",
        "Compiler",
    ];
    args.extend(extra);
    args
}

#[test]
fn by_applies_to_json_and_the_table() {
    let tmp = by_fixture();
    let dir = tmp.path();
    let json: serde_json::Value =
        serde_json::from_slice(&run(dir, &report_by(&["--format", "json"]))).unwrap();
    assert_eq!(json["pivot"]["by"], serde_json::json!(["Compiler"]));
    let table = String::from_utf8(run(dir, &report_by(&["--format", "table"]))).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("Compiler ") && l.contains("total")),
        "{table}"
    );
}

#[test]
fn by_where_it_does_not_apply_is_refused_with_nothing_written() {
    let tmp = by_fixture();
    let dir = tmp.path();
    let refused: Vec<(Vec<&str>, &str)> = vec![
        (report_by(&["--format", "csv"]), "--by with CSV"),
        (
            report_by(&["--format", "csv", "--html", "page.html"]),
            "--by with CSV",
        ),
        (
            report_by(&["--insights", "--format", "json"]),
            "--by with --insights",
        ),
        (
            report_by(&["--insights", "--format", "table"]),
            "--by with --insights",
        ),
        (
            vec!["report", "diff", "logs", "logs", "--by", "Compiler"],
            "--by",
        ),
        (
            vec!["report", "logs", "--by", "Compiler"],
            "--by needs --index",
        ),
        (
            vec![
                "findings",
                "logs",
                "--index",
                "labels.csv",
                "--by",
                "Compiler",
                "--cells",
            ],
            "--by",
        ),
        (
            vec!["findings", "--diff", "logs", "logs", "--by", "Compiler"],
            "--by",
        ),
        (vec!["findings", "logs", "--by", "Compiler"], "--index"),
    ];
    for (args, message) in refused {
        matrix()
            .current_dir(dir)
            .args(&args)
            .assert()
            .failure()
            .stdout("")
            .stderr(predicate::str::contains(message));
        assert!(!dir.join("page.html").exists(), "{args:?} wrote the page");
    }
}

#[test]
fn by_with_a_page_and_insights_puts_each_in_its_place() {
    let tmp = by_fixture();
    let dir = tmp.path();
    // The insights on stdout, the pivot on the page.
    run(
        dir,
        &report_by(&["--insights", "--format", "csv", "--html", "page.html"]),
    );
    assert!(fs::read_to_string(dir.join("page.html"))
        .unwrap()
        .contains("Compiler"));
}

#[test]
fn findings_by_is_a_column_per_value_in_csv_and_the_pivot_in_json() {
    let tmp = by_fixture();
    let dir = tmp.path();
    let findings = [
        "findings",
        "logs",
        "--index",
        "labels.csv",
        "--by",
        "Compiler",
    ];
    let mut args = findings.to_vec();
    args.extend(["--format", "csv"]);
    let h = header(&run(dir, &args));
    assert_eq!(h[4..], ["Compiler=clang", "Compiler=gcc"]);
    let mut args = findings.to_vec();
    args.extend(["--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&run(dir, &args)).unwrap();
    assert_eq!(json["by"], "Compiler");
}
