//! A CPython source directory given with `--source VERSION=DIR` (a git checkout or an unpacked
//! tree) as the tarball a cell's script unpacks, and its identity. The script is the one
//! `matrix render` writes, so the directory is not mounted into the cell: it becomes an
//! uncompressed tarball in the source cache whose top directory is `Python-<version>`, as in
//! python.org's, named by its SHA-256 so two trees never share a name.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Every member's time in the tarball: one fixed time, so the same tree makes the same tarball
/// (its SHA-256 is a tree's identity), and make finds nothing older than what it comes from.
/// 2000-01-01: after 1980, the first time a ZIP file can hold (CPython's tests zip sources).
const MEMBER_TIME: &str = "@946684800";

/// What a directory is, and the files of it that make the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// `git:<commit>`, `git:<commit>+dirty`, or `tree` (its tarball's SHA-256 is added when
    /// made).
    pub kind: TreeKind,
    /// Paths relative to the directory, sorted, files and symbolic links only.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeKind {
    Git { commit: String, dirty: bool },
    Plain,
}

impl Tree {
    /// The source identity, given the SHA-256 of the tarball made of it.
    pub fn identity(&self, tarball_sha256: &str) -> String {
        match &self.kind {
            TreeKind::Git { commit, dirty } if *dirty => format!("git:{commit}+dirty"),
            TreeKind::Git { commit, .. } => format!("git:{commit}"),
            TreeKind::Plain => format!("tree:{tarball_sha256}"),
        }
    }
}

/// Reads `dir`: a git checkout (its top directory) gives its tracked and untracked files that
/// git does not ignore, as they are in the working tree, so build outputs stay out and `+dirty`
/// says the tarball differs from the commit; any other directory gives every file but `.git`,
/// and is refused when it was configured in place (its build outputs cannot be told apart;
/// CPython's own configure refuses such a tree too). `what` names the flag and value.
pub fn read(dir: &Path, what: &str) -> Result<Tree> {
    if !dir.join("configure").is_file() {
        bail!(
            "{what}: {} has no `configure`: give the top directory of a CPython checkout or \
             unpacked source tree",
            dir.display()
        );
    }
    if let Some(commit) = git_top_commit(dir)? {
        let dirty = !git(dir, &["status", "--porcelain", "--untracked-files=normal"])?
            .trim()
            .is_empty();
        let listed = git(
            dir,
            &[
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
        )?;
        let mut files: Vec<PathBuf> = listed
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            // A tracked file deleted in the working tree is not part of it.
            .filter(|p| fs::symlink_metadata(dir.join(p)).is_ok_and(|m| !m.is_dir()))
            .collect();
        files.sort();
        files.dedup();
        return Ok(Tree {
            kind: TreeKind::Git { commit, dirty },
            files,
        });
    }
    for built in ["config.status", "Makefile", "pyconfig.h"] {
        if dir.join(built).exists() {
            bail!(
                "{what}: {} was configured in place (it has {built}), and outside a git \
                 checkout its build outputs cannot be left out: give a clean tree (`make \
                 distclean`) or a git checkout",
                dir.display()
            );
        }
    }
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files)?;
    files.sort();
    Ok(Tree {
        kind: TreeKind::Plain,
        files,
    })
}

/// The commit of `dir` when it is the top directory of a git checkout (not merely inside one).
fn git_top_commit(dir: &Path) -> Result<Option<String>> {
    if !dir.join(".git").exists() {
        return Ok(None);
    }
    let commit = git(dir, &["rev-parse", "--verify", "HEAD"])?;
    Ok(Some(commit.trim().to_string()))
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .with_context(|| format!("cannot run git in {}", dir.display()))?;
    if !output.status.success() {
        bail!(
            "`git {}` in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Every file and symbolic link under `root/relative`, but `.git`.
fn walk(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let here = root.join(relative);
    let entries = fs::read_dir(&here).with_context(|| format!("cannot read {}", here.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", here.display()))?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let path = relative.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() || kind.is_symlink() {
            out.push(path);
        }
    }
    Ok(())
}

/// Writes `tree`'s files of `dir` to `tarball` as an uncompressed tar under `Python-<version>/`,
/// the same bytes for the same files (names sorted, one time, owner 0).
pub fn write_tarball(dir: &Path, tree: &Tree, version: &str, tarball: &Path) -> Result<()> {
    let mut list = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    for file in &tree.files {
        list.write_all(file.as_os_str().as_encoded_bytes())?;
        list.write_all(b"\0")?;
    }
    list.flush()?;
    // S, H: the prefix goes on member names, not on where links point.
    let prefix = format!("s,^,Python-{version}/,SH");
    let output = Command::new("tar")
        .arg("--create")
        .arg("--file")
        .arg(tarball)
        .arg("--directory")
        .arg(dir)
        .args([
            "--format=gnu",
            "--no-recursion",
            "--null",
            "--verbatim-files-from",
        ])
        .args(["--owner=0", "--group=0", "--numeric-owner"])
        .arg(format!("--mtime={MEMBER_TIME}"))
        .arg(format!("--transform={prefix}"))
        .arg("--files-from")
        .arg(list.path())
        .output()
        .context("cannot run tar")?;
    if !output.status.success() {
        bail!(
            "cannot make a tarball of {}: tar: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    fn members(tarball: &Path) -> Vec<String> {
        let out = Command::new("tar")
            .arg("-tf")
            .arg(tarball)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_plain_tree_becomes_the_same_tarball_twice_under_python_version() {
        let dir = tree_with(&[("configure", "#!/bin/sh\n"), ("Lib/os.py", "x = 1\n")]);
        let tree = read(dir.path(), "--source main=DIR").unwrap();
        assert_eq!(tree.kind, TreeKind::Plain);
        let out = tempfile::tempdir().unwrap();
        let (a, b) = (out.path().join("a.tar"), out.path().join("b.tar"));
        write_tarball(dir.path(), &tree, "main", &a).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        fs::write(dir.path().join("Lib/os.py"), "x = 1\n").unwrap();
        write_tarball(dir.path(), &tree, "main", &b).unwrap();
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
        assert_eq!(
            members(&a),
            ["Python-main/Lib/os.py", "Python-main/configure"]
        );
    }

    #[test]
    fn a_tree_configured_in_place_or_without_configure_is_refused() {
        let dir = tree_with(&[("configure", ""), ("Makefile", "all:\n")]);
        let err = read(dir.path(), "--source main=X").unwrap_err().to_string();
        assert!(
            err.contains("configured in place (it has Makefile)"),
            "{err}"
        );
        let empty = tree_with(&[("README", "")]);
        let err = read(empty.path(), "--source main=X")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--source main=X: ") && err.contains("no `configure`"));
    }
}
