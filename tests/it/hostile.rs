//! Hostile input, one case per test: each gives a clear error naming what is at fault, in
//! bounded time, with nothing written or overwritten that should not be (issue 14's cases).

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};

use predicates::str::contains;

use crate::common::{matrix, PATIENCE};

/// Runs `matrix args` in `dir` and expects a failure with `error` in stderr and nothing on
/// stdout. A command that hangs (reading a device or a FIFO, expanding a YAML bomb) is killed
/// after [`PATIENCE`] and fails the test; an answer takes milliseconds.
fn refused(dir: &std::path::Path, args: &[&str], error: &str) {
    matrix()
        .current_dir(dir)
        .args(args)
        .timeout(PATIENCE)
        .assert()
        .failure()
        .stdout("")
        .stderr(contains(error));
}

#[test]
fn devices_and_fifos_are_not_read_as_definitions_indexes_or_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    refused(
        d,
        &["--config", "/dev/zero", "list"],
        "matrix definition /dev/zero is a character device, not a regular file",
    );
    fs::create_dir(d.join("logs")).unwrap();
    fs::write(d.join("logs/a.log"), "x\n").unwrap();
    refused(
        d,
        &["report", "logs", "--index", "/dev/zero"],
        "index /dev/zero is a character device, not a regular file",
    );
    // `check` prints its report, errors included, on stdout.
    matrix()
        .current_dir(d)
        .args(["check", "--no-shellcheck", "--argo-schema", "/dev/urandom"])
        .timeout(PATIENCE)
        .assert()
        .failure()
        .stdout(contains(
            "error: Argo schema /dev/urandom is a character device, not a regular file",
        ));
}

#[test]
fn deeply_nested_brackets_are_refused_before_parsing() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("axes: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
    fs::write(tmp.path().join("deep.yaml"), text).unwrap();
    refused(
        tmp.path(),
        &["--config", "deep.yaml", "list"],
        "deep.yaml:1:39: brackets nested deeper than 32 levels",
    );
}

#[test]
fn a_definition_that_is_not_utf8_names_line_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("m.yaml"), b"axes:\n  - name: pl\xe4tform\n").unwrap();
    refused(
        tmp.path(),
        &["--config", "m.yaml", "list"],
        "matrix definition m.yaml:2:13: not UTF-8 (byte 0xe4 at offset 18)",
    );
}

#[test]
fn unquoted_numbers_and_non_canonical_versions_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let builtin = crate::common::BUILTIN_DEFINITION;
    let edited = crate::common::replace_once(
        builtin,
        "values: [3.12.4, 3.13.0b4]",
        "values: [3.10, 3.13.0b4]",
    );
    fs::write(tmp.path().join("float.yaml"), edited).unwrap();
    refused(
        tmp.path(),
        &["--config", "float.yaml", "list"],
        "YAML reads an unquoted 3.10 as the number 3.1",
    );
    let edited = builtin.replace("3.12.4", "3.12.04");
    fs::write(tmp.path().join("zero.yaml"), edited).unwrap();
    refused(
        tmp.path(),
        &["--config", "zero.yaml", "list"],
        "`3.12.04` is not a CPython release or branch",
    );
}

#[test]
fn a_dangling_or_directory_matrix_yaml_is_an_error_not_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    symlink("nowhere.yaml", tmp.path().join("matrix.yaml")).unwrap();
    refused(
        tmp.path(),
        &["list"],
        "matrix definition matrix.yaml is a symbolic link to nowhere.yaml, which cannot be read",
    );
    fs::remove_file(tmp.path().join("matrix.yaml")).unwrap();
    fs::create_dir(tmp.path().join("matrix.yaml")).unwrap();
    refused(
        tmp.path(),
        &["list"],
        "matrix definition matrix.yaml is a directory, not a regular file",
    );
}

