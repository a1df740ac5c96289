//! `matrix report LOGDIR`: classified results of build logs as CSV, JSON or a table, with
//! optional chart (SVG) and report page (HTML or AsciiDoc) files.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::{format, Cli};
use crate::export::{Export, OutputFormat};
use crate::output::write_atomic;
use crate::report::output::ReportView;
use crate::report::reasons::{ReasonsView, TestsView};
use crate::report::{self, chart, page, reasons, Index};
use crate::templates::{Templates, ADOC_REPORT_TEMPLATE, HTML_REPORT_TEMPLATE};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Directory of build logs: flat (`build_004-1.sh.txt`, `*.log`, `.zip`, `.gz`) or Argo's
    /// artifact layout (`<workflow>/<pod>/main.log`, `.tgz`).
    #[arg(value_name = "LOGDIR")]
    pub logdir: PathBuf,

    /// CSV index of the cells (`matrix render`'s, or one with a `script_name` column); its
    /// cells without a log are reported as Missing.
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,

    /// Output format (default: table on a terminal, CSV otherwise).
    #[arg(long, value_parser = format::parser(ReportView::FORMATS))]
    pub format: Option<OutputFormat>,

    /// Count results per combination of these index columns (needs --index).
    #[arg(long, value_name = "AXIS,AXIS", value_delimiter = ',')]
    pub by: Vec<String>,

    /// Write the distribution of results as a chart (SVG).
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,

    /// Write a self-contained HTML page: summary, chart, pivot and table.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Write the same page as AsciiDoc.
    #[arg(long, value_name = "FILE")]
    pub adoc: Option<PathBuf>,

    /// Instead of the cells: the failed cells grouped by cause (reason, cells, results, the
    /// index values they share, an example cell and its log:line).
    #[arg(long, conflicts_with = "tests")]
    pub reasons: bool,

    /// Instead of the cells: each test regrtest lists as failed, with its cells and the index
    /// values they share.
    #[arg(long)]
    pub tests: bool,

    /// Title of the chart and the page.
    #[arg(long, value_name = "TEXT", default_value = "Build results")]
    pub title: String,

    /// Render the pages from the templates in DIR (report.html.j2, report.adoc.j2; those it
    /// lacks are the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

pub fn run(_cli: &Cli, args: &ReportArgs) -> Result<Vec<u8>> {
    if let Some(chart) = &args.chart {
        match chart.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("svg") => {}
            Some(e) if e.eq_ignore_ascii_case("png") => bail!(
                "--chart {}: PNG charts are not supported (they would need a font library); \
                 write .svg and convert it (e.g. rsvg-convert)",
                chart.display()
            ),
            _ => bail!(
                "--chart {}: the chart file must end in .svg",
                chart.display()
            ),
        }
    }
    let templates = Templates::load(args.templates.as_deref())?;
    if args.html.is_some() {
        templates.check(HTML_REPORT_TEMPLATE)?;
    }
    if args.adoc.is_some() {
        templates.check(ADOC_REPORT_TEMPLATE)?;
    }
    let index = args.index.as_deref().map(Index::from_file).transpose()?;
    if !args.by.is_empty() && index.is_none() {
        bail!("--by needs --index: the axes to group by are the index's columns");
    }
    if let Some(index) = &index {
        for name in &args.by {
            if !index.columns.contains(name) {
                bail!(
                    "--by: the index has no column {name:?}; it has: {}",
                    index.columns.join(", ")
                );
            }
        }
    }
    let scanned = {
        let bar = super::progress::Bar::new("reading logs");
        report::scan_dir(&args.logdir, &|done, total| bar.update(done, total))?
    };
    super::progress::warn(&scanned.warnings);
    let report = report::build(scanned.logs, index.as_ref());
    if let Some(index) = &index {
        let listed: std::collections::HashSet<&str> =
            index.rows.iter().map(|(k, _)| k.as_str()).collect();
        let extra: Vec<&str> = report
            .cells
            .iter()
            .map(|c| c.key.as_str())
            .filter(|k| !listed.contains(k))
            .collect();
        if let Some(first) = extra.first() {
            eprintln!(
                "warning: {} log(s) are of cells the index does not list (first: {first}); \
                 they are reported with empty index columns",
                extra.len()
            );
        }
    }
    let pivot = if args.by.is_empty() {
        None
    } else {
        Some(report.pivot(&args.by)?)
    };

    if let Some(path) = &args.chart {
        write_atomic(path, chart::svg(&report, &args.title)?.as_bytes())?;
    }
    if let Some(path) = &args.html {
        let html = page::render(
            &templates,
            page::Kind::Html,
            &report,
            pivot.as_ref(),
            &args.title,
        )?;
        write_atomic(path, html.as_bytes())?;
    }
    if let Some(path) = &args.adoc {
        let adoc = page::render(
            &templates,
            page::Kind::AsciiDoc,
            &report,
            pivot.as_ref(),
            &args.title,
        )?;
        write_atomic(path, adoc.as_bytes())?;
    }

    let format = format::or_by_terminal(args.format);
    if args.reasons {
        return ReasonsView(&reasons::reasons(&report)).export(format);
    }
    if args.tests {
        return TestsView(&reasons::tests(&report)).export(format);
    }
    ReportView {
        report: &report,
        pivot: pivot.as_ref(),
    }
    .export(format)
}
