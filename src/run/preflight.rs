//! What a run checks before any cell starts, so a cell does not fail an hour in for want of a
//! program: on the host, what the cells' scripts use (their compilers answering, their
//! sanitizer runtimes found by `-print-file-name`, the programs they run: the probes of
//! `matrix images verify`, which the caller runs here with [`run_bash`], `images` being a layer
//! beside `run`) and TSan's ASLR precondition; with a container engine, that each cell's image
//! is there. Every missing piece is reported at once.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::cell::Cell;
use crate::definition::Matrix;
use crate::engine::Engine;
use crate::plan::BuildPlan;

/// Where ASLR leaves TSan room: above this many bits of mmap randomness, TSan's runtime (before
/// LLVM 18) dies at start-up unless the process runs without ASLR (`setarch -R`).
const TSAN_MMAP_RND_BITS: u32 = 28;

/// What is missing, each with the cells that need it.
pub type Missing = BTreeMap<String, Vec<String>>;

/// The selected cells and their images (in the same order).
pub struct Preflight<'a> {
    pub matrix: &'a Matrix,
    pub cells: &'a [Cell],
    /// Each cell's image (container engines only).
    pub images: &'a [std::sync::Arc<str>],
}

impl Preflight<'_> {
    /// Checks what `engine` needs for the cells, on the host with `host_programs` (what the
    /// scripts run and find); one error listing every missing piece, each with its cells.
    pub fn check(
        &self,
        engine: &Engine,
        host_programs: impl FnOnce() -> Result<Missing>,
    ) -> Result<()> {
        let missing = match engine {
            Engine::Host => {
                let mut missing = host_programs()?;
                missing.extend(self.tsan_aslr()?);
                missing
            }
            Engine::Container(_) => self.images(engine),
        };
        if missing.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = missing
            .iter()
            .map(|(what, cells)| format!("  {what}; needed by {}", cell_list(cells)))
            .collect();
        bail!(
            "preflight ({}): {} thing(s) the cells need are missing, so no cell was started:\n{}",
            engine.name(),
            missing.len(),
            lines.join("\n")
        )
    }

    /// TSan's ASLR precondition: a cell whose wrap disables ASLR (`setarch -R`) needs that to
    /// work here; one without needs `vm.mmap_rnd_bits` low enough.
    fn tsan_aslr(&self) -> Result<Missing> {
        let mut missing = Missing::new();
        let rnd_bits = std::fs::read_to_string("/proc/sys/vm/mmap_rnd_bits")
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok());
        for cell in self.cells {
            let plan = BuildPlan::for_cell(self.matrix, cell)?;
            // The definition's flags, or CPython's own configure option (cpython-ci's cells).
            let tsan = (plan.compile_flags.iter()).any(|f| f == "-fsanitize=thread")
                || (plan.configure_args.iter()).any(|a| a == "--with-thread-sanitizer");
            if !tsan {
                continue;
            }
            let problem = if plan.wrap.is_empty() {
                rnd_bits.filter(|&b| b > TSAN_MMAP_RND_BITS).map(|bits| {
                    format!(
                        "TSan's ASLR precondition (vm.mmap_rnd_bits is {bits}, above \
                         {TSAN_MMAP_RND_BITS}, and the cell has no `wrap` such as [setarch, -R]; \
                         `sudo sysctl -w vm.mmap_rnd_bits={TSAN_MMAP_RND_BITS}`)"
                    )
                })
            } else {
                wrap_works(&plan.wrap).err().map(|why| {
                    format!(
                        "TSan's ASLR precondition (`{} true` fails here: {why})",
                        plan.wrap.join(" ")
                    )
                })
            };
            if let Some(problem) = problem {
                missing.entry(problem).or_default().push(cell.id.clone());
            }
        }
        Ok(missing)
    }

    /// Each distinct image present in the engine.
    fn images(&self, engine: &Engine) -> Missing {
        // Cells by number: only a missing image's cells are named.
        let mut by_image: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (c, image) in self.images.iter().enumerate() {
            by_image.entry(image).or_default().push(c);
        }
        let mut missing = BTreeMap::new();
        for (image, cells) in by_image {
            if let Err(why) = engine.has_image(image) {
                let ids = cells.iter().map(|&c| self.cells[c].id.clone()).collect();
                missing.insert(why, ids);
            }
        }
        missing
    }
}

/// At most a few cells by name: a missing compiler can be every cell's.
fn cell_list(cells: &[String]) -> String {
    const SHOWN: usize = 3;
    let named = cells[..cells.len().min(SHOWN)].join(", ");
    match cells.len() {
        n if n <= SHOWN => format!("cell(s) {named}"),
        n => format!("{n} cells ({named}, ...)"),
    }
}

/// Runs the cell's wrap around `true`: whether it can do here what it does in the cell.
fn wrap_works(wrap: &[String]) -> Result<(), String> {
    let output = Command::new(&wrap[0])
        .args(&wrap[1..])
        .arg("true")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", wrap[0]))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// How long the host's probes may take: a compiler that hangs must not hang the run.
const PROBE_SECONDS: u32 = 120;

/// Runs `script` with `bash -s` here (under coreutils' `timeout`) and returns what it printed.
pub fn run_bash(script: &str) -> Result<String> {
    let mut child = Command::new("timeout")
        .args(["-k", "5", &PROBE_SECONDS.to_string(), "bash", "-s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run `timeout ... bash` (coreutils, bash) for the preflight checks")?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .context("cannot send the preflight script to bash")?;
    let output = child.wait_with_output()?;
    if output.status.code() == Some(124) || output.status.code() == Some(137) {
        bail!(
            "preflight (host): the checks gave no answer in {PROBE_SECONDS}s (a compiler that \
             hangs?); what they printed:\n{}",
            String::from_utf8_lossy(&output.stdout).trim()
        );
    }
    if !output.status.success() {
        bail!(
            "the preflight script failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_cells_are_counted_and_a_few_named() {
        let cells: Vec<String> = (1..=5).map(|i| format!("c{i}")).collect();
        assert_eq!(cell_list(&cells[..2]), "cell(s) c1, c2");
        assert_eq!(cell_list(&cells), "5 cells (c1, c2, c3, ...)");
    }

    #[test]
    fn a_wrap_that_cannot_run_says_why() {
        let err = wrap_works(&["/nonexistent/setarch".into(), "-R".into()]).unwrap_err();
        assert!(err.contains("cannot start `/nonexistent/setarch`"), "{err}");
        assert!(wrap_works(&["env".into()]).is_ok());
    }
}
