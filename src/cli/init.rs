//! `matrix init`: a definition written out for editing: a shipped one, or a copy of `--config`.

use std::path::{Path, PathBuf};

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

    /// Which shipped definition to write: default (the original experiment's, when neither
    /// this nor --config is given) or cpython-ci (CPython's own sanitizer CI). With --config
    /// FILE instead, init copies FILE (once it loads).
    #[arg(long, value_enum, hide_possible_values = true)]
    pub profile: Option<Profile>,
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

pub fn run(cli: &super::Cli, args: &InitArgs) -> Result<Vec<u8>> {
    let path = &args.path;
    let text = definition_text(cli, args)?;
    if path.exists() && !args.force {
        bail!("{} exists; pass --force to overwrite it", path.display());
    }
    crate::output::write_atomic(path, &text)?;
    eprintln!("matrix: wrote {}; {}", path.display(), next_step(path));
    Ok(Vec::new())
}

/// The definition to write: `--config`'s file as it is (comments kept), once it loads and is
/// not the file to write; else the shipped profile.
fn definition_text(cli: &super::Cli, args: &InitArgs) -> Result<Vec<u8>> {
    let Some(config) = &cli.config else {
        return Ok(args.profile.unwrap_or(Profile::Default).text().into());
    };
    if let Some(profile) = args.profile {
        bail!(
            "--config {} and --profile {}: init writes one definition; give either",
            config.display(),
            profile
                .to_possible_value()
                .expect("no skipped variants")
                .get_name()
        );
    }
    if same_file(config, &args.path) {
        bail!(
            "--config {} is the file init would write ({}): copy it to another name",
            config.display(),
            args.path.display()
        );
    }
    cli.load_matrix()?;
    crate::input::read_bytes(config, "matrix definition", crate::input::limit::DEFINITION)
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// What to do with the file written: commands find a definition by themselves only as
/// `./matrix.yaml`, so another name needs `--config`.
fn next_step(path: &Path) -> String {
    let picked_up = path.file_name() == Some(std::ffi::OsStr::new(super::LOCAL_DEFINITION));
    if picked_up {
        "edit it, then `matrix check`. Commands run in its directory use it.".to_string()
    } else {
        format!(
            "edit it, then `matrix --config {} check`: commands pick up a definition by \
             themselves only as ./{} in the directory they run in",
            path.display(),
            super::LOCAL_DEFINITION
        )
    }
}
