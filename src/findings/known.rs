//! The known-findings catalog (`--known FILE`): a CSV `id,status,link,note,first_seen,last_seen`
//! that a nightly run reads to say which of its findings are new, and writes back (`--update`)
//! with the ids it saw. What ClusterFuzz keeps as bugs and fuzzing campaigns as a
//! `known_races.tsv`, as one small file a team edits by hand and in review.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::{Finding, Findings};

/// The catalog's columns, in order.
pub const HEADER: [&str; 6] = ["id", "status", "link", "note", "first_seen", "last_seen"];

/// What a team has decided about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Known and not fixed yet.
    Open,
    /// Fixed: seen again, it is `regressed`.
    Fixed,
    /// Not a bug of ours, or accepted.
    Ignored,
    /// Seen in some runs only.
    Flaky,
}

impl Decision {
    pub const ALL: [Decision; 4] = [
        Decision::Open,
        Decision::Fixed,
        Decision::Ignored,
        Decision::Flaky,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Decision::Open => "open",
            Decision::Fixed => "fixed",
            Decision::Ignored => "ignored",
            Decision::Flaky => "flaky",
        }
    }

    fn parse(text: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.name() == text)
    }
}

/// A finding of this run against the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not in the catalog (by id or family).
    New,
    /// Seen again after it was marked fixed.
    Regressed,
    /// In the catalog, open or flaky.
    Known,
    /// In the catalog, ignored.
    Ignored,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Regressed => "regressed",
            Status::Known => "known",
            Status::Ignored => "ignored",
        }
    }

    /// Whether `--new` keeps it and `--fail-on-new` fails on it.
    pub fn is_news(self) -> bool {
        matches!(self, Status::New | Status::Regressed)
    }
}

/// One row of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// A finding's id, or a family's ([`crate::sanitizer::Signature::family`]).
    pub id: String,
    pub status: Decision,
    pub link: String,
    pub note: String,
    pub first_seen: String,
    pub last_seen: String,
}

/// The catalog as read, rows in file order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub entries: Vec<Entry>,
    at: HashMap<String, usize>,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    status: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    first_seen: String,
    #[serde(default)]
    last_seen: String,
}

impl Catalog {
    /// Reads the catalog at `path`. Errors name the file, the line, the value and what is
    /// valid there.
    pub fn read(path: &Path) -> Result<Catalog> {
        let bytes =
            crate::input::read_bytes(path, "known-findings catalog", crate::input::limit::TABLE)?;
        Catalog::parse(&bytes, &path.display().to_string())
    }

    /// [`Catalog::read`] of `bytes`, named `what` in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Catalog> {
        let mut reader = csv::Reader::from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .with_context(|| format!("{what}: line 1: cannot read the CSV header"))?
            .iter()
            .map(str::to_owned)
            .collect();
        if header != HEADER {
            bail!(
                "{what}: line 1: the header is {:?}; a catalog's header is {}",
                header.join(","),
                HEADER.join(",")
            );
        }
        let header = csv::StringRecord::from(header);
        let mut catalog = Catalog::default();
        // The line each row starts on, as an editor numbers it: a quoted cell may hold line
        // breaks, so rows and lines are not the same count.
        let mut lines: Vec<u64> = Vec::new();
        for record in reader.records() {
            let at = |err: &csv::Error| err.position().map_or(0, csv::Position::line);
            let record =
                record.map_err(|err| anyhow::anyhow!("{what}: line {}: {err}", at(&err)))?;
            let line = record.position().map_or(0, csv::Position::line);
            let row: Row = (record.deserialize(Some(&header)))
                .map_err(|err| anyhow::anyhow!("{what}: line {line}: {err}"))?;
            let entry =
                entry_of(row).map_err(|why| anyhow::anyhow!("{what}: line {line}: {why}"))?;
            if let Some(&first) = catalog.at.get(&entry.id) {
                bail!(
                    "{what}: line {line}: id {} is already on line {}; an id has one row",
                    entry.id,
                    lines[first]
                );
            }
            lines.push(line);
            catalog.push(entry);
        }
        Ok(catalog)
    }

    fn push(&mut self, entry: Entry) {
        self.at.insert(entry.id.clone(), self.entries.len());
        self.entries.push(entry);
    }

    /// The row that speaks for `finding`: its id's, else its family's, else (a catalog kept
    /// before the signatures per class) the first row of one of its reports' old ids.
    pub fn entry_of(&self, finding: &Finding) -> Option<&Entry> {
        self.at
            .get(&finding.id)
            .or_else(|| self.at.get(&finding.family))
            .or_else(|| finding.legacy.iter().filter_map(|id| self.at.get(id)).min())
            .map(|&i| &self.entries[i])
    }

    /// What the catalog says `finding` is.
    pub fn status_of(&self, finding: &Finding) -> Status {
        match self.entry_of(finding).map(|e| e.status) {
            None => Status::New,
            Some(Decision::Fixed) => Status::Regressed,
            Some(Decision::Open | Decision::Flaky) => Status::Known,
            Some(Decision::Ignored) => Status::Ignored,
        }
    }

    /// The catalog after a run labelled `label`: each row that speaks for a finding seen gets
    /// `last_seen` = `label`; each finding with no row is appended (`open`, first and last
    /// seen `label`), in the run's order. Rows are never dropped or reordered.
    pub fn updated(&self, findings: &Findings, label: &str) -> Catalog {
        let mut out = self.clone();
        for finding in &findings.findings {
            let key = match self.entry_of(finding) {
                Some(entry) => entry.id.clone(),
                None => {
                    out.push(Entry {
                        id: finding.id.clone(),
                        status: Decision::Open,
                        link: String::new(),
                        note: format!(
                            "{} {}: {}",
                            finding.signature.tool,
                            finding.signature.kind,
                            finding.signature.frames_text()
                        ),
                        first_seen: label.to_owned(),
                        last_seen: label.to_owned(),
                    });
                    continue;
                }
            };
            let i = out.at[&key];
            let entry = &mut out.entries[i];
            entry.last_seen = label.to_owned();
            if entry.first_seen.is_empty() {
                entry.first_seen = label.to_owned();
            }
        }
        out
    }

    /// The catalog as CSV.
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        // The header written by hand: serde's would be missing from an empty catalog.
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        w.write_record(HEADER)?;
        for e in &self.entries {
            w.serialize(e)?;
        }
        w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Each finding's status, by id.
    pub fn statuses(&self, findings: &Findings) -> BTreeMap<String, Status> {
        findings
            .findings
            .iter()
            .map(|f| (f.id.clone(), self.status_of(f)))
            .collect()
    }
}

