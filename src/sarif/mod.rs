//! GCC `-fanalyzer` SARIF results of many builds → distinct findings per CPython version, with
//! counts per version, rule and file, and the findings one version has that another has not.
//!
//! A finding is distinct by (version, path in the source tree, start line, message text); see
//! [`source_path`] for how an artifact URI becomes a path. Results without a source location
//! are kept apart as "unlocated": they have no artifact URI, so they are not part of that key.

pub mod format;
pub mod model;
pub mod source;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::version::Version;

pub use source::{load, Loaded, Occurrence, Unreadable};

/// A CPython version as it appears in the data, ordered by release (3.12.4 < 3.13.0b4 <
/// 3.13.0). The text breaks ties, so `3.13` and `3.13.0` stay apart as they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionKey {
    pub version: Version,
    pub text: String,
}

impl VersionKey {
    pub fn new(version: Version, text: &str) -> Self {
        VersionKey {
            version,
            text: text.to_string(),
        }
    }
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.version
            .cmp(&other.version)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for VersionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A distinct finding of one version, with what all builds said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub version: VersionKey,
    /// Path inside the CPython source tree (`Objects/listobject.c`), an absolute path for a file
    /// outside it (`/usr/include/string.h`), or `None` for a result without a source location.
    pub uri: Option<String>,
    pub line: Option<u64>,
    pub message: String,
    /// Rule ids (`-Wanalyzer-null-dereference`); normally exactly one.
    pub rules: BTreeSet<String>,
    /// Functions the location was reported in, with GCC's clone suffixes (`.part.0`) kept.
    pub functions: BTreeSet<String>,
    /// Builds (see [`source::classify`]) that reported it.
    pub builds: BTreeSet<String>,
}

impl Finding {
    /// Sort key: version, located before unlocated, path, line, message.
    fn key(&self) -> (&VersionKey, bool, &Option<String>, Option<u64>, &str) {
        (
            &self.version,
            self.uri.is_none(),
            &self.uri,
            self.line,
            &self.message,
        )
    }

    pub fn located(&self) -> bool {
        self.uri.is_some()
    }

    /// The rule ids joined by `;` (empty when the log gave none).
    pub fn rule(&self) -> String {
        self.rules.iter().cloned().collect::<Vec<_>>().join(";")
    }
}

/// Per-version facts about the input, independent of which findings are shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionInput {
    pub sarif_files: usize,
    pub builds: BTreeSet<String>,
}

/// All distinct findings of a directory, sorted, and what was read.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub inputs: BTreeMap<VersionKey, VersionInput>,
}

impl Analysis {
    pub fn from_loaded(loaded: &Loaded) -> Self {
        let mut inputs: BTreeMap<VersionKey, VersionInput> = BTreeMap::new();
        for (version, build) in &loaded.files {
            let input = inputs.entry(version.clone()).or_default();
            input.sarif_files += 1;
            input.builds.insert(build.clone());
        }
        Analysis {
            findings: distinct(&loaded.occurrences),
            inputs,
        }
    }

    /// The version the user named: by its text, or else by an equal version number.
    pub fn version(&self, name: &str) -> anyhow::Result<VersionKey> {
        if let Some(key) = self.inputs.keys().find(|k| k.text == name) {
            return Ok(key.clone());
        }
        let parsed: Option<Version> = name.parse().ok();
        if let Some(key) = self
            .inputs
            .keys()
            .find(|k| Some(&k.version) == parsed.as_ref())
        {
            return Ok(key.clone());
        }
        let present: Vec<&str> = self.inputs.keys().map(|k| k.text.as_str()).collect();
        anyhow::bail!(
            "version `{name}` is not in the SARIF data; versions present: {}",
            present.join(", ")
        )
    }

