//! What a run that did not end by itself left running, and stopping it. Each running cell has
//! a record, `RUNDIR/running/<cell>`, from its start until the run has taken its end: the
//! session id of its processes. A record that is still there when the run directory is used
//! again means the `matrix` that ran the cell was killed (SIGKILL, a crash, a lost machine).
//! Its cell processes were sent TERM when it died (the parent-death signal of
//! [`super::process`]), but a cell that ignores TERM, or whatever left its script's groups,
//! may still run: `--resume` kills what is left of the session, checking each process is
//! really the cell's (a pid may have been reused since), sets its log aside (its stopped
//! stage is no result) and runs it again.

use std::fs;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::process::session_members;
use super::rundir::RunDir;

/// How long the killed processes of an earlier run get to disappear before their cell starts
/// again in the same work directory.
const KILL_PATIENCE: Duration = Duration::from_secs(10);

/// Records that `cell` runs as session `sid`.
pub fn record(dir: &RunDir, cell: &str, sid: i32) -> Result<()> {
    let path = dir.running(cell);
    fs::create_dir_all(dir.running_dir())
        .with_context(|| format!("cannot create directory {}", dir.running_dir().display()))?;
    fs::write(&path, format!("{sid}\n")).with_context(|| format!("cannot write {}", path.display()))
}

/// Removes the record of a cell whose end the run has taken.
pub fn forget(dir: &RunDir, cell: &str) {
    let _ = fs::remove_file(dir.running(cell));
}

/// A cell an earlier run left running: its id and how many of its processes were still alive.
pub struct Leftover {
    pub cell: String,
    pub killed: usize,
}

/// Finds the cells an earlier run of `dir` left running, kills what is left of each (the
/// processes whose environment or command line holds one of `marks(cell)`: its work directory,
/// its container's name) and removes their records. Returns them, sorted.
pub fn stop_all(dir: &RunDir, marks: impl Fn(&str) -> Vec<String>) -> Result<Vec<Leftover>> {
    let Ok(entries) = fs::read_dir(dir.running_dir()) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let cell = entry.file_name().to_string_lossy().into_owned();
        let sid = fs::read_to_string(entry.path())
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok());
        let marks = marks(&cell);
        let ours = |pid: i32| marks.iter().any(|mark| holds(pid, mark));
        let members: Vec<i32> = sid
            .map(session_members)
            .unwrap_or_default()
            .into_iter()
            .filter(|&pid| ours(pid))
            .collect();
        for &pid in &members {
            // SAFETY: plain syscall, on a process checked to be the cell's.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let start = Instant::now();
        while members.iter().any(|&pid| alive(pid)) && start.elapsed() < KILL_PATIENCE {
            std::thread::sleep(Duration::from_millis(20));
        }
        fs::remove_file(entry.path())
            .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        found.push(Leftover {
            cell,
            killed: members.len(),
        });
    }
    found.sort_by(|a, b| a.cell.cmp(&b.cell));
    Ok(found)
}

/// Whether process `pid` has `mark` in its environment or command line (both NUL-separated
/// lists of words, so a mark is matched as a whole word).
fn holds(pid: i32, mark: &str) -> bool {
    ["environ", "cmdline"].iter().any(|file| {
        fs::read(format!("/proc/{pid}/{file}"))
            .is_ok_and(|bytes| bytes.split(|&b| b == 0).any(|word| word == mark.as_bytes()))
    })
}

/// Whether `pid` is alive (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

/// Removes a cell's work directory, which an ended cell does not keep.
pub fn remove_work(dir: &RunDir, cell: &str) -> Result<()> {
    let work = dir.work(cell);
    match fs::remove_dir_all(&work) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot delete the work directory {}", work.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_a_whole_word_of_the_environment_or_command_line() {
        let me = std::process::id() as i32;
        let cmdline = fs::read(format!("/proc/{me}/cmdline")).unwrap();
        let first =
            String::from_utf8_lossy(cmdline.split(|&b| b == 0).next().unwrap()).into_owned();
        assert!(holds(me, &first));
        assert!(!holds(me, &first[..first.len() - 1]));
        assert!(!holds(me, "MATRIX_WORK_DIR=/nowhere/at/all"));
        assert!(alive(me));
    }
}
