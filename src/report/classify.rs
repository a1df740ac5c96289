//! Classifying one build log, line by line, into `<Stage>. <Outcome>`: exactly from the
//! `::matrix::` stage markers when the log has them, else from what bash's `set -x` trace,
//! configure, make, the compilers, CPython's test runner, the sanitizers and the kernel print.
//!
//! The classifier is fed one line at a time and keeps only a bounded amount of state (the
//! deciding lines of each stage and a short tail), so a log of any size is read in one pass.

use std::collections::VecDeque;
use std::fmt;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use serde::Serialize;

/// The stage a result is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Stage {
    Configure,
    Compilation,
    Tests,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Configure, Stage::Compilation, Stage::Tests];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Configure => "Configure",
            Stage::Compilation => "Compilation",
            Stage::Tests => "Tests",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Outcome {
    Passed,
    Failed,
    Timeout,
    SegmentationFault,
    Aborted,
    Oom,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Passed,
        Outcome::Failed,
        Outcome::Timeout,
        Outcome::SegmentationFault,
        Outcome::Aborted,
        Outcome::Oom,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Passed => "Passed",
            Outcome::Failed => "Failed",
            Outcome::Timeout => "Timeout",
            Outcome::SegmentationFault => "Segmentation fault",
            Outcome::Aborted => "Aborted",
            Outcome::Oom => "OOM",
        }
    }

    /// What a process killed by `signal` ended as, if the signal says.
    fn from_signal(signal: u32) -> Option<Outcome> {
        match signal {
            11 | 7 => Some(Outcome::SegmentationFault), // SIGSEGV, SIGBUS
            6 => Some(Outcome::Aborted),                // SIGABRT
            9 => Some(Outcome::Oom),                    // SIGKILL: the kernel's OOM killer
            15 => Some(Outcome::Timeout),               // SIGTERM: a deadline
            _ => None,
        }
    }

    /// What an exit status says on its own: 128+N is "killed by signal N" (bash, make), 124 is
    /// timeout(1)'s status.
    fn from_status(status: i64) -> Outcome {
        match status {
            0 => Outcome::Passed,
            124 => Outcome::Timeout,
            s if s > 128 && s < 128 + 65 => {
                Outcome::from_signal((s - 128) as u32).unwrap_or(Outcome::Failed)
            }
            _ => Outcome::Failed,
        }
    }

    /// The description bash, sh and make print for a child killed by a signal.
    fn from_signal_description(text: &str) -> Option<Outcome> {
        const WORDS: [(&str, Outcome); 6] = [
            ("Segmentation fault", Outcome::SegmentationFault),
            ("Bus error", Outcome::SegmentationFault),
            ("Aborted", Outcome::Aborted),
            ("Killed", Outcome::Oom),
            ("Terminated", Outcome::Timeout),
            ("Alarm clock", Outcome::Timeout),
        ];
        WORDS
            .iter()
            .find(|(word, _)| text.starts_with(word))
            .map(|&(_, outcome)| outcome)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A line of the log: its 1-based number and (a bounded prefix of) its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub line: u64,
    pub text: String,
}

/// What one log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Result { stage: Stage, outcome: Outcome },
    Unknown { reason: String },
}

/// The classification of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub verdict: Verdict,
    /// The line that decided, when one did.
    pub evidence: Option<Evidence>,
    /// The cell id of the `finish` marker, for logs of our own scripts.
    pub cell: Option<String>,
    /// The time of the first marker, to order attempts of one cell.
    pub started: Option<String>,
    /// Whether the log carried `::matrix::` markers.
    pub markers: bool,
}

impl Classification {
    pub fn unknown(reason: impl Into<String>) -> Self {
        Classification {
            verdict: Verdict::Unknown {
                reason: reason.into(),
            },
            evidence: None,
            cell: None,
            started: None,
            markers: false,
        }
    }
}

/// Longest prefix of a line kept as evidence.
const EVIDENCE_CHARS: usize = 400;
/// Lines of the tail kept to judge how a log that just stops ended.
const TAIL_LINES: usize = 12;

/// The stages of our build scripts' markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MarkerStage {
    Setup,
    Result(Stage),
    Collect,
}

impl MarkerStage {
    fn parse(name: &str) -> Option<MarkerStage> {
        Some(match name {
            "setup" => MarkerStage::Setup,
            "configure" => MarkerStage::Result(Stage::Configure),
            "compile" => MarkerStage::Result(Stage::Compilation),
            "tests" => MarkerStage::Result(Stage::Tests),
            "collect" => MarkerStage::Collect,
            _ => return None,
        })
    }
}

/// Which known phrase a line holds: the classifier looks closer only at such lines. Phrases
/// that tools print anywhere on a line are searched for ([`PHRASES`]); those that start a line
/// are recognised by their first bytes ([`line_start_phrase`]), which costs nothing per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phrase {
    SignalWord,
    MakeError,
    Sanitizer,
    CompilerCrash,
    FatalPython,
    RegrtestResult,
    WorkerCrash,
    TestTimedOut,
    Configure,
    SanitizerFatal,
    RegrtestProgress,
}

