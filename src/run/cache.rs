//! The source cache shared by every cell: where it is, `--source VERSION=PATH` placing a local
//! tarball in it, and one download per tarball before any cell starts. Files appear in the
//! cache only by rename, so no cell sees half a tarball.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use anyhow::{bail, Context, Result};

use super::Setting;
use crate::render::SourceView;

/// A local tarball standing in for a version's download: `VERSION=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSource {
    pub version: String,
    pub path: PathBuf,
}

impl FromStr for LocalSource {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once('=') {
            Some((version, path)) if !version.is_empty() && !path.is_empty() => Ok(LocalSource {
                version: version.to_string(),
                path: PathBuf::from(path),
            }),
            _ => Err(format!(
                "`{text}` is not VERSION=PATH (e.g. 3.13.5=/srv/Python-3.13.5.tar.xz)"
            )),
        }
    }
}

/// `$XDG_CACHE_HOME/matrix/sources`, else `~/.cache/matrix/sources`: the source cache when the
/// caller gives none; `name` names the setting that gives one.
pub fn default_cache_dir(name: fn(Setting) -> String) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("matrix/sources"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache/matrix/sources")),
        None => {
            bail!(
                "neither XDG_CACHE_HOME nor HOME is set: give the source cache with {} DIR",
                name(Setting::Cache)
            )
        }
    }
}

/// Makes every source of `sources` present in `cache`: a local file is copied in (after its
/// checksum is checked), a missing tarball is downloaded once. `say` reports each step; `name`
/// names the setting that gives a local file ([`Setting::Source`]).
pub fn prepare(
    cache: &Path,
    sources: &[SourceView],
    local: &[LocalSource],
    name: fn(Setting) -> String,
    say: &dyn Fn(&str),
) -> Result<()> {
    fs::create_dir_all(cache)
        .with_context(|| format!("cannot create the source cache {}", cache.display()))?;
    let by_version: BTreeMap<&str, &SourceView> =
        sources.iter().map(|s| (s.version.as_str(), s)).collect();
    let flag = name(Setting::Source);
    for given in local {
        let Some(source) = by_version.get(given.version.as_str()) else {
            bail!(
                "{flag} {}={}: no selected cell builds CPython {} (the selected versions: {})",
                given.version,
                given.path.display(),
                given.version,
                by_version.keys().copied().collect::<Vec<_>>().join(", ")
            );
        };
        if !given.path.is_file() {
            bail!(
                "{flag} {}={}: no such file",
                given.version,
                given.path.display()
            );
        }
        if !source.sha256.is_empty() {
            let digest = sha256(&given.path)?;
            if digest != source.sha256 {
                bail!(
                    "{flag} {}={}: its SHA-256 is {digest}, but the matrix definition gives \
                     {} for {}",
                    given.version,
                    given.path.display(),
                    source.sha256,
                    source.file
                );
            }
        }
        let target = cache.join(&source.file);
        if target.is_file() && same_contents(&given.path, &target)? {
            continue;
        }
        say(&format!(
            "copying {} into the source cache as {}",
            given.path.display(),
            source.file
        ));
        place(cache, &source.file, |tmp| {
            fs::copy(&given.path, tmp)
                .map(|_| ())
                .with_context(|| format!("cannot copy {}", given.path.display()))
        })?;
    }
    for source in by_version.values() {
        let given = local.iter().any(|l| l.version == source.version);
        let target = cache.join(&source.file);
        if given || fs::metadata(&target).is_ok_and(|m| m.len() > 0) {
            continue;
        }
        say(&format!("downloading {}", source.url));
        place(cache, &source.file, |tmp| {
            let status = Command::new("curl")
                .args([
                    "--fail",
                    "--silent",
                    "--show-error",
                    "--location",
                    "--retry",
                    "3",
                ])
                .arg("--output")
                .arg(tmp)
                .arg(&source.url)
                .status()
                .context("cannot run curl to download the sources")?;
            if !status.success() {
                bail!(
                    "cannot download {} (curl {status}); on a machine without network, give the \
                     tarball with {flag} {}=PATH",
                    source.url,
                    source.version
                );
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Writes `name` in `dir` through a temporary file beside it and a rename.
fn place(dir: &Path, name: &str, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    write(tmp.path())?;
    tmp.persist(dir.join(name))
        .with_context(|| format!("cannot write {}", dir.join(name).display()))?;
    Ok(())
}

/// The file's SHA-256 in hex, from coreutils' `sha256sum` (the program the scripts check with).
fn sha256(path: &Path) -> Result<String> {
    let output = Command::new("sha256sum")
        .arg("--")
        .arg(path)
        .output()
        .context("cannot run sha256sum")?;
    if !output.status.success() {
        bail!(
            "sha256sum {}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string())
}

fn same_contents(a: &Path, b: &Path) -> Result<bool> {
    let (ma, mb) = (fs::metadata(a)?, fs::metadata(b)?);
    if ma.len() != mb.len() {
        return Ok(false);
    }
    Ok(fs::read(a)? == fs::read(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(version: &str, sha256: &str) -> SourceView {
        SourceView {
            version: version.into(),
            url: format!("file:///nowhere/Python-{version}.tgz"),
            file: format!("Python-{version}.tgz"),
            sha256: sha256.into(),
        }
    }

    #[test]
    fn source_flags_parse_and_name_what_is_wrong() {
        let s: LocalSource = "3.13.5=/x/Python-3.13.5.tar.xz".parse().unwrap();
        assert_eq!(s.version, "3.13.5");
        assert!("3.13.5"
            .parse::<LocalSource>()
            .unwrap_err()
            .contains("VERSION=PATH"));
    }

    #[test]
    fn a_local_tarball_is_checked_and_copied_in() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("local.tgz");
        fs::write(&file, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let cache = tmp.path().join("cache");
        let local = [LocalSource {
            version: "3.13.5".into(),
            path: file.clone(),
        }];
        prepare(
            &cache,
            &[source("3.13.5", abc)],
            &local,
            Setting::plain,
            &|_| {},
        )
        .unwrap();
        assert_eq!(fs::read(cache.join("Python-3.13.5.tgz")).unwrap(), b"abc");

        let wrong = "0".repeat(64);
        let err = prepare(
            &cache,
            &[source("3.13.5", &wrong)],
            &local,
            Setting::plain,
            &|_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(abc) && err.contains(&wrong), "{err}");

        let other = [LocalSource {
            version: "3.12.4".into(),
            path: file,
        }];
        let err = prepare(
            &cache,
            &[source("3.13.5", "")],
            &other,
            Setting::plain,
            &|_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("`source` 3.12.4=")
                && err.contains("no selected cell builds CPython 3.12.4"),
            "{err}"
        );
    }

    #[test]
    fn a_cached_tarball_is_not_downloaded_again() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("Python-3.12.4.tgz"), b"cached").unwrap();
        // The URL cannot be fetched: any download attempt would fail the call.
        prepare(
            tmp.path(),
            &[source("3.12.4", "")],
            &[],
            Setting::plain,
            &|_| {},
        )
        .unwrap();
    }
}
