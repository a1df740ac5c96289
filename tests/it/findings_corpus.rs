//! `matrix findings` on the shared corpus (`../shared/corpus/`): every report header in every
//! log, counted here with a plain pattern match, is exactly one report, starting at that
//! header (none swallows the next, a truncated one at the end still counts); and the CLI's
//! total agrees. Skipped visibly when the corpus is absent (a failure under `CI=true`).

use std::io::Read;
use std::path::Path;

use matrix::sanitizer::Recognizer;

use crate::common::{corpus, matrix};

/// A header as a person would grep for it: at the start of a line (after indentation).
fn is_header(line: &str) -> bool {
    let t = line.trim_start();
    (t.starts_with("==")
        && (t.contains("==ERROR: ") || t.contains("==WARNING: "))
        && t.contains("Sanitizer: "))
        || t.starts_with("WARNING: ThreadSanitizer: ")
        || t.starts_with("Fatal Python error: ")
        || (t.contains(": runtime error: ")
            && !t.split(": runtime error: ").next().unwrap().contains(' '))
}

fn texts(logs: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".zip") {
            let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
            for i in 0..zip.len() {
                let mut member = zip.by_index(i).unwrap();
                let mut bytes = Vec::new();
                member.read_to_end(&mut bytes).unwrap();
                out.push((format!("{name}!{}", member.name()), bytes));
            }
        } else {
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn check(set: &str) -> (usize, usize) {
    let Some(tmp) = corpus(&format!("findings_corpus::{set}"), set, &[]) else {
        return (0, 0);
    };
    let logs = tmp.path().join(set).join("logs");
    let mut headers_total = 0;
    for (name, bytes) in texts(&logs) {
        let text = String::from_utf8_lossy(&bytes);
        let headers: Vec<u64> = text
            .split('\n')
            .enumerate()
            .filter(|(_, l)| is_header(l))
            .map(|(i, _)| i as u64 + 1)
            .collect();
        let mut starts = Vec::new();
        let mut r = Recognizer::new();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            r.line(i as u64 + 1, None, line, &mut |rep| starts.push(rep.start));
        }
        r.finish(&mut |rep| starts.push(rep.start));
        assert_eq!(
            starts, headers,
            "{set}/{name}: reports start exactly at the headers"
        );
        headers_total += headers.len();
    }
    let out = matrix()
        .arg("findings")
        .arg(&logs)
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        json["reports"].as_u64().unwrap() as usize,
        headers_total,
        "{set}: the CLI's report count"
    );
    let signatures = json["signatures"].as_u64().unwrap() as usize;
    eprintln!("{set}: {headers_total} reports, {signatures} distinct signatures");
    (headers_total, signatures)
}

#[test]
fn arm64_hwasan_every_header_is_one_report() {
    let (reports, signatures) = check("arm64-hwasan");
    if reports > 0 {
        assert!(
            signatures < reports / 4,
            "repeats collapse: {signatures} of {reports}"
        );
    }
}

#[test]
fn amd64_dev_every_header_is_one_report() {
    let (reports, signatures) = check("amd64-other-dev");
    if reports > 0 {
        assert!(reports > 10_000, "{reports}");
        assert!(
            signatures < reports / 20,
            "repeats collapse: {signatures} of {reports}"
        );
    }
}

#[test]
fn real_logs_every_header_is_one_report() {
    check("real-3.13.5");
}
