//! Rendering cells into build scripts: the minijinja environment, its shell auto-escape, and
//! the context a template sees. Templates are embedded; `--templates DIR` replaces them.

use std::path::Path;

use anyhow::{Context, Result};
use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};
use serde::Serialize;

use crate::cell::Cell;
use crate::definition::Matrix;
use crate::plan::BuildPlan;

/// The template every script is rendered from.
pub const SCRIPT_TEMPLATE: &str = "build.sh.j2";

/// The embedded templates, as shipped in `templates/`.
pub const BUILTIN_TEMPLATES: [(&str, &str); 3] = [
    ("build.sh.j2", include_str!("../templates/build.sh.j2")),
    ("cell.sh.j2", include_str!("../templates/cell.sh.j2")),
    ("body.sh.j2", include_str!("../templates/body.sh.j2")),
];

const SHELL: AutoEscape = AutoEscape::Custom("shell");

/// Templates whose output is a shell script get the shell auto-escape.
fn auto_escape_for(name: &str) -> AutoEscape {
    let name = name.strip_suffix(".j2").unwrap_or(name);
    if name.ends_with(".sh") {
        SHELL
    } else {
        AutoEscape::None
    }
}

/// Quotes `text` as one shell word that means exactly `text` (single quotes where needed).
pub fn shell_quote(text: &str) -> Result<String, Error> {
    shlex::try_quote(text)
        .map(|q| q.into_owned())
        .map_err(|err| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("cannot quote {:?} for a shell script: {err}", text),
            )
        })
}

/// Words the shell reads as syntax (or a builtin spelled in punctuation) where a command may
/// start: a value spelled like one keeps its spelling in a shape, since in command position it
/// changes what the script means.
const KEPT_WORDS: [&str; 24] = [
    "!", ".", ":", "[[", "]]", "{", "}", "case", "coproc", "do", "done", "elif", "else", "esac",
    "fi", "for", "function", "if", "in", "select", "then", "time", "until", "while",
];

/// The *shape* of a value's shell word. Of its quoted form it keeps the quotes and the
/// characters the shell or a linter reads inside a word (`$`, backquote, backslash, `!`, line
/// breaks), a leading `-` (an option, where a command reads it), and words the shell reads as
/// syntax; every other run of characters becomes one `a`. So `'-fsanitize=address'` and
/// `'-fsanitize=thread'` have one shape, `'$HOME'` another (see `matrix check`).
pub fn shape_word(text: &str) -> Result<String, Error> {
    let quoted = shell_quote(text)?;
    if KEPT_WORDS.contains(&quoted.as_str()) {
        return Ok(quoted);
    }
    let read_inside = |c: char| matches!(c, '$' | '`' | '\\' | '\'' | '"' | '!' | '\n');
    let mut shape = String::with_capacity(quoted.len());
    if quoted.starts_with('-') {
        shape.push('-');
    }
    let mut in_run = false;
    for c in quoted.chars().skip(shape.len()) {
        if read_inside(c) {
            shape.push(c);
            in_run = false;
        } else if !in_run {
            shape.push('a');
            in_run = true;
        }
    }
    Ok(shape)
}

/// The formatter behind `{{ ... }}` in `.sh` templates: a string is one quoted word, a list is
/// one quoted word per item (for arrays and argument lists), booleans and numbers print as
/// they are. Nothing else has a meaning in a script, so it is an error. `|safe` opts out.
fn shell_formatter(
    out: &mut Output<'_>,
    state: &State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    format_words(out, state, value, shell_quote)
}

/// [`shell_formatter`] with each word written by `word` (its quoted form, or its shape).
fn format_words(
    out: &mut Output<'_>,
    state: &State<'_, '_>,
    value: &Value,
    word: fn(&str) -> Result<String, Error>,
) -> Result<(), Error> {
    if state.auto_escape() != SHELL || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    let write = |out: &mut Output<'_>, text: &str| out.write_str(text).map_err(Error::from);
    match value.kind() {
        ValueKind::String => write(out, &word(value.as_str().unwrap_or_default())?),
        ValueKind::Bool => write(out, if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => write(out, &value.to_string()),
        ValueKind::Seq | ValueKind::Iterable => {
            let mut words = Vec::new();
            for item in value.try_iter()? {
                match item.kind() {
                    ValueKind::String | ValueKind::Number => words.push(word(&item.to_string())?),
                    kind => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!("a list in a shell script may hold strings only, not {kind}"),
                        ))
                    }
                }
            }
            write(out, &words.join(" "))
        }
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot put a {kind} into a shell script"),
        )),
    }
}

/// What a script template sees.
#[derive(Debug, Serialize)]
pub struct ScriptContext<'a> {
    pub cell: CellView<'a>,
    pub source: SourceView,
    pub plan: &'a BuildPlan,
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
        let release_dir = value.version.as_ref().expect("version axis").release_dir();
        let format = matrix
            .source
            .format
            .get(&value.name)
            .copied()
            .unwrap_or_default();
        let file = format!("Python-{}{}", value.name, format.extension());
        SourceView {
            url: format!("{}/{release_dir}/{file}", matrix.source.base_url),
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
        }
    }
}

/// A cell's rendered script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub file_name: String,
    pub text: String,
}

/// A template environment ready to render scripts.
pub struct Renderer {
    env: Environment<'static>,
    /// `--tests`: replaces every cell's test arguments.
    test_args: Option<Vec<String>>,
}

impl Renderer {
    /// The templates embedded in the binary.
    pub fn builtin() -> Result<Self> {
        let mut env = Self::environment();
        for (name, source) in BUILTIN_TEMPLATES {
            env.add_template(name, source)
                .with_context(|| format!("built-in template {name}"))?;
        }
        Self::ready(env, "built-in templates")
    }

