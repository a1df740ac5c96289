//! `matrix check`: the CI dry run, as text lines or JSON.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{format, Cli, Failed};
use crate::check::{check, CheckOptions, CheckReport, Problem, Severity};
use crate::export::{Export, OutputFormat};
use crate::render::Renderer;
use crate::workflow::schema::ArgoSchema;
use crate::workflow::{Options, Overrides};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check the templates in DIR instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// Skip shellcheck even when it is installed (bash -n still runs).
    #[arg(long)]
    pub no_shellcheck: bool,

    /// Validate the workflow manifests against Argo's JSON schema (api/jsonschema/schema.json),
    /// strictly: no key the schema does not declare.
    #[arg(long, value_name = "FILE")]
    pub argo_schema: Option<PathBuf>,

    #[arg(long, value_parser = format::parser(CheckReport::FORMATS), default_value = "text")]
    pub format: OutputFormat,
}

pub fn run(cli: &Cli, args: &CheckArgs) -> Result<Vec<u8>> {
    let loaded = cli.load_matrix().and_then(|matrix| {
        let renderer = Renderer::load(args.templates.as_deref())?;
        let options = CheckOptions {
            shellcheck: !args.no_shellcheck,
            progress: if std::io::stderr().is_terminal() {
                show_progress
            } else {
                |_| {}
            },
            workflow: Options::resolve(&Overrides::default(), &matrix)?,
            argo_schema: args
                .argo_schema
                .as_deref()
                .map(ArgoSchema::load)
                .transpose()?,
        };
        Ok((matrix, renderer, options))
    });
    let report = match loaded {
        Ok((matrix, renderer, options)) => {
            let report = check(&matrix, &renderer, &options);
            if std::io::stderr().is_terminal() {
                eprint!("\r\x1b[2K");
            }
            report?
        }
        // A definition, template or schema that does not load is the one problem to report.
        Err(err) => CheckReport {
            definition: cli
                .config
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            problems: vec![Problem {
                severity: Severity::Error,
                message: format!("{err:#}"),
            }],
            ..CheckReport::default()
        },
    };
    let stdout = report.export(args.format)?;
    if report.errors() > 0 {
        return Err(Failed {
            stdout,
            summary: format!("the check found {} error(s)", report.errors()),
        }
        .into());
    }
    Ok(stdout)
}

/// One line on the terminal, rewritten as the check goes on and cleared at the end.
fn show_progress(what: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2Kmatrix check: {what}…");
    let _ = err.flush();
}
