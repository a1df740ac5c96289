//! The rendered build scripts: the spec's flags for every sanitizer × compiler family × link
//! method, shell safety of hostile values (proven by running bash), `bash -n` and shellcheck
//! over every script, and snapshots of representative scripts.

use std::path::Path;
use std::process::Command;

use matrix::cell::Cell;
use matrix::definition::{Matrix, RawDefinition, BUILTIN_DEFINITION};
use matrix::expand::{expand, ValueMask};
use matrix::plan::BuildPlan;
use matrix::render::Renderer;

use crate::common;

fn cell_with(m: &Matrix, values: &[(&str, &str)]) -> Cell {
    let cells = expand(m, &ValueMask::all(m)).unwrap();
    cells
        .into_iter()
        .find(|cell| {
            values
                .iter()
                .all(|(axis, value)| cell.value(m, m.axis_index(axis).unwrap()) == *value)
        })
        .unwrap_or_else(|| panic!("no cell with {values:?}"))
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(String::from).collect()
}

/// The spec's flags of one sanitizer × compiler × link method, written out independently of
/// the definition, checked against the build plan of a cell with those values.
fn assert_spec_flags(m: &Matrix, sanitizer: &str, compiler: &str, link: &str) {
    let (platform, fsan) = match sanitizer {
        "asan" => ("amd64", "-fsanitize=address"),
        "hwasan" => ("arm64", "-fsanitize=hwaddress"),
        _ => ("amd64", "-fsanitize=thread"),
    };
    let cell = cell_with(
        m,
        &[
            ("platform", platform),
            ("os", "ubuntu-24.04"),
            ("compiler", compiler),
            ("sanitizer", sanitizer),
            ("san_link", link),
            ("hwasan_option", "none"),
        ],
    );
    let plan = BuildPlan::for_cell(m, &cell).unwrap();
    let link_extra = match (compiler, link) {
        ("gcc", "static") => vec![format!("-static-lib{sanitizer}")],
        ("gcc", _) => vec![],
        (_, "shared") => vec!["-shared-libsan".to_string()],
        _ => vec![],
    };
    let mut compile = words(&format!("-g {fsan}"));
    compile.extend(link_extra.clone());
    let mut ldflags = if compiler == "gcc" {
        vec![]
    } else {
        words("-fuse-ld=lld")
    };
    ldflags.push(fsan.to_string());
    ldflags.extend(link_extra);
    assert_eq!(plan.compile_flags, compile, "{}", cell.id);
    assert_eq!(plan.link_flags, ldflags, "{}", cell.id);
    let (cc, cxx) = match compiler {
        "gcc" => ("gcc", "g++"),
        "clang" => ("clang", "clang++"),
        _ => ("clang-19", "clang++-19"),
    };
    assert_eq!(
        (plan.env("CC"), plan.env("CXX")),
        (Some(cc), Some(cxx)),
        "{}",
        cell.id
    );
    let options = plan.env(&format!("{}_OPTIONS", sanitizer.to_uppercase()));
    let expected_options =
        (sanitizer != "tsan").then_some("detect_leaks=0:allocator_may_return_null=1:handle_segv=0");
    assert_eq!(options, expected_options, "{}", cell.id);
    assert!(plan.run_tests && plan.collect.is_empty());
}

#[test]
fn every_sanitizer_compiler_and_link_method_gets_the_spec_flags() {
    let m = Matrix::builtin().unwrap();
    for sanitizer in ["asan", "hwasan", "tsan"] {
        for compiler in ["gcc", "clang", "clang-19"] {
            for link in ["shared", "static"] {
                assert_spec_flags(&m, sanitizer, compiler, link);
            }
        }
    }
}

#[test]
fn hwasan_without_globals_passes_its_option_to_compiler_and_linker() {
    let m = Matrix::builtin().unwrap();
    let nog = cell_with(
        &m,
        &[
            ("compiler", "clang"),
            ("sanitizer", "hwasan"),
            ("san_link", "static"),
            ("hwasan_option", "no-globals"),
        ],
    );
    let plan = BuildPlan::for_cell(&m, &nog).unwrap();
    assert_eq!(
        plan.compile_flags,
        words("-g -fsanitize=hwaddress -mllvm -hwasan-globals=0")
    );
    assert_eq!(
        plan.link_flags,
        words("-fuse-ld=lld -fsanitize=hwaddress -mllvm -hwasan-globals=0")
    );
}

