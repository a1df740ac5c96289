//! `matrix run`'s lifecycle against a hostile trial (issue 27): what a killed or hung-up run
//! leaves running, two runs in one directory, a resume with another selection, links inside
//! the run directory, refused starts, engine failures, the engine probe. On the fake CPython
//! of [`crate::run_cli`], in seconds.

use std::fs;

use crate::common;
use crate::run_cli::{signal, stderr, wait_for_exit, Sandbox};

/// One cell (gcc debug), the sandbox's fastest run.
const ONE: [&str; 2] = ["--only", "configure=debug"];

/// Asserts `out` is a refusal: exit 2, nothing on stdout, `needle` in its error; returns it.
fn refusal(out: &std::process::Output, needle: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "a refusal printed on stdout: {err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
    err
}

#[test]
fn a_second_run_in_a_locked_run_directory_is_refused_naming_the_first() {
    let sb = Sandbox::new();
    let mut first = sb.spawn(
        &["--out", "run", "-j", "1", ONE[0], ONE[1]],
        &[("FAKE_SLEEP", "300")],
    );
    sb.wait_for_configure("run", &mut first);
    let out = sb.run(&["--out", "run", "--resume", ONE[0], ONE[1]], &[]);
    let err = refusal(&out, "another `matrix` works in this run directory");
    assert!(err.contains(&format!("pid={}", first.id())), "{err}");
    assert!(
        err.contains("started=") && err.contains("command="),
        "{err}"
    );
    // The first run was not disturbed: its cell is still configuring, in its own log.
    assert!(first.try_wait().unwrap().is_none(), "the first run ended");
    signal(&first, libc::SIGINT);
    assert!(!wait_for_exit(&mut first).success());
    common::assert_no_processes_inside(&sb.root);
    // Once the first has ended, the lock is free.
    let out = sb.run(&["--out", "run", "--resume", ONE[0], ONE[1]], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn links_inside_a_run_directory_are_refused_and_nothing_outside_is_touched() {
    let sb = Sandbox::new();
    let out = sb.run(&["--out", "run", ONE[0], ONE[1], "--keep-work"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = sb.root.join("run");
    let outside = sb.root.join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("precious"), "mine").unwrap();
    let cell = &sb.results("run")[0].0;
    for name in [
        "work".to_string(),
        "logs".into(),
        "scripts".into(),
        "artifacts".into(),
        format!("work/{cell}"),
        format!("logs/{cell}.log"),
        "results.csv".into(),
    ] {
        let path = run.join(&name);
        let aside = sb.root.join("aside");
        if path.exists() {
            fs::rename(&path, &aside).unwrap();
        }
        let target = if name.ends_with(".log") || name.ends_with(".csv") {
            outside.join("precious")
        } else {
            outside.clone()
        };
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let out = sb.run(&["--out", "run", "--rerun", "any", ONE[0], ONE[1]], &[]);
        let err = refusal(&out, "is a symbolic link");
        assert!(err.contains(&format!("run/{name} is")), "{name}: {err}");
        assert_eq!(
            fs::read_to_string(outside.join("precious")).unwrap(),
            "mine",
            "{name}"
        );
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1, "{name}");
        fs::remove_file(&path).unwrap();
        if aside.exists() {
            fs::rename(&aside, &path).unwrap();
        }
    }
}

/// A podman whose `info` never answers, and leaves a helper of its own behind (as a client
/// stuck on its engine may).
const HANGING_PODMAN: &str = r#"#!/bin/sh
if [ "$1" = info ]; then
    sleep 300 &
    sleep 300
fi
exit 0
"#;

#[test]
fn an_engine_probe_that_does_not_answer_is_killed_with_everything_it_started() {
    let sb = Sandbox::new();
    common::write_executable(&sb.root.join("bin/podman"), HANGING_PODMAN);
    let out = sb
        .command_on("podman", &["--out", "run", ONE[0], ONE[1]], &[])
        .output()
        .unwrap();
    refusal(
        &out,
        "--engine podman: podman does not answer (`podman info` gave no answer in 15s)",
    );
    assert!(
        !sb.root.join("run").exists(),
        "a refused start made its run directory"
    );
    common::assert_no_processes_inside(&sb.root);
}

#[test]
fn a_hang_up_stops_the_run_as_term_does() {
    let sb = Sandbox::new();
    let mut child = sb.spawn(&["--out", "run", "-j", "2"], &[("FAKE_SLEEP", "300")]);
    sb.wait_for_configure("run", &mut child);
    signal(&child, libc::SIGHUP);
    let status = wait_for_exit(&mut child);
    assert_eq!(status.code(), Some(2), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("interrupted"), "{err}");
    common::assert_no_processes_inside(&sb.root);
    assert!(sb.results("run").iter().all(|(_, r)| r == "Missing"));
    assert_eq!(
        fs::read_dir(sb.root.join("run/interrupted"))
            .unwrap()
            .count(),
        2
    );
    assert_eq!(fs::read_dir(sb.root.join("run/work")).unwrap().count(), 0);
}

/// SIGKILL to `matrix run` while its cell is configuring; returns the cell's id.
fn kill_while_configuring(sb: &Sandbox, env: &[(&str, &str)], needle: &str) -> String {
    let mut child = sb.spawn(&["--out", "run", "-j", "1", ONE[0], ONE[1]], env);
    sb.wait_for("run", &mut child, needle);
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    let running: Vec<_> = fs::read_dir(sb.root.join("run/running"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        running.len(),
        1,
        "the running cell is recorded: {running:?}"
    );
    running[0].clone()
}

#[test]
fn a_killed_run_takes_its_cells_with_it_and_resume_runs_them_again() {
    let sb = Sandbox::new();
    let cell = kill_while_configuring(
        &sb,
        &[("FAKE_SLEEP", "300")],
        "configure: checking for a fake compiler",
    );
    // Nothing of the cell outlives matrix (its configure would sleep for 5 minutes): its
    // script got TERM when matrix died and stopped its stage's group.
    common::assert_no_processes_inside(&sb.root);
    // The stage the kill stopped is no result: the cell runs again, its log set aside.
    let out = sb.run(&["--out", "run", "--resume", ONE[0], ONE[1]], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{cell}: was running when an earlier `matrix run` was killed"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sb.results("run"),
        [(cell.clone(), "Tests. Passed".to_string())]
    );
    // The killed run's log, kept for reading: it got as far as configure. (Whether the script
    // also wrote its stop markers, it usually does, is not asserted: on a loaded machine it
    // was seen to end without them; see the issue's report.)
    let aside =
        fs::read_to_string(sb.root.join("run/interrupted").join(format!("{cell}.log"))).unwrap();
    assert!(
        aside.contains("configure: checking for a fake compiler"),
        "{aside}"
    );
    assert_eq!(
        fs::read_dir(sb.root.join("run/running")).unwrap().count(),
        0
    );
    assert_eq!(fs::read_dir(sb.root.join("run/work")).unwrap().count(), 0);
}

#[test]
fn resume_stops_what_a_killed_run_left_that_ignores_term() {
    let sb = Sandbox::new();
    let cell = kill_while_configuring(&sb, &[("FAKE_HANG_CC", "1")], "fake gcc hangs");
    // The cell ignores TERM: it is still there when the run is resumed.
    assert!(!common::processes_inside(&sb.root).is_empty());
    let out = sb.run(&["--out", "run", "--resume", ONE[0], ONE[1]], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{cell}: was running when an earlier `matrix run` was killed; 3 process(es)"
        )),
        "{}",
        stderr(&out)
    );
    assert!(common::processes_inside(&sb.root).is_empty());
    assert_eq!(sb.results("run"), [(cell, "Tests. Passed".to_string())]);
}

/// A podman that answers and has every image, but cannot make a container: what podman says
/// of a mount it cannot parse.
const FAILING_PODMAN: &str = r#"#!/bin/sh
case "$1" in
    run)
        echo "Error: incorrect volume format, should be [host-dir:]ctr-dir[:option]" >&2
        exit 125 ;;
