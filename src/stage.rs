//! The stages of a build (Setup, Configure, Compilation, Tests): what a log's markers, a result
//! and a sanitizer report are about. Below `report` and `sanitizer`, which both name them.
//! Setup is everything a cell's script does before configure (getting and unpacking the
//! source, finding the sanitizer runtimes): a failure there is the cell's, with its cause.

use std::fmt;

use serde::Serialize;

/// The stage a result is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Stage {
    Setup,
    Configure,
    Compilation,
    Tests,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Setup,
        Stage::Configure,
        Stage::Compilation,
        Stage::Tests,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Setup => "Setup",
            Stage::Configure => "Configure",
            Stage::Compilation => "Compilation",
            Stage::Tests => "Tests",
        }
    }

    /// Its position in [`Stage::ALL`], for per-stage arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
