//! `RUNDIR/fetch.csv`: per cell, where its node was, how its pod ended, where its log came
//! from (or why there is none) and its `result` output. `fetch` reads it back to resume;
//! `report` reads it to say why a cell without a log has none.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::status::Fate;
use crate::report::PodEnd;

pub const FETCH_RECORD: &str = "fetch.csv";

/// Where a cell's log came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogSource {
    /// The `log` output artifact: the script's own copy, saved by the wait container.
    Artifact,
    /// `argo logs`: the container log, from the pod or argo-server's archive.
    ArgoLogs,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub cell: String,
    pub workflow: String,
    pub node: String,
    pub phase: String,
    /// [`super::status::Fate::name`].
    pub fate: String,
    /// The node's message (the kubelet's reason), or why no log could be fetched.
    pub message: String,
    pub log: LogSource,
    /// The `result` output parameter: the script's `{"cell","stage","status"}` line.
    pub result: String,
    /// Why the cell has no log; empty when it has one.
    pub absent: String,
}

/// The records of `dir`, by cell; none when it has no record yet.
pub fn read(dir: &Path) -> Result<BTreeMap<String, Record>> {
    let path = dir.join(FETCH_RECORD);
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let bytes = crate::input::read_bytes(&path, "fetch record", crate::input::limit::TABLE)?;
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let names = (reader.headers())
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    let mut records = BTreeMap::new();
    for row in reader.records() {
        // A node's message and a result come from the cluster: written neutralised for
        // spreadsheets, read back as they were.
        let row = row.map(|row| crate::spreadsheet::record(&row));
        let record: Record = row
            .and_then(|row| row.deserialize(Some(&names)))
            .with_context(|| {
                format!(
                    "{}: not a record `matrix fetch` wrote (delete it, and fetch again)",
                    path.display()
                )
            })?;
        records.insert(record.cell.clone(), record);
    }
    Ok(records)
}

/// Writes every record (by a rename: a reader never sees half of it).
pub fn write(dir: &Path, records: &BTreeMap<String, Record>) -> Result<()> {
    let mut writer = crate::spreadsheet::Writer::new();
    for record in records.values() {
        writer.serialize(record)?;
    }
    let bytes = writer.into_inner()?;
    crate::output::write_atomic(&dir.join(FETCH_RECORD), &bytes)
}

/// What `report` joins from `dir`'s record: why a cell has no log, which pods were
/// OOM-killed.
pub fn pod_ends(dir: &Path) -> Result<BTreeMap<String, PodEnd>> {
    let oom = Fate::OomKilled.name();
    Ok(read(dir)?
        .into_values()
        .map(|r| {
            let end = PodEnd {
                absent: (!r.absent.is_empty()).then(|| r.absent.clone()),
                oom_killed: (r.fate == oom).then(|| r.message.clone()),
            };
            (r.cell, end)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_from_the_cluster_cannot_run_as_formulas_and_read_back_exact() {
        let tmp = tempfile::tempdir().unwrap();
        let record = Record {
            cell: "c1".into(),
            workflow: "wf".into(),
            node: "wf-1".into(),
            phase: "Failed".into(),
            fate: "oom-killed".into(),
            message: "=HYPERLINK(\"http://x\",\"y\")".into(),
            log: LogSource::ArgoLogs,
            result: "+ make".into(),
            absent: "-3".into(),
        };
        let records = BTreeMap::from([("c1".to_string(), record)]);
        write(tmp.path(), &records).unwrap();
        let text = std::fs::read_to_string(tmp.path().join(FETCH_RECORD)).unwrap();
        assert_eq!(
            text,
            "cell,workflow,node,phase,fate,message,log,result,absent\n\
             c1,wf,wf-1,Failed,oom-killed,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",argo-logs,'+ make,-3\n"
        );
        assert_eq!(read(tmp.path()).unwrap(), records);
    }
}
