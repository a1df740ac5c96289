//! `matrix images build`: builds the selected OS images on this machine with a container
//! engine's own build (podman build, docker buildx bake), tagged as the scripts name them.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::bake::{bake_file, target_name};
use super::dockerfile::{file_name, Dockerfile};
use crate::definition::Matrix;
use crate::engine::{ContainerTool, Engine, EngineChoice};

/// Resolves the choice of engine for building or verifying images: a container engine that
/// answers (`auto`: podman, then docker). There is no host engine for images. `setting` names
/// the setting that chose it in the error (the command line's `--engine`).
pub fn container_tool(choice: EngineChoice, setting: &str) -> Result<ContainerTool> {
    match Engine::choose(choice, setting)? {
        Engine::Container(tool) => Ok(tool),
        Engine::Host => bail!(
            "no container engine answers (`podman info`, `docker info`): install podman \
             (see the README's `matrix images build`) or start docker's daemon"
        ),
    }
}

/// The platform of this machine in the engines' notation (`linux/amd64`): what a local build
/// produces without emulation.
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    };
    format!("linux/{arch}")
}

/// One image to build: its Dockerfile (rendered, maybe with `--base-from`) and its tag.
#[derive(Debug, Clone)]
pub struct ImageBuild {
    pub dockerfile: Dockerfile,
    pub tag: String,
}

/// A built image and how long the engine took.
#[derive(Debug, Clone)]
pub struct Built {
    pub os: String,
    pub tag: String,
    pub platform: String,
    pub took: Duration,
}

