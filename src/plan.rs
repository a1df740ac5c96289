//! A cell's build plan: what the definition's contributions give that cell (environment,
//! flags, configure arguments, runtime to preload, whether to test, what to collect, the
//! command prefix).

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cell::Cell;
use crate::definition::{Contribution, Matrix};

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
    /// Exported after the build, for the canaries and the tests.
    pub test_env: Vec<EnvVar>,
    /// The command prefix configure, make, the canaries and the tests run under.
    pub wrap: Vec<String>,
    /// A container engine runs the cell without its seccomp filter.
    pub unconfined: bool,
    /// The names of the canaries (deliberate defects) run after the build, before the tests.
    pub canaries: Vec<String>,
}

/// Which contribution set each single-valued part of a plan, for conflict messages.
#[derive(Default)]
struct Owners {
    env: Vec<(String, usize)>,
    test_env: Vec<(String, usize)>,
    tests: Option<(bool, usize)>,
    test_args: Option<usize>,
    wrap: Option<usize>,
}

/// Makes contribution `number` the owner of the part named `what`, unless another one is.
fn claim(owner: &mut Option<usize>, number: usize, what: &str) -> Result<(), Clash> {
    match owner {
        Some(other) => Err(Clash::new(*other, format!("both set `{what}`"))),
        None => {
            *owner = Some(number);
            Ok(())
        }
    }
}

/// Two contributions that set one part of a plan: the earlier one's number and what clashed.
struct Clash {
    earlier: usize,
    what: String,
}

impl Clash {
    fn new(earlier: usize, what: String) -> Self {
        Clash { earlier, what }
    }

    fn message(self, cell: &Cell, later: &Contribution, matrix: &Matrix) -> anyhow::Error {
        anyhow!(
            "cell {}: contributions #{} and #{} of {} {}",
            cell.id,
            self.earlier,
            later.number,
            matrix.origin,
            self.what
        )
    }
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
        let mut owners = Owners::default();
        for contribution in &matrix.contributions {
            if contribution.when.holds(&cell.values) {
                plan.add(contribution, &mut owners)
                    .map_err(|clash| clash.message(cell, contribution, matrix))?;
            }
        }
        plan.canaries = matrix
            .canaries
            .iter()
            .filter(|canary| canary.when.holds(&cell.values))
            .map(|canary| canary.name.clone())
            .collect();
        Ok(plan)
    }

    /// One contribution's part; a [`Clash`] names what an earlier contribution already set.
    fn add(&mut self, contribution: &Contribution, owners: &mut Owners) -> Result<(), Clash> {
        let number = contribution.number;
        for (list, owned, entries) in [
            (&mut self.env, &mut owners.env, &contribution.env),
            (
                &mut self.test_env,
                &mut owners.test_env,
                &contribution.test_env,
            ),
        ] {
            for (name, value) in entries {
                if let Some((_, other)) = owned.iter().find(|(n, _)| n == name) {
                    return Err(Clash::new(*other, format!("both set {name}")));
                }
                owned.push((name.clone(), number));
                list.push(EnvVar {
                    name: name.clone(),
                    value: value.clone(),
                });
            }
        }
        self.compile_flags
            .extend(contribution.compile.iter().cloned());
        self.link_flags.extend(contribution.link.iter().cloned());
        self.configure_args
            .extend(contribution.configure.iter().cloned());
        if !contribution.preload.is_empty() {
            self.preload.push(contribution.preload.join(" "));
        }
        if let Some(tests) = contribution.tests {
            match owners.tests {
                Some((earlier, other)) if earlier != tests => {
                    return Err(Clash::new(other, "disagree about `tests`".into()))
                }
                _ => owners.tests = Some((tests, number)),
            }
            self.run_tests = tests;
        }
        if let Some(args) = &contribution.test_args {
            claim(&mut owners.test_args, number, "test_args")?;
            self.test_args = args.clone();
        }
        if !contribution.wrap.is_empty() {
            claim(&mut owners.wrap, number, "wrap")?;
            self.wrap = contribution.wrap.clone();
        }
        self.collect.extend(contribution.collect.iter().cloned());
        self.unconfined |= contribution.unconfined;
        Ok(())
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
