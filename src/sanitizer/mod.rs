//! The reports sanitizers and CPython's fatal-error handler write into a build log: recognising
//! them line by line ([`recognize`], with the running test from [`regrtest`]) and what makes two
//! the same bug ([`signature`]). Below both `findings` (bugs across cells) and `report` (why a
//! cell failed), which share it.

pub mod lists;
pub mod per_log;
pub mod quoted;
pub mod recognize;
pub mod regrtest;
pub mod signature;

pub use per_log::{InLog, LogReports};
pub use recognize::{RawReport, Recognizer};
pub use signature::{Frame, Rule, Signature};
