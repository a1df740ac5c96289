//! The insights checked against a brute-force recomputation and on small hand-made runs.

use super::*;
use crate::report::{CanaryResult, CanaryRun};
use proptest::prelude::*;

fn cell(values: &[&str], result: CellResult) -> CellReport {
    CellReport {
        key: values.join("-"),
        index_values: values.iter().map(|v| v.to_string()).collect(),
        result,
        attempts: 1,
        log: None,
        evidence: None,
        more: Default::default(),
    }
}

const RESULTS: [(Stage, Outcome); 5] = [
    (Stage::Configure, Outcome::Failed),
    (Stage::Configure, Outcome::SegmentationFault),
    (Stage::Compilation, Outcome::Failed),
    (Stage::Tests, Outcome::Failed),
    (Stage::Tests, Outcome::Passed),
];

/// The cells a condition selects, filtered from scratch.
fn select<'a>(cells: &'a [CellReport], terms: &[(usize, String)]) -> Vec<&'a CellReport> {
    cells
        .iter()
        .filter(|c| terms.iter().all(|(a, v)| &c.index_values[*a] == v))
        .collect()
}

/// Whether a cell that stopped before the tests meets some condition of at most `depth`
/// axis terms with at least `min_cells` cells, none of which reached the tests.
fn explained(cells: &[CellReport], axes: &[usize], cell: &CellReport, limits: Limits) -> bool {
    subsets(axes.len(), limits.depth).iter().any(|subset| {
        let terms: Vec<(usize, String)> = subset
            .iter()
            .map(|&i| (axes[i], cell.index_values[axes[i]].clone()))
            .collect();
        let these = select(cells, &terms);
        these.len() >= limits.min_cells && these.iter().all(|c| c.stage() != Some(Stage::Tests))
    })
}

/// The property recomputed from scratch: filter every cell by the condition.
fn holds(
    cells: &[CellReport],
    findings: &CellFindings,
    axes: &[usize],
    limits: Limits,
    terms: &[(usize, String)],
    p: &Property,
) -> (bool, usize) {
    let these = select(cells, terms);
    let reached = |c: &&CellReport| c.stage() == Some(Stage::Tests);
    let ok = match p {
        Property::NoneReachedTests => !these.iter().any(reached),
        Property::NonePassed => these
            .iter()
            .all(|c| !(c.stage() == Some(Stage::Tests) && c.outcome() == Some(Outcome::Passed))),
        Property::AllSameResult(r) => these.iter().all(|c| &c.result.label() == r),
        Property::Unstable => {
            these.iter().any(reached)
                && these.iter().any(|c| !reached(c))
                && these
                    .iter()
                    .filter(|c| !reached(c))
                    .all(|c| !explained(cells, axes, c, limits))
        }
        Property::Finding(id) => these
            .iter()
            .all(|c| findings.get(&c.key).is_some_and(|f| f.contains(id))),
        Property::Blind(canary) => these
            .iter()
            .all(|c| c.missed_canaries().any(|m| m == canary)),
        Property::Flaky => these.iter().all(|c| c.more.flaky.is_some()),
    };
    (ok, these.len())
}

fn all_properties(cells: &[CellReport], findings: &CellFindings) -> Vec<Property> {
    let mut ps = vec![
        Property::NoneReachedTests,
        Property::NonePassed,
        Property::Unstable,
    ];
    ps.extend(
        cells
            .iter()
            .map(|c| Property::AllSameResult(c.result.label())),
    );
    ps.extend(findings.values().flatten().cloned().map(Property::Finding));
    ps.extend(
        cells
            .iter()
            .flat_map(|c| c.missed_canaries().map(|m| Property::Blind(m.to_owned()))),
    );
    ps.push(Property::Flaky);
    ps.sort();
    ps.dedup();
    ps
}

