//! `matrix images verify`: the consistency check made fact. Inside a built image, a script
//! rendered from `verify.sh.j2` looks for everything the image's cells use, the way their build
//! scripts look for it, and each cell learns what it would miss.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::consistency::{needs, Need};
use crate::cell::Cell;
use crate::definition::Matrix;
use crate::engine::ContainerTool;
use crate::plan::BuildPlan;
use crate::render::Script;
use crate::templates::{Templates, VERIFY_TEMPLATE};

/// One fact to establish inside the image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Probe {
    /// A program the script runs by name is on PATH (`command -v`).
    OnPath(String),
    /// A compiler answers `--version`.
    Answers(String),
    /// The compiler finds one of the runtime files (`-print-file-name`, `-print-runtime-dir`),
    /// as the script does for LD_PRELOAD and as `-static-lib*` does.
    Runtime {
        compiler: String,
        candidates: Vec<String>,
    },
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::OnPath(name) => write!(f, "command `{name}` on PATH"),
            Probe::Answers(compiler) => write!(f, "`{compiler} --version` answering"),
            Probe::Runtime {
                compiler,
                candidates,
            } => write!(
                f,
                "runtime `{}` (asked `{compiler} -print-file-name` and `-print-runtime-dir`)",
                candidates.join("` or `")
            ),
        }
    }
}

/// What to probe for a set of cells, and which probes each cell depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPlan {
    /// Sorted, distinct.
    pub probes: Vec<Probe>,
    /// Each cell (in the given order) with the indices of its probes.
    pub cells: Vec<(String, Vec<usize>)>,
}

/// The probes of `cells`, whose rendered `scripts` are in the same order.
pub fn plan(matrix: &Matrix, cells: &[Cell], scripts: &[Script]) -> Result<VerifyPlan> {
    let mut per_cell = Vec::new();
    add_cells(&mut per_cell, matrix, cells, scripts)?;
    Ok(assemble(per_cell))
}

/// Each cell's probes, before they are gathered into a [`VerifyPlan`] ([`assemble`]): a caller
/// with many cells adds them a part at a time, rendering each part's scripts just for this.
pub type CellProbes = Vec<(String, BTreeSet<Probe>)>;

/// Adds the probes of `cells`, whose rendered `scripts` are in the same order.
pub fn add_cells(
    per_cell: &mut CellProbes,
    matrix: &Matrix,
    cells: &[Cell],
    scripts: &[Script],
) -> Result<()> {
    for (cell, script) in cells.iter().zip(scripts) {
        let build = BuildPlan::for_cell(matrix, cell)?;
        let mut probes: BTreeSet<Probe> = needs(&build, &script.text)
            .into_iter()
            .map(|need| match need {
                Need::Command(name) => Probe::OnPath(name),
                Need::File {
                    compiler,
                    candidates,
                } => Probe::Runtime {
                    compiler,
                    candidates,
                },
            })
            .collect();
        for var in ["CC", "CXX"] {
            if let Some(compiler) = build.env(var) {
                probes.insert(Probe::Answers(compiler.to_string()));
            }
        }
        per_cell.push((cell.id.clone(), probes));
    }
    Ok(())
}

/// The plan of every cell's probes: each distinct probe once, and each cell with its own.
pub fn assemble(per_cell: CellProbes) -> VerifyPlan {
    let all: BTreeSet<&Probe> = per_cell.iter().flat_map(|(_, p)| p).collect();
    let probes: Vec<Probe> = all.into_iter().cloned().collect();
    let cells = per_cell
        .into_iter()
        .map(|(id, mine)| {
            let indices = mine
                .iter()
                .map(|p| probes.binary_search(p).expect("every probe is listed"))
                .collect();
            (id, indices)
        })
        .collect();
    VerifyPlan { probes, cells }
}

#[derive(Serialize)]
struct ProbeView<'a> {
    kind: &'static str,
    name: &'a str,
    candidates: &'a [String],
}

