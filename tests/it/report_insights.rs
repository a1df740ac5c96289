//! `matrix report --insights` on the original experiment (`../shared/corpus/arm64-hwasan`, its
//! `labels.csv` as the index): every insight printed holds when recomputed from the cells, and
//! the author's conclusions come out by themselves. Skipped visibly when the corpus is absent
//! (a failure under CI).

use std::collections::BTreeMap;

use crate::common::{corpus, matrix};

fn csv_rows(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

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

/// Whether `property` holds of `cells`, recomputed from their results.
fn holds(property: &str, cells: &[&BTreeMap<String, String>]) -> bool {
    match property {
        "none-reached-tests" => cells.iter().all(|c| c["stage"] != "Tests"),
        "none-passed" => cells.iter().all(|c| c["result"] != "Tests. Passed"),
        p => {
            let r = p
                .strip_prefix("all-same-result:")
                .expect("a known property");
            cells.iter().all(|c| c["result"] == r)
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

#[test]
fn the_authors_conclusions_come_out_and_every_insight_holds() {
    let Some(tmp) = corpus("report_insights", "arm64-hwasan", &[]) else {
        return;
    };
    let root = tmp.path().join("arm64-hwasan");
    let run = |extra: &[&str]| {
        matrix()
            .arg("report")
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
    let cells = csv_rows(&run(&[]));
    // Insights speak of the classified cells (not Unknown, not Missing).
    let cells: Vec<_> = cells.iter().filter(|c| !c["stage"].is_empty()).collect();
    let insights: Vec<Insight> = csv_rows(&run(&["--insights"]))
        .into_iter()
        .map(|r| Insight {
            terms: parse_terms(&r["condition"]),
            property: r["property"].clone(),
            cells: r["cells"].parse().unwrap(),
            results: r["results"].clone(),
        })
        .collect();
    assert!(!insights.is_empty());
    let select = |terms: &[(String, String)]| -> Vec<&BTreeMap<String, String>> {
        cells
            .iter()
            .copied()
            .filter(|c| terms.iter().all(|(a, v)| c[a] == *v))
            .collect()
    };

    // Every line holds: the count, the property and the result mix, recomputed.
    for i in &insights {
        let these = select(&i.terms);
        assert_eq!(these.len(), i.cells, "{:?} {}", i.terms, i.property);
        assert!(
            holds(&i.property, &these),
            "{:?} does not hold of {:?}",
            i.property,
            i.terms
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
