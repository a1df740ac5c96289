//! Covering subsets (`--cover T`): few valid cells that together hold every T-way combination of
//! axis values found in some given cell, chosen among already-expanded cells (never generated).
//!
//! The problem is a unicost set cover: the elements are the T-tuples (T axes and a value on
//! each) that occur in the cells, each cell is the set of tuples it holds. A seeded greedy
//! builds a cover, redundant cells are dropped, then a weighted local search (remove one cell,
//! repair by swaps that favour long-uncovered tuples) looks for a cover one cell smaller, for a
//! fixed number of steps so that the result depends on the input and the seed only.

use std::ops::RangeInclusive;

use anyhow::{bail, Result};
use itertools::Itertools;
use serde::Serialize;

use crate::cell::Cell;

/// The strengths `--cover` accepts.
pub const STRENGTHS: RangeInclusive<usize> = 2..=4;

/// Cell-tuple incidences kept in memory at most (each costs 8 bytes, twice over): past this
/// the problem is refused with a message instead of exhausting memory.
pub const MAX_INCIDENCES: usize = 64 << 20;

/// Local-search steps allowed without finding a smaller cover before the search stops: 64
/// per cell, within these bounds (small problems are settled long before).
const PATIENCE: RangeInclusive<u64> = 2_000..=40_000;
/// Local-search steps at most, whatever happens.
const MAX_STEPS: u64 = 400_000;

/// What `--cover` is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverOptions {
    /// T: every T-tuple of values that occurs in a cell occurs in a chosen cell.
    pub strength: usize,
    /// Another seed gives another, equally valid, cover.
    pub seed: u64,
    /// Indices (into the cells) of cells the cover must hold; it is completed around them.
    pub include: Vec<usize>,
}

/// How a cover compares with what any cover needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverStats {
    pub strength: usize,
    /// The cells the cover was chosen from.
    pub cells: usize,
    /// Distinct T-tuples of values that occur in those cells.
    pub tuples: usize,
    /// No cover is smaller: the most distinct value tuples over any T axes (each cell holds
    /// one tuple of those axes).
    pub lower_bound: usize,
    /// The axes (indices, definition order) whose value tuples make the bound; left out of
    /// the serialized form, where callers put the axes' names.
    #[serde(skip)]
    pub bound_axes: Vec<usize>,
    /// The cells chosen.
    pub size: usize,
    /// Of those, cells forced in with `include`.
    pub included: usize,
}

/// A cover: indices into the cells, ascending, and its statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub chosen: Vec<usize>,
    pub stats: CoverStats,
}

/// A cover of strength `options.strength` of `cells` (each with one value index per axis).
pub fn cover(cells: &[Cell], options: &CoverOptions) -> Result<Cover> {
    let rows: Vec<&[usize]> = cells.iter().map(|c| &*c.values).collect();
    cover_rows(&rows, options)
}

/// [`cover`] over bare value rows, for callers without [`Cell`]s.
pub fn cover_rows(rows: &[&[usize]], options: &CoverOptions) -> Result<Cover> {
    let tuples = Tuples::build(rows, options.strength)?;
    for &i in &options.include {
        if i >= rows.len() {
            bail!("included cell {i} is not one of the {} cells", rows.len());
        }
    }
    let mut search = Search::new(&tuples, options);
    let chosen = search.run();
    let (lower_bound, bound_axes) = tuples.lower_bound();
    let mut included = options.include.clone();
    included.sort_unstable();
    included.dedup();
    Ok(Cover {
        stats: CoverStats {
            strength: options.strength,
            cells: rows.len(),
            tuples: tuples.count(),
            lower_bound,
            bound_axes,
            size: chosen.len(),
            included: included.len(),
        },
        chosen,
    })
}

