//! Rendered scripts, run: a fake CPython tarball (its `configure` records arguments and
//! environment, its `make` builds a fake `./python`) and a fake `gcc` stand in for the real
//! thing, so the stages, markers, flags, failure recording and artifact collection of a real
//! script are observed without building CPython.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use matrix::cell::Cell;
use matrix::definition::Matrix;
use matrix::expand::{expand, ValueMask};
use matrix::plan::BuildPlan;
use matrix::render::Renderer;

use crate::common::write_executable;

const CONFIGURE: &str = r#"#!/bin/sh
printf '%s\n' "$@" > configure.args
env > configure.env
echo "configure: checking for a fake compiler... $CC"
if [ -n "${FAKE_CONFIGURE_FAIL:-}" ]; then
    echo "configure:1234: error: no acceptable C compiler found" > config.log
    exit 3
fi
cp Makefile.in Makefile
"#;

const MAKEFILE: &str =
    "all:\n\tcp fake-python python\n\ttouch Objects/obj.c.sarif Modules/mod.c.sarif\n";

/// With `-c`, a stand-in for a canary under ASan or TSan: pymalloc hides the small object
/// unless `PYTHONMALLOC=malloc`; `FAKE_CANARY_BROKEN` fails before the defect, and
/// `FAKE_CANARY_HANG` never ends.
const FAKE_PYTHON: &str = r#"#!/bin/sh
if [ "$1" = -c ]; then
    if [ -n "${FAKE_CANARY_BROKEN:-}" ]; then
        echo "ModuleNotFoundError: No module named '_ctypes'" >&2
        exit 1
    fi
    if [ -n "${UBSAN_OPTIONS:-}" ]; then echo "UBSAN_OPTIONS=$UBSAN_OPTIONS"; fi
    if [ -n "${FAKE_CANARY_EARLY:-}" ]; then
        echo "==1==ERROR: AddressSanitizer: heap-buffer-overflow at start-up" >&2
        exit 1
    fi
    echo "matrix-canary: reached"
    if [ -n "${FAKE_CANARY_HANG:-}" ]; then exec sleep 86400; fi
    if [ -n "${FAKE_CANARY_NO_NEWLINE:-}" ]; then printf 'no line break'; exit 0; fi
    case "$2" in
        *'bytearray(16)'*) [ "${PYTHONMALLOC:-}" = malloc ] || exit 0; kind=heap-buffer-overflow ;;
        *'del view'*) kind=heap-use-after-free ;;
        *'bytearray(8192)'*) kind=heap-buffer-overflow ;;
        *memset*) echo "WARNING: ThreadSanitizer: data race (pid=1)" >&2; exit 66 ;;
        *) exit 0 ;;
    esac
    echo "==1==ERROR: AddressSanitizer: $kind on address 0x602000000010" >&2
    echo "SUMMARY: AddressSanitizer: $kind" >&2
    exit 1
fi
if [ -n "${FAKE_REPORT_FILE:-}" ]; then
    # What a sanitizer's log_path does: a file per process, <path>.<pid>.
    path=${UBSAN_OPTIONS##*log_path=}
    echo "Objects/x.c:1:2: runtime error: load of misaligned address 0x1 for type 'int'" \
        > "${path%%:*}.4242"
fi
echo "ran-tests $*"
exit "${FAKE_TEST_STATUS:-0}"
"#;

const FAKE_GCC: &str = r#"#!/bin/sh
case "$1" in
    --version) echo "gcc (Fake) 14.1.0" ;;
    -print-file-name=*)
        name=${1#-print-file-name=}
        if [ -e "$FAKE_RUNTIME_DIR/$name" ]; then echo "$FAKE_RUNTIME_DIR/$name"; else echo "$name"; fi ;;
    *) exit 1 ;;
esac
"#;

pub(crate) struct Sandbox {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
}

impl Sandbox {
    /// A cache holding the fake source of `version`, a bin directory with the fake gcc, and a
    /// runtime directory with a stand-in libasan.so.
    pub(crate) fn new(version: &str) -> Self {
        Self::with_tree(version, MAKEFILE, &[])
    }

