//! The report as text: CSV (one row per cell), JSON (cells, summary, pivot) and an aligned
//! table for a terminal.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::diff;
use super::flaky::Flaky;
use super::insights::{Insight, Property, Term};
use super::{Blind, CanaryRun, CellReport, Pivot, Report, SummaryRow};
use crate::export::{json_bytes, Export, OutputFormat};
use crate::logs::cause::CauseKind;

/// A report as `matrix report` prints it: the cells, with the pivot when `--by` asked for one
/// (JSON and the table show it; CSV, one row per cell, refuses it); the table fits `width`.
pub struct ReportView<'a> {
    pub report: &'a Report,
    pub pivot: Option<&'a Pivot>,
    pub width: usize,
}

impl Export for ReportView<'_> {
    const WHAT: &'static str = "a report";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    fn csv(&self) -> Result<Vec<u8>> {
        if self.pivot.is_some() {
            anyhow::bail!(
                "a pivot in CSV: the CSV has one row per cell and no room for a pivot; \
                 write JSON or a table, or the page"
            );
        }
        to_csv(self.report)
    }

    fn json(&self) -> Result<Vec<u8>> {
        to_json(self.report, self.pivot)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(to_table(self.report, self.pivot, self.width))
    }
}

/// A report whose CSV columns would differ only by case (an index column named like one of the
/// report's). The caller says how to ask for another format (the command line: `--format`).
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: rename one of the index's columns, or write JSON",
    self.clash()
)]
pub struct CsvCaseClash {
    pub columns: (String, String),
}

impl CsvCaseClash {
    /// What is wrong, without what to do.
    pub fn clash(&self) -> String {
        let (a, b) = &self.columns;
        format!(
            "the index has the columns {a:?} and {b:?}, whose names differ only by case \
             (readers of the CSV that ignore case take one for the other)"
        )
    }
}

/// The facts of a cell, after what it came to: how long it took (in all and per stage, in
/// seconds), regrtest's totals, and the compiler and source it was built with (named apart
/// from the axes a definition has: `compiler`).
const FACT_COLUMNS: [&str; 7] = [
    "seconds",
    "stage_seconds",
    "tests_run",
    "tests_failed",
    "tests_skipped",
    "compiler_version",
    "source_id",
];

fn fact_columns(cell: &CellReport) -> [String; 7] {
    let facts = &cell.more.facts;
    let totals = cell.more.why.totals;
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    [
        count(facts.total_seconds()),
        (facts.seconds.iter())
            .map(|(stage, n)| format!("{stage}={n}"))
            .collect::<Vec<_>>()
            .join(" "),
        count(totals.map(|t| t.run)),
        count(totals.map(|t| t.failed)),
        count(totals.map(|t| t.skipped)),
        facts.values.get("compiler").cloned().unwrap_or_default(),
        facts.values.get("source").cloned().unwrap_or_default(),
    ]
}

/// The columns after the index's: what the cell came to, why, and what its sanitizer could see.
const RESULT_COLUMNS: [&str; 13] = [
    "result",
    "stage",
    "outcome",
    "attempts",
    "flaky",
    "log",
    "evidence",
    "cause",
    "cause_evidence",
    "failed_tests",
    "failed_count",
    "canaries",
    "blind",
];

/// Whether an index column would clash with (or differ only by case from) a column of the
/// report's own: such a column is shown under another name ([`super::index_column_name`]).
pub fn is_own_column(name: &str) -> bool {
    std::iter::once("key")
        .chain(RESULT_COLUMNS)
        .chain(FACT_COLUMNS)
        .any(|own| own.eq_ignore_ascii_case(name))
}