/// The T-tuples of a set of cells, numbered densely: which ones each cell holds, and which
/// cells hold each.
#[derive(Debug)]
pub struct Tuples {
    strength: usize,
    axis_sets: Vec<Vec<usize>>,
    /// Tuples per cell: C(axes, T).
    per_cell: usize,
    /// Cell `c` holds `cell_tuples[c * per_cell..][..per_cell]`.
    cell_tuples: Vec<u32>,
    /// Tuple `t` is held by `tuple_cells[tuple_start[t]..tuple_start[t + 1]]`.
    tuple_start: Vec<u32>,
    tuple_cells: Vec<u32>,
    /// Distinct tuples per axis set, in `axis_sets` order.
    per_axis_set: Vec<usize>,
}

/// Each axis's radix: one more than the highest value index any row has on it.
fn radix_of(rows: &[&[usize]], axes: usize) -> Vec<u64> {
    let mut radix = vec![0u64; axes];
    for row in rows {
        for (r, &v) in radix.iter_mut().zip(row.iter()) {
            *r = (*r).max(v as u64 + 1);
        }
    }
    radix
}

/// Where each axis set's codes start: the dense code of a tuple is its axis set's offset plus
/// its values in mixed radix.
fn offsets_of(axis_sets: &[Vec<usize>], radix: &[u64], strength: usize) -> Result<Vec<u64>> {
    let mut offsets = Vec::with_capacity(axis_sets.len());
    let mut next: u64 = 0;
    for set in axis_sets {
        offsets.push(next);
        let size = set
            .iter()
            .try_fold(1u64, |acc, &a| acc.checked_mul(radix[a]));
        next = match size.and_then(|s| next.checked_add(s)) {
            Some(n) => n,
            None => {
                bail!("a cover of strength {strength}: too many value combinations to number")
            }
        };
    }
    Ok(offsets)
}

/// Per-tuple cell lists from each cell's tuples (`per_cell` a cell, in cell order): where each
/// tuple's cells start, and the cells (a counting sort keeps them ascending).
fn transpose(cell_tuples: &[u32], tuples: usize, per_cell: usize) -> (Vec<u32>, Vec<u32>) {
    let mut tuple_start = vec![0u32; tuples + 1];
    for &t in cell_tuples {
        tuple_start[t as usize + 1] += 1;
    }
    for t in 0..tuples {
        tuple_start[t + 1] += tuple_start[t];
    }
    let mut fill = tuple_start.clone();
    let mut tuple_cells = vec![0u32; cell_tuples.len()];
    for (i, &t) in cell_tuples.iter().enumerate() {
        tuple_cells[fill[t as usize] as usize] = (i / per_cell) as u32;
        fill[t as usize] += 1;
    }
    (tuple_start, tuple_cells)
}

impl Tuples {
    pub fn build(rows: &[&[usize]], strength: usize) -> Result<Self> {
        if !STRENGTHS.contains(&strength) {
            bail!(
                "a cover of strength {strength}: the strength must be {} to {}",
                STRENGTHS.start(),
                STRENGTHS.end()
            );
        }
        let axes = rows.first().map_or(0, |r| r.len());
        if axes < strength {
            bail!(
                "a cover of strength {strength} needs at least {strength} axes; the matrix has \
                 {axes}"
            );
        }
        let axis_sets: Vec<Vec<usize>> = (0..axes).combinations(strength).collect();
        let per_cell = axis_sets.len();
        let incidences = rows.len().saturating_mul(per_cell);
        if incidences > MAX_INCIDENCES || rows.len() > u32::MAX as usize {
            bail!(
                "a cover of strength {strength} over {} cells of {axes} axes is {incidences} \
                 cell-tuples, more than the {MAX_INCIDENCES} it handles: select fewer cells or \
                 lower the strength",
                rows.len()
            );
        }
        let radix = radix_of(rows, axes);
        let offsets = offsets_of(&axis_sets, &radix, strength)?;
        let code = |row: &[usize], set: usize| -> u64 {
            axis_sets[set]
                .iter()
                .fold(0u64, |acc, &a| acc * radix[a] + row[a] as u64)
                + offsets[set]
        };
        let mut codes: Vec<u64> = Vec::with_capacity(incidences);
        for row in rows {
            codes.extend((0..per_cell).map(|set| code(row, set)));
        }
        let mut distinct = codes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let mut per_axis_set = vec![0usize; per_cell];
        let mut set = 0;
        for &c in &distinct {
            while set + 1 < per_cell && c >= offsets[set + 1] {
                set += 1;
            }
            per_axis_set[set] += 1;
        }
        let cell_tuples: Vec<u32> = codes
            .iter()
            .map(|c| {
                distinct
                    .binary_search(c)
                    .expect("every code is in the list") as u32
            })
            .collect();
        drop(codes);
        let (tuple_start, tuple_cells) = transpose(&cell_tuples, distinct.len(), per_cell);
        Ok(Tuples {
            strength,
            axis_sets,
            per_cell,
            cell_tuples,
            tuple_start,
            tuple_cells,
            per_axis_set,
        })
    }

