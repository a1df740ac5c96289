//! Canaries in rendered scripts, run with a fake interpreter that behaves like a sanitizer
//! build (pymalloc hides a small object unless `PYTHONMALLOC=malloc`), and what `report` makes
//! of the log: the `canaries` and `blind` columns, and a result the canaries never change.

use std::collections::BTreeMap;

use matrix::definition::{Contribution, Matrix};
use matrix::rules::Clause;

use crate::common::assert_no_processes_inside;
use crate::script_run::{script_for, script_with, Sandbox};

const ASAN_CELL: &str = "amd64-u24.04-py3.12.4-gcc-asan-shared-debug";
const TSAN_CELL: &str = "amd64-u24.04-py3.12.4-gcc-tsan-shared-debug";
const PLAIN_CELL: &str = "amd64-u24.04-py3.12.4-gcc-debug";

/// `report --format csv` of one log, as column → value.
fn report_row(cell: &str, log: &[u8]) -> BTreeMap<String, String> {
    crate::common::report_of_log(cell, log).remove(0)
}

/// Runs `cell`'s script in a fresh sandbox with `env`; its log and report row.
fn run(cell: &str, script: &str, env: &[(&str, &str)]) -> (String, BTreeMap<String, String>) {
    let sandbox = Sandbox::new("3.12.4");
    let out = sandbox.run(script, env);
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = report_row(cell, &out.stdout);
    (log, row)
}

#[test]
fn an_asan_cell_with_pymalloc_misses_the_small_overflow_and_is_blind() {
    let (log, row) = run(ASAN_CELL, &script_for(ASAN_CELL).1, &[]);
    assert_eq!(
        row["canaries"],
        "heap-overflow-small:missed heap-overflow-large:seen use-after-free:seen"
    );
    assert_eq!(row["blind"], "yes");
    // The canaries' reports are in the log, and decide nothing: the tests ran and passed.
    assert!(
        log.contains("ERROR: AddressSanitizer: heap-use-after-free"),
        "{log}"
    );
    assert!(log.contains("ran-tests -m test -uall"), "{log}");
    assert_eq!(row["result"], "Tests. Passed");
    assert_eq!(row["cause"], "");
}

#[test]
fn with_the_malloc_allocator_every_canary_is_seen() {
    let (_, row) = run(
        ASAN_CELL,
        &script_for(ASAN_CELL).1,
        &[("PYTHONMALLOC", "malloc")],
    );
    assert_eq!(
        row["canaries"],
        "heap-overflow-small:seen heap-overflow-large:seen use-after-free:seen"
    );
    assert_eq!(row["blind"], "no");
}

#[test]
fn a_canary_that_fails_before_its_defect_is_an_error_and_the_tests_still_run() {
    let env = [("FAKE_CANARY_BROKEN", "1")];
    let (log, row) = run(ASAN_CELL, &script_for(ASAN_CELL).1, &env);
    assert_eq!(
        row["canaries"],
        "heap-overflow-small:error heap-overflow-large:error use-after-free:error"
    );
    assert_eq!(row["blind"], "unknown");
    assert!(
        log.contains("No module named '_ctypes'"),
        "the canary's output is in the log"
    );
    assert_eq!(row["result"], "Tests. Passed");
}

#[test]
fn a_hanging_canary_is_stopped_at_its_timeout_and_leaves_no_process() {
    let (_, script) = script_with(ASAN_CELL, |m| {
        m.canaries.retain(|c| c.name == "use-after-free");
        m.canaries[0].timeout_seconds = 1;
    });
    let sandbox = Sandbox::new("3.12.4");
    let out = sandbox.run(&script, &[("FAKE_CANARY_HANG", "1")]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("::matrix:: event=canary name=use-after-free result=error exit=124"),
        "{log}"
    );
    assert_no_processes_inside(&sandbox.root);
}

#[test]
fn a_tsan_cell_sees_the_data_race() {
    let (_, row) = run(TSAN_CELL, &script_for(TSAN_CELL).1, &[]);
    assert_eq!(row["canaries"], "data-race:seen");
    assert_eq!(row["blind"], "no");
}

#[test]
fn a_cell_without_a_sanitizer_runs_no_canaries() {
    let (log, row) = run(PLAIN_CELL, &script_for(PLAIN_CELL).1, &[]);
    assert!(!log.contains("stage=canaries"), "{log}");
    assert_eq!(row["canaries"], "");
    assert_eq!(row["blind"], "");
}

/// The ASan cell's script with a test environment whose UBSan writes per-process report files
/// under `@REPORTS@`.
fn reporting_script() -> String {
    script_with(ASAN_CELL, |m: &mut Matrix| {
        m.contributions.push(Contribution {
            number: m.contributions.len() + 1,
            when: Clause::default(),
            env: vec![],
            compile: vec![],
            link: vec![],
            configure: vec![],
            preload: vec![],
            tests: None,
            test_args: None,
            collect: vec![],
            test_env: vec![(
                "UBSAN_OPTIONS".into(),
                "print_stacktrace=1:log_path=@REPORTS@/ubsan".into(),
            )],
            wrap: vec![],
            unconfined: false,
        });
    })
    .1
}

