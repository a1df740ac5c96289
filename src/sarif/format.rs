//! Writing findings and their counts as CSV, JSON or an aligned text table.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::{Finding, Summary, VersionInput, VersionKey};
use crate::export::{json_bytes, Export, OutputFormat};
use crate::table::align;

/// What a `matrix sarif` run shows.
pub struct View<'a> {
    /// The findings listed (all distinct findings, or the new ones of a diff).
    pub findings: &'a [Finding],
    pub summary: Summary,
    pub inputs: &'a BTreeMap<VersionKey, VersionInput>,
    /// Distinct results without a source location in the data, per version.
    pub unlocated: BTreeMap<VersionKey, usize>,
    /// Whether unlocated results are among `findings`.
    pub unlocated_listed: bool,
    /// `(a, b)` when `findings` are those of `b` that `a` does not have.
    pub diff: Option<(VersionKey, VersionKey)>,
    /// Whether the findings are listed (`false` for `--summary`: only the counts).
    pub list: bool,
}

impl Export for View<'_> {
    const WHAT: &'static str = "a SARIF analysis";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    /// One row per finding, or with `--summary` the counts in long form.
    fn csv(&self) -> Result<Vec<u8>> {
        if self.list {
            findings_csv(self.findings)
        } else {
            summary_csv(&self.summary)
        }
    }

    fn json(&self) -> Result<Vec<u8>> {
        json(self, self.list)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(table(self, self.list))
    }
}

/// One row per finding: `version,uri,line,rule,message,builds`.
fn findings_csv(findings: &[Finding]) -> Result<Vec<u8>> {
    let mut out = crate::spreadsheet::Writer::new();
    out.write_record(["version", "uri", "line", "rule", "message", "builds"])?;
    for f in findings {
        out.write_record([
            f.version.text.clone(),
            f.uri.clone().unwrap_or_default(),
            f.line.map(|l| l.to_string()).unwrap_or_default(),
            f.rule(),
            f.message.clone(),
            f.builds.len().to_string(),
        ])?;
    }
    out.into_inner()
}

/// The counts in long form: `by,key,version,findings` with `by` one of `version`, `rule`,
/// `file` (for `version` rows the key is the version itself).
fn summary_csv(summary: &Summary) -> Result<Vec<u8>> {
    let mut out = crate::spreadsheet::Writer::new();
    out.write_record(["by", "key", "version", "findings"])?;
    for (version, n) in &summary.by_version {
        out.write_record(["version", &version.text, &version.text, &n.to_string()])?;
    }
    for (by, groups) in [("rule", &summary.by_rule), ("file", &summary.by_file)] {
        for (key, counts) in groups {
            for (version, n) in counts {
                out.write_record([by, key, &version.text, &n.to_string()])?;
            }
        }
    }
    out.into_inner()
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    diff: Option<JsonDiff<'a>>,
    versions: Vec<JsonVersion<'a>>,
    by_rule: Vec<JsonGroup<'a>>,
    by_file: Vec<JsonGroup<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<Vec<JsonFinding<'a>>>,
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    from: &'a str,
    to: &'a str,
}

#[derive(Serialize)]
struct JsonVersion<'a> {
    version: &'a str,
    findings: usize,
    /// Distinct results without a source location, whether listed or not.
    unlocated: usize,
    builds: usize,
    sarif_files: usize,
}

#[derive(Serialize)]
struct JsonGroup<'a> {
    key: &'a str,
    total: usize,
    counts: Vec<JsonCount<'a>>,
}

#[derive(Serialize)]
struct JsonCount<'a> {
    version: &'a str,
    findings: usize,
}

/// A finding in JSON: the shared shape of [`crate::finding::Finding`], then what only a SARIF
/// finding has.
#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(flatten)]
    finding: crate::finding::Finding,
    version: &'a str,
    functions: Vec<&'a str>,
}

/// The tool of every SARIF finding: `matrix sarif` reads GCC's `-fanalyzer` output.
pub const SARIF_TOOL: &str = "gcc-analyzer";

/// The shared shape of a SARIF finding. Its id hashes tool, rule, file, functions and message,
/// but no line or version, so the same finding keeps its id when code moves or versions change.
pub fn shared_finding(f: &super::Finding) -> crate::finding::Finding {
    let rule = f.rule();
    let functions = f.functions.iter().cloned().collect::<Vec<_>>().join(";");
    let id = crate::finding::short_id([
        SARIF_TOOL,
        rule.as_str(),
        f.uri.as_deref().unwrap_or(""),
        functions.as_str(),
        f.message.as_str(),
    ]);
    crate::finding::Finding {
        id,
        tool: SARIF_TOOL.to_owned(),
        kind: rule,
        message: f.message.clone(),
        location: f.uri.as_ref().map(|file| crate::finding::Location {
            file: file.clone(),
            line: f.line,
        }),
        frames: Vec::new(),
        cells: f.builds.iter().cloned().collect(),
        reports: 1,
        versions: Vec::new(),
        frames_text: None,
    }
}

