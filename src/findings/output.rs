//! Findings as text: CSV and JSON (serialized, one row or object per signature, or per
//! signature and cell), an aligned table, and the signature × axis-value pivot.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::Serialize;

use super::known::Status;
use super::{CellFinding, Example, Finding, Findings};
use crate::export::{json_bytes, Export, OutputFormat};
use crate::sanitizer::signature::Rule;

/// The formats of `matrix findings`, whatever it lists.
pub const FINDINGS_FORMATS: &[OutputFormat] =
    &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

/// The findings of a run as `matrix findings` lists them: one row per signature, or with
/// `cells` one per signature and cell.
pub struct Listing<'a> {
    pub findings: &'a Findings,
    pub cells: bool,
    /// Each finding's status against a catalog (`--known`): a `status` column, and the table
    /// lists new and regressed findings first.
    pub statuses: Option<&'a BTreeMap<String, Status>>,
    /// The terminal's width for the table (`usize::MAX` when not a terminal).
    pub width: usize,
}

impl Export for Listing<'_> {
    const WHAT: &'static str = "a findings listing";
    const FORMATS: &'static [OutputFormat] = FINDINGS_FORMATS;

    fn csv(&self) -> Result<Vec<u8>> {
        if self.cells {
            cells_csv(self.findings, self.statuses)
        } else {
            to_csv(self.findings, self.statuses)
        }
    }

    fn json(&self) -> Result<Vec<u8>> {
        to_json(self.findings, self.cells, self.statuses)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(to_table(
            self.findings,
            self.cells,
            self.statuses,
            self.width,
        ))
    }
}

/// A finding's status as its column writes it (empty without a catalog).
fn status_text(statuses: Option<&BTreeMap<String, Status>>, id: &str) -> Option<String> {
    statuses.map(|s| s.get(id).map_or("", |st| st.name()).to_owned())
}

/// How a row's frames are written in CSV and tables: innermost first, ` < ` meaning "called
/// from"; a race's two sites joined by ` | `.
pub fn frames_text(finding: &Finding) -> String {
    finding.signature.frames_text()
}

fn example_text(e: &Example) -> String {
    format!("{}:{}", e.log, e.line)
}

fn shared_text(finding: &Finding) -> String {
    pairs_text(&finding.shared)
}

fn pairs_text(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(c, v)| format!("{c}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(" ")
}

fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let mut w = crate::spreadsheet::Writer::new();
    w.write_record(header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    w.into_inner()
}

/// The CSV header of one row per signature (a `status` column follows with `--known`); `--diff`
/// reads files that start with its first six columns, and `legacy_ids` when they have it.
pub const CSV_HEADER: [&str; 18] = [
    "id",
    "tool",
    "kind",
    "frames",
    "reports",
    "cells",
    "versions",
    "access",
    "shared",
    "first_cell",
    "tests",
    "example",
    "family",
    "family_shared",
    "truncated",
    "quoted",
    "interleaved",
    "legacy_ids",
];

/// One row per signature.
fn to_csv(f: &Findings, statuses: Option<&BTreeMap<String, Status>>) -> Result<Vec<u8>> {
    let mut header = CSV_HEADER.to_vec();
    header.extend(statuses.map(|_| "status"));
    csv_bytes(
        &header,
        f.findings.iter().map(|x| {
            let mut row = vec![
                x.id.clone(),
                x.signature.tool.clone(),
                x.signature.kind.clone(),
                frames_text(x),
                x.reports.to_string(),
                x.cells.len().to_string(),
                x.versions.join(" "),
                x.access.clone().unwrap_or_default(),
                shared_text(x),
                x.cells.first().map(|c| c.cell.clone()).unwrap_or_default(),
                join(&x.tests),
                example_text(&x.example),
                x.family.clone(),
                pairs_text(&x.family_shared),
                x.truncated.to_string(),
                x.quoted.to_string(),
                x.interleaved.to_string(),
                join(&x.legacy),
            ];
            row.extend(status_text(statuses, &x.id));
            row
        }),
    )
}

/// One row per (signature, cell).
fn cells_csv(f: &Findings, statuses: Option<&BTreeMap<String, Status>>) -> Result<Vec<u8>> {
    let mut header = vec![
        "id", "tool", "kind", "frames", "cell", "reports", "stages", "tests", "example",
    ];
    header.extend(statuses.map(|_| "status"));
    csv_bytes(
        &header,
        f.findings.iter().flat_map(|x| {
            x.cells.iter().map(move |c| {
                let mut row = vec![
                    x.id.clone(),
                    x.signature.tool.clone(),
                    x.signature.kind.clone(),
                    frames_text(x),
                    c.cell.clone(),
                    c.reports.to_string(),
                    c.stages.join(" "),
                    join(&c.tests),
                    example_text(&c.example),
                ];
                row.extend(status_text(statuses, &x.id));
                row
            })
        }),
    )
}

/// A finding in JSON: the shared shape of [`crate::finding::Finding`] (which `--diff` reads
/// back), then what only a sanitizer finding has.
#[derive(Serialize)]
pub struct JsonFinding<'a> {
    #[serde(flatten)]
    pub finding: crate::finding::Finding,
    /// The signature's frames as the `frames` column writes them (a race: `a | b`).
    pub frames_text: String,
    pub access: Option<&'a str>,
    pub shared: std::collections::BTreeMap<&'a str, &'a str>,
    pub tests: &'a BTreeSet<String>,
    pub example: &'a Example,
    pub family: &'a str,
    pub family_shared: std::collections::BTreeMap<&'a str, &'a str>,
    pub truncated: usize,
    pub quoted: usize,
    pub interleaved: usize,
    /// The ids its reports had before the rules per class (`--diff` pairs old results by them).
    pub legacy_ids: &'a BTreeSet<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_cell: Option<&'a [CellFinding]>,
}

