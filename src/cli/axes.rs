//! `matrix axes`: axes, values, id tokens and how many cells of a selection have each value.

use anyhow::Result;
use clap::Args;

use super::{align, Cli, SelectionArgs};

#[derive(Debug, Args)]
pub struct AxesArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
}

pub fn run(cli: &Cli, args: &AxesArgs) -> Result<Vec<u8>> {
    let matrix = cli.load_matrix()?;
    let cells = args.selection.cells(&matrix)?;
    let mut rows = vec![["axis", "value", "id token", "cells"]
        .map(String::from)
        .to_vec()];
    for (a, axis) in matrix.axes.iter().enumerate() {
        for (v, value) in axis.values.iter().enumerate() {
            let count = cells.iter().filter(|c| c.values[a] == v).count();
            rows.push(vec![
                if v == 0 {
                    axis.name.clone()
                } else {
                    String::new()
                },
                value.name.clone(),
                if value.id_token.is_empty() {
                    "-".into()
                } else {
                    value.id_token.clone()
                },
                count.to_string(),
            ]);
        }
    }
    let mut out = align(&rows);
    out.push_str(&format!("{} cells\n", cells.len()));
    Ok(out.into_bytes())
}
