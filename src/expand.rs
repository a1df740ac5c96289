//! Expansion: the cells of a matrix under its rules within a mask of allowed values (what a
//! [`crate::selection::Selection`] comes to), enumerated depth-first in definition order with rules checked as soon as the
//! axes they read are assigned, so invalid branches are cut instead of materialised.

use std::collections::HashMap;

use anyhow::{bail, Result};

use crate::cell::Cell;
use crate::definition::{Matrix, MAX_LABEL_LEN};
use crate::rules::Rule;

/// Per axis, which of its values a cell may have: the whole product, or what a
/// [`crate::selection::Selection`] leaves of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueMask(Vec<Vec<bool>>);

impl ValueMask {
    /// Every value of every axis.
    pub fn all(matrix: &Matrix) -> Self {
        ValueMask(
            matrix
                .axes
                .iter()
                .map(|a| vec![true; a.values.len()])
                .collect(),
        )
    }

    pub fn axis_mut(&mut self, axis: usize) -> &mut [bool] {
        &mut self.0[axis]
    }

    /// The axes none of whose values is left.
    pub fn empty_axes(&self) -> impl Iterator<Item = usize> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, row)| !row.iter().any(|&ok| ok))
            .map(|(axis, _)| axis)
    }
}

impl std::ops::Deref for ValueMask {
    type Target = [Vec<bool>];

    fn deref(&self) -> &[Vec<bool>] {
        &self.0
    }
}

/// The valid cells of `matrix` within `mask`, in definition order. Commands get their cells
/// from [`crate::selection::select_cells`], which explains an empty result.
pub fn expand(matrix: &Matrix, mask: &ValueMask) -> Result<Vec<Cell>> {
    let values = enumerate(matrix, mask);
    let mut cells = Vec::with_capacity(values.len() / matrix.axes.len().max(1));
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(cells.capacity());
    for chunk in values.chunks_exact(matrix.axes.len()) {
        let cell = Cell::new(matrix, chunk);
        if cell.id.len() > MAX_LABEL_LEN {
            bail!(
                "cell id `{}` is {} characters, over the {MAX_LABEL_LEN} a Kubernetes label \
                 allows: give the values of {} shorter `id` tokens",
                cell.id,
                cell.id.len(),
                matrix.origin
            );
        }
        if cell.id.is_empty() {
            bail!(
                "a cell of {} has an empty id: every value's id token is empty",
                matrix.origin
            );
        }
        if let Some(&other) = seen.get(&cell.id) {
            let describe = |c: &Cell| {
                c.pairs(matrix)
                    .map(|(a, v)| format!("{a}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            bail!(
                "two cells have the id `{}`: [{}] and [{}]; give the values that tell them apart \
                 distinct `id` tokens in {}",
                cell.id,
                describe(&cells[other]),
                describe(&cell),
                matrix.origin
            );
        }
        seen.insert(cell.id.clone(), cells.len());
        cells.push(cell);
    }
    Ok(cells)
}

/// Depth-first enumeration; returns the value indices of every valid cell, flattened.
fn enumerate(matrix: &Matrix, allowed: &[Vec<bool>]) -> Vec<usize> {
    let width = matrix.axes.len();
    // rules_at[d]: the rules that become decidable once axis d is assigned.
    let mut rules_at: Vec<Vec<&Rule>> = vec![Vec::new(); width];
    for rule in &matrix.rules {
        rules_at[rule.decided_at()].push(rule);
    }
    let choices: Vec<Vec<usize>> = allowed
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, &ok)| ok)
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    if choices.iter().any(Vec::is_empty) {
        return out;
    }
    let mut current = vec![0usize; width];
    // position[d]: index into choices[d] of the value currently tried at depth d.
    let mut position = vec![0usize; width];
    let mut depth = 0;
    loop {
        if position[depth] == choices[depth].len() {
            // Exhausted this axis: back up.
            position[depth] = 0;
            if depth == 0 {
                break;
            }
            depth -= 1;
            position[depth] += 1;
            continue;
        }
        current[depth] = choices[depth][position[depth]];
        // Unassigned axes hold stale indices, but the rules checked here read none of them.
        let valid = rules_at[depth].iter().all(|rule| rule.holds(&current));
        if !valid {
            position[depth] += 1;
        } else if depth + 1 == width {
            out.extend_from_slice(&current);
            position[depth] += 1;
        } else {
            depth += 1;
        }
    }
    out
}

/// Every combination of the raw product, valid or not: for tests and `explain`.
pub fn product(matrix: &Matrix) -> impl Iterator<Item = Vec<usize>> + '_ {
    use itertools::Itertools;
    matrix
        .axes
        .iter()
        .map(|axis| 0..axis.values.len())
        .multi_cartesian_product()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::broken_rules;

    #[test]
    fn the_default_matrix_has_742_cells() {
        let m = Matrix::builtin().unwrap();
        assert_eq!(expand(&m, &ValueMask::all(&m)).unwrap().len(), 742);
    }

    #[test]
    fn pruned_expansion_equals_filtering_the_product() {
        let m = Matrix::builtin().unwrap();
        let expected: Vec<Vec<usize>> = product(&m)
            .filter(|c| broken_rules(&m.rules, c).is_empty())
            .collect();
        let got: Vec<Vec<usize>> = expand(&m, &ValueMask::all(&m))
            .unwrap()
            .into_iter()
            .map(|c| c.values.to_vec())
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_mask_without_values_for_an_axis_has_no_cells() {
        let m = Matrix::builtin().unwrap();
        let mut mask = ValueMask::all(&m);
        mask.axis_mut(3).fill(false);
        assert_eq!(mask.empty_axes().collect::<Vec<_>>(), [3]);
        assert!(expand(&m, &mask).unwrap().is_empty());
    }

    #[test]
    fn every_id_is_unique_and_label_safe() {
        let m = Matrix::builtin().unwrap();
        for cell in expand(&m, &ValueMask::all(&m)).unwrap() {
            assert!(cell.id.len() <= 63, "{}", cell.id);
            assert!(cell
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        }
    }
}
