//! Reading a directory of logs: every log classified with its cause, on both cores, and what
//! tells a still-running cell from a killed one.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use rayon::prelude::*;

use super::{cause, read as logs, Classification, Sparse};
use crate::artifacts::{self, Progress, Warning};
use crate::sanitizer::{LogReports, Recognizer};

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
    /// Why it ended as it did (read with [`Read::CausesAndReports`]; empty otherwise): empty
    /// in most logs, so [`super::Sparse`].
    pub why: super::Sparse<cause::Why>,
    /// When the file was last modified: plain files only (an archive holds finished logs).
    pub modified: Option<SystemTime>,
    /// Its sanitizer and fatal-error reports by signature.
    pub reports: LogReports,
}

impl ScannedLog {
    /// Whether the log is of a cell still running: it started a stage, has no finish marker,
    /// and was written to less than `deadline` before `now` (a cell past its deadline is
    /// stopped, so an older unfinished log is of a pod that was killed). A time up to
    /// [`CLOCK_SKEW`] ahead of `now` is another machine's clock, so age zero; one further ahead
    /// is no time at all (a copied or touched file): it would keep the cell running until that
    /// date, so the log is judged as an unfinished one that no longer runs.
    pub fn is_running(&self, deadline: Duration, now: SystemTime) -> bool {
        let age = |modified: SystemTime| match now.duration_since(modified) {
            Ok(age) => Some(age),
            Err(ahead) if ahead.duration() <= CLOCK_SKEW => Some(Duration::ZERO),
            Err(_) => None,
        };
        self.classification.unfinished
            && self
                .modified
                .and_then(age)
                .is_some_and(|age| age < deadline)
    }
}

/// How far ahead of this machine's clock a log's time may be and still count as written now:
/// clocks of machines kept by NTP differ by seconds, a misconfigured one by minutes.
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What tells a running cell from a killed one: the deadline a cell runs under, and the time
/// now. `None` in [`crate::report::build`] for logs known to be finished (`matrix run`'s results).
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub deadline: Duration,
    pub now: SystemTime,
}

/// What reading a log directory gave: the logs (as [`ScannedLog`]s, or what a caller keeps of
/// each: [`scan_dir_as`]), and what was skipped (for the caller to show).
#[derive(Debug)]
pub struct Scanned<T = ScannedLog> {
    pub logs: Vec<T>,
    pub warnings: Vec<Warning>,
}

