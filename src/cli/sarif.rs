//! `matrix sarif`: distinct GCC `-fanalyzer` findings per CPython version from a directory of
//! SARIF files, as CSV, JSON or a table.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{format, Cli};
use crate::export::{Export, OutputFormat};
use crate::sarif::format::{counted, View};
use crate::sarif::{self, Analysis, Summary};

#[derive(Debug, Args)]
pub struct SarifArgs {
    /// Directory with the SARIF files: `build_NNN/sarif-data/src/Python-<version>/*.sarif`,
    /// Argo artifacts (`<workflow>/<pod>/sarif-data.tgz`), or any tree with `Python-<version>`
    /// directories above the files.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Output format [default: table on a terminal, csv otherwise].
    #[arg(long, value_parser = format::parser(View::FORMATS))]
    pub format: Option<OutputFormat>,

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

/// What the flags ask for, resolved once; the command works from these alone.
struct Settings {
    dir: PathBuf,
    format: OutputFormat,
    /// The findings are listed (not only counted: `--summary`).
    list: bool,
    /// `--diff A B`: the versions compared.
    diff: Option<(String, String)>,
    /// `--unlocated`: results without a source location are listed too.
    unlocated: bool,
    skip_invalid: bool,
}

impl Settings {
    fn resolve(args: &SarifArgs) -> Settings {
        Settings {
            dir: args.dir.clone(),
            format: format::or_by_terminal(args.format),
            list: !args.summary,
            diff: (args.diff.as_deref()).map(|pair| (pair[0].clone(), pair[1].clone())),
            unlocated: args.unlocated,
            skip_invalid: args.skip_invalid,
        }
    }
}

pub fn run(_cli: &Cli, args: &SarifArgs) -> Result<Vec<u8>> {
    let settings = Settings::resolve(args);
    let loaded = sarif::load(&settings.dir, settings.skip_invalid).map_err(|err| {
        super::with_flags(err, |unreadable: sarif::Unreadable| {
            anyhow::anyhow!(
                "{} (fix its permissions, or pass --skip-invalid to skip it with a warning)",
                unreadable.problem()
            )
        })
    })?;
    super::progress::warn(&loaded.warnings);
    for skipped in &loaded.skipped {
        eprintln!(
            "warning: skipped {}",
            crate::table::visible(&skipped.to_string())
        );
    }
    let analysis = Analysis::from_loaded(&loaded);
    let listed: Vec<sarif::Finding> = analysis
        .findings
        .iter()
        .filter(|f| settings.unlocated || f.located())
        .cloned()
        .collect();
    let (findings, versions, diff) = match &settings.diff {
        Some((a, b)) => {
            let a = analysis.version(a)?;
            let b = analysis.version(b)?;
            (sarif::diff(&listed, &a, &b), vec![b.clone()], Some((a, b)))
        }
        None => (listed, analysis.inputs.keys().cloned().collect(), None),
    };
    let view = View {
        summary: Summary::of(&findings, versions),
        findings: &findings,
        inputs: &analysis.inputs,
        unlocated: analysis.unlocated(),
        unlocated_listed: settings.unlocated,
        diff,
        list: settings.list,
    };
    let format = settings.format;
    if format == OutputFormat::Csv && !settings.unlocated && view.diff.is_none() {
        // CSV has no place for it, and a count that silently leaves results out is not honest.
        for (version, n) in &view.unlocated {
            eprintln!(
                "note: {}: {} without a source location not listed (--unlocated lists them)",
                crate::table::visible(&version.to_string()),
                counted(*n, "distinct result")
            );
        }
    }
    view.export(format)
}