    /// Distinct tuples.
    pub fn count(&self) -> usize {
        self.tuple_start.len() - 1
    }

    pub fn strength(&self) -> usize {
        self.strength
    }

    /// The tuples cell `c` holds.
    pub fn of_cell(&self, c: usize) -> &[u32] {
        &self.cell_tuples[c * self.per_cell..][..self.per_cell]
    }

    /// The cells that hold tuple `t`, ascending.
    pub fn holders(&self, t: u32) -> &[u32] {
        let t = t as usize;
        &self.tuple_cells[self.tuple_start[t] as usize..self.tuple_start[t + 1] as usize]
    }

    /// The largest number of distinct tuples over one axis set, and the first such set.
    pub fn lower_bound(&self) -> (usize, Vec<usize>) {
        let best = self
            .per_axis_set
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
            .map_or(0, |(i, _)| i);
        (self.per_axis_set[best], self.axis_sets[best].clone())
    }

    /// Whether `chosen` holds every tuple.
    pub fn covered_by(&self, chosen: &[usize]) -> bool {
        let mut seen = vec![false; self.count()];
        for &c in chosen {
            for &t in self.of_cell(c) {
                seen[t as usize] = true;
            }
        }
        seen.iter().all(|&s| s)
    }
}

/// SplitMix64: a fixed, documented generator, so a seed means the same cover in every
/// version of this program (a crate's generator may change its stream between releases).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the tiny modulo bias does not matter for a search.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A set of indices with O(1) insert, remove and random pick.
#[derive(Debug, Clone)]
struct IndexSet {
    items: Vec<u32>,
    position: Vec<u32>,
}

impl IndexSet {
    const ABSENT: u32 = u32::MAX;

    fn new(universe: usize) -> Self {
        IndexSet {
            items: Vec::new(),
            position: vec![Self::ABSENT; universe],
        }
    }

    fn insert(&mut self, i: u32) {
        if self.position[i as usize] == Self::ABSENT {
            self.position[i as usize] = self.items.len() as u32;
            self.items.push(i);
        }
    }

