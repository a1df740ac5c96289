//! `matrix images`: the Dockerfiles of the build images into a directory, checked against the
//! matrix first; `--bake` prints a docker-bake.json for them, `--check` compares instead of
//! writing. `matrix images build` builds them here and `matrix images verify` checks built
//! images from the inside (their old spellings `--build` and `--verify` work for a release).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use super::{Cli, Failed, SelectionArgs};
use crate::cell::Cell;
use crate::definition::Matrix;
use crate::engine::EngineChoice;
use crate::images::bake::bake_json;
use crate::images::build::{build, container_tool, ImageBuild};
use crate::images::consistency::{check, ensure_consistent};
use crate::images::dockerfile::{compare_dir, render_all, render_with_base, Dockerfile};
use crate::images::lint::lint;
use crate::images::verify;
use crate::images::workflow::{image_workflow, ImageWorkflowOptions};
use crate::output::{write_dir, OutputFile};
use crate::render::Renderer;
use crate::selection::Filter;

/// `--engine` of `images build` and `images verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageEngineArg {
    /// The first engine that answers: podman, then docker.
    Auto,
    Podman,
    Docker,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ImagesArgs {
    #[command(subcommand)]
    pub command: Option<ImagesCommand>,

    /// Directory to write the Dockerfiles into; replaced as a whole.
    #[arg(long, value_name = "DIR", default_value = "dockerfiles")]
    pub out: PathBuf,

    /// Replace --out even if it is not a directory `matrix` wrote.
    #[arg(long)]
    pub force: bool,

    /// Also print a docker-bake.json on stdout: one multi-platform target per image, with
    /// --out as its context (run `docker buildx bake` from this directory).
    #[arg(long)]
    pub bake: bool,

    /// Write nothing: fail unless --out holds exactly what would be written.
    #[arg(long, conflicts_with_all = ["force", "bake"])]
    pub check: bool,

    /// Container registry for the image tags (default: the definition's `image.registry`).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    /// Use the templates in DIR (Dockerfile.j2, and the build scripts the images are checked
    /// against; those it lacks are the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// Write nothing: print an Argo Workflow that builds and pushes every image in the
    /// cluster with BuildKit (rootless, no Docker daemon), for every platform.
    #[arg(long, conflicts_with_all = ["check", "bake", "force"])]
    pub workflow: bool,

    /// With --workflow: the Secret holding `config.json` with push credentials.
    #[arg(
        long,
        value_name = "SECRET",
        default_value = "docker-config",
        requires = "workflow"
    )]
    pub docker_config_secret: String,

    /// With --workflow: the BuildKit image to build with.
    #[arg(
        long,
        value_name = "IMAGE",
        default_value = "moby/buildkit:v0.16.0-rootless",
        requires = "workflow"
    )]
    pub buildkit_image: String,

    /// With --workflow: prefix of the Workflow's generated name.
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "build-images-",
        requires = "workflow"
    )]
    pub generate_name: String,

    /// With --workflow: the namespace to run in.
    #[arg(long, requires = "workflow")]
    pub namespace: Option<String>,

    /// With --workflow: the service account the pods run as.
    #[arg(long, requires = "workflow")]
    pub service_account: Option<String>,

    /// The old spelling of `matrix images build`, kept for a release.
    #[arg(long, hide = true, conflicts_with_all = ["check", "bake", "force", "workflow"])]
    pub build: bool,

    /// The old spelling of `matrix images verify IMAGE...`, kept for a release.
    #[arg(
        long,
        hide = true,
        value_name = "IMAGE",
        num_args = 1..,
        conflicts_with_all = ["check", "bake", "force", "workflow", "build"]
    )]
    pub verify: Vec<String>,

    /// With the old --build or --verify: their --engine.
    #[arg(long, hide = true, value_enum, default_value = "auto")]
    pub engine: ImageEngineArg,

    /// With the old --build: its --base-from.
    #[arg(long, hide = true, value_name = "IMAGE", requires = "build")]
    pub base_from: Option<String>,

    /// With the old --build or --verify: their --only.
    #[arg(long, hide = true, value_name = "AXIS=V1[,V2...]", add = super::completions::selection_completer())]
    pub only: Vec<Filter>,

    /// With the old --build or --verify: their --except.
    #[arg(long, hide = true, value_name = "AXIS=V1[,V2...]", add = super::completions::selection_completer())]
    pub except: Vec<Filter>,
}

