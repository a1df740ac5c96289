//! The run directory: what a run writes where (index, scripts, logs, artifacts, results, work
//! directories) and whether a directory may be used for a new run or resumed.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::lock::{RunLock, LOCK_FILE};
use super::Setting;

/// Present in every run directory; what resuming and a new run check for.
pub const RUN_MARKER: &str = ".matrix-run";

/// What a run keeps in its directory under fixed names: each must be what the run made (a
/// file or a directory), never a symbolic link, which the run would follow to write or delete
/// outside the directory.
const LAYOUT: [&str; 9] = [
    "index.csv",
    "results.csv",
    "scripts",
    "logs",
    "artifacts",
    "work",
    "interrupted",
    "running",
    LOCK_FILE,
];
/// The directories of [`LAYOUT`] whose entries the run writes, deletes or moves by name.
const LAYOUT_DIRS: [&str; 7] = [
    "scripts",
    "logs",
    "logs/attempts",
    "artifacts",
    "work",
    "interrupted",
    "running",
];

#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
    /// The lock this process holds on the directory for as long as it uses it ([`RunLock`]).
    _lock: Option<std::sync::Arc<RunLock>>,
    /// What opening it made, which a failed start removes ([`RunDir::undo_start`]).
    made: Made,
}

/// What [`RunDir::open`] made: nothing (the run existed), the contents of an empty directory
/// the user gave, or the directory itself.
#[derive(Debug, Clone, Copy)]
enum Made {
    Nothing,
    Contents,
    Directory,
}

impl RunDir {
    /// Whether `root` may hold a run: a new or empty directory, or (with `resume`) a run
    /// directory; never a symlink or anything but a directory. Creates nothing, so a command
    /// can check it before any other work. `name` names the settings ([`Setting::Out`],
    /// [`Setting::Resume`]) in the errors.
    pub fn check(root: &Path, resume: bool, name: fn(Setting) -> String) -> Result<()> {
        let (out, resuming) = (name(Setting::Out), name(Setting::Resume));
        let valid = format!("give a new or empty directory (or a run directory with {resuming})");
        match fs::symlink_metadata(root) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("{out} {}: cannot read it", root.display()))
            }
            Ok(meta) if meta.file_type().is_symlink() => bail!(
                "{out} {} is a symbolic link: a run writes into and deletes inside its \
                 directory, so {valid}, not a link to one",
                root.display()
            ),
            Ok(meta) if !meta.is_dir() => bail!(
                "{out} {} is {}, not a directory: {valid}",
                root.display(),
                crate::input::kind_of(&meta)
            ),
            Ok(_) => {}
        }
        let is_run = root.join(RUN_MARKER).is_file();
        // A lock file alone is what a start that was refused after locking leaves.
        let is_empty = fs::read_dir(root)
            .with_context(|| format!("{out} {}: cannot read it", root.display()))?
            .flatten()
            .all(|entry| entry.file_name() == LOCK_FILE);
        if !is_empty && !is_run {
            bail!(
                "{out} {}: the directory exists and is not a run directory (it has no {RUN_MARKER}); \
                 give a new or empty directory",
                root.display()
            );
        }
        if is_run && !resume {
            bail!(
                "{out} {} holds a run already: add {resuming} to rerun its unfinished cells, or \
                 give another directory",
                root.display()
            );
        }
        if is_run {
            check_no_links(root, &out)?;
        }
        Ok(())
    }

    /// A directory for its paths alone (`matrix repro --shell` reading what a run left),
    /// neither checked nor locked.
    pub fn unlocked(root: &Path) -> RunDir {
        RunDir {
            root: root.to_path_buf(),
            _lock: None,
            made: Made::Nothing,
        }
    }

    /// Prepares `root` for a run: a new or empty directory, or (with `resume`) a run directory;
    /// `name` as for [`check`](RunDir::check).
    /// `held` is the directory's lock when the caller took it already (while checking an
    /// existing run); otherwise it is taken here, before anything is written into the
    /// directory, and the directory is checked again under it.
    pub fn open(
        root: &Path,
        resume: bool,
        name: fn(Setting) -> String,
        held: Option<RunLock>,
    ) -> Result<RunDir> {
        Self::check(root, resume, name)?;
        let made = if root.join(RUN_MARKER).is_file() {
            Made::Nothing
        } else if fs::symlink_metadata(root).is_ok() {
            Made::Contents
        } else {
            Made::Directory
        };
        let lock = match held {
            Some(lock) => lock,
            None => {
                fs::create_dir_all(root)
                    .with_context(|| format!("cannot create directory {}", root.display()))?;
                let lock = RunLock::acquire(root, &name(Setting::Out))?;
                Self::check(root, resume, name)?;
                lock
            }
        };
        let dir = RunDir {
            root: root.to_path_buf(),
            _lock: Some(std::sync::Arc::new(lock)),
            made,
        };
        match dir.lay_out() {
            Ok(()) => Ok(dir),
            Err(err) => {
                dir.undo_start();
                Err(err)
            }
        }
    }

    /// The directories and the marker of a run.
    fn lay_out(&self) -> Result<()> {
        for sub in [
            self.logs(),
            self.root.join("artifacts"),
            self.root.join("work"),
        ] {
            fs::create_dir_all(&sub)
                .with_context(|| format!("cannot create directory {}", sub.display()))?;
        }
        let marker = self.root.join(RUN_MARKER);
        fs::write(
            &marker,
            "This directory holds a `matrix run`: its scripts, logs and results.\n",
        )
        .with_context(|| format!("cannot write {}", marker.display()))
    }

    /// Removes what this run made of a new run directory, when its start fails before any cell
    /// ran (a full disk writing the scripts): a refused start leaves nothing, so the next start
    /// is not told to `--resume` a run that never began. A run directory that existed (a
    /// resume) is left as it is.
    pub fn undo_start(&self) {
        match self.made {
            Made::Nothing => {}
            Made::Directory => {
                let _ = fs::remove_dir_all(&self.root);
            }
            Made::Contents => {
                for entry in fs::read_dir(&self.root).into_iter().flatten().flatten() {
                    let path = entry.path();
                    let _ = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        fs::remove_dir_all(&path)
                    } else {
                        fs::remove_file(&path)
                    };
                }
            }
        }
    }

    pub fn index(&self) -> PathBuf {
        Self::index_of(&self.root)
    }
    /// The index of the run directory `root`, before it is opened.
    pub fn index_of(root: &Path) -> PathBuf {
        root.join("index.csv")
    }
    pub fn results(&self) -> PathBuf {
        self.root.join("results.csv")
    }
    pub fn scripts(&self) -> PathBuf {
        self.root.join("scripts")
    }
    pub fn script(&self, cell: &str) -> PathBuf {
        self.scripts().join(format!("{cell}.sh"))
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn log(&self, cell: &str) -> PathBuf {
        self.logs().join(format!("{cell}.log"))
    }
    /// Earlier attempts of cells run again (`--rerun`, or an unfinished log on `--resume`):
    /// `logs/attempts/N/<cell>.log`, inside `logs/` so that `report RUNDIR/logs` reads them as
    /// attempts of the cell, under the cell's own file name.
    pub fn attempts(&self) -> PathBuf {
        self.logs().join("attempts")
    }
    /// The cell's earlier attempts, oldest first: their number and path.
    pub fn attempt_logs(&self, cell: &str) -> Vec<(u64, PathBuf)> {
        let mut found: Vec<(u64, PathBuf)> = fs::read_dir(self.attempts())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let n = entry.file_name().to_str()?.parse::<u64>().ok()?;
                let log = entry.path().join(format!("{cell}.log"));
                log.is_file().then_some((n, log))
            })
            .collect();
        found.sort();
        found
    }
    /// Moves the cell's log to its next attempt's place; returns where it went.
    pub fn keep_as_attempt(&self, cell: &str) -> Result<PathBuf> {
        let next = self.attempt_logs(cell).last().map_or(1, |(n, _)| n + 1);
        let to = self
            .attempts()
            .join(next.to_string())
            .join(format!("{cell}.log"));
        let parent = to.parent().expect("an attempt has a directory");
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create directory {}", parent.display()))?;
        fs::rename(self.log(cell), &to).with_context(|| {
            format!(
                "cannot keep {} as {}",
                self.log(cell).display(),
                to.display()
            )
        })?;
        Ok(to)
    }
    /// Logs of cells the user interrupted: kept for reading, outside `logs/`, so the cell is
    /// not a result and `--resume` runs it again.
    pub fn interrupted_log(&self, cell: &str) -> PathBuf {
        self.root.join("interrupted").join(format!("{cell}.log"))
    }
    /// The records of running cells ([`super::leftovers`]).
    pub fn running_dir(&self) -> PathBuf {
        self.root.join("running")
    }
    pub fn running(&self, cell: &str) -> PathBuf {
        self.running_dir().join(cell)
    }
    pub fn artifacts(&self, cell: &str) -> PathBuf {
        self.root.join("artifacts").join(cell)
    }
    pub fn work(&self, cell: &str) -> PathBuf {
        self.root.join("work").join(cell)
    }
}

