//! The report page (`report --html`, `--adoc`) end to end: snapshots of both for a small run,
//! log links that resolve, findings linked from the cells, SARIF findings with `--sarif`, a
//! page without an index, and AsciiDoc that keeps log text literal (checked with asciidoctor).

use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::common::{matrix, tool};

/// Evidence that means something to AsciiDoc: emphasis, cell separators, passthroughs, an
/// include directive, an attribute reference.
const NASTY: &str = "./configure: line 1: 42 Segmentation fault *x* a|b +++y+++ pass:[z] include::/etc/passwd[] {attr} `c` trailing\\";

/// Four legacy cells (three from `findings_cli`, with sanitizer reports; one whose configure
/// segfaults with [`NASTY`] as its evidence) and an index with the person's own `Result`.
fn fixture(dir: &Path) {
    let logs = dir.join("run #1");
    fs::create_dir_all(&logs).unwrap();
    crate::findings_cli::logdir(&logs);
    fs::write(
        logs.join("build_004-1.sh.txt"),
        format!("+ ./configure\nchecking for gcc... gcc\n{NASTY}\n"),
    )
    .unwrap();
    fs::write(
        dir.join("labels.csv"),
        "script_name,python,sanitizer,platform,Result\n\
         build_001.sh,3.12.4,tsan,amd64,Tests. Failed\n\
         build_002.sh,3.13.0b4,tsan,amd64,Tests. Passed\n\
         build_003.sh,3.13.0b4,asan,amd64,Tests. Failed\n\
         build_004.sh,3.13.0b4,asan,amd64,Configure. Segmentation fault\n\
         build_005.sh,3.12.4,asan,amd64,Missing\n",
    )
    .unwrap();
}

fn page(dir: &Path, extra: &[&str]) {
    matrix()
        .current_dir(dir)
        .args([
            "report",
            "run #1",
            "--index",
            "labels.csv",
            "--format",
            "json",
        ])
        .args(["--by", "python,sanitizer", "--title", "Small <run>"])
        .args(["--html", "site/page.html", "--adoc", "site/page.adoc"])
        .args(extra)
        .assert()
        .success();
}

#[test]
fn html_and_asciidoc_pages_of_a_small_run() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    fs::create_dir(tmp.path().join("site")).unwrap();
    page(tmp.path(), &[]);
    let html = fs::read_to_string(tmp.path().join("site/page.html")).unwrap();
    let adoc = fs::read_to_string(tmp.path().join("site/page.adoc")).unwrap();
    insta::assert_snapshot!("page_html", html);
    insta::assert_snapshot!("page_adoc", adoc);

    // Most important first.
    let at = |text: &str| html.find(text).unwrap_or_else(|| panic!("no {text}"));
    assert!(at("class=\"tiles\"") < at("id=\"results\""));
    assert!(at("class=\"heatmap\"") < at("id=\"findings\""));
    assert!(at("id=\"findings\"") < at("id=\"cells\""));
    // Every log link resolves from the page's directory (the directory name needs escaping).
    let links: Vec<&str> = html
        .split("<a href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert_eq!(links.len(), 4, "{links:?}");
    for link in links {
        let path = link.replace("%20", " ").replace("%23", "#");
        assert!(tmp.path().join("site").join(&path).is_file(), "{link}");
    }
    // Each finding is listed once and linked from the cells that have it.
    let ids: Vec<&str> = html
        .split("<tr id=\"finding-")
        .skip(1)
        .map(|s| &s[..8])
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    for id in ids {
        assert!(html.contains(&format!("href=\"#finding-{id}\"")), "{id}");
        assert!(adoc.contains(&format!("<<finding-{id},{id}>>")), "{id}");
    }
    // The legacy label that disagrees is marked.
    assert!(html.contains("label differs"), "{html}");
}

