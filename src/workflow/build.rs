//! Assembling the Argo documents: the `build` script template every cell runs, the `cells`
//! template that loops over a group's cells, the entry template with one step per group, and
//! the split of the groups into as many documents as the size budget needs, each given to a
//! [`Sink`] as soon as it is made.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

use super::compact::Scripts;
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

/// Where the documents go, each as soon as it is made and measured: nothing of a document is
/// kept once it is given, so a million cells' stream is never in memory at once.
pub trait Sink {
    /// The next document of the stream.
    fn document(&mut self, part: Part<'_>) -> Result<()>;
    /// Every document given so far is void: one came out over the size budget, and the stream
    /// is given again from its first document, split finer.
    fn restart(&mut self) -> Result<()>;
}

/// One document of the stream as a [`Sink`] receives it.
pub struct Part<'a> {
    pub document: &'a Document,
    /// Its YAML text, `---` line included.
    pub text: &'a str,
    /// The cells it holds (indices into the cells given to [`stream`]), in order.
    pub cells: &'a [usize],
}

/// The emitted stream and what it holds, all in memory: for small selections and tests.
#[derive(Debug, Clone, Default)]
pub struct Emitted {
    pub documents: Vec<Document>,
    /// Cell ids per document, in order.
    pub cells: Vec<Vec<String>>,
    /// The YAML text of each document, `---` line included.
    pub texts: Vec<String>,
    /// The ids of all cells, to name each document's.
    ids: Vec<String>,
}

impl Emitted {
    /// The multi-document YAML stream `argo submit -` reads.
    pub fn yaml(&self) -> String {
        self.texts.concat()
    }
}

impl Sink for Emitted {
    fn document(&mut self, part: Part<'_>) -> Result<()> {
        self.documents.push(part.document.clone());
        self.texts.push(part.text.to_string());
        (self.cells).push(part.cells.iter().map(|&c| self.ids[c].clone()).collect());
        Ok(())
    }

    fn restart(&mut self) -> Result<()> {
        self.documents.clear();
        self.cells.clear();
        self.texts.clear();
        Ok(())
    }
}

/// A group's cells, or part of them: one step of the entry template. The step itself is made
/// only when its document is (its list of cells is most of the stream's bytes), and measured
/// once before, for the split.
struct Unit {
    group: usize,
    /// Its cells: these positions of its group's.
    range: std::ops::Range<usize>,
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

/// The manifests for `cells`, whose rendered scripts are `scripts` (same order), all in memory.
pub fn build(
    matrix: &Matrix,
    cells: &[Cell],
    scripts: Scripts,
    options: &Options,
) -> Result<Emitted> {
    let mut emitted = Emitted {
        ids: cells.iter().map(|c| c.id.clone()).collect(),
        ..Emitted::default()
    };
    stream(matrix, cells, scripts, options, &mut emitted)?;
    emitted.ids = Vec::new();
    Ok(emitted)
}

/// The manifests for `cells`, whose rendered scripts are `scripts` (same order), given to
/// `sink` a document at a time; how many documents the stream has. The scripts are dropped
/// once factored, before the documents are made.
pub fn stream(
    matrix: &Matrix,
    cells: &[Cell],
    scripts: Scripts,
    options: &Options,
    sink: &mut dyn Sink,
) -> Result<usize> {
    assert_eq!(cells.len(), scripts.len());
    let axis_params = axis_parameter_names(matrix)?;
    // The known fields, in the order of the scripts' known values (`compact::known_values`).
    let mut known_names = vec![CELL_PARAM.to_string()];
    known_names.extend(axis_params.iter().cloned());
    // A cell's image depends only on its value of the image's axis: one string per value.
    let tag_axis = matrix.image.tag_axis;
    let images: Vec<String> = (matrix.axes[tag_axis].values.iter())
        .map(|value| matrix.image.reference(&options.registry, &value.name))
        .collect();
    let longest = scripts.longest().map(|(len, name)| (len, name.to_string()));
    let factored = factor(
        |c| cells[c].id.as_str(),
        known_names,
        scripts,
        |c| images[cells[c].values[tag_axis]].as_str(),
        "script-line-",
    )?;
    drop(images);
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
    let mut steps = Steps::new(&factored, &grouping);
    let units = steps.units(options.max_bytes)?;
    let packer = Packer {
        matrix,
        cells,
        options,
        templates: vec![build_template, cells_template],
        steps: &steps,
        units: &units,
    };
    packer.pack(sink)
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

/// Makes the steps of the entry template: each group, cut so that no step's cell list is large.
struct Steps<'a> {
    factored: &'a Factored,
    grouping: &'a Grouping,
    /// The fields each cell carries in its group's list (the others are the group's).
    leaf: Vec<usize>,
    /// Digits of the steps' numbers (`cells-001`), set once the units are known.
    width: usize,
}

impl<'a> Steps<'a> {
    fn new(factored: &'a Factored, grouping: &'a Grouping) -> Self {
        let leaf = (0..factored.names.len())
            .filter(|&f| !grouping.hoisted[f])
            .collect();
        Steps {
            factored,
            grouping,
            leaf,
            width: 1,
        }
    }

