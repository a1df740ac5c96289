//! `RUNDIR/results.csv`: report's classification of the run's logs joined with the run's index,
//! rewritten whenever a cell finishes, with the engine and host recorded in every row.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::export::{Export, OutputFormat};
use crate::logs::{Index, ScannedLog};
use crate::output::write_atomic;
use crate::report::{self, output, CellResult, Report, Verdict};

pub struct Results {
    index: Index,
    logs: BTreeMap<String, ScannedLog>,
    path: PathBuf,
}

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
            path,
        })
    }

    /// Reads a finished cell's log (`rel` is its path in the run directory) and returns what it
    /// says.
    pub fn add(&mut self, cell: &str, log: &Path, rel: &str) -> Result<CellResult> {
        let scanned = crate::logs::scan_one(log, rel)?;
        let result = match &scanned.classification.verdict {
            Verdict::Result { stage, outcome } => CellResult::Result(*stage, *outcome),
            Verdict::Unknown { reason } => CellResult::Unknown(reason.clone()),
        };
        self.logs.insert(cell.to_string(), scanned);
        Ok(result)
    }

    pub fn report(&self) -> Report {
        report::build(
            self.logs.values().cloned().collect(),
            Some(&self.index),
            None,
        )
    }

    /// Rewrites results.csv from every log added so far; cells without one are `Missing`.
    pub fn write(&self) -> Result<Report> {
        let report = self.report();
        write_atomic(
            &self.path,
            &output::ReportView {
                report: &report,
                pivot: None,
                // CSV is not cut to a width.
                width: usize::MAX,
            }
            .export(OutputFormat::Csv)?,
        )?;
        Ok(report)
    }
}

/// Whether a log ends with the script's finish marker: the cell ran to a result.
pub fn finished(log: &Path) -> bool {
    crate::logs::scan_one(log, "").is_ok_and(|s| s.classification.cell.is_some())
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
        assert!(finished(&log));
        let index =
            b"id,script,image,python\na,scripts/a.sh,img,3.13.5\nb,scripts/b.sh,img,3.13.5\n";
        let mut results =
            Results::new(index, "host", "debian-12", tmp.path().join("results.csv")).unwrap();
        let result = results.add("a", &log, "logs/a.log").unwrap();
        assert_eq!(result.label(), "Tests. Failed");
        results.write().unwrap();
        let csv = std::fs::read_to_string(tmp.path().join("results.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "key,script,image,python,engine,host_os,result,stage,outcome,attempts,log,evidence,\
             cause,cause_evidence,failed_tests,failed_count,canaries,blind"
        );
        assert!(
            lines[1].starts_with(
                "a,scripts/a.sh,img,3.13.5,host,debian-12,Tests. Failed,Tests,Failed,1,logs/a.log,"
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
    fn a_log_without_a_finish_marker_is_unfinished() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("a.log");
        std::fs::write(&log, "::matrix:: event=stage-start stage=compile time=T\n").unwrap();
        assert!(!finished(&log));
        assert!(!finished(&tmp.path().join("absent.log")));
    }
}
