//! Which cells carry which of the definition's blind spots (`when` holds and nothing in the
//! cell's build plan lifts it), counted for `explain --blind-spots` and `check`'s warnings.

use anyhow::Result;
use serde::Serialize;

use crate::cell::Cell;
use crate::definition::blind_spots::{BlindSpot, Lift, Pattern};
use crate::definition::Matrix;
use crate::export::{json_bytes, Export, OutputFormat};
use crate::plan::BuildPlan;
use crate::table::{visible, with_header, wrap_words};

/// Whether `plan` has the item `lift` looks for.
pub fn lifts(lift: &Lift, plan: &BuildPlan) -> bool {
    let any = |items: &[String], pattern: &Pattern| items.iter().any(|i| pattern.matches(i));
    match lift {
        Lift::Configure(pattern) => any(&plan.configure_args, pattern),
        Lift::Compile(pattern) => any(&plan.compile_flags, pattern),
        Lift::Link(pattern) => any(&plan.link_flags, pattern),
        Lift::Env { name, value } => {
            (plan.env.iter()).any(|v| v.name == *name && value.matches(&v.value))
        }
        Lift::Wrap(pattern) => any(&plan.wrap, pattern),
    }
}

/// Whether the blind spot applies to a cell whose build plan is `plan`.
pub fn applies(spot: &BlindSpot, cell: &Cell, plan: &BuildPlan) -> bool {
    spot.when.holds(&cell.values) && !spot.unless.iter().any(|lift| lifts(lift, plan))
}

/// One blind spot and how many cells carry it: a row of `explain --blind-spots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlindSpotCount {
    pub rule: String,
    pub cells: usize,
    pub reason: String,
    pub hides: Vec<String>,
}

/// The blind spots of a set of cells, in definition order (those no cell carries with 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlindSpotsReport {
    /// The cells counted.
    pub cells: usize,
    /// Of them, the cells that carry at least one blind spot.
    pub blind_cells: usize,
    pub blind_spots: Vec<BlindSpotCount>,
}

/// Counts, per blind spot of `matrix`, the `cells` it applies to. A cell's build plan is made
/// only when some blind spot's `when` holds for it; a plan that cannot be made is the error.
pub fn count(matrix: &Matrix, cells: &[Cell]) -> Result<BlindSpotsReport> {
    let spots = &matrix.blind_spots;
    let mut counts = vec![0usize; spots.len()];
    let mut blind_cells = 0;
    for cell in cells {
        if !spots.iter().any(|s| s.when.holds(&cell.values)) {
            continue;
        }
        let plan = BuildPlan::for_cell(matrix, cell)?;
        let mut blind = false;
        for (count, spot) in counts.iter_mut().zip(spots) {
            if applies(spot, cell, &plan) {
                *count += 1;
                blind = true;
            }
        }
        blind_cells += usize::from(blind);
    }
    Ok(BlindSpotsReport {
        cells: cells.len(),
        blind_cells,
        blind_spots: spots
            .iter()
            .zip(counts)
            .map(|(spot, cells)| BlindSpotCount {
                rule: spot.name.clone(),
                cells,
                reason: spot.reason.clone(),
                hides: spot.hides.clone(),
            })
            .collect(),
    })
}

/// The CSV columns of `explain --blind-spots --format csv`; `hides` space-separated.
pub const CSV_HEADER: [&str; 4] = ["rule", "cells", "reason", "hides"];

/// How wide the table may be: a terminal's 80 columns.
const TABLE_WIDTH: usize = 80;

