//! `matrix check`, the CI dry run: everything that can be verified about a definition and its
//! templates without a cluster, gathered as a list of problems and a summary.

use crate::export::{json_bytes, Export, OutputFormat};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cell::Cell;
use crate::definition::Matrix;
use crate::expand::ValueMask;
use crate::explain::slice_report;
use crate::images::consistency::CellNeeds;
use crate::render::Renderer;
use crate::selection::{select_cells, Selection};
use crate::workflow::compact::{self, Scripts, RENDER_PART};
use crate::workflow::schema::ArgoSchema;
use crate::workflow::{Part, Sink};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shellcheck {
    Ran,
    #[default]
    Skipped,
    NotInstalled,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub definition: String,
    pub cells: usize,
    pub scripts_checked: usize,
    /// Distinct script shapes (see [`Renderer::shapes`]): the linters run once per shape.
    pub script_shapes: usize,
    /// Whether shellcheck ran (it is optional: `bash -n` always runs).
    pub shellcheck: Shellcheck,
    /// Documents `matrix workflow` emits for the whole matrix.
    pub workflow_documents: usize,
    /// Whether they were validated against Argo's schema (`--argo-schema`).
    pub argo_schema: bool,
    /// Dockerfiles rendered, linted and checked against the scripts of their OS.
    pub dockerfiles: usize,
    pub problems: Vec<Problem>,
}

impl CheckReport {
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Warning)
            .count()
    }

    fn error(&mut self, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Error,
            message: message.into(),
        });
    }

    fn warning(&mut self, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Warning,
            message: message.into(),
        });
    }

    /// One line per problem, then the summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for problem in &self.problems {
            let tag = match problem.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push_str(&format!("{tag}: {}\n", problem.message));
        }
        out.push_str(&format!(
            "{}, {} checked as {} ({}), {}{}, {} checked, {}, {}\n",
            plural(self.cells, "cell"),
            plural(self.scripts_checked, "script"),
            plural(self.script_shapes, "shape"),
            match self.shellcheck {
                Shellcheck::Ran => "bash -n, shellcheck",
                Shellcheck::Skipped => "bash -n; shellcheck skipped",
                Shellcheck::NotInstalled => "bash -n; shellcheck not installed",
            },
            plural(self.workflow_documents, "workflow document"),
            if self.argo_schema {
                " (Argo schema)"
            } else {
                ""
            },
            plural(self.dockerfiles, "Dockerfile"),
            plural(self.errors(), "error"),
            plural(self.warnings(), "warning")
        ));
        out
    }
}

impl Export for CheckReport {
    const WHAT: &'static str = "a check report";
    const FORMATS: &'static [OutputFormat] = &[OutputFormat::Text, OutputFormat::Json];

    fn text(&self) -> Result<Vec<u8>> {
        Ok(self.to_text().into_bytes())
    }

    fn json(&self) -> Result<Vec<u8>> {
        json_bytes(self)
    }
}

fn plural(count: usize, word: &str) -> String {
    format!("{count} {word}{}", if count == 1 { "" } else { "s" })
}

pub struct CheckOptions {
    pub shellcheck: bool,
    /// Told what the check is doing as it goes (a terminal shows it; elsewhere a no-op).
    pub progress: fn(&str),
    /// How `matrix workflow` would build the manifests.
    pub workflow: crate::workflow::Options,
    /// Validate the manifests against Argo's schema too.
    pub argo_schema: Option<ArgoSchema>,
}

