//! Writing output all at once: a directory of generated files into a temporary directory beside
//! the target, a single file through a temporary file beside it; renamed into place only when
//! every byte is written, so a failure leaves no half-written output and never touches what was
//! there; stdout too large to hold in memory through a [`Spool`].

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub mod spool;

pub use spool::Spool;

/// Present in every directory `matrix` writes; its presence is what allows replacing one.
pub const MARKER_FILE: &str = ".matrix-output";

/// Why a directory was not replaced. Its message names no flag: the caller adds how to choose
/// another directory or to replace it all the same (the command line: `--out`, `--force`).
#[derive(Debug, thiserror::Error)]
pub enum NotReplaced {
    /// It holds an input of the command, or the working directory.
    #[error("{} holds {name} ({}); replacing it would delete that", dir.display(), inside.display())]
    HoldsInput {
        dir: PathBuf,
        name: String,
        inside: PathBuf,
    },
    #[error("{} exists and is not a directory", dir.display())]
    NotADirectory { dir: PathBuf },
    /// Not a directory `matrix` wrote, and not empty; only `force` replaces it.
    #[error("{} exists and was not written by `matrix` (it has no {MARKER_FILE})", dir.display())]
    Foreign { dir: PathBuf },
}

/// A file to write: a name inside the directory, its bytes, and whether it is executable.
pub struct OutputFile<'a> {
    pub name: &'a str,
    pub contents: &'a [u8],
    pub executable: bool,
}

/// Replaces `dir` with exactly `files`. An existing `dir` must be one `matrix` wrote (it holds
/// [`MARKER_FILE`]) unless `force` is given; it may never hold the working directory or one of
/// `keep` (the definition and templates the command read). Writers into one directory take
/// turns (a lock on its parent), and every error path removes what it staged.
pub fn write_dir(
    dir: &Path,
    force: bool,
    what: &str,
    keep: &[(&Path, &str)],
    files: &[OutputFile<'_>],
) -> Result<()> {
    write_dir_with(dir, force, what, keep, |staged| staged.write(files))
}

/// The new directory while it is being filled, before it replaces the old one.
pub struct Staged<'a> {
    path: &'a Path,
    /// The directory being replaced, when there is one.
    previous: Option<&'a Path>,
}

impl Staged<'_> {
    /// Writes `files` into the new directory, on every core. A file the previous output
    /// already holds, byte for byte, is hard-linked from it instead: no data is written now,
    /// and none is freed when the old directory goes.
    pub fn write(&self, files: &[OutputFile<'_>]) -> Result<()> {
        use rayon::prelude::*;
        files.par_iter().try_for_each(|file| {
            if let Some(old) = self.previous.map(|d| d.join(file.name)) {
                if unchanged(&old, file) && fs::hard_link(&old, self.path.join(file.name)).is_ok() {
                    return Ok(());
                }
            }
            write_file(self.path, file.name, file.contents, file.executable)
        })
    }
}

/// [`write_dir`] for output made in parts: `fill` writes the files through [`Staged::write`]
/// as many times as it likes (a part at a time keeps memory bounded by the part), and the
/// directory replaces `dir` only when `fill` succeeds.
pub fn write_dir_with(
    dir: &Path,
    force: bool,
    what: &str,
    keep: &[(&Path, &str)],
    fill: impl FnOnce(&Staged<'_>) -> Result<()>,
) -> Result<()> {
    // `own/.` and `own/sub/..` name directories that cannot be renamed as written.
    let dir = &absolute(dir)?;
    refuse_holding_inputs(dir, keep)?;
    let parent = dir
        .parent()
        .with_context(|| format!("{} does not name a directory", dir.display()))?
        .to_path_buf();
    fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create directory {}", parent.display()))?;
    let _turn = lock_dir(&parent)?;
    let existing = check_replaceable(dir, force)?;
    let base = dir
        .file_name()
        .with_context(|| format!("{} does not name a directory", dir.display()))?
        .to_string_lossy()
        .into_owned();
    // Removed when dropped: on every early return below, nothing staged is left behind.
    let staging = temp_dir_in(&parent, &format!(".{base}.tmp-"))?;
    let _known = Known::new(staging.path());
    let marker = format!("This directory holds {what} written by `matrix`. It is replaced as a whole on the next run.\n");
    write_file(staging.path(), MARKER_FILE, marker.as_bytes(), false)?;
    fill(&Staged {
        path: staging.path(),
        previous: existing.then_some(dir),
    })?;
    swap_in(dir, staging, existing, &parent, &base)
}

/// The staging directories being filled, for [`remove_staged`].
static STAGED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A staging directory in [`STAGED`] while it lives.
struct Known(PathBuf);

impl Known {
    fn new(path: &Path) -> Self {
        let mut staged = STAGED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        staged.push(path.to_path_buf());
        Known(path.to_path_buf())
    }
}

impl Drop for Known {
    fn drop(&mut self) {
        let mut staged = STAGED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        staged.retain(|path| *path != self.0);
    }
}

/// Removes every staging directory being filled: the process is about to end without
/// unwinding (a render past its memory budget: `memory.rs`), so their guards never
/// run. Another thread may hold the list for an instant; after a few tries it is left.
pub fn remove_staged() {
    for _ in 0..100 {
        if let Ok(staged) = STAGED.try_lock() {
            for path in staged.iter() {
                let _ = fs::remove_dir_all(path);
            }
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Refuses to replace `dir` when it holds one of `keep` or the working directory.
fn refuse_holding_inputs(dir: &Path, keep: &[(&Path, &str)]) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let target = identity(dir)?;
    for (inside, name) in keep
        .iter()
        .copied()
        .chain([(cwd.as_path(), "the working directory")])
    {
        if identity(inside)?.starts_with(&target) {
            return Err(NotReplaced::HoldsInput {
                dir: dir.to_path_buf(),
                name: name.to_string(),
                inside: inside.to_path_buf(),
            }
            .into());
        }
    }
    Ok(())
}

/// A temporary directory in `parent` whose name starts with `prefix`, removed when dropped.
fn temp_dir_in(parent: &Path, prefix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                parent.display()
            )
        })
}

