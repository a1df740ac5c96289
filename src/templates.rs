//! The template registry: every minijinja template (build scripts, Dockerfiles, report pages),
//! the one environment they render in, its escaping by file type, and `--templates DIR`.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};
use serde::Serialize;

/// The template every build script is rendered from.
pub const SCRIPT_TEMPLATE: &str = "build.sh.j2";
/// The template of each OS's Dockerfile.
pub const DOCKERFILE_TEMPLATE: &str = "Dockerfile.j2";
/// The report pages of `matrix report --html` and `--adoc`.
pub const HTML_REPORT_TEMPLATE: &str = "report.html.j2";
pub const ADOC_REPORT_TEMPLATE: &str = "report.adoc.j2";
/// The probing script `matrix images verify` runs inside an image.
pub const VERIFY_TEMPLATE: &str = "verify.sh.j2";

/// The embedded templates, as shipped in `templates/`.
pub const BUILTIN: [(&str, &str); 8] = [
    ("build.sh.j2", include_str!("../templates/build.sh.j2")),
    ("cell.sh.j2", include_str!("../templates/cell.sh.j2")),
    (
        "canaries.sh.j2",
        include_str!("../templates/canaries.sh.j2"),
    ),
    ("body.sh.j2", include_str!("../templates/body.sh.j2")),
    ("Dockerfile.j2", include_str!("../templates/Dockerfile.j2")),
    (
        "report.html.j2",
        include_str!("../templates/report.html.j2"),
    ),
    (
        "report.adoc.j2",
        include_str!("../templates/report.adoc.j2"),
    ),
    ("verify.sh.j2", include_str!("../templates/verify.sh.j2")),
];

const SHELL: AutoEscape = AutoEscape::Custom("shell");

/// Escaping follows the output's type: shell words for scripts, HTML for pages, none for
/// Dockerfiles (their values are checked against a plain alphabet when the definition
/// compiles) and AsciiDoc (every value goes through its `lit` or `cell` filter).
fn auto_escape_for(name: &str) -> AutoEscape {
    let name = name.strip_suffix(".j2").unwrap_or(name);
    if name.ends_with(".sh") {
        SHELL
    } else if name.ends_with(".html") {
        AutoEscape::Html
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
/// Other templates get minijinja's own escaping.
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
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            refuse_oversized(text.len())?;
            write(out, &word(text)?)
        }
        ValueKind::Bool => write(out, if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => write(out, &value.to_string()),
        ValueKind::Seq | ValueKind::Iterable => {
            // Word by word into the output, whose bound stops a list repeated ten million
            // times after its first megabytes, before the words would fill memory.
            for (n, item) in value.try_iter()?.enumerate() {
                let text = match item.kind() {
                    ValueKind::String | ValueKind::Number => item.to_string(),
                    kind => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!("a list in a shell script may hold strings only, not {kind}"),
                        ))
                    }
                };
                refuse_oversized(text.len())?;
                write(out, if n == 0 { "" } else { " " })?;
                write(out, &word(&text)?)?;
            }
            Ok(())
        }
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot put a {kind} into a shell script"),
        )),
    }
}

/// A value longer than a whole script may be is refused before it is quoted (a copy as long).
fn refuse_oversized(len: usize) -> Result<(), Error> {
    if len > SMALL.output {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "a value of {} MiB, more than the {} MiB a script may have",
                len >> 20,
                SMALL.output >> 20
            ),
        ));
    }
    Ok(())
}

/// Text kept literal in AsciiDoc, whatever it holds (a log line, a cell id from a finish
/// marker, an index value): a `pass:c[…]` macro shows `*`, `+`, `_`, backticks, `pass:[`,
/// `+++` and `{attr}` as they are (only `<`, `>`, `&` are escaped for the output); `]` would
/// end the macro, so it is escaped. Line breaks and other control characters are written as
/// escapes (`\n`, `\x1b`) first: AsciiDoc splits blocks at line breaks *before* it sees the
/// macro, so a value's own `\n\n++++` would open a raw HTML block. A trailing backslash would
/// escape the closing `]`, so it gets a space after it.
pub fn adoc_literal(value: String) -> String {
    if value.is_empty() {
        return value;
    }
    let value = crate::table::visible(&value);
    let space = if value.ends_with('\\') { " " } else { "" };
    format!("pass:c[{}{space}]", value.replace(']', "\\]"))
}

