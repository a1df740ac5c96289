//! Which files of a log directory are build logs (a flat directory, Argo's artifact layout
//! `<workflow>/<pod>/main.log`, `.gz`, `.tgz`/`.tar.gz`, `.zip`), read through the
//! [`crate::artifacts`] reader, and streaming each one through the classifier without holding
//! it in memory.

use std::io::{self, Read};
use std::path::Path;

use aho_corasick::AhoCorasick;
use anyhow::{bail, Context, Result};

use super::classify::{Classification, Classifier, TAIL_LINES};
use crate::artifacts::{self, ArtifactFile, Container, ReadFailure, Warning};

/// Longest prefix of a line the classifier sees; the rest of a longer line is skipped.
pub const MAX_LINE: usize = 8 * 1024;
/// How much of a log is read at once.
const READ_SIZE: usize = 128 * 1024;
/// How much of the start of a log is checked for binary data.
const SNIFF: usize = 8 * 1024;

/// Reads one line of `reader` into `line` (cleared first), keeping at most `keep` bytes of it
/// and its newline; the rest is read and dropped, so a line of gigabytes costs no memory.
/// Returns the whole line's length with its newline, 0 at the end.
pub fn read_line_capped(
    reader: &mut impl io::BufRead,
    line: &mut Vec<u8>,
    keep: usize,
) -> io::Result<u64> {
    line.clear();
    let mut total = 0u64;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if buf.is_empty() {
            return Ok(total);
        }
        let (piece, done) = match memchr::memchr(b'\n', buf) {
            Some(at) => (&buf[..=at], true),
            None => (buf, false),
        };
        let room = keep.saturating_sub(line.len());
        line.extend_from_slice(&piece[..piece.len().min(room)]);
        if done && line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
        let used = piece.len();
        total += used as u64;
        reader.consume(used);
        if done {
            return Ok(total);
        }
    }
}

/// A file under LOGDIR that holds one or more logs.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub file: ArtifactFile,
    /// Whether the archive's own name says it holds logs (`x.log.tgz`, `x.sh.txt.zip`); other
    /// archives (Argo's artifacts) are searched for members named like logs.
    pub named_log: bool,
}

/// Which files of a directory tree are logs, by name, with the walk's warnings.
pub fn find_logs(dir: &Path) -> Result<(Vec<LogFile>, Vec<Warning>)> {
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("cannot read log directory {}", dir.display()))?;
    if !meta.is_dir() {
        bail!(
            "{} is not a directory; give the directory holding the logs",
            dir.display()
        );
    }
    let walk = artifacts::walk(dir, |name| container_of(name).is_some())?;
    let files = walk
        .files
        .into_iter()
        .map(|file| {
            let name = base_name(&file.rel);
            LogFile {
                named_log: is_log(archive_stem(&name)),
                file,
            }
        })
        .collect();
    Ok((files, walk.warnings))
}

/// Whether a member of an archive (or a file) is a log by its name: `*.log`, `*.txt`
/// (`build_004-1.sh.txt`).
pub fn is_log(name: &str) -> bool {
    name.ends_with(".log") || name.ends_with(".txt")
}

