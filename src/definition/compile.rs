//! Checking a parsed definition and compiling it: axes, rules and contributions become the
//! index-based [`Matrix`] the rest of the program works from.

use std::collections::HashSet;

use anyhow::{bail, Context, Result};

use super::alphabet::{check_env_name, check_label};
use super::canary::{canary_what, check_canaries};
use super::images::compile_images;
use super::raw::{
    RawAxis, RawCanary, RawClause, RawCondition, RawContribution, RawDefinition, RawRule,
    RawSource, RawWorkflow,
};
use super::{
    unknown_axis, Axis, AxisKind, AxisValue, Canary, Contribution, ImageSpec, Matrix, SourceSpec,
    WorkflowDefaults,
};
use crate::rules::{Clause, Condition, Rule};
use crate::version::Version;

/// Environment variables the build script sets itself from other parts of a contribution.
const RESERVED_ENV: [&str; 5] = ["CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "LD_PRELOAD"];

pub(super) fn compile(raw: RawDefinition, origin: &str) -> Result<Matrix> {
    let axes = compile_axes(&raw.axes)?;
    crate::grammar::check_registry("image.registry", &raw.image.registry)?;
    crate::grammar::check_repository("image.name", &raw.image.name)?;
    check_base_url(&raw.source.base_url)?;
    let image = ImageSpec {
        tag_axis: find_axis(&axes, &raw.image.tag_axis, "image.tag_axis")?,
        registry: raw.image.registry.clone(),
        name: raw.image.name.clone(),
    };
    let source = compile_source(&raw.source, &axes)?;
    let tests = raw.tests.clone().unwrap_or_default();
    if tests.command.is_empty() {
        bail!(
            "tests.command is empty: give the program and its arguments, e.g. [./python, -m, test]"
        );
    }
    let rules = compile_rules(&raw.rules, &axes)?;
    let mut contributions = Vec::with_capacity(raw.contributions.len());
    for (i, raw_contribution) in raw.contributions.iter().enumerate() {
        let what = format!("contribution #{}", i + 1);
        contributions.push(compile_contribution(&axes, raw_contribution, i + 1, &what)?);
    }
    let canaries = compile_canaries(&raw.canaries, &axes)?;
    let workflow = compile_workflow(&raw.workflow.clone().unwrap_or_default(), &axes)?;
    let images = match &raw.images {
        Some(raw_images) => Some(compile_images(raw_images, &axes, image.tag_axis)?),
        None => None,
    };

    Ok(Matrix {
        origin: origin.to_string(),
        image,
        source,
        tests,
        axes,
        rules,
        contributions,
        canaries,
        // Compiled by `Matrix::compile` (definition/blind_spots.rs), which reads the axes.
        blind_spots: Vec::new(),
        workflow,
        images,
    })
}

/// The axes, each named once.
fn compile_axes(raw: &[RawAxis]) -> Result<Vec<Axis>> {
    let mut axes = Vec::with_capacity(raw.len());
    let mut axis_names = HashSet::new();
    if raw.is_empty() {
        bail!("`axes` is empty: a matrix needs at least one axis");
    }
    for raw_axis in raw {
        check_label("axis name", &raw_axis.name)?;
        if raw_axis.name == super::ID_AXIS {
            bail!(
                "axis `{}`: the name is reserved for selecting cells by id (`--only id=…`); \
                 call the axis something else",
                raw_axis.name
            );
        }
        if !axis_names.insert(raw_axis.name.as_str()) {
            bail!("axis `{}` is defined twice", raw_axis.name);
        }
        axes.push(compile_axis(raw_axis)?);
    }
    Ok(axes)
}

/// The index of the axis `name`, which `what` names.
fn find_axis(axes: &[Axis], name: &str, what: &str) -> Result<usize> {
    axes.iter().position(|a| a.name == name).with_context(|| {
        let names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
        format!("{what} names {}", unknown_axis(name, &names))
    })
}

/// `source`: its version axis, and checksums and formats only for that axis's values.
fn compile_source(raw: &RawSource, axes: &[Axis]) -> Result<SourceSpec> {
    let version_axis = find_axis(axes, &raw.version_axis, "source.version_axis")?;
    let axis = &axes[version_axis];
    if axis.kind != AxisKind::Version {
        bail!(
            "source.version_axis is `{}`, which is not an axis of `kind: version`",
            axis.name
        );
    }
    for (version, digest) in &raw.sha256 {
        if axis.value_index(version).is_none() {
            bail!(
                "source.sha256 gives a checksum for `{version}`, which is not a value of axis `{}`",
                axis.name
            );
        }
        let branch = axis.values.iter().find(|v| &v.name == version);
        if branch
            .and_then(|v| v.version.as_ref())
            .is_some_and(Version::is_branch)
        {
            bail!(
                "source.sha256 gives a checksum for `{version}`, a branch: its source is a \
                 checkout given with `matrix run --source {version}=DIR`, which has no fixed \
                 checksum; remove the entry"
            );
        }
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("source.sha256 for `{version}` is not 64 hexadecimal digits: `{digest}`");
        }
    }
    for version in raw.format.keys() {
        if axis.value_index(version).is_none() {
            bail!(
                "source.format gives a format for `{version}`, which is not a value of axis `{}`",
                axis.name
            );
        }
    }
    Ok(SourceSpec {
        version_axis,
        base_url: raw.base_url.trim_end_matches('/').to_string(),
        sha256: raw.sha256.clone(),
        format: raw.format.clone(),
    })
}

