//! The `canaries:` section: checking each deliberate defect of the definition (its condition
//! is compiled with the others in `compile`); which canaries a cell runs is decided in
//! [`crate::plan`].

use std::collections::HashSet;

use anyhow::{bail, Result};

use super::alphabet::check_label;
use super::raw::RawCanary;

/// Seconds a canary may run when the definition does not say.
pub const DEFAULT_CANARY_TIMEOUT: u32 = 30;
/// A canary is a few seconds of work; a longer bound would hide a hang inside the cell's time.
const MAX_CANARY_TIMEOUT: u32 = 600;

/// Checks every canary's fields; each one's timeout in seconds, in order.
pub(super) fn check_canaries(raw: &[RawCanary]) -> Result<Vec<u32>> {
    let mut names = HashSet::new();
    raw.iter()
        .enumerate()
        .map(|(i, canary)| {
            let what = canary_what(i, canary);
            check_label(&format!("{what}: name"), &canary.name)?;
            if !names.insert(canary.name.as_str()) {
                bail!("{what} is defined twice: canary names must be unique");
            }
            check_canary(canary, &what)
        })
        .collect()
}

/// How canary number `i` (0-based) is named in messages.
pub(super) fn canary_what(i: usize, canary: &RawCanary) -> String {
    format!("canary #{} (`{}`)", i + 1, canary.name.escape_debug())
}

fn check_canary(raw: &RawCanary, what: &str) -> Result<u32> {
    if raw.doc.trim().is_empty() {
        bail!("{what}: `doc` is empty; say in one line which defect it makes");
    }
    if raw.code.trim().is_empty() {
        bail!("{what}: `code` is empty; give the Python source that makes the defect");
    }
    if !raw.code.contains(super::CANARY_REACHED) {
        bail!(
            "{what}: `code` never prints `{}`; print it just before the defect, so a canary \
             that fails before it is an error and not a miss",
            super::CANARY_REACHED
        );
    }
    if raw.code.contains("{{") || raw.expect.iter().any(|words| words.contains("{{")) {
        bail!(
            "{what}: `{{{{` in `code` or `expect`: Argo reads it as one of its variables in the \
             manifest `matrix workflow` writes; write `{{ {{` (or `'{{' '{{'` in Python) instead"
        );
    }
    if raw.expect.is_empty() {
        bail!("{what}: `expect` is empty; give the words of the report that shows the defect was seen, e.g. \"AddressSanitizer: heap-buffer-overflow\"");
    }
    for words in &raw.expect {
        if words.trim().is_empty() || words.contains('\n') {
            bail!(
                "{what}: `expect` entry `{}` is empty or spans lines; each entry is words of one line",
                words.escape_debug()
            );
        }
    }
    let timeout_seconds = raw.timeout.unwrap_or(DEFAULT_CANARY_TIMEOUT);
    if !(1..=MAX_CANARY_TIMEOUT).contains(&timeout_seconds) {
        bail!(
            "{what}: `timeout` {timeout_seconds} is not between 1 and {MAX_CANARY_TIMEOUT} seconds"
        );
    }
    Ok(timeout_seconds)
}

#[cfg(test)]
mod tests {
    use crate::definition::Matrix;

    const BASE: &str = "image: {registry: r.example, name: n, tag_axis: os}\n\
        axes:\n  - {name: os, values: [a]}\n  - {name: python, kind: version, values: [3.13.5]}\n  \
        - {name: sanitizer, values: [none, asan]}\n";

    fn with_canary(canary: &str) -> anyhow::Result<Matrix> {
        Matrix::from_yaml(&format!("{BASE}canaries:\n  - {canary}\n"), "test.yaml")
    }

    fn error(canary: &str) -> String {
        format!("{:#}", with_canary(canary).unwrap_err())
    }

    const GOOD: &str = "{name: uaf, doc: d, when: {sanitizer: asan}, expect: [x], \
        code: \"print('matrix-canary: reached')\"}";

    #[test]
    fn a_good_canary_compiles_with_the_default_timeout() {
        let m = with_canary(GOOD).unwrap();
        assert_eq!(m.canaries.len(), 1);
        assert_eq!(m.canaries[0].timeout_seconds, super::DEFAULT_CANARY_TIMEOUT);
    }

    #[test]
    fn each_bad_field_is_named() {
        for (change, expected) in [
            (("doc: d", "doc: ' '"), "`doc` is empty"),
            (("expect: [x]", "expect: []"), "`expect` is empty"),
            (("expect: [x]", "expect: [\"a\\nb\"]"), "spans lines"),
            (
                ("matrix-canary: reached", "hello"),
                "never prints `matrix-canary: reached`",
            ),
            (("name: uaf", "name: 'a b'"), "name `a b` is not valid"),
            (
                ("sanitizer: asan", "sanitizer: msan"),
                "unknown value `msan`",
            ),
            (
                ("doc: d", "doc: d, timeout: 0"),
                "`timeout` 0 is not between",
            ),
            (
                ("code: \"", "code: \"f'{{x}}'; "),
                "`{{` in `code` or `expect`",
            ),
        ] {
            let message = error(&GOOD.replace(change.0, change.1));
            assert!(message.contains(expected), "{change:?}: {message}");
            assert!(message.contains("test.yaml"), "{message}");
        }
    }

    #[test]
    fn a_name_used_twice_is_refused() {
        let message = error(&format!("{GOOD}\n  - {GOOD}"));
        assert!(
            message.contains("canary #2 (`uaf`) is defined twice"),
            "{message}"
        );
    }
}
