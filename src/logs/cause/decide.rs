//! Which candidate is the cause: walking back from where the failing stage ended (the first
//! make error, the failed-tests list, the running test when a deadline hit).

use super::super::classify::{Classification, Outcome, Stage};
use super::text::{clip, normalise};
use super::{Candidate, Cause, CauseKind, CauseReader, Evidence, HeaderLines, Slot};

impl CauseReader {
    pub(super) fn decide(
        &self,
        stage: Stage,
        outcome: Outcome,
        headers: &HeaderLines,
    ) -> Option<Cause> {
        let slot = &self.slots[stage as usize];
        let (kind, c) = self.killed(stage, outcome, slot).or_else(|| match stage {
            // No tool's words before configure: the script's last line says it.
            Stage::Setup => None,
            Stage::Configure => configure_cause(slot),
            Stage::Compilation => compilation_cause(slot),
            Stage::Tests => self.tests_cause(slot, outcome, headers),
        })?;
        Some(cause(kind, c, headers))
    }

    /// A deadline or memory kill (no command of the stage died of a signal): the test that
    /// was running, else configure's last check.
    fn killed(
        &self,
        stage: Stage,
        outcome: Outcome,
        slot: &Slot,
    ) -> Option<(CauseKind, Candidate)> {
        if !matches!(outcome, Outcome::Timeout | Outcome::Oom) || slot.signal.is_some() {
            return None;
        }
        let what = match (&self.run_deadline, outcome) {
            (_, Outcome::Oom) => "killed (OOM)".to_string(),
            // The run says which deadline it enforced.
            (Some(d), _) => format!("deadline of {} hit (matrix run)", d.text),
            (None, _) => "deadline hit".to_string(),
        };
        // The test may have run in another stage's slot (a PGO training run of make).
        let test = self
            .slots
            .iter()
            .filter_map(|s| s.running_test.as_ref())
            .max_by_key(|t| t.ev.line);
        if let Some(test) = test {
            let c = Candidate {
                text: format!("{what} while running {}", test.text),
                ..test.clone()
            };
            return Some((CauseKind::Killed, c));
        }
        let check = slot.checking.as_ref().filter(|_| stage == Stage::Configure);
        let Some(check) = check else {
            // Nothing was running that the log names: the run's own line is the cause.
            let d = self
                .run_deadline
                .as_ref()
                .filter(|_| outcome == Outcome::Timeout)?;
            let c = Candidate {
                text: format!("{what} during {}", stage.name().to_lowercase()),
                ..d.clone()
            };
            return Some((CauseKind::Killed, c));
        };
        let what_ran = check.ev.text.split("...").next().unwrap_or("").trim();
        let c = Candidate {
            text: format!("{what} while {}", normalise(what_ran)),
            ..check.clone()
        };
        Some((CauseKind::Killed, c))
    }

    /// The failed-tests list, else the last report or runtime fatal error (with the test it
    /// came in), else a signal (with the running test).
    fn tests_cause(
        &self,
        slot: &Slot,
        outcome: Outcome,
        headers: &HeaderLines,
    ) -> Option<(CauseKind, Candidate)> {
        if outcome == Outcome::Failed && !self.failed_tests.is_empty() {
            return Some((CauseKind::Tests, self.failed_tests_candidate(headers)));
        }
        let last = latest([
            (CauseKind::Report, slot.report.as_ref()),
            (CauseKind::SanitizerRuntime, slot.runtime_fatal.as_ref()),
        ]);
        if let Some((kind, c)) = last {
            let mut c = c.clone();
            if let Some(test) = &slot.running_test {
                if test.ev.line < c.ev.line {
                    c.text = format!("{} (in {})", c.text, test.text);
                }
            }
            return Some((kind, c));
        }
        let mut c = slot.signal.clone()?;
        if let Some(test) = &slot.running_test {
            c.text = format!("{} (in {})", c.text, test.text);
        }
        Some((CauseKind::Signal, c))
    }

    /// The failed tests, at regrtest's heading of their list.
    fn failed_tests_candidate(&self, headers: &HeaderLines) -> Candidate {
        let ev = headers.failed_block.clone().unwrap_or_else(|| Evidence {
            line: 0,
            text: String::new(),
        });
        Candidate {
            ev,
            text: format!(
                "{} failed: {}",
                tests_word(self.failed_tests.len()),
                self.failed_tests.join(" ")
            ),
            finding: None,
        }
    }
}