/// `key`, the index columns, `result`, `stage`, `outcome`, `attempts`, `flaky`, `log`,
/// `evidence`, then why: `cause`, `cause_evidence` (`log:line: text`), `failed_tests`,
/// `failed_count`; then what the sanitizer could see: `canaries` (`name:seen|missed|error`),
/// `blind` (`yes|no|unknown`); then the cell's facts ([`FACT_COLUMNS`]).
pub fn to_csv(report: &Report) -> Result<Vec<u8>> {
    write_csv(report, Vec::new())
}

/// [`to_csv`] into `out`, a row at a time: a report of a million cells is written without
/// its text in memory (`matrix report`'s stdout spool). Gives `out` back.
pub fn write_csv<W: std::io::Write>(report: &Report, out: W) -> Result<W> {
    let mut rows = CsvRows::new(out, &report.index_columns)?;
    for cell in &report.cells {
        rows.row(cell)?;
    }
    rows.finish()
}

/// The CSV of [`to_csv`] a row at a time, for rows that are not all in one report (a run's
/// results.csv: most of a large run's rows are cells without a log yet).
pub struct CsvRows<W: std::io::Write> {
    w: crate::spreadsheet::Writer<W>,
}

impl<W: std::io::Write> CsvRows<W> {
    /// Writes the header, the index's columns named as a report names them.
    pub fn new(out: W, index_columns: &[String]) -> Result<Self> {
        let mut w = crate::spreadsheet::Writer::from_writer(out);
        let mut header = vec!["key"];
        header.extend(index_columns.iter().map(String::as_str));
        header.extend(RESULT_COLUMNS);
        header.extend(FACT_COLUMNS);
        if let Some((a, b)) = crate::export::case_clash(&header) {
            return Err(CsvCaseClash {
                columns: (a.to_string(), b.to_string()),
            }
            .into());
        }
        w.write_record(&header)?;
        Ok(CsvRows { w })
    }

    pub fn row(&mut self, cell: &CellReport) -> Result<()> {
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
        row.push(
            cell.more
                .flaky
                .as_ref()
                .map(Flaky::text)
                .unwrap_or_default(),
        );
        row.push(cell.log.as_deref().unwrap_or_default().to_owned());
        row.push(cell.evidence_text());
        row.push(cell.cause_text().to_owned());
        row.push(cell.cause_evidence().unwrap_or_default());
        row.push(cell.more.why.failed_tests.join(" "));
        row.push(failed_count(cell));
        row.push(cell.canaries_text());
        row.push(cell.blind().map_or("", Blind::name).to_owned());
        row.extend(fact_columns(cell));
        self.w.write_record(&row)?;
        Ok(())
    }

    pub fn finish(self) -> Result<W> {
        self.w.into_inner()
    }
}

