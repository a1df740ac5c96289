//! The rule engine against the spec and against itself: every emitted cell satisfies every
//! rule, every excluded combination breaks at least one, for the built-in definition
//! (exhaustively) and for random definitions and selections (proptest).

use std::collections::BTreeMap;

use matrix::definition::{
    AxisKind, Matrix, RawAxis, RawCondition, RawContribution, RawDefinition, RawImage, RawRule,
    RawSource, RawValue,
};
use matrix::expand::{expand, product, ValueMask};
use matrix::rules::broken_rules;
use matrix::selection::{Filter, Selection};
use proptest::prelude::*;

fn values_of(m: &Matrix, combo: &[usize]) -> BTreeMap<String, String> {
    m.axes
        .iter()
        .zip(combo)
        .map(|(a, &v)| (a.name.clone(), a.values[v].name.clone()))
        .collect()
}

#[test]
fn the_builtin_matrix_is_exactly_the_valid_part_of_the_product() {
    let m = Matrix::builtin().unwrap();
    let cells: Vec<Vec<usize>> = expand(&m, &ValueMask::all(&m))
        .unwrap()
        .iter()
        .map(|c| c.values.to_vec())
        .collect();
    assert_eq!(cells.len(), 742);
    let mut excluded = 0;
    for combo in product(&m) {
        let broken = broken_rules(&m.rules, &combo);
        let emitted = cells.binary_search(&combo).is_ok();
        assert_eq!(emitted, broken.is_empty(), "{:?}", values_of(&m, &combo));
        excluded += usize::from(!emitted);
    }
    assert_eq!(excluded, 5760 - 742);
}

/// For each rule of the spec: a combination that breaks it alone is not a cell, and the
/// engine names that rule. The combination is the spec's own example of what the rule forbids.
#[test]
fn each_rule_removes_what_it_forbids_and_is_named() {
    let m = Matrix::builtin().unwrap();
    let cells = expand(&m, &ValueMask::all(&m)).unwrap();
    let base = [
        ("platform", "amd64"),
        ("os", "ubuntu-24.04"),
        ("python", "3.13.0b4"),
        ("compiler", "clang"),
        ("sanitizer", "asan"),
        ("san_link", "shared"),
        ("hwasan_option", "none"),
        ("preload", "disabled"),
        ("configure", "default"),
    ];
    let cases: [(&str, &[(&str, &str)]); 8] = [
        (
            "clang-19-ubuntu-only",
            &[("compiler", "clang-19"), ("os", "fedora-40")],
        ),
        (
            "analyzer-gcc-only",
            &[("sanitizer", "analyzer"), ("san_link", "none")],
        ),
        ("link-needs-sanitizer", &[("san_link", "none")]),
        ("link-needs-sanitizer", &[("sanitizer", "none")]),
        (
            "preload-asan-hwasan-only",
            &[("sanitizer", "tsan"), ("preload", "enabled")],
        ),
        (
            "hwasan-option-clang-only",
            &[("hwasan_option", "no-globals")],
        ),
        (
            "no-gil-needs-3.13",
            &[("python", "3.12.4"), ("configure", "no-gil")],
        ),
        ("hwasan-arm64-only", &[("sanitizer", "hwasan")]),
    ];
    let index = |axis: &str, value: &str| {
        let a = m.axis_index(axis).unwrap();
        (a, m.axes[a].value_index(value).unwrap())
    };
    let mut valid = vec![0; m.axes.len()];
    for (axis, value) in base {
        let (a, v) = index(axis, value);
        valid[a] = v;
    }
    assert!(
        broken_rules(&m.rules, &valid).is_empty(),
        "the base combination must be a cell"
    );
    for (rule, changes) in cases {
        let mut combo = valid.clone();
        for (axis, value) in changes {
            let (a, v) = index(axis, value);
            combo[a] = v;
        }
        let broken: Vec<&str> = broken_rules(&m.rules, &combo)
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(broken, [rule], "{:?}", values_of(&m, &combo));
        assert!(
            !cells.iter().any(|c| *c.values == *combo),
            "{rule}: the combination was emitted"
        );
    }
    // Every rule of the definition is the spec's, with its reason.
    let names: Vec<&str> = m.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "clang-19-ubuntu-only",
            "analyzer-gcc-only",
            "link-needs-sanitizer",
            "preload-asan-hwasan-only",
            "hwasan-option-clang-only",
            "no-gil-needs-3.13",
            "hwasan-arm64-only"
        ]
    );
    assert!(m.rules.iter().all(|r| !r.reason.is_empty()));
}

#[test]
fn a_new_python_version_is_a_definition_edit() {
    let mut raw = RawDefinition::from_yaml(matrix::definition::BUILTIN_DEFINITION, "t").unwrap();
    raw.axes[2].values.push(RawValue::Plain("3.14.0".into()));
    raw.axes[2].values.push(RawValue::Plain("3.11.9".into()));
    let m = Matrix::compile(raw, "t").unwrap();
    let count = |version: &str| {
        let selection = Selection {
            only: vec![format!("python={version}").parse().unwrap()],
            ..Selection::default()
        };
        expand(&m, &selection.mask(&m).unwrap()).unwrap().len()
    };
    // no-gil compares versions: 3.14.0 has it like 3.13.0b4, 3.11.9 lacks it like 3.12.4.
    assert_eq!(count("3.14.0"), count("3.13.0b4"));
    assert_eq!(count("3.11.9"), count("3.12.4"));
    assert_eq!(count("3.13.0b4") + count("3.12.4"), 742);
}

// ---------------------------------------------------------------------------------------------
// Random definitions.

