//! The matrix in the user's hands: `init`, `--config` and `./matrix.yaml`, extending the matrix
//! by editing the definition only, the errors a bad edit gets, `explain`, `check`, `list`,
//! `axes`, completions and the man page.

use std::fs;

use predicates::prelude::*;

use crate::common::{replace_once, TestContext, BUILTIN_DEFINITION as BUILTIN};

fn line_count(dir: &TestContext, args: &[&str]) -> usize {
    dir.stdout(args).lines().count()
}

/// `matrix init`, then `edit` applied to the text of the written file.
fn init_and_edit(edit: impl FnOnce(String) -> String) -> TestContext {
    let dir = TestContext::new();
    dir.matrix().arg("init").assert().success().stdout("");
    let path = dir.path().join("matrix.yaml");
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        text, BUILTIN,
        "init writes the built-in definition, comments and all"
    );
    fs::write(&path, edit(text)).unwrap();
    dir
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = TestContext::new();
    dir.write("matrix.yaml", "mine");
    dir.matrix()
        .arg("init")
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("matrix.yaml exists; pass --force"));
    assert_eq!(
        fs::read_to_string(dir.path().join("matrix.yaml")).unwrap(),
        "mine"
    );
    dir.matrix().args(["init", "--force"]).assert().success();
    assert_eq!(
        fs::read_to_string(dir.path().join("matrix.yaml")).unwrap(),
        BUILTIN
    );
    dir.matrix()
        .args(["init", "sub.yaml"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "edit it, then `matrix --config sub.yaml check`: commands pick up a definition by \
             themselves only as ./matrix.yaml",
        ));
    assert!(dir.path().join("sub.yaml").is_file());
}

#[test]
fn init_with_config_copies_that_definition_or_refuses_a_contradiction() {
    let dir = TestContext::new();
    let mine = BUILTIN.replacen("# ", "# mine: ", 1);
    dir.write("mine.yaml", &mine);
    dir.matrix()
        .args(["--config", "mine.yaml", "init", "copy.yaml"])
        .assert()
        .success()
        .stdout("");
    assert_eq!(
        fs::read_to_string(dir.path().join("copy.yaml")).unwrap(),
        mine
    );
    let refused: [(&[&str], &str); 3] = [
        (
            &[
                "--config",
                "mine.yaml",
                "init",
                "other.yaml",
                "--profile",
                "cpython-ci",
            ],
            "--config mine.yaml and --profile cpython-ci: init writes one definition; give either",
        ),
        (
            &["--config", "mine.yaml", "init", "mine.yaml", "--force"],
            "--config mine.yaml is the file init would write (mine.yaml)",
        ),
        (&["--config", "copy.yaml", "init", "bad.yaml"], "copy.yaml"),
    ];
    dir.write("copy.yaml", "axes: 3\n");
    for (args, message) in refused {
        dir.matrix()
            .args(args)
            .assert()
            .failure()
            .stdout("")
            .stderr(predicate::str::contains(message));
    }
    assert_eq!(
        fs::read_to_string(dir.path().join("mine.yaml")).unwrap(),
        mine
    );
    assert!(!dir.path().join("other.yaml").exists() && !dir.path().join("bad.yaml").exists());
}

#[test]
fn a_local_matrix_yaml_is_used_and_verbose_says_so() {
    let dir = init_and_edit(|text| {
        let text = replace_once(&text, "values: [3.12.4, 3.13.0b4]", "values: [3.13.0b4]");
        // A version's checksum goes with it.
        replace_once(
            &text,
            "    3.12.4: 01b3c1c082196f3b33168d344a9c85fb07bfe0e7ecfe77fee4443420d1ce2ad9\n",
            "",
        )
    });
    dir.matrix()
        .args(["--verbose", "list"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "using the matrix definition matrix.yaml",
        ));
    assert_eq!(line_count(&dir, &["list"]), 424);
    // --config wins over ./matrix.yaml.
    dir.write("full.yaml", BUILTIN);
    assert_eq!(line_count(&dir, &["--config", "full.yaml", "list"]), 742);
    // Without --verbose, stderr stays quiet.
    dir.matrix().arg("list").assert().success().stderr("");
}

