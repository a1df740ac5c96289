//! Accuracy of `matrix report` on the original experiment's hand-labelled logs in
//! `../shared/corpus/`: at least 97% agreement with the labels on each set. Skipped (with a
//! message) when the corpus is absent. Disagreements are printed for review.

use crate::common::{self, matrix};

/// `matrix report ROOT/logs --index ROOT/labels.csv ARGS` (with `COLUMNS=80`, which only the
/// table reads): its stdout, the command having succeeded.
fn report(root: &std::path::Path, args: &[&str]) -> Vec<u8> {
    matrix()
        .env("COLUMNS", "80")
        .arg("report")
        .arg(root.join("logs"))
        .arg("--index")
        .arg(root.join("labels.csv"))
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

fn agreement(set: &str) {
    let Some(tmp) = common::corpus(&format!("{set} agreement"), set, &[]) else {
        return;
    };
    let root = tmp.path().join(set);
    let out = report(&root, &["--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (label, result, key, evidence) = (col("label"), col("result"), col("key"), col("evidence"));
    let mut total = 0;
    let mut disagree = Vec::new();
    for row in reader.records() {
        let row = row.unwrap();
        total += 1;
        if row[label] != row[result] {
            disagree.push(format!(
                "{}: label {:?}, report {:?} ({})",
                &row[key], &row[label], &row[result], &row[evidence]
            ));
        }
    }
    let agree = (total - disagree.len()) as f64 / total as f64;
    eprintln!(
        "{set}: {total} cells, {:.2}% agree; disagreements:\n  {}",
        agree * 100.0,
        disagree.join("\n  ")
    );
    assert!(total > 50, "{set}: only {total} cells");
    assert!(agree >= 0.97, "{set}: {:.2}% < 97%", agree * 100.0);
}

#[test]
fn arm64_hwasan_agrees_with_labels() {
    agreement("arm64-hwasan");
}

#[test]
fn amd64_other_dev_agrees_with_labels() {
    agreement("amd64-other-dev");
}

/// The real 3.13.5 set's index has a `cause` column of its own, as the report does: the CSV keeps
/// both (the index's as `index_cause`), and the report agrees with each label and each cause.
#[test]
fn real_3_13_5_keeps_its_own_cause_beside_the_reports() {
    let set = "real-3.13.5";
    let Some(tmp) = common::corpus(&format!("{set} causes"), set, &[]) else {
        return;
    };
    let root = tmp.path().join(set);
    let out = report(&root, &["--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let rows: Vec<std::collections::HashMap<String, String>> =
        reader.deserialize().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["label"], row["result"], "{row:?}");
        assert_eq!(row["index_cause"], row["cause"], "{row:?}");
    }
    assert!(rows.iter().any(|row| !row["cause"].is_empty()));
}

/// `report --reasons` of the arm64 corpus on an 80-column terminal: every line fits, and each
/// of its reasons reads whole (a reason too long for its column continues on indented lines),
/// so no two are printed alike; the CSV has each reason uncut.
#[test]
fn arm64_reasons_fit_80_columns_and_are_told_apart() {
    let set = "arm64-hwasan";
    let Some(tmp) = common::corpus(&format!("{set} reasons"), set, &[]) else {
        return;
    };
    let root = tmp.path().join(set);
    let report = |format: &str| {
        String::from_utf8(report(&root, &["--reasons", "--format", format])).unwrap()
    };
    let csv = report("csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let reasons: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    assert_eq!(reasons.len(), 19, "{csv}");
    assert!(reasons.iter().all(|r| !r.ends_with('…')), "{reasons:?}");
    let table = report("table");
    assert!(table.lines().all(|l| l.chars().count() <= 80), "{table}");
    // The table's reasons, each line of the reason column joined with its continuations.
    let width = table
        .lines()
        .nth(1)
        .unwrap()
        .split("  ")
        .next()
        .unwrap()
        .len();
    let mut shown: Vec<String> = Vec::new();
    for line in table
        .lines()
        .skip(2)
        .take_while(|l| !l.contains(" reasons, "))
    {
        let column: String = line.chars().take(width).collect();
        match column.strip_prefix("  ") {
            Some(rest) => {
                let last = shown.last_mut().unwrap();
                // A word broken at the column's edge continues without a space.
                let joined = format!("{last} {}", rest.trim_end());
                *last = if reasons.iter().any(|r| r.starts_with(&joined)) {
                    joined
                } else {
                    format!("{last}{}", rest.trim_end())
                };
            }
            None => shown.push(column.trim_end().to_string()),
        }
    }
    assert_eq!(shown, reasons, "{table}");
}
