//! Self-contained report pages (HTML or AsciiDoc): headline counts, insights, reasons, the results heat
//! map and chart, the findings, then the cells with result and evidence first, rendered from the
//! [`crate::templates`] registry (HTML auto-escaped; AsciiDoc through its `cell`/`lit` filters).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use minijinja::{context, Value};
use serde::Serialize;

use super::heatmap::{self, HeatMap};
use super::insights::Insight;
use super::{chart, CellResult, Pivot, Report, Stage};
use crate::finding::Finding;
use crate::table::clip_chars;
use crate::templates::{Templates, ADOC_REPORT_TEMPLATE, HTML_REPORT_TEMPLATE};

/// Which page to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Html,
    AsciiDoc,
}

/// Everything a page shows. Optional parts are left out of the page when absent.
pub struct Page<'a> {
    pub title: &'a str,
    pub report: &'a Report,
    /// The `--by` axes: the heat map's rows (all but the last) and columns (the last).
    pub by: &'a [String],
    pub pivot: Option<&'a Pivot>,
    pub insights: &'a [Insight],
    /// The sanitizer findings of the logs (`matrix findings`), when they were read.
    pub findings: Option<&'a [Finding]>,
    /// The SARIF findings of `--sarif DIR`.
    pub sarif: Option<&'a [StaticFinding]>,
    /// Each sanitizer finding's status against a known-findings catalog (`new`, `regressed`,
    /// `known`, `ignored`), when one was given: new and regressed ones come first, the others
    /// are folded away.
    pub statuses: Option<&'a BTreeMap<String, &'static str>>,
    /// What the run says of itself (`run.json`): labelled facts for the headline, in order
    /// (`started`, `host`, …); empty when the logs are not a run directory's.
    pub about: &'a [(&'static str, String)],
    /// Each finding's report text as its example log has it, by id (the first
    /// [`REPORT_TEXTS`] findings; the others say how to print theirs).
    pub report_texts: &'a BTreeMap<String, String>,
    /// The logs' directory as a relative link from the page's own (`../logs/`), when known.
    pub log_base: Option<String>,
}

/// How many findings a page shows the report text of: each costs a read of its log.
pub const REPORT_TEXTS: usize = 60;

/// The most lines of a report a page shows; `matrix findings show` prints it whole.
const REPORT_LINES: usize = 60;

/// A static analyzer's finding as the page lists it: the shared shape (its id is the same in
/// every version; its `versions` those that have it) and the functions its location is in.
#[derive(Debug, Clone)]
pub struct StaticFinding {
    pub finding: Finding,
    pub functions: Vec<String>,
}

/// The longest evidence a page shows of a line; the log link has the rest.
const EVIDENCE_CHARS: usize = 400;

/// How many of a cell's failed tests its row names; CSV and JSON have them all.
const TESTS_SHOWN: usize = 8;

#[derive(Serialize)]
struct PageAxis<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct PageCell<'a> {
    key: &'a str,
    /// The axis values that vary across the run (the others say nothing about this cell).
    axes: Vec<PageAxis<'a>>,
    /// A legacy index's own `Result` (a person's), shown beside ours.
    label: Option<&'a str>,
    result: String,
    class: &'static str,
    colour: String,
    dark_text: bool,
    attempts: usize,
    log: &'a str,
    /// Marked safe: [`url_path`] leaves only characters HTML and AsciiDoc take as they are,
    /// and HTML's escaping would spell each `/` as `&#x2f;`.
    href: Option<Value>,
    line: Option<u64>,
    evidence: String,
    /// Why it failed (the cause's words), when a cause was found: the first thing read.
    cause: Option<String>,
    /// The tests regrtest's last summary lists as failed, the first [`TESTS_SHOWN`].
    failed_tests: Vec<&'a str>,
    /// How many more failed than are listed.
    more_tests: usize,
    findings: Vec<String>,
    /// The canaries its sanitizer missed: what a clean result there cannot mean.
    missed: Vec<&'a str>,
    /// Why it is flaky (an earlier attempt, regrtest's re-run), when it is.
    flaky: Option<String>,
    /// How long it took (`1h02m`), and each stage's seconds for the title.
    took: Option<String>,
    stages: String,
}

/// A canary some cells' sanitizers missed, for the section at the top of the page.
#[derive(Serialize)]
struct PageBlind<'a> {
    canary: &'a str,
    /// Cells that ran it and missed it, of those that ran it.
    missed: usize,
    ran: usize,
    /// The first few of them, then how many more.
    first_cells: Vec<&'a str>,
    more_cells: usize,
}

