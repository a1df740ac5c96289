//! `matrix report`: the logs the core read ([`crate::logs`]) as one classified result per cell
//! (`<Stage>. <Outcome>`, `Unknown`, `Missing`), joined with the CSV index, with a summary and
//! pivots. Submodules: [`filter`] (results as users name them), [`flaky`], [`reasons`] (failed cells grouped by cause, failing tests),
//! [`insights`], [`diff`], [`output`] (CSV, JSON, table), [`chart`] (SVG chart), [`heatmap`]
//! (results per axis values), [`page`] (HTML and AsciiDoc pages).

pub mod chart;
pub mod diff;
pub mod filter;
pub mod flaky;
pub mod heatmap;
pub mod insights;
pub mod output;
pub mod page;
pub mod reasons;

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::logs::compact::Rare;
#[cfg(test)]
use crate::logs::key_of;
pub use crate::logs::{CanaryResult, CanaryRun, Classification, Evidence, Outcome, Stage, Verdict};
use crate::logs::{CompactLog, Index, Live, ScannedLog, Sparse};

/// The `blind` column: whether a cell's sanitizer missed one of its canaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Blind {
    /// It missed one: a clean result there does not mean no bug of that class.
    Yes,
    /// It saw every canary.
    No,
    /// A canary failed to run and none was missed.
    Unknown,
}

impl Blind {
    pub fn name(self) -> &'static str {
        match self {
            Blind::Yes => "yes",
            Blind::No => "no",
            Blind::Unknown => "unknown",
        }
    }
}

/// A cell's result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CellResult {
    Result(Stage, Outcome),
    /// A log of our scripts that started a stage (the one it is in, when markers name one) and
    /// has no finish marker yet, modified within the deadline: the cell is still running.
    Running(Option<Stage>),
    Unknown(String),
    Missing,
}

impl CellResult {
    /// `Tests. Failed`, `Unknown`, `Missing`.
    pub fn label(&self) -> String {
        match self {
            CellResult::Result(stage, outcome) => format!("{stage}. {outcome}"),
            CellResult::Running(_) => "Running".into(),
            CellResult::Unknown(_) => "Unknown".into(),
            CellResult::Missing => "Missing".into(),
        }
    }

    /// Sort rank: stages in order, outcomes in order, then Running, Unknown, Missing.
    pub fn rank(&self) -> (usize, usize) {
        match self {
            CellResult::Result(stage, outcome) => (*stage as usize, *outcome as usize),
            CellResult::Running(_) => (9, 0),
            CellResult::Unknown(_) => (10, 0),
            CellResult::Missing => (11, 0),
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct CellReport {
    pub key: String,
    /// The index row's values (in [`Report::index_columns`] order), empty without an index.
    /// A boxed slice, a log's name a boxed `str` and the rest behind one pointer, as a
    /// million pods' cells are all held at once (248 → 128 bytes a cell).
    pub index_values: Box<[String]>,
    pub result: CellResult,
    pub attempts: usize,
    /// The deciding (last) attempt's log, relative to LOGDIR.
    pub log: Option<Box<str>>,
    pub evidence: Option<Evidence>,
    /// Its cause, canaries, flakiness and facts: empty in nearly every cell, so one pointer.
    pub more: Sparse<More>,
}

/// What a cell has besides its result, empty in nearly every cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct More {
    /// Why it did not pass, and the tests regrtest lists as failed (the deciding attempt's).
    pub why: Sparse<crate::logs::cause::Why>,
    /// The canaries the deciding attempt ran: what its sanitizer could see.
    pub canaries: Vec<CanaryRun>,
    /// Why a pass is not a plain pass (or which tests were flaky in a failing cell).
    pub flaky: Option<flaky::Flaky>,
    /// The deciding attempt's stage durations and script facts.
    pub facts: Sparse<crate::logs::Facts>,
}

impl crate::logs::sparse::Empty for More {
    fn empty() -> &'static Self {
        static EMPTY: More = More {
            why: Sparse::EMPTY,
            canaries: Vec::new(),
            flaky: None,
            facts: Sparse::EMPTY,
        };
        &EMPTY
    }
}

impl CellReport {
    /// A cell of the index without a log.
    pub fn missing(key: String, index_values: Box<[String]>) -> CellReport {
        CellReport {
            key,
            index_values,
            result: CellResult::Missing,
            attempts: 0,
            log: None,
            evidence: None,
            more: Default::default(),
        }
    }

