//! The log core: which files of a directory are build logs, the one bounded pass over each
//! (classification, cause, sanitizer reports), the cell each log belongs to, and the CSV index
//! that names the cells. `report`, `findings` and `run` read logs only through it.
//!
//! Submodules: [`read`] (finding logs and streaming each through the classifier),
//! [`classify`] (one log → `<Stage>. <Outcome>`), [`cause`] (why it failed), [`scan`] (the
//! one driver over a directory, on all cores), [`compact`] (what `report` keeps of each log),
//! [`index`] (the CSV index reader), [`sparse`] (a value that takes no memory while empty).

pub mod cause;
pub mod classify;
pub mod compact;
pub mod index;
pub mod read;
pub mod scan;
pub mod sparse;

pub use classify::{
    CanaryResult, CanaryRun, Classification, Evidence, Facts, Outcome, Stage, Verdict,
};
pub use compact::CompactLog;
pub use index::Index;
pub use scan::{
    key_of, scan_dir, scan_dir_as, scan_one, Live, Read, Scanned, ScannedLog, CLOCK_SKEW,
};
pub use sparse::Sparse;
