//! Factoring many cells' rendered scripts into one shape (text with `{{inputs.parameters.*}}`
//! placeholders) plus each cell's field values, proven to give back every script byte for byte.
//!
//! Lines every script shares become text. A line that differs is split into tokens; a token
//! that always equals a known field (the cell id, an axis value) becomes that field, one that is
//! constant stays text. A line that cannot be explained that way becomes text around a new free
//! field holding the part that differs. Nothing here knows what the templates contain.

use anyhow::{bail, Result};

use super::compact::{Scripts, Values};

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

/// Factors `scripts` and `images[c]` of cells named `ids[c]`, whose known fields are
/// `known_names` with values `known`. Free fields are named `<free_prefix><line>`.
pub fn factor(
    ids: &[&str],
    known_names: Vec<String>,
    known: Values,
    scripts: &Scripts,
    images: &[&str],
    free_prefix: &str,
) -> Result<Factored> {
    assert_eq!(ids.len(), scripts.len());
    assert_eq!(ids.len(), images.len());
    assert_eq!(ids.len(), known.cells());
    assert_eq!(known_names.len(), known.fields());
    if ids.is_empty() {
        bail!("no cells to put into a workflow: the selection is empty");
    }
    let braces: Vec<bool> = (0..scripts.distinct_lines())
        .map(|id| scripts.line(id as u32).contains("{{"))
        .collect();
    if braces.contains(&true) {
        for (c, id) in ids.iter().enumerate() {
            if let Some(at) = scripts.line_ids(c).iter().position(|&l| braces[l as usize]) {
                let line = at + 1;
                bail!(
                    "the script of cell {id} has `{{{{` on line {line}: Argo would read it as a \
                     variable reference and change the script; change the template so the \
                     rendered script has no `{{{{`"
                );
            }
        }
    }
    let mut factored = Factored {
        known: known_names.len(),
        names: known_names,
        script: Shape::default(),
        image: Shape::default(),
        values: known,
    };

    // Lines shared by every script at the start and at the end.
    let cells = scripts.len();
    let first = scripts.line_ids(0);
    let shortest = (0..cells).map(|c| scripts.line_count(c)).min().unwrap_or(0);
    let mut head = shortest;
    let mut tail = shortest;
    let mut even = true;
    for c in 0..cells {
        let lines = scripts.line_ids(c);
        even &= lines.len() == first.len();
        head = head.min(lines.iter().zip(&first).take_while(|(a, b)| a == b).count());
        let common_tail = (lines.iter().rev().zip(first.iter().rev()))
            .take_while(|(a, b)| a == b)
            .count();
        tail = tail.min(common_tail);
    }
    let tail = tail.min(shortest - head);
    let text_of = |ids: &[u32]| -> String { ids.iter().map(|&id| scripts.line(id)).collect() };
    let mut script = Shape::default();
    script.push_text(&text_of(&first[..head]));
    if even {
        for i in head..first.len() - tail {
            let column: Vec<&str> = (0..cells).map(|c| scripts.line_at(c, i)).collect();
            let name = format!("{free_prefix}{}", i + 1);
            for piece in shape_column(&column, &mut factored, &name) {
                script.push(piece);
            }
        }
    } else {
        // Cells differ in how many lines they have: the whole middle is one field.
        let joined: Vec<String> = (0..cells)
            .map(|c| {
                let lines = scripts.line_ids(c);
                text_of(&lines[head..lines.len() - tail])
            })
            .collect();
        let column: Vec<&str> = joined.iter().map(String::as_str).collect();
        let name = format!("{free_prefix}{}", head + 1);
        for piece in shape_column(&column, &mut factored, &name) {
            script.push(piece);
        }
    }
    script.push_text(&text_of(&first[first.len() - tail..]));
    factored.script = script;

    let mut image = Shape::default();
    for piece in shape_column(images, &mut factored, "image") {
        image.push(piece);
    }
    factored.image = image;

    check(&factored, ids, scripts, images)?;
    Ok(factored)
}

