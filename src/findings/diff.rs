//! Two runs compared by signature id: which findings are new, gone, or persist. Each side is a
//! log directory or a saved `matrix findings` output (CSV or JSON). A side written before the
//! signatures per report class has the ids of then; the other side's `legacy_ids` (the old ids
//! of each finding's reports, kept by the scan) pair them: a mapping, since an old file holds
//! no previous-access stack to recompute a race's pair from.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::output::{frames_text, CSV_HEADER};
use super::Findings;
use crate::export::{json_bytes, Export, OutputFormat};

/// One signature as a side of a diff knows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Side {
    pub id: String,
    pub tool: String,
    pub kind: String,
    pub frames: String,
    pub reports: usize,
    pub cells: usize,
    /// The ids its reports had before the rules per class, space-separated (empty in a file
    /// written before them).
    #[serde(default)]
    pub legacy_ids: String,
}

/// A run's signatures from a scan.
pub fn from_findings(f: &Findings) -> Vec<Side> {
    f.findings
        .iter()
        .map(|x| Side {
            id: x.id.clone(),
            tool: x.signature.tool.clone(),
            kind: x.signature.kind.clone(),
            frames: frames_text(x),
            reports: x.reports,
            cells: x.cells.len(),
            legacy_ids: x.legacy.iter().cloned().collect::<Vec<_>>().join(" "),
        })
        .collect()
}

#[derive(Deserialize)]
struct JsonDoc {
    findings: Vec<JsonSide>,
}

#[derive(Deserialize)]
struct JsonSide {
    #[serde(flatten)]
    finding: crate::finding::Finding,
    #[serde(default)]
    frames_text: Option<String>,
    #[serde(default)]
    legacy_ids: Vec<String>,
}

/// A saved output: JSON (`--format json`) or CSV (`--format csv`, one row per signature).
pub fn from_file(path: &Path) -> Result<Vec<Side>> {
    let bytes = crate::input::read_bytes(path, "findings file", crate::input::limit::TABLE)?;
    let what = path.display();
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let doc: JsonDoc = serde_json::from_slice(&bytes)
            .with_context(|| format!("{what}: not the JSON of `matrix findings --format json`"))?;
        return Ok(doc
            .findings
            .into_iter()
            .map(
                |JsonSide {
                     finding: s,
                     frames_text,
                     legacy_ids,
                 }| Side {
                    frames: frames_text.unwrap_or_else(|| {
                        s.frames
                            .iter()
                            .map(|f| {
                                if f.function.is_empty() {
                                    f.file.clone()
                                } else {
                                    f.function.clone()
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(" < ")
                    }),
                    id: s.id,
                    tool: s.tool,
                    kind: s.kind,
                    reports: s.reports,
                    cells: s.cells.len(),
                    legacy_ids: legacy_ids.join(" "),
                },
            )
            .collect());
    }
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("{what}: cannot read the CSV header"))?
        .iter()
        .map(str::to_owned)
        .collect();
    if !header.starts_with(
        &CSV_HEADER[..6]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ) {
        bail!(
            "{what}: not a `matrix findings` output: a CSV must start with the columns {} \
             (it has {}), or give the JSON of `matrix findings --format json`, or a log directory",
            CSV_HEADER[..6].join(","),
            header.join(",")
        );
    }
    let mut sides = Vec::new();
    let names = csv::StringRecord::from(header);
    for (n, row) in reader.records().enumerate() {
        let row = row
            .and_then(|row| crate::spreadsheet::record(&row).deserialize::<Side>(Some(&names)))
            .with_context(|| format!("{what}, row {}", n + 2))?;
        sides.push(row);
    }
    Ok(sides)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Gone,
    Persisting,
}

/// One signature in the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub status: Status,
    pub id: String,
    pub tool: String,
    pub kind: String,
    pub frames: String,
    pub old_reports: usize,
    pub new_reports: usize,
    pub old_cells: usize,
    pub new_cells: usize,
}

/// Each side's ids in the other side's terms where they differ: an id of `sides` that is one of
/// `other`'s legacy ids becomes that finding's id, and sides that then share an id are one
/// (reports added, the most cells kept).
fn paired(sides: &[Side], other: &[Side]) -> Vec<Side> {
    let ids: std::collections::BTreeSet<&str> = other.iter().map(|s| s.id.as_str()).collect();
    let mut by_legacy: BTreeMap<&str, &Side> = BTreeMap::new();
    for o in other {
        for legacy in o.legacy_ids.split_ascii_whitespace() {
            by_legacy.entry(legacy).or_insert(o);
        }
    }
    let mut out: Vec<Side> = Vec::new();
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for s in sides {
        let target = match by_legacy.get(s.id.as_str()) {
            Some(o) if !ids.contains(s.id.as_str()) => Side {
                id: o.id.clone(),
                tool: o.tool.clone(),
                kind: o.kind.clone(),
                frames: o.frames.clone(),
                ..s.clone()
            },
            _ => s.clone(),
        };
        match at.get(&target.id) {
            Some(&i) => {
                out[i].reports += target.reports;
                out[i].cells = out[i].cells.max(target.cells);
            }
            None => {
                at.insert(target.id.clone(), out.len());
                out.push(target);
            }
        }
    }
    out
}

