//! Failed cells grouped: by cause (`report --reasons`, each cell in exactly one reason) and by
//! failing test (`report --tests`, test × cells), with the axis values each group shares.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::Serialize;

use super::{CellReport, CellResult, Outcome, Report};
use crate::export::{Export, OutputFormat};
use crate::logs::cause::CauseKind;

/// One reason: the cells whose cause it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub reason: String,
    /// What the cause came from; `None` for cells with a result but no cause found.
    pub kind: Option<CauseKind>,
    /// The finding signature id of a sanitizer or fatal-error report (`matrix findings`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    pub cells: usize,
    /// Results and their counts, in result order.
    pub results: Vec<(String, usize)>,
    /// Index columns all its cells share, where the run has more than one value.
    pub shared: Vec<(String, String)>,
    pub example: String,
    /// The example's cause line: `log:line`.
    pub at: String,
    /// The command that runs the example cell again.
    pub repro: String,
}

/// One failing test: the cells where regrtest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestRow {
    pub test: String,
    /// Cells where it failed: still failing after regrtest's re-run, then those where it
    /// passed on the re-run (flaky).
    pub cells: Vec<String>,
    /// Of `cells`, those where it passed on regrtest's re-run.
    pub flaky: Vec<String>,
    /// Cells that ran it (a progress line names it, or it failed there).
    pub ran: usize,
    pub shared: Vec<(String, String)>,
}

impl TestRow {
    /// `3 of 11 (1 flaky)`: cells where it failed of the cells that ran it.
    pub fn failed_in(&self) -> String {
        match self.flaky.len() {
            0 => format!("{} of {}", self.cells.len(), self.ran),
            n => format!("{} of {} ({n} flaky)", self.cells.len(), self.ran),
        }
    }
}

/// Cells that ran and did not pass (Unknown and Missing have no result to explain).
fn failed(report: &Report) -> impl Iterator<Item = &CellReport> {
    report.cells.iter().filter(
        |c| matches!(c.result, CellResult::Result(_, outcome) if outcome != Outcome::Passed),
    )
}

/// Index columns whose value every one of `cells` shares, among columns with more than one
/// value in the run (a column every cell shares says nothing about this group).
fn shared(report: &Report, cells: &[&CellReport]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if cells.len() < 2 {
        return out;
    }
    for (i, column) in report.index_columns.iter().enumerate() {
        // Names, scripts, images and a person's label are not axes: they explain nothing.
        if !super::insights::is_axis_name(column) {
            continue;
        }
        let value = |c: &CellReport| c.index_values.get(i).cloned().unwrap_or_default();
        let first = value(cells[0]);
        if first.is_empty() || cells.iter().any(|c| value(c) != first) {
            continue;
        }
        if report.cells.iter().all(|c| value(c) == first) {
            continue;
        }
        out.push((column.clone(), first));
    }
    out
}

/// What a reason is told apart by: its text, the kind of line, the finding id.
type GroupKey = (String, Option<CauseKind>, Option<String>);

/// Failed cells by cause, most cells first. A cell whose cause is its failing tests goes to
/// the test that fails in the most of the still-uncovered cells (so each failed cell is in
/// exactly one reason and few tests cover them all); `--tests` lists every test.
pub fn reasons(report: &Report) -> Vec<Reason> {
    let mut groups: BTreeMap<GroupKey, Vec<&CellReport>> = BTreeMap::new();
    let mut by_tests: Vec<&CellReport> = Vec::new();
    for cell in failed(report) {
        match &cell.more.why.cause {
            Some(cause) if cause.kind == CauseKind::Tests => by_tests.push(cell),
            Some(cause) => groups
                .entry((cause.reason(), Some(cause.kind), cause.finding.clone()))
                .or_default()
                .push(cell),
            None => groups
                .entry((
                    format!("no cause found ({})", cell.result.label()),
                    None,
                    None,
                ))
                .or_default()
                .push(cell),
        }
    }
    // Greedy cover of the test-failure cells by their tests, ties by name.
    while !by_tests.is_empty() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for cell in &by_tests {
            for test in &cell.more.why.failed_tests {
                *counts.entry(test.as_str()).or_default() += 1;
            }
        }
        let Some((test, _)) = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(t, n)| (t.to_string(), *n))
        else {
            break;
        };
        let (mine, rest): (Vec<&CellReport>, Vec<&CellReport>) = by_tests
            .into_iter()
            .partition(|c| c.more.why.failed_tests.contains(&test));
        by_tests = rest;
        groups
            .entry((format!("{test} failed"), Some(CauseKind::Tests), None))
            .or_default()
            .extend(mine);
    }
    let mut out: Vec<Reason> = groups
        .into_iter()
        .map(|((reason, kind, finding), cells)| {
            let mut results: BTreeMap<(usize, usize), (String, usize)> = BTreeMap::new();
            for c in &cells {
                results
                    .entry(c.result.rank())
                    .or_insert_with(|| (c.result.label(), 0))
                    .1 += 1;
            }
            let example = cells[0];
            Reason {
                reason,
                kind,
                finding,
                cells: cells.len(),
                results: results.into_values().collect(),
                shared: shared(report, &cells),
                example: example.key.clone(),
                repro: repro_command(&example.key),
                at: match &example.more.why.cause {
                    Some(c) => format!(
                        "{}:{}",
                        example.log.as_deref().unwrap_or(""),
                        c.evidence.line
                    ),
                    None => format!(
                        "{}:{}",
                        example.log.as_deref().unwrap_or(""),
                        example.evidence.as_ref().map_or(0, |e| e.line)
                    ),
                },
            }
        })
        .collect();
    out.sort_by(|a, b| b.cells.cmp(&a.cells).then_with(|| a.reason.cmp(&b.reason)));
    out
}

