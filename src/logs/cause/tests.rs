//! The cause of real and synthetic logs, end to end through [`super::scan`].

use super::text::normalise;
use super::*;
use crate::stage::Stage;

fn why(text: &str) -> (Classification, Why) {
    let (_, c, w) = scan(text.as_bytes());
    (c, w)
}

fn cause(text: &str) -> String {
    why(text).1.cause.map(|c| c.text).unwrap_or_default()
}

const M: &str = "::matrix::";

#[test]
fn config_log_behind_configure_error() {
    let log = format!(
        "{M} event=stage-start stage=configure time=t\n\
         checking whether we are cross compiling... configure: error: in `/tmp/x/Python-3.13.5':\n\
         configure: error: cannot run C compiled programs.\n\
         configure:5460: checking whether we are cross compiling\n\
         configure:5468: ./conftest\n\
         ==250==Your application is linked against incompatible ASan runtimes.\n\
         configure:5472: $? = 1\n\
         configure:5490: error: in `/tmp/x/Python-3.13.5':\n\
         configure:5492: error: cannot run C compiled programs.\n\
         {M} event=stage-end stage=configure status=77 time=t\n\
         {M} event=finish cell=c stage=configure status=77 time=t\n"
    );
    let (_, w) = why(&log);
    let c = w.cause.unwrap();
    assert_eq!(
        c.text,
        "configure: error: cannot run C compiled programs (config.log: Your application is linked against incompatible ASan runtimes.)"
    );
    assert_eq!(c.kind, CauseKind::SanitizerRuntime);
    assert_eq!(c.evidence.line, 3);
}

#[test]
fn report_above_a_failed_make() {
    let log = "+ ./configure\n+ make\n\
        ./python -E ./Tools/build/check_extension_modules.py\n\
        ==10593==ERROR: HWAddressSanitizer: tag-mismatch on address 0xffff856d89c8 at pc 0x72d340\n\
        READ of size 8 at 0xffff856d89c8 tags: 6e/00 (ptr/mem) in thread T0\n\
        \x20   #0 0x72d340 in PyModuleDef_Init /src/Python-3.12.4/Objects/moduleobject.c:44:21\n\
        \x20   #1 0x72e000 in _PyImport_Load /src/Python-3.12.4/Python/import.c:10:2\n\
        SUMMARY: HWAddressSanitizer: tag-mismatch /src/Python-3.12.4/Objects/moduleobject.c:44:21 in PyModuleDef_Init\n\
        make: *** [Makefile:1136: checksharedmods] Error 99\n\
        ==10595==ERROR: HWAddressSanitizer: heap-buffer-overflow on address 0x1\n\
        \x20   #0 0x1 in other /src/Python-3.12.4/Objects/other.c:1:1\n\
        SUMMARY: HWAddressSanitizer: heap-buffer-overflow x\n";
    let (c, w) = why(log);
    assert_eq!(
        c.verdict,
        Verdict::Result {
            stage: Stage::Compilation,
            outcome: Outcome::Failed
        }
    );
    let cause = w.cause.unwrap();
    assert_eq!(
        cause.text,
        "HWAddressSanitizer: tag-mismatch in PyModuleDef_Init (Objects/moduleobject.c) (making checksharedmods)"
    );
    assert_eq!(cause.evidence.line, 4);
    assert!(cause.evidence.text.contains("ERROR: HWAddressSanitizer"));
    assert_eq!(cause.finding.unwrap().len(), 8);
}

#[test]
fn killed_command_and_first_compiler_error() {
    let seg = "+ ./configure\n+ make\n./_bootstrap_python ./Programs/_freeze_module.py abc ./Lib/abc.py Python/frozen_modules/abc.h\nSegmentation fault\nmake: *** [Makefile:1331: Python/frozen_modules/abc.h] Error 139\n";
    assert_eq!(
        cause(seg),
        "Segmentation fault in _bootstrap_python (making Python/frozen_modules/abc.h)"
    );
    let cc = "+ ./configure\n+ make\nObjects/a.c:12:3: error: unknown type name 'foo'\nObjects/b.c:1:1: error: later\nmake: *** [Makefile:3: Objects/a.o] Error 1\n";
    assert_eq!(
        cause(cc),
        "a.c: error: unknown type name 'foo' (making Objects/a.o)"
    );
    let job = "+ set -e\n+ ./configure\n./b.sh: line 26:    25 Segmentation fault      ./configure --with-pydebug\n+ exit 1\n";
    assert_eq!(cause(job), "Segmentation fault in configure");
}

#[test]
fn tests_failed_timeouts_and_passes() {
    let failed = "+ ./configure\n+ make\n+ ./python -m test -uall\n0:00:01 load avg: 1.0 [1/3] test_a\n\n\
        2 tests failed:\n    test.test_gdb.test_backtrace\n    test_capi\n\n1 test altered the execution environment (env changed):\n    test_x\n\nResult: FAILURE\n";
    let (_, w) = why(failed);
    assert_eq!(
        w.failed_tests,
        ["test.test_gdb.test_backtrace", "test_capi"]
    );
    let c = w.cause.unwrap();
    assert_eq!(c.kind, CauseKind::Tests);
    assert_eq!(
        c.text,
        "2 tests failed: test.test_gdb.test_backtrace test_capi"
    );
    assert_eq!(c.evidence.line, 6);
    let hang = "+ ./configure\n+ make\n+ ./python -m test -uall\n0:16:56 load avg: 4.54 [262/489] test_logging\n";
    assert_eq!(cause(hang), "deadline hit while running test_logging");
    let check = "+ ./configure\nchecking whether we are cross compiling... Terminated\n";
    assert_eq!(
        cause(check),
        "deadline hit while checking whether we are cross compiling"
    );
    let pass = "+ ./configure\n+ make\n+ ./python -m test -uall\nResult: SUCCESS\n";
    assert_eq!(why(pass).1.cause, None);
    // A marker or `Result: FAILURE` alone is never a cause.
    let bare = "+ ./configure\n+ make\n+ ./python -m test -uall\nResult: FAILURE\n";
    assert_eq!(why(bare).1.cause, None);
}

#[test]
fn normalise_drops_what_varies() {
    assert_eq!(
        normalise("==12==ERROR: at 0xdead in /src/Python-3.12.4/Objects/a.c:44:21 pid 1234"),
        "ERROR: at in a.c pid"
    );
    assert_eq!(
        normalise(
            "./conftest: error while loading shared libraries: libclang_rt.hwasan.so: cannot open"
        ),
        "conftest: error while loading shared libraries: libclang_rt.hwasan.so: cannot open"
    );
}