/// New first, then gone, then persisting; each by the reports it has now (or had), then id.
/// Ids are paired across the signature rules first ([`paired`]).
pub fn compare(old: &[Side], new: &[Side]) -> Vec<Change> {
    let old = paired(old, new);
    let new = paired(new, &old);
    let old: BTreeMap<&str, &Side> = old.iter().map(|s| (s.id.as_str(), s)).collect();
    let new_ids: BTreeMap<&str, &Side> = new.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut out: Vec<Change> = Vec::new();
    let change = |status, s: &Side, o: Option<&Side>, n: Option<&Side>| Change {
        status,
        id: s.id.clone(),
        tool: s.tool.clone(),
        kind: s.kind.clone(),
        frames: s.frames.clone(),
        old_reports: o.map_or(0, |x| x.reports),
        new_reports: n.map_or(0, |x| x.reports),
        old_cells: o.map_or(0, |x| x.cells),
        new_cells: n.map_or(0, |x| x.cells),
    };
    for (id, n) in &new_ids {
        match old.get(id) {
            Some(o) => out.push(change(Status::Persisting, n, Some(o), Some(n))),
            None => out.push(change(Status::New, n, None, Some(n))),
        }
    }
    for (id, o) in &old {
        if !new_ids.contains_key(id) {
            out.push(change(Status::Gone, o, Some(o), None));
        }
    }
    out.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then_with(|| {
                b.new_reports
                    .max(b.old_reports)
                    .cmp(&a.new_reports.max(a.old_reports))
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

pub const DIFF_HEADER: [&str; 9] = [
    "status",
    "id",
    "tool",
    "kind",
    "frames",
    "old_reports",
    "new_reports",
    "old_cells",
    "new_cells",
];

fn row(c: &Change) -> Vec<String> {
    let status = match c.status {
        Status::New => "new",
        Status::Gone => "gone",
        Status::Persisting => "persisting",
    };
    vec![
        status.into(),
        c.id.clone(),
        c.tool.clone(),
        c.kind.clone(),
        c.frames.clone(),
        c.old_reports.to_string(),
        c.new_reports.to_string(),
        c.old_cells.to_string(),
        c.new_cells.to_string(),
    ]
}

impl Export for [Change] {
    const WHAT: &'static str = "a findings diff";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    fn csv(&self) -> Result<Vec<u8>> {
        let mut w = crate::spreadsheet::Writer::new();
        w.write_record(DIFF_HEADER)?;
        for c in self {
            w.write_record(row(c))?;
        }
        w.into_inner()
    }

    fn json(&self) -> Result<Vec<u8>> {
        json_bytes(self)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(table(self))
    }
}

fn table(changes: &[Change]) -> Vec<u8> {
    let count = |s| changes.iter().filter(|c| c.status == s).count();
    let mut out = format!(
        "{} new, {} gone, {} persisting\n\n",
        count(Status::New),
        count(Status::Gone),
        count(Status::Persisting)
    );
    let header: Vec<String> = DIFF_HEADER.iter().map(|s| s.to_string()).collect();
    let rows: Vec<Vec<String>> = changes.iter().map(row).collect();
    let right: Vec<bool> = (0..header.len()).map(|i| i >= 5).collect();
    out.push_str(&crate::table::with_header(&header, &rows, &right));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(id: &str, reports: usize) -> Side {
        Side {
            id: id.into(),
            tool: "ThreadSanitizer".into(),
            kind: "data race".into(),
            frames: "a < b".into(),
            reports,
            cells: 1,
            legacy_ids: String::new(),
        }
    }

    #[test]
    fn old_ids_pair_with_the_findings_that_list_them() {
        // Two old ids, the two orders of one race, are one finding now.
        let mut now = side("9a9a0001", 7);
        now.legacy_ids = "aaaa0001 bbbb0002".into();
        let old = [
            side("aaaa0001", 5),
            side("bbbb0002", 1),
            side("dddd0004", 1),
        ];
        let changes = compare(&old, std::slice::from_ref(&now));
        let got: Vec<(Status, &str, usize, usize)> = changes
            .iter()
            .map(|c| (c.status, c.id.as_str(), c.old_reports, c.new_reports))
            .collect();
        assert_eq!(
            got,
            [
                (Status::Gone, "dddd0004", 1, 0),
                (Status::Persisting, "9a9a0001", 6, 7)
            ]
        );
        // And the other way round: an old file as NEW against a scan as OLD.
        let back = compare(std::slice::from_ref(&now), &old[..2]);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].status, Status::Persisting);
    }

    #[test]
    fn new_gone_persisting() {
        let changes = compare(
            &[side("aaaa0001", 5), side("bbbb0002", 1)],
            &[side("aaaa0001", 2), side("cccc0003", 9)],
        );
        let got: Vec<(Status, &str, usize, usize)> = changes
            .iter()
            .map(|c| (c.status, c.id.as_str(), c.old_reports, c.new_reports))
            .collect();
        assert_eq!(
            got,
            [
                (Status::New, "cccc0003", 0, 9),
                (Status::Gone, "bbbb0002", 1, 0),
                (Status::Persisting, "aaaa0001", 5, 2),
            ]
        );
    }

    #[test]
    fn a_csv_that_is_not_ours_is_refused() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), "version,uri,line\n1,2,3\n").unwrap();
        let err = from_file(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("id,tool,kind,frames,reports,cells"), "{err}");
    }
}