/// The modes of `matrix images` that are commands of their own.
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the images here with a container engine (podman build, docker buildx bake), for
    /// this machine's platform, tagged as the scripts name them; writes nothing.
    Build(BuildArgs),
    /// Inside each IMAGE, check that every program the scripts of its OS's cells run is on
    /// PATH, every compiler answers --version and every sanitizer runtime is found as the
    /// scripts find it; one line per cell needing something missing.
    Verify(VerifyArgs),
}

/// What `matrix images build` and `matrix images verify` share: where the images are, with
/// which templates and engine, for which cells.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Container registry of the image tags (default: the definition's `image.registry`).
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    /// Use the templates in DIR (Dockerfile.j2, and the build scripts the images are checked
    /// against; those it lacks are the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// The container engine.
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: ImageEngineArg,

    /// Only the images (and cells) of cells whose AXIS has one of the values (repeatable),
    /// e.g. --only os=debian-12.
    #[arg(long, value_name = "AXIS=V1[,V2...]", add = super::completions::selection_completer())]
    pub only: Vec<Filter>,

    /// Drop cells whose AXIS has one of the values (repeatable).
    #[arg(long, value_name = "AXIS=V1[,V2...]", add = super::completions::selection_completer())]
    pub except: Vec<Filter>,
}

/// `matrix images build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub common: EngineArgs,

    /// Start every image FROM this image instead of the definition's pinned base (offline or
    /// local builds); the image's labels say which base it replaced.
    #[arg(long, value_name = "IMAGE")]
    pub base_from: Option<String>,
}

/// `matrix images verify IMAGE...`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The images to check, each tagged as `matrix images build` tags it (its tag names its OS).
    #[arg(value_name = "IMAGE", required = true, num_args = 1..)]
    pub images: Vec<String>,

    #[command(flatten)]
    pub common: EngineArgs,
}

impl ImageEngineArg {
    fn choice(self) -> EngineChoice {
        match self {
            ImageEngineArg::Auto => EngineChoice::Auto,
            ImageEngineArg::Podman => EngineChoice::Podman,
            ImageEngineArg::Docker => EngineChoice::Docker,
        }
    }
}

/// The selection of `--only` and `--except`.
fn selection(only: &[Filter], except: &[Filter]) -> SelectionArgs {
    SelectionArgs {
        only: only.to_vec(),
        except: except.to_vec(),
        cells: Vec::new(),
        cover: Default::default(),
    }
}

/// What the flags ask for over the definition, resolved once: every flag checked (the
/// registry, the selection, the image references and names) and which of the command's modes,
/// with what it needs; the rest of the command works from these alone.
struct Settings {
    matrix: Matrix,
    /// The templates (`--templates`).
    renderer: Renderer,
    /// `--registry`, checked, else the definition's `image.registry`.
    registry: String,
    mode: Mode,
}

