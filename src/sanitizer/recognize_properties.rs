//! Property tests of the recognizer: any lines give reports or nothing, never a panic.

use super::*;
use proptest::prelude::*;

proptest! {
    /// Garbage, headers and frames cut anywhere, long lines, CR and NUL bytes: reports or
    /// nothing, never a panic; every report starts at a header and ends at or after it.
    #[test]
    fn any_lines_give_reports_or_nothing(
        lines in proptest::collection::vec(
            prop_oneof![
                proptest::string::string_regex("(==[0-9]{1,5}==(ERROR|WARNING): [A-Za-z]{0,12}Sanitizer: [a-z -]{0,20}|WARNING: ThreadSanitizer: [a-z ]{0,12}( \\(pid=1\\))?|Fatal Python error: .{0,12}|[a-z/.]{0,8}:[0-9]{1,3}:[0-9]: runtime error: .{0,20}| {0,4}#[0-9]{1,2} (0x[0-9a-f]{1,6} in )?[A-Za-z_<(,) ]{0,20} [a-z/.:0-9]{0,20}|  File \"[a-z/]{0,9}\", line [0-9]{1,3} in [a-z]{0,5}|SUMMARY: .{0,10}|x b'==1==ERROR: AddressSanitizer: SEGV[a-z\\\\n #0-9]{0,20}'?|\\[ ?[0-9]/9\\] test_[a-z]{0,4}|\\+ make|.{0,30})\r?").unwrap().prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..60),
            ],
            0..60,
        ),
    ) {
        let mut r = Recognizer::new();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            r.line(i as u64 + 1, None, line, &mut |rep| out.push(rep));
        }
        r.finish(&mut |rep| out.push(rep));
        let mut last_end = 0;
        for rep in &out {
            let line = &lines[rep.start as usize - 1];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            prop_assert!(rep.stack.len() <= MAX_FRAMES && rep.previous.len() <= MAX_FRAMES);
            prop_assert!(rep.end >= rep.start);
            if rep.quoted {
                // Emitted at its line, inside whatever report is open there.
                prop_assert!(rep.start == rep.end && !super::quoted_reports(line).is_empty());
                continue;
            }
            prop_assert!(header(line.trim_ascii_start(), true).is_some());
            prop_assert!(rep.start > last_end);
            last_end = rep.end;
        }
    }
}

#[test]
fn a_long_line_and_a_long_report_stay_bounded() {
    let mut r = Recognizer::new();
    let mut n = 0;
    r.line(
        1,
        None,
        b"==1==ERROR: AddressSanitizer: SEGV on unknown address",
        &mut |_| n += 1,
    );
    for i in 0..10_000u64 {
        r.line(
            i + 2,
            None,
            format!("    #{i} 0x1 in f{i} /usr/lib/a.c:1").as_bytes(),
            &mut |_| n += 1,
        );
    }
    r.line(10_002, None, &vec![b'x'; 1 << 20], &mut |_| n += 1);
    let mut got = Vec::new();
    r.finish(&mut |rep| got.push(rep));
    assert_eq!(n, 0);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].stack.len(), MAX_FRAMES);
}

#[test]
fn the_stack_is_read_up_to_its_third_own_frame() {
    let mut text = String::from("==1==ERROR: AddressSanitizer: SEGV on unknown address\n");
    text.push_str("    #0 0x1 in __asan_memcpy /usr/lib/asan.cpp:1\n");
    for i in 1..40 {
        text.push_str(&format!(
            "    #{i} 0x1 in f{i} /src/Python-3.13.5/Objects/a.c:{i}\n"
        ));
    }
    text.push_str("SUMMARY: AddressSanitizer: SEGV\n");
    let mut r = Vec::new();
    let mut recognizer = Recognizer::new();
    for (i, line) in text.lines().enumerate() {
        recognizer.line(i as u64 + 1, None, line.as_bytes(), &mut |rep| r.push(rep));
    }
    recognizer.finish(&mut |rep| r.push(rep));
    assert_eq!(r.len(), 1);
    let names: Vec<&str> = r[0].stack.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["__asan_memcpy", "f1", "f2", "f3"]);
    // The frames after them are still the report's lines.
    assert_eq!(r[0].end, 42);
}
