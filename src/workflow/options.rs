//! The settings of the Argo manifests and their checked values, resolved in one place:
//! a caller's overrides (the command line's flags) over the definition's `workflow:` section
//! over built-in defaults.

use anyhow::{bail, Context, Result};

use super::types::ArtifactRepositoryRef;
use crate::definition::Matrix;
use crate::grammar::{check_generate_name, parse_duration, Quantity};

/// Which kind of Argo object to emit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    #[default]
    Workflow,
    WorkflowTemplate,
    CronWorkflow,
}

/// Argo refuses larger objects; the Workflow also holds every node's status while it runs.
pub const ARGO_OBJECT_LIMIT: usize = 1 << 20;
/// Default size budget per document: a quarter of Argo's limit leaves room for the status.
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024;
/// A pod's template travels in one annotation/environment value, capped by Kubernetes.
pub const POD_TEMPLATE_LIMIT: usize = 256 * 1024;

/// Everything that shapes the manifests besides the cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub kind: Kind,
    pub schedule: Option<String>,
    pub registry: String,
    pub arch_axis: usize,
    pub parallelism: u32,
    pub deadline_seconds: u64,
    pub cpu: String,
    pub memory: String,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
    pub retry_limit: u32,
    pub ttl_seconds: u64,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    /// Ends with `-`.
    pub generate_name: String,
    pub artifact_repository_ref: Option<ArtifactRepositoryRef>,
    pub max_bytes: usize,
}

/// A setting a caller may override; its [`key`](Setting::key) is its name in the definition's
/// `workflow:` section (for those the section has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Kind,
    Schedule,
    Registry,
    Parallelism,
    Deadline,
    Cpu,
    Memory,
    CpuLimit,
    MemoryLimit,
    RetryLimit,
    Ttl,
    GenerateName,
    ArtifactRepositoryRef,
    MaxBytes,
    Namespace,
    ServiceAccount,
}

impl Setting {
    pub fn key(self) -> &'static str {
        match self {
            Setting::Kind => "kind",
            Setting::Schedule => "schedule",
            Setting::Registry => "registry",
            Setting::Parallelism => "parallelism",
            Setting::Deadline => "deadline",
            Setting::Cpu => "cpu",
            Setting::Memory => "memory",
            Setting::CpuLimit => "cpu_limit",
            Setting::MemoryLimit => "memory_limit",
            Setting::RetryLimit => "retry_limit",
            Setting::Ttl => "ttl",
            Setting::GenerateName => "generate_name",
            Setting::ArtifactRepositoryRef => "artifact_repository_ref",
            Setting::MaxBytes => "max_bytes",
            Setting::Namespace => "namespace",
            Setting::ServiceAccount => "service_account",
        }
    }
}

/// Values a caller gives over the definition's defaults; `None` leaves a setting to the
/// definition, then to the built-in default.
#[derive(Debug, Clone)]
pub struct Overrides {
    pub kind: Option<Kind>,
    pub schedule: Option<String>,
    pub registry: Option<String>,
    pub parallelism: Option<u32>,
    pub deadline: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
    pub retry_limit: Option<u32>,
    pub ttl: Option<String>,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    pub generate_name: Option<String>,
    pub artifact_repository_ref: Option<String>,
    pub max_bytes: Option<usize>,
    /// How messages name an overridden setting: the command line names its flag, so an error
    /// points at what the user typed.
    pub name: fn(Setting) -> String,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            kind: None,
            schedule: None,
            registry: None,
            parallelism: None,
            deadline: None,
            cpu: None,
            memory: None,
            cpu_limit: None,
            memory_limit: None,
            retry_limit: None,
            ttl: None,
            namespace: None,
            service_account: None,
            generate_name: None,
            artifact_repository_ref: None,
            max_bytes: None,
            name: |setting| format!("the {} override", setting.key()),
        }
    }
}

