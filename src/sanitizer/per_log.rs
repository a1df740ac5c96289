//! One log's reports deduplicated by signature: what `findings` joins across logs, collected in
//! the same pass that reads the log (by `findings` itself, or by `report`'s cause reader), with
//! each signature's old ids, truncated, quoted and interleaved counts, and the frames it shows.

use std::collections::{BTreeSet, HashMap};

use super::signature::{is_site, legacy_id};
use super::{Frame, RawReport, Rule, Signature};
use crate::stage::Stage;

/// One signature's reports in one log.
#[derive(Debug, Clone)]
pub struct InLog {
    pub reports: usize,
    /// The first report: its lines, stage, access and the frames its signature names.
    pub start: u64,
    pub end: u64,
    pub stage: Option<Stage>,
    pub access: Option<String>,
    pub frames: Vec<Frame>,
    pub tests: BTreeSet<String>,
    /// The ids its reports had before the rules per class ([`legacy_id`]), for `--diff`
    /// against results written then.
    pub legacy: BTreeSet<String>,
    /// Reports cut short (no `SUMMARY:`), and reports quoted in Python text.
    pub truncated: usize,
    pub quoted: usize,
    /// Reports with another process's frames interleaved among theirs.
    pub interleaved: usize,
    /// The sites (of a race or another TSan report) that were their stack's top frame: what
    /// TSan's `race_top:` suppressions can name.
    pub top_sites: BTreeSet<String>,
}

/// A log's reports, deduplicated by signature, in order of first appearance.
#[derive(Debug, Default, Clone)]
pub struct LogReports {
    pub signatures: Vec<(Signature, InLog)>,
    at: HashMap<Signature, usize>,
    /// Reports in all.
    pub reports: usize,
}

impl LogReports {
    /// Counts `report` under its signature (kept whole only if it is the first of it).
    pub fn add(&mut self, report: RawReport) {
        self.reports += 1;
        let signature = Signature::of_report(&report);
        let old_stack = report.legacy_stack.as_deref().unwrap_or(&report.stack);
        let legacy = legacy_id(&report.tool, &report.kind, old_stack);
        if let Some(&i) = self.at.get(&signature) {
            let seen = &mut self.signatures[i].1;
            seen.reports += 1;
            seen.tests.extend(report.test);
            seen.legacy.insert(legacy);
            seen.truncated += usize::from(report.truncated);
            seen.quoted += usize::from(report.quoted);
            seen.interleaved += usize::from(report.interleaved);
            return;
        }
        let frames = shown_frames(&signature, &report);
        let top_sites = top_sites(&report);
        self.at.insert(signature.clone(), self.signatures.len());
        self.signatures.push((
            signature,
            InLog {
                reports: 1,
                start: report.start,
                end: report.end,
                stage: report.stage,
                access: report.access,
                frames,
                tests: report.test.into_iter().collect(),
                legacy: BTreeSet::from([legacy]),
                truncated: usize::from(report.truncated),
                quoted: usize::from(report.quoted),
                interleaved: usize::from(report.interleaved),
                top_sites,
            },
        ));
    }
}

/// The functions that are both the first site and the top frame of the report's stacks.
fn top_sites(report: &RawReport) -> BTreeSet<String> {
    [&report.stack, &report.previous]
        .into_iter()
        .filter_map(|stack| {
            let top = stack.first()?;
            let site = stack.iter().find(|f| is_site(f))?;
            (site == top).then(|| top.function.clone())
        })
        .collect()
}

/// The frames a finding shows, with their files and lines: those its signature names (a race's
/// two sites, current first), else the first frame.
fn shown_frames(signature: &Signature, report: &RawReport) -> Vec<Frame> {
    let first_site = |stack: &[Frame]| {
        stack
            .iter()
            .find(|f| is_site(f))
            .or_else(|| stack.iter().find(|f| f.is_own()))
            .cloned()
    };
    let frames: Vec<Frame> = match signature.rule {
        Rule::Pair => first_site(&report.stack)
            .into_iter()
            .chain(first_site(&report.previous))
            .collect(),
        Rule::Site => first_site(&report.stack).into_iter().collect(),
        Rule::Leak => report
            .stack
            .iter()
            .filter(|f| is_site(f))
            .take(3)
            .cloned()
            .collect(),
        Rule::Stack | Rule::Ubsan => report
            .stack
            .iter()
            .filter(|f| f.is_own())
            .take(3)
            .cloned()
            .collect(),
    };
    if frames.is_empty() {
        report.stack.iter().take(1).cloned().collect()
    } else {
        frames
    }
}