/// [`adoc_literal`] in an AsciiDoc table cell: `|` is escaped for the table (which unescapes
/// it before the macro sees it). Both `cell` and `litcell` are this: every value a page shows
/// comes from outside (logs, indexes, SARIF), so none may reach the page as markup.
pub fn adoc_literal_cell(value: String) -> String {
    adoc_literal(value.replace('|', "\\|"))
}

/// Text shown verbatim and folded in AsciiDoc (a sanitizer report): a collapsible block around
/// a literal block, each delimiter longer than any line of the text made of its character
/// alone, so no line of the text closes either. Control characters other than line breaks are
/// written as escapes; a line that starts a preprocessor directive (`include::`, `ifdef::`,
/// …), which AsciiDoc obeys even in a literal block, gets the backslash that makes it text.
pub fn adoc_folded(value: String) -> String {
    let lines: Vec<String> = value
        .lines()
        .map(|line| {
            let line = crate::table::visible(line).into_owned();
            let directive = ["include::", "ifdef::", "ifndef::", "ifeval::", "endif::"]
                .iter()
                .any(|d| line.starts_with(d));
            if directive {
                format!("\\{line}")
            } else {
                line
            }
        })
        .collect();
    let fence = |c: char| {
        let longest = (lines.iter())
            .filter(|l| !l.is_empty() && l.chars().all(|x| x == c))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        c.to_string().repeat(longest.max(3) + 1)
    };
    let (outer, inner) = (fence('='), fence('.'));
    format!(
        "[%collapsible]\n{outer}\n{inner}\n{}\n{inner}\n{outer}",
        lines.join("\n")
    )
}

/// Every template, built-in or from `--templates DIR`, in one environment.
pub struct Templates {
    env: Environment<'static>,
    /// "built-in templates" or "templates in DIR", for messages.
    what: String,
}

impl Templates {
    /// The templates embedded in the binary.
    pub fn builtin() -> Self {
        let mut env = environment();
        env.set_loader(|name| Ok(builtin(name).map(String::from)));
        Templates {
            env,
            what: "built-in templates".into(),
        }
    }

    /// The same templates, rendering *shapes*: every value a `.sh` template prints through the
    /// shell escape becomes its [`shape_word`]; the template's own text and its decisions
    /// (which see the real values) stay. Two scripts with one shape differ only in runs of
    /// characters inside words the escape produced, which no shell linter judges.
    pub fn shapes(&self) -> Templates {
        let mut env = self.env.clone();
        env.set_formatter(|out, state, value| format_words(out, state, value, shape_word));
        Templates {
            env,
            what: format!("shapes of the {}", self.what),
        }
    }

    /// `--templates DIR` when given, else the built-in templates.
    pub fn load(dir: Option<&Path>) -> Result<Self> {
        match dir {
            Some(dir) => Self::from_dir(dir),
            None => Ok(Self::builtin()),
        }
    }

    /// A template in `dir` replaces the built-in one of its name; the others stay built-in.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            anyhow::bail!(
                "template directory {} does not exist; it holds templates that replace the \
                 built-in ones of the same name ({})",
                dir.display(),
                BUILTIN.map(|(name, _)| name).join(", ")
            );
        }
        let root: PathBuf = dir.to_path_buf();
        let mut env = environment();
        env.set_loader(move |name| {
            let refused = |why: String| Error::new(ErrorKind::InvalidOperation, why);
            let Some(path) = path_in(&root, name).map_err(refused)? else {
                return Ok(builtin(name).map(String::from));
            };
            crate::input::read_text(&path, "template", crate::input::limit::TEMPLATE)
                .map(Some)
                .map_err(|err| refused(format!("{err:#}")))
        });
        Ok(Templates {
            env,
            what: format!("templates in {}", dir.display()),
        })
    }

    /// Compiles `name` (and what it includes when rendered) so a syntax error is reported
    /// before any output.
    pub fn check(&self, name: &str) -> Result<()> {
        self.env
            .get_template(name)
            .map_err(|err| anyhow::anyhow!(describe(&err)))
            .with_context(|| format!("cannot load {}", self.what))?;
        Ok(())
    }

    /// Renders template `name` with `context`; errors carry the template, line and cause. The
    /// render is bounded by [`Limits::of`] the template, in output and in memory.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String> {
        let template = self
            .env
            .get_template(name)
            .map_err(|err| anyhow::anyhow!(describe(&err)))
            .with_context(|| format!("cannot load {}", self.what))?;
        let limits = Limits::of(name);
        let mut out = Bounded::new(limits.output);
        let what = format!("rendering {name} (of the {})", self.what);
        let rendered = crate::memory::within(limits.memory, &what, || {
            template.render_captured_to(context, &mut out).map(drop)
        });
        match rendered {
            Ok(()) => String::from_utf8(out.bytes)
                .with_context(|| format!("{name} rendered bytes that are not UTF-8")),
            // The write that failed carries no line: minijinja replaces its error with the
            // writer's.
            Err(_) if out.overflowed => anyhow::bail!(
                "{name}: the output is over {} MiB, the most one render of it may write (a \
                 template that writes without bound; {})",
                limits.output >> 20,
                self.what
            ),
            Err(err) => Err(anyhow::anyhow!(describe(&err))),
        }
    }
}

