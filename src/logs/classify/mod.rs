//! Classifying one build log, line by line, into `<Stage>. <Outcome>`: exactly from the
//! `::matrix::` stage markers when the log has them, else from what bash's `set -x` trace,
//! configure, make, the compilers, CPython's test runner, the sanitizers and the kernel print.
//!
//! The classifier is fed one line at a time and keeps only a bounded amount of state (the
//! deciding lines of each stage and a short tail), so a log of any size is read in one pass.
//!
//! Submodules: [`types`] (what a verdict says), [`phrases`](mod@phrases) (which lines matter and what they
//! say), [`markers`] (the engine for logs with `::matrix::` markers), [`legacy`] (the engine
//! for logs without).

mod facts;
mod legacy;
mod markers;
mod phrases;
mod types;

use std::collections::VecDeque;

pub use facts::Facts;
use markers::{MarkerStage, Markers};
use phrases::*;
pub(crate) use phrases::{bare_signal, job_status};
pub use phrases::{line_finder, phrase_finder, OBSERVED, SEARCHED};
pub use types::{CanaryResult, CanaryRun, Classification, Evidence, Outcome, Stage, Verdict};

/// Longest prefix of a line kept as evidence.
const EVIDENCE_CHARS: usize = 400;

/// Lines of the tail kept to judge how a log that just stops ended.
pub const TAIL_LINES: usize = 12;

/// The deciding lines seen while one stage ran.
#[derive(Debug, Default, Clone)]
struct StageEvidence {
    /// First line of the stage (to know which tail lines belong to it).
    first_line: u64,
    /// bash's report on a command it ran: `script: line N: PID Segmentation fault  cmd`.
    job_status: Option<(Evidence, Outcome)>,
    /// A shell's bare report on a child: `Segmentation fault (core dumped)`, `Terminated`.
    bare_signal: Option<(Evidence, Outcome)>,
    /// The first (innermost) `make: *** ...` error and what it says, and the top-level one.
    make_first: Option<(Evidence, Option<Outcome>)>,
    make_top: Option<Evidence>,
    /// Whether the first make error came while a PGO training run of the test suite ran.
    make_failed_in_training: bool,
    compiler_crash: Option<(Evidence, Outcome)>,
    fatal_python: Option<(Evidence, Outcome)>,
    sanitizer_summary: Option<(Evidence, Outcome)>,
    sanitizer_oom: Option<Evidence>,
    /// A sanitizer's last words before it ends the process: `==N==ABORTING`, `... Dying`.
    sanitizer_fatal: Option<Evidence>,
    /// The line number of regrtest's last progress line (`0:01:02 [ 12/478] test_x`): the
    /// test suite is running.
    regrtest_progress: Option<u64>,
    /// The last line of build activity (make, a compiler), to tell a PGO training run apart.
    build_activity: u64,
    /// The script's next traced command after make: make has returned.
    moved_on: Option<Evidence>,
    regrtest_result: Option<(Evidence, Outcome)>,
    worker_crash: Option<(Evidence, Outcome)>,
    test_timed_out: Option<Evidence>,
    configure_error: Option<Evidence>,
    configure_exit: Option<(Evidence, i64)>,
}

/// The first bytes of the lines the classifier reads without a phrase in them: the cell's
/// name (`MATRIX_CELL=`), markers (`::matrix::`), bash's trace (`+ `), what says which stage
/// a log without markers is in and that the build is at work (`checking`, `make`, `gcc`,
/// `clang`, `cc`, `ccache`, `/usr/bin/...`, `== CPython`), and the phrases that start a line
/// ([`phrases::line_start_phrase`]: make's errors, `Result:`, `== Tests result:`,
/// `Tests result:`, `Timeout (`, `configure:`, regrtest's progress).
static LOOKED_AT: [bool; 256] = {
    let mut bytes = [false; 256];
    let starts = b"M:+cmg/=RT0123456789";
    let mut i = 0;
    while i < starts.len() {
        bytes[starts[i] as usize] = true;
        i += 1;
    }
    bytes
};

/// A streaming classifier: [`Classifier::feed`] each line, then [`Classifier::finish`].
#[derive(Debug, Default)]
pub struct Classifier {
    lines: u64,
    markers: Markers,
    cell: Option<String>,
    cell_env: Option<String>,
    started: Option<String>,
    /// The stage the legacy reading (trace lines, tool output) says the log is in.
    legacy_stage: Option<Stage>,
    /// Whether bash's `set -x` trace names the stages; if not, tool output does.
    traced: bool,
    /// Evidence per result stage, filled for whichever stage the log is in.
    stages: [StageEvidence; Stage::ALL.len()],
    /// Lines outside any result stage (setup) are kept here.
    outside: StageEvidence,
    /// The canaries' deliberate reports land here, where no verdict looks.
    canary_stage: StageEvidence,
    canaries: Vec<CanaryRun>,
    facts: facts::FactsReader,
    /// The last non-blank lines, raw (buffers reused: no allocation per line).
    tail: VecDeque<(u64, Vec<u8>)>,
    /// The tail as evidence, made once all lines are in.
    tail_ev: Vec<Evidence>,
}

