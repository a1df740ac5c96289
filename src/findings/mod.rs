//! `matrix findings`: the sanitizer and fatal-error reports in a directory of build logs,
//! deduplicated by signature across cells, versions and runs. The reports themselves are
//! recognised by [`crate::sanitizer`]; submodules: [`output`] (CSV, JSON, table, pivot),
//! [`diff`] (two runs compared), [`known`] (the known-findings catalog and each finding's
//! status), [`suppress`] (suppression files).

pub mod diff;
pub mod known;
pub mod output;
pub mod suppress;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{bail, Result};

use crate::artifacts::{self, Progress, Warning};
use crate::logs::read::{read_line_capped, MAX_LINE};
use crate::logs::{self, Index, ScannedLog};
pub use crate::sanitizer::{Frame, Signature};
use crate::sanitizer::{InLog, LogReports};
use crate::stage::Stage;

/// Where one report of a signature is: the log (`rel`, or `rel!member`) and its lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Example {
    pub log: String,
    pub line: u64,
    #[serde(skip)]
    pub end: u64,
}

/// One signature in one cell.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CellFinding {
    pub cell: String,
    pub reports: usize,
    /// The stages the reports came in (`Tests`), in stage order.
    pub stages: Vec<String>,
    pub tests: BTreeSet<String>,
    pub example: Example,
}

/// A distinct problem: one signature, with everything the run says about it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub id: String,
    pub signature: Signature,
    /// The frames the signature names, with their files and lines as first seen.
    pub frames: Vec<Frame>,
    pub access: Option<String>,
    pub reports: usize,
    /// In cell order (the index's, else sorted).
    pub cells: Vec<CellFinding>,
    /// Index columns whose value all its cells share, where the run has more than one value.
    pub shared: Vec<(String, String)>,
    /// The CPython versions of its cells (the index's [`VERSION_COLUMNS`]), oldest first;
    /// empty without an index that has the column.
    pub versions: Vec<String>,
    pub tests: BTreeSet<String>,
    /// The first report: the first log in path order, its first report there.
    pub example: Example,
    /// The findings of the same tool, kind and top frame share it ([`Signature::family`]).
    pub family: String,
    /// [`Finding::shared`] over the cells of all the family's findings.
    pub family_shared: Vec<(String, String)>,
    /// The ids its reports had before the rules per class, for `--diff` against old results.
    pub legacy: BTreeSet<String>,
    /// Reports cut short, and reports quoted in Python text.
    pub truncated: usize,
    pub quoted: usize,
    /// Reports with another process's frames interleaved among theirs.
    pub interleaved: usize,
    /// Sites that were their stack's top frame (for TSan's `race_top:`).
    pub top_sites: BTreeSet<String>,
}

/// All findings of a run.
#[derive(Debug, Clone)]
pub struct Findings {
    /// Most reports first, then by id.
    pub findings: Vec<Finding>,
    pub logs: usize,
    pub bytes: u64,
    pub reports: usize,
    /// Index columns (without the key), for `--by` and shared values.
    pub index_columns: Vec<String>,
    /// Each cell's index values.
    pub cell_values: HashMap<String, Vec<String>>,
}

/// What scanning a directory gave.
#[derive(Debug)]
pub struct Scanned {
    pub findings: Findings,
    pub warnings: Vec<Warning>,
}

/// Reads every log under `dir` through the log core, on all cores, and deduplicates their
/// reports by signature.
pub fn scan_dir(dir: &Path, index: Option<&Index>, progress: Progress) -> Result<Scanned> {
    let logs::Scanned { mut logs, warnings } = logs::scan_dir(dir, logs::Read::Reports, progress)?;
    let reports: Vec<LogReports> = logs
        .iter_mut()
        .map(|log| std::mem::take(&mut log.reports))
        .collect();
    Ok(Scanned {
        findings: from_logs(logs.iter().zip(reports).collect(), index),
        warnings,
    })
}

