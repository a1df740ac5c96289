//! `matrix workflow` end to end: the real binary's manifests, replayed the way Argo substitutes
//! parameters, give every selected cell exactly once, running exactly the script `matrix render`
//! writes, in its image, on its architecture, with its labels; and they stay within budget.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::Value;

/// Argo's `{{...}}` substitution: every tag must be known (Argo would leave it or fail).
fn substitute(text: &str, scope: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unclosed {{") + start;
        let tag = &rest[start + 2..end];
        out.push_str(
            scope
                .get(tag)
                .unwrap_or_else(|| panic!("unresolved tag {{{{{tag}}}}}")),
        );
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// What one cell's pod gets after Argo's substitutions.
#[derive(Debug)]
pub struct Pod {
    pub script: String,
    pub image: String,
    pub arch: String,
    pub labels: BTreeMap<String, String>,
    pub document: usize,
}

/// Replays the stream: entry steps → `cells` template → `withParam` items → `build` template.
pub fn pods(stream: &str) -> Vec<Pod> {
    let mut pods = Vec::new();
    for (d, doc) in serde_yaml::Deserializer::from_str(stream).enumerate() {
        let doc = Value::deserialize(doc).unwrap();
        let spec = if doc["kind"] == "CronWorkflow" {
            &doc["spec"]["workflowSpec"]
        } else {
            &doc["spec"]
        };
        let templates: BTreeMap<&str, &Value> = spec["templates"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|t| (s(&t["name"]), t))
            .collect();
        let entry = templates[s(&spec["entrypoint"])];
        let inputs_of = |t: &Value| -> BTreeSet<String> {
            t["inputs"]["parameters"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|p| s(&p["name"]).to_string())
                .collect()
        };
        for group in entry["steps"][0].as_sequence().unwrap() {
            let cells = templates[s(&group["template"])];
            let mut scope = BTreeMap::new();
            for p in group["arguments"]["parameters"].as_sequence().unwrap() {
                scope.insert(
                    format!("inputs.parameters.{}", s(&p["name"])),
                    s(&p["value"]).to_string(),
                );
            }
            let given: BTreeSet<String> = scope
                .keys()
                .map(|k| k["inputs.parameters.".len()..].to_string())
                .collect();
            assert_eq!(given, inputs_of(cells), "group arguments = cells inputs");
            let step = &cells["steps"][0][0];
            let list = substitute(s(&step["withParam"]), &scope);
            let items: Vec<BTreeMap<String, String>> = serde_json::from_str(&list).unwrap();
            for item in items {
                let mut item_scope = scope.clone();
                for (k, v) in &item {
                    item_scope.insert(format!("item.{k}"), v.clone());
                }
                let build = templates[s(&step["template"])];
                let mut build_scope = BTreeMap::new();
                for p in step["arguments"]["parameters"].as_sequence().unwrap() {
                    build_scope.insert(
                        format!("inputs.parameters.{}", s(&p["name"])),
                        substitute(s(&p["value"]), &item_scope),
                    );
                }
                let names: BTreeSet<String> = build_scope
                    .keys()
                    .map(|k| k["inputs.parameters.".len()..].to_string())
                    .collect();
                assert_eq!(names, inputs_of(build), "build arguments = build inputs");
                let labels = build["metadata"]["labels"]
                    .as_mapping()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (s(k).to_string(), substitute(s(v), &build_scope)))
                    .collect();
                pods.push(Pod {
                    script: substitute(s(&build["script"]["source"]), &build_scope),
                    image: substitute(s(&build["script"]["image"]), &build_scope),
                    arch: substitute(
                        s(&build["nodeSelector"]["kubernetes.io/arch"]),
                        &build_scope,
                    ),
                    labels,
                    document: d,
                });
            }
        }
    }
    pods
}

use serde::Deserialize;

use crate::common::{matrix, refused, stdout_of};

/// Checks `stream` against what `matrix render` writes for the same selection.
fn check_against_render(stream: &str, config: Option<&Path>, selection: &[&str]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scripts");
    let mut args: Vec<String> = Vec::new();
    if let Some(config) = config {
        args.extend(["--config".into(), config.display().to_string()]);
    }
    args.extend(["render".into(), "--out".into(), out.display().to_string()]);
    args.extend(selection.iter().map(|a| a.to_string()));
    let index = matrix().args(&args).output().unwrap();
    assert!(index.status.success());
    let mut reader = csv::Reader::from_reader(index.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<BTreeMap<String, String>> = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    let pods = pods(stream);
    let mut by_id: BTreeMap<&str, &Pod> = BTreeMap::new();
    for pod in &pods {
        let id = pod.labels["matrix.cpython/cell"].as_str();
        assert!(by_id.insert(id, pod).is_none(), "cell {id} appears twice");
    }
    assert_eq!(by_id.len(), rows.len(), "every cell exactly once");
    for row in &rows {
        let id = row["id"].as_str();
        let pod = by_id
            .get(id)
            .unwrap_or_else(|| panic!("cell {id} is missing"));
        let rendered = std::fs::read_to_string(out.join(format!("{id}.sh"))).unwrap();
        assert!(
            pod.script == rendered,
            "cell {id}: the pod's script differs from render's"
        );
        assert_eq!(pod.image, row["image"], "cell {id}: image");
        assert_eq!(pod.arch, row["platform"], "cell {id}: architecture");
        for axis in &header[3..] {
            assert_eq!(
                pod.labels[&format!("matrix.cpython/{axis}")],
                row[axis],
                "cell {id}: label {axis}"
            );
        }
    }
    pods.iter().map(|p| p.document).max().unwrap() + 1
}

#[test]
fn the_default_matrix_is_one_workflow_that_runs_every_rendered_script() {
    let stream = stdout_of(&["workflow"]);
    assert!(stream.len() <= 256 * 1024, "{} bytes", stream.len());
    let documents = check_against_render(&stream, None, &[]);
    assert_eq!(documents, 1);
    assert_eq!(stream.matches("\nkind: Workflow\n").count(), 1);
}

#[test]
fn the_amd64_analyzer_selection_is_one_small_workflow_of_14_cells() {
    let selection = ["--only", "platform=amd64", "--only", "sanitizer=analyzer"];
    let mut args = vec!["workflow"];
    args.extend(selection);
    let stream = stdout_of(&args);
    assert_eq!(check_against_render(&stream, None, &selection), 1);
    assert_eq!(pods(&stream).len(), 14);
    insta::assert_snapshot!("workflow_amd64_analyzer", stream);
    // The copy committed under workflow/ is what the tool emits, so it cannot drift.
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workflow/amd64-analyzer.yaml"),
    )
    .unwrap();
    assert!(
        committed == stream,
        "workflow/amd64-analyzer.yaml is stale: regenerate it with `matrix workflow --only \
         platform=amd64 --only sanitizer=analyzer > workflow/amd64-analyzer.yaml`"
    );
}

#[test]
fn a_small_budget_splits_into_documents_that_sort_together() {
    let stream = stdout_of(&["workflow", "--max-bytes", "60000"]);
    let texts: Vec<&str> = stream.split("---\n").filter(|t| !t.is_empty()).collect();
    assert!(texts.len() > 2, "{} documents", texts.len());
    for text in &texts {
        assert!(text.len() + 4 <= 60000, "{} bytes", text.len());
    }
    let names: Vec<String> = texts
        .iter()
        .map(|t| {
            let doc: Value = serde_yaml::from_str(t).unwrap();
            s(&doc["metadata"]["generateName"]).to_string()
        })
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.iter().all(|n| n.starts_with("build-cpython-")));
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        names.len(),
        "names are distinct"
    );
    assert_eq!(check_against_render(&stream, None, &[]), texts.len());
}

