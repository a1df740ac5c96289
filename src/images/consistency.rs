//! Whether each OS image holds what that OS's cells use: every compiler, linker, sanitizer
//! runtime (preloaded or linked statically) and program a rendered script runs is provided by
//! a package the image installs, and every package group is needed by some cell.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use anyhow::Result;
use indexmap::IndexSet;

use super::commands::script_commands;
use super::dockerfile::images_of;
use crate::cell::Cell;
use crate::definition::images::OsImage;
use crate::definition::Matrix;
use crate::expand::{expand, ValueMask};
use crate::plan::BuildPlan;
use crate::render::{Renderer, Script};

/// Something a cell's build needs from its image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// A program run by name (found on PATH).
    Command(String),
    /// A runtime file `compiler` looks up by name; any one of the candidates will do.
    File {
        compiler: String,
        candidates: Vec<String>,
    },
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Command(name) => write!(f, "command `{name}`"),
            Need::File {
                compiler,
                candidates,
            } if candidates.len() == 1 => {
                write!(f, "file `{}` (found by {compiler})", candidates[0])
            }
            Need::File {
                compiler,
                candidates,
            } => write!(
                f,
                "one of the files `{}` (found by {compiler})",
                candidates.join("`, `")
            ),
        }
    }
}

/// A way an image falls short of its cells (or carries what none of them needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub os: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "image {}: {}", self.os, self.message)
    }
}

/// What a cell's build needs: from its plan (compilers, linker, runtimes) and from its
/// rendered script (the programs it runs).
pub fn needs(plan: &BuildPlan, script: &str) -> BTreeSet<Need> {
    let mut needs = BTreeSet::new();
    // The script asks $CC for runtimes, and $CC links them.
    let cc = plan.env("CC").unwrap_or("cc").to_string();
    for var in ["CC", "CXX"] {
        if let Some(compiler) = plan.env(var) {
            if !compiler.contains('/') {
                needs.insert(Need::Command(compiler.to_string()));
            }
        }
    }
    for flag in plan.compile_flags.iter().chain(&plan.link_flags) {
        // clang and gcc run `ld.<name>` for -fuse-ld=<name>.
        if let Some(linker) = flag.strip_prefix("-fuse-ld=") {
            if !linker.contains('/') {
                needs.insert(Need::Command(format!("ld.{linker}")));
            }
        }
        // GCC's -static-libasan links libasan.a.
        if let Some(lib) = flag.strip_prefix("-static-lib") {
            if !lib.is_empty() && lib != "san" {
                needs.insert(Need::File {
                    compiler: cc.clone(),
                    candidates: vec![format!("lib{lib}.a")],
                });
            }
        }
    }
    for runtime in &plan.preload {
        needs.insert(Need::File {
            compiler: cc.clone(),
            candidates: runtime.split_whitespace().map(String::from).collect(),
        });
    }
    needs.extend(script_commands(script).into_iter().map(Need::Command));
    needs
}

/// Commands the packages of `os` provide, and per file name the compilers that find it
/// (an empty list: every compiler).
fn provided(os: &OsImage) -> (BTreeSet<&str>, Vec<(&str, &[String])>) {
    let mut commands = BTreeSet::new();
    let mut files = Vec::new();
    for provides in os.provides.values() {
        commands.extend(provides.commands.iter().map(String::as_str));
        for file in &provides.files {
            files.push((file.as_str(), provides.for_compilers.as_slice()));
        }
    }
    (commands, files)
}

fn satisfied(need: &Need, commands: &BTreeSet<&str>, files: &[(&str, &[String])]) -> bool {
    match need {
        Need::Command(name) => commands.contains(name.as_str()),
        Need::File {
            compiler,
            candidates,
        } => files.iter().any(|(file, compilers)| {
            candidates.iter().any(|c| c == file)
                && (compilers.is_empty() || compilers.contains(compiler))
        }),
    }
}

/// Programs the Dockerfile's own repository layer runs, beyond the base image's essentials.
const REPOSITORY_TOOLS: [&str; 2] = ["curl", "gpg"];

/// Checks every cell of the matrix against its OS image, rendering scripts with `renderer`.
/// An empty list means the images are consistent with the matrix.
pub fn check(matrix: &Matrix, renderer: &Renderer) -> Result<Vec<Problem>> {
    let cells = expand(matrix, &ValueMask::all(matrix))?;
    let scripts = renderer.render_all(matrix, &cells)?;
    check_scripts(matrix, &cells, &scripts)
}

/// [`check`] over every cell of the matrix and its already rendered script (same order).
pub fn check_scripts(matrix: &Matrix, cells: &[Cell], scripts: &[Script]) -> Result<Vec<Problem>> {
    let mut needs = CellNeeds::default();
    needs.add(matrix, cells, scripts)?;
    needs.check(matrix, cells)
}

/// What each cell needs, gathered a part of the cells at a time so their scripts need not all
/// be in memory at once; each distinct set of needs is stored once (100,000 cells have a few
/// hundred).
#[derive(Debug, Default)]
pub struct CellNeeds {
    sets: IndexSet<BTreeSet<Need>>,
    /// Per cell: its value of the image's tag axis and its set's number.
    per_cell: Vec<(usize, usize)>,
}

