//! Self-contained report pages (HTML or AsciiDoc): insights, reasons, summary, chart inline,
//! pivot and the table of cells, rendered from the [`crate::templates`] registry (HTML auto-escaped; AsciiDoc table
//! cells escaped by its `cell` filter).

use anyhow::{Context, Result};
use minijinja::{context, Value};
use serde::Serialize;

use super::insights::Insight;
use super::{chart, CellResult, Pivot, Report};
use crate::templates::{Templates, ADOC_REPORT_TEMPLATE, HTML_REPORT_TEMPLATE};

/// Which page to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Html,
    AsciiDoc,
}

#[derive(Serialize)]
struct PageCell<'a> {
    key: &'a str,
    values: &'a [String],
    result: String,
    class: &'static str,
    attempts: usize,
    log: &'a str,
    line: Option<u64>,
    evidence: String,
}

/// One reason of [`super::reasons`], as the page shows it (right after the insights).
#[derive(Serialize)]
struct PageReason {
    reason: String,
    cells: usize,
    results: String,
    shared: String,
    example: String,
    at: String,
}

#[derive(Serialize)]
struct PageInsight {
    condition: String,
    claim: String,
    results: String,
}

pub fn render(
    templates: &Templates,
    kind: Kind,
    report: &Report,
    pivot: Option<&Pivot>,
    insights: &[Insight],
    title: &str,
) -> Result<String> {
    let name = match kind {
        Kind::Html => HTML_REPORT_TEMPLATE,
        Kind::AsciiDoc => ADOC_REPORT_TEMPLATE,
    };
    let svg = chart::svg(report, title)?;
    // The chart's markup is plotters' own output; everything from logs goes through escaping.
    let svg = svg
        .trim_start_matches(|c| c != '<')
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .unwrap_or(&svg)
        .trim()
        .to_owned();
    let cells: Vec<PageCell> = report
        .cells
        .iter()
        .map(|c| PageCell {
            key: &c.key,
            values: &c.index_values,
            result: c.result.label(),
            class: match &c.result {
                CellResult::Result(_, super::Outcome::Passed) => "passed",
                CellResult::Result(..) => "failed",
                CellResult::Running(_) => "running",
                CellResult::Unknown(_) => "unknown",
                CellResult::Missing => "missing",
            },
            attempts: c.attempts,
            log: c.log.as_deref().unwrap_or(""),
            line: c.evidence.as_ref().map(|e| e.line),
            evidence: c.evidence_text(),
        })
        .collect();
    let insights: Vec<PageInsight> = insights
        .iter()
        .map(|i| PageInsight {
            condition: if i.terms.is_empty() {
                "every cell".into()
            } else {
                i.condition()
            },
            claim: i.claim(),
            results: i.results_text(),
        })
        .collect();
    let reasons: Vec<PageReason> = super::reasons::reasons(report)
        .into_iter()
        .map(|r| PageReason {
            results: super::reasons::results_text(&r.results),
            shared: super::reasons::pairs(&r.shared),
            reason: r.reason,
            cells: r.cells,
            example: r.example,
            at: r.at,
        })
        .collect();
    let megabytes = format!("{:.1}", report.bytes as f64 / 1e6);
    let text = templates
        .render(
            name,
            context! {
            title,
            logs => report.logs,
            megabytes,
            summary => report.summary(),
            pivot,
            columns => &report.index_columns,
            cells,
            insights,
            reasons,
            chart => Value::from_safe_string(svg),
            },
        )
        .context("cannot render the report page")?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CellReport, Evidence, Outcome, Stage};

    fn report() -> Report {
        Report {
            index_columns: vec!["compiler".into()],
            cells: vec![CellReport {
                key: "build_001.sh".into(),
                index_values: vec!["gcc|x".into()],
                result: CellResult::Result(Stage::Tests, Outcome::Failed),
                attempts: 1,
                log: Some("build_001-1.sh.txt".into()),
                evidence: Some(Evidence {
                    line: 7,
                    text: "<script>alert(1)</script>".into(),
                }),
                why: Default::default(),
            }],
            logs: 1,
            bytes: 10,
        }
    }

    #[test]
    fn html_escapes_log_text_and_inlines_the_chart() {
        let r = report();
        let pivot = r.pivot(&["compiler".into()]).unwrap();
        let html = render(
            &Templates::builtin(),
            Kind::Html,
            &r,
            Some(&pivot),
            &[],
            "Run <1>",
        )
        .unwrap();
        assert!(
            html.contains("&lt;script&gt;") && !html.contains("<script>"),
            "{html}"
        );
        assert!(html.contains("<svg") && html.contains("Run &lt;1&gt;"));
        assert!(html.contains("By compiler"));
    }

    #[test]
    fn adoc_escapes_cell_separators() {
        let adoc = render(
            &Templates::builtin(),
            Kind::AsciiDoc,
            &report(),
            None,
            &[],
            "Run",
        )
        .unwrap();
        assert!(adoc.contains("gcc\\|x"), "{adoc}");
        assert!(adoc.starts_with("= Run"));
    }

    /// A failed cell whose cause is a sanitizer report: the reason names its finding.
    fn failed_by_report() -> Report {
        let mut r = report();
        r.cells[0].why.cause = Some(crate::report::cause::Cause {
            kind: crate::report::cause::CauseKind::Report,
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
        let html = render(&Templates::builtin(), Kind::Html, &r, None, &[], "Run").unwrap();
        let at = html.find("<h2>Reasons</h2>").expect("a Reasons section");
        assert!(at < html.find("<h2>Summary</h2>").unwrap(), "{html}");
        assert!(html[at..].contains(reason), "{html}");
        let adoc = render(&Templates::builtin(), Kind::AsciiDoc, &r, None, &[], "Run").unwrap();
        let at = adoc.find("== Reasons").expect("a Reasons section");
        assert!(at < adoc.find("== Summary").unwrap(), "{adoc}");
        assert!(adoc[at..].contains(&reason.replace('|', "\\|")), "{adoc}");
        assert!(adoc[at..].contains("build_001-1.sh.txt:3"), "{adoc}");
        // No failed cell, no section.
        let html = render(
            &Templates::builtin(),
            Kind::Html,
            &report(),
            None,
            &[],
            "Run",
        );
        assert!(html.unwrap().contains("<h2>Reasons</h2>"));
        let mut passed = report();
        passed.cells[0].result = CellResult::Result(Stage::Tests, Outcome::Passed);
        let html = render(&Templates::builtin(), Kind::Html, &passed, None, &[], "Run").unwrap();
        assert!(!html.contains("<h2>Reasons</h2>"), "{html}");
    }
}
