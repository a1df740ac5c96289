//! Reading a directory of logs: every log classified with its cause, on both cores, and what
//! tells a still-running cell from a killed one.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use rayon::prelude::*;

use super::{cause, logs, Classification};
use crate::artifacts::{self, Progress, Warning};
use crate::sanitizer::LogReports;

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
    /// Why it ended as it did (read by `report`; empty for other readers).
    pub why: cause::Why,
    /// When the file was last modified: plain files only (an archive holds finished logs).
    pub modified: Option<SystemTime>,
    /// Its sanitizer and fatal-error reports by signature (read by `report`, for the findings
    /// of its page and insights; empty for other readers).
    pub reports: LogReports,
}

impl ScannedLog {
    /// Whether the log is of a cell still running: it started a stage, has no finish marker,
    /// and was written to less than `deadline` before `now` (a cell past its deadline is
    /// stopped, so an older unfinished log is of a pod that was killed).
    pub fn is_running(&self, deadline: Duration, now: SystemTime) -> bool {
        self.classification.unfinished
            && self
                .modified
                .and_then(|m| now.duration_since(m).ok().or(Some(Duration::ZERO)))
                .is_some_and(|age| age < deadline)
    }
}

/// What tells a running cell from a killed one: the deadline a cell runs under, and the time
/// now. `None` in [`build`](super::build) for logs known to be finished (`matrix run`'s results).
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub deadline: Duration,
    pub now: SystemTime,
}

/// What reading a log directory gave: the logs, and what was skipped (for the caller to show).
#[derive(Debug, Default)]
pub struct Scanned {
    pub logs: Vec<ScannedLog>,
    pub warnings: Vec<Warning>,
}

/// Reads and classifies every log under `dir`, using both cores, telling `progress` the bytes
/// done.
pub fn scan_dir(dir: &Path, progress: Progress) -> Result<Scanned> {
    let (files, mut warnings) = logs::find_logs(dir)?;
    let sizes: Vec<u64> = files.iter().map(|f| f.file.size).collect();
    let total: u64 = sizes.iter().sum();
    let done = AtomicU64::new(0);
    // Biggest first, so one large log does not finish alone at the end.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let mut scanned: Vec<(usize, Scanned)> = order
        .par_iter()
        .with_max_len(1)
        .map(|&i| {
            let out = scan_file(&files[i]);
            progress(done.fetch_add(sizes[i], Relaxed) + sizes[i], total);
            (i, out)
        })
        .collect();
    scanned.sort_by_key(|(i, _)| *i);
    let mut logs = Vec::new();
    for (_, one) in scanned {
        logs.extend(one.logs);
        warnings.extend(one.warnings);
    }
    Ok(Scanned { logs, warnings })
}

/// Reads and classifies every log of `file`.
fn scan_file(file: &logs::LogFile) -> Scanned {
    let modified = match file.file.container {
        artifacts::Container::Plain => std::fs::metadata(&file.file.path)
            .and_then(|m| m.modified())
            .ok(),
        _ => None,
    };
    let (logs, warnings) = logs::read_logs(
        file,
        |r| {
            let (bytes, classification, why, reports) = cause::scan_with_reports(r);
            (bytes, (classification, why, reports))
        },
        |reason| {
            (
                Classification::unknown(reason),
                cause::Why::default(),
                LogReports::default(),
            )
        },
    );
    let logs = logs
        .into_iter()
        .map(|one| ScannedLog {
            name: one.name,
            log_name: one.log_name,
            parent: one.parent,
            bytes: one.bytes,
            classification: one.value.0,
            why: one.value.1,
            modified,
            reports: one.value.2,
        })
        .collect();
    Scanned { logs, warnings }
}
