//! Factoring many cells' rendered scripts into one shape (text with `{{inputs.parameters.*}}`
//! placeholders) plus each cell's field values, proven to give back every script byte for byte.
//!
//! Lines every script shares become text. A line that differs is split into tokens; a token
//! that always equals a known field (the cell id, an axis value) becomes that field, one that is
//! constant stays text. A line that cannot be explained that way becomes text around a new free
//! field holding the part that differs. Nothing here knows what the templates contain.

use std::borrow::Cow;

use anyhow::{bail, Result};

use super::compact::{is_label_char, tokens, Scripts, Values};

/// Part of a shaped text: literal text, or the value of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Field(usize),
}

/// A text with holes: `pieces` concatenated, with each field replaced by a cell's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    pub pieces: Vec<Piece>,
}

impl Shape {
    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Piece::Text(last)) = self.pieces.last_mut() {
            last.push_str(text);
        } else {
            self.pieces.push(Piece::Text(text.to_string()));
        }
    }

    fn push(&mut self, piece: Piece) {
        match piece {
            Piece::Text(text) => self.push_text(&text),
            field => self.pieces.push(field),
        }
    }

    /// The text with every field replaced by `values[field]`: what Argo's substitution gives.
    pub fn instantiate<S: AsRef<str>>(&self, values: &[S]) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field(field) => out.push_str(values[*field].as_ref()),
            }
        }
        out
    }

    /// The text with each field written as `{{<placeholder(name)>}}`.
    pub fn to_template(&self, names: &[String], placeholder: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field(field) => {
                    out.push_str("{{");
                    out.push_str(&placeholder(&names[*field]));
                    out.push_str("}}");
                }
            }
        }
        out
    }

    pub fn fields(&self) -> impl Iterator<Item = usize> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f) => Some(*f),
            Piece::Text(_) => None,
        })
    }
}

/// The scripts (and images) of a list of cells, factored.
#[derive(Debug, Clone)]
pub struct Factored {
    /// Field names: the known fields first, in the order given, then the free ones.
    pub names: Vec<String>,
    /// How many of `names` are known fields.
    pub known: usize,
    pub script: Shape,
    pub image: Shape,
    /// `values.get(cell, field)`.
    pub values: Values,
}

/// Whether Argo's substitution carries `text` through unchanged. Argo puts a value into the
/// JSON of a template with Go's `strconv.Quote`, whose escapes for most control characters
/// (`\a`, `\v`, `\x1b`) are not JSON: keep values to printable ASCII, newline and tab.
pub fn substitution_safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b))
}

/// One string per cell, made on demand: a line position of every script, or the images. A
/// column of a million cells is read several times rather than held.
struct Column<'c> {
    cells: usize,
    get: &'c dyn Fn(usize) -> Cow<'c, str>,
}

impl Column<'_> {
    fn get(&self, c: usize) -> Cow<'_, str> {
        (self.get)(c)
    }
}

/// The fields while factoring: the known ones' values (given) and the free ones made so far.
struct Fields<'k> {
    known: &'k Values,
    /// Every field's name: the known ones, then the free ones.
    names: Vec<String>,
    free: Values,
}

impl Fields<'_> {
    /// A new free field named `name` holding `values`; its number.
    fn push<S: AsRef<str>>(&mut self, name: String, values: impl Iterator<Item = S>) -> usize {
        self.names.push(name);
        self.free.push_field(values);
        self.names.len() - 1
    }
}