#[test]
fn analyzer_plain_and_configure_flavours_get_the_spec_flags() {
    let m = Matrix::builtin().unwrap();
    let analyzer = cell_with(&m, &[("sanitizer", "analyzer")]);
    let plan = BuildPlan::for_cell(&m, &analyzer).unwrap();
    assert_eq!(
        plan.compile_flags,
        words("-fanalyzer -fdiagnostics-format=sarif-file")
    );
    assert!(plan.link_flags.is_empty() && !plan.run_tests && plan.collect == ["*.sarif"]);

    let plain = cell_with(&m, &[("compiler", "gcc"), ("sanitizer", "none")]);
    let plan = BuildPlan::for_cell(&m, &plain).unwrap();
    assert!(plan.compile_flags.is_empty() && plan.link_flags.is_empty() && plan.preload.is_empty());

    for (flavour, args) in [
        ("debug", "--with-assertions --with-pydebug"),
        ("default", ""),
        ("release", "--enable-optimizations"),
        ("no-gil", "--disable-gil"),
    ] {
        let cell = cell_with(&m, &[("configure", flavour)]);
        assert_eq!(
            BuildPlan::for_cell(&m, &cell).unwrap().configure_args,
            words(args)
        );
    }
}

#[test]
fn preload_asks_the_compiler_for_the_right_runtime() {
    let m = Matrix::builtin().unwrap();
    let preload = |values: &[(&str, &str)]| {
        let cell = cell_with(&m, &[values, &[("preload", "enabled")]].concat());
        BuildPlan::for_cell(&m, &cell).unwrap().preload
    };
    assert_eq!(
        preload(&[("compiler", "gcc"), ("sanitizer", "asan")]),
        ["libasan.so"]
    );
    assert_eq!(
        preload(&[("compiler", "gcc"), ("sanitizer", "hwasan")]),
        ["libhwasan.so"]
    );
    assert_eq!(
        preload(&[
            ("platform", "amd64"),
            ("compiler", "clang"),
            ("sanitizer", "asan")
        ]),
        ["libclang_rt.asan.so libclang_rt.asan-x86_64.so"]
    );
    assert_eq!(
        preload(&[("compiler", "clang-19"), ("sanitizer", "hwasan")]),
        ["libclang_rt.hwasan.so libclang_rt.hwasan-aarch64.so"]
    );
    let off = cell_with(&m, &[("sanitizer", "asan"), ("preload", "disabled")]);
    assert!(BuildPlan::for_cell(&m, &off).unwrap().preload.is_empty());
}

/// Values an attacker (or a typo) could put in a definition never escape their quotes: the
/// rendered cell block, run by bash, creates no file and yields the values unchanged.
#[test]
fn hostile_values_stay_inside_their_quotes() {
    let hostile = [
        "$(touch pwned)",
        "`touch pwned`",
        "'; touch pwned; '",
        "\"; touch pwned; \"",
        "a\nb\n$(touch pwned)\n",
        "${IFS}touch${IFS}pwned",
        "\\' \\\" \\",
        "",
    ];
    let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "t").unwrap();
    let gcc = &mut raw.contributions[0];
    for (i, value) in hostile.iter().enumerate() {
        gcc.env.insert(format!("HOSTILE_{i}"), value.to_string());
    }
    gcc.compile = hostile.iter().map(|s| s.to_string()).collect();
    gcc.configure = hostile.iter().map(|s| s.to_string()).collect();
    let m = Matrix::compile(raw, "t").unwrap();
    let cell = cell_with(
        &m,
        &[
            ("compiler", "gcc"),
            ("sanitizer", "none"),
            ("configure", "default"),
        ],
    );
    let plan = BuildPlan::for_cell(&m, &cell).unwrap();
    let script = Renderer::builtin()
        .unwrap()
        .render(&m, &cell, &plan)
        .unwrap()
        .text;
    let cell_block = &script[..script.find("\nset -euo pipefail").expect("body start")];
    let probe = format!(
        "{cell_block}\nprintf '%s\\0' \"${{CELL_ENV[@]}}\"\nprintf '%s\\0' \"${{COMPILE_FLAGS[@]}}\"\nprintf '%s\\0' \"${{CONFIGURE_ARGS[@]}}\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&probe)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.path().join("pwned").exists(),
        "a value escaped its quotes"
    );
    let printed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .map(String::from)
        .collect();
    let mut expected: Vec<String> = plan
        .env
        .iter()
        .map(|v| format!("{}={}", v.name, v.value))
        .collect();
    expected.extend(plan.compile_flags.iter().cloned());
    expected.extend(plan.configure_args.iter().cloned());
    expected.push(String::new()); // after the last NUL
    assert_eq!(printed, expected);
}