impl CellNeeds {
    /// Adds the next `cells`, whose rendered scripts are `scripts` (same order).
    pub fn add(&mut self, matrix: &Matrix, cells: &[Cell], scripts: &[Script]) -> Result<()> {
        use rayon::prelude::*;
        let part: Vec<(usize, BTreeSet<Need>)> = cells
            .par_iter()
            .zip(scripts)
            .map(|(cell, script)| {
                let plan = BuildPlan::for_cell(matrix, cell)?;
                Ok((
                    cell.values[matrix.image.tag_axis],
                    needs(&plan, &script.text),
                ))
            })
            .collect::<Result<_>>()?;
        for (value, set) in part {
            let (set, _) = self.sets.insert_full(set);
            self.per_cell.push((value, set));
        }
        Ok(())
    }

    /// Checks every cell added (`cells`, in the order added) against its OS image.
    pub fn check(&self, matrix: &Matrix, cells: &[Cell]) -> Result<Vec<Problem>> {
        let images = images_of(matrix)?;
        let per_cell: Vec<(usize, &BTreeSet<Need>)> = self
            .per_cell
            .iter()
            .map(|&(value, set)| (value, &self.sets[set]))
            .collect();
        let mut problems = Vec::new();
        for os in &images.os {
            check_os(os, cells, &per_cell, &mut problems);
        }
        Ok(problems)
    }
}

fn check_os(
    os: &OsImage,
    cells: &[Cell],
    per_cell: &[(usize, &BTreeSet<Need>)],
    problems: &mut Vec<Problem>,
) {
    let (commands, files) = provided(os);
    let problem = |message: String| Problem {
        os: os.name.clone(),
        message,
    };

    // Unmet needs, each with the cells that have it.
    let mut unmet: BTreeMap<&Need, Vec<&str>> = BTreeMap::new();
    let mut os_cells = Vec::new();
    for (cell, (value, needs)) in cells.iter().zip(per_cell) {
        if *value != os.value {
            continue;
        }
        os_cells.push(cell);
        for need in *needs {
            if !satisfied(need, &commands, &files) {
                unmet.entry(need).or_default().push(&cell.id);
            }
        }
    }
    for (need, ids) in unmet {
        let more = match ids.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        problems.push(problem(format!(
            "cell {}{more} needs {need}, which no package the image installs provides \
             (install the package in a group of images.os.{} and list it under its `provides`)",
            ids[0], os.name
        )));
    }

    // Every group serves some cell of the OS.
    for (i, group) in os.groups.iter().enumerate() {
        if !os_cells.iter().any(|cell| group.when.holds(&cell.values)) {
            problems.push(problem(format!(
                "package group #{} ({}) is needed by no cell of {}: its `when` matches none \
                 of them under the rules; drop it or fix `when`",
                i + 1,
                group.purpose,
                os.name
            )));
        }
    }
    if os_cells.is_empty() {
        problems.push(problem(format!(
            "no valid cell runs on {}: the image would serve nothing",
            os.name
        )));
    }

    // The repository layer runs curl and gpg, installed by the distribution layer before it.
    let uses_repositories = os.groups.iter().any(|g| g.repository.is_some());
    if uses_repositories {
        let distro_commands: BTreeSet<&str> = os
            .groups
            .iter()
            .filter(|g| g.repository.is_none())
            .flat_map(|g| &g.install)
            .filter_map(|p| os.provides.get(p))
            .flat_map(|p| p.commands.iter().map(String::as_str))
            .collect();
        for tool in REPOSITORY_TOOLS {
            if !distro_commands.contains(tool) {
                problems.push(problem(format!(
                    "adding a repository runs `{tool}`, which no distribution package of the \
                     image provides (the repository layer is built after the distribution's)"
                )));
            }
        }
    }
}

/// Reports `problems` as one error, or nothing when there are none.
pub fn ensure_consistent(problems: &[Problem]) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    anyhow::bail!(
        "the build images do not match the matrix ({} problems):\n{}",
        problems.len(),
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs_of(id: &str) -> BTreeSet<Need> {
        let m = Matrix::builtin().unwrap();
        let cell = expand(&m, &ValueMask::all(&m))
            .unwrap()
            .into_iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no cell {id}"));
        let plan = BuildPlan::for_cell(&m, &cell).unwrap();
        let script = Renderer::builtin()
            .unwrap()
            .render(&m, &cell, &plan)
            .unwrap();
        needs(&plan, &script.text)
    }

    fn command(name: &str) -> Need {
        Need::Command(name.into())
    }

    #[test]
    fn a_clang_preload_cell_needs_its_compiler_linker_and_runtime() {
        let needs = needs_of("amd64-u24.04-py3.12.4-clang19-asan-shared-pre-debug");
        for name in ["clang-19", "clang++-19", "ld.lld", "curl", "make"] {
            assert!(needs.contains(&command(name)), "{name}: {needs:?}");
        }
        assert!(needs.contains(&Need::File {
            compiler: "clang-19".into(),
            candidates: vec![
                "libclang_rt.asan.so".into(),
                "libclang_rt.asan-x86_64.so".into()
            ],
        }));
        assert!(!needs.contains(&command("gcc")));
    }

    #[test]
    fn a_gcc_static_cell_needs_the_static_runtime_and_no_linker() {
        let needs = needs_of("amd64-f40-py3.12.4-gcc-tsan-static-release");
        assert!(needs.contains(&Need::File {
            compiler: "gcc".into(),
            candidates: vec!["libtsan.a".into()],
        }));
        assert!(!needs.contains(&command("ld.lld")));
        assert_eq!(
            Need::File {
                compiler: "gcc".into(),
                candidates: vec!["libtsan.a".into()]
            }
            .to_string(),
            "file `libtsan.a` (found by gcc)"
        );
    }
}
