//! Recognising reports in a log, one line at a time: the sanitizers' (ASan, HWASan, LSan,
//! MSan, TSan, UBSan) and CPython's own `Fatal Python error`, where each begins and ends, its
//! tool, kind, access and first stack, and the regrtest test that was running.
//!
//! Every header line starts exactly one report; a report ends at its `SUMMARY:` line, at the
//! next header, at a line that is plainly the build's own (a regrtest progress line, a `set -x`
//! trace, a `::matrix::` marker), after a run of lines that are no report's, or at the end of the
//! log (a truncated report is still a report). State is bounded: one open report with at most
//! [`MAX_FRAMES`] frames.

use std::sync::OnceLock;

use memchr::memmem;

use crate::stage::Stage;

use super::regrtest::{is_regrtest_progress, regrtest_test};
use super::signature::{location, parse_frame, tree_path, Frame};

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
    /// First and last line of the report in its log (1-based).
    pub start: u64,
    pub end: u64,
    pub stage: Option<Stage>,
    /// The regrtest test that was running.
    pub test: Option<String>,
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
    idle: u32,
}

/// The line-by-line recognizer of one log.
#[derive(Debug, Default)]
pub struct Recognizer {
    open: Option<Open>,
    /// The last regrtest progress line, kept as read: its test is named only when a report
    /// opens (a log has thousands of progress lines and few reports).
    test_line: Vec<u8>,
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
            if self.idle > MAX_IDLE {
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
    /// header is looked for. Progress lines (`[ 3/9] test_x`) are known by their first byte.
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
        if !marked && !maybe_progress && self.open.is_none() {
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
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let trimmed = raw.trim_ascii_start();
        if let Some((tool, kind, family, ub_location)) = header(trimmed, marked) {
            self.close(emit);
            let mut stack = Vec::new();
            if let Some(frame) = ub_location {
                stack.push(frame);
            }
            self.open = Some(Open {
                report: RawReport {
                    tool,
                    kind,
                    access: None,
                    stack,
                    start: line_no,
                    end: line_no,
                    stage,
                    test: regrtest_test(&self.test_line),
                },
                family,
                stack_state: 0,
                own: 0,
                idle: 0,
            });
            return;
        }
        if maybe_progress && is_regrtest_progress(raw) {
            self.close(emit);
            self.test_line.clear();
            self.test_line.extend_from_slice(raw);
            return;
        }
        if self.open.is_none() {
            return;
        }
        if raw.starts_with(b"+ ") || raw.starts_with(b"::matrix:: ") {
            self.close(emit);
            return;
        }
        if self.continue_open(line_no, raw, trimmed) {
            return;
        }
        self.close(emit);
    }

    /// Whether the open report goes on with this line (and takes what it says).
    fn continue_open(&mut self, line_no: u64, raw: &[u8], trimmed: &[u8]) -> bool {
        let Some(open) = self.open.as_mut() else {
            return false;
        };
        let r = &mut open.report;
        if trimmed.is_empty() {
            if open.stack_state == 1 {
                open.stack_state = 2;
            }
            // A UBSan report is its line and the frames right after it.
            return open.family != Family::Ubsan;
        }
        if trimmed.starts_with(b"#") && trimmed.get(1).is_some_and(u8::is_ascii_digit) {
            // Frames past the first stack (or past the cap) are only counted as report lines:
            // parsing them would cost most of the time of a log full of reports.
            let wanted =
                open.stack_state < 2 && r.stack.len() < MAX_FRAMES && open.own < OWN_FRAMES;
            let parsed = if wanted {
                parse_frame(&String::from_utf8_lossy(trimmed))
            } else {
                None
            };
            if !wanted || parsed.is_some() {
                if let Some((_, frame)) = parsed {
                    if open.family == Family::Ubsan && open.stack_state == 0 {
                        // The frames replace the location-only frame of the header.
                        r.stack.clear();
                    }
                    open.stack_state = 1;
                    open.own += u8::from(frame.is_own());
                    r.stack.push(frame);
                }
                r.end = line_no;
                open.idle = 0;
                return true;
            }
        }
        // Any other line ends a sanitizer's first stack; faulthandler's frames are not `#N`.
        if open.stack_state == 1 && open.family != Family::Fatal {
            open.stack_state = 2;
        }
        match open.family {
            Family::Ubsan => false,
            Family::Fatal => open.fatal_line(line_no, raw, trimmed),
            Family::Sanitizer | Family::ThreadWarning => open.sanitizer_line(line_no, raw, trimmed),
        }
    }

    fn close(&mut self, emit: &mut dyn FnMut(RawReport)) {
        if let Some(open) = self.open.take() {
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
        // Quoted inside an assertion message: not a report of this log.
        assert!(
            reports("AssertionError: b'==9297==ERROR: HWAddressSanitizer: tag-mismatch'")
                .is_empty()
        );
        let r = reports("==1==ERROR: AddressSanitizer: SEGV on unknown address\r\n    #0 0x1 in f /src/Python-3.12.4/a.c:1\r\n");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].stack[0].file, "a.c");
    }
}

#[cfg(test)]
#[path = "recognize_properties.rs"]
mod properties;