/// `matrix repro CELL`: the one command that runs a cell again (its id quoted for a shell when
/// it needs to be).
pub fn repro_command(cell: &str) -> String {
    format!(
        "matrix repro {}",
        shlex::try_quote(cell).unwrap_or_else(|_| cell.into())
    )
}

/// Every test regrtest lists as failed (or as passing only on its re-run), with the cells it
/// failed in and how many cells ran it, most cells first.
pub fn tests(report: &Report) -> Vec<TestRow> {
    let mut by_test: BTreeMap<&str, (BTreeSet<usize>, BTreeSet<usize>)> = BTreeMap::new();
    for (i, cell) in report.cells.iter().enumerate() {
        for test in &cell.more.why.failed_tests {
            by_test.entry(test).or_default().0.insert(i);
        }
        for test in &cell.more.why.flaky_tests {
            by_test.entry(test).or_default().1.insert(i);
        }
    }
    let ran = |test: &str, cell: &CellReport| {
        let named = |list: &[String]| list.iter().any(|t| t == test);
        cell.more
            .why
            .ran_tests
            .binary_search_by(|t| t.as_str().cmp(test))
            .is_ok()
            || named(&cell.more.why.failed_tests)
            || named(&cell.more.why.flaky_tests)
    };
    let mut out: Vec<TestRow> = by_test
        .into_iter()
        .map(|(test, (failed, flaky))| {
            let at: Vec<usize> = failed.iter().chain(flaky.iter()).copied().collect();
            let cells: Vec<&CellReport> = at.iter().map(|&i| &report.cells[i]).collect();
            TestRow {
                test: test.to_owned(),
                shared: shared(report, &cells),
                cells: cells.iter().map(|c| c.key.clone()).collect(),
                flaky: flaky.iter().map(|&i| report.cells[i].key.clone()).collect(),
                ran: report.cells.iter().filter(|c| ran(test, c)).count(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.cells
            .len()
            .cmp(&a.cells.len())
            .then_with(|| a.test.cmp(&b.test))
    });
    out
}

/// Cuts `text` to `width` characters for a terminal, marking the cut (CSV and JSON keep all).
fn clip(text: &str, width: usize) -> String {
    match text.char_indices().nth(width.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > width => format!("{}…", &text[..cut]),
        _ => text.to_owned(),
    }
}

pub fn pairs(values: &[(String, String)]) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn results_text(results: &[(String, usize)]) -> String {
    results
        .iter()
        .map(|(r, n)| format!("{r} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `report --reasons` in each format.
/// The reasons, and the terminal's width for the table (`usize::MAX` when not a terminal).
pub struct ReasonsView<'a>(pub &'a [Reason], pub usize);

impl Export for ReasonsView<'_> {
    const WHAT: &'static str = "the reasons";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    fn csv(&self) -> Result<Vec<u8>> {
        reasons_csv(self.0)
    }

    fn json(&self) -> Result<Vec<u8>> {
        reasons_json(self.0)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(reasons_table(self.0, self.1))
    }
}

/// `report --tests` in each format.
pub struct TestsView<'a>(pub &'a [TestRow], pub usize);

impl Export for TestsView<'_> {
    const WHAT: &'static str = "the failing tests";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    fn csv(&self) -> Result<Vec<u8>> {
        tests_csv(self.0)
    }

    fn json(&self) -> Result<Vec<u8>> {
        tests_json(self.0)
    }

    fn table(&self) -> Result<Vec<u8>> {
        Ok(tests_table(self.0, self.1))
    }
}