/// Factors `scripts` and the images (`image(c)`) of cells named `id(c)`, whose known fields
/// (the scripts' known values) are `known_names`. Free fields are named
/// `<free_prefix><line>`.
pub fn factor<'a>(
    id: impl Fn(usize) -> &'a str,
    known_names: Vec<String>,
    scripts: Scripts,
    image: impl Fn(usize) -> &'a str,
    free_prefix: &str,
) -> Result<Factored> {
    if scripts.is_empty() {
        bail!("no cells to put into a workflow: the selection is empty");
    }
    assert_eq!(known_names.len(), scripts.known().fields());
    check_braces(&scripts, &id)?;
    let cells = scripts.len();
    let mut fields = Fields {
        known: scripts.known(),
        names: known_names,
        free: Values::new(cells, 0, |_, _| ""),
    };
    let script = shape_script(&scripts, &mut fields, free_prefix);
    let get_image = |c: usize| Cow::Borrowed(image(c));
    let images = Column {
        cells,
        get: &get_image,
    };
    let mut image_shape = Shape::default();
    for piece in shape_column(&images, &mut fields, "image") {
        image_shape.push(piece);
    }
    check(&script, &image_shape, &fields, &scripts, &id, &image)?;
    let Fields { names, free, .. } = fields;
    let known = scripts.known().fields();
    let mut values = scripts.into_known();
    values.append(free);
    Ok(Factored {
        names,
        known,
        script,
        image: image_shape,
        values,
    })
}

/// Refuses a script with `{{`, which Argo would read as a variable reference.
fn check_braces<'a>(scripts: &Scripts, id: &impl Fn(usize) -> &'a str) -> Result<()> {
    // A known value is made of label characters: a skeleton has `{{` when its lines do.
    let braces: Vec<bool> = (0..scripts.distinct_skeletons())
        .map(|s| scripts.skeleton(s as u32).0.contains("{{"))
        .collect();
    if !braces.contains(&true) {
        return Ok(());
    }
    for c in 0..scripts.len() {
        let lines = 0..scripts.line_count(c);
        if let Some(at) = lines
            .into_iter()
            .position(|i| braces[scripts.skeleton_at(c, i) as usize])
        {
            bail!(
                "the script of cell {} has `{{{{` on line {}: Argo would read it as a variable \
                 reference and change the script; change the template so the rendered script \
                 has no `{{{{`",
                id(c),
                at + 1
            );
        }
    }
    Ok(())
}

/// The scripts' shape: the lines every script shares at the start and at the end are text, the
/// others are shaped line by line (or, when the scripts differ in how many lines they have,
/// as one field).
fn shape_script(scripts: &Scripts, fields: &mut Fields<'_>, free_prefix: &str) -> Shape {
    let cells = scripts.len();
    let count = scripts.line_count(0);
    let shortest = (0..cells).map(|c| scripts.line_count(c)).min().unwrap_or(0);
    let even = (0..cells).all(|c| scripts.line_count(c) == count);
    let (mut head, mut tail) = (shortest, shortest);
    for c in 1..cells {
        let n = scripts.line_count(c);
        head = (0..head)
            .take_while(|&i| scripts.same_line((c, i), (0, i)))
            .count();
        tail = (0..tail)
            .take_while(|&k| scripts.same_line((c, n - 1 - k), (0, count - 1 - k)))
            .count();
    }
    let tail = tail.min(shortest - head);
    let mut script = Shape::default();
    script.push_text(&scripts.text_of(0, 0..head));
    if even {
        for i in head..count - tail {
            if (1..cells).all(|c| scripts.same_line((c, i), (0, i))) {
                script.push_text(&scripts.line_at(0, i));
                continue;
            }
            let get = |c: usize| scripts.line_at(c, i);
            let column = Column { cells, get: &get };
            let name = format!("{free_prefix}{}", i + 1);
            for piece in shape_column(&column, fields, &name) {
                script.push(piece);
            }
        }
    } else {
        // Cells differ in how many lines they have: the whole middle is one field.
        let get = |c: usize| Cow::Owned(scripts.text_of(c, head..scripts.line_count(c) - tail));
        let column = Column { cells, get: &get };
        let name = format!("{free_prefix}{}", head + 1);
        for piece in shape_column(&column, fields, &name) {
            script.push(piece);
        }
    }
    script.push_text(&scripts.text_of(0, count - tail..count));
    script
}

