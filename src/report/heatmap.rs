//! The results heat map of the report page: cells counted per row and column of index axes
//! (`--by ROWS…,COLUMN`), each square showing the share of every result it holds in the chart's
//! colours (a square coloured by its most common result alone hid the other 75 % of it).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::Serialize;

use super::{chart, CellResult, Report};

/// Rows are the combinations of all `--by` axes but the last; columns the last axis's values.
/// With one axis, each row is one value and there is one column of all its cells.
#[derive(Debug, Clone, Serialize)]
pub struct HeatMap {
    pub rows_by: Vec<String>,
    /// The axis across the top; `None` with a single `--by` axis.
    pub column_by: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<HeatRow>,
    /// The results that are some square's dominant one, in result order, with their colours.
    pub legend: Vec<Swatch>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeatRow {
    pub values: Vec<String>,
    /// One per column; `None` where no cell has this row's and column's values.
    pub squares: Vec<Option<Square>>,
}

/// One square: how many cells, which result most of them have, and the whole mix.
#[derive(Debug, Clone, Serialize)]
pub struct Square {
    pub cells: usize,
    pub result: String,
    /// How many of the cells have the dominant result.
    pub dominant: usize,
    pub colour: String,
    pub dark_text: bool,
    /// `3 Tests. Failed, 1 Configure. Failed`, most first.
    pub mix: String,
    /// Each result's share of the square, most first: a bar of these widths and colours.
    pub segments: Vec<Segment>,
}

/// One result's part of a square.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub result: String,
    pub cells: usize,
    /// Its share of the square's cells in percent, to one decimal (`37.5`).
    pub percent: String,
    pub colour: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Swatch {
    pub result: String,
    pub colour: String,
    pub dark_text: bool,
}

/// Unknown results count as one result whatever their reasons.
fn grouped(result: &CellResult) -> CellResult {
    match result {
        CellResult::Unknown(_) => CellResult::Unknown(String::new()),
        other => other.clone(),
    }
}

/// The heat map of `report` by the index columns `by` (one or more).
pub fn build(report: &Report, by: &[String]) -> Result<HeatMap> {
    let Some((last, rows_by)) = by.split_last() else {
        bail!("a heat map needs at least one axis to group by");
    };
    let column = |name: &String| -> Result<usize> {
        match report.index_columns.iter().position(|c| c == name) {
            Some(i) => Ok(i),
            None => bail!(
                "a heat map by {name}: the index has no column {name:?}; it has: {}",
                report.index_columns.join(", ")
            ),
        }
    };
    let (row_cols, col_col) = if rows_by.is_empty() {
        (vec![column(last)?], None)
    } else {
        (
            rows_by.iter().map(column).collect::<Result<Vec<_>>>()?,
            Some(column(last)?),
        )
    };
    let value =
        |cell: &super::CellReport, c: usize| cell.index_values.get(c).cloned().unwrap_or_default();
    let mut counts: BTreeMap<(Vec<String>, String), BTreeMap<CellResult, usize>> = BTreeMap::new();
    let mut columns: BTreeSet<String> = BTreeSet::new();
    for cell in &report.cells {
        let row: Vec<String> = row_cols.iter().map(|&c| value(cell, c)).collect();
        let col = col_col.map(|c| value(cell, c)).unwrap_or_default();
        columns.insert(col.clone());
        *counts
            .entry((row, col))
            .or_default()
            .entry(grouped(&cell.result))
            .or_default() += 1;
    }
    let columns: Vec<String> = columns.into_iter().collect();
    let mut rows: Vec<HeatRow> = Vec::new();
    for ((row, col), mix) in &counts {
        if rows.last().is_none_or(|r| &r.values != row) {
            rows.push(HeatRow {
                values: row.clone(),
                squares: vec![None; columns.len()],
            });
        }
        let mut ordered: Vec<(&CellResult, usize)> = mix.iter().map(|(r, n)| (r, *n)).collect();
        // Most cells first; a tie goes to the result that stops earlier (it is the one to fix).
        ordered.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.rank().cmp(&b.0.rank())));
        let (top, dominant) = ordered[0];
        let at = columns.binary_search(col).expect("column listed");
        rows.last_mut().expect("row pushed").squares[at] = Some(Square {
            cells: mix.values().sum(),
            result: top.label(),
            dominant,
            colour: chart::css_colour(top),
            dark_text: chart::dark_text_on(top),
            mix: ordered
                .iter()
                .map(|(r, n)| format!("{n} {}", r.label()))
                .collect::<Vec<_>>()
                .join(", "),
            segments: segments(&ordered),
        });
    }
    // Every result some square holds is in a bar, so in the legend.
    let shown: BTreeSet<String> = (counts.values())
        .flat_map(|mix| mix.keys().map(CellResult::label))
        .collect();
    let legend = legend(report)
        .into_iter()
        .filter(|s| shown.contains(&s.result))
        .collect();
    Ok(HeatMap {
        rows_by: if rows_by.is_empty() {
            vec![last.clone()]
        } else {
            rows_by.to_vec()
        },
        column_by: col_col.map(|_| last.clone()),
        columns: if col_col.is_some() {
            columns
        } else {
            vec!["cells".into()]
        },
        rows,
        legend,
    })
}

