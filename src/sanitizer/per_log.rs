//! One log's reports deduplicated by signature: what `findings` joins across logs, collected in
//! the same pass that reads the log (by `findings` itself, or by `report`'s cause reader).

use std::collections::{BTreeSet, HashMap};

use super::{Frame, RawReport, Signature};
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
        let signature = Signature::of(&report.tool, &report.kind, &report.stack);
        if let Some(&i) = self.at.get(&signature) {
            let seen = &mut self.signatures[i].1;
            seen.reports += 1;
            seen.tests.extend(report.test);
            return;
        }
        let own: Vec<Frame> = report
            .stack
            .iter()
            .filter(|f| f.is_own())
            .take(3)
            .cloned()
            .collect();
        let frames = if own.is_empty() {
            report.stack.into_iter().take(1).collect()
        } else {
            own
        };
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
            },
        ));
    }
}