/// Runs every check on a loaded definition. A definition that does not load is reported by the
/// caller: there is nothing else to check then.
pub fn check(matrix: &Matrix, renderer: &Renderer, options: &CheckOptions) -> Result<CheckReport> {
    let mut report = CheckReport {
        definition: matrix.origin.clone(),
        ..CheckReport::default()
    };
    check_rules_and_checksums(matrix, &mut report);
    let cells = match select_cells(matrix, &Selection::default()) {
        Ok(cells) => cells,
        Err(err) => {
            report.error(format!("{err:#}"));
            return Ok(report);
        }
    };
    report.cells = cells.len();
    check_values_reached(matrix, &cells, &mut report);
    check_blind_spots(matrix, &cells, &mut report);

    (options.progress)(&format!("rendering {} scripts", cells.len()));
    let Some(rendered) = render_scripts(matrix, renderer, &cells, &mut report)? else {
        return Ok(report);
    };
    report.scripts_checked = rendered.scripts.len();
    report.script_shapes = rendered.shapes.len();
    (options.progress)(&format!(
        "bash -n over {}",
        plural(rendered.paths.len(), "shape")
    ));
    for line in bash_n(&rendered.paths)? {
        report.error(rendered.shapes.annotate(line));
    }
    (options.progress)("building the workflow documents");
    check_workflow(matrix, &cells, rendered.scripts, options, &mut report)?;
    if matrix.images.is_some() {
        check_images(matrix, renderer, &rendered.needs, &cells, &mut report)?;
    }
    report.shellcheck = run_shellcheck(options, &rendered.paths, &rendered.shapes, &mut report)?;
    Ok(report)
}

/// Warnings about the definition itself: idle rules, and versions without a checksum.
fn check_rules_and_checksums(matrix: &Matrix, report: &mut CheckReport) {
    // Rules that remove nothing, and values no cell has, are usually edits gone wrong.
    match slice_report(matrix, &ValueMask::all(matrix)) {
        Ok(effects) => {
            for effect in effects.rules.iter().filter(|e| e.breaks == 0) {
                report.warning(format!(
                    "rule `{}` never removes a combination",
                    effect.rule
                ));
            }
        }
        Err(err) => report.warning(format!("rule effects not checked: {err}")),
    }
    // A tarball without a checksum is trusted as downloaded.
    let version_axis = &matrix.axes[matrix.source.version_axis];
    for value in &version_axis.values {
        if value.version.as_ref().is_some_and(|v| v.is_branch()) {
            // A branch has no tarball to check: its source is a checkout given at run time.
            report.warning(format!(
                "{}={} is a branch: only `matrix run --source {}=DIR` can build it (its \
                 scripts elsewhere, Argo's included, stop in setup for want of a source)",
                version_axis.name, value.name, value.name
            ));
            continue;
        }
        if !matrix.source.sha256.contains_key(&value.name) {
            report.warning(format!(
                "source.sha256 gives no checksum for {}={}: its tarball is used unchecked",
                version_axis.name, value.name
            ));
        }
    }
}

/// A warning for each value of an axis that no cell has.
fn check_values_reached(matrix: &Matrix, cells: &[Cell], report: &mut CheckReport) {
    for (axis_index, axis) in matrix.axes.iter().enumerate() {
        for (value_index, value) in axis.values.iter().enumerate() {
            if !cells.iter().any(|c| c.values[axis_index] == value_index) {
                report.warning(format!(
                    "no cell has {}={}: the rules exclude it everywhere",
                    axis.name, value.name
                ));
            }
        }
    }
}

/// A warning for each blind spot some cell carries: how many cells, which, what they cannot
/// see and why.
fn check_blind_spots(matrix: &Matrix, cells: &[Cell], report: &mut CheckReport) {
    // A build plan that cannot be made is reported by the rendering, as an error.
    let Ok(counts) = crate::blind_spots::count(matrix, cells) else {
        return;
    };
    for (spot, count) in matrix.blind_spots.iter().zip(&counts.blind_spots) {
        if count.cells == 0 {
            continue;
        }
        let cannot_see = if spot.hides.is_empty() {
            String::new()
        } else {
            format!(" cannot see {}", spot.hides.join(", "))
        };
        report.warning(format!(
            "blind spot `{}`: {} ({}){cannot_see}: {}",
            spot.name,
            plural(count.cells, "cell"),
            spot.when_text,
            spot.reason
        ));
    }
}

/// What the checks keep of the rendered scripts.
struct RenderedScripts {
    /// Holds the files of `paths` until the check ends.
    _dir: tempfile::TempDir,
    shapes: ShapeGroups,
    /// The first script of each shape, written for the linters.
    paths: Vec<PathBuf>,
    /// What the scripts need of their images.
    needs: CellNeeds,
    /// Every script, in compact form.
    scripts: Scripts,
}

