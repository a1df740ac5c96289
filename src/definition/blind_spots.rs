//! The `blind_spots:` section: its checks and compiled form ([`BlindSpot`], what lifts one,
//! and the `*` patterns that match build-plan items).

use std::collections::HashSet;
use std::fmt;

use anyhow::{bail, Result};

use super::alphabet::{check_env_name, check_label};
use super::compile::compile_clause;
use super::raw::{RawBlindSpot, RawUnless};
use super::Axis;
use crate::rules::Clause;
use crate::suggest::did_you_mean;

/// A named blind spot: cells where `when` holds and no item of `unless` is in the build plan
/// cannot see the defect classes of `hides`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlindSpot {
    /// 1-based position in the definition's `blind_spots`, for messages.
    pub number: usize,
    pub name: String,
    pub reason: String,
    pub hides: Vec<String>,
    pub when: Clause,
    /// `when` as one line of logic, for messages.
    pub when_text: String,
    pub unless: Vec<Lift>,
}

/// One item of `unless`: the part of the build plan it looks in, and what it looks for there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lift {
    /// An argument to ./configure.
    Configure(Pattern),
    /// A flag appended to CFLAGS, CXXFLAGS and CPPFLAGS.
    Compile(Pattern),
    /// A flag appended to LDFLAGS.
    Link(Pattern),
    /// An exported variable `name` whose value matches.
    Env { name: String, value: Pattern },
    /// An element of the command prefix the build and tests run under.
    Wrap(Pattern),
}

