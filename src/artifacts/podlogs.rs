//! The output of `argo logs WORKFLOW` (every line `pod-name: text`, coloured by default or with
//! `--no-color`, with or without `--timestamps`) recognised and split into one log per pod,
//! spooled to one temporary file so that memory stays bounded however long the logs are.

use std::collections::HashMap;

use indexmap::IndexMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;

/// How much of the start of a file is looked at to recognise the format.
pub(super) const SNIFF: usize = 16 * 1024;
/// The lines of the start that must all be `pod: text`.
const SNIFF_LINES: usize = 20;
/// The longest pod name (a Kubernetes object name).
const MAX_POD: usize = 253;
/// How the spool holds the pods' lines before they are read back.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// A pod's lines are written to the spool file in chunks of about this many bytes.
    chunk: usize,
    /// At most this many bytes of memory hold waiting lines, all pods' buffers together (a
    /// Workflow may have thousands of pods); past it, the largest buffers are written out and
    /// their memory freed.
    held: usize,
}

const LIMITS: Limits = Limits {
    chunk: 256 * 1024,
    held: 8 * 1024 * 1024,
};
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

/// The spool: one unnamed temporary file holding every pod's lines in chunks, in the order
/// they filled up, and what of each pod still waits in memory. One file, not one a pod: making
/// a file costs the file system more than writing a chunk (ext4 spent half of a run creating
/// 244 of them). What it keeps of each pod is small and of fixed size besides its name (a
/// million one-line pods must fit): its chunks are a list threaded through one array.
struct Spool {
    file: File,
    /// Where the next chunk goes.
    end: u64,
    /// The pods by name, in the order they first appeared.
    pods: IndexMap<Box<str>, Pod>,
    /// Every pod's chunks: `(offset, length, next)`, `next` the pod's following chunk.
    chunks: Vec<Chunk>,
    /// The pod of each name that was used again (a second log under one name): its latest.
    reused: HashMap<Box<str>, usize>,
    /// The pod that [`Spool::add`] adds to (lines come in runs of one pod's).
    current: Option<usize>,
    /// The memory of all pods' buffers (their capacity: a buffer written out keeps it, so that
    /// a pod with many lines to come does not allocate it again for every chunk).
    held: usize,
    limits: Limits,
}

/// No chunk (the end of a pod's list).
const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Chunk {
    offset: u64,
    len: u32,
    next: u32,
}

struct Pod {
    /// The first and last of the pod's chunks in [`Spool::chunks`].
    first: u32,
    last: u32,
    /// Whether its log has started (its setup stage's marker was seen): another start under
    /// its name is another pod's log.
    started: bool,
    /// The lines after the last chunk.
    waiting: Vec<u8>,
}

impl Default for Pod {
    fn default() -> Self {
        Pod {
            first: NONE,
            last: NONE,
            started: false,
            waiting: Vec::new(),
        }
    }
}

/// The line every log of a built-in script starts with (its first stage), after `pod: `.
const LOG_START: &[u8] = b"::matrix:: event=stage-start stage=setup ";

impl Spool {
    fn new(limits: Limits) -> io::Result<Self> {
        Ok(Spool {
            file: tempfile::tempfile()?,
            end: 0,
            pods: IndexMap::new(),
            chunks: Vec::new(),
            reused: HashMap::new(),
            current: None,
            held: 0,
            limits,
        })
    }

    /// The pod the next lines are `pod`'s; `text` is the first of them. A log that starts
    /// under the name of a pod whose log has started is another pod's (Argo gave two pods one
    /// name): it is kept apart as `pod (2)`, `pod (3)`, … rather than mixed into the first.
    fn select(&mut self, pod: &str, text: &[u8]) {
        let starts = text.starts_with(LOG_START);
        // Lines come in runs of one pod's: most lines name the current pod.
        let at = match self.current {
            Some(at) if !starts && self.name_of(at) == pod => return,
            _ => self.latest(pod),
        };
        let at = match at {
            Some(at) if starts && self.pods[at].started => self.again(pod),
            Some(at) => at,
            None => self.pods.insert_full(pod.into(), Pod::default()).0,
        };
        self.pods[at].started |= starts;
        self.current = Some(at);
    }

