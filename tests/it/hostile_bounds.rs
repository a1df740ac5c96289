//! Hostile input that costs memory or time (issue 27): templates that grow values or output
//! without bound, a report line of gigabytes, a zip bomb, a tar bomb, `argo logs` output of a
//! million pods or of pods sharing a name. Each stops quickly with an error naming the input and the limit,
//! within a bounded peak RSS (measured by `wait4`), leaving nothing staged behind.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::PATIENCE;

/// What a `matrix` run gave: exit code (`None`: killed by a signal, as an allocation past the
/// memory limit aborts), stdout, stderr and wall time.
struct Measured {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `matrix args` in `dir` with at most `mib` MiB of data memory (`RLIMIT_DATA`: the heap
/// and every private writable mapping, which bounds what RSS can reach), killing it after
/// [`PATIENCE`]. A limit, not a measure: the peak RSS of a child (`ru_maxrss`) includes the
/// test process's own, which the child shares until it starts `matrix`.
fn measured(dir: &Path, args: &[&str], mib: u64) -> Measured {
    use std::os::unix::process::CommandExt;
    let out = dir.join(".measured.out");
    let err = dir.join(".measured.err");
    let start = Instant::now();
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("matrix"));
    // The data limit counts thread stacks and malloc arenas, which grow with the cores: two
    // of each, whatever the machine.
    command
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "2")
        .env("MALLOC_ARENA_MAX", "2")
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap());
    let limit = libc::rlimit {
        rlim_cur: mib << 20,
        rlim_max: mib << 20,
    };
    // SAFETY: setrlimit is async-signal-safe and touches only the child, between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = command.spawn().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PATIENCE {
            child.kill().unwrap();
            panic!("matrix {args:?} still ran after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Measured {
        code: status.code(),
        stdout: fs::read_to_string(out).unwrap(),
        stderr: fs::read_to_string(err).unwrap(),
        took: start.elapsed(),
    }
}

