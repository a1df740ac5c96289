//! Selection: a user's narrowing of the matrix (`only` and `except` filters of AXIS=V1,V2, then
//! optionally a covering subset), the value mask it comes to, and [`select_cells`], the one way
//! every command gets its cells. Cells named by id (`id=…`, cells files): [`ids`].

pub mod ids;

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};

use crate::cell::Cell;
use crate::cover::{cover, CoverOptions, CoverStats};
use crate::definition::Matrix;
use crate::expand::{expand, ValueMask};
use crate::explain::slice_report;
use crate::suggest::did_you_mean;
use ids::IdMatcher;
pub use ids::{CellList, IdPattern, ID_AXIS};

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

/// A user's narrowing of the matrix: every `only` must hold and no `except` may; a cell must be
/// named by every cells list; of the cells left, `cover` keeps a covering subset. A filter on
/// the pseudo-axis [`ID_AXIS`] names cells by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub only: Vec<Filter>,
    pub except: Vec<Filter>,
    /// `--cells FILE`: each list keeps the cells it names.
    pub cells: Vec<CellList>,
    pub cover: Option<CoverRequest>,
}

/// Keep only cells that together hold every `strength`-way combination of values found in the
/// filtered cells ([`crate::cover`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverRequest {
    pub strength: usize,
    /// Another seed, another equally valid cover.
    pub seed: u64,
    /// Ids of cells the cover must hold.
    pub include: Vec<String>,
}

/// The cells a selection comes to and, when it asked for a cover, how the cover compares with
/// the filtered cells it was chosen from.
#[derive(Debug, Clone)]
pub struct Selected {
    pub cells: Vec<Cell>,
    pub cover: Option<CoverStats>,
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
            // Cells named by id are kept after expansion (`keep_named`), not by value.
            for filter in filters.iter().filter(|f| f.axis != ID_AXIS) {
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
        self.only.is_empty() && self.except.is_empty() && self.cells.is_empty()
    }

    /// The filters as the user gave them, for messages: `only a=b, except id=c, cells f.txt`.
    fn describe(&self) -> String {
        (self.only.iter().map(|f| format!("only {f}")))
            .chain(self.except.iter().map(|f| format!("except {f}")))
            .chain(
                self.cells
                    .iter()
                    .map(|l| format!("cells {}", l.path.display())),
            )
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The cells of a selection, or — when it leaves none — an error that says which rules removed
/// what the selection kept. Every command that works on cells gets them here; an empty matrix
/// is never a silent success.
pub fn select_cells(matrix: &Matrix, selection: &Selection) -> Result<Vec<Cell>> {
    Ok(select(matrix, selection)?.cells)
}

/// [`select_cells`], with the cover's statistics when the selection asks for a cover.
pub fn select(matrix: &Matrix, selection: &Selection) -> Result<Selected> {
    let cells = filtered_cells(matrix, selection)?;
    let Some(request) = &selection.cover else {
        return Ok(Selected { cells, cover: None });
    };
    let options = CoverOptions {
        strength: request.strength,
        seed: request.seed,
        include: included(matrix, selection, &cells, &request.include)?,
    };
    let cover = cover(&cells, &options)?;
    let mut keep = vec![false; cells.len()];
    for &i in &cover.chosen {
        keep[i] = true;
    }
    let cells = cells
        .into_iter()
        .zip(keep)
        .filter_map(|(cell, keep)| keep.then_some(cell))
        .collect();
    Ok(Selected {
        cells,
        cover: Some(cover.stats),
    })
}

/// The positions in `cells` of the cells `ids` names; an id that is not one of them is an error
/// that says whether it is no cell at all (with the closest id) or one the filters leave out.
fn included(
    matrix: &Matrix,
    selection: &Selection,
    cells: &[Cell],
    ids: &[String],
) -> Result<Vec<usize>> {
    let mut positions = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(i) = cells.iter().position(|c| c.id == *id) {
            positions.push(i);
            continue;
        }
        let all = expand(matrix, &ValueMask::all(matrix))?;
        if all.iter().any(|c| c.id == *id) {
            bail!(
                "cannot include cell `{id}` in the cover: the selection's filters ({}) leave it out",
                selection.describe()
            );
        }
        bail!(
            "cannot include cell `{id}` in the cover: the matrix of {} has no cell with that id{}",
            matrix.origin,
            did_you_mean(id, all.iter().map(|c| c.id.as_str()))
        );
    }
    Ok(positions)
}

/// One `id=` filter or cells list, compiled: the cells it keeps (or, for `except`, drops).
struct NamedCells<'a> {
    side: Side,
    matcher: IdMatcher,
    /// The `id=` filter it comes from (`None` for a cells list), for the flag in errors.
    filter: Option<&'a Filter>,
}

impl NamedCells<'_> {
    fn keeps(&self, id: &str) -> bool {
        self.matcher.matches(id) == (self.side == Side::Only)
    }
}

