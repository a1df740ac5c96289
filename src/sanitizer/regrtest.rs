//! regrtest's progress lines (`0:00:03 load avg: 1.2 [ 12/480] test_x`): which test is
//! running, for a report's test and a cause's "deadline hit while running".

/// The test regrtest's progress line names: `0:00:03 load avg: 1.2 [ 12/480] test_x`,
/// `[ 37/489/1] test.test_y -- test.test_x failed`.
pub fn regrtest_test(line: &[u8]) -> Option<String> {
    let close = progress_close(line)?;
    let rest = &line[close + 2..];
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let name = String::from_utf8_lossy(&rest[..end]);
    Some(name.trim_end_matches(':').to_owned())
}

/// Whether `line` is a regrtest progress line ([`regrtest_test`] without the name).
pub fn is_regrtest_progress(line: &[u8]) -> bool {
    progress_close(line).is_some()
}

/// Where the first `] test` of `line` is. A look for `]` first: most lines that may be
/// progress lines (those starting with a digit or `[`) hold none, and a substring searcher's
/// set-up costs more than the whole look on a line this short.
pub fn find_test_close(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = memchr::memchr(b']', &line[from..]) {
        let close = from + at;
        if line[close..].starts_with(b"] test") {
            return Some(close);
        }
        from = close + 1;
    }
    None
}

/// Where a progress line's `] test` is: after `[ 12/480` (digits, `/` and spaces).
fn progress_close(line: &[u8]) -> Option<usize> {
    let close = find_test_close(line)?;
    let open = memchr::memrchr(b'[', &line[..close])?;
    let inside = &line[open + 1..close];
    let valid = inside.contains(&b'/')
        && inside
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'/' || *b == b' ');
    valid.then_some(close)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regrtest_progress() {
        assert_eq!(
            regrtest_test(b"0:02:46 load avg: 5.39 [ 37/489/1] test.test_x -- test.test_y failed"),
            Some("test.test_x".into())
        );
        assert_eq!(regrtest_test(b"[1/3] test_os"), Some("test_os".into()));
        assert_eq!(regrtest_test(b"[ci skip] test"), None);
    }
    #[test]
    fn the_first_test_close_of_a_line() {
        assert_eq!(find_test_close(b"[ 1/3] test_x"), Some(5));
        assert_eq!(find_test_close(b"a] b [1/2] tests] test"), Some(9));
        assert_eq!(find_test_close(b"]]] test"), Some(2));
        assert_eq!(find_test_close(b"] tes"), None);
        assert_eq!(find_test_close(b"no bracket"), None);
        assert_eq!(find_test_close(b""), None);
    }

    #[test]
    fn a_progress_line_is_one_with_a_test_name() {
        assert!(is_regrtest_progress(b"[ 12/480] test_x"));
        assert!(!is_regrtest_progress(b"[ci skip] test"));
        assert!(!is_regrtest_progress(b"build ok"));
    }
}