#[test]
fn explain_names_the_axis_given_twice() {
    let tmp = tempfile::tempdir().unwrap();
    refused(
        tmp.path(),
        &["explain", "platform=amd64", "platform=arm64"],
        "axis `platform` is given 2 times (platform=amd64 platform=arm64)",
    );
}

#[test]
fn runaway_templates_stop_with_the_template_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = tmp.path().join("tpl");
    fs::create_dir(&templates).unwrap();
    fs::write(
        templates.join("cell.sh.j2"),
        "{% include \"cell.sh.j2\" %}\n",
    )
    .unwrap();
    let one_cell = [
        "--only",
        "platform=amd64",
        "--only",
        "os=fedora-40",
        "--only",
        "python=3.12.4",
        "--only",
        "compiler=gcc",
        "--only",
        "sanitizer=none",
        "--only",
        "configure=debug",
    ];
    let mut args = vec!["render", "--templates", "tpl", "--out", "out"];
    args.extend(one_cell);
    refused(
        tmp.path(),
        &args,
        "cell.sh.j2:1: invalid operation: recursion limit exceeded (reached through build.sh.j2:4 → cell.sh.j2:1 (",
    );
    fs::write(
        templates.join("cell.sh.j2"),
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
    )
    .unwrap();
    refused(tmp.path(), &args, "cell.sh.j2:1: engine ran out of fuel");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn outputs_never_replace_inputs_each_other_or_special_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("logs")).unwrap();
    fs::write(d.join("logs/build_001-1.sh.txt"), "hello\n").unwrap();
    fs::write(d.join("index.csv"), "key,compiler\nbuild_001.sh,gcc\n").unwrap();
    refused(
        d,
        &["report", "logs", "--html", "logs/build_001-1.sh.txt"],
        "--html logs/build_001-1.sh.txt is inside the log directory logs",
    );
    refused(
        d,
        &[
            "report",
            "logs",
            "--index",
            "index.csv",
            "--html",
            "./index.csv",
        ],
        "--html ./index.csv is the index index.csv",
    );
    refused(
        d,
        &["report", "logs", "--chart", "x.svg", "--adoc", "x.svg"],
        "--adoc and --chart are both x.svg",
    );
    assert_eq!(
        fs::read_to_string(d.join("logs/build_001-1.sh.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        fs::read_to_string(d.join("index.csv")).unwrap(),
        "key,compiler\nbuild_001.sh,gcc\n"
    );

    // A FIFO is refused (writing through a rename would replace it with a regular file).
    let fifo = d.join("pipe.html");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    refused(
        d,
        &["report", "logs", "--html", "pipe.html"],
        "pipe.html is a named pipe; `matrix` writes only regular files",
    );
    refused(
        d,
        &["init", "pipe.html", "--force"],
        "pipe.html is a named pipe; `matrix` writes only regular files",
    );
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

    // A symlink is written through: the link stays, its target gets the page and keeps its mode.
    fs::write(d.join("real.html"), "old").unwrap();
    fs::set_permissions(d.join("real.html"), fs::Permissions::from_mode(0o640)).unwrap();
    symlink("real.html", d.join("link.html")).unwrap();
    matrix()
        .current_dir(d)
        .args(["report", "logs", "--html", "link.html"])
        .assert()
        .success();
    assert!(fs::symlink_metadata(d.join("link.html"))
        .unwrap()
        .file_type()
        .is_symlink());
    let page = fs::read_to_string(d.join("real.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    let mode = fs::metadata(d.join("real.html"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn render_never_deletes_the_definition_the_templates_or_the_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    matrix()
        .current_dir(d)
        .args(["init", "matrix.yaml"])
        .assert()
        .success();
    refused(
        d,
        &["render", "--out", ".", "--force"],
        "holds the matrix definition (matrix.yaml); replacing it would delete that: choose \
         another --out",
    );
    fs::create_dir_all(d.join("work/tpl")).unwrap();
    refused(
        d,
        &[
            "render",
            "--out",
            "work",
            "--force",
            "--templates",
            "work/tpl",
        ],
        "holds the templates (work/tpl)",
    );
    refused(
        &d.join("work"),
        &["render", "--out", "../work", "--force"],
        "holds the working directory",
    );
    assert!(d.join("matrix.yaml").is_file() && d.join("work/tpl").is_dir());
}

#[test]
fn render_into_dot_paths_and_concurrent_renders_leave_no_stray_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let one_os = ["--only", "os=fedora-40", "--only", "python=3.12.4"];
    for out in ["own", "own/.", "own/sub/.."] {
        let mut args = vec!["render", "--out", out];
        args.extend(one_os);
        matrix().current_dir(d).args(&args).assert().success();
    }
    // Eight renders into one directory at once: they take turns, every one succeeds.
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("matrix"))
                .current_dir(d)
                .args(["render", "--out", "own"])
                .args(one_os)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut names: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["own"]);
    assert!(d.join("own/.matrix-output").is_file());
}

