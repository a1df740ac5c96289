//! The run directory's `index.csv` as fetch builds it: `id,image,<axis>…` from the Workflows'
//! cells, merged with the rows an earlier fetch wrote (a cell fetched again is replaced).

use std::path::Path;

use anyhow::{bail, Context, Result};
use indexmap::IndexMap;

use super::status::Cells;

#[derive(Debug, Default)]
pub struct Rows {
    header: Vec<String>,
    rows: IndexMap<String, Vec<String>>,
}

impl Rows {
    /// The rows of `path`, none when it does not exist yet.
    pub fn read(path: &Path) -> Result<Rows> {
        if !path.exists() {
            return Ok(Rows::default());
        }
        let bytes = crate::input::read_bytes(path, "index", crate::input::limit::TABLE)?;
        let mut reader = csv::Reader::from_reader(&bytes[..]);
        let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
        let mut rows = IndexMap::new();
        for row in reader.records() {
            let row = row.with_context(|| format!("{}: cannot read a row", path.display()))?;
            let values: Vec<String> = row.iter().map(str::to_owned).collect();
            rows.insert(values[0].clone(), values);
        }
        Ok(Rows { header, rows })
    }

    /// Adds (or replaces) the rows of `cells`, which must have the same axes as the rows there.
    pub fn add(&mut self, cells: &Cells, workflow: &str) -> Result<()> {
        let mut header = vec!["id".to_string(), "image".to_string()];
        header.extend(cells.axes.iter().cloned());
        if self.header.is_empty() {
            self.header = header;
        } else if self.header != header {
            bail!(
                "Workflow {workflow}'s cells have the columns {}, the run directory's index.csv \
                 has {}: fetch it into a run directory of its own",
                header.join(","),
                self.header.join(",")
            );
        }
        for cell in &cells.cells {
            let mut row = vec![cell.id.clone(), cell.image.clone()];
            row.extend(cell.values.iter().cloned());
            self.rows.insert(cell.id.clone(), row);
        }
        Ok(())
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.header)?;
        for row in self.rows.values() {
            writer.write_record(row)?;
        }
        let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::output::write_atomic(path, &bytes)
    }
}
