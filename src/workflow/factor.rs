//! Factoring many cells' rendered scripts into one shape (text with `{{inputs.parameters.*}}`
//! placeholders) plus each cell's field values, proven to give back every script byte for byte.
//!
//! Lines every script shares become text. A line that differs is split into tokens; a token
//! that always equals a known field (the cell id, an axis value) becomes that field, one that is
//! constant stays text. A line that cannot be explained that way becomes text around a new free
//! field holding the part that differs. Nothing here knows what the templates contain.

use anyhow::{bail, Result};

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
    pub fn instantiate(&self, values: &[String]) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field(field) => out.push_str(&values[*field]),
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
    /// `values[cell][field]`.
    pub values: Vec<Vec<String>>,
}

/// Whether Argo's substitution carries `text` through unchanged. Argo puts a value into the
/// JSON of a template with Go's `strconv.Quote`, whose escapes for most control characters
/// (`\a`, `\v`, `\x1b`) are not JSON: keep values to printable ASCII, newline and tab.
pub fn substitution_safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b))
}

/// Factors `scripts[c]` and `images[c]` of cells named `ids[c]`, whose known fields are
/// `known_names` with values `known_values[c]`. Free fields are named `<free_prefix><line>`.
pub fn factor(
    ids: &[&str],
    known_names: Vec<String>,
    known_values: Vec<Vec<String>>,
    scripts: &[&str],
    images: &[&str],
    free_prefix: &str,
) -> Result<Factored> {
    assert_eq!(ids.len(), scripts.len());
    assert_eq!(ids.len(), images.len());
    assert_eq!(ids.len(), known_values.len());
    if ids.is_empty() {
        bail!("no cells to put into a workflow: the selection is empty");
    }
    for (id, script) in ids.iter().zip(scripts) {
        if let Some(at) = script.find("{{") {
            let line = script[..at].matches('\n').count() + 1;
            bail!(
                "the script of cell {id} has `{{{{` on line {line}: Argo would read it as a \
                 variable reference and change the script; change the template so the rendered \
                 script has no `{{{{`"
            );
        }
    }
    let mut factored = Factored {
        known: known_names.len(),
        names: known_names,
        script: Shape::default(),
        image: Shape::default(),
        values: known_values,
    };

    // Lines shared by every script at the start and at the end.
    let lines: Vec<Vec<&str>> = scripts
        .iter()
        .map(|s| s.split_inclusive('\n').collect())
        .collect();
    let shortest = lines.iter().map(Vec::len).min().unwrap_or(0);
    let first = &lines[0];
    let head = (0..shortest)
        .take_while(|&i| lines.iter().all(|l| l[i] == first[i]))
        .count();
    let tail = (0..shortest - head)
        .take_while(|&i| {
            let line = first[first.len() - 1 - i];
            lines.iter().all(|l| l[l.len() - 1 - i] == line)
        })
        .count();
    let mut script = Shape::default();
    script.push_text(&first[..head].concat());
    let middles: Vec<&[&str]> = lines.iter().map(|l| &l[head..l.len() - tail]).collect();
    let width = middles[0].len();
    if middles.iter().all(|m| m.len() == width) {
        for i in 0..width {
            let column: Vec<&str> = middles.iter().map(|m| m[i]).collect();
            let name = format!("{free_prefix}{}", head + i + 1);
            for piece in shape_column(&column, &mut factored, &name) {
                script.push(piece);
            }
        }
    } else {
        // Cells differ in how many lines they have: the whole middle is one field.
        let joined: Vec<String> = middles.iter().map(|m| m.concat()).collect();
        let column: Vec<&str> = joined.iter().map(String::as_str).collect();
        let name = format!("{free_prefix}{}", head + 1);
        for piece in shape_column(&column, &mut factored, &name) {
            script.push(piece);
        }
    }
    script.push_text(&first[first.len() - tail..].concat());
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
    for (values, rest) in factored.values.iter_mut().zip(&rests) {
        values.push(rest[..rest.len() - suffix.len()].to_string());
    }
    vec![
        Piece::Text(prefix.to_string()),
        Piece::Field(field),
        Piece::Text(suffix.to_string()),
    ]
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
/// structure and each differing token always equals one known field.
fn shape_by_tokens(column: &[&str], factored: &Factored) -> Option<Vec<Piece>> {
    let tokenized: Vec<Vec<(bool, &str)>> = column.iter().map(|s| tokens(s)).collect();
    let first = &tokenized[0];
    if tokenized.iter().any(|t| t.len() != first.len()) {
        return None;
    }
    let mut pieces = Vec::with_capacity(first.len());
    for (j, &(label, text)) in first.iter().enumerate() {
        if tokenized.iter().all(|t| t[j] == (label, text)) {
            pieces.push(Piece::Text(text.to_string()));
            continue;
        }
        if !label || tokenized.iter().any(|t| !t[j].0) {
            return None;
        }
        let field = (0..factored.known).find(|&f| {
            tokenized
                .iter()
                .zip(&factored.values)
                .all(|(t, values)| t[j].1 == values[f])
        })?;
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
fn check(factored: &Factored, ids: &[&str], scripts: &[&str], images: &[&str]) -> Result<()> {
    for (c, id) in ids.iter().enumerate() {
        let values = &factored.values[c];
        if factored.script.instantiate(values) != scripts[c] {
            bail!(
                "internal error: the factored script of cell {id} differs from its rendered script"
            );
        }
        if factored.image.instantiate(values) != images[c] {
            bail!("internal error: the factored image of cell {id} differs from its image");
        }
        for (name, value) in factored.names.iter().zip(values) {
            if !substitution_safe(value) {
                bail!(
                    "cell {id}: the value of `{name}` ({}) has a character Argo's parameter \
                     substitution would not carry through unchanged (only printable ASCII, \
                     newline and tab are)",
                    value.escape_debug()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scripts: &[&str]) -> Factored {
        let ids: Vec<String> = (0..scripts.len()).map(|i| format!("c{i}")).collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let known = ids.iter().map(|id| vec![id.clone()]).collect();
        let images = vec!["img"; scripts.len()];
        factor(
            &id_refs,
            vec!["id".into()],
            known,
            scripts,
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
        assert_eq!(f.names, ["id", "line-3"]);
        assert_eq!(f.values[1], ["c1", "22"]);
    }

    #[test]
    fn differing_line_counts_fall_back_to_one_field() {
        let f = run(&["a\nx\nz\n", "a\nx\ny\nz\n"]);
        for (c, s) in ["a\nx\nz\n", "a\nx\ny\nz\n"].iter().enumerate() {
            assert_eq!(f.script.instantiate(&f.values[c]), *s);
        }
    }

    #[test]
    fn a_brace_never_touches_a_placeholder() {
        let f = run(&["x={a}\n", "x={b}\n"]);
        let template = f.script.to_template(&f.names, |n| n.to_string());
        assert!(!template.contains("{{{"), "{template}");
        assert_eq!(f.script.instantiate(&f.values[0]), "x={a}\n");
    }

    #[test]
    fn double_braces_and_control_characters_are_refused() {
        let err = factor(
            &["c"],
            vec![],
            vec![vec![]],
            &["ok\necho {{x}}\n"],
            &["i"],
            "l",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cell c") && err.contains("line 2"), "{err}");
        let err = factor(
            &["a", "b"],
            vec![],
            vec![vec![], vec![]],
            &["x\x1b\n", "y\n"],
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
