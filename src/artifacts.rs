//! The one artifact reader behind `report`, `sarif` and `findings`: walking a directory tree
//! under one symlink policy and opening each file's members (plain, `.gz`, `.tgz`, `.zip`, and
//! the pods of `argo logs` output: [`podlogs`]).
//!
//! The policy: stay inside the given directory; do not follow symlinked directories (a
//! `latest -> run1` link would count every cell twice, a link up the tree would loop); read a
//! symlinked file only if it resolves to a file inside the directory that is not read already;
//! skip special files (FIFOs, devices, sockets: reading one can block forever); read each file
//! once. Problems with part of the tree are warnings returned to the caller, never printed here.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

mod podlogs;

/// How a file holds its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Plain,
    Gzip,
    TarGz,
    Zip,
}

impl Container {
    /// The container a file's name says it is, with the name inside it (`x.log.gz` → `x.log`;
    /// archives keep their own stem, `x.sh.txt.zip` → `x.sh.txt`).
    pub fn of(name: &str) -> (Container, &str) {
        if let Some(stem) = name
            .strip_suffix(".tgz")
            .or_else(|| name.strip_suffix(".tar.gz"))
        {
            (Container::TarGz, stem)
        } else if let Some(stem) = name.strip_suffix(".gz") {
            (Container::Gzip, stem)
        } else if let Some(stem) = name.strip_suffix(".zip") {
            (Container::Zip, stem)
        } else {
            (Container::Plain, name)
        }
    }
}

/// A file found under the directory.
#[derive(Debug, Clone)]
pub struct ArtifactFile {
    pub path: PathBuf,
    /// The path relative to the directory, with `/` separators.
    pub rel: String,
    pub container: Container,
    /// Size on disk (compressed for archives), for progress.
    pub size: u64,
}

/// Something the reader skipped, and why: the caller decides whether to print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The path (relative to the directory when inside it) or archive member at fault.
    pub what: String,
    pub reason: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skipping {}: {}", self.what, self.reason)
    }
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// In sorted path order.
    pub files: Vec<ArtifactFile>,
    pub warnings: Vec<Warning>,
    /// Those of `warnings` that are a directory or file that could not be read (permissions,
    /// I/O), as opposed to what the policy skips: a reader that must not silently leave
    /// inputs out refuses these.
    pub unreadable: Vec<Warning>,
}

/// Progress of a long read: bytes (on disk) done of the total. Domain code calls it; the CLI
/// draws it.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// A [`Progress`] that shows nothing.
pub fn no_progress(_done: u64, _total: u64) {}

