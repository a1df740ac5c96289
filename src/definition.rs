//! The matrix definition: its YAML form (the serde types a user edits) and the checked,
//! compiled [`Matrix`] that expansion, rendering and the manifests work from.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::rules::{Clause, Condition, Rule};
use crate::suggest::{did_you_mean, suggest_for_unknown_field};
use crate::version::Version;

/// The definition shipped in the repository and embedded in the binary.
pub const BUILTIN_DEFINITION: &str = include_str!("../definition/matrix.yaml");
/// How the built-in definition is named in messages.
pub const BUILTIN_NAME: &str = "<built-in definition/matrix.yaml>";

/// Environment variables the build script sets itself from other parts of a contribution.
const RESERVED_ENV: [&str; 5] = ["CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "LD_PRELOAD"];
/// Kubernetes label values (and so cell ids and axis values) are at most this long.
pub const MAX_LABEL_LEN: usize = 63;

// ---------------------------------------------------------------------------------------------
// The YAML form.

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefinition {
    pub image: RawImage,
    #[serde(default)]
    pub source: RawSource,
    pub axes: Vec<RawAxis>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub contributions: Vec<RawContribution>,
    /// Defaults of `matrix workflow`; every one has a flag that overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<RawWorkflow>,
}

/// `workflow:` in the definition: Argo manifest defaults. Values are checked by
/// [`crate::workflow`] when it uses them, so a bad one is reported with the flag beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkflow {
    /// The axis whose values are `kubernetes.io/arch` values (default `platform`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch_axis: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
    /// Per-cell deadline: `4h`, `90m`, `1h30m`, or seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_limit: Option<u32>,
    /// How long a finished Workflow is kept: `7d`, `12h`, or seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImage {
    pub registry: String,
    pub name: String,
    pub tag_axis: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// The axis whose values are CPython versions to download.
    #[serde(default = "default_version_axis")]
    pub version_axis: String,
    /// Where release tarballs live: `<base_url>/<3.13.0>/Python-<3.13.0b4>.tgz`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// SHA-256 of a version's tarball, checked by the script when given.
    #[serde(default)]
    pub sha256: BTreeMap<String, String>,
}

fn default_version_axis() -> String {
    "python".into()
}

fn default_base_url() -> String {
    "https://www.python.org/ftp/python".into()
}

impl Default for RawSource {
    fn default() -> Self {
        RawSource {
            version_axis: default_version_axis(),
            base_url: default_base_url(),
            sha256: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAxis {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    #[serde(default)]
    pub kind: AxisKind,
    /// Put before every non-empty id token of the axis (`py` + `3.12.4`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_prefix: String,
    pub values: Vec<RawValue>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AxisKind {
    /// Values are names, compared for equality.
    #[default]
    Plain,
    /// Values are CPython versions and rules may compare them (`at_least`, `below`).
    Version,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a value name, or a mapping with `value` and optional `id`"
)]
pub enum RawValue {
    Plain(String),
    Detailed(RawValueDetail),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawValueDetail {
    pub value: String,
    /// The value's token in cell ids; empty leaves the value out of ids.
    pub id: Option<String>,
}

impl RawValue {
    pub fn name(&self) -> &str {
        match self {
            RawValue::Plain(name) => name,
            RawValue::Detailed(detail) => &detail.value,
        }
    }

    fn id_token(&self) -> &str {
        match self {
            RawValue::Plain(name) => name,
            RawValue::Detailed(detail) => detail.id.as_deref().unwrap_or(&detail.value),
        }
    }
}

/// Axis name → condition on that axis.
pub type RawClause = BTreeMap<String, RawCondition>;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    pub reason: String,
    #[serde(rename = "if", default)]
    pub premise: RawClause,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<RawClause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iff: Option<RawClause>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a value, a list of values, or a mapping with `not`, `at_least` or `below`"
)]
pub enum RawCondition {
    One(String),
    AnyOf(Vec<String>),
    Test(RawTest),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged, expecting = "a value or a list of values")]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn names(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(name) => vec![name.as_str()],
            OneOrMany::Many(names) => names.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContribution {
    #[serde(default)]
    pub when: RawClause,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compile: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configure: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preload: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
}

impl RawDefinition {
    /// Parses YAML; `origin` names the text in errors (a path, or the built-in name).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self> {
        serde_yaml::from_str(text).map_err(|err| match err.location() {
            Some(at) => anyhow::anyhow!(
                "{origin}:{}:{}: {}",
                at.line(),
                at.column(),
                suggest_for_unknown_field(strip_location(&err.to_string()))
            ),
            None => anyhow::anyhow!("{origin}: {err}"),
        })
    }
}

/// serde_yaml appends " at line L column C" to messages; the location is already in front.
fn strip_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    }
}

