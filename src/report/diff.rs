//! Comparing two runs: each cell's old and new result (by key), classified as a regression,
//! a fix, another change, or a cell of only one run.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::{CellReport, CellResult, Outcome, Report, Stage};

/// One side's view of a cell: its result label, how far it got, and its index values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub result: String,
    /// How far the cell got (Configure 0, Compilation 1, Tests 2, Tests. Passed 3); none for
    /// Unknown and Missing.
    pub level: Option<u8>,
    pub index: BTreeMap<String, String>,
}

/// How a cell changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Was passing or got further; now stops earlier.
    Regression,
    /// Gets further than before, or passes now.
    Fix,
    /// Another result at the same level, or to or from Unknown or Missing.
    Changed,
    OnlyOld,
    OnlyNew,
    Unchanged,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Regression => "regression",
            Change::Fix => "fix",
            Change::Changed => "changed",
            Change::OnlyOld => "only-old",
            Change::OnlyNew => "only-new",
            Change::Unchanged => "unchanged",
        }
    }
}

/// One cell's row of the comparison.
#[derive(Debug, Clone)]
pub struct Row {
    pub key: String,
    pub old: Option<Side>,
    pub new: Option<Side>,
    pub change: Change,
}

fn level(stage: Stage, outcome: Outcome) -> u8 {
    match (stage, outcome) {
        (Stage::Tests, Outcome::Passed) => 3,
        (stage, _) => stage as u8,
    }
}

/// A result label's level (`Tests. Passed` → 3), read back from a results file.
fn level_of_label(label: &str) -> Option<u8> {
    let (stage, outcome) = label.split_once(". ")?;
    let stage = Stage::ALL.into_iter().find(|s| s.name() == stage)?;
    let outcome = Outcome::ALL.into_iter().find(|o| o.name() == outcome)?;
    Some(level(stage, outcome))
}

/// The cells of a report built from logs, by key.
pub fn sides_of_report(report: &Report) -> BTreeMap<String, Side> {
    report
        .cells
        .iter()
        .map(|c: &CellReport| {
            let level = match c.result {
                CellResult::Result(stage, outcome) => Some(level(stage, outcome)),
                _ => None,
            };
            let index = report
                .index_columns
                .iter()
                .cloned()
                .zip(c.index_values.iter().cloned())
                .collect();
            (
                c.key.clone(),
                Side {
                    result: c.result.label(),
                    level,
                    index,
                },
            )
        })
        .collect()
}

#[derive(Deserialize)]
struct JsonCell {
    key: String,
    #[serde(default)]
    index: BTreeMap<String, String>,
    result: String,
}

#[derive(Deserialize)]
struct JsonReport {
    cells: Vec<JsonCell>,
}

/// The cells of a results file written earlier by `matrix report --format csv` or `json`.
pub fn sides_of_file(path: &Path) -> Result<BTreeMap<String, Side>> {
    let bytes = crate::input::read_bytes(path, "results file", crate::input::limit::TABLE)?;
    let mut out = BTreeMap::new();
    let what = path.display();
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        let doc: JsonReport = serde_json::from_slice(&bytes).with_context(|| {
            format!("{what}: not the JSON of `matrix report --format json` (an object with cells)")
        })?;
        for cell in doc.cells {
            let side = Side {
                level: level_of_label(&cell.result),
                result: cell.result,
                index: cell.index,
            };
            out.insert(cell.key, side);
        }
        return Ok(out);
    }
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("{what}: cannot read the CSV header"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let (Some(key), Some(result)) = (
        header.iter().position(|h| h == "key"),
        header.iter().position(|h| h == "result"),
    ) else {
        bail!(
            "{what}: not a results CSV of `matrix report` (needs the columns key and result; \
             it has: {})",
            header.join(", ")
        );
    };
    for record in reader.records() {
        let record = record.with_context(|| format!("{what}: bad CSV record"))?;
        let line = record.position().map_or(0, |p| p.line());
        let label = record.get(result).unwrap_or("").to_owned();
        let index = (key + 1..result)
            .map(|c| (header[c].clone(), record.get(c).unwrap_or("").to_owned()))
            .collect();
        let k = record.get(key).unwrap_or("").to_owned();
        if k.is_empty() {
            bail!("{what}, line {line}: the key is empty");
        }
        if out.contains_key(&k) {
            bail!("{what}, line {line}: cell {k:?} is listed twice");
        }
        out.insert(
            k,
            Side {
                level: level_of_label(&label),
                result: label,
                index,
            },
        );
    }
    Ok(out)
}

