//! What the integration tests share: the binary under test, the project's files, and the
//! optional data and tools some tests need (`../shared/`, shellcheck, hadolint), with one
//! policy for when they are missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use matrix::definition::RawDefinition;

/// The built-in matrix definition, as the binary embeds it.
pub const BUILTIN_DEFINITION: &str = include_str!("../../definition/matrix.yaml");

/// The `matrix` binary under test.
pub fn matrix() -> Command {
    Command::cargo_bin("matrix").unwrap()
}

/// The project's root directory.
pub fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Says that a test did not run its checks, and why. libtest captures `eprintln!` of passing
/// tests, so this writes to the process's stderr directly: the line shows in every `cargo test`
/// run, the way an ignored test would. Under `CI=true` a missing prerequisite is a failure,
/// because `.ci/run` installs every one of them.
pub fn skip(test: &str, reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {reason}, but CI is set: .ci/run must provide it"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// A file or directory under `../shared/` (beside the project), or `None` after [`skip`] when
/// it is not there.
pub fn shared(test: &str, relative: &str) -> Option<PathBuf> {
    let path = project_root().join("../shared").join(relative);
    if path.exists() {
        Some(path)
    } else {
        skip(test, &format!("../shared/{relative} is not present"));
        None
    }
}

/// Argo Workflows' JSON schema from `../shared/argo/`, or `None` after [`skip`].
pub fn argo_schema_path(test: &str) -> Option<PathBuf> {
    shared(test, "argo/schema.json")
}

/// Unpacks `../shared/corpus/<set>.tar.xz` (only `members`, when given) into a temporary
/// directory, or returns `None` after [`skip`].
pub fn corpus(test: &str, set: &str, members: &[&str]) -> Option<tempfile::TempDir> {
    let archive = shared(test, &format!("corpus/{set}.tar.xz"))?;
    let dir = tempfile::tempdir().unwrap();
    let status = Process::new("tar")
        .arg("xJf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .args(members)
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar xJf {} failed", archive.display());
    Some(dir)
}

/// An external program from PATH (or the given extra places), or `None` after [`skip`] with
/// how to install it.
pub fn tool(test: &str, name: &str, install: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = extra.to_vec();
    if let Some(paths) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&paths).map(|p| p.join(name)));
    }
    match candidates.into_iter().find(|p| p.is_file()) {
        Some(path) => Some(path),
        None => {
            skip(test, &format!("{name} is not installed ({install})"));
            None
        }
    }
}

/// The built-in definition with `edit` applied to its types, written to `dir/matrix.yaml`
/// (serialized from the types): for tests that change what the matrix holds.
pub fn edited_definition(dir: &Path, edit: impl FnOnce(&mut RawDefinition)) -> PathBuf {
    let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "test").unwrap();
    edit(&mut raw);
    let path = dir.join("matrix.yaml");
    std::fs::write(&path, serde_yaml::to_string(&raw).unwrap()).unwrap();
    path
}

/// `text` with `from`, which must occur exactly once, replaced by `to`: for tests that edit the
/// definition's text as a user would (typos, comments), and fail loudly when the text they edit
/// is no longer there.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

/// The rows of a CSV output, each a map from column name to value.
pub fn csv_rows(bytes: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}