/// Brute force over every conjunction of every axis's values: the insights are exactly
/// the (condition, property) pairs that hold, cover enough cells, are not implied by a
/// property of any proper sub-condition, nor by another property of the same condition.
fn brute_force(
    columns: &[String],
    cells: &[CellReport],
    findings: &CellFindings,
    limits: Limits,
) -> Vec<String> {
    let refs: Vec<&CellReport> = cells.iter().collect();
    let axes = axis_columns(columns, &refs);
    let values: Vec<Vec<String>> = axes
        .iter()
        .map(|&a| {
            let mut v: Vec<String> = cells.iter().map(|c| c.index_values[a].clone()).collect();
            v.sort();
            v.dedup();
            v
        })
        .collect();
    let props = all_properties(cells, findings);
    let holds =
        |terms: &[(usize, String)], p: &Property| holds(cells, findings, &axes, limits, terms, p);
    let mut out = Vec::new();
    for subset in subsets(axes.len(), limits.depth) {
        let mut combos: Vec<Vec<(usize, String)>> = vec![Vec::new()];
        for &i in &subset {
            let axis = axes[i];
            let mut next = Vec::new();
            for c in &combos {
                for v in &values[i] {
                    let mut c = c.clone();
                    c.push((axis, v.clone()));
                    next.push(c);
                }
            }
            combos = next;
        }
        for terms in combos {
            for p in &props {
                let (ok, n) = holds(&terms, p);
                if !ok || n < limits.min_cells {
                    continue;
                }
                // Every proper sub-condition (by bitmask), every property.
                let implied = (0..(1u32 << terms.len()) - 1).any(|mask| {
                    let sub: Vec<(usize, String)> = terms
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, t)| t.clone())
                        .collect();
                    props.iter().any(|q| q.implies(p) && holds(&sub, q).0)
                });
                let weaker = props
                    .iter()
                    .any(|q| q != p && q.implies(p) && holds(&terms, q).0);
                if !implied && !weaker {
                    let cond: Vec<String> = terms
                        .iter()
                        .map(|(a, v)| format!("{}={v}", columns[*a]))
                        .collect();
                    out.push(format!("{} {} {n}", cond.join(" ∧ "), p.text()));
                }
            }
        }
    }
    out.sort();
    out
}

fn fast(
    columns: &[String],
    cells: &[CellReport],
    findings: &CellFindings,
    limits: Limits,
) -> Vec<String> {
    let refs: Vec<&CellReport> = cells.iter().collect();
    let mut out: Vec<String> = find(columns, &refs, findings, limits)
        .iter()
        .map(|i| format!("{} {} {}", i.condition(), i.property.text(), i.cells))
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn insights_are_exactly_the_brute_force_ones(
        rows in proptest::collection::vec(
            (0..3usize, 0..2usize, 0..3usize, 0..5usize, 0..32u8), 1..40),
        depth in 0..4usize,
        min_cells in 1..5usize,
    ) {
        let columns: Vec<String> = ["compiler", "preload", "option", "script"]
            .iter().map(|s| s.to_string()).collect();
        // Each cell has findings f1 and f2 by the low bits of its fifth number, and missed
        // the canaries c1 and c2 by its next bits (else saw them), and is flaky by bit 4.
        let findings: CellFindings = rows.iter().enumerate().map(|(n, row)| {
            let ids = ["f1", "f2"].iter().enumerate()
                .filter(|(bit, _)| row.4 & (1 << bit) != 0)
                .map(|(_, id)| id.to_string()).collect();
            (format!("{}-{}-{}-build_{n}.sh",
                ["gcc", "clang", "clang-19"][row.0], ["on", "off"][row.1],
                ["x", "y", "z"][row.2]), ids)
        }).collect();
        let cells: Vec<CellReport> = rows.iter().enumerate().map(|(n, &(a, b, c, r, bits))| {
            let (stage, outcome) = RESULTS[r];
            let script = format!("build_{n}.sh");
            let mut cell = cell(
                &[["gcc", "clang", "clang-19"][a], ["on", "off"][b], ["x", "y", "z"][c], &script],
                CellResult::Result(stage, outcome),
            );
            cell.more.canaries = ["c1", "c2"].iter().enumerate().map(|(i, name)| CanaryRun {
                name: name.to_string(),
                result: if bits & (4 << i) != 0 { CanaryResult::Missed } else { CanaryResult::Seen },
            }).collect();
            if bits & 16 != 0 {
                cell.more.flaky = Some(crate::report::flaky::Flaky {
                    tests: vec!["test_os".into()],
                    ..Default::default()
                });
            }
            cell
        }).collect();
        let limits = Limits { depth, min_cells };
        prop_assert_eq!(
            fast(&columns, &cells, &findings, limits),
            brute_force(&columns, &cells, &findings, limits)
        );
    }
}

