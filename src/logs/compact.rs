//! What `report` keeps of one log once its pass has ended: its cell's key, its name, the
//! verdict and what decided it, and the rare big parts behind one pointer. An `argo logs` file
//! of a million one-line pods is a million logs held until the last is read; a
//! [`ScannedLog`] whole is over 300 bytes a log, most of it empty (the sanitizer reports, the
//! directory and file names that only make the key), and this is under half that.

use std::cmp::Ordering;
use std::fmt;

use super::scan::key_from;
use super::sparse::{Empty, Sparse};
use super::{cause, CanaryRun, Evidence, Facts, Live, Outcome, ScannedLog, Stage, Verdict};

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
    /// Its stage and outcome; `None`: unknown, the reason in [`Rare::unknown`] (a
    /// [`Verdict`] would take 24 bytes for a reason nearly no log has).
    pub result: Option<(Stage, Outcome)>,
    /// The line that decided, when one did: its number and text.
    pub evidence_line: u64,
    pub evidence: Option<Box<str>>,
    /// The time of the first marker, to order attempts of one cell.
    pub started: Option<Started>,
    /// Whether its cell is still running ([`ScannedLog::is_running`]), told when it is kept:
    /// a bool where the time it was modified would take 16 bytes.
    pub running: bool,
    /// Why it ended as it did, its canaries and facts: empty in nearly every log.
    pub rare: Sparse<Rare>,
}

/// The parts of a log empty in nearly all of them, behind one pointer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rare {
    /// Why its result is unknown, when it is.
    pub unknown: String,
    pub why: Sparse<cause::Why>,
    /// The canaries the cell ran, in the order it ran them.
    pub canaries: Vec<CanaryRun>,
    /// Stage durations and the script's `event=fact` values.
    pub facts: Sparse<Facts>,
}

impl Empty for Rare {
    fn empty() -> &'static Self {
        static EMPTY: Rare = Rare {
            unknown: String::new(),
            why: Sparse::EMPTY,
            canaries: Vec::new(),
            facts: Sparse::EMPTY,
        };
        &EMPTY
    }
}

impl CompactLog {
    /// Keeps what `report` reads of `log`; the rest (its reports, the names that only make
    /// its key) goes. With `live`, whether the log's cell is still running is told now.
    pub fn new(log: ScannedLog, live: Option<Live>) -> Self {
        let running = live.is_some_and(|l| log.is_running(l.deadline, l.now));
        let c = log.classification;
        let (key, attempt) = key_from(c.cell, &log.name, &log.log_name, log.parent.as_deref());
        let (result, unknown) = match c.verdict {
            Verdict::Result { stage, outcome } => (Some((stage, outcome)), String::new()),
            Verdict::Unknown { reason } => (None, reason),
        };
        let evidence_line = c.evidence.as_ref().map_or(0, |e| e.line);
        CompactLog {
            key: key.into_boxed_str(),
            attempt: attempt.unwrap_or(u64::MAX),
            name: log.name.into_boxed_str(),
            bytes: log.bytes,
            result,
            evidence_line,
            evidence: c.evidence.map(|e| e.text.into_boxed_str()),
            started: c.started.map(Started::new),
            running,
            rare: Sparse::new(Rare {
                unknown,
                why: log.why,
                canaries: c.canaries,
                facts: c.facts,
            }),
        }
    }

    /// The line that decided, when one did.
    pub fn take_evidence(&mut self) -> Option<Evidence> {
        let text = self.evidence.take()?;
        Some(Evidence {
            line: self.evidence_line,
            text: text.into_string(),
        })
    }
}

/// A log's start time as it is kept: inline up to 22 bytes (the marker's RFC 3339 time,
/// `2026-11-25T16:00:00Z`, is 20), boxed beyond. A boxed one would be a 16-byte pointer and
/// 32 bytes of heap a log, the heap freed in between the cell's strings once the cells are
/// made: memory a process does not give back.
#[derive(Clone)]
pub enum Started {
    Inline(u8, [u8; INLINE]),
    Boxed(Box<str>),
}

const INLINE: usize = 22;

impl Started {
    pub fn new(time: String) -> Self {
        let bytes = time.as_bytes();
        if bytes.len() > INLINE {
            return Started::Boxed(time.into_boxed_str());
        }
        let mut inline = [0; INLINE];
        inline[..bytes.len()].copy_from_slice(bytes);
        Started::Inline(bytes.len() as u8, inline)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Started::Inline(len, bytes) => {
                std::str::from_utf8(&bytes[..*len as usize]).expect("made from a str")
            }
            Started::Boxed(time) => time,
        }
    }
}

impl PartialEq for Started {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Started {}

impl PartialOrd for Started {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Started {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_str().fmt(f)
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
        let unknown = CompactLog::new(log_of(c.clone()), None);
        assert_eq!(
            (unknown.result, unknown.rare.unknown.as_str()),
            (None, "no markers")
        );
        c.verdict = Verdict::Result {
            stage: Stage::Tests,
            outcome: Outcome::Passed,
        };
        let kept = CompactLog::new(log_of(c), None);
        assert_eq!(&*kept.key, "amd64-x");
        assert_eq!(kept.attempt, u64::MAX);
        assert_eq!(kept.result, Some((Stage::Tests, Outcome::Passed)));
        assert_eq!(*kept.rare, Rare::default());
        assert!(std::mem::size_of::<CompactLog>() <= 112);
    }

    fn log_of(classification: Classification) -> ScannedLog {
        ScannedLog {
            name: "p!wf/pod-1".into(),
            log_name: "pod-1".into(),
            parent: Some("wf".into()),
            bytes: 9,
            classification,
            why: Default::default(),
            modified: None,
            reports: Default::default(),
        }
    }

    #[test]
    fn start_times_inline_or_boxed_order_as_their_text() {
        let short = Started::new("2026-11-25T16:00:00Z".into());
        let long = Started::new("2026-11-25T16:00:01.123456789Z".into());
        assert!(matches!(short, Started::Inline(20, _)));
        assert!(matches!(long, Started::Boxed(_)));
        assert_eq!(long.as_str(), "2026-11-25T16:00:01.123456789Z");
        assert!(short < long && Started::new(String::new()) < short);
        assert!(Some(Started::new(String::new())) > None);
        assert_eq!(std::mem::size_of::<Option<Started>>(), 24);
    }
}