/// The `id=` filters and cells lists of a selection.
fn named_cells(selection: &Selection) -> Result<Vec<NamedCells<'_>>> {
    let mut named = Vec::new();
    for (side, filters) in [
        (Side::Only, &selection.only),
        (Side::Except, &selection.except),
    ] {
        for filter in filters.iter().filter(|f| f.axis == ID_AXIS) {
            let patterns: Vec<IdPattern> = (filter.values.iter())
                .map(|text| IdPattern {
                    text: text.clone(),
                    origin: None,
                })
                .collect();
            let matcher = IdMatcher::new(&patterns).map_err(|err| FilterError {
                side,
                filter: filter.clone(),
                reason: err.to_string(),
            })?;
            named.push(NamedCells {
                side,
                matcher,
                filter: Some(filter),
            });
        }
    }
    for list in &selection.cells {
        named.push(NamedCells {
            side: Side::Only,
            matcher: IdMatcher::new(&list.ids)?,
            filter: None,
        });
    }
    Ok(named)
}

/// The cells of `cells` that the `id=` filters and cells lists keep. An id or glob that keeps
/// none of them is an error: it names no cell of the matrix (a typo, with the closest id), or
/// cells the selection's other filters leave out; an `except` only needs to name a cell.
fn keep_named(matrix: &Matrix, selection: &Selection, cells: Vec<Cell>) -> Result<Vec<Cell>> {
    let named = named_cells(selection)?;
    if named.is_empty() {
        return Ok(cells);
    }
    // The whole matrix, expanded only when an error or an `except` needs it.
    let mut whole: Option<Vec<Cell>> = None;
    let all = |whole: &mut Option<Vec<Cell>>| -> Result<()> {
        if whole.is_none() {
            *whole = Some(expand(matrix, &ValueMask::all(matrix))?);
        }
        Ok(())
    };
    for group in &named {
        if group.side == Side::Except {
            all(&mut whole)?;
        }
        let candidates = match group.side {
            Side::Only => &cells,
            Side::Except => whole.as_ref().expect("expanded above"),
        };
        let Some(pattern) = group.matcher.unmatched(candidates) else {
            continue;
        };
        all(&mut whole)?;
        let whole = whole.as_ref().expect("expanded above");
        let reason = if group.matcher.names_any(pattern, whole) {
            format!(
                "{} names cells that the selection's filters ({}) leave out",
                pattern.describe(),
                selection.describe()
            )
        } else {
            IdMatcher::no_cell(pattern, whole, &matrix.origin)
        };
        return Err(match group.filter {
            Some(filter) => FilterError {
                side: group.side,
                filter: filter.clone(),
                reason,
            }
            .into(),
            None => anyhow::anyhow!(reason),
        });
    }
    Ok(cells
        .into_iter()
        .filter(|c| named.iter().all(|g| g.keeps(&c.id)))
        .collect())
}

/// The cells `only`, `except` and the cells lists leave.
fn filtered_cells(matrix: &Matrix, selection: &Selection) -> Result<Vec<Cell>> {
    let mask = selection.mask(matrix)?;
    let cells = keep_named(matrix, selection, expand(matrix, &mask)?)?;
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
            cells: Vec::new(),
            cover: None,
        }
    }

    fn covering(only: &[&str], strength: usize, include: &[&str]) -> Selection {
        Selection {
            cover: Some(CoverRequest {
                strength,
                seed: 0,
                include: include.iter().map(|s| s.to_string()).collect(),
            }),
            ..sel(only, &[])
        }
    }

    #[test]
    fn a_cover_is_taken_after_the_filters_and_keeps_definition_order() {
        let m = Matrix::builtin().unwrap();
        let selected = select(&m, &covering(&["platform=amd64"], 2, &[])).unwrap();
        let filtered = select_cells(&m, &sel(&["platform=amd64"], &[])).unwrap();
        let stats = selected.cover.unwrap();
        assert_eq!((stats.cells, stats.size), (259, selected.cells.len()));
        assert!(selected.cells.len() < 40);
        // A subsequence of the filtered cells, in their order.
        let mut rest = filtered.iter();
        assert!(selected.cells.iter().all(|c| rest.any(|f| f.id == c.id)));
    }

    #[test]
    fn included_ids_must_be_cells_of_the_selection() {
        let m = Matrix::builtin().unwrap();
        let id = "arm64-u24.04-py3.13.0b4-clang19-hwasan-static-nog-pre-release";
        let cells = select_cells(&m, &covering(&[], 2, &[id])).unwrap();
        assert!(cells.iter().any(|c| c.id == id));
        let err = select_cells(&m, &covering(&["platform=amd64"], 2, &[id]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("`{id}`")) && err.contains("(only platform=amd64) leave it out"),
            "{err}"
        );
        let err = select_cells(&m, &covering(&[], 2, &["amd64-f40-py3.12.4-gcc-defualt"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has no cell with that id")
                && err.contains("did you mean `amd64-f40-py3.12.4-gcc-default`"),
            "{err}"
        );
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