/// The probing script for `plan`, from `verify.sh.j2` (shell auto-escape: every name is one
/// quoted word).
pub fn script(templates: &Templates, plan: &VerifyPlan) -> Result<String> {
    let probes: Vec<ProbeView> = plan
        .probes
        .iter()
        .map(|p| match p {
            Probe::OnPath(name) => ProbeView {
                kind: "command",
                name,
                candidates: &[],
            },
            Probe::Answers(name) => ProbeView {
                kind: "version",
                name,
                candidates: &[],
            },
            Probe::Runtime {
                compiler,
                candidates,
            } => ProbeView {
                kind: "runtime",
                name: compiler,
                candidates,
            },
        })
        .collect();
    templates
        .render(VERIFY_TEMPLATE, minijinja::context! { probes => probes })
        .context("cannot render the image verification script")
}

/// What the image said about one probe: found (with where or what), or not (with why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub found: bool,
    pub detail: String,
}

/// Reads the script's `::verify:: <index> ok|missing <detail>` lines; every probe must have
/// its answer, or the script did not run to its end.
pub fn parse_answers(output: &str, probes: usize) -> Result<Vec<Answer>> {
    let mut answers: Vec<Option<Answer>> = vec![None; probes];
    for line in output.lines() {
        let Some(rest) = line.strip_prefix("::verify:: ") else {
            continue;
        };
        let mut parts = rest.splitn(3, ' ');
        let (Some(index), Some(status)) = (parts.next(), parts.next()) else {
            bail!("the verification script printed a malformed line: {line}");
        };
        let index: usize = index
            .parse()
            .ok()
            .filter(|&i| i < probes)
            .with_context(|| format!("the verification script printed a bad index: {line}"))?;
        let found = match status {
            "ok" => true,
            "missing" => false,
            _ => bail!("the verification script printed a bad status: {line}"),
        };
        answers[index] = Some(Answer {
            found,
            detail: parts.next().unwrap_or("").to_string(),
        });
    }
    answers
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            a.with_context(|| {
                format!("the verification script stopped before answering probe #{i}")
            })
        })
        .collect()
}

/// A cell and what it would miss in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub cell: String,
    pub missing: Vec<String>,
}

/// The cells of `plan` that need something the image lacks, in the plan's order.
pub fn shortfalls(plan: &VerifyPlan, answers: &[Answer]) -> Vec<Shortfall> {
    plan.cells
        .iter()
        .filter_map(|(cell, indices)| {
            let missing: Vec<String> = indices
                .iter()
                .filter(|&&i| !answers[i].found)
                .map(|&i| match answers[i].detail.as_str() {
                    "" => plan.probes[i].to_string(),
                    why => format!("{} ({why})", plan.probes[i]),
                })
                .collect();
            (!missing.is_empty()).then(|| Shortfall {
                cell: cell.clone(),
                missing,
            })
        })
        .collect()
}

