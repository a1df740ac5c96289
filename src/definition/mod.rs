//! The matrix definition, all of `matrix.yaml`: its YAML form ([`raw`]), the checks and
//! compilation ([`compile`]), the build-image section ([`images`]), the `workflow:` section and
//! its defaults ([`workflow`]), the blind spots ([`blind_spots`]) and the name alphabets
//! ([`alphabet`]), giving the checked [`Matrix`] that expansion, rendering and the manifests use.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::rules::{Clause, Rule};
use crate::suggest::did_you_mean;
use crate::version::Version;

pub mod alphabet;
pub mod blind_spots;
mod canary;
mod compile;
pub mod images;
mod raw;
mod unique_keys;
pub mod workflow;

pub use alphabet::MAX_LABEL_LEN;
pub use blind_spots::BlindSpot;
pub(crate) use compile::compile_clause;
pub use raw::*;
pub use workflow::WorkflowDefaults;

/// The definition shipped in the repository and embedded in the binary.
pub const BUILTIN_DEFINITION: &str = include_str!("../../definition/matrix.yaml");
/// How the built-in definition is named in messages.
pub const BUILTIN_NAME: &str = "<built-in definition/matrix.yaml>";
/// CPython's own sanitizer CI as a definition (`matrix init --profile cpython-ci`).
pub const CPYTHON_CI_DEFINITION: &str = include_str!("../../definition/cpython-ci.yaml");

/// How the cpython-ci definition is named in messages.
pub const CPYTHON_CI_NAME: &str = "<built-in definition/cpython-ci.yaml>";

/// The pseudo-axis of a filter that names cells by id (`--only id=ID,…`): no axis is called so.
pub const ID_AXIS: &str = "id";

// ---------------------------------------------------------------------------------------------
// The compiled form.

/// A checked matrix definition.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// Where the definition came from, for messages.
    pub origin: String,
    pub image: ImageSpec,
    pub source: SourceSpec,
    /// The test command and its default arguments.
    pub tests: RawTests,
    pub axes: Vec<Axis>,
    pub rules: Vec<Rule>,
    pub contributions: Vec<Contribution>,
    pub canaries: Vec<Canary>,
    /// The cells that cannot see a class of defect, in definition order.
    pub blind_spots: Vec<BlindSpot>,
    pub workflow: WorkflowDefaults,
    /// The `images` section, checked against the tag axis.
    pub images: Option<images::ImagesSpec>,
}

#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub registry: String,
    pub name: String,
    pub tag_axis: usize,
}

impl ImageSpec {
    /// `<registry>/<name>:<tag>`: the image cells whose tag-axis value is `tag` run in, and the
    /// tag `matrix images` builds for it. The one place an image reference is spelt.
    pub fn reference(&self, registry: &str, tag: &str) -> String {
        format!("{}/{}:{tag}", registry.trim_end_matches('/'), self.name)
    }
}

#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub version_axis: usize,
    pub base_url: String,
    pub sha256: BTreeMap<String, String>,
    pub format: BTreeMap<String, SourceFormat>,
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
    pub test_args: Option<Vec<String>>,
    pub collect: Vec<String>,
    pub test_env: Vec<(String, String)>,
    pub wrap: Vec<String>,
    /// Run without a container engine's seccomp filter.
    pub unconfined: bool,
}

/// A deliberate defect a cell runs after its build to prove its sanitizer sees that class of
/// bug: seen, missed, or an error (it hung, or never reached its defect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    pub name: String,
    pub doc: String,
    pub when: Clause,
    pub expect: Vec<String>,
    pub code: String,
    pub timeout_seconds: u32,
}

/// What a canary prints just before its defect: without it, the canary is an error, not a miss.
pub const CANARY_REACHED: &str = "matrix-canary: reached";

impl Matrix {
    /// The definition embedded in the binary.
    pub fn builtin() -> Result<Self> {
        Self::from_yaml(BUILTIN_DEFINITION, BUILTIN_NAME)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            crate::input::read_text(path, "matrix definition", crate::input::limit::DEFINITION)?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    pub fn from_yaml(text: &str, origin: &str) -> Result<Self> {
        Self::compile(RawDefinition::from_yaml(text, origin)?, origin)
    }

    /// Checks a parsed definition and compiles its conditions.
    pub fn compile(mut raw: RawDefinition, origin: &str) -> Result<Self> {
        let spots = std::mem::take(&mut raw.blind_spots);
        compile::compile(raw, origin)
            .and_then(|mut matrix| {
                matrix.blind_spots = blind_spots::compile(&spots, &matrix.axes)?;
                let canaries: Vec<&str> = matrix.canaries.iter().map(|c| c.name.as_str()).collect();
                blind_spots::check_hides_are_canaries(&matrix.blind_spots, &canaries)?;
                Ok(matrix)
            })
            .with_context(|| format!("invalid matrix definition {origin}"))
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
pub(crate) fn unknown_axis(name: &str, axes: &[&str]) -> String {
    format!(
        "unknown axis `{name}`{}; the axes are: {}",
        did_you_mean(name, axes.iter().copied()),
        axes.join(", ")
    )
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
    fn a_version_axis_rejects_a_non_version_and_takes_branches() {
        for not_a_version in ["trunk", "3", "3.12.04", "3.13.0b04", "03.12.4"] {
            let err = with_builtin(|raw| {
                raw.axes[2].values[0] = RawValue::Plain(not_a_version.into());
                raw.source.sha256.clear();
                raw.source.format.clear();
            })
            .unwrap_err();
            assert!(
                format!("{err:#}").contains(&format!(
                    "`{not_a_version}` is not a CPython release or branch: expected \
                     MAJOR.MINOR.MICRO"
                )),
                "{err:#}"
            );
        }
        with_builtin(|raw| {
            raw.axes[2].values.push(RawValue::Plain("main".into()));
            raw.axes[2].values.push(RawValue::Plain("3.14".into()));
        })
        .unwrap();
        let err = with_builtin(|raw| {
            raw.axes[2].values.push(RawValue::Plain("main".into()));
            raw.source.sha256.insert("main".into(), "0".repeat(64));
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("`main`, a branch"), "{err:#}");
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