#[test]
fn values_reaching_manifests_follow_their_grammars() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (flags, error) in [
        (&["--registry", ""][..], "--registry `` is not a registry"),
        (
            &["--registry", "my reg/$(id)"],
            "--registry `my reg/$(id)` is not a registry",
        ),
        (
            &["--registry", "reg\nistry"],
            "--registry `reg\\nistry` is not a registry",
        ),
        (&["--registry", "{{workflow.name}}"], "is not a registry"),
        (
            &["--namespace", "Bad Namespace!"],
            "--namespace `Bad Namespace!` is not a DNS-1123 label",
        ),
        (
            &["--service-account", "$(id)"],
            "--service-account `$(id)` is not a DNS-1123 name",
        ),
        (
            &["--memory", "16Gi", "--memory-limit", "1Mi"],
            "--memory `16Gi` is more than --memory-limit `1Mi`",
        ),
        (
            &["--cpu", "8", "--cpu-limit", "1"],
            "--cpu `8` is more than --cpu-limit `1`",
        ),
        (
            &["--deadline", "0"],
            "`0` is not a duration: use a positive number",
        ),
    ] {
        let mut args = vec!["workflow"];
        args.extend(flags);
        refused(d, &args, error);
    }
    // Kubernetes' own quantity grammar: exponents are quantities too.
    matrix()
        .args(["workflow", "--memory", "1e9", "--memory-limit", "16Gi"])
        .assert()
        .success();
    for (flags, error) in [
        (
            &["--buildkit-image", "evil image;$(id)"][..],
            "--buildkit-image `evil image;$(id)` is not an image reference",
        ),
        (
            &["--docker-config-secret", "Bad Secret"],
            "--docker-config-secret `Bad Secret` is not a DNS-1123 name",
        ),
    ] {
        let mut args = vec!["images", "--workflow"];
        args.extend(flags);
        refused(d, &args, error);
    }
}

#[test]
fn definition_values_reaching_manifests_follow_their_grammars() {
    let tmp = tempfile::tempdir().unwrap();
    let builtin = crate::common::BUILTIN_DEFINITION;
    let registry_line = builtin
        .lines()
        .find(|l| l.trim_start().starts_with("registry:"))
        .unwrap();
    let name_line = builtin
        .lines()
        .find(|l| l.trim_start().starts_with("name: build-cpython"))
        .unwrap();
    let base_url_line = builtin
        .lines()
        .find(|l| l.trim_start().starts_with("base_url:"))
        .unwrap();
    for (from, to, error) in [
        (
            registry_line,
            "  registry: \"reg\\nistry\"",
            "image.registry `reg\\nistry` is not a registry",
        ),
        (
            name_line,
            "  name: \"build cpython{{\"",
            "image.name `build cpython{{` is not an image repository name",
        ),
        (
            "arch_axis: platform",
            "arch_axis: compiler",
            "value of axis `compiler` (workflow.arch_axis) `gcc` is not a Kubernetes architecture",
        ),
        (
            base_url_line,
            "  base_url: \"javascript:alert(1)\"",
            "source.base_url `javascript:alert(1)` is not an https:// URL",
        ),
    ] {
        let edited = crate::common::replace_once(builtin, from, to);
        fs::write(tmp.path().join("m.yaml"), edited).unwrap();
        refused(tmp.path(), &["--config", "m.yaml", "list"], error);
    }
}