/// Walks `dir` under the module's policy and keeps the regular files `accept` takes (by
/// name; hidden files are never taken). Fails only if `dir` itself cannot be read.
pub fn walk(dir: &Path, accept: impl Fn(&str) -> bool) -> Result<Walk> {
    let meta =
        fs::metadata(dir).with_context(|| format!("cannot read directory {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let root =
        fs::canonicalize(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let mut walker = Walker {
        dir,
        root,
        walk: Walk::default(),
        seen: HashSet::new(),
    };
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        match entry {
            Ok(entry) => walker.entry(entry, &accept),
            // One unreadable corner (permissions) does not hide the rest.
            Err(err) => {
                let what = err
                    .path()
                    .map(|path| rel_of(dir, path))
                    .unwrap_or_else(|| ".".into());
                let reason = err
                    .io_error()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| err.to_string());
                walker.walk.skip_unreadable(Warning { what, reason });
            }
        }
    }
    // The walk is in sorted order, so which name of a twice-named file is kept (the first in
    // path order) is the same on every run.
    Ok(walker.walk)
}

impl Walk {
    /// Skips what cannot be read, with a warning that says so.
    fn skip_unreadable(&mut self, warning: Warning) {
        self.unreadable.push(warning.clone());
        self.warnings.push(warning);
    }
}

/// `path` relative to `dir`, with `/` separators.
fn rel_of(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A walk under way.
struct Walker<'a> {
    dir: &'a Path,
    /// `dir` resolved.
    root: PathBuf,
    walk: Walk,
    /// The canonical paths of the files taken.
    seen: HashSet<PathBuf>,
}

impl Walker<'_> {
    /// Takes the entry if it is a file `accept` takes and the policy allows, else skips it
    /// (with a warning when the policy is why).
    fn entry(&mut self, entry: walkdir::DirEntry, accept: &impl Fn(&str) -> bool) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.depth() == 0 || name.starts_with('.') {
            return;
        }
        let kind = entry.file_type();
        if kind.is_dir() || !accept(&name) {
            return;
        }
        let rel = rel_of(self.dir, entry.path());
        let target = if kind.is_symlink() {
            match self.symlink_target(entry.path()) {
                Ok(target) => target,
                Err(reason) => {
                    self.walk.warnings.push(Warning { what: rel, reason });
                    return;
                }
            }
        } else {
            entry.path().to_path_buf()
        };
        // The target's own type: a symlink may point at a directory or a FIFO.
        let meta = match fs::metadata(&target) {
            Ok(m) => m,
            Err(err) => {
                let reason = err.to_string();
                self.walk.skip_unreadable(Warning { what: rel, reason });
                return;
            }
        };
        if meta.is_dir() {
            return;
        }
        if !meta.is_file() {
            self.walk.warnings.push(Warning {
                what: rel,
                reason: "not a regular file (a FIFO, socket or device)".into(),
            });
            return;
        }
        let canonical = if kind.is_symlink() {
            target
        } else {
            self.canonical(entry.path(), target)
        };
        if !self.seen.insert(canonical) {
            // The second name of a file already read (a symlink beside its target).
            return;
        }
        self.walk.files.push(ArtifactFile {
            path: entry.into_path(),
            rel,
            container: Container::of(&name).0,
            size: meta.len(),
        });
    }

    /// What a symlink resolves to, if that is inside the directory; else why it is skipped.
    fn symlink_target(&self, link: &Path) -> Result<PathBuf, String> {
        match fs::canonicalize(link) {
            Ok(t) if !t.starts_with(&self.root) => Err(format!(
                "a symlink to {}, outside the directory read",
                t.display()
            )),
            Ok(t) => Ok(t),
            Err(err) => Err(format!("a symlink that does not resolve: {err}")),
        }
    }

    /// The canonical path of a file that is no symlink, at `path` in the walk.
    ///
    /// The walk follows no symlinked directory, so below the (resolved) root every directory
    /// of a file's path is a real one: its canonical path is the root joined to its path in
    /// the walk, with no lookup of each component (a tenth of `report`'s time on a directory
    /// of 250 logs).
    fn canonical(&self, path: &Path, target: PathBuf) -> PathBuf {
        match path.strip_prefix(self.dir) {
            Ok(inside) => self.root.join(inside),
            Err(_) => fs::canonicalize(&target).unwrap_or(target),
        }
    }
}

/// Why (part of) a file could not be read.
#[derive(Debug)]
pub enum ReadFailure {
    /// The file itself cannot be opened.
    Open(io::Error),
    /// The archive is unreadable from some point on (members before it were visited).
    Archive(String),
    /// One member of a zip archive cannot be read; the others were visited.
    Member(String),
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFailure::Open(err) => write!(f, "cannot open it: {err}"),
            ReadFailure::Archive(reason) | ReadFailure::Member(reason) => f.write_str(reason),
        }
    }
}

/// What reading one file's members gave besides the visits.
#[derive(Debug, Default)]
pub struct Members {
    /// Members visited (1 for a plain or gzipped file).
    pub visited: usize,
    pub failures: Vec<ReadFailure>,
}

/// Streams each member of `file` that `want` takes (by member path; plain and gzipped files
/// are one member, `None`) to `visit`. Never holds a member in memory.
pub fn read_members(
    file: &ArtifactFile,
    want: &dyn Fn(&str) -> bool,
    visit: &mut dyn FnMut(Option<&str>, &mut dyn Read),
) -> Members {
    members(file, want, &mut OneByOne(visit))
}

/// [`read_members`] for a `scan` that may run on several threads at once: what it gives for
/// each member, in member order. The pods of an `argo logs` file, spooled whole before they
/// are read, are scanned in parallel.
pub fn map_members<R: Send>(
    file: &ArtifactFile,
    want: &dyn Fn(&str) -> bool,
    scan: &(dyn Fn(Option<&str>, &mut dyn Read) -> R + Sync),
) -> (Vec<R>, Members) {
    let mut sink = Mapped {
        scan,
        results: Vec::new(),
    };
    let members = members(file, want, &mut sink);
    (sink.results, members)
}

