//! `RUNDIR/results.csv`: report's classification of the run's logs joined with the run's index,
//! with the engine and host recorded in every row. Each write rebuilds the whole file (the
//! report of every log), so writing per cell start and end is quadratic in the cells: changes
//! are batched, written once per look at the running cells, and no sooner after the last write
//! than [`WRITE_SHARE`] times what it took. A small run's file follows every look (a write takes
//! milliseconds); a large run's spends at most about a tenth of its time rewriting it, and the
//! file is that much behind. Every write is a rename: a reader sees one whole file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::rundir::RunDir;
use crate::logs::{Index, ScannedLog};
use crate::output::write_atomic_with;
use crate::report::{self, output, CellResult, Report, Verdict};

pub struct Results {
    index: Index,
    /// Every log read, by its path in the run directory: a cell's attempts are grouped by the
    /// report, as for any log directory.
    logs: BTreeMap<String, ScannedLog>,
    /// Cells started and not yet ended: `Running` in results.csv, not `Missing`.
    running: std::collections::BTreeSet<String>,
    path: PathBuf,
    /// Whether something changed since results.csv was last written.
    dirty: bool,
    /// When results.csv was last written, and how long that took.
    written: Option<(Instant, Duration)>,
}

/// [`Results::flush`] waits this many times the last write's time before it writes again.
pub const WRITE_SHARE: u32 = 10;

impl Results {
    /// `index_csv` is the run's `index.csv`; `engine` and `host_os` become two more columns.
    pub fn new(index_csv: &[u8], engine: &str, host_os: &str, path: PathBuf) -> Result<Self> {
        let mut index = Index::from_reader(index_csv, "the run's index")?;
        index
            .columns
            .extend(["engine".to_string(), "host_os".to_string()]);
        for (_, values) in &mut index.rows {
            values.extend([engine.to_string(), host_os.to_string()]);
        }
        Ok(Results {
            index,
            logs: BTreeMap::new(),
            running: Default::default(),
            path,
            dirty: true,
            written: None,
        })
    }

    /// A cell started: it is `Running` until [`Results::ended`].
    pub fn started(&mut self, cell: &str) {
        self.running.insert(cell.to_string());
        self.dirty = true;
    }

    /// A cell ended, with a result or without (interrupted, set aside).
    pub fn ended(&mut self, cell: &str) {
        self.running.remove(cell);
        self.dirty = true;
    }

    /// No cell runs any more (the run is over, however it ended).
    pub fn none_running(&mut self) {
        self.running.clear();
        self.dirty = true;
    }

    /// Reads a log (`rel` is its path in the run directory) and returns what it says.
    pub fn add(&mut self, log: &Path, rel: &str) -> Result<CellResult> {
        let scanned = crate::logs::scan_one(log, rel)?;
        let result = result_of(&scanned.classification.verdict);
        self.logs.insert(rel.to_string(), scanned);
        self.dirty = true;
        Ok(result)
    }

    /// Why the cell of the log read as `rel` ended as it did, in the cause's words.
    pub fn cause(&self, rel: &str) -> Option<&str> {
        let why = &self.logs.get(rel)?.why;
        why.cause.as_ref().map(|cause| cause.text.as_str())
    }

    /// Reads a finished cell's log and its earlier attempts; returns what its log says.
    pub fn add_cell(&mut self, dir: &RunDir, cell: &str) -> Result<CellResult> {
        for (_, attempt) in dir.attempt_logs(cell) {
            let rel = relative(dir, &attempt);
            self.add(&attempt, &rel)?;
        }
        self.add(&dir.log(cell), &relative(dir, &dir.log(cell)))
    }

    pub fn report(&self) -> Report {
        let mut report = report::build(
            self.logs.values().cloned().collect(),
            Some(&self.index),
            None,
        );
        for cell in &mut report.cells {
            if cell.result == CellResult::Missing && self.running.contains(&cell.key) {
                cell.result = CellResult::Running(None);
            }
        }
        report
    }

    /// Writes results.csv when something changed and the last write is [`WRITE_SHARE`] times
    /// its own time ago; returns whether it wrote. The run calls it once per look at its cells.
    pub fn flush(&mut self) -> Result<bool> {
        let due = (self.written).is_none_or(|(at, took)| at.elapsed() >= took * WRITE_SHARE);
        if !(self.dirty && due) {
            return Ok(false);
        }
        self.write()?;
        Ok(true)
    }

    /// Rewrites results.csv from every log added so far, now; cells without one are `Missing`.
    pub fn write(&mut self) -> Result<Report> {
        let start = Instant::now();
        let report = self.report();
        // A row at a time into the file: a million cells' CSV is never whole in memory.
        write_atomic_with(&self.path, |file| {
            output::write_csv(&report, file)?;
            Ok(())
        })?;
        self.dirty = false;
        self.written = Some((Instant::now(), start.elapsed()));
        Ok(report)
    }
}