/// Puts the filled `staging` directory in place of `dir`: the old directory (if `existing`)
/// moved aside, the new one in, and only then the old one deleted; if the new one cannot be
/// moved in, the old one goes back.
fn swap_in(
    dir: &Path,
    staging: tempfile::TempDir,
    existing: bool,
    parent: &Path,
    base: &str,
) -> Result<()> {
    let holder = if existing {
        let holder = temp_dir_in(parent, &format!(".{base}.old-"))?;
        fs::rename(dir, holder.path().join("old"))
            .with_context(|| format!("cannot move the existing {} aside", dir.display()))?;
        Some(holder)
    } else {
        None
    };
    if let Err(err) = fs::rename(staging.path(), dir) {
        if let Some(holder) = holder {
            if let Err(back) = fs::rename(holder.path().join("old"), dir) {
                let kept = holder.keep();
                return Err(err).with_context(|| {
                    format!(
                        "cannot move the new output to {}, nor the old one back ({back}); \
                         the old one is in {}",
                        dir.display(),
                        kept.display()
                    )
                });
            }
        }
        return Err(err)
            .with_context(|| format!("cannot move the new output to {}", dir.display()));
    }
    // The staging directory is now `dir`: forget it without deleting.
    let _ = staging.keep();
    if let Some(holder) = holder {
        let path = holder.path().to_path_buf();
        holder.close().with_context(|| {
            format!(
                "wrote {}, but cannot remove the old copy {}",
                dir.display(),
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Refuses outputs that would overwrite an input, land inside an input directory (the next
/// run would read them as input), or overwrite each other. Checked before anything is written.
pub fn check_outputs(inputs: &[(&Path, &str)], outputs: &[(&Path, &str)]) -> Result<()> {
    for (i, &(output, what)) in outputs.iter().enumerate() {
        let out = identity(output)?;
        for &(input, input_what) in inputs {
            let inp = identity(input)?;
            if out == inp {
                bail!(
                    "{what} {} is {input_what} {}: choose another path for the {what}",
                    output.display(),
                    input.display()
                );
            }
            if input.is_dir() && out.starts_with(&inp) {
                bail!(
                    "{what} {} is inside {input_what} {}, where the next run would read it as \
                     input: write it elsewhere",
                    output.display(),
                    input.display()
                );
            }
        }
        for &(other, other_what) in &outputs[..i] {
            if identity(other)? == out {
                bail!(
                    "{what} and {other_what} are both {}: give each its own path",
                    output.display()
                );
            }
        }
    }
    Ok(())
}

/// Whether `dir` is or holds `path` (symlinks resolved): writing into `dir` may touch it.
pub fn holds(dir: &Path, path: &Path) -> Result<bool> {
    Ok(identity(path)?.starts_with(identity(dir)?))
}

/// `path` made absolute and free of `.` and `..` without following symlinks (`..` drops the
/// component before it, as the shell's `cd` does).
fn absolute(path: &Path) -> Result<PathBuf> {
    use std::path::Component;
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let mut out = PathBuf::new();
    for part in cwd.join(path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Where `path` really is: symlinks resolved for the part that exists, the rest appended, so a
/// file and a link to it, or `x` and `./x`, compare equal.
fn identity(path: &Path) -> Result<PathBuf> {
    let absolute = absolute(path)?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return Ok(rest.iter().rev().fold(real, |acc, part| acc.join(part)));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return Ok(absolute),
        }
    }
}

/// An exclusive lock on `dir`, held until dropped: concurrent writers into one directory take
/// turns instead of racing to rename.
fn lock_dir(dir: &Path) -> Result<fs::File> {
    use std::os::unix::io::AsRawFd;
    let handle = fs::File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    // SAFETY: flock on a file descriptor this function owns; no memory is involved.
    if unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot lock {}", dir.display()));
    }
    Ok(handle)
}

/// Writes `contents` to `path` through a temporary file beside it, so a failure leaves no
/// half-written file. A symlink is written through (its target gets the contents, the link
/// stays); anything but a regular file (a device, a FIFO, a directory) is refused.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| Ok(file.write_all(contents)?))
}

/// [`write_atomic`] with the contents written by `write` into the temporary file (buffered),
/// so a large file is never whole in memory.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let resolved = resolve_links(path)?;
    let path = resolved.as_path();
    if let Ok(meta) = fs::metadata(path) {
        if !meta.is_file() {
            bail!(
                "{} is {}; `matrix` writes only regular files: choose another path",
                path.display(),
                crate::input::kind_of(&meta)
            );
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A new file gets 0666 less the umask (0644 usually), not the temporary file's 0600; an
    // existing file keeps its mode.
    let existing = fs::metadata(path).ok().map(|m| m.permissions());
    let mut tmp = tempfile::Builder::new()
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    if let Some(mode) = existing {
        tmp.as_file()
            .set_permissions(mode)
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    }
    let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
    write(&mut buffered)
        .and_then(|()| Ok(buffered.flush()?))
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(buffered);
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The file a chain of symlinks ends at (which need not exist yet); `path` itself when it is
/// not a link.
fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::read_link(&current) {
            Ok(target) => {
                current = match current.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                }
            }
            Err(_) => return Ok(current),
        }
    }
    bail!("{} is a loop of symbolic links", path.display())
}

/// Whether `dir` exists and may be replaced.
fn check_replaceable(dir: &Path, force: bool) -> Result<bool> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err).with_context(|| format!("cannot inspect {}", dir.display())),
    };
    if !meta.is_dir() {
        return Err(NotReplaced::NotADirectory {
            dir: dir.to_path_buf(),
        }
        .into());
    }
    if !force && !dir.join(MARKER_FILE).exists() {
        let empty = fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_none();
        if !empty {
            return Err(NotReplaced::Foreign {
                dir: dir.to_path_buf(),
            }
            .into());
        }
    }
    Ok(true)
}

