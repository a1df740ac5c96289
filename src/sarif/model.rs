//! The parts of a SARIF 2.1.0 log that findings are made of (typed serde structs), and turning
//! one log into the diagnostics it reports.
//!
//! Everything else in a log (tool metadata, taxonomies, artifact contents, code flows) is skipped
//! by serde without being built, which keeps parsing of multi-megabyte GCC logs cheap.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A SARIF log. `runs` is the only required member we need.
#[derive(Debug, Deserialize)]
pub struct Log {
    pub runs: Vec<Run>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Absent when the tool ran and found nothing.
    #[serde(default)]
    pub results: Vec<ResultObject>,
    /// Base URIs for relative artifact locations (GCC: `PWD` → `file:///src/Python-3.13.0b4/`).
    #[serde(default)]
    pub original_uri_base_ids: BTreeMap<String, ArtifactLocation>,
    /// Only the locations, for results that refer to an artifact by index.
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Deserialize)]
pub struct Artifact {
    pub location: Option<ArtifactLocation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultObject {
    /// GCC's warning option, e.g. `-Wanalyzer-null-dereference`.
    pub rule_id: Option<String>,
    pub message: Message,
    #[serde(default)]
    pub locations: Vec<Location>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub text: Option<String>,
    /// A message may be given by reference to the rule's message strings instead of as text.
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub physical_location: Option<PhysicalLocation>,
    #[serde(default)]
    pub logical_locations: Vec<LogicalLocation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: Option<ArtifactLocation>,
    pub region: Option<Region>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    pub uri: Option<String>,
    pub uri_base_id: Option<String>,
    pub index: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    pub fully_qualified_name: Option<String>,
    pub name: Option<String>,
}

/// One result of one log, reduced to what a finding is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The primary location's artifact URI, resolved against its base id (see [`Run::resolve_uri`]);
    /// `None` when the result has no physical location (GCC emits a few such).
    pub uri: Option<String>,
    pub line: Option<u64>,
    pub rule: Option<String>,
    pub message: String,
    /// The function the primary location is in, if the log says.
    pub function: Option<String>,
}

/// Parses a SARIF log. The error is serde_json's, which names the line and column.
pub fn parse(bytes: &[u8]) -> Result<Vec<Diagnostic>, serde_json::Error> {
    let log: Log = serde_json::from_slice(bytes)?;
    Ok(log.runs.iter().flat_map(Run::diagnostics).collect())
}

impl Run {
    fn diagnostics(&self) -> impl Iterator<Item = Diagnostic> + '_ {
        self.results.iter().map(|result| {
            // SARIF: the first location is the primary one; further ones are alternatives.
            let primary = result.locations.first();
            let physical = primary.and_then(|l| l.physical_location.as_ref());
            let uri = physical
                .and_then(|p| p.artifact_location.as_ref())
                .and_then(|a| self.resolve_uri(a));
            let line = physical
                .and_then(|p| p.region.as_ref())
                .and_then(|r| r.start_line);
            let function = primary
                .and_then(|l| l.logical_locations.first())
                .and_then(|l| l.fully_qualified_name.clone().or_else(|| l.name.clone()));
            let message = match (&result.message.text, &result.message.id) {
                (Some(text), _) => text.clone(),
                (None, Some(id)) => format!("(message id {id})"),
                (None, None) => String::new(),
            };
            Diagnostic {
                uri,
                line,
                rule: result.rule_id.clone(),
                message,
                function,
            }
        })
    }

    /// The artifact's URI with its `uriBaseId` chain applied (`./Objects/x.c` + `PWD` =
    /// `file:///src/Python-3.12.4/` → `file:///src/Python-3.12.4/./Objects/x.c`), or the URI of
    /// `run.artifacts[index]` when the location refers to one by index.
    fn resolve_uri(&self, location: &ArtifactLocation) -> Option<String> {
        let mut location = location.clone();
        if location.uri.is_none() {
            let indexed = location
                .index
                .and_then(|i| self.artifacts.get(i))
                .and_then(|a| a.location.clone())?;
            location = indexed;
        }
        let mut uri = location.uri?;
        let mut base_id = location.uri_base_id;
        // Base ids may chain; a bounded walk keeps a cyclic definition from looping.
        for _ in 0..8 {
            let Some(id) = base_id.take() else { break };
            let Some(base) = self.original_uri_base_ids.get(&id) else {
                break;
            };
            if let Some(prefix) = &base.uri {
                if !is_absolute(&uri) {
                    uri = join(prefix, &uri);
                }
            }
            base_id = base.uri_base_id.clone();
        }
        Some(uri)
    }
}

