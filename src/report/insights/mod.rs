//! Insights: the minimal conjunctions of `axis=value` terms whose cells share an outcome
//! property ("no cell reached the tests", "every cell ended with R", "every cell has finding F",
//! "unstable", "every cell's sanitizer missed canary C").

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Some cells reached the tests and the others stopped earlier, and no condition (of at
    /// most `depth` terms and `min_cells` cells, where no cell reached the tests) covers any of
    /// those that stopped: the split has no explanation in the axes.
    Unstable,
    /// Every cell has the sanitizer finding with this signature id (`matrix findings`).
    Finding(String),
    /// Every cell ran this canary and its sanitizer missed it: their clean results do not
    /// mean no bug of that class. Listed first.
    Blind(String),
    /// Every cell is flaky: it passed only after an earlier attempt or a regrtest re-run
    /// failed, or a test of it did.
    Flaky,
}

impl Property {
    /// The JSON name: `none-reached-tests`, `none-passed`, `all-same-result`, `unstable`,
    /// `finding`, `blind`, `flaky`.
    pub fn name(&self) -> &'static str {
        match self {
            Property::NoneReachedTests => "none-reached-tests",
            Property::NonePassed => "none-passed",
            Property::AllSameResult(_) => "all-same-result",
            Property::Unstable => "unstable",
            Property::Finding(_) => "finding",
            Property::Blind(_) => "blind",
            Property::Flaky => "flaky",
        }
    }

    /// The CSV `property`: the name, with the result or the finding's id after a colon
    /// (`all-same-result:Configure. Failed`, `finding:2b1159f2`, `blind:heap-overflow-small`).
    pub fn text(&self) -> String {
        match self {
            Property::AllSameResult(r) => format!("{}:{r}", self.name()),
            Property::Finding(id) | Property::Blind(id) => format!("{}:{id}", self.name()),
            p => p.name().to_owned(),
        }
    }

    /// Whether every set of cells with `self` also has `other`. The properties except
    /// `Unstable` are preserved by taking fewer cells, so a condition whose sub-condition has a
    /// property implying `other` says nothing new with `other`.
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

