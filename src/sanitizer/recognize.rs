//! Recognising reports in a log, one line at a time: the sanitizers' (ASan, HWASan, LSan,
//! MSan, TSan, UBSan) and CPython's own `Fatal Python error`, where each begins and ends, its
//! tool, kind, access, first stack (and a race's previous one), and the regrtest test that was
//! running.
//!
//! Every header line starts exactly one report; a report ends at its `SUMMARY:` line, at the
//! next header, at a line that is plainly the build's own (a regrtest progress line, a `set -x`
//! trace, a `::matrix::` marker), after a run of lines that are no report's, or at the end of the
//! log (a truncated report is still a report, marked so). Also its: reports quoted in Python
//! literals ([`super::quoted`]), frames of another process interleaved (left out by their
//! numbering), per-process sanitizer log files appended after `::matrix::
//! event=sanitizer-log`; the canaries stage's reports are dropped. State is bounded: one open
//! report with at most [`MAX_FRAMES`] frames a stack.

use std::sync::OnceLock;

use memchr::memmem;

use crate::stage::Stage;

use super::quoted::quoted_reports;
use super::regrtest::{is_regrtest_progress, regrtest_test};
use super::signature::{is_own_legacy, is_site, location, parse_frame, tree_path, Frame};

/// Frames kept of a report's first stack at most. The stack is read up to its third own frame
/// (all that a signature, a finding and a cause use); the frames after it are only counted as
/// report lines, so a log of many long reports costs little more than reading it.
pub const MAX_FRAMES: usize = 64;
/// Own (CPython) frames a signature takes.
const OWN_FRAMES: u8 = 3;
/// Consecutive lines that are no report's (not indented, no frame) that end an open report.
const MAX_IDLE: u32 = 12;

/// One report as found in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReport {
    /// `AddressSanitizer`, `HWAddressSanitizer`, `LeakSanitizer`, `MemorySanitizer`,
    /// `ThreadSanitizer`, `UndefinedBehaviorSanitizer`, or `Python` (a fatal error).
    pub tool: String,
    /// `heap-use-after-free`, `data race`, `tag-mismatch`, `Aborted`, ...
    pub kind: String,
    /// The first access line, without addresses: `READ of size 8`, `Write of size 8`.
    pub access: Option<String>,
    pub stack: Vec<Frame>,
    /// A TSan data race's previous access (`Previous write of size 8 … by thread T2:`): its
    /// frames up to its first site; empty for any other report.
    pub previous: Vec<Frame>,
    /// The first stack as read before the rules per class (interleaved frames and all, up to
    /// its third own frame as own was then), when it differs from `stack` (another process's
    /// frames were among its own): what the report's old id is of.
    pub legacy_stack: Option<Vec<Frame>>,
    /// First and last line of the report in its log (1-based).
    pub start: u64,
    pub end: u64,
    pub stage: Option<Stage>,
    /// The regrtest test that was running.
    pub test: Option<String>,
    /// A sanitizer's report that ended before its `SUMMARY:` line: at another header (another
    /// process's output interleaved), the build's own line, a run of foreign lines, or the end
    /// of the log.
    pub truncated: bool,
    /// Another process's frames were seen among its own (and left out of its stacks).
    pub interleaved: bool,
    /// Quoted inside a line of Python text (`AssertionError: b'==1==ERROR: …\n …'`): its lines
    /// are the literal's, unescaped; `start` and `end` are the quoting line.
    pub quoted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `==PID==ERROR: XSanitizer: ...`: ends at `SUMMARY:`.
    Sanitizer,
    /// `WARNING: ThreadSanitizer: ...`: ends at `SUMMARY:`.
    ThreadWarning,
    /// `file:line:col: runtime error: ...` and the frames right after it.
    Ubsan,
    /// `Fatal Python error: ...` with faulthandler's tracebacks.
    Fatal,
}

#[derive(Debug)]
struct Open {
    report: RawReport,
    family: Family,
    /// 0: no frame yet, 1: in the first stack, 2: the first stack is over.
    stack_state: u8,
    /// Own frames in the stack so far.
    own: u8,
    /// Whether the first stack has its first site yet ([`super::signature::is_site`]).
    site: bool,
    /// A TSan race's previous stack: 0 not begun, 1 reading it, 2 done.
    previous_state: u8,
    idle: u32,
    /// Read from a per-process sanitizer log file: no run of foreign lines ends it.
    in_file: bool,
    /// The number the next frame of the stack being read has (`#0`, `#1`, …).
    next_frame: u32,
    /// Whether another process's frames were seen among its own.
    interleaved: bool,
    /// [`Open::stack_state`] and [`Open::own`] as they were before interleaving was known:
    /// what [`RawReport::legacy_stack`] is read with.
    legacy_state: u8,
    legacy_own: u8,
}

/// The line-by-line recognizer of one log.
#[derive(Debug, Default)]
pub struct Recognizer {
    open: Option<Open>,
    /// The last regrtest progress line, kept as read: its test is named only when a report
    /// opens (a log has thousands of progress lines and few reports).
    test_line: Vec<u8>,
    /// In the canaries stage (`::matrix:: event=stage-start stage=canaries`): the reports there
    /// are deliberate, never findings, and are not emitted.
    in_canaries: bool,
    /// In a per-process sanitizer log file appended after `::matrix:: event=sanitizer-log`.
    in_file: bool,
    /// The last stage a line was in: the stage of a sanitizer log file's reports.
    last_stage: Option<Stage>,
}

