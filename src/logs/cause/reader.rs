//! What each line of a log offers as a cause: per stage, the last report, runtime message,
//! killed command, compiler or configure error, config.log line and running test, and
//! regrtest's list of failed tests.

use super::super::classify::{bare_signal, job_status, Classifier, Stage};
use super::super::read::Seen;
use super::super::Evidence;
use super::text::{
    base_name, compiler_error, evidence, is_telling, make_error_target, needles, normalise,
    report_cause, runtime_fatal, signal_cause, strip_pid,
};
use super::{Candidate, CauseReader, Slot};
use crate::sanitizer::regrtest::is_regrtest_progress;
use crate::sanitizer::{RawReport, Signature};

/// How `matrix run` says in a cell's log that it stopped the cell at its deadline.
const RUN_DEADLINE: &[u8] = b"matrix run: the deadline of ";

impl CauseReader {
    /// Takes the line the classifier just took. `marked` false says the line holds none of
    /// the classifier's phrases nor `error:`, `undefined reference` or `: runtime error:` (the
    /// reader searched its buffer at once), so those searches are skipped.
    pub fn line(&mut self, classifier: &Classifier, seen: Seen) {
        let (raw, marked) = (seen.text, seen.marked);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line_no = classifier.lines();
        if let Some(rest) = raw.strip_prefix(RUN_DEADLINE) {
            let words = String::from_utf8_lossy(rest);
            self.run_deadline = Some(Candidate {
                ev: evidence(line_no, raw),
                text: words.split(" was reached").next().unwrap_or("").to_string(),
                finding: None,
            });
        }
        let stage = classifier.stage();
        let emitted = &mut self.emitted;
        self.recognizer
            .line_marked(line_no, stage, raw, marked, &mut |r| emitted.push(r));
        if !self.emitted.is_empty() {
            for report in std::mem::take(&mut self.emitted) {
                self.attach(report);
            }
        }
        self.regrtest.line(raw);
        if let Some(stage) = stage {
            self.stage_line(stage, line_no, raw, marked, &seen);
        }
    }

    fn stage_line(&mut self, stage: Stage, line_no: u64, raw: &[u8], marked: bool, seen: &Seen) {
        let slot = &mut self.slots[stage as usize];
        let first = raw.first().copied().unwrap_or(b' ');
        if first == b'=' && raw.starts_with(b"==") {
            // A report header: its cause text and signature come when the report ends.
            let text = String::from_utf8_lossy(raw);
            if let Some(message) = runtime_fatal(&text) {
                slot.runtime_fatal = Some(Candidate {
                    ev: evidence(line_no, raw),
                    text: normalise(message),
                    finding: None,
                });
            }
        }
        if first == b'm' || first == b'g' {
            if let Some(target) = make_error_target(raw) {
                if slot.make_error.is_none() {
                    slot.make_error = Some((line_no, target));
                }
                return;
            }
        }
        if first == b'c' && raw.starts_with(b"checking ") {
            slot.checking_kept.keep(line_no, raw);
            if !marked {
                // configure's own progress, a third of a log's lines: a cause only when a
                // signal cut it short (`checking ... Terminated`), which is a marked line.
                return;
            }
        }
        if first == b'c' && raw.starts_with(b"configure:") {
            self.configure_line(stage, line_no, raw);
            return;
        }
        if (first.is_ascii_digit() || first == b'[') && is_regrtest_progress(raw) {
            self.slots[stage as usize].running_kept.keep(line_no, raw);
            if stage == Stage::Tests {
                if let Some(test) = crate::sanitizer::regrtest::regrtest_test(raw) {
                    self.regrtest.ran(test);
                }
            }
            return;
        }
        let slot = &mut self.slots[stage as usize];
        if first == b'|' {
            return; // config.log's listing of a test program's source
        }
        if stage == Stage::Configure && is_telling(raw, marked) {
            // config.log's lines between a `checking` and its `error:`: the program's output.
            slot.configlog_recent.keep(line_no, raw);
        }
        if !marked || !needles().is_match(raw) {
            return;
        }
        marked_line(slot, stage, line_no, raw, seen);
    }

