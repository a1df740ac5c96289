//! Grouping cells so that a field shared by many cells is written once per group instead of
//! once per cell: which fields travel with the group (a step's arguments) and which with each
//! cell (an item of the group's `withParam` list) is chosen to make the manifest smallest.

use std::collections::HashMap;

use super::compact::Values;

/// Bytes a field costs in a group step's arguments besides its name and value
/// (`- name: ` / `value: ` and indentation).
const GROUP_FIELD_COST: usize = 30;
/// Bytes a group step costs besides its fields.
const GROUP_COST: usize = 70;
/// Bytes a field costs in a cell's JSON item besides its name and value (`"":"",`).
const CELL_FIELD_COST: usize = 6;

/// Cells in groups: `hoisted[f]` says whether field `f` is a group field; every cell of a group
/// has the same value for each group field.
#[derive(Debug, Clone)]
pub struct Grouping {
    pub hoisted: Vec<bool>,
    /// Cell indices per group, groups in order of their first cell, cells in order.
    pub groups: Vec<Vec<usize>>,
}

/// Chooses the group fields greedily: starting from one group holding every cell with all
/// fields per cell, move to the group the field that shrinks the estimated size most, while
/// one does. `pinned` fields always stay per cell.
pub fn choose(names: &[String], values: &Values, pinned: &[bool]) -> Grouping {
    let fields = names.len();
    let mut hoisted = vec![false; fields];
    let mut best = cost(names, values, &hoisted);
    loop {
        let mut pick = None;
        for f in 0..fields {
            if hoisted[f] || pinned[f] {
                continue;
            }
            hoisted[f] = true;
            let candidate = cost(names, values, &hoisted);
            hoisted[f] = false;
            if candidate < best {
                best = candidate;
                pick = Some(f);
            }
        }
        match pick {
            Some(f) => hoisted[f] = true,
            None => break,
        }
    }
    let groups = partition(values, &hoisted);
    Grouping { hoisted, groups }
}

/// The numbers of cell `c`'s values of the group fields: equal keys, one group.
fn key(values: &Values, c: usize, hoisted: &[bool]) -> Vec<u32> {
    (hoisted.iter().enumerate())
        .filter(|(_, &h)| h)
        .map(|(f, _)| values.id(c, f))
        .collect()
}

fn partition(values: &Values, hoisted: &[bool]) -> Vec<Vec<usize>> {
    let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for c in 0..values.cells() {
        let next = groups.len();
        let g = *index.entry(key(values, c, hoisted)).or_insert(next);
        if g == next {
            groups.push(Vec::new());
        }
        groups[g].push(c);
    }
    groups
}

/// Estimated bytes of all group steps and cell items for a choice of group fields.
fn cost(names: &[String], values: &Values, hoisted: &[bool]) -> usize {
    let mut total = 0;
    let mut seen: HashMap<Vec<u32>, ()> = HashMap::new();
    for c in 0..values.cells() {
        if seen.insert(key(values, c, hoisted), ()).is_none() {
            total += GROUP_COST;
            for (f, name) in names.iter().enumerate().filter(|(f, _)| hoisted[*f]) {
                total += GROUP_FIELD_COST + name.len() + values.get(c, f).len();
            }
        }
        for (f, name) in names.iter().enumerate().filter(|(f, _)| !hoisted[*f]) {
            total += CELL_FIELD_COST + name.len() + values.get(c, f).len();
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_shared_values_move_to_groups_and_unique_ones_stay() {
        let names: Vec<String> = ["id", "flags"].iter().map(|s| s.to_string()).collect();
        let long = "x".repeat(200);
        let values: Vec<Vec<String>> = (0..40)
            .map(|i| vec![format!("cell{i}"), format!("{long}{}", i % 2)])
            .collect();
        let values = Values::from_rows(&values);
        let g = choose(&names, &values, &[true, false]);
        assert_eq!(g.hoisted, [false, true]);
        assert_eq!(g.groups.len(), 2);
        assert_eq!(g.groups[0], (0..40).step_by(2).collect::<Vec<_>>());
        for group in &g.groups {
            assert!(group
                .iter()
                .all(|&c| values.get(c, 1) == values.get(group[0], 1)));
        }
    }

    #[test]
    fn pinned_fields_are_never_hoisted() {
        let names = vec!["a".to_string()];
        let values = Values::from_rows(&vec![vec!["same".repeat(50)]; 10]);
        assert_eq!(choose(&names, &values, &[true]).hoisted, [false]);
        assert_eq!(choose(&names, &values, &[false]).hoisted, [true]);
    }
}