impl Open {
    /// Whether faulthandler's open report goes on with this line (its threads' headers and
    /// indented frames), taking the first stack's Python frames.
    #[inline]
    fn fatal_line(&mut self, line_no: u64, raw: &[u8], trimmed: &[u8]) -> bool {
        let text = String::from_utf8_lossy(trimmed);
        let indented = raw.first().is_some_and(|b| b.is_ascii_whitespace());
        let known = [
            "Current thread",
            "Thread 0x",
            "Extension modules:",
            "Python runtime state:",
            "Current thread's C stack",
            "Stack (most recent call first)",
            "Garbage-collecting",
            "<Cannot show all threads",
        ]
        .iter()
        .any(|p| text.starts_with(p));
        if !(indented || known) {
            return false;
        }
        if let Some(frame) = python_frame(&text) {
            if self.stack_state < 2 {
                self.stack_state = 1;
                if self.report.stack.len() < MAX_FRAMES {
                    self.report.stack.push(frame);
                }
            }
        } else if self.stack_state == 1 {
            // Anything but a frame (another thread's header) ends the first stack.
            self.stack_state = 2;
        }
        self.report.end = line_no;
        true
    }

    /// A line that is no frame ends the stack being read: the first, or a race's previous.
    fn stack_ended(&mut self) {
        if self.stack_state == 1 {
            self.stack_state = 2;
        }
        if self.legacy_state == 1 {
            self.legacy_state = 2;
        }
        if self.previous_state == 1 && !self.report.previous.is_empty() {
            self.previous_state = 2;
        }
    }

    /// Whether a `#N` line is a frame of the report: the first stack's frames are kept up to
    /// its third own frame and its first site, a race's previous stack's up to its first site.
    /// Frames past those (or past the cap) are only counted as report lines: parsing them
    /// would cost most of the time of a log full of reports. A stack's frames are numbered
    /// from `#0` on: a frame that does not continue the numbering of the stack being read is
    /// another process's, interleaved (after a `fork`, two reports' lines alternate), and is
    /// only counted.
    fn frame_line(&mut self, line_no: u64, trimmed: &[u8]) -> bool {
        let number = frame_number(trimmed);
        let reading = self.stack_state < 2 || self.previous_state == 1;
        let foreign = reading && number.is_some_and(|n| n != self.next_frame);
        let legacy_wants = self.legacy_wants();
        let mut parsed_once = None;
        if legacy_wants && (foreign || self.report.legacy_stack.is_some()) {
            parsed_once = self.legacy_frame(trimmed);
        }
        if foreign {
            self.interleaved = true;
            self.report.end = line_no;
            return true;
        }
        if reading {
            self.next_frame += 1;
        }
        if self.stack_state == 2 {
            if self.previous_state == 1 {
                self.previous_line(trimmed);
            }
            self.report.end = line_no;
            self.idle = 0;
            return true;
        }
        let r = &mut self.report;
        let wanted = r.stack.len() < MAX_FRAMES && (self.own < OWN_FRAMES || !self.site);
        let parsed = if wanted {
            parsed_once
                .take()
                .unwrap_or_else(|| parse_frame(&String::from_utf8_lossy(trimmed)))
        } else {
            None
        };
        if wanted && parsed.is_none() {
            return false;
        }
        if let Some((_, frame)) = parsed {
            if self.family == Family::Ubsan && self.stack_state == 0 {
                // The frames replace the location-only frame of the header.
                r.stack.clear();
            }
            if legacy_wants && r.legacy_stack.is_none() {
                // The old reading took the same frame.
                self.legacy_state = 1;
                self.legacy_own += u8::from(is_own_legacy(&frame));
            }
            self.stack_state = 1;
            self.own += u8::from(frame.is_own());
            self.site |= is_site(&frame);
            r.stack.push(frame);
        }
        r.end = line_no;
        self.idle = 0;
        true
    }

    /// Whether the first stack as read before the rules per class (every `#N` line up to its
    /// third own frame, interleaved or not) takes the next frame.
    fn legacy_wants(&self) -> bool {
        let taken = self
            .report
            .legacy_stack
            .as_ref()
            .unwrap_or(&self.report.stack)
            .len();
        self.legacy_state < 2 && taken < MAX_FRAMES && self.legacy_own < OWN_FRAMES
    }

    /// A frame the old reading takes and this one does not (another process's): from here on
    /// the old reading is a stack of its own, [`RawReport::legacy_stack`], up to then the same
    /// as the first stack. Returns the frame as parsed.
    fn legacy_frame(&mut self, trimmed: &[u8]) -> Option<Option<(u32, Frame)>> {
        let parsed = parse_frame(&String::from_utf8_lossy(trimmed));
        let stack = &self.report.stack;
        let legacy = self
            .report
            .legacy_stack
            .get_or_insert_with(|| stack.clone());
        if let Some((_, frame)) = &parsed {
            if self.family == Family::Ubsan && self.legacy_state == 0 {
                legacy.clear();
            }
            self.legacy_state = 1;
            self.legacy_own += u8::from(is_own_legacy(frame));
            legacy.push(frame.clone());
        }
        Some(parsed)
    }