    /// The stage of the result, or the one a running cell is in.
    pub fn stage(&self) -> Option<Stage> {
        match self.result {
            CellResult::Result(stage, _) => Some(stage),
            CellResult::Running(stage) => stage,
            _ => None,
        }
    }

    pub fn outcome(&self) -> Option<Outcome> {
        match self.result {
            CellResult::Result(_, outcome) => Some(outcome),
            _ => None,
        }
    }

    /// The evidence column: the deciding line, or why there is no result.
    pub fn evidence_text(&self) -> String {
        match (&self.result, &self.evidence) {
            (CellResult::Unknown(reason), Some(ev)) => format!("{reason} (last line: {})", ev.text),
            (CellResult::Unknown(reason), None) => reason.clone(),
            (CellResult::Missing, Some(ev)) => format!("no log for this cell: {}", ev.text),
            (CellResult::Missing, _) => "no log for this cell".into(),
            (CellResult::Running(_), Some(ev)) => format!("still running (last line: {})", ev.text),
            (CellResult::Running(_), None) => "still running".into(),
            (_, Some(ev)) => ev.text.clone(),
            (_, None) => String::new(),
        }
    }
}

impl CellReport {
    /// The canaries column: `name:seen|missed|error` terms, empty when the cell ran none.
    pub fn canaries_text(&self) -> String {
        self.more
            .canaries
            .iter()
            .map(|c| format!("{}:{}", c.name, c.result.name()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether the cell's sanitizer missed a canary, so a clean result there does not mean
    /// clean; `None` when it ran no canary.
    pub fn blind(&self) -> Option<Blind> {
        let has = |r| self.more.canaries.iter().any(|c| c.result == r);
        match () {
            _ if self.more.canaries.is_empty() => None,
            _ if has(CanaryResult::Missed) => Some(Blind::Yes),
            _ if has(CanaryResult::Error) => Some(Blind::Unknown),
            _ => Some(Blind::No),
        }
    }

    /// The canaries the cell's sanitizer missed.
    pub fn missed_canaries(&self) -> impl Iterator<Item = &str> {
        self.more
            .canaries
            .iter()
            .filter(|c| c.result == CanaryResult::Missed)
            .map(|c| c.name.as_str())
    }

    /// The result as a person reads it: a pass that was not a plain pass says so.
    pub fn shown_result(&self) -> String {
        let label = self.result.label();
        match &self.more.flaky {
            Some(f) if self.outcome() == Some(Outcome::Passed) && f.passed_late() => {
                format!("{label} (flaky)")
            }
            _ => label,
        }
    }

    /// The cause column: the short reason it did not pass, empty when none was found.
    pub fn cause_text(&self) -> &str {
        self.more.why.cause.as_ref().map_or("", |c| c.text.as_str())
    }

    /// The cause's raw line with where it is: `log:line: text`.
    pub fn cause_evidence(&self) -> Option<String> {
        let cause = self.more.why.cause.as_ref()?;
        Some(format!(
            "{}:{}: {}",
            self.log.as_deref().unwrap_or(""),
            cause.evidence.line,
            cause.evidence.text
        ))
    }
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// The index's columns other than its key column.
    pub index_columns: Vec<String>,
    pub cells: Vec<CellReport>,
    /// Logs read and their total (uncompressed) size.
    pub logs: usize,
    pub bytes: u64,
}

/// `count` of `total` in percent, rounded to one decimal the same way everywhere.
pub fn percent(count: usize, total: usize) -> f64 {
    (count as f64 * 1000.0 / total.max(1) as f64).round() / 10.0
}

/// A count per result, in result order.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    pub result: String,
    pub count: usize,
    pub percent: f64,
}

/// How the report names an index column: as the index does, unless that is a name of the
/// report's own columns (`cause`, `log`, …), which would make two columns one for a reader of
/// the CSV: then `index_` and the index's name (`index_cause`).
pub fn index_column_name(column: &str) -> String {
    if output::is_own_column(column) {
        format!("index_{column}")
    } else {
        column.to_owned()
    }
}

/// Counts of results per combination of some index columns.
#[derive(Debug, Clone, Serialize)]
pub struct Pivot {
    pub by: Vec<String>,
    pub results: Vec<String>,
    pub rows: Vec<PivotRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PivotRow {
    pub values: Vec<String>,
    pub counts: Vec<usize>,
    pub total: usize,
}

/// Counts of results, a cell at a time: the rows of [`Report::summary`].
#[derive(Debug, Default)]
pub struct Tally {
    /// Per result's rank: the label of its first cell, and how many cells.
    counts: BTreeMap<(usize, usize), (String, usize)>,
    total: usize,
}

impl Tally {
    pub fn add(&mut self, result: &CellResult) {
        (self.counts.entry(result.rank()))
            .or_insert_with(|| (result.label(), 0))
            .1 += 1;
        self.total += 1;
    }

    pub fn rows(&self) -> Vec<SummaryRow> {
        (self.counts.values())
            .map(|(result, count)| SummaryRow {
                result: result.clone(),
                count: *count,
                percent: percent(*count, self.total),
            })
            .collect()
    }
}

impl Report {
    pub fn summary(&self) -> Vec<SummaryRow> {
        let mut tally = Tally::default();
        for cell in &self.cells {
            tally.add(&cell.result);
        }
        tally.rows()
    }

    /// Counts per combination of the `by` index columns.
    pub fn pivot(&self, by: &[String]) -> Result<Pivot> {
        let mut columns = Vec::with_capacity(by.len());
        for name in by {
            match self.index_columns.iter().position(|c| c == name) {
                Some(i) => columns.push(i),
                None if self.index_columns.is_empty() => {
                    bail!("a pivot by {name} needs an index: the axes come from the index")
                }
                None => bail!(
                    "a pivot by {name}: the index has no column {name:?}; it has: {}",
                    self.index_columns.join(", ")
                ),
            }
        }
        let results: Vec<(usize, usize)> = {
            let mut r: Vec<_> = self.cells.iter().map(|c| c.result.rank()).collect();
            r.sort();
            r.dedup();
            r
        };
        let labels: HashMap<(usize, usize), String> = self
            .cells
            .iter()
            .map(|c| (c.result.rank(), c.result.label()))
            .collect();
        let mut rows: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
        for cell in &self.cells {
            let values = columns
                .iter()
                .map(|&i| cell.index_values.get(i).cloned().unwrap_or_default())
                .collect();
            let counts = rows.entry(values).or_insert_with(|| vec![0; results.len()]);
            let at = results
                .binary_search(&cell.result.rank())
                .expect("rank listed");
            counts[at] += 1;
        }
        Ok(Pivot {
            by: by.to_vec(),
            results: results.iter().map(|r| labels[r].clone()).collect(),
            rows: rows
                .into_iter()
                .map(|(values, counts)| PivotRow {
                    total: counts.iter().sum(),
                    values,
                    counts,
                })
                .collect(),
        })
    }
}

/// How a cell's pod ended, as the cluster saw it (`matrix fetch`'s record): what the log of a
/// pod killed from outside cannot say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodEnd {
    /// Why the cell has no log, when it has none.
    pub absent: Option<String>,
    /// The node's message when the pod was OOM-killed (`OOMKilled (exit code 137)`).
    pub oom_killed: Option<String>,
}

impl Report {
    /// Joins what the pods' ends say: a `Missing` cell's evidence is why it has no log, and a
    /// log that stops inside a stage (read as killed at the deadline) is of an OOM-killed pod
    /// when its node says so.
    pub fn apply_pod_ends(&mut self, ends: &BTreeMap<String, PodEnd>) {
        for cell in &mut self.cells {
            let Some(end) = ends.get(&cell.key) else {
                continue;
            };
            match (&cell.result, end) {
                (
                    CellResult::Missing,
                    PodEnd {
                        absent: Some(reason),
                        ..
                    },
                ) => {
                    cell.evidence = Some(Evidence {
                        line: 0,
                        text: reason.clone(),
                    });
                }
                (
                    CellResult::Result(stage, Outcome::Timeout),
                    PodEnd {
                        oom_killed: Some(message),
                        ..
                    },
                ) => {
                    cell.result = CellResult::Result(*stage, Outcome::Oom);
                    let line = cell.evidence.as_ref().map_or(0, |e| e.line);
                    cell.evidence = Some(Evidence {
                        line,
                        text: format!("the pod was {message}"),
                    });
                }
                _ => {}
            }
        }
    }
}

/// [`build_compact`] of whole logs (`run`'s few, read one at a time).
pub fn build(scanned: Vec<ScannedLog>, index: Option<&Index>, live: Option<Live>) -> Report {
    let logs = (scanned.into_iter())
        .map(|log| CompactLog::new(log, live))
        .collect();
    build_compact(logs, index)
}

/// Groups logs by cell, lets the last attempt decide, and joins the index. A log kept as
/// running (an unfinished log written to within the deadline) is [`CellResult::Running`].
///
/// The logs are put in cell and attempt order in place, and the cells made from the last
/// one back, the list of logs shrinking as the list of cells grows: no map of groups or of
/// cells beside them, no copy of a key, and never every log and every cell at once (at a
/// million pods, each copy of every log or cell is hundreds of megabytes).
pub fn build_compact(mut logs: Vec<CompactLog>, index: Option<&Index>) -> Report {
    let bytes = logs.iter().map(|l| l.bytes).sum();
    let count = logs.len();
    in_attempt_order(&mut logs, index);
    // As many as there are cells: a list grown by doubling holds room for up to twice them.
    let mut cells = Vec::with_capacity(logs.chunk_by(|a, b| a.key == b.key).count());
    while let Some(last) = logs.pop() {
        let mut earlier = Vec::new();
        while logs.last().is_some_and(|log| log.key == last.key) {
            earlier.extend(logs.pop());
        }
        earlier.reverse();
        cells.push(cell_of(last, &earlier));
        // The memory of the logs taken goes back as the cells take theirs.
        if logs.capacity() > logs.len() + logs.len() / 4 + 64 {
            logs.shrink_to_fit();
        }
    }
    cells.reverse();
    let index_columns = match index {
        Some(index) => {
            join_index(&mut cells, index);
            index.columns.iter().map(|c| index_column_name(c)).collect()
        }
        None => Vec::new(),
    };
    Report {
        index_columns,
        cells,
        logs: count,
        bytes,
    }
}

/// Puts `logs` in cell order (by key, spelled as the index spells it when it lists the cell),
/// each cell's attempts in order, in place: numbered attempts first, in their order; a log
/// without a number (a cell's current log beside its kept attempts) after them; then by start
/// time, name, and the order they were given in.
fn in_attempt_order(logs: &mut [CompactLog], index: Option<&Index>) {
    if let Some(index) = index {
        for log in logs.iter_mut() {
            if let Some(row) = index.find(&log.key) {
                let spelled = index.rows[row].0.as_str();
                if *log.key != *spelled {
                    log.key = spelled.into();
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..logs.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        let (x, y) = (&logs[a], &logs[b]);
        (x.key.cmp(&y.key))
            .then_with(|| x.attempt.cmp(&y.attempt))
            .then_with(|| x.started.cmp(&y.started))
            .then_with(|| x.name.cmp(&y.name))
            .then_with(|| a.cmp(&b))
    });
    // Where each log goes; each cycle of the permutation is followed once.
    let mut place = vec![0; order.len()];
    for (to, &at) in order.iter().enumerate() {
        place[at] = to;
    }
    drop(order);
    permute(logs, &mut place);
}

/// Moves the item at each `i` of `items` to `place[i]` (a permutation), in place.
fn permute<T>(items: &mut [T], place: &mut [usize]) {
    for at in 0..items.len() {
        while place[at] != at {
            let to = place[at];
            items.swap(at, to);
            place.swap(at, to);
        }
    }
}

/// The cell of the deciding log `last` and the `earlier` attempts, oldest first.
fn cell_of(mut last: CompactLog, earlier: &[CompactLog]) -> CellReport {
    let evidence = last.take_evidence();
    let Rare {
        unknown,
        mut why,
        canaries,
        facts,
    } = last.rare.into_inner();
    let result = match (last.result, last.running) {
        (Some((stage, _)), true) => CellResult::Running(Some(stage)),
        (None, true) => CellResult::Running(None),
        (Some((stage, outcome)), false) => CellResult::Result(stage, outcome),
        (None, false) => CellResult::Unknown(unknown),
    };
    if last.running && why.cause.is_some() {
        // A cell that has not ended has no cause yet.
        why.cause = None;
    }
    let flaky = flaky::Flaky::of(earlier.iter().map(|log| log.result), &why, &result);
    CellReport {
        key: last.key.into_string(),
        index_values: Box::default(),
        result,
        attempts: earlier.len() + 1,
        log: Some(last.name),
        evidence,
        more: Sparse::new(More {
            why,
            canaries,
            flaky,
            facts,
        }),
    }
}

/// Puts `cells` (in key order) in the index's order, with a `Missing` cell for each row
/// without logs, then the cells the index does not list in key order; each listed cell gets
/// its row's values. Moved in place: a second list of the cells would double their memory.
fn join_index(cells: &mut Vec<CellReport>, index: &Index) {
    let listed = cells.len();
    // Where each cell goes; cells the index does not list after the rows, in key order.
    let mut place: Vec<usize> = vec![usize::MAX; listed];
    for (row, (key, values)) in index.rows.iter().enumerate() {
        match cells[..listed].binary_search_by(|c| c.key.as_str().cmp(key)) {
            Ok(at) => {
                cells[at].index_values = values.as_slice().into();
                place[at] = row;
            }
            Err(_) => {
                cells.push(CellReport::missing(key.clone(), values.as_slice().into()));
                place.push(row);
            }
        }
    }
    let width = index.columns.len();
    let mut next = index.rows.len();
    for (at, cell) in cells[..listed].iter_mut().enumerate() {
        if place[at] == usize::MAX {
            cell.index_values = vec![String::new(); width].into();
            place[at] = next;
            next += 1;
        }
    }
    permute(cells, &mut place);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn log(name: &str, parent: Option<&str>, cell: Option<&str>) -> ScannedLog {
        let mut c = Classification::unknown("x");
        c.cell = cell.map(str::to_owned);
        ScannedLog {
            name: name.into(),
            log_name: name.rsplit('/').next().unwrap().into(),
            parent: parent.map(str::to_owned),
            bytes: 1,
            classification: c,
            why: Default::default(),
            modified: None,
            reports: Default::default(),
        }
    }

    #[test]
    fn keys_from_names() {
        assert_eq!(
            key_of(&log("build_004-2.sh.txt", None, None)),
            ("build_004.sh".into(), Some(2))
        );
        assert_eq!(
            key_of(&log("wf/pod-1/main.log", Some("pod-1"), None)),
            ("pod-1".into(), None)
        );
        assert_eq!(
            key_of(&log("wf/pod-1/main.log", Some("pod-1"), Some("amd64-x"))),
            ("amd64-x".into(), None)
        );
        assert_eq!(
            key_of(&log("amd64-x.log", None, None)),
            ("amd64-x".into(), None)
        );
    }

    #[test]
    fn last_attempt_decides_and_index_adds_missing() {
        let mut a = log("build_001-1.sh.txt", None, None);
        a.classification.verdict = Verdict::Result {
            stage: Stage::Tests,
            outcome: Outcome::Timeout,
        };
        let mut b = log("build_001-2.sh.txt", None, None);
        b.classification.verdict = Verdict::Result {
            stage: Stage::Tests,
            outcome: Outcome::Oom,
        };
        let index = Index::from_reader(
            "compiler,script_name\ngcc,build_001.sh\nclang,build_002.sh\n".as_bytes(),
            "t",
        )
        .unwrap();
        let r = build(vec![b, a], Some(&index), None);
        assert_eq!(r.index_columns, ["compiler"]);
        assert_eq!(r.cells[0].result.label(), "Tests. OOM");
        assert_eq!(r.cells[0].attempts, 2);
        assert_eq!(r.cells[1].result, CellResult::Missing);
        let p = r.pivot(&["compiler".into()]).unwrap();
        assert_eq!(p.results, ["Tests. OOM", "Missing"]);
        assert!(r
            .pivot(&["nope".into()])
            .unwrap_err()
            .to_string()
            .contains("compiler"));
    }

    #[test]
    fn cells_come_in_index_order_then_unlisted_by_key_whatever_order_the_logs_come_in() {
        let names = [
            "e.log",
            "b.log",
            "x-2.sh.txt",
            "a.log",
            "x-1.sh.txt",
            "d.log",
        ];
        let logs = names.iter().map(|n| log(n, None, None)).collect();
        let index = Index::from_reader(
            "script_name,n\nd,1\nmissing,2\nx.sh,3\nb,4\n".as_bytes(),
            "t",
        )
        .unwrap();
        let r = build(logs, Some(&index), None);
        let cells: Vec<(&str, &str, usize, Option<&str>)> = (r.cells.iter())
            .map(|c| {
                let n = c.index_values[0].as_str();
                (c.key.as_str(), n, c.attempts, c.log.as_deref())
            })
            .collect();
        assert_eq!(
            cells,
            [
                ("d", "1", 1, Some("d.log")),
                ("missing", "2", 0, None),
                ("x.sh", "3", 2, Some("x-2.sh.txt")),
                ("b", "4", 1, Some("b.log")),
                ("a", "", 1, Some("a.log")),
                ("e", "", 1, Some("e.log")),
            ]
        );
        assert_eq!(r.logs, 6);
        // A million pods' cells are all held at once.
        assert!(std::mem::size_of::<CellReport>() <= 128);
    }

    /// A marker log, stopped in `compile`, with a finish marker or not.
    fn marker_log(finished: bool, modified: SystemTime) -> ScannedLog {
        const M: &str = "::matrix::";
        let mut text = format!(
            "{M} event=stage-start stage=configure time=t\n{M} event=stage-end stage=configure \
             status=0 time=t\n{M} event=stage-start stage=compile time=t\ngcc -c x.c\n"
        );
        if finished {
            text.push_str(&format!(
                "{M} event=stage-end stage=compile status=2 time=t\n\
                 {M} event=finish cell=c1 stage=compile status=2 time=t\n"
            ));
        }
        let (bytes, classification, why) = crate::logs::cause::scan(text.as_bytes());
        ScannedLog {
            name: "c1.log".into(),
            log_name: "c1.log".into(),
            parent: None,
            bytes,
            classification,
            why: why.into(),
            modified: Some(modified),
            reports: Default::default(),
        }
    }

    #[test]
    fn an_unfinished_log_within_the_deadline_is_running() {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let live = Some(Live {
            deadline: 4 * hour,
            now,
        });
        let result = |log| build(vec![log], None, live).cells[0].result.clone();
        assert_eq!(
            result(marker_log(false, now - hour)),
            CellResult::Running(Some(Stage::Compilation))
        );
        assert_eq!(
            build(vec![marker_log(false, now - hour)], None, live).cells[0]
                .more
                .why
                .cause,
            None
        );
        // Older than the deadline: the pod was killed; finished: a result, however recent.
        assert_eq!(
            result(marker_log(false, now - 5 * hour)).label(),
            "Compilation. Timeout"
        );
        assert_eq!(result(marker_log(true, now)).label(), "Compilation. Failed");
        // A clock a little behind the file's time (another machine's mtime) is no age at all;
        // a time far in the future is none: not running forever.
        let skew = crate::logs::CLOCK_SKEW;
        assert!(marker_log(false, now + skew).is_running(4 * hour, now));
        assert!(!marker_log(false, now + skew + hour).is_running(4 * hour, now));
        assert!(!marker_log(false, now + 100 * 365 * 24 * hour).is_running(4 * hour, now));
        // Without `live` (finished runs) nothing is Running.
        assert_eq!(
            build(vec![marker_log(false, now)], None, None).cells[0]
                .result
                .label(),
            "Compilation. Timeout"
        );
    }

    #[test]
    fn index_errors_name_the_problem() {
        let err = Index::from_reader("a,b\n1,2\n".as_bytes(), "t.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("script_name") && err.contains("a, b"), "{err}");
        let err = Index::from_reader("id,x\nc,1\nc,2\n".as_bytes(), "t.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3") && err.contains("twice"), "{err}");
    }
}
