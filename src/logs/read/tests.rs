use super::*;

#[test]
fn names_that_are_logs() {
    assert_eq!(container_of("build_004-1.sh.txt"), Some(Container::Plain));
    assert_eq!(container_of("build_004-1.sh.txt.zip"), Some(Container::Zip));
    assert_eq!(container_of("main.log"), Some(Container::Plain));
    assert_eq!(container_of("main.log.gz"), Some(Container::Gzip));
    assert_eq!(container_of("main.log.tgz"), Some(Container::TarGz));
    assert_eq!(container_of("labels.csv"), None);
    assert_eq!(container_of("x.sarif.gz"), None);
}

#[test]
fn the_directory_naming_a_log() {
    assert_eq!(parent_of("wf/pod-1/main.log").as_deref(), Some("pod-1"));
    assert_eq!(
        parent_of("argo/wf/wf-build-123/outputs/main-logs/main.log").as_deref(),
        Some("wf-build-123")
    );
    assert_eq!(parent_of("main.log"), None);
}

#[test]
fn long_lines_and_chunk_boundaries() {
    let mut text = "+ ./configure\n".to_string();
    text.push_str(&"x".repeat(200_000));
    text.push_str("\n+ make\nmake: *** [Makefile:1: a] Error 139\n");
    let (bytes, c) = scan(io::Cursor::new(text.as_bytes().to_vec()));
    assert_eq!(bytes, text.len() as u64);
    assert_eq!(
        c.verdict,
        super::super::classify::Verdict::Result {
            stage: super::super::classify::Stage::Compilation,
            outcome: super::super::classify::Outcome::SegmentationFault
        }
    );
    assert_eq!(c.evidence.unwrap().line, 4);
}

use proptest::strategy::Strategy;

proptest::proptest! {
    /// Any bytes, cut anywhere, give a classification and never a panic.
    #[test]
    fn any_bytes_classify(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::string::string_regex("(\\+ (\\./configure|make|\\./python -m test)|make(\\[1\\])?: \\*\\*\\* \\[x\\] Error 1[0-9]{2}|Result: (SUCCESS|FAILURE)|::matrix:: event=(stage-start|stage-end|finish) stage=(configure|compile|tests|x) status=[0-9]{1,3} cell=c|SUMMARY: [A-Za-z]+Sanitizer: [a-z-]+|[0-9]:[0-9]{2}:[0-9]{2} \\[ ?[0-9]/9\\] test_x|.{0,40})").unwrap().prop_map(String::into_bytes),
                proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            ],
            0..40,
        ),
        newline_at_end in proptest::bool::ANY,
    ) {
        let mut bytes = lines.join(&b'\n');
        if newline_at_end {
            bytes.push(b'\n');
        }
        let (n, _) = scan(io::Cursor::new(bytes.clone()));
        proptest::prop_assert_eq!(n, bytes.len() as u64);
    }
}

proptest::proptest! {
    /// Each line's previous non-blank line, whatever the buffer size cuts the log into.
    #[test]
    fn the_previous_line_across_buffers(
        lines in proptest::collection::vec("( |\t|\r|x|yz){0,6}", 0..30),
        size in 1usize..40,
    ) {
        let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        let mut seen = Vec::new();
        let mut buf = vec![0; size];
        scan_with(&mut buf, io::Cursor::new(text.as_bytes()), &mut |_, line| {
            seen.push(String::from_utf8(line.previous().to_vec()).unwrap());
        });
        let mut want = Vec::new();
        let mut last = String::new();
        for line in &lines {
            want.push(last.clone());
            if !line.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty() {
                last = line.clone();
            }
        }
        proptest::prop_assert_eq!(seen, want);
    }
}