fn evidence(line: u64, text: &str) -> Evidence {
    let text = text.trim_end();
    let text = match text.char_indices().nth(EVIDENCE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    };
    Evidence { line, text }
}

impl Classifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next line (without its newline; at most a bounded prefix of a long line).
    pub fn feed(&mut self, raw: &[u8]) {
        self.feed_flagged(raw, phrases().is_match(raw));
    }

    /// [`Classifier::feed`] for a caller that already searched the line's bytes with
    /// [`phrase_finder`]: `has_phrase` is false only if the line holds none of the phrases.
    pub fn feed_flagged(&mut self, raw: &[u8], has_phrase: bool) {
        self.feed_untailed(raw, has_phrase);
        self.push_tail(self.lines, raw);
    }

    /// Whether [`Classifier::push_tail`] would keep `raw`: a non-blank line that is not a
    /// marker.
    pub fn is_tail_line(raw: &[u8]) -> bool {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        !raw.starts_with(b"::matrix:: ") && raw.iter().any(|b| !b.is_ascii_whitespace())
    }

    /// Keeps line `line_no` in the tail (the last lines, which say how a log that stops
    /// ended) if it is a tail line. [`Classifier::feed_flagged`] does it for each line; a
    /// reader holding its lines in a buffer gives only the last few of each buffer, in order,
    /// after feeding them with [`Classifier::feed_untailed`].
    pub fn push_tail(&mut self, line_no: u64, raw: &[u8]) {
        if !Self::is_tail_line(raw) {
            return;
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let mut buf = if self.tail.len() == TAIL_LINES {
            self.tail.pop_front().map(|(_, b)| b).unwrap_or_default()
        } else {
            Vec::new()
        };
        buf.clear();
        buf.extend_from_slice(&raw[..raw.len().min(EVIDENCE_CHARS * 4)]);
        self.tail.push_back((line_no, buf));
    }

    /// [`Classifier::feed_flagged`] without keeping the line in the tail.
    #[inline(always)]
    pub fn feed_untailed(&mut self, raw: &[u8], has_phrase: bool) {
        self.lines += 1;
        // Most lines hold no phrase and start with a byte no line the classifier reads starts
        // with: they are counted, and that is all.
        if has_phrase || raw.first().is_some_and(|&b| LOOKED_AT[usize::from(b)]) {
            self.feed_looked_at(raw, has_phrase);
        }
    }

    #[inline(never)]
    fn feed_looked_at(&mut self, raw: &[u8], has_phrase: bool) {
        let line_no = self.lines;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // Most lines need no text at all: look at bytes first, decode only lines that matter.
        if raw.starts_with(b"MATRIX_CELL=") && self.cell_env.is_none() {
            // `env` in the setup stage names the cell, if the script exports it: a log that
            // stops before its finish marker still has a key.
            let value = String::from_utf8_lossy(&raw["MATRIX_CELL=".len()..]);
            self.cell_env = Some(value.trim().to_owned());
        }
        if raw.starts_with(b"::matrix:: ") {
            let text = String::from_utf8_lossy(raw);
            self.marker(line_no, &text, &text["::matrix:: ".len()..]);
            return;
        }
        if !self.markers.seen && may_change_stage(raw, self.traced) {
            self.trace(line_no, &String::from_utf8_lossy(raw));
        }
        if is_build_activity(raw) {
            self.current().build_activity = line_no;
        }
        match line_start_phrase(raw) {
            // The commonest phrase, a line of thousands: read as bytes, no text made.
            Some((Phrase::RegrtestProgress, at)) if is_progress(&raw[..at]) => {
                self.current().regrtest_progress = Some(line_no);
            }
            Some((Phrase::RegrtestProgress, _)) => {}
            Some(_) => {
                // Positions are taken again in the decoded text: invalid bytes change its length.
                let text = String::from_utf8_lossy(raw);
                if let Some((phrase, at)) = line_start_phrase(text.as_bytes()) {
                    self.phrase(line_no, &text, phrase, at);
                }
            }
            None => {}
        }
        if has_phrase {
            let text = String::from_utf8_lossy(raw);
            for found in phrases().find_iter(text.as_bytes()) {
                let phrase = PHRASES[found.pattern().as_usize()].1;
                self.phrase(line_no, &text, phrase, found.start());
            }
        }
    }

    /// Lines fed so far: the number of the line just fed.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The result stage the log is in now (from the markers, else the legacy reading), if any.
    pub fn stage(&self) -> Option<Stage> {
        if self.markers.seen {
            match self.markers.current {
                Some(MarkerStage::Result(stage)) => Some(stage),
                _ => None,
            }
        } else {
            self.legacy_stage
        }
    }

    /// The evidence slot of the stage the log is in now.
    fn current(&mut self) -> &mut StageEvidence {
        if self.markers.current == Some(MarkerStage::Canaries) {
            return &mut self.canary_stage;
        }
        match self.stage() {
            Some(stage) => &mut self.stages[stage.index()],
            None => &mut self.outside,
        }
    }

    /// Notes what a phrase found at `at` in line `line_no` says, in the current stage's slot.
    fn phrase(&mut self, line_no: u64, text: &str, phrase: Phrase, at: usize) {
        let slot = self.current();
        match phrase {
            Phrase::SignalWord => slot.note_signal_word(line_no, text),
            Phrase::MakeError => slot.note_make_error(line_no, text, at),
            Phrase::Sanitizer => slot.note_sanitizer(line_no, text),
            Phrase::CompilerCrash => {
                if let Some(outcome) = compiler_crash_outcome(text) {
                    slot.compiler_crash = Some((evidence(line_no, text), outcome));
                }
            }
            Phrase::FatalPython => {
                let what = &text[at + "Fatal Python error: ".len()..];
                slot.fatal_python = Some((evidence(line_no, text), fatal_python_outcome(what)));
            }
            Phrase::RegrtestResult => {
                if let Some(outcome) = regrtest_result(text) {
                    slot.regrtest_result = Some((evidence(line_no, text), outcome));
                }
            }
            Phrase::WorkerCrash => {
                if let Some(outcome) = worker_crash(text) {
                    slot.worker_crash = Some((evidence(line_no, text), outcome));
                }
            }
            Phrase::TestTimedOut => slot.note_test_timed_out(line_no, text, at),
            Phrase::Configure if at == 0 => slot.note_configure(line_no, text),
            Phrase::Configure => {}
            Phrase::SanitizerFatal => {
                if text.starts_with("==") && text.trim_end().ends_with("==ABORTING") {
                    slot.sanitizer_fatal = Some(evidence(line_no, text));
                }
            }
            Phrase::RegrtestProgress => {
                if is_progress(&text.as_bytes()[..at]) {
                    slot.regrtest_progress = Some(line_no);
                }
            }
        }
    }

    /// The verdict, once every line was fed. `ends_mid_line`: the last line had no newline.
    pub fn finish(mut self, ends_mid_line: bool) -> Classification {
        self.tail_ev = self
            .tail
            .iter()
            .map(|(line, raw)| evidence(*line, &String::from_utf8_lossy(raw)))
            .collect();
        let markers = self.markers.seen;
        let (verdict, evidence) = if self.lines == 0 {
            (
                Verdict::Unknown {
                    reason: "empty log".into(),
                },
                None,
            )
        } else if markers {
            self.decide_markers(ends_mid_line)
        } else {
            self.decide_legacy(ends_mid_line)
        };
        Classification {
            verdict,
            evidence,
            cell: self
                .cell
                .clone()
                .or_else(|| self.cell_env.clone().filter(|_| markers)),
            started: self.started.clone(),
            markers,
            finished: self.markers.finish.is_some(),
            unfinished: markers
                && self.markers.finish.is_none()
                && (self.markers.current.is_some() || self.markers.last_end.is_some()),
            canaries: std::mem::take(&mut self.canaries),
            facts: std::mem::take(&mut self.facts).finish().into(),
        }
    }

    fn last_line(&self) -> Option<Evidence> {
        self.tail_ev.last().cloned()
    }

    /// A log that simply stops inside `stage`: the pod was killed (deadline or memory), or the
    /// file was cut short.
    fn stopped(&self, stage: Stage, ends_mid_line: bool) -> (Verdict, Option<Evidence>) {
        self.stopped_as(stage, stage, ends_mid_line)
    }

    /// [`Self::stopped`] with the evidence of stage `seen` reported as stage `stage`.
    fn stopped_as(
        &self,
        seen: Stage,
        stage: Stage,
        ends_mid_line: bool,
    ) -> (Verdict, Option<Evidence>) {
        let slot = &self.stages[seen.index()];
        let in_stage = |ev: &Evidence| ev.line >= slot.first_line;
        // What the last lines of the stage say about how it ended.
        let recent: Vec<&Evidence> = self.tail_ev.iter().filter(|e| in_stage(e)).collect();
        if let Some(last) = recent.last() {
            if let Some(outcome) = bare_signal(&last.text).or_else(|| job_status(&last.text)) {
                return result(stage, outcome, (*last).clone());
            }
        }
        // A sanitizer report that is the last thing printed: the process it stopped was the
        // one the stage waited for.
        if let Some((ev, outcome)) = &slot.sanitizer_summary {
            if recent.iter().rev().take(3).any(|e| e.line == ev.line) {
                return result(stage, *outcome, ev.clone());
            }
        }
        if let Some(ev) = slot.sanitizer_oom.as_ref() {
            if recent.iter().any(|e| e.line == ev.line) {
                return result(stage, Outcome::Oom, ev.clone());
            }
        }
        if let (Some(ev), Some(last)) = (&slot.sanitizer_fatal, recent.last()) {
            if ev.line == last.line {
                return result(stage, Outcome::Failed, ev.clone());
            }
        }
        if let Some((ev, outcome)) = &slot.fatal_python {
            if recent.iter().any(|e| e.line == ev.line) && *outcome != Outcome::Failed {
                return result(stage, *outcome, ev.clone());
            }
        }
        if ends_mid_line {
            return unknown(
                format!(
                    "the log is truncated: it ends in the middle of a line during {}",
                    stage.name().to_lowercase()
                ),
                self.last_line(),
            );
        }
        // Nothing says why it stopped: the pod was killed from outside, which is what a
        // deadline does (a memory kill that leaves no word is indistinguishable).
        match self.last_line() {
            Some(last) => result(stage, Outcome::Timeout, last),
            None => unknown("the log has no text", None),
        }
    }

    /// The kind of a failure whose status alone says "failed", from what the tools printed
    /// in the stage. `None` when nothing says more than "failed".
    fn refine(&self, stage: Stage) -> Option<(Outcome, Evidence)> {
        let s = &self.stages[stage.index()];
        match stage {
            // The script's own commands: its status says all.
            Stage::Setup => None,
            Stage::Configure => {
                if let Some((ev, o)) = &s.job_status {
                    return Some((*o, ev.clone()));
                }
                None
            }
            Stage::Compilation => {
                if let Some((ev, Some(o))) = &s.make_first {
                    return Some((*o, ev.clone()));
                }
                if let Some((ev, o)) = &s.compiler_crash {
                    if *o != Outcome::Failed {
                        return Some((*o, ev.clone()));
                    }
                }
                if let Some((ev, o)) = &s.job_status {
                    return Some((*o, ev.clone()));
                }
                None
            }
            Stage::Tests => {
                if let Some((ev, o)) = &s.job_status {
                    return Some((*o, ev.clone()));
                }
                if let Some((ev, o)) = &s.worker_crash {
                    return Some((*o, ev.clone()));
                }
                // How the test run itself ended, if its last words say: a sanitizer's report
                // or faulthandler's dump right at the end is about the process that exited.
                let near_end =
                    |ev: &Evidence| self.tail_ev.iter().rev().take(4).any(|t| t.line == ev.line);
                if let Some((ev, o)) = &s.sanitizer_summary {
                    if *o != Outcome::Failed && near_end(ev) {
                        return Some((*o, ev.clone()));
                    }
                }
                if let Some(ev) = &s.sanitizer_oom {
                    if near_end(ev) {
                        return Some((Outcome::Oom, ev.clone()));
                    }
                }
                if let Some((ev, o)) = &s.fatal_python {
                    let recent = self.tail_ev.iter().any(|t| t.line == ev.line);
                    if *o != Outcome::Failed && recent {
                        return Some((*o, ev.clone()));
                    }
                }
                if let Some(ev) = &s.test_timed_out {
                    return Some((Outcome::Timeout, ev.clone()));
                }
                None
            }
        }
    }
}