fn render_default(dir: &Path) -> Vec<std::path::PathBuf> {
    let m = Matrix::builtin().unwrap();
    let cells = expand(&m, &ValueMask::all(&m)).unwrap();
    let scripts = Renderer::builtin().unwrap().render_all(&m, &cells).unwrap();
    scripts
        .iter()
        .map(|s| {
            let path = dir.join(&s.file_name);
            std::fs::write(&path, &s.text).unwrap();
            path
        })
        .collect()
}

#[test]
fn every_script_passes_bash_n() {
    let dir = tempfile::tempdir().unwrap();
    let paths = render_default(dir.path());
    assert_eq!(paths.len(), 742);
    // One bash checks them all: `bash -n` stops at the first file, so loop inside it.
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"status=0; for f in "$@"; do bash -n "$f" || { echo "bash -n failed: $f"; status=1; }; done; exit $status"#)
        .arg("bash")
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_script_passes_shellcheck() {
    if common::tool(
        "every_script_passes_shellcheck",
        "shellcheck",
        "apt-get install shellcheck",
        &[],
    )
    .is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let paths = render_default(dir.path());
    // Two shellcheck processes, one per core.
    let half = paths.len().div_ceil(2);
    let children: Vec<_> = paths
        .chunks(half)
        .map(|chunk| {
            Command::new("shellcheck")
                .args(["--severity=style", "--format=gcc"])
                .args(chunk)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "shellcheck:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Where the body every script shares begins: the header before it is the cell's own.
const BODY_START: &str = "\nset -euo pipefail\n";

/// Every script is its cell's header followed by one body, byte for byte the same in all 742.
/// The body is pinned once; the headers of representative cells (one per sanitizer, both
/// compiler families and link methods) are pinned each.
#[test]
fn representative_scripts() {
    let m = Matrix::builtin().unwrap();
    let renderer = Renderer::builtin().unwrap();
    let mut body = None;
    let mut headers = std::collections::BTreeMap::new();
    for cell in expand(&m, &ValueMask::all(&m)).unwrap() {
        let plan = BuildPlan::for_cell(&m, &cell).unwrap();
        let script = renderer.render(&m, &cell, &plan).unwrap();
        let at = script
            .text
            .find(BODY_START)
            .unwrap_or_else(|| panic!("{}: no shared body", cell.id));
        let (header, rest) = script.text.split_at(at + 1);
        match &body {
            None => body = Some(rest.to_string()),
            Some(first) => assert_eq!(first, rest, "{}: its body differs", cell.id),
        }
        headers.insert(cell.id.clone(), header.to_string());
    }
    insta::assert_snapshot!("body", body.unwrap());
    for id in [
        "amd64-f40-py3.12.4-gcc-debug",
        "amd64-u24.04-py3.13.0b4-clang19-asan-shared-pre-nogil",
        "amd64-f40-py3.12.4-gcc-tsan-static-release",
        "arm64-u24.04-py3.13.0b4-clang-hwasan-static-nog-pre-default",
        "amd64-f40-py3.13.0b4-gcc-analyzer-nogil",
    ] {
        let header = headers.get(id).unwrap_or_else(|| panic!("no cell {id}"));
        insta::assert_snapshot!(format!("header-{id}"), header);
    }
}
