//! The proof with real images and containers: a copy of the definition with a `debian-12` OS,
//! its image built with `matrix images build --base-from` on a local Debian base, checked
//! with `--verify` (and a broken image failing it), and two ASan + LD_PRELOAD cells of CPython
//! 3.13.5 run in it with `matrix run --engine podman`. Slow and needs podman and the base image
//! `localhost/debian:12` (`.ci/run` makes both), so ignored by a plain `cargo test`; run with
//! `cargo test --locked --test it -- --ignored images_real --test-threads 1`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use matrix::definition::images::RawOsImage;
use matrix::definition::{RawValue, RawValueDetail, SourceFormat};

use crate::common;

const BASE: &str = "localhost/debian:12";
const REGISTRY: &str = "localhost/cpython-matrix";
const IMAGE: &str = "localhost/cpython-matrix/build-cpython:debian-12";
const BROKEN: &str = "localhost/broken/build-cpython:debian-12";
const VERSION: &str = "3.13.5";
const TARBALL_SHA256: &str = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640";
/// The deadline of the deadline test: long enough for setup (unpacking the tarball) on a
/// loaded machine, far shorter than configure and compilation together.
const DEADLINE: &str = "60s";
/// The short test selection of the container cells.
const TESTS: &str = "test_int test_bool test_capi";

/// Debian 12's image: Ubuntu 24.04's with Debian's package names (GCC 12, clang 14) and no
/// apt.llvm.org (clang-19 is Ubuntu-only by rule). The digest is never pulled: the tests
/// replace the base with `--base-from`.
const DEBIAN_12: &str = r#"
base:
  image: docker.io/library/debian
  tag: "12"
  digest: sha256:17122fe3d66916e55c0cbd5bbf54bb3f87b3582f4d86a755a0fd3498d360f91b
package_manager: apt
packages:
  - purpose: tools the build script calls
    install: [bash, ca-certificates, coreutils, curl, findutils, grep, gzip, make, rsync, sed, tar]
  - purpose: CPython's build dependencies
    install: [libbz2-dev, libffi-dev, libgdbm-compat-dev, libgdbm-dev, liblzma-dev,
              libncurses-dev, libreadline-dev, libsqlite3-dev, libssl-dev, pkg-config, tk-dev,
              uuid-dev, zlib1g-dev]
  - purpose: GCC 12
    when: { compiler: gcc }
    install: [gcc, g++]
  - purpose: GCC 12's sanitizer runtimes
    when: { compiler: gcc, sanitizer: [asan, hwasan, tsan] }
    install: [libgcc-12-dev]
  - purpose: clang 14 and lld
    when: { compiler: clang }
    install: [clang-14, lld-14, clang, lld]
  - purpose: clang 14's sanitizer runtimes
    when: { compiler: clang, sanitizer: [asan, hwasan, tsan] }
    install: [libclang-rt-14-dev]
provides:
  bash: { commands: [bash] }
  coreutils:
    commands: [cat, cp, env, head, mkdir, mv, nproc, readlink, rm, rmdir, sha256sum, sort,
               tee, timeout, wc]
  curl: { commands: [curl] }
  findutils: { commands: [find] }
  grep: { commands: [grep] }
  gzip: { commands: [gzip] }
  make: { commands: [make] }
  rsync: { commands: [rsync] }
  sed: { commands: [sed] }
  tar: { commands: [tar] }
  gcc: { commands: [gcc] }
  g++: { commands: [g++] }
  libgcc-12-dev:
    files: [libasan.a, libasan.so, libhwasan.a, libhwasan.so, libtsan.a, libtsan.so]
    for_compilers: [gcc]
  clang: { commands: [clang, clang++] }
  lld: { commands: [ld.lld] }
  libclang-rt-14-dev:
    for_compilers: [clang]
    files: [libclang_rt.asan-aarch64.so, libclang_rt.asan-x86_64.so,
            libclang_rt.hwasan-aarch64.so, libclang_rt.hwasan-x86_64.so,
            libclang_rt.tsan-aarch64.so, libclang_rt.tsan-x86_64.so]
"#;