/// The cause a candidate makes: its evidence's text read back from the headers when the
/// candidate kept none.
fn cause(kind: CauseKind, c: Candidate, headers: &HeaderLines) -> Cause {
    let mut evidence = c.ev;
    if evidence.text.is_empty() {
        evidence.text = headers.text(evidence.line).unwrap_or_default();
    }
    let (finding, report_words) = c.finding.unzip();
    Cause {
        kind,
        text: clip(&c.text),
        evidence,
        finding,
        report_words,
    }
}

/// configure's own error, else a runtime fatal error, a report or a signal.
fn configure_cause(slot: &Slot) -> Option<(CauseKind, Candidate)> {
    if let Some(error) = &slot.configure_error {
        return Some(configure_error(slot, error));
    }
    if let Some(fatal) = &slot.runtime_fatal {
        return Some((CauseKind::SanitizerRuntime, fatal.clone()));
    }
    if let Some(report) = &slot.report {
        let mut c = report.clone();
        if let Some(signal) = &slot.signal {
            c.text = format!("{} ({})", c.text, signal.text);
        }
        return Some((CauseKind::Report, c));
    }
    slot.signal
        .clone()
        .map(|signal| (CauseKind::Signal, signal))
}

/// `configure: error:` with config.log's decisive line; a runtime fatal error when that line
/// is the sanitizer runtime's.
fn configure_error(slot: &Slot, error: &Candidate) -> (CauseKind, Candidate) {
    let mut c = error.clone();
    c.text = format!("configure: error: {}", error.text);
    if let Some(decisive) = &slot.configlog_decisive {
        c.text = format!("{} (config.log: {})", c.text, decisive.text);
        if let Some(fatal) = &slot.runtime_fatal {
            if fatal.ev.line == decisive.ev.line {
                return (CauseKind::SanitizerRuntime, c);
            }
        }
    }
    (CauseKind::Configure, c)
}

fn compilation_cause(slot: &Slot) -> Option<(CauseKind, Candidate)> {
    // Walking back from the first make error: the nearest report or killed
    // command above it, else the first compiler error.
    let report = slot.report_before_make.as_ref();
    let signal = slot.signal_before_make.as_ref();
    let fatal = slot
        .runtime_fatal
        .as_ref()
        .filter(|f| slot.make_error.as_ref().is_none_or(|(l, _)| f.ev.line < *l));
    let nearest = latest([
        (CauseKind::Report, report),
        (CauseKind::Signal, signal),
        (CauseKind::SanitizerRuntime, fatal),
    ]);
    if let Some(error) = &slot.compiler_error {
        if nearest.is_none_or(|(_, n)| n.ev.line < error.ev.line) {
            let c = Candidate {
                text: making(slot, &error.text),
                ..error.clone()
            };
            return Some((CauseKind::Compiler, c));
        }
    }
    let (kind, c) = nearest?;
    let c = Candidate {
        text: making(slot, &c.text),
        ..c.clone()
    };
    Some((kind, c))
}

/// `text`, with the target of the stage's first make error.
fn making(slot: &Slot, text: &str) -> String {
    match slot.make_error.as_ref().map(|(_, t)| t.as_str()) {
        Some(t) => format!("{text} (making {t})"),
        None => text.to_owned(),
    }
}

/// The candidate on the latest line; of two on the same line, the first listed.
fn latest<const N: usize>(
    candidates: [(CauseKind, Option<&Candidate>); N],
) -> Option<(CauseKind, &Candidate)> {
    let mut nearest: Option<(CauseKind, &Candidate)> = None;
    for (kind, c) in candidates {
        if let Some(c) = c {
            if nearest.is_none_or(|(_, n)| c.ev.line > n.ev.line) {
                nearest = Some((kind, c));
            }
        }
    }
    nearest
}

/// A deadline or memory kill with nothing better: the last line the stage printed, unless
/// it is a marker.
pub(super) fn killed_last_words(
    stage: Stage,
    outcome: Outcome,
    classification: &Classification,
) -> Option<Cause> {
    let what = match outcome {
        Outcome::Timeout => "deadline hit",
        Outcome::Oom => "killed (OOM)",
        _ if stage == Stage::Setup => "failed",
        _ => return None,
    };
    let ev = classification.evidence.as_ref()?;
    if ev.text.starts_with("::matrix::") {
        return None;
    }
    Some(Cause {
        kind: if what == "failed" {
            CauseKind::Setup
        } else {
            CauseKind::Killed
        },
        text: clip(&format!(
            "{what} during {} (last line: {})",
            stage.name().to_lowercase(),
            normalise(&ev.text)
        )),
        evidence: ev.clone(),
        finding: None,
        report_words: None,
    })
}

fn tests_word(n: usize) -> String {
    if n == 1 {
        "1 test".into()
    } else {
        format!("{n} tests")
    }
}
