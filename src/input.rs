//! Reading whole input files (definitions, indexes, schemas, results, templates): only regular
//! files, never more than a stated size, so `/dev/zero`, a FIFO or a runaway file is a clear error
//! instead of a read that lasts until the machine runs out of memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Size limits, one per kind of input: each far above any real one, far below a machine's memory.
pub mod limit {
    /// A matrix definition (the built-in one is about 20 KB).
    pub const DEFINITION: u64 = 4 << 20;
    /// One template or Dockerfile template.
    pub const TEMPLATE: u64 = 4 << 20;
    /// A JSON schema (Argo's is about 1 MB).
    pub const SCHEMA: u64 = 64 << 20;
    /// A CSV index, results or findings file (100,000 cells are about 30 MB).
    pub const TABLE: u64 = 512 << 20;
}

/// Reads `path`, which must be a regular file (a symlink to one is fine) of at most `limit`
/// bytes; `what` names the input in errors ("matrix definition", "index").
pub fn read_bytes(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    let file = open_regular(path, what)?;
    let mut bytes = Vec::new();
    // One byte past the limit tells a file of exactly `limit` bytes from a longer one, even
    // when the file grows while it is read.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{what} {} is larger than {}, the most `matrix` reads of one {what}",
            path.display(),
            human_size(limit)
        );
    }
    Ok(bytes)
}

/// [`read_bytes`], then UTF-8, with the line and byte offset of the first invalid byte.
pub fn read_text(path: &Path, what: &str, limit: u64) -> Result<String> {
    let bytes = read_bytes(path, what, limit)?;
    String::from_utf8(bytes).map_err(|err| {
        let offset = err.utf8_error().valid_up_to();
        let valid = &err.as_bytes()[..offset];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = offset - valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        anyhow::anyhow!(
            "{what} {}:{line}:{column}: not UTF-8 (byte {:#04x} at offset {offset}); save the file as UTF-8",
            path.display(),
            err.as_bytes()[offset]
        )
    })
}

/// Opens `path` for reading after making sure it is a regular file: opening a FIFO would
/// block, and a device never ends.
pub fn open_regular(path: &Path, what: &str) -> Result<File> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) => {
            if let Ok(target) = std::fs::read_link(path) {
                bail!(
                    "{what} {} is a symbolic link to {}, which cannot be read: {err}",
                    path.display(),
                    target.display()
                );
            }
            return Err(err).with_context(|| format!("cannot read {what} {}", path.display()));
        }
    };
    if !meta.is_file() {
        bail!(
            "{what} {} is {}, not a regular file",
            path.display(),
            kind_of(&meta)
        );
    }
    let file =
        File::open(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    // The path may have been replaced between the check and the open.
    let opened = file
        .metadata()
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if !opened.is_file() {
        bail!(
            "{what} {} is {}, not a regular file",
            path.display(),
            kind_of(&opened)
        );
    }
    Ok(file)
}

/// What a non-regular file is, in words.
pub fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

pub fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_directories_are_refused_by_name() {
        let err = read_bytes(Path::new("/dev/zero"), "index", 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "index /dev/zero is a character device, not a regular file"
        );
        let tmp = tempfile::tempdir().unwrap();
        let err = read_bytes(tmp.path(), "index", 10).unwrap_err().to_string();
        assert!(err.ends_with("is a directory, not a regular file"), "{err}");
        let fifo = tmp.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_bytes(&fifo, "index", 10).unwrap_err().to_string();
        assert!(
            err.ends_with("is a named pipe, not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn the_limit_is_exact_and_names_itself() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        std::fs::write(&path, vec![b'x'; 2 << 20]).unwrap();
        assert_eq!(read_bytes(&path, "index", 2 << 20).unwrap().len(), 2 << 20);
        let err = read_bytes(&path, "index", (2 << 20) - 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("larger than 2097151 bytes"), "{err}");
        let err = read_bytes(&path, "index", 1 << 20).unwrap_err().to_string();
        assert!(
            err.ends_with("is larger than 1 MiB, the most `matrix` reads of one index"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_names_line_column_and_offset() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.yaml");
        std::fs::write(&path, b"axes:\n  - n\xffame\n").unwrap();
        let err = read_text(&path, "matrix definition", 100)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("m.yaml:2:6: not UTF-8 (byte 0xff at offset 11); save the file as UTF-8"),
            "{err}"
        );
    }
}
