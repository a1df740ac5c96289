//! `matrix render` run as a user runs it: the real binary, real directories.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use predicates::prelude::*;

use crate::common::matrix;

fn script_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sh"))
        .collect();
    names.sort();
    names
}

#[test]
fn renders_742_executable_scripts_and_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let out = matrix()
        .current_dir(tmp.path())
        .args(["render", "--out", "build_scripts"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "script",
            "image",
            "platform",
            "os",
            "python",
            "compiler",
            "sanitizer",
            "san_link",
            "hwasan_option",
            "preload",
            "configure"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 742);

    let dir = tmp.path().join("build_scripts");
    let names = script_names(&dir);
    assert_eq!(names.len(), 742);
    for row in &rows {
        let script = tmp.path().join(&row[1]);
        assert_eq!(script, dir.join(format!("{}.sh", &row[0])));
        let mode = fs::metadata(&script).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o111,
            0o111,
            "{} is not executable",
            script.display()
        );
    }
}

#[test]
fn selections_narrow_the_matrix() {
    let count = |args: &[&str]| {
        let tmp = tempfile::tempdir().unwrap();
        let out = matrix()
            .current_dir(tmp.path())
            .arg("render")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows = String::from_utf8(out.stdout).unwrap().lines().count() - 1;
        assert_eq!(script_names(&tmp.path().join("build_scripts")).len(), rows);
        rows
    };
    assert_eq!(count(&["--only", "platform=amd64"]), 259);
    assert_eq!(
        count(&["--only", "platform=arm64", "--only", "sanitizer=hwasan"]),
        224
    );
    assert_eq!(
        count(&[
            "--only",
            "platform=amd64",
            "--only",
            "sanitizer=none,asan,tsan"
        ]),
        245
    );
    assert_eq!(
        count(&[
            "--only",
            "platform=amd64",
            "--except",
            "sanitizer=hwasan,analyzer"
        ]),
        245
    );
}

#[test]
fn two_renders_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let render = |name: &str| {
        let out = matrix()
            .current_dir(tmp.path())
            .args(["render", "--out", name])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let (first, second) = (render("a"), render("b"));
    assert_eq!(
        String::from_utf8(first).unwrap().replace("a/", "b/"),
        String::from_utf8(second).unwrap()
    );
    let names = script_names(&tmp.path().join("a"));
    assert_eq!(names, script_names(&tmp.path().join("b")));
    for name in names {
        assert_eq!(
            fs::read(tmp.path().join("a").join(&name)).unwrap(),
            fs::read(tmp.path().join("b").join(&name)).unwrap(),
            "{name} differs between two renders"
        );
    }
}

#[test]
fn a_bad_selection_is_an_error_naming_the_valid_values() {
    let tmp = tempfile::tempdir().unwrap();
    matrix()
        .current_dir(tmp.path())
        .args(["render", "--only", "compiler=icc"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown value `icc` for axis `compiler`",
        ))
        .stderr(predicate::str::contains("gcc, clang, clang-19"));
    matrix()
        .current_dir(tmp.path())
        .args(["render", "--except", "compilers=gcc"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("unknown axis `compilers`"));
    assert!(!tmp.path().join("build_scripts").exists());
}

#[test]
fn a_foreign_directory_is_refused_without_force_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("notes.txt"), "precious").unwrap();
    matrix()
        .current_dir(tmp.path())
        .args(["render", "--out", "mine"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("was not written by `matrix`"))
        .stderr(predicate::str::contains(
            "; pass --force to replace it and everything in it",
        ));
    assert_eq!(
        fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "precious"
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);

    matrix()
        .current_dir(tmp.path())
        .args([
            "render",
            "--out",
            "mine",
            "--force",
            "--only",
            "sanitizer=analyzer",
        ])
        .assert()
        .success();
    assert!(!dir.join("notes.txt").exists());
    assert_eq!(script_names(&dir).len(), 28);
}

#[test]
fn rerendering_replaces_the_previous_output() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |only: &str| {
        matrix()
            .current_dir(tmp.path())
            .args(["render", "--only", only])
            .assert()
            .success();
    };
    run("sanitizer=analyzer");
    run("sanitizer=tsan");
    let names = script_names(&tmp.path().join("build_scripts"));
    assert!(
        names.iter().all(|n| n.contains("-tsan-")),
        "stale scripts left: {names:?}"
    );
    // No temporary directories are left beside the output.
    let entries: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn a_broken_template_fails_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = tmp.path().join("templates");
    fs::create_dir(&templates).unwrap();
    fs::write(templates.join("build.sh.j2"), "#!/bin/bash\n{% if %}\n").unwrap();
    matrix()
        .current_dir(tmp.path())
        .args(["render", "--templates", "templates"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("build.sh.j2:2"))
        .stderr(predicate::str::contains("syntax error"));
    assert!(!tmp.path().join("build_scripts").exists());

    // An undefined variable is caught at render time, also before anything is written.
    fs::write(
        templates.join("build.sh.j2"),
        "#!/bin/bash\necho {{ cell.nmae }}\n",
    )
    .unwrap();
    matrix()
        .current_dir(tmp.path())
        .args(["render", "--templates", "templates"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("undefined"));
    assert!(!tmp.path().join("build_scripts").exists());

    matrix()
        .current_dir(tmp.path())
        .args(["render", "--templates", "nowhere"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "template directory nowhere does not exist",
        ));
}

#[test]
fn an_unwritable_output_is_an_error_and_nothing_is_printed() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("file"), "").unwrap();
    matrix()
        .current_dir(tmp.path())
        .args(["render", "--out", "file/sub"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("file"));
    matrix()
        .current_dir(tmp.path())
        .args(["render", "--out", "file"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("is not a directory"));
}

#[test]
fn a_malformed_definition_names_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let text = include_str!("../../definition/matrix.yaml")
        .replace("  - name: python\n", "  - nme: python\n");
    fs::write(tmp.path().join("bad.yaml"), text).unwrap();
    matrix()
        .current_dir(tmp.path())
        .args(["--config", "bad.yaml", "render"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::is_match(r"bad\.yaml:\d+:\d+: .*unknown field `nme`").unwrap());
    assert!(!tmp.path().join("build_scripts").exists());
}

#[test]
fn the_registry_sets_the_image_column() {
    let tmp = tempfile::tempdir().unwrap();
    let out = matrix()
        .current_dir(tmp.path())
        .args([
            "render",
            "--registry",
            "ghcr.io/me",
            "--only",
            "os=ubuntu-24.04",
            "--only",
            "sanitizer=analyzer",
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    let images: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert!(!images.is_empty());
    assert!(
        images
            .iter()
            .all(|i| *i == "ghcr.io/me/build-cpython:ubuntu-24.04"),
        "{images:?}"
    );
}
