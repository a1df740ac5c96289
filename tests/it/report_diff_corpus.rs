//! `matrix report diff` on two runs made from the original experiment
//! (`../shared/corpus/arm64-hwasan`): the new run numbers its scripts the other way round (as
//! a legacy run may), its clang_sh_19 cells that reached the tests now stop in configure, one
//! gcc cell gets further, and one cell is gone. The comparison must find exactly those.
//! Skipped visibly when the corpus is absent (a failure under CI).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::common::{corpus, csv_rows, matrix};

type Row = BTreeMap<String, String>;

const CONFIGURE_FAILS: &str = "+ set -e\n+ ./configure\nchecking for gcc... gcc\n\
    configure: error: no acceptable C compiler found in $PATH\n";

/// `build_NNN.sh` → `build_MMM.sh` with MMM = 225 - NNN.
fn renumbered(script: &str) -> String {
    let n: u32 = script
        .strip_prefix("build_")
        .and_then(|s| s.strip_suffix(".sh"))
        .unwrap()
        .parse()
        .unwrap();
    format!("build_{:03}.sh", 225 - n)
}

/// The axis values of a cell of the report's CSV, as one comparable string.
fn values(row: &Row, axes: &[&str]) -> String {
    axes.iter()
        .map(|a| format!("{a}={}", row[*a]))
        .collect::<Vec<_>>()
        .join(", ")
}

const AXES: [&str; 9] = [
    "Platform",
    "BaseImage",
    "Compiler",
    "CompilerOption",
    "SanLinksMethod",
    "ClangHWasanAdditionalOption",
    "LDPreloadMode",
    "PythonVersion",
    "BuildOption",
];

/// What the new run changes of the old one, by script name (`build_NNN.sh`).
struct Edits {
    /// Left out of the new run.
    gone: String,
    /// Their logs replaced by a failing configure.
    regress: Vec<String>,
    /// Its log replaced by `donor_log`, a test failure of another cell.
    fix: String,
    donor_log: String,
}

