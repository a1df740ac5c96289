//! `matrix sarif` on the original experiment's analyzer run (`../shared/corpus/amd64-sast`):
//! the distinct counts the issue asks for, and agreement with the published `errors.csv`.
//! Skipped when `../shared` is not present.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::{self, matrix};

fn sarif(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = matrix().arg("sarif").arg(dir).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

type Row = (String, String, String, String);

fn rows(csv_bytes: &[u8], columns: [&str; 4]) -> BTreeSet<Row> {
    let mut reader = csv::Reader::from_reader(csv_bytes);
    let headers = reader.headers().unwrap().clone();
    let index = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let idx = columns.map(index);
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let version = r[idx[0]].trim_start_matches("Python-").to_string();
            (
                version,
                r[idx[1]].into(),
                r[idx[2]].into(),
                r[idx[3]].into(),
            )
        })
        .collect()
}

#[test]
fn corpus_gives_129_and_163_and_matches_the_published_findings() {
    // The analyzer data and the published findings.
    let Some(unpacked) = common::corpus(
        "corpus_gives_129_and_163_and_matches_the_published_findings",
        "amd64-sast",
        &["amd64-sast/data", "amd64-sast/errors.csv"],
    ) else {
        return;
    };
    let root = unpacked.path().join("amd64-sast");
    let data = root.join("data");

    let json: Value = serde_json::from_slice(&sarif(&data, &["--format", "json"])).unwrap();
    let counts: Vec<(String, u64, u64, u64)> = json["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().to_string(),
                v["findings"].as_u64().unwrap(),
                v["unlocated"].as_u64().unwrap(),
                v["builds"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("3.12.4".to_string(), 129, 3, 6),
            ("3.13.0b4".to_string(), 163, 2, 8)
        ]
    );

    // With the results that have no location, the list is exactly the published one
    // (132 + 165 rows: the original's query kept them with an empty path and line).
    let published = rows(
        &std::fs::read(root.join("errors.csv")).unwrap(),
        ["Version", "Path", "Line", "Text"],
    );
    let ours = rows(
        &sarif(&data, &["--format", "csv", "--unlocated"]),
        ["version", "uri", "line", "message"],
    );
    assert_eq!(published.len(), 297);
    let missing: Vec<_> = published.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&published).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "published but not ours: {missing:#?}\nours but not published: {extra:#?}"
    );
}