/// The built-in definition with `debian-12` (id token `d12`) and its image, CPython 3.13.5
/// (its .tar.xz and checksum) and a memory limit of 8Gi per container.
fn definition(dir: &Path) -> PathBuf {
    common::edited_definition(dir, |raw| {
        let os = raw.axes.iter_mut().find(|a| a.name == "os").unwrap();
        os.values.push(RawValue::Detailed(RawValueDetail {
            value: "debian-12".into(),
            id: Some("d12".into()),
        }));
        let python = raw.axes.iter_mut().find(|a| a.name == "python").unwrap();
        python.values.push(RawValue::Plain(VERSION.into()));
        raw.source
            .sha256
            .insert(VERSION.into(), TARBALL_SHA256.into());
        raw.source
            .format
            .insert(VERSION.into(), SourceFormat::TarXz);
        raw.workflow.as_mut().unwrap().memory_limit = Some("8Gi".into());
        let image: RawOsImage = serde_yaml::from_str(DEBIAN_12).unwrap();
        raw.images
            .as_mut()
            .unwrap()
            .os
            .insert("debian-12".into(), image);
    })
}

/// The definition, or `None` after a visible skip when podman or the base image is missing.
fn setup(test: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    common::tool(
        test,
        "podman",
        "apt-get install podman runc; see .ci/run",
        &[],
    )?;
    if !podman(&["image", "exists", BASE]).status.success() {
        common::skip(
            test,
            &format!("podman has no image {BASE} (debootstrap it as .ci/run does)"),
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = definition(dir.path());
    Some((dir, config))
}

/// The names of the containers, running or not, of the run in `run` (by the label `matrix run`
/// gives them): another run's leftovers on this machine are not this test's.
fn containers(run: &Path) -> String {
    let run = std::fs::canonicalize(run).unwrap();
    let filter = format!("label=io.github.cpython-matrix.run={}", run.display());
    let output = podman(&["ps", "--all", "--filter", &filter, "--format", "{{.Names}}"]);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn podman(args: &[&str]) -> std::process::Output {
    Command::new("podman").args(args).output().unwrap()
}

/// `matrix --config CONFIG ARGS...`, timed on stderr.
fn matrix(config: &Path, args: &[&str]) -> std::process::Output {
    let start = Instant::now();
    let output = common::matrix()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    eprintln!(
        "matrix {}: {:.1} s\n{}",
        args.join(" "),
        start.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Builds the debian-12 image (podman's layer cache makes a second build take seconds).
fn build(config: &Path) {
    let output = matrix(
        config,
        &[
            "images",
            "build",
            "--engine",
            "podman",
            "--only",
            "os=debian-12",
            "--base-from",
            BASE,
            "--registry",
            REGISTRY,
        ],
    );
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("debian-12\tlinux/amd64\t{IMAGE}\n")
    );
}

#[test]
#[ignore = "builds a container image (minutes); run with -- --ignored images_real"]
fn images_real_build_labels_the_base_and_verify_finds_everything() {
    let Some((_dir, config)) = setup("images_real_build") else {
        return;
    };
    build(&config);
    let labels = podman(&["image", "inspect", "--format", "{{json .Labels}}", IMAGE]);
    let labels: serde_json::Value = serde_json::from_slice(&labels.stdout).unwrap();
    assert_eq!(labels["org.opencontainers.image.base.name"], BASE);
    assert_eq!(
        labels["io.github.cpython-matrix.base-replaces"],
        "docker.io/library/debian:12@sha256:17122fe3d66916e55c0cbd5bbf54bb3f87b3582f4d86a755a0fd3498d360f91b"
    );
    let output = matrix(&config, &["images", "verify", IMAGE, "--engine", "podman"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    // Every amd64 cell of debian-12: 3 Python versions × the non-HWASan cells per version.
    assert!(
        stdout.starts_with(&format!("{IMAGE}: all "))
            && stdout.contains("cells of debian-12 (amd64)"),
        "{stdout}"
    );
}

#[test]
#[ignore = "builds a container image (minutes); run with -- --ignored images_real"]
fn images_real_verify_names_the_runtime_a_broken_image_lacks() {
    let Some((dir, config)) = setup("images_real_broken") else {
        return;
    };
    // The Dockerfile as rendered, with the group of clang's sanitizer runtimes removed: an
    // image built from an edited or outdated Dockerfile, which only --verify can see.
    let out = dir.path().join("dockerfiles");
    let output = matrix(&config, &["images", "--out", out.to_str().unwrap()]);
    assert!(output.status.success());
    let text = std::fs::read_to_string(out.join("debian-12.Dockerfile")).unwrap();
    let text = common::replace_once(&text, "        libclang-rt-14-dev \\\n", "");
    let broken = dir.path().join("broken.Dockerfile");
    std::fs::write(&broken, text).unwrap();
    let start = Instant::now();
    let status = Command::new("podman")
        .args([
            "build", "--format", "docker", "--from", BASE, "--tag", BROKEN, "--file",
        ])
        .arg(&broken)
        .arg(dir.path())
        .status()
        .unwrap();
    eprintln!(
        "podman build (broken): {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert!(status.success());

    let output = matrix(&config, &["images", "verify", BROKEN, "--engine", "podman"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "error: images lack what their cells use: {BROKEN} ({} of 165 cells)",
            stdout.lines().count()
        )),
        "{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty());
    for line in &lines {
        // Only clang's sanitizer cells lack something, and what they lack is its runtime.
        assert!(
            line.contains("-clang-")
                && line.contains(&format!(": {BROKEN} lacks runtime `libclang_rt.")),
            "{line}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with(
            "amd64-d12-py3.13.5-clang-asan-shared-pre-debug: localhost/broken/build-cpython:debian-12 lacks runtime `libclang_rt.asan.so` or `libclang_rt.asan-x86_64.so`"
        )),
        "{stdout}"
    );
    // Without LD_PRELOAD, clang's runtime is linked by the driver (-shared-libsan,
    // -static-libsan), which no script asks for by name: those cells are not listed.
    assert!(!stdout.contains("-clang-asan-static-debug"), "{stdout}");
    assert!(!stdout.contains("-clang-asan-shared-debug"), "{stdout}");
    assert!(stdout.contains("lacks runtime `libclang_rt.asan.so` or `libclang_rt.asan-x86_64.so` (asked `clang -print-file-name` and `-print-runtime-dir`)\n"), "{stdout}");
    let _ = podman(&["rmi", "--force", BROKEN]);
}

#[test]
#[ignore = "builds CPython for real in containers (minutes); run with -- --ignored images_real"]
fn images_real_asan_preload_cells_pass_in_their_image() {
    let Some((dir, config)) = setup("images_real_run") else {
        return;
    };
    let Some(tarball) = common::shared("images_real_run", "cpython/Python-3.13.5.tar.xz") else {
        return;
    };
    build(&config);
    let out = dir.path().join("run");
    let source = format!("{VERSION}={}", tarball.display());
    let cache = dir.path().join("cache");
    let output = matrix(
        &config,
        &[
            "run",
            "--engine",
            "podman",
            "--registry",
            REGISTRY,
            "--out",
            out.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
            "--source",
            &source,
            "--tests",
            TESTS,
            "-j",
            "2",
            "--only",
            "python=3.13.5",
            "--only",
            "os=debian-12",
            "--only",
            "platform=amd64",
            "--only",
            "compiler=gcc,clang",
            "--only",
            "sanitizer=asan",
            "--only",
            "san_link=shared",
            "--only",
            "preload=enabled",
            "--only",
            "configure=debug",
        ],
    );
    assert!(output.status.success());
    let mut reader = csv::Reader::from_path(out.join("results.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (result, engine) = (column("result"), column("engine"));
    let (canaries, blind) = (column("canaries"), column("blind"));
    let mut rows: Vec<[String; 5]> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            [0, result, engine, canaries, blind].map(|c| r[c].to_string())
        })
        .collect();
    rows.sort();
    // The default definition's ASan cells keep pymalloc: their sanitizer cannot see a small
    // heap object's overflow, and the canaries say so.
    let row = |cell: &str| {
        [
            cell,
            "Tests. Passed",
            "podman",
            "heap-overflow-small:missed heap-overflow-large:seen use-after-free:seen",
            "yes",
        ]
        .map(String::from)
    };
    assert_eq!(
        rows,
        [
            row("amd64-d12-py3.13.5-clang-asan-shared-pre-debug"),
            row("amd64-d12-py3.13.5-gcc-asan-shared-pre-debug"),
        ]
    );
    // The script ran in the image: Debian's os-release and the runtime from the image.
    let log = std::fs::read_to_string(
        out.join("logs/amd64-d12-py3.13.5-clang-asan-shared-pre-debug.log"),
    )
    .unwrap();
    assert!(log.contains("VERSION_CODENAME=bookworm"), "{log}");
    assert!(log.contains("/usr/lib/llvm-14/lib/clang/"), "{log}");
    // Containers are removed when their cells end.
    assert_eq!(containers(&out), "");
}

#[test]
#[ignore = "runs a container past its deadline; run with -- --ignored images_real"]
fn images_real_a_deadline_stops_the_container_and_records_the_timeout() {
    let Some((dir, config)) = setup("images_real_deadline") else {
        return;
    };
    let Some(tarball) = common::shared("images_real_deadline", "cpython/Python-3.13.5.tar.xz")
    else {
        return;
    };
    build(&config);
    let out = dir.path().join("run");
    let source = format!("{VERSION}={}", tarball.display());
    let cache = dir.path().join("cache");
    let output = matrix(
        &config,
        &[
            "run",
            "--engine",
            "podman",
            "--registry",
            REGISTRY,
            "--out",
            out.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
            "--source",
            &source,
            "--deadline",
            DEADLINE,
            "--only",
            "python=3.13.5",
            "--only",
            "os=debian-12",
            "--only",
            "platform=amd64",
            "--only",
            "compiler=gcc",
            "--only",
            "sanitizer=none",
            "--only",
            "configure=release",
        ],
    );
    assert!(output.status.success());
    // TERM reached the script inside the container: it recorded the stage it was in, with
    // TERM's status, and the result is that stage's timeout. Which stage the deadline finds
    // (configure or compilation) is the machine's speed, so the log says which to expect.
    let cell = "amd64-d12-py3.13.5-gcc-release";
    let log = std::fs::read_to_string(out.join(format!("logs/{cell}.log"))).unwrap();
    let stage = common::last_started_stage(&log).expect("no stage started");
    assert!(log.contains(" status=143 "), "{log}");
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(
        results.contains(&format!("{cell},")) && results.contains(&format!(",{stage}. Timeout,")),
        "{stage}: {results}"
    );
    assert_eq!(containers(&out), "");
}

#[test]
#[ignore = "interrupts a container run; run with -- --ignored images_real"]
fn images_real_ctrl_c_stops_and_removes_the_container() {
    let Some((dir, config)) = setup("images_real_ctrl_c") else {
        return;
    };
    let Some(tarball) = common::shared("images_real_ctrl_c", "cpython/Python-3.13.5.tar.xz") else {
        return;
    };
    build(&config);
    let out = dir.path().join("run");
    let child = Command::new(assert_cmd::cargo::cargo_bin("matrix"))
        .arg("--config")
        .arg(&config)
        .args(["run", "--engine", "podman", "--registry", REGISTRY, "--out"])
        .arg(&out)
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .arg("--source")
        .arg(format!("{VERSION}={}", tarball.display()))
        .args(["--only", "python=3.13.5", "--only", "os=debian-12"])
        .args(["--only", "platform=amd64", "--only", "compiler=gcc"])
        .args(["--only", "sanitizer=none", "--only", "configure=release"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = out.join("logs/amd64-d12-py3.13.5-gcc-release.log");
    // Starting a container on a loaded machine can take a while; what is tested is the stop.
    common::wait_until("configure to start", common::PATIENCE * 5, || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("stage-start stage=configure")
    });
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let stopped = Instant::now();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "stopped in {:.1} s\n{stderr}",
        stopped.elapsed().as_secs_f64()
    );
    assert!(!output.status.success());
    assert!(stderr.contains("interrupted"), "{stderr}");
    // A release build runs for many minutes after configure starts; a run that stopped its
    // cell ends within the stop grace (30 s) and podman's own stop, a run that did not, never.
    assert!(
        stopped.elapsed() < common::PATIENCE * 2,
        "{:?}",
        stopped.elapsed()
    );
    // The stopped cell's log is set aside (no result; --resume runs it again).
    assert!(out
        .join("interrupted/amd64-d12-py3.13.5-gcc-release.log")
        .exists());
    assert_eq!(containers(&out), "");
}
