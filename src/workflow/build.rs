//! Assembling the Argo documents: the `build` script template every cell runs, the `cells`
//! template that loops over a group's cells, the entry template with one step per group, and
//! the split of the groups into as many documents as the size budget needs.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

use super::compact::{Scripts, Values};
use super::factor::{factor, Factored};
use super::group::{self, Grouping};
use super::options::{Kind, Options, POD_TEMPLATE_LIMIT};
use super::types::*;
use crate::cell::Cell;
use crate::definition::Matrix;

/// Label (and annotation) key prefix for everything `matrix` puts on Argo objects and pods.
pub const LABEL_PREFIX: &str = "matrix.cpython";
/// The script writes its result (`{"cell","stage","status"}`) here; Argo reads it back.
pub const RESULT_FILE: &str = "/tmp/matrix-result.json";
/// Where analyzer cells collect SARIF files (the script's `MATRIX_ARTIFACT_DIR` default).
pub const ARTIFACT_DIR: &str = "/sarif-data";
/// The emptyDir volume holding the script's own copy of its output (`MATRIX_LOG_FILE`). The
/// wait container mounts the main container's volumes, so it can save a file there as an
/// artifact even when the main container was killed before its own exit steps.
pub const LOG_VOLUME: &str = "matrix-log";
pub const LOG_DIR: &str = "/matrix-log";
/// The log file, and the output artifact holding it (stored as it is, not as a tarball).
pub const LOG_FILE: &str = "/matrix-log/matrix.log";
pub const LOG_ARTIFACT: &str = "log";
/// The output artifact of analyzer cells' SARIF files.
pub const SARIF_ARTIFACT: &str = "sarif-data";
/// The output parameter holding the script's result line.
pub const RESULT_PARAM: &str = "result";

const ENTRY_TEMPLATE: &str = "matrix";
/// The template looping over a group's cells (what `matrix fetch` reads the cells from).
pub const CELLS_TEMPLATE: &str = "cells";
/// The template every cell's pod runs.
pub const BUILD_TEMPLATE: &str = "build";
/// The `cells` template's parameter holding its cells as a JSON list.
pub const CELLS_PARAM: &str = "cells";
/// The parameter holding the cell id.
pub const CELL_PARAM: &str = "cell";
/// A group's cells go into one step while their JSON list stays under this share of the budget.
const UNIT_SHARE: usize = 4;
/// Bytes of indentation a line of a step gains inside a document, for the size estimate.
const INDENT_PER_LINE: usize = 12;

/// The emitted stream and what it holds.
#[derive(Debug, Clone)]
pub struct Emitted {
    pub documents: Vec<Document>,
    /// Cell ids per document, in order.
    pub cells: Vec<Vec<String>>,
    /// The YAML text of each document, `---` line included.
    pub texts: Vec<String>,
}

impl Emitted {
    /// The multi-document YAML stream `argo submit -` reads.
    pub fn yaml(&self) -> String {
        self.texts.concat()
    }
}

/// A group's cells, or part of them: one step of the entry template.
struct Unit {
    cells: Vec<usize>,
    step: WorkflowStep,
    estimate: usize,
}

/// Even one group of cells, with the templates, is larger than the documents' size budget
/// ([`Options::max_bytes`]); the caller says how to raise it (the command line: `--max-bytes`).
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot fit the workflow into documents of at most {max_bytes} bytes: even one group of \
     cells with the templates is larger"
)]
pub struct OverBudget {
    pub max_bytes: usize,
}

