//! The source cache shared by every cell: where it is, `--source VERSION=PATH` placing a local
//! tarball or a checkout made into one ([`checkout`]) in it, one download per tarball, and each
//! version's source identity, all before any cell starts. Files appear in the cache only by
//! rename, so no cell sees half a tarball.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use anyhow::{bail, Context, Result};

use super::{checkout, Setting};
use crate::render::SourceView;

/// A local source standing in for a version's download: `VERSION=PATH`, PATH a tarball, a git
/// checkout or an unpacked source tree.
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
                "`{text}` is not VERSION=PATH (e.g. 3.13.5=/srv/Python-3.13.5.tar.xz, or \
                 main=~/cpython for a checkout)"
            )),
        }
    }
}

/// A version's source, ready in the cache before any cell starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Its name in the cache when it is not the definition's tarball (a checkout made into a
    /// tarball, a branch's tarball): the script unpacks it instead, unchecked, as the run
    /// checked it. `None`: the script's own file, checked by the script.
    pub file: Option<String>,
    /// `sha256:<hex>`, `git:<commit>[+dirty]` or `tree:<sha256 of the tarball made of it>`.
    pub id: String,
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

/// Makes every source of `sources` present in `cache` and says what each is: a local file is
/// copied in (after its checksum is checked), a local directory made into a tarball, a missing
/// tarball downloaded once. Everything a flag gets wrong is refused before any of that work.
/// `say` reports each step; `name` names the setting that gives a local source
/// ([`Setting::Source`]).
pub fn prepare(
    cache: &Path,
    sources: &[SourceView],
    local: &[LocalSource],
    name: fn(Setting) -> String,
    say: &dyn Fn(&str),
) -> Result<BTreeMap<String, Prepared>> {
    let by_version: BTreeMap<&str, &SourceView> =
        sources.iter().map(|s| (s.version.as_str(), s)).collect();
    check_local(&by_version, local, name)?;
    fs::create_dir_all(cache)
        .with_context(|| format!("cannot create the source cache {}", cache.display()))?;
    let mut prepared = BTreeMap::new();
    for given in local {
        let source = by_version[given.version.as_str()];
        let what = format!(
            "{} {}={}",
            name(Setting::Source),
            given.version,
            given.path.display()
        );
        let ready = if given.path.is_dir() {
            from_directory(cache, source, &given.path, &what, say)?
        } else {
            from_tarball(cache, source, &given.path, &what, say)?
        };
        prepared.insert(given.version.clone(), ready);
    }
    for source in by_version.values() {
        if !prepared.contains_key(&source.version) {
            let ready = download(cache, source, name, say)?;
            prepared.insert(source.version.clone(), ready);
        }
    }
    Ok(prepared)
}

/// Every `--source` names a selected version and a file or directory; every selected branch
/// has one. All that is wrong is said at once.
fn check_local(
    by_version: &BTreeMap<&str, &SourceView>,
    local: &[LocalSource],
    name: fn(Setting) -> String,
) -> Result<()> {
    let flag = name(Setting::Source);
    let mut wrong = Vec::new();
    for given in local {
        let what = format!("{flag} {}={}", given.version, given.path.display());
        if !by_version.contains_key(given.version.as_str()) {
            wrong.push(format!(
                "{what}: no selected cell builds CPython {} (the selected versions: {})",
                given.version,
                by_version.keys().copied().collect::<Vec<_>>().join(", ")
            ));
        } else if local.iter().filter(|l| l.version == given.version).count() > 1 {
            wrong.push(format!(
                "{what}: {flag} gives {} more than once",
                given.version
            ));
        } else if let Some(why) = unusable(&given.path) {
            wrong.push(format!(
                "{what}: {why} (give a tarball, a git checkout or an unpacked source tree)"
            ));
        }
    }
    for source in by_version.values().filter(|s| s.is_branch()) {
        if !local.iter().any(|l| l.version == source.version) {
            wrong.push(format!(
                "CPython {0} is a branch, which python.org has no tarball of: give its \
                 checkout with {flag} {0}=DIR",
                source.version
            ));
        }
    }
    wrong.dedup();
    match wrong.len() {
        0 => Ok(()),
        1 => bail!("{}", wrong[0]),
        _ => bail!("the sources cannot be used:\n  {}", wrong.join("\n  ")),
    }
}

/// Why `path` cannot be a source, when it cannot: missing, unreadable, or neither a regular
/// file nor a directory (a device or a named pipe would be read forever, or block).
fn unusable(path: &Path) -> Option<String> {
    match fs::metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Some(if fs::symlink_metadata(path).is_ok() {
                "a symbolic link to nothing".to_string()
            } else {
                "no such file or directory".to_string()
            })
        }
        Err(err) => Some(format!("cannot read it: {err}")),
        Ok(meta) if meta.is_file() || meta.is_dir() => None,
        Ok(meta) => Some(format!(
            "{}, not a file or a directory",
            crate::input::kind_of(&meta)
        )),
    }
}