const VALUE_NAMES: [&str; 4] = ["v0", "v1", "v2", "v3"];
const VERSIONS: [&str; 4] = ["3.11.2", "3.12.0", "3.13.0b1", "3.14.0"];

fn names(axis: usize, count: usize) -> Vec<String> {
    if axis == 0 {
        VERSIONS[..count].iter().map(|s| s.to_string()).collect()
    } else {
        VALUE_NAMES[..count].iter().map(|s| s.to_string()).collect()
    }
}

/// A random condition on an axis with `count` values: a non-empty subset, a negated one, or
/// (on the version axis) a bound.
fn condition(axis: usize, count: usize) -> impl Strategy<Value = RawCondition> {
    let subset = proptest::sample::subsequence(names(axis, count), 1..=count);
    let version_bound = proptest::sample::select(vec!["3.12", "3.13", "3.13.0b1", "3.14"]);
    prop_oneof![
        subset.clone().prop_map(RawCondition::AnyOf),
        subset.prop_map(|s| RawCondition::Test(matrix::definition::RawTest {
            not: Some(matrix::definition::OneOrMany::Many(s)),
            at_least: None,
            below: None,
        })),
        (version_bound, any::<bool>()).prop_map(move |(bound, at_least)| {
            if axis != 0 {
                return RawCondition::One("v0".into());
            }
            RawCondition::Test(matrix::definition::RawTest {
                not: None,
                at_least: at_least.then(|| bound.to_string()),
                below: (!at_least).then(|| bound.to_string()),
            })
        }),
    ]
}

fn clause(widths: Vec<usize>) -> impl Strategy<Value = BTreeMap<String, RawCondition>> {
    let per_axis: Vec<_> = widths
        .iter()
        .enumerate()
        .map(|(axis, &count)| proptest::option::weighted(0.4, condition(axis, count)))
        .collect();
    per_axis.prop_map(|conds| {
        conds
            .into_iter()
            .enumerate()
            .filter_map(|(axis, c)| c.map(|c| (format!("a{axis}"), c)))
            .collect()
    })
}

fn definition() -> impl Strategy<Value = RawDefinition> {
    definition_with_axes(1..=5)
}

/// A random definition of `axes` axes of 1 to 4 values each, with up to 5 random rules.
pub(crate) fn definition_with_axes(
    axes: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = RawDefinition> {
    proptest::collection::vec(1usize..=4, axes).prop_flat_map(|widths| {
        let rule = (
            clause(widths.clone()),
            clause(widths.clone()),
            any::<bool>(),
        );
        let rules = proptest::collection::vec(rule, 0..=5);
        (Just(widths), rules).prop_map(|(widths, rules)| RawDefinition {
            image: RawImage {
                registry: "r".into(),
                name: "n".into(),
                tag_axis: "a0".into(),
            },
            source: RawSource {
                version_axis: "a0".into(),
                ..RawSource::default()
            },
            axes: widths
                .iter()
                .enumerate()
                .map(|(axis, &count)| RawAxis {
                    name: format!("a{axis}"),
                    doc: None,
                    kind: if axis == 0 {
                        AxisKind::Version
                    } else {
                        AxisKind::Plain
                    },
                    id_prefix: format!("a{axis}"),
                    values: names(axis, count)
                        .into_iter()
                        .map(RawValue::Plain)
                        .collect(),
                })
                .collect(),
            rules: rules
                .into_iter()
                .enumerate()
                .filter(|(_, (_, conclusion, _))| !conclusion.is_empty())
                .map(|(i, (premise, conclusion, both_ways))| RawRule {
                    name: format!("rule{i}"),
                    reason: "random".into(),
                    premise,
                    then: (!both_ways).then(|| conclusion.clone()),
                    iff: both_ways.then_some(conclusion),
                })
                .collect(),
            contributions: vec![RawContribution::default()],
            canaries: Vec::new(),
            blind_spots: vec![],
            workflow: None,
            images: None,
            tests: None,
        })
    })
}

pub(crate) fn selection(m: &Matrix, seed: &[(usize, usize, bool)]) -> Selection {
    let mut selection = Selection::default();
    for &(axis, value, only) in seed {
        let axis = &m.axes[axis % m.axes.len()];
        let value = &axis.values[value % axis.values.len()];
        let filter = Filter {
            axis: axis.name.clone(),
            values: vec![value.name.clone()],
        };
        if only {
            selection.only.push(filter);
        } else {
            selection.except.push(filter);
        }
    }
    selection
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn expansion_emits_exactly_the_combinations_no_rule_breaks(
        raw in definition(),
        seed in proptest::collection::vec((0usize..8, 0usize..8, any::<bool>()), 0..3),
    ) {
        let m = Matrix::compile(raw, "random").unwrap();
        let selection = selection(&m, &seed);
        let allowed = selection.mask(&m).unwrap();
        let cells: Vec<Vec<usize>> =
            expand(&m, &allowed).unwrap().iter().map(|c| c.values.to_vec()).collect();
        for cell in &cells {
            prop_assert!(broken_rules(&m.rules, cell).is_empty(), "emitted cell breaks a rule");
        }
        let mut expected = Vec::new();
        for combo in product(&m) {
            let selected = combo.iter().enumerate().all(|(a, &v)| allowed[a][v]);
            if !selected {
                continue;
            }
            if broken_rules(&m.rules, &combo).is_empty() {
                expected.push(combo);
            } else {
                prop_assert!(cells.binary_search(&combo).is_err(), "excluded combination emitted");
            }
        }
        prop_assert_eq!(cells, expected);
    }
}