/// Every key of either run, in key order, with its change.
pub fn compare(old: &BTreeMap<String, Side>, new: &BTreeMap<String, Side>) -> Vec<Row> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let (o, n) = (old.get(key), new.get(key));
            let change = match (o, n) {
                (Some(_), None) => Change::OnlyOld,
                (None, Some(_)) => Change::OnlyNew,
                (Some(o), Some(n)) if o.result == n.result => Change::Unchanged,
                (Some(o), Some(n)) => match (o.level, n.level) {
                    (Some(a), Some(b)) if b < a => Change::Regression,
                    (Some(a), Some(b)) if b > a => Change::Fix,
                    _ => Change::Changed,
                },
                (None, None) => unreachable!("a key of one run"),
            };
            Row {
                key: key.clone(),
                old: o.cloned(),
                new: n.cloned(),
                change,
            }
        })
        .collect()
}

/// Counts per change, in [`Change`] order.
pub fn summary(rows: &[Row]) -> BTreeMap<Change, usize> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(r.change).or_default() += 1;
    }
    out
}

/// The one-line summary: `2 regressions, 1 fix, 0 other changes, 1 only in the old run, …`.
pub fn summary_line(rows: &[Row]) -> String {
    let s = summary(rows);
    let n = |c| s.get(&c).copied().unwrap_or(0);
    format!(
        "{} regression(s), {} fix(es), {} other change(s), {} cell(s) only in the old run, \
         {} only in the new, {} unchanged",
        n(Change::Regression),
        n(Change::Fix),
        n(Change::Changed),
        n(Change::OnlyOld),
        n(Change::OnlyNew),
        n(Change::Unchanged)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(result: &str) -> Side {
        Side {
            result: result.into(),
            level: level_of_label(result),
            index: BTreeMap::new(),
        }
    }

    #[test]
    fn changes_are_named_by_how_far_the_cell_got() {
        let old: BTreeMap<String, Side> = [
            ("a", "Tests. Passed"),
            ("b", "Configure. Failed"),
            ("c", "Tests. Failed"),
            ("d", "Compilation. Failed"),
            ("e", "Tests. Failed"),
            ("f", "Unknown"),
        ]
        .into_iter()
        .map(|(k, r)| (k.to_owned(), side(r)))
        .collect();
        let new: BTreeMap<String, Side> = [
            ("a", "Tests. Failed"),
            ("b", "Tests. Failed"),
            ("c", "Tests. Segmentation fault"),
            ("d", "Compilation. Failed"),
            ("f", "Tests. Passed"),
            ("g", "Tests. Passed"),
        ]
        .into_iter()
        .map(|(k, r)| (k.to_owned(), side(r)))
        .collect();
        let rows = compare(&old, &new);
        let got: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.key.as_str(), r.change.name()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "regression"),
                ("b", "fix"),
                ("c", "changed"),
                ("d", "unchanged"),
                ("e", "only-old"),
                ("f", "changed"),
                ("g", "only-new"),
            ]
        );
        assert!(summary_line(&rows).starts_with("1 regression(s), 1 fix(es), 2 other change(s)"));
    }

    #[test]
    fn what_the_regressions_share() {
        let mk = |compiler: &str, opt: &str, result: &str| {
            let mut s = side(result);
            s.index.insert("compiler".into(), compiler.into());
            s.index.insert("opt".into(), opt.into());
            s
        };
        let old: BTreeMap<String, Side> = [
            ("a", mk("clang-19", "debug", "Tests. Passed")),
            ("b", mk("clang-19", "release", "Tests. Passed")),
            ("c", mk("clang-19", "release", "Tests. Passed")),
            ("d", mk("gcc", "release", "Tests. Passed")),
        ]
        .into_iter()
        .map(|(k, s)| (k.to_owned(), s))
        .collect();
        let mut new = old.clone();
        new.insert("a".into(), mk("clang-19", "debug", "Configure. Failed"));
        new.insert("b".into(), mk("clang-19", "release", "Configure. Failed"));
        let rows = compare(&old, &new);
        let axes = ["compiler".to_string(), "opt".to_string()];
        let found = shared(&rows, &axes, 2);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "all 2 regressions have compiler=clang-19 (2 of the 3 cells with it)"
        );
    }

    #[test]
    fn a_results_csv_is_read_back_and_a_wrong_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        std::fs::write(
            &p,
            "key,compiler,result,stage\nc1,gcc,Tests. Failed,Tests\n",
        )
        .unwrap();
        let sides = sides_of_file(&p).unwrap();
        assert_eq!(sides["c1"].level, Some(2));
        assert_eq!(sides["c1"].index["compiler"], "gcc");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        let err = sides_of_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("r.csv") && err.contains("key and result"),
            "{err}"
        );
    }
}

