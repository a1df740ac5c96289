//! `matrix init`: the built-in definition, written out for editing.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::definition::BUILTIN_DEFINITION;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the definition.
    #[arg(default_value = super::LOCAL_DEFINITION)]
    pub path: PathBuf,

    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &InitArgs) -> Result<Vec<u8>> {
    let path = &args.path;
    if path.exists() && !args.force {
        bail!("{} exists; pass --force to overwrite it", path.display());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    file.write_all(BUILTIN_DEFINITION.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "matrix: wrote {}; edit it, then `matrix check`. Commands run in its directory use it.",
        path.display()
    );
    Ok(Vec::new())
}
