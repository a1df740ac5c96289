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
        let columns: Vec<String> = header
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != key_col)
            .map(|(_, h)| {
                if h.eq_ignore_ascii_case("result") {
                    "label".to_owned()
                } else {
                    h.clone()
                }
            })
            .collect();
        let mut rows = Vec::new();
        let mut aliases = HashMap::new();
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
            if let Some(&other) = aliases.get(&key) {
                let (prev, _): &(String, Vec<String>) = &rows[other];
                if *prev == key {
                    bail!("{what}, line {line}: cell {key:?} is listed twice");
                }
            }
            let at = rows.len();
            aliases.insert(key.clone(), at);
            for &c in &script_cols {
                if let Some(script) = record.get(c) {
                    let base = script.rsplit('/').next().unwrap_or(script);
                    if !base.is_empty() {
                        aliases.entry(base.to_owned()).or_insert(at);
                        if let Some(stem) = base.strip_suffix(".sh") {
                            aliases.entry(stem.to_owned()).or_insert(at);
                        }
                    }
                }
            }
            let values = record
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != key_col)
                .map(|(_, v)| v.to_owned())
                .collect();
            rows.push((key, values));
        }
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