    /// A frame line of a race's previous stack: kept up to the stack's first site.
    fn previous_line(&mut self, trimmed: &[u8]) {
        let previous = &mut self.report.previous;
        if previous.len() >= MAX_FRAMES {
            return;
        }
        if let Some((_, frame)) = parse_frame(&String::from_utf8_lossy(trimmed)) {
            let site = is_site(&frame);
            previous.push(frame);
            if site {
                self.previous_state = 2;
            }
        }
    }

    /// Whether a sanitizer's open report goes on with this line: indented or `==` lines, its
    /// SUMMARY, and a little unindented prose when report lines follow it.
    #[inline]
    fn sanitizer_line(&mut self, line_no: u64, raw: &[u8], trimmed: &[u8]) -> bool {
        if trimmed.starts_with(b"SUMMARY: ") {
            self.report.end = line_no;
            // The report is complete: nothing after it is its.
            self.idle = u32::MAX;
            return true;
        }
        if self.idle == u32::MAX {
            return false;
        }
        if self.report.access.is_none() {
            self.report.access = access(&String::from_utf8_lossy(trimmed));
        }
        let indented = raw.first().is_some_and(|b| b.is_ascii_whitespace());
        if indented || raw.starts_with(b"==") || raw.starts_with(b"=>") {
            self.idle = 0;
            self.report.end = line_no;
        } else {
            // Unindented prose (`freed by thread T0 here:`) belongs to the report only
            // if report lines follow it.
            self.idle += 1;
            if self.idle > MAX_IDLE && !self.in_file {
                return false;
            }
        }
        true
    }
}

impl Recognizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next line (its number, the stage the log is in, its bytes without the
    /// newline); `emit` gets each report that ends.
    pub fn line(
        &mut self,
        line_no: u64,
        stage: Option<Stage>,
        raw: &[u8],
        emit: &mut dyn FnMut(RawReport),
    ) {
        self.line_marked(line_no, stage, raw, true, emit);
    }

    /// [`Recognizer::line`] for a reader that searched its buffer at once: `marked` false says
    /// the line holds no `Sanitizer`, `Fatal Python error: ` nor `: runtime error:`, so no
    /// header is looked for. Progress lines (`[ 3/9] test_x`) and markers (`::matrix::`) are
    /// known by their first byte.
    // Inlined: most lines are none of a header, a progress line or a report's, and are
    // passed over here without a call.
    #[inline]
    pub fn line_marked(
        &mut self,
        line_no: u64,
        stage: Option<Stage>,
        raw: &[u8],
        marked: bool,
        emit: &mut dyn FnMut(RawReport),
    ) {
        // Headers hold a searched phrase; regrtest's progress lines start with a digit or `[`.
        let maybe_progress = matches!(raw.first(), Some(b'0'..=b'9' | b'['));
        if !marked && !maybe_progress && self.open.is_none() && raw.first() != Some(&b':') {
            return;
        }
        self.line_looked_at(line_no, stage, raw, marked, maybe_progress, emit);
    }

    #[inline(never)]
    fn line_looked_at(
        &mut self,
        line_no: u64,
        stage: Option<Stage>,
        raw: &[u8],
        marked: bool,
        maybe_progress: bool,
        emit: &mut dyn FnMut(RawReport),
    ) {
        if stage.is_some() {
            self.last_stage = stage;
        }
        let stage = if self.in_file { self.last_stage } else { stage };
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let trimmed = raw.trim_ascii_start();
        if let Some(header) = header(trimmed, marked) {
            self.close(emit);
            self.open = Some(self.opened(header, line_no, stage));
            return;
        }
        if marked && !self.in_canaries {
            self.quoted(line_no, stage, raw, emit);
        }
        if maybe_progress && is_regrtest_progress(raw) {
            self.close(emit);
            self.test_line.clear();
            self.test_line.extend_from_slice(raw);
            return;
        }
        if let Some(rest) = raw.strip_prefix(b"::matrix:: ") {
            self.close(emit);
            self.marker(rest);
            return;
        }
        if self.open.is_none() {
            return;
        }
        if raw.starts_with(b"+ ") && !self.in_file {
            self.close(emit);
            return;
        }
        if self.continue_open(line_no, raw, trimmed) {
            return;
        }
        self.close(emit);
    }

    /// The report a header opens.
    fn opened(&self, header: Header, line_no: u64, stage: Option<Stage>) -> Open {
        let (tool, kind, family, ub_location) = header;
        Open {
            report: RawReport {
                tool,
                kind,
                access: None,
                legacy_stack: None,
                stack: ub_location.into_iter().collect(),
                previous: Vec::new(),
                start: line_no,
                end: line_no,
                stage,
                // A log file's process has no regrtest context of its own.
                test: if self.in_file {
                    None
                } else {
                    regrtest_test(&self.test_line)
                },
                truncated: false,
                interleaved: false,
                quoted: false,
            },
            family,
            stack_state: 0,
            own: 0,
            site: false,
            previous_state: 0,
            idle: 0,
            in_file: self.in_file,
            next_frame: 0,
            interleaved: false,
            legacy_state: 0,
            legacy_own: 0,
        }
    }

    /// A marker line: the canaries stage begins or ends; a sanitizer log file begins; any
    /// other marker ends a log file.
    fn marker(&mut self, rest: &[u8]) {
        let text = String::from_utf8_lossy(rest);
        let mut event = None;
        let mut stage = None;
        for field in text.split_ascii_whitespace() {
            match field.split_once('=') {
                Some(("event", v)) => event = Some(v),
                Some(("stage", v)) => stage = Some(v),
                _ => {}
            }
        }
        self.in_file = event == Some("sanitizer-log");
        match event {
            Some("stage-start") => self.in_canaries = stage == Some("canaries"),
            Some("stage-end") if stage == Some("canaries") => self.in_canaries = false,
            _ => {}
        }
    }

    /// Reports quoted in Python text on this line (`b'==1==ERROR: …\n    #0 …'`): each literal
    /// that begins with a header is unescaped and read as lines of their own; its reports are
    /// emitted at once, as reports of this line.
    fn quoted(
        &self,
        line_no: u64,
        stage: Option<Stage>,
        raw: &[u8],
        emit: &mut dyn FnMut(RawReport),
    ) {
        for body in quoted_reports(raw) {
            let mut inner = Recognizer::new();
            let mut found = Vec::new();
            for line in body.split(|&b| b == b'\n') {
                inner.line(line_no, None, line, &mut |r| found.push(r));
            }
            inner.finish(&mut |r| found.push(r));
            for mut report in found {
                report.stage = stage;
                report.test = regrtest_test(&self.test_line);
                report.quoted = true;
                emit(report);
            }
        }
    }

    /// Whether the open report goes on with this line (and takes what it says).
    fn continue_open(&mut self, line_no: u64, raw: &[u8], trimmed: &[u8]) -> bool {
        let Some(open) = self.open.as_mut() else {
            return false;
        };
        if trimmed.is_empty() {
            open.stack_ended();
            // A UBSan report is its line and the frames right after it.
            return open.family != Family::Ubsan;
        }
        if trimmed.starts_with(b"#")
            && trimmed.get(1).is_some_and(u8::is_ascii_digit)
            && open.frame_line(line_no, trimmed)
        {
            return true;
        }
        // Any other line ends a sanitizer's first stack (and a race's previous one);
        // faulthandler's frames are not `#N`.
        if open.family != Family::Fatal {
            open.stack_ended();
        }
        if open.previous_state == 0
            && open.stack_state == 2
            && trimmed.starts_with(b"Previous ")
            && open.family == Family::ThreadWarning
            && open.report.kind == "data race"
        {
            open.previous_state = 1;
            open.next_frame = 0;
        }
        match open.family {
            Family::Ubsan => false,
            Family::Fatal => open.fatal_line(line_no, raw, trimmed),
            Family::Sanitizer | Family::ThreadWarning => open.sanitizer_line(line_no, raw, trimmed),
        }
    }

    /// Ends the open report: emitted, unless it is a canary's.
    fn close(&mut self, emit: &mut dyn FnMut(RawReport)) {
        if let Some(mut open) = self.open.take() {
            if self.in_canaries {
                return;
            }
            let summarized = open.idle == u32::MAX;
            open.report.truncated =
                matches!(open.family, Family::Sanitizer | Family::ThreadWarning) && !summarized;
            open.report.interleaved = open.interleaved;
            emit(open.report);
        }
    }

    /// The end of the log: a report still open is a report (it was cut short).
    pub fn finish(mut self, emit: &mut dyn FnMut(RawReport)) {
        self.close(emit);
    }
}