/// `matrix args` failed with exit status 2, nothing on stdout, `errors` in stderr, within
/// `mib` of data memory.
fn refused_within(dir: &Path, args: &[&str], errors: &[&str], mib: u64) -> Measured {
    let run = measured(dir, args, mib);
    assert_eq!(
        run.code,
        Some(2),
        "matrix {args:?} (None: out of memory): {}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "matrix {args:?} printed on stdout");
    for error in errors {
        assert!(
            run.stderr.contains(error),
            "{error:?} not in {}",
            run.stderr
        );
    }
    run
}

/// `matrix args` succeeded within `mib` of data memory.
fn succeeds_within(dir: &Path, args: &[&str], mib: u64) -> Measured {
    let run = measured(dir, args, mib);
    assert_eq!(
        run.code,
        Some(0),
        "matrix {args:?} (None: out of memory): {}",
        run.stderr
    );
    run
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const ONE_CELL: [&str; 12] = [
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

/// Renders one cell with `cell.sh.j2` replaced by `template`; it must be refused.
fn template_refused(template: &str, errors: &[&str]) -> Measured {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("tpl")).unwrap();
    fs::write(d.join("tpl/cell.sh.j2"), template).unwrap();
    let mut args = vec!["render", "--templates", "tpl", "--out", "out"];
    args.extend(ONE_CELL);
    let run = refused_within(d, &args, errors, 512);
    assert_eq!(
        names(d),
        [".measured.err", ".measured.out", "tpl"],
        "nothing staged is left"
    );
    // Seconds in a release build; the test's debug build on a loaded machine takes longer.
    assert!(run.took < Duration::from_secs(60), "took {:?}", run.took);
    run
}

#[test]
fn a_string_doubled_thirty_times_stops_at_the_memory_budget() {
    let doubling = "{% set s = s ~ s %}".repeat(30);
    template_refused(
        &format!("{{% set s = \"ab\" %}}{doubling}{{{{ s }}}}\n"),
        &[
            "rendering build.sh.j2",
            "needs more than 128 MiB of memory, the limit of one render",
        ],
    );
}

#[test]
fn a_list_repeated_ten_million_times_stops_at_the_output_limit() {
    template_refused(
        "{{ ['a', 'b'] * 10**7 }}\n",
        &["build.sh.j2: the output is over 16 MiB, the most one render of it may write"],
    );
}

#[test]
fn a_script_of_a_hundred_megabytes_stops_at_the_output_limit() {
    template_refused(
        "{% for i in range(1000) %}{{ 'x' * 100000 }}\n{% endfor %}",
        &["build.sh.j2: the output is over 16 MiB, the most one render of it may write"],
    );
    // minijinja makes the string (its limit is 100 MB) and copies it: the memory budget.
    template_refused(
        "{{ 'x' * 100000000 }}\n",
        &["needs more than 128 MiB of memory, the limit of one render"],
    );
}

/// A heap-use-after-free report, the finding `findings show` shows.
const UAF: &str = "==77==ERROR: AddressSanitizer: heap-use-after-free on address 0x602\n\
READ of size 8 at 0x602 thread T0\n\
    #0 0x4 in PyObject_GC_Del /src/Python-3.13.0b4/Modules/gcmodule.c:2000:5\n\
    #1 0x5 in dict_dealloc /src/Python-3.13.0b4/Objects/dictobject.c:2400:3\n\
SUMMARY: AddressSanitizer: heap-use-after-free Modules/gcmodule.c:2000:5 in PyObject_GC_Del\n";

/// `text` gzipped into `path`, written a piece at a time.
fn gzip(path: &Path, pieces: &[&[u8]], repeat: &[usize]) {
    let file = fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    for (piece, n) in pieces.iter().zip(repeat) {
        for _ in 0..*n {
            gz.write_all(piece).unwrap();
        }
    }
    gz.finish().unwrap();
}

#[test]
fn findings_show_reads_a_line_of_a_hundred_megabytes_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("logs")).unwrap();
    // A line of 128 MiB before the report and one of 64 MiB inside it (a frame's line),
    // in a .gz of a few hundred KB.
    let frame_end = UAF.find(":2400:3").unwrap() + ":2400:3".len();
    let (before, after) = UAF.split_at(frame_end);
    gzip(
        &d.join("logs/c1.log.gz"),
        &[b"x", b"\n", before.as_bytes(), b" y", after.as_bytes()],
        &[128 << 20, 1, 1, 32 << 20, 1],
    );
    let list = succeeds_within(d, &["findings", "logs", "--format", "csv"], 100);
    let id = list
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let show = succeeds_within(d, &["findings", "show", &id, "logs"], 100);
    assert!(
        show.stdout.contains("heap-use-after-free"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("more bytes of this line not shown]"),
        "{}",
        &show.stdout[..show.stdout.len().min(2000)]
    );
    assert!(
        show.stdout.len() < 64 << 10,
        "{} bytes shown",
        show.stdout.len()
    );
}

/// A zip archive written by hand: a central directory entry for each `(name, data, size)`,
/// where entries with one `data` number share one local entry of the deflated `data` (a zip
/// bomb's trick), and `size` is what each says it inflates to.
fn zip_by_hand(data: &[u8], entries: &[(&str, u32, u32)]) -> Vec<u8> {
    let mut deflated = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflated.write_all(data).unwrap();
    let deflated = deflated.finish().unwrap();
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let (crc, csize) = (crc.sum(), deflated.len() as u32);
    let le16 = |v: u16| v.to_le_bytes();
    let le32 = |v: u32| v.to_le_bytes();
    // Version 2.0, deflate, a valid DOS date.
    let common = |out: &mut Vec<u8>, name: &str, size: u32| {
        for part in [&le16(20)[..], &le16(0), &le16(8), &le16(0), &le16(0x21)] {
            out.extend_from_slice(part);
        }
        for part in [le32(crc), le32(csize), le32(size)] {
            out.extend_from_slice(&part);
        }
        out.extend_from_slice(&le16(name.len() as u16));
        out.extend_from_slice(&le16(0));
    };
    let mut zip = Vec::new();
    let mut local_at: Vec<u32> = Vec::new();
    for (name, data, size) in entries {
        if *data as usize == local_at.len() {
            local_at.push(zip.len() as u32);
            zip.extend_from_slice(&le32(0x0403_4b50));
            common(&mut zip, name, *size);
            zip.extend_from_slice(name.as_bytes());
            zip.extend_from_slice(&deflated);
        }
    }
    let central = zip.len() as u32;
    for (name, data, size) in entries {
        let offset = &local_at[*data as usize];
        zip.extend_from_slice(&le32(0x0201_4b50));
        zip.extend_from_slice(&le16(20));
        common(&mut zip, name, *size);
        for part in [&le16(0)[..], &le16(0), &le16(0), &le32(0), &le32(*offset)] {
            zip.extend_from_slice(part);
        }
        zip.extend_from_slice(name.as_bytes());
    }
    let central_len = zip.len() as u32 - central;
    zip.extend_from_slice(&le32(0x0605_4b50));
    let n = le16(entries.len() as u16);
    for part in [
        &le16(0)[..],
        &le16(0),
        &n,
        &n,
        &le32(central_len),
        &le32(central),
        &le16(0),
    ] {
        zip.extend_from_slice(part);
    }
    zip
}

#[test]
fn a_zip_bomb_is_refused_before_it_is_inflated() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("logs")).unwrap();
    // 200 entries at one deflate stream of 64 MiB: 12.5 GiB inflated, from 64 KB.
    let names: Vec<String> = (0..200).map(|i| format!("build_{i:03}.sh.txt")).collect();
    let shared: Vec<(&str, u32, u32)> = names.iter().map(|n| (n.as_str(), 0, 64 << 20)).collect();
    fs::write(
        d.join("logs/bomb.zip"),
        zip_by_hand(&vec![b'a'; 64 << 20], &shared),
    )
    .unwrap();
    // Two entries apart, each saying it inflates to 3 GiB.
    let apart = [("a.sh.txt", 0, 3 << 30), ("b.sh.txt", 1, 3 << 30)];
    fs::write(d.join("logs/big.zip"), zip_by_hand(b"x", &apart)).unwrap();
    fs::write(d.join("logs/build_999.sh.txt"), "a log\n").unwrap();
    refused_as_bombs(
        d,
        &[
            "bomb.zip: refused as a zip bomb: its entries \"build_000.sh.txt\" and \"build_001.sh.txt\" share bytes 0..",
            "big.zip: refused as a zip bomb: its members say they inflate to 6442450944 bytes, more than 4096 MiB",
            "(one archive's members may inflate to 4096 MiB together, and no two entries may share data); none of its members was read",
        ],
    );
}

