//! `matrix init`: the built-in definition, written out for editing.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use crate::definition::{BUILTIN_DEFINITION, CPYTHON_CI_DEFINITION};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the definition.
    #[arg(default_value = super::LOCAL_DEFINITION)]
    pub path: PathBuf,

    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,

    /// Which shipped definition to write: default (the original experiment's) or cpython-ci
    /// (CPython's own sanitizer CI)
    #[arg(long, value_enum, default_value_t = Profile::Default, hide_possible_values = true)]
    pub profile: Profile,
}

/// The definitions shipped with the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// The original experiment's matrix (definition/matrix.yaml), the built-in one
    Default,
    /// CPython's own sanitizer CI and buildbots (definition/cpython-ci.yaml)
    CpythonCi,
}

impl Profile {
    fn text(self) -> &'static str {
        match self {
            Profile::Default => BUILTIN_DEFINITION,
            Profile::CpythonCi => CPYTHON_CI_DEFINITION,
        }
    }
}

pub fn run(args: &InitArgs) -> Result<Vec<u8>> {
    let path = &args.path;
    if path.exists() && !args.force {
        bail!("{} exists; pass --force to overwrite it", path.display());
    }
    crate::output::write_atomic(path, args.profile.text().as_bytes())?;
    eprintln!(
        "matrix: wrote {}; edit it, then `matrix check`. Commands run in its directory use it.",
        path.display()
    );
    Ok(Vec::new())
}