type Header = (String, String, Family, Option<Frame>);

/// The report a line begins, if it is a header: tool, kind, family and (UBSan) the location.
fn header(line: &[u8], marked: bool) -> Option<Header> {
    if line.starts_with(b"==") {
        // `==PID==ERROR: AddressSanitizer: kind ...` (MSan: `==PID==WARNING: ...`).
        let rest = &line[2..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let rest = rest[digits..].strip_prefix(b"==")?;
        if digits == 0 {
            return None;
        }
        let rest = rest
            .strip_prefix(b"ERROR: ")
            .or_else(|| rest.strip_prefix(b"WARNING: "))?;
        let text = String::from_utf8_lossy(rest);
        let (tool, message) = text.split_once(": ")?;
        if !tool.ends_with("Sanitizer") || tool.contains(' ') {
            return None;
        }
        return Some((tool.to_owned(), kind_of(message), Family::Sanitizer, None));
    }
    if let Some(rest) = line.strip_prefix(b"WARNING: ThreadSanitizer: ") {
        let text = String::from_utf8_lossy(rest);
        let message = text.split(" (pid=").next().unwrap_or(&text);
        return Some((
            "ThreadSanitizer".into(),
            kind_of(message),
            Family::ThreadWarning,
            None,
        ));
    }
    if let Some(rest) = line.strip_prefix(b"Fatal Python error: ") {
        let text = String::from_utf8_lossy(rest);
        return Some(("Python".into(), fatal_kind(&text), Family::Fatal, None));
    }
    if !marked {
        return None;
    }
    static RUNTIME_ERROR: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    let at = RUNTIME_ERROR
        .get_or_init(|| memmem::Finder::new(b": runtime error: "))
        .find(line)?;
    let text = String::from_utf8_lossy(line);
    let (place, message) = text.split_at(at);
    let message = &message[": runtime error: ".len()..];
    // `file:line:col` with no space: a compiler's location, not prose that quotes one.
    if place.contains(' ') || !place.contains(':') {
        return None;
    }
    let (file, line_no) = location(place);
    Some((
        "UndefinedBehaviorSanitizer".into(),
        ubsan_kind(message),
        Family::Ubsan,
        Some(Frame {
            function: String::new(),
            file,
            line: line_no,
        }),
    ))
}

/// The number of a frame line (`#12 …` → 12), if it is one.
fn frame_number(trimmed: &[u8]) -> Option<u32> {
    let rest = trimmed.strip_prefix(b"#")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 6 || rest.get(digits) != Some(&b' ') {
        return None;
    }
    Some(
        rest[..digits]
            .iter()
            .fold(0, |n, b| n * 10 + u32::from(b - b'0')),
    )
}

/// A report's kind from its header message: the words before the first that carries an
/// address, number or location (`heap-use-after-free on address 0x..` → `heap-use-after-free`,
/// `SEGV on unknown address` → `SEGV`, `out of memory: allocator is ...` → `out of memory`).
fn kind_of(message: &str) -> String {
    let mut words = Vec::new();
    for word in message.split_whitespace() {
        if matches!(word, "on" | "at" | "in" | "from")
            || word.starts_with('(')
            || word.bytes().any(|b| b.is_ascii_digit())
        {
            break;
        }
        let (word, colon) = match word.strip_suffix(':') {
            Some(w) => (w, true),
            None => (word, false),
        };
        words.push(word);
        if colon {
            break;
        }
    }
    let kind = words.join(" ");
    if kind.is_empty() {
        "unknown".into()
    } else {
        kind
    }
}

/// UBSan's message without its values: `signed integer overflow: 2147483647 + 1 cannot ...`
/// → `signed integer overflow`; `index 5 out of bounds for type 'int [4]'` → `index N out of
/// bounds for type 'int [N]'`.
fn ubsan_kind(message: &str) -> String {
    if let Some((head, _)) = message.split_once(": ") {
        return head.trim().to_owned();
    }
    numbers_out(message.trim())
}

/// A fatal error's message without addresses and numbers (`_PyMem_DebugRawFree: bad ID:
/// Allocated using API 'm', verified using API 'r'` stays; `0x7f..` becomes `N`).
fn fatal_kind(message: &str) -> String {
    numbers_out(message.trim())
}

/// Runs of digits (and `0x` hex numbers) become `N`.
fn numbers_out(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            if c == '0' && chars.peek() == Some(&'x') {
                chars.next();
                while chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    chars.next();
                }
            } else {
                while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                    chars.next();
                }
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    out
}