/// Everything in one document; `with_findings` false leaves out the finding list.
fn json(view: &View, with_findings: bool) -> Result<Vec<u8>> {
    fn groups(map: &BTreeMap<String, BTreeMap<VersionKey, usize>>) -> Vec<JsonGroup<'_>> {
        map.iter()
            .map(|(key, counts)| JsonGroup {
                key,
                total: counts.values().sum(),
                counts: counts
                    .iter()
                    .map(|(v, n)| JsonCount {
                        version: &v.text,
                        findings: *n,
                    })
                    .collect(),
            })
            .collect()
    }
    let output = JsonOutput {
        diff: view.diff.as_ref().map(|(a, b)| JsonDiff {
            from: &a.text,
            to: &b.text,
        }),
        versions: view
            .summary
            .by_version
            .iter()
            .map(|(v, n)| {
                let input = view.inputs.get(v).cloned().unwrap_or_default();
                JsonVersion {
                    version: &v.text,
                    findings: *n,
                    unlocated: view.unlocated.get(v).copied().unwrap_or(0),
                    builds: input.builds.len(),
                    sarif_files: input.sarif_files,
                }
            })
            .collect(),
        by_rule: groups(&view.summary.by_rule),
        by_file: groups(&view.summary.by_file),
        findings: with_findings.then(|| {
            view.findings
                .iter()
                .map(|f| JsonFinding {
                    finding: shared_finding(f),
                    version: &f.version.text,
                    functions: f.functions.iter().map(String::as_str).collect(),
                })
                .collect()
        }),
    };
    json_bytes(&output)
}

/// A text report: a line per version, the findings (unless `with_findings` is false), and the
/// counts per rule and per file with a column per version.
fn table(view: &View, with_findings: bool) -> Vec<u8> {
    let mut out = String::new();
    for (version, n) in &view.summary.by_version {
        let input = view.inputs.get(version).cloned().unwrap_or_default();
        let what = match &view.diff {
            Some((a, _)) => format!("findings that {a} does not have"),
            None => "distinct findings".to_string(),
        };
        out.push_str(&format!(
            "{version}: {n} {what}; {}, {}",
            counted(input.builds.len(), "build"),
            counted(input.sarif_files, "SARIF file")
        ));
        let unlocated = view.unlocated.get(version).copied().unwrap_or(0);
        if unlocated > 0 && view.diff.is_none() {
            if view.unlocated_listed {
                out.push_str(&format!(" ({unlocated} of them without a source location)"));
            } else {
                out.push_str(&format!(
                    "; {unlocated} more without a source location (--unlocated lists them)"
                ));
            }
        }
        out.push('\n');
    }
    if with_findings && !view.findings.is_empty() {
        let mut rows = vec![cells(["VERSION", "LOCATION", "RULE", "BUILDS", "MESSAGE"])];
        for f in view.findings {
            let location = match (&f.uri, f.line) {
                (Some(uri), Some(line)) => format!("{uri}:{line}"),
                (Some(uri), None) => uri.clone(),
                (None, _) => super::NO_LOCATION.to_string(),
            };
            rows.push(vec![
                f.version.text.clone(),
                location,
                f.rule(),
                f.builds.len().to_string(),
                f.message.clone(),
            ]);
        }
        out.push('\n');
        out.push_str(&align(&rows, &[false, false, false, true, false]));
    }
    for (title, groups) in [
        ("RULE", &view.summary.by_rule),
        ("FILE", &view.summary.by_file),
    ] {
        if groups.is_empty() {
            continue;
        }
        let versions = &view.summary.versions;
        let mut header = vec![title.to_string()];
        header.extend(versions.iter().map(|v| v.text.clone()));
        header.push("TOTAL".into());
        let mut rows = vec![header];
        for (key, counts) in groups {
            let mut row = vec![key.clone()];
            row.extend(
                versions
                    .iter()
                    .map(|v| counts.get(v).copied().unwrap_or(0).to_string()),
            );
            row.push(counts.values().sum::<usize>().to_string());
            rows.push(row);
        }
        let mut right = vec![false];
        right.extend(std::iter::repeat_n(true, versions.len() + 1));
        out.push('\n');
        out.push_str(&align(&rows, &right));
    }
    out.into_bytes()
}

/// `1 build`, `2 builds`.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn cells<const N: usize>(texts: [&str; N]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_pads_and_right_aligns_without_trailing_spaces() {
        let rows = vec![cells(["A", "NUM", "TEXT"]), cells(["long", "7", "x"])];
        assert_eq!(
            align(&rows, &[false, true, false]),
            "A     NUM  TEXT\nlong    7  x\n"
        );
    }
}
