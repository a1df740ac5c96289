//! The report as text: CSV (one row per cell), JSON (cells, summary, pivot) and an aligned
//! table for a terminal.

use anyhow::Result;
use serde::Serialize;

use super::cause::CauseKind;
use super::{CellReport, Pivot, Report, SummaryRow};
use crate::export::{json_bytes, Export, OutputFormat};

/// A report as `matrix report` prints it: the cells, with the pivot when `--by` asked for one
/// (JSON and the table show it; CSV is one row per cell).
pub struct ReportView<'a> {
    pub report: &'a Report,
    pub pivot: Option<&'a Pivot>,
}

impl Export for ReportView<'_> {
    const WHAT: &'static str = "a report";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    fn csv(&self) -> Result<Vec<u8>> {
        to_csv(self.report)
    }

    fn json(&self) -> Result<Vec<u8>> {
        to_json(self.report, self.pivot)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(to_table(self.report, self.pivot))
    }
}

/// `key`, the index columns, `result`, `stage`, `outcome`, `attempts`, `log`, `evidence`, then
/// why: `cause`, `cause_evidence` (`log:line: text`), `failed_tests`, `failed_count`.
pub fn to_csv(report: &Report) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(report.cells.len() * 160));
    let mut header = vec!["key"];
    header.extend(report.index_columns.iter().map(String::as_str));
    header.extend(["result", "stage", "outcome", "attempts", "log", "evidence"]);
    header.extend(["cause", "cause_evidence", "failed_tests", "failed_count"]);
    w.write_record(&header)?;
    for cell in &report.cells {
        let mut row: Vec<String> = vec![cell.key.clone()];
        row.extend(cell.index_values.iter().cloned());
        row.push(cell.result.label());
        row.push(
            cell.stage()
                .map(|s| s.name().to_owned())
                .unwrap_or_default(),
        );
        row.push(
            cell.outcome()
                .map(|o| o.name().to_owned())
                .unwrap_or_default(),
        );
        row.push(cell.attempts.to_string());
        row.push(cell.log.clone().unwrap_or_default());
        row.push(cell.evidence_text());
        row.push(cell.cause_text().to_owned());
        row.push(cell.cause_evidence().unwrap_or_default());
        row.push(cell.why.failed_tests.join(" "));
        row.push(failed_count(cell));
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The count of failed tests, empty when regrtest listed none.
fn failed_count(cell: &CellReport) -> String {
    match cell.why.failed_tests.len() {
        0 => String::new(),
        n => n.to_string(),
    }
}

#[derive(Serialize)]
struct JsonCause<'a> {
    kind: CauseKind,
    text: &'a str,
    log: Option<&'a str>,
    line: u64,
    evidence: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    finding: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    line: u64,
    text: &'a str,
}

#[derive(Serialize)]
struct JsonCell<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    index: serde_json::Map<String, serde_json::Value>,
    result: String,
    stage: Option<&'static str>,
    outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    attempts: usize,
    log: Option<&'a str>,
    evidence: Option<JsonEvidence<'a>>,
    cause: Option<JsonCause<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    failed_tests: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_count: Option<usize>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    logs: usize,
    bytes: u64,
    cells: Vec<JsonCell<'a>>,
    summary: Vec<SummaryRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pivot: Option<&'a Pivot>,
}

fn json_cell<'a>(report: &'a Report, cell: &'a CellReport) -> JsonCell<'a> {
    JsonCell {
        key: &cell.key,
        index: report
            .index_columns
            .iter()
            .zip(&cell.index_values)
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
        result: cell.result.label(),
        stage: cell.stage().map(|s| s.name()),
        outcome: cell.outcome().map(|o| o.name()),
        reason: match &cell.result {
            super::CellResult::Unknown(reason) => Some(reason),
            super::CellResult::Missing => Some("no log for this cell"),
            _ => None,
        },
        attempts: cell.attempts,
        log: cell.log.as_deref(),
        evidence: cell.evidence.as_ref().map(|e| JsonEvidence {
            line: e.line,
            text: &e.text,
        }),
        cause: cell.why.cause.as_ref().map(|c| JsonCause {
            kind: c.kind,
            text: &c.text,
            log: cell.log.as_deref(),
            line: c.evidence.line,
            evidence: &c.evidence.text,
            finding: c.finding.as_deref(),
        }),
        failed_tests: &cell.why.failed_tests,
        failed_count: (!cell.why.failed_tests.is_empty()).then_some(cell.why.failed_tests.len()),
    }
}

fn to_json(report: &Report, pivot: Option<&Pivot>) -> Result<Vec<u8>> {
    let doc = JsonReport {
        logs: report.logs,
        bytes: report.bytes,
        cells: report.cells.iter().map(|c| json_cell(report, c)).collect(),
        summary: report.summary(),
        pivot,
    };
    json_bytes(&doc)
}

/// Cuts `text` to `width` characters, marking the cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Left-aligned columns separated by two spaces; numbers right-aligned.
fn table(header: &[String], rows: &[Vec<String>], numeric: &[bool]) -> String {
    crate::table::with_header(header, rows, numeric)
}

pub fn summary_table(summary: &[SummaryRow]) -> String {
    let total: usize = summary.iter().map(|r| r.count).sum();
    let mut rows: Vec<Vec<String>> = summary
        .iter()
        .map(|r| {
            vec![
                r.result.clone(),
                r.count.to_string(),
                format!("{:.1}%", r.percent),
            ]
        })
        .collect();
    rows.push(vec!["Total".into(), total.to_string(), "100.0%".into()]);
    table(
        &["result".into(), "cells".into(), "share".into()],
        &rows,
        &[false, true, true],
    )
}

pub fn pivot_table(pivot: &Pivot) -> String {
    let mut header = pivot.by.clone();
    header.extend(pivot.results.iter().cloned());
    header.push("total".into());
    let rows: Vec<Vec<String>> = pivot
        .rows
        .iter()
        .map(|r| {
            let mut row = r.values.clone();
            row.extend(
                r.counts
                    .iter()
                    .map(|c| if *c == 0 { "·".into() } else { c.to_string() }),
            );
            row.push(r.total.to_string());
            row
        })
        .collect();
    let mut numeric = vec![false; pivot.by.len()];
    numeric.resize(pivot.by.len() + pivot.results.len() + 1, true);
    table(&header, &rows, &numeric)
}

/// The table a person reads on a terminal: cells, then the summary and the pivot.
fn to_table(report: &Report, pivot: Option<&Pivot>) -> Vec<u8> {
    let header: Vec<String> = ["key", "result", "attempts", "cause or evidence"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows: Vec<Vec<String>> = report
        .cells
        .iter()
        .map(|c| {
            let evidence = c.evidence_text();
            vec![
                c.key.clone(),
                c.result.label(),
                c.attempts.to_string(),
                clip(
                    match &c.why.cause {
                        Some(cause) => &cause.text,
                        None => &evidence,
                    },
                    90,
                ),
            ]
        })
        .collect();
    let mut out = table(&header, &rows, &[false, false, true, false]);
    out.push('\n');
    out.push_str(&summary_table(&report.summary()));
    if let Some(p) = pivot {
        out.push('\n');
        out.push_str(&pivot_table(p));
    }
    out.into_bytes()
}