impl Serialize for Property {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

/// A condition, the property its cells share, and their results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Insight {
    /// In index column order; empty means every classified cell.
    pub terms: Vec<Term>,
    pub property: Property,
    pub cells: usize,
    /// How many of them reached the Tests stage.
    pub reached: usize,
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
            Property::Unstable => format!(
                "unstable, {} of {n} cells reached the tests and no condition explains the {} \
                 that stopped earlier",
                self.reached,
                n - self.reached
            ),
            Property::Finding(id) => format!("all {n} cells have finding {id}"),
            Property::Blind(canary) => format!("{canary} missed in {n} of {n} cells"),
            Property::Flaky => format!("flaky in {n} of {n} cells"),
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

/// Whether an index column may be an axis: not one that names or locates a cell, nor a result.
pub fn is_axis_name(column: &str) -> bool {
    !NOT_AXES.contains(&column.to_ascii_lowercase().as_str())
}

/// The axis columns of an index: its columns except names, scripts, images and results
/// (a legacy `Result`), and except columns with one value (they never narrow a condition).
pub fn axis_columns(columns: &[String], cells: &[&CellReport]) -> Vec<usize> {
    (0..columns.len())
        .filter(|&c| is_axis_name(&columns[c]))
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

/// Each cell's sanitizer findings (signature ids) by cell key; a cell without any may be absent.
pub type CellFindings = HashMap<String, BTreeSet<String>>;

/// What a set of cells holds, as counts.
#[derive(Debug, Default, Clone)]
struct Stats {
    cells: usize,
    reached: usize,
    passed: usize,
    /// Cells that stopped before the tests where no condition explains it.
    unexplained: usize,
    /// rank → (label, count)
    results: BTreeMap<(usize, usize), (String, usize)>,
    /// finding id → cells with it
    findings: BTreeMap<String, usize>,
    /// canary → cells whose sanitizer missed it
    missed: BTreeMap<String, usize>,
    flaky: usize,
}

impl Stats {
    fn add(&mut self, cell: &CellReport, findings: Option<&BTreeSet<String>>) {
        self.cells += 1;
        for id in findings.into_iter().flatten() {
            *self.findings.entry(id.clone()).or_default() += 1;
        }
        for canary in cell.missed_canaries() {
            *self.missed.entry(canary.to_owned()).or_default() += 1;
        }
        self.flaky += usize::from(cell.more.flaky.is_some());
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
        let stopped = self.cells - self.reached;
        if self.reached > 0 && stopped > 0 && self.unexplained == stopped {
            out.push(Property::Unstable);
        }
        out.extend(
            self.findings
                .iter()
                .filter(|(_, &n)| n == self.cells)
                .map(|(id, _)| Property::Finding(id.clone())),
        );
        out.extend(
            self.missed
                .iter()
                .filter(|(_, &n)| n == self.cells)
                .map(|(canary, _)| Property::Blind(canary.clone())),
        );
        if self.flaky == self.cells {
            out.push(Property::Flaky);
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

/// The minimal insights over `cells` (see [`classified`]) on the index `columns`, blind ones
/// first, then ranked by cells covered, then fewer terms, then the condition's text.
/// `findings` gives each cell's finding ids (empty: no `finding:` insights).
///
/// A condition is reported with a property when its cells (at least `min_cells`) have it and
/// no condition with fewer terms has it or a property implying it. All properties but
/// `Unstable` survive dropping cells, so for them the parents (one term fewer) decide for
/// every smaller sub-condition; `Unstable` is checked against every sub-condition. Of several
/// properties of one condition, only those no other of its properties implies are kept.
pub fn find(
    columns: &[String],
    cells: &[&CellReport],
    findings: &CellFindings,
    limits: Limits,
) -> Vec<Insight> {
    let axes = axis_columns(columns, cells);
    let subsets = subsets(axes.len(), limits.depth);
    let key = |cell: &CellReport, subset: &[usize]| -> Key {
        subset
            .iter()
            .map(|&a| (a, cell.index_values[axes[a]].clone()))
            .collect()
    };
    let mut groups: HashMap<Key, Stats> = HashMap::new();
    for subset in &subsets {
        for cell in cells {
            groups
                .entry(key(cell, subset))
                .or_default()
                .add(cell, findings.get(&cell.key));
        }
    }
    groups.retain(|_, s| s.cells >= limits.min_cells);
    mark_unexplained(&mut groups, cells, &subsets, key);
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
        for property in own
            .iter()
            .filter(|p| is_new(&groups, key, &parents, &own, p))
        {
            out.push(insight(columns, &axes, key, stats, property));
        }
    }
    // Blind cells first: what their results are worth comes before what they say.
    let blind = |i: &Insight| matches!(i.property, Property::Blind(_));
    out.sort_by(|a, b| {
        blind(b)
            .cmp(&blind(a))
            .then(b.cells.cmp(&a.cells))
            .then(a.terms.len().cmp(&b.terms.len()))
            .then_with(|| a.condition().cmp(&b.condition()))
            .then_with(|| a.property.cmp(&b.property))
    });
    out
}

/// A cell that stopped before the tests is explained when a condition it meets (of at most
/// `depth` terms, with enough cells) has no cell that reached them; the others make the
/// conditions they meet candidates for `unstable`.
fn mark_unexplained(
    groups: &mut HashMap<Key, Stats>,
    cells: &[&CellReport],
    subsets: &[Vec<usize>],
    key: impl Fn(&CellReport, &[usize]) -> Key,
) {
    for cell in cells.iter().filter(|c| c.stage() != Some(Stage::Tests)) {
        let keys: Vec<Key> = subsets.iter().map(|s| key(cell, s)).collect();
        let explained = keys
            .iter()
            .any(|k| groups.get(k).is_some_and(|s| s.reached == 0));
        if !explained {
            for k in &keys {
                if let Some(s) = groups.get_mut(k) {
                    s.unexplained += 1;
                }
            }
        }
    }
}

/// Whether `property` of the condition `key` says something new: no sub-condition has it (or,
/// for all but `Unstable`, a property implying it: the `parents`' properties, one term fewer,
/// decide for every smaller sub-condition), and no other of its own properties (`own`)
/// implies it.
fn is_new(
    groups: &HashMap<Key, Stats>,
    key: &Key,
    parents: &[Vec<Property>],
    own: &[Property],
    property: &Property,
) -> bool {
    let inherited = if *property == Property::Unstable {
        // Every proper sub-condition, by the bitmask of the terms it keeps.
        (0..(1usize << key.len()) - 1).any(|mask| {
            let sub: Key = key
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, t)| t.clone())
                .collect();
            groups[&sub].properties().contains(&Property::Unstable)
        })
    } else {
        parents.iter().flatten().any(|q| q.implies(property))
    };
    let weaker = own.iter().any(|q| q != property && q.implies(property));
    !inherited && !weaker
}

/// The insight of condition `key` with `property`, its results most frequent first.
fn insight(
    columns: &[String],
    axes: &[usize],
    key: &Key,
    stats: &Stats,
    property: &Property,
) -> Insight {
    let mut results: Vec<((usize, usize), String, usize)> = stats
        .results
        .iter()
        .map(|(rank, (label, n))| (*rank, label.clone(), *n))
        .collect();
    results.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    Insight {
        terms: key
            .iter()
            .map(|(a, v)| Term {
                axis: columns[axes[*a]].clone(),
                value: v.clone(),
            })
            .collect(),
        property: property.clone(),
        cells: stats.cells,
        reached: stats.reached,
        results: results.into_iter().map(|(_, l, n)| (l, n)).collect(),
    }
}

#[cfg(test)]
mod tests;
