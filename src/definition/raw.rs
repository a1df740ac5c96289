//! The YAML form of `matrix.yaml`: the serde types a user edits, parsed with file, line and
//! column in errors, and the one-line description of a rule.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::images::RawImages;
use crate::suggest::suggest_for_unknown_field;

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
    /// Deliberate defects every sanitizer cell runs before its tests, to show what its
    /// sanitizer can see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canaries: Vec<RawCanary>,
    /// Cells that cannot see a class of defect, named before anything runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blind_spots: Vec<RawBlindSpot>,
    /// Defaults of `matrix workflow`; every one has a flag that overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<RawWorkflow>,
    /// How each OS's build image is made (`matrix images`); optional for matrices that only
    /// render scripts, but when present every value of `image.tag_axis` needs an entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<RawImages>,
    /// The test command of every cell that runs tests (default: the original's
    /// `./python -m test -uall`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<RawTests>,
}

/// `tests:` in the definition: the command and its default arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTests {
    #[serde(default = "default_test_command")]
    pub command: Vec<String>,
    #[serde(default = "default_test_args")]
    pub args: Vec<String>,
}

fn default_test_command() -> Vec<String> {
    vec!["./python".into(), "-m".into(), "test".into()]
}

fn default_test_args() -> Vec<String> {
    vec!["-uall".into()]
}

impl Default for RawTests {
    fn default() -> Self {
        RawTests {
            command: default_test_command(),
            args: default_test_args(),
        }
    }
}

/// How a release tarball is compressed: python.org publishes both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceFormat {
    #[default]
    #[serde(rename = "tgz")]
    Tgz,
    #[serde(rename = "tar.xz")]
    TarXz,
}

impl SourceFormat {
    /// The file name's ending, with its dot.
    pub fn extension(self) -> &'static str {
        match self {
            SourceFormat::Tgz => ".tgz",
            SourceFormat::TarXz => ".tar.xz",
        }
    }
}

/// `workflow:` in the definition: Argo manifest defaults. Values are checked when the definition
/// is loaded ([`super::WorkflowDefaults`]), a bad one reported with the key it came from.
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
    /// SHA-256 of a version's tarball (in its `format`), checked by the script when given.
    #[serde(default)]
    pub sha256: BTreeMap<String, String>,
    /// The tarball format of a version, `tgz` (the default) or `tar.xz`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub format: BTreeMap<String, SourceFormat>,
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
            format: BTreeMap::new(),
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
    expecting = "a value name, or a mapping with `value` and optional `id` (a name that looks like a \
                 number must be quoted: YAML reads an unquoted 3.10 as the number 3.1)"
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

    pub(super) fn id_token(&self) -> &str {
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
    pub(super) fn names(&self) -> Vec<&str> {
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
    /// Replaces the definition's test arguments for the cells this contribution matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
    /// Exported after the build, for the canaries and the tests; may replace a variable of
    /// `env` (a sanitizer option that only the tests should run with).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub test_env: BTreeMap<String, String>,
    /// A command prefix that configure, make, the canaries and the tests run under
    /// (`[setarch, -R]`: TSan's ASLR precondition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrap: Vec<String>,
    /// `unconfined`: a container engine runs the cell without its default seccomp profile
    /// (which refuses `personality(2)`, so `setarch -R`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp>,
}

/// A cell's seccomp filter in a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seccomp {
    /// No filter.
    Unconfined,
}

/// `canaries:` in the definition: one deliberate defect, run by the cells `when` selects with
/// the interpreter they built, and the words of the report that shows it was seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCanary {
    pub name: String,
    pub doc: String,
    #[serde(default)]
    pub when: RawClause,
    /// Any of these in the canary's output means its sanitizer reported the defect.
    pub expect: Vec<String>,
    /// Python source, run with `./python -c`; it prints `matrix-canary: reached` just before
    /// the defect.
    pub code: String,
    /// Seconds before the canary is stopped and counted as an error (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
}

/// `blind_spots:` entry: the cells `when` selects cannot see the defect classes `hides`, for
/// `reason`, unless their build plan has one of the items of `unless`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlindSpot {
    pub name: String,
    pub reason: String,
    /// Defect classes (canary names) the cells cannot see; may be empty when the reason says
    /// what the blind spot costs instead.
    pub hides: Vec<String>,
    pub when: RawClause,
    #[serde(default, skip_serializing_if = "RawUnless::is_empty")]
    pub unless: RawUnless,
}

/// What in a cell's build plan lifts a blind spot: any one pattern of any list, matched
/// against the plan's list of that name (`*` matches any run of characters).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUnless {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configure: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compile: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<String>,
    /// `NAME=VALUE-pattern`: the plan exports NAME with a value the pattern matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrap: Vec<String>,
}

impl RawUnless {
    pub fn is_empty(&self) -> bool {
        self.configure.is_empty()
            && self.compile.is_empty()
            && self.link.is_empty()
            && self.env.is_empty()
            && self.wrap.is_empty()
    }
}

impl RawBlindSpot {
    /// Its `when` as one line of logic (`sanitizer ∈ {asan, hwasan}`), `every cell` when empty.
    pub fn describe_when(&self) -> String {
        if self.when.is_empty() {
            "every cell".to_string()
        } else {
            describe_clause(&self.when)
        }
    }
}

impl RawDefinition {
    /// Parses YAML; `origin` names the text in errors (a path, or the built-in name).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self> {
        check_nesting(text, origin)?;
        super::unique_keys::check(text, origin)?;
        serde_yaml::from_str(text).map_err(|err| match err.location() {
            Some(at) => anyhow::anyhow!(
                "{origin}:{}:{}: {}",
                at.line(),
                at.column(),
                suggest_quoting(suggest_for_unknown_field(strip_location(&err.to_string())))
            ),
            None => anyhow::anyhow!("{origin}: {err}"),
        })
    }
}

/// The deepest nesting of YAML flow collections (`[` and `{`) a definition may have; the real
/// one needs 3.
const MAX_NESTING: usize = 32;

/// Refuses deeply nested flow collections before parsing: YAML's scanner takes time quadratic in
/// their depth (a 400 KB line of `[` took minutes), while this pass is linear.
fn check_nesting(text: &str, origin: &str) -> Result<()> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut comment = false;
    let (mut line, mut column) = (1usize, 0usize);
    let mut previous = b'\n';
    for &byte in text.as_bytes() {
        column += 1;
        match (quote, byte) {
            (_, b'\n') => {
                (line, column, comment) = (line + 1, 0, false);
            }
            _ if comment => {}
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'#') if previous.is_ascii_whitespace() => comment = true,
            (None, b'"' | b'\'')
                if matches!(previous, b' ' | b'\t' | b'\n' | b'[' | b'{' | b',' | b':') =>
            {
                quote = Some(byte)
            }
            (None, b'[' | b'{') => {
                depth += 1;
                if depth > MAX_NESTING {
                    bail!(
                        "{origin}:{line}:{column}: brackets nested deeper than {MAX_NESTING} levels; \
                         a matrix definition needs no more than a few"
                    );
                }
            }
            (None, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = byte;
    }
    Ok(())
}

/// serde_yaml reads an unquoted `3.10` as the number 3.1: say so where a string was expected.
fn suggest_quoting(message: String) -> String {
    if message.starts_with("invalid type: floating point")
        || message.starts_with("invalid type: integer")
    {
        format!("{message}; YAML reads an unquoted number as a number (3.10 is 3.1): quote it, e.g. \"3.10\"")
    } else {
        message
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