/// The access line's words before the address: `READ of size 8 at 0x.. thread T0` →
/// `READ of size 8`; TSan's `Write of size 8 at 0x.. by thread T8:` → `Write of size 8`.
fn access(text: &str) -> Option<String> {
    let words = [
        "READ of size",
        "WRITE of size",
        "Read of size",
        "Write of size",
        "Atomic read of size",
        "Atomic write of size",
    ];
    if !words.iter().any(|w| text.starts_with(w)) {
        return None;
    }
    let cut = text.find(" at ").unwrap_or(text.len());
    Some(text[..cut].to_owned())
}

/// faulthandler's `  File "/src/Python-3.12.4/Lib/x.py", line 12 in func` (after trimming).
fn python_frame(text: &str) -> Option<Frame> {
    let rest = text.strip_prefix("File \"")?;
    let (path, rest) = rest.split_once('"')?;
    let rest = rest.strip_prefix(", line ")?;
    let (line, function) = rest.split_once(" in ")?;
    Some(Frame {
        function: function.trim().to_owned(),
        file: tree_path(path),
        line: line.trim().parse().ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reports(text: &str) -> Vec<RawReport> {
        let mut out = Vec::new();
        let mut r = Recognizer::new();
        for (i, line) in text.lines().enumerate() {
            r.line(i as u64 + 1, None, line.as_bytes(), &mut |rep| {
                out.push(rep)
            });
        }
        r.finish(&mut |rep| out.push(rep));
        out
    }

    /// AddressSanitizer's documented report (clang docs, "AddressSanitizer" page), with a
    /// regrtest line before it and the build's next command after it.
    const ASAN: &str = "\
0:00:01 load avg: 1.0 [ 3/9] test_capi
=================================================================
==9442==ERROR: AddressSanitizer: heap-use-after-free on address 0x60700000dfb5 at pc 0x45917b bp 0x7fff4490c700 sp 0x7fff4490c6f8
READ of size 1 at 0x60700000dfb5 thread T0
    #0 0x45917a in main /src/Python-3.13.5/Programs/use-after-free.c:5:10
    #1 0x7fce9f25e76c in __libc_start_main /build/libc/csu/libc-start.c:226

0x60700000dfb5 is located 5 bytes inside of 80-byte region [0x60700000dfb0,0x60700000e000)
freed by thread T0 here:
    #0 0x4441ee in __interceptor_free projects/compiler-rt/lib/asan/asan_malloc_linux.cc:64
    #1 0x45914a in main /src/Python-3.13.5/Programs/use-after-free.c:4:3

SUMMARY: AddressSanitizer: heap-use-after-free use-after-free.c:5:10 in main
==9442==ABORTING
+ echo done
";

    #[test]
    fn asan_report() {
        let r = reports(ASAN);
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!(r.tool, "AddressSanitizer");
        assert_eq!(r.kind, "heap-use-after-free");
        assert_eq!(r.access.as_deref(), Some("READ of size 1"));
        assert_eq!((r.start, r.end), (3, 13));
        assert_eq!(r.stack.len(), 2, "only the first stack");
        assert_eq!(r.stack[0].function, "main");
        assert_eq!(r.stack[0].file, "Programs/use-after-free.c");
        assert_eq!(r.test.as_deref(), Some("test_capi"));
    }

    #[test]
    fn tsan_reports_and_their_ends() {
        let text = "\
==================
WARNING: ThreadSanitizer: data race (pid=12097)
  Write of size 8 at 0x000000b18fb8 by thread T8:
    #0 PyThread_acquire_lock_timed /src/Python-3.12.4/Python/thread_pthread.h (python+0x8b25fe)
    #1 acquire_timed /src/Python-3.12.4/./Modules/_threadmodule.c:96:13 (python+0x97a0f2)

  Previous write of size 8 at 0x000000b18fb8 by main thread:
    #0 PyThread_acquire_lock_timed /src/Python-3.12.4/Python/thread_pthread.h (python+0x8b25fe)

SUMMARY: ThreadSanitizer: data race /src/Python-3.12.4/Python/thread_pthread.h in PyThread_acquire_lock_timed
==================
==================
WARNING: ThreadSanitizer: thread leak (pid=1)
  Thread T1 (tid=2, finished) created by main thread at:
    #0 pthread_create <null> (python+0x1)
    #1 do_start_joinable_thread /src/Python-3.12.4/Python/thread_pthread.h:290:14 (python+0x2)
WARNING: ThreadSanitizer: heap-use-after-free (pid=1)
  Read of size 8 at 0x7b0c00000000 by thread T2:
    #0 take_gil /src/Python-3.12.4/Python/ceval_gil.c:301:9 (python+0x3)";
        let r = reports(text);
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].kind.as_str(), r[0].start, r[0].end),
            ("data race", 2, 10)
        );
        assert_eq!(r[0].access.as_deref(), Some("Write of size 8"));
        assert_eq!(r[0].stack.len(), 2);
        assert_eq!(r[1].kind, "thread leak");
        // The third header ends the second report, which had no SUMMARY.
        assert_eq!((r[1].start, r[1].end), (13, 16));
        assert_eq!(r[1].stack[1].function, "do_start_joinable_thread");
        // Truncated at the end of the log: still a report.
        assert_eq!(
            (r[2].kind.as_str(), r[2].start, r[2].end),
            ("heap-use-after-free", 17, 19)
        );
    }

    #[test]
    fn kinds_from_headers() {
        let kinds: Vec<String> = reports(
            "==25==ERROR: HWAddressSanitizer: BUS on unknown address (pc 0x32bc bp 0xffff T25)\n\
             ==9297==ERROR: HWAddressSanitizer: tag-mismatch on address 0xeead at pc 0xffff\n\
             ==1==ERROR: LeakSanitizer: detected memory leaks\n\
             ==2==WARNING: MemorySanitizer: use-of-uninitialized-value\n\
             ==12529==ERROR: ThreadSanitizer: out of memory: allocator is trying to allocate 0xf5 bytes\n\
             ==12097==ERROR: ThreadSanitizer: requested allocation size 0xbafc exceeds maximum supported size\n\
             Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using API 'm', verified using API 'r'\n\
             Fatal Python error: Aborted\n",
        )
        .into_iter()
        .map(|r| format!("{} {}", r.tool, r.kind))
        .collect();
        assert_eq!(
            kinds,
            [
                "HWAddressSanitizer BUS",
                "HWAddressSanitizer tag-mismatch",
                "LeakSanitizer detected memory leaks",
                "MemorySanitizer use-of-uninitialized-value",
                "ThreadSanitizer out of memory",
                "ThreadSanitizer requested allocation size",
                "Python _PyMem_DebugRawFree: bad ID: Allocated using API 'm', verified using API 'r'",
                "Python Aborted",
            ]
        );
    }

    #[test]
    fn ubsan_one_report_per_line_with_optional_stack() {
        let text = "\
Objects/longobject.c:123:5: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'
/src/Python-3.12.4/Modules/_ctypes/cfield.c:48:9: runtime error: index 5 out of bounds for type 'int [4]'
    #0 0x55 in PyCField_FromDesc /src/Python-3.12.4/Modules/_ctypes/cfield.c:48:9
    #1 0x56 in PyCStructType_setfields /src/Python-3.12.4/Modules/_ctypes/stgdict.c:300:1
SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior Modules/_ctypes/cfield.c:48:9 in
it printed: x: runtime error: in prose
";
        let r = reports(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].kind, "signed integer overflow");
        assert_eq!(r[0].stack[0].file, "Objects/longobject.c");
        assert_eq!(r[0].stack[0].line, Some(123));
        assert_eq!(r[1].kind, "index N out of bounds for type 'int [N]'");
        assert_eq!(r[1].stack[0].function, "PyCField_FromDesc");
        assert_eq!((r[1].start, r[1].end), (2, 4));
    }

    #[test]
    fn fatal_python_error_with_traceback() {
        let text = "\
Fatal Python error: Segmentation fault

Current thread 0x00007f0e (most recent call first):
  File \"/src/Python-3.13.5/Lib/test/test_capi/test_misc.py\", line 97 in test_crash
  File \"/src/Python-3.13.5/Lib/unittest/case.py\", line 606 in _callTestMethod

Thread 0x00007f0f (most recent call first):
  File \"/src/Python-3.13.5/Lib/threading.py\", line 359 in wait

Extension modules: _testcapi (total: 1)
./build.sh: line 24:  8441 Segmentation fault      ./python -m test
";
        let r = reports(text);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].kind, "Segmentation fault");
        assert_eq!((r[0].start, r[0].end), (1, 10));
        let names: Vec<&str> = r[0].stack.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(names, ["test_crash", "_callTestMethod"]);
        assert_eq!(r[0].stack[0].file, "Lib/test/test_capi/test_misc.py");
    }

    #[test]
    fn headers_not_at_a_line_start_and_crlf() {
        // Prose that quotes a header in no literal is no report.
        assert!(reports("it said ==9297==ERROR: HWAddressSanitizer: tag-mismatch").is_empty());
        let r = reports("==1==ERROR: AddressSanitizer: SEGV on unknown address\r\n    #0 0x1 in f /src/Python-3.12.4/a.c:1\r\n");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].stack[0].file, "a.c");
        assert!(r[0].truncated, "no SUMMARY");
    }

    #[test]
    fn a_report_quoted_in_a_bytes_literal_is_one_report_of_its_line() {
        let text = "\
0:00:01 load avg: 1.0 [ 3/9] test_faulthandler
AssertionError: b'==9297==ERROR: HWAddressSanitizer: tag-mismatch on address 0xeead at pc 0xffff\\nWRITE of size 25224 at 0xeead tags: 52/00 (ptr/mem) in thread T0\\n    #0 0xffff8ae33534 in memset (/lib64/libhwasan.so.0+0x33534)\\n    #1 0x561de8 in _PyMem_DebugRawFree Objects/obmalloc.c:2162\\n    #2 0x562160 in _PyMem_DebugFree Objects/obmalloc.c:2296\\n\\nSUMMARY: HWAddressSanitizer: tag-mismatch\\n' != b''
+ echo done
";
        let r = reports(text);
        assert_eq!(r.len(), 1, "{r:?}");
        let r = &r[0];
        assert!(r.quoted && !r.truncated);
        assert_eq!((r.start, r.end), (2, 2));
        assert_eq!(
            (r.tool.as_str(), r.kind.as_str()),
            ("HWAddressSanitizer", "tag-mismatch")
        );
        assert_eq!(r.access.as_deref(), Some("WRITE of size 25224"));
        assert_eq!(r.stack[1].function, "_PyMem_DebugRawFree");
        assert_eq!(r.test.as_deref(), Some("test_faulthandler"));
    }

    const RACE: &str = "\
WARNING: ThreadSanitizer: data race (pid=15538)
  Write of size 8 at 0x72440000add0 by main thread:
    #0 free <null> (python+0x5d8653) (BuildId: d314)
    #1 _PyMem_RawFree /src/Python-3.12.4/Objects/obmalloc.c:73:5 (python+0x473f75)
    #2 PyMem_RawFree /src/Python-3.12.4/Objects/obmalloc.c:685:5 (python+0x474018)
    #3 free_threadstate /src/Python-3.12.4/Python/pystate.c:1317:9 (python+0x6751c2)
    #4 _PyThreadState_DeleteExcept /src/Python-3.12.4/Python/pystate.c:1685:9 (python+0x6751c2)

  Previous read of size 8 at 0x72440000add0 by thread T10:
    #0 _PyThreadState_MustExit /src/Python-3.12.4/Python/pystate.c:3049:64 (python+0x477e9b)
    #1 take_gil /src/Python-3.12.4/Python/ceval_gil.c:346:9 (python+0x5cb38e)

  Thread T10 (tid=15560, running) created by thread T9 at:
    #0 pthread_create <null> (python+0x2b1bcf)
    #1 do_start_joinable_thread /src/Python-3.12.4/Python/thread_pthread.h:290:14 (python+0x70a81e)