pub const REASONS_HEADER: [&str; 9] = [
    "reason", "kind", "finding", "cells", "results", "shared", "example", "at", "repro",
];

pub fn reasons_csv(reasons: &[Reason]) -> Result<Vec<u8>> {
    let mut w = crate::spreadsheet::Writer::new();
    w.write_record(REASONS_HEADER)?;
    for r in reasons {
        let kind = r
            .kind
            .map(|k| serde_json::to_value(k).unwrap_or_default())
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        w.write_record([
            r.reason.as_str(),
            &kind,
            r.finding.as_deref().unwrap_or(""),
            &r.cells.to_string(),
            &results_text(&r.results),
            &pairs(&r.shared),
            &r.example,
            &r.at,
            &r.repro,
        ])?;
    }
    w.into_inner()
}

pub fn reasons_json(reasons: &[Reason]) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(reasons)?;
    out.push(b'\n');
    Ok(out)
}

/// The reasons as a table that fits `width` columns: the shared values, the example cell and
/// its log:line are left out in that order (they are in CSV and JSON), and a reason too long
/// for the room left wraps onto lines of its own (indented), never cut: two reasons are never
/// printed alike.
pub fn reasons_table(reasons: &[Reason], width: usize) -> Vec<u8> {
    let mut header: Vec<String> = ["reason", "cells", "results", "shared", "example", "at"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut rows: Vec<Vec<String>> = reasons
        .iter()
        .map(|r| {
            vec![
                r.reason.clone(),
                r.cells.to_string(),
                results_text(&r.results),
                clip(&pairs(&r.shared), 60),
                r.example.clone(),
                r.at.clone(),
            ]
        })
        .collect();
    let mut right = vec![false, true, false, false, false, false];
    let widest = |rows: &[Vec<String>], header: &[String], c: usize| {
        (rows.iter().map(|r| r[c].chars().count()))
            .chain([header[c].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let line = |rows: &[Vec<String>], header: &[String]| -> usize {
        (0..header.len())
            .map(|c| widest(rows, header, c))
            .sum::<usize>()
            + 2 * (header.len() - 1)
    };
    // Drop the shared values, the example cell, then its log:line while the line is too wide
    // (the last only while the reason would get fewer than 40 characters).
    for column in ["shared", "example", "at"] {
        let reason_room = |rows: &[Vec<String>], header: &[String]| {
            width.saturating_sub(line(rows, header) - widest(rows, header, 0))
        };
        let fits = line(&rows, &header) <= width;
        if fits || (column == "at" && reason_room(&rows, &header) >= 40) {
            break;
        }
        let c = header
            .iter()
            .position(|h| h == column)
            .expect("a known column");
        header.remove(c);
        right.remove(c);
        for row in &mut rows {
            row.remove(c);
        }
    }
    let others = line(&rows, &header) - widest(&rows, &header, 0);
    if others + widest(&rows, &header, 0) > width {
        let room = width.saturating_sub(others).max(20);
        rows = wrap_column(rows, 0, room);
    }
    let mut out = crate::table::with_header(&header, &rows, &right);
    let total: usize = reasons.iter().map(|r| r.cells).sum();
    out.push_str(&format!(
        "{} reasons, {total} failed cells\n",
        reasons.len()
    ));
    if let Some(first) = reasons.first() {
        out.push_str(&format!(
            "reproduce the first example (CSV, JSON: `repro`):\n  {}\n",
            first.repro
        ));
    }
    out.into_bytes()
}

/// Each row whose column `column` is wider than `room` as several: the first with the other
/// columns, then the rest of the text indented by two, the other columns empty.
fn wrap_column(rows: Vec<Vec<String>>, column: usize, room: usize) -> Vec<Vec<String>> {
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        if row[column].chars().count() <= room {
            out.push(row);
            continue;
        }
        let visible = crate::table::visible(&row[column]).into_owned();
        let mut lines = crate::table::wrap_words(&visible, room.saturating_sub(2)).into_iter();
        row[column] = lines.next().unwrap_or_default();
        let blank = vec![String::new(); row.len()];
        out.push(row);
        for line in lines {
            let mut continued = blank.clone();
            continued[column] = format!("  {line}");
            out.push(continued);
        }
    }
    out
}

pub fn tests_csv(rows: &[TestRow]) -> Result<Vec<u8>> {
    let mut w = crate::spreadsheet::Writer::new();
    w.write_record([
        "test",
        "cells",
        "ran",
        "flaky",
        "shared",
        "cell_keys",
        "flaky_keys",
    ])?;
    for r in rows {
        w.write_record([
            r.test.as_str(),
            &r.cells.len().to_string(),
            &r.ran.to_string(),
            &r.flaky.len().to_string(),
            &pairs(&r.shared),
            &r.cells.join(" "),
            &r.flaky.join(" "),
        ])?;
    }
    w.into_inner()
}

pub fn tests_json(rows: &[TestRow]) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(rows)?;
    out.push(b'\n');
    Ok(out)
}

/// The failing tests as a table that fits `width` columns: when it would not, the values a
/// test's cells share and its first cells follow its row on lines of their own.
pub fn tests_table(rows: &[TestRow], width: usize) -> Vec<u8> {
    let header: Vec<String> = ["test", "failed in", "shared", "first cells"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut first: Vec<String> = r.cells.iter().take(3).cloned().collect();
            if r.cells.len() > 3 {
                first.push("…".into());
            }
            vec![
                r.test.clone(),
                r.failed_in(),
                pairs(&r.shared),
                first.join(" "),
            ]
        })
        .collect();
    let right = [false, true, false, false];
    crate::table::fit(&header, &body, &right, width, 2).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::{Evidence, Stage};
    use super::*;
    use crate::logs::cause::{Cause, Why};

    fn cell(
        key: &str,
        compiler: &str,
        cause: Option<(&str, CauseKind)>,
        tests: &[&str],
    ) -> CellReport {
        CellReport {
            key: key.into(),
            index_values: vec![compiler.into(), "x".into()].into(),
            result: CellResult::Result(Stage::Tests, Outcome::Failed),
            attempts: 1,
            log: Some(format!("{key}.log").into()),
            evidence: None,
            more: crate::logs::Sparse::new(crate::report::More {
                why: Why {
                    cause: cause.map(|(text, kind)| Cause {
                        kind,
                        text: text.into(),
                        evidence: Evidence {
                            line: 9,
                            text: "raw".into(),
                        },
                        finding: None,
                        report_words: None,
                    }),
                    failed_tests: tests.iter().map(|t| t.to_string()).collect(),
                    ..Why::default()
                }
                .into(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn each_failed_cell_in_one_reason() {
        let t = Some(("tests failed", CauseKind::Tests));
        let mut passed = cell("p", "gcc", None, &[]);
        passed.result = CellResult::Result(Stage::Tests, Outcome::Passed);
        let report = Report {
            index_columns: vec!["compiler".into(), "os".into()],
            cells: vec![
                cell("a", "clang", t, &["test_a", "test_b"]),
                cell("b", "clang", t, &["test_b"]),
                cell("c", "gcc", t, &["test_c"]),
                cell(
                    "d",
                    "gcc",
                    Some(("Segmentation fault in configure", CauseKind::Signal)),
                    &[],
                ),
                cell("e", "gcc", None, &[]),
                passed,
            ],
            logs: 6,
            bytes: 0,
        };
        let r = reasons(&report);
        let names: Vec<&str> = r.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            names,
            [
                "test_b failed",
                "Segmentation fault in configure",
                "no cause found (Tests. Failed)",
                "test_c failed"
            ]
        );
        assert_eq!(r.iter().map(|r| r.cells).sum::<usize>(), 5);
        // Shared: compiler differs across the run; os does not, so it says nothing.
        assert_eq!(r[0].shared, [("compiler".to_string(), "clang".to_string())]);
        assert_eq!(r[0].at, "a.log:9");
        // A narrow terminal keeps reason, cells and results; a wide one shows every column.
        let long = Reason {
            reason: "x".repeat(90),
            ..r[0].clone()
        };
        let narrow = String::from_utf8(reasons_table(std::slice::from_ref(&long), 40)).unwrap();
        assert!(narrow.starts_with("reason "), "{narrow}");
        assert!(
            !narrow.contains("shared") && !narrow.contains("a.log:9"),
            "{narrow}"
        );
        assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");
        let wide = String::from_utf8(reasons_table(&[long], usize::MAX)).unwrap();
        assert!(
            wide.contains("compiler=clang") && wide.contains("a.log:9"),
            "{wide}"
        );
        let t = tests(&report);
        assert_eq!(t[0].test, "test_b");
        assert_eq!(t[0].cells, ["a", "b"]);
        assert_eq!(t.len(), 3);
    }
}
