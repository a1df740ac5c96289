//! A cell's build plan: what the definition's contributions give that cell (environment,
//! flags, configure arguments, runtime to preload, whether to test, what to collect, the
//! command prefix).

use anyhow::{bail, Result};
use serde::Serialize;

use crate::cell::Cell;
use crate::definition::Matrix;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BuildPlan {
    /// Exported before configure, in contribution order.
    pub env: Vec<EnvVar>,
    /// Appended to CFLAGS, CXXFLAGS and CPPFLAGS.
    pub compile_flags: Vec<String>,
    /// Appended to LDFLAGS.
    pub link_flags: Vec<String>,
    pub configure_args: Vec<String>,
    /// One entry per runtime to preload: its candidate file names, space-separated.
    pub preload: Vec<String>,
    pub run_tests: bool,
    /// The test command (`./python -m test`) and its arguments (`-uall`), run when `run_tests`.
    pub test_command: Vec<String>,
    pub test_args: Vec<String>,
    /// File-name patterns copied into the artifact directory.
    pub collect: Vec<String>,
    /// The command prefix configure, make and the tests run under (`[setarch, -R]`), from
    /// the contributions' `wrap` in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wrap: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

impl BuildPlan {
    /// Everything the matching contributions give `cell`. Two contributions that set the same
    /// variable, or disagree about the tests, are an error: order must never decide silently.
    pub fn for_cell(matrix: &Matrix, cell: &Cell) -> Result<Self> {
        let mut plan = BuildPlan {
            run_tests: true,
            test_command: matrix.tests.command.clone(),
            test_args: matrix.tests.args.clone(),
            ..BuildPlan::default()
        };
        let mut test_args_owner: Option<usize> = None;
        // (variable, contribution number) for conflict messages.
        let mut env_owner: Vec<(String, usize)> = Vec::new();
        let mut tests_owner: Option<(bool, usize)> = None;
        for contribution in &matrix.contributions {
            if !contribution.when.holds(&cell.values) {
                continue;
            }
            for (name, value) in &contribution.env {
                if let Some((_, other)) = env_owner.iter().find(|(n, _)| n == name) {
                    bail!(
                        "cell {}: contributions #{other} and #{} of {} both set {name}",
                        cell.id,
                        contribution.number,
                        matrix.origin
                    );
                }
                env_owner.push((name.clone(), contribution.number));
                plan.env.push(EnvVar {
                    name: name.clone(),
                    value: value.clone(),
                });
            }
            plan.compile_flags
                .extend(contribution.compile.iter().cloned());
            plan.link_flags.extend(contribution.link.iter().cloned());
            plan.configure_args
                .extend(contribution.configure.iter().cloned());
            if !contribution.preload.is_empty() {
                plan.preload.push(contribution.preload.join(" "));
            }
            if let Some(tests) = contribution.tests {
                match tests_owner {
                    Some((earlier, other)) if earlier != tests => bail!(
                        "cell {}: contributions #{other} and #{} of {} disagree about `tests`",
                        cell.id,
                        contribution.number,
                        matrix.origin
                    ),
                    _ => tests_owner = Some((tests, contribution.number)),
                }
                plan.run_tests = tests;
            }
            if let Some(args) = &contribution.test_args {
                if let Some(other) = test_args_owner {
                    bail!(
                        "cell {}: contributions #{other} and #{} of {} both set `test_args`",
                        cell.id,
                        contribution.number,
                        matrix.origin
                    );
                }
                test_args_owner = Some(contribution.number);
                plan.test_args = args.clone();
            }
            plan.collect.extend(contribution.collect.iter().cloned());
            plan.wrap.extend(contribution.wrap.iter().cloned());
        }
        Ok(plan)
    }

    pub fn env(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::{expand, ValueMask};

    fn plan_of(id: &str) -> BuildPlan {
        let m = Matrix::builtin().unwrap();
        let cell = expand(&m, &ValueMask::all(&m))
            .unwrap()
            .into_iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no cell {id}"));
        BuildPlan::for_cell(&m, &cell).unwrap()
    }

    #[test]
    fn gcc_static_asan_adds_static_libasan() {
        let plan = plan_of("amd64-u24.04-py3.12.4-gcc-asan-static-pre-debug");
        assert_eq!(plan.env("CC"), Some("gcc"));
        assert_eq!(plan.env("CXX"), Some("g++"));
        assert_eq!(
            plan.compile_flags,
            ["-g", "-fsanitize=address", "-static-libasan"]
        );
        assert_eq!(plan.link_flags, ["-fsanitize=address", "-static-libasan"]);
        assert_eq!(plan.configure_args, ["--with-assertions", "--with-pydebug"]);
        assert_eq!(plan.preload, ["libasan.so"]);
        assert!(plan.run_tests);
    }

    #[test]
    fn analyzer_skips_tests_and_collects_sarif() {
        let plan = plan_of("amd64-f40-py3.13.0b4-gcc-analyzer-nogil");
        assert_eq!(
            plan.compile_flags,
            ["-fanalyzer", "-fdiagnostics-format=sarif-file"]
        );
        assert!(plan.link_flags.is_empty());
        assert_eq!(plan.configure_args, ["--disable-gil"]);
        assert!(!plan.run_tests);
        assert_eq!(plan.collect, ["*.sarif"]);
    }
}