impl Options {
    /// Overrides over the definition's `workflow:` section (checked when it was loaded, its
    /// built-in defaults filled in), the overrides checked here and every request within its
    /// limit; an error names where the bad value came from (the override, or the definition's
    /// key).
    pub fn resolve(overrides: &Overrides, matrix: &Matrix) -> Result<Options> {
        let defaults = &matrix.workflow;
        let layers = Layers { overrides, matrix };
        let (kind, schedule) = layers.kind_and_schedule()?;
        let max_bytes = layers.max_bytes()?;
        let parallelism = layers.parallelism()?;
        let registry = layers.registry()?;
        if let Some(namespace) = &overrides.namespace {
            let what = (overrides.name)(Setting::Namespace);
            crate::grammar::check_dns_label(&what, namespace)?;
        }
        if let Some(account) = &overrides.service_account {
            let what = (overrides.name)(Setting::ServiceAccount);
            crate::grammar::check_dns_subdomain(&what, account)?;
        }
        let resources = layers.resources()?;
        Ok(Options {
            kind,
            schedule,
            registry,
            arch_axis: arch_axis(matrix)?,
            parallelism,
            deadline_seconds: layers.duration(
                Setting::Deadline,
                &overrides.deadline,
                defaults.deadline_seconds,
            )?,
            cpu: resources.cpu,
            memory: resources.memory,
            cpu_limit: resources.cpu_limit,
            memory_limit: resources.memory_limit,
            retry_limit: overrides.retry_limit.unwrap_or(defaults.retry_limit),
            ttl_seconds: layers.duration(Setting::Ttl, &overrides.ttl, defaults.ttl_seconds)?,
            namespace: overrides.namespace.clone(),
            service_account: overrides.service_account.clone(),
            generate_name: layers.generate_name()?,
            artifact_repository_ref: overrides
                .artifact_repository_ref
                .as_deref()
                .map(parse_artifact_repository_ref)
                .transpose()?,
            max_bytes,
        })
    }
}

/// The layers a setting's value comes from: the caller's overrides, over the definition's
/// `workflow:` section (over the built-in defaults, already filled in).
struct Layers<'a> {
    overrides: &'a Overrides,
    matrix: &'a Matrix,
}

/// The pods' resource requests and limits as written, each checked, every request within its
/// limit.
struct Resources {
    cpu: String,
    memory: String,
    cpu_limit: Option<String>,
    memory_limit: Option<String>,
}

impl Layers<'_> {
    /// How an error names a setting: as the caller names its override, or as the definition's
    /// key.
    fn what(&self, setting: Setting, overridden: bool) -> String {
        if overridden {
            (self.overrides.name)(setting)
        } else {
            format!("`workflow.{}` of {}", setting.key(), self.matrix.origin)
        }
    }

    /// The kind of object, and the schedule a CronWorkflow needs (and only it takes).
    fn kind_and_schedule(&self) -> Result<(Kind, Option<String>)> {
        let name = self.overrides.name;
        let kind = self.overrides.kind.unwrap_or_default();
        let schedule = match (kind, &self.overrides.schedule) {
            (Kind::CronWorkflow, Some(s)) => Some(check_schedule(s)?),
            (Kind::CronWorkflow, None) => bail!(
                "{} cron-workflow needs {schedule}, e.g. {schedule} \"0 3 * * *\"",
                name(Setting::Kind),
                schedule = name(Setting::Schedule)
            ),
            (_, Some(_)) => bail!(
                "{} only goes with {} cron-workflow",
                name(Setting::Schedule),
                name(Setting::Kind)
            ),
            (_, None) => None,
        };
        Ok((kind, schedule))
    }

    fn max_bytes(&self) -> Result<usize> {
        let max_bytes = self.overrides.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if max_bytes > ARGO_OBJECT_LIMIT {
            bail!(
                "{} {max_bytes} is over the {ARGO_OBJECT_LIMIT} bytes Argo accepts for one object",
                (self.overrides.name)(Setting::MaxBytes)
            );
        }
        Ok(max_bytes)
    }

    fn parallelism(&self) -> Result<u32> {
        match self.overrides.parallelism {
            Some(0) => bail!(
                "{} must be at least 1",
                self.what(Setting::Parallelism, true)
            ),
            Some(parallelism) => Ok(parallelism),
            None => Ok(self.matrix.workflow.parallelism),
        }
    }

    fn registry(&self) -> Result<String> {
        let overridden = &self.overrides.registry;
        let registry = overridden
            .clone()
            .unwrap_or_else(|| self.matrix.image.registry.clone());
        crate::grammar::check_registry(
            &self.what(Setting::Registry, overridden.is_some()),
            &registry,
        )?;
        Ok(registry)
    }

    /// A quantity: the override, parsed, else the definition's; with where it came from for
    /// the errors.
    fn quantity(
        &self,
        setting: Setting,
        value: &Option<String>,
        definition: Option<&Quantity>,
    ) -> Result<Option<(String, Quantity)>> {
        let what = self.what(setting, value.is_some());
        Ok(match value {
            Some(text) => Some((what.clone(), crate::grammar::parse_quantity(&what, text)?)),
            None => definition.map(|q| (what, q.clone())),
        })
    }

    fn resources(&self) -> Result<Resources> {
        let (overrides, defaults) = (self.overrides, &self.matrix.workflow);
        let cpu = self
            .quantity(Setting::Cpu, &overrides.cpu, Some(&defaults.cpu))?
            .expect("a default");
        let memory = self
            .quantity(Setting::Memory, &overrides.memory, Some(&defaults.memory))?
            .expect("a default");
        let cpu_limit = self.quantity(
            Setting::CpuLimit,
            &overrides.cpu_limit,
            defaults.cpu_limit.as_ref(),
        )?;
        let memory_limit = self.quantity(
            Setting::MemoryLimit,
            &overrides.memory_limit,
            Some(&defaults.memory_limit),
        )?;
        for (request, limit) in [(&cpu, &cpu_limit), (&memory, &memory_limit)] {
            if let Some((limit_what, limit)) = limit {
                crate::grammar::check_request_within_limit(
                    &request.0, &request.1, limit_what, limit,
                )?;
            }
        }
        Ok(Resources {
            cpu: cpu.1.text,
            memory: memory.1.text,
            cpu_limit: cpu_limit.map(|(_, q)| q.text),
            memory_limit: memory_limit.map(|(_, q)| q.text),
        })
    }

    /// A duration setting in seconds: the override, parsed, else the definition's.
    fn duration(&self, setting: Setting, value: &Option<String>, definition: u64) -> Result<u64> {
        match value {
            Some(text) => duration_knob(text, &self.what(setting, true)),
            None => Ok(definition),
        }
    }

    fn generate_name(&self) -> Result<String> {
        match &self.overrides.generate_name {
            Some(text) => {
                check_generate_name(text).with_context(|| self.what(Setting::GenerateName, true))
            }
            None => Ok(self.matrix.workflow.generate_name.clone()),
        }
    }
}