    /// Like [`Sandbox::new`], with another Makefile and more files in the source tree.
    fn with_tree(version: &str, makefile: &str, files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let tree = root.join("tree").join(format!("Python-{version}"));
        fs::create_dir_all(tree.join("Objects")).unwrap();
        fs::create_dir_all(tree.join("Modules")).unwrap();
        write_executable(&tree.join("configure"), CONFIGURE);
        write_executable(&tree.join("fake-python"), FAKE_PYTHON);
        fs::write(tree.join("Makefile.in"), makefile).unwrap();
        for (name, text) in files {
            fs::write(tree.join(name), text).unwrap();
        }
        fs::create_dir_all(root.join("cache")).unwrap();
        let status = Command::new("tar")
            .arg("-czf")
            .arg(root.join("cache").join(format!("Python-{version}.tgz")))
            .arg("-C")
            .arg(root.join("tree"))
            .arg(format!("Python-{version}"))
            .status()
            .unwrap();
        assert!(status.success());
        fs::create_dir_all(root.join("bin")).unwrap();
        write_executable(&root.join("bin").join("gcc"), FAKE_GCC);
        fs::create_dir_all(root.join("runtime")).unwrap();
        fs::write(
            root.join("runtime").join("libasan.so"),
            "not really a library",
        )
        .unwrap();
        Sandbox { _dir: dir, root }
    }

