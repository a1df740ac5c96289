//! A cell's processes: the script runs as the leader of a session of its own, so every process
//! it starts (even in the process groups `set -m` gives long commands) can be found and stopped.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};

/// A started cell: its script's process, which leads its own session.
pub struct CellProcess {
    child: Child,
    /// The session id, which is the script's pid.
    sid: i32,
}

impl CellProcess {
    /// Starts `command` with stdin closed and stdout and stderr both appended to `log`, in a new
    /// session (so Ctrl-C on the terminal reaches `matrix run` alone, which decides).
    pub fn spawn(mut command: Command, log: &File) -> io::Result<Self> {
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?);
        // The cell dies with `matrix`, however `matrix` ends (SIGKILL included): the kernel
        // sends its leader TERM when the thread that started it (the run's, which lives as
        // long as the run) exits. TERM, not KILL: the script's TERM trap stops its
        // long command's process group and records the stage (podman's client proxies it to
        // the container, whose script does the same). The parent-death signal is not
        // inherited, so the script's trap is what reaches the rest; `--resume` kills what
        // ignored it ([`super::leftovers`]).
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: setsid, prctl and getppid are async-signal-safe and touch nothing of the
        // parent's state.
        unsafe {
            command.pre_exec(move || {
                if libc::setsid() == -1 {
                    return Err(io::Error::last_os_error());
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // `matrix` died before the signal was asked for: there is nobody to run for.
                if libc::getppid() != parent {
                    return Err(io::Error::other("matrix run ended before the cell started"));
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        let sid = child.id() as i32;
        Ok(CellProcess { child, sid })
    }

    /// The session id of the cell's processes (its script's pid).
    pub fn sid(&self) -> i32 {
        self.sid
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// TERM to the script's process group: the script records the stage it was in, stops its
    /// long command's group and exits (see templates/body.sh.j2).
    pub fn terminate(&self) {
        // SAFETY: plain syscall; a group that is gone is not an error here.
        unsafe {
            libc::killpg(self.sid, libc::SIGTERM);
        }
    }

    /// KILL to every process left in the session, the script included.
    pub fn kill_all(&self) {
        kill_session(self.sid, libc::SIGKILL);
    }

    /// Processes of the session other than a reaped script: what must not outlive the cell.
    pub fn leftovers(&self) -> Vec<i32> {
        session_members(self.sid)
    }
}

impl Drop for CellProcess {
    /// Whatever happens to `matrix run` (an error, a panic), a cell's processes do not outlive it.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill_all();
            let _ = self.child.wait();
        } else {
            self.kill_all();
        }
    }
}

/// Sends `signal` to every process of session `sid`.
pub fn kill_session(sid: i32, signal: i32) {
    for pid in session_members(sid) {
        // SAFETY: plain syscall.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The live (not zombie) pids whose session is `sid`, from /proc.
pub fn session_members(sid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| session_of(&stat))
                == Some(sid)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// The session field of a `/proc/PID/stat` line, `None` for a zombie (it is gone but for its
/// exit status). The command name (field 2) may hold spaces and parentheses, so the fields are
/// counted from its last `)`.
fn session_of(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // state ppid pgrp session
    let mut fields = rest.split_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// How long the test waits for processes to start or die: milliseconds when idle, and
    /// generous for a loaded 2-core machine (tests/it/common.rs's PATIENCE).
    const PATIENCE: Duration = Duration::from_secs(120);

    #[test]
    fn the_session_field_is_read_after_the_command_name() {
        let stat = "4242 (odd ) name) S 1 4240 4241 0 -1 4194560";
        assert_eq!(session_of(stat), Some(4241));
        assert_eq!(session_of("garbage"), None);
        assert_eq!(session_of("4242 (sh) Z 1 4240 4241 0"), None);
    }

    #[test]
    fn kill_all_stops_processes_in_other_groups_of_the_session() {
        let log = tempfile::tempfile().unwrap();
        let mut command = Command::new("bash");
        // `set -m` puts the sleep into a process group of its own, as the scripts do.
        command.args(["-c", "set -m; sleep 300 & wait"]);
        let mut cell = CellProcess::spawn(command, &log).unwrap();
        let start = Instant::now();
        while cell.leftovers().len() < 2 && start.elapsed() < PATIENCE {
            std::thread::sleep(Duration::from_millis(20));
        }
        let members = cell.leftovers();
        assert_eq!(members.len(), 2, "bash and sleep: {members:?}");
        cell.kill_all();
        cell.child.wait().unwrap();
        let start = Instant::now();
        while !cell.leftovers().is_empty() && start.elapsed() < PATIENCE {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(cell.leftovers().is_empty(), "{:?}", cell.leftovers());
    }
}
