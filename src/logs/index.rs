//! The CSV index a report is joined with: which column names the cells (`id`, `key`,
//! `script_name`, `script`), the other columns, and the names a log may carry for a row.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The CSV index: its key column, the other columns, and one row per cell.
#[derive(Debug, Clone)]
pub struct Index {
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<String>)>,
    /// Other names a log may carry for a row (the script's file name, its stem).
    aliases: HashMap<String, usize>,
}

/// Columns that name a cell, in order of preference.
const KEY_COLUMNS: [&str; 4] = ["id", "key", "script_name", "script"];

impl Index {
    pub fn from_file(path: &Path) -> Result<Index> {
        let bytes = crate::input::read_bytes(path, "index", crate::input::limit::TABLE)?;
        Self::from_reader(&bytes[..], &path.display().to_string())
    }

    pub fn from_reader(reader: impl std::io::Read, what: &str) -> Result<Index> {
        Self::from_reader_where(reader, what, |_| true)
    }

    /// The index in `reader` with only the rows whose key `keep` keeps.
    pub fn from_reader_where(
        reader: impl std::io::Read,
        what: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Index> {
        let mut rows: Vec<(String, Vec<String>)> = Vec::new();
        let mut aliases: HashMap<String, usize> = HashMap::new();
        let columns = each_row(reader, what, |row| {
            if !keep(&row.key) {
                return Ok(());
            }
            if let Some(&other) = aliases.get(&row.key) {
                if rows[other].0 == row.key {
                    bail!(
                        "{what}, line {}: cell {:?} is listed twice",
                        row.line,
                        row.key
                    );
                }
            }
            let at = rows.len();
            aliases.insert(row.key.clone(), at);
            for alias in row.aliases {
                aliases.entry(alias).or_insert(at);
            }
            rows.push((row.key, row.values));
            Ok(())
        })?;
        Ok(Index {
            columns,
            rows,
            aliases,
        })
    }

    pub fn find(&self, key: &str) -> Option<usize> {
        self.aliases.get(key).copied()
    }
}

/// A row of an index as read.
pub struct IndexRow {
    pub key: String,
    /// The values of the other columns, in order.
    pub values: Vec<String>,
    /// Its line in the file.
    pub line: u64,
    /// Other names a log may carry for it: its script's file name, and that name's stem.
    pub aliases: Vec<String>,
}

/// Gives each row of the index in `reader` to `row`, in order, one at a time (an index of a
/// million cells is never whole in memory); returns the columns other than the key's.
pub fn each_row(
    reader: impl std::io::Read,
    what: &str,
    mut row: impl FnMut(IndexRow) -> Result<()>,
) -> Result<Vec<String>> {
    let mut csv = csv::Reader::from_reader(reader);
    let header: Vec<String> = csv
        .headers()
        .with_context(|| format!("{what}: cannot read the CSV header"))?
        .iter()
        .map(|name| crate::spreadsheet::original(name).to_owned())
        .collect();
    let Some(key_col) = KEY_COLUMNS
        .iter()
        .find_map(|k| header.iter().position(|h| h == k))
    else {
        bail!(
            "{what}: no column names the cells; expected one of {} (the columns are: {})",
            KEY_COLUMNS.join(", "),
            header.join(", ")
        );
    };
    let script_cols: Vec<usize> = ["script", "script_name"]
        .iter()
        .filter_map(|k| header.iter().position(|h| h == k))
        .collect();
    // A legacy index's own `Result` (a person's label) is shown as `label`, so that no two
    // columns of the report differ only by case.
    let columns: Vec<String> = (header.iter().enumerate())
        .filter(|&(i, _)| i != key_col)
        .map(|(_, h)| {
            if h.eq_ignore_ascii_case("result") {
                "label".to_owned()
            } else {
                h.clone()
            }
        })
        .collect();
    for (n, record) in csv.records().enumerate() {
        let record = record.with_context(|| format!("{what}: bad CSV record"))?;
        let line = record.position().map(|p| p.line()).unwrap_or(n as u64 + 2);
        // A results CSV of `matrix report` given as an index: its values as they were.
        let record = crate::spreadsheet::record(&record);
        let key = record.get(key_col).unwrap_or("").to_owned();
        if key.is_empty() {
            bail!(
                "{what}, line {line}: the {} column is empty",
                header[key_col]
            );
        }
        let mut aliases = Vec::new();
        for &c in &script_cols {
            if let Some(script) = record.get(c) {
                let base = script.rsplit('/').next().unwrap_or(script);
                if !base.is_empty() {
                    aliases.push(base.to_owned());
                    if let Some(stem) = base.strip_suffix(".sh") {
                        aliases.push(stem.to_owned());
                    }
                }
            }
        }
        let values = (record.iter().enumerate())
            .filter(|&(i, _)| i != key_col)
            .map(|(_, v)| v.to_owned())
            .collect();
        row(IndexRow {
            key,
            values,
            line,
            aliases,
        })?;
    }
    Ok(columns)
}
