//! `matrix report` end to end on synthetic logs written by these tests: every outcome kind in
//! both log styles (our markers, the original's traces), every layout (flat, zipped, gzipped,
//! Argo with `.tgz`), retries, an index with a missing cell, and broken logs.

use std::fs;
use std::io::Write;
use std::path::Path;

use predicates::prelude::*;

use crate::common::matrix;

/// A log of the original experiment's scripts (`set -x` trace, no markers).
fn legacy(script: &str, body: &str) -> String {
    format!(
        "+ set -e\n+ cat /etc/os-release\nNAME=\"Fedora Linux\"\n+ export CC=gcc\n+ CC=gcc\n\
         + cd /src/Python-3.12.4\n+ set +e\n{body}"
    )
    .replace("SCRIPT", script)
}

const CONFIGURE: &str = "+ ./configure --with-pydebug\nchecking build system type... x86_64-pc-linux-gnu\nchecking for gcc... gcc\n";
const MAKE: &str = "+ make\ngcc -c -O2 -o Objects/abstract.o Objects/abstract.c\ngcc -o python Programs/python.o\n";
const TESTS: &str = "+ ./python -m test -uall\n== CPython 3.12.4\nUsing random seed: 1\n0:00:00 load avg: 1.00 Run 3 tests sequentially\n0:00:00 load avg: 1.00 [1/3] test_grammar\n0:00:01 load avg: 1.00 [2/3] test_os\n";

fn marker(event: &str) -> String {
    format!("::matrix:: {event} time=2026-01-01T00:00:00Z\n")
}

/// A log of our own rendered script, which ends in `stage` with `status`.
fn ours(cell: &str, stage: &str, status: i32, stage_output: &str) -> String {
    let mut log = marker("event=stage-start stage=setup");
    log.push_str("NAME=\"Ubuntu\"\n");
    log.push_str(&marker("event=stage-end stage=setup status=0"));
    for s in ["configure", "compile", "tests"] {
        log.push_str(&marker(&format!("event=stage-start stage={s}")));
        if s == stage {
            log.push_str(stage_output);
            log.push_str(&marker(&format!(
                "event=stage-end stage={s} status={status}"
            )));
            break;
        }
        log.push_str(&marker(&format!("event=stage-end stage={s} status=0")));
    }
    log.push_str(&marker(&format!(
        "event=finish cell={cell} stage={stage} status={status}"
    )));
    log
}

fn zip_file(path: &Path, member: &str, text: &str) {
    let file = fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(member, options).unwrap();
    zip.write_all(text.as_bytes()).unwrap();
    zip.finish().unwrap();
}

fn gz_file(path: &Path, text: &str) {
    let mut gz = flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), Default::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

fn tgz_file(path: &Path, member: &str, text: &str) {
    let gz = flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), Default::default());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, member, text.as_bytes())
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
}

