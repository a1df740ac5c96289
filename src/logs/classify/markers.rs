//! The marker engine: logs of this tool's own scripts, where `::matrix::` stage markers and
//! their exit statuses decide, and the tools' words only refine a failure's kind.

use super::*;

/// The stages of our build scripts' markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MarkerStage {
    Setup,
    Result(Stage),
    /// Deliberate defects between the build and the tests; they never decide a result.
    Canaries,
    Collect,
}

impl MarkerStage {
    pub(super) fn parse(name: &str) -> Option<MarkerStage> {
        Some(match name {
            "setup" => MarkerStage::Setup,
            "configure" => MarkerStage::Result(Stage::Configure),
            "compile" => MarkerStage::Result(Stage::Compilation),
            "tests" => MarkerStage::Result(Stage::Tests),
            "canaries" => MarkerStage::Canaries,
            "collect" => MarkerStage::Collect,
            _ => return None,
        })
    }
}

/// Where a marker log is.
#[derive(Debug, Default, Clone)]
pub(super) struct Markers {
    pub(super) seen: bool,
    pub(super) current: Option<MarkerStage>,
    /// The last stage that ended, its status and the marker line.
    pub(super) last_end: Option<(MarkerStage, i64, Evidence)>,
    pub(super) tests_skipped: bool,
    pub(super) finish: Option<(Option<MarkerStage>, i64, Evidence)>,
    pub(super) malformed: Option<Evidence>,
}

impl Classifier {
    pub(super) fn marker(&mut self, line_no: u64, text: &str, rest: &str) {
        let m = &mut self.markers;
        m.seen = true;
        let mut event = None;
        let mut stage = None;
        let mut status = None;
        let mut cell = None;
        let mut time = None;
        let (mut name, mut result) = (None, None);
        for field in rest.split_whitespace() {
            match field.split_once('=') {
                Some(("name", v)) => name = Some(v),
                Some(("result", v)) => result = CanaryResult::parse(v),
                Some(("event", v)) => event = Some(v),
                Some(("stage", v)) => stage = Some(v),
                Some(("status", v)) => status = v.parse::<i64>().ok(),
                Some(("cell", v)) => cell = Some(v),
                Some(("time", v)) => time = Some(v),
                _ => {}
            }
        }
        if self.started.is_none() {
            self.started = time.map(str::to_owned);
        }
        self.facts.marker(event, stage, time, rest);
        let ev = evidence(line_no, text);
        let parsed_stage = stage.and_then(MarkerStage::parse);
        match (event, parsed_stage, status) {
            (Some("stage-start"), Some(s), _) => {
                m.current = Some(s);
                if let MarkerStage::Result(stage) = s {
                    self.stages[stage.index()] = StageEvidence {
                        first_line: line_no,
                        ..StageEvidence::default()
                    };
                }
            }
            (Some("stage-end"), Some(s), Some(status)) => {
                m.current = None;
                m.last_end = Some((s, status, ev));
            }
            (Some("stage-skip"), Some(MarkerStage::Result(Stage::Tests)), _) => {
                m.tests_skipped = true;
            }
            // Only the script's canaries stage runs canaries: the same words from a test's
            // output elsewhere are no canary's. A result it cannot read says nothing (error).
            (Some("canary"), _, _) => match name.filter(|n| !n.is_empty()) {
                Some(name) if m.current == Some(MarkerStage::Canaries) => {
                    self.canaries.push(CanaryRun {
                        name: name.to_owned(),
                        result: result.unwrap_or(CanaryResult::Error),
                    })
                }
                _ => m.malformed = Some(ev),
            },
            // A per-process report file follows; its reports are the cell's like any other.
            (Some("sanitizer-log"), _, _) => {}
            (Some("finish"), s, Some(status)) if s.is_some() || stage == Some("none") => {
                m.current = None;
                m.finish = Some((s, status, ev));
                self.cell = cell.map(str::to_owned);
            }
            _ => m.malformed = Some(ev),
        }
    }

    /// Logs of our own scripts: the markers and statuses decide; the tools' words only say
    /// which kind of failure a non-zero status was when the status alone cannot.
    pub(super) fn decide_markers(&self, ends_mid_line: bool) -> (Verdict, Option<Evidence>) {
        match &self.markers.finish {
            Some((stage, status, ev)) => self.decide_finished(*stage, *status, ev),
            None => self.decide_unfinished(ends_mid_line),
        }
    }

