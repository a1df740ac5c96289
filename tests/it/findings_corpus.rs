//! `matrix findings` on the shared corpus (`../shared/corpus/`): every report header in every
//! log, counted here with a plain pattern match, is exactly one report, starting at that
//! header (none swallows the next, a truncated one at the end still counts), and every header
//! quoted in a Python literal one report of its line; and the CLI's total agrees. Skipped
//! visibly when the corpus is absent (a failure under `CI=true`).

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

/// How many sanitizer headers a line quotes in a Python literal (`b'==1==ERROR: …Sanitizer: `).
fn quoted_headers(line: &str) -> usize {
    line.match_indices(['\'', '"'])
        .filter(|(at, _)| {
            let rest = &line[at + 1..];
            let digits = rest.strip_prefix("==").map(|r| {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                (n, &r[n..])
            });
            rest.starts_with("WARNING: ThreadSanitizer: ")
                || digits.is_some_and(|(n, r)| {
                    n > 0
                        && (r.starts_with("==ERROR: ") || r.starts_with("==WARNING: "))
                        && r[..r.len().min(42)].contains("Sanitizer: ")
                })
        })
        .count()
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
        let mut headers: Vec<u64> = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let at = i as u64 + 1;
            headers.extend(is_header(line).then_some(at));
            headers.extend(std::iter::repeat_n(at, quoted_headers(line)));
        }
        let mut starts = Vec::new();
        let mut r = Recognizer::new();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            r.line(i as u64 + 1, None, line, &mut |rep| starts.push(rep.start));
        }
        r.finish(&mut |rep| starts.push(rep.start));
        // A quoted report is emitted at its line, before a report open around it ends.
        starts.sort_unstable();
        headers.sort_unstable();
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
    let findings = json["findings"].as_array().unwrap();
    let mut by_tool: std::collections::BTreeMap<String, (u64, usize)> = Default::default();
    for f in findings {
        let key = format!(
            "{} {}",
            f["tool"].as_str().unwrap(),
            f["kind"].as_str().unwrap()
        );
        let entry = by_tool.entry(key).or_default();
        entry.0 += f["reports"].as_u64().unwrap();
        entry.1 += 1;
    }
    for (kind, (reports, n)) in &by_tool {
        eprintln!("{set}:   {kind}: {reports} reports, {n} findings");
    }
    LAST.with(|l| *l.borrow_mut() = Some(json));
    (headers_total, signatures)
}

thread_local! {
    /// The last `check`'s JSON, for a test to look closer.
    static LAST: std::cell::RefCell<Option<serde_json::Value>> = const { std::cell::RefCell::new(None) };
}

/// The reports (and findings) of a tool and kind in the last `check`'s JSON.
fn of_kind(tool: &str, kind: &str) -> (u64, Vec<serde_json::Value>) {
    LAST.with(|l| {
        let l = l.borrow();
        let found: Vec<serde_json::Value> = l.as_ref().unwrap()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["tool"] == tool && f["kind"] == kind)
            .cloned()
            .collect();
        (
            found.iter().map(|f| f["reports"].as_u64().unwrap()).sum(),
            found,
        )
    })
}

#[test]
fn arm64_hwasan_every_header_is_one_report() {
    let (reports, signatures) = check("arm64-hwasan");
    if reports > 0 {
        assert!(
            signatures < reports / 4,
            "repeats collapse: {signatures} of {reports}"
        );
        // 158 at the start of a line, and 5 quoted in a test's AssertionError (research 3.6).
        let hwasan: u64 = ["tag-mismatch", "BUS"]
            .iter()
            .map(|k| of_kind("HWAddressSanitizer", k).0)
            .sum();
        assert_eq!(hwasan, 163);
        let (_, found) = of_kind("HWAddressSanitizer", "tag-mismatch");
        let quoted: u64 = found.iter().map(|f| f["quoted"].as_u64().unwrap()).sum();
        assert_eq!(quoted, 5);
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
        // A race is its unordered pair of sites: fewer findings than the 167 first stacks
        // of before, and the old ids 799093c6 and 69a744bc are among the legacy ids.
        let (races, found) = of_kind("ThreadSanitizer", "data race");
        assert_eq!(races, 13_764);
        let legacy: Vec<&str> = found
            .iter()
            .flat_map(|f| f["legacy_ids"].as_array().unwrap())
            .map(|id| id.as_str().unwrap())
            .collect();
        let distinct: std::collections::BTreeSet<&str> = legacy.iter().copied().collect();
        eprintln!(
            "amd64 races: {} findings for {} old first-stack ids ({} listed)",
            found.len(),
            distinct.len(),
            legacy.len()
        );
        assert!(found.len() < 167, "{}", found.len());
        assert!(distinct.contains("799093c6") && distinct.contains("69a744bc"));
        let merged = found
            .iter()
            .filter(|f| f["legacy_ids"].as_array().unwrap().len() > 1)
            .count();
        assert!(merged > 0, "some races were two old ids");
    }
}

#[test]
fn real_logs_every_header_is_one_report() {
    check("real-3.13.5");
}
