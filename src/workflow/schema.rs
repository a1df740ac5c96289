//! Argo's own JSON schema, applied strictly: an object may hold only the keys its schema
//! declares, even where the schema itself would let unknown keys through (Argo ignores them
//! silently, so a typo'd key would be lost without a word).

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// A compiled validator for each kind of document `matrix` emits.
pub struct ArgoSchema {
    full: Value,
    origin: String,
}

impl ArgoSchema {
    /// Loads Argo's `api/jsonschema/schema.json` (for example v4.1.2's).
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::input::read_text(path, "Argo schema", crate::input::limit::SCHEMA)?;
        let mut full: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        if full.get("definitions").is_none() {
            anyhow::bail!(
                "{} has no `definitions`: it is not Argo's JSON schema",
                path.display()
            );
        }
        close_objects(&mut full);
        Ok(ArgoSchema {
            full,
            origin: path.display().to_string(),
        })
    }

    /// Every violation in `document` (a Workflow, WorkflowTemplate or CronWorkflow, by its
    /// `kind`), as "message at /json/pointer", at most `limit` of them.
    pub fn violations(&self, document: &Value, limit: usize) -> Result<Vec<String>> {
        let kind = document["kind"]
            .as_str()
            .context("the document has no `kind`")?;
        let definition = format!("io.argoproj.workflow.v1alpha1.{kind}");
        if self.full["definitions"].get(&definition).is_none() {
            anyhow::bail!("{} does not define {definition}", self.origin);
        }
        let mut schema = serde_json::json!({
            "definitions": self.full["definitions"],
            "$ref": format!("#/definitions/{definition}"),
        });
        if let Some(draft) = self.full.get("$schema") {
            schema["$schema"] = draft.clone();
        }
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| anyhow::anyhow!("cannot compile {}: {e}", self.origin))?;
        Ok(validator
            .iter_errors(document)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .take(limit)
            .collect())
    }
}

/// Adds `additionalProperties: false` to every object schema that declares properties and
/// says nothing about others.
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_objects_rejects_undeclared_keys() {
        let mut schema = serde_json::json!({
            "definitions": { "io.argoproj.workflow.v1alpha1.Workflow": {
                "type": "object",
                "properties": { "kind": { "type": "string" }, "spec": { "type": "object", "properties": { "a": {} } } }
            }}
        });
        close_objects(&mut schema);
        let argo = ArgoSchema {
            full: schema,
            origin: "test".into(),
        };
        let good = serde_json::json!({ "kind": "Workflow", "spec": { "a": 1 } });
        assert!(argo.violations(&good, 10).unwrap().is_empty());
        let typo = serde_json::json!({ "kind": "Workflow", "spec": { "b": 1 } });
        let found = argo.violations(&typo, 10).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("/spec"), "{found:?}");
    }
}
