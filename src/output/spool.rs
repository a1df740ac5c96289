//! A command's stdout held until the command has succeeded, in an unnamed temporary file
//! instead of memory: `matrix workflow` of a million cells prints 324 MB, `matrix report`'s
//! CSV of a million cells over 100 MB. As with stdout kept in memory, nothing reaches stdout
//! on an error, and the file is gone with the process. Where no temporary file can be made
//! (`TMPDIR` unwritable or missing), the spool is memory: the command works as it did before
//! there were spools.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use anyhow::{Context, Result};

/// Bytes written so far, to be copied to stdout at the end.
pub struct Spool {
    store: Store,
}

enum Store {
    File(BufWriter<File>),
    Memory(Vec<u8>),
}

impl Spool {
    /// An empty spool in the temporary directory (`TMPDIR`, else `/tmp`), else in memory.
    pub fn new() -> Spool {
        let store = match tempfile::tempfile() {
            Ok(file) => Store::File(BufWriter::new(file)),
            Err(_) => Store::Memory(Vec::new()),
        };
        Spool { store }
    }

    /// Forgets everything written, to start again.
    pub fn clear(&mut self) -> Result<()> {
        let cleared = match &mut self.store {
            Store::Memory(bytes) => {
                bytes.clear();
                Ok(())
            }
            Store::File(file) => file.flush().and_then(|()| {
                let file = file.get_mut();
                file.set_len(0)?;
                file.rewind()
            }),
        };
        cleared.context("cannot empty the temporary file of the output")
    }

    /// Copies everything written to `out`.
    pub fn copy_to(self, out: &mut impl Write) -> io::Result<u64> {
        match self.store {
            Store::Memory(bytes) => out.write_all(&bytes).map(|()| bytes.len() as u64),
            Store::File(file) => {
                let mut file = file.into_inner().map_err(|err| err.into_error())?;
                file.seek(SeekFrom::Start(0))?;
                io::copy(&mut file, out)
            }
        }
    }
}

impl Default for Spool {
    fn default() -> Self {
        Spool::new()
    }
}

impl Write for Spool {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut self.store {
            Store::File(file) => file.write(bytes),
            Store::Memory(held) => held.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.store {
            Store::File(file) => file.flush(),
            Store::Memory(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_after_a_clear_is_all_that_is_copied() {
        for mut spool in [
            Spool::new(),
            Spool {
                store: Store::Memory(Vec::new()),
            },
        ] {
            spool.write_all(b"void, and longer\n").unwrap();
            spool.clear().unwrap();
            spool.write_all(b"---\na: 1\n").unwrap();
            let mut out = Vec::new();
            assert_eq!(spool.copy_to(&mut out).unwrap(), 9);
            assert_eq!(out, b"---\na: 1\n");
        }
    }
}
