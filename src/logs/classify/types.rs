//! What a classification says: the stage, the outcome, the deciding line (evidence) and the
//! verdict of one log.

use std::fmt;

use serde::Serialize;

pub use crate::stage::Stage;

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Outcome {
    Passed,
    Failed,
    Timeout,
    SegmentationFault,
    Aborted,
    Oom,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Passed,
        Outcome::Failed,
        Outcome::Timeout,
        Outcome::SegmentationFault,
        Outcome::Aborted,
        Outcome::Oom,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Passed => "Passed",
            Outcome::Failed => "Failed",
            Outcome::Timeout => "Timeout",
            Outcome::SegmentationFault => "Segmentation fault",
            Outcome::Aborted => "Aborted",
            Outcome::Oom => "OOM",
        }
    }

    /// What a process killed by `signal` ended as, if the signal says.
    pub(super) fn from_signal(signal: u32) -> Option<Outcome> {
        match signal {
            11 | 7 => Some(Outcome::SegmentationFault), // SIGSEGV, SIGBUS
            6 => Some(Outcome::Aborted),                // SIGABRT
            9 => Some(Outcome::Oom),                    // SIGKILL: the kernel's OOM killer
            15 => Some(Outcome::Timeout),               // SIGTERM: a deadline
            _ => None,
        }
    }

    /// What an exit status says on its own: 128+N is "killed by signal N" (bash, make), 124 is
    /// timeout(1)'s status.
    pub(super) fn from_status(status: i64) -> Outcome {
        match status {
            0 => Outcome::Passed,
            124 => Outcome::Timeout,
            s if s > 128 && s < 128 + 65 => {
                Outcome::from_signal((s - 128) as u32).unwrap_or(Outcome::Failed)
            }
            _ => Outcome::Failed,
        }
    }

    /// The description bash, sh and make print for a child killed by a signal.
    pub(super) fn from_signal_description(text: &str) -> Option<Outcome> {
        const WORDS: [(&str, Outcome); 6] = [
            ("Segmentation fault", Outcome::SegmentationFault),
            ("Bus error", Outcome::SegmentationFault),
            ("Aborted", Outcome::Aborted),
            ("Killed", Outcome::Oom),
            ("Terminated", Outcome::Timeout),
            ("Alarm clock", Outcome::Timeout),
        ];
        WORDS
            .iter()
            .find(|(word, _)| text.starts_with(word))
            .map(|&(_, outcome)| outcome)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A line of the log: its 1-based number and (a bounded prefix of) its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub line: u64,
    pub text: String,
}

/// What one log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Result { stage: Stage, outcome: Outcome },
    Unknown { reason: String },
}

/// The classification of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub verdict: Verdict,
    /// The line that decided, when one did.
    pub evidence: Option<Evidence>,
    /// The cell id of the `finish` marker, for logs of our own scripts.
    pub cell: Option<String>,
    /// The time of the first marker, to order attempts of one cell.
    pub started: Option<String>,
    /// Whether the log carried `::matrix::` markers.
    pub markers: bool,
    /// The log ends with the script's finish marker: the cell ran to a result.
    pub finished: bool,
    /// Markers say a stage started and there is no finish marker: the cell is still running,
    /// or its pod was killed (which one, the log's age tells).
    pub unfinished: bool,
    /// The canaries the cell ran, in the order it ran them.
    pub canaries: Vec<CanaryRun>,
    /// Stage durations and the script's `event=fact` values: [`crate::logs::Sparse`], as most logs
    /// print none and every log's result is held until the report is built.
    pub facts: crate::logs::Sparse<super::Facts>,
}

/// What one canary of a cell showed (a `::matrix:: event=canary` marker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CanaryRun {
    pub name: String,
    pub result: CanaryResult,
}

/// Whether a cell's sanitizer reported a canary's defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CanaryResult {
    /// A report of the expected kind, at the defect.
    Seen,
    /// The program went past the defect without one: the cell cannot see that class of bug.
    Missed,
    /// The canary hung or failed before its defect: it says nothing about the sanitizer.
    Error,
}

impl CanaryResult {
    pub fn name(self) -> &'static str {
        match self {
            CanaryResult::Seen => "seen",
            CanaryResult::Missed => "missed",
            CanaryResult::Error => "error",
        }
    }

    pub(super) fn parse(word: &str) -> Option<Self> {
        [Self::Seen, Self::Missed, Self::Error]
            .into_iter()
            .find(|result| result.name() == word)
    }
}

impl Classification {
    pub fn unknown(reason: impl Into<String>) -> Self {
        Classification {
            verdict: Verdict::Unknown {
                reason: reason.into(),
            },
            evidence: None,
            cell: None,
            started: None,
            markers: false,
            finished: false,
            unfinished: false,
            canaries: Vec::new(),
            facts: Default::default(),
        }
    }
}