    fn remove(&mut self, i: u32) {
        let at = self.position[i as usize];
        if at == Self::ABSENT {
            return;
        }
        let last = self.items.pop().expect("a present item");
        if last != i {
            self.items[at as usize] = last;
            self.position[last as usize] = at;
        }
        self.position[i as usize] = Self::ABSENT;
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The state of the search: a set of chosen cells, how often each tuple is held, and per-tuple
/// weights that grow while a tuple stays uncovered (so the search stops neglecting it).
struct Search<'a> {
    tuples: &'a Tuples,
    chosen: Vec<bool>,
    forced: Vec<bool>,
    members: IndexSet,
    /// Chosen cells holding each tuple.
    count: Vec<u32>,
    /// XOR of the chosen cells holding each tuple: the sole holder when `count` is 1.
    holder_xor: Vec<u32>,
    weight: Vec<u64>,
    /// Not chosen: the weight of uncovered tuples the cell holds (what adding it gains).
    /// Chosen: minus the weight of tuples only it holds (what removing it loses).
    score: Vec<i64>,
    uncovered: IndexSet,
    /// The step at which each cell last went in or out: ties go to the longest unchanged.
    changed: Vec<u64>,
    /// Random rank per cell, the last tie-breaker: the seed's say in which cover is found.
    rank: Vec<u64>,
    rng: SplitMix64,
}

impl<'a> Search<'a> {
    fn new(tuples: &'a Tuples, options: &CoverOptions) -> Self {
        let cells = tuples.tuple_cells.len() / tuples.per_cell.max(1);
        let mut rng = SplitMix64(options.seed ^ 0x6d61_7472_6978_0000);
        let rank = (0..cells).map(|_| rng.next()).collect();
        let mut forced = vec![false; cells];
        for &i in &options.include {
            forced[i] = true;
        }
        let mut uncovered = IndexSet::new(tuples.count());
        for t in 0..tuples.count() {
            uncovered.insert(t as u32);
        }
        Search {
            tuples,
            chosen: vec![false; cells],
            forced,
            members: IndexSet::new(cells),
            count: vec![0; tuples.count()],
            holder_xor: vec![0; tuples.count()],
            weight: vec![1; tuples.count()],
            score: vec![tuples.per_cell as i64; cells],
            uncovered,
            changed: vec![0; cells],
            rank,
            rng,
        }
    }

    fn add(&mut self, v: usize, step: u64) {
        debug_assert!(!self.chosen[v]);
        self.chosen[v] = true;
        self.members.insert(v as u32);
        self.changed[v] = step;
        for &t in self.tuples.of_cell(v) {
            let ti = t as usize;
            let w = self.weight[ti] as i64;
            match self.count[ti] {
                0 => {
                    for &u in self.tuples.holders(t) {
                        self.score[u as usize] -= w;
                    }
                    self.uncovered.remove(t);
                }
                1 => self.score[self.holder_xor[ti] as usize] += w,
                _ => {}
            }
            self.count[ti] += 1;
            self.holder_xor[ti] ^= v as u32;
        }
        self.score[v] = -self.sole_weight(v);
    }

    fn remove(&mut self, v: usize, step: u64) {
        debug_assert!(self.chosen[v]);
        self.chosen[v] = false;
        self.members.remove(v as u32);
        self.changed[v] = step;
        for &t in self.tuples.of_cell(v) {
            let ti = t as usize;
            let w = self.weight[ti] as i64;
            self.count[ti] -= 1;
            self.holder_xor[ti] ^= v as u32;
            match self.count[ti] {
                0 => {
                    for &u in self.tuples.holders(t) {
                        self.score[u as usize] += w;
                    }
                    self.uncovered.insert(t);
                }
                1 => self.score[self.holder_xor[ti] as usize] -= w,
                _ => {}
            }
        }
        self.score[v] = self
            .tuples
            .of_cell(v)
            .iter()
            .filter(|&&t| self.count[t as usize] == 0)
            .map(|&t| self.weight[t as usize] as i64)
            .sum();
    }

    /// The weight of tuples only `v` holds.
    fn sole_weight(&self, v: usize) -> i64 {
        self.tuples
            .of_cell(v)
            .iter()
            .filter(|&&t| self.count[t as usize] == 1)
            .map(|&t| self.weight[t as usize] as i64)
            .sum()
    }

    /// Whether `a` is a better pick than `b`: higher score, then longer unchanged, then rank.
    fn better(&self, a: usize, b: usize) -> bool {
        (
            self.score[a],
            std::cmp::Reverse(self.changed[a]),
            self.rank[a],
        ) > (
            self.score[b],
            std::cmp::Reverse(self.changed[b]),
            self.rank[b],
        )
    }