    /// Cell `c`'s item in its group's list: its own fields.
    fn item(&self, c: usize) -> serde_json::Value {
        let factored = self.factored;
        let map: serde_json::Map<String, serde_json::Value> = (self.leaf.iter())
            .map(|&f| {
                let value = factored.values.get(c, f).to_string();
                (factored.names[f].clone(), serde_json::Value::String(value))
            })
            .collect();
        serde_json::Value::Object(map)
    }

    fn cells(&self, unit: &Unit) -> &'a [usize] {
        &self.grouping.groups[unit.group][unit.range.clone()]
    }

    /// The units, each measured as a step; the steps themselves are made again when needed.
    fn units(&mut self, max_bytes: usize) -> Result<Vec<Unit>> {
        let limit = max_bytes / UNIT_SHARE;
        let mut units = Vec::new();
        for (group, members) in self.grouping.groups.iter().enumerate() {
            let mut start = 0;
            let mut chunk_bytes = 2;
            for (at, &c) in members.iter().enumerate() {
                let bytes = serde_json::to_string(&self.item(c))?.len() + 1;
                if at > start && chunk_bytes + bytes > limit {
                    units.push(Unit::new(group, start..at));
                    start = at;
                    chunk_bytes = 2;
                }
                chunk_bytes += bytes;
            }
            units.push(Unit::new(group, start..members.len()));
        }
        self.width = units.len().to_string().len();
        for (u, unit) in units.iter_mut().enumerate() {
            self.check_group(unit)?;
            let text = serde_yaml::to_string(&self.step(u, unit)?)?;
            unit.estimate = text.len() + INDENT_PER_LINE * text.lines().count();
        }
        Ok(units)
    }

    /// Every cell of a unit has its group's values of the group fields.
    fn check_group(&self, unit: &Unit) -> Result<()> {
        let (factored, hoisted) = (self.factored, &self.grouping.hoisted);
        let first = self.grouping.groups[unit.group][0];
        for &c in self.cells(unit) {
            for f in (0..factored.names.len()).filter(|&f| hoisted[f]) {
                if factored.values.id(c, f) != factored.values.id(first, f) {
                    bail!(
                        "internal error: cells of one group differ in `{}`",
                        factored.names[f]
                    );
                }
            }
        }
        Ok(())
    }

