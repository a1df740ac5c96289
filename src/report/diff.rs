//! Comparing two runs: each cell's old and new result (matched by id, or by axis values for a
//! legacy index), classified as a regression, a fix, another change, or a cell of one run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::insights::{is_axis_name, Term};
use super::{CellReport, CellResult, Outcome, Report, Stage};

/// One side's view of a cell: its key in that run, its result label, how far it got, and its
/// index values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub key: String,
    pub result: String,
    /// How far the cell got (Setup 0, Configure 1, Compilation 2, Tests 3, Tests. Passed 4);
    /// none for Unknown and Missing.
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
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The new run's key of the cell (the old run's for a cell only it has).
    pub key: String,
    pub old: Option<Side>,
    pub new: Option<Side>,
    pub change: Change,
}

fn level(stage: Stage, outcome: Outcome) -> u8 {
    match (stage, outcome) {
        (Stage::Tests, Outcome::Passed) => Stage::ALL.len() as u8,
        (stage, _) => stage as u8,
    }
}

/// A result label's level (`Tests. Passed` → 4, `Setup. Failed` → 0), read back from a results file.
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
                    key: c.key.clone(),
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
                key: cell.key.clone(),
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
        .map(|name| crate::spreadsheet::original(name).to_owned())
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
        let record = crate::spreadsheet::record(&record);
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
            k.clone(),
            Side {
                key: k,
                level: level_of_label(&label),
                result: label,
                index,
            },
        );
    }
    Ok(out)
}

/// The columns the cells of two runs are matched by: none (match by key) when the keys are
/// cell ids; for a legacy index, whose keys are script names (`build_004.sh`) numbered anew in
/// every run, the axis columns both runs have (not names, scripts, images or results).
pub fn match_columns(old: &BTreeMap<String, Side>, new: &BTreeMap<String, Side>) -> Vec<String> {
    let sides = || old.values().chain(new.values());
    if !sides().all(|s| s.key.ends_with(".sh")) {
        return Vec::new();
    }
    let Some(first) = sides().next() else {
        return Vec::new();
    };
    first
        .index
        .keys()
        .filter(|c| is_axis_name(c))
        .filter(|c| sides().all(|s| s.index.contains_key(*c)))
        .cloned()
        .collect()
}

/// Each side of one run by what it is matched on: its key, or its values of `columns`. Two
/// cells with the same values cannot be told apart: an error naming them.
fn by_match(
    sides: &BTreeMap<String, Side>,
    columns: &[String],
    run: &str,
) -> Result<BTreeMap<Vec<String>, Side>> {
    let mut out: BTreeMap<Vec<String>, Side> = BTreeMap::new();
    for side in sides.values() {
        let values: Vec<String> = columns.iter().map(|c| side.index[c].clone()).collect();
        // A cell the index does not list (all values empty) can only be matched by key.
        let at = if values.iter().all(String::is_empty) {
            vec![String::new(), side.key.clone()]
        } else {
            values
        };
        if let Some(other) = out.get(&at) {
            let values: Vec<String> = columns
                .iter()
                .zip(&at)
                .map(|(c, v)| format!("{c}={v}"))
                .collect();
            bail!(
                "the {run} run has two cells with the same axis values ({} and {}: {}); a \
                 legacy index numbers its scripts anew in every run, so cells are matched by \
                 their values of {}, which must tell every cell apart",
                other.key,
                side.key,
                values.join(", "),
                columns.join(", ")
            );
        }
        out.insert(at, side.clone());
    }
    Ok(out)
}