impl RawRule {
    /// The rule as one line of logic, e.g. `compiler=clang-19 ⇒ os=ubuntu-24.04`: for the
    /// README's rules table and for explanations.
    pub fn describe(&self) -> String {
        let (arrow, conclusion) = match (&self.then, &self.iff) {
            (_, Some(iff)) => ("⇔", iff),
            (Some(then), None) => ("⇒", then),
            (None, None) => return describe_clause(&self.premise),
        };
        if self.premise.is_empty() {
            return describe_clause(conclusion);
        }
        format!(
            "{} {arrow} {}",
            describe_clause(&self.premise),
            describe_clause(conclusion)
        )
    }
}

fn describe_clause(clause: &RawClause) -> String {
    clause
        .iter()
        .map(|(axis, condition)| describe_condition(axis, condition))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn describe_condition(axis: &str, condition: &RawCondition) -> String {
    let set = |names: &[String]| format!("{{{}}}", names.join(", "));
    match condition {
        RawCondition::One(value) => format!("{axis}={value}"),
        RawCondition::AnyOf(values) if values.len() == 1 => format!("{axis}={}", values[0]),
        RawCondition::AnyOf(values) => format!("{axis} ∈ {}", set(values)),
        RawCondition::Test(test) => {
            let mut parts = Vec::new();
            match &test.not {
                Some(OneOrMany::One(value)) => parts.push(format!("{axis}≠{value}")),
                Some(OneOrMany::Many(values)) if values.len() == 1 => {
                    parts.push(format!("{axis}≠{}", values[0]))
                }
                Some(OneOrMany::Many(values)) => parts.push(format!("{axis} ∉ {}", set(values))),
                None => {}
            }
            if let Some(bound) = &test.at_least {
                parts.push(format!("{axis} ≥ {bound}"));
            }
            if let Some(bound) = &test.below {
                parts.push(format!("{axis} < {bound}"));
            }
            parts.join(" and ")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The compiled form.

/// A checked matrix definition.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// Where the definition came from, for messages.
    pub origin: String,
    pub image: ImageSpec,
    pub source: SourceSpec,
    pub axes: Vec<Axis>,
    pub rules: Vec<Rule>,
    pub contributions: Vec<Contribution>,
    pub workflow: WorkflowDefaults,
}

/// The definition's `workflow:` section with its axis resolved.
#[derive(Debug, Clone)]
pub struct WorkflowDefaults {
    /// The axis whose values are `kubernetes.io/arch` values: `workflow.arch_axis`, else an
    /// axis named `platform`. A definition without one still renders scripts; only
    /// `matrix workflow` needs it.
    pub arch_axis: Option<usize>,
    pub raw: RawWorkflow,
}

#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub registry: String,
    pub name: String,
    pub tag_axis: usize,
}

#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub version_axis: usize,
    pub base_url: String,
    pub sha256: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Axis {
    pub name: String,
    pub doc: String,
    pub kind: AxisKind,
    pub values: Vec<AxisValue>,
}

#[derive(Debug, Clone)]
pub struct AxisValue {
    pub name: String,
    /// Token in cell ids, prefix included; empty: left out of ids.
    pub id_token: String,
    /// Parsed for version axes.
    pub version: Option<Version>,
}

impl Axis {
    pub fn value_index(&self, name: &str) -> Option<usize> {
        self.values.iter().position(|v| v.name == name)
    }

    pub fn value_names(&self) -> Vec<&str> {
        self.values.iter().map(|v| v.name.as_str()).collect()
    }

    /// "unknown value `x` for axis `a` (did you mean `y`?); its values are: ..."
    pub fn unknown_value(&self, name: &str) -> String {
        format!(
            "unknown value `{name}` for axis `{}`{}; its values are: {}",
            self.name,
            did_you_mean(name, self.value_names()),
            self.value_names().join(", ")
        )
    }
}

/// What a cell's build gets when `when` holds.
#[derive(Debug, Clone)]
pub struct Contribution {
    /// 1-based position in the definition's `contributions`, for messages.
    pub number: usize,
    pub when: Clause,
    pub env: Vec<(String, String)>,
    pub compile: Vec<String>,
    pub link: Vec<String>,
    pub configure: Vec<String>,
    pub preload: Vec<String>,
    pub tests: Option<bool>,
    pub collect: Vec<String>,
}

impl Matrix {
    /// The definition embedded in the binary.
    pub fn builtin() -> Result<Self> {
        Self::from_yaml(BUILTIN_DEFINITION, BUILTIN_NAME)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read matrix definition {}", path.display()))?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    pub fn from_yaml(text: &str, origin: &str) -> Result<Self> {
        Self::compile(RawDefinition::from_yaml(text, origin)?, origin)
    }

    /// Checks a parsed definition and compiles its conditions.
    pub fn compile(raw: RawDefinition, origin: &str) -> Result<Self> {
        compile(raw, origin).with_context(|| format!("invalid matrix definition {origin}"))
    }

    pub fn axis_index(&self, name: &str) -> Option<usize> {
        self.axes.iter().position(|a| a.name == name)
    }

    pub fn axis_names(&self) -> Vec<&str> {
        self.axes.iter().map(|a| a.name.as_str()).collect()
    }

    /// The axis called `name`, or an error listing the axes there are.
    pub fn axis_named(&self, name: &str) -> Result<usize> {
        self.axis_index(name)
            .with_context(|| unknown_axis(name, &self.axis_names()))
    }

    /// Value `name` of axis `axis`, or an error listing the values there are.
    pub fn value_named(&self, axis: usize, name: &str) -> Result<usize> {
        let a = &self.axes[axis];
        a.value_index(name).with_context(|| a.unknown_value(name))
    }

    /// The number of combinations of the raw product (saturating).
    pub fn product_size(&self) -> u128 {
        self.axes
            .iter()
            .fold(1u128, |n, a| n.saturating_mul(a.values.len() as u128))
    }
}

/// "unknown axis `x` (did you mean `y`?); the axes are: ..."
fn unknown_axis(name: &str, axes: &[&str]) -> String {
    format!(
        "unknown axis `{name}`{}; the axes are: {}",
        did_you_mean(name, axes.iter().copied()),
        axes.join(", ")
    )
}

fn compile(raw: RawDefinition, origin: &str) -> Result<Matrix> {
    let _ = origin;
    let mut axes = Vec::with_capacity(raw.axes.len());
    let mut axis_names = HashSet::new();
    if raw.axes.is_empty() {
        bail!("`axes` is empty: a matrix needs at least one axis");
    }
    for raw_axis in &raw.axes {
        check_label("axis name", &raw_axis.name)?;
        if !axis_names.insert(raw_axis.name.as_str()) {
            bail!("axis `{}` is defined twice", raw_axis.name);
        }
        axes.push(compile_axis(raw_axis)?);
    }
    let find_axis = |name: &str, what: &str| -> Result<usize> {
        axes.iter().position(|a| a.name == name).with_context(|| {
            let names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
            format!("{what} names {}", unknown_axis(name, &names))
        })
    };

    let image = ImageSpec {
        tag_axis: find_axis(&raw.image.tag_axis, "image.tag_axis")?,
        registry: raw.image.registry.clone(),
        name: raw.image.name.clone(),
    };
    let version_axis = find_axis(&raw.source.version_axis, "source.version_axis")?;
    if axes[version_axis].kind != AxisKind::Version {
        bail!(
            "source.version_axis is `{}`, which is not an axis of `kind: version`",
            axes[version_axis].name
        );
    }
    for (version, digest) in &raw.source.sha256 {
        if axes[version_axis].value_index(version).is_none() {
            bail!(
                "source.sha256 gives a checksum for `{version}`, which is not a value of axis `{}`",
                axes[version_axis].name
            );
        }
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("source.sha256 for `{version}` is not 64 hexadecimal digits: `{digest}`");
        }
    }
    let source = SourceSpec {
        version_axis,
        base_url: raw.source.base_url.trim_end_matches('/').to_string(),
        sha256: raw.source.sha256.clone(),
    };

    let mut rules = Vec::with_capacity(raw.rules.len());
    let mut rule_names = HashSet::new();
    for raw_rule in &raw.rules {
        let what = format!("rule `{}`", raw_rule.name);
        if !rule_names.insert(raw_rule.name.as_str()) {
            bail!("{what} is defined twice");
        }
        let (conclusion, both_ways) = match (&raw_rule.then, &raw_rule.iff) {
            (Some(then), None) => (then, false),
            (None, Some(iff)) => (iff, true),
            _ => bail!("{what} needs exactly one of `then` and `iff`"),
        };
        if conclusion.is_empty() {
            bail!("{what} has an empty conclusion: it would hold for every combination");
        }
        rules.push(Rule {
            name: raw_rule.name.clone(),
            reason: raw_rule.reason.clone(),
            premise: compile_clause(&axes, &raw_rule.premise, &format!("`if` of {what}"))?,
            conclusion: compile_clause(&axes, conclusion, &format!("conclusion of {what}"))?,
            both_ways,
        });
    }

    let mut contributions = Vec::with_capacity(raw.contributions.len());
    for (i, raw_contribution) in raw.contributions.iter().enumerate() {
        let what = format!("contribution #{}", i + 1);
        contributions.push(compile_contribution(&axes, raw_contribution, i + 1, &what)?);
    }

    let raw_workflow = raw.workflow.clone().unwrap_or_default();
    let workflow = WorkflowDefaults {
        arch_axis: match raw_workflow.arch_axis.as_deref() {
            Some(name) => Some(find_axis(name, "workflow.arch_axis")?),
            None => axes.iter().position(|a| a.name == "platform"),
        },
        raw: raw_workflow,
    };

    Ok(Matrix {
        origin: origin.to_string(),
        image,
        source,
        axes,
        rules,
        contributions,
        workflow,
    })
}

/// Axis names and values become Kubernetes label keys and values, file-name parts and CSV
/// fields, and appear in script comments: keep them to the label alphabet.
fn check_label(what: &str, text: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let ends_ok = text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric());
    if text.is_empty() || text.len() > MAX_LABEL_LEN || !text.chars().all(ok_char) || !ends_ok {
        bail!(
            "{what} `{}` is not valid: use 1 to {MAX_LABEL_LEN} characters of A-Z a-z 0-9 - _ ., \
             starting and ending with a letter or digit",
            text.escape_debug()
        );
    }
    Ok(())
}