/// Renders the scripts of `cells`; `None` when one does not render (the error is reported).
///
/// The scripts are rendered a part at a time and kept only in compact form (100,000 full
/// scripts take a gigabyte); what the other checks need of them is taken as they go by.
/// The linters see one script per shape: every value reaches a script through the shell
/// escape, so scripts of one shape differ only in letters and digits inside quoted words,
/// which neither `bash -n` nor shellcheck judges (tests/it/check_shapes.rs shows it).
fn render_scripts(
    matrix: &Matrix,
    renderer: &Renderer,
    cells: &[Cell],
    report: &mut CheckReport,
) -> Result<Option<RenderedScripts>> {
    let shaper = renderer.shapes();
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut shapes = ShapeGroups::default();
    let mut paths = Vec::new();
    let mut needs = CellNeeds::default();
    let mut scripts = Scripts::default();
    for part in cells.chunks(RENDER_PART) {
        let rendered = match renderer.render_all(matrix, part) {
            Ok(rendered) => rendered,
            Err(err) => {
                report.error(format!("{err:#}"));
                return Ok(None);
            }
        };
        let shaped = shaper.render_all(matrix, part)?;
        for ((script, shape), cell) in rendered.iter().zip(&shaped).zip(part) {
            if shapes.add(&shape.text, &script.file_name) {
                let path = dir.path().join(&script.file_name);
                std::fs::write(&path, &script.text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                paths.push(path);
            }
            let known = compact::known_values(matrix, cell);
            scripts.push(script, &known, compact::family(matrix, cell));
        }
        if matrix.images.is_some() {
            needs.add(matrix, part, &rendered)?;
        }
    }
    Ok(Some(RenderedScripts {
        _dir: dir,
        shapes,
        paths,
        needs,
        scripts,
    }))
}

/// Builds the workflow documents as `matrix workflow` would, and validates them against Argo's
/// schema when one is given.
fn check_workflow(
    matrix: &Matrix,
    cells: &[Cell],
    scripts: Scripts,
    options: &CheckOptions,
    report: &mut CheckReport,
) -> Result<()> {
    let mut documents = Documents {
        schema: options.argo_schema.as_ref(),
        count: 0,
        violations: Vec::new(),
        failed: false,
    };
    match crate::workflow::stream(matrix, cells, scripts, &options.workflow, &mut documents) {
        Ok(count) => {
            report.workflow_documents = count;
            report.argo_schema = documents.schema.is_some();
            for violation in documents.violations {
                report.error(violation);
            }
        }
        // The schema could not be applied: no finding of the workflow's, the check's failure.
        Err(err) if documents.failed => return Err(err),
        Err(err) => report.error(format!("workflow: {err:#}")),
    }
    Ok(())
}

/// What the check keeps of the workflow documents as they are made: how many, and what Argo's
/// schema says of each (the documents themselves are not kept: a million cells' take
/// gigabytes).
struct Documents<'a> {
    schema: Option<&'a ArgoSchema>,
    count: usize,
    violations: Vec<String>,
    /// Validating a document failed (not the document: the validation).
    failed: bool,
}

impl Sink for Documents<'_> {
    fn document(&mut self, part: Part<'_>) -> Result<()> {
        self.count += 1;
        let Some(schema) = self.schema else {
            return Ok(());
        };
        let violations = serde_json::to_value(part.document)
            .map_err(anyhow::Error::from)
            .and_then(|value| schema.violations(&value, 20));
        self.failed = violations.is_err();
        for violation in violations? {
            (self.violations).push(format!("workflow document {}: {violation}", self.count));
        }
        Ok(())
    }

    fn restart(&mut self) -> Result<()> {
        self.count = 0;
        self.violations.clear();
        Ok(())
    }
}