/// Every cell of either run, matched by key or by `columns` (see [`match_columns`]), with its
/// change, in [`Change`] order, then by key.
pub fn compare(
    old: &BTreeMap<String, Side>,
    new: &BTreeMap<String, Side>,
    columns: &[String],
) -> Result<Vec<Row>> {
    let old = by_match(old, columns, "old")?;
    let new = by_match(new, columns, "new")?;
    let at: BTreeSet<&Vec<String>> = old.keys().chain(new.keys()).collect();
    let mut rows: Vec<Row> = at
        .into_iter()
        .map(|at| {
            let (o, n) = (old.get(at), new.get(at));
            let change = match (o, n) {
                (Some(_), None) => Change::OnlyOld,
                (None, Some(_)) => Change::OnlyNew,
                (Some(o), Some(n)) if o.result == n.result => Change::Unchanged,
                (Some(o), Some(n)) => match (o.level, n.level) {
                    (Some(a), Some(b)) if b < a => Change::Regression,
                    (Some(a), Some(b)) if b > a => Change::Fix,
                    _ => Change::Changed,
                },
                (None, None) => unreachable!("a cell of one run"),
            };
            Row {
                key: n.or(o).map(|s| s.key.clone()).expect("a cell of one run"),
                old: o.cloned(),
                new: n.cloned(),
                change,
            }
        })
        .collect();
    // The worst first: regressions, fixes, other changes, cells of one run, unchanged.
    rows.sort_by(|a, b| a.change.cmp(&b.change).then_with(|| a.key.cmp(&b.key)));
    Ok(rows)
}

/// Two runs compared, as `report diff` prints it and a page would show it: every cell's
/// row (unchanged ones too), the counts, and what each kind of change shares.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub summary: Summary,
    pub shared: Vec<Shared>,
    pub rows: Vec<Row>,
}

impl Comparison {
    /// Matches the cells (see [`match_columns`]), classifies each change and finds what the
    /// regressions, fixes and other changes of at least `min_cells` cells share among the
    /// axis columns of either run.
    pub fn of(
        old: &BTreeMap<String, Side>,
        new: &BTreeMap<String, Side>,
        min_cells: usize,
    ) -> Result<Comparison> {
        let matched_by = match_columns(old, new);
        let rows = compare(old, new, &matched_by)?;
        let mut axes: Vec<String> = Vec::new();
        for side in old.values().chain(new.values()) {
            for column in side.index.keys() {
                if is_axis_name(column) && !axes.contains(column) {
                    axes.push(column.clone());
                }
            }
        }
        Ok(Comparison {
            summary: Summary::of(&rows, &matched_by),
            shared: shared(&rows, &axes, min_cells),
            rows,
        })
    }
}

/// The comparison in numbers: cells per change, and what cells were matched by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    pub regression: usize,
    pub fix: usize,
    pub changed: usize,
    pub only_old: usize,
    pub only_new: usize,
    pub unchanged: usize,
    /// The axis columns cells were matched by (a legacy index); empty when by key.
    pub matched_by: Vec<String>,
}

impl Summary {
    pub fn of(rows: &[Row], matched_by: &[String]) -> Summary {
        let mut s = Summary {
            matched_by: matched_by.to_vec(),
            ..Summary::default()
        };
        for r in rows {
            *match r.change {
                Change::Regression => &mut s.regression,
                Change::Fix => &mut s.fix,
                Change::Changed => &mut s.changed,
                Change::OnlyOld => &mut s.only_old,
                Change::OnlyNew => &mut s.only_new,
                Change::Unchanged => &mut s.unchanged,
            } += 1;
        }
        s
    }
}

impl std::fmt::Display for Summary {
    /// `2 regression(s), 1 fix(es), 0 other change(s), 1 cell(s) only in the old run, …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} regression(s), {} fix(es), {} other change(s), {} cell(s) only in the old run, \
             {} only in the new, {} unchanged",
            self.regression, self.fix, self.changed, self.only_old, self.only_new, self.unchanged
        )?;
        if !self.matched_by.is_empty() {
            write!(
                f,
                " (legacy index: cells matched by {})",
                self.matched_by.join(", ")
            )?;
        }
        Ok(())
    }
}

/// What the cells of one kind of change have in common: the `axis=value` terms every one of
/// them shares (`all 12 regressions have compiler=clang-19`), and how many of all the cells
/// with those terms changed that way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shared {
    pub change: Change,
    pub cells: usize,
    pub terms: Vec<Term>,
    /// Cells of either run with all the terms.
    pub of: usize,
}