/// The axis whose values are the pods' `kubernetes.io/arch`.
fn arch_axis(matrix: &Matrix) -> Result<usize> {
    matrix.workflow.arch_axis.with_context(|| {
        format!(
            "{} has no axis named `platform`: set `workflow.arch_axis` to the axis whose \
             values are kubernetes.io/arch values",
            matrix.origin
        )
    })
}

/// A Kubernetes quantity such as `2`, `500m`, `8Gi`, `1.5`, `1e3` (see
/// [`crate::grammar::parse_quantity`]), returned as written.
pub fn check_quantity(what: &str, text: &str) -> Result<String> {
    Ok(crate::grammar::parse_quantity(what, text)?.text)
}

/// `KEY` or `CONFIGMAP:KEY`.
pub fn parse_artifact_repository_ref(text: &str) -> Result<ArtifactRepositoryRef> {
    let (config_map, key) = match text.split_once(':') {
        Some((map, key)) => (Some(map.to_string()), key),
        None => (None, text),
    };
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !name_ok(key) || config_map.as_deref().is_some_and(|m| !name_ok(m)) {
        bail!(
            "artifact repository ref `{text}` is not KEY or CONFIGMAP:KEY (names of A-Z a-z 0-9 \
             - _ .)"
        );
    }
    Ok(ArtifactRepositoryRef {
        config_map,
        key: key.to_string(),
    })
}

/// Five cron fields (`0 3 * * *`) or a `@daily`-style macro, as Argo's cron parser accepts.
pub fn check_schedule(text: &str) -> Result<String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let macro_ok = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ]
    .contains(&text.trim());
    let field_ok = |f: &&str| {
        f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?'))
    };
    if !macro_ok && (fields.len() != 5 || !fields.iter().all(field_ok)) {
        bail!(
            "schedule `{text}` is not a cron schedule: give five fields (minute hour day month \
             weekday), e.g. \"0 3 * * *\", or a macro such as @daily"
        );
    }
    Ok(fields.join(" "))
}

