//! Finding SARIF files under a directory (plain, or inside Argo's `.tgz` artifacts) with the
//! [`crate::artifacts`] reader, telling each file's CPython version and build from its path,
//! and reading them on all cores (rayon).

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use super::model::{self, Diagnostic};
use super::VersionKey;
use crate::artifacts::{self, ArtifactFile, Container, ReadFailure, Warning};

/// One diagnostic as one build reported it.
#[derive(Debug, Clone)]
pub struct Occurrence {
    pub version: VersionKey,
    pub build: String,
    pub diagnostic: Diagnostic,
}

/// What reading a directory gave.
#[derive(Debug, Default)]
pub struct Loaded {
    pub occurrences: Vec<Occurrence>,
    /// SARIF files read, per version, with the build each came from.
    pub files: Vec<(VersionKey, String)>,
    /// Files skipped under `skip_invalid`, each with the reason.
    pub skipped: Vec<String>,
    /// What the directory walk skipped (unreadable corners, links out of the tree).
    pub warnings: Vec<Warning>,
}

/// A directory under the SARIF directory that cannot be read, while nothing may be skipped:
/// its files would be left out of the counts. The caller says how to skip it instead (the
/// command line: `--skip-invalid`).
#[derive(Debug, thiserror::Error)]
#[error("{} (fix its permissions, or skip it with a warning)", self.problem())]
pub struct Unreadable {
    pub path: PathBuf,
    pub reason: String,
}

impl Unreadable {
    /// What is wrong, without what to do.
    pub fn problem(&self) -> String {
        format!(
            "cannot read {}: {}; its SARIF files would be left out of the counts",
            self.path.display(),
            self.reason
        )
    }
}

/// Reads every SARIF file under `dir` (through [`crate::artifacts`], under its symlink policy).
/// A file that is not valid SARIF is an error naming it and the JSON position (a silently
/// skipped file would change the counts) unless `skip_invalid`, which turns it into an entry
/// of [`Loaded::skipped`]; so is a directory under `dir` that cannot be read (with
/// `skip_invalid`, a warning of the walk).
pub fn load(dir: &Path, skip_invalid: bool) -> Result<Loaded> {
    let meta = fs::metadata(dir)
        .with_context(|| format!("cannot read SARIF directory {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    // The directory's own components count for the version (`matrix sarif .../Python-3.12.4`).
    let base: Vec<String> = fs::canonicalize(dir)
        .with_context(|| format!("cannot resolve {}", dir.display()))?
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let walk = artifacts::walk(dir, |name| {
        matches!(
            Container::of(name),
            (Container::Plain, n) if n.ends_with(".sarif")
        ) || Container::of(name).0 == Container::TarGz
    })?;
    // A directory that cannot be read would leave its files out of the counts unnoticed.
    if let (false, Some(first)) = (skip_invalid, walk.unreadable.first()) {
        return Err(Unreadable {
            path: dir.join(&first.what),
            reason: first.reason.to_string(),
        }
        .into());
    }
    if walk.files.is_empty() {
        let skipped: String = walk.warnings.iter().map(|w| format!("; {w}")).collect();
        bail!(
            "no SARIF files under {}: expected *.sarif files below a Python-<version> directory \
             (e.g. build_001/sarif-data/src/Python-3.12.4/x.c.sarif), or Argo artifacts \
             (*.tgz, *.tar.gz) holding them{skipped}",
            dir.display()
        );
    }
    // Each source on any core; `collect` keeps the sources' order, so the first error
    // reported is the same on every run.
    let results: Vec<_> = walk
        .files
        .par_iter()
        .map(|file| read_source(&base, file))
        .collect();
    let mut loaded = Loaded {
        warnings: walk.warnings,
        ..Loaded::default()
    };
    for result in results {
        for item in result {
            match item {
                Ok((file, occurrences)) => {
                    loaded.files.push(file);
                    loaded.occurrences.extend(occurrences);
                }
                Err(err) if skip_invalid => loaded.skipped.push(format!("{err:#}")),
                Err(err) => return Err(err),
            }
        }
    }
    if loaded.files.is_empty() && loaded.skipped.is_empty() {
        bail!(
            "no SARIF files under {}: the archives found there hold no *.sarif files",
            dir.display()
        );
    }
    Ok(loaded)
}

type FileResult = Result<((VersionKey, String), Vec<Occurrence>)>;

/// Reads one file: one result per SARIF file in it (for a corrupt archive, a last error).
fn read_source(base: &[String], file: &ArtifactFile) -> Vec<FileResult> {
    let rel: Vec<String> = file.rel.split('/').map(str::to_owned).collect();
    let mut results = Vec::new();
    let want = |member: &str| member.ends_with(".sarif");
    let members = artifacts::read_members(file, &want, &mut |member, reader| {
        let (virtual_rel, display) = match member {
            None => (rel.clone(), file.path.display().to_string()),
            Some(member) => {
                // The archive stands for the directory it was made from, in its parent
                // directory: `wf/pod/sarif-data.tgz` holding `sarif-data/src/...` reads as
                // `wf/pod/sarif-data/src/...`.
                let mut v = rel[..rel.len() - 1].to_vec();
                v.extend(Path::new(member).components().filter_map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                }));
                (v, format!("{} (member {member})", file.path.display()))
            }
        };
        let mut bytes = Vec::new();
        // Parsed whole, so bounded: a SARIF file of one C file is kilobytes, and JSON takes
        // several times its size in memory.
        let result = (&mut *reader)
            .take(MAX_SARIF_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {display}"))
            .and_then(|read| {
                if read as u64 > MAX_SARIF_BYTES {
                    bail!(
                        "{display}: larger than {} MiB, the most `matrix` reads of one SARIF file",
                        MAX_SARIF_BYTES >> 20
                    );
                }
                parse_file(&bytes, base, &virtual_rel, &display)
            });
        results.push(result);
    });
    // A corrupt archive is one more unreadable input: an error, or with `skip_invalid` a
    // warning, after the files read from it before the fault.
    for failure in members.failures {
        results.push(Err(match failure {
            ReadFailure::Open(err) => {
                anyhow::Error::new(err).context(format!("cannot read {}", file.path.display()))
            }
            other => anyhow::anyhow!(
                "{}: not a gzip-compressed tar archive ({other})",
                file.path.display()
            ),
        }));
    }
    results
}

/// The largest SARIF file read (after decompression).
const MAX_SARIF_BYTES: u64 = 64 << 20;

fn parse_file(bytes: &[u8], base: &[String], rel: &[String], display: &str) -> FileResult {
    // Some Windows tools write a byte-order mark; JSON parsers refuse it.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (version, build) = classify(base, rel).with_context(|| {
        format!(
            "{display}: cannot tell the CPython version: no Python-<version> directory \
             (like Python-3.12.4) in its path"
        )
    })?;
    let diagnostics = model::parse(bytes).with_context(|| format!("{display}: not valid SARIF"))?;
    let occurrences = diagnostics
        .into_iter()
        .map(|diagnostic| Occurrence {
            version: version.clone(),
            build: build.clone(),
            diagnostic,
        })
        .collect();
    Ok(((version, build), occurrences))
}