    fn configure_line(&mut self, stage: Stage, line_no: u64, raw: &[u8]) {
        let slot = &mut self.slots[stage as usize];
        if raw.starts_with(b"configure: error: ") {
            let text = String::from_utf8_lossy(raw);
            let message = &text["configure: error: ".len()..];
            if !message.starts_with("in `") && !message.starts_with("in '") {
                slot.configure_error = Some(Candidate {
                    ev: evidence(line_no, raw),
                    text: normalise(message.trim_end_matches('.')),
                    finding: None,
                });
            }
            return;
        }
        // config.log: `configure:5460: checking ...`, `configure:5492: error: ...`.
        let Some(rest) = raw.strip_prefix(b"configure:") else {
            return;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let rest = &rest[digits..];
        if rest.starts_with(b": checking ") {
            slot.configlog_recent.clear();
        } else if rest.starts_with(b": error: ") && !rest.starts_with(b": error: in ") {
            if let Some((line, recent)) = slot.configlog_recent.get() {
                let text = String::from_utf8_lossy(recent);
                slot.configlog_decisive = Some(Candidate {
                    ev: evidence(line, recent),
                    text: normalise(strip_pid(&text)),
                    finding: None,
                });
            }
        }
    }

    /// Takes a report the recognizer emitted: a candidate cause of its stage, and one more
    /// report of the log.
    pub(super) fn attach(&mut self, report: RawReport) {
        self.candidate(&report);
        self.found.add(report);
    }

    fn candidate(&mut self, report: &RawReport) {
        let Some(stage) = report.stage else { return };
        let signature = Signature::of_report(report);
        let text = report_cause(report);
        let candidate = Candidate {
            ev: Evidence {
                line: report.start,
                text: String::new(),
            },
            finding: Some((signature.id(), text.clone())),
            text,
        };
        let slot = &mut self.slots[stage as usize];
        if slot
            .make_error
            .as_ref()
            .is_none_or(|(line, _)| report.start < *line)
        {
            slot.report_before_make = Some(candidate.clone());
        }
        slot.report = Some(candidate);
    }
}

/// A marked line that may name a cause (a job's or a bare signal, a compiler's error): kept in
/// the stage's slot.
fn marked_line(slot: &mut Slot, stage: Stage, line_no: u64, raw: &[u8], seen: &Seen) {
    let text = String::from_utf8_lossy(raw);
    if job_status(&text).is_some() {
        let candidate = Candidate {
            ev: evidence(line_no, raw),
            text: signal_cause(&text),
            finding: None,
        };
        slot.note_signal(candidate);
        return;
    }
    if let Some(outcome) = bare_signal(&text) {
        if !text.contains("...") {
            // The command's first bounded bytes, as ever (a word longer is cut there).
            let previous = seen.previous();
            let command = String::from_utf8_lossy(&previous[..previous.len().min(256)]);
            let program = command
                .split_whitespace()
                .next()
                .map(base_name)
                .unwrap_or_default();
            let candidate = Candidate {
                ev: evidence(line_no, raw),
                text: if program.is_empty() {
                    outcome.name().to_owned()
                } else {
                    format!("{} in {program}", outcome.name())
                },
                finding: None,
            };
            slot.note_signal(candidate);
        }
        return;
    }
    if stage == Stage::Configure {
        return;
    }
    if slot.compiler_error.is_none() && slot.make_error.is_none() {
        if let Some(message) = compiler_error(&text) {
            slot.compiler_error = Some(Candidate {
                ev: evidence(line_no, raw),
                text: normalise(&message),
                finding: None,
            });
        }
    }
}

impl Slot {
    /// A signal that ended a command: the latest, and the latest before make's first error.
    fn note_signal(&mut self, candidate: Candidate) {
        if self.make_error.is_none() {
            self.signal_before_make = Some(candidate.clone());
        }
        self.signal = Some(candidate);
    }
}