#[test]
fn the_line_names_condition_claim_and_results() {
    let columns = vec!["compiler".to_string(), "preload".to_string()];
    let segv = CellResult::Result(Stage::Configure, Outcome::SegmentationFault);
    let pass = CellResult::Result(Stage::Tests, Outcome::Passed);
    let cells = [
        cell(&["gcc", "on"], segv.clone()),
        cell(&["gcc", "on"], segv.clone()),
        cell(&["gcc", "off"], pass.clone()),
        cell(&["clang", "on"], pass.clone()),
        cell(&["clang", "off"], pass),
    ];
    let refs: Vec<&CellReport> = cells.iter().collect();
    let found = find(
        &columns,
        &refs,
        &CellFindings::new(),
        Limits {
            depth: 2,
            min_cells: 2,
        },
    );
    let lines: Vec<String> = found.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        lines,
        [
            "compiler=clang: all 2 cells ended Tests. Passed (2 Tests. Passed)",
            "preload=off: all 2 cells ended Tests. Passed (2 Tests. Passed)",
            "compiler=gcc ∧ preload=on: all 2 cells ended Configure. Segmentation fault \
             (2 Configure. Segmentation fault)",
        ]
    );
}

#[test]
fn an_unexplained_split_is_unstable_and_shared_findings_are_named() {
    let columns: Vec<String> = ["compiler", "opt", "script"].map(String::from).to_vec();
    let pass = CellResult::Result(Stage::Tests, Outcome::Passed);
    let cells = [
        cell(&["gcc", "a", "s1"], pass.clone()),
        cell(
            &["gcc", "b", "s2"],
            CellResult::Result(Stage::Configure, Outcome::Failed),
        ),
        cell(
            &["clang", "a", "s3"],
            CellResult::Result(Stage::Tests, Outcome::Failed),
        ),
        cell(&["clang", "b", "s4"], pass),
    ];
    let findings: CellFindings = ["gcc-a-s1", "gcc-b-s2"]
        .iter()
        .map(|k| (k.to_string(), BTreeSet::from(["f1".to_string()])))
        .collect();
    let refs: Vec<&CellReport> = cells.iter().collect();
    let limits = Limits {
        depth: 1,
        min_cells: 2,
    };
    let lines: Vec<String> = find(&columns, &refs, &findings, limits)
        .iter()
        .map(|i| i.to_string())
        .collect();
    // The split of gcc and of opt=b is the split of every cell: only the most general
    // condition is shown.
    assert_eq!(
        lines,
        [
            "every cell: unstable, 3 of 4 cells reached the tests and no condition explains \
             the 1 that stopped earlier (2 Tests. Passed, 1 Configure. Failed, 1 Tests. Failed)"
                .to_string(),
            "compiler=gcc: all 2 cells have finding f1 (1 Configure. Failed, 1 Tests. Passed)"
                .into(),
        ]
    );
    // With the failure explained (both gcc cells stop earlier), nothing is unstable.
    let mut explained = cells.clone();
    explained[0].result = CellResult::Result(Stage::Compilation, Outcome::Failed);
    let refs: Vec<&CellReport> = explained.iter().collect();
    let found = find(&columns, &refs, &findings, limits);
    assert!(found.iter().all(|i| i.property != Property::Unstable));
    assert!(found.iter().any(|i| i
        .to_string()
        .starts_with("compiler=gcc: 0 of 2 cells reached the tests")));
}

#[test]
fn names_scripts_and_results_are_not_axes() {
    let columns: Vec<String> = ["Compiler", "script_name", "Result", "Platform"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = CellResult::Result(Stage::Tests, Outcome::Failed);
    let cells = [
        cell(&["gcc", "a.sh", "x", "arm64"], r.clone()),
        cell(&["clang", "b.sh", "y", "arm64"], r),
    ];
    let refs: Vec<&CellReport> = cells.iter().collect();
    assert_eq!(axis_columns(&columns, &refs), [0]);
}