/// Legacy logs of every outcome kind, keyed by script; the expected result of each.
fn legacy_cases() -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("build_001", legacy("build_001", &format!("{CONFIGURE}./SCRIPT.sh: line 26:    25 Segmentation fault      ./configure --with-pydebug\n+ cat config.log\ncat: config.log: No such file or directory\n+ exit 1\n")), "Configure. Segmentation fault"),
        ("build_002", legacy("build_002", &format!("{CONFIGURE}configure: error: C compiler cannot create executables\n+ cat config.log\nconfigure: exit 77\n+ exit 1\n")), "Configure. Failed"),
        ("build_003", legacy("build_003", &format!("{CONFIGURE}checking whether we are cross compiling... Terminated\n")), "Configure. Timeout"),
        ("build_004", legacy("build_004", &format!("{CONFIGURE}./SCRIPT.sh: line 26:    31 Killed                  ./configure\n+ exit 1\n")), "Configure. OOM"),
        ("build_005", legacy("build_005", &format!("{CONFIGURE}{MAKE}Objects/longobject.c:10:5: error: expected ';'\nmake: *** [Makefile:2: Objects/longobject.o] Error 1\n+ ./python -m test -uall\n./SCRIPT.sh: line 27: ./python: No such file or directory\n")), "Compilation. Failed"),
        ("build_006", legacy("build_006", &format!("{CONFIGURE}{MAKE}Segmentation fault (core dumped)\nmake[2]: *** [Makefile:9: Python/frozen_modules/abc.h] Error 139\nmake[1]: *** [Makefile:8: profile-gen-stamp] Error 2\nmake: *** [Makefile:7: profile-run-stamp] Error 2\n+ ./python -m test -uall\n./SCRIPT.sh: line 27: ./python: No such file or directory\n")), "Compilation. Segmentation fault"),
        ("build_007", legacy("build_007", &format!("{CONFIGURE}{MAKE}gcc: internal compiler error: Aborted signal terminated program cc1\nmake: *** [Makefile:3: Python/ceval.o] Error 4\n")), "Compilation. Aborted"),
        ("build_008", legacy("build_008", &format!("{CONFIGURE}{MAKE}gcc: fatal error: Killed signal terminated program cc1\ncompilation terminated.\nmake: *** [Makefile:3: Python/ceval.o] Error 1\n")), "Compilation. OOM"),
        ("build_009", legacy("build_009", &format!("{CONFIGURE}{MAKE}gcc -c -O2 -o Python/ceval.o Python/ceval.c\n")), "Compilation. Timeout"),
        ("build_018", legacy("build_018", &format!("{CONFIGURE}{MAKE}Checked 111 modules (31 built-in, 71 shared)\n+ rsync -aR --include '*.sarif' / /sarif-data/\n")), "Compilation. Passed"),
        ("build_010", legacy("build_010", &format!("{CONFIGURE}{MAKE}{TESTS}0:00:05 load avg: 1.00 [3/3] test_sys\n\nTotal duration: 6 sec\nTotal tests: run=30\nTotal test files: run=3/3\nResult: SUCCESS\n")), "Tests. Passed"),
        ("build_011", legacy("build_011", &format!("{CONFIGURE}{MAKE}{TESTS}test test_os failed -- Traceback (most recent call last):\nAssertionError: 1 != 2\n0:00:05 load avg: 1.00 [3/3/1] test_sys\n\n== Tests result: FAILURE ==\n\nTotal duration: 6 sec\nResult: FAILURE\n")), "Tests. Failed"),
        ("build_012", legacy("build_012", &format!("{CONFIGURE}{MAKE}{TESTS}")), "Tests. Timeout"),
        ("build_013", legacy("build_013", &format!("{CONFIGURE}{MAKE}{TESTS}Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):\n  File \"x.py\", line 1 in f\n./SCRIPT.sh: line 28:  4242 Segmentation fault      (core dumped) ./python -m test -uall\n")), "Tests. Segmentation fault"),
        ("build_014", legacy("build_014", &format!("{CONFIGURE}{MAKE}{TESTS}python: Objects/typeobject.c:1: f: Assertion `x' failed.\nFatal Python error: Aborted\n./SCRIPT.sh: line 28:  4242 Aborted                 ./python -m test -uall\n")), "Tests. Aborted"),
        ("build_015", legacy("build_015", &format!("{CONFIGURE}{MAKE}{TESTS}==77==ERROR: ThreadSanitizer: requested allocation size exceeds maximum\n==77==HINT: if you don't care about these errors you may set allocator_may_return_null=1\nSUMMARY: ThreadSanitizer: out-of-memory (python+0x1) in realloc\n")), "Tests. OOM"),
        ("build_016", legacy("build_016", &format!("{CONFIGURE}{MAKE}{TESTS}==9==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\nSUMMARY: AddressSanitizer: heap-use-after-free Objects/a.c:1 in f\n==9==ABORTING\n")), "Tests. Failed"),
        ("build_017", legacy("build_017", &format!("{CONFIGURE}{MAKE}{TESTS}./SCRIPT.sh: line 28:  4242 Killed                  ./python -m test -uall\n")), "Tests. OOM"),
    ]
}

fn write_corpus(dir: &Path) {
    for (script, text, _) in legacy_cases() {
        fs::write(dir.join(format!("{script}-1.sh.txt")), text).unwrap();
    }
    // A retried cell: the second attempt decides; the first is zipped like the original's.
    let first = legacy("build_020", &format!("{CONFIGURE}{MAKE}{TESTS}"));
    zip_file(
        &dir.join("build_020-1.sh.txt.zip"),
        "build_020-1.sh.txt",
        &first,
    );
    let second = legacy(
        "build_020",
        &format!("{CONFIGURE}{MAKE}{TESTS}Result: FAILURE then SUCCESS\n"),
    );
    zip_file(
        &dir.join("build_020-2.sh.txt.zip"),
        "build_020-2.sh.txt",
        &second,
    );
    // Broken logs.
    fs::write(dir.join("build_030-1.sh.txt"), "").unwrap();
    let mut garbage = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    garbage.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    fs::write(dir.join("build_031-1.sh.txt"), garbage).unwrap();
    let cut = legacy(
        "build_032",
        &format!("{CONFIGURE}{MAKE}{TESTS}0:00:02 load avg: 1.00 [3/3] test_s"),
    );
    fs::write(dir.join("build_032-1.sh.txt"), cut).unwrap();
    // Not a log: ignored.
    fs::write(dir.join("notes.csv"), "a,b\n").unwrap();
}

