//! Blind spots as a user meets them: `explain --blind-spots` in its three formats on the
//! built-in definition and on a slice, `check`'s warnings, and the errors a bad entry gets.

use predicates::prelude::*;

use crate::common::{csv_rows, replace_once, TestContext, BUILTIN_DEFINITION as BUILTIN};

/// The built-in definition's first blind spot, as its text starts.
const PYMALLOC: &str = "  - name: pymalloc-hides-small-objects\n";

#[test]
fn explain_lists_the_builtin_blind_spots_as_a_table() {
    let table = TestContext::new().stdout(&["explain", "--blind-spots"]);
    assert!(
        table.lines().all(|l| l.chars().count() <= 80),
        "wider than 80 columns:\n{table}"
    );
    insta::assert_snapshot!("table", table);
}

#[test]
fn explain_lists_the_builtin_blind_spots_as_csv_and_json() {
    let dir = TestContext::new();
    let csv = dir.stdout(&["explain", "--blind-spots", "--format", "csv"]);
    insta::assert_snapshot!("csv", csv);
    let rows = csv_rows(csv.as_bytes());
    let names: Vec<&str> = rows.iter().map(|r| r["rule"].as_str()).collect();
    assert_eq!(
        names,
        [
            "pymalloc-hides-small-objects",
            "free-threaded-asan-without-mi-track",
            "hwasan-unknown-to-check-sanitizer",
            "tsan-without-suppressions",
            "tsan-without-aslr-precondition"
        ],
        "definition order"
    );
    // Every asan and hwasan cell carries the pymalloc blind spot.
    let count = |only: &str| {
        dir.stdout(&["list", "--only", only])
            .lines()
            .count()
            .to_string()
    };
    let asan_and_hwasan = dir.stdout(&["list", "--only", "sanitizer=asan,hwasan"]);
    assert_eq!(
        rows[0]["cells"],
        asan_and_hwasan.lines().count().to_string()
    );
    assert_eq!(rows[2]["cells"], count("sanitizer=hwasan"));
    assert_eq!(rows[3]["cells"], count("sanitizer=tsan"));

    let json = dir.stdout(&["explain", "--blind-spots", "--format", "json"]);
    insta::assert_snapshot!("json", json);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["cells"], 742);
    assert_eq!(
        value["blind_spots"][0]["rule"],
        "pymalloc-hides-small-objects"
    );
    assert_eq!(
        value["blind_spots"][1]["hides"],
        serde_json::json!([
            "heap-overflow-small",
            "heap-overflow-large",
            "use-after-free"
        ])
    );
    for (row, spot) in rows.iter().zip(value["blind_spots"].as_array().unwrap()) {
        assert_eq!(row["cells"], spot["cells"].to_string());
        assert_eq!(row["reason"], spot["reason"].as_str().unwrap());
    }
}

#[test]
fn a_slice_counts_its_own_cells_and_lists_every_blind_spot() {
    let dir = TestContext::new();
    let csv = dir.stdout(&[
        "explain",
        "--blind-spots",
        "sanitizer=tsan",
        "--format",
        "csv",
    ]);
    let rows = csv_rows(csv.as_bytes());
    assert_eq!(rows.len(), 5, "{csv}");
    let tsan = dir
        .stdout(&["list", "--only", "sanitizer=tsan"])
        .lines()
        .count();
    for row in &rows {
        let expected = if row["rule"].starts_with("tsan-") {
            tsan.to_string()
        } else {
            "0".to_string()
        };
        assert_eq!(row["cells"], expected, "{csv}");
    }
    // Formats the answer has not are refused, naming those it has.
    let err = dir.refused(&["explain", "--blind-spots", "--format", "text"]);
    assert!(err.contains("csv, json, table"), "{err}");
    let err = dir.refused(&["explain", "--rules", "--format", "csv"]);
    assert!(err.contains("has no csv form"), "{err}");
    dir.refused(&["explain", "--blind-spots", "--rules"]);
}

#[test]
fn a_build_plan_that_lifts_a_blind_spot_takes_its_cells_out() {
    let dir = TestContext::new();
    // ASan the way CPython's CI builds it: --with-address-sanitizer turns pymalloc off.
    let text = replace_once(
        BUILTIN,
        "  - when: { sanitizer: asan }\n    compile: [-g, -fsanitize=address]\n",
        "  - when: { sanitizer: asan }\n    configure: [--with-address-sanitizer]\n    compile: [-g, -fsanitize=address]\n",
    );
    dir.write("m.yaml", text);
    let rows = csv_rows(
        dir.stdout(&[
            "--config",
            "m.yaml",
            "explain",
            "--blind-spots",
            "--format",
            "csv",
        ])
        .as_bytes(),
    );
    let hwasan = dir
        .stdout(&["list", "--only", "sanitizer=hwasan"])
        .lines()
        .count();
    assert_eq!(rows[0]["cells"], hwasan.to_string());
}

