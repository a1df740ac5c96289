//! Why a cell failed: the line behind its result, found by walking back from where the failing
//! stage ended, normalised into a short cause, and the failing tests regrtest's summary lists.
//!
//! [`CauseReader`] sees every line in the same pass as the classifier (bounded state: a few
//! candidate lines per stage) and decides once the classification is known.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use memchr::memmem::Finder;
use serde::Serialize;

use super::classify::{bare_signal, job_status, Classification, Classifier, Evidence, Outcome};
use super::classify::{Stage, Verdict};
use crate::findings::recognize::{regrtest_test, RawReport, Recognizer};
use crate::findings::Signature;

/// Longest cause text kept.
const CAUSE_CHARS: usize = 160;

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
}

/// Why one log ended as it did: its cause (for a result other than Passed) and the tests
/// regrtest lists as failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Why {
    pub cause: Option<Cause>,
    pub failed_tests: Vec<String>,
}

/// A line that may be a cause, with its evidence.
#[derive(Debug, Clone)]
struct Candidate {
    ev: Evidence,
    text: String,
    finding: Option<String>,
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
    configlog_recent: Option<Candidate>,
    configlog_decisive: Option<Candidate>,
    /// The last `checking ...` line and the last regrtest progress line (the running test).
    checking: Option<Candidate>,
    running_test: Option<Candidate>,
}

/// The line-by-line reader of one log's causes.
#[derive(Debug, Default)]
pub struct CauseReader {
    recognizer: Recognizer,
    slots: [Slot; 3],
    /// The previous non-blank line (its number and a bounded prefix), for a bare signal report.
    previous: (u64, Vec<u8>),
    /// regrtest's `N tests failed:` block being read, and the last complete one.
    failed_block: Option<Vec<String>>,
    failed_tests: Vec<String>,
    /// Reports whose header line is a candidate get their signature when they end.
    pending_reports: Vec<(Stage, u64)>,
}

fn needles() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::new([
            "Segmentation fault",
            "Bus error",
            "Aborted",
            "Killed",
            "Terminated",
            "error:",
            "undefined reference",
        ])
        .expect("needles compile")
    })
}

/// Substring searchers built once: `memmem::find` would build one per line.
static SANITIZER: OnceLock<Finder<'static>> = OnceLock::new();
static RUNTIME_ERROR: OnceLock<Finder<'static>> = OnceLock::new();
static ERROR: OnceLock<Finder<'static>> = OnceLock::new();
static MAKE_ERROR: OnceLock<Finder<'static>> = OnceLock::new();

fn finder(
    cell: &'static OnceLock<Finder<'static>>,
    needle: &'static [u8],
) -> &'static Finder<'static> {
    cell.get_or_init(|| Finder::new(needle))
}

fn evidence(line: u64, raw: &[u8]) -> Evidence {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(1600)]);
    let text = text.trim_end();
    let text = match text.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    };
    Evidence { line, text }
}