fn is_absolute(uri: &str) -> bool {
    uri.starts_with('/') || uri.contains("://") || uri.starts_with("file:")
}

fn join(base: &str, relative: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{relative}")
    } else {
        format!("{base}/{relative}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_minimal_gcc_like_log() {
        let log = br#"{"version": "2.1.0", "runs": [{
            "tool": {"driver": {"name": "GNU C11", "rules": []}},
            "originalUriBaseIds": {"PWD": {"uri": "file:///src/Python-3.14.0/"}},
            "artifacts": [{"location": {"uri": "./Objects/a.c", "uriBaseId": "PWD"},
                           "contents": {"text": "int x;\n"}}],
            "results": [{"ruleId": "-Wanalyzer-null-dereference", "level": "warning",
                "message": {"text": "dereference of NULL 'p'"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "./Objects/a.c", "uriBaseId": "PWD"},
                    "region": {"startLine": 12, "startColumn": 3}},
                  "logicalLocations": [{"name": "f", "fullyQualifiedName": "f.part.0"}]}],
                "codeFlows": [{"threadFlows": []}]}]}]}"#;
        let found = parse(log).unwrap();
        assert_eq!(
            found,
            vec![Diagnostic {
                uri: Some("file:///src/Python-3.14.0/./Objects/a.c".into()),
                line: Some(12),
                rule: Some("-Wanalyzer-null-dereference".into()),
                message: "dereference of NULL 'p'".into(),
                function: Some("f.part.0".into()),
            }]
        );
    }

    #[test]
    fn tolerates_missing_optional_members() {
        let log = br#"{"runs": [
            {"tool": {}},
            {"results": [
                {"message": {"text": "no location at all"}},
                {"message": {"id": "default"}, "locations": [{"logicalLocations": [{"name": "g"}]}]},
                {"ruleId": "r", "message": {"text": "by index"},
                 "locations": [{"physicalLocation": {"artifactLocation": {"index": 0}}}]}],
             "artifacts": [{"location": {"uri": "Python/x.c"}}]}]}"#;
        let found = parse(log).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].uri, None);
        assert_eq!(found[0].line, None);
        assert_eq!(found[1].message, "(message id default)");
        assert_eq!(found[1].function.as_deref(), Some("g"));
        assert_eq!(found[2].uri.as_deref(), Some("Python/x.c"));
        assert_eq!(found[2].line, None);
    }

    #[test]
    fn absolute_uris_ignore_the_base() {
        let log = br#"{"runs": [{"originalUriBaseIds": {"PWD": {"uri": "file:///b/"}},
            "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": "/usr/include/stdio.h", "uriBaseId": "PWD"},
                "region": {"startLine": 1}}}]}]}]}"#;
        assert_eq!(
            parse(log).unwrap()[0].uri.as_deref(),
            Some("/usr/include/stdio.h")
        );
    }

    #[test]
    fn malformed_json_names_the_position() {
        let err = parse(b"{\"runs\": [\n{\"results\": [}]}").unwrap_err();
        assert_eq!((err.line(), err.column()), (2, 14));
        let err = parse(b"{\"version\": \"2.1.0\"}").unwrap_err();
        assert!(err.to_string().contains("missing field `runs`"), "{err}");
    }
}
