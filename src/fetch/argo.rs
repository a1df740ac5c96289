//! The `argo` CLI as the user has it (on PATH, with their kubeconfig or ARGO_SERVER): `get`,
//! `cp` and `logs`, each run with an argument vector, never through a shell.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{bail, Context, Result};

use crate::workflow::build::LABEL_PREFIX;

/// How to call `argo`: the program and the namespace, when one is given.
#[derive(Debug, Clone)]
pub struct Argo {
    pub program: PathBuf,
    pub namespace: Option<String>,
}

impl Argo {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command.args(args);
        if let Some(ns) = &self.namespace {
            command.args(["--namespace", ns]);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        self.command(args).output().with_context(|| {
            format!(
                "cannot run `{}`: install the argo CLI (https://github.com/argoproj/argo-workflows/releases) or put it on PATH",
                self.program.display()
            )
        })
    }

    /// `argo get WORKFLOW -o json`: the Workflow with its node statuses.
    pub fn get(&self, workflow: &str) -> Result<Vec<u8>> {
        let out = self.run(&["get", workflow, "-o", "json"])?;
        if !out.status.success() {
            bail!(
                "`argo get {workflow} -o json` failed ({}): {}; give the name of a Workflow \
                 the argo CLI can see (--namespace, ARGO_SERVER, your kubeconfig)",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }

    /// `argo cp` of one node's output artifact into `dir` (as `dir/<artifact>/<file>`); the
    /// error is argo's message, for the fetch record (a missing artifact is no failure of fetch).
    pub fn copy(&self, workflow: &str, node: &str, artifact: &str, dir: &Path) -> Result<()> {
        let dir = dir
            .to_str()
            .context("the staging directory's path is not UTF-8")?;
        let out = self.run(&[
            "cp",
            workflow,
            dir,
            "--node-id",
            node,
            "--artifact-name",
            artifact,
            "--path",
            "{artifactName}",
        ])?;
        if !out.status.success() {
            bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(())
    }

    /// `argo logs` of a cell's pods (selected by the cell label), `--no-color`: the text of the
    /// lines of the last pod to print (the deciding attempt), without the `pod: ` prefixes.
    /// `None` when argo has nothing (the pod is gone and no archive serves it).
    pub fn logs(&self, workflow: &str, cell: &str) -> Result<Option<Vec<u8>>> {
        let selector = format!("{LABEL_PREFIX}/cell={cell}");
        let out = self.run(&[
            "logs",
            workflow,
            "--selector",
            &selector,
            "--container",
            "main",
            "--no-color",
        ])?;
        if !out.status.success() {
            return Ok(None);
        }
        Ok(last_pod_lines(&out.stdout))
    }
}

/// The lines of the pod that printed the last line, each `pod: text` → `text`.
fn last_pod_lines(output: &[u8]) -> Option<Vec<u8>> {
    let split = |line: &[u8]| -> Option<(Vec<u8>, Vec<u8>)> {
        let at = line.windows(2).position(|w| w == b": ")?;
        Some((line[..at].to_vec(), line[at + 2..].to_vec()))
    };
    let lines: Vec<(Vec<u8>, Vec<u8>)> = output
        .split_inclusive(|&b| b == b'\n')
        .filter_map(split)
        .collect();
    let (last, _) = lines.last()?;
    let last = last.clone();
    Some(
        lines
            .into_iter()
            .filter(|(pod, _)| *pod == last)
            .flat_map(|(_, text)| text)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_pods_lines_are_kept_without_their_prefix() {
        let out = b"wf-build-1: first try\nwf-build-2: second: try\nwf-build-2: done\n";
        assert_eq!(
            last_pod_lines(out).unwrap(),
            b"second: try\ndone\n".to_vec()
        );
        assert_eq!(last_pod_lines(b""), None);
    }
}
