//! `matrix findings` end to end on synthetic logs: signatures deduplicated across cells and
//! versions, the CSV/JSON/table outputs, `--cells`, `--by`, `show`, `--diff` of directories
//! and of saved outputs with `--fail-on-new`, and errors that leave stdout empty.

use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::common::matrix;

pub(crate) fn tsan_race(version: &str, pid: u32) -> String {
    format!(
        "==================\n\
         WARNING: ThreadSanitizer: data race (pid={pid})\n\
         \x20 Write of size 8 at 0x7b0400000010 by thread T1:\n\
         \x20   #0 free <null> (python+0x4a2bb3)\n\
         \x20   #1 _PyMem_RawFree /src/Python-{version}/Objects/obmalloc.c:90:5 (python+0x1)\n\
         \x20   #2 free_threadstate /src/Python-{version}/Python/pystate.c:1445:9 (python+0x2)\n\
         \x20   #3 _Py_Finalize /src/Python-{version}/Python/pylifecycle.c:2039:5 (python+0x3)\n\
         \n\
         \x20 Previous read of size 8 at 0x7b0400000010 by main thread:\n\
         \x20   #0 take_gil /src/Python-{version}/Python/ceval_gil.c:301:9 (python+0x4)\n\
         \n\
         SUMMARY: ThreadSanitizer: data race /src/Python-{version}/Objects/obmalloc.c:90:5 in _PyMem_RawFree\n\
         ==================\n"
    )
}

const UAF: &str =
    "==77==ERROR: AddressSanitizer: heap-use-after-free on address 0x602 at pc 0x1 bp 0x2 sp 0x3\n\
READ of size 8 at 0x602 thread T0\n\
    #0 0x4 in PyObject_GC_Del /src/Python-3.13.0b4/Modules/gcmodule.c:2000:5\n\
    #1 0x5 in dict_dealloc /src/Python-3.13.0b4/Objects/dictobject.c:2400:3\n\
SUMMARY: AddressSanitizer: heap-use-after-free Modules/gcmodule.c:2000:5 in PyObject_GC_Del\n\
==77==ABORTING\n";

pub(crate) fn log(version: &str, body: &str) -> String {
    format!(
        "+ ./configure\nchecking for gcc... gcc\n+ make\n+ ./python -m test -j2\n== CPython {version}\n\
         0:00:01 load avg: 1.0 [ 1/3] test_threading\n{body}0:00:02 load avg: 1.0 [ 2/3] test_os\n"
    )
}

/// Three cells: tsan on 3.12.4 (the race twice), tsan on 3.13.0b4 (the race), asan on
/// 3.13.0b4 (a use-after-free).
pub(crate) fn logdir(dir: &Path) {
    fs::write(
        dir.join("build_001-1.sh.txt"),
        log(
            "3.12.4",
            &(tsan_race("3.12.4", 10) + &tsan_race("3.12.4", 11)),
        ),
    )
    .unwrap();
    fs::write(
        dir.join("build_002-1.sh.txt"),
        log("3.13.0b4", &tsan_race("3.13.0b4", 12)),
    )
    .unwrap();
    fs::write(dir.join("build_003-1.sh.txt"), log("3.13.0b4", UAF)).unwrap();
}

fn index(path: &Path) {
    fs::write(
        path,
        "script_name,python,sanitizer,platform\n\
         build_001.sh,3.12.4,tsan,amd64\n\
         build_002.sh,3.13.0b4,tsan,amd64\n\
         build_003.sh,3.13.0b4,asan,amd64\n",
    )
    .unwrap();
}