fn compile_axis(raw: &RawAxis) -> Result<Axis> {
    let mut values = Vec::with_capacity(raw.values.len());
    let mut seen = HashSet::new();
    if raw.values.is_empty() {
        bail!("axis `{}` has no values", raw.name);
    }
    for raw_value in &raw.values {
        let name = raw_value.name();
        check_label(&format!("value of axis `{}`", raw.name), name)?;
        if !seen.insert(name) {
            bail!("axis `{}` lists value `{name}` twice", raw.name);
        }
        let version = match raw.kind {
            AxisKind::Plain => None,
            AxisKind::Version => Some(
                name.parse::<Version>()
                    .with_context(|| format!("axis `{}` is of kind version", raw.name))?,
            ),
        };
        let token = raw_value.id_token();
        let id_token = if token.is_empty() {
            String::new()
        } else {
            let full = format!("{}{token}", raw.id_prefix);
            check_label(&format!("id token of `{}={name}`", raw.name), &full)?;
            full
        };
        values.push(AxisValue {
            name: name.to_string(),
            id_token,
            version,
        });
    }
    Ok(Axis {
        name: raw.name.clone(),
        doc: raw.doc.clone().unwrap_or_default(),
        kind: raw.kind,
        values,
    })
}

fn compile_clause(axes: &[Axis], raw: &RawClause, what: &str) -> Result<Clause> {
    let mut conditions = Vec::with_capacity(raw.len());
    for (axis_name, raw_condition) in raw {
        let axis = axes
            .iter()
            .position(|a| &a.name == axis_name)
            .with_context(|| {
                let names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
                format!("{what} names {}", unknown_axis(axis_name, &names))
            })?;
        let accepts = compile_condition(&axes[axis], raw_condition)
            .with_context(|| format!("in {what}, condition on `{axis_name}`"))?;
        conditions.push(Condition { axis, accepts });
    }
    conditions.sort_by_key(|c| c.axis);
    Ok(Clause { conditions })
}