fn index(dir: &Path) -> std::path::PathBuf {
    let mut csv = String::from("script_name,compiler,sanitizer\n");
    for n in 1..=18 {
        let compiler = if n % 2 == 0 { "gcc" } else { "clang" };
        csv.push_str(&format!("build_{n:03}.sh,{compiler},asan\n"));
    }
    for n in [20, 30, 31, 32, 40] {
        csv.push_str(&format!("build_{n:03}.sh,gcc,tsan\n"));
    }
    let path = dir.join("index.csv");
    fs::write(&path, csv).unwrap();
    path
}

fn rows(csv: &[u8]) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(csv)
        .records()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn legacy_logs_of_every_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    write_corpus(&logs);
    let index = index(tmp.path());
    let out = matrix()
        .args([
            "report",
            logs.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--format",
            "csv",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.starts_with(
            "key,compiler,sanitizer,result,stage,outcome,attempts,flaky,log,evidence,\
             cause,cause_evidence,failed_tests,failed_count,canaries,blind,seconds,stage_seconds,\
             tests_run,tests_failed,tests_skipped,compiler_version,source_id\n"
        ),
        "{text}"
    );
    let rows = rows(&out);
    let get = |key: &str| {
        rows.iter()
            .find(|r| &r[0] == key)
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .clone()
    };
    for (script, _, expected) in legacy_cases() {
        let row = get(&format!("{script}.sh"));
        assert_eq!(&row[3], expected, "{script}: {row:?}");
        assert!(!row[9].is_empty(), "{script} has evidence");
    }
    let retried = get("build_020.sh");
    assert_eq!((&retried[3], &retried[6]), ("Tests. Passed", "2"));
    // Passed after a timeout, and regrtest passed only on its re-run: flaky twice over.
    assert_eq!(
        &retried[7],
        "earlier attempts: Tests. Timeout; regrtest: FAILURE then SUCCESS"
    );
    assert_eq!(&retried[8], "build_020-2.sh.txt.zip!build_020-2.sh.txt");
    assert_eq!(&get("build_030.sh")[3], "Unknown");
    assert!(get("build_030.sh")[9].contains("empty"));
    assert_eq!(&get("build_031.sh")[3], "Unknown");
    assert!(
        get("build_031.sh")[9].contains("not a text log"),
        "{:?}",
        get("build_031.sh")
    );
    assert_eq!(&get("build_032.sh")[3], "Unknown");
    assert!(get("build_032.sh")[9].contains("truncated"));
    let missing = get("build_040.sh");
    assert_eq!(
        (&missing[3], &missing[6], &missing[8]),
        ("Missing", "0", "")
    );
    // The index's order, every index cell once.
    assert_eq!(rows.len(), 23);
    assert_eq!(&rows[0][0], "build_001.sh");

    // Same input, same bytes.
    let again = matrix()
        .args([
            "report",
            logs.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--format",
            "csv",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, again);
}

/// The pods of workflow `wf` as `argo` lays out their logs: plain, gzipped and tarred, one per
/// outcome, an artifact beside a log, a pod killed mid-stage, an analyzer cell, and a log
/// that names no cell.
fn write_argo_pods(wf: &Path) {
    let pod = |name: &str| {
        let dir = wf.join(name);
        fs::create_dir_all(&dir).unwrap();
        dir
    };
    let passed = ours(
        "amd64-f40-py3.12.4-gcc-debug",
        "tests",
        0,
        "== CPython 3.12.4\nResult: SUCCESS\n",
    );
    fs::write(pod("matrix-x7k2p-1").join("main.log"), passed).unwrap();
    let child_segv = ours(
        "amd64-f40-py3.12.4-gcc-asan-shared-default",
        "tests",
        2,
        "0:01:00 load avg: 1.0 [ 7/9/1] test_ctypes -- test_capi failed (Exit code -11 (SIGSEGV))\n== Tests result: FAILURE ==\n",
    );
    gz_file(&pod("matrix-x7k2p-2").join("main.log.gz"), &child_segv);
    // An artifact archive beside the log holds no log: it is not read as one.
    tgz_file(
        &pod("matrix-x7k2p-2").join("sarif-data.tgz"),
        "src/Python-3.12.4/x.c.sarif",
        "{}",
    );
    let make_segv = ours(
        "amd64-u24.04-py3.13.0b4-clang-release",
        "compile",
        2,
        "Segmentation fault\nmake[2]: *** [Makefile:1: Python/frozen_modules/abc.h] Error 139\nmake: *** [Makefile:2: all] Error 2\n",
    );
    tgz_file(
        &pod("matrix-x7k2p-3").join("main.log.tgz"),
        "main.log",
        &make_segv,
    );
    let configure = ours(
        "amd64-f40-py3.13.0b4-gcc-no-gil",
        "configure",
        1,
        "configure: error: no\nconfigure failed with status 1; config.log follows\n",
    );
    fs::write(pod("matrix-x7k2p-4").join("main.log"), configure).unwrap();
    let oom = ours(
        "amd64-f40-py3.13.0b4-gcc-tsan-shared-default",
        "tests",
        137,
        "0:00:01 [1/9] test_a\n",
    );
    fs::write(pod("matrix-x7k2p-5").join("main.log"), oom).unwrap();
    let deadline = ours(
        "amd64-f40-py3.12.4-clang-default",
        "tests",
        143,
        "0:00:01 [1/9] test_a\n",
    );
    fs::write(pod("matrix-x7k2p-6").join("main.log"), deadline).unwrap();
    // A pod killed while running the tests: no finish marker; `env` named the cell.
    let mut killed = marker("event=stage-start stage=setup");
    killed.push_str("HOME=/root\nMATRIX_CELL=amd64-f40-py3.13.0b4-clang-debug\n");
    killed.push_str(&marker("event=stage-end stage=setup status=0"));
    killed.push_str(&marker("event=stage-start stage=configure"));
    killed.push_str(&marker("event=stage-end stage=configure status=0"));
    killed.push_str(&marker("event=stage-start stage=tests"));
    killed.push_str("0:00:01 load avg: 1.0 [1/9] test_a\n");
    fs::write(pod("matrix-x7k2p-7").join("main.log"), killed).unwrap();
    // An analyzer cell: no tests, artifacts collected.
    let mut analyzer = ours("amd64-f40-py3.12.4-gcc-analyzer-default", "compile", 0, "");
    analyzer = analyzer.replace(
        "::matrix:: event=finish",
        "::matrix:: event=stage-skip stage=tests time=t\n::matrix:: event=finish",
    );
    fs::write(pod("matrix-x7k2p-8").join("main.log"), analyzer).unwrap();
    // Without a finish marker or the cell in the environment, the pod's directory names it.
    let mut anonymous = marker("event=stage-start stage=compile");
    anonymous.push_str("gcc -c x.c\n");
    fs::write(pod("matrix-x7k2p-9").join("main.log"), anonymous).unwrap();
}

/// A whole workflow's logs downloaded as one archive: each pod's directory names its log.
fn write_workflow_archive(path: &Path) {
    let gz = flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), Default::default());
    let mut tar = tar::Builder::new(gz);
    for pod in ["matrix-q1-1", "matrix-q1-2"] {
        let text = marker("event=stage-start stage=configure") + "checking x... Terminated\n";
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("matrix-q1/{pod}/main.log"),
            text.as_bytes(),
        )
        .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