/// How many blind cells a page names per canary; the cells table marks every one.
const BLIND_CELLS_NAMED: usize = 6;

/// Per canary some cell missed (in the order the cells ran them): how many missed it.
fn blind_spots(report: &Report) -> Vec<PageBlind<'_>> {
    let mut out: Vec<PageBlind> = Vec::new();
    for cell in &report.cells {
        for run in &cell.more.canaries {
            let at = match out.iter().position(|b| b.canary == run.name) {
                Some(at) => at,
                None => {
                    out.push(PageBlind {
                        canary: &run.name,
                        missed: 0,
                        ran: 0,
                        first_cells: Vec::new(),
                        more_cells: 0,
                    });
                    out.len() - 1
                }
            };
            let blind = &mut out[at];
            blind.ran += 1;
            if run.result == super::CanaryResult::Missed {
                blind.missed += 1;
                if blind.first_cells.len() < BLIND_CELLS_NAMED {
                    blind.first_cells.push(&cell.key);
                } else {
                    blind.more_cells += 1;
                }
            }
        }
    }
    out.retain(|b| b.missed > 0);
    out
}

/// One reason of [`super::reasons`], as the page shows it (right after the insights).
#[derive(Serialize)]
struct PageReason {
    reason: String,
    /// The sanitizer finding behind the reason, linked to its row in the Findings section.
    finding: Option<String>,
    cells: usize,
    results: String,
    /// `axis=value axis=value`, as the AsciiDoc page prints it.
    shared: String,
    /// The same terms one by one, so the HTML page can let a narrow column break a term after
    /// its `=` rather than inside a word.
    shared_terms: Vec<PageTerm>,
    example: String,
    at: String,
}

#[derive(Serialize)]
struct PageTerm {
    axis: String,
    value: String,
}

#[derive(Serialize)]
struct PageInsight {
    condition: String,
    claim: String,
    results: String,
}

#[derive(Serialize)]
struct PageFinding<'a> {
    id: &'a str,
    tool: &'a str,
    kind: &'a str,
    message: &'a str,
    /// Innermost first, `function (file:line)` joined by ` < `.
    frames: String,
    location: String,
    reports: usize,
    cells: usize,
    /// The first few cells, then how many more.
    first_cells: Vec<&'a str>,
    more_cells: usize,
    /// Against the catalog, when one was given.
    status: Option<&'static str>,
    /// The versions it was seen in (`3.12.4, 3.13.0b4`): a report's cells' (empty without an
    /// index), a static finding's builds'; and a static finding's functions.
    versions: String,
    functions: String,
    /// The report as its example log has it (its first [`REPORT_LINES`] lines), when read.
    report: Option<String>,
}

#[derive(Serialize)]
struct Headline {
    cells: usize,
    passed: usize,
    reached_tests: usize,
    failed: usize,
    running: usize,
    unknown: usize,
    missing: usize,
    /// Cells whose sanitizer missed a canary.
    blind: usize,
    /// Flaky cells (most of them counted as passed too).
    flaky: usize,
}

fn headline(report: &Report) -> Headline {
    let mut h = Headline {
        cells: report.cells.len(),
        passed: 0,
        reached_tests: 0,
        failed: 0,
        running: 0,
        unknown: 0,
        missing: 0,
        blind: 0,
        flaky: 0,
    };
    for cell in &report.cells {
        h.blind += usize::from(cell.blind() == Some(super::Blind::Yes));
        h.flaky += usize::from(cell.more.flaky.is_some());
        match &cell.result {
            CellResult::Result(stage, outcome) => {
                if *outcome == super::Outcome::Passed {
                    h.passed += 1;
                } else {
                    h.failed += 1;
                }
                if *stage == Stage::Tests {
                    h.reached_tests += 1;
                }
            }
            CellResult::Running(_) => h.running += 1,
            CellResult::Unknown(_) => h.unknown += 1,
            CellResult::Missing => h.missing += 1,
        }
    }
    h
}