    /// Unlocated findings per version.
    pub fn unlocated(&self) -> BTreeMap<VersionKey, usize> {
        let mut counts = BTreeMap::new();
        for f in self.findings.iter().filter(|f| !f.located()) {
            *counts.entry(f.version.clone()).or_insert(0) += 1;
        }
        counts
    }
}

/// Merges occurrences into distinct findings, sorted by [`Finding::key`].
pub fn distinct(occurrences: &[Occurrence]) -> Vec<Finding> {
    type Key = (VersionKey, Option<String>, Option<u64>, String);
    let mut merged: BTreeMap<Key, Finding> = BTreeMap::new();
    for o in occurrences {
        let d = &o.diagnostic;
        let uri = d.uri.as_deref().map(|u| source_path(u, &o.version.text));
        let key = (o.version.clone(), uri.clone(), d.line, d.message.clone());
        let finding = merged.entry(key).or_insert_with(|| Finding {
            version: o.version.clone(),
            uri,
            line: d.line,
            message: d.message.clone(),
            rules: BTreeSet::new(),
            functions: BTreeSet::new(),
            builds: BTreeSet::new(),
        });
        finding.rules.extend(d.rule.clone());
        finding.functions.extend(d.function.clone());
        finding.builds.insert(o.build.clone());
    }
    let mut findings: Vec<Finding> = merged.into_values().collect();
    findings.sort_by(|a, b| a.key().cmp(&b.key()));
    findings
}