/// The engine's command that builds `images` from the Dockerfiles written to `dir`, for
/// `platform`. Podman: one `podman build --format docker` per image (the OCI format drops
/// `SHELL`, so `RUN` would fall back to `/bin/sh` without pipefail). Docker: one `docker
/// buildx bake --load` of a bake file in `dir` naming every image.
pub fn build_commands(
    tool: ContainerTool,
    matrix: &Matrix,
    registry: &str,
    dir: &Path,
    images: &[ImageBuild],
    platform: &str,
) -> Result<Vec<(Vec<String>, Command)>> {
    match tool {
        ContainerTool::Podman => Ok(images
            .iter()
            .map(|image| {
                let mut command = Command::new("podman");
                command
                    .args(["build", "--format", "docker", "--platform", platform])
                    .arg("--file")
                    .arg(dir.join(&image.dockerfile.file_name))
                    .args(["--tag", &image.tag])
                    .arg(dir);
                (vec![image.dockerfile.os.clone()], command)
            })
            .collect()),
        ContainerTool::Docker => {
            let mut bake = bake_file(matrix, registry, &dir.to_string_lossy())?;
            let wanted: Vec<String> = images
                .iter()
                .map(|i| target_name(&i.dockerfile.os))
                .collect();
            bake.target.retain(|name, _| wanted.contains(name));
            for target in bake.target.values_mut() {
                target.platforms = vec![platform.to_string()];
            }
            if let Some(group) = bake.group.get_mut("default") {
                group.targets.retain(|name| wanted.contains(name));
            }
            let path = dir.join("docker-bake.json");
            std::fs::write(&path, serde_json::to_string_pretty(&bake)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut command = Command::new("docker");
            command
                .args(["buildx", "bake", "--load", "--file"])
                .arg(&path)
                .args(&wanted);
            let oses = images.iter().map(|i| i.dockerfile.os.clone()).collect();
            Ok(vec![(oses, command)])
        }
    }
}

/// Builds `images` with `tool` for this machine's platform, the engine's output going to
/// stderr. Every Dockerfile is written into a fresh directory first (the build context: the
/// images copy nothing from it). Stops at the first image that fails to build.
pub fn build(
    tool: ContainerTool,
    matrix: &Matrix,
    registry: &str,
    images: &[ImageBuild],
    say: &dyn Fn(&str),
) -> Result<Vec<Built>> {
    let platform = host_platform();
    let context = tempfile::Builder::new()
        .prefix("matrix-images-")
        .tempdir()
        .context("cannot create a build context directory")?;
    for image in images {
        let path = context.path().join(file_name(&image.dockerfile.os));
        std::fs::write(&path, &image.dockerfile.text)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut built = Vec::new();
    for (oses, mut command) in
        build_commands(tool, matrix, registry, context.path(), images, &platform)?
    {
        say(&format!(
            "building {} for {platform} with {}",
            oses.join(", "),
            tool.program()
        ));
        let start = Instant::now();
        let status = command
            .stdin(Stdio::null())
            .stdout(stderr_stdio()?)
            .status()
            .with_context(|| format!("cannot start {}", tool.program()))?;
        if !status.success() {
            bail!(
                "{} could not build the image of {} ({status}); its output is above",
                tool.program(),
                oses.join(", ")
            );
        }
        let took = start.elapsed();
        for os in &oses {
            let image = images.iter().find(|i| &i.dockerfile.os == os).unwrap();
            built.push(Built {
                os: os.clone(),
                tag: image.tag.clone(),
                platform: platform.clone(),
                took,
            });
        }
    }
    Ok(built)
}

/// A child's stdout sent to our stderr: stdout is for results only.
fn stderr_stdio() -> Result<Stdio> {
    use std::os::fd::AsFd;
    let fd = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("cannot duplicate stderr")?;
    Ok(Stdio::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::dockerfile::render_with_base;
    use crate::templates::Templates;

    fn images(m: &Matrix) -> Vec<ImageBuild> {
        render_with_base(m, &Templates::builtin(), Some("localhost/base:1"))
            .unwrap()
            .into_iter()
            .filter(|d| d.os == "ubuntu-24.04")
            .map(|d| ImageBuild {
                tag: m.image.reference("localhost/m", &d.os),
                dockerfile: d,
            })
            .collect()
    }

    fn args(command: &Command) -> Vec<String> {
        command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn podman_builds_in_docker_format_for_one_platform_with_the_cells_tag() {
        let m = Matrix::builtin().unwrap();
        let dir = Path::new("/tmp/ctx");
        let commands = build_commands(
            ContainerTool::Podman,
            &m,
            "localhost/m",
            dir,
            &images(&m),
            "linux/amd64",
        )
        .unwrap();
        assert_eq!(commands.len(), 1);
        assert_eq!(commands[0].0, ["ubuntu-24.04"]);
        assert_eq!(commands[0].1.get_program(), "podman");
        assert_eq!(
            args(&commands[0].1),
            [
                "build",
                "--format",
                "docker",
                "--platform",
                "linux/amd64",
                "--file",
                "/tmp/ctx/ubuntu-24.04.Dockerfile",
                "--tag",
                "localhost/m/build-cpython:ubuntu-24.04",
                "/tmp/ctx"
            ]
        );
    }

    #[test]
    fn docker_bakes_the_selected_targets_for_one_platform_and_loads_them() {
        let m = Matrix::builtin().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let commands = build_commands(
            ContainerTool::Docker,
            &m,
            "localhost/m",
            dir.path(),
            &images(&m),
            "linux/arm64",
        )
        .unwrap();
        assert_eq!(commands.len(), 1);
        let bake_path = dir.path().join("docker-bake.json");
        let mut expected = vec!["buildx", "bake", "--load", "--file"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        expected.push(bake_path.display().to_string());
        expected.push("ubuntu-24_04".into());
        assert_eq!(args(&commands[0].1), expected);
        let bake: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&bake_path).unwrap()).unwrap();
        let targets = bake["target"].as_object().unwrap();
        assert_eq!(targets.keys().collect::<Vec<_>>(), ["ubuntu-24_04"]);
        assert_eq!(
            bake["target"]["ubuntu-24_04"]["platforms"],
            serde_json::json!(["linux/arm64"])
        );
        assert_eq!(
            bake["target"]["ubuntu-24_04"]["tags"],
            serde_json::json!(["localhost/m/build-cpython:ubuntu-24.04"])
        );
        assert_eq!(
            bake["group"]["default"]["targets"],
            serde_json::json!(["ubuntu-24_04"])
        );
    }

    #[test]
    fn the_host_platform_is_in_the_engines_notation() {
        let platform = host_platform();
        assert!(platform.starts_with("linux/"), "{platform}");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(platform, "linux/amd64");
        }
    }
}