/// The sanitizer findings as the page lists them: with a catalog, the news (new, regressed)
/// first and the ones it knows (known, ignored) apart, to be folded.
fn split_known<'a>(page: &Page<'a>) -> (Option<Vec<PageFinding<'a>>>, Vec<PageFinding<'a>>) {
    let Some(found) = page.findings else {
        return (None, Vec::new());
    };
    let mut all: Vec<PageFinding> = (found.iter())
        .map(|f| PageFinding {
            report: page.report_texts.get(&f.id).map(|text| first_lines(text)),
            ..page_finding(f)
        })
        .collect();
    let Some(statuses) = page.statuses else {
        return (Some(all), Vec::new());
    };
    for finding in &mut all {
        finding.status = statuses.get(finding.id).copied();
    }
    let is_news = |f: &PageFinding| matches!(f.status, Some("new" | "regressed") | None);
    let (news, known) = all.into_iter().partition(is_news);
    (Some(news), known)
}

fn page_finding(f: &Finding) -> PageFinding<'_> {
    const SHOWN: usize = 4;
    PageFinding {
        id: &f.id,
        tool: &f.tool,
        kind: &f.kind,
        message: &f.message,
        // A race's two sites are no call chain: such a finding says how its frames read.
        frames: f.frames_text.clone().unwrap_or_else(|| {
            f.frames
                .iter()
                .map(|fr| match (fr.file.is_empty(), fr.line) {
                    (true, _) => fr.function.clone(),
                    (false, Some(line)) => format!("{} ({}:{line})", fr.function, fr.file),
                    (false, None) => format!("{} ({})", fr.function, fr.file),
                })
                .collect::<Vec<_>>()
                .join(" < ")
        }),
        location: f
            .location
            .as_ref()
            .map(|l| match l.line {
                Some(line) => format!("{}:{line}", l.file),
                None => l.file.clone(),
            })
            .unwrap_or_default(),
        reports: f.reports,
        cells: f.cells.len(),
        first_cells: f.cells.iter().take(SHOWN).map(String::as_str).collect(),
        more_cells: f.cells.len().saturating_sub(SHOWN),
        status: None,
        versions: f.versions.join(", "),
        functions: String::new(),
        report: None,
    }
}

/// A report's first [`REPORT_LINES`] lines, and how many more there are.
fn first_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines[..lines.len().min(REPORT_LINES)].join("\n");
    if lines.len() > REPORT_LINES {
        out.push_str(&format!("\n[… {} more lines]", lines.len() - REPORT_LINES));
    }
    out
}

/// The directory of a pod's files: `argo cp` puts each artifact in `<node>/outputs/<name>/`.
fn node_dir(dir: &str) -> &str {
    match dir.rsplit_once('/') {
        Some((head, _)) if head == "outputs" || head.ends_with("/outputs") => head
            .strip_suffix("outputs")
            .unwrap_or(head)
            .trim_end_matches('/'),
        _ => dir,
    }
}

/// Each cell's finding ids (sanitizer first, then SARIF), in the order the findings are listed.
/// A SARIF finding names its build: a cell's key, the key without `.sh`, or the directory of
/// the cell's log (Argo's `<workflow>/<pod>`).
fn findings_by_cell(page: &Page) -> BTreeMap<String, Vec<String>> {
    let mut by_cell: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in page
        .findings
        .unwrap_or_default()
        .iter()
        .chain(page.sarif.unwrap_or_default().iter().map(|s| &s.finding))
    {
        for cell in &f.cells {
            let ids = by_cell.entry(node_dir(cell).to_owned()).or_default();
            if !ids.contains(&f.id) {
                ids.push(f.id.clone());
            }
        }
    }
    by_cell
}

/// `text` as a URL path: every byte but unreserved characters and `/` percent-encoded, so the
/// link means the file whatever its name holds (`#`, `?`, `%`, spaces, `[`).
pub fn url_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The link from a page written to `page` to the directory `logdir`, as a URL path ending in
/// `/` (empty when they are one directory); `None` when either cannot be resolved.
pub fn log_base(page: &Path, logdir: &Path) -> Option<String> {
    let parent = match page.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let from = std::fs::canonicalize(parent).ok()?;
    let to = std::fs::canonicalize(logdir).ok()?;
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    let mut base = url_path(&parts.join("/"));
    if !base.is_empty() {
        base.push('/');
    }
    Some(base)
}