/// Joins the logs' findings by signature, and the logs to cells (and the index). `report`
/// calls it with the reports its own pass collected.
pub fn from_logs(logs: Vec<(&ScannedLog, LogReports)>, index: Option<&Index>) -> Findings {
    let log_count = logs.len();
    let bytes = logs.iter().map(|(l, _)| l.bytes).sum();
    let reports = logs.iter().map(|(_, f)| f.reports).sum();
    let cell_order = cell_order(index);
    let mut by_sig = BySignature::new();
    for (log, found) in logs {
        let key = cell_key(log, index);
        for (signature, seen) in found.signatures {
            add_report(&mut by_sig, &key, log, signature, seen);
        }
    }
    let (index_columns, cell_values): (Vec<String>, HashMap<String, Vec<String>>) = match index {
        Some(ix) => (ix.columns.clone(), ix.rows.iter().cloned().collect()),
        None => (Vec::new(), HashMap::new()),
    };
    let varying = varying_columns(&index_columns, &cell_values);
    let mut findings: Vec<Finding> = by_sig
        .into_values()
        .map(|(mut finding, cells)| {
            let cells = cells_in_order(cells, &cell_order);
            finding.shared = shared_values(&cells, &varying, &index_columns, &cell_values);
            finding.versions = versions_of(&cells, &index_columns, &cell_values);
            finding.cells = cells;
            finding
        })
        .collect();
    findings.sort_by(|a, b| b.reports.cmp(&a.reports).then_with(|| a.id.cmp(&b.id)));
    share_by_family(&mut findings, &varying, &index_columns, &cell_values);
    Findings {
        findings,
        logs: log_count,
        bytes,
        reports,
        index_columns,
        cell_values,
    }
}

/// signature → (finding under construction, cell → cell finding)
type BySignature = BTreeMap<Signature, (Finding, BTreeMap<String, CellFinding>)>;

/// Each index key's row number: the order cells are listed in.
fn cell_order(index: Option<&Index>) -> HashMap<String, usize> {
    index
        .map(|ix| {
            ix.rows
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect()
        })
        .unwrap_or_default()
}

/// The log's cell key, spelled as the index spells it when the index lists the cell.
fn cell_key(log: &ScannedLog, index: Option<&Index>) -> String {
    let (mut key, _) = crate::logs::key_of(log);
    if let Some(ix) = index {
        if let Some(row) = ix.find(&key) {
            key = ix.rows[row].0.clone();
        }
    }
    key
}

/// Counts one signature's reports in one log under its finding and the log's cell.
fn add_report(
    by_sig: &mut BySignature,
    key: &str,
    log: &ScannedLog,
    signature: Signature,
    seen: InLog,
) {
    let example = Example {
        log: log.name.clone(),
        line: seen.start,
        end: seen.end,
    };
    let (finding, cells) = by_sig
        .entry(signature.clone())
        .or_insert_with(|| (new_finding(&signature, &seen, &example), BTreeMap::new()));
    finding.reports += seen.reports;
    finding.tests.extend(seen.tests.iter().cloned());
    finding.legacy.extend(seen.legacy.iter().cloned());
    finding.truncated += seen.truncated;
    finding.quoted += seen.quoted;
    finding.interleaved += seen.interleaved;
    finding.top_sites.extend(seen.top_sites.iter().cloned());
    let cell = cells.entry(key.to_owned()).or_insert_with(|| CellFinding {
        cell: key.to_owned(),
        reports: 0,
        stages: Vec::new(),
        tests: BTreeSet::new(),
        example,
    });
    cell.reports += seen.reports;
    cell.tests.extend(seen.tests);
    if let Some(stage) = seen.stage {
        add_stage(cell, stage);
    }
}

/// A finding as its first report shows it, before any report is counted.
fn new_finding(signature: &Signature, seen: &InLog, example: &Example) -> Finding {
    Finding {
        id: signature.id(),
        signature: signature.clone(),
        frames: seen.frames.clone(),
        access: seen.access.clone(),
        reports: 0,
        cells: Vec::new(),
        shared: Vec::new(),
        versions: Vec::new(),
        tests: BTreeSet::new(),
        example: example.clone(),
        family: signature.family(),
        family_shared: Vec::new(),
        legacy: BTreeSet::new(),
        truncated: 0,
        quoted: 0,
        interleaved: 0,
        top_sites: BTreeSet::new(),
    }
}

