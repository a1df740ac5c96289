//! A filter of results as a user names them: `any` (anything but a pass), `Unknown`, an outcome
//! (`Failed`, `Timeout`, …, any stage) or a result (`Tests. Failed`); what `run --fail-on`
//! and `run --rerun` take.

use anyhow::{bail, Result};

use super::{CellResult, Outcome, Stage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFilter {
    Any,
    Result(Stage, Outcome),
    Outcome(Outcome),
    Unknown,
}

impl ResultFilter {
    /// Parses one value, ignoring case; `flag` names where it was given, for the error.
    pub fn parse(text: &str, flag: &str) -> Result<ResultFilter> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("any") {
            return Ok(ResultFilter::Any);
        }
        if text.eq_ignore_ascii_case("unknown") {
            return Ok(ResultFilter::Unknown);
        }
        if let Some(o) = Outcome::ALL
            .iter()
            .find(|o| o.name().eq_ignore_ascii_case(text))
        {
            return Ok(ResultFilter::Outcome(*o));
        }
        for stage in Stage::ALL {
            for outcome in Outcome::ALL {
                if CellResult::Result(stage, outcome)
                    .label()
                    .eq_ignore_ascii_case(text)
                {
                    return Ok(ResultFilter::Result(stage, outcome));
                }
            }
        }
        let outcomes: Vec<&str> = Outcome::ALL.iter().map(|o| o.name()).collect();
        bail!(
            "{flag} `{text}` is not a result: give `any`, `Unknown`, an outcome ({}) or a \
             result such as `Tests. Failed`",
            outcomes.join(", ")
        )
    }

    pub fn matches(&self, result: &CellResult) -> bool {
        match (self, result) {
            (ResultFilter::Any, CellResult::Result(_, Outcome::Passed)) => false,
            (ResultFilter::Any, _) => true,
            (ResultFilter::Unknown, CellResult::Unknown(_)) => true,
            (ResultFilter::Outcome(o), CellResult::Result(_, outcome)) => o == outcome,
            (ResultFilter::Result(s, o), CellResult::Result(stage, outcome)) => {
                s == stage && o == outcome
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_results_outcomes_unknown_and_any() {
        let failed = CellResult::Result(Stage::Tests, Outcome::Failed);
        let passed = CellResult::Result(Stage::Tests, Outcome::Passed);
        let timeout = CellResult::Result(Stage::Configure, Outcome::Timeout);
        let parse = |text| ResultFilter::parse(text, "--x").unwrap();
        assert!(parse("tests. failed").matches(&failed));
        assert!(!parse("Tests. Failed").matches(&timeout));
        assert!(parse("Timeout").matches(&timeout));
        assert!(parse("failed").matches(&failed));
        assert!(parse("any").matches(&timeout));
        assert!(!parse("any").matches(&passed));
        assert!(parse("Unknown").matches(&CellResult::Unknown("x".into())));
        let err = ResultFilter::parse("Broken", "--fail-on")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--fail-on `Broken`") && err.contains("Tests. Failed"),
            "{err}"
        );
    }
}