/// What the phrases of [`Classifier::phrase`] say, kept in the slot of the stage they came in
/// (helpers of the log pass: small, and inlined into it).
impl StageEvidence {
    #[inline]
    fn note_signal_word(&mut self, line_no: u64, text: &str) {
        if let Some(outcome) = job_status(text) {
            self.job_status = Some((evidence(line_no, text), outcome));
        } else if let Some(outcome) = bare_signal(text) {
            self.bare_signal = Some((evidence(line_no, text), outcome));
        }
    }

    /// A make error (`make: ***` at `at`), if make itself printed it: the first one, and the
    /// top-level make's.
    #[inline]
    fn note_make_error(&mut self, line_no: u64, text: &str, at: usize) {
        let Some(prog) = text.get(..at) else { return };
        let top = prog == "make" || prog == "gmake";
        let sub = (prog.starts_with("make[") || prog.starts_with("gmake[")) && prog.ends_with(']');
        if !(top || sub) {
            return;
        }
        let ev = evidence(line_no, text);
        if self.make_first.is_none() {
            self.make_first = Some((ev.clone(), make_error_outcome(&text[at..])));
            self.make_failed_in_training = self
                .regrtest_progress
                .is_some_and(|line| line > self.build_activity);
        }
        if top {
            self.make_top = Some(ev);
        }
    }