/// Where a file's members go as they are read.
trait MemberSink {
    fn member(&mut self, member: Option<&str>, reader: &mut dyn Read);

    /// The pods of an `argo logs` file, all spooled: one after another, unless the sink can do
    /// better.
    fn pods(&mut self, pods: &podlogs::Spooled) {
        for i in 0..pods.len() {
            let (name, mut reader) = pods.pod(i);
            self.member(Some(name), &mut reader);
        }
    }
}

struct OneByOne<'a>(&'a mut dyn FnMut(Option<&str>, &mut dyn Read));

impl MemberSink for OneByOne<'_> {
    fn member(&mut self, member: Option<&str>, reader: &mut dyn Read) {
        (self.0)(member, reader);
    }
}

struct Mapped<'a, R> {
    scan: &'a (dyn Fn(Option<&str>, &mut dyn Read) -> R + Sync),
    results: Vec<R>,
}

impl<R: Send> MemberSink for Mapped<'_, R> {
    fn member(&mut self, member: Option<&str>, reader: &mut dyn Read) {
        self.results.push((self.scan)(member, reader));
    }

    fn pods(&mut self, pods: &podlogs::Spooled) {
        use rayon::prelude::*;
        let scan = self.scan;
        let scanned: Vec<R> = (0..pods.len())
            .into_par_iter()
            .map(|i| {
                let (name, mut reader) = pods.pod(i);
                scan(Some(name), &mut reader)
            })
            .collect();
        // Taken whole when it is all there is (a plain file of pods): extending an empty list
        // copies every result into a second one.
        if self.results.is_empty() {
            self.results = scanned;
        } else {
            self.results.extend(scanned);
        }
    }
}

fn members(
    file: &ArtifactFile,
    want: &dyn Fn(&str) -> bool,
    visit: &mut dyn MemberSink,
) -> Members {
    let mut out = Members::default();
    let opened = match File::open(&file.path) {
        Ok(f) => f,
        Err(err) => {
            out.failures.push(ReadFailure::Open(err));
            return out;
        }
    };
    match file.container {
        Container::Plain => one_or_pods(opened, want, visit, &mut out),
        Container::Gzip => gzip_member(
            flate2::read::MultiGzDecoder::new(BufReader::new(opened)),
            want,
            visit,
            &mut out,
            TAR_LIMITS.bytes,
        ),
        Container::TarGz => tar_members(
            flate2::read::GzDecoder::new(BufReader::new(opened)),
            want,
            visit,
            &mut out,
            TAR_LIMITS,
        ),
        Container::Zip => zip_members(opened, want, visit, &mut out, ZIP_INFLATED_LIMIT),
    }
    out
}

/// What one tar archive may unpack to: the bytes of its tar stream (headers and members) and
/// its entries. A gzipped tar of zeroes inflates a thousandfold, and skipping a member still
/// inflates it; a real archive of logs is a few hundred MB of a few thousand files.
#[derive(Debug, Clone, Copy)]
pub struct TarLimits {
    pub bytes: u64,
    pub entries: u64,
}

pub const TAR_LIMITS: TarLimits = TarLimits {
    bytes: ZIP_INFLATED_LIMIT,
    entries: 100_000,
};

