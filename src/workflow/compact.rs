//! Many cells' rendered scripts in little memory, for factoring: each distinct line is stored
//! once, and a script is the list of its lines' numbers, kept as its differences from the first
//! script when it has as many lines. 100,000 scripts of 8 KB take tens of megabytes this way
//! instead of the gigabyte their texts take; a cell's script is rebuilt exactly on demand.
//!
//! Also the per-value store of the factored fields ([`Values`]): each distinct value once.

use anyhow::Result;
use indexmap::IndexSet;

use crate::cell::Cell;
use crate::definition::Matrix;
use crate::render::{Renderer, Script};

/// Cells rendered together before their scripts are compacted: enough to keep every core
/// busy, few enough that their full texts take a few megabytes.
pub const RENDER_PART: usize = 512;

/// How one script is held.
#[derive(Debug, Clone)]
enum Lines {
    /// As many lines as the first script: the (line index, line) pairs where it differs.
    Diff(Box<[(u32, u32)]>),
    /// Another number of lines: every line.
    Full(Box<[u32]>),
}

/// Scripts of cells, in the order they were added.
#[derive(Debug, Default)]
pub struct Scripts {
    table: IndexSet<Box<str>>,
    first: Vec<u32>,
    scripts: Vec<Lines>,
    /// Byte length and file name of the longest script (the last of equally long ones).
    longest: Option<(usize, String)>,
}

impl Scripts {
    /// Renders `cells` a part at a time, keeping only the compact form of their scripts.
    pub fn render(renderer: &Renderer, matrix: &Matrix, cells: &[Cell]) -> Result<Scripts> {
        let mut scripts = Scripts::default();
        for part in cells.chunks(RENDER_PART) {
            for script in &renderer.render_all(matrix, part)? {
                scripts.push(script);
            }
        }
        Ok(scripts)
    }

    /// Compact scripts of fully rendered ones.
    pub fn of(rendered: &[Script]) -> Scripts {
        let mut scripts = Scripts::default();
        for script in rendered {
            scripts.push(script);
        }
        scripts
    }

    pub fn push(&mut self, script: &Script) {
        let ids: Vec<u32> = script
            .text
            .split_inclusive('\n')
            .map(|line| self.intern(line))
            .collect();
        if self.scripts.is_empty() {
            self.first = ids.clone();
        }
        let lines = if ids.len() == self.first.len() {
            Lines::Diff(
                (ids.iter().zip(&self.first).enumerate())
                    .filter(|(_, (id, first))| id != first)
                    .map(|(i, (&id, _))| (i as u32, id))
                    .collect(),
            )
        } else {
            Lines::Full(ids.into_boxed_slice())
        };
        self.scripts.push(lines);
        let longer = match &self.longest {
            Some((len, _)) => script.text.len() >= *len,
            None => true,
        };
        if longer {
            self.longest = Some((script.text.len(), script.file_name.clone()));
        }
    }

    fn intern(&mut self, line: &str) -> u32 {
        if let Some(id) = self.table.get_index_of(line) {
            return id as u32;
        }
        self.table.insert_full(line.into()).0 as u32
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

    /// The line numbers (into [`Scripts::line`]) of script `c`.
    pub fn line_ids(&self, c: usize) -> Vec<u32> {
        match &self.scripts[c] {
            Lines::Full(ids) => ids.to_vec(),
            Lines::Diff(diff) => {
                let mut ids = self.first.clone();
                for &(i, id) in diff.iter() {
                    ids[i as usize] = id;
                }
                ids
            }
        }
    }

    /// The number of lines of script `c`.
    pub fn line_count(&self, c: usize) -> usize {
        match &self.scripts[c] {
            Lines::Full(ids) => ids.len(),
            Lines::Diff(_) => self.first.len(),
        }
    }

    /// Line `i` of script `c` (its newline included).
    pub fn line_at(&self, c: usize, i: usize) -> &str {
        let id = match &self.scripts[c] {
            Lines::Full(ids) => ids[i],
            Lines::Diff(diff) => match diff.binary_search_by_key(&(i as u32), |&(at, _)| at) {
                Ok(found) => diff[found].1,
                Err(_) => self.first[i],
            },
        };
        self.line(id)
    }

    pub fn line(&self, id: u32) -> &str {
        &self.table[id as usize]
    }

    /// How many distinct lines there are; ids are below it.
    pub fn distinct_lines(&self) -> usize {
        self.table.len()
    }

    /// Script `c`'s text, exactly as rendered.
    pub fn text(&self, c: usize) -> String {
        self.line_ids(c)
            .into_iter()
            .map(|id| self.line(id))
            .collect()
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

    /// Adds a field whose values, one per cell in order, are `values`.
    pub fn push_field<'a>(&mut self, values: impl Iterator<Item = &'a str>) {
        let column: Vec<u32> = values
            .map(|value| match self.table.get_index_of(value) {
                Some(id) => id as u32,
                None => self.table.insert_full(value.into()).0 as u32,
            })
            .collect();
        assert_eq!(column.len(), self.cells, "one value per cell");
        self.columns.push(column);
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

    #[test]
    fn every_script_comes_back_exactly() {
        let texts = [
            "a\nb\nc\n",
            "a\nB\nc\n",
            "a\nb\n",
            "x\ny\nz",
            "",
            "a\nb\nc\n",
        ];
        let rendered: Vec<Script> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| script(&format!("{i}.sh"), t))
            .collect();
        let scripts = Scripts::of(&rendered);
        for (c, text) in texts.iter().enumerate() {
            assert_eq!(scripts.text(c), *text);
            assert_eq!(scripts.line_count(c), text.split_inclusive('\n').count());
            for (i, line) in text.split_inclusive('\n').enumerate() {
                assert_eq!(scripts.line_at(c, i), line);
            }
        }
        // Equally long scripts: the last one counts, as `max_by_key` would pick it.
        assert_eq!(scripts.longest(), Some((6, "5.sh")));
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