    /// The SHA-256 of the cached tarball (there is one), as `sha256sum` gives it.
    fn tarball_sha256(&self) -> String {
        let tarball = fs::read_dir(self.root.join("cache"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let out = Command::new("sha256sum").arg(&tarball).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        text.split_whitespace().next().unwrap().to_string()
    }

    pub(crate) fn run(&self, script: &str, env: &[(&str, &str)]) -> Output {
        self.command(script, env).output().unwrap()
    }

    /// `bash build.sh` of `script` in the sandbox, with its environment: what [`Sandbox::run`]
    /// runs, for a test that needs the process while it runs.
    fn command(&self, script: &str, env: &[(&str, &str)]) -> Command {
        let path = self.root.join("build.sh");
        write_executable(&path, script);
        let mut command = Command::new("bash");
        command
            .arg(&path)
            .current_dir(&self.root)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.root.join("bin").display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .env("MATRIX_CACHE_DIR", self.root.join("cache"))
            .env("MATRIX_WORK_DIR", self.root.join("work"))
            .env("MATRIX_ARTIFACT_DIR", self.root.join("artifacts"))
            .env("MATRIX_RESULT_FILE", self.root.join("result.json"))
            .env("MATRIX_JOBS", "1")
            .env("FAKE_RUNTIME_DIR", self.root.join("runtime"));
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }

    fn source_file(&self, version: &str, name: &str) -> String {
        fs::read_to_string(
            self.root
                .join("work/src")
                .join(format!("Python-{version}"))
                .join(name),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn result(&self) -> String {
        fs::read_to_string(self.root.join("result.json")).unwrap()
    }
}

pub(crate) fn script_for(id: &str) -> (Cell, String) {
    script_with(id, |_| {})
}

/// [`script_for`] with the built-in definition changed by `edit` first.
pub(crate) fn script_with(id: &str, edit: impl FnOnce(&mut Matrix)) -> (Cell, String) {
    let mut m = Matrix::builtin().unwrap();
    edit(&mut m);
    // The fake tarballs have checksums of their own.
    m.source.sha256.clear();
    let cell = expand(&m, &ValueMask::all(&m))
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no cell {id}"));
    let plan = BuildPlan::for_cell(&m, &cell).unwrap();
    let text = Renderer::builtin()
        .unwrap()
        .render(&m, &cell, &plan)
        .unwrap()
        .text;
    (cell, text)
}

/// The `::matrix::` marker lines of a log, without their timestamps.
fn markers(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("::matrix:: "))
        .map(|l| {
            l.rsplit_once(" time=")
                .map_or(l, |(head, _)| head)
                .to_string()
        })
        .collect()
}

fn env_var(env_dump: &str, name: &str) -> Option<String> {
    env_dump
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(String::from))
}

/// The round trip: what `matrix report` makes of a log this script wrote, as its result column.
fn classified(cell_id: &str, log: &[u8]) -> String {
    let rows = crate::common::report_of_log(cell_id, log);
    assert_eq!(rows.len(), 1, "one cell, one row");
    rows[0]["result"].clone()
}

#[test]
fn a_passing_cell_runs_every_stage_with_the_spec_flags() {
    let (cell, script) = script_for("amd64-u24.04-py3.12.4-gcc-asan-static-pre-debug");
    let sandbox = Sandbox::new("3.12.4");
    let out = sandbox.run(&script, &[]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        markers(&out.stdout),
        [
            "event=stage-start stage=setup",
            &format!(
                "event=fact name=source value=sha256:{}",
                sandbox.tarball_sha256()
            ),
            "event=fact name=compiler value=gcc (Fake) 14.1.0",
            "event=stage-end stage=setup status=0",
            "event=stage-start stage=configure",
            "event=stage-end stage=configure status=0",
            "event=stage-start stage=compile",
            "event=stage-end stage=compile status=0",
            "event=stage-start stage=canaries",
            "event=canary name=heap-overflow-small result=missed exit=0",
            "event=canary name=heap-overflow-large result=seen exit=1",
            "event=canary name=use-after-free result=seen exit=1",
            "event=stage-end stage=canaries status=0",
            "event=stage-start stage=tests",
            "event=stage-end stage=tests status=0",
            &format!("event=finish cell={} stage=tests status=0", cell.id),
        ]
    );
    assert_eq!(
        sandbox.source_file("3.12.4", "configure.args"),
        "--with-assertions\n--with-pydebug\n"
    );
    let env = sandbox.source_file("3.12.4", "configure.env");
    let flags = "-g -fsanitize=address -static-libasan";
    for name in ["CFLAGS", "CXXFLAGS", "CPPFLAGS"] {
        assert_eq!(env_var(&env, name).as_deref(), Some(flags), "{name}");
    }
    assert_eq!(
        env_var(&env, "LDFLAGS").as_deref(),
        Some("-fsanitize=address -static-libasan")
    );
    assert_eq!(env_var(&env, "CCFLAGS"), None);
    assert_eq!(env_var(&env, "CC").as_deref(), Some("gcc"));
    assert_eq!(env_var(&env, "CXX").as_deref(), Some("g++"));
    assert_eq!(
        env_var(&env, "ASAN_OPTIONS").as_deref(),
        Some("detect_leaks=0:allocator_may_return_null=1:handle_segv=0")
    );
    let runtime = fs::canonicalize(sandbox.root.join("runtime/libasan.so")).unwrap();
    assert_eq!(
        env_var(&env, "LD_PRELOAD").as_deref(),
        Some(runtime.to_str().unwrap())
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("ran-tests -m test -uall"), "{log}");
    assert!(
        log.contains("gcc (Fake) 14.1.0"),
        "the log names the compiler"
    );
    assert_eq!(
        sandbox.result(),
        format!(
            "{{\"cell\":\"{}\",\"stage\":\"tests\",\"status\":0}}\n",
            cell.id
        )
    );
    assert_eq!(classified(&cell.id, &out.stdout), "Tests. Passed");
}

#[test]
fn a_failing_configure_is_recorded_with_its_status_and_config_log() {
    let (cell, script) = script_for("amd64-u24.04-py3.12.4-gcc-default");
    let sandbox = Sandbox::new("3.12.4");
    let out = sandbox.run(&script, &[("FAKE_CONFIGURE_FAIL", "1")]);
    assert_eq!(out.status.code(), Some(3));
    let markers = markers(&out.stdout);
    assert_eq!(
        markers[markers.len() - 2],
        "event=stage-end stage=configure status=3"
    );
    assert_eq!(
        markers[markers.len() - 1],
        format!("event=finish cell={} stage=configure status=3", cell.id)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no acceptable C compiler found"));
    assert!(sandbox
        .result()
        .contains("\"stage\":\"configure\",\"status\":3"));
    assert_eq!(classified(&cell.id, &out.stdout), "Configure. Failed");
}

#[test]
fn a_failing_test_suite_is_recorded_as_a_tests_failure() {
    let (cell, script) = script_for("amd64-u24.04-py3.12.4-gcc-default");
    let sandbox = Sandbox::new("3.12.4");
    let out = sandbox.run(&script, &[("FAKE_TEST_STATUS", "2")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(markers(&out.stdout).contains(&"event=stage-end stage=tests status=2".to_string()));
    assert!(sandbox
        .result()
        .contains("\"stage\":\"tests\",\"status\":2"));
    assert_eq!(classified(&cell.id, &out.stdout), "Tests. Failed");
}

#[test]
fn an_analyzer_cell_skips_the_tests_and_collects_sarif_with_relative_paths() {
    let (cell, script) = script_for("amd64-f40-py3.13.0b4-gcc-analyzer-nogil");
    let sandbox = Sandbox::new("3.13.0b4");
    let out = sandbox.run(&script, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let markers = markers(&out.stdout);
    assert!(markers.contains(&"event=stage-skip stage=tests".to_string()));
    assert!(!markers
        .iter()
        .any(|m| m.contains("stage-start stage=tests")));
    assert_eq!(
        markers.last().unwrap(),
        &format!("event=finish cell={} stage=collect status=0", cell.id)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ran-tests"));
    let env = sandbox.source_file("3.13.0b4", "configure.env");
    assert_eq!(
        env_var(&env, "CFLAGS").as_deref(),
        Some("-fanalyzer -fdiagnostics-format=sarif-file")
    );
    assert_eq!(
        sandbox.source_file("3.13.0b4", "configure.args"),
        "--disable-gil\n"
    );
    for file in ["Objects/obj.c.sarif", "Modules/mod.c.sarif"] {
        let path = sandbox
            .root
            .join("artifacts/src/Python-3.13.0b4")
            .join(file);
        assert!(path.is_file(), "{} was not collected", path.display());
    }
}

#[test]
fn a_missing_sanitizer_runtime_fails_setup_with_a_clear_message() {
    let (_, script) = script_for("amd64-u24.04-py3.12.4-gcc-asan-static-pre-debug");
    let sandbox = Sandbox::new("3.12.4");
    fs::remove_file(sandbox.root.join("runtime/libasan.so")).unwrap();
    let out = sandbox.run(&script, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("gcc knows no sanitizer runtime named libasan.so"));
    assert!(markers(&out.stdout).contains(&"event=stage-end stage=setup status=1".to_string()));
}

#[test]
fn a_wrong_checksum_stops_the_build_before_configure() {
    let mut raw =
        matrix::definition::RawDefinition::from_yaml(matrix::definition::BUILTIN_DEFINITION, "t")
            .unwrap();
    raw.source.sha256.insert("3.12.4".into(), "0".repeat(64));
    let m = Matrix::compile(raw, "t").unwrap();
    let cell = expand(&m, &ValueMask::all(&m))
        .unwrap()
        .into_iter()
        .find(|c| c.id == "amd64-u24.04-py3.12.4-gcc-default")
        .unwrap();
    let plan = BuildPlan::for_cell(&m, &cell).unwrap();
    let script = Renderer::builtin()
        .unwrap()
        .render(&m, &cell, &plan)
        .unwrap()
        .text;
    let sandbox = Sandbox::new("3.12.4");
    let out = sandbox.run(&script, &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("does not have the SHA-256 the matrix definition gives"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(markers(&out.stdout)
        .iter()
        .any(|m| m.starts_with("event=stage-end stage=setup status=")));
    assert!(!markers(&out.stdout)
        .iter()
        .any(|m| m.contains("stage=configure")));
}

/// With the real gcc (no stand-in on PATH): the script's CFLAGS and LDFLAGS build a real ASan
/// binary, LD_PRELOAD holds the real runtime, and a heap overflow in "the test suite" is caught.
#[test]
fn a_real_gcc_builds_a_real_asan_binary_with_the_scripts_flags() {
    let has_asan = Command::new("gcc")
        .arg("-print-file-name=libasan.so")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).starts_with('/'))
        .unwrap_or(false);
    if !has_asan {
        crate::common::skip(
            "a_real_gcc_builds_a_real_asan_binary_with_the_scripts_flags",
            "gcc with libasan is not installed",
        );
        return;
    }
    let makefile = "all:\n\t$(CC) $(CFLAGS) overflow.c -o python $(LDFLAGS)\n";
    let overflow = "#include <stdlib.h>\nint main(int argc, char **argv) { char *p = malloc(4); p[argc + 8] = 1; return p[0]; }\n";
    let sandbox = Sandbox::with_tree("3.12.4", makefile, &[("overflow.c", overflow)]);
    fs::remove_file(sandbox.root.join("bin/gcc")).unwrap();
    let (_, script) = script_for("amd64-u24.04-py3.12.4-gcc-asan-shared-pre-default");
    let out = sandbox.run(&script, &[]);
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("ERROR: AddressSanitizer: heap-buffer-overflow"),
        "{log}"
    );
    assert!(
        markers(&out.stdout).contains(&"event=stage-end stage=compile status=0".to_string()),
        "{log}"
    );
    let env = sandbox.source_file("3.12.4", "configure.env");
    let preload = env_var(&env, "LD_PRELOAD").unwrap();
    assert!(preload.contains("libasan.so"), "{preload}");
    assert!(sandbox.result().contains("\"stage\":\"tests\""));
}

/// Argo's deadline sends TERM: the script records the stage it was in with status 143 at
/// once, and stops the test suite, instead of waiting for the suite to finish. The fake test
/// suite blocks for a day, so a script that waited for it is told from one that did not by
/// whether it ends at all, not by how fast.
#[test]
fn with_a_log_file_the_whole_output_is_in_it_too() {
    let (cell, script) = script_for("amd64-u24.04-py3.12.4-gcc-default");
    let sandbox = Sandbox::new("3.12.4");
    let file = sandbox.root.join("matrix.log");
    let out = sandbox.run(
        &script,
        &[
            ("FAKE_TEST_STATUS", "2"),
            ("MATRIX_LOG_FILE", file.to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    // stderr joins stdout, in order, in both.
    assert!(out.stderr.is_empty());
    assert_eq!(fs::read(&file).unwrap(), out.stdout);
    assert_eq!(classified(&cell.id, &out.stdout), "Tests. Failed");
}

#[test]
fn a_term_signal_records_the_stage_it_interrupts() {
    use crate::common;

    let blocked_python = "#!/bin/sh\nsleep 86400\n";
    let sandbox = Sandbox::with_tree("3.12.4", MAKEFILE, &[]);
    // Replace the fake python the Makefile copies with one that hangs.
    let tree = sandbox.root.join("tree/Python-3.12.4");
    write_executable(&tree.join("fake-python"), blocked_python);
    let status = Command::new("tar")
        .arg("-czf")
        .arg(sandbox.root.join("cache/Python-3.12.4.tgz"))
        .arg("-C")
        .arg(sandbox.root.join("tree"))
        .arg("Python-3.12.4")
        .status()
        .unwrap();
    assert!(status.success());
    let (cell, script) = script_for("amd64-u24.04-py3.12.4-gcc-default");
    // With the script's own log file, as in an Argo pod: it must hold the end too.
    let file = sandbox.root.join("matrix.log");
    let mut child = sandbox
        .command(&script, &[("MATRIX_LOG_FILE", file.to_str().unwrap())])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = common::lines_of(child.stdout.take().unwrap());
    let mut log = common::wait_for_line(&lines, "::matrix:: event=stage-start stage=tests");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let Some(status) = common::exited_within_patience(&mut child) else {
        let _ = child.kill();
        common::assert_no_processes_inside(&sandbox.root);
        panic!("the script waited for the test suite");
    };
    // The exit trap stopped the suite's process group: nothing may be left of it.
    common::assert_no_processes_inside(&sandbox.root);
    // The suite is gone, so its end of the pipe is closed too: the log is complete.
    log.extend(lines.iter());
    assert_eq!(status.code(), Some(143), "{log:#?}");
    let markers = markers(log.join("\n").as_bytes());
    assert_eq!(
        markers[markers.len() - 2],
        "event=stage-end stage=tests status=143"
    );
    assert_eq!(
        markers[markers.len() - 1],
        format!("event=finish cell={} stage=tests status=143", cell.id)
    );
    assert_eq!(
        classified(&cell.id, log.join("\n").as_bytes()),
        "Tests. Timeout"
    );
    let in_file = self::markers(&fs::read(&file).unwrap());
    assert_eq!(in_file.last(), markers.last());
}