/// The members of a gzipped tar archive, its stream inflated to at most `limits.bytes` and
/// at most `limits.entries` entries; a member whose header says it would pass the byte limit
/// stops the reading before it is inflated.
fn tar_members(
    reader: impl Read,
    want: &dyn Fn(&str) -> bool,
    visit: &mut dyn MemberSink,
    out: &mut Members,
    limits: TarLimits,
) {
    let mut left = limits.bytes;
    let mut archive = tar::Archive::new(Inflated {
        inner: reader,
        left: &mut left,
        over: false,
    });
    let mut refused = None;
    match archive.entries() {
        Err(err) => refused = Some(format!("cannot read the archive: {err}")),
        Ok(entries) => {
            let (mut count, mut declared) = (0u64, 0u64);
            for entry in entries {
                let mut entry = match entry {
                    Ok(e) => e,
                    Err(err) => {
                        refused = Some(format!("cannot read the archive: {err}"));
                        break;
                    }
                };
                count += 1;
                declared = declared.saturating_add(entry.header().size().unwrap_or(u64::MAX));
                if let Some(why) = tar_over(count, declared, limits) {
                    refused = Some(tar_bomb(&why, limits, out.visited));
                    break;
                }
                if !entry.header().entry_type().is_file() {
                    continue;
                }
                let member = (entry.path())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if want(&member) {
                    visit.member(Some(&member), &mut entry);
                    out.visited += 1;
                }
            }
        }
    }
    if archive.into_inner().over {
        // The stream itself passed the limit (headers, long names): that is the reason.
        let why = format!("it unpacks to more than {} bytes", limits.bytes);
        refused = Some(tar_bomb(&why, limits, out.visited));
    }
    out.failures.extend(refused.map(ReadFailure::Archive));
}

/// Which of `limits` a tar archive of `entries` entries, whose headers declared `declared`
/// bytes so far, is past.
fn tar_over(entries: u64, declared: u64, limits: TarLimits) -> Option<String> {
    if entries > limits.entries {
        return Some(format!("it has more than {} entries", limits.entries));
    }
    (declared > limits.bytes).then(|| {
        format!(
            "its members say they unpack to more than {}",
            crate::input::human_size(limits.bytes)
        )
    })
}

/// The failure of a tar archive refused: `why`, the limits, and what was read of it.
fn tar_bomb(why: &str, limits: TarLimits, visited: usize) -> String {
    format!(
        "refused as a tar bomb: {why} (one archive may unpack to {} in at most {} entries); \
         reading stopped there, after {visited} member(s)",
        crate::input::human_size(limits.bytes),
        limits.entries
    )
}

/// A gzipped file, inflated to at most `limit` bytes: past it the reading stops (what was
/// read of it counts) with a failure naming the limit, as for a tar or zip archive.
fn gzip_member(
    reader: impl Read,
    want: &dyn Fn(&str) -> bool,
    visit: &mut dyn MemberSink,
    out: &mut Members,
    limit: u64,
) {
    let mut left = limit;
    let mut bounded = Inflated {
        inner: reader,
        left: &mut left,
        over: false,
    };
    one_or_pods(&mut bounded, want, visit, out);
    if bounded.over {
        out.failures.push(ReadFailure::Archive(format!(
            "refused as a gzip bomb: it inflates to more than {}; reading stopped there",
            crate::input::human_size(limit)
        )));
    }
}

/// The bytes all members of one zip archive may inflate to together. A real archive of logs
/// holds at most a few of hundreds of MB; a zip bomb (one small deflate stream of a GiB that
/// every entry points at, or one entry of a ratio of a thousand) is stopped here.
pub const ZIP_INFLATED_LIMIT: u64 = 4 << 30;