/// Shapes one line position (or any set of strings, one per cell).
fn shape_column(column: &Column<'_>, fields: &mut Fields<'_>, free_name: &str) -> Vec<Piece> {
    let first = column.get(0);
    if (1..column.cells).all(|c| column.get(c) == first) {
        return vec![Piece::Text(first.into_owned())];
    }
    if let Some(pieces) = shape_by_tokens(column, fields) {
        return pieces;
    }
    if let Some(pieces) = shape_assignment(column, fields) {
        return pieces;
    }
    // Text around one free field: the longest common prefix and suffix stay text.
    let mut prefix = &first[..common_prefix(column)];
    // Cut at a token boundary so the field holds whole words (readable manifests), and never
    // leave `{` right before `{{...}}`, which would make `{{{`.
    while prefix.ends_with(is_label_char) || prefix.ends_with('{') {
        prefix = &prefix[..prefix.len() - 1];
    }
    let start = prefix.len();
    let first_rest = &first[start..];
    let mut suffix = &first_rest[first_rest.len() - common_suffix(column, start)..];
    while suffix.starts_with(is_label_char) {
        suffix = &suffix[1..];
    }
    let end = suffix.len();
    let values = (0..column.cells).map(|c| {
        let text = column.get(c);
        text[start..text.len() - end].to_string()
    });
    let field = fields.push(free_name.to_string(), values);
    vec![
        Piece::Text(prefix.to_string()),
        Piece::Field(field),
        Piece::Text(suffix.to_string()),
    ]
}

/// A column of shell assignments to one variable (`CC_ENV=(…)`, `export CFLAGS=…`) whose
/// values differ: one free field holding each cell's whole value, named after the variable
/// (`cc-env`, `cflags`), so Argo's inputs read as what they are, not as fragments cut where
/// the cells happen to differ. `None` when the lines are not such assignments or the name is
/// taken.
fn shape_assignment(column: &Column<'_>, fields: &mut Fields<'_>) -> Option<Vec<Piece>> {
    let first = column.get(0);
    let (start, variable) = assignment(&first)?;
    let prefix = &first[..start];
    let newline = first.ends_with('\n');
    let all_alike = (0..column.cells).all(|c| {
        let line = column.get(c);
        line.starts_with(prefix) && line.ends_with('\n') == newline
    });
    if !all_alike || prefix.ends_with('{') {
        return None;
    }
    let name = variable.to_ascii_lowercase().replace('_', "-");
    let reserved = ["cell", "cells", "image"];
    if reserved.contains(&name.as_str()) || fields.names.contains(&name) {
        return None;
    }
    let suffix = if newline { "\n" } else { "" };
    let values = (0..column.cells).map(|c| {
        let line = column.get(c);
        line[start..line.len() - suffix.len()].to_string()
    });
    let field = fields.push(name, values);
    Some(vec![
        Piece::Text(prefix.to_string()),
        Piece::Field(field),
        Piece::Text(suffix.to_string()),
    ])
}

/// Where the value of a shell assignment starts in `line` (`NAME=` after optional
/// indentation and `export `/`local `/`readonly `), and the variable's name.
fn assignment(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    let mut rest = trimmed;
    for keyword in ["export ", "local ", "readonly "] {
        if let Some(after) = rest.strip_prefix(keyword) {
            rest = after.trim_start();
        }
    }
    let end = rest.find('=')?;
    let name = &rest[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return None;
    }
    Some((line.len() - rest.len() + end + 1, name))
}

