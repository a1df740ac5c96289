//! Insights: the minimal conjunctions of `axis=value` terms whose cells share an outcome
//! property ("no cell reached the tests", "no cell passed", "every cell ended with R").

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use super::{CellReport, CellResult, Outcome, Stage};

/// Index columns that name or locate a cell, or hold a result, rather than an axis.
const NOT_AXES: [&str; 7] = [
    "id",
    "key",
    "script",
    "script_name",
    "image",
    "result",
    "label",
];

/// What every cell of a condition has in common.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Property {
    /// No cell reached the Tests stage.
    NoneReachedTests,
    /// No cell ended in `Tests. Passed`.
    NonePassed,
    /// Every cell ended with this result (its label).
    AllSameResult(String),
}

impl Property {
    /// The CSV/JSON name: `none-reached-tests`, `none-passed`, `all-same-result`.
    pub fn name(&self) -> &'static str {
        match self {
            Property::NoneReachedTests => "none-reached-tests",
            Property::NonePassed => "none-passed",
            Property::AllSameResult(_) => "all-same-result",
        }
    }

    /// Whether every set of cells with `self` also has `other`. The properties are all
    /// preserved by taking fewer cells, so a condition whose sub-condition has a property
    /// implying `other` says nothing new with `other`.
    fn implies(&self, other: &Property) -> bool {
        match (self, other) {
            (a, b) if a == b => true,
            (Property::NoneReachedTests, Property::NonePassed) => true,
            (Property::AllSameResult(r), Property::NoneReachedTests) => !r.starts_with("Tests."),
            (Property::AllSameResult(r), Property::NonePassed) => r != "Tests. Passed",
            _ => false,
        }
    }
}

/// One `axis=value` term.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Term {
    pub axis: String,
    pub value: String,
}

/// A condition, the property its cells share, and their results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insight {
    /// In index column order; empty means every classified cell.
    pub terms: Vec<Term>,
    pub property: Property,
    pub cells: usize,
    /// Each result with its count, most frequent first.
    pub results: Vec<(String, usize)>,
}

impl Insight {
    /// `compiler=gcc ∧ preload=enabled` (empty for every cell).
    pub fn condition(&self) -> String {
        self.terms
            .iter()
            .map(|t| format!("{}={}", t.axis, t.value))
            .collect::<Vec<_>>()
            .join(" ∧ ")
    }

    /// `28 Configure. Segmentation fault, 2 Tests. Failed`.
    pub fn results_text(&self) -> String {
        self.results
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What the property says about the count: `0 of 28 cells reached the tests`.
    pub fn claim(&self) -> String {
        let n = self.cells;
        match &self.property {
            Property::NoneReachedTests => format!("0 of {n} cells reached the tests"),
            Property::NonePassed => format!("0 of {n} cells passed"),
            Property::AllSameResult(r) => format!("all {n} cells ended {r}"),
        }
    }
}

impl fmt::Display for Insight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let condition = if self.terms.is_empty() {
            "every cell".to_owned()
        } else {
            self.condition()
        };
        write!(f, "{condition}: {} ({})", self.claim(), self.results_text())
    }
}

/// How far to look.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most terms in a condition.
    pub depth: usize,
    /// The fewest cells a condition must cover.
    pub min_cells: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: 3,
            min_cells: 4,
        }
    }
}

/// The axis columns of an index: its columns except names, scripts, images and results
/// (a legacy `Result`), and except columns with one value (they never narrow a condition).
pub fn axis_columns(columns: &[String], cells: &[&CellReport]) -> Vec<usize> {
    (0..columns.len())
        .filter(|&c| !NOT_AXES.contains(&columns[c].to_ascii_lowercase().as_str()))
        .filter(|&c| {
            let mut values = cells.iter().map(|cell| &cell.index_values[c]);
            let first = values.next();
            values.any(|v| Some(v) != first)
        })
        .collect()
}

/// The cells insights speak about: those with a result (not Unknown, not Missing) and a row
/// in the index.
pub fn classified<'a>(cells: impl IntoIterator<Item = &'a CellReport>) -> Vec<&'a CellReport> {
    cells
        .into_iter()
        .filter(|c| matches!(c.result, CellResult::Result(..)))
        .filter(|c| c.index_values.iter().any(|v| !v.is_empty()))
        .collect()
}

/// What a set of cells holds, as counts.
#[derive(Debug, Default, Clone)]
struct Stats {
    cells: usize,
    reached: usize,
    passed: usize,
    /// rank → (label, count)
    results: BTreeMap<(usize, usize), (String, usize)>,
}

impl Stats {
    fn add(&mut self, cell: &CellReport) {
        self.cells += 1;
        if let CellResult::Result(stage, outcome) = cell.result {
            self.reached += usize::from(stage == Stage::Tests);
            self.passed += usize::from(stage == Stage::Tests && outcome == Outcome::Passed);
        }
        self.results
            .entry(cell.result.rank())
            .or_insert_with(|| (cell.result.label(), 0))
            .1 += 1;
    }

