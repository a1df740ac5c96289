//! Many cells' rendered scripts in little memory, for factoring. A line is held as a skeleton:
//! each token equal to one of its cell's known values (the id, an axis value) is a reference
//! to that value, so the lines that differ only in those values, such as a cell's own id line,
//! are one skeleton. A script is a base (the skeletons of an earlier script of its family) and
//! the few lines where it differs from what the base gives with its own values. A million
//! scripts of 17 KB take tens of megabytes this way; a cell's script is rebuilt exactly on
//! demand.
//!
//! Also the per-value store of the factored fields ([`Values`]): each distinct value once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use anyhow::Result;
use indexmap::IndexSet;

use crate::cell::Cell;
use crate::definition::Matrix;
use crate::render::{Renderer, Script};

/// Cells rendered together before their scripts are compacted: enough to keep every core
/// busy, few enough that their full texts take a few megabytes.
pub const RENDER_PART: usize = 512;

/// In a skeleton, `MARK` and then the character numbered `field + 1` stand for a known value;
/// `MARK` twice for a `MARK` of the line itself.
const MARK: char = '\0';

/// At most this many bases: each holds a whole script's skeleton numbers.
const MAX_BASES: usize = 4096;

/// Values of the known fields of `cell`, in their order: the id, then each axis's value.
pub fn known_values<'a>(matrix: &'a Matrix, cell: &'a Cell) -> Vec<&'a str> {
    let mut values = Vec::with_capacity(1 + matrix.axes.len());
    values.push(cell.id.as_str());
    values.extend((0..matrix.axes.len()).map(|a| cell.value(matrix, a)));
    values
}

/// Which scripts are likely to share most lines: the cells whose values differ only in the
/// axis with the most values (the versions, in a large matrix). Only how compact the scripts
/// are depends on it, never what they give back.
pub fn family(matrix: &Matrix, cell: &Cell) -> u64 {
    let widest = (0..matrix.axes.len()).max_by_key(|&a| matrix.axes[a].values.len());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (a, value) in cell.values.iter().enumerate() {
        if Some(a) != widest {
            value.hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// A part of a skeleton.
enum Bit<'s> {
    Text(&'s str),
    Field(usize),
}

/// The parts of `skeleton`, in order.
fn bits(skeleton: &str) -> impl Iterator<Item = Bit<'_>> {
    let mut rest = skeleton;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(at) = rest.find(MARK) else {
            return Some(Bit::Text(std::mem::take(&mut rest)));
        };
        if at > 0 {
            let (text, after) = rest.split_at(at);
            rest = after;
            return Some(Bit::Text(text));
        }
        let code = rest[1..]
            .chars()
            .next()
            .expect("a mark is followed by its code");
        let bit = if code == MARK {
            Bit::Text(&rest[1..2])
        } else {
            Bit::Field(code as usize - 1)
        };
        rest = &rest[1 + code.len_utf8()..];
        Some(bit)
    })
}

/// `line` with every label token that equals one of `known` replaced by a reference to it.
fn skeleton(line: &str, known: &[&str]) -> String {
    let mut out = String::with_capacity(line.len());
    for (label, token) in tokens(line) {
        let field = label
            .then(|| known.iter().position(|v| *v == token))
            .flatten();
        match field {
            Some(f) => {
                out.push(MARK);
                out.push(char::from_u32(f as u32 + 1).expect("fields are few"));
            }
            None if token.contains(MARK) => out.extend(token.chars().flat_map(|c| {
                let twice = c == MARK;
                std::iter::once(c).chain(twice.then_some(MARK))
            })),
            None => out.push_str(token),
        }
    }
    out
}

/// The text `skeleton` stands for with the values `value(field)`.
fn instantiate<'s, 'v>(skeleton: &'s str, value: impl Fn(usize) -> &'v str) -> Cow<'s, str> {
    if !skeleton.contains(MARK) {
        return Cow::Borrowed(skeleton);
    }
    let mut out = String::with_capacity(skeleton.len() + 32);
    for bit in bits(skeleton) {
        match bit {
            Bit::Text(text) => out.push_str(text),
            Bit::Field(f) => out.push_str(value(f)),
        }
    }
    Cow::Owned(out)
}