/// The images: every program, compiler and runtime a script uses comes from a package its
/// OS's Dockerfile installs, and the Dockerfiles lint clean.
fn check_images(
    matrix: &Matrix,
    renderer: &Renderer,
    needs: &CellNeeds,
    cells: &[Cell],
    report: &mut CheckReport,
) -> Result<()> {
    match crate::images::dockerfile::render_all(matrix, renderer.templates()) {
        Ok(dockerfiles) => {
            report.dockerfiles = dockerfiles.len();
            for dockerfile in &dockerfiles {
                for finding in crate::images::lint::lint(&dockerfile.text) {
                    report.error(format!("{}: {finding}", dockerfile.file_name));
                }
            }
        }
        Err(err) => report.error(format!("{err:#}")),
    }
    for problem in needs.check(matrix, cells)? {
        report.error(problem.to_string());
    }
    Ok(())
}

/// shellcheck over one script per shape, when asked for and installed.
fn run_shellcheck(
    options: &CheckOptions,
    paths: &[PathBuf],
    shapes: &ShapeGroups,
    report: &mut CheckReport,
) -> Result<Shellcheck> {
    Ok(match (options.shellcheck, shellcheck_available()) {
        (false, _) => Shellcheck::Skipped,
        (true, false) => Shellcheck::NotInstalled,
        (true, true) => {
            (options.progress)(&format!("shellcheck over {}", plural(paths.len(), "shape")));
            for line in shellcheck(paths)? {
                report.error(shapes.annotate(line));
            }
            Shellcheck::Ran
        }
    })
}

/// Scripts grouped by their shape, in the order of their first script.
#[derive(Default)]
struct ShapeGroups {
    /// Per shape text, its group's number.
    index: std::collections::HashMap<String, usize>,
    /// Per shape, the file name of its first script (the one the linters see) and how many
    /// scripts have it.
    groups: Vec<(String, usize)>,
}

impl ShapeGroups {
    /// Counts a script of this shape; true when it is the first, which the linters are to see.
    fn add(&mut self, shape: &str, file_name: &str) -> bool {
        if let Some(&group) = self.index.get(shape) {
            self.groups[group].1 += 1;
            return false;
        }
        self.index.insert(shape.to_string(), self.groups.len());
        self.groups.push((file_name.to_string(), 1));
        true
    }

    fn len(&self) -> usize {
        self.groups.len()
    }

    /// A linter's line about a representative (`<file>:...`), saying how many other scripts
    /// share its shape and so the finding.
    fn annotate(&self, line: String) -> String {
        let file = line.split(':').next().unwrap_or_default();
        let others = self
            .groups
            .iter()
            .find(|(name, _)| name == file)
            .map_or(0, |(_, count)| count - 1);
        match others {
            0 => line,
            n => format!(
                "{line} (likewise in {} of the same shape)",
                plural(n, "other script")
            ),
        }
    }
}

/// Files given to one linter process at most: the command line stays far below the
/// system's limit on argument length however many shapes there are.
const FILES_PER_CALL: usize = 500;

/// `bash -n` over every file, in one bash process per [`FILES_PER_CALL`] files; one line per
/// failing file.
fn bash_n(paths: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for chunk in paths.chunks(FILES_PER_CALL) {
        let out = Command::new("bash")
            .arg("-c")
            .arg(r#"for f in "$@"; do out=$(bash -n "$f" 2>&1) || printf '%s: bash -n: %s\n' "${f##*/}" "${out%%$'\n'*}"; done"#)
            .arg("bash")
            .args(chunk)
            .output()
            .context("cannot run bash")?;
        lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from),
        );
    }
    Ok(lines)
}