/// The name without its archive or compression suffix.
fn archive_stem(name: &str) -> &str {
    [".tar.gz", ".tgz", ".gz", ".zip"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

/// How a file named `name` holds logs, if it may: plain, gzipped, or an archive.
pub fn container_of(name: &str) -> Option<Container> {
    match Container::of(name) {
        (Container::Gzip, inner) => is_log(inner).then_some(Container::Gzip),
        (Container::Plain, _) => is_log(name).then_some(Container::Plain),
        (archive, _) => Some(archive),
    }
}

/// The directory that names a log: the one holding it, except in the layout of `argo cp`
/// (`<namespace>/<workflow>/<node>/outputs/<artifact>/main.log`), where it is the node's.
fn parent_of(rel: &str) -> Option<String> {
    let (dir, _) = rel.rsplit_once('/')?;
    let dirs: Vec<&str> = dir.split('/').collect();
    match dirs.as_slice() {
        [.., node, "outputs", _artifact] => Some((*node).to_owned()),
        [.., last] => Some((*last).to_owned()),
        [] => None,
    }
}

/// The directory naming a log inside an archive: the member's own (an archive of Argo's
/// `<workflow>/<pod>/main.log` tree), else the archive's.
fn member_parent(file: &LogFile, member: &str) -> Option<String> {
    parent_of(member.trim_start_matches("./")).or_else(|| parent_of(&file.file.rel))
}

fn base_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// Reads every log of `file` with `scan_one` (a reader of one log), each made what the caller
/// keeps of it by `keep` as soon as it is read (a million pods' logs are held until the last
/// is read: only what is kept of each should be). An unreadable log is a log of unknown
/// result; an unreadable archive that only may hold logs is a warning.
pub fn read_logs<T: Send, U: Send>(
    file: &LogFile,
    scan_one: impl Fn(&mut dyn Read) -> (u64, T) + Sync,
    failed: impl Fn(String) -> T,
    keep: impl Fn(ScannedOne<T>) -> U + Sync,
) -> (Vec<U>, Vec<Warning>) {
    let rel = &file.file.rel;
    let plain_name = || {
        let base = base_name(rel);
        match file.file.container {
            Container::Gzip => base.strip_suffix(".gz").unwrap_or(&base).to_owned(),
            _ => base,
        }
    };
    let want = |member: &str| file.named_log || is_log(member);
    let (mut out, members) = artifacts::map_members(&file.file, &want, &|member, reader| {
        let (bytes, value) = scan_one(reader);
        keep(match member {
            None => ScannedOne {
                name: rel.clone(),
                log_name: plain_name(),
                parent: parent_of(rel),
                bytes,
                value,
            },
            Some(member) => ScannedOne {
                name: format!("{rel}!{member}"),
                log_name: base_name(member),
                parent: member_parent(file, member),
                bytes,
                value,
            },
        })
    });
    let mut warnings = Vec::new();
    let archive = file.file.container != Container::Plain && file.file.container != Container::Gzip;
    let mut failures: Vec<String> = members
        .failures
        .iter()
        .map(|f| match f {
            ReadFailure::Open(err) => format!("cannot open the log: {err}"),
            other => other.to_string(),
        })
        .collect();
    if archive && members.visited == 0 && failures.is_empty() && file.named_log {
        failures.push(if file.file.container == Container::Zip {
            "the zip archive holds no file".into()
        } else {
            "the archive holds no file".into()
        });
    }
    for reason in failures {
        if archive && !file.named_log {
            warnings.push(Warning {
                what: rel.clone(),
                reason,
            });
            continue;
        }
        let log_name = if archive {
            archive_stem(&base_name(rel)).to_owned()
        } else {
            plain_name()
        };
        out.push(keep(ScannedOne {
            name: rel.clone(),
            log_name,
            parent: parent_of(rel),
            bytes: 0,
            value: failed(reason),
        }));
    }
    (out, warnings)
}

/// One log read by [`read_logs`]: where it came from and what the reader made of it.
#[derive(Debug, Clone)]
pub struct ScannedOne<T> {
    pub name: String,
    pub log_name: String,
    pub parent: Option<String>,
    pub bytes: u64,
    pub value: T,
}

/// What the first bytes of a file in a known binary format say it holds.
fn binary_magic(head: &[u8]) -> Option<&'static str> {
    Some(match head {
        [0x1f, 0x8b, ..] => "gzip-compressed data",
        [b'P', b'K', 3, 4, ..] => "a zip archive",
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => "xz-compressed data",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => "zstd-compressed data",
        [b'B', b'Z', b'h', ..] => "bzip2-compressed data",
        [0x7f, b'E', b'L', b'F', ..] => "an ELF executable",
        _ => return None,
    })
}

/// Why the start of a log says it is not text, if it does: a known binary format, or many
/// control characters. NUL bytes do not count either way: they are dropped from every log
/// before it is read (a crash can leave blocks of NULs in a log that is text all around them).
fn not_text(head: &[u8]) -> Option<&'static str> {
    if let Some(kind) = binary_magic(head) {
        return Some(kind);
    }
    // Control characters other than NUL and what text logs hold (tab, newlines, form feed,
    // backspace, ESC for colours), counted with plain comparisons into bytes, 255 at most a
    // chunk, so the count vectorizes.
    let control: usize = head
        .chunks(255)
        .map(|chunk| {
            let counted = chunk.iter().fold(0u8, |n, &b| {
                n + u8::from(
                    (b < 0x20)
                        & (b != 0)
                        & (b != 8)
                        & (b != 9)
                        & (b != b'\n')
                        & (b != 12)
                        & (b != b'\r')
                        & (b != 27),
                )
            });
            usize::from(counted)
        })
        .sum();
    let nul = memchr::memchr_iter(0, head).count();
    (control * 20 > head.len() - nul).then_some("binary data")
}