#[test]
fn other_kinds_carry_the_same_workflow() {
    let stream = stdout_of(&[
        "workflow",
        "--only",
        "sanitizer=tsan",
        "--kind",
        "cron-workflow",
        "--schedule",
        "0 3 * * *",
        "--namespace",
        "ci",
    ]);
    let doc: Value = serde_yaml::from_str(stream.trim_start_matches("---\n")).unwrap();
    assert_eq!(doc["kind"], "CronWorkflow");
    assert_eq!(doc["metadata"]["name"], "build-cpython");
    assert_eq!(doc["metadata"]["namespace"], "ci");
    assert_eq!(doc["spec"]["schedules"][0], "0 3 * * *");
    check_against_render(&stream, None, &["--only", "sanitizer=tsan"]);

    let stream = stdout_of(&[
        "workflow",
        "--only",
        "sanitizer=tsan",
        "--kind",
        "workflow-template",
        "--generate-name",
        "nightly",
    ]);
    let doc: Value = serde_yaml::from_str(stream.trim_start_matches("---\n")).unwrap();
    assert_eq!(doc["kind"], "WorkflowTemplate");
    assert_eq!(doc["metadata"]["name"], "nightly");
}

#[test]
fn knobs_reach_the_manifest() {
    let stream = stdout_of(&[
        "workflow",
        "--only",
        "sanitizer=analyzer",
        "--parallelism",
        "7",
        "--deadline",
        "90m",
        "--cpu",
        "4",
        "--memory",
        "12Gi",
        "--memory-limit",
        "24Gi",
        "--cpu-limit",
        "8",
        "--service-account",
        "builder",
        "--artifact-repository-ref",
        "repos:minio",
        "--registry",
        "ghcr.io/me/",
        "--retry-limit",
        "0",
    ]);
    let doc: Value = serde_yaml::from_str(stream.trim_start_matches("---\n")).unwrap();
    let spec = &doc["spec"];
    assert_eq!(spec["parallelism"], 7);
    assert_eq!(spec["serviceAccountName"], "builder");
    assert_eq!(spec["artifactRepositoryRef"]["configMap"], "repos");
    assert_eq!(spec["artifactRepositoryRef"]["key"], "minio");
    let build = spec["templates"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "build")
        .unwrap();
    assert_eq!(build["activeDeadlineSeconds"], "5400");
    assert!(build.get("retryStrategy").is_none());
    let resources = &build["script"]["resources"];
    assert_eq!(resources["requests"]["cpu"], "4");
    assert_eq!(resources["requests"]["memory"], "12Gi");
    assert_eq!(resources["limits"]["memory"], "24Gi");
    assert_eq!(resources["limits"]["cpu"], "8");
    for pod in pods(&stream) {
        assert!(
            pod.image.starts_with("ghcr.io/me/build-cpython:"),
            "{}",
            pod.image
        );
    }
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    assert_eq!(stdout_of(&["workflow"]), stdout_of(&["workflow"]));
}

