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