/// A text pattern where `*` matches any run of characters (the empty one too) and every other
/// character matches itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    pub fn new(text: &str) -> Self {
        Pattern {
            text: text.to_string(),
        }
    }

    /// Whether the pattern matches all of `text`.
    pub fn matches(&self, text: &str) -> bool {
        let mut parts = self.text.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = text.strip_prefix(first) else {
            return false;
        };
        let middle: Vec<&str> = parts.collect();
        let Some((last, middle)) = middle.split_last() else {
            // No `*`: the whole text is the literal.
            return rest.is_empty();
        };
        // Each literal between stars at its first occurrence: leaving the most text for the
        // rest never loses a match.
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Checks and compiles `blind_spots`: names of the label alphabet, each once; a reason of one
/// line; defect classes of the label alphabet; `when` as a rule's `if`; non-empty patterns.
pub(super) fn compile(raw: &[RawBlindSpot], axes: &[Axis]) -> Result<Vec<BlindSpot>> {
    let mut spots: Vec<BlindSpot> = Vec::with_capacity(raw.len());
    for (i, entry) in raw.iter().enumerate() {
        let number = i + 1;
        check_label(&format!("blind spot #{number}: name"), &entry.name)?;
        let what = format!("blind spot `{}` (#{number} of blind_spots)", entry.name);
        if let Some(first) = spots.iter().find(|s| s.name == entry.name) {
            bail!("{what} is defined twice: #{} has that name", first.number);
        }
        let reason = entry.reason.trim();
        if reason.is_empty() {
            bail!(
                "{what}: `reason` is empty: say in one sentence what its cells cannot see and why"
            );
        }
        if reason.contains(['\n', '\r']) {
            bail!(
                "{what}: `reason` `{}` has a line break: give one sentence on one line (tables \
                 and warnings print it whole)",
                reason.escape_debug()
            );
        }
        let mut seen = HashSet::new();
        for class in &entry.hides {
            check_label(&format!("{what}: `hides` entry"), class)?;
            if !seen.insert(class.as_str()) {
                bail!("{what}: `hides` lists `{class}` twice");
            }
        }
        spots.push(BlindSpot {
            number,
            name: entry.name.clone(),
            reason: reason.to_string(),
            hides: entry.hides.clone(),
            when: compile_clause(axes, &entry.when, &format!("`when` of {what}"))?,
            when_text: entry.describe_when(),
            unless: compile_unless(&entry.unless, &what)?,
        });
    }
    Ok(spots)
}

/// The items of `unless`, in the order configure, compile, link, env, wrap.
fn compile_unless(raw: &RawUnless, what: &str) -> Result<Vec<Lift>> {
    let mut lifts = Vec::new();
    let plain = |field: &str, patterns: &[String], lift: fn(Pattern) -> Lift| {
        patterns
            .iter()
            .map(|pattern| {
                if pattern.is_empty() {
                    bail!(
                        "{what}: `unless.{field}` has an empty pattern: give the item that lifts \
                         the blind spot (`*` matches any run of characters)"
                    );
                }
                Ok(lift(Pattern::new(pattern)))
            })
            .collect::<Result<Vec<Lift>>>()
    };
    lifts.extend(plain("configure", &raw.configure, Lift::Configure)?);
    lifts.extend(plain("compile", &raw.compile, Lift::Compile)?);
    lifts.extend(plain("link", &raw.link, Lift::Link)?);
    for item in &raw.env {
        let Some((name, value)) = item.split_once('=') else {
            bail!(
                "{what}: `unless.env` item `{}` is not NAME=VALUE-pattern, e.g. \
                 PYTHONMALLOC=malloc or TSAN_OPTIONS=*suppressions=* (`*` matches any run of \
                 characters of the value)",
                item.escape_debug()
            );
        };
        check_env_name(
            &format!("{what}: `unless.env` item `{}`", item.escape_debug()),
            name,
        )?;
        lifts.push(Lift::Env {
            name: name.to_string(),
            value: Pattern::new(value),
        });
    }
    lifts.extend(plain("wrap", &raw.wrap, Lift::Wrap)?);
    Ok(lifts)
}

/// Every defect class a blind spot hides is one of `canaries` (the definition's canary names):
/// a blind spot must name what a canary can show.
pub fn check_hides_are_canaries(spots: &[BlindSpot], canaries: &[&str]) -> Result<()> {
    for spot in spots {
        for class in &spot.hides {
            if !canaries.contains(&class.as_str()) {
                bail!(
                    "blind spot `{}` (#{} of blind_spots): `hides` names `{class}`, which is no \
                     canary{}; the canaries are: {}",
                    spot.name,
                    spot.number,
                    did_you_mean(class, canaries.iter().copied()),
                    if canaries.is_empty() {
                        "(none)".to_string()
                    } else {
                        canaries.join(", ")
                    }
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{Matrix, RawDefinition, BUILTIN_DEFINITION};
    use proptest::prelude::*;

    /// The built-in definition with its blind spots replaced by `yaml` (a list).
    fn with_spots(yaml: &str) -> Result<Matrix> {
        let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "t").unwrap();
        raw.blind_spots = serde_yaml::from_str(yaml).unwrap();
        Matrix::compile(raw, "t.yaml")
    }

    fn error(yaml: &str) -> String {
        format!("{:#}", with_spots(yaml).unwrap_err())
    }

    #[test]
    fn an_entry_compiles_to_its_clause_and_lifts() {
        let m = with_spots(
            "- name: pym\n  reason: pymalloc.\n  hides: [heap-overflow-small]\n  \
             when: { sanitizer: [asan, hwasan] }\n  \
             unless: { configure: [--without-pymalloc], env: ['PYTHONMALLOC=malloc'], wrap: [setarch] }\n",
        )
        .unwrap();
        let spot = &m.blind_spots[0];
        assert_eq!((spot.number, spot.name.as_str()), (1, "pym"));
        assert_eq!(spot.when_text, "sanitizer ∈ {asan, hwasan}");
        assert_eq!(spot.when.conditions.len(), 1);
        assert_eq!(
            spot.unless,
            [
                Lift::Configure(Pattern::new("--without-pymalloc")),
                Lift::Env {
                    name: "PYTHONMALLOC".into(),
                    value: Pattern::new("malloc")
                },
                Lift::Wrap(Pattern::new("setarch")),
            ]
        );
    }

    #[test]
    fn bad_entries_name_file_entry_field_value_and_what_is_valid() {
        let head = "invalid matrix definition t.yaml: ";
        let err = error("- { name: a, reason: r., hides: [], when: { sanitzer: asan } }");
        assert!(
            err.starts_with(head)
                && err.contains("`when` of blind spot `a` (#1 of blind_spots) names unknown axis `sanitzer` (did you mean `sanitizer`?); the axes are: platform,"),
            "{err}"
        );
        let err = error("- { name: a, reason: r., hides: [], when: { sanitizer: asna } }");
        assert!(
            err.contains("condition on `sanitizer`: unknown value `asna` for axis `sanitizer` (did you mean `asan`?); its values are: none, asan,"),
            "{err}"
        );
        let err = error(
            "- { name: a, reason: r., hides: [], when: {} }\n- { name: a, reason: r., hides: [], when: {} }",
        );
        assert!(
            err.contains("blind spot `a` (#2 of blind_spots) is defined twice: #1 has that name"),
            "{err}"
        );
        let err = error("- { name: a, reason: '  ', hides: [], when: {} }");
        assert!(
            err.contains("blind spot `a` (#1 of blind_spots): `reason` is empty"),
            "{err}"
        );
        let err = error("- { name: 'a b', reason: r., hides: [], when: {} }");
        assert!(
            err.contains("blind spot #1: name `a b` is not valid: use 1 to 63 characters"),
            "{err}"
        );
        let err = error("- { name: a, reason: r., hides: ['heap overflow'], when: {} }");
        assert!(
            err.contains("`hides` entry `heap overflow` is not valid: use 1 to 63"),
            "{err}"
        );
        let err = error(
            "- { name: a, reason: r., hides: [], when: {}, unless: { env: [PYTHONMALLOC] } }",
        );
        assert!(
            err.contains("`unless.env` item `PYTHONMALLOC` is not NAME=VALUE-pattern, e.g. PYTHONMALLOC=malloc"),
            "{err}"
        );
        let err = error("- { name: a, reason: r., hides: [], when: {}, unless: { link: [''] } }");
        assert!(err.contains("`unless.link` has an empty pattern"), "{err}");
        let err = error("- { name: a, reason: \"two\\nlines\", hides: [], when: {} }");
        assert!(err.contains("has a line break"), "{err}");
    }

    #[test]
    fn unknown_fields_are_refused_with_the_valid_ones() {
        let text = "image: { registry: r, name: n, tag_axis: os }\naxes:\n  \
                    - { name: os, values: [a] }\n  \
                    - { name: python, kind: version, values: [3.13.0] }\nblind_spots:\n  \
                    - { name: a, reason: r., hides: [], when: {}, unles: {} }\n";
        let err = Matrix::from_yaml(text, "t.yaml").unwrap_err().to_string();
        assert!(
            err.starts_with("t.yaml:6:")
                && err.contains("unknown field `unles`")
                && err.contains("`unless`"),
            "{err}"
        );
        let err = Matrix::from_yaml(
            &text.replace("unles: {}", "unless: { flags: [] }"),
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("unknown field `flags`") && err.contains("`configure`"),
            "{err}"
        );
    }

    #[test]
    fn hides_are_checked_against_the_canaries() {
        let message = error("- { name: a, reason: r., hides: [heap-overflow-smal], when: {} }");
        assert!(
            message.ends_with(
                "blind spot `a` (#1 of blind_spots): `hides` names `heap-overflow-smal`, which is \
                 no canary (did you mean `heap-overflow-small`?); the canaries are: \
                 heap-overflow-small, heap-overflow-large, use-after-free, data-race"
            ),
            "{message}"
        );
        let m = with_spots("- { name: a, reason: r., hides: [data-race], when: {} }").unwrap();
        assert!(check_hides_are_canaries(&m.blind_spots, &["data-race"]).is_ok());
        assert!(check_hides_are_canaries(&m.blind_spots, &[]).is_err());
    }

    #[test]
    fn stars_match_any_run() {
        let p = Pattern::new("*suppressions=*");
        assert!(p.matches("suppressions=x"));
        assert!(p.matches("halt_on_error=1:suppressions=/s.txt"));
        assert!(!p.matches("halt_on_error=1"));
        assert!(Pattern::new("malloc").matches("malloc"));
        assert!(!Pattern::new("malloc").matches("malloc_debug"));
        assert!(Pattern::new("a*a").matches("aa") && !Pattern::new("a*a").matches("a"));
        assert!(Pattern::new("*").matches(""));
        assert!(Pattern::new("").matches("") && !Pattern::new("").matches("x"));
    }

    /// The reference: `*` tried at every length, by recursion.
    fn naive(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len()).any(|i| naive(rest, &text[i..])),
            Some((c, rest)) => text.first() == Some(c) && naive(rest, &text[1..]),
        }
    }

    proptest! {
        #[test]
        fn matching_agrees_with_the_reference(pattern in "[ab*]{0,8}", text in "[ab]{0,10}") {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), naive(pattern.as_bytes(), text.as_bytes()));
        }

        #[test]
        fn a_pattern_matches_what_its_stars_are_filled_with(
            parts in proptest::collection::vec("[a-z=:/]{0,4}", 1..5),
            fills in proptest::collection::vec("[a-z=:/*]{0,4}", 4),
        ) {
            let pattern = parts.join("*");
            let mut text = parts[0].clone();
            for (part, fill) in parts[1..].iter().zip(&fills) {
                text.push_str(fill);
                text.push_str(part);
            }
            prop_assert!(Pattern::new(&pattern).matches(&text), "{} on {}", pattern, text);
        }

        #[test]
        fn a_pattern_without_stars_matches_only_itself(a in "[a-c=]{0,5}", b in "[a-c=]{0,5}") {
            prop_assert_eq!(Pattern::new(&a).matches(&b), a == b);
        }
    }
}
