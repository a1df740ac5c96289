//! Why a cell failed: the line behind its result, found by walking back from where the failing
//! stage ended, normalised into a short cause, and the failing tests regrtest's summary lists.
//!
//! [`CauseReader`] sees every line in the same pass as the classifier (bounded state: a few
//! candidate lines per stage) and decides once the classification is known. Submodules:
//! [`reader`] (what each line offers), [`decide`] (which candidate is the cause), [`text`]
//! (recognising and normalising lines).

mod decide;
mod reader;
mod regrtest;
mod text;

use serde::Serialize;

use super::classify::{Classification, Evidence, Outcome, Stage, Verdict};
use crate::sanitizer::{LogReports, RawReport, Recognizer};
use regrtest::RegrtestReader;
pub use regrtest::TestTotals;
pub use text::normalise;
use text::{evidence, finder, RUNTIME_ERROR, SANITIZER};

/// What kind of line a cause came from, for grouping and linking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CauseKind {
    /// A sanitizer report (it has a finding signature) or `Fatal Python error`.
    Report,
    /// A sanitizer runtime's own fatal message (`incompatible ASan runtimes`).
    SanitizerRuntime,
    /// `configure: error:` with config.log's decisive line.
    Configure,
    /// The first compiler or linker error of a failed make.
    Compiler,
    /// A command killed by a signal.
    Signal,
    /// The test (or configure check) running when a deadline or a memory kill hit.
    Killed,
    /// The tests regrtest lists as failed.
    Tests,
    /// The script's own error before configure (no source, a failed download): its last line.
    Setup,
}

/// A cell's cause: the short normalised reason, the raw line it came from, and the finding
/// signature id when it is a sanitizer or fatal-error report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub kind: CauseKind,
    pub text: String,
    pub evidence: Evidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// The words of `text` the finding stands for (`HWAddressSanitizer: tag-mismatch in f
    /// (a.c)`), so a reason can name the finding instead of repeating them.
    #[serde(skip)]
    pub report_words: Option<String>,
}

impl Cause {
    /// The reason as grouped and shown: a report's own words are its finding's
    /// (`HWAddressSanitizer: tag-mismatch, finding 1a2b3c4d (making checksharedmods)`),
    /// anything else is the cause's text.
    pub fn reason(&self) -> String {
        let (Some(id), Some(words)) = (&self.finding, &self.report_words) else {
            return self.text.clone();
        };
        // `tool: kind in function (file)`: the frame is the finding's to show.
        let short = words.rsplit_once(" in ").map_or(words.as_str(), |(a, _)| a);
        let rest = self.text.strip_prefix(words.as_str()).unwrap_or("");
        format!("{short}, finding {id}{rest}")
    }
}

/// Why one log ended as it did: its cause (for a result other than Passed) and the tests
/// regrtest lists as failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Why {
    pub cause: Option<Cause>,
    /// The tests regrtest's last summary lists as failed.
    pub failed_tests: Vec<String>,
    /// Tests that failed and then passed when regrtest ran them again (`N re-run tests:` not
    /// failed again): flaky, whatever the cell's result.
    pub flaky_tests: Vec<String>,
    /// regrtest's `Total tests:` counts.
    pub totals: Option<TestTotals>,
    /// Every test a progress line of the tests stage names (sorted): what "ran it" means.
    pub ran_tests: Vec<String>,
    /// regrtest's verdict when its re-run changed it (`FAILURE then SUCCESS`).
    pub regrtest_changed: Option<String>,
}

impl super::sparse::Empty for Why {
    fn empty() -> &'static Self {
        static EMPTY: Why = Why {
            cause: None,
            failed_tests: Vec::new(),
            flaky_tests: Vec::new(),
            totals: None,
            ran_tests: Vec::new(),
            regrtest_changed: None,
        };
        &EMPTY
    }
}

/// A line that may be a cause, with its evidence.
#[derive(Debug, Clone)]
struct Candidate {
    ev: Evidence,
    text: String,
    /// A report's finding signature id and its own words (the start of `text`).
    finding: Option<(String, String)>,
}

/// The candidates seen while one stage ran.
#[derive(Debug, Default, Clone)]
struct Slot {
    /// The first `make: *** [...]` error: its line and the target it names.
    make_error: Option<(u64, String)>,
    /// The last sanitizer or fatal-error report, and the last one before the first make error.
    report: Option<Candidate>,
    report_before_make: Option<Candidate>,
    runtime_fatal: Option<Candidate>,
    /// A command killed by a signal (bash's job status, or a bare report after the command).
    signal: Option<Candidate>,
    signal_before_make: Option<Candidate>,
    compiler_error: Option<Candidate>,
    /// configure's own `configure: error: X` message.
    configure_error: Option<Candidate>,
    /// config.log: the last telling line since its last `checking`, and the one that stood
    /// when config.log said `error:`.
    configlog_recent: Kept,
    configlog_decisive: Option<Candidate>,
    /// The last `checking ...` line and the last regrtest progress line (the running test):
    /// kept as read, made candidates when the log is decided.
    checking_kept: Kept,
    running_kept: Kept,
    checking: Option<Candidate>,
    running_test: Option<Candidate>,
}

/// A line kept as read (a bounded prefix), made into evidence only if it turns out to matter:
/// a log has thousands of `checking` and regrtest progress lines, and the last one is used.
#[derive(Debug, Default, Clone)]
struct Kept {
    line: u64,
    bytes: Vec<u8>,
    present: bool,
}

