//! `matrix fetch WORKFLOW… --out RUNDIR`: a run on Argo gathered into a run directory.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::Cli;
use crate::fetch::{self, argo::Argo};
use crate::run::rundir::RunDir;
use crate::run::Setting;

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The Workflows of the run (`argo submit -o name` prints them), finished or running.
    #[arg(required = true, value_name = "WORKFLOW")]
    pub workflows: Vec<String>,

    /// The run directory: index.csv, logs/, artifacts/, fetch.csv. A new or empty directory,
    /// or one an earlier fetch (or `matrix run`) wrote: fetching again adds what is new.
    #[arg(long, value_name = "RUNDIR")]
    pub out: PathBuf,

    /// The Workflows' namespace (else the argo CLI's own default).
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

fn flag(setting: Setting) -> String {
    match setting {
        Setting::Resume => "an earlier `matrix fetch`".into(),
        other => format!("--{}", other.key()),
    }
}

pub fn run(_cli: &Cli, args: &FetchArgs) -> Result<Vec<u8>> {
    let dir = RunDir::open(&args.out, true, flag, None)?;
    let argo = Argo {
        program: "argo".into(),
        namespace: args.namespace.clone(),
    };
    let summary = fetch::fetch(&argo, &args.workflows, &dir)?;
    let mut out = format!(
        "{}: {} cells, {} with a log ({} fetched now), {} without\n",
        args.out.display(),
        summary.cells,
        summary.with_log,
        summary.new_logs,
        summary.absent.len()
    );
    for (cell, why) in &summary.absent {
        writeln!(out, "  {cell}: no log: {why}")?;
    }
    Ok(out.into_bytes())
}