pub fn render(templates: &Templates, kind: Kind, page: &Page) -> Result<String> {
    let name = match kind {
        Kind::Html => HTML_REPORT_TEMPLATE,
        Kind::AsciiDoc => ADOC_REPORT_TEMPLATE,
    };
    let report = page.report;
    let svg = chart_markup(report, page.title)?;
    let refs: Vec<&super::CellReport> = report.cells.iter().collect();
    let rows = CellRows {
        columns: &report.index_columns,
        axes: super::insights::axis_columns(&report.index_columns, &refs),
        label: report.index_columns.iter().position(|c| c == "label"),
        by_cell: findings_by_cell(page),
        log_base: page.log_base.as_deref(),
    };
    let cells: Vec<PageCell> = report.cells.iter().map(|c| rows.cell(c)).collect();
    let insights: Vec<PageInsight> = page.insights.iter().map(page_insight).collect();
    let reasons: Vec<PageReason> = super::reasons::reasons(report)
        .into_iter()
        .map(page_reason)
        .collect();
    let heatmap: Option<HeatMap> = if page.by.is_empty() {
        None
    } else {
        Some(heatmap::build(report, page.by)?)
    };
    let (findings, known_findings) = split_known(page);
    let sarif: Option<Vec<PageFinding>> = page.sarif.map(|found| {
        (found.iter())
            .map(|s| PageFinding {
                functions: s.functions.join(", "),
                ..page_finding(&s.finding)
            })
            .collect()
    });
    let megabytes = format!("{:.1}", report.bytes as f64 / 1e6);
    let text = templates
        .render(
            name,
            context! {
                title => page.title,
                about => page.about,
                logs => report.logs,
                megabytes,
                headline => headline(report),
                summary => report.summary(),
                legend => heatmap::legend(report),
                heatmap,
                pivot => page.pivot,
                has_label => rows.label.is_some(),
                columns => &report.index_columns,
                cells,
                blind => blind_spots(report),
                insights,
                reasons,
                findings,
                known_findings,
                sarif,
                chart => Value::from_safe_string(svg),
            },
        )
        .context("cannot render the report page")?;
    Ok(text)
}

/// The results chart as SVG markup to put in the page, without its XML declaration.
fn chart_markup(report: &Report, title: &str) -> Result<String> {
    let svg = chart::svg(report, title)?;
    // The chart's markup is plotters' own output; everything from logs goes through escaping.
    Ok(svg
        .trim_start_matches(|c| c != '<')
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .unwrap_or(&svg)
        .trim()
        .to_owned())
}