/// What `matrix images` does.
enum Mode {
    /// Write the Dockerfiles into `out` (`--force`: whatever it is), and print the bake file
    /// (`--bake`) or the images written.
    Write {
        out: PathBuf,
        force: bool,
        bake: bool,
        /// What the command read and must not delete: the definition, the templates.
        inputs: Vec<(PathBuf, &'static str)>,
    },
    /// `--check`: compare `out` with what would be written.
    Check { out: PathBuf },
    /// `--workflow`: an Argo Workflow that builds the images in the cluster.
    Workflow(ImageWorkflowOptions),
    /// `--build`: the images of the selected cells, here.
    Build {
        cells: Vec<Cell>,
        base_from: Option<String>,
        engine: EngineChoice,
    },
    /// `verify IMAGE...`: each image, with the OS value it is for, against the selected
    /// cells; `name` is how messages name an image (`image`, or the old `--verify`).
    Verify {
        cells: Vec<Cell>,
        images: Vec<(String, String)>,
        name: &'static str,
        engine: EngineChoice,
    },
}

impl Settings {
    fn resolve(cli: &Cli, args: &ImagesArgs) -> Result<Settings> {
        match &args.command {
            Some(ImagesCommand::Build(build)) => Self::resolve_build(cli, build),
            Some(ImagesCommand::Verify(verify)) => Self::resolve_verify(cli, verify),
            None => Self::resolve_flags(cli, args),
        }
    }

    /// The definition, the templates, and the registry (given, and checked, else the
    /// definition's).
    fn load(
        cli: &Cli,
        templates: Option<&Path>,
        registry: Option<&String>,
    ) -> Result<(Matrix, Renderer, String)> {
        let matrix = cli.load_matrix()?;
        let renderer = Renderer::load(templates)?;
        if let Some(registry) = registry {
            crate::grammar::check_registry("--registry", registry)?;
        }
        let registry = (registry.cloned()).unwrap_or_else(|| matrix.image.registry.clone());
        Ok((matrix, renderer, registry))
    }

    /// `matrix images build`.
    fn resolve_build(cli: &Cli, args: &BuildArgs) -> Result<Settings> {
        let common = &args.common;
        let (matrix, renderer, registry) =
            Self::load(cli, common.templates.as_deref(), common.registry.as_ref())?;
        let selection = selection(&common.only, &common.except);
        let mode = build_mode(
            &matrix,
            &selection,
            args.base_from.as_deref(),
            common.engine,
        )?;
        Ok(Settings {
            matrix,
            renderer,
            registry,
            mode,
        })
    }

    /// `matrix images verify IMAGE...`.
    fn resolve_verify(cli: &Cli, args: &VerifyArgs) -> Result<Settings> {
        let common = &args.common;
        let (matrix, renderer, registry) =
            Self::load(cli, common.templates.as_deref(), common.registry.as_ref())?;
        let selection = selection(&common.only, &common.except);
        let images = (args.images.as_slice(), "image");
        let mode = verify_mode(&matrix, &registry, &selection, images, common.engine)?;
        Ok(Settings {
            matrix,
            renderer,
            registry,
            mode,
        })
    }