    /// The name `argo logs` gave the pod at `at` (without the ` (2)` of a name used again).
    fn name_of(&self, at: usize) -> &str {
        let (name, _) = self.pods.get_index(at).expect("a pod");
        name.split_once(" (").map_or(name, |(argo, _)| argo)
    }

    /// The latest pod named `pod`, if any.
    fn latest(&self, pod: &str) -> Option<usize> {
        self.reused
            .get(pod)
            .copied()
            .or_else(|| self.pods.get_index_of(pod))
    }

    /// A new pod for another log under the name `pod`.
    fn again(&mut self, pod: &str) -> usize {
        let mut n = 2;
        while self.pods.contains_key(format!("{pod} ({n})").as_str()) {
            n += 1;
        }
        let at = (self.pods)
            .insert_full(format!("{pod} ({n})").into(), Pod::default())
            .0;
        self.reused.insert(pod.into(), at);
        at
    }

    /// Adds `text` to the end of the current pod's log.
    fn add(&mut self, text: &[u8]) -> io::Result<()> {
        // Blank lines before the first pod's line (sniffing passes over them) are no pod's.
        let Some(at) = self.current else {
            return Ok(());
        };
        let entry = &mut self.pods[at];
        let before = entry.waiting.capacity();
        entry.waiting.extend_from_slice(text);
        self.held += entry.waiting.capacity() - before;
        if entry.waiting.len() >= self.limits.chunk {
            self.write_out(at)?;
        }
        if self.held > self.limits.held {
            self.free_largest(at)?;
        }
        Ok(())
    }

    /// Writes out the largest buffers, down to half the limit: the pods that stopped writing
    /// lines give their memory back, and chunks stay as large as they can be. Not the current
    /// pod's (`at`): it is writing, and its buffer is at most a chunk and a piece.
    fn free_largest(&mut self, at: usize) -> io::Result<()> {
        let mut largest: Vec<u32> = (0..self.pods.len())
            .filter(|&i| i != at && self.pods[i].waiting.capacity() > 0)
            .map(|i| i as u32)
            .collect();
        largest
            .sort_unstable_by_key(|&i| std::cmp::Reverse(self.pods[i as usize].waiting.capacity()));
        for i in largest {
            if self.held <= self.limits.held / 2 {
                break;
            }
            self.write_out(i as usize)?;
            let entry = &mut self.pods[i as usize];
            self.held -= entry.waiting.capacity();
            entry.waiting = Vec::new();
        }
        Ok(())
    }

    /// Writes what waits of the pod at `at` to the spool file as its next chunk.
    fn write_out(&mut self, at: usize) -> io::Result<()> {
        let pod = &mut self.pods[at];
        if pod.waiting.is_empty() {
            return Ok(());
        }
        self.file.write_all(&pod.waiting)?;
        let chunk = u32::try_from(self.chunks.len())
            .ok()
            .filter(|&n| n != NONE)
            .ok_or_else(|| io::Error::other("more than 4 billion chunks in the spool"))?;
        self.chunks.push(Chunk {
            offset: self.end,
            len: pod.waiting.len() as u32,
            next: NONE,
        });
        match pod.last {
            NONE => pod.first = chunk,
            last => self.chunks[last as usize].next = chunk,
        }
        pod.last = chunk;
        self.end += pod.waiting.len() as u64;
        pod.waiting.clear();
        Ok(())
    }
}

/// One pod's log read back from the spool.
pub(super) struct PodReader<'a> {
    file: &'a File,
    chunks: &'a [Chunk],
    /// The chunk being read ([`NONE`] after the last), from `at` on.
    next: u32,
    at: usize,
    waiting: &'a [u8],
}