/// The manifests for `cells`, whose rendered scripts are `scripts` (same order). The scripts
/// are dropped once factored, before the documents are made.
pub fn build(
    matrix: &Matrix,
    cells: &[Cell],
    scripts: Scripts,
    options: &Options,
) -> Result<Emitted> {
    assert_eq!(cells.len(), scripts.len());
    let axis_params = axis_parameter_names(matrix)?;
    let mut known_names = vec![CELL_PARAM.to_string()];
    known_names.extend(axis_params.iter().cloned());
    let known = Values::new(cells.len(), known_names.len(), |c, f| match f {
        0 => cells[c].id.as_str(),
        _ => matrix.axes[f - 1].values[cells[c].values[f - 1]]
            .name
            .as_str(),
    });
    let ids: Vec<&str> = cells.iter().map(|c| c.id.as_str()).collect();
    let images: Vec<String> = cells
        .iter()
        .map(|c| c.image(matrix, &options.registry))
        .collect();
    let image_refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let factored = factor(
        &ids,
        known_names,
        known,
        &scripts,
        &image_refs,
        "script-line-",
    )?;
    let longest = scripts.longest().map(|(len, name)| (len, name.to_string()));
    drop(image_refs);
    drop((scripts, images, ids));
    check_names(&factored.names)?;

    // The cell id is unique per cell: grouping by it would make one group per cell.
    let mut pinned = vec![false; factored.names.len()];
    pinned[0] = true;
    let grouping = group::choose(&factored.names, &factored.values, &pinned);

    let build_template = build_template(matrix, &factored, &axis_params, options);
    let pod_template = serde_json::to_string(&build_template)?.len();
    let (longest, file_name) = longest.expect("cells are not empty");
    // The substituted script, and the inputs it was made from, which the pod also carries.
    if pod_template + 2 * longest > POD_TEMPLATE_LIMIT {
        bail!(
            "the pod of cell {} would carry {} bytes of template, over the {POD_TEMPLATE_LIMIT} \
             Kubernetes allows in one annotation: shorten the script",
            file_name.trim_end_matches(".sh"),
            pod_template + 2 * longest
        );
    }
    let cells_template = cells_template(&factored, &grouping);
    let units = units(&factored, &grouping, options.max_bytes)?;
    let templates = vec![build_template, cells_template];
    pack(matrix, cells, options, &templates, units)
}

/// Argo parameter names (`[-a-zA-Z0-9_]+`) for the axes: the axis name, `.` read as `_`.
fn axis_parameter_names(matrix: &Matrix) -> Result<Vec<String>> {
    Ok(matrix
        .axes
        .iter()
        .map(|axis| axis.name.replace('.', "_"))
        .collect())
}

/// Parameter names must be distinct and not clash with the ones `matrix` uses itself.
fn check_names(names: &[String]) -> Result<()> {
    let mut seen = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        if name == CELLS_PARAM {
            bail!("an axis may not be called `{CELLS_PARAM}` in a workflow: `matrix` uses that parameter name itself");
        }
        if seen.insert(name.as_str(), i).is_some() {
            bail!(
                "two workflow parameters would be called `{name}` (an axis name with `.` read \
                 as `_`, or clashing with `{CELL_PARAM}`, `image` or `script-line-N`): rename \
                 the axis"
            );
        }
    }
    Ok(())
}

fn input(name: &str) -> String {
    format!("{{{{inputs.parameters.{name}}}}}")
}