/// The column explained by known fields alone, if every cell's string has the same token
/// structure and each differing token always equals one known field. One cell is tokenized at
/// a time: a column has a string per cell, and there may be a million cells.
fn shape_by_tokens(column: &Column<'_>, fields: &Fields<'_>) -> Option<Vec<Piece>> {
    let first_text = column.get(0);
    let first = tokens(&first_text);
    let known = fields.known.fields();
    // Per token of the first string: whether every cell has it; whether every cell's is made
    // of label characters; which known fields every cell's equals.
    let mut same = vec![true; first.len()];
    let mut label = vec![true; first.len()];
    let mut candidates = vec![vec![true; known]; first.len()];
    for c in 0..column.cells {
        let text = column.get(c);
        let tokens = tokens(&text);
        if tokens.len() != first.len() {
            return None;
        }
        for (j, token) in tokens.iter().enumerate() {
            same[j] &= *token == first[j];
            label[j] &= token.0;
            for (f, candidate) in candidates[j].iter_mut().enumerate() {
                *candidate = *candidate && token.1 == fields.known.get(c, f);
            }
        }
    }
    let mut pieces = Vec::with_capacity(first.len());
    for (j, &(first_label, text)) in first.iter().enumerate() {
        if same[j] {
            pieces.push(Piece::Text(text.to_string()));
            continue;
        }
        if !first_label || !label[j] {
            return None;
        }
        let field = candidates[j].iter().position(|&c| c)?;
        if let Some(Piece::Text(before)) = pieces.last() {
            if before.ends_with('{') {
                return None;
            }
        }
        pieces.push(Piece::Field(field));
    }
    Some(pieces)
}

/// The byte length of the longest prefix every string of `column` has.
fn common_prefix(column: &Column<'_>) -> usize {
    let first = column.get(0);
    let mut len = first.len();
    for c in 1..column.cells {
        let s = column.get(c);
        len = first
            .char_indices()
            .zip(s.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((at, a), _)| at + a.len_utf8())
            .min(len);
    }
    len
}

/// The byte length of the longest suffix every string of `column`, past its first `start`
/// bytes, has.
fn common_suffix(column: &Column<'_>, start: usize) -> usize {
    let first = column.get(0);
    let first = &first[start..];
    let mut len = first.len();
    for c in 1..column.cells {
        let s = column.get(c);
        let common: usize = first
            .chars()
            .rev()
            .zip(s[start..].chars().rev())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum();
        len = len.min(common);
    }
    len
}