#[test]
fn a_new_python_version_is_an_edit() {
    let dir = init_and_edit(|text| {
        replace_once(
            &text,
            "values: [3.12.4, 3.13.0b4]",
            "values: [3.12.4, 3.13.0b4, 3.14.0]",
        )
    });
    let count = |version: &str| line_count(&dir, &["list", "--only", &format!("python={version}")]);
    assert_eq!(count("3.14.0"), count("3.13.0b4"));
    assert_eq!(count("3.14.0"), 424);
    let csv = dir.stdout(&[
        "render",
        "--only",
        "python=3.14.0",
        "--only",
        "configure=no-gil",
    ]);
    assert!(csv.lines().skip(1).all(|l| l.contains(",3.14.0,")), "{csv}");
    let script = fs::read_to_string(
        dir.path()
            .join("build_scripts/amd64-f40-py3.14.0-gcc-nogil.sh"),
    )
    .unwrap();
    assert!(
        script.contains("SOURCE_URL=https://www.python.org/ftp/python/3.14.0/Python-3.14.0.tgz")
    );
}

#[test]
fn a_new_os_is_an_edit() {
    let dir = init_and_edit(|text| {
        let text = replace_once(
            &text,
            "      - { value: ubuntu-24.04, id: u24.04 }\n",
            "      - { value: ubuntu-24.04, id: u24.04 }\n      - { value: debian-13, id: d13 }\n",
        );
        let text = replace_once(
            &text,
            "then: { os: ubuntu-24.04 }",
            "then: { os: [ubuntu-24.04, debian-13] }",
        );
        // Its image: Ubuntu's entry (the last one) for Debian's base and LLVM suite.
        let ubuntu = &text[text
            .find("    ubuntu-24.04:\n      base:")
            .expect("ubuntu's image entry")..];
        let debian = ubuntu
            .replacen("    ubuntu-24.04:", "    debian-13:", 1)
            .replace("docker.io/library/ubuntu", "docker.io/library/debian")
            .replace("tag: \"24.04\"", "tag: \"13\"")
            .replace("noble", "trixie");
        format!("{text}{debian}")
    });
    // Debian 13 gets everything Ubuntu 24.04 gets, clang-19 included.
    let count = |os: &str| line_count(&dir, &["list", "--only", &format!("os={os}")]);
    assert_eq!(count("debian-13"), count("ubuntu-24.04"));
    let csv = dir.stdout(&[
        "render",
        "--only",
        "os=debian-13",
        "--only",
        "compiler=clang-19",
    ]);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r.contains("/build-cpython:debian-13,")),
        "{rows:?}"
    );
}

#[test]
fn a_new_sanitizer_is_an_edit() {
    let dir = init_and_edit(|text| {
        let text = replace_once(
            &text,
            "      - tsan\n      - analyzer\n",
            "      - tsan\n      - ubsan\n      - analyzer\n",
        );
        let text = replace_once(
            &text,
            "iff: { sanitizer: [asan, hwasan, tsan] }",
            "iff: { sanitizer: [asan, hwasan, tsan, ubsan] }",
        );
        replace_once(
            &text,
            "  - when: { sanitizer: analyzer }\n",
            "  - when: { sanitizer: ubsan }\n    compile: [-g, -fsanitize=undefined]\n    link: [-fsanitize=undefined]\n    env: { UBSAN_OPTIONS: \"print_stacktrace=1:halt_on_error=1\" }\n  - when: { compiler: gcc, san_link: static, sanitizer: ubsan }\n    compile: [-static-libubsan]\n    link: [-static-libubsan]\n  - when: { sanitizer: analyzer }\n",
        )
    });
    // UBSan is valid wherever TSan is: with gcc and clang, shared and static, no preload.
    let count = |s: &str| line_count(&dir, &["list", "--only", &format!("sanitizer={s}")]);
    assert_eq!(count("ubsan"), count("tsan"));
    for compiler in ["gcc", "clang", "clang-19"] {
        assert!(
            line_count(
                &dir,
                &[
                    "list",
                    "--only",
                    "sanitizer=ubsan",
                    "--only",
                    &format!("compiler={compiler}")
                ]
            ) > 0
        );
    }
    dir.stdout(&["render", "--only", "sanitizer=ubsan"]);
    let script = fs::read_to_string(
        dir.path()
            .join("build_scripts/amd64-u24.04-py3.12.4-gcc-ubsan-static-debug.sh"),
    )
    .unwrap();
    assert!(
        script.contains("COMPILE_FLAGS=(-g '-fsanitize=undefined' -static-libubsan)"),
        "{script}"
    );
    assert!(script.contains("'UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1'"));
    let script = fs::read_to_string(
        dir.path()
            .join("build_scripts/amd64-u24.04-py3.12.4-clang-ubsan-shared-debug.sh"),
    )
    .unwrap();
    assert!(
        script.contains("COMPILE_FLAGS=(-g '-fsanitize=undefined' -shared-libsan)"),
        "{script}"
    );
}

