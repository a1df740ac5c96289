//! `matrix repro CELL`, on the fake sources of [`crate::run_cli`]: one cell into a run
//! directory of its own, and `--shell` in its built tree with its environment.

use std::io::Write;
use std::process::Stdio;

use crate::run_cli::{stderr, Sandbox};

const CELL: &str = "amd64-u24.04-py3.13.0b4-gcc-debug";

#[test]
fn repro_runs_exactly_one_cell_into_a_fresh_directory_each_time() {
    let sb = Sandbox::new();
    for n in 1..=2 {
        let out = sb
            .command_of("repro", &[("FAKE_TEST_STATUS", "2")])
            .args(["--engine", "host", CELL])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let dir = format!("repro/{CELL}-{n}");
        let rows = sb.result_rows(&dir);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0]["key"].as_str(), rows[0]["result"].as_str()),
            (CELL, "Tests. Failed")
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Tests. Failed"));
        assert!(
            !sb.root.join(&dir).join("work").join(CELL).exists(),
            "work removed without --keep-work"
        );
    }
    let out = sb
        .command_of("repro", &[])
        .args(["--engine", "host", "amd64-*"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("repro takes one cell id"),
        "{}",
        stderr(&out)
    );
    let out = sb
        .command_of("repro", &[])
        .args(["--engine", "host", "amd64-u24.04-py3.13.0b4-gcc-debgu"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("did you mean `{CELL}`")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn repro_shell_starts_in_the_built_tree_with_the_cells_environment() {
    let sb = Sandbox::new();
    let mut child = sb
        .command_of("repro", &[])
        .args([
            "--engine", "host", "--shell", "--out", "r", "--tests", "test_int", CELL,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo \"CC=$CC PWD=$PWD\"; matrix_tests test_os; exit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    assert!(text.contains("CC=gcc PWD="), "{text}");
    assert!(
        text.contains(&format!("/r/work/{CELL}/src/Python-3.13.0b4")),
        "{text}"
    );
    // The cell's test command and arguments (--tests), then the shell's own.
    assert!(
        text.contains("ran-tests -m test test_int test_os"),
        "matrix_tests: {text}"
    );
    assert!(sb
        .root
        .join("r/work")
        .join(CELL)
        .join("cell-env.sh")
        .is_file());
}