impl Read for PodReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(chunk) = self.chunks.get(self.next as usize) {
            let length = chunk.len as usize;
            if self.at == length {
                self.next = chunk.next;
                self.at = 0;
                continue;
            }
            let want = buf.len().min(length - self.at);
            let n = self
                .file
                .read_at(&mut buf[..want], chunk.offset + self.at as u64)?;
            if n == 0 && want > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the spool file is shorter than what was written to it",
                ));
            }
            self.at += n;
            return Ok(n);
        }
        self.waiting.read(buf)
    }
}

/// Splits `reader` (the whole file, `format` as [`sniff`] found it) into one log per pod: the
/// pods that `want` takes, in pod-name order. A line that is not `pod: text` belongs to the pod
/// before it. Returns the pods, and why the split stopped early if it did: after a read error
/// the pods read up to then are there all the same; after a write error to the spool, none is.
pub(super) fn split(
    reader: impl Read,
    format: Format,
    want: &dyn Fn(&str) -> bool,
) -> (Option<Spooled>, Option<String>) {
    split_within(reader, format, want, LIMITS)
}

fn split_within(
    reader: impl Read,
    format: Format,
    want: &dyn Fn(&str) -> bool,
    limits: Limits,
) -> (Option<Spooled>, Option<String>) {
    // Where the spool goes, for the message when it cannot.
    let spool_error = |what: &str, err: io::Error| {
        format!(
            "cannot {what} a temporary file in {} for the pods' logs: {err} (set TMPDIR to a \
             writable directory with room for the file)",
            std::env::temp_dir().display()
        )
    };
    let mut spool = match Spool::new(limits) {
        Ok(s) => s,
        Err(err) => return (None, Some(spool_error("make", err))),
    };
    let failure = match spool_lines(reader, format, &mut spool) {
        Ok(()) => None,
        // The pods read up to a read error are logs that stop early, as a pod killed would.
        Err(Stopped::Read(err)) => Some(format!("cannot read the `argo logs` output: {err}")),
        // A pod missing lines it had would be read as a log that says something else.
        Err(Stopped::Write(err)) => return (None, Some(spool_error("write", err))),
    };
    let name = |i: u32| spool.pods.get_index(i as usize).expect("a pod").0;
    let mut order: Vec<u32> = (0..spool.pods.len() as u32)
        .filter(|&i| want(name(i)))
        .collect();
    order.sort_unstable_by(|&a, &b| name(a).cmp(name(b)));
    (Some(spool.into_spooled(&order)), failure)
}

/// The pods of an `argo logs` file, spooled; each can be read by any thread, any number of
/// times. Made from the complete [`Spool`]: what it keeps of a pod is its name in one string of
/// them all and 16 bytes (the spool's map of names and each pod's buffer, over 100 bytes a pod,
/// go before the first is read: every pod's result is held by the time the last is).
pub(super) struct Spooled {
    file: File,
    chunks: Vec<Chunk>,
    /// The names of the pods wanted, in name order, one after another.
    names: String,
    /// The pods wanted, in name order.
    pods: Vec<Kept>,
    /// What of some pods still waited in memory when the spool was complete (at most the
    /// spool's limit in all), each where its pod's [`Kept::waiting`] says.
    waiting: Vec<Box<[u8]>>,
}

/// What [`Spooled`] keeps of one pod.
struct Kept {
    /// Where its name ends in [`Spooled::names`] (it starts where the one before ends).
    name_end: usize,
    /// Its first chunk in the spool file ([`NONE`]: none).
    first: u32,
    /// Its lines still in memory, in [`Spooled::waiting`] ([`NONE`]: none).
    waiting: u32,
}