/// The image's architecture as the engine records it (`amd64`), or an error saying the image
/// is not there.
pub fn image_architecture(tool: ContainerTool, image: &str) -> Result<String> {
    let output = Command::new(tool.program())
        .args(["image", "inspect", "--format", "{{.Architecture}}", image])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", tool.program()))?;
    if !output.status.success() {
        bail!(
            "{} has no image {image} ({}): build it with `matrix images build`, or pull it",
            tool.program(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs `script` with bash inside `image` (no network, removed afterwards) and returns what
/// it printed.
pub fn run_in_image(tool: ContainerTool, image: &str, script: &str) -> Result<String> {
    let mut child = Command::new(tool.program())
        .args(["run", "--rm", "--interactive", "--network=none", image])
        .args(["bash", "-s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", tool.program()))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .with_context(|| format!("cannot send the verification script to {image}"))?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "the verification script failed in {image} ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::{expand, ValueMask};
    use crate::render::Renderer;

    fn plan_of(ids: &[&str]) -> VerifyPlan {
        let m = Matrix::builtin().unwrap();
        let cells: Vec<Cell> = expand(&m, &ValueMask::all(&m))
            .unwrap()
            .into_iter()
            .filter(|c| ids.contains(&c.id.as_str()))
            .collect();
        assert_eq!(cells.len(), ids.len());
        let scripts = Renderer::builtin().unwrap().render_all(&m, &cells).unwrap();
        plan(&m, &cells, &scripts).unwrap()
    }

    const CLANG_PRE: &str = "amd64-u24.04-py3.12.4-clang-asan-shared-pre-debug";
    const GCC: &str = "amd64-u24.04-py3.12.4-gcc-debug";

    #[test]
    fn probes_are_shared_and_each_cell_keeps_its_own() {
        let plan = plan_of(&[GCC, CLANG_PRE]);
        let runtime = Probe::Runtime {
            compiler: "clang".into(),
            candidates: vec![
                "libclang_rt.asan.so".into(),
                "libclang_rt.asan-x86_64.so".into(),
            ],
        };
        assert!(plan.probes.contains(&runtime), "{:?}", plan.probes);
        assert!(plan.probes.contains(&Probe::Answers("gcc".into())));
        assert!(plan.probes.contains(&Probe::Answers("clang++".into())));
        let sorted = {
            let mut p = plan.probes.clone();
            p.sort();
            p.dedup();
            p
        };
        assert_eq!(plan.probes, sorted);
        let of = |id: &str| -> Vec<&Probe> {
            let (_, indices) = plan.cells.iter().find(|(c, _)| c == id).unwrap();
            indices.iter().map(|&i| &plan.probes[i]).collect()
        };
        assert!(of(CLANG_PRE).contains(&&runtime));
        assert!(!of(GCC).contains(&&runtime));
        assert!(of(GCC).contains(&&Probe::OnPath("make".into())));
        assert!(of(CLANG_PRE).contains(&&Probe::OnPath("make".into())));
    }

    #[test]
    fn the_script_quotes_every_name_and_answers_each_probe_in_bash() {
        let plan = VerifyPlan {
            probes: vec![
                Probe::OnPath("bash".into()),
                Probe::OnPath("no-such-program-$(touch pwned)".into()),
                Probe::Answers("bash".into()),
                Probe::Answers("no-such-compiler".into()),
                Probe::Runtime {
                    compiler: "no-such-cc".into(),
                    candidates: vec!["libx.so".into(), "liby'.so".into()],
                },
            ],
            cells: vec![("c".into(), vec![0, 1, 2, 3, 4]), ("d".into(), vec![0, 2])],
        };
        let text = script(&Templates::builtin(), &plan).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("bash")
            .arg("-c")
            .arg(&text)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(!dir.path().join("pwned").exists());
        let answers = parse_answers(&String::from_utf8_lossy(&output.stdout), 5).unwrap();
        let found: Vec<bool> = answers.iter().map(|a| a.found).collect();
        assert_eq!(found, [true, false, true, false, false]);
        assert!(answers[2].detail.contains("bash"), "{:?}", answers[2]);
        let short = shortfalls(&plan, &answers);
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].cell, "c");
        assert_eq!(short[0].missing.len(), 3);
        assert!(
            short[0].missing[2].starts_with(
                "runtime `libx.so` or `liby'.so` (asked `no-such-cc -print-file-name`"
            ),
            "{:?}",
            short[0].missing
        );
    }

    #[test]
    fn an_unanswered_or_garbled_probe_is_an_error() {
        let err = parse_answers("::verify:: 0 ok /bin/bash\n", 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("probe #1"), "{err}");
        assert!(parse_answers("::verify:: 7 ok x\n", 2).is_err());
        assert!(parse_answers("::verify:: 0 maybe x\n", 1).is_err());
        let answers = parse_answers("noise\n::verify:: 0 missing not on PATH\n", 1).unwrap();
        assert_eq!(
            answers,
            [Answer {
                found: false,
                detail: "not on PATH".into()
            }]
        );
    }
}