#[test]
fn check_warns_about_each_blind_spot_some_cell_carries() {
    let dir = TestContext::new();
    let out = dir.stdout(&["check", "--no-shellcheck"]);
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 5, "{out}");
    assert!(
        warnings[0].starts_with(
            "warning: blind spot `pymalloc-hides-small-objects`: 504 cells (sanitizer ∈ {asan, hwasan}) cannot see heap-overflow-small: pymalloc serves"
        ),
        "{out}"
    );
    assert!(
        warnings[1]
            .contains("cannot see heap-overflow-small, heap-overflow-large, use-after-free: "),
        "{out}"
    );
    assert!(
        warnings[2].starts_with(
            "warning: blind spot `hwasan-unknown-to-check-sanitizer`: 224 cells (sanitizer=hwasan): test.support"
        ),
        "{out}"
    );
    assert!(out.ends_with(", 0 errors, 5 warnings\n"), "{out}");

    // A blind spot no cell carries is listed by explain, with 0, and check says nothing of it.
    let text = replace_once(
        BUILTIN,
        "    hides: [heap-overflow-small]\n    when: { sanitizer: [asan, hwasan] }\n",
        "    hides: [heap-overflow-small]\n    when: { sanitizer: [asan, hwasan], platform: amd64 }\n",
    );
    let text = replace_once(
        &text,
        "  - when: { configure: debug }\n    configure: [--with-assertions, --with-pydebug]\n",
        "  - when: { configure: debug }\n    configure: [--with-assertions, --with-pydebug]\n  - when: { platform: amd64 }\n    env: { PYTHONMALLOC: malloc }\n",
    );
    dir.write("m.yaml", text);
    let out = dir.stdout(&["--config", "m.yaml", "check", "--no-shellcheck"]);
    assert!(!out.contains("pymalloc-hides-small-objects"), "{out}");
    assert!(out.ends_with(", 0 errors, 4 warnings\n"), "{out}");
    let csv = dir.stdout(&[
        "--config",
        "m.yaml",
        "explain",
        "--blind-spots",
        "--format",
        "csv",
    ]);
    assert_eq!(csv_rows(csv.as_bytes())[0]["cells"], "0", "{csv}");
}

/// `matrix --config bad.yaml explain --blind-spots` with the first blind spot's line `from`
/// replaced: fails with nothing on stdout and every part of `expected` on stderr.
fn refused_with(from: &str, to: &str, expected: &[&str]) {
    let dir = TestContext::new();
    let start = BUILTIN.find(PYMALLOC).unwrap();
    let (head, tail) = BUILTIN.split_at(start);
    dir.write("bad.yaml", format!("{head}{}", tail.replacen(from, to, 1)));
    let err = dir.refused(&["--config", "bad.yaml", "explain", "--blind-spots"]);
    for part in expected {
        assert!(err.contains(part), "expected `{part}` in:\n{err}");
    }
}

#[test]
fn bad_entries_are_refused_naming_file_entry_field_and_value() {
    refused_with(
        "hides: [heap-overflow-small]\n    when: { sanitizer: [asan, hwasan] }",
        "hides: [heap-overflow-small]\n    when: { sanitzer: [asan, hwasan] }",
        &[
            "invalid matrix definition bad.yaml: ",
            "`when` of blind spot `pymalloc-hides-small-objects` (#1 of blind_spots) names unknown axis `sanitzer` (did you mean `sanitizer`?); the axes are: platform, os,",
        ],
    );
    refused_with(
        "hides: [heap-overflow-small]\n    when: { sanitizer: [asan, hwasan] }",
        "hides: [heap-overflow-small]\n    when: { sanitizer: [asan, hwsan] }",
        &[
            "invalid matrix definition bad.yaml: ",
            "blind spot `pymalloc-hides-small-objects` (#1 of blind_spots), condition on `sanitizer`: unknown value `hwsan` for axis `sanitizer` (did you mean `hwasan`?); its values are: none, asan, hwasan, tsan, analyzer",
        ],
    );
    refused_with(
        "    hides: [heap-overflow-small]\n",
        "    hides: [heap-overflow-small]\n    severity: high\n",
        &[
            "bad.yaml:",
            "unknown field `severity`",
            "`hides`",
            "`unless`",
        ],
    );
    refused_with(
        "  - name: free-threaded-asan-without-mi-track\n",
        "  - name: pymalloc-hides-small-objects\n",
        &["invalid matrix definition bad.yaml: blind spot `pymalloc-hides-small-objects` (#2 of blind_spots) is defined twice: #1 has that name"],
    );
    refused_with(
        "    reason: >-\n",
        "    reason: \"\"\n    old_reason: >-\n",
        &["bad.yaml:", "unknown field `old_reason`"],
    );
    refused_with(
        "    hides: [heap-overflow-small]\n",
        "    hides: [heap overflow]\n",
        &["blind spot `pymalloc-hides-small-objects` (#1 of blind_spots): `hides` entry `heap overflow` is not valid: use 1 to 63 characters of A-Z a-z 0-9 - _ ."],
    );
    refused_with(
        "env: [\"PYTHONMALLOC=malloc\"]",
        "env: [\"PYTHONMALLOC\"]",
        &["`unless.env` item `PYTHONMALLOC` is not NAME=VALUE-pattern, e.g. PYTHONMALLOC=malloc"],
    );
}

#[test]
fn an_empty_reason_is_refused() {
    let dir = TestContext::new();
    let start = BUILTIN.find(PYMALLOC).unwrap();
    let end = start + BUILTIN[start..].find("    hides:").unwrap();
    let text = format!(
        "{}{PYMALLOC}    reason: \"  \"\n{}",
        &BUILTIN[..start],
        &BUILTIN[end..]
    );
    dir.write("bad.yaml", text);
    dir.matrix()
        .args(["--config", "bad.yaml", "explain", "--blind-spots"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "invalid matrix definition bad.yaml: blind spot `pymalloc-hides-small-objects` (#1 of blind_spots): `reason` is empty: say in one sentence what its cells cannot see and why",
        ));
}
