//! `matrix completions SHELL`: the shell's registration, and the completions it asks `matrix` for
//! (axes, values and cell ids of the definition in use).

use std::ffi::OsStr;

use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_complete::engine::CompletionCandidate;
use clap_complete::Shell;

use super::Cli;
use crate::definition::ID_AXIS;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: Shell,
}

/// The shell's registration script: it asks `matrix` itself (`COMPLETE=SHELL matrix -- …`)
/// for each completion, so values come from the definition in use, not from when the script
/// was written.
pub fn run(args: &CompletionsArgs) -> Result<Vec<u8>> {
    let name = args.shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let shell = shells
        .completer(&name)
        .ok_or_else(|| anyhow::anyhow!("no completion support for {name}"))?;
    let mut out = Vec::new();
    shell.write_registration(COMPLETE_VAR, "matrix", "matrix", "matrix", &mut out)?;
    Ok(out)
}

/// The variable the registration script sets when it asks for completions.
const COMPLETE_VAR: &str = "COMPLETE";

/// The completer of every `--only`/`--except`.
pub fn selection_completer() -> clap_complete::engine::ArgValueCompleter {
    clap_complete::engine::ArgValueCompleter::new(selection_candidates)
}

/// Completes the command line when the shell asks (`COMPLETE=bash matrix -- …`, set up by the
/// script `matrix completions SHELL` prints), then exits; otherwise returns at once.
pub fn complete_from_env() {
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(COMPLETE_VAR)
        .complete();
}

/// The values of `--only`/`--except` as the definition the completed command would load has
/// them (`--config` on the line, else `./matrix.yaml`, else the built-in one): `AXIS=` and
/// `id=` first, then the axis's values, a comma list completed at its last item, and cell ids
/// after `id=`. A definition that does not load completes nothing: the command will say why.
pub fn selection_candidates(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let Ok(matrix) = completed_definition() else {
        return Vec::new();
    };
    let Some((axis, values)) = current.split_once('=') else {
        return (matrix
            .axes
            .iter()
            .map(|a| (a.name.as_str(), a.doc.as_str())))
        .chain([(ID_AXIS, "cells by id, * globs allowed")])
        .filter(|(name, _)| name.starts_with(current))
        .map(|(name, doc)| candidate(format!("{name}="), doc))
        .collect();
    };
    // The items before the last are kept as typed; the last is completed.
    let (done, last) = match values.rfind(',') {
        Some(at) => (&current[..axis.len() + 1 + at + 1], &values[at + 1..]),
        None => (&current[..axis.len() + 1], values),
    };
    let names: Vec<String> = if axis == ID_AXIS {
        crate::expand::expand(&matrix, &crate::expand::ValueMask::all(&matrix))
            .map(|cells| cells.into_iter().map(|c| c.id).collect())
            .unwrap_or_default()
    } else {
        (matrix.axes.iter().find(|a| a.name == axis))
            .map(|a| a.values.iter().map(|v| v.name.clone()).collect())
            .unwrap_or_default()
    };
    names
        .into_iter()
        .filter(|name| name.starts_with(last))
        .map(|name| candidate(format!("{done}{name}"), ""))
        .collect()
}

fn candidate(value: String, help: &str) -> CompletionCandidate {
    let first_line = help.lines().next().unwrap_or_default();
    let candidate = CompletionCandidate::new(value);
    if first_line.is_empty() {
        candidate
    } else {
        candidate.help(Some(first_line.to_owned().into()))
    }
}

/// The definition of the command line being completed: the shell passes it after `--`.
fn completed_definition() -> Result<crate::definition::Matrix> {
    let words: Vec<String> = std::env::args().skip_while(|a| a != "--").collect();
    let config =
        words
            .iter()
            .enumerate()
            .find_map(|(i, word)| match word.strip_prefix("--config") {
                Some("") => words.get(i + 1).cloned(),
                Some(rest) => rest.strip_prefix('=').map(str::to_owned),
                None => None,
            });
    super::load_definition(config.as_deref().map(std::path::Path::new))
}
