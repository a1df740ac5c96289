//! The subset of Argo Workflows' API (v1alpha1) that `matrix workflow` emits, as typed structs
//! serialized with serde: field names follow Argo's JSON schema exactly (camelCase).

use std::collections::BTreeMap;

use serde::Serialize;

pub const API_VERSION: &str = "argoproj.io/v1alpha1";

/// One emitted document: a `Workflow`, `WorkflowTemplate` or `CronWorkflow`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: DocumentSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DocumentSpec {
    Workflow(WorkflowSpec),
    Cron(CronWorkflowSpec),
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronWorkflowSpec {
    pub schedules: Vec<String>,
    pub concurrency_policy: &'static str,
    pub workflow_metadata: ObjectMeta,
    pub workflow_spec: WorkflowSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSpec {
    pub entrypoint: String,
    pub parallelism: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_repository_ref: Option<ArtifactRepositoryRef>,
    pub archive_logs: bool,
    #[serde(rename = "podGC")]
    pub pod_gc: PodGc,
    pub ttl_strategy: TtlStrategy,
    pub templates: Vec<Template>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRepositoryRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodGc {
    pub strategy: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TtlStrategy {
    pub seconds_after_completion: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Inputs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Outputs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PodMetadata>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// IntOrString in Argo's schema, which declares it a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<RetryStrategy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_fast: Option<bool>,
    /// Parallel step groups, run one after the other.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Vec<WorkflowStep>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptTemplate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerTemplate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Inputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<InputArtifact>,
}

/// An input artifact whose content is given inline (`raw.data`), written to `path`.
#[derive(Debug, Clone, Serialize)]
pub struct InputArtifact {
    pub name: String,
    pub path: String,
    pub raw: RawArtifact,
}

#[derive(Debug, Clone, Serialize)]
pub struct RawArtifact {
    pub data: String,
}

/// A plain container (`container:` of a template).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerTemplate {
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    pub resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
    pub read_only: bool,
}

/// A pod volume: a secret, or an emptyDir (scratch space its containers share).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolumeSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
}

/// `emptyDir: {}`: the node's default medium, no size limit of its own.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EmptyDirVolumeSource {}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolumeSource {
    pub secret_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    pub run_as_user: i64,
    pub run_as_group: i64,
    pub seccomp_profile: SeccompProfile,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeccompProfile {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
}

impl Parameter {
    pub fn named(name: impl Into<String>) -> Self {
        Parameter {
            name: name.into(),
            ..Parameter::default()
        }
    }

    pub fn with_value(name: impl Into<String>, value: impl Into<String>) -> Self {
        Parameter {
            name: name.into(),
            value: Some(value.into()),
            value_from: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ValueFrom {
    pub path: String,
    /// Used when the file is missing (a pod killed before the script's exit trap ran).
    pub default: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub name: String,
    pub path: String,
    pub optional: bool,
    /// How the file is stored; Argo's default (absent) is a gzipped tarball.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveStrategy>,
}

/// Only `none: {}` is emitted: the file is stored as it is.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveStrategy {
    pub none: NoneStrategy,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NoneStrategy {}

#[derive(Debug, Clone, Serialize)]
pub struct PodMetadata {
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// IntOrString, a string in Argo's schema.
    pub limit: String,
    pub retry_policy: &'static str,
    pub backoff: Backoff,
}

#[derive(Debug, Clone, Serialize)]
pub struct Backoff {
    pub duration: String,
    /// IntOrString, a string in Argo's schema.
    pub factor: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStep {
    pub name: String,
    pub template: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Arguments>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_param: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continue_on: Option<ContinueOn>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Arguments {
    pub parameters: Vec<Parameter>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContinueOn {
    pub failed: bool,
    pub error: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptTemplate {
    pub image: String,
    pub command: Vec<String>,
    pub env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    pub resources: Resources,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    pub resource_field_ref: ResourceFieldSelector,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFieldSelector {
    pub container_name: String,
    pub resource: String,
    pub divisor: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
}
