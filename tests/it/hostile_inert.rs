//! Hostile data, text and names that must stay inert (issue 27): values from logs and indexes
//! reach pages literally, CSV cells cannot run as spreadsheet formulas yet read back exact,
//! names from a log directory print escaped, and what a definition, `--templates` or a flag
//! may say is bounded where it enters.

use std::fs;
use std::path::Path;

use crate::common::{matrix, tool};

const M: &str = "::matrix::";

/// A log of this tool's scripts whose configure failed, finishing as `cell`.
fn failed_log(cell: &str) -> String {
    format!(
        "{M} event=stage-start stage=configure time=t\n\
         {M} event=stage-end stage=configure status=1 time=t\n\
         {M} event=finish cell={cell} stage=configure status=1 time=t\n"
    )
}

/// A cell id that is AsciiDoc and HTML markup, from a finish marker.
const EVIL_ID: &str = "pass:[<b>evil</b>]";
/// Index values that are markup too: a passthrough, an attribute, a spreadsheet formula.
const EVIL_COMPILER: &str = "+++<script>alert(1)</script>+++";
const EVIL_SANITIZER: &str = "=HYPERLINK(\"http://x\")";

/// Two logs (one finishing as [`EVIL_ID`]) and an index whose values are markup.
fn evil_run(dir: &Path) {
    fs::create_dir_all(dir.join("logs")).unwrap();
    fs::write(dir.join("logs/c1.log"), failed_log(EVIL_ID)).unwrap();
    fs::write(dir.join("logs/c2.log"), failed_log("c2")).unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "compiler", "sanitizer"]).unwrap();
    w.write_record([EVIL_ID, EVIL_COMPILER, EVIL_SANITIZER])
        .unwrap();
    w.write_record(["c2", "gcc", "-asan"]).unwrap();
    fs::write(dir.join("idx.csv"), w.into_inner().unwrap()).unwrap();
}