/// Writes the new run into `new`: the old run at `root` with its scripts renumbered and
/// `edits` applied to its index and logs.
fn write_edited_run(root: &Path, new: &Path, edits: &Edits) {
    fs::create_dir_all(new.join("logs")).unwrap();
    let labels = fs::read_to_string(root.join("labels.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(labels.as_bytes());
    let header = reader.headers().unwrap().clone();
    let script_col = header.iter().position(|h| h == "script_name").unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let script = &record[script_col];
        if script == edits.gone {
            continue;
        }
        let mut fields: Vec<String> = record.iter().map(str::to_owned).collect();
        fields[script_col] = renumbered(script);
        writer.write_record(&fields).unwrap();
    }
    fs::write(new.join("labels.csv"), writer.into_inner().unwrap()).unwrap();
    for entry in fs::read_dir(root.join("logs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        // build_NNN-K.sh.txt
        let (script, attempt) = name.split_once('-').unwrap();
        let script = format!("{script}.sh");
        if script == edits.gone {
            continue;
        }
        let to = new.join("logs").join(format!(
            "{}-{attempt}",
            renumbered(&script).trim_end_matches(".sh")
        ));
        if edits.regress.contains(&script) {
            fs::write(&to, CONFIGURE_FAILS).unwrap();
        } else if script == edits.fix {
            fs::copy(root.join("logs").join(&edits.donor_log), &to).unwrap();
        } else {
            fs::copy(root.join("logs").join(&name), &to).unwrap();
        }
    }
}

/// Every change of the diff's CSV is one of the edits: the regressions (by their axis
/// values, as the renumbered run has them), the fix, the cell left out.
fn assert_changes(
    rows: &[Row],
    new_by_key: &BTreeMap<&str, &Row>,
    regress: &[&Row],
    fix: &Row,
    gone: &Row,
) {
    let mut regressed: Vec<String> = Vec::new();
    for r in rows {
        match r["change"].as_str() {
            "regression" => {
                let cell = new_by_key[r["key"].as_str()];
                regressed.push(values(cell, &AXES));
                assert_eq!(r["new"], "Configure. Failed");
            }
            "fix" => {
                assert_eq!(
                    values(new_by_key[r["key"].as_str()], &AXES),
                    values(fix, &AXES)
                );
                assert_eq!(
                    (r["old"].as_str(), r["new"].as_str()),
                    (fix["result"].as_str(), "Tests. Failed")
                );
            }
            "only-old" => assert_eq!(r["key"], gone["key"]),
            other => panic!("unexpected change {other}: {r:?}"),
        }
    }
    let mut expected: Vec<String> = regress.iter().map(|r| values(r, &AXES)).collect();
    expected.sort();
    regressed.sort();
    assert_eq!(regressed, expected);
}

/// The condition the insights give the regressions holds for every regressed cell, and "of"
/// counts the old run's cells that meet it.
fn assert_shared_condition(line: &Row, old: &[Row], regress: &[&Row]) {
    assert_eq!(line["cells"], "10");
    let terms: Vec<(&str, &str)> = line["condition"]
        .split(" ∧ ")
        .map(|t| t.split_once('=').unwrap())
        .collect();
    assert!(terms.contains(&("Compiler", "clang_sh_19")), "{line:?}");
    for (axis, value) in &terms {
        assert!(regress.iter().all(|r| r[*axis] == *value), "{axis}={value}");
    }
    let meeting = old
        .iter()
        .filter(|r| terms.iter().all(|(a, v)| r[*a] == *v))
        .count();
    assert_eq!(line["of"], meeting.to_string());
}

#[test]
fn a_diff_of_two_edited_runs_finds_exactly_the_edits() {
    let Some(tmp) = corpus("report_diff_corpus", "arm64-hwasan", &[]) else {
        return;
    };
    let root = tmp.path().join("arm64-hwasan");
    let report = |dir: &Path| {
        matrix()
            .arg("report")
            .arg(dir.join("logs"))
            .arg("--index")
            .arg(dir.join("labels.csv"))
            .args(["--format", "csv"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let old_csv = report(&root);
    fs::write(tmp.path().join("old.csv"), &old_csv).unwrap();
    let old = csv_rows(&old_csv);

    // The edits, chosen on the old run's results.
    let regress: Vec<&Row> = old
        .iter()
        .filter(|r| r["Compiler"] == "clang_sh_19" && r["stage"] == "Tests")
        .collect();
    assert_eq!(regress.len(), 10);
    let fix = old
        .iter()
        .find(|r| r["Compiler"] == "gcc" && r["stage"] == "Configure")
        .unwrap();
    let donor = old.iter().find(|r| r["result"] == "Tests. Failed").unwrap();
    let gone = old
        .iter()
        .find(|r| r["Compiler"] == "clang" && r["stage"] == "Compilation")
        .unwrap();

    // The new run: scripts renumbered, logs edited, one cell left out.
    let new = tmp.path().join("new");
    let edits = Edits {
        gone: gone["key"].clone(),
        regress: regress.iter().map(|r| r["key"].clone()).collect(),
        fix: fix["key"].clone(),
        donor_log: donor["log"].clone(),
    };
    write_edited_run(&root, &new, &edits);
    let new_csv = report(&new);
    fs::write(tmp.path().join("new.csv"), &new_csv).unwrap();
    let new_rows = csv_rows(&new_csv);
    let new_by_key: BTreeMap<&str, &Row> =
        new_rows.iter().map(|r| (r["key"].as_str(), r)).collect();

    let diff = |extra: &[&str]| {
        matrix()
            .current_dir(tmp.path())
            .args(["report", "diff", "old.csv", "new.csv"])
            .args(extra)
            .assert()
    };
    let out = diff(&["--format", "csv"])
        .success()
        .stderr(predicate::str::contains(
            "10 regression(s), 1 fix(es), 0 other change(s), 1 cell(s) only in the old run, \
             0 only in the new, 212 unchanged (legacy index: cells matched by BaseImage, ",
        ))
        .get_output()
        .stdout
        .clone();
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 12, "{}", String::from_utf8_lossy(&out));
    assert_changes(&rows, &new_by_key, &regress, fix, gone);

    // What the regressions share, recomputed from the old run's cells.
    let shared = csv_rows(
        &diff(&["--insights", "--format", "csv"])
            .success()
            .get_output()
            .stdout,
    );
    let line = shared.iter().find(|s| s["change"] == "regression").unwrap();
    assert_shared_condition(line, &old, &regress);

    // A log directory on one side (with its own index) matches the same way; the JSON names
    // the old run's key where the numbering moved it; the nightly gate fails.
    let json: serde_json::Value = serde_json::from_slice(
        &matrix()
            .current_dir(tmp.path())
            .args(["report", "diff", "old.csv", "new/logs"])
            .args(["--index", "new/labels.csv", "--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["summary"]["regression"], 10);
    assert_eq!(json["summary"]["unchanged"], 212);
    let first = &json["cells"][0];
    assert_ne!(first["old_key"], first["key"], "{first}");
    let out = diff(&["--fail-on-regression", "--format", "table"])
        .failure()
        .code(1)
        .stderr(predicate::str::contains("10 cell(s) regressed"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    println!("{text}");
    assert!(text.contains("all 10 regressions have "), "{text}");
}