impl Spool {
    /// The spool, complete, as [`Spooled`] keeps it: the pods of `order`, in that order.
    fn into_spooled(mut self, order: &[u32]) -> Spooled {
        let size = (order.iter())
            .map(|&i| self.pods.get_index(i as usize).expect("a pod").0.len())
            .sum();
        let mut names = String::with_capacity(size);
        let mut pods = Vec::with_capacity(order.len());
        let mut waiting = Vec::new();
        for &i in order {
            let (name, pod) = self.pods.get_index_mut(i as usize).expect("a pod");
            names.push_str(name);
            let lines = std::mem::take(&mut pod.waiting);
            let at = if lines.is_empty() {
                NONE
            } else {
                waiting.push(lines.into_boxed_slice());
                (waiting.len() - 1) as u32
            };
            pods.push(Kept {
                name_end: names.len(),
                first: pod.first,
                waiting: at,
            });
        }
        self.chunks.shrink_to_fit();
        Spooled {
            file: self.file,
            chunks: self.chunks,
            names,
            pods,
            waiting,
        }
    }
}

impl Spooled {
    pub(super) fn len(&self) -> usize {
        self.pods.len()
    }

    /// The `i`th pod's name and a reader of its log: its chunks from the file, then what
    /// waits in memory.
    pub(super) fn pod(&self, i: usize) -> (&str, PodReader<'_>) {
        let start = i
            .checked_sub(1)
            .map_or(0, |before| self.pods[before].name_end);
        let pod = &self.pods[i];
        let waiting = (self.waiting.get(pod.waiting as usize)).map_or(&[][..], |lines| lines);
        let reader = PodReader {
            file: &self.file,
            chunks: &self.chunks,
            next: pod.first,
            at: 0,
            waiting,
        };
        (&self.names[start..pod.name_end], reader)
    }
}

/// Why spooling stopped before the end.
enum Stopped {
    Read(io::Error),
    Write(io::Error),
}

