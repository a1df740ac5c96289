//! `--cover T` against a brute-force oracle over random definitions, rules and selections:
//! every tuple found in a selected valid cell is covered, every chosen cell is one of them,
//! none is redundant, forced cells stay, the bound is right, and the same input gives the same
//! cover.

use std::collections::BTreeSet;

use itertools::Itertools;
use matrix::cover::{cover, CoverOptions};
use matrix::definition::Matrix;
use matrix::expand::expand;
use matrix::rules::broken_rules;
use proptest::prelude::*;

use crate::rule_engine::{definition_with_axes, selection};

/// Every (axes, values) T-tuple the cells hold, computed the obvious way.
fn tuples_of<'a>(
    cells: impl IntoIterator<Item = &'a [usize]>,
    strength: usize,
) -> BTreeSet<(Vec<usize>, Vec<usize>)> {
    let mut out = BTreeSet::new();
    for cell in cells {
        for axes in (0..cell.len()).combinations(strength) {
            let values = axes.iter().map(|&a| cell[a]).collect();
            out.insert((axes, values));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn covers_are_complete_irredundant_valid_and_deterministic(
        raw in definition_with_axes(2..=6),
        strength in 2usize..=4,
        seed in any::<u64>(),
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        filters in proptest::collection::vec((0usize..8, 0usize..8, any::<bool>()), 0..2),
    ) {
        let m = Matrix::compile(raw, "random").unwrap();
        let cells = expand(&m, &selection(&m, &filters).mask(&m).unwrap()).unwrap();
        prop_assume!(!cells.is_empty() && m.axes.len() >= strength);
        let mut include: Vec<usize> = picks.iter().map(|p| p.index(cells.len())).collect();
        let options = CoverOptions { strength, seed, include: include.clone() };
        let found = cover(&cells, &options).unwrap();
        prop_assert_eq!(&found, &cover(&cells, &options).unwrap(), "not deterministic");

        let chosen = &found.chosen;
        prop_assert!(chosen.windows(2).all(|w| w[0] < w[1]), "not ascending and distinct");
        prop_assert!(chosen.iter().all(|&c| c < cells.len()));
        for &c in chosen {
            prop_assert!(broken_rules(&m.rules, &cells[c].values).is_empty());
        }
        include.sort_unstable();
        include.dedup();
        prop_assert!(include.iter().all(|i| chosen.contains(i)), "an included cell is missing");

        let all = tuples_of(cells.iter().map(|c| &*c.values), strength);
        let held = tuples_of(chosen.iter().map(|&c| &*cells[c].values), strength);
        prop_assert_eq!(&held, &all, "a tuple is not covered");
        for (i, &c) in chosen.iter().enumerate() {
            if include.contains(&c) {
                continue;
            }
            let rest = chosen.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &d)| &*cells[d].values);
            prop_assert!(tuples_of(rest, strength) != all, "cell {} is redundant", cells[c].id);
        }

        let per_axes = all.iter().counts_by(|(axes, _)| axes.clone());
        let bound = per_axes.values().copied().max().unwrap();
        prop_assert_eq!(found.stats.lower_bound, bound);
        prop_assert_eq!(per_axes[&found.stats.bound_axes], bound);
        prop_assert_eq!(found.stats.tuples, all.len());
        prop_assert!(chosen.len() >= bound);
        prop_assert_eq!(found.stats.size, chosen.len());
        prop_assert_eq!(found.stats.included, include.len());
    }
}
