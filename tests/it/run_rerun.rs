//! `matrix run --rerun` and flaky results, on the fake sources of [`crate::run_cli`]: a cell
//! that failed and then passes, and regrtest's "FAILURE then SUCCESS", are flaky, never a plain
//! pass; earlier logs stay as attempts.

use std::fs;

use crate::run_cli::{stderr, Sandbox};

fn column<'a>(rows: &'a [std::collections::BTreeMap<String, String>], name: &str) -> Vec<&'a str> {
    rows.iter().map(|r| r[name].as_str()).collect()
}

#[test]
fn rerun_failed_runs_those_cells_again_keeps_their_logs_as_attempts_and_calls_them_flaky() {
    let sb = Sandbox::new();
    let out = sb.run(
        &["--out", "run", "--only", "configure=debug,release"],
        &[("FAKE_TEST_STATUS", "2")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let first = sb.result_rows("run");
    assert_eq!(column(&first, "result"), ["Tests. Failed", "Tests. Failed"]);
    let failing_log = fs::read_to_string(
        sb.root
            .join("run/logs")
            .join(format!("{}.log", first[0]["key"])),
    )
    .unwrap();

    // No selection: the run's own cells (its index), without asking for --all.
    let out = sb
        .command_selecting("host", &[], &["--out", "run", "--rerun", "failed"], &[])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = sb.result_rows("run");
    assert_eq!(column(&rows, "result"), ["Tests. Passed", "Tests. Passed"]);
    assert_eq!(column(&rows, "attempts"), ["2", "2"]);
    assert_eq!(
        column(&rows, "flaky"),
        [
            "earlier attempts: Tests. Failed",
            "earlier attempts: Tests. Failed"
        ]
    );
    let attempt = sb
        .root
        .join("run/logs/attempts/1")
        .join(format!("{}.log", rows[0]["key"]));
    assert_eq!(
        fs::read_to_string(&attempt).unwrap(),
        failing_log,
        "the failing log is kept as it was"
    );
    assert!(rows[0]["log"].starts_with("logs/") && !rows[0]["log"].contains("attempts"));

    // `report` of the logs directory says the same: attempts are grouped by cell.
    let report = crate::common::csv_rows(
        &crate::common::matrix()
            .args(["report", "--format", "csv"])
            .arg(sb.root.join("run/logs"))
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(column(&report, "attempts"), ["2", "2"]);
    assert_eq!(column(&report, "flaky"), column(&rows, "flaky"));

    // Nothing failed any more: a rerun of failures runs nothing.
    let out = sb
        .command_selecting(
            "host",
            &[],
            &["--out", "run", "--rerun", "failed,timeout"],
            &[],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 cell(s) finished in an earlier run are kept; 0 to run"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rerun_is_refused_outside_a_run_and_for_what_is_no_result() {
    let sb = Sandbox::new();
    let out = sb.run(&["--out", "nothing-here", "--rerun", "failed"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("--rerun: nothing-here is not a run directory"),
        "{}",
        stderr(&out)
    );
    assert!(
        !sb.root.join("nothing-here").exists(),
        "a refused start leaves no directory"
    );
    let out = sb.run(&["--out", "run", "--rerun", "broken"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--rerun `broken` is not a result"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn regrtest_passing_on_its_rerun_is_flaky_and_reports_count_the_cells_that_ran_a_test() {
    let sb = Sandbox::new();
    let output = "0:00:01 load avg: 0.10 [1/2] test_os\\n0:00:02 load avg: 0.10 [2/2] test_int\\n\
                  1 test failed:\\n    test_os\\n\\n1 re-run test:\\n    test_os\\n\\n\
                  Total tests: run=1,234 failures=0 skipped=61\\n\
                  == Tests result: FAILURE then SUCCESS ==";
    let out = sb.run(
        &["--out", "run", "--only", "configure=debug"],
        &[("FAKE_TEST_OUTPUT", output)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = sb.result_rows("run");
    assert_eq!(column(&rows, "result"), ["Tests. Passed"]);
    assert_eq!(
        column(&rows, "flaky"),
        ["regrtest: FAILURE then SUCCESS (test_os)"]
    );
    assert_eq!(
        (
            rows[0]["tests_run"].as_str(),
            rows[0]["tests_failed"].as_str(),
            rows[0]["tests_skipped"].as_str()
        ),
        ("1234", "0", "61")
    );
    assert_eq!(rows[0]["failed_tests"], "");
    assert_eq!(rows[0]["compiler_version"], "gcc (Fake) 14.1.0");
    assert!(rows[0]["source_id"].starts_with("sha256:"), "{:?}", rows[0]);
    let stages: Vec<&str> = rows[0]["stage_seconds"]
        .split(' ')
        .map(|s| s.split('=').next().unwrap())
        .collect();
    assert_eq!(stages, ["setup", "configure", "compile", "tests"]);
    assert!(rows[0]["seconds"].parse::<u64>().is_ok());
}
