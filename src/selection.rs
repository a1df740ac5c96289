//! Selection: a user's narrowing of the matrix (`only` and `except` filters of AXIS=V1,V2), the
//! value mask it comes to, and [`select_cells`], the one way every command gets its cells.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};

use crate::cell::Cell;
use crate::definition::Matrix;
use crate::expand::{expand, ValueMask};
use crate::explain::slice_report;

/// One `AXIS=V1,V2` filter, as typed.
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

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.axis, self.values.join(","))
    }
}

/// Whether a filter keeps the cells it names or drops them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Only,
    Except,
}

/// A user's narrowing of the matrix: every `only` must hold and no `except` may.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub only: Vec<Filter>,
    pub except: Vec<Filter>,
}

/// A filter that names an axis or value the matrix does not have. It says which filter, and
/// on which side, so a caller can name it the way the user wrote it (the CLI adds its flag).
#[derive(Debug, thiserror::Error)]
#[error("{filter}: {reason}")]
pub struct FilterError {
    pub side: Side,
    pub filter: Filter,
    /// What is wrong, with the valid axes or values listed.
    pub reason: String,
}

impl Selection {
    /// Per axis, which values the selection keeps. An unknown axis or value is a
    /// [`FilterError`] that lists the valid ones.
    pub fn mask(&self, matrix: &Matrix) -> Result<ValueMask, FilterError> {
        let mut mask = ValueMask::all(matrix);
        for (side, filters) in [(Side::Only, &self.only), (Side::Except, &self.except)] {
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
                let (axis, values) = resolve().map_err(|err| FilterError {
                    side,
                    filter: filter.clone(),
                    reason: err.to_string(),
                })?;
                for (index, slot) in mask.axis_mut(axis).iter_mut().enumerate() {
                    let named = values.contains(&index);
                    *slot &= if side == Side::Only { named } else { !named };
                }
            }
        }
        Ok(mask)
    }

    fn is_empty(&self) -> bool {
        self.only.is_empty() && self.except.is_empty()
    }
}

/// The cells of a selection, or — when it leaves none — an error that says which rules removed
/// what the selection kept. Every command that works on cells gets them here; an empty matrix
/// is never a silent success.
pub fn select_cells(matrix: &Matrix, selection: &Selection) -> Result<Vec<Cell>> {
    let mask = selection.mask(matrix)?;
    let cells = expand(matrix, &mask)?;
    if !cells.is_empty() {
        return Ok(cells);
    }
    let empty_axes: Vec<&str> = mask
        .empty_axes()
        .map(|axis| matrix.axes[axis].name.as_str())
        .collect();
    if !empty_axes.is_empty() {
        bail!(
            "the selection leaves no cells: it excludes every value of {}",
            empty_axes.join(", ")
        );
    }
    let what = if selection.is_empty() {
        format!("the matrix of {} has no cells", matrix.origin)
    } else {
        "the selection leaves no cells".to_string()
    };
    match slice_report(matrix, &mask) {
        Ok(report) => {
            let culprits: Vec<String> = report
                .rules
                .iter()
                .filter(|e| e.breaks > 0)
                .map(|e| {
                    format!(
                        "{} (removes {} of {})",
                        e.rule, e.breaks, report.combinations
                    )
                })
                .collect();
            bail!(
                "{what}: the rules remove all of its {} combinations: {}",
                report.combinations,
                culprits.join(", ")
            )
        }
        Err(_) => bail!("{what}: the rules remove every combination"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(only: &[&str], except: &[&str]) -> Selection {
        Selection {
            only: only.iter().map(|f| f.parse().unwrap()).collect(),
            except: except.iter().map(|f| f.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn the_original_runs_are_selections() {
        let m = Matrix::builtin().unwrap();
        let count =
            |only: &[&str], except: &[&str]| select_cells(&m, &sel(only, except)).unwrap().len();
        assert_eq!(count(&[], &[]), 742);
        assert_eq!(count(&["platform=amd64"], &[]), 259);
        assert_eq!(count(&["platform=arm64", "sanitizer=hwasan"], &[]), 224);
        assert_eq!(
            count(&["platform=amd64", "sanitizer=none,asan,tsan"], &[]),
            245
        );
        assert_eq!(count(&["platform=amd64", "sanitizer=analyzer"], &[]), 14);
        assert_eq!(count(&["platform=amd64"], &["sanitizer=analyzer"]), 245);
    }

    #[test]
    fn unknown_axes_and_values_name_the_filter_and_the_valid_ones_but_no_flag() {
        let m = Matrix::builtin().unwrap();
        let err = sel(&["platfrom=amd64"], &[]).mask(&m).unwrap_err();
        assert_eq!(err.side, Side::Only);
        let text = err.to_string();
        assert!(
            text.starts_with("platfrom=amd64: unknown axis `platfrom`")
                && text.contains("platform, os, python"),
            "{text}"
        );
        let err = sel(&[], &["compiler=gcc,icc"]).mask(&m).unwrap_err();
        assert_eq!(err.side, Side::Except);
        let text = err.to_string();
        assert!(
            text.starts_with("compiler=gcc,icc: unknown value `icc` for axis `compiler`")
                && text.contains("gcc, clang, clang-19")
                && !text.contains("--"),
            "{text}"
        );
        // select_cells passes the structured error through for the caller to word.
        let err = select_cells(&m, &sel(&["compiler=icc"], &[])).unwrap_err();
        assert_eq!(
            err.downcast_ref::<FilterError>().map(|e| e.side),
            Some(Side::Only)
        );
    }

    #[test]
    fn only_keeps_and_except_drops_values() {
        let m = Matrix::builtin().unwrap();
        let compiler = m.axis_index("compiler").unwrap();
        let mask = sel(&["compiler=gcc,clang"], &["compiler=clang"])
            .mask(&m)
            .unwrap();
        assert_eq!(mask[compiler], [true, false, false]);
        assert!(mask
            .iter()
            .enumerate()
            .all(|(axis, row)| axis == compiler || row.iter().all(|&ok| ok)));
    }

    #[test]
    fn filters_parse_strictly_and_print_as_typed() {
        assert!("platform".parse::<Filter>().is_err());
        assert!("platform=".parse::<Filter>().is_err());
        assert!("=amd64".parse::<Filter>().is_err());
        assert!("a=b,,c".parse::<Filter>().is_err());
        let filter: Filter = " a = b, c".parse().unwrap();
        assert_eq!(filter.values, ["b", "c"]);
        assert_eq!(filter.to_string(), "a=b,c");
    }

    #[test]
    fn an_empty_selection_names_the_rules_that_emptied_it() {
        let m = Matrix::builtin().unwrap();
        let err = select_cells(&m, &sel(&["compiler=clang", "sanitizer=analyzer"], &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("analyzer-gcc-only"), "{err}");
        let err = select_cells(&m, &sel(&["compiler=gcc"], &["compiler=gcc"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("excludes every value of compiler"), "{err}");
    }
}
