//! The distribution of results as an SVG bar chart (plotters' SVG backend): one labelled bar
//! per result with its count and share, coloured by outcome.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{CellResult, Outcome, Report};

/// A result's colour as CSS (`#rrggbb`), for pages that colour results as the chart does.
pub fn css_colour(result: &CellResult) -> String {
    let RGBColor(r, g, b) = colour(result);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Whether text on a result's colour reads better dark than light (relative luminance).
pub fn dark_text_on(result: &CellResult) -> bool {
    let RGBColor(r, g, b) = colour(result);
    0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b) > 150.0
}

/// The colour of a result: by outcome, a little lighter for earlier stages.
fn colour(result: &CellResult) -> RGBColor {
    let (base, stage) = match result {
        CellResult::Result(stage, outcome) => (
            match outcome {
                Outcome::Passed => (46, 125, 50),
                Outcome::Failed => (198, 40, 40),
                Outcome::Timeout => (239, 160, 0),
                Outcome::SegmentationFault => (106, 27, 154),
                // Brown: a deep orange beside Failed's red read as the same result.
                Outcome::Aborted => (121, 85, 72),
                Outcome::Oom => (69, 90, 100),
            },
            // Setup as light as Configure.
            (*stage as u8).saturating_sub(1),
        ),
        CellResult::Running(_) => ((21, 101, 192), 2),
        CellResult::Unknown(_) => ((117, 117, 117), 2),
        CellResult::Missing => ((176, 190, 197), 2),
    };
    // Configure lightest, Tests full colour.
    let lift = |c: u8| c + ((255 - c) as u16 * (2 - stage.min(2)) as u16 * 22 / 100) as u8;
    RGBColor(lift(base.0), lift(base.1), lift(base.2))
}

/// The chart as an SVG document.
pub fn svg(report: &Report, title: &str) -> Result<String> {
    let mut rows: Vec<(CellResult, usize)> = Vec::new();
    for cell in &report.cells {
        let key = match &cell.result {
            CellResult::Unknown(_) => CellResult::Unknown(String::new()),
            CellResult::Running(_) => CellResult::Running(None),
            other => other.clone(),
        };
        match rows.iter_mut().find(|(r, _)| *r == key) {
            Some((_, n)) => *n += 1,
            None => rows.push((key, 1)),
        }
    }
    rows.sort_by_key(|(r, _)| r.rank());
    let total: usize = rows.iter().map(|(_, n)| n).sum();
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);

    let bar_h = 30u32;
    let gap = 10u32;
    let top = 70u32;
    let width = 960u32;
    let height = top + (bar_h + gap) * rows.len().max(1) as u32 + 30;
    let left = 250i32;
    let right = 150i32;
    let span = (width as i32 - left - right).max(1);

    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| anyhow!("cannot draw the chart: {e:?}");
        root.fill(&WHITE).map_err(err)?;
        let font = ("sans-serif", 22).into_font().style(FontStyle::Bold);
        root.draw(&Text::new(title.to_owned(), (20, 18), font.color(&BLACK)))
            .map_err(err)?;
        let sub = format!("{total} cells");
        root.draw(&Text::new(
            sub,
            (20, 46),
            ("sans-serif", 15).into_font().color(&RGBColor(90, 90, 90)),
        ))
        .map_err(err)?;
        if rows.is_empty() {
            root.draw(&Text::new(
                "no cells".to_owned(),
                (left, top as i32 + 10),
                ("sans-serif", 16).into_font(),
            ))
            .map_err(err)?;
        }
        for (i, (result, count)) in rows.iter().enumerate() {
            let y = top as i32 + i as i32 * (bar_h + gap) as i32;
            let w = ((*count as f64 / max as f64) * span as f64)
                .round()
                .max(2.0) as i32;
            let c = colour(result);
            root.draw(&Rectangle::new(
                [(left, y), (left + w, y + bar_h as i32)],
                c.filled(),
            ))
            .map_err(err)?;
            let label_style = ("sans-serif", 16)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(
                result.label(),
                (left - 12, y + bar_h as i32 / 2),
                label_style,
            ))
            .map_err(err)?;
            let share = super::percent(*count, total);
            let count_style = ("sans-serif", 16)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(
                format!("{count}  ({share:.1}%)"),
                (left + w + 10, y + bar_h as i32 / 2),
                count_style,
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CellReport, Stage};

    #[test]
    fn bars_carry_labels_and_counts() {
        let cell = |result| CellReport {
            key: "k".into(),
            index_values: Box::default(),
            result,
            attempts: 1,
            log: None,
            evidence: None,
            more: Default::default(),
        };
        let report = Report {
            index_columns: vec![],
            cells: vec![
                cell(CellResult::Result(Stage::Tests, Outcome::Failed)),
                cell(CellResult::Result(Stage::Tests, Outcome::Failed)),
                cell(CellResult::Missing),
            ],
            logs: 2,
            bytes: 0,
        };
        let svg = svg(&report, "Results <x>").unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains("Tests. Failed") && svg.contains("2  (66.7%)"),
            "{svg}"
        );
        assert!(
            svg.contains("Missing") && svg.contains("Results &lt;x&gt;"),
            "{svg}"
        );
    }
}