    /// A log with the finish marker: the stage it names and its status decide.
    fn decide_finished(
        &self,
        stage: Option<MarkerStage>,
        status: i64,
        ev: &Evidence,
    ) -> (Verdict, Option<Evidence>) {
        let stage = match stage {
            Some(MarkerStage::Result(stage)) => stage,
            Some(MarkerStage::Collect) if status == 0 => {
                return self.passed_marker(ev);
            }
            Some(MarkerStage::Collect) => {
                return unknown(
                    format!(
                    "the build passed but collecting its artifacts failed (status {status})"
                ),
                    Some(ev.clone()),
                )
            }
            Some(MarkerStage::Canaries) => {
                return unknown(
                    format!("the build passed, but the script stopped while running its canaries (status {status})"),
                    Some(ev.clone()),
                )
            }
            Some(MarkerStage::Setup) if status != 0 && status != 130 => {
                // Before configure: the script's own error (its last words) is the cause.
                let outcome = Outcome::from_status(status);
                let last = self.last_line().unwrap_or_else(|| ev.clone());
                return (
                    Verdict::Result {
                        stage: Stage::Setup,
                        outcome,
                    },
                    Some(last),
                );
            }
            Some(MarkerStage::Setup) | None => {
                if status == 0 {
                    return unknown(
                        "the script finished without running any stage",
                        Some(ev.clone()),
                    );
                }
                return unknown(
                    format!("the build failed before configure (setup, status {status})"),
                    Some(self.last_line().unwrap_or_else(|| ev.clone())),
                );
            }
        };
        if status == 0 {
            return self.passed_marker(ev);
        }
        if status == 130 {
            return unknown("the build was interrupted (SIGINT)", Some(ev.clone()));
        }
        let by_status = Outcome::from_status(status);
        let (outcome, decided) = if by_status == Outcome::Failed {
            match self.refine(stage) {
                Some((outcome, ev)) => (outcome, ev),
                None => (Outcome::Failed, ev.clone()),
            }
        } else {
            (by_status, ev.clone())
        };
        (Verdict::Result { stage, outcome }, Some(decided))
    }

    /// No finish marker: the pod was killed, or the log was cut.
    fn decide_unfinished(&self, ends_mid_line: bool) -> (Verdict, Option<Evidence>) {
        let m = &self.markers;
        let inside = m
            .current
            .or_else(|| m.last_end.as_ref().map(|(s, _, _)| *s));
        match inside {
            None => unknown(
                "the log has ::matrix:: lines but no stage started (truncated?)",
                self.last_line(),
            ),
            Some(MarkerStage::Setup) => unknown(
                "the log stops during setup, before configure (truncated or killed)",
                self.last_line(),
            ),
            Some(MarkerStage::Collect) => unknown(
                "the log stops while collecting artifacts (truncated or killed)",
                self.last_line(),
            ),
            Some(MarkerStage::Canaries) => unknown(
                "the log stops while the canaries run, after the build (truncated or killed)",
                self.last_line(),
            ),
            Some(MarkerStage::Result(stage)) => {
                if m.current.is_none() {
                    // A stage ended but the script never finished: it was killed in between.
                    if let Some((_, status, ev)) = &m.last_end {
                        if *status != 0 {
                            let outcome = match Outcome::from_status(*status) {
                                Outcome::Failed => self
                                    .refine(stage)
                                    .map(|(o, _)| o)
                                    .unwrap_or(Outcome::Failed),
                                o => o,
                            };
                            return (Verdict::Result { stage, outcome }, Some(ev.clone()));
                        }
                    }
                }
                self.stopped(stage, ends_mid_line)
            }
        }
    }

    pub(super) fn passed_marker(&self, ev: &Evidence) -> (Verdict, Option<Evidence>) {
        let m = &self.markers;
        let ran_tests = matches!(&m.last_end, Some((MarkerStage::Result(Stage::Tests), 0, _)))
            || self.stages[Stage::Tests.index()].first_line > 0;
        let stage = if ran_tests && !m.tests_skipped {
            Stage::Tests
        } else {
            Stage::Compilation
        };
        let decided = self.stages[Stage::Tests.index()]
            .regrtest_result
            .as_ref()
            .filter(|_| stage == Stage::Tests)
            .map(|(e, _)| e.clone())
            .unwrap_or_else(|| ev.clone());
        (
            Verdict::Result {
                stage,
                outcome: Outcome::Passed,
            },
            Some(decided),
        )
    }
}