    /// The chosen, unforced cell whose removal loses least, except `tabu`.
    fn best_member(&self, tabu: Option<usize>) -> Option<usize> {
        let mut best: Option<usize> = None;
        for &m in &self.members.items {
            let m = m as usize;
            if self.forced[m] || Some(m) == tabu {
                continue;
            }
            if best.is_none_or(|b| self.better(m, b)) {
                best = Some(m);
            }
        }
        best
    }

    /// Drops chosen cells that hold no tuple alone, least useful first, until none is left.
    fn drop_redundant(&mut self, step: u64) {
        while let Some(m) = self.best_member(None) {
            if self.score[m] < 0 {
                break;
            }
            self.remove(m, step);
        }
    }

    fn chosen_sorted(&self) -> Vec<usize> {
        let mut chosen: Vec<usize> = self.members.items.iter().map(|&m| m as usize).collect();
        chosen.sort_unstable();
        chosen
    }

    fn run(&mut self) -> Vec<usize> {
        let cells = self.chosen.len();
        let forced: Vec<usize> = (0..cells).filter(|&c| self.forced[c]).collect();
        for c in forced {
            self.add(c, 0);
        }
        // Greedy: the cell that covers the most uncovered tuples (all weights are 1 here).
        while !self.uncovered.is_empty() {
            let mut best: Option<usize> = None;
            for c in 0..cells {
                if !self.chosen[c] && best.is_none_or(|b| self.better(c, b)) {
                    best = Some(c);
                }
            }
            let c = best.expect("an uncovered tuple is held by an unchosen cell");
            self.add(c, 0);
        }
        self.drop_redundant(0);
        let (lower_bound, _) = self.tuples.lower_bound();
        let mut best = self.chosen_sorted();
        let mut step: u64 = 1;
        let mut last_better: u64 = 0;
        let mut just_added: Option<usize> = None;
        let patience = (cells as u64 * 64).clamp(*PATIENCE.start(), *PATIENCE.end());
        while step <= MAX_STEPS && step - last_better <= patience && best.len() > lower_bound {
            if self.uncovered.is_empty() {
                if self.members.len() < best.len() {
                    best = self.chosen_sorted();
                    last_better = step;
                }
                // Look for a cover one smaller: drop the cell that loses least.
                match self.best_member(None) {
                    Some(m) => self.remove(m, step),
                    None => break, // only forced cells are left
                }
                step += 1;
                continue;
            }
            // Swap: drop the chosen cell that loses least (not the one just added) ...
            let Some(out) = self.best_member(just_added) else {
                break;
            };
            self.remove(out, step);
            // ... and add the best cell holding a random uncovered tuple (not the one dropped).
            let t = self.uncovered.items[self.rng.below(self.uncovered.len())];
            let mut pick: Option<usize> = None;
            for &c in self.tuples.holders(t) {
                let c = c as usize;
                if self.chosen[c] || c == out {
                    continue;
                }
                if pick.is_none_or(|p| self.better(c, p)) {
                    pick = Some(c);
                }
            }
            // The tuple's only holder was just dropped: add it back, it is the only repair.
            let pick = pick.unwrap_or(out);
            self.add(pick, step);
            just_added = Some(pick);
            // Tuples still uncovered weigh more, so the search turns to them.
            for i in 0..self.uncovered.len() {
                let t = self.uncovered.items[i];
                self.weight[t as usize] += 1;
                for &u in self.tuples.holders(t) {
                    self.score[u as usize] += 1;
                }
            }
            step += 1;
        }
        if self.uncovered.is_empty() && self.members.len() < best.len() {
            best = self.chosen_sorted();
        }
        // The best cover was seen mid-search and may hold a cell the budget left no step to
        // drop: go back to it and drop what is redundant.
        for m in self.chosen_sorted() {
            self.remove(m, step);
        }
        for &c in &best {
            self.add(c, step);
        }
        self.drop_redundant(step);
        self.chosen_sorted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Matrix;
    use crate::expand::{expand, ValueMask};

    fn default_cells() -> Vec<Cell> {
        let m = Matrix::builtin().unwrap();
        expand(&m, &ValueMask::all(&m)).unwrap()
    }

    fn options(strength: usize) -> CoverOptions {
        CoverOptions {
            strength,
            ..CoverOptions::default()
        }
    }

    /// Every chosen cell not forced in holds some tuple no other chosen cell holds.
    fn assert_irredundant(cells: &[Cell], cover: &Cover, strength: usize, forced: &[usize]) {
        let rows: Vec<&[usize]> = cells.iter().map(|c| &*c.values).collect();
        let tuples = Tuples::build(&rows, strength).unwrap();
        assert!(tuples.covered_by(&cover.chosen));
        for (i, &c) in cover.chosen.iter().enumerate() {
            if forced.contains(&c) {
                continue;
            }
            let mut rest = cover.chosen.clone();
            rest.remove(i);
            assert!(!tuples.covered_by(&rest), "cell {c} is redundant");
        }
    }

    #[test]
    fn the_default_matrix_is_covered_optimally_for_pairs_and_triples() {
        let cells = default_cells();
        let m = Matrix::builtin().unwrap();
        // The optima proven by an integer program over the 742 cells (issue 13): 21 and 59.
        for (strength, tuples, bound, axes, size) in [
            (2, 250, 20, vec!["sanitizer", "configure"], 21),
            (3, 1341, 52, vec!["compiler", "sanitizer", "configure"], 59),
        ] {
            let cover = cover(&cells, &options(strength)).unwrap();
            let names: Vec<&str> = (cover.stats.bound_axes.iter())
                .map(|&a| m.axes[a].name.as_str())
                .collect();
            assert_eq!(
                (cover.stats.tuples, cover.stats.lower_bound, names),
                (tuples, bound, axes)
            );
            assert_eq!(cover.chosen.len(), size, "--cover {strength}");
            assert_eq!(cover.stats.size, size);
            assert_irredundant(&cells, &cover, strength, &[]);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_cover_and_others_rotate() {
        let cells = default_cells();
        let with_seed = |seed| {
            let options = CoverOptions { seed, ..options(2) };
            cover(&cells, &options).unwrap().chosen
        };
        let first = with_seed(0);
        assert_eq!(first, with_seed(0));
        let others: Vec<Vec<usize>> = (1..4).map(with_seed).collect();
        assert!(others.iter().any(|o| *o != first), "seeds do not rotate");
        assert!(others.iter().all(|o| o.len() == 21));
    }

    #[test]
    fn included_cells_stay_and_the_cover_is_completed_around_them() {
        let cells = default_cells();
        // Cells a pairwise cover would not pick together: the first ten.
        let include: Vec<usize> = (0..10).collect();
        let options = CoverOptions {
            include: include.clone(),
            ..options(2)
        };
        let cover = cover(&cells, &options).unwrap();
        assert!(include.iter().all(|i| cover.chosen.contains(i)));
        assert_eq!(cover.stats.included, 10);
        assert_irredundant(&cells, &cover, 2, &include);
        // Forcing every cell leaves nothing to choose.
        let all = CoverOptions {
            include: (0..cells.len()).collect(),
            ..options
        };
        assert_eq!(
            super::cover(&cells, &all).unwrap().chosen.len(),
            cells.len()
        );
    }

    #[test]
    fn strengths_outside_2_to_4_and_beyond_the_axes_are_refused() {
        let rows: Vec<&[usize]> = vec![&[0, 1], &[1, 0]];
        let err = cover_rows(&rows, &options(5)).unwrap_err().to_string();
        assert!(err.contains("must be 2 to 4"), "{err}");
        let err = cover_rows(&rows, &options(3)).unwrap_err().to_string();
        assert!(
            err.contains("needs at least 3 axes; the matrix has 2"),
            "{err}"
        );
        let pairs = cover_rows(&rows, &options(2)).unwrap();
        assert_eq!((pairs.chosen, pairs.stats.lower_bound), (vec![0, 1], 2));
    }
}
