//! regrtest's own account in a log: the tests its last summary lists as failed, those it ran
//! again after a failure (`N re-run tests:`), the tests its progress lines name, and its totals.

use std::collections::BTreeSet;

use serde::Serialize;

/// `Total tests: run=1,234 failures=2 skipped=61`: regrtest's counts of test cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TestTotals {
    pub run: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl TestTotals {
    /// The counts of a `Total tests:` line; `None` for any other line.
    pub fn parse(line: &str) -> Option<TestTotals> {
        let rest = line.trim_end().strip_prefix("Total tests: ")?;
        let mut totals = TestTotals::default();
        let mut seen_run = false;
        for field in rest.split_whitespace() {
            let Some((name, value)) = field.split_once('=') else {
                continue; // `(filtered)`
            };
            let Ok(count) = value.replace(',', "").parse::<u64>() else {
                continue;
            };
            match name {
                "run" => (totals.run, seen_run) = (count, true),
                "failures" => totals.failed = count,
                "skipped" => totals.skipped = count,
                _ => {}
            }
        }
        seen_run.then_some(totals)
    }
}

/// Which list of regrtest's summary is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Failed,
    Rerun,
}

/// What regrtest said of its tests, read line by line.
#[derive(Debug, Default)]
pub(super) struct RegrtestReader {
    block: Option<(Block, Vec<String>)>,
    failed: Vec<String>,
    rerun: Vec<String>,
    totals: Option<TestTotals>,
    run: BTreeSet<String>,
    /// The verdict of a `Result:` line that changed on the re-run (`FAILURE then SUCCESS`).
    changed: Option<String>,
}

/// What [`RegrtestReader`] found once the log is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RegrtestAccount {
    pub failed: Vec<String>,
    pub flaky: Vec<String>,
    pub totals: Option<TestTotals>,
    pub run: Vec<String>,
    /// regrtest's last verdict, when it changed on the re-run: `FAILURE then SUCCESS`.
    pub changed: Option<String>,
}

impl RegrtestReader {
    /// Takes a line of the log: a summary heading, a name of the list being read, or a total.
    pub fn line(&mut self, raw: &[u8]) {
        if let Some((_, names)) = &mut self.block {
            if raw.starts_with(b"    ") && !raw.trim_ascii().is_empty() {
                let text = String::from_utf8_lossy(raw);
                names.extend(text.split_whitespace().map(str::to_owned));
                return;
            }
            self.close_block();
        }
        match raw.first() {
            Some(b) if b.is_ascii_digit() => self.heading(raw),
            Some(b'T') if raw.starts_with(b"Total tests: ") => {
                if let Some(totals) = TestTotals::parse(&String::from_utf8_lossy(raw)) {
                    self.totals = Some(totals);
                }
            }
            Some(b'R' | b'=' | b'T') => self.verdict(raw),
            _ => {}
        }
    }

    /// `Result: FAILURE then SUCCESS`, `== Tests result: FAILURE then SUCCESS ==`: the last
    /// verdict line says whether the re-run changed it.
    fn verdict(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let line = text
            .trim()
            .trim_start_matches("== ")
            .trim_end_matches(" ==");
        let Some(verdict) =
            (line.strip_prefix("Result: ")).or_else(|| line.strip_prefix("Tests result: "))
        else {
            return;
        };
        self.changed = verdict.contains(" then ").then(|| verdict.to_string());
    }

    /// `11 tests failed:`, `1 re-run test:` open a list of names.
    fn heading(&mut self, raw: &[u8]) {
        let digits = raw.iter().take_while(|b| b.is_ascii_digit()).count();
        let rest = &raw[digits..];
        let block = match rest {
            b" test failed:" | b" tests failed:" => Block::Failed,
            b" re-run test:" | b" re-run tests:" => Block::Rerun,
            _ => return,
        };
        self.block = Some((block, Vec::new()));
    }

    fn close_block(&mut self) {
        match self.block.take() {
            Some((Block::Failed, names)) => self.failed = names,
            Some((Block::Rerun, names)) => {
                // The summary after the re-run lists what still fails after this list: the
                // first summary's failures are superseded.
                self.rerun = names;
                self.failed.clear();
            }
            None => {}
        }
    }

    /// A progress line of the tests stage names a test that ran.
    pub fn ran(&mut self, test: String) {
        self.run.insert(test);
    }

    pub fn finish(mut self) -> RegrtestAccount {
        self.close_block();
        let flaky = (self.rerun.iter())
            .filter(|t| !self.failed.contains(t))
            .cloned()
            .collect();
        RegrtestAccount {
            failed: self.failed,
            flaky,
            totals: self.totals,
            run: self.run.into_iter().collect(),
            changed: self.changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(log: &str) -> RegrtestAccount {
        let mut reader = RegrtestReader::default();
        for line in log.lines() {
            reader.line(line.as_bytes());
        }
        reader.finish()
    }

    #[test]
    fn failure_then_success_makes_the_rerun_tests_flaky_and_none_failed() {
        // regrtest 3.13 prints its summary after the first run and again after the re-run.
        let log = "2 tests failed:\n    test_os test_x\n\n10 tests OK.\n\
                   Re-running 2 failed tests in verbose mode in subprocesses\n\
                   2 re-run tests:\n    test_os test_x\n\n1 test failed:\n    test_x\n\n\
                   Total tests: run=1,234 failures=1 skipped=61\n\
                   Result: FAILURE then FAILURE\n";
        let a = account(log);
        assert_eq!(a.failed, ["test_x"]);
        assert_eq!(a.flaky, ["test_os"]);
        assert_eq!(
            a.totals,
            Some(TestTotals {
                run: 1234,
                failed: 1,
                skipped: 61
            })
        );
        assert_eq!(a.changed.as_deref(), Some("FAILURE then FAILURE"));
        let passed = account(
            "1 test failed:\n    test_os\n1 re-run test:\n    test_os\n\n\
             == Tests result: FAILURE then SUCCESS ==\n",
        );
        assert!(passed.failed.is_empty());
        assert_eq!(passed.flaky, ["test_os"]);
        assert_eq!(passed.changed.as_deref(), Some("FAILURE then SUCCESS"));
        let plain = account("1 test failed:\n    test_os\n\nResult: FAILURE\n");
        assert_eq!(
            (plain.failed, plain.flaky),
            (vec!["test_os".into()], vec![])
        );
        assert_eq!(plain.changed, None);
    }

    #[test]
    fn totals_take_filtered_runs_and_ignore_other_lines() {
        assert_eq!(
            TestTotals::parse("Total tests: run=12 (filtered) skipped=3"),
            Some(TestTotals {
                run: 12,
                failed: 0,
                skipped: 3
            })
        );
        assert_eq!(TestTotals::parse("Total test files: run=3/4"), None);
        assert_eq!(TestTotals::parse("Total tests: nothing"), None);
    }
}
