//! Cells named by id: the `id=…` filters of `--only` / `--except` and the lists of a cells file
//! (`--cells FILE`), each an exact id or a `*` glob of ids, and which cells they keep.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cell::Cell;

pub use crate::definition::ID_AXIS;

/// One id, or a glob of ids (`*-tsan-*`), as the user wrote it and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPattern {
    pub text: String,
    /// `FILE:LINE` for a line of a cells file; `None` for a filter's value.
    pub origin: Option<String>,
}

impl IdPattern {
    fn is_glob(&self) -> bool {
        self.text.contains(['*', '?', '['])
    }

    /// `` `ID` `` with its origin in front when it has one.
    pub fn describe(&self) -> String {
        match &self.origin {
            Some(origin) => format!("{origin}: `{}`", self.text),
            None => format!("`{}`", self.text),
        }
    }
}

/// A cells file: one id (or glob) a line; blank lines and `#` comments are skipped, so the ids
/// of failed cells cut from results.csv, with notes, make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellList {
    pub path: PathBuf,
    pub ids: Vec<IdPattern>,
}

impl CellList {
    pub fn read(path: &Path) -> Result<CellList> {
        let text = crate::input::read_text(path, "cells file", crate::input::limit::TABLE)?;
        CellList::parse(path, &text)
    }

    /// The cells of an index `matrix render` or `run` wrote: its `id` column.
    pub fn from_index(path: &Path) -> Result<CellList> {
        let bytes = crate::input::read_bytes(path, "index", crate::input::limit::TABLE)?;
        let mut reader = csv::Reader::from_reader(&bytes[..]);
        let column = (reader.headers())
            .with_context(|| format!("{}: cannot read the header", path.display()))?
            .iter()
            .position(|h| crate::spreadsheet::original(h) == "id")
            .with_context(|| format!("{}: the index has no `id` column", path.display()))?;
        let mut ids = Vec::new();
        for record in reader.records() {
            let record = record.with_context(|| format!("cannot read {}", path.display()))?;
            let line = record.position().map_or(0, |p| p.line());
            ids.push(IdPattern {
                text: glob::Pattern::escape(crate::spreadsheet::original(
                    record.get(column).unwrap_or_default(),
                )),
                origin: Some(format!("{}:{line}", path.display())),
            });
        }
        if ids.is_empty() {
            bail!("{}: the index lists no cell", path.display());
        }
        Ok(CellList {
            path: path.to_path_buf(),
            ids,
        })
    }

    pub fn parse(path: &Path, text: &str) -> Result<CellList> {
        let mut ids = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let id = line.split('#').next().unwrap_or("").trim();
            if id.is_empty() {
                continue;
            }
            let origin = format!("{}:{}", path.display(), number + 1);
            if id.contains(char::is_whitespace) || id.contains(',') {
                bail!(
                    "{origin}: `{id}` is not a cell id: give one id (or `*` glob) a line, \
                     `#` for comments"
                );
            }
            ids.push(IdPattern {
                text: id.to_string(),
                origin: Some(origin),
            });
        }
        if ids.is_empty() {
            bail!(
                "{}: the cells file names no cell: give one id (or `*` glob) a line",
                path.display()
            );
        }
        Ok(CellList {
            path: path.to_path_buf(),
            ids,
        })
    }
}

/// Compiled patterns of one filter or list: a cell matches when one of them does. Exact ids
/// are looked up, globs tried in turn, so a list of every cell of a large run stays fast.
pub struct IdMatcher {
    exact: HashSet<String>,
    globs: Vec<(IdPattern, glob::Pattern)>,
    patterns: Vec<IdPattern>,
}

impl IdMatcher {
    /// Every pattern compiled; a malformed glob is an error naming it.
    pub fn new(patterns: &[IdPattern]) -> Result<IdMatcher> {
        let mut matcher = IdMatcher {
            exact: HashSet::new(),
            globs: Vec::new(),
            patterns: patterns.to_vec(),
        };
        for p in patterns {
            if !p.is_glob() {
                matcher.exact.insert(p.text.clone());
                continue;
            }
            match glob::Pattern::new(&p.text) {
                Ok(glob) => matcher.globs.push((p.clone(), glob)),
                Err(err) => bail!("{}: not a glob of cell ids: {}", p.describe(), err.msg),
            }
        }
        Ok(matcher)
    }