/// Shapes one line position (or any set of strings, one per cell).
fn shape_column(column: &[&str], factored: &mut Factored, free_name: &str) -> Vec<Piece> {
    let first = column[0];
    if column.iter().all(|s| *s == first) {
        return vec![Piece::Text(first.to_string())];
    }
    if let Some(pieces) = shape_by_tokens(column, factored) {
        return pieces;
    }
    if let Some(pieces) = shape_assignment(column, factored) {
        return pieces;
    }
    // Text around one free field: the longest common prefix and suffix stay text.
    let mut prefix = common_prefix(column);
    // Cut at a token boundary so the field holds whole words (readable manifests), and never
    // leave `{` right before `{{...}}`, which would make `{{{`.
    while prefix.ends_with(is_label_char) || prefix.ends_with('{') {
        prefix = &prefix[..prefix.len() - 1];
    }
    let rests: Vec<&str> = column.iter().map(|s| &s[prefix.len()..]).collect();
    let mut suffix = common_suffix(&rests);
    while suffix.starts_with(is_label_char) {
        suffix = &suffix[1..];
    }
    let field = factored.names.len();
    factored.names.push(free_name.to_string());
    factored
        .values
        .push_field(rests.iter().map(|rest| &rest[..rest.len() - suffix.len()]));
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
fn shape_assignment(column: &[&str], factored: &mut Factored) -> Option<Vec<Piece>> {
    let (start, variable) = assignment(column[0])?;
    let prefix = &column[0][..start];
    let newline = column[0].ends_with('\n');
    let all_alike = column
        .iter()
        .all(|line| line.starts_with(prefix) && line.ends_with('\n') == newline);
    if !all_alike || prefix.ends_with('{') {
        return None;
    }
    let name = variable.to_ascii_lowercase().replace('_', "-");
    let reserved = ["cell", "cells", "image"];
    if reserved.contains(&name.as_str()) || factored.names.contains(&name) {
        return None;
    }
    let suffix = if newline { "\n" } else { "" };
    let field = factored.names.len();
    factored.names.push(name);
    factored.values.push_field(
        column
            .iter()
            .map(|line| &line[start..line.len() - suffix.len()]),
    );
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

/// Characters of Kubernetes label values, which cell ids and axis values are made of.
fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// `text` as maximal runs of label characters and of other characters, in order.
fn tokens(text: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut kind = None;
    for (at, c) in text.char_indices() {
        let label = is_label_char(c);
        if kind.is_some_and(|k| k != label) {
            out.push((kind.unwrap(), &text[start..at]));
            start = at;
        }
        kind = Some(label);
    }
    if let Some(k) = kind {
        out.push((k, &text[start..]));
    }
    out
}

/// The column explained by known fields alone, if every cell's string has the same token
/// structure and each differing token always equals one known field. One cell is tokenized at
/// a time: a column has a string per cell, and there may be 100,000 cells.
fn shape_by_tokens(column: &[&str], factored: &Factored) -> Option<Vec<Piece>> {
    let first = tokens(column[0]);
    // Per token of the first string: whether every cell has it; whether every cell's is made
    // of label characters; which known fields every cell's equals.
    let mut same = vec![true; first.len()];
    let mut label = vec![true; first.len()];
    let mut candidates = vec![vec![true; factored.known]; first.len()];
    for (c, text) in column.iter().enumerate() {
        let tokens = tokens(text);
        if tokens.len() != first.len() {
            return None;
        }
        for (j, token) in tokens.iter().enumerate() {
            same[j] &= *token == first[j];
            label[j] &= token.0;
            for (f, candidate) in candidates[j].iter_mut().enumerate() {
                *candidate = *candidate && token.1 == factored.values.get(c, f);
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

fn common_prefix<'a>(column: &[&'a str]) -> &'a str {
    let first = column[0];
    let mut len = first.len();
    for s in &column[1..] {
        len = first
            .char_indices()
            .zip(s.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((at, a), _)| at + a.len_utf8())
            .min(len);
    }
    &first[..len]
}

fn common_suffix<'a>(column: &[&'a str]) -> &'a str {
    let first = column[0];
    let mut len = first.len();
    for s in &column[1..] {
        let common: usize = first
            .chars()
            .rev()
            .zip(s.chars().rev())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum();
        len = len.min(common);
    }
    &first[first.len() - len..]
}

/// Proves the factoring: every cell's values put into the shapes give back its script and
/// image exactly, and every value survives Argo's substitution.
fn check(factored: &Factored, ids: &[&str], scripts: &Scripts, images: &[&str]) -> Result<()> {
    let values = &factored.values;
    let safe: Vec<bool> = values.distinct().map(substitution_safe).collect();
    for (c, id) in ids.iter().enumerate() {
        let row = values.row(c);
        if factored.script.instantiate(&row) != scripts.text(c) {
            bail!(
                "internal error: the factored script of cell {id} differs from its rendered script"
            );
        }
        if factored.image.instantiate(&row) != images[c] {
            bail!("internal error: the factored image of cell {id} differs from its image");
        }
        for (f, name) in factored.names.iter().enumerate() {
            if !safe[values.id(c, f) as usize] {
                bail!(
                    "cell {id}: the value of `{name}` ({}) has a character Argo's parameter \
                     substitution would not carry through unchanged (only printable ASCII, \
                     newline and tab are)",
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

    fn compact(texts: &[&str]) -> Scripts {
        let rendered: Vec<Script> = texts
            .iter()
            .map(|t| Script {
                file_name: "s.sh".into(),
                text: t.to_string(),
            })
            .collect();
        Scripts::of(&rendered)
    }

    fn run(scripts: &[&str]) -> Factored {
        let ids: Vec<String> = (0..scripts.len()).map(|i| format!("c{i}")).collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let known: Vec<Vec<String>> = ids.iter().map(|id| vec![id.clone()]).collect();
        let images = vec!["img"; scripts.len()];
        factor(
            &id_refs,
            vec!["id".into()],
            Values::from_rows(&known),
            &compact(scripts),
            &images,
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
            &["c"],
            vec![],
            Values::from_rows(&[vec![]]),
            &compact(&["ok\necho {{x}}\n"]),
            &["i"],
            "l",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cell c") && err.contains("line 2"), "{err}");
        let err = factor(
            &["a", "b"],
            vec![],
            Values::from_rows(&[vec![], vec![]]),
            &compact(&["x\x1b\n", "y\n"]),
            &["i", "i"],
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
