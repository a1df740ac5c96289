//! `matrix run --engine host --source VERSION=...` with a fake CPython (configure and make are
//! small scripts, `./python -m test` prints its arguments): a git checkout, an unpacked tree and
//! a tarball as a cell's source, their identities in the log, a branch version on the python
//! axis, and the sources a run refuses before it makes its run directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::write_executable;

/// Says which tree it is; with FAKE_SLEEP, takes that long (a child of its own, as configure's
/// compiler runs are).
const CONFIGURE: &str = r#"#!/bin/sh
echo "configure: fake $(cat VERSION)"
if [ -n "${FAKE_SLEEP:-}" ]; then
    sleep "$FAKE_SLEEP"
fi
cp Makefile.in Makefile
"#;
const FAKE_PYTHON: &str = "#!/bin/sh\necho \"ran-tests $*\"\n";
const FAKE_GCC: &str = "#!/bin/sh\n[ \"$1\" = --version ] && echo 'gcc (Fake) 14.1.0'\nexit 0\n";
/// One cell per version: gcc, no sanitizer, default configure.
const SELECTION: [&str; 10] = [
    "--only",
    "platform=amd64",
    "--only",
    "os=ubuntu-24.04",
    "--only",
    "compiler=gcc",
    "--only",
    "sanitizer=none",
    "--only",
    "configure=default",
];