#[test]
fn bad_knobs_are_errors_naming_the_value() {
    let err = refused(&["workflow", "--kind", "cron-workflow"]);
    assert!(err.contains("--schedule"), "{err}");
    let err = refused(&["workflow", "--schedule", "0 3 * * *"]);
    assert!(err.contains("only goes with --kind cron-workflow"), "{err}");
    let err = refused(&["workflow", "--memory", "8GB"]);
    assert!(err.contains("--memory `8GB`"), "{err}");
    let err = refused(&["workflow", "--deadline", "4 hours"]);
    assert!(err.contains("`4 hours` is not a duration"), "{err}");
    let err = refused(&["workflow", "--generate-name", "Build_"]);
    assert!(err.contains("`Build_`"), "{err}");
    let err = refused(&["workflow", "--only", "compiler=icc"]);
    assert!(err.contains("gcc, clang, clang-19"), "{err}");
    let err = refused(&["workflow", "--max-bytes", "2000"]);
    assert!(
        err.contains("even one group of cells with the templates is larger; raise --max-bytes"),
        "{err}"
    );
}

#[test]
fn a_script_with_double_braces_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("build.sh.j2"),
        "#!/bin/bash\necho {{ cell.id }} '{{ \"{{\" }}x}}'\n",
    )
    .unwrap();
    let err = refused(&[
        "workflow",
        "--templates",
        dir.path().to_str().unwrap(),
        "--only",
        "sanitizer=analyzer",
    ]);
    assert!(err.contains("has `{{` on line 2"), "{err}");
}