/// Drops the NUL bytes of `bytes` in place; returns the length left.
fn drop_nuls(bytes: &mut [u8]) -> usize {
    let Some(first) = memchr::memchr(0, bytes) else {
        return bytes.len();
    };
    let mut kept = first;
    let mut at = first + 1;
    while at < bytes.len() {
        let end = memchr::memchr(0, &bytes[at..]).map_or(bytes.len(), |i| at + i);
        bytes.copy_within(at..end, kept);
        kept += end - at;
        at = end + 1;
    }
    kept
}

/// Streams `reader` line by line through a [`Classifier`]. Returns the bytes read.
pub fn scan(reader: impl Read) -> (u64, Classification) {
    scan_observed(reader, &mut |_, _| {})
}

/// One line as the pass shows it to a reader of the same pass.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// The line's first [`MAX_LINE`] bytes, without the newline.
    pub text: &'a [u8],
    /// Whether the line holds a piece of a phrase or of [`super::classify::OBSERVED`]
    /// ([`super::classify::SEARCHED`]): a line without may be passed over.
    pub marked: bool,
    /// The lines of the buffer before this one, and the last non-blank line before those:
    /// what [`Seen::previous`] looks back through. Only a line that needs it looks (keeping
    /// a copy of every line cost more than all else the readers do with most lines).
    before: &'a [u8],
    earlier: &'a [u8],
}

impl Seen<'_> {
    /// The last line before this one that is not blank (its first [`MAX_LINE`] bytes), or
    /// nothing: the command a bare signal report is about.
    pub fn previous(&self) -> &[u8] {
        last_non_blank(self.before).unwrap_or(self.earlier)
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// The last non-blank line of `lines` (whole lines, each ending in a newline), its first
/// [`MAX_LINE`] bytes.
fn last_non_blank(lines: &[u8]) -> Option<&[u8]> {
    let mut end = lines.len();
    while end > 0 {
        let newline = end - 1;
        let start = memchr::memrchr(b'\n', &lines[..newline]).map_or(0, |i| i + 1);
        let line = &lines[start..newline.min(start + MAX_LINE)];
        if !is_blank(line) {
            return Some(line);
        }
        end = start;
    }
    None
}

/// [`scan`], showing each line to `observe` right after the classifier took it, so a reader
/// of the same pass (`findings`, causes) knows the line number and the stage the log is in.
pub fn scan_observed(
    reader: impl Read,
    observe: &mut dyn FnMut(&Classifier, Seen),
) -> (u64, Classification) {
    // One buffer per thread, reused: a fresh 128 KiB buffer per log is a fresh mapping whose
    // every page faults in (a tenth of the time on a directory of small logs).
    thread_local! {
        static READ_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let mut buf = READ_BUFFER.take();
    buf.resize(READ_SIZE, 0);
    let out = scan_with(&mut buf, reader, observe);
    READ_BUFFER.set(buf);
    out
}

/// [`scan_observed`] reading through `buf`.
fn scan_with(
    buf: &mut [u8],
    mut reader: impl Read,
    observe: &mut dyn FnMut(&Classifier, Seen),
) -> (u64, Classification) {
    let mut pass = LinePass::new();
    let mut sniff = Sniff::default();
    let mut total: u64 = 0;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return (total, read_failed(total, &err)),
        };
        if let Some(kind) = sniff.take(&buf[..n], total + n as u64) {
            return (total + n as u64, not_a_text_log(kind));
        }
        let kept = drop_nuls(&mut buf[..n]);
        total += n as u64;
        pass.buffer(&buf[..kept], observe);
    }
    if let Some(kind) = sniff.unfinished() {
        return (total, not_a_text_log(kind));
    }
    (total, pass.finish(observe))
}