/// A row checked: an id of 8 hex digits, a known status.
fn entry_of(row: Row) -> std::result::Result<Entry, String> {
    let id = row.id.trim().to_ascii_lowercase();
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "id {:?}: an id is 8 hex digits, a finding's or a family's as `matrix findings` prints them",
            row.id
        ));
    }
    let Some(status) = Decision::parse(row.status.trim()) else {
        return Err(format!(
            "status {:?}: valid statuses are {}",
            row.status,
            Decision::ALL.map(Decision::name).join(", ")
        ));
    };
    Ok(Entry {
        id,
        status,
        link: row.link,
        note: row.note,
        first_seen: row.first_seen,
        last_seen: row.last_seen,
    })
}

/// Today's date in UTC, `YYYY-MM-DD`: a run's label when none is given.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(secs / 86_400)
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_date(days: u64) -> String {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_794), "2026-12-07");
    }

    #[test]
    fn bad_rows_name_line_value_and_what_is_valid() {
        let err = |text: &str| {
            Catalog::parse(text.as_bytes(), "k.csv")
                .unwrap_err()
                .to_string()
        };
        let head = "id,status,link,note,first_seen,last_seen\n";
        let e = err(&format!("{head}0123abcd,open,,,,\n89abcdef,closed,,,,\n"));
        assert!(
            e.starts_with(
                "k.csv: line 3: status \"closed\": valid statuses are open, fixed, ignored, flaky"
            ),
            "{e}"
        );
        let e = err(&format!("{head}xyz,open,,,,\n"));
        assert!(
            e.contains("line 2: id \"xyz\": an id is 8 hex digits"),
            "{e}"
        );
        let e = err(&format!("{head}0123abcd,open,,,,\n0123ABCD,fixed,,,,\n"));
        assert!(
            e.contains("line 3: id 0123abcd is already on line 2"),
            "{e}"
        );
        let e = err("id,state\n");
        assert!(e.contains("line 1: the header is \"id,state\""), "{e}");
        let e = err(&format!("{head}0123abcd,open\n"));
        assert!(e.starts_with("k.csv: line 2: "), "{e}");
        // A note of two lines: the rows after it start a line later than their number says.
        let e = err(&format!(
            "{head}0123abcd,open,,\"two\nlines\",,\n0123ABCD,fixed,,,,\n"
        ));
        assert!(
            e.contains("line 4: id 0123abcd is already on line 2"),
            "{e}"
        );
    }

    #[test]
    fn a_catalog_reads_back_as_written() {
        let text = "id,status,link,note,first_seen,last_seen\n0123abcd,fixed,https://x/1,\"a, b\",2026-01-01,2026-02-01\n";
        let c = Catalog::parse(text.as_bytes(), "k").unwrap();
        assert_eq!(c.entries[0].status, Decision::Fixed);
        assert_eq!(String::from_utf8(c.to_csv().unwrap()).unwrap(), text);
    }
}