/// The template every cell's pod runs: its script, in its image, on its architecture.
fn build_template(
    matrix: &Matrix,
    factored: &Factored,
    axis_params: &[String],
    options: &Options,
) -> Template {
    let placeholder = |name: &str| format!("inputs.parameters.{name}");
    let mut labels = BTreeMap::new();
    labels.insert(format!("{LABEL_PREFIX}/cell"), input(CELL_PARAM));
    for (axis, param) in matrix.axes.iter().zip(axis_params) {
        labels.insert(format!("{LABEL_PREFIX}/{}", axis.name), input(param));
    }
    let mut node_selector = BTreeMap::new();
    node_selector.insert(
        "kubernetes.io/arch".to_string(),
        input(&axis_params[options.arch_axis]),
    );
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_string(), options.cpu.clone());
    requests.insert("memory".to_string(), options.memory.clone());
    let mut limits = BTreeMap::new();
    if let Some(cpu) = &options.cpu_limit {
        limits.insert("cpu".to_string(), cpu.clone());
    }
    if let Some(memory) = &options.memory_limit {
        limits.insert("memory".to_string(), memory.clone());
    }
    Template {
        name: BUILD_TEMPLATE.into(),
        inputs: Some(Inputs {
            parameters: factored.names.iter().map(Parameter::named).collect(),
            artifacts: Vec::new(),
        }),
        outputs: Some(outputs()),
        metadata: Some(PodMetadata { labels }),
        node_selector,
        active_deadline_seconds: Some(options.deadline_seconds.to_string()),
        // OnError: Argo's "Error" phase is the infrastructure (evicted or deleted pod, image
        // pull, node loss); a non-zero exit, an OOM kill or the deadline is a result.
        retry_strategy: (options.retry_limit > 0).then(|| RetryStrategy {
            limit: options.retry_limit.to_string(),
            retry_policy: "OnError",
            backoff: Backoff {
                duration: "1m".into(),
                factor: "2".into(),
            },
        }),
        script: Some(ScriptTemplate {
            image: factored.image.to_template(&factored.names, placeholder),
            command: vec!["bash".into()],
            env: vec![
                EnvVar {
                    name: "MATRIX_RESULT_FILE".into(),
                    value: Some(RESULT_FILE.into()),
                    value_from: None,
                },
                EnvVar {
                    name: "MATRIX_LOG_FILE".into(),
                    value: Some(LOG_FILE.into()),
                    value_from: None,
                },
                // `make -j` follows the CPU request, not the node's core count.
                EnvVar {
                    name: "MATRIX_JOBS".into(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        resource_field_ref: ResourceFieldSelector {
                            container_name: "main".into(),
                            resource: "requests.cpu".into(),
                            divisor: "1".into(),
                        },
                    }),
                },
            ],
            volume_mounts: vec![VolumeMount {
                name: LOG_VOLUME.into(),
                mount_path: LOG_DIR.into(),
                read_only: false,
            }],
            resources: Resources { requests, limits },
            source: factored.script.to_template(&factored.names, placeholder),
        }),
        volumes: vec![Volume {
            name: LOG_VOLUME.into(),
            secret: None,
            empty_dir: Some(EmptyDirVolumeSource {}),
        }],
        ..Template::default()
    }
}

/// The cell's result line, its SARIF files and its log.
fn outputs() -> Outputs {
    Outputs {
        parameters: vec![Parameter {
            name: RESULT_PARAM.into(),
            value: None,
            // Empty when the pod was killed (OOM, deadline) before the script's exit trap.
            value_from: Some(ValueFrom {
                path: RESULT_FILE.into(),
                default: String::new(),
            }),
        }],
        artifacts: vec![
            // Only analyzer cells collect files; for the others the directory does not exist.
            Artifact {
                name: SARIF_ARTIFACT.into(),
                path: ARTIFACT_DIR.into(),
                optional: true,
                archive: None,
            },
            // Optional: a pod that never started its script has none. Stored as it is, so
            // that `argo cp` and the artifact repository hold the log itself.
            Artifact {
                name: LOG_ARTIFACT.into(),
                path: LOG_FILE.into(),
                optional: true,
                archive: Some(ArchiveStrategy {
                    none: NoneStrategy {},
                }),
            },
        ],
    }
}

/// Runs `build` once per cell of a group: group fields come from its inputs, cell fields
/// from the items of its `cells` list.
fn cells_template(factored: &Factored, grouping: &Grouping) -> Template {
    let mut inputs: Vec<Parameter> = factored
        .names
        .iter()
        .zip(&grouping.hoisted)
        .filter(|(_, &h)| h)
        .map(|(name, _)| Parameter::named(name))
        .collect();
    inputs.push(Parameter::named(CELLS_PARAM));
    let arguments = factored
        .names
        .iter()
        .zip(&grouping.hoisted)
        .map(|(name, &hoisted)| {
            let value = if hoisted {
                input(name)
            } else {
                format!("{{{{item.{name}}}}}")
            };
            Parameter::with_value(name, value)
        })
        .collect();
    Template {
        name: CELLS_TEMPLATE.into(),
        inputs: Some(Inputs {
            parameters: inputs,
            artifacts: Vec::new(),
        }),
        fail_fast: Some(false),
        steps: vec![vec![WorkflowStep {
            name: BUILD_TEMPLATE.into(),
            template: BUILD_TEMPLATE.into(),
            arguments: Some(Arguments {
                parameters: arguments,
            }),
            with_param: Some(input(CELLS_PARAM)),
            // One cell's failure is that cell's result: the others still run.
            continue_on: Some(ContinueOn {
                failed: true,
                error: true,
            }),
        }]],
        ..Template::default()
    }
}