esac
exit 0
"#;

#[test]
fn an_engine_that_cannot_run_a_cell_is_an_infrastructure_error_not_a_result() {
    let sb = Sandbox::new();
    common::write_executable(&sb.root.join("bin/podman"), FAILING_PODMAN);
    let out = sb
        .command_on(
            "podman",
            &[
                "--out",
                "run",
                "-j",
                "1",
                "--only",
                "configure=debug,release",
            ],
            &[],
        )
        .output()
        .unwrap();
    let err = refusal(
        &out,
        "podman could not run its script (`podman run` exited 125",
    );
    assert!(err.contains("Error: incorrect volume format"), "{err}");
    assert!(
        err.contains("error: cell amd64-u24.04-py3.13.0b4-gcc-") && err.contains("image "),
        "{err}"
    );
    assert!(err.contains("--resume --out run"), "{err}");
    // No cell result: the failed cell and the one never started are Missing, not Unknown.
    let results = sb.results("run");
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|(_, r)| r == "Missing"), "{results:?}");
}

#[test]
fn a_path_a_container_engine_cannot_mount_is_refused_before_anything_runs() {
    let sb = Sandbox::new();
    common::write_executable(&sb.root.join("bin/podman"), FAILING_PODMAN);
    let out = sb
        .command_on("podman", &["--out", "run:1", ONE[0], ONE[1]], &[])
        .output()
        .unwrap();
    let err = refusal(&out, "--out ");
    assert!(
        err.contains("run:1: podman mounts it") && err.contains("cannot hold a `:`"),
        "{err}"
    );
    assert!(!sb.root.join("run:1").exists());
}