/// The count of failed tests, empty when regrtest listed none.
fn failed_count(cell: &CellReport) -> String {
    match cell.more.why.failed_tests.len() {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    flaky: Option<&'a Flaky>,
    log: Option<&'a str>,
    evidence: Option<JsonEvidence<'a>>,
    cause: Option<JsonCause<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    failed_tests: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_count: Option<usize>,
    #[serde(skip_serializing_if = "<[CanaryRun]>::is_empty")]
    canaries: &'a [CanaryRun],
    #[serde(skip_serializing_if = "Option::is_none")]
    blind: Option<Blind>,
    facts: JsonFacts<'a>,
}

/// A cell's facts in JSON: stage durations in seconds, regrtest's totals, compiler, source.
#[derive(Serialize)]
struct JsonFacts<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<u64>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    stage_seconds: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tests: Option<crate::logs::cause::TestTotals>,
    #[serde(flatten)]
    values: &'a BTreeMap<String, String>,
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
        flaky: cell.more.flaky.as_ref(),
        log: cell.log.as_deref(),
        evidence: cell.evidence.as_ref().map(|e| JsonEvidence {
            line: e.line,
            text: &e.text,
        }),
        cause: cell.more.why.cause.as_ref().map(|c| JsonCause {
            kind: c.kind,
            text: &c.text,
            log: cell.log.as_deref(),
            line: c.evidence.line,
            evidence: &c.evidence.text,
            finding: c.finding.as_deref(),
        }),
        failed_tests: &cell.more.why.failed_tests,
        failed_count: (!cell.more.why.failed_tests.is_empty())
            .then_some(cell.more.why.failed_tests.len()),
        canaries: &cell.more.canaries,
        blind: cell.blind(),
        facts: JsonFacts {
            seconds: cell.more.facts.total_seconds(),
            stage_seconds: (cell.more.facts.seconds.iter())
                .map(|(stage, n)| (stage.clone(), serde_json::Value::from(*n)))
                .collect(),
            tests: cell.more.why.totals,
            values: &cell.more.facts.values,
        },
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

/// The pivot as a terminal shows it: one row per combination and a column per result when
/// that fits `width`, else turned: a row per combination and result it has, then its total.
pub fn pivot_table(pivot: &Pivot, width: usize) -> String {
    let wide = wide_pivot_table(pivot);
    if wide.lines().all(|line| line.chars().count() <= width) {
        return wide;
    }
    let mut header = pivot.by.clone();
    header.extend(["result".into(), "cells".into()]);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for row in &pivot.rows {
        let counted = (pivot.results.iter().zip(&row.counts)).filter(|(_, &n)| n > 0);
        for (n, (result, count)) in counted.enumerate() {
            // The combination is named on its first line only: the eye groups the rest.
            let mut line = if n == 0 {
                row.values.clone()
            } else {
                vec![String::new(); row.values.len()]
            };
            line.extend([result.clone(), count.to_string()]);
            rows.push(line);
        }
        let mut total = vec![String::new(); row.values.len()];
        total.extend(["total".into(), row.total.to_string()]);
        rows.push(total);
    }
    let mut numeric = vec![false; pivot.by.len() + 1];
    numeric.push(true);
    table(&header, &rows, &numeric)
}

fn wide_pivot_table(pivot: &Pivot) -> String {
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

/// The table a person reads on a terminal: cells (key, the axis values with an index,
/// result, attempts, evidence), then the summary and the pivot. The evidence is cut (with an
/// ellipsis) so that each line fits `width` characters; axis columns that would leave it less
/// than [`MIN_EVIDENCE`] are left out, and where key and result alone leave less (a run's
/// cell ids are 40 to 60 characters), the evidence goes under each row, wrapped, up to
/// [`EVIDENCE_LINES`] lines.
/// The evidence is why a person reads the table: an axis column is dropped before the evidence
/// shrinks below this many characters (at 80 columns, a 12-character cut showed nothing).
const MIN_EVIDENCE: usize = 40;

/// The most lines the evidence takes under a row; the CSV has it whole.
const EVIDENCE_LINES: usize = 3;

fn to_table(report: &Report, pivot: Option<&Pivot>, width: usize) -> Vec<u8> {
    let refs: Vec<&CellReport> = report.cells.iter().collect();
    let differing = super::insights::axis_columns(&report.index_columns, &refs);
    let mut axes = differing.clone();
    let widest = |column: &dyn Fn(&CellReport) -> String, name: &str| {
        report
            .cells
            .iter()
            .map(|c| column(c).chars().count())
            .chain([name.chars().count()])
            .max()
            .unwrap_or(0)
            + 2
    };
    // Key and result always, attempts where a cell had more than one; then the axes that fit
    // (left to right) with enough evidence left to read; the CSV has them all.
    let attempts = report.cells.iter().any(|c| c.attempts > 1);
    let mut fixed = widest(&|c| c.key.clone(), "key")
        + widest(&|c| c.shown_result(), "result")
        + if attempts {
            widest(&|c| c.attempts.to_string(), "attempts")
        } else {
            0
        };
    axes.retain(|&a| {
        let w = widest(&|c| c.index_values[a].clone(), &report.index_columns[a]);
        let fits = fixed + w + MIN_EVIDENCE <= width;
        if fits {
            fixed += w;
        }
        fits
    });
    let room = width.saturating_sub(fixed);
    let under = room < MIN_EVIDENCE;
    let mut header: Vec<String> = vec!["key".into()];
    header.extend(axes.iter().map(|&a| report.index_columns[a].clone()));
    header.push("result".into());
    header.extend(attempts.then(|| "attempts".to_string()));
    header.extend((!under).then(|| "cause or evidence".to_string()));
    let rows: Vec<Vec<String>> = report
        .cells
        .iter()
        .map(|c| {
            let mut row = vec![c.key.clone()];
            row.extend(axes.iter().map(|&a| c.index_values[a].clone()));
            row.push(c.shown_result());
            row.extend(attempts.then(|| c.attempts.to_string()));
            row.extend((!under).then(|| clip(&why_text(c), room)));
            row
        })
        .collect();
    let mut numeric = vec![false; header.len()];
    if attempts {
        numeric[2 + axes.len()] = true;
    }
    // A cell id names its values already (`amd64-f40-py3.12.4-gcc-…`); a legacy script name
    // (`build_001.sh`) names none, so its axis values that found no column go under its row.
    let legacy = report.cells.iter().any(|c| c.key.ends_with(".sh"));
    let left_out: Vec<usize> = (differing.into_iter())
        .filter(|a| legacy && !axes.contains(a))
        .collect();
    let below = Below {
        report,
        left_out: &left_out,
        evidence: under,
        width,
    };
    let mut out = below.lines_under(&table(&header, &rows, &numeric));
    out.push('\n');
    out.push_str(&summary_table(&report.summary()));
    let flaky = report
        .cells
        .iter()
        .filter(|c| c.more.flaky.is_some())
        .count();
    if flaky > 0 {
        out.push_str(&format!(
            "flaky: {flaky} cell(s), not plain passes (the `flaky` column says why)\n"
        ));
    }
    if let Some(p) = pivot {
        out.push('\n');
        out.push_str(&pivot_table(p, width));
    }
    out.into_bytes()
}

/// What a table says of why a cell ended as it did: the cause, else the evidence.
fn why_text(cell: &CellReport) -> String {
    match cell.cause_text() {
        "" => cell.evidence_text(),
        cause => cause.to_owned(),
    }
}

/// What goes under each cell's row of a narrow table, indented and wrapped to `width`: its
/// values of the axes that differ across the run but found no room as columns
/// (`Compiler=gcc SanLinksMethod=shared`), so a narrow terminal still says which cell is
/// which; and its cause or evidence when the row left it no room.
struct Below<'a> {
    report: &'a Report,
    left_out: &'a [usize],
    evidence: bool,
    width: usize,
}

impl Below<'_> {
    fn lines_under(&self, table: &str) -> String {
        if self.left_out.is_empty() && !self.evidence {
            return table.to_string();
        }
        let wrap = |text: &str| {
            let text = crate::table::visible(text).into_owned();
            crate::table::wrap_words(&text, self.width.saturating_sub(2).max(20))
        };
        crate::table::with_lines_below(table, |row| {
            let cell = &self.report.cells[row];
            let pairs: Vec<String> = (self.left_out.iter())
                .map(|&a| format!("{}={}", self.report.index_columns[a], cell.index_values[a]))
                .collect();
            let mut lines = if pairs.is_empty() {
                Vec::new()
            } else {
                wrap(&pairs.join(" "))
            };
            if self.evidence {
                let mut why = wrap(&why_text(cell));
                if why.len() > EVIDENCE_LINES {
                    why.truncate(EVIDENCE_LINES);
                    why[EVIDENCE_LINES - 1].push_str(" …");
                }
                lines.extend(why);
            }
            lines.into_iter().map(|part| format!("  {part}")).collect()
        })
    }
}