impl<T> Default for Scanned<T> {
    fn default() -> Self {
        Scanned {
            logs: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// What a pass reads of each log besides its classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Its sanitizer and fatal-error reports (`findings`). A log that cannot be read is also
    /// a warning: a reader of reports alone has no row to show the reason in.
    Reports,
    /// Its cause (why it ended as it did) and its reports (`report`): a log that cannot be
    /// read is a row whose result says why.
    CausesAndReports,
}

/// Reads and classifies every log under `dir`, using both cores, telling `progress` the bytes
/// done: the one driver of the log pass.
pub fn scan_dir(dir: &Path, read: Read, progress: Progress) -> Result<Scanned> {
    scan_dir_as(dir, read, progress, &|log| log)
}

/// [`scan_dir`], each log made what the caller keeps of it by `keep` as soon as its pass ends
/// (`report`: a [`super::CompactLog`]), so that what is held until the last log is read is
/// that, not every [`ScannedLog`] whole.
pub fn scan_dir_as<T: Send>(
    dir: &Path,
    read: Read,
    progress: Progress,
    keep: &(dyn Fn(ScannedLog) -> T + Sync),
) -> Result<Scanned<T>> {
    let (files, mut warnings) = logs::find_logs(dir)?;
    let sizes: Vec<u64> = files.iter().map(|f| f.file.size).collect();
    let total: u64 = sizes.iter().sum();
    let done = AtomicU64::new(0);
    // Biggest first, so one large log does not finish alone at the end.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let mut scanned: Vec<(usize, Scanned<T>)> = order
        .par_iter()
        .with_max_len(1)
        .map(|&i| {
            let out = scan_file(&files[i], read, keep);
            progress(done.fetch_add(sizes[i], Relaxed) + sizes[i], total);
            (i, out)
        })
        .collect();
    scanned.sort_by_key(|(i, _)| *i);
    let mut logs = Vec::new();
    for (_, one) in scanned {
        // The first file's logs are taken whole, not copied (an `argo logs` file is all of
        // them).
        if logs.is_empty() {
            logs = one.logs;
        } else {
            logs.extend(one.logs);
        }
        warnings.extend(one.warnings);
    }
    Ok(Scanned { logs, warnings })
}

/// One log's pass of `read`: its bytes, and what it says. Its cause is made [`Sparse`] here,
/// as each log is read: every log's result is held until the last is read (a million pods'),
/// and those of most logs name no cause.
fn pass(
    reader: &mut dyn std::io::Read,
    read: Read,
) -> (u64, (Classification, Sparse<cause::Why>, LogReports)) {
    match read {
        Read::CausesAndReports => {
            let (bytes, classification, why, reports) = cause::scan_with_reports(reader);
            (bytes, (classification, why.into(), reports))
        }
        Read::Reports => {
            let (bytes, (classification, reports)) = reports_only(reader);
            (bytes, (classification, Sparse::default(), reports))
        }
    }
}

/// Reads one log: its classification (for the cell's key) and its reports, in one pass.
fn reports_only(reader: &mut dyn std::io::Read) -> (u64, (Classification, LogReports)) {
    let mut found = LogReports::default();
    let mut recognizer = Recognizer::new();
    let (bytes, classification) = logs::scan_observed(reader, &mut |classifier, seen| {
        let (at, stage) = (classifier.lines(), classifier.stage());
        recognizer.line_marked(at, stage, seen.text, seen.marked, &mut |r| found.add(r));
    });
    recognizer.finish(&mut |r| found.add(r));
    (bytes, (classification, found))
}

/// Reads and classifies every log of `file`, each made what the caller keeps by `keep`.
fn scan_file<T: Send>(
    file: &logs::LogFile,
    read: Read,
    keep: &(dyn Fn(ScannedLog) -> T + Sync),
) -> Scanned<T> {
    let modified = match file.file.container {
        artifacts::Container::Plain => std::fs::metadata(&file.file.path)
            .and_then(|m| m.modified())
            .ok(),
        _ => None,
    };
    // Only a log that could not be read is one, and those are kept one after another.
    let unread = Mutex::new(Vec::new());
    let (logs, mut warnings) = logs::read_logs(
        file,
        |r| {
            let (bytes, value) = pass(r, read);
            (bytes, (value, None))
        },
        |reason| {
            let value = (
                Classification::unknown(reason.clone()),
                Sparse::default(),
                LogReports::default(),
            );
            (value, Some(reason))
        },
        |one| {
            let ((classification, why, reports), reason) = one.value;
            if let (Some(reason), Read::Reports) = (reason, read) {
                let what = one.name.clone();
                unread
                    .lock()
                    .expect("not poisoned")
                    .push(Warning { what, reason });
            }
            keep(ScannedLog {
                name: one.name,
                log_name: one.log_name,
                parent: one.parent,
                bytes: one.bytes,
                classification,
                why,
                modified,
                reports,
            })
        },
    );
    warnings.extend(unread.into_inner().expect("not poisoned"));
    Scanned { logs, warnings }
}

/// Classifies the one plain log at `path` (named `rel`) with its cause, as [`scan_dir`] with
/// [`Read::CausesAndReports`] does but for its reports (`matrix run`, one finished cell).
pub fn scan_one(path: &Path, rel: &str) -> Result<ScannedLog> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (bytes, classification, why) = cause::scan(std::io::BufReader::new(file));
    Ok(ScannedLog {
        name: rel.to_string(),
        log_name: rel.rsplit('/').next().unwrap_or(rel).to_string(),
        parent: None,
        bytes,
        classification,
        why: why.into(),
        modified: None,
        reports: Default::default(),
    })
}

/// N of a log kept as an earlier attempt by `run` (`…/attempts/N/<cell>.log`).
fn attempt_dir(name: &str) -> Option<u64> {
    let mut parts = name.rsplit('/').skip(1);
    let n = parts.next()?.parse().ok()?;
    (parts.next()? == "attempts").then_some(n)
}

/// The key and attempt order of one log: the finish marker's cell id (attempt N when `run`
/// kept it under `attempts/N/`); else the legacy
/// `build_NNN-K.sh.txt` → `build_NNN.sh` (attempt K); else Argo's pod directory of
/// `main.log`; else the file's stem.
pub fn key_of(log: &ScannedLog) -> (String, Option<u64>) {
    let cell = log.classification.cell.clone();
    key_from(cell, &log.name, &log.log_name, log.parent.as_deref())
}

/// [`key_of`] from a log's cell id (taken, not copied: at a million pods each copy is tens of
/// megabytes), its name, the name of the log itself and its directory.
pub(super) fn key_from(
    cell: Option<String>,
    name: &str,
    log_name: &str,
    parent: Option<&str>,
) -> (String, Option<u64>) {
    if let Some(cell) = cell {
        return (cell, attempt_dir(name));
    }
    let stem = log_name
        .strip_suffix(".txt")
        .or_else(|| log_name.strip_suffix(".log"))
        .unwrap_or(log_name);
    if let Some(script) = stem.strip_suffix(".sh") {
        if let Some((base, attempt)) = script.rsplit_once('-') {
            if let Ok(k) = attempt.parse::<u64>() {
                return (format!("{base}.sh"), Some(k));
            }
        }
        return (stem.to_owned(), None);
    }
    if stem == "main" {
        if let Some(parent) = parent {
            return (parent.to_owned(), None);
        }
    }
    (stem.to_owned(), None)
}
