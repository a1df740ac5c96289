//! `matrix explain`: why a combination is or is not a cell, what a slice of the product comes
//! to, and what each rule removes.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{align, Cli, CoverArgs};
use crate::cover::CoverStats;
use crate::expand::ValueMask;
use crate::explain::{explain_combination, slice_report, SliceReport};
use crate::selection::{select, Filter, Selection};

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// AXIS=VALUE for every axis (a combination), or for some of them (a slice; AXIS=V1,V2
    /// allows several values).
    #[arg(value_name = "AXIS=VALUE", required_unless_present_any = ["rules", "cover"])]
    pub values: Vec<Filter>,

    /// List every rule with how many combinations of the whole product it removes.
    #[arg(long, conflicts_with_all = ["values", "cover"])]
    pub rules: bool,

    /// With --cover T: how many T-way value tuples the cells (of the slice, if given) hold,
    /// the lower bound of a cover and the axes that make it, and the size of the cover.
    #[command(flatten)]
    pub cover: CoverArgs,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(cli: &Cli, args: &ExplainArgs) -> Result<Vec<u8>> {
    let matrix = cli.load_matrix()?;
    let selection = Selection {
        only: args.values.clone(),
        except: vec![],
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
        let out = match args.format {
            Format::Json => serde_json::to_string_pretty(&report)? + "\n",
            Format::Text => cover_text(&report),
        };
        return Ok(out.into_bytes());
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
    if !args.rules && allowed.empty_axes().next().is_some() {
        bail!("no value is left for an axis: the values given for one axis contradict each other");
    }

    let out = match (args.rules, singles) {
        (false, Some(values)) if matrix.axes.iter().all(|a| given.contains(&a.name.as_str())) => {
            let report = explain_combination(&matrix, &values);
            match args.format {
                Format::Json => serde_json::to_string_pretty(&report)? + "\n",
                Format::Text => {
                    let described: Vec<String> = report
                        .values
                        .iter()
                        .map(|(a, v)| format!("{a}={v}"))
                        .collect();
                    let mut text = described.join(" ");
                    if report.is_cell {
                        text.push_str(&format!("\nis cell {}\n", report.id));
                    } else {
                        text.push_str(&format!(
                            "\nis not a cell (its id would be {}); excluded by:\n",
                            report.id
                        ));
                        for (rule, reason) in &report.broken {
                            text.push_str(&format!("  {rule}: {reason}\n"));
                        }
                    }
                    text
                }
            }
        }
        (rules, _) => {
            let whole = if rules {
                ValueMask::all(&matrix)
            } else {
                allowed
            };
            let report = slice_report(&matrix, &whole)?;
            match args.format {
                Format::Json => serde_json::to_string_pretty(&report)? + "\n",
                Format::Text => slice_text(&report, rules),
            }
        }
    };
    Ok(out.into_bytes())
}

/// What `explain --cover T` prints: the statistics, with axis names for the bound's axes.
#[derive(Debug, Serialize)]
struct CoverReport {
    #[serde(flatten)]
    stats: CoverStats,
    seed: u64,
    bound_axes: Vec<String>,
}

fn cover_text(report: &CoverReport) -> String {
    let stats = &report.stats;
    let mut text = format!(
        "{} cells hold {} distinct {}-way value tuples\n\
         lower bound: {} cells ({} have {} valid value tuples and each cell holds one)\n\
         cover: {} cells, {:.1}% of {} (seed {})\n",
        stats.cells,
        stats.tuples,
        stats.strength,
        stats.lower_bound,
        report.bound_axes.join(" × "),
        stats.lower_bound,
        stats.size,
        100.0 * stats.size as f64 / stats.cells as f64,
        stats.cells,
        report.seed,
    );
    if stats.included > 0 {
        text.push_str(&format!("included: {} cells\n", stats.included));
    }
    text
}

fn slice_text(report: &SliceReport, all_rules: bool) -> String {
    let mut text = format!(
        "{} combinations, {} cells, {} removed by the rules\n",
        report.combinations,
        report.cells,
        report.combinations - report.cells
    );
    let mut rows = vec![["rule", "removes", "alone", "why"]
        .map(String::from)
        .to_vec()];
    for effect in report.rules.iter().filter(|e| all_rules || e.breaks > 0) {
        rows.push(vec![
            effect.rule.clone(),
            effect.breaks.to_string(),
            effect.breaks_alone.to_string(),
            effect.reason.clone(),
        ]);
    }
    if rows.len() > 1 {
        text.push_str(&align(&rows));
        text.push_str(
            "(removes: combinations that break the rule; alone: those that break no other rule)\n",
        );
    }
    text
}
