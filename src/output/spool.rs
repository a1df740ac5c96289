//! A command's stdout held until the command has succeeded, in an unnamed temporary file
//! instead of memory: `matrix workflow` of a million cells prints 324 MB. As with stdout kept
//! in memory, nothing reaches stdout on an error, and the file is gone with the process.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use anyhow::{Context, Result};

/// Bytes written so far, to be copied to stdout at the end.
pub struct Spool {
    file: BufWriter<File>,
}

impl Spool {
    /// An empty spool in the temporary directory (`TMPDIR`, else `/tmp`).
    pub fn new() -> Result<Spool> {
        let file = tempfile::tempfile().with_context(|| {
            format!(
                "cannot create a temporary file in {} for the output",
                std::env::temp_dir().display()
            )
        })?;
        Ok(Spool {
            file: BufWriter::new(file),
        })
    }

    /// Forgets everything written, to start again.
    pub fn clear(&mut self) -> Result<()> {
        let cleared = self.file.flush().and_then(|()| {
            let file = self.file.get_mut();
            file.set_len(0)?;
            file.rewind()
        });
        cleared.context("cannot empty the temporary file of the output")
    }

    /// Copies everything written to `out`.
    pub fn copy_to(self, out: &mut impl Write) -> io::Result<u64> {
        let mut file = self.file.into_inner().map_err(|err| err.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        io::copy(&mut file, out)
    }
}

impl Write for Spool {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.file.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_after_a_clear_is_all_that_is_copied() {
        let mut spool = Spool::new().unwrap();
        spool.write_all(b"void, and longer\n").unwrap();
        spool.clear().unwrap();
        spool.write_all(b"---\na: 1\n").unwrap();
        let mut out = Vec::new();
        assert_eq!(spool.copy_to(&mut out).unwrap(), 9);
        assert_eq!(out, b"---\na: 1\n");
    }
}