fn spool_lines(reader: impl Read, format: Format, spool: &mut Spool) -> Result<(), Stopped> {
    let mut reader = BufReader::with_capacity(PIECE as usize, reader);
    let mut piece: Vec<u8> = Vec::with_capacity(PIECE as usize);
    // The rest of a line longer than one piece: no prefix to read, same pod, same colouring.
    let mut continuing = false;
    let mut coloured = false;
    loop {
        piece.clear();
        let n = (&mut reader)
            .take(PIECE)
            .read_until(b'\n', &mut piece)
            .map_err(Stopped::Read)?;
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
                    coloured = c;
                    text = rest;
                    if format.timestamps {
                        text = &text[timestamp_len(text).unwrap_or(0)..];
                    }
                    spool.select(name, text);
                }
                // A line of no pod (sniffing saw pods first, so there is one before it).
                None => coloured = false,
            }
        }
        let mut add = || -> io::Result<()> {
            spool.add(text)?;
            if complete {
                spool.add(b"\n")?;
            }
            Ok(())
        };
        add().map_err(Stopped::Write)?;
        continuing = !complete;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;
    use std::collections::BTreeMap;

    fn split_all(text: &[u8]) -> Vec<(String, String)> {
        let format = sniff(&text[..text.len().min(SNIFF)]).expect("argo logs");
        let (pods, failure) = split(text, format, &|_| true);
        assert_eq!(failure, None);
        let pods = pods.expect("spooled");
        (0..pods.len())
            .map(|i| {
                let (name, mut r) = pods.pod(i);
                let mut s = String::new();
                r.read_to_string(&mut s).unwrap();
                (name.to_owned(), s)
            })
            .collect()
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
        /// splits back into each pod's lines exactly, however the spool holds them.
        #[test]
        fn any_interleaving_splits_back(
            lines in proptest::collection::vec(
                (0usize..4, proptest::collection::vec(
                    // Any byte but a line break (mapped, not filtered: a filter rejects too often
                    // over many cases).
                    proptest::num::u8::ANY.prop_map(|b| if b == b'\n' { b' ' } else { b }),
                    0..300,
                )),
                1..60,
            ),
            colour in proptest::bool::ANY,
            chunk in 1usize..64,
            held in 0usize..256,
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
            // Small limits, so that lines go out in many chunks and by the memory limit too.
            let limits = Limits { chunk, held };
            let (pods, failure) = split_within(text.as_slice(), format, &|_| true, limits);
            proptest::prop_assert_eq!(failure, None);
            let pods = pods.expect("spooled");
            // Each pod read twice: a reader does not use the spool up.
            for _ in 0..2 {
                for i in 0..pods.len() {
                    let (name, mut r) = pods.pod(i);
                    let mut bytes = Vec::new();
                    // Small reads, so that reads end inside chunks and cross them.
                    let mut piece = [0u8; 7];
                    loop {
                        let n = r.read(&mut piece).unwrap();
                        if n == 0 {
                            break;
                        }
                        bytes.extend_from_slice(&piece[..n]);
                    }
                    got.insert(name.to_owned(), bytes);
                }
            }
            let expected: BTreeMap<String, Vec<u8>> =
                expected.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn blank_lines_before_the_first_pod_are_no_pods() {
        assert_eq!(
            split_all(b"\n\nwf-a-1: x\n"),
            [("wf-a-1".to_owned(), "x\n".to_owned())]
        );
    }

    #[test]
    fn memory_stays_within_the_limit_and_a_busy_pod_keeps_its_buffer() {
        let limits = Limits {
            chunk: 1000,
            held: 10_000,
        };
        let mut spool = Spool::new(limits).unwrap();
        let capacities =
            |spool: &Spool| -> usize { spool.pods.iter().map(|(_, p)| p.waiting.capacity()).sum() };
        // 300 pods one after another, each past its chunk size, as `argo logs` of pods that
        // ran one at a time gives them: the idle ones give their memory back.
        let line = [b'x'; 1200];
        for pod in 0..300 {
            spool.select(&format!("wf-a-{pod}"), b"");
            spool
                .add(&line[..if pod % 2 == 0 { 1200 } else { 150 }])
                .unwrap();
            assert_eq!(capacities(&spool), spool.held);
            assert!(spool.held <= limits.held, "{} bytes held", spool.held);
        }
        // One pod writing on and on: its buffer is written out chunk after chunk, and kept.
        spool.select("wf-busy-1", b"");
        spool.add(&line).unwrap();
        let buffer = spool.pods.last().unwrap().1.waiting.as_ptr();
        for _ in 0..50 {
            spool.add(&line).unwrap();
            assert_eq!(spool.pods.last().unwrap().1.waiting.as_ptr(), buffer);
        }
        assert!(spool.chunks.len() >= 50);
    }

    #[test]
    fn a_second_log_under_one_pod_name_is_kept_apart() {
        let start = "::matrix:: event=stage-start stage=setup time=t";
        let mut text = String::new();
        for run in 1..=3 {
            text.push_str(&format!(
                "wf-build-1: {start}
wf-build-2: other {run}
"
            ));
            text.push_str(&format!(
                "wf-build-1: MATRIX_CELL=c{run}
"
            ));
        }
        let pods = split_all(text.as_bytes());
        let names: Vec<&str> = pods.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "wf-build-1",
                "wf-build-1 (2)",
                "wf-build-1 (3)",
                "wf-build-2"
            ]
        );
        for (run, (_, log)) in pods.iter().take(3).enumerate() {
            assert_eq!(*log, format!("{start}\nMATRIX_CELL=c{}\n", run + 1));
        }
        assert_eq!(pods[3].1, "other 1\nother 2\nother 3\n");
    }

    #[test]
    fn many_pods_and_long_pods_share_one_spool() {
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
        // Three pods of 4 MB each, interleaved: past the chunk size and the memory limit.
        let line = "z".repeat(999);
        let mut text = String::new();
        for _ in 0..4096 {
            for pod in ["wf-a-1", "wf-a-2", "wf-a-3"] {
                text.push_str(&format!("{pod}: {line}\n"));
            }
        }
        let pods = split_all(text.as_bytes());
        assert_eq!(pods.len(), 3);
        let one = format!("{line}\n").repeat(4096);
        assert!(pods.iter().all(|(_, log)| *log == one));
    }
}
