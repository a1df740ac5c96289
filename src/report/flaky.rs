//! Flaky cells: a pass that is not a plain pass. A cell whose last attempt passed after one that
//! did not (`run --rerun`, an Argo retry), and tests regrtest saw fail and then pass on its
//! re-run (`Result: FAILURE then SUCCESS`) are reported as flaky, never as a plain pass.

use serde::Serialize;

use super::{CellResult, Outcome, Stage};
use crate::logs::cause::Why;

/// Why a cell is flaky.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Flaky {
    /// The results of earlier attempts that did not pass, oldest first, when the last one
    /// passed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<String>,
    /// regrtest's verdict when its re-run turned it to success: `FAILURE then SUCCESS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regrtest: Option<String>,
    /// Tests that failed and then passed when regrtest ran them again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<String>,
}

impl Flaky {
    /// A cell's flakiness from the results of its earlier attempts (oldest first; `None`:
    /// unknown), and the deciding one's `why` and result.
    pub fn of(
        earlier: impl Iterator<Item = Option<(Stage, Outcome)>>,
        why: &Why,
        result: &CellResult,
    ) -> Option<Flaky> {
        let passed = matches!(result, CellResult::Result(_, Outcome::Passed));
        let attempts: Vec<String> = if passed {
            earlier
                .filter_map(|result| match result {
                    Some((_, Outcome::Passed)) => None,
                    Some((stage, outcome)) => Some(format!("{stage}. {outcome}")),
                    None => Some("Unknown".into()),
                })
                .collect()
        } else {
            Vec::new()
        };
        let regrtest = (why.regrtest_changed.as_ref())
            .filter(|v| v.ends_with(" then SUCCESS"))
            .cloned();
        let flaky = Flaky {
            attempts,
            regrtest,
            tests: why.flaky_tests.clone(),
        };
        let any = !flaky.attempts.is_empty() || flaky.regrtest.is_some();
        (any || !flaky.tests.is_empty()).then_some(flaky)
    }

    /// Whether the cell passed only after a failure: an earlier attempt, or regrtest's re-run.
    pub fn passed_late(&self) -> bool {
        !self.attempts.is_empty() || self.regrtest.is_some()
    }

    /// The `flaky` column: `earlier attempts: Tests. Failed; regrtest: FAILURE then SUCCESS
    /// (test_os)`, or `passed on re-run: test_os` in a cell that failed all the same.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if !self.attempts.is_empty() {
            parts.push(format!("earlier attempts: {}", self.attempts.join(", ")));
        }
        let tests = self.tests.join(" ");
        match (&self.regrtest, tests.is_empty()) {
            (Some(verdict), true) => parts.push(format!("regrtest: {verdict}")),
            (Some(verdict), false) => parts.push(format!("regrtest: {verdict} ({tests})")),
            (None, false) => parts.push(format!("passed on re-run: {tests}")),
            (None, true) => {}
        }
        parts.join("; ")
    }
}
