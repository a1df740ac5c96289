//! Suppression files from findings (`--suppressions tsan|ubsan|lsan`): each finding of that
//! sanitizer as the entries its runtime reads (`TSAN_OPTIONS=suppressions=FILE`, and UBSan's
//! and LSan's alike), each preceded by a comment naming the finding, its cells and its link,
//! as CPython's `Tools/tsan/suppressions*.txt` and `Tools/ubsan/suppressions.txt` are kept.

use std::fmt::Write as _;

use super::known::Catalog;
use super::{Finding, Findings};
use crate::sanitizer::signature::UNKNOWN_SITE;
use crate::sanitizer::Rule;
use crate::table::visible;

/// Whose suppression file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sanitizer {
    Tsan,
    Ubsan,
    Lsan,
}

impl Sanitizer {
    pub const ALL: [Sanitizer; 3] = [Sanitizer::Tsan, Sanitizer::Ubsan, Sanitizer::Lsan];

    pub fn name(self) -> &'static str {
        match self {
            Sanitizer::Tsan => "tsan",
            Sanitizer::Ubsan => "ubsan",
            Sanitizer::Lsan => "lsan",
        }
    }

    fn tool(self) -> &'static str {
        match self {
            Sanitizer::Tsan => "ThreadSanitizer",
            Sanitizer::Ubsan => "UndefinedBehaviorSanitizer",
            Sanitizer::Lsan => "LeakSanitizer",
        }
    }
}

/// Cells named in an entry's comment at most.
const CELLS_SHOWN: usize = 4;

/// The suppression file of `which` for `findings` (those `keep` takes), in the findings' order.
/// A finding its runtime cannot suppress by what its signature knows (an unknown site, a UBSan
/// message with no known check) is written as a comment saying so.
pub fn suppressions(
    findings: &Findings,
    which: Sanitizer,
    catalog: Option<&Catalog>,
    keep: &dyn Fn(&Finding) -> bool,
) -> String {
    let mut out = format!(
        "# {} suppressions written by `matrix findings` from {} log(s)\n",
        which.name(),
        findings.logs
    );
    for finding in findings
        .findings
        .iter()
        .filter(|f| f.signature.tool == which.tool() && keep(f))
    {
        out.push('\n');
        out.push_str(&comment(finding, catalog));
        let mut lines = entries(finding, which);
        // A race of one site with itself (two threads in one function) is one entry.
        lines.dedup();
        if lines.is_empty() {
            out.push_str("# (no entry: the report names no function or check to suppress by)\n");
        }
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// `# <id> <kind>: <frames>`, then the cells and the catalog's link. Each value from outside
/// (a log's name, a report's text, the catalog) has its control characters escaped: a line
/// break in a cell's name would end the comment and start an entry (`race:*`).
fn comment(finding: &Finding, catalog: Option<&Catalog>) -> String {
    let s = &finding.signature;
    let mut text = format!(
        "# {} {}: {} ({} reports)\n",
        visible(&finding.id),
        visible(&s.kind),
        visible(&s.frames_text()),
        finding.reports
    );
    let cells: Vec<std::borrow::Cow<str>> =
        finding.cells.iter().map(|c| visible(&c.cell)).collect();
    let more = cells.len().saturating_sub(CELLS_SHOWN);
    let _ = write!(
        text,
        "# cells: {}",
        cells[..cells.len().min(CELLS_SHOWN)].join(", ")
    );
    if more > 0 {
        let _ = write!(text, " and {more} more");
    }
    text.push('\n');
    if let Some(entry) = catalog.and_then(|c| c.entry_of(finding)) {
        if !entry.link.is_empty() {
            let _ = writeln!(text, "# {}", visible(&entry.link));
        }
    }
    text
}

/// The suppression lines of one finding.
fn entries(finding: &Finding, which: Sanitizer) -> Vec<String> {
    let s = &finding.signature;
    let names = s.frames.iter().filter(|name| {
        name.as_str() != UNKNOWN_SITE && !name.is_empty() && !name.contains('/') && plain(name)
    });
    match which {
        Sanitizer::Tsan => {
            let Some(kind) = tsan_type(&s.kind) else {
                return Vec::new();
            };
            let sites = if s.rule == Rule::Pair { 2 } else { 1 };
            names
                .take(sites)
                .map(|site| match kind {
                    // `race_top:` matches a stack's top frame only; a site below it (under
                    // `free`, say) needs `race:`, which a site (no plumbing) keeps narrow.
                    "race" if finding.top_sites.contains(site) => format!("race_top:{site}"),
                    _ => format!("{kind}:{site}"),
                })
                .collect()
        }
        Sanitizer::Ubsan => {
            let checked = crate::sanitizer::signature::ubsan_check(&s.kind).is_some()
                || crate::sanitizer::lists::UBSAN_CHECKS
                    .iter()
                    .any(|(_, c)| *c == s.kind);
            match (checked, s.frames.first()) {
                (true, Some(file)) if !file.is_empty() && plain(file) => {
                    vec![format!("{}:{file}", s.kind)]
                }
                _ => Vec::new(),
            }
        }
        Sanitizer::Lsan => names.take(1).map(|f| format!("leak:{f}")).collect(),
    }
}

/// Whether a name from a report may be a suppression pattern as it is: no line break or space
/// (they would end the entry), no `*` (the runtimes read it as "anything": `race:*` silences
/// every race).
fn plain(name: &str) -> bool {
    !name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '*')
}

/// The suppression type of a TSan report kind (`tsan_suppressions.cpp`); none for reports no
/// suppression silences (a SEGV).
fn tsan_type(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "data race" | "heap-use-after-free" | "race on vptr" => "race",
        "thread leak" => "thread",
        "lock-order-inversion" => "deadlock",
        k if k.starts_with("signal") => "signal",
        k if k.contains("mutex") => "mutex",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsan_kinds_and_their_suppression_types() {
        assert_eq!(tsan_type("data race"), Some("race"));
        assert_eq!(tsan_type("heap-use-after-free"), Some("race"));
        assert_eq!(tsan_type("thread leak"), Some("thread"));
        assert_eq!(tsan_type("lock-order-inversion"), Some("deadlock"));
        assert_eq!(
            tsan_type("signal-unsafe call inside of a signal"),
            Some("signal")
        );
        assert_eq!(tsan_type("unlock of an unlocked mutex"), Some("mutex"));
        assert_eq!(tsan_type("SEGV"), None);
        assert_eq!(
            Sanitizer::ALL.map(Sanitizer::name),
            ["tsan", "ubsan", "lsan"]
        );
    }
}