#[test]
fn resume_with_another_selection_is_refused_and_the_run_is_left_as_it_was() {
    let sb = Sandbox::new();
    let out = sb.run(&["--out", "run", ONE[0], ONE[1]], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = sb.root.join("run");
    let before = |name: &str| fs::read(run.join(name)).unwrap();
    let (index, results) = (before("index.csv"), before("results.csv"));
    let scripts = fs::read_dir(run.join("scripts")).unwrap().count();
    for other in [
        ["--only", "configure=debug,release"],
        ["--only", "configure=release"],
    ] {
        let out = sb.run(&["--out", "run", "--resume", other[0], other[1]], &[]);
        let err = refusal(
            &out,
            "--resume: the selection is not the cells of the run in run",
        );
        assert!(
            err.contains("it adds 1 cell(s) (first: amd64-u24.04-py3.13.0b4-gcc-"),
            "{err}"
        );
        assert_eq!(before("index.csv"), index);
        assert_eq!(before("results.csv"), results);
        assert_eq!(fs::read_dir(run.join("scripts")).unwrap().count(), scripts);
    }
    // The run's own cells, named again or not at all, continue it.
    let out = sb.run(&["--out", "run", "--resume", ONE[0], ONE[1]], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `command` (the sandbox's `matrix run`) with `--source 3.13.0b4=PATH` instead of the
/// sandbox's tarball.
fn with_source(command: &std::process::Command, path: &std::path::Path) -> std::process::Command {
    let args: Vec<std::ffi::OsString> = command.get_args().map(|a| a.to_owned()).collect();
    let at = args.iter().position(|a| a == "--source").unwrap();
    let mut with = std::process::Command::new(command.get_program());
    if let Some(dir) = command.get_current_dir() {
        with.current_dir(dir);
    }
    for (k, v) in command.get_envs() {
        if let Some(v) = v {
            with.env(k, v);
        }
    }
    with.args(&args[..at])
        .arg("--source")
        .arg(format!("3.13.0b4={}", path.display()))
        .args(&args[at + 2..]);
    with
}

/// The sandbox's `matrix run` of one cell into `out`.
fn one_cell(sb: &Sandbox, out: &str) -> std::process::Command {
    sb.command_on("host", &["--out", out, ONE[0], ONE[1]], &[])
}

#[test]
fn a_source_that_is_no_file_or_tree_is_refused_naming_what_it_is_and_leaves_nothing() {
    let sb = Sandbox::new();
    let fifo = sb.root.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let dangling = sb.root.join("dangling");
    std::os::unix::fs::symlink(sb.root.join("nowhere"), &dangling).unwrap();
    let empty = sb.root.join("empty-dir");
    fs::create_dir(&empty).unwrap();
    for (path, what) in [
        (fifo, "a named pipe, not a file or a directory"),
        (
            "/dev/null".into(),
            "a character device, not a file or a directory",
        ),
        (sb.root.join("missing.tgz"), "no such file or directory"),
        (dangling, "a symbolic link to nothing"),
        (
            empty,
            "has no `configure`: give the top directory of a CPython checkout",
        ),
    ] {
        let out = with_source(&one_cell(&sb, "run"), &path).output().unwrap();
        let err = refusal(&out, what);
        assert!(
            err.contains(&format!("--source 3.13.0b4={}", path.display())),
            "{err}"
        );
        assert!(
            !sb.root.join("run").exists(),
            "{}: a refused start left its run directory",
            path.display()
        );
    }
}

/// Runs `command` with its files limited to `bytes` (RLIMIT_FSIZE; writing past it fails with
/// EFBIG, SIGXFSZ ignored), as on a disk that fills up.
fn with_file_size_limit(command: &mut std::process::Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit and signal are async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn a_start_that_fails_writing_its_run_directory_leaves_none() {
    let sb = Sandbox::new();
    // The source is in the cache already, so the first write of the run is its directory.
    let out = sb.run(&["--out", "first", ONE[0], ONE[1]], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    for made_by_run in [true, false] {
        if !made_by_run {
            // An empty directory the user made: it stays, and stays empty.
            fs::create_dir(sb.root.join("run")).unwrap();
        }
        let mut command = one_cell(&sb, "run");
        // The marker and the lock fit; a script (10 KB) does not.
        with_file_size_limit(&mut command, 4096);
        let out = command.output().unwrap();
        refusal(&out, "File too large");
        if made_by_run {
            assert!(!sb.root.join("run").exists(), "{}", stderr(&out));
        } else {
            assert_eq!(fs::read_dir(sb.root.join("run")).unwrap().count(), 0);
        }
        // Nothing asks for --resume: the next start is a start.
        let out = sb.run(&["--out", "run", ONE[0], ONE[1]], &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        fs::remove_dir_all(sb.root.join("run")).unwrap();
    }
}

#[test]
fn a_large_source_is_compared_with_the_cached_copy_without_reading_it_into_memory() {
    let sb = Sandbox::new();
    // Two sparse files of 1 GiB of zeros: the same bytes, one given and one in the cache.
    const SIZE: u64 = 1 << 30;
    let given = sb.root.join("big.tgz");
    fs::File::create(&given).unwrap().set_len(SIZE).unwrap();
    fs::create_dir_all(sb.root.join("cache")).unwrap();
    fs::File::create(sb.root.join("cache/Python-3.13.0b4.tgz"))
        .unwrap()
        .set_len(SIZE)
        .unwrap();
    let mut command = with_source(&one_cell(&sb, "run"), &given);
    // Half the file's size of address space: reading it whole cannot fit.
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: SIZE / 2,
                rlim_max: SIZE / 2,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let err = stderr(&out);
    assert!(
        out.status.code().is_some(),
        "matrix died of a signal: {err}"
    );
    assert!(!err.contains("memory allocation"), "{err}");
    // Nothing was copied: the cached copy was found to be the same.
    assert!(!err.contains("copying"), "{err}");
    // The zeros are no tarball: the cell fails in its setup, which is a result.
    assert!(sb.root.join("run/results.csv").is_file(), "{err}");
}

/// The peak resident memory of `command` in KiB, from the kernel's high-water mark of the
/// process (`VmHWM`), read until it exits. Not `wait4`'s `ru_maxrss`, which also counts the
/// memory of this test binary that the child was forked from. The peak read last is the
/// peak of the run up to a moment at most 10 ms before its end: setting up (rendering) is
/// seconds before it.
fn peak_rss_kib(command: &mut std::process::Command) -> (u64, std::process::Output) {
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut { stderr }, &mut text).unwrap();
        text
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = fs::read_to_string(&status_file).ok().and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        }) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let output = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: reader.join().unwrap(),
    };
    (peak, output)
}

#[test]
fn a_large_run_renders_its_scripts_a_part_at_a_time() {
    let sb = Sandbox::new();
    // The built-in definition with 20 CPython versions: 8,480 cells, 200 MB of scripts.
    let versions: Vec<String> = (0..20).map(|n| format!("3.13.{n}")).collect();
    let mut raw: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(sb.root.join("full.yaml")).unwrap()).unwrap();
    raw["source"].as_mapping_mut().unwrap().remove("sha256");
    for axis in raw["axes"].as_sequence_mut().unwrap() {
        if axis["name"] == "python" {
            axis["values"] = versions
                .iter()
                .map(|v| serde_yaml::Value::from(v.as_str()))
                .collect();
        }
    }
    let config = sb.root.join("large.yaml");
    fs::write(&config, serde_yaml::to_string(&raw).unwrap()).unwrap();
    common::write_executable(&sb.root.join("bin/podman"), FAILING_PODMAN);
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("matrix"));
    command
        .current_dir(&sb.root)
        .arg("--config")
        .arg(&config)
        .args([
            "run", "--engine", "podman", "--all", "--out", "run", "-j", "1", "--cache", "cache",
        ])
        .env(
            "PATH",
            format!(
                "{}:{}",
                sb.root.join("bin").display(),
                std::env::var("PATH").unwrap()
            ),
        );
    for version in &versions {
        command.arg("--source").arg(format!(
            "{version}={}",
            sb.root.join("Python-3.13.0b4.tgz").display()
        ));
    }
    let (peak, out) = peak_rss_kib(&mut command);
    // The run got as far as its first cell (which the fake engine fails): everything was set up.
    refusal(&out, "podman could not run its script");
    assert_eq!(
        fs::read_dir(sb.root.join("run/scripts")).unwrap().count(),
        8_480 + 1
    );
    // Measured: 237 MB with every script in memory, 65 MB a part at a time, 38 MB once the
    // index and results.csv were streamed (the run holds neither its index nor a report of
    // every cell).
    assert!(peak < 52 * 1024, "peak RSS {peak} KiB");
}

/// A podman that answers `info` and everything else, but hangs on `image inspect` (a storage
/// lock a killed podman left), with a helper of its own.
const PODMAN_STUCK_ON_IMAGES: &str = r#"#!/bin/sh
if [ "$1" = image ]; then
    sleep 300 &
    sleep 300
fi
exit 0
"#;

#[test]
fn an_image_probe_that_does_not_answer_is_killed_with_everything_it_started() {
    let sb = Sandbox::new();
    common::write_executable(&sb.root.join("bin/podman"), PODMAN_STUCK_ON_IMAGES);
    let start = std::time::Instant::now();
    let out = sb
        .command_on("podman", &["--out", "run", ONE[0], ONE[1]], &[])
        .output()
        .unwrap();
    let err = refusal(&out, "`podman image inspect ");
    assert!(err.contains("` gave no answer in 15s"), "{err}");
    assert!(start.elapsed() < common::PATIENCE, "{:?}", start.elapsed());
    common::assert_no_processes_inside(&sb.root);
}

#[test]
fn what_a_cell_prints_reaches_the_progress_lines_escaped() {
    let sb = Sandbox::new();
    // The tests print a stage marker of their own, its name a terminal's title escape.
    let marker = "::matrix:: event=stage-start stage=x\\033]0;PWN\\007 time=T";
    let out = sb.run(
        &["--out", "run", ONE[0], ONE[1]],
        &[("FAKE_TEST_OUTPUT", marker)],
    );
    let err = stderr(&out);
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{7}'),
        "a control character reached stderr: {err:?}"
    );
    assert!(err.contains(": x\\x1b]0;PWN\\x07"), "{err}");
}