    /// `--templates DIR` when given, else the built-in templates.
    pub fn load(templates: Option<&Path>) -> Result<Self> {
        match templates {
            Some(dir) => Self::from_dir(dir),
            None => Self::builtin(),
        }
    }

    /// Templates from a directory (`--templates DIR`), which must hold `build.sh.j2`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        if !dir.join(SCRIPT_TEMPLATE).is_file() {
            anyhow::bail!(
                "template directory {} has no {SCRIPT_TEMPLATE}: that is the template every \
                 script is rendered from",
                dir.display()
            );
        }
        let mut env = Self::environment();
        env.set_loader(minijinja::path_loader(dir));
        Self::ready(env, &format!("templates in {}", dir.display()))
    }

    fn environment() -> Environment<'static> {
        let mut env = Environment::new();
        // A misspelt variable must fail the render, not become an empty string in a script.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(auto_escape_for);
        env.set_formatter(shell_formatter);
        env
    }

    /// Compiles the entry template up front so a syntax error is reported before any output.
    fn ready(env: Environment<'static>, what: &str) -> Result<Self> {
        env.get_template(SCRIPT_TEMPLATE)
            .map_err(|err| anyhow::anyhow!(describe(&err)))
            .with_context(|| format!("cannot load {what}"))?;
        Ok(Renderer {
            env,
            test_args: None,
        })
    }

    /// `--tests 'ARGS'`: every cell's tests run with these arguments instead (a smoke run).
    pub fn with_test_args(mut self, args: Option<Vec<String>>) -> Self {
        self.test_args = args;
        self
    }

    /// The same templates, rendering the *shape* of each script instead: every value a
    /// template prints through the shell escape becomes its [`shape_word`]; the template's own
    /// text and its decisions (which see the real values) stay. Two scripts with one shape
    /// differ only in letters and digits inside words the escape produced.
    pub fn shapes(&self) -> Renderer {
        let mut env = self.env.clone();
        env.set_formatter(|out, state, value| format_words(out, state, value, shape_word));
        Renderer {
            env,
            test_args: self.test_args.clone(),
        }
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
        let template = self
            .env
            .get_template(SCRIPT_TEMPLATE)
            .map_err(|e| anyhow::anyhow!(describe(&e)))?;
        let text = template
            .render(ScriptContext::new(matrix, cell, plan))
            .map_err(|err| anyhow::anyhow!(describe(&err)))
            .with_context(|| format!("cannot render the script of cell {}", cell.id))?;
        Ok(Script {
            file_name: format!("{}.sh", cell.id),
            text,
        })
    }

    /// Renders every cell, planning each from the definition, on all cores; the order of the
    /// result is the order of `cells`.
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
}

/// A minijinja error with its template, line and cause on one line.
fn describe(err: &Error) -> String {
    let mut text = String::new();
    if let (Some(name), Some(line)) = (err.name(), err.line()) {
        text.push_str(&format!("{name}:{line}: "));
    }
    text.push_str(&err.kind().to_string());
    if let Some(detail) = err.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(inner) = cause.downcast_ref::<Error>() {
            text.push_str(" (");
            text.push_str(&describe(inner));
            text.push(')');
        } else {
            text.push_str(&format!(" ({cause})"));
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_str(template: &str, ctx: Value) -> Result<String, Error> {
        let mut env = Renderer::environment();
        env.add_template("t.sh.j2", template)?;
        env.get_template("t.sh.j2")?.render(ctx)
    }

    #[test]
    fn a_shape_keeps_quoting_punctuation_and_reserved_words() {
        assert_eq!(shape_word("-fsanitize=address").unwrap(), "'a'");
        assert_eq!(shape_word("-fsanitize=thread").unwrap(), "'a'");
        assert_eq!(shape_word("--disable-gil").unwrap(), "-a");
        assert_eq!(shape_word("3.13.0b4").unwrap(), "a");
        assert_eq!(shape_word("$HOME").unwrap(), "'$a'");
        assert_eq!(shape_word("it's").unwrap(), "\"a'a\"");
        assert_eq!(shape_word("a\nb").unwrap(), "'a\na'");
        assert_eq!(shape_word("a\\b").unwrap(), "\"a\\\\a\"");
        assert_eq!(shape_word("fi").unwrap(), "fi");
        assert_eq!(shape_word(".").unwrap(), ".");
        assert_eq!(shape_word("fin").unwrap(), "a");
    }

    #[test]
    fn strings_lists_and_scalars_are_quoted_as_words() {
        let ctx = minijinja::context! {
            s => "a b", plain => "gcc", list => vec!["-g", "x y", ""], yes => true, n => 3,
        };
        let out = render_str(
            "{{ s }}|{{ plain }}|{{ list }}|{{ yes }}|{{ n }}|{{ s|safe }}",
            ctx,
        )
        .unwrap();
        assert_eq!(out, "'a b'|gcc|-g 'x y' ''|true|3|a b");
    }

    #[test]
    fn undefined_values_and_mappings_are_errors() {
        assert!(render_str("{{ missing }}", minijinja::context! {}).is_err());
        let ctx = minijinja::context! { m => minijinja::context! { a => 1 } };
        assert!(render_str("{{ m }}", ctx).is_err());
    }

    #[test]
    fn only_shell_templates_are_shell_escaped() {
        assert_eq!(auto_escape_for("build.sh.j2"), SHELL);
        assert_eq!(auto_escape_for("x.sh"), SHELL);
        assert_eq!(auto_escape_for("Dockerfile.j2"), AutoEscape::None);
    }
}