/// The CPython version and build of a file from its path: the version is the nearest
/// `Python-<version>` directory above the file (in `rel`, else in the scanned directory's own
/// path `base`); the build is the path below the scanned directory up to that component,
/// without the `src` and `sarif-data` directories the build scripts put in between
/// (`build_004/sarif-data/src/Python-3.13.0b4/x.sarif` → `build_004`; Argo's
/// `wf/pod/sarif-data/...` → `wf/pod`).
pub fn classify(base: &[String], rel: &[String]) -> Option<(VersionKey, String)> {
    let dirs = &rel[..rel.len().saturating_sub(1)];
    let version_of = |name: &String| {
        name.strip_prefix("Python-")
            .and_then(|v| v.parse().ok().map(|version| VersionKey::new(version, v)))
    };
    if let Some((i, version)) = dirs
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, d)| version_of(d).map(|v| (i, v)))
    {
        let mut build = &dirs[..i];
        if build.last().is_some_and(|d| d == "src") {
            build = &build[..build.len() - 1];
        }
        if build.last().is_some_and(|d| d == "sarif-data") {
            build = &build[..build.len() - 1];
        }
        let build = if build.is_empty() {
            ".".to_string()
        } else {
            build.join("/")
        };
        return Some((version, build));
    }
    let version = base.iter().rev().find_map(version_of)?;
    Some((version, ".".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> Vec<String> {
        path.split('/').map(str::to_string).collect()
    }

    fn classified(base: &str, rel: &str) -> Option<(String, String)> {
        classify(&parts(base), &parts(rel)).map(|(v, b)| (v.text, b))
    }

    #[test]
    fn version_and_build_from_the_corpus_layout() {
        assert_eq!(
            classified(
                "tmp/data",
                "build_004/sarif-data/src/Python-3.13.0b4/a.c.sarif"
            ),
            Some(("3.13.0b4".into(), "build_004".into()))
        );
    }

    #[test]
    fn version_and_build_from_argo_and_script_layouts() {
        assert_eq!(
            classified(
                "x",
                "wf-abc/wf-abc-123/sarif-data/src/Python-3.14.0/Modules/a.sarif"
            ),
            Some(("3.14.0".into(), "wf-abc/wf-abc-123".into()))
        );
        assert_eq!(
            classified("x", "cell-1/src/Python-3.12.4/a.sarif"),
            Some(("3.12.4".into(), "cell-1".into()))
        );
    }

    #[test]
    fn version_from_the_scanned_directory_itself() {
        assert_eq!(
            classified("b/sarif-data/src/Python-3.12.4", "a.c.sarif"),
            Some(("3.12.4".into(), ".".into()))
        );
        assert_eq!(classified("b/sarif-data/src", "a.c.sarif"), None);
        // A file named like a version directory is not one.
        assert_eq!(classified("b", "Python-3.12.4"), None);
        assert_eq!(classified("b", "Python-latest/a.sarif"), None);
    }
}