/// `matrix`, run as an unprivileged user when the tests run as root (for whom mode 000 hides
/// nothing), or `None` after [`crate::common::skip`] when privileges cannot be dropped.
fn unprivileged(test: &str) -> Option<assert_cmd::Command> {
    // SAFETY: geteuid has no preconditions and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Some(matrix());
    }
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    if !setpriv.exists() {
        crate::common::skip(
            test,
            "running as root, for whom mode 000 hides nothing, and setpriv is not installed",
        );
        return None;
    }
    let mut command = assert_cmd::Command::new(setpriv);
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(assert_cmd::cargo::cargo_bin("matrix"));
    Some(command)
}

#[test]
fn sarif_names_an_unreadable_directory_and_skip_invalid_skips_it() {
    let test = "sarif_names_an_unreadable_directory_and_skip_invalid_skips_it";
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let version = d.join("s/Python-3.12.4");
    for sub in ["ok", "locked"] {
        fs::create_dir_all(version.join(sub)).unwrap();
        fs::write(
            version.join(sub).join("a.sarif"),
            crate::sarif_cli::log("3.12.4", &[]),
        )
        .unwrap();
    }
    // Readable by the unprivileged user, but for the one directory.
    for (path, mode) in [
        (d.to_path_buf(), 0o755),
        (d.join("s"), 0o755),
        (version.clone(), 0o755),
        (version.join("ok"), 0o755),
        (version.join("ok/a.sarif"), 0o644),
        (version.join("locked"), 0o000),
    ] {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }
    let Some(mut without) = unprivileged(test) else {
        return;
    };
    without
        .current_dir(d)
        .args(["sarif", "s", "--format", "csv"])
        .timeout(PATIENCE)
        .assert()
        .failure()
        .stdout("")
        .stderr(contains(
            "cannot read s/Python-3.12.4/locked: Permission denied",
        ))
        .stderr(contains("--skip-invalid"));
    let mut with = unprivileged(test).unwrap();
    with.current_dir(d)
        .args(["sarif", "s", "--format", "csv", "--skip-invalid"])
        .timeout(PATIENCE)
        .assert()
        .success()
        .stdout(contains("version,uri,line,rule,message,builds"))
        .stderr(contains("skipping Python-3.12.4/locked: Permission denied"));
    fs::set_permissions(version.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn report_and_findings_refuse_a_directory_without_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("empty")).unwrap();
    // Files that are not logs do not count.
    fs::write(d.join("empty/notes.md"), "x\n").unwrap();
    for command in ["report", "findings"] {
        refused(
            d,
            &[command, "empty"],
            "empty: no build logs found (looked for *.log, *.txt, *.gz, *.zip, *.tgz",
        );
    }
    refused(
        d,
        &["findings", "--diff", "empty", "empty"],
        "empty: no build logs found",
    );
    // An archive (Argo's artifacts) that holds no log counts as no log.
    fs::create_dir(d.join("artifacts")).unwrap();
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(d.join("artifacts/outputs.tgz")).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "pod-1/notes.md", &b"x\n"[..])
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    for command in ["report", "findings"] {
        refused(d, &[command, "artifacts"], "artifacts: no build logs found");
    }
}

/// Every entry under `dir`, to show that a refused command wrote nothing.
fn listing(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .collect();
    out.sort();
    out
}

