//! The Rust version the project says it needs is true: no dependency of the product (normal
//! and build dependencies, for this platform) asks for a newer one, the tests' own needs are
//! said apart, and the README says both. Our own code is held to the same version by clippy's
//! `incompatible_msrv` lint, which `.ci/run` runs with warnings denied; no older toolchain
//! can be fetched here to build with it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

use crate::common;

/// `1.85`, `1.85.0` → (1, 85).
fn minor(version: &str) -> (u64, u64) {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap_or(0))
}

/// `cargo metadata` of the project, resolved for the platform the tests run on.
fn metadata() -> Value {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let rustc = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8(rustc.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap();
    let output = Command::new(cargo)
        .current_dir(common::project_root())
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", &host])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The highest `rust-version` among the packages reachable from `root` through dependencies
/// of the kinds `kinds` take (normal, build, dev) at the first step and through normal and
/// build dependencies after it, with the package that asks for it.
fn needed(meta: &Value, root: &str, kinds: &[Option<&str>]) -> ((u64, u64), String) {
    let packages: BTreeMap<&str, &Value> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p))
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let mut seen = BTreeSet::new();
    let mut todo = vec![(root, true)];
    let mut highest = ((0, 0), String::from("nothing"));
    while let Some((id, first)) = todo.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let allowed = if first { kinds } else { &[None, Some("build")] };
            let reached = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| allowed.contains(&k["kind"].as_str()));
            let pkg = dep["pkg"].as_str().unwrap();
            if reached && seen.insert(pkg) {
                let package = packages[pkg];
                if let Some(version) = package["rust_version"].as_str() {
                    let name = format!(
                        "{} {}",
                        package["name"].as_str().unwrap(),
                        package["version"].as_str().unwrap()
                    );
                    highest = highest.max((minor(version), name));
                }
                todo.push((pkg, false));
            }
        }
    }
    highest
}

#[test]
fn the_declared_rust_version_is_what_the_dependencies_need_and_the_readme_says_it() {
    let meta = metadata();
    let root = meta["resolve"]["root"].as_str().unwrap().to_owned();
    let ours = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == root.as_str())
        .unwrap();
    let declared = minor(ours["rust_version"].as_str().expect("no rust-version"));
    let (product, by) = needed(&meta, &root, &[None, Some("build")]);
    assert!(
        declared >= product,
        "rust-version {declared:?} is older than {by} needs ({product:?})"
    );
    let (tests, tests_by) = needed(&meta, &root, &[None, Some("build"), Some("dev")]);
    let readme = std::fs::read_to_string(common::project_root().join("README.adoc")).unwrap();
    let said = if tests > declared {
        format!(
            "Rust toolchain ({}.{} or later; the tests need {}.{}",
            declared.0, declared.1, tests.0, tests.1
        )
    } else {
        format!("Rust toolchain ({}.{} or later", declared.0, declared.1)
    };
    assert!(
        readme.contains(&said),
        "README should say {said:?} (the tests' {tests:?} is {tests_by}'s)"
    );
}