fn compile_condition(axis: &Axis, raw: &RawCondition) -> Result<Vec<bool>> {
    let set_of = |names: &[&str]| -> Result<Vec<bool>> {
        let mut accepts = vec![false; axis.values.len()];
        for name in names {
            let index = axis
                .value_index(name)
                .with_context(|| axis.unknown_value(name))?;
            accepts[index] = true;
        }
        Ok(accepts)
    };
    match raw {
        RawCondition::One(name) => set_of(&[name.as_str()]),
        RawCondition::AnyOf(names) => {
            if names.is_empty() {
                bail!("an empty list of values never holds");
            }
            set_of(&names.iter().map(String::as_str).collect::<Vec<_>>())
        }
        RawCondition::Test(test) => {
            let mut accepts = vec![true; axis.values.len()];
            let mut any = false;
            if let Some(not) = &test.not {
                any = true;
                for (slot, excluded) in accepts.iter_mut().zip(set_of(&not.names())?) {
                    *slot &= !excluded;
                }
            }
            for (bound, keep_if) in [
                (&test.at_least, std::cmp::Ordering::Less),
                (&test.below, std::cmp::Ordering::Greater),
            ] {
                let Some(bound) = bound else { continue };
                any = true;
                if axis.kind != AxisKind::Version {
                    bail!(
                        "`at_least`/`below` compare versions, but axis `{}` is not of `kind: version`",
                        axis.name
                    );
                }
                let bound: Version = bound.parse()?;
                for (slot, value) in accepts.iter_mut().zip(&axis.values) {
                    let order = value
                        .version
                        .as_ref()
                        .expect("version axis")
                        .cmp_to_bound(&bound);
                    // at_least: drop values below the bound; below: drop values at or above it.
                    let drop = match keep_if {
                        std::cmp::Ordering::Less => order == std::cmp::Ordering::Less,
                        _ => order != std::cmp::Ordering::Less,
                    };
                    *slot &= !drop;
                }
            }
            if !any {
                bail!("an empty test: give `not`, `at_least` or `below`");
            }
            Ok(accepts)
        }
    }
}