/// Proves the factoring: every cell's values put into the shapes give back its script and
/// image exactly, and every value survives Argo's substitution.
fn check<'a>(
    script: &Shape,
    image: &Shape,
    fields: &Fields<'_>,
    scripts: &Scripts,
    id: &impl Fn(usize) -> &'a str,
    image_of: &impl Fn(usize) -> &'a str,
) -> Result<()> {
    let (known, free) = (fields.known, &fields.free);
    let k = known.fields();
    let safe_known: Vec<bool> = known.distinct().map(substitution_safe).collect();
    let safe_free: Vec<bool> = free.distinct().map(substitution_safe).collect();
    for c in 0..scripts.len() {
        let row: Vec<&str> = (0..fields.names.len())
            .map(|f| {
                if f < k {
                    known.get(c, f)
                } else {
                    free.get(c, f - k)
                }
            })
            .collect();
        if script.instantiate(&row) != scripts.text(c) {
            bail!(
                "internal error: the factored script of cell {} differs from its rendered script",
                id(c)
            );
        }
        if image.instantiate(&row) != image_of(c) {
            bail!(
                "internal error: the factored image of cell {} differs from its image",
                id(c)
            );
        }
        for (f, name) in fields.names.iter().enumerate() {
            let safe = if f < k {
                safe_known[known.id(c, f) as usize]
            } else {
                safe_free[free.id(c, f - k) as usize]
            };
            if !safe {
                bail!(
                    "cell {}: the value of `{name}` ({}) has a character Argo's parameter \
                     substitution would not carry through unchanged (only printable ASCII, \
                     newline and tab are)",
                    id(c),
                    row[f].escape_debug()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Script;

    /// Scripts of cells whose known values are `known(c)`.
    fn compact(texts: &[&str], known: impl Fn(usize) -> Vec<String>) -> Scripts {
        let mut scripts = Scripts::default();
        for (c, text) in texts.iter().enumerate() {
            let script = Script {
                file_name: "s.sh".into(),
                text: text.to_string(),
            };
            let values = known(c);
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            scripts.push(&script, &values, 0);
        }
        scripts
    }

    fn run(scripts: &[&str]) -> Factored {
        let ids: Vec<String> = (0..scripts.len()).map(|i| format!("c{i}")).collect();
        let compacted = compact(scripts, |c| vec![ids[c].clone()]);
        factor(
            |c| ids[c].as_str(),
            vec!["id".into()],
            compacted,
            |_| "img",
            "line-",
        )
        .unwrap()
    }

    #[test]
    fn shared_lines_are_text_and_known_tokens_are_fields() {
        let f = run(&["a\n# c0 x\nv=1\nz\n", "a\n# c1 x\nv=22\nz\n"]);
        assert_eq!(
            f.script.pieces,
            vec![
                Piece::Text("a\n# ".into()),
                Piece::Field(0),
                Piece::Text(" x\nv=".into()),
                Piece::Field(1),
                Piece::Text("\nz\n".into()),
            ]
        );
        assert_eq!(f.names, ["id", "v"]);
        assert_eq!(f.values.row(1), ["c1", "22"]);
    }

    #[test]
    fn an_assignment_is_one_field_named_after_its_variable() {
        let scripts = [
            "CC_ENV=('CC=gcc' 'CXX=g++')\n  export CFLAGS=-O0\n",
            "CC_ENV=('CC=clang' 'CXX=clang++')\n  export CFLAGS=-O2 -g\n",
        ];
        let f = run(&scripts);
        assert_eq!(f.names, ["id", "cc-env", "cflags"]);
        assert_eq!(f.values.row(0)[1..], ["('CC=gcc' 'CXX=g++')", "-O0"]);
        for (c, s) in scripts.iter().enumerate() {
            assert_eq!(f.script.instantiate(&f.values.row(c)), *s);
        }
        // Not an assignment, or a name taken: the part that differs, by line.
        let f = run(&["echo a b\n", "echo a c\n"]);
        assert_eq!(f.names, ["id", "line-1"]);
        assert_eq!(assignment("  local X_1=a"), Some((12, "X_1")));
        assert_eq!(assignment("1X=a"), None);
        assert_eq!(assignment("echo x=y"), None);
    }

    #[test]
    fn differing_line_counts_fall_back_to_one_field() {
        let f = run(&["a\nx\nz\n", "a\nx\ny\nz\n"]);
        for (c, s) in ["a\nx\nz\n", "a\nx\ny\nz\n"].iter().enumerate() {
            assert_eq!(f.script.instantiate(&f.values.row(c)), *s);
        }
    }

    #[test]
    fn a_brace_never_touches_a_placeholder() {
        let f = run(&["x={a}\n", "x={b}\n"]);
        let template = f.script.to_template(&f.names, |n| n.to_string());
        assert!(!template.contains("{{{"), "{template}");
        assert_eq!(f.script.instantiate(&f.values.row(0)), "x={a}\n");
    }

    #[test]
    fn double_braces_and_control_characters_are_refused() {
        let err = factor(
            |_| "c",
            vec![],
            compact(&["ok\necho {{x}}\n"], |_| vec![]),
            |_| "i",
            "l",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cell c") && err.contains("line 2"), "{err}");
        let err = factor(
            |c| ["a", "b"][c],
            vec![],
            compact(&["x\x1b\n", "y\n"], |_| vec![]),
            |_| "i",
            "l",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("printable ASCII"), "{err}");
    }

    #[test]
    fn tokens_alternate_label_runs_and_others() {
        assert_eq!(
            tokens("A=(x 'y-1')"),
            vec![
                (true, "A"),
                (false, "=("),
                (true, "x"),
                (false, " '"),
                (true, "y-1"),
                (false, "')")
            ]
        );
    }
}
