//! The output of `argo logs WORKFLOW` (every line `pod-name: text`, coloured by default or with
//! `--no-color`, with or without `--timestamps`) recognised and split into one log per pod,
//! spooled to temporary files so that memory stays bounded however long the logs are.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

/// How much of the start of a file is looked at to recognise the format.
pub(super) const SNIFF: usize = 16 * 1024;
/// The lines of the start that must all be `pod: text`.
const SNIFF_LINES: usize = 20;
/// The longest pod name (a Kubernetes object name).
const MAX_POD: usize = 253;
/// At most this many spool files are open at once (a Workflow may have thousands of pods).
const MAX_OPEN: usize = 64;
/// Lines are read in pieces of at most this many bytes: a 1 GB line costs no more memory.
const PIECE: u64 = 64 * 1024;

/// What the start of the file says about the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Format {
    /// `--timestamps`: each line's text starts with an RFC 3339 time and a space.
    timestamps: bool,
}

/// Whether `head` (the first [`SNIFF`] bytes of a file, or all of a shorter one) is `argo logs`
/// output: it has a complete line (or one longer than `head`), and its first complete lines are
/// all `pod-name: text`, where a pod's name is a Kubernetes
/// name with a `-` in it (Argo names pods `<workflow>-<template>-<hash>`).
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    let Some(end) = head.iter().rposition(|&b| b == b'\n') else {
        // A first line longer than the whole start: its prefix decides.
        if head.len() < SNIFF {
            return None;
        }
        let (_, text, _) = split_line(head, false)?;
        return Some(Format {
            timestamps: timestamp_len(text).is_some(),
        });
    };
    let complete = &head[..end + 1];
    let lines: Vec<&[u8]> = complete
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(SNIFF_LINES)
        .collect();
    if lines.is_empty() {
        return None;
    }
    let mut timestamps = true;
    for line in &lines {
        let (_, text, _) = split_line(line, true)?;
        timestamps &= timestamp_len(text).is_some();
    }
    Some(Format { timestamps })
}

/// `pod: text` → (pod, text, whether the line was coloured). Argo colours the whole line,
/// `ESC[<n>m` before the pod and `ESC[0m` at its end (which is not in `line` unless `complete`).
fn split_line(line: &[u8], complete: bool) -> Option<(&str, &[u8], bool)> {
    let mut rest = line.strip_suffix(b"\n").unwrap_or(line);
    let mut coloured = false;
    if let Some(after) = rest.strip_prefix(b"\x1b[") {
        let end = after.iter().take(12).position(|&b| b == b'm')?;
        if !after[..end]
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b';')
        {
            return None;
        }
        rest = &after[end + 1..];
        if complete {
            rest = rest.strip_suffix(b"\x1b[0m").unwrap_or(rest);
        }
        coloured = true;
    }
    let name_len = rest
        .iter()
        .take(MAX_POD + 1)
        .position(|&b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'))
        .unwrap_or(rest.len().min(MAX_POD + 1));
    if name_len == 0 || name_len > MAX_POD {
        return None;
    }
    let name = &rest[..name_len];
    let edge_ok = |b: u8| b.is_ascii_alphanumeric();
    if !edge_ok(name[0]) || !edge_ok(name[name_len - 1]) || !name.contains(&b'-') {
        return None;
    }
    let text = match &rest[name_len..] {
        [b':'] => &[][..],
        [b':', b' ', text @ ..] => text,
        _ => return None,
    };
    let name = std::str::from_utf8(name).ok()?;
    Some((name, text, coloured))
}

