//! Rendering one Dockerfile per OS from `Dockerfile.j2` of the [`crate::templates`] registry:
//! strict undefined values, no escaping (values are checked when the definition compiles).

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::definition::images::{ImagesSpec, OsImage, PackageGroup, PackageManager};
use crate::definition::Matrix;
use crate::output::MARKER_FILE;
use crate::templates::{Templates, DOCKERFILE_TEMPLATE};

/// A rendered Dockerfile and the OS it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The tag axis value: the image tag.
    pub os: String,
    /// `<os>.Dockerfile`.
    pub file_name: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
struct DockerfileContext<'a> {
    os: &'a str,
    title: String,
    platforms: &'a [String],
    base: BaseView<'a>,
    package_manager: &'static str,
    /// Distribution groups, for the comment above the install.
    groups: Vec<GroupView<'a>>,
    /// Every distribution package, sorted.
    packages: Vec<&'a str>,
    repositories: Vec<RepositoryView<'a>>,
}

#[derive(Debug, Serialize)]
struct BaseView<'a> {
    image: &'a str,
    tag: &'a str,
    digest: &'a str,
    /// What `FROM` names: the pinned base, or the `--base-from` image replacing it.
    reference: String,
    /// With `--base-from`: the pinned reference it replaces (said in the image's labels).
    replaces: Option<String>,
}

#[derive(Debug, Serialize)]
struct GroupView<'a> {
    purpose: &'a str,
    packages: &'a [String],
}

#[derive(Debug, Serialize)]
struct RepositoryView<'a> {
    name: &'a str,
    url: &'a str,
    suite: &'a str,
    components: &'a [String],
    key_url: &'a str,
    key_fingerprint: &'a str,
    groups: Vec<GroupView<'a>>,
    packages: Vec<&'a str>,
}

/// The file name of an OS's Dockerfile.
pub fn file_name(os: &str) -> String {
    format!("{os}.Dockerfile")
}

/// The `images` section, or an error saying the definition has none.
pub fn images_of(matrix: &Matrix) -> Result<&ImagesSpec> {
    matrix.images.as_ref().with_context(|| {
        format!(
            "{} has no `images` section: it says how each value of axis `{}` gets its build \
             image (see the built-in definition/matrix.yaml)",
            matrix.origin, matrix.axes[matrix.image.tag_axis].name
        )
    })
}

/// One Dockerfile per OS, in the order of the tag axis.
pub fn render_all(matrix: &Matrix, templates: &Templates) -> Result<Vec<Dockerfile>> {
    render_with_base(matrix, templates, None)
}

/// [`render_all`], with every `FROM` naming `base_from` instead of the pinned base when given
/// (`matrix images build --base-from`: offline and local builds). The image's labels say
/// which pinned base it replaced.
pub fn render_with_base(
    matrix: &Matrix,
    templates: &Templates,
    base_from: Option<&str>,
) -> Result<Vec<Dockerfile>> {
    let images = images_of(matrix)?;
    if let Some(image) = base_from {
        // A Dockerfile has no quoting: only a well-formed reference may reach `FROM`.
        crate::grammar::check_image_reference("the base image", image)?;
    }
    images
        .os
        .iter()
        .map(|os| {
            let text = templates
                .render(DOCKERFILE_TEMPLATE, context(matrix, images, os, base_from))
                .with_context(|| format!("cannot render the Dockerfile of {}", os.name))?;
            Ok(Dockerfile {
                os: os.name.clone(),
                file_name: file_name(&os.name),
                text,
            })
        })
        .collect()
}