/// The path of an artifact URI inside the `Python-<version>` source tree: the scheme is
/// dropped, `.` and `..` are resolved, and everything up to the `Python-<version>` directory is
/// removed (`file:///src/Python-3.12.4/./Objects/a.c` → `Objects/a.c`). A relative URI without
/// that directory is already relative to the source tree (GCC runs in it); an absolute one
/// outside it stays absolute. This is what makes `./Include/object.h` and `Include/object.h`
/// one file, and the same file comparable across versions.
pub fn source_path(uri: &str, version: &str) -> String {
    let path = uri
        .strip_prefix("file://")
        .or_else(|| uri.strip_prefix("file:"))
        .unwrap_or(uri);
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let root = format!("Python-{version}");
    if let Some(i) = parts.iter().rposition(|p| *p == root) {
        return parts[i + 1..].join("/");
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// The findings of version `b` that version `a` does not have. Line numbers shift between
/// versions, so a finding of `b` is matched to one of `a` with the same file and message: first
/// at the same line, then the remaining ones of each (file, message) pair up in line order.
/// What is left over in `b` is new. The result keeps `findings`' order.
pub fn diff(findings: &[Finding], a: &VersionKey, b: &VersionKey) -> Vec<Finding> {
    type Group<'f> = (&'f Option<String>, &'f str);
    let in_a: Vec<&Finding> = findings.iter().filter(|f| &f.version == a).collect();
    let in_b: Vec<&Finding> = findings.iter().filter(|f| &f.version == b).collect();
    let exact: BTreeSet<(&Option<String>, Option<u64>, &str)> = in_a
        .iter()
        .map(|f| (&f.uri, f.line, f.message.as_str()))
        .collect();
    let b_exact: BTreeSet<(&Option<String>, Option<u64>, &str)> = in_b
        .iter()
        .map(|f| (&f.uri, f.line, f.message.as_str()))
        .collect();
    // Findings of `a` not matched exactly, counted per (file, message).
    let mut spare: BTreeMap<Group, usize> = BTreeMap::new();
    for f in in_a
        .iter()
        .filter(|f| !b_exact.contains(&(&f.uri, f.line, f.message.as_str())))
    {
        *spare.entry((&f.uri, f.message.as_str())).or_insert(0) += 1;
    }
    // `findings` is sorted by line within a file and message, so this pairs in line order.
    let mut new = Vec::new();
    for f in in_b {
        if exact.contains(&(&f.uri, f.line, f.message.as_str())) {
            continue;
        }
        match spare.get_mut(&(&f.uri, f.message.as_str())) {
            Some(n) if *n > 0 => *n -= 1,
            _ => new.push((*f).clone()),
        }
    }
    new
}

/// Counts of findings per version, per rule and per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub versions: Vec<VersionKey>,
    pub by_version: BTreeMap<VersionKey, usize>,
    pub by_rule: BTreeMap<String, BTreeMap<VersionKey, usize>>,
    pub by_file: BTreeMap<String, BTreeMap<VersionKey, usize>>,
}

/// The file column's value for a finding without a location.
pub const NO_LOCATION: &str = "(no location)";
/// The rule column's value for a finding without a rule id.
pub const NO_RULE: &str = "(no rule)";

impl Summary {
    /// Counts over `findings`; `versions` are the columns (every version read, so a version with
    /// no findings shows a zero rather than vanishing).
    pub fn of(findings: &[Finding], versions: impl IntoIterator<Item = VersionKey>) -> Self {
        let versions: Vec<VersionKey> = versions.into_iter().collect();
        let mut by_version: BTreeMap<VersionKey, usize> =
            versions.iter().map(|v| (v.clone(), 0)).collect();
        let mut by_rule: BTreeMap<String, BTreeMap<VersionKey, usize>> = BTreeMap::new();
        let mut by_file: BTreeMap<String, BTreeMap<VersionKey, usize>> = BTreeMap::new();
        for f in findings {
            *by_version.entry(f.version.clone()).or_insert(0) += 1;
            let rules: Vec<String> = if f.rules.is_empty() {
                vec![NO_RULE.to_string()]
            } else {
                f.rules.iter().cloned().collect()
            };
            for rule in rules {
                *by_rule
                    .entry(rule)
                    .or_default()
                    .entry(f.version.clone())
                    .or_insert(0) += 1;
            }
            let file = f.uri.clone().unwrap_or_else(|| NO_LOCATION.to_string());
            *by_file
                .entry(file)
                .or_default()
                .entry(f.version.clone())
                .or_insert(0) += 1;
        }
        let versions = by_version.keys().cloned().collect();
        Summary {
            versions,
            by_version,
            by_rule,
            by_file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::Diagnostic;
    use super::*;

    fn v(text: &str) -> VersionKey {
        VersionKey::new(text.parse().unwrap(), text)
    }

    fn occ(version: &str, build: &str, uri: Option<&str>, line: u64, message: &str) -> Occurrence {
        Occurrence {
            version: v(version),
            build: build.into(),
            diagnostic: Diagnostic {
                uri: uri.map(str::to_string),
                line: uri.map(|_| line),
                rule: Some("-Wanalyzer-null-dereference".into()),
                message: message.into(),
                function: Some("f".into()),
            },
        }
    }

    #[test]
    fn source_paths() {
        assert_eq!(
            source_path("file:///src/Python-3.12.4/./Objects/a.c", "3.12.4"),
            "Objects/a.c"
        );
        assert_eq!(
            source_path("./Include/object.h", "3.12.4"),
            "Include/object.h"
        );
        assert_eq!(
            source_path("Objects/../Include/x.h", "3.12.4"),
            "Include/x.h"
        );
        assert_eq!(
            source_path("/usr/include/string.h", "3.12.4"),
            "/usr/include/string.h"
        );
        assert_eq!(source_path("../../a/b.c", "3.12.4"), "../../a/b.c");
        // Only the file's own version directory is the source root.
        assert_eq!(
            source_path("/src/Python-3.13.0/Modules/a.c", "3.12.4"),
            "/src/Python-3.13.0/Modules/a.c"
        );
    }

    #[test]
    fn distinct_merges_spellings_and_counts_builds() {
        let findings = distinct(&[
            occ("3.12.4", "b1", Some("./Objects/a.c"), 10, "leak of 'p'"),
            occ("3.12.4", "b2", Some("Objects/a.c"), 10, "leak of 'p'"),
            occ(
                "3.12.4",
                "b2",
                Some("file:///src/Python-3.12.4/Objects/a.c"),
                10,
                "leak of 'p'",
            ),
            occ("3.12.4", "b2", Some("Objects/a.c"), 9, "leak of 'p'"),
            occ("3.12.4", "b1", None, 0, "stale frame"),
            occ("3.13.0b4", "b3", Some("Objects/a.c"), 10, "leak of 'p'"),
        ]);
        let rows: Vec<(String, Option<&str>, Option<u64>, usize)> = findings
            .iter()
            .map(|f| {
                (
                    f.version.text.clone(),
                    f.uri.as_deref(),
                    f.line,
                    f.builds.len(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("3.12.4".into(), Some("Objects/a.c"), Some(9), 1),
                ("3.12.4".into(), Some("Objects/a.c"), Some(10), 2),
                ("3.12.4".into(), None, None, 1),
                ("3.13.0b4".into(), Some("Objects/a.c"), Some(10), 1),
            ]
        );
    }

    #[test]
    fn versions_sort_by_release_order() {
        let mut keys = [v("3.13.0"), v("3.13.0b4"), v("3.12.10"), v("3.12.4")];
        keys.sort();
        let texts: Vec<&str> = keys.iter().map(|k| k.text.as_str()).collect();
        assert_eq!(texts, ["3.12.4", "3.12.10", "3.13.0b4", "3.13.0"]);
    }

    #[test]
    fn diff_matches_shifted_lines_and_counts_surplus() {
        let findings = distinct(&[
            occ("3.12.4", "a", Some("m.c"), 100, "leak of 'p'"),
            occ("3.12.4", "a", Some("m.c"), 200, "leak of 'q'"),
            occ("3.12.4", "a", Some("m.c"), 300, "gone"),
            // Same messages, moved by 5 lines: old.
            occ("3.13.0b4", "b", Some("m.c"), 105, "leak of 'p'"),
            occ("3.13.0b4", "b", Some("m.c"), 200, "leak of 'q'"),
            // A second `leak of 'p'` in the same file: one more than before, so new.
            occ("3.13.0b4", "b", Some("m.c"), 150, "leak of 'p'"),
            // Same line, new message: new.
            occ("3.13.0b4", "b", Some("m.c"), 200, "leak of 'r'"),
            occ("3.13.0b4", "b", Some("n.c"), 100, "leak of 'p'"),
        ]);
        let new = diff(&findings, &v("3.12.4"), &v("3.13.0b4"));
        let rows: Vec<(&str, u64, &str)> = new
            .iter()
            .map(|f| {
                (
                    f.uri.as_deref().unwrap(),
                    f.line.unwrap(),
                    f.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("m.c", 150, "leak of 'p'"),
                ("m.c", 200, "leak of 'r'"),
                ("n.c", 100, "leak of 'p'"),
            ]
        );
        let back = diff(&findings, &v("3.13.0b4"), &v("3.12.4"));
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].message, "gone");
    }

    #[test]
    fn summary_counts_per_version_rule_and_file() {
        let findings = distinct(&[
            occ("3.12.4", "a", Some("m.c"), 1, "x"),
            occ("3.12.4", "a", Some("n.c"), 1, "x"),
            occ("3.13.0b4", "b", Some("m.c"), 1, "x"),
            occ("3.13.0b4", "b", None, 1, "y"),
        ]);
        let s = Summary::of(&findings, [v("3.12.4"), v("3.13.0b4"), v("3.14.0")]);
        assert_eq!(s.by_version[&v("3.12.4")], 2);
        assert_eq!(s.by_version[&v("3.14.0")], 0);
        assert_eq!(s.by_rule["-Wanalyzer-null-dereference"][&v("3.13.0b4")], 2);
        assert_eq!(s.by_file["m.c"].len(), 2);
        assert_eq!(s.by_file[NO_LOCATION][&v("3.13.0b4")], 1);
    }
}