const PHRASES: [(&str, Phrase); 14] = [
    ("Segmentation fault", Phrase::SignalWord),
    ("Bus error", Phrase::SignalWord),
    ("Aborted", Phrase::SignalWord),
    ("Killed", Phrase::SignalWord),
    ("Terminated", Phrase::SignalWord),
    ("Sanitizer", Phrase::Sanitizer),
    ("internal compiler error", Phrase::CompilerCrash),
    ("signal terminated program", Phrase::CompilerCrash),
    ("unable to execute command", Phrase::CompilerCrash),
    ("frontend command failed", Phrase::CompilerCrash),
    ("Fatal Python error: ", Phrase::FatalPython),
    ("Exit code -", Phrase::WorkerCrash),
    (" timed out (", Phrase::TestTimedOut),
    ("==ABORTING", Phrase::SanitizerFatal),
];

/// The searcher for the phrases the classifier looks closer at: a reader may run it over a
/// whole buffer at once and tell [`Classifier::feed_flagged`] which lines hold one.
pub fn phrase_finder() -> &'static AhoCorasick {
    phrases()
}

fn phrases() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(PHRASES.iter().map(|(p, _)| p))
            .expect("phrases compile")
    })
}

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
    /// regrtest's last progress line (`0:01:02 [ 12/478] test_x`): the test suite is running.
    regrtest_progress: Option<Evidence>,
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

