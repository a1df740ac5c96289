//! `matrix fetch`: a run on Argo (one or more Workflows, finished or running) gathered into a
//! run directory `matrix report` reads: `index.csv` from the Workflows' own cell parameters,
//! `logs/<cell>.log` from each cell's `log` artifact (else `argo logs`), `artifacts/<cell>/`
//! from `sarif-data`, and `fetch.csv` ([`record`]) saying how each pod ended and why a cell
//! has no log. Resumable: what an earlier fetch got from a node that has not changed since is
//! kept, the rest fetched again. [`status`] reads `argo get -o json`, [`argo`] runs the CLI.

pub mod argo;
pub mod index;
pub mod record;
pub mod status;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use self::argo::Argo;
use self::record::{LogSource, Record};
use self::status::{Fate, Node, Workflow};
use crate::run::rundir::RunDir;
use crate::workflow::build::{LOG_ARTIFACT, RESULT_PARAM, SARIF_ARTIFACT};

/// What a fetch did, for its summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub cells: usize,
    pub with_log: usize,
    /// Logs fetched by this call (not kept from an earlier one).
    pub new_logs: usize,
    /// Cells without a log, and why.
    pub absent: Vec<(String, String)>,
}

/// Gathers `workflows` into `dir`, writing the index and the record after each Workflow.
pub fn fetch(argo: &Argo, workflows: &[String], dir: &RunDir) -> Result<Summary> {
    let mut records = record::read(&dir.root)?;
    let mut index = index::Rows::read(&dir.index())?;
    let mut summary = Summary::default();
    for name in workflows {
        let json = argo.get(name)?;
        let workflow = Workflow::parse(&json, &format!("`argo get {name} -o json`"))?;
        let cells = workflow.cells()?;
        index.add(&cells, name)?;
        let nodes = workflow.cell_nodes();
        for cell in &cells.cells {
            let node = nodes.get(&cell.id).copied();
            let old = records.remove(&cell.id);
            let ctx = Cell {
                argo,
                dir,
                workflow: &workflow.metadata.name,
                id: &cell.id,
            };
            let (record, new) = ctx.fetch(node, old)?;
            summary.count(&record, new);
            records.insert(cell.id.clone(), record);
        }
        index.write(&dir.index())?;
        record::write(&dir.root, &records)?;
    }
    Ok(summary)
}

impl Summary {
    fn count(&mut self, record: &Record, new: bool) {
        self.cells += 1;
        self.new_logs += usize::from(new);
        if record.absent.is_empty() {
            self.with_log += 1;
        } else {
            self.absent
                .push((record.cell.clone(), record.absent.clone()));
        }
    }
}

/// One cell being fetched.
struct Cell<'a> {
    argo: &'a Argo,
    dir: &'a RunDir,
    workflow: &'a str,
    id: &'a str,
}

impl Cell<'_> {
    /// The cell's record, and whether its log was fetched now.
    fn fetch(&self, node: Option<&Node>, old: Option<Record>) -> Result<(Record, bool)> {
        let fate = Fate::of(node);
        let mut record = Record {
            cell: self.id.to_string(),
            workflow: self.workflow.to_string(),
            node: node.map_or(String::new(), |n| n.id.clone()),
            phase: node.map_or(String::new(), |n| n.phase.clone()),
            fate: fate.name().to_string(),
            message: node.map_or(String::new(), |n| n.message.clone()),
            log: LogSource::None,
            result: (node.and_then(|n| n.outputs.parameter(RESULT_PARAM)))
                .unwrap_or_default()
                .to_string(),
            absent: String::new(),
        };
        // A log an earlier fetch got from this node, in the phase it is still in, is kept.
        let unchanged = old.as_ref().filter(|o| {
            o.node == record.node && o.phase == record.phase && o.log != LogSource::None
        });
        let mut notes = Vec::new();
        let mut new = false;
        match (unchanged, node) {
            (Some(old), _) if self.dir.log(self.id).is_file() => record.log = old.log,
            (_, Some(node)) => {
                record.log = self.fetch_log(node, &mut notes)?;
                new = record.log != LogSource::None;
            }
            (_, None) => {}
        }
        if let Some(node) = node {
            self.fetch_sarif(node, &mut notes)?;
        }
        if record.log == LogSource::None {
            record.absent = absent_reason(fate, node, &notes);
        }
        Ok((record, new))
    }

    /// The `log` artifact, else `argo logs`; what failed goes to `notes`.
    fn fetch_log(&self, node: &Node, notes: &mut Vec<String>) -> Result<LogSource> {
        let target = self.dir.log(self.id);
        if node.outputs.has_artifact(LOG_ARTIFACT) {
            let stage = self.stage()?;
            match self
                .argo
                .copy(self.workflow, &node.id, LOG_ARTIFACT, stage.path())
            {
                Ok(()) => {
                    let file = only_file(&stage.path().join(LOG_ARTIFACT))?;
                    fs::rename(&file, &target).with_context(|| {
                        format!("cannot move {} to {}", file.display(), target.display())
                    })?;
                    return Ok(LogSource::Artifact);
                }
                Err(err) => notes.push(format!("argo cp of its log artifact: {err}")),
            }
        }
        match self.argo.logs(self.workflow, self.id)? {
            Some(text) if !text.is_empty() => {
                crate::output::write_atomic(&target, &text)?;
                Ok(LogSource::ArgoLogs)
            }
            _ => {
                notes.push("argo logs has none (the pod is gone and no archive serves it)".into());
                Ok(LogSource::None)
            }
        }
    }

    /// The `sarif-data` artifact into `artifacts/<cell>/`, once.
    fn fetch_sarif(&self, node: &Node, notes: &mut Vec<String>) -> Result<()> {
        let target = self.dir.artifacts(self.id);
        if !node.outputs.has_artifact(SARIF_ARTIFACT) || target.exists() {
            return Ok(());
        }
        let stage = self.stage()?;
        match self
            .argo
            .copy(self.workflow, &node.id, SARIF_ARTIFACT, stage.path())
        {
            Ok(()) => {
                let from = stage.path().join(SARIF_ARTIFACT);
                fs::create_dir_all(target.parent().expect("artifacts/<cell> has a parent"))?;
                fs::rename(&from, &target).with_context(|| {
                    format!("cannot move {} to {}", from.display(), target.display())
                })?;
            }
            Err(err) => notes.push(format!("argo cp of its SARIF files: {err}")),
        }
        Ok(())
    }

    /// A directory inside the run directory (so files move by a rename), removed when dropped.
    fn stage(&self) -> Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix(".fetch-")
            .tempdir_in(&self.dir.root)
            .with_context(|| format!("cannot make a directory in {}", self.dir.root.display()))
    }
}

/// The one file `argo cp` wrote into `dir`.
fn only_file(dir: &Path) -> Result<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("argo cp wrote no {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    match files.as_slice() {
        [one] => Ok(one.clone()),
        _ => anyhow::bail!(
            "argo cp wrote {} files into {}, where the log artifact is one file",
            files.len(),
            dir.display()
        ),
    }
}

/// Why a cell has no log: how its pod ended (the node's message), and what fetch tried.
fn absent_reason(fate: Fate, node: Option<&Node>, notes: &[String]) -> String {
    let mut reason = fate.describe().to_string();
    match node {
        None => reason.push_str(" (the Workflow has no pod for it)"),
        Some(n) if !n.message.is_empty() => reason.push_str(&format!(" ({})", n.message)),
        Some(_) => {}
    }
    if !notes.is_empty() {
        reason.push_str("; ");
        reason.push_str(&notes.join("; "));
    }
    reason
}