    /// The properties these cells share, most specific last.
    fn properties(&self) -> Vec<Property> {
        let mut out = Vec::new();
        if self.reached == 0 {
            out.push(Property::NoneReachedTests);
        }
        if self.passed == 0 {
            out.push(Property::NonePassed);
        }
        if self.results.len() == 1 {
            let (label, _) = self.results.values().next().expect("one result");
            out.push(Property::AllSameResult(label.clone()));
        }
        out
    }
}

/// A condition as (axis position in `axes`, value) pairs, axes ascending.
type Key = Vec<(usize, String)>;

/// Every subset of `0..n` with at most `k` members, smallest first, each ascending.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    let mut frontier = vec![Vec::new()];
    for _ in 0..k.min(n) {
        let mut next = Vec::new();
        for s in &frontier {
            let start = s.last().map_or(0, |&l: &usize| l + 1);
            for i in start..n {
                let mut t = s.clone();
                t.push(i);
                next.push(t);
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out
}

/// The minimal insights over `cells` (see [`classified`]) on the index `columns`, ranked by
/// cells covered, then fewer terms, then the condition's text.
///
/// A condition is reported with a property when its cells (at least `min_cells`) have it and
/// no condition with one term fewer has it or a property implying it (the properties survive
/// dropping cells, so the parents decide for every smaller sub-condition). Of several
/// properties of one condition, only those no other of its properties implies are kept.
pub fn find(columns: &[String], cells: &[&CellReport], limits: Limits) -> Vec<Insight> {
    let axes = axis_columns(columns, cells);
    let mut groups: HashMap<Key, Stats> = HashMap::new();
    for subset in subsets(axes.len(), limits.depth) {
        let mut these: HashMap<Key, Stats> = HashMap::new();
        for cell in cells {
            let key: Key = subset
                .iter()
                .map(|&a| (a, cell.index_values[axes[a]].clone()))
                .collect();
            these.entry(key).or_default().add(cell);
        }
        groups.extend(
            these
                .into_iter()
                .filter(|(_, s)| s.cells >= limits.min_cells),
        );
    }
    let mut out = Vec::new();
    for (key, stats) in &groups {
        let own = stats.properties();
        let parents: Vec<Vec<Property>> = (0..key.len())
            .map(|drop| {
                let mut parent = key.clone();
                parent.remove(drop);
                groups[&parent].properties()
            })
            .collect();
        for property in &own {
            let inherited = parents.iter().flatten().any(|q| q.implies(property));
            let weaker = own.iter().any(|q| q != property && q.implies(property));
            if inherited || weaker {
                continue;
            }
            let mut results: Vec<((usize, usize), String, usize)> = stats
                .results
                .iter()
                .map(|(rank, (label, n))| (*rank, label.clone(), *n))
                .collect();
            results.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
            out.push(Insight {
                terms: key
                    .iter()
                    .map(|(a, v)| Term {
                        axis: columns[axes[*a]].clone(),
                        value: v.clone(),
                    })
                    .collect(),
                property: property.clone(),
                cells: stats.cells,
                results: results.into_iter().map(|(_, l, n)| (l, n)).collect(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.cells
            .cmp(&a.cells)
            .then(a.terms.len().cmp(&b.terms.len()))
            .then_with(|| a.condition().cmp(&b.condition()))
            .then_with(|| a.property.cmp(&b.property))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(values: &[&str], result: CellResult) -> CellReport {
        CellReport {
            key: values.join("-"),
            index_values: values.iter().map(|v| v.to_string()).collect(),
            result,
            attempts: 1,
            log: None,
            evidence: None,
            why: Default::default(),
        }
    }

    const RESULTS: [(Stage, Outcome); 5] = [
        (Stage::Configure, Outcome::Failed),
        (Stage::Configure, Outcome::SegmentationFault),
        (Stage::Compilation, Outcome::Failed),
        (Stage::Tests, Outcome::Failed),
        (Stage::Tests, Outcome::Passed),
    ];

    /// The property recomputed from scratch: filter every cell by the condition.
    fn holds(cells: &[CellReport], terms: &[(usize, String)], p: &Property) -> (bool, usize) {
        let these: Vec<&CellReport> = cells
            .iter()
            .filter(|c| terms.iter().all(|(a, v)| &c.index_values[*a] == v))
            .collect();
        let ok = match p {
            Property::NoneReachedTests => these.iter().all(|c| c.stage() != Some(Stage::Tests)),
            Property::NonePassed => these.iter().all(|c| {
                !(c.stage() == Some(Stage::Tests) && c.outcome() == Some(Outcome::Passed))
            }),
            Property::AllSameResult(r) => these.iter().all(|c| &c.result.label() == r),
        };
        (ok, these.len())
    }

    fn all_properties(cells: &[CellReport]) -> Vec<Property> {
        let mut ps = vec![Property::NoneReachedTests, Property::NonePassed];
        ps.extend(
            cells
                .iter()
                .map(|c| Property::AllSameResult(c.result.label())),
        );
        ps.sort();
        ps.dedup();
        ps
    }

    /// Brute force over every conjunction of every axis's values: the insights are exactly
    /// the (condition, property) pairs that hold, cover enough cells, are not implied by a
    /// property of any proper sub-condition, nor by another property of the same condition.
    fn brute_force(columns: &[String], cells: &[CellReport], limits: Limits) -> Vec<String> {
        let refs: Vec<&CellReport> = cells.iter().collect();
        let axes = axis_columns(columns, &refs);
        let values: Vec<Vec<String>> = axes
            .iter()
            .map(|&a| {
                let mut v: Vec<String> = cells.iter().map(|c| c.index_values[a].clone()).collect();
                v.sort();
                v.dedup();
                v
            })
            .collect();
        let props = all_properties(cells);
        let mut out = Vec::new();
        for subset in subsets(axes.len(), limits.depth) {
            let mut combos: Vec<Vec<(usize, String)>> = vec![Vec::new()];
            for &i in &subset {
                let axis = axes[i];
                let mut next = Vec::new();
                for c in &combos {
                    for v in &values[i] {
                        let mut c = c.clone();
                        c.push((axis, v.clone()));
                        next.push(c);
                    }
                }
                combos = next;
            }
            for terms in combos {
                for p in &props {
                    let (ok, n) = holds(cells, &terms, p);
                    if !ok || n < limits.min_cells {
                        continue;
                    }
                    // Every proper sub-condition (by bitmask), every property.
                    let implied = (0..(1u32 << terms.len()) - 1).any(|mask| {
                        let sub: Vec<(usize, String)> = terms
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| mask & (1 << i) != 0)
                            .map(|(_, t)| t.clone())
                            .collect();
                        props
                            .iter()
                            .any(|q| q.implies(p) && holds(cells, &sub, q).0)
                    });
                    let weaker = props
                        .iter()
                        .any(|q| q != p && q.implies(p) && holds(cells, &terms, q).0);
                    if !implied && !weaker {
                        let cond: Vec<String> = terms
                            .iter()
                            .map(|(a, v)| format!("{}={v}", columns[*a]))
                            .collect();
                        out.push(format!("{} {} {n}", cond.join(" ∧ "), p.name()));
                    }
                }
            }
        }
        out.sort();
        out
    }

    fn fast(columns: &[String], cells: &[CellReport], limits: Limits) -> Vec<String> {
        let refs: Vec<&CellReport> = cells.iter().collect();
        let mut out: Vec<String> = find(columns, &refs, limits)
            .iter()
            .map(|i| format!("{} {} {}", i.condition(), i.property.name(), i.cells))
            .collect();
        out.sort();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn insights_are_exactly_the_brute_force_ones(
            rows in proptest::collection::vec((0..3usize, 0..2usize, 0..3usize, 0..5usize), 1..40),
            depth in 0..4usize,
            min_cells in 1..5usize,
        ) {
            let columns: Vec<String> = ["compiler", "preload", "option", "script"]
                .iter().map(|s| s.to_string()).collect();
            let cells: Vec<CellReport> = rows.iter().enumerate().map(|(n, &(a, b, c, r))| {
                let (stage, outcome) = RESULTS[r];
                let script = format!("build_{n}.sh");
                cell(&[["gcc", "clang", "clang-19"][a], ["on", "off"][b], ["x", "y", "z"][c], &script],
                     CellResult::Result(stage, outcome))
            }).collect();
            let limits = Limits { depth, min_cells };
            prop_assert_eq!(fast(&columns, &cells, limits), brute_force(&columns, &cells, limits));
        }
    }

    #[test]
    fn the_line_names_condition_claim_and_results() {
        let columns = vec!["compiler".to_string(), "preload".to_string()];
        let segv = CellResult::Result(Stage::Configure, Outcome::SegmentationFault);
        let pass = CellResult::Result(Stage::Tests, Outcome::Passed);
        let cells = [
            cell(&["gcc", "on"], segv.clone()),
            cell(&["gcc", "on"], segv.clone()),
            cell(&["gcc", "off"], pass.clone()),
            cell(&["clang", "on"], pass.clone()),
            cell(&["clang", "off"], pass),
        ];
        let refs: Vec<&CellReport> = cells.iter().collect();
        let found = find(
            &columns,
            &refs,
            Limits {
                depth: 2,
                min_cells: 2,
            },
        );
        let lines: Vec<String> = found.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            lines,
            [
                "compiler=clang: all 2 cells ended Tests. Passed (2 Tests. Passed)",
                "preload=off: all 2 cells ended Tests. Passed (2 Tests. Passed)",
                "compiler=gcc ∧ preload=on: all 2 cells ended Configure. Segmentation fault \
                 (2 Configure. Segmentation fault)",
            ]
        );
    }

    #[test]
    fn names_scripts_and_results_are_not_axes() {
        let columns: Vec<String> = ["Compiler", "script_name", "Result", "Platform"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = CellResult::Result(Stage::Tests, Outcome::Failed);
        let cells = [
            cell(&["gcc", "a.sh", "x", "arm64"], r.clone()),
            cell(&["clang", "b.sh", "y", "arm64"], r),
        ];
        let refs: Vec<&CellReport> = cells.iter().collect();
        assert_eq!(axis_columns(&columns, &refs), [0]);
    }
}
