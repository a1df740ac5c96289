//! `matrix explain`: why a combination is or is not a cell, what a slice of the product comes
//! to, what each rule removes, and which cells carry which blind spot.

use anyhow::{bail, Result};
use clap::Args;

use super::{format, Cli, CoverArgs};
use crate::definition::Matrix;
use crate::expand::ValueMask;
use crate::explain::{explain_combination, slice_report, CoverReport, SliceView};
use crate::export::{Export, OutputFormat};
use crate::selection::{select, select_cells, Filter, Selection, ID_AXIS};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// AXIS=VALUE for every axis (a combination), or for some of them (a slice; AXIS=V1,V2
    /// allows several values).
    #[arg(
        value_name = "AXIS=VALUE",
        required_unless_present_any = ["rules", "cover", "blind_spots"]
    )]
    pub values: Vec<Filter>,

    /// List every rule with how many combinations of the whole product it removes.
    #[arg(long, conflicts_with_all = ["values", "cover"])]
    pub rules: bool,

    /// List every blind spot of the definition (cells that cannot see a class of defect) with
    /// how many cells (of the slice, if given) carry it, and why.
    #[arg(long, conflicts_with_all = ["rules", "cover"])]
    pub blind_spots: bool,

    /// With --cover T: how many T-way value tuples the cells (of the slice, if given) hold,
    /// the lower bound of a cover and the axes that make it, and the size of the cover.
    #[command(flatten)]
    pub cover: CoverArgs,

    /// text (the default) or json; with --blind-spots table (the default there), csv or json.
    #[arg(long, value_parser = format::parser(FORMATS))]
    pub format: Option<OutputFormat>,
}

/// The formats of every answer of `explain`; each answer refuses those it is not written in.
const FORMATS: &[OutputFormat] = &[
    OutputFormat::Csv,
    OutputFormat::Json,
    OutputFormat::Table,
    OutputFormat::Text,
];

pub fn run(cli: &Cli, args: &ExplainArgs) -> Result<Vec<u8>> {
    let matrix = cli.load_matrix()?;
    let selection = Selection {
        only: args.values.clone(),
        except: vec![],
        cells: vec![],
        cover: args.cover.request(),
    };
    if let Some(request) = &selection.cover {
        let stats = select(&matrix, &selection)?
            .cover
            .expect("a selection with a cover reports it");
        let report = CoverReport {
            seed: request.seed,
            bound_axes: (stats.bound_axes.iter())
                .map(|&a| matrix.axes[a].name.clone())
                .collect(),
            stats,
        };
        return report.export(args.format.unwrap_or(OutputFormat::Text));
    }
    if args.blind_spots {
        return blind_spots(&matrix, &selection, args.format);
    }
    let format = args.format.unwrap_or(OutputFormat::Text);
    if args.values.iter().any(|f| f.axis == ID_AXIS) {
        return explain_cell(&matrix, &selection, format);
    }
    let allowed = selection.mask(&matrix)?;
    let singles: Option<Vec<usize>> = allowed
        .iter()
        .map(|mask| match mask.iter().filter(|&&ok| ok).count() {
            1 => mask.iter().position(|&ok| ok),
            _ => None,
        })
        .collect();
    let given: Vec<&str> = args.values.iter().map(|f| f.axis.as_str()).collect();
    if let Some(axis) = allowed.empty_axes().next().filter(|_| !args.rules) {
        let name = &matrix.axes[axis].name;
        let given: Vec<String> = (args.values.iter())
            .filter(|f| &f.axis == name)
            .map(|f| format!("{name}={}", f.values.join(",")))
            .collect();
        bail!(
            "axis `{name}` is given {} times ({}) and no value is in all of them; give it once \
             (AXIS=V1,V2 allows several values)",
            given.len(),
            given.join(" ")
        );
    }

    let out = match (args.rules, singles) {
        (false, Some(values)) if matrix.axes.iter().all(|a| given.contains(&a.name.as_str())) => {
            explain_combination(&matrix, &values).export(format)?
        }
        (rules, _) => {
            let whole = if rules {
                ValueMask::all(&matrix)
            } else {
                allowed
            };
            let report = slice_report(&matrix, &whole)?;
            SliceView {
                report: &report,
                all_rules: rules,
            }
            .export(format)?
        }
    };
    Ok(out)
}

/// `explain id=ID`: the cell of that id, explained as the combination of its values.
fn explain_cell(matrix: &Matrix, selection: &Selection, format: OutputFormat) -> Result<Vec<u8>> {
    let cells = select_cells(matrix, selection)?;
    match cells.as_slice() {
        [cell] => explain_combination(matrix, &cell.values).export(format),
        [first, ..] => bail!(
            "{} cells match (first: {}): explain takes one cell; `matrix list` with the same \
             filters lists them",
            cells.len(),
            first.id
        ),
        [] => unreachable!("select_cells never returns no cells"),
    }
}

/// `--blind-spots`: every blind spot with the cells of the selection that carry it.
fn blind_spots(
    matrix: &Matrix,
    selection: &Selection,
    format: Option<OutputFormat>,
) -> Result<Vec<u8>> {
    let cells = select_cells(matrix, selection)?;
    crate::blind_spots::count(matrix, &cells)?.export(format.unwrap_or(OutputFormat::Table))
}