#[test]
fn run_refuses_bad_flags_and_run_directories_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("file"), "x\n").unwrap();
    fs::create_dir(d.join("empty")).unwrap();
    symlink(d.join("empty"), d.join("link")).unwrap();
    fs::create_dir(d.join("def")).unwrap();
    fs::write(d.join("def/m.yaml"), crate::common::BUILTIN_DEFINITION).unwrap();
    let before = listing(d);
    // The podman engine: were a case let through, it would fail on the missing engine (or, with
    // podman installed, run), never silently pass.
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--engine", "podman"];
        if !extra.contains(&"--out") {
            args.extend(["--out", "r"]);
        }
        args.extend(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["run".into(), "--engine".into(), "bogus".into()],
            "invalid value 'bogus' for '--engine <ENGINE>'",
        ),
        (
            run(&["--jobs", "0"]),
            "--jobs (-j) 0: at least one cell must run at a time",
        ),
        (
            run(&["--deadline", "0"]),
            "--deadline: `0` is not a duration",
        ),
        (
            run(&["--deadline", "0s"]),
            "--deadline: `0s` is not a duration",
        ),
        (
            run(&["--only", "nope=1"]),
            "--only nope=1: unknown axis `nope`; the axes are: platform, os,",
        ),
        (
            run(&["--only", "os=nope"]),
            "--only os=nope: unknown value `nope` for axis `os`; its values are: fedora-40",
        ),
        (
            run(&["--except", "python=3.12.04"]),
            "--except python=3.12.04: unknown value `3.12.04` for axis `python`",
        ),
        (
            run(&["--fail-on", "Broken"]),
            "--fail-on `Broken` is not a result",
        ),
        (
            run(&["--out", "file"]),
            "--out file is a regular file, not a directory: give a new or empty directory (or a \
             run directory with --resume)",
        ),
        (
            run(&["--out", "/dev/null"]),
            "--out /dev/null is a character device, not a directory",
        ),
        (
            run(&["--out", "link"]),
            "--out link is a symbolic link: a run writes into and deletes inside its directory",
        ),
        (
            run(&["--config", "def/m.yaml", "--out", "def"]),
            "--out def holds the matrix definition (def/m.yaml)",
        ),
        (
            run(&["--out", "def"]),
            "--out def: the directory exists and is not a run directory",
        ),
    ];
    for (args, error) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(d, &args, error);
        assert_eq!(listing(d), before, "{args:?} wrote something");
    }
}

#[test]
fn images_build_and_verify_refuse_bad_flags_before_any_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let before = listing(d);
    for (args, error) in [
        (
            &["images", "verify", "my image"][..],
            "image `my image` is not an image reference: [registry/]name[:tag][@sha256:digest]",
        ),
        (
            &["images", "--verify", "my image"],
            "--verify `my image` is not an image reference",
        ),
        (
            &["images", "verify", "x$(id)"],
            "image `x$(id)` is not an image reference",
        ),
        (
            &[
                "images",
                "verify",
                "registry.example.invalid/cpython-matrix/build-cpython:$(id)",
            ],
            "is not an image reference",
        ),
        (
            &["images", "verify", ""],
            "image `` is not an image reference",
        ),
        (
            &["images", "build", "--base-from", "evil image;$(id)"],
            "--base-from `evil image;$(id)` is not an image reference",
        ),
        (
            &["images", "build", "--engine", "bogus"],
            "invalid value 'bogus' for '--engine <ENGINE>'",
        ),
        (
            &["images", "build", "--only", "nope=x"],
            "--only nope=x: unknown axis `nope`",
        ),
        (
            &["images", "verify", "a:b", "--only", "os=nope"],
            "--only os=nope: unknown value `nope` for axis `os`",
        ),
        (
            &["images", "build", "--registry", "bad reg"],
            "--registry `bad reg` is not a registry",
        ),
    ] {
        refused(d, args, error);
        assert_eq!(listing(d), before, "{args:?} wrote something");
    }
}
