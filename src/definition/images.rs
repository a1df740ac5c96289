//! The definition's `images` section: how each OS's build image is made, its YAML form and the
//! checked [`ImagesSpec`]. Every string that reaches a Dockerfile is checked here against a plain
//! alphabet, so the Dockerfile template prints values as they are (a Dockerfile has no general
//! quoting).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::alphabet::{check_file_name, check_package, check_word};
use super::{compile_clause, Axis, RawClause};
use crate::rules::Clause;

// ---------------------------------------------------------------------------------------------
// The YAML form.

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImages {
    /// `linux/amd64`, `linux/arm64`: every image is built for all of them.
    pub platforms: Vec<String>,
    /// Value of the tag axis → how its image is built.
    pub os: BTreeMap<String, RawOsImage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOsImage {
    pub base: RawBaseImage,
    pub package_manager: PackageManager,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<RawRepository>,
    pub packages: Vec<RawPackageGroup>,
    #[serde(default)]
    pub provides: BTreeMap<String, RawProvides>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBaseImage {
    /// Repository without tag or digest: `docker.io/library/fedora`.
    pub image: String,
    /// For people; the digest is what is pulled.
    pub tag: String,
    /// `sha256:` and 64 hexadecimal digits, of the multi-arch index.
    pub digest: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    Apt,
    Dnf,
}

/// An extra apt repository, trusted through one signing key whose fingerprint is pinned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepository {
    pub name: String,
    pub url: String,
    pub suite: String,
    pub components: Vec<String>,
    pub key_url: String,
    /// 40 hexadecimal digits: the primary key the downloaded key file must hold, and only it.
    pub key_fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPackageGroup {
    pub purpose: String,
    /// Which cells of the OS need the group (every cell when empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub when: RawClause,
    /// Install from this entry of `repositories` instead of the distribution's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub install: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvides {
    /// Programs the package puts on PATH.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// Runtime files a compiler finds in it by name (`-print-file-name=`, `-static-lib*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// The compiler commands that find `files` (clang 18 does not search clang 19's
    /// directories); empty: every compiler.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub for_compilers: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The compiled form.

#[derive(Debug, Clone)]
pub struct ImagesSpec {
    pub platforms: Vec<String>,
    /// One per value of the tag axis, in the axis's order.
    pub os: Vec<OsImage>,
}

#[derive(Debug, Clone)]
pub struct OsImage {
    /// The tag axis value (`fedora-40`): the image tag and the Dockerfile's name.
    pub name: String,
    /// Its index in the tag axis.
    pub value: usize,
    pub base: RawBaseImage,
    pub package_manager: PackageManager,
    pub repositories: Vec<RawRepository>,
    pub groups: Vec<PackageGroup>,
    /// Package → what it provides; every key is installed by some group.
    pub provides: BTreeMap<String, RawProvides>,
}

#[derive(Debug, Clone)]
pub struct PackageGroup {
    pub purpose: String,
    pub when: Clause,
    /// Index into the image's `repositories`.
    pub repository: Option<usize>,
    pub install: Vec<String>,
}

impl OsImage {
    /// Every package the image installs, sorted.
    pub fn packages(&self) -> BTreeSet<&str> {
        self.groups
            .iter()
            .flat_map(|g| g.install.iter().map(String::as_str))
            .collect()
    }

    /// `<image>:<tag>@<digest>`, the `FROM` reference.
    pub fn base_reference(&self) -> String {
        format!("{}:{}@{}", self.base.image, self.base.tag, self.base.digest)
    }
}

impl ImagesSpec {
    pub fn for_value(&self, value: usize) -> Option<&OsImage> {
        self.os.iter().find(|os| os.value == value)
    }
}

// ---------------------------------------------------------------------------------------------
// Checking.

/// Compiles the `images` section against the axes; `tag_axis` is the index of `image.tag_axis`.
pub fn compile_images(raw: &RawImages, axes: &[Axis], tag_axis: usize) -> Result<ImagesSpec> {
    let axis = &axes[tag_axis];
    if raw.platforms.is_empty() {
        bail!("images.platforms is empty: give at least one, e.g. linux/amd64");
    }
    let mut seen = BTreeSet::new();
    for platform in &raw.platforms {
        check_platform(platform)?;
        if !seen.insert(platform) {
            bail!("images.platforms lists `{platform}` twice");
        }
    }
    for name in raw.os.keys() {
        if axis.value_index(name).is_none() {
            bail!(
                "images.os has an entry for `{name}`, which is not a value of axis `{}` \
                 (image.tag_axis); its values are: {}",
                axis.name,
                axis.value_names().join(", ")
            );
        }
    }
    let mut os = Vec::with_capacity(axis.values.len());
    for (value, axis_value) in axis.values.iter().enumerate() {
        let raw_os = raw.os.get(&axis_value.name).with_context(|| {
            format!(
                "images.os has no entry for `{}`: every value of axis `{}` (image.tag_axis) \
                 needs an image",
                axis_value.name, axis.name
            )
        })?;
        os.push(
            compile_os(&axis_value.name, value, raw_os, axes)
                .with_context(|| format!("in images.os.{}", axis_value.name))?,
        );
    }
    Ok(ImagesSpec {
        platforms: raw.platforms.clone(),
        os,
    })
}

fn compile_os(name: &str, value: usize, raw: &RawOsImage, axes: &[Axis]) -> Result<OsImage> {
    check_reference(&raw.base.image)?;
    check_tag(&raw.base.tag)?;
    check_digest(&raw.base.digest)?;
    check_repositories(raw)?;
    let (groups, installed) = compile_groups(raw, axes)?;
    check_provides(raw, &installed)?;
    Ok(OsImage {
        name: name.to_string(),
        value,
        base: raw.base.clone(),
        package_manager: raw.package_manager,
        repositories: raw.repositories.clone(),
        groups,
        provides: raw.provides.clone(),
    })
}

/// The extra apt repositories: each named once, reached by https, and pinned to its key.
fn check_repositories(raw: &RawOsImage) -> Result<()> {
    if raw.package_manager == PackageManager::Dnf && !raw.repositories.is_empty() {
        bail!("`repositories` are apt repositories; this image uses dnf");
    }
    let mut repo_names = BTreeSet::new();
    for repo in &raw.repositories {
        check_word("repository name", &repo.name)?;
        if !repo_names.insert(repo.name.as_str()) {
            bail!("repository `{}` is defined twice", repo.name);
        }
        check_repository(repo)?;
    }
    Ok(())
}

/// One repository's URLs, suite, components and key fingerprint.
fn check_repository(repo: &RawRepository) -> Result<()> {
    let what = format!("repository `{}`", repo.name);
    check_url(&format!("url of {what}"), &repo.url)?;
    check_url(&format!("key_url of {what}"), &repo.key_url)?;
    check_word(&format!("suite of {what}"), &repo.suite)?;
    if repo.components.is_empty() {
        bail!("{what} has no components (e.g. `main`)");
    }
    for component in &repo.components {
        check_word(&format!("component of {what}"), component)?;
    }
    if repo.key_fingerprint.len() != 40
        || !repo.key_fingerprint.bytes().all(|b| b.is_ascii_hexdigit())
        || repo.key_fingerprint.bytes().any(|b| b.is_ascii_lowercase())
    {
        bail!(
            "key_fingerprint of {what} is `{}`; give the key's 40-digit fingerprint in \
             upper-case hexadecimal, as `gpg --with-colons` prints it",
            repo.key_fingerprint.escape_debug()
        );
    }
    Ok(())
}

/// The package groups, and per package the number of the group that installs it (no package
/// is in two groups).
fn compile_groups<'a>(
    raw: &'a RawOsImage,
    axes: &[Axis],
) -> Result<(Vec<PackageGroup>, BTreeMap<&'a str, usize>)> {
    if raw.packages.is_empty() {
        bail!("`packages` is empty: an image needs at least the tools the build script calls");
    }
    let mut installed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut groups = Vec::with_capacity(raw.packages.len());
    for (i, group) in raw.packages.iter().enumerate() {
        let what = format!("package group #{} ({})", i + 1, group.purpose);
        if group.purpose.trim().is_empty() || group.purpose.contains(['\n', '\r']) {
            bail!(
                "package group #{}: `purpose` must be one non-empty line",
                i + 1
            );
        }
        if group.install.is_empty() {
            bail!("{what}: `install` is empty");
        }
        for package in &group.install {
            check_package(package).with_context(|| what.clone())?;
            if let Some(other) = installed.insert(package, i + 1) {
                bail!("{what} installs `{package}`, which package group #{other} installs too");
            }
        }
        let repository = match &group.repository {
            None => None,
            Some(repo) => Some(
                raw.repositories
                    .iter()
                    .position(|r| &r.name == repo)
                    .with_context(|| {
                        format!(
                            "{what} names repository `{repo}`, which `repositories` does not \
                             define"
                        )
                    })?,
            ),
        };
        groups.push(PackageGroup {
            purpose: group.purpose.clone(),
            when: compile_clause(axes, &group.when, &format!("`when` of {what}"))?,
            repository,
            install: group.install.clone(),
        });
    }
    Ok((groups, installed))
}

/// `provides` describes installed packages only, with plain file names, and names as compilers
/// only commands the image provides.
fn check_provides(raw: &RawOsImage, installed: &BTreeMap<&str, usize>) -> Result<()> {
    for (package, provides) in &raw.provides {
        if !installed.contains_key(package.as_str()) {
            bail!(
                "`provides` describes package `{package}`, which no package group installs; \
                 install it or drop its entry"
            );
        }
        for command in &provides.commands {
            check_file_name(&format!("command of `{package}`"), command)?;
        }
        for file in &provides.files {
            check_file_name(&format!("file of `{package}`"), file)?;
        }
        for compiler in &provides.for_compilers {
            if !raw.provides.values().any(|p| p.commands.contains(compiler)) {
                bail!(
                    "`provides` of `{package}` names compiler `{compiler}` in `for_compilers`, \
                     which no package of the image provides as a command"
                );
            }
        }
    }
    Ok(())
}

fn check_platform(platform: &str) -> Result<()> {
    let parts: Vec<&str> = platform.split('/').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts[0] == "linux"
        && parts[1..].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !ok {
        bail!(
            "images.platforms: `{}` is not a platform; write linux/<arch>[/<variant>], \
             e.g. linux/amd64 or linux/arm64",
            platform.escape_debug()
        );
    }
    Ok(())
}

/// A repository reference without tag or digest: registry host (with port), path.
fn check_reference(image: &str) -> Result<()> {
    let segments = image.split('/').count();
    let ok = !image.is_empty()
        && image.split('/').enumerate().all(|(i, part)| {
            !part.is_empty()
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                && part.bytes().all(|b| {
                    b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || matches!(b, b'.' | b'_' | b'-')
                        // host:port, only in a registry host (the first of several)
                        || (i == 0 && segments > 1 && b == b':')
                })
        });
    if !ok {
        bail!(
            "base.image `{}` is not an image repository; write e.g. docker.io/library/fedora, \
             without tag or digest (those are `tag` and `digest`)",
            image.escape_debug()
        );
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<()> {
    let ok = (1..=128).contains(&tag.len())
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        bail!("base.tag `{}` is not an image tag", tag.escape_debug());
    }
    if tag == "latest" {
        bail!("base.tag is `latest`: name the release (e.g. `40`), so people can read what the digest pins");
    }
    Ok(())
}

fn check_digest(digest: &str) -> Result<()> {
    let hex = digest.strip_prefix("sha256:").unwrap_or("");
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        bail!(
            "base.digest `{}` is not `sha256:` and 64 lower-case hexadecimal digits; \
             `docker buildx imagetools inspect <image>:<tag>` prints the index digest",
            digest.escape_debug()
        );
    }
    Ok(())
}

/// A repository URL of a package source: https, and only characters that need no quoting in
/// the Dockerfile's shell lines.
fn check_url(what: &str, url: &str) -> Result<()> {
    let rest = url.strip_prefix("https://").unwrap_or("");
    let ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b'~'));
    if !ok {
        bail!(
            "{what} `{}` is not an https URL of letters, digits and . _ - / ~",
            url.escape_debug()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{Matrix, RawDefinition, BUILTIN_DEFINITION};

    fn with_builtin(edit: impl FnOnce(&mut RawImages)) -> Result<Matrix> {
        let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "test").unwrap();
        edit(raw.images.as_mut().unwrap());
        Matrix::compile(raw, "test")
    }

    fn error(edit: impl FnOnce(&mut RawImages)) -> String {
        format!("{:#}", with_builtin(edit).unwrap_err())
    }

    #[test]
    fn the_builtin_images_compile_in_axis_order() {
        let m = Matrix::builtin().unwrap();
        let images = m.images.as_ref().unwrap();
        let names: Vec<_> = images.os.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["fedora-40", "ubuntu-24.04"]);
        assert_eq!(images.platforms, ["linux/amd64", "linux/arm64"]);
        assert!(images.os[1].packages().contains("clang-19"));
    }

    #[test]
    fn every_os_needs_an_image_and_no_image_without_an_os() {
        let err = error(|raw| {
            raw.os.remove("ubuntu-24.04");
        });
        assert!(
            err.contains("images.os has no entry for `ubuntu-24.04`"),
            "{err}"
        );
        let err = error(|raw| {
            let fedora = raw.os["fedora-40"].clone();
            raw.os.insert("debian-12".into(), fedora);
        });
        assert!(
            err.contains("`debian-12`") && err.contains("fedora-40, ubuntu-24.04"),
            "{err}"
        );
    }

    #[test]
    fn base_images_are_pinned_by_digest_and_never_latest() {
        let err =
            error(|raw| raw.os.get_mut("fedora-40").unwrap().base.digest = "sha256:abc".into());
        assert!(
            err.contains("in images.os.fedora-40") && err.contains("base.digest"),
            "{err}"
        );
        let err = error(|raw| raw.os.get_mut("fedora-40").unwrap().base.tag = "latest".into());
        assert!(err.contains("`latest`"), "{err}");
        let err = error(|raw| raw.os.get_mut("fedora-40").unwrap().base.image = "fedora:40".into());
        assert!(err.contains("without tag or digest"), "{err}");
    }

    #[test]
    fn package_names_are_checked_and_unique() {
        let err = error(|raw| {
            raw.os.get_mut("fedora-40").unwrap().packages[0]
                .install
                .push("--nogpgcheck".into())
        });
        assert!(
            err.contains("`--nogpgcheck` is not a package name"),
            "{err}"
        );
        let err = error(|raw| {
            raw.os.get_mut("fedora-40").unwrap().packages[1]
                .install
                .push("make".into())
        });
        assert!(
            err.contains("installs `make`, which package group #1 installs too"),
            "{err}"
        );
    }

    #[test]
    fn provides_may_only_describe_installed_packages() {
        let err = error(|raw| {
            let fedora = raw.os.get_mut("fedora-40").unwrap();
            for group in &mut fedora.packages {
                group.install.retain(|p| p != "lld");
            }
        });
        assert!(
            err.contains("`provides` describes package `lld`, which no package group installs"),
            "{err}"
        );
    }

    #[test]
    fn repositories_are_apt_only_pinned_and_named() {
        let err = error(|raw| {
            let ubuntu = raw.os.get_mut("ubuntu-24.04").unwrap();
            ubuntu.repositories[0].key_fingerprint = "15CF4D18AF4F7421".into();
        });
        assert!(err.contains("40-digit fingerprint"), "{err}");
        let err = error(|raw| {
            let ubuntu = raw.os.get_mut("ubuntu-24.04").unwrap();
            ubuntu.repositories[0].url = "http://apt.llvm.org/noble/".into();
        });
        assert!(err.contains("not an https URL"), "{err}");
        let err = error(|raw| {
            let ubuntu = raw.os.get_mut("ubuntu-24.04").unwrap();
            let group = ubuntu.packages.last_mut().unwrap();
            group.repository = Some("llvm".into());
        });
        assert!(err.contains("names repository `llvm`"), "{err}");
        let err = error(|raw| {
            let ubuntu = raw.os["ubuntu-24.04"].repositories.clone();
            raw.os.get_mut("fedora-40").unwrap().repositories = ubuntu;
        });
        assert!(err.contains("this image uses dnf"), "{err}");
    }

    #[test]
    fn a_group_condition_names_real_axes_and_values() {
        let err = error(|raw| {
            raw.os.get_mut("fedora-40").unwrap().packages[2]
                .when
                .insert(
                    "compiler".into(),
                    crate::definition::RawCondition::One("icc".into()),
                );
        });
        assert!(err.contains("unknown value `icc`"), "{err}");
    }
}