fn read_failed(total: u64, err: &io::Error) -> Classification {
    Classification::unknown(if total == 0 {
        format!("cannot read the log: {err}")
    } else {
        format!("reading the log failed after {total} bytes: {err}")
    })
}

fn not_a_text_log(kind: &str) -> Classification {
    Classification::unknown(format!("not a text log: it holds {kind}"))
}

/// The first [`SNIFF`] bytes of a log, judged by [`not_text`] once they are in.
#[derive(Default)]
struct Sniff {
    head: Vec<u8>,
    done: bool,
}

impl Sniff {
    /// Takes the bytes just read (`read` in all so far); why the log is not text, if the
    /// head is in and says so.
    fn take(&mut self, bytes: &[u8], read: u64) -> Option<&'static str> {
        if self.done {
            return None;
        }
        let room = SNIFF - self.head.len();
        self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if self.head.len() >= SNIFF || read >= SNIFF as u64 {
            self.done = true;
            return not_text(&self.head);
        }
        None
    }

    /// Why a log shorter than the head is not text, if it is not.
    fn unfinished(&self) -> Option<&'static str> {
        (!self.done).then(|| not_text(&self.head)).flatten()
    }
}

/// The lines of a log, buffer after buffer, through the classifier and the observer, with
/// what a line needs of the lines before it. Its methods are all inlined into each
/// `scan_with` (one per reader type), so that its fields stay that function's locals: not
/// inlined, the pass's loop ran 7% more instructions, reloading them from memory per line.
struct LinePass {
    classifier: Classifier,
    /// The last non-blank line of the buffers before this one (or of a line across two).
    previous: Vec<u8>,
    /// The line being assembled across reads, at most MAX_LINE bytes of it.
    pending: Vec<u8>,
    pending_any: bool,
    /// One search of each buffer for pieces of the phrases and of what observers look for
    /// (where each match starts): a line with none is passed over by every reader.
    finder: &'static AhoCorasick,
    hits: Vec<usize>,
    tail: Vec<(u64, usize, usize)>,
}

impl LinePass {
    #[inline(always)]
    fn new() -> Self {
        LinePass {
            classifier: Classifier::new(),
            previous: Vec::with_capacity(MAX_LINE),
            pending: Vec::with_capacity(MAX_LINE),
            pending_any: false,
            finder: super::classify::line_finder(),
            hits: Vec::new(),
            tail: Vec::with_capacity(TAIL_LINES),
        }
    }

