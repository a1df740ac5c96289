//! `matrix render`: scripts into a directory, the CSV index on stdout.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{Cli, SelectionArgs};
use crate::index::index_csv;
use crate::output::write_dir_with;
use crate::render::Renderer;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory to write the scripts into; replaced as a whole.
    #[arg(long, value_name = "DIR", default_value = "build_scripts")]
    pub out: PathBuf,

    /// Replace --out even if it is not a directory `matrix` wrote.
    #[arg(long)]
    pub force: bool,

    /// Use the templates in DIR instead of the built-in ones (those it lacks stay built-in).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// Container registry for the image column (default: the definition's `image.registry`).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    #[command(flatten)]
    pub tests: super::TestsArg,
}

pub fn run(cli: &Cli, args: &RenderArgs) -> Result<Vec<u8>> {
    let matrix = cli.load_matrix()?;
    let renderer = Renderer::load(args.templates.as_deref())?.with_test_args(args.tests.args()?);
    let cells = args.selection.cells(&matrix)?;
    let registry = args.registry.as_deref().unwrap_or(&matrix.image.registry);
    crate::grammar::check_registry("--registry", registry)?;
    let index = index_csv(&matrix, &cells, &args.out.to_string_lossy(), registry)?;
    // Rendered and written a part at a time: 100,000 scripts of 10 KB would otherwise all be
    // in memory at once.
    write_dir_with(
        &args.out,
        args.force,
        "build scripts",
        &cli.inputs(args.templates.as_deref()),
        |staged| renderer.write_all(&matrix, &cells, staged),
    )
    .map_err(super::out_flags)?;
    Ok(index)
}
