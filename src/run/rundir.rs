//! The run directory: what a run writes where (index, scripts, logs, artifacts, results, work
//! directories) and whether a directory may be used for a new run or resumed.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Setting;

/// Present in every run directory; what resuming and a new run check for.
pub const RUN_MARKER: &str = ".matrix-run";

#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
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
        let is_empty = fs::read_dir(root)
            .with_context(|| format!("{out} {}: cannot read it", root.display()))?
            .next()
            .is_none();
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
        Ok(())
    }

    /// Prepares `root` for a run: a new or empty directory, or (with `resume`) a run directory;
    /// `name` as for [`check`](RunDir::check).
    pub fn open(root: &Path, resume: bool, name: fn(Setting) -> String) -> Result<RunDir> {
        Self::check(root, resume, name)?;
        let dir = RunDir {
            root: root.to_path_buf(),
        };
        for sub in [
            dir.logs(),
            dir.root.join("artifacts"),
            dir.root.join("work"),
        ] {
            fs::create_dir_all(&sub)
                .with_context(|| format!("cannot create directory {}", sub.display()))?;
        }
        fs::write(
            dir.root.join(RUN_MARKER),
            "This directory holds a `matrix run`: its scripts, logs and results.\n",
        )
        .with_context(|| format!("cannot write {}", dir.root.join(RUN_MARKER).display()))?;
        Ok(dir)
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
    pub fn artifacts(&self, cell: &str) -> PathBuf {
        self.root.join("artifacts").join(cell)
    }
    pub fn work(&self, cell: &str) -> PathBuf {
        self.root.join("work").join(cell)
    }
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
        let err = RunDir::open(&foreign, true, Setting::plain)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a run directory"), "{err}");

        let run = tmp.path().join("run");
        RunDir::open(&run, false, Setting::plain).unwrap();
        assert!(run.join(RUN_MARKER).is_file() && run.join("logs").is_dir());
        let err = RunDir::open(&run, false, Setting::plain)
            .unwrap_err()
            .to_string();
        assert!(err.contains("add `resume` to rerun"), "{err}");
        RunDir::open(&run, true, Setting::plain).unwrap();
    }
}
