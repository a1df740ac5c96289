//! `docker-bake.json`: one buildx bake target per OS image, built for every platform of the
//! definition and tagged as the cells expect. JSON (bake reads it as it reads HCL) so serde
//! does the quoting.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Serialize;

use super::dockerfile::{file_name, images_of};
use crate::definition::Matrix;

#[derive(Debug, Serialize)]
pub struct BakeFile {
    pub group: BTreeMap<String, BakeGroup>,
    pub target: BTreeMap<String, BakeTarget>,
}

#[derive(Debug, Serialize)]
pub struct BakeGroup {
    pub targets: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BakeTarget {
    /// The directory holding the Dockerfiles (the images copy nothing from it).
    pub context: String,
    /// Relative to `context`.
    pub dockerfile: String,
    pub platforms: Vec<String>,
    pub tags: Vec<String>,
}

/// Bake allows `[A-Za-z0-9_-]` in target names; OS values may hold dots (`ubuntu-24.04`).
pub fn target_name(os: &str) -> String {
    os.replace('.', "_")
}

/// The bake file for the Dockerfiles written to `dockerfile_dir`, tagged under `registry`.
pub fn bake_file(matrix: &Matrix, registry: &str, dockerfile_dir: &str) -> Result<BakeFile> {
    let images = images_of(matrix)?;
    if registry.is_empty() || registry.chars().any(|c| c.is_whitespace() || c == '$') {
        bail!(
            "registry `{}` is not usable in an image reference",
            registry.escape_debug()
        );
    }
    // Bake interpolates `${...}` in every string, so a `$` cannot pass through unchanged.
    if dockerfile_dir.contains('$') {
        bail!(
            "the Dockerfile directory `{}` has a `$`, which docker buildx bake would interpolate",
            dockerfile_dir.escape_debug()
        );
    }
    let mut target = BTreeMap::new();
    let mut names = Vec::new();
    for os in &images.os {
        let name = target_name(&os.name);
        let bake_target = BakeTarget {
            context: dockerfile_dir.to_string(),
            dockerfile: file_name(&os.name),
            platforms: images.platforms.clone(),
            tags: vec![matrix.image.reference(registry, &os.name)],
        };
        if target.insert(name.clone(), bake_target).is_some() {
            bail!(
                "two OS values become the bake target `{name}` (dots become underscores); \
                 rename one"
            );
        }
        names.push(name);
    }
    Ok(BakeFile {
        group: BTreeMap::from([("default".to_string(), BakeGroup { targets: names })]),
        target,
    })
}

/// The bake file as pretty JSON with a final newline.
pub fn bake_json(matrix: &Matrix, registry: &str, dockerfile_dir: &str) -> Result<String> {
    let mut text = serde_json::to_string_pretty(&bake_file(matrix, registry, dockerfile_dir)?)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::{expand, ValueMask};

    #[test]
    fn every_os_is_a_multi_arch_target_tagged_as_its_cells_expect() {
        let m = Matrix::builtin().unwrap();
        let bake = bake_file(&m, "ghcr.io/me/", "dockerfiles").unwrap();
        assert_eq!(bake.group["default"].targets, ["fedora-40", "ubuntu-24_04"]);
        let ubuntu = &bake.target["ubuntu-24_04"];
        assert_eq!(ubuntu.dockerfile, "ubuntu-24.04.Dockerfile");
        assert_eq!(ubuntu.platforms, ["linux/amd64", "linux/arm64"]);
        // Every cell's image is one the bake file builds.
        let tags: Vec<&String> = bake.target.values().flat_map(|t| &t.tags).collect();
        for cell in expand(&m, &ValueMask::all(&m)).unwrap() {
            assert!(
                tags.contains(&&cell.image(&m, "ghcr.io/me/")),
                "{}",
                cell.id
            );
        }
    }

    #[test]
    fn hostile_registries_are_refused_and_json_is_quoted_by_serde() {
        let m = Matrix::builtin().unwrap();
        assert!(bake_json(&m, "a b", "d").is_err());
        assert!(bake_json(&m, "${X}", "d").is_err());
        assert!(bake_json(&m, "r", "out$dir").is_err());
        let text = bake_json(&m, "r.example", "dir \"quoted\"").unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["target"]["fedora-40"]["context"], "dir \"quoted\"");
    }
}
