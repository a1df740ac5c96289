//! What a run directory records of its run (`RUNDIR/run.json`): when and where it started, with
//! which `matrix` and definition, so a page made from it later can say what it is of.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The file, beside `index.csv`.
pub const RUN_ABOUT: &str = "run.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAbout {
    /// When the run first started (`2026-12-07T15:20:29Z`); a resume keeps it.
    pub started: String,
    /// The machine's host name.
    pub host: String,
    /// `matrix`'s version.
    pub matrix: String,
    /// The definition: its path, or the built-in one's name.
    pub definition: String,
    /// Where the cells ran: `host`, `podman` or `docker`.
    pub engine: String,
}

impl RunAbout {
    /// This run, now, on this machine.
    pub fn now(definition: &str, engine: &str) -> Self {
        RunAbout {
            started: super::lock::now_utc(),
            host: host_name(),
            matrix: env!("CARGO_PKG_VERSION").to_string(),
            definition: definition.to_string(),
            engine: engine.to_string(),
        }
    }

    /// Records the run in `dir` unless an earlier start of it did (a resume is the same run).
    pub fn record(&self, dir: &Path) -> Result<()> {
        let path = dir.join(RUN_ABOUT);
        if path.symlink_metadata().is_ok() {
            return Ok(());
        }
        let mut text = serde_json::to_vec_pretty(self)?;
        text.push(b'\n');
        crate::output::write_atomic(&path, &text)
            .with_context(|| format!("cannot record the run in {}", path.display()))
    }

    /// The record in `dir`, when there is one that reads.
    pub fn read(dir: &Path) -> Option<Self> {
        let path = dir.join(RUN_ABOUT);
        let text = crate::input::read_bytes(&path, "a run's record", 64 * 1024).ok()?;
        serde_json::from_slice(&text).ok()
    }
}

/// The host name the kernel gives (`uname -n`).
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer we own.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok && end > 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_recorded_once_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunAbout::now("matrix.yaml", "host");
        first.record(dir.path()).unwrap();
        let later = RunAbout {
            started: "2030-01-01T00:00:00Z".into(),
            ..first.clone()
        };
        later.record(dir.path()).unwrap();
        assert_eq!(RunAbout::read(dir.path()), Some(first));
        assert!(!host_name().is_empty());
    }
}
