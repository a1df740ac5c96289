//! `matrix workflow`: Argo Workflows manifests for the selected cells on stdout, ready for
//! `argo submit -`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use super::{Cli, SelectionArgs};
use crate::definition::workflow::{
    DEFAULT_CPU, DEFAULT_DEADLINE, DEFAULT_GENERATE_NAME, DEFAULT_MEMORY, DEFAULT_MEMORY_LIMIT,
    DEFAULT_PARALLELISM, DEFAULT_RETRY_LIMIT, DEFAULT_TTL,
};
use crate::output::Spool;
use crate::render::Renderer;
use crate::workflow::build::OverBudget;
use crate::workflow::compact::Scripts;
use crate::workflow::options::DEFAULT_MAX_BYTES;
use crate::workflow::{stream, Kind, Options, Overrides, Part, Setting, Sink};

#[derive(Debug, Args)]
pub struct WorkflowArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,

    #[command(flatten)]
    pub tests: super::TestsArg,

    /// What to emit.
    #[arg(long, value_enum, default_value_t = KindArg::Workflow)]
    pub kind: KindArg,

    /// Cron schedule of a CronWorkflow, e.g. "0 3 * * *" (only with --kind cron-workflow).
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,

    /// Container registry of the images (default: the definition's `image.registry`).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    /// Use the templates in DIR, as `render --templates` does.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    #[arg(long, value_name = "N", help = format!(
        "How many cells run at once (default: the definition's `workflow.parallelism`, else \
         {DEFAULT_PARALLELISM})"
    ))]
    pub parallelism: Option<u32>,

    #[arg(long, value_name = "DURATION", help = format!(
        "Per-cell deadline, e.g. 4h, 90m, 1h30m (default: `workflow.deadline`, else \
         {DEFAULT_DEADLINE})"
    ))]
    pub deadline: Option<String>,

    #[arg(long, value_name = "QUANTITY", help = format!(
        "CPU request per cell; `make -j` follows it (default: `workflow.cpu`, else {DEFAULT_CPU})"
    ))]
    pub cpu: Option<String>,

    #[arg(long, value_name = "QUANTITY", help = format!(
        "Memory request per cell (default: `workflow.memory`, else {DEFAULT_MEMORY})"
    ))]
    pub memory: Option<String>,

    /// CPU limit per cell (default: `workflow.cpu_limit`, else none).
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_limit: Option<String>,

    #[arg(long, value_name = "QUANTITY", help = format!(
        "Memory limit per cell (default: `workflow.memory_limit`, else {DEFAULT_MEMORY_LIMIT})"
    ))]
    pub memory_limit: Option<String>,

    #[arg(long, value_name = "N", help = format!(
        "Retries of a cell after an infrastructure error, never after a failed build \
         (default: `workflow.retry_limit`, else {DEFAULT_RETRY_LIMIT})"
    ))]
    pub retry_limit: Option<u32>,

    #[arg(long, value_name = "DURATION", help = format!(
        "How long a finished Workflow is kept, e.g. 7d (default: `workflow.ttl`, else \
         {DEFAULT_TTL})"
    ))]
    pub ttl: Option<String>,

    /// Namespace of the objects (default: the one `argo submit` uses).
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Service account the pods run as.
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,

    #[arg(long, value_name = "PREFIX", help = format!(
        "Name prefix (default: `workflow.generate_name`, else {DEFAULT_GENERATE_NAME}); split \
         documents add a part number, templates and cron workflows use it as their name"
    ))]
    pub generate_name: Option<String>,

    /// Artifact repository for logs and artifacts: KEY or CONFIGMAP:KEY of Argo's
    /// artifact-repositories config map (default: the namespace's default repository).
    #[arg(long, value_name = "[CONFIGMAP:]KEY")]
    pub artifact_repository_ref: Option<String>,

    /// Size budget of one document in bytes; larger selections are split into several.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BYTES)]
    pub max_bytes: usize,
}

/// What to emit: the clap face of [`Kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Workflow,
    WorkflowTemplate,
    CronWorkflow,
}

impl From<KindArg> for Kind {
    fn from(kind: KindArg) -> Kind {
        match kind {
            KindArg::Workflow => Kind::Workflow,
            KindArg::WorkflowTemplate => Kind::WorkflowTemplate,
            KindArg::CronWorkflow => Kind::CronWorkflow,
        }
    }
}

/// A setting as its flag: `--memory-limit`, so errors name what the user typed.
pub fn flag(setting: Setting) -> String {
    format!("--{}", setting.key().replace('_', "-"))
}

impl WorkflowArgs {
    /// The flags as overrides of the definition's `workflow:` defaults.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            kind: Some(self.kind.into()),
            schedule: self.schedule.clone(),
            registry: self.registry.clone(),
            parallelism: self.parallelism,
            deadline: self.deadline.clone(),
            cpu: self.cpu.clone(),
            memory: self.memory.clone(),
            cpu_limit: self.cpu_limit.clone(),
            memory_limit: self.memory_limit.clone(),
            retry_limit: self.retry_limit,
            ttl: self.ttl.clone(),
            namespace: self.namespace.clone(),
            service_account: self.service_account.clone(),
            generate_name: self.generate_name.clone(),
            artifact_repository_ref: self.artifact_repository_ref.clone(),
            max_bytes: Some(self.max_bytes),
            name: flag,
        }
    }
}

pub fn run(cli: &Cli, args: &WorkflowArgs) -> Result<Spool> {
    let matrix = cli.load_matrix()?;
    let options = Options::resolve(&args.overrides(), &matrix)?;
    if let Some(tld) = crate::grammar::placeholder_registry(&options.registry) {
        eprintln!(
            "warning: the registry `{}` is a placeholder (`{tld}` never resolves): every pod \
             would fail to pull its image; give --registry or the definition's image.registry",
            options.registry
        );
    }
    let renderer = Renderer::load(args.templates.as_deref())?.with_test_args(args.tests.args()?);
    let cells = args.selection.cells(&matrix)?;
    // Only the compact form of the scripts is kept: 100,000 full scripts take a gigabyte.
    let scripts = Scripts::render(&renderer, &matrix, &cells)?;
    // The stream is written out a document at a time: a million cells' is 200 MB.
    let mut spool = Spool::new();
    stream(&matrix, &cells, scripts, &options, &mut spool).map_err(|err| {
        super::with_flags(err, |over: OverBudget| {
            anyhow::anyhow!("{over}; raise --max-bytes")
        })
    })?;
    Ok(spool)
}

/// The stream goes to stdout's spool as its documents are made.
impl Sink for Spool {
    fn document(&mut self, part: Part<'_>) -> Result<()> {
        (self.write_all(part.text.as_bytes()))
            .context("cannot write the workflow to its temporary file")
    }

    fn restart(&mut self) -> Result<()> {
        self.clear()
    }
}
