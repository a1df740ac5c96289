//! `matrix check` lints one script per *shape* (src/check.rs): scripts that differ only in the
//! letters and digits of words the shell escape produced. Here the assumption behind that is
//! put to the test with templates and values chosen to draw findings that depend on a value:
//! `$` inside quotes (shellcheck's SC2016) and a reserved word where a command starts (a
//! syntax error). Every script of a shape must get the findings of every other.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use matrix::definition::Matrix;
use matrix::render::Renderer;
use matrix::selection::{select_cells, Filter, Selection};

use crate::common::{self, matrix, replace_once, BUILTIN_DEFINITION};

const TEMPLATE: &str = r#"#!/usr/bin/env bash
# Cell {{ cell.id }}
{% for var in plan.env %}export {{ var.name ~ "=" ~ var.value }}
{% endfor %}{{ plan.configure_args }} true
echo "$PROBE"
"#;

/// The built-in definition with probes: `$HOME` and `$PATH` (one shape) and `plain` as a
/// value, and `fi` as the release flavour's configure argument.
fn probing_definition() -> String {
    replace_once(
        &replace_once(
            BUILTIN_DEFINITION,
            "contributions:\n",
            "contributions:\n\
             \x20 - when: { compiler: gcc }\n    env: { PROBE: \"$HOME\" }\n\
             \x20 - when: { compiler: clang }\n    env: { PROBE: \"$PATH\" }\n\
             \x20 - when: { compiler: clang-19 }\n    env: { PROBE: plain }\n",
        ),
        "    configure: [--enable-optimizations]\n",
        "    configure: [fi]\n",
    )
}

/// What the linters say about one script, with its file name left out.
fn findings(path: &Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    let bash = Command::new("bash").arg("-n").arg(path).output().unwrap();
    let shellcheck = Command::new("shellcheck")
        .args(["--severity=style", "--format=gcc"])
        .arg(path)
        .output()
        .unwrap();
    format!(
        "bash -n: {:?} {}\nshellcheck: {}",
        bash.status.code(),
        String::from_utf8_lossy(&bash.stderr),
        String::from_utf8_lossy(&shellcheck.stdout)
    )
    .replace(&path.display().to_string(), "SCRIPT")
    .replace(name, "SCRIPT")
}

#[test]
fn scripts_of_one_shape_get_the_same_findings() {
    let test = "scripts_of_one_shape_get_the_same_findings";
    if common::tool(test, "shellcheck", "apt-get install shellcheck", &[]).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    fs::create_dir(&templates).unwrap();
    fs::write(templates.join("build.sh.j2"), TEMPLATE).unwrap();
    let matrix = Matrix::from_yaml(&probing_definition(), "probes").unwrap();
    let renderer = Renderer::from_dir(&templates).unwrap();
    let selection = Selection {
        only: vec![
            "platform=amd64".parse::<Filter>().unwrap(),
            "os=ubuntu-24.04".parse().unwrap(),
            "python=3.12.4".parse().unwrap(),
        ],
        ..Selection::default()
    };
    let cells = select_cells(&matrix, &selection).unwrap();
    let scripts = renderer.render_all(&matrix, &cells).unwrap();
    let shapes = renderer.shapes().render_all(&matrix, &cells).unwrap();

    let mut by_shape: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (script, shape) in scripts.iter().zip(&shapes) {
        let path = dir.path().join(&script.file_name);
        fs::write(&path, &script.text).unwrap();
        by_shape
            .entry(shape.text.as_str())
            .or_default()
            .push(findings(&path));
    }
    let clean = findings_of_a_clean_script(dir.path());
    let mut shared_findings = 0;
    for (shape, found) in &by_shape {
        assert!(
            found.iter().all(|f| f == &found[0]),
            "one shape, different findings:\n{shape}\n{found:#?}"
        );
        if found[0] != clean && found.len() > 1 {
            shared_findings += 1;
        }
    }
    // The probes must draw findings, or this proves nothing.
    let all: Vec<&String> = by_shape.values().flatten().collect();
    assert!(all.iter().any(|f| f.contains("SC2016")), "no SC2016 drawn");
    assert!(
        all.iter().any(|f| f.contains("bash -n: Some(2)")),
        "no syntax error drawn"
    );
    assert!(all.iter().any(|f| **f == clean), "no clean script");
    assert!(
        shared_findings > 0,
        "no shape with several scripts and findings"
    );
    assert!(by_shape.len() < scripts.len(), "every script its own shape");
}

fn findings_of_a_clean_script(dir: &Path) -> String {
    let path = dir.join("clean.sh");
    fs::write(&path, "#!/usr/bin/env bash\necho hello\n").unwrap();
    findings(&path)
}

/// `matrix check` reports a finding once per shape and says how many scripts share it.
#[test]
fn check_reports_each_finding_once_per_shape() {
    let test = "check_reports_each_finding_once_per_shape";
    if common::tool(test, "shellcheck", "apt-get install shellcheck", &[]).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    fs::create_dir(&templates).unwrap();
    fs::write(templates.join("build.sh.j2"), TEMPLATE).unwrap();
    let config = dir.path().join("probes.yaml");
    fs::write(&config, probing_definition()).unwrap();
    let out = matrix()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .arg("--templates")
        .arg(&templates)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[SC2016]"), "{text}");
    assert!(text.contains("bash -n: "), "{text}");
    assert!(text.contains("of the same shape)"), "{text}");
    assert!(text.contains("742 scripts checked as "), "{text}");
}