    /// `matrix images` with its flags: writing the Dockerfiles, `--check`, `--workflow`, and
    /// the old spellings `--build` and `--verify`.
    fn resolve_flags(cli: &Cli, args: &ImagesArgs) -> Result<Settings> {
        let (matrix, renderer, registry) =
            Self::load(cli, args.templates.as_deref(), args.registry.as_ref())?;
        let selecting = !args.only.is_empty() || !args.except.is_empty();
        if selecting && !args.build && args.verify.is_empty() {
            bail!(
                "--only and --except select the images of `matrix images build` or `matrix \
                 images verify`; give them there"
            );
        }
        let selection = selection(&args.only, &args.except);
        let mode = if !args.verify.is_empty() {
            let images = (args.verify.as_slice(), "--verify");
            verify_mode(&matrix, &registry, &selection, images, args.engine)?
        } else if args.workflow {
            Mode::Workflow(workflow_options(args, registry.clone())?)
        } else if args.build {
            build_mode(&matrix, &selection, args.base_from.as_deref(), args.engine)?
        } else if args.check {
            Mode::Check {
                out: args.out.clone(),
            }
        } else {
            Mode::Write {
                out: args.out.clone(),
                force: args.force,
                bake: args.bake,
                inputs: (cli.inputs(args.templates.as_deref()).into_iter())
                    .map(|(path, what)| (path.to_path_buf(), what))
                    .collect(),
            }
        };
        Ok(Settings {
            matrix,
            renderer,
            registry,
            mode,
        })
    }
}

/// Building the images of the selected cells, from `base_from` when given (checked).
fn build_mode(
    matrix: &Matrix,
    selection: &SelectionArgs,
    base_from: Option<&str>,
    engine: ImageEngineArg,
) -> Result<Mode> {
    if let Some(base) = base_from {
        // A Dockerfile has no quoting: only a well-formed reference may reach `FROM`.
        crate::grammar::check_image_reference("--base-from", base)?;
    }
    Ok(Mode::Build {
        cells: selection.cells(matrix)?,
        base_from: base_from.map(str::to_string),
        engine: engine.choice(),
    })
}

/// Verifying `images` (with how messages name one: the old `--verify`, or `image`) against
/// the selected cells: each a well-formed reference naming its OS, before any engine is asked.
fn verify_mode(
    matrix: &Matrix,
    registry: &str,
    selection: &SelectionArgs,
    (images, name): (&[String], &'static str),
    engine: ImageEngineArg,
) -> Result<Mode> {
    let cells = selection.cells(matrix)?;
    let images = (images.iter())
        .map(|image| {
            crate::grammar::check_image_reference(name, image)?;
            Ok((image.clone(), os_of_image(matrix, registry, image, name)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Mode::Verify {
        cells,
        images,
        name,
        engine: engine.choice(),
    })
}

/// `--workflow`'s settings, each checked.
fn workflow_options(args: &ImagesArgs, registry: String) -> Result<ImageWorkflowOptions> {
    use crate::grammar::{check_dns_label, check_dns_subdomain, check_image_reference};
    if let Some(namespace) = &args.namespace {
        check_dns_label("--namespace", namespace)?;
    }
    if let Some(account) = &args.service_account {
        check_dns_subdomain("--service-account", account)?;
    }
    check_dns_subdomain("--docker-config-secret", &args.docker_config_secret)?;
    check_image_reference("--buildkit-image", &args.buildkit_image)?;
    Ok(ImageWorkflowOptions {
        registry,
        generate_name: crate::grammar::check_generate_name(&args.generate_name)?,
        namespace: args.namespace.clone(),
        service_account: args.service_account.clone(),
        docker_config_secret: args.docker_config_secret.clone(),
        buildkit_image: args.buildkit_image.clone(),
    })
}

pub fn run(cli: &Cli, args: &ImagesArgs) -> Result<Vec<u8>> {
    if args.build {
        super::deprecated("matrix images --build", "matrix images build");
    }
    if !args.verify.is_empty() {
        super::deprecated("matrix images --verify", "matrix images verify");
    }
    let settings = Settings::resolve(cli, args)?;
    match &settings.mode {
        Mode::Verify {
            cells,
            images,
            name,
            engine,
        } => verify_images(&settings, cells, (images, name), *engine),
        Mode::Workflow(options) => {
            let files = checked_dockerfiles(&settings)?;
            let document = image_workflow(&settings.matrix, &files, options)?;
            Ok(format!("---\n{}", serde_yaml::to_string(&document)?).into_bytes())
        }
        Mode::Build {
            cells,
            base_from,
            engine,
        } => {
            checked_dockerfiles(&settings)?;
            build_images(&settings, cells, base_from.as_deref(), *engine)
        }
        Mode::Check { out } => {
            let files = checked_dockerfiles(&settings)?;
            compare_dir(out, &files)?;
            Ok(format!(
                "{} is up to date: {} Dockerfiles match the matrix\n",
                out.display(),
                files.len()
            )
            .into_bytes())
        }
        Mode::Write {
            out,
            force,
            bake,
            inputs,
        } => {
            let files = checked_dockerfiles(&settings)?;
            write_dockerfiles(&settings, &files, out, *force, *bake, inputs)
        }
    }
}

/// The Dockerfiles, rendered and checked: nothing is written or built for images that would
/// not serve their cells or do not lint clean.
fn checked_dockerfiles(settings: &Settings) -> Result<Vec<Dockerfile>> {
    let (matrix, renderer) = (&settings.matrix, &settings.renderer);
    let files = render_all(matrix, renderer.templates())?;
    ensure_consistent(&check(matrix, renderer)?)?;
    let mut findings = Vec::new();
    for file in &files {
        findings.extend(
            lint(&file.text)
                .into_iter()
                .map(|f| format!("  {}: {f}", file.file_name)),
        );
    }
    if !findings.is_empty() {
        bail!(
            "the rendered Dockerfiles do not lint clean:\n{}",
            findings.join("\n")
        );
    }
    Ok(files)
}

/// Writes the Dockerfiles into `out`; prints the bake file (`bake`) or each file and its
/// image.
fn write_dockerfiles(
    settings: &Settings,
    files: &[Dockerfile],
    out: &Path,
    force: bool,
    bake: bool,
    inputs: &[(PathBuf, &'static str)],
) -> Result<Vec<u8>> {
    let (matrix, registry) = (&settings.matrix, settings.registry.as_str());
    let out_dir = out.to_string_lossy();
    // Rendered before writing, so a bad registry leaves no half-done output.
    let bake = if bake {
        Some(bake_json(matrix, registry, &out_dir)?)
    } else {
        None
    };
    let inputs: Vec<(&Path, &str)> = (inputs.iter())
        .map(|(path, what)| (path.as_path(), *what))
        .collect();
    write_dir(
        out,
        force,
        "Dockerfiles",
        &inputs,
        &files
            .iter()
            .map(|f| OutputFile {
                name: &f.file_name,
                contents: f.text.as_bytes(),
                executable: false,
            })
            .collect::<Vec<_>>(),
    )
    .map_err(super::out_flags)?;
    Ok(match bake {
        Some(json) => json.into_bytes(),
        None => files
            .iter()
            .map(|f| {
                format!(
                    "{}\t{}\n",
                    out.join(&f.file_name).display(),
                    matrix.image.reference(registry, &f.os)
                )
            })
            .collect::<String>()
            .into_bytes(),
    })
}

/// `build`: the images of the selected cells' OS values, in the tag axis's order.
fn build_images(
    settings: &Settings,
    cells: &[Cell],
    base_from: Option<&str>,
    engine: EngineChoice,
) -> Result<Vec<u8>> {
    let (matrix, registry) = (&settings.matrix, settings.registry.as_str());
    let tag_axis = matrix.image.tag_axis;
    let files = render_with_base(matrix, settings.renderer.templates(), base_from)?;
    let images: Vec<ImageBuild> = files
        .into_iter()
        .filter(|file| {
            cells
                .iter()
                .any(|c| matrix.axes[tag_axis].values[c.values[tag_axis]].name == file.os)
        })
        .map(|dockerfile| {
            let tag = matrix.image.reference(registry, &dockerfile.os);
            crate::grammar::check_image_reference("the image tag", &tag)?;
            Ok(ImageBuild { dockerfile, tag })
        })
        .collect::<Result<_>>()?;
    let tool = container_tool(engine, &super::run::flag(crate::run::Setting::Engine))?;
    let platform = crate::images::build::host_platform();
    let images_spec = crate::images::dockerfile::images_of(matrix)?;
    let others: Vec<&str> = images_spec
        .platforms
        .iter()
        .map(String::as_str)
        .filter(|p| *p != platform)
        .collect();
    if !others.is_empty() {
        eprintln!(
            "matrix images: building for {platform} only, this machine's platform; not for {} \
             (build multi-platform images with `matrix images --bake` and docker buildx, or \
             `matrix images --workflow`)",
            others.join(", ")
        );
    }
    if let Some(base) = base_from {
        eprintln!(
            "matrix images: every image starts FROM {base} instead of its pinned base (its \
             labels say so)"
        );
    }
    let built = build(tool, matrix, registry, &images, &|m| {
        eprintln!("matrix images: {m}")
    })?;
    let mut out = String::new();
    for image in &built {
        eprintln!(
            "matrix images: built {} in {:.1} s",
            image.tag,
            image.took.as_secs_f64()
        );
        out.push_str(&format!(
            "{}\t{}\t{}\n",
            image.os, image.platform, image.tag
        ));
    }
    Ok(out.into_bytes())
}

/// `verify IMAGE...`: each image is checked against the cells of its OS (the tag names it)
/// and of its architecture, within the selection; `name` is how messages name an image.
fn verify_images(
    settings: &Settings,
    selected: &[Cell],
    (targets, name): (&[(String, String)], &str),
    engine: EngineChoice,
) -> Result<Vec<u8>> {
    let (matrix, renderer) = (&settings.matrix, &settings.renderer);
    let tool = container_tool(engine, &super::run::flag(crate::run::Setting::Engine))?;
    let tag_axis = &matrix.axes[matrix.image.tag_axis];
    let mut report = String::new();
    let mut lacking = Vec::new();
    for (image, os) in targets {
        let arch = verify::image_architecture(tool, image)?;
        let cells: Vec<_> = selected
            .iter()
            .filter(|c| tag_axis.values[c.values[matrix.image.tag_axis]].name == *os)
            .filter(|c| match matrix.workflow.arch_axis {
                Some(axis) => matrix.axes[axis].values[c.values[axis]].name == arch,
                None => true,
            })
            .cloned()
            .collect();
        if cells.is_empty() {
            bail!("{name} {image}: no selected cell runs on {os} for {arch}: nothing to verify");
        }
        let scripts = renderer.render_all(matrix, &cells)?;
        let plan = verify::plan(matrix, &cells, &scripts)?;
        let script = verify::script(renderer.templates(), &plan)?;
        let start = std::time::Instant::now();
        let output = verify::run_in_image(tool, image, &script)?;
        let answers = verify::parse_answers(&output, plan.probes.len())?;
        eprintln!(
            "matrix images: verified {image} ({} probes for {} cells) in {:.1} s",
            plan.probes.len(),
            cells.len(),
            start.elapsed().as_secs_f64()
        );
        let short = verify::shortfalls(&plan, &answers);
        if short.is_empty() {
            report.push_str(&format!(
                "{image}: all {} cells of {os} ({arch}) find what they use ({} probes)\n",
                cells.len(),
                plan.probes.len()
            ));
        }
        for s in &short {
            report.push_str(&format!(
                "{}: {image} lacks {}\n",
                s.cell,
                s.missing.join("; ")
            ));
        }
        if !short.is_empty() {
            lacking.push(format!(
                "{image} ({} of {} cells)",
                short.len(),
                cells.len()
            ));
        }
    }
    if !lacking.is_empty() {
        let summary = format!(
            "images lack what their cells use: {}; install the missing packages (the \
             definition's images section) and rebuild",
            lacking.join(", ")
        );
        // The lines above are the result (stdout); the error says what to do (stderr).
        return Err(Failed {
            stdout: report.into_bytes(),
            summary,
        }
        .into());
    }
    Ok(report.into_bytes())
}

/// The OS value an image is for: the one whose reference under `registry` it is, else the
/// one its tag names.
fn os_of_image(matrix: &Matrix, registry: &str, image: &str, name: &str) -> Result<String> {
    let axis = &matrix.axes[matrix.image.tag_axis];
    let names: Vec<&str> = axis.values.iter().map(|v| v.name.as_str()).collect();
    if let Some(os) = names
        .iter()
        .find(|os| matrix.image.reference(registry, os) == image)
    {
        return Ok(os.to_string());
    }
    let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
    match names.iter().find(|os| **os == tag) {
        Some(os) => Ok(os.to_string()),
        None => bail!(
            "{name} {image}: its tag names no value of axis `{}` ({}), so the cells it serves \
             are unknown; tag it as `matrix images build` does",
            axis.name,
            names.join(", ")
        ),
    }
}