/// The rules, each named once, with exactly one of `then` and `iff`.
fn compile_rules(raw: &[RawRule], axes: &[Axis]) -> Result<Vec<Rule>> {
    let mut rules = Vec::with_capacity(raw.len());
    let mut rule_names = HashSet::new();
    for raw_rule in raw {
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
            premise: compile_clause(axes, &raw_rule.premise, &format!("`if` of {what}"))?,
            conclusion: compile_clause(axes, conclusion, &format!("conclusion of {what}"))?,
            both_ways,
        });
    }
    Ok(rules)
}

/// `workflow`: its arch axis (`workflow.arch_axis`, else an axis named `platform`), whose values
/// must be architectures, and its values over the built-in defaults.
fn compile_workflow(raw: &RawWorkflow, axes: &[Axis]) -> Result<WorkflowDefaults> {
    let arch_axis = match raw.arch_axis.as_deref() {
        Some(name) => Some(find_axis(axes, name, "workflow.arch_axis")?),
        None => axes.iter().position(|a| a.name == "platform"),
    };
    let workflow = WorkflowDefaults::compile(raw, arch_axis)?;
    if let Some(arch) = workflow.arch_axis {
        // The values become `kubernetes.io/arch` node selectors: a wrong one schedules nothing.
        for value in &axes[arch].values {
            let what = format!("value of axis `{}` (workflow.arch_axis)", axes[arch].name);
            crate::grammar::check_architecture(&what, &value.name)?;
        }
    }
    Ok(workflow)
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
            AxisKind::Version => Some(name.parse::<Version>().ok().with_context(|| {
                format!(
                    "axis `{}` is of kind version, and `{name}` is not a CPython release or \
                         branch: expected MAJOR.MINOR.MICRO with an optional a/b/rc suffix and \
                         no leading zeros, like 3.12.4 or 3.13.0b4, or a branch (`main`, \
                         `3.14`) whose checkout `matrix run --source` gives",
                    raw.name
                )
            })?),
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

pub(crate) fn compile_clause(axes: &[Axis], raw: &RawClause, what: &str) -> Result<Clause> {
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
    for name in raw.env.keys().chain(raw.test_env.keys()) {
        check_env_name(what, name)?;
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
    check_placeholders(raw, what)?;
    if raw.wrap.iter().any(String::is_empty) {
        bail!("{what}: `wrap` holds an empty word; give a command and its arguments, e.g. [setarch, -R]");
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
        test_args: raw.test_args.clone(),
        collect: raw.collect.clone(),
        test_env: raw
            .test_env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        wrap: raw.wrap.clone(),
        unconfined: raw.seccomp == Some(super::raw::Seccomp::Unconfined),
    })
}

/// What the script replaces in env, test_env and test arguments (README, "The definition
/// format"): directories that exist only once it runs.
pub(super) const PLACEHOLDERS: [&str; 3] = ["@SOURCE@", "@ARTIFACTS@", "@REPORTS@"];

/// Placeholders only where the script replaces them, and only those it knows: anything else
/// would reach configure or the tests as literal text.
fn check_placeholders(raw: &RawContribution, what: &str) -> Result<()> {
    let replaced = raw
        .env
        .values()
        .chain(raw.test_env.values())
        .chain(raw.test_args.iter().flatten());
    for value in replaced {
        check_known_placeholders(value, what)?;
    }
    let literal = [
        ("compile", &raw.compile),
        ("link", &raw.link),
        ("configure", &raw.configure),
        ("preload", &raw.preload),
        ("wrap", &raw.wrap),
        ("collect", &raw.collect),
    ];
    for (field, values) in literal {
        if let Some(value) = values
            .iter()
            .find(|v| PLACEHOLDERS.iter().any(|p| v.contains(p)))
        {
            bail!(
                "{what}: `{field}` value `{}` holds a placeholder, which the script replaces only \
                 in env, test_env and test arguments",
                value.escape_debug()
            );
        }
    }
    Ok(())
}

/// Every `@NAME@` in `value` is one of [`PLACEHOLDERS`].
pub(super) fn check_known_placeholders(value: &str, what: &str) -> Result<()> {
    let mut rest = value;
    while let Some(start) = rest.find('@') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('@') else { break };
        let name = &after[..end];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            let token = format!("@{name}@");
            if !PLACEHOLDERS.contains(&token.as_str()) {
                bail!(
                    "{what}: `{}` holds `{token}`, which is no placeholder; the script replaces {}",
                    value.escape_debug(),
                    PLACEHOLDERS.join(", ")
                );
            }
            rest = &after[end + 1..];
        } else {
            rest = after;
        }
    }
    Ok(())
}