/// The insights as `matrix report --insights` prints them; the text lines fit `width`.
pub struct InsightsView<'a> {
    pub insights: &'a [Insight],
    pub width: usize,
}

impl Export for InsightsView<'_> {
    const WHAT: &'static str = "the insights";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    fn csv(&self) -> Result<Vec<u8>> {
        insights_csv(self.insights)
    }

    fn json(&self) -> Result<Vec<u8>> {
        insights_json(self.insights)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(insights_text(self.insights, self.width))
    }
}

/// Insights as CSV: `condition,property,cells,results` (the condition's terms joined by ` ∧ `,
/// empty for every cell; `results` as `28 Configure. Failed, 2 Tests. Failed`).
fn insights_csv(insights: &[Insight]) -> Result<Vec<u8>> {
    let mut w = crate::spreadsheet::Writer::new();
    w.write_record(["condition", "property", "cells", "results"])?;
    for i in insights {
        w.write_record([
            i.condition(),
            i.property.text(),
            i.cells.to_string(),
            i.results_text(),
        ])?;
    }
    w.into_inner()
}

#[derive(Serialize)]
struct JsonResultCount<'a> {
    result: &'a str,
    cells: usize,
}

#[derive(Serialize)]
struct JsonInsight<'a> {
    condition: String,
    terms: &'a [Term],
    property: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finding: Option<&'a str>,
    cells: usize,
    reached: usize,
    results: Vec<JsonResultCount<'a>>,
    text: String,
}