fn marker_logs_in_argo_layout() {
    let tmp = tempfile::tempdir().unwrap();
    write_argo_pods(&tmp.path().join("logs/matrix-x7k2p"));
    write_workflow_archive(&tmp.path().join("logs/download.tgz"));
    // The logs were just written: `--finished` says the run is over, so a log that stops
    // inside a stage is of a killed pod, not of a running cell.
    let out = matrix()
        .args([
            "report",
            tmp.path().join("logs").to_str().unwrap(),
            "--finished",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let cells = json["cells"].as_array().unwrap();
    let result = |key: &str| {
        cells
            .iter()
            .find(|c| c["key"] == key)
            .unwrap_or_else(|| panic!("{key} in {json:#}"))["result"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(result("amd64-f40-py3.12.4-gcc-debug"), "Tests. Passed");
    assert_eq!(
        result("amd64-f40-py3.12.4-gcc-asan-shared-default"),
        "Tests. Segmentation fault"
    );
    assert_eq!(
        result("amd64-u24.04-py3.13.0b4-clang-release"),
        "Compilation. Segmentation fault"
    );
    assert_eq!(
        result("amd64-f40-py3.13.0b4-gcc-no-gil"),
        "Configure. Failed"
    );
    assert_eq!(
        result("amd64-f40-py3.13.0b4-gcc-tsan-shared-default"),
        "Tests. OOM"
    );
    assert_eq!(result("amd64-f40-py3.12.4-clang-default"), "Tests. Timeout");
    assert_eq!(result("amd64-f40-py3.13.0b4-clang-debug"), "Tests. Timeout");
    assert_eq!(
        result("amd64-f40-py3.12.4-gcc-analyzer-default"),
        "Compilation. Passed"
    );
    assert_eq!(result("matrix-x7k2p-9"), "Compilation. Timeout");
    assert_eq!(result("matrix-q1-1"), "Configure. Timeout");
    assert_eq!(result("matrix-q1-2"), "Configure. Timeout");
    assert_eq!(json["logs"], 11);
    let evidence = &cells
        .iter()
        .find(|c| c["key"] == "amd64-f40-py3.12.4-gcc-asan-shared-default")
        .unwrap()["evidence"];
    assert!(
        evidence["text"].as_str().unwrap().contains("SIGSEGV"),
        "{evidence}"
    );
    assert!(evidence["line"].as_u64().unwrap() > 1);
}

#[test]
fn table_pivot_chart_and_page() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    write_corpus(&logs);
    let index = index(tmp.path());
    let chart = tmp.path().join("chart.svg");
    let html = tmp.path().join("report.html");
    let adoc = tmp.path().join("report.adoc");
    let out = matrix()
        .args([
            "report",
            logs.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
        ])
        .args(["--format", "table", "--by", "compiler,sanitizer"])
        .args([
            "--chart",
            chart.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ])
        .args([
            "--adoc",
            adoc.to_str().unwrap(),
            "--title",
            "Synthetic <run>",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(out).unwrap();
    assert!(table.contains("Tests. Segmentation fault"), "{table}");
    assert!(
        table.contains("Total") && table.contains("compiler  sanitizer"),
        "{table}"
    );
    let svg = fs::read_to_string(&chart).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("Missing") && svg.contains("Synthetic &lt;run&gt;")
    );
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("By compiler, sanitizer"));
    assert!(page.contains("Synthetic &lt;run&gt;") && !page.contains("<run>"));
    let doc = fs::read_to_string(&adoc).unwrap();
    // Every value literal (AsciiDoc's pass:c escapes only <, > and &).
    assert!(
        doc.starts_with("= pass:c[Synthetic <run>]") && doc.contains("|`pass:c[build_013.sh]`")
    );
    let json = matrix()
        .args([
            "report",
            logs.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
        ])
        .args(["--format", "json", "--by", "sanitizer"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["pivot"]["by"][0], "sanitizer");
    let total: u64 = json["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 23);
}

#[test]
fn csv_shape_is_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    write_corpus(&logs);
    let index = index(tmp.path());
    let out = matrix()
        .args([
            "report",
            logs.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--format",
            "csv",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn bad_arguments_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    write_corpus(&logs);
    let index = index(tmp.path());
    let l = logs.to_str().unwrap();
    matrix()
        .args(["report", tmp.path().join("nope").to_str().unwrap()])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("error: cannot read log directory"));
    matrix()
        .args(["report", l, "--by", "compiler"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("--by needs --index"));
    matrix()
        .args([
            "report",
            l,
            "--index",
            index.to_str().unwrap(),
            "--by",
            "os",
        ])
        .assert()
        .failure()
        .stdout("")
        .stderr(
            predicate::str::contains("no column \"os\"")
                .and(predicate::str::contains("compiler, sanitizer")),
        );
    let png = tmp.path().join("c.png");
    matrix()
        .args(["report", l, "--chart", png.to_str().unwrap()])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("PNG"));
    assert!(!png.exists());
    let bad_index = tmp.path().join("bad.csv");
    fs::write(&bad_index, "name,compiler\nx,gcc\n").unwrap();
    matrix()
        .args(["report", l, "--index", bad_index.to_str().unwrap()])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("bad.csv").and(predicate::str::contains("script_name")));
}