impl Shared {
    /// The terms as `axis=value` joined by ` ∧ `.
    pub fn condition(&self) -> String {
        self.terms
            .iter()
            .map(|t| format!("{}={}", t.axis, t.value))
            .collect::<Vec<_>>()
            .join(" ∧ ")
    }
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "all {} {} have {} ({} of the {} cells with it)",
            self.cells,
            match self.change {
                Change::Regression => "regressions",
                Change::Fix => "fixes",
                _ => "other changes",
            },
            self.condition(),
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
        let terms: Vec<Term> =
            axes.iter()
                .filter_map(|&axis| {
                    let first = these[0].index.get(axis)?;
                    (!first.is_empty() && these.iter().all(|s| s.index.get(axis) == Some(first)))
                        .then(|| Term {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn side(result: &str) -> Side {
        Side {
            key: String::new(),
            result: result.into(),
            level: level_of_label(result),
            index: BTreeMap::new(),
        }
    }

    fn keyed(key: &str, mut side: Side) -> Side {
        side.key = key.to_owned();
        side
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
        .map(|(k, r)| (k.to_owned(), keyed(k, side(r))))
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
        .map(|(k, r)| (k.to_owned(), keyed(k, side(r))))
        .collect();
        let rows = compare(&old, &new, &match_columns(&old, &new)).unwrap();
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
                ("f", "changed"),
                ("e", "only-old"),
                ("g", "only-new"),
                ("d", "unchanged"),
            ]
        );
        assert!(Summary::of(&rows, &[])
            .to_string()
            .starts_with("1 regression(s), 1 fix(es), 2 other change(s)"));
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
        .map(|(k, s)| (k.to_owned(), keyed(k, s)))
        .collect();
        let mut new = old.clone();
        new.insert(
            "a".into(),
            keyed("a", mk("clang-19", "debug", "Configure. Failed")),
        );
        new.insert(
            "b".into(),
            keyed("b", mk("clang-19", "release", "Configure. Failed")),
        );
        let rows = compare(&old, &new, &[]).unwrap();
        let axes = ["compiler".to_string(), "opt".to_string()];
        let found = shared(&rows, &axes, 2);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "all 2 regressions have compiler=clang-19 (2 of the 3 cells with it)"
        );
    }

    #[test]
    fn legacy_scripts_are_matched_by_their_axis_values() {
        let mk = |key: &str, compiler: &str, result: &str| {
            let mut s = keyed(key, side(result));
            s.index.insert("compiler".into(), compiler.into());
            s.index.insert("label".into(), "a person's".into());
            (key.to_owned(), s)
        };
        let old: BTreeMap<String, Side> = [
            mk("build_001.sh", "gcc", "Tests. Passed"),
            mk("build_002.sh", "clang", "Tests. Passed"),
        ]
        .into();
        // The new run numbered its scripts the other way round.
        let new: BTreeMap<String, Side> = [
            mk("build_001.sh", "clang", "Configure. Failed"),
            mk("build_002.sh", "gcc", "Tests. Passed"),
        ]
        .into();
        let columns = match_columns(&old, &new);
        assert_eq!(columns, ["compiler"]);
        let rows = compare(&old, &new, &columns).unwrap();
        let got: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| {
                let old = r.old.as_ref().unwrap();
                (r.key.as_str(), old.key.as_str(), r.change.name())
            })
            .collect();
        assert_eq!(
            got,
            [
                ("build_001.sh", "build_002.sh", "regression"),
                ("build_002.sh", "build_001.sh", "unchanged")
            ]
        );
        // Cell ids are matched by id.
        let ids: BTreeMap<String, Side> = [mk("amd64-gcc", "gcc", "Tests. Passed")].into();
        assert!(match_columns(&ids, &new).is_empty());
        // Two cells with the same values cannot be matched.
        let twice: BTreeMap<String, Side> = [
            mk("build_001.sh", "gcc", "Tests. Passed"),
            mk("build_007.sh", "gcc", "Tests. Failed"),
        ]
        .into();
        let err = compare(&twice, &new, &columns).unwrap_err().to_string();
        assert!(
            err.contains("old run")
                && err.contains("build_001.sh and build_007.sh")
                && err.contains("compiler=gcc"),
            "{err}"
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
        assert_eq!(sides["c1"].level, Some(3));
        assert_eq!(sides["c1"].index["compiler"], "gcc");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        let err = sides_of_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("r.csv") && err.contains("key and result"),
            "{err}"
        );
    }
}