/// The members of a zip archive, after [`zip_layout_failure`] finds nothing wrong, inflated to
/// at most `limit` bytes together ([`ZIP_INFLATED_LIMIT`]).
fn zip_members(
    opened: File,
    want: &dyn Fn(&str) -> bool,
    visit: &mut dyn MemberSink,
    out: &mut Members,
    limit: u64,
) {
    let mut archive = match zip::ZipArchive::new(BufReader::new(opened)) {
        Ok(a) => a,
        Err(err) => {
            out.failures.push(ReadFailure::Archive(format!(
                "cannot read the zip archive: {err}"
            )));
            return;
        }
    };
    if let Some(reason) = zip_layout_failure(&mut archive, limit) {
        out.failures.push(ReadFailure::Archive(reason));
        return;
    }
    let mut left = limit;
    for i in 0..archive.len() {
        let entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(err) => {
                out.failures.push(ReadFailure::Member(format!(
                    "cannot read member {i} of the zip archive: {err}"
                )));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let member = entry.name().to_owned();
        if want(&member) {
            let mut bounded = Inflated {
                inner: entry,
                left: &mut left,
                over: false,
            };
            visit.member(Some(&member), &mut bounded);
            out.visited += 1;
            if bounded.over {
                out.failures.push(ReadFailure::Archive(zip_bomb(
                    &format!("its members inflate to more than {limit} bytes"),
                    limit,
                    "reading stopped there",
                )));
                return;
            }
        }
    }
}

/// Why a zip archive is refused before any member is read: two entries whose data overlap
/// (a zip bomb's trick: many entries, one stream), or members declared larger than
/// [`ZIP_INFLATED_LIMIT`] together.
fn zip_layout_failure<R: Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    limit: u64,
) -> Option<String> {
    let mut spans = Vec::with_capacity(archive.len());
    let mut declared = 0u64;
    for i in 0..archive.len() {
        // Raw: the local header is read for where the data starts, nothing is inflated.
        let Ok(entry) = archive.by_index_raw(i) else {
            continue;
        };
        let start = entry.header_start();
        let end = entry.data_start().saturating_add(entry.compressed_size());
        declared = declared.saturating_add(entry.size());
        spans.push((start, end, entry.name().to_owned()));
    }
    spans.sort();
    if let Some(pair) = spans.windows(2).find(|pair| pair[1].0 < pair[0].1) {
        return Some(zip_bomb(
            &format!(
                "its entries {:?} and {:?} share bytes {}..{}",
                pair[0].2, pair[1].2, pair[1].0, pair[0].1
            ),
            limit,
            UNREAD,
        ));
    }
    if declared > limit {
        return Some(zip_bomb(
            &format!(
                "its members say they inflate to {declared} bytes, more than {}",
                crate::input::human_size(limit)
            ),
            limit,
            UNREAD,
        ));
    }
    None
}

const UNREAD: &str = "none of its members was read";

/// The failure of a zip archive refused: `why`, the limits, and what was read of it.
fn zip_bomb(why: &str, limit: u64, read: &str) -> String {
    format!(
        "refused as a zip bomb: {why} (one archive's members may inflate to {} together, \
         and no two entries may share data); {read}",
        crate::input::human_size(limit)
    )
}

/// A reader (a zip member, a tar stream) that stops with an error when the archive's inflated
/// budget `left` is spent.
struct Inflated<'a, R> {
    inner: R,
    left: &'a mut u64,
    /// Whether the budget ran out: the reader's error is then this.
    over: bool,
}

impl<R: Read> Read for Inflated<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if *self.left == 0 {
            // One byte more tells a member that ends exactly at the budget from a bomb.
            let n = self.inner.read(&mut [0u8; 1])?;
            if n == 0 {
                return Ok(0);
            }
            self.over = true;
            return Err(io::Error::other("the archive inflates past its limit"));
        }
        let room = buf
            .len()
            .min(usize::try_from(*self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..room])?;
        *self.left -= n as u64;
        Ok(n)
    }
}

