//! `matrix images`: the Dockerfiles of the build images into a directory, checked against the
//! matrix first; `--bake` prints a docker-bake.json for them, `--check` compares instead of
//! writing.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::Cli;
use crate::images::bake::bake_json;
use crate::images::consistency::{check, ensure_consistent};
use crate::images::dockerfile::{compare_dir, render_all};
use crate::images::lint::lint;
use crate::images::workflow::{image_workflow, ImageWorkflowOptions};
use crate::output::{write_dir, OutputFile};
use crate::render::Renderer;

#[derive(Debug, Args)]
pub struct ImagesArgs {
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
}

pub fn run(cli: &Cli, args: &ImagesArgs) -> Result<Vec<u8>> {
    let matrix = cli.load_matrix()?;
    let renderer = Renderer::load(args.templates.as_deref())?;
    let files = render_all(&matrix, renderer.templates())?;
    // Nothing is written for images that would not serve their cells or do not lint clean.
    ensure_consistent(&check(&matrix, &renderer)?)?;
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

    if let Some(registry) = &args.registry {
        crate::grammar::check_registry("--registry", registry)?;
    }
    if args.workflow {
        use crate::grammar::{check_dns_label, check_dns_subdomain, check_image_reference};
        if let Some(namespace) = &args.namespace {
            check_dns_label("--namespace", namespace)?;
        }
        if let Some(account) = &args.service_account {
            check_dns_subdomain("--service-account", account)?;
        }
        check_dns_subdomain("--docker-config-secret", &args.docker_config_secret)?;
        check_image_reference("--buildkit-image", &args.buildkit_image)?;
        let options = ImageWorkflowOptions {
            registry: args
                .registry
                .clone()
                .unwrap_or_else(|| matrix.image.registry.clone()),
            generate_name: crate::workflow::options::check_generate_name(&args.generate_name)?,
            namespace: args.namespace.clone(),
            service_account: args.service_account.clone(),
            docker_config_secret: args.docker_config_secret.clone(),
            buildkit_image: args.buildkit_image.clone(),
        };
        let document = image_workflow(&matrix, &files, &options)?;
        return Ok(format!("---\n{}", serde_yaml::to_string(&document)?).into_bytes());
    }

    if args.check {
        compare_dir(&args.out, &files)?;
        return Ok(format!(
            "{} is up to date: {} Dockerfiles match the matrix\n",
            args.out.display(),
            files.len()
        )
        .into_bytes());
    }

    let registry = args.registry.as_deref().unwrap_or(&matrix.image.registry);
    let out_dir = args.out.to_string_lossy();
    // Rendered before writing, so a bad registry leaves no half-done output.
    let bake = if args.bake {
        Some(bake_json(&matrix, registry, &out_dir)?)
    } else {
        None
    };
    write_dir(
        &args.out,
        args.force,
        "Dockerfiles",
        &cli.inputs(args.templates.as_deref()),
        &files
            .iter()
            .map(|f| OutputFile {
                name: &f.file_name,
                contents: f.text.as_bytes(),
                executable: false,
            })
            .collect::<Vec<_>>(),
    )?;
    Ok(match bake {
        Some(json) => json.into_bytes(),
        None => files
            .iter()
            .map(|f| {
                format!(
                    "{}\t{}\n",
                    args.out.join(&f.file_name).display(),
                    matrix.image.reference(registry, &f.os)
                )
            })
            .collect::<String>()
            .into_bytes(),
    })
}
