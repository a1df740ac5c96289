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
    w.write_record([EVIL_ID, EVIL_COMPILER, EVIL_SANITIZER]).unwrap();
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
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = String::from_utf8(out.stdout).unwrap();
    for injected in ["<script>", "<b>evil", "<i>title"] {
        assert!(!html.contains(injected), "{injected} reached the page:\n{html}");
    }
    let escaped = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    for shown in [EVIL_ID, EVIL_COMPILER, "+++<i>title</i>+++"] {
        assert!(html.contains(&escaped(shown)), "{shown} not shown as it is:\n{html}");
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
        let out = matrix().current_dir(tmp.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let first = output_of(&["report", "logs", "--index", "idx.csv", "--format", "csv"]);
    let rows = crate::common::csv_rows(&first);
    for value in rows.iter().flat_map(|row| row.values()) {
        assert!(!runs_in_a_spreadsheet(value), "{value:?} would run as a formula");
    }
    let evil = rows.iter().find(|r| r["key"] == EVIL_ID).unwrap();
    assert_eq!(evil["sanitizer"], format!("'{EVIL_SANITIZER}"));
    assert_eq!(evil["compiler"], format!("'{EVIL_COMPILER}"));
    assert!(rows.iter().any(|r| r["key"] == "'=1+2"));

    // Its columns cut into an index, as they are in the file: the same report again.
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "compiler", "sanitizer"]).unwrap();
    for r in &rows {
        w.write_record([&r["key"], &r["compiler"], &r["sanitizer"]]).unwrap();
    }
    fs::write(tmp.path().join("cut.csv"), w.into_inner().unwrap()).unwrap();
    let again = output_of(&["report", "logs", "--index", "cut.csv", "--format", "csv"]);
    assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&first));

    // Compared with itself as an earlier run, every cell is matched and unchanged: the diff
    // read the keys back as they were.
    fs::write(tmp.path().join("results.csv"), &first).unwrap();
    let args = ["report", "diff", "results.csv", "logs", "--index", "idx.csv", "--all"];
    let diff = output_of(&[&args[..], &["--format", "json"]].concat());
    let diff: serde_json::Value = serde_json::from_slice(&diff).unwrap();
    assert_eq!(diff["summary"]["unchanged"], 3, "{diff}");
    let diff = output_of(&[&args[..], &["--format", "csv"]].concat());
    for row in crate::common::csv_rows(&diff) {
        for value in row.values() {
            assert!(!runs_in_a_spreadsheet(value), "{value:?} would run as a formula");
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
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'), "{stderr:?}");
    assert!(stderr.contains("\\x1b"), "{stderr:?}");
}