impl Export for BlindSpotsReport {
    const WHAT: &'static str = "a list of blind spots";
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Csv, OutputFormat::Json, OutputFormat::Table];

    fn csv(&self) -> Result<Vec<u8>> {
        let mut w = crate::spreadsheet::Writer::new();
        w.write_record(CSV_HEADER)?;
        for spot in &self.blind_spots {
            w.write_record([
                spot.rule.as_str(),
                &spot.cells.to_string(),
                &spot.reason,
                &spot.hides.join(" "),
            ])?;
        }
        w.into_inner()
    }

    fn json(&self) -> Result<Vec<u8>> {
        json_bytes(self)
    }

    /// A line of totals, then per blind spot a row (rule, cells, one hidden class a line) and
    /// its reason under it, indented and wrapped to 80 columns.
    fn table(&self) -> Result<Vec<u8>> {
        let mut text = format!(
            "{} cells, {} of them with a blind spot\n",
            self.cells, self.blind_cells
        );
        if self.blind_spots.is_empty() {
            text.push_str("the definition names no blind spots\n");
            return Ok(text.into_bytes());
        }
        let header = ["rule", "cells", "hides"].map(String::from);
        let mut rows = Vec::new();
        // Per blind spot, the index of its last row.
        let mut last_rows = Vec::new();
        for spot in &self.blind_spots {
            let mut hides = spot.hides.iter().map(String::as_str);
            let first = hides.next().unwrap_or("(none)");
            rows.push(vec![
                spot.rule.clone(),
                spot.cells.to_string(),
                first.into(),
            ]);
            rows.extend(hides.map(|h| vec![String::new(), String::new(), h.to_string()]));
            last_rows.push(rows.len() - 1);
        }
        let aligned = with_header(&header, &rows, &[false, true, false]);
        let mut lines = aligned.lines();
        for line in lines.by_ref().take(2) {
            text.push_str(line);
            text.push('\n');
        }
        let mut spots = self.blind_spots.iter().zip(&last_rows).peekable();
        for (row, line) in lines.enumerate() {
            text.push_str(line);
            text.push('\n');
            if let Some((spot, _)) = spots.next_if(|(_, &last)| last == row) {
                for reason_line in wrap_words(&visible(&spot.reason), TABLE_WIDTH - 4) {
                    text.push_str(&format!("    {reason_line}\n"));
                }
            }
        }
        Ok(text.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{RawDefinition, BUILTIN_DEFINITION};
    use crate::expand::{expand, ValueMask};

    fn matrix_with(spots: &str) -> Matrix {
        let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "t").unwrap();
        raw.blind_spots = serde_yaml::from_str(spots).unwrap();
        Matrix::compile(raw, "t").unwrap()
    }

    fn plan(configure: &[&str], env: &[(&str, &str)], wrap: &[&str]) -> BuildPlan {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        BuildPlan {
            configure_args: strings(configure),
            env: (env.iter())
                .map(|(name, value)| crate::plan::EnvVar {
                    name: name.to_string(),
                    value: value.to_string(),
                })
                .collect(),
            wrap: strings(wrap),
            ..BuildPlan::default()
        }
    }

    #[test]
    fn unless_items_are_looked_for_in_their_part_of_the_plan() {
        let p = |t: &str| Pattern::new(t);
        let lift = Lift::Configure(p("--without-pymalloc"));
        assert!(lifts(
            &lift,
            &plan(&["--with-pydebug", "--without-pymalloc"], &[], &[])
        ));
        assert!(!lifts(&lift, &plan(&["--with-pydebug"], &[], &[])));
        // A configure pattern is not looked for among the compile flags.
        let mut compile_only = plan(&[], &[], &[]);
        compile_only.compile_flags = vec!["--without-pymalloc".into()];
        assert!(!lifts(&lift, &compile_only));
        let lift = Lift::Env {
            name: "TSAN_OPTIONS".into(),
            value: p("*suppressions=*"),
        };
        assert!(lifts(
            &lift,
            &plan(
                &[],
                &[("TSAN_OPTIONS", "halt_on_error=1:suppressions=/s")],
                &[]
            )
        ));
        assert!(!lifts(
            &lift,
            &plan(&[], &[("TSAN_OPTIONS", "halt_on_error=1")], &[])
        ));
        assert!(!lifts(
            &lift,
            &plan(&[], &[("ASAN_OPTIONS", "suppressions=/s")], &[])
        ));
        let lift = Lift::Wrap(p("setarch"));
        assert!(lifts(&lift, &plan(&[], &[], &["setarch", "-R"])));
        assert!(!lifts(&lift, &plan(&[], &[], &[])));
    }

    proptest::proptest! {
        #[test]
        fn an_item_lifts_in_its_own_part_of_the_plan_only(
            items in proptest::collection::vec("[a-z=-]{1,6}", 1..4),
            pick in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let item = pick.get(&items);
            let words: Vec<&str> = items.iter().map(String::as_str).collect();
            let p = plan(&words, &[], &[]);
            proptest::prop_assert!(lifts(&Lift::Configure(Pattern::new(item)), &p));
            let starred = format!("*{item}");
            proptest::prop_assert!(lifts(&Lift::Configure(Pattern::new(&starred)), &p));
            proptest::prop_assert!(!lifts(&Lift::Compile(Pattern::new(item)), &p));
            proptest::prop_assert!(!lifts(&Lift::Wrap(Pattern::new("*")), &p));
            // An upper-case letter is in no item: a pattern that needs one matches none.
            let longer = format!("{item}X");
            proptest::prop_assert!(!lifts(&Lift::Configure(Pattern::new(&longer)), &p));
        }
    }

    #[test]
    fn a_contribution_that_lifts_it_takes_its_cells_out() {
        let spots =
            "- { name: pym, reason: r., hides: [use-after-free], when: { sanitizer: asan }, \
                     unless: { configure: [--without-pymalloc] } }";
        let m = matrix_with(spots);
        let cells = expand(&m, &ValueMask::all(&m)).unwrap();
        let asan = cells.iter().filter(|c| c.id.contains("-asan-")).count();
        let report = count(&m, &cells).unwrap();
        assert_eq!(report.blind_spots[0].cells, asan);
        // Pydebug cells configure --without-pymalloc too now: only the others stay blind.
        let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "t").unwrap();
        raw.blind_spots = serde_yaml::from_str(spots).unwrap();
        let debug = raw
            .contributions
            .iter_mut()
            .find(|c| c.configure.contains(&"--with-pydebug".to_string()))
            .unwrap();
        debug.configure.push("--without-pymalloc".into());
        let m = Matrix::compile(raw, "t").unwrap();
        let debug_asan = cells
            .iter()
            .filter(|c| c.id.contains("-asan-") && c.id.ends_with("-debug"))
            .count();
        assert!(debug_asan > 0);
        let report = count(&m, &cells).unwrap();
        assert_eq!(report.blind_spots[0].cells, asan - debug_asan);
        assert_eq!(report.blind_cells, asan - debug_asan);
    }

    #[test]
    fn the_table_fits_80_columns_and_lists_every_hidden_class() {
        let report = BlindSpotsReport {
            cells: 10,
            blind_cells: 4,
            blind_spots: vec![
                BlindSpotCount {
                    rule: "a-rule".into(),
                    cells: 4,
                    reason: "word ".repeat(40).trim().into(),
                    hides: vec!["one".into(), "two".into()],
                },
                BlindSpotCount {
                    rule: "idle".into(),
                    cells: 0,
                    reason: "documents.".into(),
                    hides: vec![],
                },
            ],
        };
        let text = String::from_utf8(report.table().unwrap()).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        let expected_start = "10 cells, 4 of them with a blind spot\n\
                              rule    cells  hides\n\
                              ------  -----  ------\n\
                              a-rule      4  one\n               two\n    word word";
        assert!(text.starts_with(expected_start), "{text}");
        assert!(
            text.ends_with("idle        0  (none)\n    documents.\n"),
            "{text}"
        );
        let csv = String::from_utf8(report.csv().unwrap()).unwrap();
        assert!(
            csv.starts_with("rule,cells,reason,hides\na-rule,4,word word"),
            "{csv}"
        );
        assert!(csv.ends_with("idle,0,documents.,\n"), "{csv}");
    }
}