#[test]
fn asciidoc_shows_log_text_as_it_is() {
    let Some(asciidoctor) = tool(
        "report_page::asciidoc_shows_log_text_as_it_is",
        "asciidoctor",
        "apt-get install asciidoctor",
        &[],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    fs::create_dir(tmp.path().join("site")).unwrap();
    page(tmp.path(), &[]);
    let out = std::process::Command::new(asciidoctor)
        .args(["-S", "secure", "-o", "-"])
        .arg(tmp.path().join("site/page.adoc"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    // The whole line, escaped only for HTML: no emphasis, no split cell, no passthrough, no
    // include, no attribute.
    let shown = NASTY
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert!(html.contains(&shown), "{shown}\nnot in\n{html}");
    assert!(!html.contains("root:"), "the include was followed");
}

/// A folded report keeps every line as it is: lines of the delimiters' own characters close
/// neither block, a directive is not obeyed, markup stays text.
#[test]
fn asciidoc_folds_a_report_verbatim() {
    let Some(asciidoctor) = tool(
        "report_page::asciidoc_folds_a_report_verbatim",
        "asciidoctor",
        "apt-get install asciidoctor",
        &[],
    ) else {
        return;
    };
    let report = "==1==ERROR: AddressSanitizer: heap-use-after-free\n....\n====\n\
                  include::/etc/passwd[]\nifdef::backend-html5[]\n|a|b| *x* {attr} <script>\n\
                  ......\n    #0 0x1 in f Objects/a.c:1";
    let tmp = tempfile::tempdir().unwrap();
    let doc = format!(
        "= T\n\n.Report\n{}\n\nafter\n",
        matrix::templates::adoc_folded(report.into())
    );
    fs::write(tmp.path().join("r.adoc"), doc).unwrap();
    let out = std::process::Command::new(asciidoctor)
        .args(["-S", "secure", "-o", "-"])
        .arg(tmp.path().join("r.adoc"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let html = String::from_utf8(out.stdout).unwrap();
    let pre = &html[html.find("<pre>").expect("no <pre>") + 5..html.find("</pre>").unwrap()];
    let shown = report.replace('<', "&lt;").replace('>', "&gt;");
    assert_eq!(pre, shown);
    assert!(html.contains("<details>"), "not folded: {html}");
    assert!(
        html.find("</details>").unwrap() < html.find("<p>after</p>").unwrap(),
        "{html}"
    );
}

#[test]
fn sarif_findings_join_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    // The same finding in two versions' builds (the line moved), one row on the page.
    for (build, version, line) in [("build_003", "3.13.0b4", 12), ("build_001", "3.12.4", 10)] {
        let sarif = tmp.path().join(format!(
            "sarif/{build}/sarif-data/src/Python-{version}/a.c.sarif"
        ));
        fs::create_dir_all(sarif.parent().unwrap()).unwrap();
        fs::write(
            &sarif,
            crate::sarif_cli::log(
                version,
                &[(
                    Some("Objects/a.c"),
                    line,
                    "-Wanalyzer-null-dereference",
                    "dereference of NULL 'p'",
                    "f",
                )],
            ),
        )
        .unwrap();
    }
    fs::create_dir(tmp.path().join("site")).unwrap();
    page(tmp.path(), &["--sarif", "sarif"]);
    let html = fs::read_to_string(tmp.path().join("site/page.html")).unwrap();
    assert!(html.contains("Static analysis (SARIF)"), "{html}");
    assert!(
        html.contains("<b>1</b><span><a href=\"#static\">static findings</a>"),
        "{html}"
    );
    let rows: Vec<&str> = html
        .split("<tr id=\"finding-")
        .filter(|r| r.contains("-Wanalyzer-null-dereference"))
        .collect();
    assert_eq!(rows.len(), 1, "{html}");
    let row = rows[0];
    assert!(
        row.contains("<td class=\"mono\">f</td>") && row.contains("<td>3.12.4, 3.13.0b4</td>"),
        "{row}"
    );
    let id = &row[..8];
    let cell = html
        .split("<tr class=")
        .find(|r| r.contains("id=\"cell-build_003.sh\""))
        .unwrap();
    assert!(cell.contains(&format!("#finding-{id}")), "{cell}");

    // --sarif is about the page: alone, it is refused before anything is read.
    matrix()
        .current_dir(tmp.path())
        .args(["report", "run #1", "--sarif", "sarif"])
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--html or --adoc"));
}

#[test]
fn a_page_without_an_index() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    matrix()
        .current_dir(tmp.path())
        .args(["report", "run #1", "--format", "csv", "--html", "p.html"])
        .assert()
        .success();
    let html = fs::read_to_string(tmp.path().join("p.html")).unwrap();
    assert!(html.contains("build_004.sh") && !html.contains("class=\"heatmap\""));
    assert!(
        html.contains("href=\"run%20%231/build_004-1.sh.txt\""),
        "{html}"
    );
    assert!(!html.contains("(label)"));
}

#[test]
fn by_with_csv_is_refused_before_any_page_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    matrix()
        .current_dir(tmp.path())
        .args([
            "report",
            "run #1",
            "--index",
            "labels.csv",
            "--format",
            "csv",
        ])
        .args(["--by", "python", "--html", "p.html"])
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("no room for a pivot"));
    assert!(!tmp.path().join("p.html").exists());
    // With JSON, --by is the pivot there and the page's heat map.
    matrix()
        .current_dir(tmp.path())
        .args([
            "report",
            "run #1",
            "--index",
            "labels.csv",
            "--format",
            "json",
        ])
        .args(["--by", "python", "--html", "p.html"])
        .assert()
        .success();
    let html = fs::read_to_string(tmp.path().join("p.html")).unwrap();
    assert!(html.contains("class=\"heatmap\""));
    fs::remove_file(tmp.path().join("p.html")).unwrap();
    // Without --format, in a pipe or a cron job (stdout is not a terminal here), the page is
    // what was asked for: it is written, and stdout has the cells' CSV.
    let csv = matrix()
        .current_dir(tmp.path())
        .args(["report", "run #1", "--index", "labels.csv"])
        .args(["--by", "python", "--html", "p.html"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(csv).unwrap().starts_with("key,"));
    let html = fs::read_to_string(tmp.path().join("p.html")).unwrap();
    assert!(html.contains("class=\"heatmap\""));
}
