//! Recognising and normalising the lines a cause comes from: make's, the compiler's and
//! bash's error lines, a sanitizer runtime's fatal message, a report's short form, and the
//! normal form (no pids, addresses, paths, line numbers or versions) reasons are grouped by.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use memchr::memmem::Finder;

use super::super::Evidence;
use crate::sanitizer::RawReport;

/// Longest cause text kept: more than a log line's evidence (400 characters) and the words
/// around it, so a cause is cut only when its line was; tables fold it, CSV and JSON keep it.
const CAUSE_CHARS: usize = 1000;

pub(super) fn needles() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build([
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
pub(super) static SANITIZER: OnceLock<Finder<'static>> = OnceLock::new();
pub(super) static RUNTIME_ERROR: OnceLock<Finder<'static>> = OnceLock::new();
pub(super) static ERROR: OnceLock<Finder<'static>> = OnceLock::new();
pub(super) static MAKE_ERROR: OnceLock<Finder<'static>> = OnceLock::new();

pub(super) fn finder(
    cell: &'static OnceLock<Finder<'static>>,
    needle: &'static [u8],
) -> &'static Finder<'static> {
    cell.get_or_init(|| Finder::new(needle))
}

pub(super) fn evidence(line: u64, raw: &[u8]) -> Evidence {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(1600)]);
    let text = text.trim_end();
    let text = match text.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    };
    Evidence { line, text }
}

/// A report's cause: `HWAddressSanitizer: tag-mismatch in PyModuleDef_Init
/// (Objects/moduleobject.c)`, `Fatal Python error: Segmentation fault`.
pub(super) fn report_cause(report: &RawReport) -> String {
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
pub(super) fn runtime_fatal(text: &str) -> Option<&str> {
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
pub(super) fn strip_pid(text: &str) -> &str {
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
/// `marked` false: the line holds no `Sanitizer` (see [`super::CauseReader::line`]).
pub(super) fn is_telling(raw: &[u8], marked: bool) -> bool {
    !raw.starts_with(b"configure")
        && (raw.starts_with(b"==")
            || finder(&ERROR, b"error").find(raw).is_some()
            || marked && finder(&SANITIZER, b"Sanitizer").find(raw).is_some())
}

/// `make: *** [Makefile:1136: checksharedmods] Error 99` → `checksharedmods`.
pub(super) fn make_error_target(raw: &[u8]) -> Option<String> {
    if !(raw.starts_with(b"make") || raw.starts_with(b"gmake")) {
        return None; // `gcc ...`: most lines of a build, and long
    }
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
pub(super) fn compiler_error(text: &str) -> Option<String> {
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
pub(super) fn signal_cause(text: &str) -> String {
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

pub(super) fn base_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

pub(super) fn clip(text: &str) -> String {
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
mod properties {
    use crate::logs::cause::scan;
    use crate::logs::{Outcome, Verdict};
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