/// Insights as a JSON array, one object per insight.
fn insights_json(insights: &[Insight]) -> Result<Vec<u8>> {
    let doc: Vec<JsonInsight> = insights
        .iter()
        .map(|i| JsonInsight {
            condition: i.condition(),
            terms: &i.terms,
            property: i.property.name(),
            result: match &i.property {
                Property::AllSameResult(r) => Some(r),
                _ => None,
            },
            finding: match &i.property {
                Property::Finding(id) => Some(id),
                _ => None,
            },
            cells: i.cells,
            reached: i.reached,
            results: i
                .results
                .iter()
                .map(|(r, n)| JsonResultCount {
                    result: r,
                    cells: *n,
                })
                .collect(),
            text: i.to_string(),
        })
        .collect();
    json_bytes(&doc)
}

/// Insights for a terminal: one line each, cut to `width` characters.
fn insights_text(insights: &[Insight], width: usize) -> Vec<u8> {
    let mut out = String::new();
    if insights.is_empty() {
        out.push_str("no insights: no condition's cells share a property\n");
    }
    for i in insights {
        out.push_str(&clip(&i.to_string(), width));
        out.push('\n');
    }
    out.into_bytes()
}

/// The comparison of two runs as `matrix report diff` prints it.
pub struct DiffView<'a> {
    pub rows: &'a [&'a diff::Row],
    pub summary: &'a diff::Summary,
    pub shared: &'a [diff::Shared],
    pub width: usize,
}

impl Export for DiffView<'_> {
    const WHAT: &'static str = "a comparison";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    fn csv(&self) -> Result<Vec<u8>> {
        diff_csv(self.rows)
    }

    fn json(&self) -> Result<Vec<u8>> {
        diff_json(self.rows, self.summary, self.shared)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(diff_table(self.rows, self.summary, self.shared, self.width))
    }
}

/// The comparison as CSV: `key,old,new,change` (a cell of one run has the other side empty;
/// the key is the new run's).
fn diff_csv(rows: &[&diff::Row]) -> Result<Vec<u8>> {
    let mut w = crate::spreadsheet::Writer::new();
    w.write_record(["key", "old", "new", "change"])?;
    for r in rows {
        let result =
            |s: &Option<diff::Side>| s.as_ref().map(|s| s.result.clone()).unwrap_or_default();
        w.write_record([
            r.key.clone(),
            result(&r.old),
            result(&r.new),
            r.change.name().into(),
        ])?;
    }
    w.into_inner()
}