/// Each finding's `family_shared`: the varying columns whose value all the cells of its family
/// share. A caller renamed between versions splits a defect into two signatures, each "only"
/// on its version; the family's cells say what is really shared.
fn share_by_family(
    findings: &mut [Finding],
    varying: &[usize],
    index_columns: &[String],
    cell_values: &HashMap<String, Vec<String>>,
) {
    let mut cells_of: HashMap<String, Vec<CellFinding>> = HashMap::new();
    for f in findings.iter() {
        cells_of
            .entry(f.family.clone())
            .or_default()
            .extend(f.cells.iter().cloned());
    }
    for f in findings.iter_mut() {
        f.family_shared = shared_values(&cells_of[&f.family], varying, index_columns, cell_values);
    }
}

/// Notes `stage` among the cell's stages, kept in stage order.
fn add_stage(cell: &mut CellFinding, stage: Stage) {
    let name = stage.name().to_owned();
    if !cell.stages.contains(&name) {
        cell.stages.push(name);
        cell.stages
            .sort_by_key(|s| Stage::ALL.iter().position(|x| x.name() == s.as_str()));
    }
}

/// Columns with more than one value in the run: a value shared by all of a signature's
/// cells says something only there.
fn varying_columns(
    index_columns: &[String],
    cell_values: &HashMap<String, Vec<String>>,
) -> Vec<usize> {
    (0..index_columns.len())
        .filter(|&c| {
            let values: BTreeSet<&String> = cell_values.values().filter_map(|v| v.get(c)).collect();
            values.len() > 1
        })
        .collect()
}

/// A finding's cells in the index's order, then (cells the index does not list) by key.
fn cells_in_order(
    cells: BTreeMap<String, CellFinding>,
    cell_order: &HashMap<String, usize>,
) -> Vec<CellFinding> {
    let mut cells: Vec<CellFinding> = cells.into_values().collect();
    cells.sort_by(|a, b| {
        let rank = |c: &CellFinding| cell_order.get(&c.cell).copied().unwrap_or(usize::MAX);
        rank(a).cmp(&rank(b)).then_with(|| a.cell.cmp(&b.cell))
    });
    cells
}

/// The index columns that may hold a cell's CPython version: the built-in definition's axis
/// (every index `render`, `run` and `fetch` write), then the original experiment's.
pub const VERSION_COLUMNS: [&str; 2] = ["python", "PythonVersion"];

/// The distinct values of `cells` in the index's first of [`VERSION_COLUMNS`], oldest first
/// (a value that is no version sorts after the versions, by text).
fn versions_of(
    cells: &[CellFinding],
    index_columns: &[String],
    cell_values: &HashMap<String, Vec<String>>,
) -> Vec<String> {
    let column = VERSION_COLUMNS
        .iter()
        .find_map(|name| index_columns.iter().position(|c| c == name));
    let Some(column) = column else {
        return Vec::new();
    };
    let values: BTreeSet<&String> = (cells.iter())
        .filter_map(|cell| cell_values.get(&cell.cell)?.get(column))
        .filter(|v| !v.is_empty())
        .collect();
    let mut versions: Vec<(Option<crate::version::Version>, &String)> =
        values.into_iter().map(|v| (v.parse().ok(), v)).collect();
    versions.sort_by(|(a, x), (b, y)| match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => x.cmp(y),
    });
    versions.into_iter().map(|(_, v)| v.clone()).collect()
}

/// The varying columns whose value all of `cells` share, with that value.
fn shared_values(
    cells: &[CellFinding],
    varying: &[usize],
    index_columns: &[String],
    cell_values: &HashMap<String, Vec<String>>,
) -> Vec<(String, String)> {
    varying
        .iter()
        .filter_map(|&c| {
            let mut values = cells
                .iter()
                .map(|cell| cell_values.get(&cell.cell).and_then(|v| v.get(c)));
            let first = values.next()??;
            values
                .all(|v| v == Some(first))
                .then(|| (index_columns[c].clone(), first.clone()))
        })
        .collect()
}

