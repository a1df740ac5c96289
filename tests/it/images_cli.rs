//! `matrix images` run as a user runs it: the real binary, real directories.

use std::fs;
use std::path::Path;

use crate::common::{edited_definition, matrix};

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_one_dockerfile_per_os_and_lists_them_with_their_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let out = matrix()
        .current_dir(tmp.path())
        .args(["images", "--out", "df", "--registry", "ghcr.io/me"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "df/fedora-40.Dockerfile\tghcr.io/me/build-cpython:fedora-40\n\
         df/ubuntu-24.04.Dockerfile\tghcr.io/me/build-cpython:ubuntu-24.04\n"
    );
    let dir = tmp.path().join("df");
    assert_eq!(
        names(&dir),
        [
            ".matrix-output",
            "fedora-40.Dockerfile",
            "ubuntu-24.04.Dockerfile"
        ]
    );
    // The same bytes as the committed ones.
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("dockerfiles");
    for name in ["fedora-40.Dockerfile", "ubuntu-24.04.Dockerfile"] {
        assert_eq!(
            fs::read(dir.join(name)).unwrap(),
            fs::read(committed.join(name)).unwrap()
        );
    }
    // Its own output is replaced without --force; --check then agrees.
    matrix()
        .current_dir(tmp.path())
        .args(["images", "--out", "df"])
        .assert()
        .success();
    matrix()
        .current_dir(tmp.path())
        .args(["images", "--check", "--out", "df"])
        .assert()
        .success()
        .stdout("df is up to date: 2 Dockerfiles match the matrix\n");
}

#[test]
fn bake_prints_a_multi_platform_target_per_image() {
    let tmp = tempfile::tempdir().unwrap();
    let out = matrix()
        .current_dir(tmp.path())
        .args([
            "images",
            "--out",
            "dockerfiles",
            "--bake",
            "--registry",
            "ghcr.io/me/",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bake: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        bake["group"]["default"]["targets"],
        serde_json::json!(["fedora-40", "ubuntu-24_04"])
    );
    let target = &bake["target"]["ubuntu-24_04"];
    assert_eq!(target["context"], "dockerfiles");
    assert_eq!(target["dockerfile"], "ubuntu-24.04.Dockerfile");
    assert_eq!(
        target["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(
        target["tags"],
        serde_json::json!(["ghcr.io/me/build-cpython:ubuntu-24.04"])
    );
    assert!(tmp
        .path()
        .join("dockerfiles/ubuntu-24.04.Dockerfile")
        .is_file());
}

#[test]
fn check_fails_on_a_drifted_directory_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    matrix()
        .current_dir(tmp.path())
        .args(["images", "--out", "df"])
        .assert()
        .success();
    let file = tmp.path().join("df/ubuntu-24.04.Dockerfile");
    let edited = fs::read_to_string(&file)
        .unwrap()
        .replace("rsync", "rsync-3");
    fs::write(&file, &edited).unwrap();
    let out = matrix()
        .current_dir(tmp.path())
        .args(["images", "--check", "--out", "df"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("df/ubuntu-24.04.Dockerfile differs")
            && err.contains("regenerate with `matrix images --out df`"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), edited);
}

#[test]
fn an_os_without_an_image_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let config = edited_definition(tmp.path(), |raw| {
        raw.images.as_mut().unwrap().os.remove("fedora-40");
    });
    let out = matrix()
        .current_dir(tmp.path())
        .arg("--config")
        .arg(&config)
        .args(["images", "--out", "df"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: invalid matrix definition")
            && err.contains("images.os has no entry for `fedora-40`"),
        "{err}"
    );
    assert!(!tmp.path().join("df").exists());
}

#[test]
fn an_image_missing_a_package_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let config = edited_definition(tmp.path(), |raw| {
        let fedora = raw
            .images
            .as_mut()
            .unwrap()
            .os
            .get_mut("fedora-40")
            .unwrap();
        for group in &mut fedora.packages {
            group.install.retain(|p| p != "make");
        }
        fedora.provides.remove("make");
    });
    let out = matrix()
        .current_dir(tmp.path())
        .arg("--config")
        .arg(&config)
        .args(["images", "--out", "df"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("the build images do not match the matrix")
            && err.contains("image fedora-40: cell amd64-f40-")
            && err.contains("needs command `make`"),
        "{err}"
    );
    assert!(!tmp.path().join("df").exists());
}

#[test]
fn a_matrix_without_images_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let config = edited_definition(tmp.path(), |raw| raw.images = None);
    matrix()
        .current_dir(tmp.path())
        .arg("--config")
        .arg(&config)
        .args(["images"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicates::str::contains("has no `images` section"));
}

#[test]
fn a_foreign_directory_is_not_replaced_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("df");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    matrix()
        .current_dir(tmp.path())
        .args(["images", "--out", "df"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicates::str::contains("--force"));
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    matrix()
        .current_dir(tmp.path())
        .args(["images", "--out", "df", "--force"])
        .assert()
        .success();
    assert!(!dir.join("notes.txt").exists());
}

#[test]
fn build_and_verify_refuse_bad_input_before_asking_an_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str], expected: &str| {
        matrix()
            .current_dir(tmp.path())
            .arg("images")
            .args(args)
            .assert()
            .failure()
            .stdout("")
            .stderr(predicates::str::contains(expected));
    };
    // A selection only means something when building or verifying.
    run(
        &["--only", "os=fedora-40"],
        "--only and --except select the images of `matrix images build` or `matrix images \
         verify`; give them there",
    );
    run(&["--base-from", "localhost/debian:12"], "--build");
    run(
        &["build", "--base-from", "x\nRUN rm -rf /"],
        "--base-from `x\\nRUN rm -rf /` is not an image reference",
    );
    run(
        &["build", "--only", "os=debian-12"],
        "unknown value `debian-12` for axis `os`",
    );
    run(
        &["verify", "localhost/x/build-cpython:centos-7"],
        "image localhost/x/build-cpython:centos-7: its tag names no value of axis `os` \
         (fedora-40, ubuntu-24.04)",
    );
    run(
        &["verify", "--", "-rm"],
        "image `-rm` is not an image reference",
    );
    // The old spellings, for a release: their errors name their flags.
    run(
        &["--verify=-rm"],
        "--verify `-rm` is not an image reference",
    );
    run(
        &["--build", "--only", "os=debian-12"],
        "unknown value `debian-12` for axis `os`",
    );
    run(&["--verify", "a", "--bake"], "cannot be used with");
    // The commands take their own flags, not those of writing the Dockerfiles.
    run(&["verify", "a", "--bake"], "unexpected argument '--bake'");
    run(&["--registry", "r", "build"], "cannot be used with");
    // Nothing was written.
    assert!(!tmp.path().join("dockerfiles").exists());
}

#[test]
fn the_old_spellings_still_work_and_say_once_what_they_are_now() {
    for (args, old, new) in [
        (
            ["images", "--build", "--only", "os=nope"],
            "images --build",
            "images build",
        ),
        (
            ["images", "--verify", "a:b", "--only=os=nope"],
            "images --verify",
            "images verify",
        ),
    ] {
        let output = matrix().args(args).output().unwrap();
        // As far as the selection: refused there, as the new spelling would be.
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let note = format!(
            "note: `matrix {old}` is now `matrix {new}`; the old spelling goes in a later release\n"
        );
        assert!(stderr.starts_with(&note), "{stderr}");
        assert_eq!(stderr.matches("note:").count(), 1, "{stderr}");
        assert!(
            stderr.contains("--only os=nope: unknown value `nope`"),
            "{stderr}"
        );
    }
}