/// The steps of the entry template: each group, cut so that no step's cell list is large.
fn units(factored: &Factored, grouping: &Grouping, max_bytes: usize) -> Result<Vec<Unit>> {
    let leaf: Vec<usize> = (0..factored.names.len())
        .filter(|&f| !grouping.hoisted[f])
        .collect();
    let item = |c: usize| -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = leaf
            .iter()
            .map(|&f| {
                (
                    factored.names[f].clone(),
                    serde_json::Value::String(factored.values.get(c, f).to_string()),
                )
            })
            .collect();
        serde_json::Value::Object(map)
    };
    let limit = max_bytes / UNIT_SHARE;
    let mut units = Vec::new();
    for (g, members) in grouping.groups.iter().enumerate() {
        let mut chunk: Vec<usize> = Vec::new();
        let mut chunk_bytes = 2;
        for &c in members {
            let bytes = serde_json::to_string(&item(c))?.len() + 1;
            if !chunk.is_empty() && chunk_bytes + bytes > limit {
                units.push((g, std::mem::take(&mut chunk)));
                chunk_bytes = 2;
            }
            chunk.push(c);
            chunk_bytes += bytes;
        }
        units.push((g, chunk));
    }
    let width = units.len().to_string().len();
    units
        .into_iter()
        .enumerate()
        .map(|(u, (group, cells))| {
            let list: Vec<serde_json::Value> = cells.iter().map(|&c| item(c)).collect();
            let first = grouping.groups[group][0];
            for &c in &cells {
                for f in (0..factored.names.len()).filter(|&f| grouping.hoisted[f]) {
                    if factored.values.id(c, f) != factored.values.id(first, f) {
                        bail!(
                            "internal error: cells of one group differ in `{}`",
                            factored.names[f]
                        );
                    }
                }
            }
            let mut parameters: Vec<Parameter> = factored
                .names
                .iter()
                .enumerate()
                .filter(|(f, _)| grouping.hoisted[*f])
                .map(|(f, name)| {
                    Parameter::with_value(name, factored.values.get(first, f).to_string())
                })
                .collect();
            parameters.push(Parameter::with_value(
                CELLS_PARAM,
                serde_json::to_string(&list)?,
            ));
            let step = WorkflowStep {
                name: format!("cells-{:0width$}", u + 1),
                template: CELLS_TEMPLATE.into(),
                arguments: Some(Arguments { parameters }),
                with_param: None,
                continue_on: None,
            };
            let text = serde_yaml::to_string(&step)?;
            let estimate = text.len() + INDENT_PER_LINE * text.lines().count();
            Ok(Unit {
                cells,
                step,
                estimate,
            })
        })
        .collect()
}

/// Puts the units into as few documents as the budget allows, in order.
fn pack(
    matrix: &Matrix,
    cells: &[Cell],
    options: &Options,
    templates: &[Template],
    units: Vec<Unit>,
) -> Result<Emitted> {
    let empty = document(matrix, cells, options, templates, Vec::new(), &[], (1, 1))?;
    let base = serde_yaml::to_string(&empty)?.len();
    let mut target = options.max_bytes;
    for _attempt in 0..8 {
        let mut parts: Vec<Vec<&Unit>> = vec![Vec::new()];
        let mut size = base;
        for unit in &units {
            let current = parts.last_mut().expect("one part");
            if !current.is_empty() && size + unit.estimate > target {
                parts.push(Vec::new());
                size = base;
            }
            parts.last_mut().expect("one part").push(unit);
            size += unit.estimate;
        }
        let total = parts.len();
        let mut emitted = Emitted {
            documents: Vec::new(),
            cells: Vec::new(),
            texts: Vec::new(),
        };
        let mut over = 0;
        for (i, part) in parts.iter().enumerate() {
            let members: Vec<usize> = part.iter().flat_map(|u| u.cells.iter().copied()).collect();
            let steps: Vec<WorkflowStep> = part.iter().map(|u| u.step.clone()).collect();
            let doc = document(
                matrix,
                cells,
                options,
                templates,
                steps,
                &members,
                (i + 1, total),
            )?;
            super::yaml11::check(&doc)?;
            let text = format!("---\n{}", serde_yaml::to_string(&doc)?);
            over = over.max(text.len().saturating_sub(options.max_bytes));
            emitted
                .cells
                .push(members.iter().map(|&c| cells[c].id.clone()).collect());
            emitted.documents.push(doc);
            emitted.texts.push(text);
        }
        if over == 0 {
            return Ok(emitted);
        }
        if parts
            .iter()
            .any(|p| p.len() == 1 && p[0].estimate + base > options.max_bytes)
        {
            break;
        }
        target = target.saturating_sub(over + 1024);
    }
    Err(OverBudget {
        max_bytes: options.max_bytes,
    }
    .into())
}