impl Kept {
    fn keep(&mut self, line: u64, raw: &[u8]) {
        self.line = line;
        self.bytes.clear();
        self.bytes.extend_from_slice(&raw[..raw.len().min(1600)]);
        self.present = true;
    }

    fn clear(&mut self) {
        self.present = false;
    }

    fn get(&self) -> Option<(u64, &[u8])> {
        self.present.then_some((self.line, &self.bytes[..]))
    }
}

/// The line-by-line reader of one log's causes.
#[derive(Debug, Default)]
pub struct CauseReader {
    recognizer: Recognizer,
    slots: [Slot; Stage::ALL.len()],
    /// regrtest's summaries, totals and progress.
    regrtest: RegrtestReader,
    /// The failed tests of regrtest's last summary, once the log is read (for the cause).
    failed_tests: Vec<String>,
    /// The reports the recognizer emitted on the current line (reused: no allocation a line).
    emitted: Vec<RawReport>,
    /// Every report of the log, by signature (for `findings` from the same pass).
    found: LogReports,
    /// `matrix run`'s own line saying it enforced the cell's deadline: the deadline's words.
    run_deadline: Option<Candidate>,
}

impl CauseReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decides the cause once the log is read and classified; gives it with the log's reports.
    pub fn finish(
        mut self,
        classification: &Classification,
        raw_header: &HeaderLines,
    ) -> (Why, LogReports) {
        let mut emitted = Vec::new();
        std::mem::take(&mut self.recognizer).finish(&mut |r| emitted.push(r));
        for report in emitted {
            self.attach(report);
        }
        for slot in &mut self.slots {
            slot.checking = slot.checking_kept.get().map(|(line, raw)| Candidate {
                ev: evidence(line, raw),
                text: String::new(),
                finding: None,
            });
            slot.running_test = slot.running_kept.get().map(|(line, raw)| Candidate {
                ev: evidence(line, raw),
                text: crate::sanitizer::regrtest::regrtest_test(raw).unwrap_or_default(),
                finding: None,
            });
        }
        let tests = std::mem::take(&mut self.regrtest).finish();
        self.failed_tests = tests.failed.clone();
        let cause = match &classification.verdict {
            Verdict::Result { stage, outcome } if *outcome != Outcome::Passed => self
                .decide(*stage, *outcome, raw_header)
                .or_else(|| decide::killed_last_words(*stage, *outcome, classification)),
            _ => None,
        };
        let why = Why {
            cause,
            failed_tests: tests.failed,
            flaky_tests: tests.flaky,
            totals: tests.totals,
            ran_tests: tests.run,
            regrtest_changed: tests.changed,
        };
        (why, self.found)
    }
}

/// The raw text of the few lines a cause points at that were not kept when seen (report
/// headers, the failed-tests heading): filled by [`HeaderLines::line`] in the same pass.
#[derive(Debug, Default)]
pub struct HeaderLines {
    headers: Vec<Evidence>,
    failed_block: Option<Evidence>,
}

impl HeaderLines {
    /// Keeps a report header or the failed-tests heading (the last 64 headers at most).
    /// `marked` false: the line holds no `: runtime error:` (see [`CauseReader::line`]).
    #[inline(always)]
    pub fn line(&mut self, line_no: u64, raw: &[u8], marked: bool) {
        let first = raw.first().copied().unwrap_or(b' ');
        if marked || first.is_ascii_digit() {
            self.line_looked_at(line_no, raw, marked, first);
        }
    }

    #[inline(never)]
    fn line_looked_at(&mut self, line_no: u64, raw: &[u8], marked: bool, first: u8) {
        // Each header holds a searched phrase (`Sanitizer`, `Fatal Python error: `,
        // `: runtime error:`): unmarked lines are none.
        if marked
            && ((first == b'='
                && raw.starts_with(b"==")
                && finder(&SANITIZER, b"Sanitizer").find(raw).is_some())
                || (first == b'F' && raw.starts_with(b"Fatal Python error: "))
                || (first == b'W' && raw.starts_with(b"WARNING: ThreadSanitizer: "))
                || finder(&RUNTIME_ERROR, b": runtime error: ")
                    .find(raw)
                    .is_some())
        {
            if self.headers.len() == 64 {
                self.headers.remove(0);
            }
            self.headers.push(evidence(line_no, raw));
        }
        if first.is_ascii_digit()
            && (raw.ends_with(b" tests failed:") || raw.ends_with(b" test failed:"))
        {
            self.failed_block = Some(evidence(line_no, raw));
        }
    }

    pub(super) fn text(&self, line: u64) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|e| e.line == line)
            .map(|e| e.text.clone())
    }
}

/// Reads a log's classification and its causes in one pass.
pub fn scan(reader: impl std::io::Read) -> (u64, Classification, Why) {
    let (bytes, classification, why, _) = scan_with_reports(reader);
    (bytes, classification, why)
}

/// [`scan`], with the log's sanitizer and fatal-error reports deduplicated by signature (what
/// `matrix findings` reads, from the same pass).
pub fn scan_with_reports(reader: impl std::io::Read) -> (u64, Classification, Why, LogReports) {
    let mut causes = CauseReader::new();
    let mut headers = HeaderLines::default();
    let (bytes, classification) = super::read::scan_observed(reader, &mut |c, seen| {
        causes.line(c, seen);
        headers.line(c.lines(), seen.text, seen.marked);
    });
    let (why, reports) = causes.finish(&classification, &headers);
    (bytes, classification, why, reports)
}

#[cfg(test)]
mod tests;