    /// Unit number `u`'s step: its group's fields, and the list of its cells' own.
    fn step(&self, u: usize, unit: &Unit) -> Result<WorkflowStep> {
        let factored = self.factored;
        let first = self.grouping.groups[unit.group][0];
        let list: Vec<serde_json::Value> = self.cells(unit).iter().map(|&c| self.item(c)).collect();
        let mut parameters: Vec<Parameter> = (factored.names.iter().enumerate())
            .filter(|(f, _)| self.grouping.hoisted[*f])
            .map(|(f, name)| Parameter::with_value(name, factored.values.get(first, f).to_string()))
            .collect();
        parameters.push(Parameter::with_value(
            CELLS_PARAM,
            serde_json::to_string(&list)?,
        ));
        Ok(WorkflowStep {
            name: format!("cells-{:0width$}", u + 1, width = self.width),
            template: CELLS_TEMPLATE.into(),
            arguments: Some(Arguments { parameters }),
            with_param: None,
            continue_on: None,
        })
    }
}

impl Unit {
    fn new(group: usize, range: std::ops::Range<usize>) -> Self {
        Unit {
            group,
            range,
            estimate: 0,
        }
    }
}

/// Puts the units into documents and gives them to a sink.
struct Packer<'a> {
    matrix: &'a Matrix,
    cells: &'a [Cell],
    options: &'a Options,
    /// The templates every document carries after its entry template.
    templates: Vec<Template>,
    steps: &'a Steps<'a>,
    units: &'a [Unit],
}

impl Packer<'_> {
    /// Puts the units into as few documents as the budget allows, in order; how many.
    ///
    /// A document's size is known only once it is written out, and a document over the budget
    /// makes the whole stream split again, finer: the documents go to the sink as they are
    /// made, and the sink starts over then (with the default budget it never has to).
    fn pack(&self, sink: &mut dyn Sink) -> Result<usize> {
        let max_bytes = self.options.max_bytes;
        let empty = self.document(Vec::new(), &[], (1, 1))?;
        let base = serde_yaml::to_string(&empty)?.len();
        let mut target = max_bytes;
        for attempt in 0..8 {
            if attempt > 0 {
                sink.restart()?;
            }
            let parts = self.split(base, target);
            let mut over = 0;
            for (i, part) in parts.iter().enumerate() {
                let members: Vec<usize> = (part.clone())
                    .flat_map(|u| self.steps.cells(&self.units[u]).iter().copied())
                    .collect();
                let steps = (part.clone())
                    .map(|u| self.steps.step(u, &self.units[u]))
                    .collect::<Result<Vec<_>>>()?;
                let doc = self.document(steps, &members, (i + 1, parts.len()))?;
                super::yaml11::check(&doc)?;
                let text = format!("---\n{}", serde_yaml::to_string(&doc)?);
                over = over.max(text.len().saturating_sub(max_bytes));
                // Past a document over the budget the rest are only measured: the stream is
                // made again.
                if over == 0 {
                    sink.document(Part {
                        document: &doc,
                        text: &text,
                        cells: &members,
                    })?;
                }
            }
            if over == 0 {
                return Ok(parts.len());
            }
            let alone_too_large = |p: &std::ops::Range<usize>| {
                p.len() == 1 && self.units[p.start].estimate + base > max_bytes
            };
            if parts.iter().any(alone_too_large) {
                break;
            }
            target = target.saturating_sub(over + 1024);
        }
        Err(OverBudget { max_bytes }.into())
    }

    /// The units of each document (ranges of unit numbers), by their estimated sizes, each
    /// document's under `target` unless one unit alone is over it.
    fn split(&self, base: usize, target: usize) -> Vec<std::ops::Range<usize>> {
        let mut parts = Vec::new();
        let mut start = 0;
        let mut size = base;
        for (u, unit) in self.units.iter().enumerate() {
            if u > start && size + unit.estimate > target {
                parts.push(start..u);
                start = u;
                size = base;
            }
            size += unit.estimate;
        }
        parts.push(start..self.units.len());
        parts
    }

    /// One document holding `steps` (covering cells `members`), part `part.0` of `part.1`.
    fn document(
        &self,
        steps: Vec<WorkflowStep>,
        members: &[usize],
        part: (usize, usize),
    ) -> Result<Document> {
        let (matrix, cells, options) = (self.matrix, self.cells, self.options);
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
        all_templates.extend(self.templates.iter().cloned());
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
}