/// Reads a duration knob, naming where it came from on error.
pub fn duration_knob(value: &str, source: &str) -> Result<u64> {
    parse_duration(value).with_context(|| format!("in {source}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_workflow(yaml: &str) -> Matrix {
        let mut raw =
            crate::definition::RawDefinition::from_yaml(crate::definition::BUILTIN_DEFINITION, "t")
                .unwrap();
        raw.workflow = Some(serde_yaml::from_str(yaml).unwrap());
        Matrix::compile(raw, "m.yaml").unwrap()
    }

    #[test]
    fn overrides_win_over_the_definition_which_wins_over_builtin_defaults() {
        let m = with_workflow("{cpu: '4', ttl: 1d, parallelism: 9}");
        let options = Options::resolve(&Overrides::default(), &m).unwrap();
        assert_eq!(
            (
                options.cpu.as_str(),
                options.ttl_seconds,
                options.parallelism
            ),
            ("4", 86_400, 9)
        );
        assert_eq!(
            (
                options.memory.as_str(),
                options.deadline_seconds,
                options.kind
            ),
            ("8Gi", 14_400, Kind::Workflow)
        );
        assert_eq!(options.max_bytes, DEFAULT_MAX_BYTES);
        let overrides = Overrides {
            cpu: Some("500m".into()),
            parallelism: Some(2),
            ..Overrides::default()
        };
        let options = Options::resolve(&overrides, &m).unwrap();
        assert_eq!((options.cpu.as_str(), options.parallelism), ("500m", 2));
        assert_eq!(options.ttl_seconds, 86_400);
    }

    #[test]
    fn errors_name_the_override_as_the_caller_names_it_or_the_definition_key() {
        let m = with_workflow("{memory: 12Gi, memory_limit: 16Gi}");
        let flag = |s: Setting| format!("--{}", s.key().replace('_', "-"));
        let overrides = Overrides {
            memory: Some("lots".into()),
            name: flag,
            ..Overrides::default()
        };
        let err = format!("{:#}", Options::resolve(&overrides, &m).unwrap_err());
        assert!(err.starts_with("--memory `lots`"), "{err}");
        let overrides = Overrides {
            memory_limit: Some("8Gi".into()),
            name: flag,
            ..Overrides::default()
        };
        let err = format!("{:#}", Options::resolve(&overrides, &m).unwrap_err());
        assert!(
            err.starts_with("`workflow.memory` of m.yaml `12Gi` is more than --memory-limit `8Gi`"),
            "{err}"
        );
        let overrides = Overrides {
            parallelism: Some(0),
            ..Overrides::default()
        };
        let err = format!("{:#}", Options::resolve(&overrides, &m).unwrap_err());
        assert_eq!(err, "the parallelism override must be at least 1");
        let overrides = Overrides {
            namespace: Some("Bad!".into()),
            ..Overrides::default()
        };
        let err = format!("{:#}", Options::resolve(&overrides, &m).unwrap_err());
        assert!(
            err.starts_with("the namespace override `Bad!` is not a DNS-1123 label"),
            "{err}"
        );
        let overrides = Overrides {
            schedule: Some("@daily".into()),
            name: flag,
            ..Overrides::default()
        };
        let err = format!("{:#}", Options::resolve(&overrides, &m).unwrap_err());
        assert_eq!(err, "--schedule only goes with --kind cron-workflow");
    }

    #[test]
    fn a_bad_definition_value_is_refused_when_the_definition_is_loaded() {
        let mut raw =
            crate::definition::RawDefinition::from_yaml(crate::definition::BUILTIN_DEFINITION, "t")
                .unwrap();
        raw.workflow = Some(serde_yaml::from_str("{memory: 8GB}").unwrap());
        let err = format!("{:#}", Matrix::compile(raw, "m.yaml").unwrap_err());
        assert!(
            err.starts_with("invalid matrix definition m.yaml: workflow.memory `8GB`"),
            "{err}"
        );
    }

    #[test]
    fn quantities_names_refs_and_schedules_are_checked() {
        assert!(check_quantity("--memory", "8Gi").is_ok());
        assert!(check_quantity("--cpu", "500m").is_ok());
        assert!(check_quantity("--cpu", "1.5").is_ok());
        assert!(check_quantity("--memory", "8GB").is_err());
        assert!(check_quantity("--memory", "lots").is_err());
        let r = parse_artifact_repository_ref("repos:minio").unwrap();
        assert_eq!(
            (r.config_map.as_deref(), r.key.as_str()),
            (Some("repos"), "minio")
        );
        assert!(parse_artifact_repository_ref("a b").is_err());
        assert_eq!(check_schedule("0 3 * * *").unwrap(), "0 3 * * *");
        assert!(check_schedule("@daily").is_ok());
        assert!(check_schedule("0 3 * *").is_err());
    }
}