fn compile_contribution(
    axes: &[Axis],
    raw: &RawContribution,
    number: usize,
    what: &str,
) -> Result<Contribution> {
    for name in raw.env.keys() {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            bail!(
                "{what}: `{}` is not an environment variable name",
                name.escape_debug()
            );
        }
        if RESERVED_ENV.contains(&name.as_str()) || name.starts_with("MATRIX_") {
            bail!(
                "{what}: env may not set `{name}`: the script sets CFLAGS, CXXFLAGS and CPPFLAGS \
                 from `compile`, LDFLAGS from `link`, LD_PRELOAD from `preload`, and owns MATRIX_*"
            );
        }
    }
    for name in &raw.preload {
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            bail!(
                "{what}: preload file name `{}` is empty or has white space",
                name.escape_debug()
            );
        }
    }
    for pattern in &raw.collect {
        if pattern.is_empty() || pattern.contains('/') {
            bail!(
                "{what}: collect pattern `{}` must be a non-empty file-name pattern without `/`",
                pattern.escape_debug()
            );
        }
    }
    Ok(Contribution {
        number,
        when: compile_clause(axes, &raw.when, &format!("`when` of {what}"))?,
        env: raw
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        compile: raw.compile.clone(),
        link: raw.link.clone(),
        configure: raw.configure.clone(),
        preload: raw.preload.clone(),
        tests: raw.tests,
        collect: raw.collect.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_builtin(edit: impl FnOnce(&mut RawDefinition)) -> Result<Matrix> {
        let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "test").unwrap();
        edit(&mut raw);
        Matrix::compile(raw, "test")
    }

    #[test]
    fn the_builtin_definition_compiles() {
        let m = Matrix::builtin().unwrap();
        assert_eq!(
            m.axis_names(),
            [
                "platform",
                "os",
                "python",
                "compiler",
                "sanitizer",
                "san_link",
                "hwasan_option",
                "preload",
                "configure"
            ]
        );
        assert_eq!(m.rules.len(), 7);
        assert_eq!(m.product_size(), 5760);
    }

    #[test]
    fn syntax_errors_carry_file_line_and_column() {
        let err = Matrix::from_yaml(
            "image: {registry: r, name: n, tag_axis: os}\naxes:\n  - name: [\n",
            "m.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("m.yaml:"), "{err}");
        let err = Matrix::from_yaml(
            "image: {registry: r, name: n, tag_axis: os}\naxez: []\n",
            "m.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("m.yaml:2:1") && err.contains("unknown field `axez`"),
            "{err}"
        );
    }

    #[test]
    fn a_rule_naming_an_unknown_axis_or_value_is_an_error_naming_both() {
        let err = with_builtin(|raw| {
            raw.rules[0]
                .premise
                .insert("compilr".into(), RawCondition::One("gcc".into()));
        })
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("rule `clang-19-ubuntu-only`") && text.contains("`compilr`"),
            "{text}"
        );

        let err = with_builtin(|raw| {
            raw.rules[0]
                .premise
                .insert("compiler".into(), RawCondition::One("icc".into()));
        })
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("rule `clang-19-ubuntu-only`")
                && text.contains("`icc`")
                && text.contains("gcc, clang, clang-19"),
            "{text}"
        );
    }

    #[test]
    fn duplicate_values_and_unsafe_values_are_errors() {
        let err = with_builtin(|raw| raw.axes[0].values.push(RawValue::Plain("amd64".into())))
            .unwrap_err();
        assert!(format!("{err:#}").contains("lists value `amd64` twice"));
        let err =
            with_builtin(|raw| raw.axes[0].values.push(RawValue::Plain("x y".into()))).unwrap_err();
        assert!(format!("{err:#}").contains("is not valid"));
    }

    #[test]
    fn a_version_axis_rejects_a_non_version() {
        let err = with_builtin(|raw| raw.axes[2].values.push(RawValue::Plain("main".into())))
            .unwrap_err();
        assert!(format!("{err:#}").contains("`main` is not a CPython version"));
    }

    #[test]
    fn an_empty_list_of_values_is_an_error() {
        let err = with_builtin(|raw| {
            raw.rules[0].then = Some([("os".to_string(), RawCondition::AnyOf(vec![]))].into());
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("an empty list of values never holds"),
            "{err:#}"
        );
    }

    #[test]
    fn env_may_not_shadow_what_the_script_owns() {
        let err = with_builtin(|raw| {
            raw.contributions[0]
                .env
                .insert("CFLAGS".into(), "-O0".into());
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("env may not set `CFLAGS`"));
    }

    #[test]
    fn rules_describe_themselves() {
        let raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "t").unwrap();
        let lines: Vec<String> = raw.rules.iter().map(RawRule::describe).collect();
        assert_eq!(lines[0], "compiler=clang-19 ⇒ os=ubuntu-24.04");
        assert_eq!(lines[2], "san_link≠none ⇔ sanitizer ∈ {asan, hwasan, tsan}");
        assert_eq!(
            lines[4],
            "hwasan_option≠none ⇒ compiler ∈ {clang, clang-19} and sanitizer=hwasan"
        );
        assert_eq!(lines[5], "configure=no-gil ⇒ python ≥ 3.13");
    }

    #[test]
    fn version_bounds_select_by_release() {
        let m = Matrix::builtin().unwrap();
        let rule = m
            .rules
            .iter()
            .find(|r| r.name == "no-gil-needs-3.13")
            .unwrap();
        assert_eq!(rule.conclusion.conditions[0].accepts, vec![false, true]);
    }
}
