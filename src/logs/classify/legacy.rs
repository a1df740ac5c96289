//! The legacy engine: logs without markers (the original experiment's scripts), read from
//! bash's `set -x` trace or, without one, from the first output of each tool.

use super::*;

impl Classifier {
    pub(super) fn enter_legacy(&mut self, stage: Stage, line_no: u64) {
        if self.legacy_stage.is_none_or(|now| stage > now) {
            self.legacy_stage = Some(stage);
            self.stages[stage.index()].first_line = line_no;
        }
    }

    /// Stage changes of logs without markers. With a `set -x` trace (`+ cmd`), the top-level
    /// commands decide; without one, the first output of each tool does.
    pub(super) fn trace(&mut self, line_no: u64, text: &str) {
        if let Some(cmd) = text.strip_prefix("+ ") {
            let mut words = cmd.split_whitespace();
            let word = words.next().unwrap_or("");
            let second = words.next().unwrap_or("");
            let third = words.next().unwrap_or("");
            let stage = if word == "./configure" || word == "../configure" {
                Some(Stage::Configure)
            } else if word == "make" || word == "gmake" {
                // `make test` and friends run the test suite.
                if ["test", "buildbottest", "quicktest", "testall"].contains(&second) {
                    Some(Stage::Tests)
                } else {
                    Some(Stage::Compilation)
                }
            } else if (word == "./python" || word == "./python.exe")
                && second == "-m"
                && third.starts_with("test")
            {
                Some(Stage::Tests)
            } else {
                None
            };
            if let Some(stage) = stage {
                self.traced = true;
                self.enter_legacy(stage, line_no);
            } else if self.legacy_stage == Some(Stage::Compilation) {
                // The script went on to its next command: make has returned.
                let slot = &mut self.stages[Stage::Compilation.index()];
                let training = slot
                    .regrtest_progress
                    .is_some_and(|line| line > slot.build_activity);
                if slot.moved_on.is_none() && !training {
                    slot.moved_on = Some(evidence(line_no, text));
                }
            }
            return;
        }
        if self.traced {
            return;
        }
        if text.starts_with("checking ") && self.legacy_stage.is_none() {
            self.enter_legacy(Stage::Configure, line_no);
        } else if text.starts_with("make: Entering directory")
            || text.starts_with("make[1]: Entering directory")
            || ((text.starts_with("gcc ") || text.starts_with("clang ") || text.starts_with("cc "))
                && text.contains(" -c "))
        {
            self.enter_legacy(Stage::Compilation, line_no);
        } else if text.starts_with("== CPython ") {
            self.enter_legacy(Stage::Tests, line_no);
        }
    }

    /// Logs of the original experiment's scripts (no markers).
    pub(super) fn decide_legacy(&self, ends_mid_line: bool) -> (Verdict, Option<Evidence>) {
        let Some(reached) = self.legacy_stage else {
            return unknown(
                "no stage markers, and no configure, make or test run found in the log",
                self.last_line(),
            );
        };
        let conf = &self.stages[Stage::Configure.index()];
        if reached == Stage::Configure || self.configure_failed(conf) {
            // The script stops after a failed configure; later lines would be noise.
            if let Some((ev, outcome)) = &conf.job_status {
                return result(Stage::Configure, *outcome, ev.clone());
            }
            if let Some((ev, code)) = &conf.configure_exit {
                if *code != 0 {
                    let decided = conf.configure_error.clone().unwrap_or_else(|| ev.clone());
                    return result(Stage::Configure, Outcome::Failed, decided);
                }
            }
            if let Some(ev) = &conf.configure_error {
                return result(Stage::Configure, Outcome::Failed, ev.clone());
            }
            return self.stopped(Stage::Configure, ends_mid_line);
        }

        let comp = &self.stages[Stage::Compilation.index()];
        let tests = &self.stages[Stage::Tests.index()];
        // The test suite ran (regrtest reported progress or a result): its outcome decides,
        // even after a failed make (a PGO build whose training run failed still leaves an
        // interpreter the suite runs on).
        let tests_ran = tests.regrtest_progress.is_some() || tests.regrtest_result.is_some();
        // A PGO build runs the test suite inside make (`profile-run-stamp`); a failure or a
        // stop while it runs is a test-suite outcome.
        let training = comp
            .regrtest_progress
            .is_some_and(|line| line > comp.build_activity);
        if !tests_ran {
            if let Some(top) = &comp.make_top {
                let (outcome, ev) = self
                    .refine(Stage::Compilation)
                    .unwrap_or((Outcome::Failed, top.clone()));
                let stage = if comp.make_failed_in_training {
                    Stage::Tests
                } else {
                    Stage::Compilation
                };
                return result(stage, outcome, ev);
            }
            if reached == Stage::Compilation {
                if let Some(next) = &comp.moved_on {
                    // make returned without an error and the script went on without running
                    // the tests (analyzer builds collect their reports instead).
                    return result(Stage::Compilation, Outcome::Passed, next.clone());
                }
                let stage = if training {
                    Stage::Tests
                } else {
                    Stage::Compilation
                };
                return self.stopped_as(Stage::Compilation, stage, ends_mid_line);
            }
        }

        if let Some((ev, outcome)) = &tests.job_status {
            return result(Stage::Tests, *outcome, ev.clone());
        }
        if let Some((ev, outcome)) = &tests.regrtest_result {
            if *outcome == Outcome::Passed {
                return result(Stage::Tests, Outcome::Passed, ev.clone());
            }
            if let Some((o, e)) = self.refine(Stage::Tests) {
                return result(Stage::Tests, o, e);
            }
            return result(Stage::Tests, *outcome, ev.clone());
        }
        self.stopped(Stage::Tests, ends_mid_line)
    }

    pub(super) fn configure_failed(&self, conf: &StageEvidence) -> bool {
        conf.job_status.is_some()
            || conf.configure_exit.as_ref().is_some_and(|(_, c)| *c != 0)
                && self.legacy_stage == Some(Stage::Configure)
    }
}
