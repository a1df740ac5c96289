//! Finding build logs in the layouts people have (a flat directory, Argo's artifact layout
//! `<workflow>/<pod>/main.log`, `.gz`, `.tgz`/`.tar.gz`, `.zip`) and streaming each one through
//! the classifier without holding it in memory.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::classify::{Classification, Classifier};

/// Longest prefix of a line the classifier sees; the rest of a longer line is skipped.
const MAX_LINE: usize = 8 * 1024;
/// How much of the start of a log is checked for binary data.
const SNIFF: usize = 8 * 1024;

/// How a log file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Plain,
    Gzip,
    TarGz,
    Zip,
}

/// A file under LOGDIR that holds one or more logs.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub path: PathBuf,
    /// The path relative to LOGDIR, with `/` separators.
    pub rel: String,
    pub container: Container,
    /// Whether the archive's own name says it holds logs (`x.log.tgz`, `x.sh.txt.zip`); other
    /// archives (Argo's artifacts) are searched for members named like logs.
    pub named_log: bool,
}

/// One log read: where it came from and what it says.
#[derive(Debug, Clone)]
pub struct ScannedLog {
    /// `rel`, or `rel!entry` for a member of an archive.
    pub name: String,
    /// The name of the log itself (the archive member's, or the file's), for its key.
    pub log_name: String,
    /// The directory holding it inside LOGDIR (Argo: the pod's directory), if any.
    pub parent: Option<String>,
    pub bytes: u64,
    pub classification: Classification,
}

/// Which files of a directory tree are logs, by name.
pub fn find_logs(dir: &Path) -> Result<Vec<LogFile>> {
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("cannot read log directory {}", dir.display()))?;
    if !meta.is_dir() {
        bail!(
            "{} is not a directory; give the directory holding the logs",
            dir.display()
        );
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(entry) => entry,
            // One unreadable corner (permissions, a symlink loop) does not hide the rest.
            Err(err) => {
                eprintln!("warning: skipping part of {}: {err}", dir.display());
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Some(container) = container_of(&name) else {
            continue;
        };
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push(LogFile {
            path: entry.into_path(),
            rel,
            container,
            named_log: is_log(archive_stem(&name)),
        });
    }
    Ok(files)
}

/// A log's name: `*.log`, `*.txt` (`build_004-1.sh.txt`).
fn is_log(name: &str) -> bool {
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
fn container_of(name: &str) -> Option<Container> {
    if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        Some(Container::TarGz)
    } else if let Some(inner) = name.strip_suffix(".gz") {
        is_log(inner).then_some(Container::Gzip)
    } else if name.ends_with(".zip") {
        Some(Container::Zip)
    } else {
        is_log(name).then_some(Container::Plain)
    }
}

fn parent_of(rel: &str) -> Option<String> {
    let (dir, _) = rel.rsplit_once('/')?;
    Some(dir.rsplit('/').next().unwrap_or(dir).to_owned())
}

/// The directory naming a log inside an archive: the member's own (an archive of Argo's
/// `<workflow>/<pod>/main.log` tree), else the archive's.
fn member_parent(file: &LogFile, member: &str) -> Option<String> {
    parent_of(member.trim_start_matches("./")).or_else(|| parent_of(&file.rel))
}

fn base_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// Reads every log of `file`. Never fails: an unreadable log is a log of unknown result.
pub fn scan_file(file: &LogFile) -> Vec<ScannedLog> {
    let plain_name = || {
        let base = base_name(&file.rel);
        match file.container {
            Container::Gzip => base.strip_suffix(".gz").unwrap_or(&base).to_owned(),
            _ => base,
        }
    };
    let one = |bytes: u64, classification: Classification| {
        vec![ScannedLog {
            name: file.rel.clone(),
            log_name: plain_name(),
            parent: parent_of(&file.rel),
            bytes,
            classification,
        }]
    };
    let opened = match File::open(&file.path) {
        Ok(f) => f,
        Err(err) => {
            return one(
                0,
                Classification::unknown(format!("cannot open the log: {err}")),
            )
        }
    };
    match file.container {
        Container::Plain => {
            let (bytes, c) = scan(opened);
            one(bytes, c)
        }
        Container::Gzip => {
            let (bytes, c) = scan(flate2::read::MultiGzDecoder::new(BufReader::new(opened)));
            one(bytes, c)
        }
        Container::TarGz => scan_tar(file, opened),
        Container::Zip => scan_zip(file, opened),
    }
}