#[derive(Serialize)]
struct JsonFindings<'a> {
    logs: usize,
    bytes: u64,
    reports: usize,
    signatures: usize,
    findings: Vec<JsonFinding<'a>>,
}

/// The shared shape of one signature: its message is the access line when the report had one,
/// its location the first of its frames that names a file.
pub fn shared_finding(x: &Finding) -> crate::finding::Finding {
    crate::finding::Finding {
        id: x.id.clone(),
        tool: x.signature.tool.clone(),
        kind: x.signature.kind.clone(),
        message: x.access.clone().unwrap_or_else(|| x.signature.kind.clone()),
        location: x
            .frames
            .iter()
            .find(|f| !f.file.is_empty())
            .map(|f| crate::finding::Location {
                file: f.file.clone(),
                line: f.line,
            }),
        frames: x.frames.clone(),
        frames_text: matches!(x.signature.rule, Rule::Pair | Rule::Ubsan).then(|| frames_text(x)),
        cells: x.cells.iter().map(|c| c.cell.clone()).collect(),
        reports: x.reports,
        versions: x.versions.clone(),
    }
}

/// Everything, for machines; `cells` adds each signature's cells.
fn to_json(
    f: &Findings,
    cells: bool,
    statuses: Option<&BTreeMap<String, Status>>,
) -> Result<Vec<u8>> {
    let doc = JsonFindings {
        logs: f.logs,
        bytes: f.bytes,
        reports: f.reports,
        signatures: f.findings.len(),
        findings: f
            .findings
            .iter()
            .map(|x| JsonFinding {
                finding: shared_finding(x),
                frames_text: frames_text(x),
                access: x.access.as_deref(),
                shared: x
                    .shared
                    .iter()
                    .map(|(c, v)| (c.as_str(), v.as_str()))
                    .collect(),
                tests: &x.tests,
                example: &x.example,
                family: &x.family,
                family_shared: x
                    .family_shared
                    .iter()
                    .map(|(c, v)| (c.as_str(), v.as_str()))
                    .collect(),
                truncated: x.truncated,
                quoted: x.quoted,
                interleaved: x.interleaved,
                legacy_ids: &x.legacy,
                status: statuses.and_then(|s| s.get(&x.id).copied()),
                per_cell: cells.then_some(x.cells.as_slice()),
            })
            .collect(),
    };
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}

/// A table for a terminal: a summary line (with a catalog, the count of each status), then
/// one line per signature (or per cell), a status column first with a catalog.
fn to_table(
    f: &Findings,
    cells: bool,
    statuses: Option<&BTreeMap<String, Status>>,
    width: usize,
) -> Vec<u8> {
    let mut out = format!(
        "{} reports, {} distinct findings in {} logs\n",
        f.reports,
        f.findings.len(),
        f.logs
    );
    if let Some(st) = statuses {
        let count = |s: Status| st.values().filter(|&&x| x == s).count();
        out.push_str(&format!(
            "{} new, {} regressed, {} known, {} ignored\n",
            count(Status::New),
            count(Status::Regressed),
            count(Status::Known),
            count(Status::Ignored)
        ));
    }
    out.push('\n');
    let mut right = vec![false, false, false, true, true, false, false];
    let rows: Vec<Vec<String>> = f
        .findings
        .iter()
        .flat_map(|x| table_rows(x, cells))
        .map(|(id, row)| {
            let mut full: Vec<String> = status_text(statuses, &id).into_iter().collect();
            full.extend(row);
            full
        })
        .collect();
    let last = if cells { "cell" } else { "only" };
    let mut header: Vec<String> = statuses.map(|_| "status".to_owned()).into_iter().collect();
    header.extend(
        ["id", "tool", "kind", "reports", "cells", "frames", last]
            .iter()
            .map(|s| s.to_string()),
    );
    if statuses.is_some() {
        right.insert(0, false);
    }
    // The frames and what the finding's cells share follow their row when the line is too wide.
    let fold_from = header.len() - 2;
    out.push_str(&crate::table::fit(&header, &rows, &right, width, fold_from));
    out.into_bytes()
}

