//! What `argo get WORKFLOW -o json` says, as far as `fetch` reads it: the Workflow's own cells
//! (its `cells` steps' parameters, named by the `build` template's labels) and, per cell, the
//! node of its pod and how that pod ended.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::workflow::build::{
    BUILD_TEMPLATE, CELLS_PARAM, CELLS_TEMPLATE, CELL_PARAM, LABEL_PREFIX,
};

#[derive(Debug, Deserialize)]
pub struct Workflow {
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: Spec,
    #[serde(default)]
    pub status: Status,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Spec {
    #[serde(default)]
    pub templates: Vec<Template>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(default)]
    pub nodes: BTreeMap<String, Node>,
    /// A Workflow submitted from a WorkflowTemplate keeps its templates here.
    #[serde(default)]
    pub stored_workflow_template_spec: Option<Spec>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Template {
    pub name: String,
    #[serde(default)]
    pub steps: Vec<Vec<Step>>,
    #[serde(default)]
    pub inputs: Io,
    #[serde(default)]
    pub metadata: PodMetadata,
    #[serde(default)]
    pub script: Option<Script>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PodMetadata {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Script {
    #[serde(default)]
    pub image: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Step {
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub arguments: Io,
}

/// Parameters and artifacts: a template's inputs, a step's arguments, a node's outputs.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Io {
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub artifacts: Vec<ArtifactRef>,
}

impl Io {
    pub fn parameter(&self, name: &str) -> Option<&str> {
        (self.parameters.iter())
            .find(|p| p.name == name)
            .and_then(|p| p.value.as_deref())
    }

    pub fn has_artifact(&self, name: &str) -> bool {
        self.artifacts.iter().any(|a| a.name == name)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Parameter {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ArtifactRef {
    pub name: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub template_name: String,
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub inputs: Io,
    #[serde(default)]
    pub outputs: Io,
}

/// One cell as the Workflow declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellSpec {
    pub id: String,
    pub image: String,
    /// One value per axis, in [`Cells::axes`] order.
    pub values: Vec<String>,
}

/// The Workflow's cells and its axes (in the definition's order).
#[derive(Debug, Clone)]
pub struct Cells {
    pub axes: Vec<String>,
    pub cells: Vec<CellSpec>,
}

impl Workflow {
    pub fn parse(json: &[u8], what: &str) -> Result<Workflow> {
        serde_json::from_slice(json)
            .with_context(|| format!("{what}: not a Workflow as `argo get -o json` prints one"))
    }

    fn templates(&self) -> &[Template] {
        match &self.status.stored_workflow_template_spec {
            Some(stored) if self.spec.templates.is_empty() => &stored.templates,
            _ => &self.spec.templates,
        }
    }

    /// The cells its `cells` steps list, with their axis values and image.
    pub fn cells(&self) -> Result<Cells> {
        let name = &self.metadata.name;
        let Some(build) = self.templates().iter().find(|t| t.name == BUILD_TEMPLATE) else {
            bail!("Workflow {name} has no `{BUILD_TEMPLATE}` template: it is not one `matrix workflow` made");
        };
        let axes = axis_parameters(build);
        let image = build.script.as_ref().map_or("", |s| s.image.as_str());
        let mut cells = Vec::new();
        for step in (self.templates().iter())
            .flat_map(|t| t.steps.iter().flatten())
            .filter(|s| s.template == CELLS_TEMPLATE)
        {
            for params in step_cells(step)
                .with_context(|| format!("Workflow {name}: a `{CELLS_TEMPLATE}` step"))?
            {
                let Some(id) = params.get(CELL_PARAM) else {
                    bail!("Workflow {name}: a cell of a `{CELLS_TEMPLATE}` step has no `{CELL_PARAM}` parameter");
                };
                cells.push(CellSpec {
                    id: id.clone(),
                    image: substitute(image, &params),
                    values: (axes.iter())
                        .map(|(_, param)| params.get(param).cloned().unwrap_or_default())
                        .collect(),
                });
            }
        }
        Ok(Cells {
            axes: axes.into_iter().map(|(axis, _)| axis).collect(),
            cells,
        })
    }

    /// Each cell's deciding node: its last pod (retries make several).
    pub fn cell_nodes(&self) -> BTreeMap<String, &Node> {
        let mut by_cell: BTreeMap<String, &Node> = BTreeMap::new();
        for node in self.status.nodes.values() {
            if node.kind != "Pod" || node.template_name != BUILD_TEMPLATE {
                continue;
            }
            let Some(cell) = node.inputs.parameter(CELL_PARAM) else {
                continue;
            };
            let later = |old: &&Node| old.started_at <= node.started_at;
            if by_cell.get(cell).is_none_or(later) {
                by_cell.insert(cell.to_string(), node);
            }
        }
        by_cell
    }
}

/// (axis, parameter) pairs, in the order of the build template's inputs: the pod labels
/// `matrix.cpython/<axis>: {{inputs.parameters.<parameter>}}` name each axis's parameter.
fn axis_parameters(build: &Template) -> Vec<(String, String)> {
    let prefix = format!("{LABEL_PREFIX}/");
    let axis_of: BTreeMap<&str, &str> = (build.metadata.labels.iter())
        .filter_map(|(key, value)| {
            let axis = key.strip_prefix(&prefix)?;
            let param = value
                .strip_prefix("{{inputs.parameters.")?
                .strip_suffix("}}")?;
            Some((param, axis))
        })
        .collect();
    (build.inputs.parameters.iter())
        .filter(|p| p.name != CELL_PARAM)
        .filter_map(|p| Some((axis_of.get(p.name.as_str())?.to_string(), p.name.clone())))
        .collect()
}

/// A `cells` step's cells: its own parameters (shared by the group) joined with each item of
/// its `cells` JSON list.
fn step_cells(step: &Step) -> Result<Vec<BTreeMap<String, String>>> {
    let mut shared = BTreeMap::new();
    let mut list = None;
    for p in &step.arguments.parameters {
        let value = p.value.clone().unwrap_or_default();
        if p.name == CELLS_PARAM {
            list = Some(value);
        } else {
            shared.insert(p.name.clone(), value);
        }
    }
    let list = list.with_context(|| format!("no `{CELLS_PARAM}` parameter"))?;
    let items: Vec<BTreeMap<String, String>> = serde_json::from_str(&list)
        .with_context(|| format!("its `{CELLS_PARAM}` parameter is not a JSON list of objects"))?;
    Ok(items
        .into_iter()
        .map(|item| {
            let mut params = shared.clone();
            params.extend(item);
            params
        })
        .collect())
}

/// `text` with each `{{inputs.parameters.NAME}}` replaced by the cell's value.
fn substitute(text: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (name, value) in params {
        out = out.replace(&format!("{{{{inputs.parameters.{name}}}}}"), value);
    }
    out
}

/// How a cell's pod ended, from its node's phase and message (the kubelet's reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Succeeded,
    Failed,
    OomKilled,
    Deadline,
    Evicted,
    Deleted,
    Error,
    Running,
    NotStarted,
}

impl Fate {
    pub fn of(node: Option<&Node>) -> Fate {
        let Some(node) = node else {
            return Fate::NotStarted;
        };
        let message = node.message.to_ascii_lowercase();
        match node.phase.as_str() {
            "Succeeded" => Fate::Succeeded,
            "Running" => Fate::Running,
            "" | "Pending" | "Omitted" | "Skipped" => Fate::NotStarted,
            _ if message.contains("oomkilled") => Fate::OomKilled,
            _ if message.contains("deadline") => Fate::Deadline,
            _ if message.contains("evicted") || message.contains("low on resource") => {
                Fate::Evicted
            }
            _ if message.contains("deleted") || message.contains("node lost") => Fate::Deleted,
            "Error" => Fate::Error,
            _ => Fate::Failed,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fate::Succeeded => "succeeded",
            Fate::Failed => "failed",
            Fate::OomKilled => "oom-killed",
            Fate::Deadline => "deadline",
            Fate::Evicted => "evicted",
            Fate::Deleted => "deleted",
            Fate::Error => "error",
            Fate::Running => "running",
            Fate::NotStarted => "not-started",
        }
    }

    /// Why a cell of this fate may have no log, as the report says it.
    pub fn describe(self) -> &'static str {
        match self {
            Fate::Succeeded => "its pod succeeded",
            Fate::Failed => "its pod failed",
            Fate::OomKilled => "OOM-killed",
            Fate::Deadline => "killed at its deadline",
            Fate::Evicted => "its pod was evicted",
            Fate::Deleted => "its pod was deleted",
            Fate::Error => "its pod ended in error",
            Fate::Running => "still running",
            Fate::NotStarted => "not started",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(phase: &str, message: &str) -> Node {
        Node {
            phase: phase.into(),
            message: message.into(),
            ..Node::default()
        }
    }

    #[test]
    fn the_kubelets_reasons_name_the_fate() {
        let fate = |p, m| Fate::of(Some(&node(p, m)));
        assert_eq!(fate("Failed", "OOMKilled (exit code 137)"), Fate::OomKilled);
        assert_eq!(
            fate(
                "Failed",
                "Pod was active on the node longer than the specified deadline"
            ),
            Fate::Deadline
        );
        assert_eq!(
            fate("Error", "The node was low on resource: memory."),
            Fate::Evicted
        );
        assert_eq!(fate("Error", "pod deleted"), Fate::Deleted);
        assert_eq!(fate("Failed", "Error (exit code 2)"), Fate::Failed);
        assert_eq!(fate("Pending", ""), Fate::NotStarted);
        assert_eq!(Fate::of(None), Fate::NotStarted);
    }

    #[test]
    fn parameters_are_substituted_into_the_image() {
        let params = BTreeMap::from([("os".to_string(), "fedora-40".to_string())]);
        assert_eq!(
            substitute("reg/build:{{inputs.parameters.os}}", &params),
            "reg/build:fedora-40"
        );
    }
}