/// The length of an RFC 3339 time and its space at the start of `text`
/// (`2024-06-01T03:00:00.123456789Z `), if there is one.
fn timestamp_len(text: &[u8]) -> Option<usize> {
    let digits = |r: std::ops::Range<usize>| {
        text.get(r)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if !(digits(0..4) && text.get(4) == Some(&b'-') && digits(5..7) && text.get(10) == Some(&b'T'))
    {
        return None;
    }
    let space = text.iter().take(48).position(|&b| b == b' ')?;
    Some(space + 1)
}

/// The spool: one temporary file per pod, at most [`MAX_OPEN`] of them open.
struct Spool {
    dir: tempfile::TempDir,
    files: BTreeMap<String, PathBuf>,
    open: HashMap<String, BufWriter<File>>,
}

impl Spool {
    fn new() -> io::Result<Self> {
        Ok(Spool {
            dir: tempfile::tempdir()?,
            files: BTreeMap::new(),
            open: HashMap::new(),
        })
    }

    fn writer(&mut self, pod: &str) -> io::Result<&mut BufWriter<File>> {
        if !self.open.contains_key(pod) {
            if self.open.len() >= MAX_OPEN {
                for (_, mut w) in self.open.drain() {
                    w.flush()?;
                }
            }
            let n = self.files.len();
            let path = self
                .files
                .entry(pod.to_owned())
                .or_insert_with(|| self.dir.path().join(format!("{n}.log")))
                .clone();
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            self.open.insert(pod.to_owned(), BufWriter::new(file));
        }
        Ok(self.open.get_mut(pod).expect("opened"))
    }

    fn finish(mut self) -> io::Result<(tempfile::TempDir, BTreeMap<String, PathBuf>)> {
        for (_, mut w) in self.open.drain() {
            w.flush()?;
        }
        Ok((self.dir, self.files))
    }
}

/// Splits `reader` (the whole file, `format` as [`sniff`] found it) into one log per pod and
/// gives each pod that `want` takes to `visit`, in pod-name order. A line that is not
/// `pod: text` belongs to the pod before it. Returns the pods visited, or why the split stopped
/// (the pods read up to then are visited all the same).
pub(super) fn split(
    reader: impl Read,
    format: Format,
    want: &dyn Fn(&str) -> bool,
    visit: &mut dyn FnMut(Option<&str>, &mut dyn Read),
) -> (usize, Option<String>) {
    let mut spool = match Spool::new() {
        Ok(s) => s,
        Err(err) => return (0, Some(format!("cannot make a temporary directory: {err}"))),
    };
    let mut failure = spool_lines(reader, format, &mut spool).err();
    let (_dir, files) = match spool.finish() {
        Ok(done) => done,
        Err(err) => return (0, Some(format!("cannot write a temporary file: {err}"))),
    };
    let mut visited = 0;
    for (pod, path) in files {
        if !want(&pod) {
            continue;
        }
        match File::open(&path) {
            Ok(mut file) => {
                visit(Some(&pod), &mut file);
                visited += 1;
            }
            Err(err) => failure = Some(format!("cannot read back the log of pod {pod}: {err}")),
        }
    }
    (visited, failure)
}

fn spool_lines(reader: impl Read, format: Format, spool: &mut Spool) -> Result<(), String> {
    let mut reader = BufReader::with_capacity(PIECE as usize, reader);
    let mut piece: Vec<u8> = Vec::with_capacity(PIECE as usize);
    let mut pod = String::new();
    // The rest of a line longer than one piece: no prefix to read, same pod, same colouring.
    let mut continuing = false;
    let mut coloured = false;
    loop {
        piece.clear();
        let n = (&mut reader)
            .take(PIECE)
            .read_until(b'\n', &mut piece)
            .map_err(|err| format!("cannot read the `argo logs` output: {err}"))?;
        if n == 0 {
            return Ok(());
        }
        let complete = piece.ends_with(b"\n");
        let mut text: &[u8] = piece.strip_suffix(b"\n").unwrap_or(&piece);
        if continuing {
            // The end of a long line: its colour's reset is here.
            if complete && coloured {
                text = text.strip_suffix(b"\x1b[0m").unwrap_or(text);
            }
        } else {
            match split_line(&piece, complete) {
                Some((name, rest, c)) => {
                    if name != pod {
                        name.clone_into(&mut pod);
                    }
                    coloured = c;
                    text = rest;
                    if format.timestamps {
                        text = &text[timestamp_len(text).unwrap_or(0)..];
                    }
                }
                // A line of no pod (sniffing saw pods first, so there is one before it).
                None => coloured = false,
            }
        }
        let write = |w: &mut BufWriter<File>| -> io::Result<()> {
            w.write_all(text)?;
            if complete {
                w.write_all(b"\n")?;
            }
            Ok(())
        };
        spool
            .writer(&pod)
            .and_then(write)
            .map_err(|err| format!("cannot write a temporary file: {err}"))?;
        continuing = !complete;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn split_all(text: &[u8]) -> Vec<(String, String)> {
        let format = sniff(&text[..text.len().min(SNIFF)]).expect("argo logs");
        let mut out = Vec::new();
        let (n, failure) = split(text, format, &|_| true, &mut |pod, r| {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            out.push((pod.unwrap().to_owned(), s));
        });
        assert_eq!((n, failure), (out.len(), None));
        out
    }

    #[test]
    fn plain_and_coloured_lines_split_per_pod() {
        let plain =
            b"wf-build-1: one\nwf-build-2: a\nwf-build-1: two\nwf-build-1: \nwf-build-2: b: c\n";
        let expected = [
            ("wf-build-1".to_owned(), "one\ntwo\n\n".to_owned()),
            ("wf-build-2".to_owned(), "a\nb: c\n".to_owned()),
        ];
        assert_eq!(split_all(plain), expected);
        let coloured = b"\x1b[32mwf-build-1: one\x1b[0m\n\x1b[35mwf-build-2: a\x1b[0m\n\x1b[32mwf-build-1: two\x1b[0m\n\x1b[32mwf-build-1:\x1b[0m\n\x1b[35mwf-build-2: b: c\x1b[0m\n";
        assert_eq!(split_all(coloured), expected);
    }

    #[test]
    fn timestamps_are_dropped_and_long_lines_kept_whole() {
        let long = "x".repeat(200_000);
        let text = format!(
            "wf-a-1: 2024-06-01T03:00:00.123456789Z ::matrix:: event=finish\nwf-a-1: 2024-06-01T03:00:01Z {long}\n"
        );
        let pods = split_all(text.as_bytes());
        assert_eq!(pods[0].1, format!("::matrix:: event=finish\n{long}\n"));
        // Coloured, with the reset in the last piece of the line, and one that looks like it
        // in the middle of the line, where it is the log's own.
        let mut long = "y".repeat(PIECE as usize - 4);
        long.push_str("\x1b[0m");
        long.push_str(&"z".repeat(100_000));
        let text = format!("\x1b[31mwf-a-1: {long}\x1b[0m\n\x1b[31mwf-a-1: end\x1b[0m\n");
        assert_eq!(split_all(text.as_bytes())[0].1, format!("{long}\nend\n"));
    }

    #[test]
    fn build_logs_are_not_argo_logs() {
        for text in [
            &b"+ ./configure\nchecking for gcc... gcc\n"[..],
            b"configure: error: no acceptable C compiler\n",
            b"::matrix:: event=stage-start stage=setup\n",
            b"wf-a-1: only a line without its end",
            b"{\"version\": \"2.1.0\"}\n",
            b"-bad: x\n",
            b"Wf-A-1: upper case is no pod\n",
            b"",
        ] {
            assert_eq!(sniff(text), None, "{}", String::from_utf8_lossy(text));
        }
        assert_eq!(
            sniff(b"wf-a-1: x\n+ not a pod line\n"),
            None,
            "every line of the start must be a pod's"
        );
    }

    proptest::proptest! {
        /// Any interleaving of any pods' lines (any bytes but a line break), coloured or not,
        /// splits back into each pod's lines exactly.
        #[test]
        fn any_interleaving_splits_back(
            lines in proptest::collection::vec(
                (0usize..4, proptest::collection::vec(
                    proptest::num::u8::ANY.prop_filter("one line", |b| *b != b'\n'),
                    0..300,
                )),
                1..60,
            ),
            colour in proptest::bool::ANY,
        ) {
            let pods = ["wf-build-1", "wf-build-22", "w-x", "wf.a-b"];
            let mut text = Vec::new();
            let mut expected: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
            for (pod, line) in &lines {
                if colour {
                    text.extend_from_slice(b"\x1b[33m");
                }
                text.extend_from_slice(pods[*pod].as_bytes());
                text.extend_from_slice(b": ");
                text.extend_from_slice(line);
                if colour {
                    text.extend_from_slice(b"\x1b[0m");
                }
                text.push(b'\n');
                let e = expected.entry(pods[*pod]).or_default();
                e.extend_from_slice(line);
                e.push(b'\n');
            }
            // A timestamp-like start of every line would be taken for --timestamps: not here.
            let format = Format { timestamps: false };
            let mut got: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            let (_, failure) = split(text.as_slice(), format, &|_| true, &mut |pod, r| {
                let mut bytes = Vec::new();
                r.read_to_end(&mut bytes).unwrap();
                got.insert(pod.unwrap().to_owned(), bytes);
            });
            proptest::prop_assert_eq!(failure, None);
            let expected: BTreeMap<String, Vec<u8>> =
                expected.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn many_pods_keep_few_files_open() {
        let mut text = String::new();
        for round in 0..3 {
            for pod in 0..200 {
                text.push_str(&format!("wf-build-{pod}: line {round}\n"));
            }
        }
        let pods = split_all(text.as_bytes());
        assert_eq!(pods.len(), 200);
        assert!(pods
            .iter()
            .all(|(_, log)| log == "line 0\nline 1\nline 2\n"));
    }
}
