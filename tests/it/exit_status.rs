//! One failure policy for every command (README, "Exit status"): 0 when the command did its
//! job, 1 when it ran and found what it was asked to fail on (its report still on stdout, the
//! summary on stderr once), 2 when it could not run (nothing on stdout).

use predicates::prelude::*;

use crate::common::{matrix, TestContext, BUILTIN_DEFINITION};

#[test]
fn a_command_that_did_its_job_exits_0() {
    matrix().args(["list"]).assert().code(0);
}

#[test]
fn a_command_that_cannot_run_exits_2_with_one_error_and_nothing_on_stdout() {
    let test = TestContext::new();
    // Bad input in the domain: an unknown value.
    let stderr = test.refused(&["list", "--only", "compiler=tcc"]);
    assert!(stderr.starts_with("error: --only compiler=tcc"), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    // A usage error, from the argument parser.
    test.refused(&["list", "--no-such-flag"]);
    // A missing input.
    test.refused(&["report", "no-such-dir"]);
}

#[test]
fn a_check_that_finds_errors_exits_1_with_its_report_and_one_summary() {
    let test = TestContext::new();
    test.write(
        "typo.yaml",
        BUILTIN_DEFINITION.replacen("  tag_axis: os\n", "  tag_axes: os\n", 1),
    );
    test.matrix()
        .args(["--config", "typo.yaml", "check", "--no-shellcheck"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("unknown field `tag_axes`"))
        .stderr("error: the check found 1 error(s)\n");
}