/// Where a marker log is.
#[derive(Debug, Default, Clone)]
struct Markers {
    seen: bool,
    current: Option<MarkerStage>,
    /// The last stage that ended, its status and the marker line.
    last_end: Option<(MarkerStage, i64, Evidence)>,
    tests_skipped: bool,
    finish: Option<(Option<MarkerStage>, i64, Evidence)>,
    malformed: Option<Evidence>,
}

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
    stages: [StageEvidence; 3],
    /// Lines outside any result stage (setup) are kept here.
    outside: StageEvidence,
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
        self.lines += 1;
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
        if raw.iter().any(|b| !b.is_ascii_whitespace()) {
            let mut buf = if self.tail.len() == TAIL_LINES {
                self.tail.pop_front().map(|(_, b)| b).unwrap_or_default()
            } else {
                Vec::new()
            };
            buf.clear();
            buf.extend_from_slice(&raw[..raw.len().min(EVIDENCE_CHARS * 4)]);
            self.tail.push_back((line_no, buf));
        }
        if !self.markers.seen && may_change_stage(raw, self.traced) {
            self.trace(line_no, &String::from_utf8_lossy(raw));
        }
        if is_build_activity(raw) {
            self.current().build_activity = line_no;
        }
        if line_start_phrase(raw).is_some() {
            // Positions are taken again in the decoded text: invalid bytes change its length.
            let text = String::from_utf8_lossy(raw);
            if let Some((phrase, at)) = line_start_phrase(text.as_bytes()) {
                self.phrase(line_no, &text, phrase, at);
            }
        }
        if has_phrase {
            let text = String::from_utf8_lossy(raw);
            for found in phrases().find_iter(text.as_bytes()) {
                let phrase = PHRASES[found.pattern().as_usize()].1;
                self.phrase(line_no, &text, phrase, found.start());
            }
        }
    }

    /// The evidence slot of the stage the log is in now.
    fn current(&mut self) -> &mut StageEvidence {
        let stage = if self.markers.seen {
            match self.markers.current {
                Some(MarkerStage::Result(stage)) => Some(stage),
                _ => None,
            }
        } else {
            self.legacy_stage
        };
        match stage {
            Some(stage) => &mut self.stages[stage.index()],
            None => &mut self.outside,
        }
    }

    fn enter_legacy(&mut self, stage: Stage, line_no: u64) {
        if self.legacy_stage.map_or(true, |now| stage > now) {
            self.legacy_stage = Some(stage);
            self.stages[stage.index()].first_line = line_no;
        }
    }

    /// Stage changes of logs without markers. With a `set -x` trace (`+ cmd`), the top-level
    /// commands decide; without one, the first output of each tool does.
    fn trace(&mut self, line_no: u64, text: &str) {
        if let Some(cmd) = text.strip_prefix("+ ") {
            let word = cmd.split_whitespace().next().unwrap_or("");
            let second = cmd.split_whitespace().nth(1).unwrap_or("");
            let third = cmd.split_whitespace().nth(2).unwrap_or("");
            let stage = if word == "./configure" || word == "../configure" {
                Some(Stage::Configure)
            } else if word == "make" || word == "gmake" {
                // `make test` and friends run the test suite.
                if ["test", "buildbottest", "quicktest", "testall"].contains(&second) {
                    Some(Stage::Tests)
                } else {
                    Some(Stage::Compilation)
                }
            } else if (word == "./python" || word == "./python.exe")
                && second == "-m"
                && third.starts_with("test")
            {
                Some(Stage::Tests)
            } else {
                None
            };
            if let Some(stage) = stage {
                self.traced = true;
                self.enter_legacy(stage, line_no);
            } else if self.legacy_stage == Some(Stage::Compilation) {
                // The script went on to its next command: make has returned.
                let slot = &mut self.stages[Stage::Compilation.index()];
                let training = slot
                    .regrtest_progress
                    .as_ref()
                    .is_some_and(|p| p.line > slot.build_activity);
                if slot.moved_on.is_none() && !training {
                    slot.moved_on = Some(evidence(line_no, text));
                }
            }
            return;
        }
        if self.traced {
            return;
        }
        if text.starts_with("checking ") && self.legacy_stage.is_none() {
            self.enter_legacy(Stage::Configure, line_no);
        } else if text.starts_with("make: Entering directory")
            || text.starts_with("make[1]: Entering directory")
            || ((text.starts_with("gcc ") || text.starts_with("clang ") || text.starts_with("cc "))
                && text.contains(" -c "))
        {
            self.enter_legacy(Stage::Compilation, line_no);
        } else if text.starts_with("== CPython ") {
            self.enter_legacy(Stage::Tests, line_no);
        }
    }

    fn marker(&mut self, line_no: u64, text: &str, rest: &str) {
        let m = &mut self.markers;
        m.seen = true;
        let mut event = None;
        let mut stage = None;
        let mut status = None;
        let mut cell = None;
        let mut time = None;
        for field in rest.split_whitespace() {
            match field.split_once('=') {
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
            (Some("finish"), s, Some(status)) if s.is_some() || stage == Some("none") => {
                m.current = None;
                m.finish = Some((s, status, ev));
                self.cell = cell.map(str::to_owned);
            }
            _ => m.malformed = Some(ev),
        }
    }

    fn phrase(&mut self, line_no: u64, text: &str, phrase: Phrase, at: usize) {
        let slot = self.current();
        match phrase {
            Phrase::SignalWord => {
                if let Some(outcome) = job_status(text) {
                    slot.job_status = Some((evidence(line_no, text), outcome));
                } else if let Some(outcome) = bare_signal(text) {
                    slot.bare_signal = Some((evidence(line_no, text), outcome));
                }
            }
            Phrase::MakeError => {
                let Some(prog) = text.get(..at) else { return };
                let top = prog == "make" || prog == "gmake";
                let sub = (prog.starts_with("make[") || prog.starts_with("gmake["))
                    && prog.ends_with(']');
                if !(top || sub) {
                    return;
                }
                let ev = evidence(line_no, text);
                if slot.make_first.is_none() {
                    slot.make_first = Some((ev.clone(), make_error_outcome(&text[at..])));
                    slot.make_failed_in_training = slot
                        .regrtest_progress
                        .as_ref()
                        .is_some_and(|p| p.line > slot.build_activity);
                }
                if top {
                    slot.make_top = Some(ev);
                }
            }
            Phrase::Sanitizer => {
                if let Some(kind) = sanitizer_summary(text) {
                    let outcome = match kind {
                        k if k.starts_with("out-of-memory")
                            || k.starts_with("allocation-size-too-big")
                            || k.starts_with("rss-limit-exceeded") =>
                        {
                            Outcome::Oom
                        }
                        k if k.starts_with("SEGV")
                            || k.starts_with("BUS")
                            || k.starts_with("stack-overflow") =>
                        {
                            Outcome::SegmentationFault
                        }
                        k if k.starts_with("ABRT") => Outcome::Aborted,
                        _ => Outcome::Failed,
                    };
                    slot.sanitizer_summary = Some((evidence(line_no, text), outcome));
                } else if text.contains("allocator is out of memory")
                    || text.contains("Sanitizer: out of memory")
                {
                    slot.sanitizer_oom = Some(evidence(line_no, text));
                } else if text.starts_with("==")
                    && text
                        .trim_end()
                        .ends_with("Dying (set die_after_fork=0 to override)")
                    || text.starts_with("==") && text.contains("Sanitizer: CHECK failed")
                {
                    slot.sanitizer_fatal = Some(evidence(line_no, text));
                }
            }
            Phrase::CompilerCrash => {
                let outcome = if text.contains("Killed signal terminated program")
                    || text.contains(": Killed")
                {
                    Outcome::Oom
                } else if text.contains("Segmentation fault") || text.contains("Bus error") {
                    Outcome::SegmentationFault
                } else if text.contains("Aborted") {
                    Outcome::Aborted
                } else if text.contains("internal compiler error") {
                    Outcome::Failed
                } else {
                    return;
                };
                slot.compiler_crash = Some((evidence(line_no, text), outcome));
            }
            Phrase::FatalPython => {
                let what = &text[at + "Fatal Python error: ".len()..];
                let outcome =
                    if what.starts_with("Segmentation fault") || what.starts_with("Bus error") {
                        Outcome::SegmentationFault
                    } else if what.starts_with("Aborted") {
                        Outcome::Aborted
                    } else {
                        Outcome::Failed
                    };
                slot.fatal_python = Some((evidence(line_no, text), outcome));
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
            Phrase::TestTimedOut => {
                // regrtest's `test_x timed out (20 min)`, or faulthandler's `Timeout (0:20:00)!`
                // when `--timeout` stops a test.
                let faulthandler = at == 0 && text.trim_end().ends_with(")!");
                let regrtest = at > 0 && (text.starts_with("test") || text.contains("] test"));
                if faulthandler || regrtest {
                    slot.test_timed_out = Some(evidence(line_no, text));
                }
            }
            Phrase::Configure if at == 0 => {
                if text.starts_with("configure: error: ") {
                    slot.configure_error = Some(evidence(line_no, text));
                } else if let Some(code) = text.strip_prefix("configure: exit ") {
                    if let Ok(code) = code.trim().parse::<i64>() {
                        slot.configure_exit = Some((evidence(line_no, text), code));
                    }
                }
            }
            Phrase::Configure => {}
            Phrase::SanitizerFatal => {
                if text.starts_with("==") && text.trim_end().ends_with("==ABORTING") {
                    slot.sanitizer_fatal = Some(evidence(line_no, text));
                }
            }
            Phrase::RegrtestProgress => {
                if is_progress(&text[..at]) {
                    slot.regrtest_progress = Some(evidence(line_no, text));
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
        }
    }

    fn last_line(&self) -> Option<Evidence> {
        self.tail_ev.last().cloned()
    }

    /// Logs of our own scripts: the markers and statuses decide; the tools' words only say
    /// which kind of failure a non-zero status was when the status alone cannot.
    fn decide_markers(&self, ends_mid_line: bool) -> (Verdict, Option<Evidence>) {
        let m = &self.markers;
        if let Some((stage, status, ev)) = &m.finish {
            let stage = match stage {
                Some(MarkerStage::Result(stage)) => *stage,
                Some(MarkerStage::Collect) if *status == 0 => {
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
                Some(MarkerStage::Setup) | None => {
                    if *status == 0 {
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
            if *status == 0 {
                return self.passed_marker(ev);
            }
            if *status == 130 {
                return unknown("the build was interrupted (SIGINT)", Some(ev.clone()));
            }
            let by_status = Outcome::from_status(*status);
            let (outcome, decided) = if by_status == Outcome::Failed {
                match self.refine(stage) {
                    Some((outcome, ev)) => (outcome, ev),
                    None => (Outcome::Failed, ev.clone()),
                }
            } else {
                (by_status, ev.clone())
            };
            return (Verdict::Result { stage, outcome }, Some(decided));
        }
        // No finish marker: the pod was killed, or the log was cut.
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

    fn passed_marker(&self, ev: &Evidence) -> (Verdict, Option<Evidence>) {
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

    /// Logs of the original experiment's scripts (no markers).
    fn decide_legacy(&self, ends_mid_line: bool) -> (Verdict, Option<Evidence>) {
        let Some(reached) = self.legacy_stage else {
            return unknown(
                "no stage markers, and no configure, make or test run found in the log",
                self.last_line(),
            );
        };
        let conf = &self.stages[Stage::Configure.index()];
        if reached == Stage::Configure || self.configure_failed(conf) {
            // The script stops after a failed configure; later lines would be noise.
            if let Some((ev, outcome)) = &conf.job_status {
                return result(Stage::Configure, *outcome, ev.clone());
            }
            if let Some((ev, code)) = &conf.configure_exit {
                if *code != 0 {
                    let decided = conf.configure_error.clone().unwrap_or_else(|| ev.clone());
                    return result(Stage::Configure, Outcome::Failed, decided);
                }
            }
            if let Some(ev) = &conf.configure_error {
                return result(Stage::Configure, Outcome::Failed, ev.clone());
            }
            return self.stopped(Stage::Configure, ends_mid_line);
        }

        let comp = &self.stages[Stage::Compilation.index()];
        let tests = &self.stages[Stage::Tests.index()];
        // The test suite ran (regrtest reported progress or a result): its outcome decides,
        // even after a failed make (a PGO build whose training run failed still leaves an
        // interpreter the suite runs on).
        let tests_ran = tests.regrtest_progress.is_some() || tests.regrtest_result.is_some();
        // A PGO build runs the test suite inside make (`profile-run-stamp`); a failure or a
        // stop while it runs is a test-suite outcome.
        let training = comp
            .regrtest_progress
            .as_ref()
            .is_some_and(|p| p.line > comp.build_activity);
        if !tests_ran {
            if let Some(top) = &comp.make_top {
                let (outcome, ev) = self
                    .refine(Stage::Compilation)
                    .unwrap_or((Outcome::Failed, top.clone()));
                let stage = if comp.make_failed_in_training {
                    Stage::Tests
                } else {
                    Stage::Compilation
                };
                return result(stage, outcome, ev);
            }
            if reached == Stage::Compilation {
                if let Some(next) = &comp.moved_on {
                    // make returned without an error and the script went on without running
                    // the tests (analyzer builds collect their reports instead).
                    return result(Stage::Compilation, Outcome::Passed, next.clone());
                }
                let stage = if training {
                    Stage::Tests
                } else {
                    Stage::Compilation
                };
                return self.stopped_as(Stage::Compilation, stage, ends_mid_line);
            }
        }

        if let Some((ev, outcome)) = &tests.job_status {
            return result(Stage::Tests, *outcome, ev.clone());
        }
        if let Some((ev, outcome)) = &tests.regrtest_result {
            if *outcome == Outcome::Passed {
                return result(Stage::Tests, Outcome::Passed, ev.clone());
            }
            if let Some((o, e)) = self.refine(Stage::Tests) {
                return result(Stage::Tests, o, e);
            }
            return result(Stage::Tests, *outcome, ev.clone());
        }
        self.stopped(Stage::Tests, ends_mid_line)
    }

    fn configure_failed(&self, conf: &StageEvidence) -> bool {
        conf.job_status.is_some()
            || conf.configure_exit.as_ref().is_some_and(|(_, c)| *c != 0)
                && self.legacy_stage == Some(Stage::Configure)
    }
}

/// The part of a regrtest progress line before `] test`: `0:00:03 load avg: 4.04 [  5/478`
/// or `[ 12/478/2`.
fn is_progress(before: &str) -> bool {
    let Some(open) = before.rfind('[') else {
        return false;
    };
    let inside = before[open + 1..].trim_start();
    let mut parts = inside.split('/');
    let first = parts.next().unwrap_or("");
    let second = parts.next().unwrap_or("");
    !first.is_empty()
        && first.bytes().all(|b| b.is_ascii_digit())
        && !second.is_empty()
        && second.bytes().all(|b| b.is_ascii_digit())
}

/// Phrases that begin a line (make's errors, regrtest's progress and verdict, configure's
/// last words, faulthandler's timeout), with where the phrase starts.
fn line_start_phrase(raw: &[u8]) -> Option<(Phrase, usize)> {
    let find = |needle: &[u8]| memchr::memmem::find(raw, needle);
    match raw.first()? {
        b'm' | b'g' if raw.starts_with(b"make") || raw.starts_with(b"gmake") => {
            find(b": *** ").map(|at| (Phrase::MakeError, at))
        }
        b'R' if raw.starts_with(b"Result: ") => Some((Phrase::RegrtestResult, 0)),
        b'=' if raw.starts_with(b"== Tests result: ") => Some((Phrase::RegrtestResult, 3)),
        b'T' if raw.starts_with(b"Tests result: ") => Some((Phrase::RegrtestResult, 0)),
        b'T' if raw.starts_with(b"Timeout (") => Some((Phrase::TestTimedOut, 0)),
        b'c' if raw.starts_with(b"configure: ") => Some((Phrase::Configure, 0)),
        b'0'..=b'9' => find(b"] test").map(|at| (Phrase::RegrtestProgress, at)),
        _ => None,
    }
}

/// Whether a line may move a log without markers to another stage (see `Classifier::trace`).
fn may_change_stage(raw: &[u8], traced: bool) -> bool {
    raw.starts_with(b"+ ")
        || !traced
            && (raw.starts_with(b"checking ")
                || raw.starts_with(b"make")
                || raw.starts_with(b"gcc ")
                || raw.starts_with(b"clang ")
                || raw.starts_with(b"cc ")
                || raw.starts_with(b"== CPython "))
}

/// A line of make or a compiler at work.
fn is_build_activity(raw: &[u8]) -> bool {
    let contains = |needle: &[u8]| memchr::memmem::find(raw, needle).is_some();
    match raw.first() {
        Some(b'm') => {
            raw.starts_with(b"make ")
                || (raw.starts_with(b"make[") && contains(b"]: Entering directory"))
        }
        Some(b'g') => raw.starts_with(b"gcc "),
        Some(b'c') => {
            raw.starts_with(b"clang ") || raw.starts_with(b"cc ") || raw.starts_with(b"ccache ")
        }
        Some(b'/') => raw.starts_with(b"/usr/bin/") && (contains(b"gcc") || contains(b"clang")),
        _ => false,
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

/// bash's report on a job it waited for: `./build.sh: line 26:  25 Segmentation fault  ./configure`.
fn job_status(text: &str) -> Option<Outcome> {
    let (_, rest) = text.split_once("line ")?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix(':')?.trim_start();
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    if !rest.starts_with(' ') {
        return None;
    }
    Outcome::from_signal_description(rest.trim_start())
}

/// A shell's report on a child with nothing else on the line (or after a partial line:
/// `checking whether we are cross compiling... Terminated`).
fn bare_signal(text: &str) -> Option<Outcome> {
    let t = text.trim();
    let t = t
        .strip_suffix("(core dumped)")
        .map(str::trim_end)
        .unwrap_or(t);
    if let Some(outcome) = Outcome::from_signal_description(t) {
        let word_len = t.split_whitespace().take(2).map(str::len).sum::<usize>() + 1;
        if t.len() <= word_len {
            return Some(outcome);
        }
    }
    for word in ["Terminated", "Killed"] {
        if let Some(before) = t.strip_suffix(word) {
            if before.ends_with("... ") || before.ends_with("...") {
                return Outcome::from_signal_description(word);
            }
        }
    }
    None
}

/// What a make error line says: `Error 139` is a child killed by SIGSEGV; `Terminated`,
/// `Killed`, `Segmentation fault` name the signal of a child make waited for.
fn make_error_outcome(rest: &str) -> Option<Outcome> {
    let rest = rest.trim_end();
    if let Some(pos) = rest.rfind("Error ") {
        let code = rest[pos + 6..]
            .split_whitespace()
            .next()
            .and_then(|c| c.parse::<i64>().ok())?;
        return match Outcome::from_status(code) {
            Outcome::Failed | Outcome::Passed => None,
            o => Some(o),
        };
    }
    let last = rest.rsplit("] ").next().unwrap_or(rest);
    Outcome::from_signal_description(last.trim())
}

/// `text` without terminal colour sequences (`ESC [ ... m`), which regrtest prints on a tty.
fn strip_ansi(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\x1b') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip `[`, parameters, up to and including the final letter.
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// `SUMMARY: AddressSanitizer: heap-use-after-free ...` → `heap-use-after-free ...`.
fn sanitizer_summary(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("SUMMARY: ")?;
    let (tool, kind) = rest.split_once(": ")?;
    tool.ends_with("Sanitizer").then_some(kind)
}

/// regrtest's verdict line: `Result: FAILURE`, `== Tests result: SUCCESS ==`,
/// `Result: FAILURE then SUCCESS` (the last word after a re-run counts).
fn regrtest_result(text: &str) -> Option<Outcome> {
    let plain = strip_ansi(text);
    let t = plain
        .trim()
        .trim_start_matches("== ")
        .trim_end_matches(" ==");
    let verdict = t
        .strip_prefix("Result: ")
        .or_else(|| t.strip_prefix("Tests result: "))?;
    let last = verdict.rsplit(" then ").next().unwrap_or(verdict).trim();
    Some(match last {
        "SUCCESS" | "ENV CHANGED" => Outcome::Passed,
        "FAILURE" | "NO TESTS RAN" | "NO TEST RUN" | "NO TESTS RUN" => Outcome::Failed,
        "INTERRUPTED" => Outcome::Failed,
        _ => return None,
    })
}

/// regrtest's report on a test worker killed by a signal: `test_x crashed (Exit code -11)`
/// (3.11), `test_x worker non-zero exit code (Exit code -11 (SIGSEGV))` (3.12+).
fn worker_crash(text: &str) -> Option<Outcome> {
    let about_a_test = text.contains("test")
        && (text.contains("crashed")
            || text.contains("failed")
            || text.contains("non-zero exit code"));
    if !about_a_test {
        return None;
    }
    let pos = text.find("Exit code -")?;
    let digits: String = text[pos + "Exit code -".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Outcome::from_signal(digits.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str) -> Classification {
        let mut c = Classifier::new();
        for line in text.lines() {
            c.feed(line.as_bytes());
        }
        c.finish(!text.is_empty() && !text.ends_with('\n'))
    }

    fn verdict(text: &str) -> String {
        match classify(text).verdict {
            Verdict::Result { stage, outcome } => format!("{stage}. {outcome}"),
            Verdict::Unknown { reason } => format!("Unknown: {reason}"),
        }
    }

    const M: &str = "::matrix::";

    #[test]
    fn markers_decide_exactly() {
        let passed = format!(
            "{M} event=stage-start stage=setup time=t1\n{M} event=stage-end stage=setup status=0 time=t\n\
             {M} event=stage-start stage=configure time=t\nchecking x... yes\n{M} event=stage-end stage=configure status=0 time=t\n\
             {M} event=stage-start stage=compile time=t\n{M} event=stage-end stage=compile status=0 time=t\n\
             {M} event=stage-start stage=tests time=t\nResult: SUCCESS\n{M} event=stage-end stage=tests status=0 time=t\n\
             {M} event=finish cell=amd64-x stage=tests status=0 time=t\n"
        );
        let c = classify(&passed);
        assert_eq!(verdict(&passed), "Tests. Passed");
        assert_eq!(c.cell.as_deref(), Some("amd64-x"));
        assert_eq!(c.started.as_deref(), Some("t1"));

        let configure = format!(
            "{M} event=stage-start stage=configure time=t\nconfigure: error: no acceptable C compiler\n\
             {M} event=stage-end stage=configure status=77 time=t\n{M} event=finish cell=c stage=configure status=77 time=t\n"
        );
        assert_eq!(verdict(&configure), "Configure. Failed");

        let segv = format!(
            "{M} event=stage-start stage=compile time=t\nSegmentation fault\nmake[2]: *** [Makefile:1: x] Error 139\n\
             make: *** [Makefile:2: all] Error 2\n{M} event=stage-end stage=compile status=2 time=t\n\
             {M} event=finish cell=c stage=compile status=2 time=t\n"
        );
        assert_eq!(verdict(&segv), "Compilation. Segmentation fault");

        let child = format!(
            "{M} event=stage-start stage=tests time=t\n0:01:00 [ 3/9/1] test_os crashed (Exit code -11)\nResult: FAILURE\n\
             {M} event=stage-end stage=tests status=2 time=t\n{M} event=finish cell=c stage=tests status=2 time=t\n"
        );
        assert_eq!(verdict(&child), "Tests. Segmentation fault");

        let asan_segv = format!(
            "{M} event=stage-start stage=tests time=t\n==5==ERROR: AddressSanitizer: SEGV on unknown address 0x0\n\
             SUMMARY: AddressSanitizer: SEGV Objects/a.c:3 in f\n==5==ABORTING\n\
             {M} event=stage-end stage=tests status=1 time=t\n{M} event=finish cell=c stage=tests status=1 time=t\n"
        );
        assert_eq!(verdict(&asan_segv), "Tests. Segmentation fault");

        let per_test_timeout = format!(
            "{M} event=stage-start stage=tests time=t\nTimeout (0:20:00)!\nThread 0x1 (most recent call first):\n\
             Result: FAILURE\n{M} event=stage-end stage=tests status=2 time=t\n{M} event=finish cell=c stage=tests status=2 time=t\n"
        );
        assert_eq!(verdict(&per_test_timeout), "Tests. Timeout");

        let killed = format!(
            "{M} event=stage-start stage=tests time=t\n{M} event=stage-end stage=tests status=137 time=t\n\
             {M} event=finish cell=c stage=tests status=137 time=t\n"
        );
        assert_eq!(verdict(&killed), "Tests. OOM");

        let analyzer = format!(
            "{M} event=stage-start stage=compile time=t\n{M} event=stage-end stage=compile status=0 time=t\n\
             {M} event=stage-skip stage=tests time=t\n{M} event=stage-start stage=collect time=t\n\
             {M} event=stage-end stage=collect status=0 time=t\n{M} event=finish cell=c stage=collect status=0 time=t\n"
        );
        assert_eq!(verdict(&analyzer), "Compilation. Passed");
    }

    #[test]
    fn a_killed_pod_stops_inside_a_stage() {
        let stop = format!("{M} event=stage-start stage=tests time=t\n0:00:01 [ 1/9] test_a\n");
        assert_eq!(verdict(&stop), "Tests. Timeout");
        let cut =
            format!("{M} event=stage-start stage=tests time=t\n0:00:01 [ 1/9] test_a\n0:00:0");
        assert!(verdict(&cut).starts_with("Unknown: the log is truncated"));
        let setup = format!("{M} event=stage-start stage=setup time=t\nDownloading\n");
        assert!(verdict(&setup).starts_with("Unknown:"));
    }

    #[test]
    fn legacy_logs_follow_the_trace() {
        let seg = "+ set -e\n+ ./configure\n./b.sh: line 26:    25 Segmentation fault      ./configure\n+ cat config.log\n+ exit 1\n";
        assert_eq!(verdict(seg), "Configure. Segmentation fault");
        let fail = "+ ./configure\nchecking x... no\nconfigure: error: C compiler cannot create executables\nconfigure: exit 77\n+ exit 1\n";
        assert_eq!(verdict(fail), "Configure. Failed");
        let term = "+ ./configure\nchecking whether we are cross compiling... Terminated\n";
        assert_eq!(verdict(term), "Configure. Timeout");
        let make = "+ ./configure\n+ make\nx.c:1: error: boom\nmake: *** [Makefile:1: x.o] Error 1\n+ ./python -m test -uall\n./b.sh: line 3: ./python: No such file or directory\n";
        assert_eq!(verdict(make), "Compilation. Failed");
        let ice = "+ ./configure\n+ make\ngcc: internal compiler error: Segmentation fault signal terminated program cc1\nmake: *** [Makefile:1: x.o] Error 4\n";
        assert_eq!(verdict(ice), "Compilation. Segmentation fault");
        let oom = "+ ./configure\n+ make\ngcc: fatal error: Killed signal terminated program cc1\nmake: *** [Makefile:1: x.o] Error 1\n";
        assert_eq!(verdict(oom), "Compilation. OOM");
        let abort = "+ ./configure\n+ make\n+ ./python -m test -uall\nFatal Python error: Aborted\n./b.sh: line 24:  8434 Aborted (core dumped) ./python -m test -uall\n";
        assert_eq!(verdict(abort), "Tests. Aborted");
        let pass = "+ ./configure\n+ make\n+ ./python -m test -uall\n== CPython 3.12\nTotal duration: 1 min\nResult: SUCCESS\n";
        assert_eq!(verdict(pass), "Tests. Passed");
        let rerun =
            "+ ./configure\n+ make\n+ ./python -m test -uall\nResult: FAILURE then SUCCESS\n";
        assert_eq!(verdict(rerun), "Tests. Passed");
        let tfail = "+ ./configure\n+ make\n+ ./python -m test -uall\nResult: FAILURE\n";
        assert_eq!(verdict(tfail), "Tests. Failed");
        let san = "+ ./configure\n+ make\n+ ./python -m test -uall\n==1==ERROR: AddressSanitizer: heap-use-after-free\nSUMMARY: AddressSanitizer: heap-use-after-free x.c:1 in f\n";
        assert_eq!(verdict(san), "Tests. Failed");
        let tsan_oom = "+ ./configure\n+ make\n+ ./python -m test -uall\n==1==HINT: x\nSUMMARY: ThreadSanitizer: out-of-memory x in realloc\n";
        assert_eq!(verdict(tsan_oom), "Tests. OOM");
        let killed = "+ ./configure\n+ make\n+ ./python -m test -uall\n./b.sh: line 9:  77 Killed                  ./python -m test -uall\n";
        assert_eq!(verdict(killed), "Tests. OOM");
        let hang = "+ ./configure\n+ make\n+ ./python -m test -uall\n0:16:56 load avg: 4.54 [262/489] test_logging\n";
        assert_eq!(verdict(hang), "Tests. Timeout");
    }

    #[test]
    fn logs_without_a_trace_use_the_tools_output() {
        let plain =
            "checking for gcc... gcc\ngcc -c -O2 x.c -o x.o\n== CPython 3.13.0\nResult: FAILURE\n";
        assert_eq!(verdict(plain), "Tests. Failed");
        assert!(verdict("hello\nworld\n").starts_with("Unknown: no stage markers"));
        assert_eq!(verdict(""), "Unknown: empty log");
    }

    #[test]
    fn invalid_utf8_never_splits_a_character() {
        let mut c = Classifier::new();
        c.feed(b"+ ./configure");
        c.feed(b"+ make");
        c.feed(b"+ ./python -m test -uall");
        c.feed(b"0:00:01 \xff\xfe [1/2] test_a");
        c.feed(b"make\xff: *** [x] Error 139");
        c.feed(b"Result: \xffFAILURE");
        assert!(matches!(c.finish(false).verdict, Verdict::Result { .. }));
    }

    #[test]
    fn phrase_parsers() {
        assert_eq!(
            job_status("./build_001.sh: line 26:    25 Segmentation fault      ./configure"),
            Some(Outcome::SegmentationFault)
        );
        assert_eq!(job_status("it was a fine line 3: nothing"), None);
        assert_eq!(
            bare_signal("Segmentation fault (core dumped)"),
            Some(Outcome::SegmentationFault)
        );
        assert_eq!(bare_signal("Killed"), Some(Outcome::Oom));
        assert_eq!(bare_signal("test_x: Aborted because of y"), None);
        assert_eq!(
            make_error_outcome(": *** [Makefile:1: a] Error 139"),
            Some(Outcome::SegmentationFault)
        );
        assert_eq!(make_error_outcome(": *** [Makefile:1: a] Error 2"), None);
        assert_eq!(
            make_error_outcome(": *** [Makefile:889: profile-run-stamp] Terminated"),
            Some(Outcome::Timeout)
        );
        assert_eq!(
            regrtest_result("== Tests result: FAILURE =="),
            Some(Outcome::Failed)
        );
        assert_eq!(
            regrtest_result("Result: \x1b[1;32mSUCCESS\x1b[0m"),
            Some(Outcome::Passed)
        );
        assert_eq!(
            worker_crash("0:01 [1/2/1] test_x failed (Exit code -6 (SIGABRT))"),
            Some(Outcome::Aborted)
        );
        assert_eq!(
            worker_crash("0:09:12 load avg: 3.1 [ 9/478/1] test_capi worker non-zero exit code (Exit code -11 (SIGSEGV))"),
            Some(Outcome::SegmentationFault)
        );
        assert_eq!(
            worker_crash("Exit code -11 in a message about nothing"),
            None
        );
        assert_eq!(
            sanitizer_summary("SUMMARY: HWAddressSanitizer: tag-mismatch x"),
            Some("tag-mismatch x")
        );
    }
}