/// Refuses a run directory where a name the run writes, deletes or moves is a symbolic link
/// (`work` linked to a home directory would have the run delete in it), naming the first.
fn check_no_links(root: &Path, out: &str) -> Result<()> {
    let is_link = |path: &Path| fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink());
    let link = LAYOUT
        .iter()
        .map(|name| root.join(name))
        .find(|path| is_link(path))
        .or_else(|| {
            LAYOUT_DIRS.iter().find_map(|sub| {
                let dir = root.join(sub);
                if is_link(&dir) {
                    return None;
                }
                fs::read_dir(&dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .find(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
                    .map(|e| e.path())
            })
        });
    if let Some(link) = link {
        bail!(
            "{out} {}: {} is a symbolic link (to {}): a run writes, moves and deletes inside its \
             directory and never follows a link out of it; replace the link by what it points \
             to, or give another directory",
            root.display(),
            link.display(),
            fs::read_link(&link).map_or_else(|_| "?".into(), |t| t.display().to_string())
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_directory_is_refused_and_a_run_needs_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let foreign = tmp.path().join("foreign");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("notes.txt"), "mine").unwrap();
        let err = RunDir::open(&foreign, true, Setting::plain, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a run directory"), "{err}");

        let run = tmp.path().join("run");
        let first = RunDir::open(&run, false, Setting::plain, None).unwrap();
        drop(first);
        assert!(run.join(RUN_MARKER).is_file() && run.join("logs").is_dir());
        let err = RunDir::open(&run, false, Setting::plain, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("add `resume` to rerun"), "{err}");
        RunDir::open(&run, true, Setting::plain, None).unwrap();
    }
}
