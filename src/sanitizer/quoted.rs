//! Sanitizer reports quoted inside Python text: a test that runs a child process and asserts
//! on its stderr prints it as a `bytes` or `str` literal (`AssertionError: b'==10023==ERROR:
//! HWAddressSanitizer: tag-mismatch …\n    #0 …'`). This finds such literals on one line and
//! gives their text unescaped, for the recognizer to read as lines of their own.

use memchr::memmem;

/// The unescaped text of each literal on `line` that begins with a sanitizer's header
/// (`==PID==ERROR: …Sanitizer:`, `==PID==WARNING: …Sanitizer:`, `WARNING: ThreadSanitizer:`).
/// A literal cut short (the line ends before its closing quote) gives what it holds.
pub fn quoted_reports(line: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if memmem::find(line, b"Sanitizer").is_none() {
        return out;
    }
    let mut from = 0;
    while let Some(at) = memchr::memchr2(b'\'', b'"', &line[from..]) {
        let open = from + at;
        let quote = line[open];
        let body = &line[open + 1..];
        if !begins_with_header(body) {
            from = open + 1;
            continue;
        }
        let (text, used) = unescape(body, quote);
        out.push(text);
        from = (open + 1 + used + 1).min(line.len());
    }
    out
}

/// Whether `text` starts as a sanitizer's report header does.
fn begins_with_header(text: &[u8]) -> bool {
    if text.starts_with(b"WARNING: ThreadSanitizer: ") {
        return true;
    }
    let Some(rest) = text.strip_prefix(b"==") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(rest) = rest[digits..].strip_prefix(b"==") else {
        return false;
    };
    digits > 0
        && (rest.starts_with(b"ERROR: ") || rest.starts_with(b"WARNING: "))
        && memmem::find(&rest[..rest.len().min(40)], b"Sanitizer: ").is_some()
}

/// Python's escapes undone in `body` up to the closing `quote` (not included): `\n`, `\t`,
/// `\r`, `\\`, `\'`, `\"`, `\xNN`; any other escape is kept as written. Returns the text and
/// how many bytes of `body` it took.
pub fn unescape(body: &[u8], quote: u8) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == quote {
            return (out, i);
        }
        if b != b'\\' || i + 1 == body.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let next = body[i + 1];
        let simple = match next {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'\\' | b'\'' | b'"' => Some(next),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
        } else if let Some(c) = (next == b'x')
            .then(|| hex_byte(body.get(i + 2..i + 4)))
            .flatten()
        {
            out.push(c);
            i += 4;
        } else {
            out.push(b);
            i += 1;
        }
    }
    (out, body.len())
}

fn hex_byte(digits: Option<&[u8]>) -> Option<u8> {
    let digits = std::str::from_utf8(digits?).ok()?;
    u8::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_bytes_literal_in_an_assertion() {
        let line = br"AssertionError: b'==9297==ERROR: HWAddressSanitizer: tag-mismatch on address 0x1\nWRITE of size 8\n    #0 0x1 in f Objects/a.c:1\n\\x41\'' != b''";
        let found = quoted_reports(line);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0],
            b"==9297==ERROR: HWAddressSanitizer: tag-mismatch on address 0x1\nWRITE of size 8\n    #0 0x1 in f Objects/a.c:1\n\\x41'"
        );
    }

    #[test]
    fn str_literals_cut_short_and_text_that_only_mentions() {
        let cut = b"Error: '==12==ERROR: AddressSanitizer: SEGV on unknown\\n    #0 0x1 in g a.c:2";
        assert_eq!(
            quoted_reports(cut),
            [b"==12==ERROR: AddressSanitizer: SEGV on unknown\n    #0 0x1 in g a.c:2".to_vec()]
        );
        let two = br#"x "WARNING: ThreadSanitizer: data race (pid=1)" y 'WARNING: ThreadSanitizer: thread leak'"#;
        assert_eq!(quoted_reports(two).len(), 2);
        assert!(quoted_reports(b"the 'AddressSanitizer' option").is_empty());
        assert!(quoted_reports(b"'==1==ERROR: no sanitizer here'").is_empty());
        assert_eq!(unescape(b"\\x4", b'\''), (b"\\x4".to_vec(), 3));
        assert_eq!(unescape(b"a\\", b'\''), (b"a\\".to_vec(), 2));
    }

    proptest! {
        /// Any text written as Python writes a bytes literal reads back as it was.
        #[test]
        fn unescape_undoes_python_escapes(text in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut literal = Vec::new();
            for &b in &text {
                match b {
                    b'\n' => literal.extend_from_slice(b"\\n"),
                    b'\t' => literal.extend_from_slice(b"\\t"),
                    b'\r' => literal.extend_from_slice(b"\\r"),
                    b'\\' => literal.extend_from_slice(b"\\\\"),
                    b'\'' => literal.extend_from_slice(b"\\'"),
                    0x20..=0x7e => literal.push(b),
                    _ => literal.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                }
            }
            let used = literal.len();
            literal.extend_from_slice(b"' tail");
            prop_assert_eq!(unescape(&literal, b'\''), (text, used));
        }

        /// Any line: literals or nothing, never a panic.
        #[test]
        fn any_line_gives_literals_or_nothing(line in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = quoted_reports(&line);
            let mut with = b"x b'==1==ERROR: AddressSanitizer: ".to_vec();
            with.extend_from_slice(&line);
            prop_assert!(!quoted_reports(&with).is_empty());
        }
    }
}
