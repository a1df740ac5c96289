//! The artifact reader's symlink and special-file policy, end to end through `matrix report`
//! and `matrix sarif`: a directory link is not followed (no cell counted twice), a link out of
//! the tree is not read, a FIFO is skipped instead of blocking, and each is a warning.

use std::fs;
use std::os::unix::fs::symlink;

use predicates::prelude::*;

use crate::common::matrix;

const LOG: &str =
    "+ ./configure\nchecking for gcc... gcc\n+ make\nmake: *** [Makefile:1: all] Error 2\n";

#[test]
fn report_reads_each_log_once_and_stays_inside() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("shadow"), LOG).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("run1")).unwrap();
    fs::write(d.join("run1/build_001-1.sh.txt"), LOG).unwrap();
    symlink(d.join("run1"), d.join("latest")).unwrap();
    symlink(outside.path().join("shadow"), d.join("s.log")).unwrap();
    let fifo = d.join("pipe.log");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    matrix()
        .args(["report", "--format", "csv"])
        .arg(d)
        .timeout(crate::common::PATIENCE)
        .assert()
        .success()
        .stdout(predicate::eq(
            "key,result,stage,outcome,attempts,flaky,log,evidence,cause,cause_evidence,failed_tests,failed_count,canaries,blind,\
             seconds,stage_seconds,tests_run,tests_failed,tests_skipped,compiler_version,source_id\n\
             build_001.sh,Compilation. Failed,Compilation,Failed,1,,run1/build_001-1.sh.txt,make: *** [Makefile:1: all] Error 2,,,,,,,,,,,,,\n",
        ))
        .stderr(predicate::str::contains("skipping s.log: a symlink to"))
        .stderr(predicate::str::contains("outside the directory read"))
        .stderr(predicate::str::contains("skipping pipe.log: not a regular file"));
}

#[test]
fn sarif_does_not_read_a_link_out_of_the_tree() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("x.sarif"), "{}").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b/src/Python-3.12.4");
    fs::create_dir_all(&dir).unwrap();
    symlink(outside.path().join("x.sarif"), dir.join("x.sarif")).unwrap();
    matrix()
        .arg("sarif")
        .arg(tmp.path())
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("outside the directory read"))
        .stderr(predicate::str::contains("no SARIF files"));
}