/// Whether `skeleton` with the values `known` is `line`, without making it.
fn matches(skeleton: &str, known: &[&str], line: &str) -> bool {
    if !skeleton.contains(MARK) {
        return skeleton == line;
    }
    let mut rest = line;
    for bit in bits(skeleton) {
        let part = match bit {
            Bit::Text(text) => text,
            Bit::Field(f) => known[f],
        };
        match rest.strip_prefix(part) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Characters of Kubernetes label values, which cell ids and axis values are made of.
pub(super) fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// `text` as maximal runs of label characters and of other characters, in order.
pub(super) fn tokens(text: &str) -> Vec<(bool, &str)> {
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

/// A script: the base it is read against and where its own lines start in `Scripts::own`.
#[derive(Debug, Clone, Copy)]
struct Compact {
    base: u32,
    start: u32,
}

/// Scripts of cells, in the order they were added, with their cells' known values.
#[derive(Debug, Default)]
pub struct Scripts {
    /// Every distinct skeleton.
    skeletons: IndexSet<Box<str>>,
    /// Bases: the skeleton numbers of whole scripts.
    bases: Vec<Box<[u32]>>,
    /// The base of each family (and line count), the latest made.
    base_of: HashMap<(u64, usize), u32>,
    scripts: Vec<Compact>,
    /// `(line, skeleton)` of each script's lines that its base does not give, script by
    /// script, in line order.
    own: Vec<(u32, u32)>,
    /// The known values of each script's cell: what its skeletons are filled in with.
    known: Values,
    /// Byte length and file name of the longest script (the last of equally long ones).
    longest: Option<(usize, String)>,
}

impl Scripts {
    /// Renders `cells` a part at a time, keeping only the compact form of their scripts.
    pub fn render(renderer: &Renderer, matrix: &Matrix, cells: &[Cell]) -> Result<Scripts> {
        let mut scripts = Scripts::default();
        for part in cells.chunks(RENDER_PART) {
            for (script, cell) in renderer.render_all(matrix, part)?.iter().zip(part) {
                scripts.push(script, &known_values(matrix, cell), family(matrix, cell));
            }
        }
        Ok(scripts)
    }

    /// Adds `script`, whose cell's known values are `known` and family `family`.
    pub fn push(&mut self, script: &Script, known: &[&str], family: u64) {
        if self.scripts.is_empty() {
            self.known = Values::new(0, known.len(), |_, _| "");
        }
        self.known.push_row(known);
        let lines: Vec<&str> = script.text.split_inclusive('\n').collect();
        let start = u32::try_from(self.own.len()).expect("under 4 G differing lines");
        let key = (family, lines.len());
        let base = match self.base_of.get(&key) {
            Some(&base) if self.fits(base, &lines, known) => base,
            _ if self.bases.len() < MAX_BASES => {
                let base = self.new_base(&lines, known);
                self.base_of.insert(key, base);
                base
            }
            Some(&base) => base,
            None => self
                .any_base(lines.len())
                .unwrap_or_else(|| self.new_base(&lines, known)),
        };
        debug_assert_eq!(self.bases[base as usize].len(), lines.len());
        for (i, line) in lines.iter().enumerate() {
            let given = self.bases[base as usize][i];
            if !matches(&self.skeletons[given as usize], known, line) {
                let id = self.intern(skeleton(line, known));
                self.own.push((i as u32, id));
            }
        }
        self.scripts.push(Compact { base, start });
        let longer = match &self.longest {
            Some((len, _)) => script.text.len() >= *len,
            None => true,
        };
        if longer {
            self.longest = Some((script.text.len(), script.file_name.clone()));
        }
    }

    /// Whether `base` gives all but a few of `lines`: else the script is a base of its own.
    fn fits(&self, base: u32, lines: &[&str], known: &[&str]) -> bool {
        let skeletons = &self.bases[base as usize];
        let allowed = 4 + lines.len() / 32;
        let mut differ = 0;
        for (line, &id) in lines.iter().zip(skeletons.iter()) {
            if !matches(&self.skeletons[id as usize], known, line) {
                differ += 1;
                if differ > allowed {
                    return false;
                }
            }
        }
        true
    }

    /// Some base of scripts of `lines` lines, once there may be no more bases.
    fn any_base(&self, lines: usize) -> Option<u32> {
        (self.base_of.iter())
            .filter(|((_, len), _)| *len == lines)
            .map(|(_, &base)| base)
            .min()
    }

    fn new_base(&mut self, lines: &[&str], known: &[&str]) -> u32 {
        let ids: Box<[u32]> = (lines.iter())
            .map(|line| self.intern(skeleton(line, known)))
            .collect();
        self.bases.push(ids);
        (self.bases.len() - 1) as u32
    }

    fn intern(&mut self, skeleton: String) -> u32 {
        if let Some(id) = self.skeletons.get_index_of(skeleton.as_str()) {
            return id as u32;
        }
        self.skeletons.insert_full(skeleton.into_boxed_str()).0 as u32
    }

    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// The byte length and file name of the longest script (the last of equally long ones).
    pub fn longest(&self) -> Option<(usize, &str)> {
        self.longest
            .as_ref()
            .map(|(len, name)| (*len, name.as_str()))
    }

    /// The known values of the scripts' cells, which their lines are read with.
    pub fn known(&self) -> &Values {
        &self.known
    }

    /// Script `c`'s own lines: those its base does not give.
    fn own(&self, c: usize) -> &[(u32, u32)] {
        let start = self.scripts[c].start as usize;
        let end = match self.scripts.get(c + 1) {
            Some(next) => next.start as usize,
            None => self.own.len(),
        };
        &self.own[start..end]
    }

    /// The number of lines of script `c`.
    pub fn line_count(&self, c: usize) -> usize {
        // A script's base has as many lines as it has.
        self.bases[self.scripts[c].base as usize].len()
    }

    /// The skeleton number of line `i` of script `c`: equal numbers, lines equal but for their
    /// cells' known values.
    pub fn skeleton_at(&self, c: usize, i: usize) -> u32 {
        let own = self.own(c);
        match own.binary_search_by_key(&(i as u32), |&(at, _)| at) {
            Ok(found) => own[found].1,
            Err(_) => self.bases[self.scripts[c].base as usize][i],
        }
    }

    /// The skeleton numbered `id`, and whether it holds any known value.
    pub fn skeleton(&self, id: u32) -> (&str, bool) {
        let text = &self.skeletons[id as usize];
        (text, text.contains(MARK))
    }

    /// How many distinct skeletons there are; their numbers are below it.
    pub fn distinct_skeletons(&self) -> usize {
        self.skeletons.len()
    }

    /// Line `i` of script `c` (its newline included).
    pub fn line_at(&self, c: usize, i: usize) -> Cow<'_, str> {
        let skeleton = &self.skeletons[self.skeleton_at(c, i) as usize];
        instantiate(skeleton, |f| self.known.get(c, f))
    }

    /// Whether line `i` of script `c` is line `j` of script `d`.
    pub fn same_line(&self, (c, i): (usize, usize), (d, j): (usize, usize)) -> bool {
        let (a, b) = (self.skeleton_at(c, i), self.skeleton_at(d, j));
        if a == b && !self.skeletons[a as usize].contains(MARK) {
            return true;
        }
        self.line_at(c, i) == self.line_at(d, j)
    }

    /// Lines `lines` of script `c`, joined.
    pub fn text_of(&self, c: usize, lines: std::ops::Range<usize>) -> String {
        lines.map(|i| self.line_at(c, i)).collect()
    }

    /// Script `c`'s text, exactly as rendered.
    pub fn text(&self, c: usize) -> String {
        self.text_of(c, 0..self.line_count(c))
    }

    /// Gives up the known values (the scripts can no longer be read).
    pub fn into_known(self) -> Values {
        self.known
    }
}

/// Values of fields per cell, each distinct value stored once: `get(cell, field)`.
#[derive(Debug, Clone, Default)]
pub struct Values {
    table: IndexSet<Box<str>>,
    /// `columns[field][cell]`: the value's number in `table`.
    columns: Vec<Vec<u32>>,
    cells: usize,
}

impl Values {
    /// Values of `fields` fields for `cells` cells, `value(cell, field)` each.
    pub fn new<'a>(cells: usize, fields: usize, value: impl Fn(usize, usize) -> &'a str) -> Self {
        let mut values = Values {
            cells,
            ..Values::default()
        };
        for f in 0..fields {
            values.push_field((0..cells).map(|c| value(c, f)));
        }
        values
    }

    /// Values given as rows (`rows[cell][field]`), every row as long.
    pub fn from_rows(rows: &[Vec<String>]) -> Self {
        let fields = rows.first().map_or(0, Vec::len);
        Values::new(rows.len(), fields, |c, f| rows[c][f].as_str())
    }

    fn intern(&mut self, value: &str) -> u32 {
        match self.table.get_index_of(value) {
            Some(id) => id as u32,
            None => self.table.insert_full(value.into()).0 as u32,
        }
    }

    /// Adds a field whose values, one per cell in order, are `values`.
    pub fn push_field<S: AsRef<str>>(&mut self, values: impl Iterator<Item = S>) {
        let column: Vec<u32> = values.map(|value| self.intern(value.as_ref())).collect();
        assert_eq!(column.len(), self.cells, "one value per cell");
        self.columns.push(column);
    }

    /// Adds a cell whose values, field by field, are `row`.
    pub fn push_row(&mut self, row: &[&str]) {
        assert_eq!(row.len(), self.columns.len(), "one value per field");
        for (f, value) in row.iter().enumerate() {
            let id = self.intern(value);
            self.columns[f].push(id);
        }
        self.cells += 1;
    }

    /// Adds the fields of `other`, values of the same cells, after these.
    pub fn append(&mut self, other: Values) {
        assert_eq!(other.cells, self.cells, "values of the same cells");
        let ids: Vec<u32> = other.table.iter().map(|v| self.intern(v)).collect();
        for column in other.columns {
            (self.columns).push(column.into_iter().map(|id| ids[id as usize]).collect());
        }
    }

    pub fn cells(&self) -> usize {
        self.cells
    }
    pub fn fields(&self) -> usize {
        self.columns.len()
    }

    pub fn get(&self, cell: usize, field: usize) -> &str {
        &self.table[self.columns[field][cell] as usize]
    }

    /// A number for the value: equal numbers, equal values.
    pub fn id(&self, cell: usize, field: usize) -> u32 {
        self.columns[field][cell]
    }

    /// Cell `cell`'s values, field by field.
    pub fn row(&self, cell: usize) -> Vec<&str> {
        (0..self.fields()).map(|f| self.get(cell, f)).collect()
    }

    /// Every distinct value, numbered as [`Values::id`] numbers them.
    pub fn distinct(&self) -> impl Iterator<Item = &str> {
        self.table.iter().map(|v| &**v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(name: &str, text: &str) -> Script {
        Script {
            file_name: name.into(),
            text: text.into(),
        }
    }

    /// Scripts of cells `c0`, `c1`… whose one other known value is `v<c % 3>`, in families
    /// by `c % 2`.
    fn compact(texts: &[&str]) -> Scripts {
        let mut scripts = Scripts::default();
        for (c, text) in texts.iter().enumerate() {
            let (id, value) = (format!("c{c}"), format!("v{}", c % 3));
            scripts.push(
                &script(&format!("{c}.sh"), text),
                &[&id, &value],
                c as u64 % 2,
            );
        }
        scripts
    }

    fn assert_exact(scripts: &Scripts, texts: &[&str]) {
        for (c, text) in texts.iter().enumerate() {
            assert_eq!(scripts.text(c), *text);
            assert_eq!(scripts.line_count(c), text.split_inclusive('\n').count());
            for (i, line) in text.split_inclusive('\n').enumerate() {
                assert_eq!(scripts.line_at(c, i), line);
            }
        }
    }

    #[test]
    fn every_script_comes_back_exactly() {
        let texts = [
            "a\nb\nc\n",
            "a\nB\nc\n",
            "a\nb\n",
            "x\ny\nz",
            "",
            "a\nb\nc\n",
            "id c6 v0\0v0 c6\0\0\nv1 c5\n",
            "id c6 v1\0v0 c6\0\0\nv1 c5\n",
        ];
        let scripts = compact(&texts);
        assert_exact(&scripts, &texts);
        // Equally long scripts: the last one counts, as `max_by_key` would pick it.
        assert_eq!(scripts.longest(), Some((23, "7.sh")));
        assert_eq!(scripts.known().row(7), ["c7", "v1"]);
    }

    #[test]
    fn lines_that_differ_only_in_known_values_are_one_skeleton() {
        let texts: Vec<String> = (0..40)
            .map(|c| format!("# cell c{c}: v{}\nCELL=c{c}\nsame\nv0 here\n", c % 3))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let scripts = compact(&refs);
        assert_exact(&scripts, &refs);
        // `v0 here` is text in a cell whose value is v1: that line is the script's own.
        assert_eq!(scripts.distinct_skeletons(), 5);
        assert!(scripts.same_line((0, 3), (2, 3)) && !scripts.same_line((0, 0), (3, 0)));
        assert_eq!(scripts.skeleton_at(0, 1), scripts.skeleton_at(39, 1));
        assert!(scripts.own.len() < 40, "{}", scripts.own.len());
    }

    proptest::proptest! {
        /// Any scripts, any known values (NULs, tokens that are values in some cells and
        /// text in others), any families: every script and line comes back exactly.
        #[test]
        fn any_scripts_come_back_exactly(
            cells in proptest::collection::vec(
                ("[ab\\x00\n{.-]{0,3}(x|y|v1|v2|\\x00|\n| ){0,12}", 0u64..3, 0usize..3),
                1..12,
            ),
        ) {
            let mut scripts = Scripts::default();
            for (c, (text, family, value)) in cells.iter().enumerate() {
                let (id, value) = (format!("x{c}"), format!("v{value}"));
                scripts.push(&script("s.sh", text), &[&id, &value, "y"], *family);
            }
            let texts: Vec<&str> = cells.iter().map(|(t, _, _)| t.as_str()).collect();
            assert_exact(&scripts, &texts);
        }
    }

    #[test]
    fn values_are_stored_once_and_read_back_per_cell() {
        let rows = vec![
            vec!["a".to_string(), "x".to_string()],
            vec!["b".to_string(), "x".to_string()],
        ];
        let mut values = Values::from_rows(&rows);
        values.push_field(["a", "z"].into_iter());
        assert_eq!(values.row(1), ["b", "x", "z"]);
        assert_eq!(values.id(0, 0), values.id(0, 2));
        assert_eq!(values.distinct().count(), 4);
    }
}
