//! `matrix report --insights` on the original experiment (`../shared/corpus/arm64-hwasan`, its
//! `labels.csv` as the index): every insight printed holds when recomputed from the cells, and
//! the author's conclusions come out by themselves. Skipped visibly when the corpus is absent
//! (a failure under CI).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{corpus, csv_rows, matrix};

struct Insight {
    terms: Vec<(String, String)>,
    property: String,
    cells: usize,
    results: String,
}

fn parse_terms(condition: &str) -> Vec<(String, String)> {
    if condition.is_empty() {
        return Vec::new();
    }
    condition
        .split(" ∧ ")
        .map(|t| {
            let (a, v) = t.split_once('=').expect("axis=value");
            (a.to_owned(), v.to_owned())
        })
        .collect()
}

type Row = BTreeMap<String, String>;

/// What recomputing a property needs besides the cells of the condition.
struct Run<'a> {
    /// Every classified cell.
    cells: &'a [&'a Row],
    /// The axis columns: the index's, but names, scripts and results, with more than one value.
    axes: Vec<String>,
    depth: usize,
    min_cells: usize,
    /// (cell key, finding id) from `matrix findings --cells`.
    findings: BTreeSet<(String, String)>,
}

impl Run<'_> {
    fn select(&self, terms: &[(String, String)]) -> Vec<&Row> {
        self.cells
            .iter()
            .copied()
            .filter(|c| terms.iter().all(|(a, v)| c[a] == *v))
            .collect()
    }

    /// A cell that stopped before the tests is explained when a condition of at most `depth`
    /// of its own axis values, with at least `min_cells` cells, has no cell in the tests.
    fn explained(&self, cell: &Row) -> bool {
        let n = self.axes.len();
        (0u32..1 << n)
            .filter(|m| m.count_ones() as usize <= self.depth)
            .any(|mask| {
                let terms: Vec<(String, String)> = (0..n)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| (self.axes[i].clone(), cell[&self.axes[i]].clone()))
                    .collect();
                let these = self.select(&terms);
                these.len() >= self.min_cells && these.iter().all(|c| c["stage"] != "Tests")
            })
    }

    /// Whether `property` holds of `cells`, recomputed from their results.
    fn holds(&self, property: &str, cells: &[&Row]) -> bool {
        let reached = |c: &&Row| c["stage"] == "Tests";
        match property {
            "none-reached-tests" => !cells.iter().any(reached),
            "none-passed" => cells.iter().all(|c| c["result"] != "Tests. Passed"),
            "unstable" => {
                cells.iter().any(reached)
                    && cells.iter().any(|c| !reached(c))
                    && cells
                        .iter()
                        .filter(|c| !reached(c))
                        .all(|c| !self.explained(c))
            }
            p => match p.split_once(':') {
                Some(("all-same-result", r)) => cells.iter().all(|c| c["result"] == r),
                Some(("finding", id)) => cells
                    .iter()
                    .all(|c| self.findings.contains(&(c["key"].clone(), id.to_owned()))),
                _ => panic!("unknown property {p}"),
            },
        }
    }
}

/// `property` of a condition implies "no cell reached the tests".
fn implies_none_reached(property: &str) -> bool {
    property == "none-reached-tests"
        || property
            .strip_prefix("all-same-result:")
            .is_some_and(|r| !r.starts_with("Tests."))
}

/// Every line holds: the count, the property and the result mix, recomputed.
fn check_every_line(run: &Run, insights: &[Insight]) {
    assert!(!insights.is_empty());
    for i in insights {
        let these = run.select(&i.terms);
        assert_eq!(these.len(), i.cells, "{:?} {}", i.terms, i.property);
        assert!(
            run.holds(&i.property, &these),
            "{:?} does not hold of {:?} (depth {})",
            i.property,
            i.terms,
            run.depth
        );
        let mut mix: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &these {
            *mix.entry(&c["result"]).or_default() += 1;
        }
        for part in i.results.split(", ") {
            let (n, r) = part.split_once(' ').unwrap();
            assert_eq!(
                mix.get(r).copied(),
                Some(n.parse().unwrap()),
                "{:?}: {part}",
                i.terms
            );
        }
        assert_eq!(mix.len(), i.results.split(", ").count());
    }
}

/// The axes whose values differ among the classified `cells`, out of the report's columns.
fn varying_axes(all: &[Row], cells: &[&Row]) -> Vec<String> {
    let not_axes = ["key", "script_name", "label", "result", "stage", "outcome"];
    all[0]
        .keys()
        .filter(|a| !not_axes.contains(&a.as_str()))
        .filter(|a| {
            let why = ["cause", "cause_evidence", "failed_tests", "failed_count"];
            let facts = [
                "flaky",
                "seconds",
                "stage_seconds",
                "tests_run",
                "tests_failed",
                "tests_skipped",
                "compiler_version",
                "source_id",
            ];
            ["attempts", "log", "evidence"]
                .iter()
                .chain(&why)
                .chain(&facts)
                .all(|x| x != a)
        })
        .filter(|a| cells.iter().any(|c| c[*a] != cells[0][*a]))
        .cloned()
        .collect()
}

