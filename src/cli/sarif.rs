//! `matrix sarif`: distinct GCC `-fanalyzer` findings per CPython version from a directory of
//! SARIF files, as CSV, JSON or a table.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::Cli;
use crate::sarif::format::{self, View};
use crate::sarif::{self, Analysis, Summary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Table,
}

#[derive(Debug, Args)]
pub struct SarifArgs {
    /// Directory with the SARIF files: `build_NNN/sarif-data/src/Python-<version>/*.sarif`,
    /// Argo artifacts (`<workflow>/<pod>/sarif-data.tgz`), or any tree with `Python-<version>`
    /// directories above the files.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Output format [default: table on a terminal, csv otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Print only the counts per version, rule and file.
    #[arg(long)]
    pub summary: bool,

    /// Only the findings of version B that version A does not have (same file and message;
    /// lines may have moved).
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub diff: Option<Vec<String>>,

    /// Also list results that have no source location (GCC emits a few); they are otherwise
    /// only counted.
    #[arg(long)]
    pub unlocated: bool,

    /// Warn about and skip files that are not valid SARIF instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
}

pub fn run(_cli: &Cli, args: &SarifArgs) -> Result<Vec<u8>> {
    let loaded = sarif::load(&args.dir, args.skip_invalid)?;
    super::progress::warn(&loaded.warnings);
    for skipped in &loaded.skipped {
        eprintln!("warning: skipped {skipped}");
    }
    let analysis = Analysis::from_loaded(&loaded);
    let listed: Vec<sarif::Finding> = analysis
        .findings
        .iter()
        .filter(|f| args.unlocated || f.located())
        .cloned()
        .collect();
    let (findings, versions, diff) = match &args.diff {
        Some(pair) => {
            let a = analysis.version(&pair[0])?;
            let b = analysis.version(&pair[1])?;
            (sarif::diff(&listed, &a, &b), vec![b.clone()], Some((a, b)))
        }
        None => (listed, analysis.inputs.keys().cloned().collect(), None),
    };
    let view = View {
        summary: Summary::of(&findings, versions),
        findings: &findings,
        inputs: &analysis.inputs,
        unlocated: analysis.unlocated(),
        unlocated_listed: args.unlocated,
        diff,
    };
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Csv
    });
    if format == Format::Csv && !args.unlocated && view.diff.is_none() {
        // CSV has no place for it, and a count that silently leaves results out is not honest.
        for (version, n) in &view.unlocated {
            eprintln!(
                "note: {version}: {} without a source location not listed (--unlocated lists them)",
                format::counted(*n, "distinct result")
            );
        }
    }
    match (format, args.summary) {
        (Format::Csv, false) => format::findings_csv(&findings),
        (Format::Csv, true) => format::summary_csv(&view.summary),
        (Format::Json, summary) => format::json(&view, !summary),
        (Format::Table, summary) => Ok(format::table(&view, !summary)),
    }
}