    /// Feeds one buffer's lines (its NULs dropped); a line it ends in the middle of is kept
    /// for the next buffer.
    #[inline(always)]
    fn buffer(&mut self, chunk: &[u8], observe: &mut dyn FnMut(&Classifier, Seen)) {
        self.hits.clear();
        self.hits
            .extend(self.finder.find_iter(chunk).map(|m| m.start()));
        let mut next_hit = 0;
        let mut start = 0;
        // Where this buffer's own lines start: after the end of a line begun in the last one.
        let mut own_lines = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            let piece = &chunk[start..end];
            if self.pending_any {
                self.end_pending(piece, observe);
                hits_before(&self.hits, &mut next_hit, end);
                own_lines = end + 1;
            } else {
                let marked = hits_before(&self.hits, &mut next_hit, end);
                let line = &piece[..piece.len().min(MAX_LINE)];
                self.classifier.feed_untailed(line, marked);
                observe(
                    &self.classifier,
                    Seen {
                        text: line,
                        marked,
                        before: &chunk[own_lines..start],
                        earlier: &self.previous,
                    },
                );
            }
            start = end + 1;
        }
        self.after_lines(&chunk[..start], own_lines);
        if start < chunk.len() {
            self.extend_pending(&chunk[start..]);
            self.pending_any = true;
        }
    }

    /// The line begun in an earlier buffer, ended by `piece`: fed and observed whole.
    #[inline(always)]
    fn end_pending(&mut self, piece: &[u8], observe: &mut dyn FnMut(&Classifier, Seen)) {
        self.extend_pending(piece);
        let marked = self.finder.is_match(&self.pending[..]);
        self.classifier.feed_flagged(&self.pending, marked);
        observe(
            &self.classifier,
            Seen {
                text: &self.pending,
                marked,
                before: &[],
                earlier: &self.previous,
            },
        );
        if !is_blank(&self.pending) {
            std::mem::swap(&mut self.previous, &mut self.pending);
        }
        self.pending.clear();
        self.pending_any = false;
    }

    #[inline(always)]
    fn extend_pending(&mut self, piece: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.pending.len());
        self.pending
            .extend_from_slice(&piece[..piece.len().min(room)]);
    }

    /// After the whole lines of a buffer (`lines`, from `own_lines` on its own): the last
    /// non-blank one, for the next buffer to look back to, and the classifier's tail.
    #[inline(always)]
    fn after_lines(&mut self, lines: &[u8], own_lines: usize) {
        // Only the buffer's last tail lines can be in the classifier's tail: they are found
        // walking back from the buffer's end and copied once (a look at every line as it
        // passed, and a copy of each, cost a tenth of the pass).
        if let Some(line) = last_non_blank(&lines[own_lines..]) {
            self.previous.clear();
            self.previous.extend_from_slice(line);
        }
        last_tail_lines(lines, own_lines, self.classifier.lines(), &mut self.tail);
        for &(line_no, from, to) in self.tail.iter().rev() {
            self.classifier.push_tail(line_no, &lines[from..to]);
        }
    }

    /// The verdict once the log ended, a last line without its newline fed first.
    #[inline(always)]
    fn finish(mut self, observe: &mut dyn FnMut(&Classifier, Seen)) -> Classification {
        let ends_mid_line = self.pending_any;
        if self.pending_any {
            self.classifier.feed(&self.pending);
            observe(
                &self.classifier,
                Seen {
                    text: &self.pending,
                    marked: true,
                    before: &[],
                    earlier: &self.previous,
                },
            );
        }
        self.classifier.finish(ends_mid_line)
    }
}

/// Whether a hit of the buffer's search starts before `end` (a line's newline), passing
/// over those that do.
#[inline(always)]
fn hits_before(hits: &[usize], next: &mut usize, end: usize) -> bool {
    let mut any = false;
    while hits.get(*next).is_some_and(|&h| h < end) {
        any = true;
        *next += 1;
    }
    any
}

/// The last [`TAIL_LINES`] lines of `lines` (whole lines, each ending in a newline) from
/// `from` on that [`Classifier::is_tail_line`] keeps, last first, as (line number, start,
/// end), the line ending at `lines`' end being number `last_no`. A line is its first
/// [`MAX_LINE`] bytes, as the classifier saw it.
fn last_tail_lines(lines: &[u8], from: usize, last_no: u64, tail: &mut Vec<(u64, usize, usize)>) {
    tail.clear();
    let mut line_no = last_no;
    let mut end = lines.len();
    while tail.len() < TAIL_LINES && end > from {
        let newline = end - 1;
        let start = memchr::memrchr(b'\n', &lines[from..newline]).map_or(from, |i| from + i + 1);
        let line_end = newline.min(start + MAX_LINE);
        if Classifier::is_tail_line(&lines[start..line_end]) {
            tail.push((line_no, start, line_end));
        }
        line_no -= 1;
        end = start;
    }
}

#[cfg(test)]
mod tests;