fn scan_tar(file: &LogFile, opened: File) -> Vec<ScannedLog> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(opened)));
    let failed = |reason: String| archive_failure(file, reason);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(err) => return failed(format!("cannot read the archive: {err}")),
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                out.extend(failed(format!("cannot read the archive: {err}")));
                break;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.extend(scan_member(file, member, entry));
    }
    if out.is_empty() && file.named_log {
        out.extend(failed("the archive holds no file".into()));
    }
    out
}

/// A member of an archive: scanned if the archive is a log's (`x.sh.txt.zip`) or the member's
/// name says it is a log; skipped otherwise.
fn scan_member(file: &LogFile, member: String, reader: impl Read) -> Option<ScannedLog> {
    if !file.named_log && !is_log(&member) {
        return None;
    }
    let (bytes, classification) = scan(reader);
    Some(ScannedLog {
        name: format!("{}!{member}", file.rel),
        log_name: base_name(&member),
        parent: member_parent(file, &member),
        bytes,
        classification,
    })
}

/// An archive that cannot be read: a log of unknown result if its name says it is a log,
/// else (an artifact archive that may hold logs) a warning.
fn archive_failure(file: &LogFile, reason: String) -> Vec<ScannedLog> {
    if !file.named_log {
        eprintln!("warning: skipping {}: {reason}", file.rel);
        return Vec::new();
    }
    let base = base_name(&file.rel);
    vec![ScannedLog {
        name: file.rel.clone(),
        log_name: archive_stem(&base).to_owned(),
        parent: parent_of(&file.rel),
        bytes: 0,
        classification: Classification::unknown(reason),
    }]
}

fn scan_zip(file: &LogFile, opened: File) -> Vec<ScannedLog> {
    let failed = |reason: String| archive_failure(file, reason);
    let mut archive = match zip::ZipArchive::new(BufReader::new(opened)) {
        Ok(a) => a,
        Err(err) => return failed(format!("cannot read the zip archive: {err}")),
    };
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(err) => {
                out.extend(failed(format!(
                    "cannot read member {i} of the zip archive: {err}"
                )));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let member = entry.name().to_owned();
        out.extend(scan_member(file, member, entry));
    }
    if out.is_empty() && file.named_log {
        out.extend(failed("the zip archive holds no file".into()));
    }
    out
}

/// What the first bytes of a non-text file look like, for the reason given.
fn binary_kind(head: &[u8]) -> &'static str {
    match head {
        [0x1f, 0x8b, ..] => "gzip-compressed data",
        [b'P', b'K', 3, 4, ..] => "a zip archive",
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => "xz-compressed data",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => "zstd-compressed data",
        [b'B', b'Z', b'h', ..] => "bzip2-compressed data",
        [0x7f, b'E', b'L', b'F', ..] => "an ELF executable",
        _ => "binary data",
    }
}

/// Whether the start of a log is text: no NUL bytes, few control characters.
fn looks_binary(head: &[u8]) -> bool {
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x08 | 0x0c))
        .count();
    control * 20 > head.len()
}