impl Findings {
    /// Each cell's finding ids, by cell key (the index's key when the index lists the cell).
    pub fn per_cell(&self) -> HashMap<String, BTreeSet<String>> {
        let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
        for finding in &self.findings {
            for cell in &finding.cells {
                out.entry(cell.cell.clone())
                    .or_default()
                    .insert(finding.id.clone());
            }
        }
        out
    }

    /// The finding whose id is `id` or starts with it (at least 4 digits, unambiguous); else
    /// an [`UnknownId`].
    pub fn by_id(&self, id: &str) -> Result<&Finding> {
        let id = id.to_ascii_lowercase();
        let unknown = |reason: String| UnknownId {
            id: id.clone(),
            reason,
        };
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let reason = "an id is 4 to 8 hex digits, as the id column prints it";
            return Err(unknown(reason.into()).into());
        }
        let matching: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.id.starts_with(&id))
            .collect();
        let reason = match matching.as_slice() {
            [one] => return Ok(one),
            [] => format!(
                "no finding has this id (the run has {} distinct findings)",
                self.findings.len()
            ),
            many => format!(
                "{} findings start with this id ({}); give more digits",
                many.len(),
                many.iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Err(unknown(reason).into())
    }
}

/// An id that names no one finding: which, and why. The caller names where it came from (the
/// command line adds its flag).
#[derive(Debug, thiserror::Error)]
#[error("finding id {id}: {reason}")]
pub struct UnknownId {
    /// As given, in lower case.
    pub id: String,
    pub reason: String,
}

/// The lines `example.line..=example.end` of the example's log under `dir`, as they are.
pub fn report_text(dir: &Path, example: &Example) -> Result<String> {
    let walk = artifacts::walk(dir, |_| true)?;
    report_text_in(dir, &walk.files, example)
}

/// [`report_text`] of each example, the directory walked once (a page shows many): each text,
/// or why it could not be read.
pub fn report_texts(dir: &Path, examples: &[&Example]) -> Result<Vec<Result<String>>> {
    let walk = artifacts::walk(dir, |_| true)?;
    Ok((examples.iter())
        .map(|example| report_text_in(dir, &walk.files, example))
        .collect())
}

fn report_text_in(
    dir: &Path,
    files: &[artifacts::ArtifactFile],
    example: &Example,
) -> Result<String> {
    let (file_rel, member) = match example.log.split_once('!') {
        Some((f, m)) => (f, Some(m)),
        None => (example.log.as_str(), None),
    };
    let Some(file) = files.iter().find(|f| f.rel == file_rel) else {
        bail!("{}: the log is gone from {}", example.log, dir.display());
    };
    let mut text = String::new();
    let mut found = false;
    let want = |m: &str| Some(m) == member;
    let read = artifacts::read_members(file, &want, &mut |_, reader| {
        found = true;
        let mut lines = std::io::BufReader::new(reader);
        let mut line = Vec::new();
        let mut n = 0u64;
        // Each line is read up to the length the scan saw of it: a line of gigabytes before
        // or inside the report costs no more memory than a short one.
        while let Ok(len @ 1..) = read_line_capped(&mut lines, &mut line, MAX_LINE) {
            n += 1;
            if n > example.end {
                break;
            }
            if n >= example.line {
                // As the report was read (NULs dropped), and shown as what it is: a log's
                // escape sequences are written out, not sent to the terminal.
                let body = line.strip_suffix(b"\n").unwrap_or(&line);
                let body: Vec<u8> = body.iter().copied().filter(|&b| b != 0).collect();
                text.push_str(&crate::table::visible(&String::from_utf8_lossy(&body)));
                // What of the line was not kept (its newline is in both or neither).
                let cut = len - line.len() as u64;
                if cut > 0 {
                    text.push_str(&format!(" [… {cut} more bytes of this line not shown]"));
                }
                text.push('\n');
            }
        }
    });
    if let Some(failure) = read.failures.first() {
        bail!("{}: {failure}", example.log);
    }
    if !found {
        bail!("{}: the log is gone from {}", example.log, dir.display());
    }
    Ok(text)
}