/// `report --insights` at depths 3 and 2, each line checked against the cells: the
/// properties seen at either depth, and the insights of depth 3.
fn insights_at_depths_3_and_2(
    run: &dyn Fn(&str, &[&str]) -> Vec<u8>,
    base: &Run,
) -> (BTreeSet<String>, Vec<Insight>) {
    let mut properties = BTreeSet::new();
    let mut insights = Vec::new();
    // At depth 2 the seven Fedora gcc-static cells have no explanation (it takes three
    // terms), so `gcc ∧ no LD_PRELOAD` is unstable there; at 3 every early stop is explained.
    for depth in [3, 2] {
        let depth_arg = depth.to_string();
        let found: Vec<Insight> = csv_rows(&run("report", &["--insights", "--depth", &depth_arg]))
            .into_iter()
            .map(|r| Insight {
                terms: parse_terms(&r["condition"]),
                property: r["property"].clone(),
                cells: r["cells"].parse().unwrap(),
                results: r["results"].clone(),
            })
            .collect();
        let ctx = Run {
            cells: base.cells,
            axes: base.axes.clone(),
            depth,
            min_cells: base.min_cells,
            findings: base.findings.clone(),
        };
        check_every_line(&ctx, &found);
        properties.extend(found.iter().map(|i| {
            i.property
                .split_once(':')
                .map_or(i.property.clone(), |(p, _)| p.to_owned())
        }));
        if depth == 3 {
            insights = found;
        }
    }
    (properties, insights)
}

/// The experiment's authors' conclusions, each implied by some insight of `insights`.
fn assert_the_authors_conclusions(cells: &[&Row], insights: &[Insight]) {
    let select = |terms: &[(String, String)]| -> Vec<&Row> {
        cells
            .iter()
            .copied()
            .filter(|c| terms.iter().all(|(a, v)| c[a] == *v))
            .collect()
    };
    // "No successful builds" (none reached the tests) under a condition: an insight with a
    // condition as general or more (a subset of its terms) and a property implying it.
    let t = |a: &str, v: &str| (a.to_owned(), v.to_owned());
    let explained = |conclusion: &[(String, String)]| {
        insights.iter().any(|i| {
            implies_none_reached(&i.property) && i.terms.iter().all(|t| conclusion.contains(t))
        })
    };
    let conclusions = [
        vec![t("Compiler", "gcc"), t("LDPreloadMode", "enabled")],
        vec![
            t("Compiler", "clang"),
            t("ClangHWasanAdditionalOption", "none"),
        ],
        vec![
            t("Compiler", "clang"),
            t("SanLinksMethod", "static"),
            t("LDPreloadMode", "enabled"),
        ],
    ];
    for c in &conclusions {
        assert!(
            explained(c),
            "no insight implies that no cell of {c:?} reached the tests"
        );
    }
    // "GCC with the static runtime unstable": its cells split between reaching the tests and
    // not, and the insights explain every one that did not (by LD_PRELOAD and the base image).
    let gcc_static = select(&[t("Compiler", "gcc"), t("SanLinksMethod", "static")]);
    assert!(gcc_static.iter().any(|c| c["stage"] == "Tests"));
    for c in gcc_static.iter().filter(|c| c["stage"] != "Tests") {
        let covered = insights
            .iter()
            .any(|i| implies_none_reached(&i.property) && i.terms.iter().all(|(a, v)| c[a] == *v));
        assert!(
            covered,
            "{} (gcc, static) did not reach the tests, unexplained",
            c["key"]
        );
    }
}

#[test]
fn the_authors_conclusions_come_out_and_every_insight_holds() {
    let Some(tmp) = corpus("report_insights", "arm64-hwasan", &[]) else {
        return;
    };
    let root = tmp.path().join("arm64-hwasan");
    let run = |command: &str, extra: &[&str]| {
        matrix()
            .arg(command)
            .arg(root.join("logs"))
            .arg("--index")
            .arg(root.join("labels.csv"))
            .args(["--format", "csv"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let all = csv_rows(&run("report", &[]));
    // Insights speak of the classified cells (not Unknown, not Missing).
    let cells: Vec<&Row> = all.iter().filter(|c| !c["stage"].is_empty()).collect();
    let findings: BTreeSet<(String, String)> = csv_rows(&run("findings", &["--cells"]))
        .into_iter()
        .map(|r| (r["cell"].clone(), r["id"].clone()))
        .collect();
    let axes = varying_axes(&all, &cells);
    assert_eq!(axes.len(), 7, "{axes:?}");
    let base = Run {
        cells: &cells,
        axes,
        depth: 3,
        min_cells: 4,
        findings,
    };
    let (properties, insights) = insights_at_depths_3_and_2(&run, &base);
    assert_eq!(
        properties.into_iter().collect::<Vec<_>>(),
        [
            "all-same-result",
            "finding",
            "none-passed",
            "none-reached-tests",
            "unstable"
        ],
        "every property comes out of the corpus at depth 3 or 2"
    );
    assert_the_authors_conclusions(&cells, &insights);
}