SUMMARY: ThreadSanitizer: data race /src/Python-3.12.4/Objects/obmalloc.c:73:5 in _PyMem_RawFree
";

    #[test]
    fn a_race_keeps_its_previous_access_up_to_its_first_site() {
        let r = reports(RACE);
        assert_eq!(r.len(), 1);
        let names = |s: &[Frame]| s.iter().map(|f| f.function.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&r[0].stack),
            // Up to its third own frame and its first site (the allocator is plumbing).
            [
                "free",
                "_PyMem_RawFree",
                "PyMem_RawFree",
                "free_threadstate"
            ]
        );
        assert_eq!(names(&r[0].previous), ["_PyThreadState_MustExit"]);
        assert!(!r[0].truncated);
        // A race with no `Previous` stanza (cut short) has none, and no other report does.
        let cut: String = RACE.lines().take(7).map(|l| format!("{l}\n")).collect();
        let r = reports(&cut);
        assert!(r[0].previous.is_empty() && r[0].truncated);
        assert!(reports(ASAN)[0].previous.is_empty());
    }

    #[test]
    fn another_processs_frames_interleaved_are_left_out() {
        // After a fork, two processes' reports alternate line by line (amd64 corpus).
        let text = "\
WARNING: ThreadSanitizer: data race (pid=14907)
    #78 PyEval_EvalCode Python/ceval.c:578 (python+0x389900)
  Write of size 8 at 0x5593ba189760 by main thread:
    #79 builtin_exec_impl Python/bltinmodule.c:1096 (python+0x3648a7)
    #0 get_allocator_unlocked Objects/obmalloc.c:538 (python+0x281121)
    #81 cfunction_vectorcall_FASTCALL_KEYWORDS Objects/methodobject.c:438 (python+0x27665c)
    #1 set_up_debug_hooks_domain_unlocked Objects/obmalloc.c:475 (python+0x281394)

  Previous read of size 8 at 0x5593ba189760 by thread T1:
    #12 _PyEval_Vector Python/ceval.c:1683 (python+0x637d56)
    #0 PyMem_RawMalloc Objects/obmalloc.c:662 (python+0x1)
    #1 new_threadstate Python/pystate.c:1400 (python+0x2)

SUMMARY: ThreadSanitizer: data race
";
        let r = reports(text);
        assert_eq!(r.len(), 1);
        let names = |s: &[Frame]| s.iter().map(|f| f.function.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&r[0].stack),
            [
                "get_allocator_unlocked",
                "set_up_debug_hooks_domain_unlocked"
            ]
        );
        assert_eq!(
            names(&r[0].previous),
            ["PyMem_RawMalloc", "new_threadstate"]
        );
        assert!(r[0].interleaved && !r[0].truncated);
        assert!(!reports(RACE)[0].interleaved);
    }

    fn stage_reports(lines: &[(&str, Option<Stage>)]) -> Vec<RawReport> {
        let mut out = Vec::new();
        let mut r = Recognizer::new();
        for (i, (line, stage)) in lines.iter().enumerate() {
            let marked = line.contains("Sanitizer");
            r.line_marked(i as u64 + 1, *stage, line.as_bytes(), marked, &mut |rep| {
                out.push(rep)
            });
        }
        r.finish(&mut |rep| out.push(rep));
        out
    }

    #[test]
    fn canary_reports_are_never_emitted() {
        let t = Some(Stage::Tests);
        let asan = "==7==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1";
        let frame = "    #0 0x1 in main /src/Python-3.13.5/Programs/canary.c:3";
        let r = stage_reports(&[
            ("::matrix:: event=stage-start stage=canaries time=T", None),
            (asan, None),
            (frame, None),
            (
                "::matrix:: event=canary name=heap-overflow-small result=seen time=T",
                None,
            ),
            (
                "==8==ERROR: AddressSanitizer: SEGV on unknown address",
                None,
            ),
            (
                "::matrix:: event=stage-end stage=canaries status=0 time=T",
                None,
            ),
            ("::matrix:: event=stage-start stage=tests time=T", t),
            (asan, t),
            (
                "    #0 0x1 in list_append /src/Python-3.13.5/Objects/listobject.c:3",
                t,
            ),
        ]);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!((r[0].start, r[0].stage), (8, t));
        // A canaries stage cut short ends at the next stage's start.
        let r = stage_reports(&[
            ("::matrix:: event=stage-start stage=canaries time=T", None),
            (asan, None),
            ("::matrix:: event=stage-start stage=tests time=T", t),
            (asan, t),
        ]);
        assert_eq!(r.iter().map(|r| r.start).collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn a_sanitizer_log_file_is_read_whole_in_the_last_stage() {
        let t = Some(Stage::Tests);
        let mut lines = vec![
            ("::matrix:: event=stage-start stage=tests time=T", t),
            ("0:00:01 load avg: 1.0 [ 3/9] test_capi", t),
            (
                "::matrix:: event=stage-end stage=tests status=1 time=T",
                None,
            ),
            (
                "::matrix:: event=sanitizer-log file=asan.12345 time=T",
                None,
            ),
            (
                "==12345==ERROR: AddressSanitizer: heap-use-after-free on address 0x1",
                None,
            ),
            ("READ of size 8 at 0x1 thread T0", None),
            (
                "    #0 0x1 in list_dealloc /src/Python-3.13.5/Objects/listobject.c:3",
                None,
            ),
        ];
        // More unindented lines than end a report in the log itself.
        lines.extend(std::iter::repeat_n(("freed by thread T0 here:", None), 20));
        lines.push(("    #0 0x1 in free /usr/lib/libasan.so", None));
        lines.push(("SUMMARY: AddressSanitizer: heap-use-after-free", None));
        lines.push((
            "::matrix:: event=sanitizer-log file=asan.12346 time=T",
            None,
        ));
        lines.push((
            "==12346==ERROR: AddressSanitizer: SEGV on unknown address",
            None,
        ));
        lines.push(("::matrix:: event=finish stage=tests status=1 time=T", None));
        let r = stage_reports(&lines);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!((r[0].start, r[0].end, r[0].stage), (5, 29, t));
        assert_eq!(r[0].test, None, "a log file has no regrtest context");
        assert!(!r[0].truncated);
        assert_eq!((r[1].start, r[1].stage, r[1].truncated), (31, t, true));
    }
}

#[cfg(test)]
#[path = "recognize_properties.rs"]
mod properties;
