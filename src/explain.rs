//! Why the matrix is what it is: whether a combination is a cell and which rules exclude it,
//! how a slice of the product is thinned by each rule, and what each rule removes overall.

use anyhow::{bail, Result};
use itertools::Itertools;
use serde::Serialize;

use crate::cell::cell_id;
use crate::definition::Matrix;
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