/// A square's results as the parts of its bar, in the order given (most cells first).
fn segments(ordered: &[(&CellResult, usize)]) -> Vec<Segment> {
    let total: usize = ordered.iter().map(|(_, n)| n).sum();
    ordered
        .iter()
        .map(|&(result, cells)| Segment {
            result: result.label(),
            cells,
            percent: format!("{:.1}", cells as f64 * 100.0 / total.max(1) as f64),
            colour: chart::css_colour(result),
        })
        .collect()
}

/// Every result of the report with its colour, in result order.
pub fn legend(report: &Report) -> Vec<Swatch> {
    let results: BTreeSet<((usize, usize), CellResult)> = report
        .cells
        .iter()
        .map(|c| (c.result.rank(), grouped(&c.result)))
        .collect();
    results
        .into_iter()
        .map(|(_, r)| Swatch {
            result: r.label(),
            colour: chart::css_colour(&r),
            dark_text: chart::dark_text_on(&r),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CellReport, Outcome, Stage};

    fn cell(values: [&str; 2], result: CellResult) -> CellReport {
        CellReport {
            key: format!("{}-{}", values[0], values[1]),
            index_values: values.iter().map(|v| v.to_string()).collect(),
            result,
            attempts: 1,
            log: None,
            evidence: None,
            more: Default::default(),
        }
    }

    fn report() -> Report {
        let failed = CellResult::Result(Stage::Tests, Outcome::Failed);
        let configure = CellResult::Result(Stage::Configure, Outcome::Failed);
        Report {
            index_columns: vec!["compiler".into(), "sanitizer".into()],
            cells: vec![
                cell(["gcc", "asan"], failed.clone()),
                cell(["gcc", "asan"], configure.clone()),
                cell(["gcc", "asan"], configure.clone()),
                cell(["clang", "tsan"], failed.clone()),
                cell(["clang", "asan"], CellResult::Unknown("a".into())),
                cell(["clang", "asan"], CellResult::Unknown("b".into())),
            ],
            logs: 6,
            bytes: 0,
        }
    }

    #[test]
    fn squares_count_cells_and_show_each_results_share() {
        let map = build(&report(), &["compiler".into(), "sanitizer".into()]).unwrap();
        assert_eq!(map.columns, ["asan", "tsan"]);
        assert_eq!(map.column_by.as_deref(), Some("sanitizer"));
        let values: Vec<&[String]> = map.rows.iter().map(|r| r.values.as_slice()).collect();
        assert_eq!(values, [["clang"], ["gcc"]]);
        let gcc_asan = map.rows[1].squares[0].as_ref().unwrap();
        assert_eq!((gcc_asan.cells, gcc_asan.dominant), (3, 2));
        assert_eq!(gcc_asan.result, "Configure. Failed");
        assert_eq!(gcc_asan.mix, "2 Configure. Failed, 1 Tests. Failed");
        // The bar: every result's share, most first, in its colour.
        let bar: Vec<(&str, usize, &str)> = (gcc_asan.segments.iter())
            .map(|s| (s.result.as_str(), s.cells, s.percent.as_str()))
            .collect();
        assert_eq!(
            bar,
            [
                ("Configure. Failed", 2, "66.7"),
                ("Tests. Failed", 1, "33.3")
            ]
        );
        assert_eq!(
            gcc_asan.segments[1].colour,
            chart::css_colour(&CellResult::Result(Stage::Tests, Outcome::Failed))
        );
        assert_eq!(
            gcc_asan.colour,
            chart::css_colour(&CellResult::Result(Stage::Configure, Outcome::Failed))
        );
        // Unknown reasons are one result; an empty combination is no square.
        let clang_asan = map.rows[0].squares[0].as_ref().unwrap();
        assert_eq!(
            (clang_asan.cells, clang_asan.result.as_str()),
            (2, "Unknown")
        );
        assert!(map.rows[1].squares[1].is_none());
        let legend: Vec<&str> = map.legend.iter().map(|s| s.result.as_str()).collect();
        assert_eq!(legend, ["Configure. Failed", "Tests. Failed", "Unknown"]);
    }

    #[test]
    fn one_axis_is_one_column_and_unknown_axes_are_refused() {
        let map = build(&report(), &["sanitizer".into()]).unwrap();
        assert_eq!(map.columns, ["cells"]);
        assert_eq!(map.rows.len(), 2);
        assert_eq!(map.rows[0].squares[0].as_ref().unwrap().cells, 5);
        let err = build(&report(), &["os".into()]).unwrap_err().to_string();
        assert!(
            err.contains("\"os\"") && err.contains("compiler, sanitizer"),
            "{err}"
        );
    }
}
