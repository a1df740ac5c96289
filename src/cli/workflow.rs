//! `matrix workflow`: Argo Workflows manifests for the selected cells on stdout, ready for
//! `argo submit -`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{Cli, SelectionArgs};
use crate::definition::Matrix;
use crate::explain::select_cells;
use crate::render::Renderer;
use crate::workflow::options::{
    check_generate_name, check_quantity, check_schedule, duration_knob,
    parse_artifact_repository_ref, ARGO_OBJECT_LIMIT, DEFAULT_MAX_BYTES,
};
use crate::workflow::{build, Kind, Options};

#[derive(Debug, Args)]
pub struct WorkflowArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// What to emit.
    #[arg(long, value_enum, default_value_t = Kind::Workflow)]
    pub kind: Kind,

    /// Cron schedule of a CronWorkflow, e.g. "0 3 * * *" (only with --kind cron-workflow).
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,

    /// Container registry of the images (default: the definition's `image.registry`).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    /// Use the templates in DIR (it must hold build.sh.j2), as `render --templates` does.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// How many cells run at once (default: the definition's `workflow.parallelism`, else 3).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<u32>,

    /// Per-cell deadline, e.g. 4h, 90m, 1h30m (default: `workflow.deadline`, else 4h).
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,

    /// CPU request per cell; `make -j` follows it (default: `workflow.cpu`, else 2).
    #[arg(long, value_name = "QUANTITY")]
    pub cpu: Option<String>,

    /// Memory request per cell (default: `workflow.memory`, else 8Gi).
    #[arg(long, value_name = "QUANTITY")]
    pub memory: Option<String>,

    /// CPU limit per cell (default: `workflow.cpu_limit`, else none).
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_limit: Option<String>,

    /// Memory limit per cell (default: `workflow.memory_limit`, else 16Gi).
    #[arg(long, value_name = "QUANTITY")]
    pub memory_limit: Option<String>,

    /// Retries of a cell after an infrastructure error, never after a failed build
    /// (default: `workflow.retry_limit`, else 2).
    #[arg(long, value_name = "N")]
    pub retry_limit: Option<u32>,

    /// How long a finished Workflow is kept, e.g. 7d (default: `workflow.ttl`, else 7d).
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,

    /// Namespace of the objects (default: the one `argo submit` uses).
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Service account the pods run as.
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,

    /// Name prefix (default: `workflow.generate_name`, else build-cpython-); split documents
    /// add a part number, templates and cron workflows use it as their name.
    #[arg(long, value_name = "PREFIX")]
    pub generate_name: Option<String>,

    /// Artifact repository for logs and artifacts: KEY or CONFIGMAP:KEY of Argo's
    /// artifact-repositories config map (default: the namespace's default repository).
    #[arg(long, value_name = "[CONFIGMAP:]KEY")]
    pub artifact_repository_ref: Option<String>,

    /// Size budget of one document in bytes; larger selections are split into several.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BYTES)]
    pub max_bytes: usize,
}

impl WorkflowArgs {
    /// The arguments of a flagless `matrix workflow`, as clap parses them.
    pub fn defaults() -> Self {
        use clap::{Args as _, FromArgMatches as _};
        let matches = Self::augment_args(clap::Command::new("workflow"))
            .try_get_matches_from(["workflow"])
            .expect("no flag is required");
        Self::from_arg_matches(&matches).expect("defaults parse")
    }

    /// Flags over the definition's `workflow:` defaults over built-in defaults, all checked.
    pub fn options(&self, matrix: &Matrix) -> Result<Options> {
        let raw = &matrix.workflow.raw;
        let from = |flag: &str, has_flag: bool| {
            if has_flag {
                flag.to_string()
            } else {
                format!(
                    "`workflow.{}` of {}",
                    &flag[2..].replace('-', "_"),
                    matrix.origin
                )
            }
        };
        let pick = |flag: &Option<String>, default: &Option<String>, builtin: &str| {
            flag.clone()
                .or_else(|| default.clone())
                .unwrap_or_else(|| builtin.to_string())
        };
        let schedule = match (self.kind, &self.schedule) {
            (Kind::CronWorkflow, Some(s)) => Some(check_schedule(s)?),
            (Kind::CronWorkflow, None) => {
                bail!("--kind cron-workflow needs --schedule, e.g. --schedule \"0 3 * * *\"")
            }
            (_, Some(_)) => bail!("--schedule only goes with --kind cron-workflow"),
            (_, None) => None,
        };
        if self.max_bytes > ARGO_OBJECT_LIMIT {
            bail!(
                "--max-bytes {} is over the {ARGO_OBJECT_LIMIT} bytes Argo accepts for one object",
                self.max_bytes
            );
        }
        let quantity = |flag: &str, value: &Option<String>, default: &Option<String>| {
            value
                .as_ref()
                .or(default.as_ref())
                .map(|q| check_quantity(&from(flag, value.is_some()), q))
                .transpose()
        };
        let parallelism = self.parallelism.or(raw.parallelism).unwrap_or(3);
        if parallelism == 0 {
            bail!("--parallelism must be at least 1");
        }
        Ok(Options {
            kind: self.kind,
            schedule,
            registry: self
                .registry
                .clone()
                .unwrap_or_else(|| matrix.image.registry.clone()),
            arch_axis: matrix.workflow.arch_axis.with_context(|| {
                format!(
                    "{} has no axis named `platform`: set `workflow.arch_axis` to the axis whose \
                     values are kubernetes.io/arch values",
                    matrix.origin
                )
            })?,
            parallelism,
            deadline_seconds: duration_knob(
                &pick(&self.deadline, &raw.deadline, "4h"),
                &from("--deadline", self.deadline.is_some()),
            )?,
            cpu: check_quantity(
                &from("--cpu", self.cpu.is_some()),
                &pick(&self.cpu, &raw.cpu, "2"),
            )?,
            memory: check_quantity(
                &from("--memory", self.memory.is_some()),
                &pick(&self.memory, &raw.memory, "8Gi"),
            )?,
            cpu_limit: quantity("--cpu-limit", &self.cpu_limit, &raw.cpu_limit)?,
            memory_limit: quantity(
                "--memory-limit",
                &self.memory_limit,
                &raw.memory_limit.clone().or(Some("16Gi".into())),
            )?,
            retry_limit: self.retry_limit.or(raw.retry_limit).unwrap_or(2),
            ttl_seconds: duration_knob(
                &pick(&self.ttl, &raw.ttl, "7d"),
                &from("--ttl", self.ttl.is_some()),
            )?,
            namespace: self.namespace.clone(),
            service_account: self.service_account.clone(),
            generate_name: check_generate_name(&pick(
                &self.generate_name,
                &raw.generate_name,
                "build-cpython-",
            ))
            .with_context(|| from("--generate-name", self.generate_name.is_some()))?,
            artifact_repository_ref: self
                .artifact_repository_ref
                .as_deref()
                .map(parse_artifact_repository_ref)
                .transpose()?,
            max_bytes: self.max_bytes,
        })
    }
}

pub fn run(cli: &Cli, args: &WorkflowArgs) -> Result<Vec<u8>> {
    let matrix = cli.load_matrix()?;
    let options = args.options(&matrix)?;
    let renderer = Renderer::load(args.templates.as_deref())?;
    let cells = select_cells(&matrix, &args.selection.selection())?;
    let scripts = renderer.render_all(&matrix, &cells)?;
    let emitted = build(&matrix, &cells, &scripts, &options)?;
    Ok(emitted.yaml().into_bytes())
}