/// One document holding `steps` (covering cells `members`), part `part.0` of `part.1`.
fn document(
    matrix: &Matrix,
    cells: &[Cell],
    options: &Options,
    templates: &[Template],
    steps: Vec<WorkflowStep>,
    members: &[usize],
    part: (usize, usize),
) -> Result<Document> {
    let (index, total) = part;
    let width = total.to_string().len();
    let mut labels = BTreeMap::new();
    if total > 1 {
        labels.insert(
            format!("{LABEL_PREFIX}/part"),
            format!("{index:0width$}-of-{total:0width$}"),
        );
    }
    // Axes whose value every cell of the document shares: `argo list -l` can filter on them.
    for (a, axis) in matrix.axes.iter().enumerate() {
        let mut values = members.iter().map(|&c| cells[c].values[a]);
        if let Some(first) = values.next() {
            if values.all(|v| v == first) {
                labels.insert(
                    format!("{LABEL_PREFIX}/{}", axis.name),
                    axis.values[first].name.clone(),
                );
            }
        }
    }
    let prefix = if total > 1 {
        format!("{}{index:0width$}-", options.generate_name)
    } else {
        options.generate_name.clone()
    };
    let mut all_templates = vec![Template {
        name: ENTRY_TEMPLATE.into(),
        fail_fast: Some(false),
        steps: vec![steps],
        ..Template::default()
    }];
    all_templates.extend(templates.iter().cloned());
    let spec = WorkflowSpec {
        entrypoint: ENTRY_TEMPLATE.into(),
        parallelism: options.parallelism,
        service_account_name: options.service_account.clone(),
        artifact_repository_ref: options.artifact_repository_ref.clone(),
        archive_logs: true,
        pod_gc: PodGc {
            // A passed cell's log, result and files are its outputs: its pod goes at once. A
            // failed cell's pod stays until the Workflow's TTL deletes it with the Workflow
            // (its owner), so `argo logs` can still read the log its artifact may lack.
            strategy: "OnPodSuccess",
        },
        ttl_strategy: TtlStrategy {
            seconds_after_completion: options.ttl_seconds,
        },
        templates: all_templates,
    };
    let fixed_name = prefix.trim_end_matches('-').to_string();
    let metadata = |name: Option<String>, generate_name: Option<String>| ObjectMeta {
        name,
        generate_name,
        namespace: options.namespace.clone(),
        labels: labels.clone(),
    };
    Ok(match options.kind {
        Kind::Workflow => Document {
            api_version: API_VERSION,
            kind: "Workflow",
            metadata: metadata(None, Some(prefix)),
            spec: DocumentSpec::Workflow(spec),
        },
        Kind::WorkflowTemplate => Document {
            api_version: API_VERSION,
            kind: "WorkflowTemplate",
            metadata: metadata(Some(fixed_name), None),
            spec: DocumentSpec::Workflow(spec),
        },
        Kind::CronWorkflow => Document {
            api_version: API_VERSION,
            kind: "CronWorkflow",
            metadata: metadata(Some(fixed_name), None),
            spec: DocumentSpec::Cron(CronWorkflowSpec {
                schedules: vec![options
                    .schedule
                    .clone()
                    .context("a CronWorkflow needs a schedule")?],
                // A nightly run still going when the next is due is not doubled.
                concurrency_policy: "Forbid",
                workflow_metadata: ObjectMeta {
                    labels,
                    ..ObjectMeta::default()
                },
                workflow_spec: spec,
            }),
        },
    })
}