#[test]
fn a_definition_workflow_section_sets_defaults_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = include_str!("../../definition/matrix.yaml");
    let edited = builtin.replace("  parallelism: 3\n", "  parallelism: 5\n");
    assert_ne!(edited, builtin);
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, &edited).unwrap();
    let stream = stdout_of(&[
        "--config",
        path.to_str().unwrap(),
        "workflow",
        "--only",
        "sanitizer=analyzer",
    ]);
    assert!(stream.contains("\n  parallelism: 5\n"));

    std::fs::write(&path, builtin.replace("  memory: 8Gi\n", "  memory: 8GB\n")).unwrap();
    let err = refused(&["--config", path.to_str().unwrap(), "workflow"]);
    assert!(
        err.contains("workflow.memory") && err.contains("8GB"),
        "{err}"
    );

    // Checked when the definition is loaded, by every command, naming the file and the key.
    std::fs::write(&path, builtin.replace("deadline: 4h", "deadline: 4 hours")).unwrap();
    let err = refused(&["--config", path.to_str().unwrap(), "list"]);
    let expected = format!(
        "invalid matrix definition {}: workflow.deadline: `4 hours` is not a duration",
        path.display()
    );
    assert!(err.contains(&expected), "{err}");

    std::fs::write(&path, builtin.replace("  ttl: 7d", "  tll: 7d")).unwrap();
    let err = refused(&["--config", path.to_str().unwrap(), "workflow"]);
    assert!(err.contains("unknown field `tll`"), "{err}");
}

#[test]
fn a_value_yaml_1_1_would_misread_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    let builtin = include_str!("../../definition/matrix.yaml");
    // Argo's YAML reader takes a plain `no` for `false`: the script would change.
    std::fs::write(&path, builtin.replace("value: disabled", "value: \"no\"")).unwrap();
    let config = path.to_str().unwrap();
    // Where the value travels inside the JSON cell list it is safe, and the script is exact.
    let stream = stdout_of(&["--config", config, "workflow"]);
    check_against_render(&stream, Some(&path), &[]);
    // As a plain YAML scalar (a label of a Workflow whose cells all have it) it is refused.
    let err = refused(&["--config", config, "workflow", "--only", "preload=no"]);
    assert!(err.contains("`no`") && err.contains("YAML 1.1"), "{err}");
}

#[test]
fn a_single_cell_is_a_workflow_of_one_pod() {
    let selection = [
        "--only",
        "platform=arm64",
        "--only",
        "os=ubuntu-24.04",
        "--only",
        "python=3.13.0b4",
        "--only",
        "compiler=clang-19",
        "--only",
        "sanitizer=hwasan",
        "--only",
        "san_link=static",
        "--only",
        "hwasan_option=no-globals",
        "--only",
        "preload=enabled",
        "--only",
        "configure=no-gil",
    ];
    let mut args = vec!["workflow"];
    args.extend(selection);
    let stream = stdout_of(&args);
    assert_eq!(check_against_render(&stream, None, &selection), 1);
    assert_eq!(pods(&stream).len(), 1);
}

#[test]
fn a_script_too_large_for_a_pod_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let filler = "# filler line to make the script large\n".repeat(4000);
    std::fs::write(
        dir.path().join("build.sh.j2"),
        format!("#!/bin/bash\necho {{{{ cell.id }}}}\n{filler}"),
    )
    .unwrap();
    let err = refused(&[
        "workflow",
        "--templates",
        dir.path().to_str().unwrap(),
        "--only",
        "sanitizer=analyzer",
    ]);
    assert!(err.contains("Kubernetes allows in one annotation"), "{err}");
}

#[test]
fn the_placeholder_registry_is_warned_of_and_a_real_one_is_not() {
    let selection = ["workflow", "--only", "sanitizer=analyzer"];
    crate::common::matrix()
        .args(selection)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "warning: the registry `registry.example.invalid/cpython-matrix` is a placeholder \
             (`.invalid` never resolves): every pod would fail to pull its image",
        ));
    crate::common::matrix()
        .args(selection)
        .args(["--registry", "ghcr.io/me"])
        .assert()
        .success()
        .stderr("");
}

/// The stream is spooled to a temporary file; without a usable `TMPDIR` it is held in memory
/// instead, and the output is the same.
#[test]
fn without_a_temporary_directory_the_stream_is_the_same() {
    let args = [
        "workflow",
        "--only",
        "platform=amd64",
        "--only",
        "sanitizer=analyzer",
    ];
    let spooled = stdout_of(&args);
    let out = matrix()
        .env("TMPDIR", "/nonexistent/tmp")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), spooled);
}