/// What the cells of one kind of change have in common: the `axis=value` terms every one of
/// them shares (`all 12 regressions have compiler=clang-19`), and how many of all the cells
/// with those terms changed that way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shared {
    pub change: Change,
    pub cells: usize,
    pub terms: Vec<super::insights::Term>,
    /// Cells of either run with all the terms.
    pub of: usize,
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| format!("{}={}", t.axis, t.value))
            .collect();
        write!(
            f,
            "all {} {} have {} ({} of the {} cells with it)",
            self.cells,
            match self.change {
                Change::Regression => "regressions",
                Change::Fix => "fixes",
                _ => "other changes",
            },
            terms.join(" ∧ "),
            self.cells,
            self.of
        )
    }
}

/// For regressions, fixes and other changes (each of at least `min_cells` cells): the axis
/// values all of them share. `axes` are the index columns to look at.
pub fn shared(rows: &[Row], axes: &[String], min_cells: usize) -> Vec<Shared> {
    let side = |r: &Row| r.new.clone().or_else(|| r.old.clone());
    // A column with one value in both runs says nothing about any change.
    let axes: Vec<&String> = axes
        .iter()
        .filter(|axis| {
            let mut values = rows
                .iter()
                .filter_map(side)
                .map(|s| s.index.get(*axis).cloned());
            let first = values.next();
            values.any(|v| Some(v) != first)
        })
        .collect();
    let mut out = Vec::new();
    for change in [Change::Regression, Change::Fix, Change::Changed] {
        let these: Vec<Side> = rows
            .iter()
            .filter(|r| r.change == change)
            .filter_map(side)
            .collect();
        if these.len() < min_cells.max(1) {
            continue;
        }
        let terms: Vec<super::insights::Term> =
            axes.iter()
                .filter_map(|&axis| {
                    let first = these[0].index.get(axis)?;
                    (!first.is_empty() && these.iter().all(|s| s.index.get(axis) == Some(first)))
                        .then(|| super::insights::Term {
                            axis: axis.clone(),
                            value: first.clone(),
                        })
                })
                .collect();
        if terms.is_empty() {
            continue;
        }
        let of = rows
            .iter()
            .filter_map(side)
            .filter(|s| terms.iter().all(|t| s.index.get(&t.axis) == Some(&t.value)))
            .count();
        out.push(Shared {
            change,
            cells: these.len(),
            terms,
            of,
        });
    }
    out
}
