//! Every document `matrix workflow` emits is valid against Argo Workflows' own JSON schema
//! (`../shared/argo/schema.json`, v4.1.2), strictly: an object may hold only the keys its
//! schema declares, even where the schema itself would allow more.

use matrix::workflow::schema::ArgoSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::common::{self, matrix};

/// The strict schema, or `None` (with a message) when the file is not there.
fn schema() -> Option<ArgoSchema> {
    let path = common::argo_schema_path("workflow_schema")?;
    Some(ArgoSchema::load(&path).unwrap())
}

fn emit(args: &[&str]) -> Vec<Value> {
    let out = matrix().arg("workflow").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let yaml = serde_yaml::Value::deserialize(doc).unwrap();
            serde_json::to_value(yaml).unwrap()
        })
        .collect()
}

fn assert_valid(kind: &str, args: &[&str]) {
    let Some(schema) = schema() else {
        return;
    };
    let documents = emit(args);
    assert!(!documents.is_empty());
    for (i, doc) in documents.iter().enumerate() {
        assert_eq!(doc["kind"], kind);
        let errors = schema.violations(doc, 10).unwrap();
        assert!(
            errors.is_empty(),
            "document {i} of `matrix workflow {}` is not a valid {kind}:\n{}",
            args.join(" "),
            errors.join("\n")
        );
    }
}

#[test]
fn the_default_matrix_is_a_valid_workflow() {
    assert_valid("Workflow", &[]);
}

#[test]
fn split_documents_with_every_knob_are_valid() {
    assert_valid(
        "Workflow",
        &[
            "--max-bytes",
            "60000",
            "--namespace",
            "ci",
            "--service-account",
            "builder",
            "--artifact-repository-ref",
            "repos:minio",
            "--cpu-limit",
            "4",
        ],
    );
}

#[test]
fn templates_and_cron_workflows_are_valid() {
    assert_valid(
        "WorkflowTemplate",
        &["--kind", "workflow-template", "--only", "sanitizer=tsan"],
    );
    assert_valid(
        "CronWorkflow",
        &[
            "--kind",
            "cron-workflow",
            "--schedule",
            "0 3 * * *",
            "--only",
            "python=3.13.0b4",
        ],
    );
}

#[test]
fn the_strict_check_catches_an_undeclared_key() {
    let Some(schema) = schema() else {
        return;
    };
    let mut doc = emit(&["--only", "sanitizer=analyzer"]).remove(0);
    assert!(schema.violations(&doc, 10).unwrap().is_empty());
    doc["spec"]["templates"][0]["retryPolicy"] = Value::String("OnError".into());
    let found = schema.violations(&doc, 10).unwrap();
    assert!(
        found.iter().any(|v| v.contains("/spec/templates/0")),
        "{found:?}"
    );
}