#[test]
fn asciidoc_page_keeps_cell_ids_and_index_values_literal() {
    let Some(asciidoctor) = tool(
        "hostile_inert::asciidoc_page_keeps_cell_ids_and_index_values_literal",
        "asciidoctor",
        "apt-get install asciidoctor",
        &[],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    evil_run(tmp.path());
    matrix()
        .current_dir(tmp.path())
        .args(["report", "logs", "--index", "idx.csv", "--format", "json"])
        .args(["--by", "compiler,sanitizer", "--adoc", "page.adoc"])
        .args(["--title", "+++<i>title</i>+++"])
        .assert()
        .success();
    let out = std::process::Command::new(asciidoctor)
        .args(["-S", "secure", "-o", "-"])
        .arg(tmp.path().join("page.adoc"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    for injected in ["<script>", "<b>evil", "<i>title"] {
        assert!(
            !html.contains(injected),
            "{injected} reached the page:\n{html}"
        );
    }
    let escaped = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    for shown in [EVIL_ID, EVIL_COMPILER, "+++<i>title</i>+++"] {
        assert!(
            html.contains(&escaped(shown)),
            "{shown} not shown as it is:\n{html}"
        );
    }
}

/// A cell a spreadsheet would run: a formula's first character, not a plain number.
fn runs_in_a_spreadsheet(cell: &str) -> bool {
    let number = cell.trim_start_matches(['-', '+']).parse::<f64>().is_ok();
    cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !number
}

#[test]
fn report_csv_cells_cannot_run_as_formulas_and_read_back_exact() {
    let tmp = tempfile::tempdir().unwrap();
    evil_run(tmp.path());
    // A cell whose id is a formula, from its finish marker.
    fs::write(tmp.path().join("logs/c3.log"), failed_log("=1+2")).unwrap();
    let output_of = |args: &[&str]| {
        let out = matrix()
            .current_dir(tmp.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let first = output_of(&["report", "logs", "--index", "idx.csv", "--format", "csv"]);
    let rows = crate::common::csv_cells(&first);
    for value in rows.iter().flat_map(|row| row.values()) {
        assert!(
            !runs_in_a_spreadsheet(value),
            "{value:?} would run as a formula"
        );
    }
    let evil = rows.iter().find(|r| r["key"] == EVIL_ID).unwrap();
    assert_eq!(evil["sanitizer"], format!("'{EVIL_SANITIZER}"));
    assert_eq!(evil["compiler"], format!("'{EVIL_COMPILER}"));
    assert!(rows.iter().any(|r| r["key"] == "'=1+2"));

    // Its columns cut into an index, as they are in the file: the same report again.
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "compiler", "sanitizer"]).unwrap();
    for r in &rows {
        w.write_record([&r["key"], &r["compiler"], &r["sanitizer"]])
            .unwrap();
    }
    fs::write(tmp.path().join("cut.csv"), w.into_inner().unwrap()).unwrap();
    let again = output_of(&["report", "logs", "--index", "cut.csv", "--format", "csv"]);
    assert_eq!(
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(&first)
    );

    // Compared with itself as an earlier run, every cell is matched and unchanged: the diff
    // read the keys back as they were.
    fs::write(tmp.path().join("results.csv"), &first).unwrap();
    let args = [
        "report",
        "diff",
        "results.csv",
        "logs",
        "--index",
        "idx.csv",
        "--all",
    ];
    let diff = output_of(&[&args[..], &["--format", "json"]].concat());
    let diff: serde_json::Value = serde_json::from_slice(&diff).unwrap();
    assert_eq!(diff["summary"]["unchanged"], 3, "{diff}");
    let diff = output_of(&[&args[..], &["--format", "csv"]].concat());
    for row in crate::common::csv_cells(&diff) {
        for value in row.values() {
            assert!(
                !runs_in_a_spreadsheet(value),
                "{value:?} would run as a formula"
            );
        }
    }
}

#[test]
fn names_from_a_log_directory_print_escaped_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    evil_run(tmp.path());
    let name = "f\u{1b}]0;PWN\u{7}.log";
    fs::write(tmp.path().join("logs").join(name), failed_log("x\u{1b}[2J")).unwrap();
    let out = matrix()
        .current_dir(tmp.path())
        .args(["report", "logs", "--index", "idx.csv", "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("warning:"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(stderr.contains("\\x1b"), "{stderr:?}");
}

/// The built-in definition with `from` replaced by `to` once, written as `m.yaml` in `dir`.
fn edited(dir: &Path, from: &str, to: &str) {
    let text = crate::common::replace_once(crate::common::BUILTIN_DEFINITION, from, to);
    fs::write(dir.join("m.yaml"), text).unwrap();
}

/// The line (1-based) of `needle`'s first occurrence in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

#[test]
fn a_key_twice_in_a_definition_mapping_is_refused_with_both_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let builtin = crate::common::BUILTIN_DEFINITION;
    // A rule's condition: last one wins would change which cells exist.
    edited(
        tmp.path(),
        "if: { compiler: clang-19 }",
        "if: { compiler: clang-19, compiler: gcc }",
    );
    let line = line_of(builtin, "if: { compiler: clang-19 }");
    let err = crate::common::refused(&[
        "--config",
        tmp.path().join("m.yaml").to_str().unwrap(),
        "list",
    ]);
    assert!(err.contains(&format!("m.yaml:{line}:")), "{err}");
    assert!(err.contains("key \"compiler\" is given twice"), "{err}");
    assert!(
        err.contains(&format!(
            "first at {}:{line}:",
            tmp.path().join("m.yaml").display()
        )),
        "{err}"
    );
    // A checksum given twice: the second would replace the first.
    let first = "    3.12.4: 01b3c1c082196f3b33168d344a9c85fb07bfe0e7ecfe77fee4443420d1ce2ad9\n";
    edited(
        tmp.path(),
        first,
        &format!("{first}{}", first.replace("01b3", "ffff")),
    );
    let line = line_of(builtin, first);
    let err = crate::common::refused(&[
        "--config",
        tmp.path().join("m.yaml").to_str().unwrap(),
        "list",
    ]);
    assert!(err.contains(&format!("m.yaml:{}:", line + 1)), "{err}");
    assert!(
        err.contains(&format!(
            "first at {}:{line}:",
            tmp.path().join("m.yaml").display()
        )),
        "{err}"
    );
    assert!(err.contains("key \"3.12.4\""), "{err}");
}

#[test]
fn templates_come_from_their_directory_and_the_builtins_only() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let outside = d.join("secret.txt");
    fs::write(&outside, "SECRET-CONTENTS\n").unwrap();
    for (name, template, error) in [
        (
            "absolute",
            format!("{{% include \"{}\" %}}\n", outside.display()),
            format!(
                "template `{}` is not a name inside the template directory",
                outside.display()
            ),
        ),
        (
            "dotdot",
            "{% include \"../secret.txt\" %}\n".to_owned(),
            "template `../secret.txt` is not a name inside the template directory".to_owned(),
        ),
    ] {
        let dir = d.join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("cell.sh.j2"), template).unwrap();
        let out = matrix()
            .current_dir(d)
            .args(["render", "--templates", name, "--out", "out"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty() && stderr.contains(&error), "{stderr}");
        assert!(
            stderr.contains("cell.sh.j2"),
            "the include's place is named: {stderr}"
        );
        assert!(!d.join("out").exists());
    }
    // A link out of the directory, as a template or as an include.
    let dir = d.join("linked");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("cell.sh.j2")).unwrap();
    let err = crate::common::refused(&[
        "render",
        "--templates",
        dir.to_str().unwrap(),
        "--out",
        d.join("out").to_str().unwrap(),
    ]);
    assert!(
        err.contains("template `cell.sh.j2` in") && err.contains("outside the template directory"),
        "{err}"
    );
    assert!(!err.contains("SECRET-CONTENTS"), "{err}");
    // A link inside it is fine.
    let dir = d.join("inside");
    fs::create_dir(&dir).unwrap();
    let builtin = include_str!("../../templates/cell.sh.j2");
    fs::write(dir.join("real.j2"), builtin).unwrap();
    std::os::unix::fs::symlink("real.j2", dir.join("cell.sh.j2")).unwrap();
    matrix()
        .current_dir(d)
        .args(["render", "--templates", "inside", "--out", "out2"])
        .assert()
        .success();
}

#[test]
fn base_url_may_not_hold_expressions_or_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let base = "  base_url: https://www.python.org/ftp/python\n";
    for (to, error) in [
        (
            "  base_url: \"https://www.python.org/{{workflow.name}}\"\n",
            "source.base_url `https://www.python.org/{{workflow.name}}` holds `{{`",
        ),
        (
            "  base_url: https://me:hunter2@mirror.example/python\n",
            "source.base_url `https://…@mirror.example/python` carries credentials",
        ),
    ] {
        edited(tmp.path(), base, to);
        let err = crate::common::refused(&[
            "--config",
            tmp.path().join("m.yaml").to_str().unwrap(),
            "list",
        ]);
        assert!(err.contains(error), "{err}");
        assert!(
            !err.contains("hunter2"),
            "the password is not repeated: {err}"
        );
    }
}

