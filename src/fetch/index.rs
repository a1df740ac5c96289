//! The run directory's `index.csv` as fetch builds it: `id,image,<axis>…` from the Workflows'
//! cells, merged with the rows an earlier fetch wrote (a cell fetched again is replaced). Its
//! values come from a Workflow, so its cells are neutralised for spreadsheets like every CSV.

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
        // Cells as written (a leading `'` from the spreadsheet rule) or by hand, read alike.
        let header: Vec<String> = (reader.headers()?.iter())
            .map(|name| crate::spreadsheet::original(name).to_owned())
            .collect();
        let mut rows = IndexMap::new();
        for row in reader.records() {
            let row = row.with_context(|| format!("{}: cannot read a row", path.display()))?;
            let values: Vec<String> = row
                .iter()
                .map(|cell| crate::spreadsheet::original(cell).to_owned())
                .collect();
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
        let mut writer = crate::spreadsheet::Writer::new();
        writer.write_record(&self.header)?;
        for row in self.rows.values() {
            writer.write_record(row)?;
        }
        let bytes = writer.into_inner()?;
        crate::output::write_atomic(path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_a_workflow_cannot_run_as_formulas_and_read_back_exact() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("index.csv");
        let row = ["c1", "@reg/img", "=1+1", "-O2"].map(String::from).to_vec();
        let rows = Rows {
            header: ["id", "image", "a", "b"].map(String::from).to_vec(),
            rows: IndexMap::from([("c1".to_string(), row.clone())]),
        };
        rows.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "id,image,a,b\nc1,'@reg/img,'=1+1,'-O2\n");
        let again = Rows::read(&path).unwrap();
        assert_eq!((again.header, again.rows), (rows.header, rows.rows));
    }
}