/// How much one render may produce and allocate. A build script is about 10 KB and takes a
/// few hundred KB to render; a report page of 100,000 cells is tens of MB. The limits leave
/// ample room above that while keeping a runaway template's memory to a few hundred MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of output.
    pub output: usize,
    /// Bytes allocated and not freed during the render, output included.
    pub memory: usize,
}

/// The limits of scripts, Dockerfiles and other small outputs.
pub const SMALL: Limits = Limits {
    output: 16 << 20,
    memory: 128 << 20,
};

/// The limits of report pages, which grow with the cells reported.
pub const PAGE: Limits = Limits {
    output: 512 << 20,
    memory: 2 << 30,
};

impl Limits {
    /// The limits of template `name`.
    pub fn of(name: &str) -> Limits {
        if name == HTML_REPORT_TEMPLATE || name == ADOC_REPORT_TEMPLATE {
            PAGE
        } else {
            SMALL
        }
    }
}

/// A render's output, refused past `limit` bytes.
struct Bounded {
    bytes: Vec<u8>,
    limit: usize,
    /// Whether a write was refused: the render's error is then this limit.
    overflowed: bool,
}

impl Bounded {
    fn new(limit: usize) -> Self {
        Bounded {
            bytes: Vec::new(),
            limit,
            overflowed: false,
        }
    }
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            self.overflowed = true;
            return Err(std::io::Error::other("output limit reached"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where template `name` (one `--templates` replaces, or one a template includes) is in `root`,
/// `None` when it is not there (the built-in one of that name is used). Templates come from
/// `root` and the built-ins only: an absolute name, a `..`, or a link that resolves outside
/// `root` is refused, naming the template and where it leads.
fn path_in(root: &Path, name: &str) -> Result<Option<PathBuf>, String> {
    let relative = Path::new(name);
    let plain =
        (relative.components()).all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain || relative.is_absolute() {
        return Err(format!(
            "template `{}` is not a name inside the template directory {}: templates come from \
             it and the built-in ones only (no absolute path, no `..`)",
            name.escape_debug(),
            root.display()
        ));
    }
    let path = root.join(relative);
    if path.symlink_metadata().is_err() {
        return Ok(None);
    }
    let cannot = |err: std::io::Error| format!("template `{}`: {err}", path.display());
    let (real, inside) = (
        path.canonicalize().map_err(cannot)?,
        root.canonicalize().map_err(cannot)?,
    );
    if !real.starts_with(&inside) {
        return Err(format!(
            "template `{}` in {} leads to {}, outside the template directory: a template there \
             may link only to files inside it",
            name.escape_debug(),
            root.display(),
            real.display()
        ));
    }
    Ok(Some(path))
}

fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, source)| *source)
}

/// The instructions one render may execute (see [`environment`]).
const FUEL: u64 = 200_000_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A misspelt variable must fail the render, not become an empty string in the output.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(auto_escape_for);
    env.set_formatter(shell_formatter);
    // A runaway template (a loop over a huge range) stops with an error naming its line instead
    // of running forever. A build script takes about 5,000 instructions and a report page of
    // 100,000 cells about 20 million; this allows ten times that, about 2 s of work.
    env.set_fuel(Some(FUEL));
    env.add_filter("cell", adoc_literal_cell);
    env.add_filter("lit", adoc_literal);
    env.add_filter("litcell", adoc_literal_cell);
    env.add_filter("folded", adoc_folded);
    env
}