#[derive(Serialize)]
struct JsonDiffRow<'a> {
    key: &'a str,
    /// The old run's key, when it differs (a legacy index matched by axis values).
    #[serde(skip_serializing_if = "Option::is_none")]
    old_key: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    index: &'a BTreeMap<String, String>,
    old: Option<&'a str>,
    new: Option<&'a str>,
    change: diff::Change,
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    summary: &'a diff::Summary,
    shared: &'a [diff::Shared],
    cells: Vec<JsonDiffRow<'a>>,
}

/// The comparison as JSON: the count per change, what each kind of change shares, the cells.
fn diff_json(
    rows: &[&diff::Row],
    summary: &diff::Summary,
    shared: &[diff::Shared],
) -> Result<Vec<u8>> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    let doc = JsonDiff {
        summary,
        shared,
        cells: rows
            .iter()
            .map(|r| JsonDiffRow {
                key: &r.key,
                old_key: r
                    .old
                    .as_ref()
                    .map(|s| s.key.as_str())
                    .filter(|k| *k != r.key),
                index: r
                    .new
                    .as_ref()
                    .or(r.old.as_ref())
                    .map_or(&EMPTY, |s| &s.index),
                old: r.old.as_ref().map(|s| s.result.as_str()),
                new: r.new.as_ref().map(|s| s.result.as_str()),
                change: r.change,
            })
            .collect(),
    };
    json_bytes(&doc)
}

/// The comparison for a terminal: the summary, what the changes share, then one line per cell
/// (keyed `old key → new key` when a legacy index's cells were matched by axis values).
fn diff_table(
    rows: &[&diff::Row],
    summary: &diff::Summary,
    shared: &[diff::Shared],
    width: usize,
) -> Vec<u8> {
    let mut out = format!("{summary}\n");
    for s in shared {
        out.push_str(&clip(&s.to_string(), width));
        out.push('\n');
    }
    if !rows.is_empty() {
        out.push('\n');
        let result = |s: &Option<diff::Side>| s.as_ref().map_or("-".into(), |s| s.result.clone());
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let key = if summary.matched_by.is_empty() {
                    r.key.clone()
                } else {
                    let key =
                        |s: &Option<diff::Side>| s.as_ref().map_or("-".into(), |s| s.key.clone());
                    format!("{} → {}", key(&r.old), key(&r.new))
                };
                vec![key, result(&r.old), result(&r.new), r.change.name().into()]
            })
            .collect();
        out.push_str(&table(
            &["key", "old", "new", "change"].map(String::from),
            &body,
            &[false; 4],
        ));
    }
    out.into_bytes()
}

/// What the changed cells share, as `matrix report diff OLD NEW --insights` prints it.
pub struct DiffInsightsView<'a> {
    pub shared: &'a [diff::Shared],
    pub width: usize,
}

impl Export for DiffInsightsView<'_> {
    const WHAT: &'static str = "what the changed cells share";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    /// `change,condition,cells,of`: the kind of change, the terms all its cells share, how
    /// many cells changed so, and how many cells of either run meet the condition.
    fn csv(&self) -> Result<Vec<u8>> {
        let mut w = crate::spreadsheet::Writer::new();
        w.write_record(["change", "condition", "cells", "of"])?;
        for s in self.shared {
            w.write_record([
                s.change.name().to_owned(),
                s.condition(),
                s.cells.to_string(),
                s.of.to_string(),
            ])?;
        }
        w.into_inner()
    }

    fn json(&self) -> Result<Vec<u8>> {
        json_bytes(&self.shared)
    }

    fn table(&self) -> Result<Vec<u8>> {
        let mut out = String::new();
        if self.shared.is_empty() {
            out.push_str("no insights: no kind of change has an axis value all its cells share\n");
        }
        for s in self.shared {
            out.push_str(&clip(&s.to_string(), self.width));
            out.push('\n');
        }
        Ok(out.into_bytes())
    }
}