/// A plain (or gzipped) file is one member, unless it is the output of `argo logs`: then each
/// pod's lines are a member named after the pod.
fn one_or_pods(
    mut reader: impl Read,
    want: &dyn Fn(&str) -> bool,
    visit: &mut dyn MemberSink,
    out: &mut Members,
) {
    let mut head = Vec::with_capacity(podlogs::SNIFF);
    // A read error here shows again to whoever reads the file next, with its context.
    let _ = (&mut reader)
        .take(podlogs::SNIFF as u64)
        .read_to_end(&mut head);
    let format = podlogs::sniff(&head);
    let mut whole = io::Cursor::new(head).chain(reader);
    match format {
        None => {
            visit.member(None, &mut whole);
            out.visited = 1;
        }
        Some(format) => {
            let (pods, failure) = podlogs::split(whole, format, want);
            if let Some(pods) = pods {
                visit.pods(&pods);
                out.visited = pods.len();
            }
            out.failures.extend(failure.map(ReadFailure::Archive));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_members_that_inflate_past_the_limit_stop_there() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for name in ["a.log", "b.log"] {
            zw.start_file(name, opts).unwrap();
            zw.write_all(&[b'a'; 6000]).unwrap();
        }
        let path = d.path().join("z.zip");
        std::fs::write(&path, zw.finish().unwrap().into_inner()).unwrap();
        let read = |limit: u64| {
            let opened = File::open(&path).unwrap();
            read_whole(|sink, out| zip_members(opened, &|_| true, sink, out, limit))
        };
        assert_eq!(read(12_000), (12_000, vec![]));
        // Said to be 12,000 bytes together: refused unread.
        let (n, failures) = read(11_999);
        assert_eq!(n, 0);
        assert!(
            failures[0].contains("say they inflate to 12000 bytes"),
            "{failures:?}"
        );
    }

    /// A tar of `files` (name, size of `a`s), as bytes.
    fn tar_of(files: &[(&str, usize)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, size) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(*size as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, &vec![b'a'; *size][..])
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

    /// The bytes of members read, and the failures, when `walk` hands every member of an
    /// artifact to a sink that reads each whole.
    fn read_whole(walk: impl FnOnce(&mut dyn MemberSink, &mut Members)) -> (usize, Vec<String>) {
        let mut out = Members::default();
        let mut bytes = Vec::new();
        let mut visit = |_: Option<&str>, r: &mut dyn Read| {
            let _ = r.read_to_end(&mut bytes);
        };
        walk(&mut OneByOne(&mut visit), &mut out);
        let failures = out.failures.iter().map(|f| f.to_string()).collect();
        (bytes.len(), failures)
    }

    /// The bytes of members read and the failures of reading `tar` under `limits`.
    fn read_tar(tar: &[u8], limits: TarLimits) -> (usize, Vec<String>) {
        read_whole(|sink, out| tar_members(tar, &|_| true, sink, out, limits))
    }

    #[test]
    fn a_gzipped_file_past_its_limit_stops_there_naming_it() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[b'a'; 5000]).unwrap();
        let gz = gz.finish().unwrap();
        let read = |limit: u64| {
            let inflated = flate2::read::MultiGzDecoder::new(&gz[..]);
            read_whole(|sink, out| gzip_member(inflated, &|_| true, sink, out, limit))
        };
        assert_eq!(read(5000), (5000, vec![]));
        let (n, failures) = read(4000);
        assert_eq!(n, 4000);
        assert_eq!(
            failures,
            ["refused as a gzip bomb: it inflates to more than 4000 bytes; reading stopped there"]
        );
    }

    #[test]
    fn a_tar_past_its_entry_or_byte_limit_stops_there_naming_the_limit() {
        let tar = tar_of(&[("a.log", 3000), ("b.log", 3000), ("c.log", 3000)]);
        let roomy = TarLimits {
            bytes: 1 << 20,
            entries: 3,
        };
        assert_eq!(read_tar(&tar, roomy), (9000, vec![]));
        let (n, failures) = read_tar(
            &tar,
            TarLimits {
                entries: 2,
                ..roomy
            },
        );
        assert_eq!(n, 6000);
        assert_eq!(
            failures,
            [
                "refused as a tar bomb: it has more than 2 entries (one archive may unpack to \
              1 MiB in at most 2 entries); reading stopped there, after 2 member(s)"
            ]
        );
        // The third header says it passes 8,000 bytes: refused before it is inflated.
        let (n, failures) = read_tar(
            &tar,
            TarLimits {
                bytes: 8000,
                ..roomy
            },
        );
        assert_eq!(n, 6000);
        assert!(
            failures[0].contains("its members say they unpack to more than 8000 bytes"),
            "{failures:?}"
        );
        // Headers count too: a stream past the limit stops, whatever its headers say.
        let (_, failures) = read_tar(
            &tar,
            TarLimits {
                bytes: 6500,
                ..roomy
            },
        );
        assert!(
            failures[0].starts_with("refused as a tar bomb: it unpacks to more than 6500 bytes"),
            "{failures:?}"
        );
    }

    fn names(walk: &Walk) -> Vec<&str> {
        walk.files.iter().map(|f| f.rel.as_str()).collect()
    }

    #[test]
    fn containers_by_name() {
        assert_eq!(Container::of("a.log"), (Container::Plain, "a.log"));
        assert_eq!(Container::of("a.log.gz"), (Container::Gzip, "a.log"));
        assert_eq!(Container::of("a.tar.gz"), (Container::TarGz, "a"));
        assert_eq!(Container::of("a.sh.txt.zip"), (Container::Zip, "a.sh.txt"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_special_files_follow_the_policy() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.log"), "x\n").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir(d.join("run1")).unwrap();
        std::fs::write(d.join("run1/a.log"), "a\n").unwrap();
        std::fs::write(d.join("b.log"), "b\n").unwrap();
        symlink(d.join("run1"), d.join("latest")).unwrap();
        symlink(d.join("b.log"), d.join("c.log")).unwrap();
        symlink(outside.path().join("secret.log"), d.join("s.log")).unwrap();
        symlink(d.join("nowhere"), d.join("dangling.log")).unwrap();
        let fifo = d.join("pipe.log");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let walk = walk(d, |n| n.ends_with(".log")).unwrap();
        // `latest` (a directory link) is not followed; `c.log` is `b.log` read once; the link
        // out of the tree and the dangling one are warnings.
        assert_eq!(names(&walk), ["b.log", "run1/a.log"]);
        let warned: Vec<&str> = walk.warnings.iter().map(|w| w.what.as_str()).collect();
        let mut expected = vec!["dangling.log", "s.log"];
        if made.is_ok_and(|s| s.success()) {
            expected.insert(1, "pipe.log");
        }
        assert_eq!(warned, expected, "{:?}", walk.warnings);
        assert!(walk.warnings[warned.len() - 1].reason.contains("outside"));
    }

    #[test]
    fn not_a_directory_is_an_error() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let err = walk(tmp.path(), |_| true).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn members_of_each_container() {
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("p.log"), "plain\n").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"gz\n").unwrap();
        std::fs::write(d.join("g.log.gz"), gz.finish().unwrap()).unwrap();
        let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        zw.start_file("in/z.log", opts).unwrap();
        zw.write_all(b"zip\n").unwrap();
        zw.start_file("other.bin", opts).unwrap();
        std::fs::write(d.join("z.zip"), zw.finish().unwrap().into_inner()).unwrap();
        std::fs::write(d.join("bad.zip"), "not a zip").unwrap();
        let walk = walk(d, |_| true).unwrap();
        let mut seen = Vec::new();
        let mut failures = Vec::new();
        for file in &walk.files {
            let m = read_members(file, &|m| m.ends_with(".log"), &mut |member, r| {
                let mut s = String::new();
                r.read_to_string(&mut s).unwrap();
                seen.push((file.rel.clone(), member.map(str::to_owned), s));
            });
            failures.extend(m.failures.iter().map(|f| format!("{}: {f}", file.rel)));
        }
        assert_eq!(
            seen,
            [
                ("g.log.gz".into(), None, "gz\n".into()),
                ("p.log".into(), None, "plain\n".into()),
                ("z.zip".into(), Some("in/z.log".into()), "zip\n".into()),
            ]
        );
        assert_eq!(failures.len(), 1);
        assert!(failures[0].starts_with("bad.zip: cannot read the zip"));
    }

    #[test]
    fn mapped_members_come_in_member_order_as_read_members_visits_them() {
        let tmp = tempfile::tempdir().unwrap();
        // `argo logs` output of 40 pods (scanned in parallel by `map_members`), one left out.
        let mut text = String::new();
        for line in 0..30 {
            for pod in (0..40).rev() {
                text.push_str(&format!("wf-build-{pod}: line {line} of {pod}\n"));
            }
        }
        std::fs::write(tmp.path().join("wf.log"), &text).unwrap();
        let walk = walk(tmp.path(), |_| true).unwrap();
        let file = &walk.files[0];
        let want = |m: &str| m != "wf-build-7";
        let mut visited = Vec::new();
        let one_by_one = read_members(file, &want, &mut |member, r| {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            visited.push((member.unwrap().to_owned(), s));
        });
        let (mapped, members) = map_members(file, &want, &|member, r| {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            (member.unwrap().to_owned(), s)
        });
        assert_eq!(mapped, visited);
        assert_eq!((members.visited, one_by_one.visited), (39, 39));
        assert!(members.failures.is_empty());
        assert_eq!(mapped[0].0, "wf-build-0");
        assert_eq!(mapped[1].0, "wf-build-1");
        assert_eq!(mapped[2].0, "wf-build-10");
        let (name, log) = &mapped[38];
        assert_eq!(name, "wf-build-9");
        assert!(log.starts_with("line 0 of 9\nline 1 of 9\n") && log.lines().count() == 30);
    }
}
