//! `matrix list`: the cells of a selection, as ids or a table.

use anyhow::Result;
use clap::Args;

use super::{align, Cli, SelectionArgs};

#[derive(Debug, Args)]
pub struct ListArgs {
    /// A table of ids and axis values instead of ids alone (on a terminal too narrow for it:
    /// each id, then its AXIS=VALUE pairs on indented lines).
    #[arg(long)]
    pub long: bool,

    #[command(flatten)]
    pub selection: SelectionArgs,
}

pub fn run(cli: &Cli, args: &ListArgs) -> Result<Vec<u8>> {
    let matrix = cli.load_matrix()?;
    let cells = args.selection.cells(&matrix)?;
    if !args.long {
        return Ok(cells
            .iter()
            .map(|c| format!("{}\n", c.id))
            .collect::<String>()
            .into_bytes());
    }
    let mut rows = vec![std::iter::once("id")
        .chain(matrix.axis_names())
        .map(String::from)
        .collect::<Vec<_>>()];
    rows.extend(cells.iter().map(|cell| {
        std::iter::once(cell.id.clone())
            .chain(cell.pairs(&matrix).map(|(_, v)| v.to_string()))
            .collect()
    }));
    let table = align(&rows);
    let width = super::format::terminal_width();
    if table.lines().all(|line| line.chars().count() <= width) {
        return Ok(table.into_bytes());
    }
    let mut out = String::new();
    for cell in &cells {
        out.push_str(&format!("{}\n", cell.id));
        let pairs: Vec<String> = (cell.pairs(&matrix))
            .map(|(axis, value)| format!("{axis}={value}"))
            .collect();
        for line in crate::table::wrap_words(&pairs.join(" "), width.saturating_sub(2).max(20)) {
            out.push_str(&format!("  {line}\n"));
        }
    }
    Ok(out.into_bytes())
}
