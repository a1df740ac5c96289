//! `matrix init`: the built-in definition, written out for editing.

use std::path::PathBuf;

use anyhow::{bail, Result};
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
    crate::output::write_atomic(path, BUILTIN_DEFINITION.as_bytes())?;
    eprintln!(
        "matrix: wrote {}; edit it, then `matrix check`. Commands run in its directory use it.",
        path.display()
    );
    Ok(Vec::new())
}
