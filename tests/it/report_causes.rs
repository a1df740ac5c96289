//! `matrix report`'s causes, failing tests and reasons on the corpus in `../shared/corpus/`:
//! the acceptance of issue 16. Skipped visibly when the corpus is absent (never under CI).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{corpus, matrix};

/// The unpacked set (in a temporary directory kept alive by the returned guard).
fn unpack(set: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let dir = corpus(&format!("report_causes {set}"), set, &[])?;
    let root = dir.path().join(set);
    Some((dir, root))
}

fn report(root: &Path, extra: &[&str]) -> Vec<u8> {
    matrix()
        .arg("report")
        .arg(root.join("logs"))
        .arg("--index")
        .arg(root.join("labels.csv"))
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

fn cells(root: &Path) -> Vec<Value> {
    let json: Value = serde_json::from_slice(&report(root, &["--format", "json"])).unwrap();
    json["cells"].as_array().unwrap().clone()
}

/// regrtest's last `N tests failed:` block of a log, read here independently of the tool.
fn listed_failures(log: &Path) -> Option<Vec<String>> {
    let text = String::from_utf8_lossy(&std::fs::read(log).ok()?).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().rposition(|l| {
        let l = l.trim_end_matches('\r');
        l.ends_with(" tests failed:") || l.ends_with(" test failed:")
    })?;
    let count: usize = lines[start].split(' ').next()?.parse().ok()?;
    let names: Vec<String> = lines[start + 1..]
        .iter()
        .take_while(|l| l.starts_with("    ") && !l.trim().is_empty())
        .flat_map(|l| l.split_whitespace().map(str::to_owned))
        .collect();
    assert_eq!(
        names.len(),
        count,
        "{}: the block lists {count}",
        log.display()
    );
    Some(names)
}

#[test]
fn real_marker_logs_name_the_incompatible_runtimes() {
    let Some((_tmp, root)) = unpack("real-3.13.5") else {
        return;
    };
    let cells = cells(&root);
    assert_eq!(cells.len(), 3);
    for cell in &cells {
        let key = cell["key"].as_str().unwrap();
        if cell["result"] == "Tests. Passed" {
            assert!(cell["cause"].is_null(), "{key}: a passing cell has a cause");
        } else {
            let cause = cell["cause"]["text"].as_str().unwrap();
            assert!(
                cause.contains("incompatible ASan runtimes"),
                "{key}: {cause}"
            );
            assert!(!cause.contains("::matrix::"), "{cause}");
            let evidence = cell["cause"]["evidence"].as_str().unwrap();
            assert!(!evidence.starts_with("::matrix::"), "{evidence}");
        }
    }
}

fn original_set(set: &str) -> Option<(tempfile::TempDir, PathBuf, Vec<Value>)> {
    let (tmp, root) = unpack(set)?;
    let cells = cells(&root);
    let mut checksharedmods = 0;
    let mut lists = 0;
    for cell in &cells {
        let key = cell["key"].as_str().unwrap();
        let evidence = cell["evidence"]["text"].as_str().unwrap_or("");
        if evidence.contains("checksharedmods] Error") {
            checksharedmods += 1;
            assert_eq!(cell["cause"]["kind"], "report", "{key}: {}", cell["cause"]);
            let text = cell["cause"]["text"].as_str().unwrap();
            assert!(text.contains("Sanitizer: "), "{key}: {text}");
            assert_eq!(cell["cause"]["finding"].as_str().unwrap().len(), 8);
        }
        if let Some(log) = cell["log"].as_str() {
            if let Some(names) = listed_failures(&root.join("logs").join(log)) {
                lists += 1;
                let got: Vec<&str> = cell["failed_tests"]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
                    .unwrap_or_default();
                assert_eq!(got, names, "{key}");
                assert_eq!(cell["failed_count"], names.len());
            }
        }
        if let Some(cause) = cell["cause"]["text"].as_str() {
            assert_ne!(cause, "Result: FAILURE", "{key}");
            assert!(!cause.contains("0x"), "{key}: an address in {cause}");
        }
    }
    eprintln!("{set}: {checksharedmods} checksharedmods failures, {lists} failed-test lists");
    Some((tmp, root, cells))
}

#[test]
fn arm64_causes_and_reasons() {
    let Some((_tmp, root, cells)) = original_set("arm64-hwasan") else {
        return;
    };
    let failed = cells
        .iter()
        .filter(|c| c["outcome"].is_string() && c["outcome"] != "Passed")
        .count();
    let json: Value =
        serde_json::from_slice(&report(&root, &["--reasons", "--format", "json"])).unwrap();
    let reasons = json.as_array().unwrap();
    let covered: u64 = reasons.iter().map(|r| r["cells"].as_u64().unwrap()).sum();
    assert_eq!(
        covered as usize, failed,
        "every failed cell in exactly one reason"
    );
    assert!(reasons.len() <= 30, "{} reasons", reasons.len());
    assert!(reasons
        .iter()
        .all(|r| !r["reason"].as_str().unwrap().starts_with("no cause found")));
    let table = String::from_utf8(report(&root, &["--reasons", "--format", "table"])).unwrap();
    eprintln!("{table}");
}

#[test]
fn amd64_dev_causes() {
    let Some((_tmp, root, _cells)) = original_set("amd64-other-dev") else {
        return;
    };
    let tests: Value =
        serde_json::from_slice(&report(&root, &["--tests", "--format", "json"])).unwrap();
    let ctypes = tests
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["test"] == "test_ctypes")
        .expect("test_ctypes fails somewhere");
    assert!(ctypes["cells"].as_array().unwrap().len() >= 10);
}
