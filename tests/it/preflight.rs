//! `matrix run`'s preflight: before any cell starts (and before the run directory exists), every
//! program, compiler answer and sanitizer runtime the selected cells need is looked for on the
//! host, and all that is missing is reported in one error.

use std::fs;
use std::path::Path;

use crate::common::write_executable;

/// A gcc that answers `--version` but finds no file: `-print-file-name` echoes the bare name,
/// as gcc does for a file it does not have.
const FAKE_GCC: &str = r#"#!/bin/sh
case "$1" in
    --version) echo 'gcc (Fake) 14.1.0' ;;
    -print-file-name=*) echo "${1#-print-file-name=}" ;;
esac
exit 0
"#;

fn run(root: &Path, path: &str, sanitizers: &str) -> std::process::Output {
    crate::common::matrix()
        .current_dir(root)
        .args([
            "run", "--engine", "host", "--out", "run", "--cache", "cache",
        ])
        .args(["--only", "platform=amd64", "--only", "os=ubuntu-24.04"])
        .args(["--only", "python=3.12.4", "--only", "compiler=gcc"])
        .args(["--only", "configure=debug", "--only", sanitizers])
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn every_missing_program_and_runtime_is_reported_at_once_and_nothing_is_made() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let bin = root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    write_executable(&bin.join("gcc"), FAKE_GCC);
    // Only bash, timeout (what the preflight runs its probes with) and the fake gcc: make, tar
    // and the rest are missing too.
    for program in ["bash", "timeout"] {
        std::os::unix::fs::symlink(which(program), bin.join(program)).unwrap();
    }
    let out = run(root, &bin.display().to_string(), "sanitizer=asan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    for missing in [
        "preflight (host)",
        "command `make` on PATH",
        "command `tar` on PATH",
        "runtime `libasan.so` (asked `gcc -print-file-name`",
        "amd64-u24.04-py3.12.4-gcc-asan-shared-pre-debug",
    ] {
        assert!(err.contains(missing), "{missing:?} not in: {err}");
    }
    assert!(!root.join("run").exists() && !root.join("cache").exists());

    // With the system's programs but the fake gcc first: only the runtimes are missing.
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = run(root, &path, "sanitizer=asan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("runtime `libasan.so`") && !err.contains("on PATH"),
        "{err}"
    );
    assert!(!root.join("run").exists());
}

fn which(program: &str) -> std::path::PathBuf {
    std::env::var("PATH")
        .unwrap()
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not on PATH"))
}

/// A podman that answers `info` and has no image at all.
const FAKE_PODMAN: &str = r#"#!/bin/sh
case "$1" in
    info) exit 0 ;;
    image) echo "Error: no such image" >&2; exit 125 ;;
    *) echo "unexpected: $*" >&2; exit 1 ;;
esac
"#;

#[test]
fn a_container_engine_without_the_cells_images_starts_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let bin = root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    write_executable(&bin.join("podman"), FAKE_PODMAN);
    let out = crate::common::matrix()
        .current_dir(root)
        .args([
            "run", "--engine", "podman", "--out", "run", "--cache", "cache",
        ])
        .args(["--only", "platform=amd64", "--only", "python=3.12.4"])
        .args(["--only", "compiler=gcc", "--only", "sanitizer=none"])
        .args(["--only", "configure=debug"])
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    // Both OSes' images, each with its cells, in one error.
    assert!(
        err.contains("preflight (podman): 2 thing(s)")
            && err.contains(":ubuntu-24.04, which podman does not have")
            && err.contains("needed by cell(s) amd64-u24.04-py3.12.4-gcc-debug")
            && err.contains("matrix images build"),
        "{err}"
    );
    assert!(!root.join("run").exists() && !root.join("cache").exists());
}
