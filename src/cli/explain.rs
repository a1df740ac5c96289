//! `matrix explain`: why a combination is or is not a cell, what a slice of the product comes
//! to, and what each rule removes.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use super::{align, Cli};
use crate::expand::ValueMask;
use crate::explain::{explain_combination, slice_report, SliceReport};
use crate::selection::{Filter, Selection};

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
    #[arg(value_name = "AXIS=VALUE", required_unless_present = "rules")]
    pub values: Vec<Filter>,

    /// List every rule with how many combinations of the whole product it removes.
    #[arg(long, conflicts_with = "values")]
    pub rules: bool,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(cli: &Cli, args: &ExplainArgs) -> Result<Vec<u8>> {
    let matrix = cli.load_matrix()?;
    let selection = Selection {
        only: args.values.clone(),
        except: vec![],
    };
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