    pub fn matches(&self, id: &str) -> bool {
        self.exact.contains(id) || self.globs.iter().any(|(_, glob)| glob.matches(id))
    }

    /// The first pattern that matches none of `cells`, if any: a typo, or a cell that other
    /// filters (or the rules) leave out.
    pub fn unmatched<'a>(&'a self, cells: &[Cell]) -> Option<&'a IdPattern> {
        let ids: HashSet<&str> = cells.iter().map(|c| c.id.as_str()).collect();
        self.patterns
            .iter()
            .find(|p| !self.names_any_of(p, &ids, cells))
    }

    /// Whether `pattern` (one of this matcher's) matches one of `cells`.
    pub fn names_any(&self, pattern: &IdPattern, cells: &[Cell]) -> bool {
        let ids: HashSet<&str> = cells.iter().map(|c| c.id.as_str()).collect();
        self.names_any_of(pattern, &ids, cells)
    }

    fn names_any_of(&self, pattern: &IdPattern, ids: &HashSet<&str>, cells: &[Cell]) -> bool {
        if !pattern.is_glob() {
            return ids.contains(pattern.text.as_str());
        }
        (self.globs.iter())
            .filter(|(p, _)| p == pattern)
            .any(|(_, glob)| cells.iter().any(|c| glob.matches(&c.id)))
    }

    /// Why `pattern` matches no cell of `all` (the whole matrix), with the closest id when it
    /// is an exact id.
    pub fn no_cell(pattern: &IdPattern, all: &[Cell], origin: &str) -> String {
        if pattern.is_glob() {
            return format!(
                "{} matches no cell of the matrix of {origin}",
                pattern.describe()
            );
        }
        format!(
            "{}: the matrix of {origin} has no cell with that id{}",
            pattern.describe(),
            crate::suggest::did_you_mean(&pattern.text, all.iter().map(|c| c.id.as_str()))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(texts: &[&str]) -> Vec<IdPattern> {
        texts
            .iter()
            .map(|t| IdPattern {
                text: t.to_string(),
                origin: None,
            })
            .collect()
    }

    #[test]
    fn globs_and_exact_ids_match_whole_ids() {
        let m = IdMatcher::new(&patterns(&["*-tsan-*", "a-b"])).unwrap();
        assert!(m.matches("amd64-gcc-tsan-debug"));
        assert!(m.matches("a-b"));
        assert!(!m.matches("a-b-c"));
        assert!(!m.matches("amd64-gcc-asan-debug"));
        let err = IdMatcher::new(&patterns(&["a[b"]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("`a[b`: not a glob of cell ids"), "{err}");
    }

    #[test]
    fn a_cells_file_skips_comments_and_names_its_bad_lines() {
        let path = Path::new("failed.txt");
        let list =
            CellList::parse(path, "# from results.csv\n\na-b  # flaky?\n  *-tsan-*\n").unwrap();
        assert_eq!(
            list.ids.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(),
            ["a-b", "*-tsan-*"]
        );
        assert_eq!(list.ids[0].describe(), "failed.txt:3: `a-b`");
        let err = CellList::parse(path, "a-b\na-b,c-d\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("failed.txt:2: `a-b,c-d` is not a cell id"),
            "{err}"
        );
        let err = CellList::parse(path, "# nothing\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("names no cell"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn a_cells_file_parses_or_names_its_line_and_its_ids_read_back(text in "[a-z0-9*#, \t\n.-]{0,200}") {
            let path = Path::new("f.txt");
            match CellList::parse(path, &text) {
                Ok(list) => {
                    for id in &list.ids {
                        proptest::prop_assert!(!id.text.is_empty());
                        proptest::prop_assert!(!id.text.contains([' ', '\t', ',', '#']));
                    }
                    let again: Vec<&str> = list.ids.iter().map(|p| p.text.as_str()).collect();
                    let reread = CellList::parse(path, &again.join("\n")).unwrap();
                    proptest::prop_assert_eq!(
                        reread.ids.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(),
                        again
                    );
                }
                Err(err) => proptest::prop_assert!(err.to_string().starts_with("f.txt")),
            }
        }
    }
}