/// One finding's table rows (one, or one per cell), with its id.
fn table_rows(x: &Finding, cells: bool) -> Vec<(String, Vec<String>)> {
    if cells {
        return x
            .cells
            .iter()
            .map(|c| {
                let row = vec![
                    x.id.clone(),
                    x.signature.tool.clone(),
                    x.signature.kind.clone(),
                    c.reports.to_string(),
                    String::new(),
                    frames_text(x),
                    c.cell.clone(),
                ];
                (x.id.clone(), row)
            })
            .collect();
    }
    let row = vec![
        x.id.clone(),
        x.signature.tool.clone(),
        x.signature.kind.clone(),
        x.reports.to_string(),
        x.cells.len().to_string(),
        frames_text(x),
        // What its whole family shares: a renamed caller is not "only" on its version.
        pairs_text(&x.family_shared),
    ];
    vec![(x.id.clone(), row)]
}

/// Signatures × the values of one index column: how many cells with each value have it.
#[derive(Debug, Serialize)]
pub struct AxisPivot {
    pub by: String,
    pub values: Vec<String>,
    pub rows: Vec<PivotRow>,
}

#[derive(Debug, Serialize)]
pub struct PivotRow {
    pub id: String,
    pub tool: String,
    pub kind: String,
    pub frames: String,
    pub cells: Vec<usize>,
}

pub fn pivot(f: &Findings, by: &str) -> Result<AxisPivot> {
    let Some(col) = f.index_columns.iter().position(|c| c == by) else {
        if f.index_columns.is_empty() {
            bail!("a pivot by {by} needs an index: the axes come from the index");
        }
        bail!(
            "a pivot by {by}: the index has no column {by:?}; it has: {}",
            f.index_columns.join(", ")
        );
    };
    let values: Vec<String> = f
        .cell_values
        .values()
        .filter_map(|v| v.get(col).cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows = f
        .findings
        .iter()
        .map(|x| {
            let mut cells = vec![0; values.len()];
            for c in &x.cells {
                if let Some(v) = f.cell_values.get(&c.cell).and_then(|v| v.get(col)) {
                    if let Ok(i) = values.binary_search(v) {
                        cells[i] += 1;
                    }
                }
            }
            PivotRow {
                id: x.id.clone(),
                tool: x.signature.tool.clone(),
                kind: x.signature.kind.clone(),
                frames: frames_text(x),
                cells,
            }
        })
        .collect();
    Ok(AxisPivot {
        by: by.to_owned(),
        values,
        rows,
    })
}

fn pivot_rows(p: &AxisPivot) -> Vec<Vec<String>> {
    p.rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.id.clone(),
                r.tool.clone(),
                r.kind.clone(),
                r.frames.clone(),
            ];
            row.extend(r.cells.iter().map(|n| n.to_string()));
            row
        })
        .collect()
}

/// A pivot whose CSV columns would differ only by case: the pivot's axis and the two columns.
/// The caller names the axis as it was given, and how to ask for another format (the command
/// line: `--by`, `--format`).
#[derive(Debug, thiserror::Error)]
#[error("a pivot by {by}: {}; write it as JSON or a table", self.clash())]
pub struct PivotCaseClash {
    pub by: String,
    pub columns: (String, String),
}

impl PivotCaseClash {
    /// What is wrong, without the axis or what to do.
    pub fn clash(&self) -> String {
        let (a, b) = &self.columns;
        format!(
            "the CSV columns {a:?} and {b:?} differ only by case (readers that ignore case take \
             one for the other)"
        )
    }
}

fn pivot_header(p: &AxisPivot) -> Vec<String> {
    let mut header: Vec<String> = ["id", "tool", "kind", "frames"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(p.values.iter().map(|v| format!("{}={v}", p.by)));
    header
}

impl Export for AxisPivot {
    const WHAT: &'static str = "a findings pivot";
    const FORMATS: &'static [OutputFormat] = FINDINGS_FORMATS;

    fn csv(&self) -> Result<Vec<u8>> {
        let header = pivot_header(self);
        if let Some((a, b)) = crate::export::case_clash(&header) {
            return Err(PivotCaseClash {
                by: self.by.clone(),
                columns: (a.to_string(), b.to_string()),
            }
            .into());
        }
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        csv_bytes(&header, pivot_rows(self).into_iter())
    }

    fn json(&self) -> Result<Vec<u8>> {
        json_bytes(self)
    }

    fn table(&self) -> Result<Vec<u8>> {
        let header = pivot_header(self);
        let right: Vec<bool> = (0..header.len()).map(|i| i >= 4).collect();
        Ok(crate::table::with_header(&header, &pivot_rows(self), &right).into_bytes())
    }
}