#[test]
fn a_deadline_is_at_most_what_activedeadlineseconds_holds() {
    for deadline in [
        "9223372036854775808",
        "106751991167301d",
        "99999999999999999999999",
    ] {
        let err = crate::common::refused(&["workflow", "--deadline", deadline]);
        assert!(err.contains("9223372036854775807 seconds"), "{err}");
    }
    let yaml = crate::common::stdout_of(&["workflow", "--deadline", "9223372036854775807"]);
    assert!(
        yaml.contains("activeDeadlineSeconds: '9223372036854775807'"),
        "{yaml}"
    );
}

#[test]
fn a_log_from_the_future_is_not_running_forever() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let unfinished = format!("{M} event=stage-start stage=configure time=t\n");
    for (name, ahead) in [
        ("soon.log", 60),
        ("later.log", 3600),
        ("far.log", 100 * 365 * 86_400),
    ] {
        let path = logs.join(name);
        fs::write(&path, &unfinished).unwrap();
        let when = std::time::SystemTime::now() + std::time::Duration::from_secs(ahead);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
    let out = crate::common::stdout_of(&["report", logs.to_str().unwrap(), "--format", "csv"]);
    let results: std::collections::BTreeMap<String, String> =
        crate::common::csv_rows(out.as_bytes())
            .into_iter()
            .map(|r| (r["key"].clone(), r["result"].clone()))
            .collect();
    // A minute ahead is another machine's clock: written just now, still running.
    assert!(results["soon"].starts_with("Running"), "{results:?}");
    // Further ahead says nothing about when it was written: not running, its unfinished result.
    for far in ["later", "far"] {
        assert!(!results[far].starts_with("Running"), "{results:?}");
    }
}