fn shellcheck_available() -> bool {
    Command::new("shellcheck")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// shellcheck's findings, one line each (`file:line:col: severity: message [SCxxxx]`), with
/// the temporary directory left out of the names. One process per core at a time, each given
/// a share of the files (shellcheck's start-up costs as much as a script), at most
/// [`FILES_PER_CALL`] each.
fn shellcheck(paths: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let share = paths.len().div_ceil(cores).clamp(1, FILES_PER_CALL);
    let chunks: Vec<&[std::path::PathBuf]> = paths.chunks(share).collect();
    let mut lines = Vec::new();
    for wave in chunks.chunks(cores) {
        let children = wave
            .iter()
            .map(|chunk| {
                Command::new("shellcheck")
                    .args(["--severity=style", "--format=gcc"])
                    .args(*chunk)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .context("cannot run shellcheck")
            })
            .collect::<Result<Vec<_>>>()?;
        for child in children {
            let out = child.wait_with_output().context("shellcheck failed")?;
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let line = Path::new(line.split(':').next().unwrap_or(""))
                    .file_name()
                    .map(|name| {
                        format!(
                            "{}{}",
                            name.to_string_lossy(),
                            &line[line.find(':').unwrap_or(0)..]
                        )
                    })
                    .unwrap_or_else(|| line.to_string());
                lines.push(line);
            }
        }
    }
    lines.sort();
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{RawDefinition, RawRule, BUILTIN_DEFINITION};

    fn options(matrix: &Matrix) -> CheckOptions {
        CheckOptions {
            shellcheck: false,
            progress: |_| {},
            workflow: crate::workflow::Options::resolve(&Default::default(), matrix).unwrap(),
            argo_schema: None,
        }
    }

    #[test]
    fn the_builtin_definition_checks_clean_but_for_its_blind_spots() {
        let m = Matrix::builtin().unwrap();
        let report = check(&m, &Renderer::builtin().unwrap(), &options(&m)).unwrap();
        // Its only warnings are its blind spots, each of which some cell carries.
        let names: Vec<String> = (m.blind_spots.iter())
            .map(|s| format!("blind spot `{}`: ", s.name))
            .collect();
        assert_eq!(report.problems.len(), names.len(), "{:?}", report.problems);
        for (problem, name) in report.problems.iter().zip(&names) {
            assert_eq!(problem.severity, Severity::Warning);
            assert!(problem.message.starts_with(name), "{}", problem.message);
        }
        assert_eq!((report.cells, report.scripts_checked), (742, 742));
        assert!(report.script_shapes > 1 && report.script_shapes < 742);
        let text = report.to_text();
        assert!(text.ends_with(&format!(
            "742 cells, 742 scripts checked as {} shapes (bash -n; shellcheck skipped), 1 workflow document, 2 Dockerfiles checked, 0 errors, 5 warnings
",
            report.script_shapes
        )), "{text}");
    }

    #[test]
    fn a_version_without_a_checksum_is_a_warning() {
        let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "t").unwrap();
        raw.source.sha256.remove("3.12.4");
        let m = Matrix::compile(raw, "t").unwrap();
        let report = check(&m, &Renderer::builtin().unwrap(), &options(&m)).unwrap();
        let text = report.to_text();
        assert!(
            text.contains("warning: source.sha256 gives no checksum for python=3.12.4"),
            "{text}"
        );
    }

    #[test]
    fn idle_rules_and_unreachable_values_are_warnings() {
        let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "t").unwrap();
        let mut idle: RawRule = raw.rules[0].clone();
        idle.name = "idle".into();
        idle.premise.insert(
            "os".into(),
            crate::definition::RawCondition::One("ubuntu-24.04".into()),
        );
        raw.rules.push(idle);
        // icc ⇒ analyzer ⇒ gcc: no cell can have icc.
        raw.axes[3]
            .values
            .push(crate::definition::RawValue::Plain("icc".into()));
        let mut never: RawRule = raw.rules[1].clone();
        never.name = "no-icc".into();
        never.premise = [(
            "compiler".to_string(),
            crate::definition::RawCondition::One("icc".into()),
        )]
        .into();
        never.then = Some(
            [(
                "sanitizer".to_string(),
                crate::definition::RawCondition::One("analyzer".into()),
            )]
            .into(),
        );
        raw.rules.push(never);
        let m = Matrix::compile(raw, "t").unwrap();
        let report = check(&m, &Renderer::builtin().unwrap(), &options(&m)).unwrap();
        let text = report.to_text();
        assert!(
            text.contains("warning: rule `idle` never removes a combination"),
            "{text}"
        );
        assert!(text.contains("warning: no cell has compiler=icc"), "{text}");
        assert_eq!(report.errors(), 0, "{text}");
    }
}
