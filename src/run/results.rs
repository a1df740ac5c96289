//! `RUNDIR/results.csv`: report's classification of the run's logs joined with the run's index,
//! with the engine and host recorded in every row. A write reports only the cells that have a
//! log or were started, and streams the rest of the index from `RUNDIR/index.csv` as `Missing`
//! rows, so a million-cell run holds neither its index nor a report of every cell. Writes are
//! batched: once per look at the running cells, and no sooner after the last write than
//! [`WRITE_SHARE`] times what it took. Every write is a rename: a reader sees one whole file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::rundir::RunDir;
use crate::logs::index::{each_row, Index};
use crate::logs::ScannedLog;
use crate::output::write_atomic_with;
use crate::report::filter::ResultFilter;
use crate::report::{self, output, CellReport, CellResult, Report, Tally, Verdict};

/// How the run's index is named in errors.
const WHAT: &str = "the run's index";

pub struct Results {
    /// The run's `index.csv`, read again at each write.
    index: PathBuf,
    /// The values of the two columns added to the index's: the engine and the host's OS.
    added: [String; 2],
    /// Every log read, by its path in the run directory: a cell's attempts are grouped by the
    /// report, as for any log directory.
    logs: BTreeMap<String, ScannedLog>,
    /// Cells started and not yet ended: `Running` in results.csv, not `Missing`.
    running: BTreeSet<String>,
    /// Cells started or with a log: the rows reported; the others are `Missing`.
    touched: BTreeSet<String>,
    path: PathBuf,
    /// Whether something changed since results.csv was last written.
    dirty: bool,
    /// When results.csv was last written, and how long that took.
    written: Option<(Instant, Duration)>,
}

/// [`Results::flush`] waits this many times the last write's time before it writes again.
pub const WRITE_SHARE: u32 = 10;

/// What a write of results.csv held, counted a row at a time.
#[derive(Debug, Default)]
pub struct Written {
    /// The rows' results, as a report's summary counts them.
    pub summary: Tally,
    /// Per result (its label): one such result, how many rows have it, and the first of them
    /// (its row number and key).
    by_result: BTreeMap<String, (CellResult, usize, (usize, String))>,
    rows: usize,
}

impl Written {
    fn count(&mut self, cell: &CellReport) {
        self.summary.add(&cell.result);
        let row = self.rows;
        self.rows += 1;
        (self.by_result.entry(cell.result.label()))
            .or_insert_with(|| (cell.result.clone(), 0, (row, cell.key.clone())))
            .1 += 1;
    }

    /// How many rows have a result one of `filters` names, and the key of the first.
    pub fn failing(&self, filters: &[ResultFilter]) -> (usize, Option<&str>) {
        let named = (self.by_result.values())
            .filter(|(result, _, _)| filters.iter().any(|f| f.matches(result)));
        let count = named.clone().map(|(_, n, _)| n).sum();
        let first = named.map(|(_, _, first)| first).min();
        (count, first.map(|(_, key)| key.as_str()))
    }
}

impl Results {
    /// `index` is the run's `index.csv`; `engine` and `host_os` become two more columns.
    /// The index is read at each write (the run's first write, right after, checks it).
    pub fn new(index: PathBuf, engine: &str, host_os: &str, path: PathBuf) -> Self {
        Results {
            index,
            added: [engine.to_string(), host_os.to_string()],
            logs: BTreeMap::new(),
            running: Default::default(),
            touched: Default::default(),
            path,
            dirty: true,
            written: None,
        }
    }

    /// A cell started: it is `Running` until [`Results::ended`].
    pub fn started(&mut self, cell: &str) {
        self.running.insert(cell.to_string());
        self.touched.insert(cell.to_string());
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

    /// Reads a log of `cell` (`rel` is its path in the run directory) and returns what it says.
    fn add(&mut self, cell: &str, log: &Path, rel: &str) -> Result<CellResult> {
        self.touched.insert(cell.to_string());
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
            self.add(cell, &attempt, &rel)?;
        }
        self.add(cell, &dir.log(cell), &relative(dir, &dir.log(cell)))
    }

    /// The report of the cells started or with a log, in the index's order (then the logs'
    /// cells the index does not list); every other row of the index is `Missing`.
    fn report(&self) -> Result<Report> {
        let keep = |key: &str| self.touched.contains(key);
        let mut index = Index::from_reader_where(open(&self.index)?, WHAT, keep)?;
        index
            .columns
            .extend(["engine".to_string(), "host_os".to_string()]);
        for (_, values) in &mut index.rows {
            values.extend(self.added.iter().cloned());
        }
        let logs = self.logs.values().cloned().collect();
        let mut report = report::build(logs, Some(&index), None);
        for cell in &mut report.cells {
            if cell.result == CellResult::Missing && self.running.contains(&cell.key) {
                cell.result = CellResult::Running(None);
            }
        }
        Ok(report)
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

    /// Rewrites results.csv from every log added so far, now: a row per row of the index, in
    /// its order, then the cells of logs it does not list. Returns what it wrote.
    pub fn write(&mut self) -> Result<Written> {
        let start = Instant::now();
        let report = self.report()?;
        let mut written = Written::default();
        write_atomic_with(&self.path, |file| {
            let mut rows = output::CsvRows::new(file, &report.index_columns)?;
            let mut cells = report.cells.iter();
            let mut put = |cell: &CellReport| {
                written.count(cell);
                rows.row(cell)
            };
            each_row(open(&self.index)?, WHAT, |row| {
                if !self.touched.contains(&row.key) {
                    let mut values = row.values;
                    values.extend(self.added.iter().cloned());
                    return put(&CellReport::missing(row.key, values.into()));
                }
                match cells.next() {
                    Some(cell) => put(cell),
                    None => anyhow::bail!("{WHAT} changed while results.csv was written"),
                }
            })?;
            cells.try_for_each(&mut put)?;
            rows.finish()?;
            Ok(())
        })?;
        self.dirty = false;
        self.written = Some((Instant::now(), start.elapsed()));
        Ok(written)
    }
}

fn open(index: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    let file = std::fs::File::open(index)
        .with_context(|| format!("cannot read {WHAT} {}", index.display()))?;
    Ok(std::io::BufReader::new(file))
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
        let index = tmp.path().join("index.csv");
        let rows = "id,script,image,python\na,scripts/a.sh,img,3.13.5\nb,scripts/b.sh,img,3.13.5\n";
        std::fs::write(&index, rows).unwrap();
        let mut results = Results::new(index, "host", "debian-12", tmp.path().join("results.csv"));
        let result = results.add("a", &log, "logs/a.log").unwrap();
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
        let index = tmp.path().join("index.csv");
        std::fs::write(&index, "id,script,image\na,a.sh,img\nb,b.sh,img\n").unwrap();
        let mut results = Results::new(index, "host", "debian-12", path.clone());
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