/// A local tarball: checked against the definition's checksum and copied in under the
/// definition's name; a branch's (no checksum, no name of its own) under a name of its SHA-256.
fn from_tarball(
    cache: &Path,
    source: &SourceView,
    path: &Path,
    what: &str,
    say: &dyn Fn(&str),
) -> Result<Prepared> {
    let digest = sha256(path)?;
    if !source.sha256.is_empty() && digest != source.sha256 {
        bail!(
            "{what}: its SHA-256 is {digest}, but the matrix definition gives {} for {}",
            source.sha256,
            source.file
        );
    }
    let file = if source.is_branch() {
        let given = path.file_name().unwrap_or_default().to_string_lossy();
        format!("Python-{}-{}-{given}", source.version, &digest[..16])
    } else {
        source.file.clone()
    };
    let target = cache.join(&file);
    if !(target.is_file() && same_contents(path, &target)?) {
        say(&format!(
            "copying {} into the source cache as {file}",
            path.display()
        ));
        place(cache, &file, |tmp| {
            fs::copy(path, tmp)
                .map(|_| ())
                .with_context(|| format!("cannot copy {}", path.display()))
        })?;
    }
    Ok(Prepared {
        file: source.is_branch().then_some(file),
        id: format!("sha256:{digest}"),
    })
}

/// A checkout or unpacked tree: made into a tarball in the cache ([`checkout`]).
fn from_directory(
    cache: &Path,
    source: &SourceView,
    dir: &Path,
    what: &str,
    say: &dyn Fn(&str),
) -> Result<Prepared> {
    let tree = checkout::read(dir, what)?;
    say(&format!(
        "making a tarball of {} ({} files) in the source cache",
        dir.display(),
        tree.files.len()
    ));
    let tmp = tempfile::Builder::new()
        .prefix(".checkout.tmp-")
        .tempfile_in(cache)
        .with_context(|| format!("cannot create a temporary file in {}", cache.display()))?;
    checkout::write_tarball(dir, &tree, &source.version, tmp.path())?;
    let digest = sha256(tmp.path())?;
    let file = format!("Python-{}-{}.tar", source.version, &digest[..16]);
    tmp.persist(cache.join(&file))
        .with_context(|| format!("cannot write {}", cache.join(&file).display()))?;
    Ok(Prepared {
        file: Some(file),
        id: tree.identity(&digest),
    })
}

/// The definition's tarball, downloaded unless the cache has it.
fn download(
    cache: &Path,
    source: &SourceView,
    name: fn(Setting) -> String,
    say: &dyn Fn(&str),
) -> Result<Prepared> {
    let target = cache.join(&source.file);
    if !fs::metadata(&target).is_ok_and(|m| m.len() > 0) {
        say(&format!("downloading {}", source.url));
        place(cache, &source.file, |tmp| curl(&source.url, tmp)).map_err(|e| {
            anyhow::anyhow!(
                "{e:#}; on a machine without network, give the tarball with {} {}=PATH",
                name(Setting::Source),
                source.version
            )
        })?;
    }
    // The script checks the definition's checksum; without one, the identity is the file's.
    let digest = if source.sha256.is_empty() {
        sha256(&target)?
    } else {
        source.sha256.clone()
    };
    Ok(Prepared {
        file: None,
        id: format!("sha256:{digest}"),
    })
}

fn curl(url: &str, to: &Path) -> Result<()> {
    let status = Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location"])
        .args(["--retry", "3", "--output"])
        .arg(to)
        .arg(url)
        .status()
        .context("cannot run curl to download the sources")?;
    if !status.success() {
        bail!("cannot download {url} (curl {status})");
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

/// Whether two files hold the same bytes, read a block at a time: a source tarball may be
/// gigabytes, which must not all be in memory (twice) to be compared.
fn same_contents(a: &Path, b: &Path) -> Result<bool> {
    let open = |p: &Path| fs::File::open(p).with_context(|| format!("cannot read {}", p.display()));
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    const BLOCK: usize = 1 << 20;
    let (mut ba, mut bb) = (vec![0u8; BLOCK], vec![0u8; BLOCK]);
    loop {
        let n =
            read_full(&mut fa, &mut ba).with_context(|| format!("cannot read {}", a.display()))?;
        let m =
            read_full(&mut fb, &mut bb).with_context(|| format!("cannot read {}", b.display()))?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Fills `buf` from `file` as far as the file goes; returns how much it read.
fn read_full(file: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
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
    fn contents_are_compared_block_by_block() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let mut bytes = vec![7u8; (1 << 20) * 2 + 5];
        fs::write(&a, &bytes).unwrap();
        fs::write(&b, &bytes).unwrap();
        assert!(same_contents(&a, &b).unwrap());
        *bytes.last_mut().unwrap() = 8;
        fs::write(&b, &bytes).unwrap();
        assert!(!same_contents(&a, &b).unwrap());
        fs::write(&b, b"short").unwrap();
        assert!(!same_contents(&a, &b).unwrap());
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