struct Sources {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

/// A fake CPython tree at `dir` saying `version` when configured.
fn fake_tree(dir: &Path, version: &str) {
    fs::create_dir_all(dir).unwrap();
    write_executable(&dir.join("configure"), CONFIGURE);
    write_executable(&dir.join("fake-python"), FAKE_PYTHON);
    fs::write(dir.join("Makefile.in"), "all:\n\tcp fake-python python\n").unwrap();
    fs::write(dir.join("VERSION"), format!("{version}\n")).unwrap();
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Sources {
    /// The built-in definition with `main` and `3.14` on the python axis and no checksums.
    fn new() -> Sources {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        fs::create_dir_all(root.join("bin")).unwrap();
        write_executable(&root.join("bin/gcc"), FAKE_GCC);
        let init = crate::common::matrix()
            .arg("init")
            .arg(root.join("full.yaml"))
            .output()
            .unwrap();
        assert!(init.status.success(), "{init:?}");
        let mut raw: serde_yaml::Value =
            serde_yaml::from_str(&fs::read_to_string(root.join("full.yaml")).unwrap()).unwrap();
        raw["source"].as_mapping_mut().unwrap().remove("sha256");
        let axes = raw["axes"].as_sequence_mut().unwrap();
        let python = axes.iter_mut().find(|a| a["name"] == "python").unwrap();
        let values = python["values"].as_sequence_mut().unwrap();
        values.push("main".into());
        values.push("3.14".into());
        let config = root.join("matrix.yaml");
        fs::write(&config, serde_yaml::to_string(&raw).unwrap()).unwrap();
        Sources {
            _dir: dir,
            root,
            config,
        }
    }

    fn run(&self, out: &str, args: &[&str]) -> Output {
        crate::common::matrix()
            .current_dir(&self.root)
            .arg("--config")
            .arg(&self.config)
            .args(["run", "--engine", "host", "--out", out, "--cache", "cache"])
            .args(SELECTION)
            .args(args)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.root.join("bin").display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .output()
            .unwrap()
    }

    fn log(&self, out: &str, cell: &str) -> String {
        fs::read_to_string(self.root.join(out).join("logs").join(format!("{cell}.log"))).unwrap()
    }

    fn result(&self, out: &str, cell: &str) -> String {
        let mut reader = csv::Reader::from_path(self.root.join(out).join("results.csv")).unwrap();
        let header = reader.headers().unwrap().clone();
        let col = header.iter().position(|h| h == "result").unwrap();
        reader
            .records()
            .map(|r| r.unwrap())
            .find(|r| &r[0] == cell)
            .map(|r| r[col].to_string())
            .unwrap_or_else(|| panic!("no result for {cell}"))
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const MAIN_CELL: &str = "amd64-u24.04-pymain-gcc-default";

#[test]
fn a_git_checkout_builds_with_its_working_tree_and_commit_recorded() {
    let s = Sources::new();
    let checkout = s.root.join("cpython");
    fake_tree(&checkout, "committed");
    git(&checkout, &["init", "-q"]);
    fs::write(checkout.join(".gitignore"), "/build-output\n").unwrap();
    git(&checkout, &["add", "."]);
    git(&checkout, &["commit", "-qm", "fake"]);
    let commit = git(&checkout, &["rev-parse", "HEAD"]);
    let source = format!("main={}", checkout.display());

    let out = s.run("clean", &["--only", "python=main", "--source", &source]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = s.log("clean", MAIN_CELL);
    assert!(
        log.contains(&format!("Source of CPython main: git:{commit}\n")),
        "{log}"
    );
    assert!(log.contains("configure: fake committed"), "{log}");
    assert_eq!(s.result("clean", MAIN_CELL), "Tests. Passed");

    // A change in the working tree is built, and the identity says so; an ignored file (a
    // build output) stays out of the source.
    fs::write(checkout.join("VERSION"), "edited\n").unwrap();
    fs::write(checkout.join("build-output"), "stale\n").unwrap();
    let out = s.run("dirty", &["--only", "python=main", "--source", &source]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = s.log("dirty", MAIN_CELL);
    assert!(
        log.contains(&format!("Source of CPython main: git:{commit}+dirty\n")),
        "{log}"
    );
    assert!(log.contains("configure: fake edited"), "{log}");
    let tarballs: Vec<PathBuf> = fs::read_dir(s.root.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(tarballs.len(), 2, "one tarball per tree: {tarballs:?}");
    for tarball in tarballs {
        let list = Command::new("tar")
            .arg("-tf")
            .arg(&tarball)
            .output()
            .unwrap();
        let list = String::from_utf8(list.stdout).unwrap();
        assert!(
            list.lines().all(|m| m.starts_with("Python-main/")),
            "{list}"
        );
        assert!(
            !list.contains(".git/") && !list.contains("build-output"),
            "{list}"
        );
    }
}

#[test]
fn an_unpacked_tree_and_a_tarball_are_identified_by_sha256() {
    let s = Sources::new();
    let tree = s.root.join("unpacked");
    fake_tree(&tree, "unpacked");
    let out = s.run(
        "tree",
        &[
            "--only",
            "python=3.14",
            "--source",
            &format!("3.14={}", tree.display()),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let cell = "amd64-u24.04-py3.14-gcc-default";
    let log = s.log("tree", cell);
    let cached: Vec<PathBuf> = fs::read_dir(s.root.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let digest = sha256(&cached[0]);
    assert!(
        log.contains(&format!("Source of CPython 3.14: tree:{digest}\n")),
        "{log}"
    );
    assert!(log.contains("configure: fake unpacked"), "{log}");

    // A release's tarball given with --source: its SHA-256 is its identity.
    let pinned = s.root.join("pinned");
    fake_tree(&pinned.join("Python-3.12.4"), "tarball");
    let tarball = s.root.join("Python-3.12.4.tgz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&pinned)
        .arg("Python-3.12.4")
        .status()
        .unwrap();
    assert!(status.success());
    let out = s.run(
        "tarball",
        &[
            "--only",
            "python=3.12.4",
            "--source",
            &format!("3.12.4={}", tarball.display()),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log = s.log("tarball", "amd64-u24.04-py3.12.4-gcc-default");
    let digest = sha256(&tarball);
    assert!(
        log.contains(&format!("Source of CPython 3.12.4: sha256:{digest}\n")),
        "{log}"
    );
}

#[test]
fn a_refused_source_leaves_no_run_directory_and_names_every_fault() {
    let s = Sources::new();
    // A branch without --source, and a --source of nothing: both said at once.
    let out = s.run(
        "refused",
        &[
            "--only",
            "python=main,3.14",
            "--source",
            "3.14=/nowhere/cpython",
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("--source 3.14=/nowhere/cpython: no such file or directory")
            && err.contains("CPython main is a branch")
            && err.contains("--source main=DIR"),
        "{err}"
    );
    assert!(!s.root.join("refused").exists(), "{err}");

    // A tree configured in place.
    let built = s.root.join("built");
    fake_tree(&built, "built");
    fs::write(built.join("Makefile"), "all:\n").unwrap();
    let out = s.run(
        "refused",
        &[
            "--only",
            "python=main",
            "--source",
            &format!("main={}", built.display()),
        ],
    );
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("configured in place"),
        "{err}"
    );
    assert!(!s.root.join("refused").exists(), "{err}");
}

#[test]
fn a_branch_cell_renders_and_its_script_fails_in_setup_without_a_source() {
    let s = Sources::new();
    let out = crate::common::matrix()
        .current_dir(&s.root)
        .arg("--config")
        .arg(&s.config)
        .args(["render", "--out", "scripts", "--only", "python=main"])
        .args(SELECTION)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let script = s.root.join("scripts").join(format!("{MAIN_CELL}.sh"));
    let run = Command::new("bash")
        .arg(&script)
        .env("MATRIX_CACHE_DIR", s.root.join("cache"))
        .env("MATRIX_WORK_DIR", s.root.join("work"))
        .env("MATRIX_ARTIFACT_DIR", s.root.join("artifacts"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), stderr(&run));
    assert!(
        text.contains("CPython main is a branch")
            && text.contains("matrix run --source main=DIR")
            && text
                .contains("event=finish cell=amd64-u24.04-pymain-gcc-default stage=setup status=1"),
        "{text}"
    );
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn a_run_of_the_whole_matrix_without_a_selection_asks_for_all() {
    let s = Sources::new();
    let out = crate::common::matrix()
        .current_dir(&s.root)
        .args(["run", "--engine", "host", "--out", "run"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(
        err.contains("no selection, and the definition has ")
            && err.contains("(more than 40): add --all"),
        "{err}"
    );
    assert!(!s.root.join("run").exists());
}

/// The real 3.13.5 tree, unpacked from `../shared/cpython/`, given as a directory: one gcc debug
/// build without a sanitizer, a smoke selection, and the tree's identity in the log. Ignored by
/// a plain `cargo test` (minutes); `cargo test --test it -- --ignored run_cpython` runs it.
#[test]
#[ignore = "builds CPython for real (minutes); run with -- --ignored run_cpython"]
fn run_cpython_from_an_unpacked_tree_records_the_trees_identity() {
    let test = "run_cpython_from_an_unpacked_tree";
    let Some(tarball) = crate::common::shared(test, "cpython/Python-3.13.5.tar.xz") else {
        return;
    };
    let s = Sources::new();
    let unpacked = s.root.join("unpacked");
    fs::create_dir_all(&unpacked).unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(&tarball)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success());
    // 3.13.5 on the python axis, without a checksum: a tree has none (its identity is the
    // SHA-256 of the tarball made of it), and the definition's would be python.org's .tgz's.
    let mut raw: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(&s.config).unwrap()).unwrap();
    let axes = raw["axes"].as_sequence_mut().unwrap();
    let python = axes.iter_mut().find(|a| a["name"] == "python").unwrap();
    python["values"]
        .as_sequence_mut()
        .unwrap()
        .push("3.13.5".into());
    fs::write(&s.config, serde_yaml::to_string(&raw).unwrap()).unwrap();
    let source = format!("3.13.5={}", unpacked.join("Python-3.13.5").display());
    let start = std::time::Instant::now();
    let out = crate::common::matrix()
        .current_dir(&s.root)
        .arg("--config")
        .arg(&s.config)
        .args([
            "run", "--engine", "host", "--out", "real", "--cache", "cache",
        ])
        .args(["--only", "platform=amd64", "--only", "os=ubuntu-24.04"])
        .args(["--only", "python=3.13.5", "--only", "compiler=gcc"])
        .args(["--only", "sanitizer=none", "--only", "configure=debug"])
        .args(["--source", &source, "--tests", "test_int test_bool"])
        .output()
        .unwrap();
    eprintln!("{test}: {:.0?}\n{}", start.elapsed(), stderr(&out));
    assert!(out.status.success(), "{}", stderr(&out));
    let cell = "amd64-u24.04-py3.13.5-gcc-debug";
    assert_eq!(s.result("real", cell), "Tests. Passed");
    let made: Vec<PathBuf> = fs::read_dir(s.root.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tar"))
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let log = s.log("real", cell);
    assert!(
        log.contains(&format!(
            "Source of CPython 3.13.5: tree:{}\n",
            sha256(&made[0])
        )),
        "{log}"
    );
}

#[test]
fn a_cell_that_fails_before_configure_is_setup_failed_with_its_cause() {
    let s = Sources::new();
    // A branch's tarball whose top directory is not Python-main: the script cannot enter it.
    let other = s.root.join("other");
    fake_tree(&other.join("cpython-main"), "x");
    let tarball = s.root.join("cpython-main.tgz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&other)
        .arg("cpython-main")
        .status()
        .unwrap();
    assert!(status.success());
    let source = format!("main={}", tarball.display());
    let out = s.run("setup", &["--only", "python=main", "--source", &source]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(s.result("setup", MAIN_CELL), "Setup. Failed");
    let cause = column(&s, "setup", "cause");
    assert!(
        cause.contains("failed during setup") && cause.contains("Python-main"),
        "{cause}"
    );
}

#[test]
fn a_deadline_the_run_enforces_is_written_into_the_log() {
    let s = Sources::new();
    let tree = s.root.join("slow");
    fake_tree(&tree, "slow");
    let source = format!("main={}", tree.display());
    let out = crate::common::matrix()
        .current_dir(&s.root)
        .arg("--config")
        .arg(&s.config)
        .args([
            "run", "--engine", "host", "--out", "late", "--cache", "cache",
        ])
        .args(SELECTION)
        .args([
            "--only",
            "python=main",
            "--source",
            &source,
            "--deadline",
            "2s",
        ])
        .env("FAKE_SLEEP", "60")
        .env(
            "PATH",
            format!(
                "{}:{}",
                s.root.join("bin").display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(s.result("late", MAIN_CELL), "Configure. Timeout");
    let log = s.log("late", MAIN_CELL);
    assert!(
        log.contains("\nmatrix run: the deadline of 2s was reached: stopping the cell"),
        "{log}"
    );
    let cause = column(&s, "late", "cause");
    assert_eq!(cause, "deadline of 2s hit (matrix run) during configure");
}

/// A column of the first row of a run's results.csv.
fn column(s: &Sources, out: &str, name: &str) -> String {
    let mut reader = csv::Reader::from_path(s.root.join(out).join("results.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let at = header.iter().position(|h| h == name).expect("the column");
    row[at].to_string()
}

#[test]
fn a_failed_download_leaves_no_run_directory() {
    let s = Sources::new();
    let mut raw: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(&s.config).unwrap()).unwrap();
    raw["source"]["base_url"] = "file:///nonexistent/matrix-test".into();
    fs::write(&s.config, serde_yaml::to_string(&raw).unwrap()).unwrap();
    let out = s.run("offline", &["--only", "python=3.12.4"]);
    let err = stderr(&out);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(
        err.contains("cannot download file:///nonexistent/matrix-test/3.12.4/Python-3.12.4.tgz")
            && err.contains("--source 3.12.4=PATH"),
        "{err}"
    );
    assert!(!s.root.join("offline").exists());
}
