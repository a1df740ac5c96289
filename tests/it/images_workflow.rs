//! `matrix images --workflow`: a valid Argo Workflow (strictly, against Argo's own schema)
//! that builds each OS image with BuildKit from exactly the committed Dockerfile.

use std::path::PathBuf;

use matrix::workflow::schema::ArgoSchema;
use predicates::prelude::*;
use serde::Deserialize;

use crate::common::{self, matrix};

fn emit(args: &[&str]) -> serde_json::Value {
    let out = matrix()
        .args(["images", "--workflow"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml =
        serde_yaml::Value::deserialize(serde_yaml::Deserializer::from_slice(&out.stdout)).unwrap();
    serde_json::to_value(yaml).unwrap()
}

#[test]
fn the_image_workflow_is_a_valid_workflow() {
    let Some(path) = common::argo_schema_path("the_image_workflow_is_a_valid_workflow") else {
        return;
    };
    let schema = ArgoSchema::load(&path).unwrap();
    for args in [
        &[][..],
        &[
            "--namespace",
            "ci",
            "--service-account",
            "builder",
            "--registry",
            "ghcr.io/me",
        ][..],
    ] {
        let doc = emit(args);
        let violations = schema.violations(&doc, 10).unwrap();
        assert!(violations.is_empty(), "{violations:#?}");
    }
}

#[test]
fn each_image_is_built_from_the_committed_dockerfile_for_every_platform() {
    let doc = emit(&["--registry", "ghcr.io/me"]);
    let templates = doc["spec"]["templates"].as_array().unwrap();
    for (os, template) in [
        ("fedora-40", &templates[1]),
        ("ubuntu-24.04", &templates[2]),
    ] {
        let committed = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("dockerfiles/{os}.Dockerfile")),
        )
        .unwrap();
        assert_eq!(
            template["inputs"]["artifacts"][0]["raw"]["data"],
            committed.as_str()
        );
        let args: Vec<&str> = template["container"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(
            args.contains(&"platform=linux/amd64,linux/arm64"),
            "{args:?}"
        );
        let output = format!("type=image,name=ghcr.io/me/build-cpython:{os},push=true");
        assert!(args.contains(&output.as_str()), "{args:?}");
    }
}

#[test]
fn workflow_knobs_need_workflow() {
    matrix()
        .args(["images", "--namespace", "ci"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("--workflow"));
}
