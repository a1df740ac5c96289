//! The definition's `workflow:` section, checked and compiled: every value parsed once when the
//! definition is loaded, with the built-in default of each setting the section leaves out.
//! `matrix workflow` overrides them with its flags; `matrix run` and `matrix report` read the
//! deadline and the memory limit from here.
//!
//! Each default is written once, here; the flags' help texts are built from these constants.
//! The built-in definition (`definition/matrix.yaml`) spells the same values out for whoever
//! edits a copy of it, and a test keeps the two equal.

use anyhow::{bail, Context, Result};

use super::raw::RawWorkflow;
use crate::grammar::{check_generate_name, parse_duration, parse_quantity, Quantity};

// Where the values come from: they are the built-in definition's since `matrix workflow` was
// written, and README's table of knobs ("Running on Argo Workflows", "Submit") gives the
// reasons repeated here.

/// Cells running at once, per Workflow.
pub const DEFAULT_PARALLELISM: u32 = 3;
/// How long a cell may run: a cell (a sanitizer build and the whole test suite) takes up to
/// four hours; one past it is stopped, and its result is the stage's Timeout.
pub const DEFAULT_DEADLINE: &str = "4h";
/// CPU request per cell; `make -j` follows it.
pub const DEFAULT_CPU: &str = "2";
/// Memory request per cell: sanitizer builds need far more memory than plain ones (the
/// original experiment lost cells to OOM kills).
pub const DEFAULT_MEMORY: &str = "8Gi";
/// Memory limit per cell, for the same reason; also the memory of a container of
/// `matrix run`.
pub const DEFAULT_MEMORY_LIMIT: &str = "16Gi";
/// Retries of a cell after an infrastructure error (an evicted or lost pod), never after a
/// failed build, an OOM kill or the deadline, which are results.
pub const DEFAULT_RETRY_LIMIT: u32 = 2;
/// How long a finished Workflow is kept before Argo deletes it.
pub const DEFAULT_TTL: &str = "7d";
/// The prefix of the Argo objects' names.
pub const DEFAULT_GENERATE_NAME: &str = "build-cpython-";

/// The `workflow:` section with its axis resolved and every value checked; a setting the
/// section leaves out has its built-in default (the `DEFAULT_*` constants). There is no
/// CPU limit by default.
#[derive(Debug, Clone)]
pub struct WorkflowDefaults {
    /// The axis whose values are `kubernetes.io/arch` values: `workflow.arch_axis`, else an
    /// axis named `platform`. A definition without one still renders scripts; only
    /// `matrix workflow` needs it.
    pub arch_axis: Option<usize>,
    pub parallelism: u32,
    pub deadline_seconds: u64,
    pub cpu: Quantity,
    pub memory: Quantity,
    pub cpu_limit: Option<Quantity>,
    pub memory_limit: Quantity,
    pub retry_limit: u32,
    pub ttl_seconds: u64,
    /// Ends with `-`.
    pub generate_name: String,
}

impl WorkflowDefaults {
    /// The section's values over the built-in defaults, each checked; an error names the key
    /// (`workflow.deadline`), and loading the definition adds its file.
    pub(super) fn compile(raw: &RawWorkflow, arch_axis: Option<usize>) -> Result<Self> {
        let quantity = |key: &str, value: Option<&str>, default: &str| {
            parse_quantity(&format!("workflow.{key}"), value.unwrap_or(default))
        };
        let duration = |key: &str, value: Option<&str>, default: &str| {
            parse_duration(value.unwrap_or(default)).with_context(|| format!("workflow.{key}"))
        };
        let parallelism = raw.parallelism.unwrap_or(DEFAULT_PARALLELISM);
        if parallelism == 0 {
            bail!("workflow.parallelism must be at least 1");
        }
        Ok(WorkflowDefaults {
            arch_axis,
            parallelism,
            deadline_seconds: duration("deadline", raw.deadline.as_deref(), DEFAULT_DEADLINE)?,
            cpu: quantity("cpu", raw.cpu.as_deref(), DEFAULT_CPU)?,
            memory: quantity("memory", raw.memory.as_deref(), DEFAULT_MEMORY)?,
            cpu_limit: (raw.cpu_limit.as_deref())
                .map(|limit| parse_quantity("workflow.cpu_limit", limit))
                .transpose()?,
            memory_limit: quantity(
                "memory_limit",
                raw.memory_limit.as_deref(),
                DEFAULT_MEMORY_LIMIT,
            )?,
            retry_limit: raw.retry_limit.unwrap_or(DEFAULT_RETRY_LIMIT),
            ttl_seconds: duration("ttl", raw.ttl.as_deref(), DEFAULT_TTL)?,
            generate_name: check_generate_name(
                raw.generate_name
                    .as_deref()
                    .unwrap_or(DEFAULT_GENERATE_NAME),
            )
            .context("workflow.generate_name")?,
        })
    }

    /// The built-in defaults alone: what a definition without a `workflow:` section gets, and
    /// what `matrix report` uses when no definition is at hand.
    pub fn builtin() -> Self {
        Self::compile(&RawWorkflow::default(), None).expect("the built-in defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{RawDefinition, BUILTIN_DEFINITION};

    #[test]
    fn the_builtin_definition_spells_out_the_defaults() {
        let raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "t").unwrap();
        let section = raw.workflow.unwrap();
        assert_eq!(section.parallelism, Some(DEFAULT_PARALLELISM));
        assert_eq!(section.deadline.as_deref(), Some(DEFAULT_DEADLINE));
        assert_eq!(section.cpu.as_deref(), Some(DEFAULT_CPU));
        assert_eq!(section.memory.as_deref(), Some(DEFAULT_MEMORY));
        assert_eq!(section.cpu_limit, None);
        assert_eq!(section.memory_limit.as_deref(), Some(DEFAULT_MEMORY_LIMIT));
        assert_eq!(section.retry_limit, Some(DEFAULT_RETRY_LIMIT));
        assert_eq!(section.ttl.as_deref(), Some(DEFAULT_TTL));
        assert_eq!(
            section.generate_name.as_deref(),
            Some(DEFAULT_GENERATE_NAME)
        );
    }

    #[test]
    fn the_builtin_defaults_are_parsed() {
        let defaults = WorkflowDefaults::builtin();
        assert_eq!(
            (defaults.deadline_seconds, defaults.ttl_seconds),
            (4 * 3600, 7 * 86_400)
        );
        assert_eq!(
            (
                defaults.memory.text.as_str(),
                defaults.memory_limit.text.as_str()
            ),
            ("8Gi", "16Gi")
        );
        assert_eq!(defaults.generate_name, "build-cpython-");
    }

    #[test]
    fn a_bad_value_is_an_error_naming_its_key() {
        let bad = |edit: fn(&mut RawWorkflow)| {
            let mut raw = RawWorkflow::default();
            edit(&mut raw);
            format!("{:#}", WorkflowDefaults::compile(&raw, None).unwrap_err())
        };
        assert_eq!(
            bad(|w| w.parallelism = Some(0)),
            "workflow.parallelism must be at least 1"
        );
        assert!(bad(|w| w.deadline = Some("4 hours".into()))
            .starts_with("workflow.deadline: `4 hours` is not a duration"));
        assert!(bad(|w| w.memory_limit = Some("lots".into()))
            .starts_with("workflow.memory_limit `lots` is not a Kubernetes quantity"));
        assert!(bad(|w| w.cpu_limit = Some("0.5x".into())).starts_with("workflow.cpu_limit"));
        assert!(bad(|w| w.generate_name = Some("Build_".into()))
            .starts_with("workflow.generate_name: generate name `Build_`"));
    }
}