#[test]
fn per_process_report_files_end_up_in_the_log_and_canaries_still_report_to_it() {
    let sandbox = Sandbox::new("3.12.4");
    // A file of an earlier attempt is not this one's.
    let reports = sandbox.root.join("artifacts/sanitizer-reports");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(
        reports.join("asan.1"),
        "==1==ERROR: AddressSanitizer: old\n",
    )
    .unwrap();
    let out = sandbox.run(&reporting_script(), &[("FAKE_REPORT_FILE", "1")]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}");
    let marker = log
        .find("::matrix:: event=sanitizer-log file=ubsan.4242")
        .expect(&log);
    let finish = log.find("::matrix:: event=finish").unwrap();
    assert!(marker < finish, "the files come before the finish marker");
    assert!(
        log[marker..finish].contains("runtime error: load of misaligned address"),
        "{log}"
    );
    assert!(!log.contains("file=asan.1"), "{log}");
    // The canaries report to their output, read by the script, not to the files.
    let canary_options = format!(
        "UBSAN_OPTIONS=print_stacktrace=1:log_path={}/ubsan:log_path=stderr",
        reports.display()
    );
    assert!(log.contains(&canary_options), "{log}");
    assert!(
        reports.join("ubsan.4242").is_file(),
        "the file stays an artifact"
    );
}

#[test]
fn placeholders_take_paths_with_an_ampersand_as_they_are() {
    let sandbox = Sandbox::new("3.12.4");
    let odd = sandbox.root.join("R&D");
    let artifacts = odd.join("artifacts");
    let out = sandbox.run(
        &reporting_script(),
        &[
            ("MATRIX_ARTIFACT_DIR", artifacts.to_str().unwrap()),
            ("MATRIX_WORK_DIR", odd.join("work").to_str().unwrap()),
        ],
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}");
    let expected = format!("log_path={}/sanitizer-reports/ubsan", artifacts.display());
    assert!(log.contains(&expected), "{log}");
}

#[test]
fn an_unwritable_artifact_directory_fails_setup_not_the_compilation() {
    let sandbox = Sandbox::new("3.12.4");
    let out = sandbox.run(
        &reporting_script(),
        &[("MATRIX_ARTIFACT_DIR", "/proc/nope")],
    );
    let row = report_row(ASAN_CELL, &out.stdout);
    assert_eq!(row["result"], "Setup. Failed", "{row:?}");
    assert!(row["cause"].starts_with("failed during setup"), "{row:?}");
}

#[test]
fn only_a_report_after_the_defect_is_seen_and_a_cut_line_keeps_its_marker() {
    let (_, early) = run(
        ASAN_CELL,
        &script_for(ASAN_CELL).1,
        &[("FAKE_CANARY_EARLY", "1")],
    );
    assert_eq!(
        early["canaries"],
        "heap-overflow-small:error heap-overflow-large:error use-after-free:error"
    );
    let (_, cut) = run(
        ASAN_CELL,
        &script_for(ASAN_CELL).1,
        &[("FAKE_CANARY_NO_NEWLINE", "1")],
    );
    assert_eq!(
        cut["canaries"],
        "heap-overflow-small:missed heap-overflow-large:missed use-after-free:missed"
    );
}

#[test]
fn every_sanitizer_cell_of_the_shipped_definitions_runs_a_canary_and_no_other_cell_does() {
    use matrix::definition::CPYTHON_CI_DEFINITION;
    use matrix::expand::{expand, ValueMask};
    use matrix::plan::BuildPlan;
    for (origin, text) in [
        ("matrix.yaml", crate::common::BUILTIN_DEFINITION),
        ("cpython-ci.yaml", CPYTHON_CI_DEFINITION),
    ] {
        let m = Matrix::from_yaml(text, origin).unwrap();
        let sanitizer = m.axis_index("sanitizer").unwrap();
        for cell in expand(&m, &ValueMask::all(&m)).unwrap() {
            let plan = BuildPlan::for_cell(&m, &cell).unwrap();
            let value = m.axes[sanitizer].values[cell.values[sanitizer]]
                .name
                .as_str();
            let expected: &[&str] = match value {
                "asan" | "hwasan" => &[
                    "heap-overflow-small",
                    "heap-overflow-large",
                    "use-after-free",
                ],
                "tsan" => &["data-race"],
                "ubsan" => &["misaligned-load"],
                _ => &[],
            };
            assert_eq!(plan.canaries, expected, "{origin}: {}", cell.id);
        }
    }
}

#[test]
fn init_writes_the_cpython_ci_definition_and_it_checks_clean() {
    let context = crate::common::TestContext::new();
    context.stdout(&["init", "--profile", "cpython-ci", "ci.yaml"]);
    let cells = context.stdout(&["--config", "ci.yaml", "list"]);
    assert_eq!(cells.lines().count(), 11, "{cells}");
    let check = context.stdout(&["--config", "ci.yaml", "check", "--no-shellcheck"]);
    assert!(check.ends_with("0 errors, 0 warnings\n"), "{check}");
    // CPython's setup lifts every blind spot the original experiment's cells carry.
    let blind = context.stdout(&[
        "--config",
        "ci.yaml",
        "explain",
        "--blind-spots",
        "--format",
        "csv",
    ]);
    let rows = crate::common::csv_rows(blind.as_bytes());
    assert!(
        rows.iter()
            .any(|r| r["rule"] == "pymalloc-hides-small-objects"),
        "{blind}"
    );
    assert!(rows.iter().all(|r| r["cells"] == "0"), "{blind}");
    // ASan by its configure option, which turns pymalloc off.
    let index = context.stdout(&["--config", "ci.yaml", "render", "--out", "scripts"]);
    assert!(
        index.contains("amd64-u24.04-py3.13.5-gcc-asan-debug"),
        "{index}"
    );
    let script = std::fs::read_to_string(
        context
            .path()
            .join("scripts/amd64-u24.04-py3.13.5-gcc-asan-debug.sh"),
    )
    .unwrap();
    assert!(
        script.contains(
            "CONFIGURE_ARGS=(--with-pydebug --with-address-sanitizer --without-pymalloc)"
        ),
        "{script}"
    );
}