fn result_of(verdict: &Verdict) -> CellResult {
    match verdict {
        Verdict::Result { stage, outcome } => CellResult::Result(*stage, *outcome),
        Verdict::Unknown { reason } => CellResult::Unknown(reason.clone()),
    }
}

/// `path` inside the run directory, as results.csv names it (`logs/attempts/1/x.log`).
pub fn relative(dir: &RunDir, path: &Path) -> String {
    let rel = path.strip_prefix(&dir.root).unwrap_or(path);
    rel.to_string_lossy().into_owned()
}

/// The result of a log that ends with the script's finish marker; `None` for a log without
/// one (the cell is running, or its run was killed) or one that cannot be read.
pub fn finished_result(log: &Path) -> Option<CellResult> {
    let scanned = crate::logs::scan_one(log, "").ok()?;
    (scanned.classification.finished).then(|| result_of(&scanned.classification.verdict))
}

/// The `ID` of /etc/os-release (`debian`, `fedora`), for the results of a host run.
pub fn host_os_id() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let value = l.strip_prefix("ID=")?;
                let version = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VERSION_ID="))
                    .map(|v| v.trim_matches('"'));
                let id = value.trim_matches('"');
                Some(match version {
                    Some(v) => format!("{id}-{v}"),
                    None => id.to_string(),
                })
            })
        })
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_join_the_index_with_engine_and_host_and_mark_missing_cells() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("a.log");
        std::fs::write(
            &log,
            "::matrix:: event=stage-start stage=tests time=T\n\
             ::matrix:: event=stage-end stage=tests status=2 time=T\n\
             ::matrix:: event=finish cell=a stage=tests status=2 time=T\n",
        )
        .unwrap();
        assert!(finished_result(&log).is_some());
        let index =
            b"id,script,image,python\na,scripts/a.sh,img,3.13.5\nb,scripts/b.sh,img,3.13.5\n";
        let mut results =
            Results::new(index, "host", "debian-12", tmp.path().join("results.csv")).unwrap();
        let result = results.add(&log, "logs/a.log").unwrap();
        assert_eq!(result.label(), "Tests. Failed");
        results.write().unwrap();
        let csv = std::fs::read_to_string(tmp.path().join("results.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "key,script,image,python,engine,host_os,result,stage,outcome,attempts,flaky,log,\
             evidence,cause,cause_evidence,failed_tests,failed_count,canaries,blind,seconds,\
             stage_seconds,tests_run,tests_failed,tests_skipped,compiler_version,source_id"
        );
        assert!(
            lines[1].starts_with(
                "a,scripts/a.sh,img,3.13.5,host,debian-12,Tests. Failed,Tests,Failed,1,,logs/a.log,"
            ),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("b,scripts/b.sh,img,3.13.5,host,debian-12,Missing,"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn starts_and_ends_are_written_together_no_sooner_than_ten_writes_time() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("results.csv");
        let index = b"id,script,image\na,a.sh,img\nb,b.sh,img\n";
        let mut results = Results::new(index, "host", "debian-12", path.clone()).unwrap();
        let result_of = |cell: &str| {
            let csv = std::fs::read_to_string(&path).unwrap();
            let line = csv
                .lines()
                .find(|l| l.starts_with(&format!("{cell},")))
                .unwrap();
            line.split(',').nth(5).unwrap().to_string()
        };
        assert!(results.flush().unwrap(), "the first flush writes");
        assert_eq!(result_of("a"), "Missing");
        // As if the write had taken six minutes, a moment ago: the next waits an hour.
        results.written = Some((Instant::now(), Duration::from_secs(360)));
        results.started("a");
        results.started("b");
        assert!(!results.flush().unwrap());
        assert_eq!(result_of("a"), "Missing", "the file stays whole as it was");
        results.written = Some((Instant::now(), Duration::ZERO));
        assert!(results.flush().unwrap(), "both starts in one write");
        assert_eq!(
            (result_of("a"), result_of("b")),
            ("Running".into(), "Running".into())
        );
        results.written = Some((Instant::now(), Duration::ZERO));
        assert!(
            !results.flush().unwrap(),
            "nothing changed, nothing to write"
        );
        results.ended("a");
        results.written = Some((Instant::now(), Duration::ZERO));
        assert!(results.flush().unwrap());
        assert_eq!(
            (result_of("a"), result_of("b")),
            ("Missing".into(), "Running".into())
        );
    }

    #[test]
    fn a_log_without_a_finish_marker_is_unfinished() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("a.log");
        std::fs::write(&log, "::matrix:: event=stage-start stage=compile time=T\n").unwrap();
        assert!(finished_result(&log).is_none());
        assert!(finished_result(&tmp.path().join("absent.log")).is_none());
    }
}
