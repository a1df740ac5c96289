//! The phrase tables and line parsers: which lines the classifier looks closer at, and what
//! bash, make, regrtest and the sanitizers' lines say.

use std::sync::{LazyLock, OnceLock};

use memchr::memmem;

use aho_corasick::AhoCorasick;

use super::*;

/// Which known phrase a line holds: the classifier looks closer only at such lines. Phrases
/// that tools print anywhere on a line are searched for ([`PHRASES`]); those that start a line
/// are recognised by their first bytes ([`line_start_phrase`]), which costs nothing per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phrase {
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

pub(super) const PHRASES: [(&str, Phrase); 14] = [
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

/// What readers of the same pass (causes, sanitizer reports) search lines for besides
/// [`PHRASES`]: a line holding none of either is one they pass over without a search of their
/// own. Run once over a whole buffer, this is what makes the pass cost about a read.
/// (regrtest's progress lines, `] test`, are found by their first byte instead: 20,000 matches
/// of a buffer-wide search cost more than a look at the lines that start with a digit or `[`.)
pub const OBSERVED: [&str; 3] = ["error:", "undefined reference", ": runtime error:"];

/// What [`line_finder`] searches a whole buffer for: a piece of each of [`PHRASES`] and
/// [`OBSERVED`], so that a line holding one of those holds a piece and is *marked*; the
/// readers then look for their own phrases in the marked lines. A piece starts where its
/// phrase's bytes are rare in build logs: the search's first step (Teddy) checks every place
/// where a piece's first four bytes may begin, and `inte` (of `internal`, in thousands of
/// compiler flags), `sign`, ` tim`, `unde` and `: ru` made it check over 100,000 places in
/// the arm64 corpus for nothing (a fifth of the search's time). No piece holds a newline, so
/// a line holding a phrase always has a match of the non-overlapping search: one at the
/// phrase's start or one overlapping it, within the line.
pub const SEARCHED: [&str; 17] = [
    "Segmentation fault",
    "Bus error",
    "Aborted",
    "Killed",
    "Terminated",
    "Sanitizer",
    "l compiler error", // internal compiler error
    "nated program",    // signal terminated program
    "unable to execute command",
    "frontend command failed",
    "Fatal Python error: ",
    "Exit code -",
    "ut (", // ` timed out (`
    "==ABORTING",
    "error:",
    "ed reference", // undefined reference
    "ntime error:", // `: runtime error:`
];

/// [`SEARCHED`], in one searcher.
pub fn line_finder() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            // Teddy finds the candidates; a DFA behind it would take a millisecond to build at
            // every start for almost no search time saved.
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(SEARCHED)
            .expect("pieces compile")
    })
}

pub(super) fn phrases() -> &'static AhoCorasick {
    pub(super) static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            // Teddy finds the candidates; a DFA behind it would take a millisecond to build at
            // every start for almost no search time saved.
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(PHRASES.iter().map(|(p, _)| p))
            .expect("phrases compile")
    })
}

/// The part of a regrtest progress line before `] test`: `0:00:03 load avg: 4.04 [  5/478`
/// or `[ 12/478/2`.
pub(super) fn is_progress(before: &[u8]) -> bool {
    let Some(open) = memchr::memrchr(b'[', before) else {
        return false;
    };
    let inside = before[open + 1..].trim_ascii_start();
    let mut parts = inside.split(|&b| b == b'/');
    let first = parts.next().unwrap_or(b"");
    let second = parts.next().unwrap_or(b"");
    !first.is_empty()
        && first.iter().all(u8::is_ascii_digit)
        && !second.is_empty()
        && second.iter().all(u8::is_ascii_digit)
}

// Searchers built once: building one per line costs as much as the search.
static MAKE_ERROR: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b": *** "));
static ENTERING: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"]: Entering directory"));

/// Phrases that begin a line (make's errors, regrtest's progress and verdict, configure's
/// last words, faulthandler's timeout), with where the phrase starts.
#[inline]
pub(super) fn line_start_phrase(raw: &[u8]) -> Option<(Phrase, usize)> {
    match raw.first()? {
        b'm' | b'g' if raw.starts_with(b"make") || raw.starts_with(b"gmake") => {
            MAKE_ERROR.find(raw).map(|at| (Phrase::MakeError, at))
        }
        b'R' if raw.starts_with(b"Result: ") => Some((Phrase::RegrtestResult, 0)),
        b'=' if raw.starts_with(b"== Tests result: ") => Some((Phrase::RegrtestResult, 3)),
        b'T' if raw.starts_with(b"Tests result: ") => Some((Phrase::RegrtestResult, 0)),
        b'T' if raw.starts_with(b"Timeout (") => Some((Phrase::TestTimedOut, 0)),
        b'c' if raw.starts_with(b"configure: ") => Some((Phrase::Configure, 0)),
        b'0'..=b'9' => crate::sanitizer::regrtest::find_test_close(raw)
            .map(|at| (Phrase::RegrtestProgress, at)),
        _ => None,
    }
}

/// Whether a line may move a log without markers to another stage (see `Classifier::trace`).
pub(super) fn may_change_stage(raw: &[u8], traced: bool) -> bool {
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
pub(super) fn is_build_activity(raw: &[u8]) -> bool {
    static GCC: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"gcc"));
    static CLANG: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"clang"));
    match raw.first() {
        Some(b'm') => {
            raw.starts_with(b"make ") || (raw.starts_with(b"make[") && ENTERING.find(raw).is_some())
        }
        Some(b'g') => raw.starts_with(b"gcc "),
        Some(b'c') => {
            raw.starts_with(b"clang ") || raw.starts_with(b"cc ") || raw.starts_with(b"ccache ")
        }
        Some(b'/') => {
            raw.starts_with(b"/usr/bin/") && (GCC.find(raw).is_some() || CLANG.find(raw).is_some())
        }
        _ => false,
    }
}

/// bash's report on a job it waited for: `./build.sh: line 26:  25 Segmentation fault  ./configure`.
pub(crate) fn job_status(text: &str) -> Option<Outcome> {
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
pub(crate) fn bare_signal(text: &str) -> Option<Outcome> {
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
pub(super) fn make_error_outcome(rest: &str) -> Option<Outcome> {
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
pub(super) fn strip_ansi(text: &str) -> std::borrow::Cow<'_, str> {
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
pub(super) fn sanitizer_summary(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("SUMMARY: ")?;
    let (tool, kind) = rest.split_once(": ")?;
    tool.ends_with("Sanitizer").then_some(kind)
}

/// regrtest's verdict line: `Result: FAILURE`, `== Tests result: SUCCESS ==`,
/// `Result: FAILURE then SUCCESS` (the last word after a re-run counts).
pub(super) fn regrtest_result(text: &str) -> Option<Outcome> {
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
pub(super) fn worker_crash(text: &str) -> Option<Outcome> {
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