#[test]
fn a_new_rule_is_an_edit_and_explain_names_it() {
    let dir = init_and_edit(|text| {
        replace_once(
            &text,
            "  - name: hwasan-arm64-only\n",
            "  - name: no-tsan-debug\n    reason: TSan and pydebug builds time out\n    if: { sanitizer: tsan }\n    then: { configure: { not: debug } }\n\n  - name: hwasan-arm64-only\n",
        )
    });
    let tsan_debug = line_count(
        &TestContext::new(),
        &[
            "list",
            "--only",
            "sanitizer=tsan",
            "--only",
            "configure=debug",
        ],
    );
    assert!(tsan_debug > 0);
    assert_eq!(line_count(&dir, &["list"]), 742 - tsan_debug);
    dir.matrix()
        .args(["explain", "sanitizer=tsan", "configure=debug"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no-tsan-debug"))
        .stdout(predicate::str::contains(format!("{tsan_debug}")));
}

#[test]
fn explain_names_the_rule_that_excludes_a_combination() {
    let dir = TestContext::new();
    let full = [
        "platform=amd64",
        "os=fedora-40",
        "python=3.13.0b4",
        "compiler=clang-19",
        "sanitizer=none",
        "san_link=none",
        "hwasan_option=none",
        "preload=disabled",
        "configure=default",
    ];
    dir.matrix()
        .arg("explain")
        .args(full)
        .assert()
        .success()
        .stdout(predicate::str::contains("is not a cell"))
        .stdout(predicate::str::contains(
            "clang-19-ubuntu-only: apt.llvm.org's llvm.sh supports Debian/Ubuntu only",
        ));
    let mut ok = full;
    ok[1] = "os=ubuntu-24.04";
    dir.matrix()
        .arg("explain")
        .args(ok)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "is cell amd64-u24.04-py3.13.0b4-clang19-default",
        ));
    // A slice: counts and the rules that thin it.
    dir.matrix()
        .args(["explain", "compiler=clang-19", "os=fedora-40"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("960 combinations, 0 cells"))
        .stdout(predicate::str::contains("clang-19-ubuntu-only      960"));
    let rules = dir.stdout(&["explain", "--rules"]);
    assert!(
        rules.starts_with("5760 combinations, 742 cells, 5018 removed by the rules"),
        "{rules}"
    );
    assert_eq!(
        rules.lines().filter(|l| l.contains("  ")).count(),
        8,
        "{rules}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&dir.stdout(&["explain", "--rules", "--format", "json"])).unwrap();
    assert_eq!(json["cells"], 742);
    dir.matrix()
        .args(["explain", "compilr=gcc"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown axis `compilr` (did you mean `compiler`?)",
        ));
    // Case is no typo's measure: ASan is asan.
    dir.matrix()
        .args(["list", "--only", "sanitizer=ASan"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown value `ASan` for axis `sanitizer` (did you mean `asan`?)",
        ));
}

#[test]
fn definition_errors_are_located_and_suggest_fixes() {
    let dir = TestContext::new();
    let write = |name: &str, text: String| fs::write(dir.path().join(name), text).unwrap();
    write(
        "typo.yaml",
        BUILTIN.replacen("contributions:\n", "contribution:\n", 1),
    );
    dir.matrix()
        .args(["--config", "typo.yaml", "list"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::is_match(r"typo\.yaml:\d+:1: unknown field `contribution`.*\(did you mean `contributions`\?\)").unwrap());
    write(
        "rule.yaml",
        BUILTIN.replacen("if: { compiler: clang-19 }", "if: { compilr: clang-19 }", 1),
    );
    dir.matrix()
        .args(["--config", "rule.yaml", "list"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "rule `clang-19-ubuntu-only` names unknown axis `compilr` (did you mean `compiler`?)",
        ));
    write(
        "value.yaml",
        BUILTIN.replacen("if: { compiler: clang-19 }", "if: { compiler: clang19 }", 1),
    );
    dir.matrix()
        .args(["--config", "value.yaml", "list"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "unknown value `clang19` for axis `compiler` (did you mean `clang-19`?)",
        ));
    write(
        "dup.yaml",
        BUILTIN.replacen("values: [amd64, arm64]", "values: [amd64, arm64, amd64]", 1),
    );
    dir.matrix()
        .args(["--config", "dup.yaml", "list"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "axis `platform` lists value `amd64` twice",
        ));
    write("empty.yaml", BUILTIN.replacen("then: { compiler: gcc }", "then: { compiler: gcc }\n\n  - name: nothing\n    reason: test\n    then: { compiler: gcc, sanitizer: asan, platform: amd64, preload: enabled, san_link: none }", 1));
    dir.matrix()
        .args(["--config", "empty.yaml", "list"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains("has no cells"))
        .stderr(predicate::str::contains("nothing (removes"));
}

#[test]
fn check_passes_on_the_default_and_fails_with_located_messages() {
    let dir = TestContext::new();
    // Its warnings are its blind spots (tests/it/blind_spots_cli.rs): one line each.
    dir.matrix()
        .args(["check", "--no-shellcheck"])
        .assert()
        .success()
        .stdout(predicate::function(|out: &str| {
            out.lines()
                .filter(|l| !l.starts_with("warning: blind spot `"))
                .eq(["742 cells, 742 scripts checked as 57 shapes (bash -n; shellcheck skipped), 1 workflow document, 2 Dockerfiles checked, 0 errors, 5 warnings"])
        }));

    fs::write(
        dir.path().join("typo.yaml"),
        BUILTIN.replacen("  tag_axis: os\n", "  tag_axes: os\n", 1),
    )
    .unwrap();
    dir.matrix()
        .args(["--config", "typo.yaml", "check"])
        .assert()
        .failure()
        .stdout(
            predicate::str::is_match(r"^error: typo\.yaml:14:3: image: unknown field `tag_axes`")
                .unwrap(),
        )
        .stdout(predicate::str::contains("did you mean `tag_axis`"))
        .stdout(predicate::str::ends_with(
            "0 cells, 0 scripts checked as 0 shapes (bash -n; shellcheck skipped), 0 workflow documents, 0 Dockerfiles checked, 1 error, 0 warnings\n",
        ));

    let templates = dir.path().join("templates");
    fs::create_dir(&templates).unwrap();
    fs::write(
        templates.join("build.sh.j2"),
        "#!/bin/bash\n{% for x in %}\n",
    )
    .unwrap();
    dir.matrix()
        .args(["check", "--templates", "templates", "--format", "json"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("build.sh.j2:2"))
        .stdout(predicate::str::contains("\"severity\": \"error\""));

    // A template that renders but is not valid shell is caught by bash -n.
    fs::write(templates.join("build.sh.j2"), "#!/bin/bash\nif then fi\n").unwrap();
    dir.matrix()
        .args(["check", "--templates", "templates", "--no-shellcheck"])
        .assert()
        .failure()
        .stdout(predicate::str::contains(": bash -n: "))
        // Every script has the one shape of a template without values: one finding, for all.
        .stdout(predicate::str::contains(
            "(likewise in 741 other scripts of the same shape)",
        ))
        .stdout(predicate::str::contains(", 1 error, "));
}

#[test]
fn check_validates_the_workflow_against_the_argo_schema() {
    let Some(schema) =
        crate::common::argo_schema_path("check_validates_the_workflow_against_the_argo_schema")
    else {
        return;
    };
    let dir = TestContext::new();
    dir.matrix()
        .args(["check", "--no-shellcheck", "--argo-schema"])
        .arg(&schema)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 workflow document (Argo schema), 2 Dockerfiles checked, 0 errors",
        ));
    // A schema that is not Argo's is refused as such.
    dir.write("not-argo.json", "{}");
    dir.matrix()
        .args(["check", "--no-shellcheck", "--argo-schema", "not-argo.json"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("it is not Argo's JSON schema"));
}

#[test]
fn check_fails_when_an_image_lacks_what_the_scripts_use() {
    let dir = TestContext::new();
    // Fedora's image without make (the first tools group and `provides` entry are Fedora's).
    let text = BUILTIN
        .replacen(
            "findutils, gzip, make, rsync, tar]",
            "findutils, gzip, rsync, tar]",
            1,
        )
        .replacen("        make: { commands: [make] }\n", "", 1);
    assert_ne!(text, BUILTIN);
    dir.write("m.yaml", text);
    dir.matrix()
        .args(["--config", "m.yaml", "check", "--no-shellcheck"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("image fedora-40:"))
        .stdout(predicate::str::contains("`make`"));
}

#[test]
fn check_reports_a_workflow_knob_the_definition_gets_wrong() {
    let dir = TestContext::new();
    let text = format!("{BUILTIN}\nworkflow:\n  parallelism: 0\n");
    let text = if BUILTIN.contains("\nworkflow:\n") {
        BUILTIN.replacen("\nworkflow:\n", "\nworkflow:\n  parallelism: 0\n", 1)
    } else {
        text
    };
    dir.write("m.yaml", text);
    dir.matrix()
        .args(["--config", "m.yaml", "check", "--no-shellcheck"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("parallelism"));
}

#[test]
fn list_and_axes_respect_the_selection() {
    let dir = TestContext::new();
    let ids = dir.stdout(&[
        "list",
        "--only",
        "platform=amd64",
        "--only",
        "sanitizer=analyzer",
    ]);
    assert_eq!(ids.lines().count(), 14);
    assert!(ids
        .lines()
        .all(|id| id.starts_with("amd64-") && id.contains("-gcc-analyzer-")));
    let long = dir.stdout(&["list", "--long", "--only", "sanitizer=analyzer"]);
    assert!(long.starts_with("id "), "{long}");
    assert_eq!(long.lines().count(), 29);
    let axes = dir.stdout(&["axes", "--only", "platform=amd64"]);
    assert!(
        axes.contains("platform       amd64         amd64       259"),
        "{axes}"
    );
    assert!(axes.contains("arm64         arm64       0"), "{axes}");
    assert!(axes.ends_with("259 cells\n"));
}

/// What real bash completes for the command line `words` (the last word is the one being
/// completed), with the script `matrix completions bash` printed, and this build's `matrix`
/// first on PATH.
fn bash_completes(dir: &TestContext, words: &[&str]) -> Vec<String> {
    let bin = assert_cmd::cargo::cargo_bin("matrix");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source reg.sh; COMP_WORDS=({}); COMP_CWORD={}; COMP_TYPE=9; \
         _clap_complete_matrix matrix {} {}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.len() - 1,
        quoted[words.len() - 1],
        quoted[words.len() - 2],
    );
    let output = std::process::Command::new("bash")
        .args(["--norc", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn completions_offer_axes_values_and_cell_ids_of_the_definition_in_use() {
    let dir = TestContext::new();
    dir.write("reg.sh", dir.stdout(&["completions", "bash"]));
    let complete = |words: &[&str]| bash_completes(&dir, words);
    assert_eq!(
        complete(&["matrix", "list", "--only", "comp"]),
        ["compiler="]
    );
    assert_eq!(
        complete(&["matrix", "render", "--except", "sanitizer="]),
        [
            "sanitizer=none",
            "sanitizer=asan",
            "sanitizer=hwasan",
            "sanitizer=tsan",
            "sanitizer=analyzer"
        ]
    );
    // A comma list is completed at its last item.
    assert_eq!(
        complete(&["matrix", "workflow", "--only", "compiler=gcc,clang-"]),
        ["compiler=gcc,clang-19"]
    );
    let ids = complete(&["matrix", "run", "--only", "id=arm64-u24.04-py3.12.4-gcc-hw"]);
    let listed: Vec<String> = dir
        .stdout(&["list"])
        .lines()
        .filter(|id| id.starts_with("arm64-u24.04-py3.12.4-gcc-hw"))
        .map(|id| format!("id={id}"))
        .collect();
    assert!(ids.len() > 3, "{ids:?}");
    assert_eq!(ids, listed);
    // --config on the line is the definition completed from.
    dir.matrix()
        .args(["init", "--profile", "cpython-ci", "ci.yaml"])
        .assert()
        .success();
    assert_eq!(
        complete(&[
            "matrix",
            "--config",
            "ci.yaml",
            "list",
            "--only",
            "sanitizer="
        ]),
        ["sanitizer=asan", "sanitizer=tsan", "sanitizer=ubsan"]
    );
    // Other shells get their registration too.
    for shell in ["zsh", "fish"] {
        let script = dir.stdout(&["completions", shell]);
        assert!(
            script.contains("COMPLETE=") || script.contains("COMPLETE "),
            "{shell}: {script}"
        );
    }
}

#[test]
fn man_writes_a_page_per_command_with_examples_exit_status_and_files() {
    let dir = TestContext::new();
    dir.matrix()
        .args(["man", "--out", "man1"])
        .assert()
        .success()
        .stdout("");
    let mut pages: Vec<String> = fs::read_dir(dir.path().join("man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".1"))
        .collect();
    pages.sort();
    // matrix(1), each command's and each subcommand's (report diff, findings show, images
    // build and verify).
    for page in [
        "matrix.1",
        "matrix-run.1",
        "matrix-report.1",
        "matrix-report-diff.1",
        "matrix-findings-show.1",
        "matrix-images-verify.1",
        "matrix-man.1",
    ] {
        assert!(pages.contains(&page.to_owned()), "{page}: {pages:?}");
    }
    assert_eq!(pages.len(), 21, "{pages:?}");
    let groff = crate::common::tool("man pages", "groff", "apt-get install groff-base", &[]);
    for page in &pages {
        let text = fs::read_to_string(dir.path().join("man1").join(page)).unwrap();
        let name = page.trim_end_matches(".1");
        assert!(text.contains(&format!(".TH {name} 1")), "{page}");
        for section in [".SH EXAMPLES", ".SH \"EXIT STATUS\""] {
            assert!(text.contains(section), "{page} lacks {section}");
        }
        if let Some(groff) = &groff {
            // As man(1) reads it (-k: preconv for the UTF-8), with every warning on.
            let output = std::process::Command::new(groff)
                .args(["-k", "-man", "-ww", "-z"])
                .arg(dir.path().join("man1").join(page))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{page}");
        }
    }
    let run = fs::read_to_string(dir.path().join("man1/matrix-run.1")).unwrap();
    assert!(
        run.contains(".SH FILES") && run.contains("logs/attempts/N"),
        "{run}"
    );
    assert!(
        run.contains("matrix run \\-\\-out runs/tonight \\-\\-resume"),
        "{run}"
    );
    // The directory is replaced as a whole, and only when matrix wrote it.
    dir.write("mine/notes.txt", "mine");
    dir.matrix()
        .args(["man", "--out", "mine"])
        .assert()
        .failure()
        .stdout("")
        .stderr(predicate::str::contains(
            "choose another --out, or give --force",
        ));
    assert!(dir.path().join("mine/notes.txt").exists());
}

#[test]
fn completions_and_man_page_are_generated() {
    let dir = TestContext::new();
    let bash = dir.stdout(&["completions", "bash"]);
    assert!(bash.contains("_clap_complete_matrix") && bash.contains("COMPLETE=\"bash\""));
    let man = dir.stdout(&["man"]);
    assert!(
        man.contains(".SH \"EXIT STATUS\"\n.TP\n\\fB0\\fR\n") && !man.contains(".SH EXTRA"),
        "{man}"
    );
    assert!(
        man.starts_with(".ie") || man.contains(".TH matrix"),
        "{}",
        &man[..200.min(man.len())]
    );
}