#[test]
fn nul_bytes_are_dropped_wherever_they_are() {
    let text = b"+ ./configure\n+ make\nmake: *** [Makefile:1: a] Error 139\n";
    let verdict = |bytes: Vec<u8>| {
        let (n, c) = scan(io::Cursor::new(bytes.clone()));
        assert_eq!(n, bytes.len() as u64);
        c
    };
    let clean = verdict(text.to_vec());
    // One NUL inside a line, a block of NULs at the start, and 4 KiB of them after 8 KiB:
    // the same verdict and evidence, with no NUL in it.
    let mut one = text.to_vec();
    one.insert(30, 0);
    let mut leading = vec![0u8; 5000];
    leading.extend_from_slice(text);
    let mut late = b"+ ./configure\n".to_vec();
    late.extend(std::iter::repeat_n(b'x', 8192));
    late.push(b'\n');
    late.extend(std::iter::repeat_n(0, 4096));
    late.extend_from_slice(b"+ make\nmake: *** [Makefile:1: a] Error 139\n");
    for bytes in [one, leading, late] {
        let c = verdict(bytes);
        assert_eq!(c.verdict, clean.verdict);
        let ev = c.evidence.unwrap();
        assert_eq!(ev.text, clean.evidence.as_ref().unwrap().text);
        assert!(!ev.text.contains('\0'));
    }
    // Only NULs: no text at all, not "binary data".
    match verdict(vec![0; 20_000]).verdict {
        super::super::classify::Verdict::Unknown { reason } => {
            assert_eq!(reason, "empty log")
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn binary_is_more_than_one_counted_control_character_in_twenty() {
    for b in 0u8..=255 {
        let counted = b < 0x20 && ![0, 8, 9, b'\n', 12, b'\r', 27].contains(&b);
        assert_eq!(not_text(&[b; 100]).is_some(), counted, "byte {b}");
    }
    // Across the 255-byte chunks of the count: 410 in 8192 is over one in twenty, 409 not.
    for (controls, binary) in [(410, true), (409, false)] {
        let mut head = vec![b'x'; 8192];
        for i in 0..controls {
            head[i * 19] = 1;
        }
        assert_eq!(
            not_text(&head).is_some(),
            binary,
            "{controls} control characters"
        );
    }
}

#[test]
fn the_last_tail_lines_of_a_buffer() {
    let lines = b"cut\n\xD0\xB0\n\n  \n::matrix:: x\nb\r\nc\n";
    let mut tail = Vec::new();
    // From byte 4 on (the line before it began in an earlier buffer): lines 2..=7.
    last_tail_lines(lines, 4, 7, &mut tail);
    let got: Vec<(u64, &[u8])> = tail.iter().map(|&(n, a, b)| (n, &lines[a..b])).collect();
    assert_eq!(got, vec![(7, &b"c"[..]), (6, b"b\r"), (2, "а".as_bytes())]);
    let many: Vec<u8> = (0..40)
        .flat_map(|i| format!("l{i}\n").into_bytes())
        .collect();
    last_tail_lines(&many, 0, 40, &mut tail);
    assert_eq!(tail.len(), TAIL_LINES);
    assert_eq!((tail[0].0, tail[TAIL_LINES - 1].0), (40, 29));
}

#[test]
fn drop_nuls_keeps_the_rest_in_order() {
    for (input, want) in [
        (&b""[..], &b""[..]),
        (b"\0", b""),
        (b"ab", b"ab"),
        (b"\0a\0\0b\0", b"ab"),
        (b"abc\0", b"abc"),
    ] {
        let mut bytes = input.to_vec();
        let n = drop_nuls(&mut bytes);
        assert_eq!(&bytes[..n], want);
    }
}

#[test]
fn binary_is_not_a_log() {
    let (_, c) = scan(io::Cursor::new(vec![0x1f, 0x8b, 0, 0, 1, 2, 3]));
    match c.verdict {
        super::super::classify::Verdict::Unknown { reason } => {
            assert!(reason.contains("gzip"), "{reason}")
        }
        v => panic!("{v:?}"),
    }
}
