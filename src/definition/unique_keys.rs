//! Duplicate keys in a definition's mappings, refused with the line of each: serde reads a map
//! (`if: { compiler: clang-19, compiler: gcc }`, `sha256`) keeping the last, so a definition
//! could say two things and mean one.
//!
//! serde_yaml gives no positions to a visitor, only to its errors, and an error takes the place
//! of the event that raised it. So one walk over the document finds the first duplicate (which
//! mapping, by its path of entry and item numbers, and which two entries), and one more walk
//! per key fails on purpose at that key, to learn its line and column from the error.

use std::cell::RefCell;
use std::fmt;

use anyhow::{bail, Result};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_yaml::Value;

/// One step down from a collection: the value of a mapping's n-th entry, or a sequence's n-th
/// item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Entry(usize),
    Item(usize),
}

/// The first duplicate found: the mapping's path, the key, and its two entries.
#[derive(Debug, Clone)]
struct Duplicate {
    path: Vec<Step>,
    key: String,
    first: usize,
    second: usize,
}

/// What one walk does: look for a duplicate, or fail at one key (a mapping's path and entry).
#[derive(Default)]
struct State {
    path: Vec<Step>,
    probe: Option<(Vec<Step>, usize)>,
    found: Option<Duplicate>,
}

const FOUND: &str = "duplicate key";
const PROBED: &str = "probed key";

/// Refuses `text` when a mapping in it has a key twice, naming both places.
pub fn check(text: &str, origin: &str) -> Result<()> {
    let state = RefCell::new(State::default());
    // A YAML error is the typed parse's to report, with its own words.
    if walk(text, &state).is_ok() {
        return Ok(());
    }
    let Some(dup) = state.into_inner().found else {
        return Ok(());
    };
    let place = |entry: usize| -> String {
        let state = RefCell::new(State {
            probe: Some((dup.path.clone(), entry)),
            ..State::default()
        });
        match walk(text, &state).err().and_then(|err| err.location()) {
            Some(at) => format!("{origin}:{}:{}", at.line(), at.column()),
            None => origin.to_owned(),
        }
    };
    bail!(
        "{}: key {:?} is given twice in one mapping (first at {}); YAML would keep only the \
         last, so each key may appear once: remove or merge one of them",
        place(dup.second),
        dup.key,
        place(dup.first)
    )
}

fn walk(text: &str, state: &RefCell<State>) -> Result<(), serde_yaml::Error> {
    for document in serde_yaml::Deserializer::from_str(text) {
        Walk(state).deserialize(document)?;
    }
    Ok(())
}

/// A key as the message shows it.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim_end().to_owned())
            .unwrap_or_default(),
    }
}

struct Walk<'a>(&'a RefCell<State>);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys: Vec<Value> = Vec::new();
        loop {
            let n = keys.len();
            let probed = {
                let state = self.0.borrow();
                state.probe.as_ref() == Some(&(state.path.clone(), n))
            };
            if probed {
                map.next_key_seed(Fail)?;
                return Err(de::Error::custom(PROBED));
            }
            let Some(key) = map.next_key::<Value>()? else {
                return Ok(());
            };
            if let Some(first) = keys.iter().position(|k| *k == key) {
                let mut state = self.0.borrow_mut();
                if state.probe.is_none() {
                    state.found = Some(Duplicate {
                        path: state.path.clone(),
                        key: key_text(&key),
                        first,
                        second: n,
                    });
                    return Err(de::Error::custom(FOUND));
                }
            }
            keys.push(key);
            self.0.borrow_mut().path.push(Step::Entry(n));
            map.next_value_seed(Walk(self.0))?;
            self.0.borrow_mut().path.pop();
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0;
        loop {
            self.0.borrow_mut().path.push(Step::Item(n));
            let more = seq.next_element_seed(Walk(self.0))?;
            self.0.borrow_mut().path.pop();
            if more.is_none() {
                return Ok(());
            }
            n += 1;
        }
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag x`): its value is walked like any other.
        let (_, variant) = data.variant::<IgnoredAny>()?;
        de::VariantAccess::newtype_variant_seed(variant, Walk(self.0))
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A key that fails as it is read, so the error carries the key's own place.
struct Fail;

impl<'de> DeserializeSeed<'de> for Fail {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(FailVisitor)
    }
}

struct FailVisitor;

impl<'de> Visitor<'de> for FailVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(PROBED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        check(text, "m.yaml").unwrap_err().to_string()
    }

    #[test]
    fn a_key_twice_in_a_flow_mapping_names_both_places() {
        let err = refused("rules:\n  - if: { compiler: clang-19, compiler: gcc }\n");
        assert!(
            err.starts_with("m.yaml:2:") && err.contains("key \"compiler\""),
            "{err}"
        );
        assert!(err.contains("first at m.yaml:2:"), "{err}");
    }

    #[test]
    fn a_key_twice_in_a_block_mapping_names_both_lines() {
        let text = "source:\n  sha256:\n    3.12.4: aa\n    3.13.0: bb\n    3.12.4: cc\n";
        let err = refused(text);
        assert!(
            err.starts_with("m.yaml:5:") && err.contains("key \"3.12.4\""),
            "{err}"
        );
        assert!(err.contains("first at m.yaml:3:"), "{err}");
    }

    #[test]
    fn the_same_key_in_different_mappings_is_fine() {
        check("a: {x: 1}\nb: {x: 2}\nc: [{x: 1}, {x: 1}]\n", "m.yaml").unwrap();
        // Not YAML at all: the typed parse says why.
        check("a: [", "m.yaml").unwrap();
    }
}