fn context<'a>(
    matrix: &'a Matrix,
    images: &'a ImagesSpec,
    os: &'a OsImage,
    base_from: Option<&str>,
) -> DockerfileContext<'a> {
    let view = |group: &'a PackageGroup| GroupView {
        purpose: &group.purpose,
        packages: &group.install,
    };
    let sorted = |groups: &[&'a PackageGroup]| {
        let mut packages: Vec<&str> = groups
            .iter()
            .flat_map(|g| g.install.iter().map(String::as_str))
            .collect();
        packages.sort_unstable();
        packages
    };
    let distro: Vec<_> = os
        .groups
        .iter()
        .filter(|g| g.repository.is_none())
        .collect();
    let repositories = os
        .repositories
        .iter()
        .enumerate()
        .map(|(i, repo)| {
            let groups: Vec<_> = os
                .groups
                .iter()
                .filter(|g| g.repository == Some(i))
                .collect();
            RepositoryView {
                name: &repo.name,
                url: &repo.url,
                suite: &repo.suite,
                components: &repo.components,
                key_url: &repo.key_url,
                key_fingerprint: &repo.key_fingerprint,
                packages: sorted(&groups),
                groups: groups.into_iter().map(view).collect(),
            }
        })
        // A repository no group installs from is not worth a layer.
        .filter(|repo| !repo.packages.is_empty())
        .collect();
    DockerfileContext {
        os: &os.name,
        title: format!("{}:{}", matrix.image.name, os.name),
        platforms: &images.platforms,
        base: BaseView {
            image: &os.base.image,
            tag: &os.base.tag,
            digest: &os.base.digest,
            reference: base_from.map_or_else(|| os.base_reference(), String::from),
            replaces: base_from.map(|_| os.base_reference()),
        },
        package_manager: match os.package_manager {
            PackageManager::Apt => "apt",
            PackageManager::Dnf => "dnf",
        },
        packages: sorted(&distro),
        groups: distro.into_iter().map(view).collect(),
        repositories,
    }
}

/// Fails, naming each difference and how to regenerate, unless `dir` holds exactly `files`.
pub fn compare_dir(dir: &Path, files: &[Dockerfile]) -> Result<()> {
    let mut differences = Vec::new();
    for file in files {
        let path = dir.join(&file.file_name);
        match std::fs::read_to_string(&path) {
            Ok(text) if text == file.text => {}
            Ok(_) => differences.push(format!("{} differs", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                differences.push(format!("{} is missing", path.display()))
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut extra = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name != MARKER_FILE && !files.iter().any(|f| f.file_name == name) {
            extra.push(name);
        }
    }
    extra.sort();
    differences.extend(
        extra
            .into_iter()
            .map(|n| format!("{} is not one the matrix renders", dir.join(n).display())),
    );
    if !differences.is_empty() {
        bail!(
            "{} has drifted from the matrix definition:\n  {}\nregenerate with `matrix images --out {}`",
            dir.display(),
            differences.join("\n  "),
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dockerfile_per_os_pinned_by_digest() {
        let m = Matrix::builtin().unwrap();
        let files = render_all(&m, &Templates::builtin()).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!(names, ["fedora-40.Dockerfile", "ubuntu-24.04.Dockerfile"]);
        for file in &files {
            let from = file.text.lines().find(|l| l.starts_with("FROM ")).unwrap();
            assert!(from.contains("@sha256:"), "{from}");
            assert!(file.text.ends_with('\n'));
        }
        assert!(files[0]
            .text
            .contains("dnf install -y --setopt=install_weak_deps=False"));
        assert!(files[1]
            .text
            .contains("apt-get install -y --no-install-recommends"));
        assert!(files[1].text.contains("        clang-19 \\\n"));
    }

    #[test]
    fn base_from_replaces_the_pinned_base_and_says_so_in_the_labels() {
        let m = Matrix::builtin().unwrap();
        let files =
            render_with_base(&m, &Templates::builtin(), Some("localhost/ubuntu:24.04")).unwrap();
        let ubuntu = &files[1].text;
        assert!(
            ubuntu.contains("\nFROM localhost/ubuntu:24.04\n"),
            "{ubuntu}"
        );
        assert!(ubuntu.contains(
            "io.github.cpython-matrix.base-replaces=\"docker.io/library/ubuntu:24.04@sha256:"
        ));
        assert!(ubuntu.contains("org.opencontainers.image.base.name=\"localhost/ubuntu:24.04\""));
        assert!(!ubuntu.contains("base.digest"));
        // Without it, the pinned base as before.
        assert_eq!(
            render_with_base(&m, &Templates::builtin(), None).unwrap(),
            render_all(&m, &Templates::builtin()).unwrap()
        );
        for bad in ["", "-x", "a b", "a\nRUN rm -rf /", "x;y", "$(id)"] {
            let err = render_with_base(&m, &Templates::builtin(), Some(bad))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("the base image `"), "{err}");
        }
    }

    #[test]
    fn a_matrix_without_images_says_so() {
        let mut raw =
            crate::definition::RawDefinition::from_yaml(crate::definition::BUILTIN_DEFINITION, "t")
                .unwrap();
        raw.images = None;
        let m = Matrix::compile(raw, "custom.yaml").unwrap();
        let err = render_all(&m, &Templates::builtin())
            .unwrap_err()
            .to_string();
        assert!(err.contains("custom.yaml has no `images` section"), "{err}");
    }
}