/// Whether `old` is a plain file with exactly the contents and executable bit of `file`.
fn unchanged(old: &Path, file: &OutputFile<'_>) -> bool {
    let Ok(meta) = fs::symlink_metadata(old) else {
        return false;
    };
    let executable = meta.permissions().mode() & 0o111 != 0;
    meta.is_file()
        && meta.len() == file.contents.len() as u64
        && executable == file.executable
        && fs::read(old).is_ok_and(|bytes| bytes == file.contents)
}

fn write_file(dir: &Path, name: &str, contents: &[u8], executable: bool) -> Result<()> {
    let path = dir.join(name);
    let mut file =
        fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if executable {
        file.set_permissions(fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str) -> Vec<OutputFile<'_>> {
        vec![OutputFile {
            name,
            contents: b"x",
            executable: true,
        }]
    }

    #[test]
    fn replaces_its_own_output_and_refuses_foreign_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        write_dir(&out, false, "t", &[], &one("a.sh")).unwrap();
        write_dir(&out, false, "t", &[], &one("b.sh")).unwrap();
        assert!(!out.join("a.sh").exists() && out.join("b.sh").exists());
        let mode = fs::metadata(out.join("b.sh")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);

        let foreign = tmp.path().join("mine");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("notes.txt"), "keep me").unwrap();
        let err = write_dir(&foreign, false, "t", &[], &one("a.sh"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("was not written by `matrix`"), "{err}");
        assert_eq!(
            fs::read_to_string(foreign.join("notes.txt")).unwrap(),
            "keep me"
        );
        write_dir(&foreign, true, "t", &[], &one("a.sh")).unwrap();
        assert!(!foreign.join("notes.txt").exists());
        // Nothing but the outputs is left beside them.
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn unchanged_files_are_carried_over_and_changed_ones_rewritten() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let files = |b: &'static [u8]| {
            vec![
                OutputFile {
                    name: "same.sh",
                    contents: b"same",
                    executable: true,
                },
                OutputFile {
                    name: "new.sh",
                    contents: b,
                    executable: true,
                },
            ]
        };
        write_dir(&out, false, "t", &[], &files(b"one")).unwrap();
        let inode = fs::metadata(out.join("same.sh")).unwrap().ino();
        write_dir(&out, false, "t", &[], &files(b"two")).unwrap();
        assert_eq!(
            fs::metadata(out.join("same.sh")).unwrap().ino(),
            inode,
            "not carried over"
        );
        assert_eq!(fs::read(out.join("same.sh")).unwrap(), b"same");
        assert_eq!(fs::read(out.join("new.sh")).unwrap(), b"two");
        // A file edited by hand in the output is not trusted: it is rewritten.
        fs::write(out.join("same.sh"), b"edited").unwrap();
        write_dir(&out, false, "t", &[], &files(b"two")).unwrap();
        assert_eq!(fs::read(out.join("same.sh")).unwrap(), b"same");
    }

    #[test]
    fn a_failed_write_leaves_no_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        write_dir(&out, false, "t", &[], &one("a.sh")).unwrap();
        let bad = vec![OutputFile {
            name: "no/such/dir/x",
            contents: b"",
            executable: false,
        }];
        assert!(write_dir(&out, false, "t", &[], &bad).is_err());
        assert!(out.join("a.sh").exists());
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out"]);
    }
}
