//! Accuracy of `matrix report` on the original experiment's hand-labelled logs in
//! `../shared/corpus/`: at least 97% agreement with the labels on each set. Skipped (with a
//! message) when the corpus is absent. Disagreements are printed for review.

use crate::common::{self, matrix};

fn agreement(set: &str) {
    let Some(tmp) = common::corpus(&format!("{set} agreement"), set, &[]) else {
        return;
    };
    let root = tmp.path().join(set);
    let out = matrix()
        .arg("report")
        .arg(root.join("logs"))
        .arg("--index")
        .arg(root.join("labels.csv"))
        .args(["--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
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
