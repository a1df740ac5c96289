//! Why the matrix is what it is: whether a combination is a cell and which rules exclude it,
//! how a slice of the product is thinned by each rule, and what each rule removes overall.

use anyhow::{bail, Result};
use itertools::Itertools;
use serde::Serialize;

use crate::cell::cell_id;
use crate::definition::Matrix;
use crate::export::{json_bytes, Export, OutputFormat};
use crate::rules::Rule;

/// Slices larger than this are not enumerated: explanations must answer in well under a second.
pub const MAX_ENUMERATED: u128 = 50_000_000;

/// How one rule thins a set of combinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleEffect {
    pub rule: String,
    pub reason: String,
    /// Combinations of the set that break this rule (a combination may break several).
    pub breaks: u64,
    /// Combinations that break this rule and no other: what the rule alone removes.
    pub breaks_alone: u64,
}

/// What a set of combinations (the whole product, or a slice of it) comes to under the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SliceReport {
    pub combinations: u64,
    pub cells: u64,
    /// In definition order; rules that break nothing in the set are included with zeros.
    pub rules: Vec<RuleEffect>,
}

/// Enumerates the combinations allowed by `allowed` (value masks per axis) and counts, per
/// rule, the ones it breaks.
pub fn slice_report(matrix: &Matrix, allowed: &[Vec<bool>]) -> Result<SliceReport> {
    let size: u128 = allowed
        .iter()
        .map(|mask| mask.iter().filter(|&&ok| ok).count() as u128)
        .product();
    if size > MAX_ENUMERATED {
        bail!("that slice has {size} combinations, more than the {MAX_ENUMERATED} explain enumerates; fix more axes");
    }
    let mut effects: Vec<RuleEffect> = matrix
        .rules
        .iter()
        .map(|r| RuleEffect {
            rule: r.name.clone(),
            reason: r.reason.clone(),
            breaks: 0,
            breaks_alone: 0,
        })
        .collect();
    let mut report = SliceReport {
        combinations: 0,
        cells: 0,
        rules: Vec::new(),
    };
    let choices: Vec<Vec<usize>> = allowed
        .iter()
        .map(|mask| mask.iter().positions(|&ok| ok).collect())
        .collect();
    let mut broken = Vec::with_capacity(matrix.rules.len());
    for combo in choices
        .iter()
        .map(|c| c.iter().copied())
        .multi_cartesian_product()
    {
        report.combinations += 1;
        broken.clear();
        broken.extend(
            matrix
                .rules
                .iter()
                .positions(|rule: &Rule| !rule.holds(&combo)),
        );
        match broken.as_slice() {
            [] => report.cells += 1,
            [only] => {
                effects[*only].breaks += 1;
                effects[*only].breaks_alone += 1;
            }
            many => many.iter().for_each(|&i| effects[i].breaks += 1),
        }
    }
    report.rules = effects;
    Ok(report)
}

/// The explanation of one full combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CombinationReport {
    pub values: Vec<(String, String)>,
    /// The id it has (or would have, were it a cell).
    pub id: String,
    pub is_cell: bool,
    /// `(rule, reason)` of every rule it breaks.
    pub broken: Vec<(String, String)>,
}

pub fn explain_combination(matrix: &Matrix, values: &[usize]) -> CombinationReport {
    let broken = matrix
        .rules
        .iter()
        .filter(|r| !r.holds(values))
        .map(|r| (r.name.clone(), r.reason.clone()))
        .collect::<Vec<_>>();
    CombinationReport {
        values: matrix
            .axes
            .iter()
            .zip(values)
            .map(|(a, &v)| (a.name.clone(), a.values[v].name.clone()))
            .collect(),
        id: cell_id(matrix, values),
        is_cell: broken.is_empty(),
        broken,
    }
}

/// The formats of `matrix explain`.
const EXPLAIN_FORMATS: &[OutputFormat] = &[OutputFormat::Text, OutputFormat::Json];

impl Export for CombinationReport {
    const WHAT: &'static str = "an explanation";
    const FORMATS: &'static [OutputFormat] = EXPLAIN_FORMATS;

    fn json(&self) -> Result<Vec<u8>> {
        json_bytes(self)
    }

