//! A finding is a finding: the one JSON shape of a static (SARIF) or dynamic (sanitizer) finding
//! that `matrix sarif` and `matrix findings` both write, so one consumer reads both.

use serde::{Deserialize, Serialize};

/// One frame of a stack: the function, and where it is when the tool knows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Frame {
    pub function: String,
    /// Relative to the CPython tree (`Objects/obmalloc.c`) for CPython's files; absolute or
    /// the module (`libc.so.6`) otherwise; empty when unknown.
    pub file: String,
    pub line: Option<u64>,
}

/// One finding as both commands write it in JSON. Each command adds its own fields beside
/// these (serde ignores them when reading into this type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Short stable id (see [`short_id`]): the same bug keeps it across versions and runs.
    pub id: String,
    /// `AddressSanitizer`, `ThreadSanitizer`, … or `gcc-analyzer` for SARIF.
    pub tool: String,
    /// The sanitizer's kind (`data race`) or the analyzer's rule (`-Wanalyzer-null-dereference`).
    pub kind: String,
    /// The analyzer's message; for a sanitizer report its access line, else its kind.
    pub message: String,
    /// Where it is: SARIF's primary location, or a report's first own frame; `null` when unknown.
    pub location: Option<Location>,
    /// The signature's frames, innermost first; empty for SARIF (it gives one location).
    pub frames: Vec<Frame>,
    /// The cells (sanitizer) or builds (SARIF) that reported it, in order.
    pub cells: Vec<String>,
    /// How many reports (sanitizer) or distinct results (SARIF, 1 per version) it stands for.
    pub reports: usize,
    /// The CPython versions of its cells, oldest first: a sanitizer finding's from the index
    /// (its `python` column, or a legacy index's `PythonVersion`). Left out of the JSON when
    /// empty: without such an index, and for SARIF, whose findings are one per version and
    /// say it in their own `version`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// How the frames read when they are not one stack (` | ` between a race's two sites,
    /// ` in ` for UBSan's file and function); `None`: a stack, innermost first. Not part of the
    /// JSON shape: each command writes its own `frames` text.
    #[serde(skip)]
    pub frames_text: Option<String>,
}

/// A source location: a file relative to the CPython tree when it lies in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: Option<u64>,
}

/// The first 8 hex digits of the 64-bit FNV-1a hash of `parts`, joined by newlines. Fixed here
/// (not Rust's `Hash`, which may change between releases) so ids compare across runs.
pub fn short_id<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.into_iter().enumerate() {
        let sep: &[u8] = if i == 0 { b"" } else { b"\n" };
        for &b in sep.iter().chain(part.as_bytes()) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{:08x}", hash >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_finding_and_ignores_command_fields() {
        let text = r#"{"id":"0123abcd","tool":"gcc-analyzer","kind":"-Wanalyzer-x",
            "message":"m","location":{"file":"Objects/a.c","line":3},"frames":[],
            "cells":["gcc-O2"],"reports":1,"version":"3.13.0"}"#;
        let f: Finding = serde_json::from_str(text).unwrap();
        assert_eq!(
            f.location,
            Some(Location {
                file: "Objects/a.c".into(),
                line: Some(3)
            })
        );
        assert_eq!(f.cells, ["gcc-O2"]);
    }

    #[test]
    fn short_id_separates_parts() {
        assert_ne!(short_id(["ab", "c"]), short_id(["a", "bc"]));
        assert_eq!(short_id(["a"]).len(), 8);
    }
}