impl CauseReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the line the classifier just took.
    pub fn line(&mut self, classifier: &Classifier, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line_no = classifier.lines();
        let stage = classifier.stage();
        let mut emitted: Vec<RawReport> = Vec::new();
        self.recognizer
            .line(line_no, stage, raw, &mut |r| emitted.push(r));
        for report in emitted {
            self.attach(report);
        }
        self.failed_tests_line(raw);
        if let Some(stage) = stage {
            self.stage_line(stage, line_no, raw);
        }
        if raw.iter().any(|b| !b.is_ascii_whitespace()) {
            self.previous.0 = line_no;
            self.previous.1.clear();
            self.previous
                .1
                .extend_from_slice(&raw[..raw.len().min(1024)]);
        }
    }

    fn stage_line(&mut self, stage: Stage, line_no: u64, raw: &[u8]) {
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
            slot.checking = Some(Candidate {
                ev: evidence(line_no, raw),
                text: String::new(),
                finding: None,
            });
        }
        if first == b'c' && raw.starts_with(b"configure:") {
            self.configure_line(stage, line_no, raw);
            return;
        }
        if first.is_ascii_digit() || first == b'[' {
            if let Some(test) = regrtest_test(raw) {
                self.slots[stage as usize].running_test = Some(Candidate {
                    ev: evidence(line_no, raw),
                    text: test,
                    finding: None,
                });
                return;
            }
        }
        let slot = &mut self.slots[stage as usize];
        if first == b'|' {
            return; // config.log's listing of a test program's source
        }
        if stage == Stage::Configure && is_telling(raw) {
            // config.log's lines between a `checking` and its `error:`: the program's output.
            let text = String::from_utf8_lossy(raw);
            slot.configlog_recent = Some(Candidate {
                ev: evidence(line_no, raw),
                text: normalise(strip_pid(&text)),
                finding: None,
            });
        }
        if !needles().is_match(raw) {
            return;
        }
        let text = String::from_utf8_lossy(raw);
        if job_status(&text).is_some() {
            let candidate = Candidate {
                ev: evidence(line_no, raw),
                text: signal_cause(&text),
                finding: None,
            };
            if slot.make_error.is_none() {
                slot.signal_before_make = Some(candidate.clone());
            }
            slot.signal = Some(candidate);
            return;
        }
        if let Some(outcome) = bare_signal(&text) {
            if !text.contains("...") {
                let command = String::from_utf8_lossy(&self.previous.1);
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
                if slot.make_error.is_none() {
                    slot.signal_before_make = Some(candidate.clone());
                }
                slot.signal = Some(candidate);
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

    fn configure_line(&mut self, stage: Stage, line_no: u64, raw: &[u8]) {
        let slot = &mut self.slots[stage as usize];
        let text = String::from_utf8_lossy(raw);
        if let Some(message) = text.strip_prefix("configure: error: ") {
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
        let Some(rest) = text.strip_prefix("configure:") else {
            return;
        };
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        if rest.starts_with(": checking ") {
            slot.configlog_recent = None;
        } else if rest.starts_with(": error: ")
            && !rest.starts_with(": error: in ")
            && slot.configlog_recent.is_some()
        {
            slot.configlog_decisive = slot.configlog_recent.clone();
        }
    }

    /// regrtest's summary: `11 tests failed:` then indented lines of names.
    fn failed_tests_line(&mut self, raw: &[u8]) {
        if let Some(block) = &mut self.failed_block {
            if raw.starts_with(b"    ") && !raw.trim_ascii().is_empty() {
                let text = String::from_utf8_lossy(raw);
                block.extend(text.split_whitespace().map(str::to_owned));
                return;
            }
            self.failed_tests = self.failed_block.take().unwrap_or_default();
        }
        if raw.first().is_some_and(u8::is_ascii_digit)
            && (raw.ends_with(b" tests failed:") || raw.ends_with(b" test failed:"))
        {
            let digits = raw.iter().take_while(|b| b.is_ascii_digit()).count();
            if raw[digits..].starts_with(b" test") {
                self.failed_block = Some(Vec::new());
            }
        }
    }

    fn attach(&mut self, report: RawReport) {
        let Some(stage) = report.stage else { return };
        let signature = Signature::of(&report.tool, &report.kind, &report.stack);
        let text = report_cause(&report);
        let candidate = Candidate {
            ev: Evidence {
                line: report.start,
                text: String::new(),
            },
            text,
            finding: Some(signature.id()),
        };
        let slot = &mut self.slots[stage as usize];
        if slot
            .make_error
            .as_ref()
            .map_or(true, |(line, _)| report.start < *line)
        {
            slot.report_before_make = Some(candidate.clone());
        }
        slot.report = Some(candidate);
        self.pending_reports.push((stage, report.start));
    }

    /// Decides the cause once the log is read and classified.
    pub fn finish(mut self, classification: &Classification, raw_header: &HeaderLines) -> Why {
        let mut emitted = Vec::new();
        std::mem::take(&mut self.recognizer).finish(&mut |r| emitted.push(r));
        for report in emitted {
            self.attach(report);
        }
        if let Some(block) = self.failed_block.take() {
            self.failed_tests = block;
        }
        let cause = match &classification.verdict {
            Verdict::Result { stage, outcome } if *outcome != Outcome::Passed => self
                .decide(*stage, *outcome, raw_header)
                .or_else(|| killed_last_words(*stage, *outcome, classification)),
            _ => None,
        };
        Why {
            cause,
            failed_tests: self.failed_tests,
        }
    }

    fn decide(&self, stage: Stage, outcome: Outcome, headers: &HeaderLines) -> Option<Cause> {
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
                finding: c.finding.clone(),
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
fn killed_last_words(
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
    })
}

fn tests_word(n: usize) -> String {
    if n == 1 {
        "1 test".into()
    } else {
        format!("{n} tests")
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
    pub fn line(&mut self, line_no: u64, raw: &[u8]) {
        let first = raw.first().copied().unwrap_or(b' ');
        if (first == b'='
            && raw.starts_with(b"==")
            && finder(&SANITIZER, b"Sanitizer").find(raw).is_some())
            || (first == b'F' && raw.starts_with(b"Fatal Python error: "))
            || (first == b'W' && raw.starts_with(b"WARNING: ThreadSanitizer: "))
            || finder(&RUNTIME_ERROR, b": runtime error: ")
                .find(raw)
                .is_some()
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

    fn text(&self, line: u64) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|e| e.line == line)
            .map(|e| e.text.clone())
    }
}

/// Reads a log's classification and its causes in one pass.
pub fn scan(reader: impl std::io::Read) -> (u64, Classification, Why) {
    let mut causes = CauseReader::new();
    let mut headers = HeaderLines::default();
    let (bytes, classification) = super::logs::scan_observed(reader, &mut |c, line| {
        causes.line(c, line);
        headers.line(c.lines(), line);
    });
    let why = causes.finish(&classification, &headers);
    (bytes, classification, why)
}

/// A report's cause: `HWAddressSanitizer: tag-mismatch in PyModuleDef_Init
/// (Objects/moduleobject.c)`, `Fatal Python error: Segmentation fault`.
fn report_cause(report: &RawReport) -> String {
    if report.tool == "Python" {
        return format!("Fatal Python error: {}", report.kind);
    }
    let frame = report
        .stack
        .iter()
        .find(|f| f.is_own())
        .or(report.stack.first());
    match frame {
        Some(f) if !f.function.is_empty() => format!(
            "{}: {} in {} ({})",
            report.tool, report.kind, f.function, f.file
        ),
        Some(f) => format!("{}: {} in {}", report.tool, report.kind, f.file),
        None => format!("{}: {}", report.tool, report.kind),
    }
}

/// A sanitizer runtime's fatal message that is no report: `==250==Your application is linked
/// against incompatible ASan runtimes.`, `==12==ASan runtime does not come first ...`.
fn runtime_fatal(text: &str) -> Option<&str> {
    let message = strip_pid(text);
    if message.len() == text.len() {
        return None;
    }
    const WORDS: [&str; 8] = [
        "incompatible",
        "does not come first",
        "Shadow memory",
        "shadow memory",
        "failed to allocate",
        "CHECK failed",
        "Failed to mmap",
        "interleaves with",
    ];
    WORDS
        .iter()
        .any(|w| message.contains(w))
        .then_some(message.trim())
}

/// `==250==text` → `text`.
fn strip_pid(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("==") else {
        return text;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[digits..].strip_prefix("==") {
        Some(message) if digits > 0 => message,
        _ => text,
    }
}

/// A config.log line that says something went wrong (configure's own lines aside).
fn is_telling(raw: &[u8]) -> bool {
    !raw.starts_with(b"configure")
        && (raw.starts_with(b"==")
            || finder(&ERROR, b"error").find(raw).is_some()
            || finder(&SANITIZER, b"Sanitizer").find(raw).is_some())
}

/// `make: *** [Makefile:1136: checksharedmods] Error 99` → `checksharedmods`.
fn make_error_target(raw: &[u8]) -> Option<String> {
    let at = finder(&MAKE_ERROR, b": *** [").find(raw)?;
    let prog = &raw[..at];
    let is_make = prog == b"make"
        || prog == b"gmake"
        || (prog.starts_with(b"make[") || prog.starts_with(b"gmake[")) && prog.ends_with(b"]");
    if !is_make {
        return None;
    }
    let inside = &raw[at + ": *** [".len()..];
    let close = memchr::memchr(b']', inside)?;
    let inside = String::from_utf8_lossy(&inside[..close]);
    // `Makefile:1136: target`, or just `target`.
    let target = match inside.rsplit_once(": ") {
        Some((_, t)) => t,
        None => &inside,
    };
    Some(target.trim().to_owned())
}

/// `file.c:12:3: error: message`, `clang: error: message`, `/usr/bin/ld: x.o: undefined
/// reference to 'f'` → the message with its file.
fn compiler_error(text: &str) -> Option<String> {
    if let Some(at) = text.find("undefined reference to") {
        return Some(format!("linker: {}", &text[at..]));
    }
    let at = text
        .find(": error: ")
        .or_else(|| text.find(": fatal error: "))
        .or_else(|| text.find(": internal compiler error: "))?;
    let (place, message) = text.split_at(at);
    let message = message.trim_start_matches(": ");
    if place.contains(' ') || place.is_empty() {
        return None;
    }
    let tool = base_name(place.split(':').next().unwrap_or(place));
    Some(format!("{tool}: {message}"))
}

/// bash's `./b.sh: line 26:    25 Segmentation fault      ./configure --with-x` →
/// `Segmentation fault in configure`; `./python -m test -uall` → `python -m test`.
fn signal_cause(text: &str) -> String {
    let (_, rest) = text.split_once("line ").unwrap_or(("", text));
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.trim_start_matches(':').trim_start();
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim();
    // The description is separated from the command by a run of spaces.
    let (signal, command) = match rest.find("  ") {
        Some(at) => (&rest[..at], rest[at..].trim()),
        None => (rest, ""),
    };
    let signal = signal.trim_end_matches("(core dumped)").trim();
    let mut words = command.split_whitespace();
    let Some(program) = words.next() else {
        return signal.to_owned();
    };
    let mut name = base_name(program);
    if let (Some("-m"), Some(module)) = (words.next(), words.next()) {
        name = format!("{name} -m {module}");
    }
    format!("{signal} in {name}")
}

fn base_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(CAUSE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The short form of a line: no pids, addresses, paths (a path becomes its last part), line
/// numbers or versions, so the same reason in two cells reads the same.
pub fn normalise(text: &str) -> String {
    let text = strip_pid(text.trim());
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let bare = word.trim_matches(|c: char| "`'\"‘’(),;".contains(c));
        let (lead, trail) = word.split_once(bare).unwrap_or(("", ""));
        if bare.is_empty() {
            out.push(word.to_owned()); // punctuation alone (`';'`) is part of the message
            continue;
        }
        // Addresses, pids, numbers and versions carry nothing a reader groups by.
        if bare.starts_with("0x") || bare.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            continue;
        }
        let mut kept = bare.to_owned();
        if kept.contains('/') {
            kept = base_name(kept.trim_end_matches('/'));
        }
        // `moduleobject.c:44:21` → `moduleobject.c`.
        while let Some((head, tail)) = kept.rsplit_once(':') {
            if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
                kept = head.to_owned();
            } else {
                break;
            }
        }
        if kept.is_empty() {
            continue;
        }
        out.push(format!("{lead}{kept}{trail}"));
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(text: &str) -> (Classification, Why) {
        let (_, c, w) = scan(text.as_bytes());
        (c, w)
    }

    fn cause(text: &str) -> String {
        why(text).1.cause.map(|c| c.text).unwrap_or_default()
    }

    const M: &str = "::matrix::";

    #[test]
    fn config_log_behind_configure_error() {
        let log = format!(
            "{M} event=stage-start stage=configure time=t\n\
             checking whether we are cross compiling... configure: error: in `/tmp/x/Python-3.13.5':\n\
             configure: error: cannot run C compiled programs.\n\
             configure:5460: checking whether we are cross compiling\n\
             configure:5468: ./conftest\n\
             ==250==Your application is linked against incompatible ASan runtimes.\n\
             configure:5472: $? = 1\n\
             configure:5490: error: in `/tmp/x/Python-3.13.5':\n\
             configure:5492: error: cannot run C compiled programs.\n\
             {M} event=stage-end stage=configure status=77 time=t\n\
             {M} event=finish cell=c stage=configure status=77 time=t\n"
        );
        let (_, w) = why(&log);
        let c = w.cause.unwrap();
        assert_eq!(
            c.text,
            "configure: error: cannot run C compiled programs (config.log: Your application is linked against incompatible ASan runtimes.)"
        );
        assert_eq!(c.kind, CauseKind::SanitizerRuntime);
        assert_eq!(c.evidence.line, 3);
    }

    #[test]
    fn report_above_a_failed_make() {
        let log = "+ ./configure\n+ make\n\
            ./python -E ./Tools/build/check_extension_modules.py\n\
            ==10593==ERROR: HWAddressSanitizer: tag-mismatch on address 0xffff856d89c8 at pc 0x72d340\n\
            READ of size 8 at 0xffff856d89c8 tags: 6e/00 (ptr/mem) in thread T0\n\
            \x20   #0 0x72d340 in PyModuleDef_Init /src/Python-3.12.4/Objects/moduleobject.c:44:21\n\
            \x20   #1 0x72e000 in _PyImport_Load /src/Python-3.12.4/Python/import.c:10:2\n\
            SUMMARY: HWAddressSanitizer: tag-mismatch /src/Python-3.12.4/Objects/moduleobject.c:44:21 in PyModuleDef_Init\n\
            make: *** [Makefile:1136: checksharedmods] Error 99\n\
            ==10595==ERROR: HWAddressSanitizer: heap-buffer-overflow on address 0x1\n\
            \x20   #0 0x1 in other /src/Python-3.12.4/Objects/other.c:1:1\n\
            SUMMARY: HWAddressSanitizer: heap-buffer-overflow x\n";
        let (c, w) = why(log);
        assert_eq!(
            c.verdict,
            Verdict::Result {
                stage: Stage::Compilation,
                outcome: Outcome::Failed
            }
        );
        let cause = w.cause.unwrap();
        assert_eq!(
            cause.text,
            "HWAddressSanitizer: tag-mismatch in PyModuleDef_Init (Objects/moduleobject.c) (making checksharedmods)"
        );
        assert_eq!(cause.evidence.line, 4);
        assert!(cause.evidence.text.contains("ERROR: HWAddressSanitizer"));
        assert_eq!(cause.finding.unwrap().len(), 8);
    }

    #[test]
    fn killed_command_and_first_compiler_error() {
        let seg = "+ ./configure\n+ make\n./_bootstrap_python ./Programs/_freeze_module.py abc ./Lib/abc.py Python/frozen_modules/abc.h\nSegmentation fault\nmake: *** [Makefile:1331: Python/frozen_modules/abc.h] Error 139\n";
        assert_eq!(
            cause(seg),
            "Segmentation fault in _bootstrap_python (making Python/frozen_modules/abc.h)"
        );
        let cc = "+ ./configure\n+ make\nObjects/a.c:12:3: error: unknown type name 'foo'\nObjects/b.c:1:1: error: later\nmake: *** [Makefile:3: Objects/a.o] Error 1\n";
        assert_eq!(
            cause(cc),
            "a.c: error: unknown type name 'foo' (making Objects/a.o)"
        );
        let job = "+ set -e\n+ ./configure\n./b.sh: line 26:    25 Segmentation fault      ./configure --with-pydebug\n+ exit 1\n";
        assert_eq!(cause(job), "Segmentation fault in configure");
    }

    #[test]
    fn tests_failed_timeouts_and_passes() {
        let failed = "+ ./configure\n+ make\n+ ./python -m test -uall\n0:00:01 load avg: 1.0 [1/3] test_a\n\n\
            2 tests failed:\n    test.test_gdb.test_backtrace\n    test_capi\n\n1 test altered the execution environment (env changed):\n    test_x\n\nResult: FAILURE\n";
        let (_, w) = why(failed);
        assert_eq!(
            w.failed_tests,
            ["test.test_gdb.test_backtrace", "test_capi"]
        );
        let c = w.cause.unwrap();
        assert_eq!(c.kind, CauseKind::Tests);
        assert_eq!(
            c.text,
            "2 tests failed: test.test_gdb.test_backtrace test_capi"
        );
        assert_eq!(c.evidence.line, 6);
        let hang = "+ ./configure\n+ make\n+ ./python -m test -uall\n0:16:56 load avg: 4.54 [262/489] test_logging\n";
        assert_eq!(cause(hang), "deadline hit while running test_logging");
        let check = "+ ./configure\nchecking whether we are cross compiling... Terminated\n";
        assert_eq!(
            cause(check),
            "deadline hit while checking whether we are cross compiling"
        );
        let pass = "+ ./configure\n+ make\n+ ./python -m test -uall\nResult: SUCCESS\n";
        assert_eq!(why(pass).1.cause, None);
        // A marker or `Result: FAILURE` alone is never a cause.
        let bare = "+ ./configure\n+ make\n+ ./python -m test -uall\nResult: FAILURE\n";
        assert_eq!(why(bare).1.cause, None);
    }

    #[test]
    fn normalise_drops_what_varies() {
        assert_eq!(
            normalise("==12==ERROR: at 0xdead in /src/Python-3.12.4/Objects/a.c:44:21 pid 1234"),
            "ERROR: at in a.c pid"
        );
        assert_eq!(
            normalise("./conftest: error while loading shared libraries: libclang_rt.hwasan.so: cannot open"),
            "conftest: error while loading shared libraries: libclang_rt.hwasan.so: cannot open"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(lines in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..80),
                proptest::string::string_regex("(\\+ (\\./configure|make|\\./python -m test)|make(\\[1\\])?: \\*\\*\\* \\[[a-z:0-9 ]{0,12}\\] Error 1[0-9]{2}|Result: (SUCCESS|FAILURE)|::matrix:: event=(stage-start|stage-end|finish) stage=(configure|compile|tests) status=[0-9]{1,3} cell=c|==[0-9]{1,3}==(ERROR: AddressSanitizer: [a-z-]+|Your application is linked against incompatible)|configure:[0-9]{0,4}: (checking|error: x)|configure: error: .{0,10}|[0-9] tests? failed:|    test_[a-z]{0,4}|\\./b\\.sh: line [0-9]: +[0-9]+ Segmentation fault +.{0,10}|[a-z./]{0,8}:[0-9]:[0-9]: error: .{0,8}|.{0,40})").unwrap().prop_map(String::into_bytes),
            ],
            0..40,
        )) {
            let mut text = Vec::new();
            for line in &lines {
                text.extend_from_slice(line);
                text.push(b'\n');
            }
            let (_, classification, why) = scan(&text[..]);
            if let Some(cause) = &why.cause {
                prop_assert!(!cause.text.is_empty());
                let failed = matches!(classification.verdict, Verdict::Result { outcome, .. } if outcome != Outcome::Passed);
                prop_assert!(failed, "a cause for a log that did not fail");
            }
        }
    }
}