    /// A sanitizer's summary, out-of-memory report or last words.
    #[inline]
    fn note_sanitizer(&mut self, line_no: u64, text: &str) {
        if let Some(kind) = sanitizer_summary(text) {
            self.sanitizer_summary = Some((evidence(line_no, text), sanitizer_outcome(kind)));
        } else if text.contains("allocator is out of memory")
            || text.contains("Sanitizer: out of memory")
        {
            self.sanitizer_oom = Some(evidence(line_no, text));
        } else if text.starts_with("==")
            && text
                .trim_end()
                .ends_with("Dying (set die_after_fork=0 to override)")
            || text.starts_with("==") && text.contains("Sanitizer: CHECK failed")
        {
            self.sanitizer_fatal = Some(evidence(line_no, text));
        }
    }

    #[inline]
    fn note_test_timed_out(&mut self, line_no: u64, text: &str, at: usize) {
        // regrtest's `test_x timed out (20 min)`, or faulthandler's `Timeout (0:20:00)!`
        // when `--timeout` stops a test.
        let faulthandler = at == 0 && text.trim_end().ends_with(")!");
        let regrtest = at > 0 && (text.starts_with("test") || text.contains("] test"));
        if faulthandler || regrtest {
            self.test_timed_out = Some(evidence(line_no, text));
        }
    }