/// `42s`, `3m05s`, `1h02m`: a cell's time at a glance.
fn took(seconds: u64) -> String {
    match (seconds / 3600, seconds / 60 % 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// What the rows of the cells table are made with.
struct CellRows<'a> {
    columns: &'a [String],
    /// The index columns that are axes varying across the run.
    axes: Vec<usize>,
    /// The index column `label` (a legacy index's own result), if there is one.
    label: Option<usize>,
    by_cell: BTreeMap<String, Vec<String>>,
    log_base: Option<&'a str>,
}

impl<'a> CellRows<'a> {
    fn cell(&self, c: &'a super::CellReport) -> PageCell<'a> {
        let log = c.log.as_deref().unwrap_or("");
        // A log inside an archive (`run.zip!x.log`) links to the archive.
        let file = log.split('!').next().unwrap_or(log);
        let failed_tests = self.tests_not_in_cause(c);
        PageCell {
            key: &c.key,
            axes: self
                .axes
                .iter()
                .filter(|&&a| Some(a) != self.label)
                .map(|&a| PageAxis {
                    name: &self.columns[a],
                    value: &c.index_values[a],
                })
                .collect(),
            label: self
                .label
                .and_then(|l| c.index_values.get(l))
                .map(String::as_str)
                .filter(|l| !l.is_empty()),
            result: c.result.label(),
            class: result_class(&c.result),
            colour: chart::css_colour(&c.result),
            dark_text: chart::dark_text_on(&c.result),
            attempts: c.attempts,
            log,
            href: match (self.log_base, file.is_empty()) {
                (Some(base), false) => {
                    Some(Value::from_safe_string(format!("{base}{}", url_path(file))))
                }
                _ => None,
            },
            line: c.evidence.as_ref().map(|e| e.line),
            evidence: clip_chars(&c.evidence_text(), EVIDENCE_CHARS),
            cause: (c.more.why.cause.as_ref()).map(|cause| clip_chars(&cause.text, EVIDENCE_CHARS)),
            failed_tests: (failed_tests.iter().take(TESTS_SHOWN))
                .map(String::as_str)
                .collect(),
            more_tests: failed_tests.len().saturating_sub(TESTS_SHOWN),
            findings: self.findings(c, file),
            missed: c.missed_canaries().collect(),
            flaky: c.more.flaky.as_ref().map(super::flaky::Flaky::text),
            took: c.more.facts.total_seconds().map(took),
            stages: (c.more.facts.seconds.iter())
                .map(|(stage, n)| format!("{stage} {}", took(*n)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The cell's failed tests, unless its cause already names them (`11 tests failed: …`).
    fn tests_not_in_cause<'c>(&self, c: &'c super::CellReport) -> &'c [String] {
        let tests = &c.more.why.failed_tests;
        let named = |cause: &crate::logs::cause::Cause| {
            tests
                .first()
                .is_some_and(|t| cause.text.contains(t.as_str()))
        };
        if c.more.why.cause.as_ref().is_some_and(named) {
            &[]
        } else {
            tests
        }
    }

    /// The ids of the findings in the cell whose log is `file`.
    fn findings(&self, c: &super::CellReport, file: &str) -> Vec<String> {
        let stem = c.key.strip_suffix(".sh").unwrap_or(&c.key);
        // A SARIF finding names its build: the cell's key, or (Argo) its log's directory.
        let log_dir = file.rsplit_once('/').map(|(dir, _)| node_dir(dir));
        let mut findings: Vec<String> = Vec::new();
        for name in [Some(c.key.as_str()), Some(stem), log_dir]
            .into_iter()
            .flatten()
        {
            for id in self.by_cell.get(name).into_iter().flatten() {
                if !findings.contains(id) {
                    findings.push(id.clone());
                }
            }
        }
        findings
    }
}

/// The CSS class of a result.
fn result_class(result: &CellResult) -> &'static str {
    match result {
        CellResult::Result(_, super::Outcome::Passed) => "passed",
        CellResult::Result(..) => "failed",
        CellResult::Running(_) => "running",
        CellResult::Unknown(_) => "unknown",
        CellResult::Missing => "missing",
    }
}

fn page_insight(i: &Insight) -> PageInsight {
    PageInsight {
        condition: if i.terms.is_empty() {
            "every cell".into()
        } else {
            i.condition()
        },
        claim: i.claim(),
        results: i.results_text(),
    }
}

fn page_reason(r: super::reasons::Reason) -> PageReason {
    PageReason {
        finding: r.finding.clone(),
        results: super::reasons::results_text(&r.results),
        shared: super::reasons::pairs(&r.shared),
        shared_terms: r
            .shared
            .iter()
            .map(|(axis, value)| PageTerm {
                axis: axis.clone(),
                value: value.clone(),
            })
            .collect(),
        reason: r.reason,
        cells: r.cells,
        example: r.example,
        at: r.at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CellReport, Evidence, Outcome};

    fn report() -> Report {
        Report {
            index_columns: vec!["compiler".into(), "label".into()],
            cells: vec![
                CellReport {
                    key: "build_001.sh".into(),
                    index_values: vec!["gcc|x".into(), "Tests. Failed".into()].into(),
                    result: CellResult::Result(Stage::Tests, Outcome::Failed),
                    attempts: 1,
                    log: Some("run #1/build_001-1.sh.txt".into()),
                    evidence: Some(Evidence {
                        line: 7,
                        text: "<script>alert(1)</script> *bold* a|b +++x+++ pass:[y] {attr}".into(),
                    }),
                    more: Default::default(),
                },
                CellReport {
                    key: "build_002.sh".into(),
                    index_values: vec!["clang".into(), "".into()].into(),
                    result: CellResult::Missing,
                    attempts: 0,
                    log: None,
                    evidence: None,
                    more: Default::default(),
                },
            ],
            logs: 1,
            bytes: 10,
        }
    }

    fn finding() -> Finding {
        Finding {
            id: "0123abcd".into(),
            tool: "AddressSanitizer".into(),
            kind: "heap-use-after-free".into(),
            message: "READ of size 8".into(),
            location: None,
            frames: vec![crate::finding::Frame {
                function: "list_dealloc".into(),
                file: "Objects/listobject.c".into(),
                line: Some(12),
            }],
            cells: vec!["build_001.sh".into()],
            reports: 3,
            versions: vec!["3.12.4".into()],
            frames_text: None,
        }
    }

    #[test]
    fn a_race_reads_as_its_two_sites_not_a_call_chain() {
        let race = Finding {
            frames_text: Some("take_gil | _PyThreadState_MustExit".into()),
            ..finding()
        };
        assert_eq!(
            page_finding(&race).frames,
            "take_gil | _PyThreadState_MustExit"
        );
        assert_eq!(
            page_finding(&finding()).frames,
            "list_dealloc (Objects/listobject.c:12)"
        );
    }

    fn page<'a>(r: &'a Report, findings: &'a [Finding], by: &'a [String]) -> Page<'a> {
        Page {
            title: "Run <1>",
            report: r,
            by,
            pivot: None,
            insights: &[],
            findings: Some(findings),
            sarif: None,
            statuses: None,
            about: &[],
            report_texts: &NO_TEXTS,
            log_base: Some("../logs/".into()),
        }
    }

    static NO_TEXTS: BTreeMap<String, String> = BTreeMap::new();

    #[test]
    fn html_escapes_log_text_links_logs_and_findings() {
        let r = report();
        let f = [finding()];
        let by = ["compiler".to_owned()];
        let html = render(&Templates::builtin(), Kind::Html, &page(&r, &f, &by)).unwrap();
        // The log's `<script>` is text; the one script element is the page's own (sorting and
        // filtering the cells), after every value.
        assert!(
            html.contains("&lt;script&gt;") && html.matches("<script>").count() == 1,
            "{html}"
        );
        assert!(html.rfind("<script>") > html.rfind("<tr class="));
        assert!(html.contains("<svg") && html.contains("Run &lt;1&gt;"));
        assert!(html.contains("href=\"../logs/run%20%231/build_001-1.sh.txt\""));
        assert!(
            html.contains("id=\"finding-0123abcd\"") && html.contains("href=\"#finding-0123abcd\"")
        );
        assert!(html.contains("class=\"heatmap\""), "{html}");
        // The legacy label sits beside our result; the label is not an axis.
        assert!(html.contains("(label where it differs)</span></th>"));
    }

    #[test]
    fn adoc_keeps_log_text_literal() {
        let r = report();
        let f = [finding()];
        let adoc = render(&Templates::builtin(), Kind::AsciiDoc, &page(&r, &f, &[])).unwrap();
        assert!(adoc.starts_with("= pass:c[Run <1>]"), "{adoc}");
        assert!(adoc.contains("gcc\\|x"), "{adoc}");
        let evidence = adoc.lines().find(|l| l.contains("alert")).unwrap();
        assert!(evidence.contains("a\\|b"), "{evidence}");
        assert!(!evidence.contains("pass:[y]"), "{evidence}");
        assert!(adoc.contains("link:../logs/run%20%231/build_001-1.sh.txt[log]"));
    }

    #[test]
    fn node_directories() {
        assert_eq!(node_dir("wf/pod-1"), "wf/pod-1");
        assert_eq!(node_dir("ns/wf/node-1/outputs/main-logs"), "ns/wf/node-1");
        assert_eq!(node_dir("outputs/sarif-data"), "");
    }

    #[test]
    fn urls_and_relative_log_links() {
        assert_eq!(url_path("a b/c#d?e%[f]+"), "a%20b/c%23d%3Fe%25%5Bf%5D%2B");
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("run 1/logs");
        let out = tmp.path().join("site");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        assert_eq!(
            log_base(&out.join("p.html"), &logs).as_deref(),
            Some("../run%201/logs/")
        );
        assert_eq!(
            log_base(&tmp.path().join("run 1/p.html"), &logs).as_deref(),
            Some("logs/")
        );
        assert_eq!(log_base(&logs.join("p.html"), &logs).as_deref(), Some(""));
        assert_eq!(log_base(&tmp.path().join("nowhere/p.html"), &logs), None);
    }

    /// A failed cell whose cause is a sanitizer report: the reason names its finding.
    fn failed_by_report() -> Report {
        let mut r = report();
        r.cells[0].more.why.cause = Some(crate::logs::cause::Cause {
            kind: crate::logs::cause::CauseKind::Report,
            text: "HWAddressSanitizer: tag-mismatch in f (a.c) (making all|x)".into(),
            evidence: Evidence {
                line: 3,
                text: "==1==ERROR: HWAddressSanitizer: tag-mismatch".into(),
            },
            finding: Some("1a2b3c4d".into()),
            report_words: Some("HWAddressSanitizer: tag-mismatch in f (a.c)".into()),
        });
        r
    }

    #[test]
    fn reasons_come_right_after_the_insights_on_both_pages() {
        let r = failed_by_report();
        let reason = "HWAddressSanitizer: tag-mismatch, finding 1a2b3c4d (making all|x)";
        let html = render(&Templates::builtin(), Kind::Html, &page(&r, &[], &[])).unwrap();
        let at = html
            .find("<h2 id=\"reasons\">Reasons</h2>")
            .expect("a Reasons section");
        assert!(
            at < html.find("<h2 id=\"results\">Results</h2>").unwrap(),
            "{html}"
        );
        assert!(html[at..].contains(reason), "{html}");
        let adoc = render(&Templates::builtin(), Kind::AsciiDoc, &page(&r, &[], &[])).unwrap();
        let at = adoc.find("== Reasons").expect("a Reasons section");
        assert!(at < adoc.find("== Results").unwrap(), "{adoc}");
        assert!(adoc[at..].contains("build_001-1.sh.txt:3"), "{adoc}");
        // No failed cell, no section.
        let mut passed = report();
        for cell in &mut passed.cells {
            cell.result = CellResult::Result(Stage::Tests, Outcome::Passed);
        }
        let html = render(&Templates::builtin(), Kind::Html, &page(&passed, &[], &[])).unwrap();
        assert!(!html.contains(">Reasons</h2>"), "{html}");
    }

    #[test]
    fn blind_cells_open_both_pages_and_are_marked_in_the_cells_table() {
        use crate::report::{CanaryResult, CanaryRun};
        let run = |name: &str, result| CanaryRun {
            name: name.into(),
            result,
        };
        let mut r = report();
        r.cells[0].more.canaries = vec![
            run("heap-overflow-small", CanaryResult::Missed),
            run("use-after-free", CanaryResult::Seen),
        ];
        let html = render(&Templates::builtin(), Kind::Html, &page(&r, &[], &[])).unwrap();
        let blind = html
            .find("<h2 id=\"blind\">Blind cells</h2>")
            .expect("{html}");
        assert!(blind < html.find("<h2 id=\"results\">").unwrap(), "{html}");
        assert!(
            html.contains("<b>1</b><span><a href=\"#blind\">blind cells</a>"),
            "{html}"
        );
        assert!(html[blind..].contains("missed in 1 of 1 cells"), "{html}");
        assert!(html.contains("blind: heap-overflow-small</span>"), "{html}");
        let adoc = render(&Templates::builtin(), Kind::AsciiDoc, &page(&r, &[], &[])).unwrap();
        let blind = adoc.find("== Blind cells").expect("{adoc}");
        assert!(blind < adoc.find("== Results").unwrap(), "{adoc}");
        assert!(
            adoc.contains("(blind: pass:c[heap-overflow-small])"),
            "{adoc}"
        );
        // Every canary seen: no section, no tile.
        r.cells[0].more.canaries[0].result = CanaryResult::Seen;
        let html = render(&Templates::builtin(), Kind::Html, &page(&r, &[], &[])).unwrap();
        assert!(!html.contains("Blind cells"), "{html}");
        assert!(!html.contains("blind cells</a>"), "{html}");
    }

    #[test]
    fn flaky_cells_are_marked_counted_and_timed_on_both_pages() {
        let mut r = report();
        r.cells[0].result = CellResult::Result(Stage::Tests, Outcome::Passed);
        r.cells[0].more.flaky = Some(crate::report::flaky::Flaky {
            attempts: vec!["Tests. Failed".into()],
            ..Default::default()
        });
        r.cells[0].more.facts.seconds = vec![("setup".into(), 4), ("compile".into(), 3720)];
        let html = render(&Templates::builtin(), Kind::Html, &page(&r, &[], &[])).unwrap();
        assert!(html.contains("<b>1</b><span><a href=\"#cells\""), "{html}");
        assert!(
            html.contains("flaky: earlier attempts: Tests. Failed</span>"),
            "{html}"
        );
        assert!(
            html.contains("title=\"setup 4s, compile 1h02m\">took 1h02m</span>"),
            "{html}"
        );
        let adoc = render(&Templates::builtin(), Kind::AsciiDoc, &page(&r, &[], &[])).unwrap();
        assert!(adoc.contains("*1 flaky*"), "{adoc}");
        assert!(
            adoc.contains("(flaky: pass:c[earlier attempts: Tests. Failed])"),
            "{adoc}"
        );
    }
}
