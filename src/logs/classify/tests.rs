//! The classifier on small logs: markers, legacy traces, each outcome's evidence.

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
    let cut = format!("{M} event=stage-start stage=tests time=t\n0:00:01 [ 1/9] test_a\n0:00:0");
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
    let rerun = "+ ./configure\n+ make\n+ ./python -m test -uall\nResult: FAILURE then SUCCESS\n";
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

proptest::proptest! {
    /// Passing over the lines [`LOOKED_AT`] leaves out changes nothing: a classifier that
    /// reads every line classifies the same.
    #[test]
    fn lines_passed_over_change_nothing(
        lines in proptest::collection::vec(
            "(\\+ (\\./configure|make|\\./python -m test)|make(\\[1\\])?: \\*\\*\\* \\[x\\] Error 1[0-9]{2}|make\\[1\\]: Entering directory|(gcc|clang|cc|ccache|/usr/bin/gcc) -c x\\.c|checking for x\\.\\.\\. (yes|Terminated)|Result: (SUCCESS|FAILURE)|(== )?Tests result: (SUCCESS|FAILURE)|Timeout \\(0:01:00\\)!|configure: error: x|MATRIX_CELL=c|== CPython 3|::matrix:: event=(stage-start|stage-end|finish) stage=(configure|compile|tests|x) status=[0-9]{1,3} cell=c|[0-9]:[0-9]{2}:[0-9]{2} \\[ ?[0-9]/9\\] test_x|[ -~]{0,30})\\r?",
            0..40,
        ),
    ) {
        let mut quick = Classifier::new();
        let mut every = Classifier::new();
        for line in &lines {
            let has_phrase = phrases().is_match(line.as_bytes());
            quick.feed_flagged(line.as_bytes(), has_phrase);
            every.lines += 1;
            every.feed_looked_at(line.as_bytes(), has_phrase);
            every.push_tail(every.lines, line.as_bytes());
        }
        proptest::prop_assert_eq!(quick.finish(false), every.finish(false));
    }
}

#[test]
fn every_phrase_holds_a_searched_piece() {
    for phrase in PHRASES.iter().map(|(p, _)| *p).chain(OBSERVED) {
        assert!(
            SEARCHED.iter().any(|piece| phrase.contains(piece)),
            "{phrase:?} holds no piece of SEARCHED"
        );
    }
    for piece in SEARCHED {
        // Teddy fingerprints four bytes; a shorter piece would shorten all of them.
        assert!(piece.len() >= 4 && !piece.contains('\n'), "{piece:?}");
    }
}

#[test]
fn canaries_count_in_their_stage_only_and_never_decide() {
    let log = format!(
        "{M} event=stage-start stage=compile time=t\n{M} event=stage-end stage=compile status=0 time=t\n\
         {M} event=stage-start stage=canaries time=t\n\
         ==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n\
         SUMMARY: AddressSanitizer: heap-buffer-overflow\n\
         {M} event=canary name=small result=missed exit=0 time=t\n\
         {M} event=canary name=large result=seen exit=1 time=t\n\
         {M} event=canary name=odd result=bogus exit=1 time=t\n\
         {M} event=canary name= result=seen exit=1 time=t\n\
         {M} event=stage-end stage=canaries status=0 time=t\n\
         {M} event=stage-start stage=tests time=t\n\
         {M} event=canary name=from-a-test result=missed exit=0 time=t\n\
         Result: SUCCESS\n{M} event=stage-end stage=tests status=0 time=t\n\
         {M} event=finish cell=c stage=tests status=0 time=t\n"
    );
    let c = classify(&log);
    let runs: Vec<(&str, CanaryResult)> = c
        .canaries
        .iter()
        .map(|r| (r.name.as_str(), r.result))
        .collect();
    assert_eq!(
        runs,
        [
            ("small", CanaryResult::Missed),
            ("large", CanaryResult::Seen),
            ("odd", CanaryResult::Error),
        ]
    );
    // The canaries' report is no verdict: the tests passed.
    assert_eq!(verdict(&log), "Tests. Passed");
    // Killed while the canaries ran: after the build, before the tests.
    let cut = &log[..log.find("event=canary name=large").unwrap()];
    assert!(
        verdict(cut).contains("while the canaries run"),
        "{}",
        verdict(cut)
    );
}

#[test]
fn a_script_that_fails_before_configure_is_setup_failed_with_its_last_words() {
    let log = format!(
        "{M} event=stage-start stage=setup time=t\n\
         error: CPython main is a branch, which python.org has no tarball of\n\
         {M} event=stage-end stage=setup status=1 time=t\n\
         {M} event=finish cell=amd64-x stage=setup status=1 time=t\n"
    );
    let c = classify(&log);
    assert_eq!(verdict(&log), "Setup. Failed");
    assert!(c
        .evidence
        .unwrap()
        .text
        .starts_with("error: CPython main is a branch"));
    // A deadline in setup is setup's timeout; Ctrl-C there is no result.
    let stopped = log.replace("status=1", "status=143");
    assert_eq!(verdict(&stopped), "Setup. Timeout");
    assert!(verdict(&log.replace("status=1", "status=130")).starts_with("Unknown:"));
}