    /// A line starting with `configure:`: its error, or the status it exits with.
    #[inline]
    fn note_configure(&mut self, line_no: u64, text: &str) {
        if text.starts_with("configure: error: ") {
            self.configure_error = Some(evidence(line_no, text));
        } else if let Some(code) = text.strip_prefix("configure: exit ") {
            if let Ok(code) = code.trim().parse::<i64>() {
                self.configure_exit = Some((evidence(line_no, text), code));
            }
        }
    }
}

/// What a sanitizer's `SUMMARY:` says of how the process ended, by the kind it names.
#[inline]
fn sanitizer_outcome(kind: &str) -> Outcome {
    match kind {
        k if k.starts_with("out-of-memory")
            || k.starts_with("allocation-size-too-big")
            || k.starts_with("rss-limit-exceeded") =>
        {
            Outcome::Oom
        }
        k if k.starts_with("SEGV") || k.starts_with("BUS") || k.starts_with("stack-overflow") => {
            Outcome::SegmentationFault
        }
        k if k.starts_with("ABRT") => Outcome::Aborted,
        _ => Outcome::Failed,
    }
}

/// What a compiler crash line says; `None` when it names no crash.
#[inline]
fn compiler_crash_outcome(text: &str) -> Option<Outcome> {
    if text.contains("Killed signal terminated program") || text.contains(": Killed") {
        Some(Outcome::Oom)
    } else if text.contains("Segmentation fault") || text.contains("Bus error") {
        Some(Outcome::SegmentationFault)
    } else if text.contains("Aborted") {
        Some(Outcome::Aborted)
    } else if text.contains("internal compiler error") {
        Some(Outcome::Failed)
    } else {
        None
    }
}

/// What `Fatal Python error: <what>` says.
#[inline]
fn fatal_python_outcome(what: &str) -> Outcome {
    if what.starts_with("Segmentation fault") || what.starts_with("Bus error") {
        Outcome::SegmentationFault
    } else if what.starts_with("Aborted") {
        Outcome::Aborted
    } else {
        Outcome::Failed
    }
}

fn result(stage: Stage, outcome: Outcome, ev: Evidence) -> (Verdict, Option<Evidence>) {
    (Verdict::Result { stage, outcome }, Some(ev))
}

fn unknown(reason: impl Into<String>, ev: Option<Evidence>) -> (Verdict, Option<Evidence>) {
    (
        Verdict::Unknown {
            reason: reason.into(),
        },
        ev,
    )
}

#[cfg(test)]
mod tests;