/// The canaries, checked ([`super::canary`]) and their conditions compiled.
fn compile_canaries(raw: &[RawCanary], axes: &[Axis]) -> Result<Vec<Canary>> {
    let timeouts = check_canaries(raw)?;
    raw.iter()
        .zip(timeouts)
        .enumerate()
        .map(|(i, (canary, timeout_seconds))| {
            let what = canary_what(i, canary);
            Ok(Canary {
                name: canary.name.clone(),
                doc: canary.doc.trim().to_string(),
                when: compile_clause(axes, &canary.when, &format!("`when` of {what}"))?,
                expect: canary.expect.clone(),
                code: canary.code.clone(),
                timeout_seconds,
            })
        })
        .collect()
}

/// Tarballs are fetched from `source.base_url` and run as root in the build: only https, or a
/// local mirror given as an absolute `file://` path. It is written into every script (and so
/// every log), and Argo reads `{{` in a manifest as an expression: no credentials, no `{{`.
fn check_base_url(url: &str) -> Result<()> {
    if url.contains("{{") {
        bail!(
            "source.base_url `{}` holds `{{{{`, which Argo would read as an expression in every \
             manifest: give the URL itself",
            url.escape_debug()
        );
    }
    let ok = match url.split_once("://") {
        Some(("https", rest)) => {
            let host = rest.split('/').next().unwrap_or("");
            if let Some((_, after)) = host.rsplit_once('@') {
                // Said without the credentials: an error message is copied into issues.
                bail!(
                    "source.base_url `https://…@{}{}` carries credentials (`user:password@`): \
                     they would be in every script and every log; give a URL the builds may \
                     fetch without them (a mirror of the tarballs, or file:///path)",
                    after.escape_debug(),
                    rest[host.len()..].escape_debug()
                );
            }
            !host.is_empty() && !rest.contains(char::is_whitespace)
        }
        Some(("file", rest)) => rest.starts_with('/'),
        _ => false,
    };
    if !ok {
        bail!(
            "source.base_url `{}` is not an https:// URL (or a file:///absolute/path of a local \
             mirror): the tarballs it names are built and run",
            url.escape_debug()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::definition::Matrix;

    const BASE: &str = "image: {registry: r.example, name: n, tag_axis: os}\n\
        axes:\n  - {name: os, values: [a]}\n  - {name: python, kind: version, values: [3.13.5]}\n";

    fn error(contribution: &str) -> String {
        let text = format!("{BASE}contributions:\n  - {contribution}\n");
        format!("{:#}", Matrix::from_yaml(&text, "t.yaml").unwrap_err())
    }

    #[test]
    fn placeholders_only_where_replaced_and_only_known_ones() {
        let ok = format!(
            "{BASE}contributions:\n  - {{ env: {{ A: '@SOURCE@/x' }}, \
             test_env: {{ B: 'log_path=@REPORTS@/b:x=a@b.c@d' }}, test_args: ['@ARTIFACTS@/j'] }}\n"
        );
        assert!(Matrix::from_yaml(&ok, "t.yaml").is_ok());
        let unknown = error("{ test_env: { B: 'log_path=@REPORT@/b' } }");
        assert!(
            unknown.contains("`log_path=@REPORT@/b` holds `@REPORT@`, which is no placeholder"),
            "{unknown}"
        );
        let literal = error("{ configure: ['--prefix=@SOURCE@'] }");
        assert!(
            literal.contains("`configure` value `--prefix=@SOURCE@` holds a placeholder"),
            "{literal}"
        );
    }
}
