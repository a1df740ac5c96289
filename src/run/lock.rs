//! The run directory's lock, `RUNDIR/.lock`: one `matrix run` (or `fetch`) at a time in a run
//! directory. Two at once would run one cell twice in one work directory and record what
//! the other one's deletions did to it as a result. The lock is `flock(2)` on the file, so it
//! goes with the process that holds it, however that process ends (a SIGKILL included): no
//! stale lock is ever left to remove by hand. The file says who holds it, for the refusal.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The lock's file in a run directory.
pub const LOCK_FILE: &str = ".lock";

/// A held lock on a run directory; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of the run directory `root` (which exists), or refuses at once naming the
    /// process that holds it. `out` names the setting that gave the directory.
    pub fn acquire(root: &Path, out: &str) -> Result<RunLock> {
        let path = root.join(LOCK_FILE);
        if fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            bail!(
                "{out} {}: {} is not a regular file: a run directory's lock is a file of its \
                 own; remove it",
                root.display(),
                path.display()
            );
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the run's lock {}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(err).with_context(|| format!("cannot lock {}", path.display()));
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            bail!(
                "{out} {}: another `matrix` works in this run directory ({}); wait for it to \
                 end (or stop it), or give another directory",
                root.display(),
                describe(&holder, &path)
            );
        }
        let holder = format!(
            "pid={} started={} command={}\n",
            std::process::id(),
            now_utc(),
            std::env::args().collect::<Vec<_>>().join(" ")
        );
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(holder.as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(RunLock { _file: file })
    }
}

/// Who holds a lock, from what its holder wrote (nothing, when it is still writing it).
fn describe(holder: &str, path: &Path) -> String {
    let holder = holder.trim();
    if holder.is_empty() {
        format!("it holds {}", path.display())
    } else {
        format!("{holder}; its lock is {}", path.display())
    }
}

/// The time now as `2026-12-07T15:20:29Z`, for the holder's line.
pub(crate) fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rest = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        crate::findings::known::civil_date(secs / 86_400),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_released_with_it() {
        let tmp = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(tmp.path(), "--out").unwrap();
        let err = RunLock::acquire(tmp.path(), "--out")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("pid={}", std::process::id()))
                && err.contains("started=20")
                && err.contains("another `matrix` works in this run directory"),
            "{err}"
        );
        drop(first);
        RunLock::acquire(tmp.path(), "--out").unwrap();
    }
}