#[test]
fn findings_csv_cells_cannot_run_as_formulas_and_read_back_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    crate::findings_cli::logdir(&logs);
    // The use-after-free's cell is named like a formula.
    fs::rename(
        logs.join("build_003-1.sh.txt"),
        logs.join("@SUM(1)-1.sh.txt"),
    )
    .unwrap();
    let csv = crate::common::stdout_in(tmp.path(), &["findings", "logs", "--format", "csv"]);
    let rows = crate::common::csv_cells(csv.as_bytes());
    for value in rows.iter().flat_map(|row| row.values()) {
        assert!(
            !runs_in_a_spreadsheet(value),
            "{value:?} would run as a formula"
        );
    }
    assert!(csv.contains("'@SUM(1)"), "{csv}");
    // Read back as the old side of a diff, it is the same findings in the same cells.
    fs::write(tmp.path().join("old.csv"), &csv).unwrap();
    let diff = crate::common::stdout_in(
        tmp.path(),
        &["findings", "--diff", "old.csv", "logs", "--format", "json"],
    );
    let diff: serde_json::Value = serde_json::from_str(&diff).unwrap();
    let sides = diff.as_array().unwrap();
    assert_eq!(sides.len(), 2, "{diff}");
    for side in sides {
        assert_eq!(side["status"], "persisting", "{diff}");
        assert_eq!(side["old_cells"], side["new_cells"], "{diff}");
    }
}

#[test]
fn suppression_files_hold_only_the_entries_the_reports_name() {
    use crate::findings_cli::{log, tsan_race};
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir(&logs).unwrap();
    // A cell whose name would end the comment and start an entry that silences every race.
    fs::write(
        logs.join("a\nrace:*-1.sh.txt"),
        log("3.12.4", &tsan_race("3.12.4", 1)),
    )
    .unwrap();
    // A report whose functions are wildcards.
    let wild = tsan_race("3.13.0b4", 2)
        .replace("free_threadstate", "*")
        .replace("take_gil", "*");
    fs::write(logs.join("b-1.sh.txt"), log("3.13.0b4", &wild)).unwrap();
    let out = crate::common::stdout_in(tmp.path(), &["findings", "logs", "--suppressions", "tsan"]);
    for line in out.lines() {
        let entry = line.split_once(':').filter(|_| !line.starts_with('#'));
        let ok = line.is_empty()
            || (line.starts_with('#') && !line.contains('\r'))
            || entry.is_some_and(|(kind, pattern)| {
                kind.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && !pattern.is_empty()
                    && !pattern.contains(|c: char| c == '*' || c.is_whitespace())
            });
        assert!(ok, "{line:?} in\n{out}");
    }
    assert!(out.contains("# cells: a\\nrace:*"), "{out}");
}

#[test]
fn the_index_of_render_cannot_run_as_formulas_and_its_readers_take_it_back_exact() {
    let ctx = crate::common::TestContext::new();
    // `--out` names the script column: a directory that is a formula.
    let index = ctx.stdout(&[
        "render",
        "--out",
        "=cmd",
        "--only",
        "configure=debug",
        "--only",
        "platform=amd64",
        "--only",
        "os=fedora-40",
        "--only",
        "compiler=gcc",
        "--only",
        "sanitizer=none",
    ]);
    let rows = crate::common::csv_cells(index.as_bytes());
    assert!(!rows.is_empty());
    for value in rows.iter().flat_map(|row| row.values()) {
        assert!(
            !runs_in_a_spreadsheet(value),
            "{value:?} would run as a formula"
        );
    }
    let id = rows[0]["id"].clone();
    assert_eq!(rows[0]["script"], format!("'=cmd/{id}.sh"));
    ctx.write("idx.csv", &index);
    ctx.write(format!("logs/{id}.log"), failed_log(&id));
    // Read back by report as `=cmd/…` (and written neutral again), not as `'=cmd/…`.
    let report = ctx.stdout(&["report", "logs", "--index", "idx.csv", "--format", "csv"]);
    let rows = crate::common::csv_cells(report.as_bytes());
    let row = rows.iter().find(|r| r["key"] == id).unwrap();
    assert_eq!(row["script"], format!("'=cmd/{id}.sh"));
}