#[test]
fn one_row_per_signature_with_shared_axis_values() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    logdir(&logs);
    index(&tmp.path().join("index.csv"));
    let out = matrix()
        .arg("findings")
        .arg(&logs)
        .arg("--index")
        .arg(tmp.path().join("index.csv"))
        .args(["--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    insta::assert_snapshot!(text);
    assert!(text.starts_with("id,tool,kind,frames,reports,cells,"));
}

#[test]
fn cells_json_table_and_pivot() {
    let tmp = tempfile::tempdir().unwrap();
    logdir(tmp.path());
    let idx = tempfile::NamedTempFile::new().unwrap();
    index(idx.path());
    let cells = matrix()
        .arg("findings")
        .arg(tmp.path())
        .args(["--cells", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("cells", String::from_utf8(cells).unwrap());
    let json = matrix()
        .arg("findings")
        .arg(tmp.path())
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = String::from_utf8(json).unwrap();
    let dir = tmp.path().display().to_string();
    insta::assert_snapshot!("json", json.replace(&dir, "LOGDIR"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["reports"], 4);
    assert_eq!(v["signatures"], 2);
    assert_eq!(
        v["findings"][0]["frames"][0]["function"],
        "free_threadstate"
    );
    assert_eq!(v["findings"][0]["frames"][0]["file"], "Python/pystate.c");
    let table = matrix()
        .arg("findings")
        .arg(tmp.path())
        .args(["--format", "table"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("table", String::from_utf8(table).unwrap());
    let pivot = matrix()
        .arg("findings")
        .arg(tmp.path())
        .arg("--index")
        .arg(idx.path())
        .args(["--by", "python", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("by_python", String::from_utf8(pivot).unwrap());
}

/// What `matrix findings DIR ARGS...` prints, when it succeeds.
fn findings_stdout(dir: &Path, args: &[&str]) -> String {
    let dir = dir.to_str().unwrap();
    crate::common::stdout_of(&[&["findings", dir], args].concat())
}

#[test]
fn show_prints_one_report_from_its_log() {
    let tmp = tempfile::tempdir().unwrap();
    logdir(tmp.path());
    let text = findings_stdout(tmp.path(), &["--format", "csv"]);
    let uaf = text
        .lines()
        .find(|l| l.contains("heap-use-after-free"))
        .unwrap();
    let id = uaf.split(',').next().unwrap();
    let shown = matrix()
        .args(["findings", "show", &id[..6]])
        .arg(tmp.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("example: build_003-1.sh.txt:7-11"))
        .stdout(predicate::str::contains(
            "==77==ERROR: AddressSanitizer: heap-use-after-free",
        ))
        .stdout(predicate::str::contains("SUMMARY: AddressSanitizer"))
        .stdout(predicate::str::contains("ABORTING").not())
        .stdout(predicate::str::contains("test_os").not())
        .get_output()
        .stdout
        .clone();
    matrix()
        .args(["findings", "show", "ffffffff"])
        .arg(tmp.path())
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "finding id ffffffff: no finding has this id",
        ));
    // The old spelling works for a release, with one note on stderr; its errors name the flag.
    matrix()
        .arg("findings")
        .arg(tmp.path())
        .args(["--show", &id[..6]])
        .assert()
        .success()
        .stdout(shown)
        .stderr(
            "note: `matrix findings --show` is now `matrix findings show`; the old spelling goes \
             in a later release\n",
        );
    matrix()
        .arg("findings")
        .arg(tmp.path())
        .args(["--show", "ffffffff"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "--show ffffffff: no finding has this id",
        ));
}

#[test]
fn show_writes_escape_sequences_out_and_drops_nuls() {
    let tmp = tempfile::tempdir().unwrap();
    // A report whose function name carries a title-setting OSC sequence and a NUL byte.
    let body = UAF.replace("dict_dealloc", "dict_\x1b]0;owned\x07dea\0lloc");
    fs::write(
        tmp.path().join("build_001-1.sh.txt"),
        log("3.13.0b4", &body),
    )
    .unwrap();
    let text = findings_stdout(tmp.path(), &["--format", "csv"]);
    let id = text.lines().nth(1).unwrap().split(',').next().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let shown = crate::common::stdout_of(&["findings", "show", id, dir]);
    assert!(shown.contains("dict_\\x1b]0;owned\\x07dealloc"), "{shown}");
    assert!(!shown.contains('\x1b') && !shown.contains('\0') && !shown.contains('\x07'));
}

#[test]
fn diff_of_directories_and_saved_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    let new = tmp.path().join("new");
    fs::create_dir(&old).unwrap();
    fs::create_dir(&new).unwrap();
    fs::write(
        old.join("build_001-1.sh.txt"),
        log("3.12.4", &tsan_race("3.12.4", 1)),
    )
    .unwrap();
    logdir(&new);
    // The race persists across versions (3.12.4 → 3.13.0b4), the use-after-free is new.
    let out = matrix()
        .args(["findings", "--format", "csv", "--diff"])
        .arg(&old)
        .arg(&new)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("diff", String::from_utf8(out).unwrap());
    // Saved outputs: JSON on one side, CSV on the other; --fail-on-new fails with the diff.
    let saved_old = tmp.path().join("old.json");
    let json = matrix()
        .args(["findings", "--format", "json"])
        .arg(&old)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    fs::write(&saved_old, json).unwrap();
    let saved_new = tmp.path().join("new.csv");
    let csv = matrix()
        .args(["findings", "--format", "csv"])
        .arg(&new)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    fs::write(&saved_new, csv).unwrap();
    matrix()
        .args(["findings", "--format", "csv", "--fail-on-new", "--diff"])
        .arg(&saved_old)
        .arg(&saved_new)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("status,id,"))
        .stdout(predicate::str::contains("\nnew,"))
        .stderr(predicate::str::contains("1 new finding(s)"));
    matrix()
        .args(["findings", "--format", "csv", "--fail-on-new", "--diff"])
        .arg(&saved_new)
        .arg(&saved_new)
        .assert()
        .success()
        .stdout(predicate::str::contains("\nnew,").not());
    matrix()
        .args(["findings", "--diff"])
        .arg(tmp.path().join("index.csv"))
        .arg(&saved_new)
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("no such file or directory"));
}

#[test]
fn bad_input_is_an_error_with_empty_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    logdir(tmp.path());
    let idx = tmp.path().join("i.csv");
    index(&idx);
    matrix()
        .arg("findings")
        .arg(tmp.path())
        .arg("--index")
        .arg(&idx)
        .args(["--by", "compiler"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("no column \"compiler\""))
        .stderr(predicate::str::contains("python, sanitizer, platform"));
    matrix()
        .arg("findings")
        .arg(tmp.path().join("nope"))
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("cannot read log directory"));
}
