//! Which candidate is the cause: walking back from where the failing stage ended (the first
//! make error, the failed-tests list, the running test when a deadline hit).

use super::super::classify::{Classification, Outcome, Stage};
use super::text::{clip, normalise};
use super::{Candidate, Cause, CauseKind, CauseReader, Evidence, HeaderLines};

impl CauseReader {
    pub(super) fn decide(
        &self,
        stage: Stage,
        outcome: Outcome,
        headers: &HeaderLines,
    ) -> Option<Cause> {
        let slot = &self.slots[stage as usize];
        let with = |kind: CauseKind, c: &Candidate| {
            let mut ev = c.ev.clone();
            if ev.text.is_empty() {
                ev.text = headers.text(ev.line).unwrap_or_default();
            }
            Some(Cause {
                kind,
                text: clip(&c.text),
                evidence: ev,
                finding: c.finding.as_ref().map(|(id, _)| id.clone()),
                report_words: c.finding.as_ref().map(|(_, words)| words.clone()),
            })
        };
        let target = slot.make_error.as_ref().map(|(_, t)| t.as_str());
        let making = |text: &str| match target {
            Some(t) => format!("{text} (making {t})"),
            None => text.to_owned(),
        };
        if matches!(outcome, Outcome::Timeout | Outcome::Oom) && slot.signal.is_none() {
            let what = if outcome == Outcome::Oom {
                "killed (OOM)"
            } else {
                "deadline hit"
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
                return with(CauseKind::Killed, &c);
            }
            if stage == Stage::Configure {
                if let Some(check) = &slot.checking {
                    let what_ran = check.ev.text.split("...").next().unwrap_or("").trim();
                    let c = Candidate {
                        text: format!("{what} while {}", normalise(what_ran)),
                        ..check.clone()
                    };
                    return with(CauseKind::Killed, &c);
                }
            }
        }
        match stage {
            Stage::Configure => {
                if let Some(error) = &slot.configure_error {
                    let mut c = error.clone();
                    c.text = format!("configure: error: {}", error.text);
                    if let Some(decisive) = &slot.configlog_decisive {
                        c.text = format!("{} (config.log: {})", c.text, decisive.text);
                        if let Some(fatal) = &slot.runtime_fatal {
                            if fatal.ev.line == decisive.ev.line {
                                return with(CauseKind::SanitizerRuntime, &c);
                            }
                        }
                    }
                    return with(CauseKind::Configure, &c);
                }
                if let Some(fatal) = &slot.runtime_fatal {
                    return with(CauseKind::SanitizerRuntime, fatal);
                }
                if let Some(report) = &slot.report {
                    let mut c = report.clone();
                    if let Some(signal) = &slot.signal {
                        c.text = format!("{} ({})", c.text, signal.text);
                    }
                    return with(CauseKind::Report, &c);
                }
                if let Some(signal) = &slot.signal {
                    return with(CauseKind::Signal, signal);
                }
            }
            Stage::Compilation => {
                // Walking back from the first make error: the nearest report or killed
                // command above it, else the first compiler error.
                let report = slot.report_before_make.as_ref();
                let signal = slot.signal_before_make.as_ref();
                let fatal = slot.runtime_fatal.as_ref().filter(|f| {
                    slot.make_error
                        .as_ref()
                        .map_or(true, |(l, _)| f.ev.line < *l)
                });
                let mut nearest: Option<(CauseKind, &Candidate)> = None;
                for (kind, c) in [
                    (CauseKind::Report, report),
                    (CauseKind::Signal, signal),
                    (CauseKind::SanitizerRuntime, fatal),
                ] {
                    if let Some(c) = c {
                        if nearest.map_or(true, |(_, n)| c.ev.line > n.ev.line) {
                            nearest = Some((kind, c));
                        }
                    }
                }
                if let Some(error) = &slot.compiler_error {
                    if nearest.map_or(true, |(_, n)| n.ev.line < error.ev.line) {
                        let c = Candidate {
                            text: making(&error.text),
                            ..error.clone()
                        };
                        return with(CauseKind::Compiler, &c);
                    }
                }
                if let Some((kind, c)) = nearest {
                    let c = Candidate {
                        text: making(&c.text),
                        ..c.clone()
                    };
                    return with(kind, &c);
                }
            }
            Stage::Tests => {
                if outcome == Outcome::Failed && !self.failed_tests.is_empty() {
                    let ev = headers.failed_block.clone().unwrap_or_else(|| Evidence {
                        line: 0,
                        text: String::new(),
                    });
                    let c = Candidate {
                        ev,
                        text: format!(
                            "{} failed: {}",
                            tests_word(self.failed_tests.len()),
                            self.failed_tests.join(" ")
                        ),
                        finding: None,
                    };
                    return with(CauseKind::Tests, &c);
                }
                let mut nearest: Option<(CauseKind, &Candidate)> = None;
                for (kind, c) in [
                    (CauseKind::Report, slot.report.as_ref()),
                    (CauseKind::SanitizerRuntime, slot.runtime_fatal.as_ref()),
                ] {
                    if let Some(c) = c {
                        if nearest.map_or(true, |(_, n)| c.ev.line > n.ev.line) {
                            nearest = Some((kind, c));
                        }
                    }
                }
                if let Some((kind, c)) = nearest {
                    let mut c = c.clone();
                    if let Some(test) = &slot.running_test {
                        if test.ev.line < c.ev.line {
                            c.text = format!("{} (in {})", c.text, test.text);
                        }
                    }
                    return with(kind, &c);
                }
                if let Some(signal) = &slot.signal {
                    let mut c = signal.clone();
                    if let Some(test) = &slot.running_test {
                        c.text = format!("{} (in {})", c.text, test.text);
                    }
                    return with(CauseKind::Signal, &c);
                }
            }
        }
        None
    }
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
        _ => return None,
    };
    let ev = classification.evidence.as_ref()?;
    if ev.text.starts_with("::matrix::") {
        return None;
    }
    Some(Cause {
        kind: CauseKind::Killed,
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
