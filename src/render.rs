//! Rendering cells into build scripts: the context a script template sees, rendered from the
//! [`crate::templates`] registry (which owns the shell auto-escape and `--templates DIR`).

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cell::Cell;
use crate::definition::Matrix;
use crate::plan::BuildPlan;
use crate::templates::{Templates, SCRIPT_TEMPLATE};

/// Cells rendered (and written, or read) together: enough to keep every core busy, few enough
/// that their scripts take a few megabytes. 100,000 scripts of 10 KB would be a gigabyte.
pub const RENDER_PART: usize = 512;

/// What a script template sees.
#[derive(Debug, Serialize)]
pub struct ScriptContext<'a> {
    pub cell: CellView<'a>,
    pub source: SourceView,
    pub plan: &'a BuildPlan,
    /// Every canary of the definition, the same for all its cells.
    pub canaries: Vec<CanaryView<'a>>,
}

/// A canary as a script holds it.
#[derive(Debug, Serialize)]
pub struct CanaryView<'a> {
    pub name: &'a str,
    pub code: &'a str,
    /// The `expect` words, one a line: `grep -F` reads each line as a pattern.
    pub expect: String,
    pub timeout_seconds: u32,
}

#[derive(Debug, Serialize)]
pub struct CellView<'a> {
    pub id: &'a str,
    /// `(axis, value)` in definition order.
    pub values: Vec<AxisValuePair<'a>>,
}

#[derive(Debug, Serialize)]
pub struct AxisValuePair<'a> {
    pub axis: &'a str,
    pub value: &'a str,
}

/// The CPython source a cell builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceView {
    pub version: String,
    /// Empty for a branch (`main`, `3.14`): python.org has no tarball of it, its source is
    /// given at run time (`matrix run --source`).
    pub url: String,
    /// The tarball's file name in the source cache (the last part of `url`).
    pub file: String,
    /// Empty when the definition gives no checksum.
    pub sha256: String,
}

impl SourceView {
    /// The source `cell` builds: its version's release tarball and checksum.
    pub fn of(matrix: &Matrix, cell: &Cell) -> Self {
        let axis = &matrix.axes[matrix.source.version_axis];
        let value = &axis.values[cell.values[matrix.source.version_axis]];
        let version = value.version.as_ref().expect("version axis");
        let format = matrix
            .source
            .format
            .get(&value.name)
            .copied()
            .unwrap_or_default();
        let file = format!("Python-{}{}", value.name, format.extension());
        let url = if version.is_branch() {
            String::new()
        } else {
            let release_dir = version.release_dir();
            format!("{}/{release_dir}/{file}", matrix.source.base_url)
        };
        SourceView {
            url,
            file,
            version: value.name.clone(),
            sha256: matrix
                .source
                .sha256
                .get(&value.name)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// A branch: its source can only come from `--source`.
    pub fn is_branch(&self) -> bool {
        self.url.is_empty()
    }
}

impl<'a> ScriptContext<'a> {
    pub fn new(matrix: &'a Matrix, cell: &'a Cell, plan: &'a BuildPlan) -> Self {
        ScriptContext {
            cell: CellView {
                id: &cell.id,
                values: cell
                    .pairs(matrix)
                    .map(|(axis, value)| AxisValuePair { axis, value })
                    .collect(),
            },
            source: SourceView::of(matrix, cell),
            plan,
            canaries: matrix
                .canaries
                .iter()
                .map(|canary| CanaryView {
                    name: &canary.name,
                    code: &canary.code,
                    expect: canary.expect.join("\n"),
                    timeout_seconds: canary.timeout_seconds,
                })
                .collect(),
        }
    }
}

/// A cell's rendered script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub file_name: String,
    pub text: String,
}

/// The templates, checked to render scripts.
pub struct Renderer {
    templates: Templates,
    /// `--tests`: replaces every cell's test arguments.
    test_args: Option<Vec<String>>,
}

impl Renderer {
    /// The templates embedded in the binary.
    pub fn builtin() -> Result<Self> {
        Self::ready(Templates::builtin())
    }

    /// `--templates DIR` when given, else the built-in templates.
    pub fn load(templates: Option<&Path>) -> Result<Self> {
        Self::ready(Templates::load(templates)?)
    }

    /// Templates from a directory (`--templates DIR`); those it lacks are the built-in ones.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::ready(Templates::from_dir(dir)?)
    }

    /// Compiles the entry template up front so a syntax error is reported before any output.
    fn ready(templates: Templates) -> Result<Self> {
        templates.check(SCRIPT_TEMPLATE)?;
        Ok(Renderer {
            templates,
            test_args: None,
        })
    }

    /// `--tests 'ARGS'`: every cell's tests run with these arguments instead (a smoke run).
    pub fn with_test_args(mut self, args: Option<Vec<String>>) -> Self {
        self.test_args = args;
        self
    }

    /// The same templates, rendering each script's *shape* (see [`Templates::shapes`]).
    pub fn shapes(&self) -> Renderer {
        Renderer {
            templates: self.templates.shapes(),
            test_args: self.test_args.clone(),
        }
    }

    /// Every template, for the outputs rendered next to the scripts (Dockerfiles).
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    pub fn render(&self, matrix: &Matrix, cell: &Cell, plan: &BuildPlan) -> Result<Script> {
        let overridden;
        let plan = match &self.test_args {
            Some(args) => {
                overridden = BuildPlan {
                    test_args: args.clone(),
                    ..plan.clone()
                };
                &overridden
            }
            None => plan,
        };
        let text = self
            .templates
            .render(SCRIPT_TEMPLATE, ScriptContext::new(matrix, cell, plan))
            .with_context(|| format!("cannot render the script of cell {}", cell.id))?;
        Ok(Script {
            file_name: format!("{}.sh", cell.id),
            text,
        })
    }

    /// Renders every cell, planning each from the definition, on all cores; the order of the
    /// result is the order of `cells`. Many cells are rendered [`RENDER_PART`] at a time by
    /// their callers, so their scripts are never all in memory at once.
    pub fn render_all(&self, matrix: &Matrix, cells: &[Cell]) -> Result<Vec<Script>> {
        use rayon::prelude::*;
        cells
            .par_iter()
            .map(|cell| {
                let plan = BuildPlan::for_cell(matrix, cell)?;
                self.render(matrix, cell, &plan)
            })
            .collect()
    }

    /// Renders `cells` into `staged` a part at a time ([`RENDER_PART`]), each an executable
    /// script: memory holds one part, not every script (`render --out`, `run`'s `scripts/`).
    pub fn write_all(
        &self,
        matrix: &Matrix,
        cells: &[Cell],
        staged: &crate::output::Staged<'_>,
    ) -> Result<()> {
        for part in cells.chunks(RENDER_PART) {
            let scripts = self.render_all(matrix, part)?;
            let files: Vec<crate::output::OutputFile<'_>> = (scripts.iter())
                .map(|s| crate::output::OutputFile {
                    name: &s.file_name,
                    contents: s.text.as_bytes(),
                    executable: true,
                })
                .collect();
            staged.write(&files)?;
        }
        Ok(())
    }
}