/// A minijinja error with its template, line and cause on one line. An error inside an include
/// is a chain of errors, one per template; runs of the same place (a template including itself
/// until the recursion limit) are said once with a count, so the message stays short.
fn describe(err: &Error) -> String {
    let mut places: Vec<(String, usize)> = Vec::new();
    let mut innermost = err;
    let mut foreign: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = current {
        match cause.downcast_ref::<Error>() {
            Some(inner) => {
                innermost = inner;
                if let (Some(name), Some(line)) = (inner.name(), inner.line()) {
                    let place = format!("{name}:{line}");
                    match places.last_mut() {
                        Some((last, count)) if *last == place => *count += 1,
                        _ => places.push((place, 1)),
                    }
                }
            }
            None => foreign.push(cause.to_string()),
        }
        current = cause.source();
    }
    let mut text = String::new();
    if let Some((place, _)) = places.last() {
        text.push_str(place);
        text.push_str(": ");
    }
    text.push_str(&innermost.kind().to_string());
    if let Some(detail) = innermost.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    for cause in foreign {
        text.push_str(&format!(" ({cause})"));
    }
    if places.len() > 1 || places.first().is_some_and(|(_, n)| *n > 1) {
        let chain: Vec<String> = (places.iter())
            .map(|(place, n)| match n {
                1 => place.clone(),
                n => format!("{place} ({n} times)"),
            })
            .collect();
        text.push_str(&format!(" (reached through {})", chain.join(" → ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_str(name: &str, template: &str, ctx: Value) -> Result<String, Error> {
        let mut env = environment();
        env.add_template_owned(name.to_string(), template.to_string())?;
        env.get_template(name)?.render(ctx)
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
            "t.sh.j2",
            "{{ s }}|{{ plain }}|{{ list }}|{{ yes }}|{{ n }}|{{ s|safe }}",
            ctx,
        )
        .unwrap();
        assert_eq!(out, "'a b'|gcc|-g 'x y' ''|true|3|a b");
    }

    #[test]
    fn undefined_values_and_mappings_are_errors() {
        assert!(render_str("t.sh.j2", "{{ missing }}", minijinja::context! {}).is_err());
        assert!(render_str("t.html.j2", "{{ missing }}", minijinja::context! {}).is_err());
        let ctx = minijinja::context! { m => minijinja::context! { a => 1 } };
        assert!(render_str("t.sh.j2", "{{ m }}", ctx).is_err());
    }

    #[test]
    fn escaping_follows_the_output_type() {
        assert_eq!(auto_escape_for("build.sh.j2"), SHELL);
        assert_eq!(auto_escape_for("x.sh"), SHELL);
        assert_eq!(auto_escape_for("report.html.j2"), AutoEscape::Html);
        assert_eq!(auto_escape_for("Dockerfile.j2"), AutoEscape::None);
        let ctx = minijinja::context! { s => "<a b>|{x}" };
        assert_eq!(
            render_str("p.html.j2", "{{ s }}", ctx.clone()).unwrap(),
            "&lt;a b&gt;|{x}"
        );
        assert_eq!(
            render_str("p.adoc.j2", "{{ s|cell }}", ctx.clone()).unwrap(),
            "pass:c[<a b>\\|{x}]"
        );
        let lit = minijinja::context! { s => "a *b* +c+ [x]" };
        assert_eq!(
            render_str("p.adoc.j2", "{{ s|lit }}", lit).unwrap(),
            "pass:c[a *b* +c+ [x\\]]"
        );
        assert_eq!(
            render_str("Dockerfile.j2", "{{ s }}", ctx).unwrap(),
            "<a b>|{x}"
        );
    }

    #[test]
    fn a_template_directory_replaces_only_the_templates_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile.j2"), "FROM {{ os }}\n").unwrap();
        let templates = Templates::from_dir(dir.path()).unwrap();
        let ctx = minijinja::context! { os => "x" };
        assert_eq!(
            templates.render(DOCKERFILE_TEMPLATE, &ctx).unwrap(),
            "FROM x\n"
        );
        templates.check(SCRIPT_TEMPLATE).unwrap();
        let err = Templates::from_dir(&dir.path().join("nowhere"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("does not exist") && err.contains("build.sh.j2"),
            "{err}"
        );
    }
}
