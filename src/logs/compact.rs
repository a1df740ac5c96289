//! What `report` keeps of one log once its pass has ended: its cell's key, its name, the
//! verdict and what decided it, and the rare big parts behind one pointer. An `argo logs` file
//! of a million one-line pods is a million logs held until the last is read; a
//! [`ScannedLog`] whole is over 300 bytes a log, most of it empty (the sanitizer reports, the
//! directory and file names that only make the key), and this is under half that.

use std::time::{Duration, SystemTime};

use super::scan::key_from;
use super::sparse::{Empty, Sparse};
use super::{cause, CanaryRun, Evidence, Facts, ScannedLog, Verdict};

/// One log as `report` keeps it.
#[derive(Debug, Clone)]
pub struct CompactLog {
    /// Its cell's key ([`super::key_of`]): the cell id, taken from the classification.
    pub key: Box<str>,
    /// Its attempt number; `u64::MAX` for none, a cell's current log, which comes after the
    /// attempts `run` kept.
    pub attempt: u64,
    /// `rel`, or `rel!entry` for a member of an archive.
    pub name: Box<str>,
    pub bytes: u64,
    pub verdict: Verdict,
    /// The line that decided, when one did.
    pub evidence: Option<Evidence>,
    /// The time of the first marker, to order attempts of one cell.
    pub started: Option<Box<str>>,
    /// When the file was last modified: plain files only.
    pub modified: Option<SystemTime>,
    /// Markers say a stage started and there is no finish marker.
    pub unfinished: bool,
    /// Why it ended as it did, its canaries and facts: empty in nearly every log.
    pub rare: Sparse<Rare>,
}

/// The parts of a log empty in nearly all of them, behind one pointer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rare {
    pub why: Sparse<cause::Why>,
    /// The canaries the cell ran, in the order it ran them.
    pub canaries: Vec<CanaryRun>,
    /// Stage durations and the script's `event=fact` values.
    pub facts: Sparse<Facts>,
}

impl Empty for Rare {
    fn empty() -> &'static Self {
        static EMPTY: Rare = Rare {
            why: Sparse::EMPTY,
            canaries: Vec::new(),
            facts: Sparse::EMPTY,
        };
        &EMPTY
    }
}

impl From<ScannedLog> for CompactLog {
    /// Keeps what `report` reads of `log`; the rest (its reports, the names that only make
    /// its key) goes.
    fn from(log: ScannedLog) -> Self {
        let c = log.classification;
        let (key, attempt) = key_from(c.cell, &log.name, &log.log_name, log.parent.as_deref());
        CompactLog {
            key: key.into_boxed_str(),
            attempt: attempt.unwrap_or(u64::MAX),
            name: log.name.into_boxed_str(),
            bytes: log.bytes,
            verdict: c.verdict,
            evidence: c.evidence,
            started: c.started.map(String::into_boxed_str),
            modified: log.modified,
            unfinished: c.unfinished,
            rare: Sparse::new(Rare {
                why: log.why,
                canaries: c.canaries,
                facts: c.facts,
            }),
        }
    }
}

impl CompactLog {
    /// [`ScannedLog::is_running`], of what is kept.
    pub fn is_running(&self, deadline: Duration, now: SystemTime) -> bool {
        super::scan::is_running(self.unfinished, self.modified, deadline, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Classification;

    #[test]
    fn a_log_without_rare_parts_is_small_and_keeps_its_key_and_verdict() {
        let mut c = Classification::unknown("no markers");
        c.cell = Some("amd64-x".into());
        let log = ScannedLog {
            name: "p!wf/pod-1".into(),
            log_name: "pod-1".into(),
            parent: Some("wf".into()),
            bytes: 9,
            classification: c,
            why: Default::default(),
            modified: None,
            reports: Default::default(),
        };
        let kept = CompactLog::from(log);
        assert_eq!(&*kept.key, "amd64-x");
        assert_eq!(kept.attempt, u64::MAX);
        assert_eq!(*kept.rare, Rare::default());
        assert!(std::mem::size_of::<CompactLog>() <= 160);
    }
}
