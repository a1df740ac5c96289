//! Expansion: the cells of a matrix under its rules and a user's selection (`--only`,
//! `--except`), enumerated depth-first in definition order with rules checked as soon as the
//! axes they read are assigned, so invalid branches are cut instead of materialised.

use std::collections::HashMap;
use std::str::FromStr;

use anyhow::{bail, Result};

use crate::cell::Cell;
use crate::definition::{Matrix, MAX_LABEL_LEN};
use crate::rules::Rule;

/// One `--only AXIS=V1,V2` or `--except AXIS=V1,V2` flag, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub axis: String,
    pub values: Vec<String>,
}

impl FromStr for Filter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (axis, values) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not AXIS=VALUE[,VALUE...]"))?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if axis.trim().is_empty() || values.iter().any(String::is_empty) {
            return Err(format!("`{text}` is not AXIS=VALUE[,VALUE...]"));
        }
        Ok(Filter {
            axis: axis.trim().to_string(),
            values,
        })
    }
}

/// A user's narrowing of the matrix: every `only` must hold and no `except` may.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub only: Vec<Filter>,
    pub except: Vec<Filter>,
}

impl Selection {
    /// Per axis, which values the selection keeps. Unknown axes and values are errors that
    /// list the valid ones.
    pub fn allowed_values(&self, matrix: &Matrix) -> Result<Vec<Vec<bool>>> {
        let mut allowed: Vec<Vec<bool>> = matrix
            .axes
            .iter()
            .map(|a| vec![true; a.values.len()])
            .collect();
        for (flag, filters, keep) in [
            ("--only", &self.only, true),
            ("--except", &self.except, false),
        ] {
            for filter in filters {
                let resolve = || -> Result<(usize, Vec<usize>)> {
                    let axis = matrix.axis_named(&filter.axis)?;
                    let values = filter
                        .values
                        .iter()
                        .map(|v| matrix.value_named(axis, v))
                        .collect::<Result<Vec<_>>>()?;
                    Ok((axis, values))
                };
                let (axis, values) = resolve().map_err(|e| {
                    anyhow::anyhow!("{flag} {}={}: {e}", filter.axis, filter.values.join(","))
                })?;
                for (index, slot) in allowed[axis].iter_mut().enumerate() {
                    let named = values.contains(&index);
                    *slot &= if keep { named } else { !named };
                }
            }
        }
        Ok(allowed)
    }
}

/// The valid cells of `matrix` within `selection`, in definition order.
pub fn expand(matrix: &Matrix, selection: &Selection) -> Result<Vec<Cell>> {
    let allowed = selection.allowed_values(matrix)?;
    let values = enumerate(matrix, &allowed);
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

    fn sel(only: &[&str], except: &[&str]) -> Selection {
        Selection {
            only: only.iter().map(|f| f.parse().unwrap()).collect(),
            except: except.iter().map(|f| f.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn the_default_matrix_has_742_cells_259_on_amd64() {
        let m = Matrix::builtin().unwrap();
        assert_eq!(expand(&m, &Selection::default()).unwrap().len(), 742);
        assert_eq!(
            expand(&m, &sel(&["platform=amd64"], &[])).unwrap().len(),
            259
        );
    }

    #[test]
    fn the_original_runs_are_selections() {
        let m = Matrix::builtin().unwrap();
        let count = |only: &[&str], except: &[&str]| expand(&m, &sel(only, except)).unwrap().len();
        assert_eq!(count(&["platform=arm64", "sanitizer=hwasan"], &[]), 224);
        assert_eq!(
            count(&["platform=amd64", "sanitizer=none,asan,tsan"], &[]),
            245
        );
        assert_eq!(count(&["platform=amd64", "sanitizer=analyzer"], &[]), 14);
        assert_eq!(count(&["platform=amd64"], &["sanitizer=analyzer"]), 245);
    }

    #[test]
    fn pruned_expansion_equals_filtering_the_product() {
        let m = Matrix::builtin().unwrap();
        let expected: Vec<Vec<usize>> = product(&m)
            .filter(|c| broken_rules(&m.rules, c).is_empty())
            .collect();
        let got: Vec<Vec<usize>> = expand(&m, &Selection::default())
            .unwrap()
            .into_iter()
            .map(|c| c.values.to_vec())
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn unknown_axes_and_values_are_named_with_the_valid_ones() {
        let m = Matrix::builtin().unwrap();
        let err = expand(&m, &sel(&["platfrom=amd64"], &[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown axis `platfrom`") && err.contains("platform, os, python"),
            "{err}"
        );
        let err = expand(&m, &sel(&[], &["compiler=icc"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--except compiler=icc") && err.contains("gcc, clang, clang-19"),
            "{err}"
        );
    }

    #[test]
    fn filters_parse_strictly() {
        assert!("platform".parse::<Filter>().is_err());
        assert!("platform=".parse::<Filter>().is_err());
        assert!("=amd64".parse::<Filter>().is_err());
        assert!("a=b,,c".parse::<Filter>().is_err());
        assert_eq!("a=b,c".parse::<Filter>().unwrap().values, ["b", "c"]);
    }

    #[test]
    fn every_id_is_unique_and_label_safe() {
        let m = Matrix::builtin().unwrap();
        for cell in expand(&m, &Selection::default()).unwrap() {
            assert!(cell.id.len() <= 63, "{}", cell.id);
            assert!(cell
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        }
    }
}