    /// The values, then whether they are a cell and, if not, each rule that excludes them.
    fn text(&self) -> Result<Vec<u8>> {
        let described: Vec<String> = self
            .values
            .iter()
            .map(|(a, v)| format!("{a}={v}"))
            .collect();
        let mut text = described.join(" ");
        if self.is_cell {
            text.push_str(&format!("\nis cell {}\n", self.id));
        } else {
            text.push_str(&format!(
                "\nis not a cell (its id would be {}); excluded by:\n",
                self.id
            ));
            for (rule, reason) in &self.broken {
                text.push_str(&format!("  {rule}: {reason}\n"));
            }
        }
        Ok(text.into_bytes())
    }
}

/// A slice report as `matrix explain` prints it: with `all_rules` (`--rules`) every rule is
/// listed, otherwise only those that remove something from the slice.
pub struct SliceView<'a> {
    pub report: &'a SliceReport,
    pub all_rules: bool,
}

impl Export for SliceView<'_> {
    const WHAT: &'static str = "an explanation";
    const FORMATS: &'static [OutputFormat] = EXPLAIN_FORMATS;

    fn json(&self) -> Result<Vec<u8>> {
        json_bytes(self.report)
    }

    fn text(&self) -> Result<Vec<u8>> {
        let report = self.report;
        let mut text = format!(
            "{} combinations, {} cells, {} removed by the rules\n",
            report.combinations,
            report.cells,
            report.combinations - report.cells
        );
        let mut rows = vec![["rule", "removes", "alone", "why"]
            .map(String::from)
            .to_vec()];
        for effect in report
            .rules
            .iter()
            .filter(|e| self.all_rules || e.breaks > 0)
        {
            rows.push(vec![
                effect.rule.clone(),
                effect.breaks.to_string(),
                effect.breaks_alone.to_string(),
                effect.reason.clone(),
            ]);
        }
        if rows.len() > 1 {
            text.push_str(&crate::table::align(&rows, &[]));
            text.push_str(
                "(removes: combinations that break the rule; alone: those that break no other rule)\n",
            );
        }
        Ok(text.into_bytes())
    }
}

/// What `explain --cover T` prints: the cover's statistics, with the names of the axes that
/// make its lower bound.
#[derive(Debug, Serialize)]
pub struct CoverReport {
    #[serde(flatten)]
    pub stats: crate::cover::CoverStats,
    pub seed: u64,
    pub bound_axes: Vec<String>,
}

impl Export for CoverReport {
    const WHAT: &'static str = "an explanation";
    const FORMATS: &'static [OutputFormat] = EXPLAIN_FORMATS;

    fn json(&self) -> Result<Vec<u8>> {
        json_bytes(self)
    }

    fn text(&self) -> Result<Vec<u8>> {
        let stats = &self.stats;
        let mut text = format!(
            "{} cells hold {} distinct {}-way value tuples\n\
             lower bound: {} cells ({} have {} valid value tuples and each cell holds one)\n\
             cover: {} cells, {:.1}% of {} (seed {})\n",
            stats.cells,
            stats.tuples,
            stats.strength,
            stats.lower_bound,
            self.bound_axes.join(" × "),
            stats.lower_bound,
            stats.size,
            100.0 * stats.size as f64 / stats.cells as f64,
            stats.cells,
            self.seed,
        );
        if stats.included > 0 {
            text.push_str(&format!("included: {} cells\n", stats.included));
        }
        Ok(text.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_effects_over_the_whole_product() {
        let m = Matrix::builtin().unwrap();
        let all = crate::expand::ValueMask::all(&m);
        let report = slice_report(&m, &all).unwrap();
        assert_eq!((report.combinations, report.cells), (5760, 742));
        assert!(report
            .rules
            .iter()
            .all(|e| e.breaks > 0 && e.breaks >= e.breaks_alone));
        // Every excluded combination is counted by at least one rule.
        let excluded: u64 = 5760 - 742;
        assert!(report.rules.iter().map(|e| e.breaks).sum::<u64>() >= excluded);
    }

    #[test]
    fn clang_19_on_fedora_is_explained_by_its_rule() {
        let m = Matrix::builtin().unwrap();
        let mut values = vec![0; m.axes.len()];
        values[m.axis_index("compiler").unwrap()] = 2; // clang-19
        values[m.axis_index("configure").unwrap()] = 1;
        values[m.axis_index("preload").unwrap()] = 1;
        let report = explain_combination(&m, &values);
        assert!(!report.is_cell);
        assert_eq!(report.broken.len(), 1);
        assert_eq!(report.broken[0].0, "clang-19-ubuntu-only");
    }
}