/// `report` and `findings` read `d/logs` within 256 MiB (and [`PATIENCE`]), warning each of
/// `warnings` (the bombs they refused) and reading the rest.
fn refused_as_bombs(d: &Path, warnings: &[&str]) {
    for command in ["report", "findings"] {
        let run = succeeds_within(d, &[command, "logs", "--format", "csv"], 256);
        for warning in warnings {
            assert!(
                run.stderr.contains(warning),
                "{command}: {warning:?} not in {}",
                run.stderr
            );
        }
    }
}

/// `argo logs` output of `pods` one-line pods, each a cell's finish marker (the cell passed).
fn one_line_pods(dir: &Path, pods: usize) {
    fs::create_dir(dir).unwrap();
    let mut text = String::new();
    for pod in 0..pods {
        text.push_str(&format!(
            "wf-build-{pod}: ::matrix:: event=finish cell=amd64-u24.04-py3.12.4-gcc-c{pod} \
             stage=tests status=0 time=2026-11-25T16:00:00Z\n"
        ));
    }
    fs::write(dir.join("wf.log"), text).unwrap();
}

#[test]
fn argo_logs_of_many_one_line_pods_cost_their_results_and_no_more() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // What memory a report of `pods` one-line pods may take: what any report takes, and
    // 600 bytes a pod (a cell's key, log and deciding line take about 200 bytes of heap, the
    // cell 128, a log kept until the cells are made 112). The run of 40,000 pods is the one a
    // cost per pod shows in: it needs 28 MiB (16 + 40,000 × 600 bytes is 38); whole scanned
    // logs held to the end and 248-byte cells needed 44 MiB, and at 2.5 KiB a pod (maps of
    // groups and of cells, every cause and fact inline) 103 MiB.
    let limit = |pods: u64| 16 + ((pods * 600) >> 20);
    for pods in [10_000, 40_000] {
        let dir = d.join(format!("argo{pods}"));
        one_line_pods(&dir, pods);
        let dir = dir.to_string_lossy().into_owned();
        let run = succeeds_within(d, &["report", &dir, "--format", "csv"], limit(pods as u64));
        assert_eq!(run.stdout.lines().count(), pods + 1);
        assert!(run
            .stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("amd64-u24.04-py3.12.4-gcc-c0,Compilation. Passed,"));
    }
}

#[test]
fn argo_logs_of_three_pods_of_one_name_are_three_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("argo")).unwrap();
    let mut text = String::new();
    for cell in ["c1", "c2", "c3"] {
        for line in [
            "::matrix:: event=stage-start stage=setup time=t".to_owned(),
            format!("MATRIX_CELL={cell}"),
            "::matrix:: event=stage-end stage=setup status=0 time=t".to_owned(),
            format!("::matrix:: event=finish cell={cell} stage=setup status=0 time=t"),
        ] {
            text.push_str(&format!("wf-build-1: {line}\nwf-build-2: other\n"));
        }
    }
    fs::write(d.join("argo/wf.log"), text).unwrap();
    let run = succeeds_within(d, &["report", "argo", "--format", "csv"], 256);
    let logs: Vec<(&str, &str)> = run
        .stdout
        .lines()
        .skip(1)
        .map(|row| {
            let cols: Vec<&str> = row.split(',').collect();
            (cols[0], cols[6])
        })
        .collect();
    assert_eq!(
        logs,
        [
            ("c1", "wf.log!wf-build-1"),
            ("c2", "wf.log!wf-build-1 (2)"),
            ("c3", "wf.log!wf-build-1 (3)"),
            ("wf-build-2", "wf.log!wf-build-2"),
        ],
        "{}",
        run.stdout
    );
}

#[test]
fn a_tar_bomb_is_refused_before_it_is_inflated() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("logs")).unwrap();
    // One member whose header says 5 GiB (of zeroes, a few MB gzipped): the header is enough.
    let mut header = tar::Header::new_gnu();
    header.set_path("build_000.sh.txt").unwrap();
    header.set_size(5 << 30);
    header.set_mode(0o644);
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend_from_slice(&[0u8; 1 << 20]);
    gzip(&d.join("logs/big.tgz"), &[&tar], &[1]);
    fs::write(d.join("logs/build_999.sh.txt"), "a log\n").unwrap();
    refused_as_bombs(
        d,
        &[
            "big.tgz: refused as a tar bomb: its members say they unpack to more than \
           4096 MiB (one archive may unpack to 4096 MiB in at most 100000 entries); \
           reading stopped there, after 0 member(s)",
        ],
    );
}