/// Streams `reader` line by line through a [`Classifier`]. Returns the bytes read.
pub fn scan(mut reader: impl Read) -> (u64, Classification) {
    let mut classifier = Classifier::new();
    let mut buf = vec![0u8; 128 * 1024];
    // The line being assembled across reads, at most MAX_LINE bytes of it.
    let mut pending: Vec<u8> = Vec::with_capacity(MAX_LINE);
    let mut pending_any = false;
    let mut total: u64 = 0;
    let mut sniffed = false;
    let mut head: Vec<u8> = Vec::new();
    let finder = super::classify::phrase_finder();
    let mut hits: Vec<usize> = Vec::new();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                let what = if total == 0 {
                    format!("cannot read the log: {err}")
                } else {
                    format!("reading the log failed after {total} bytes: {err}")
                };
                return (total, Classification::unknown(what));
            }
        };
        let chunk = &buf[..n];
        if !sniffed {
            head.extend_from_slice(&chunk[..chunk.len().min(SNIFF - head.len())]);
            if head.len() >= SNIFF || total + n as u64 >= SNIFF as u64 {
                sniffed = true;
                if looks_binary(&head) {
                    return (
                        total + n as u64,
                        Classification::unknown(format!(
                            "not a text log: it holds {}",
                            binary_kind(&head)
                        )),
                    );
                }
            }
        }
        total += n as u64;
        // One search of the whole buffer for the phrases; lines without a hit skip it.
        hits.clear();
        hits.extend(finder.find_iter(chunk).map(|m| m.start()));
        let mut next_hit = 0;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            let piece = &chunk[start..end];
            if pending_any {
                let room = MAX_LINE.saturating_sub(pending.len());
                pending.extend_from_slice(&piece[..piece.len().min(room)]);
                let has = finder.is_match(&pending);
                classifier.feed_flagged(&pending, has);
                pending.clear();
                pending_any = false;
            } else {
                let has = hits.get(next_hit).is_some_and(|&h| h < end);
                classifier.feed_flagged(&piece[..piece.len().min(MAX_LINE)], has);
            }
            while hits.get(next_hit).is_some_and(|&h| h < end) {
                next_hit += 1;
            }
            start = end + 1;
        }
        if start < chunk.len() {
            let piece = &chunk[start..];
            let room = MAX_LINE.saturating_sub(pending.len());
            pending.extend_from_slice(&piece[..piece.len().min(room)]);
            pending_any = true;
        }
    }
    if !sniffed && looks_binary(&head) {
        return (
            total,
            Classification::unknown(format!("not a text log: it holds {}", binary_kind(&head))),
        );
    }
    let ends_mid_line = pending_any;
    if pending_any {
        classifier.feed(&pending);
    }
    (total, classifier.finish(ends_mid_line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_logs() {
        assert_eq!(container_of("build_004-1.sh.txt"), Some(Container::Plain));
        assert_eq!(container_of("build_004-1.sh.txt.zip"), Some(Container::Zip));
        assert_eq!(container_of("main.log"), Some(Container::Plain));
        assert_eq!(container_of("main.log.gz"), Some(Container::Gzip));
        assert_eq!(container_of("main.log.tgz"), Some(Container::TarGz));
        assert_eq!(container_of("labels.csv"), None);
        assert_eq!(container_of("x.sarif.gz"), None);
    }

    #[test]
    fn long_lines_and_chunk_boundaries() {
        let mut text = "+ ./configure\n".to_string();
        text.push_str(&"x".repeat(200_000));
        text.push_str("\n+ make\nmake: *** [Makefile:1: a] Error 139\n");
        let (bytes, c) = scan(io::Cursor::new(text.as_bytes().to_vec()));
        assert_eq!(bytes, text.len() as u64);
        assert_eq!(
            c.verdict,
            super::super::classify::Verdict::Result {
                stage: super::super::classify::Stage::Compilation,
                outcome: super::super::classify::Outcome::SegmentationFault
            }
        );
        assert_eq!(c.evidence.unwrap().line, 4);
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// Any bytes, cut anywhere, give a classification and never a panic.
        #[test]
        fn any_bytes_classify(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("(\\+ (\\./configure|make|\\./python -m test)|make(\\[1\\])?: \\*\\*\\* \\[x\\] Error 1[0-9]{2}|Result: (SUCCESS|FAILURE)|::matrix:: event=(stage-start|stage-end|finish) stage=(configure|compile|tests|x) status=[0-9]{1,3} cell=c|SUMMARY: [A-Za-z]+Sanitizer: [a-z-]+|[0-9]:[0-9]{2}:[0-9]{2} \\[ ?[0-9]/9\\] test_x|.{0,40})").unwrap().prop_map(String::into_bytes),
                    proptest::collection::vec(proptest::num::u8::ANY, 0..40),
                ],
                0..40,
            ),
            newline_at_end in proptest::bool::ANY,
        ) {
            let mut bytes = lines.join(&b'\n');
            if newline_at_end {
                bytes.push(b'\n');
            }
            let (n, _) = scan(io::Cursor::new(bytes.clone()));
            proptest::prop_assert_eq!(n, bytes.len() as u64);
        }
    }

    #[test]
    fn binary_is_not_a_log() {
        let (_, c) = scan(io::Cursor::new(vec![0x1f, 0x8b, 0, 0, 1, 2, 3]));
        match c.verdict {
            super::super::classify::Verdict::Unknown { reason } => {
                assert!(reason.contains("gzip"), "{reason}")
            }
            v => panic!("{v:?}"),
        }
    }
}
