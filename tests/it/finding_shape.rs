//! "A finding is a finding": the JSON of `matrix sarif` and of `matrix findings` both parse
//! into the one type `matrix::finding::Finding`, static and dynamic alike.

use std::path::Path;

use matrix::finding::{Finding, Location};
use serde::Deserialize;

use crate::common::matrix;

#[derive(Deserialize)]
struct Doc {
    findings: Vec<Finding>,
}

fn json_of(args: &[&str], dir: &Path) -> Vec<Finding> {
    let out = matrix()
        .args(args)
        .arg(dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Doc = serde_json::from_slice(&out.stdout).unwrap();
    doc.findings
}

#[test]
fn both_commands_write_the_one_shape() {
    let logs = tempfile::tempdir().unwrap();
    crate::findings_cli::logdir(logs.path());
    let dynamic = json_of(&["findings"], logs.path());
    assert_eq!(dynamic.len(), 2);
    let race = dynamic
        .iter()
        .find(|f| f.tool == "ThreadSanitizer")
        .unwrap();
    assert_eq!(race.kind, "data race");
    assert_eq!(race.reports, 3);
    assert_eq!(race.cells.len(), 2);
    // A race's frames are its two sites, the current access's first.
    assert_eq!(race.frames[0].function, "free_threadstate");
    assert_eq!(race.frames[1].function, "take_gil");
    assert_eq!(
        race.location,
        Some(Location {
            file: "Python/pystate.c".into(),
            line: Some(1445)
        })
    );

    let sarif = tempfile::tempdir().unwrap();
    let path = sarif
        .path()
        .join("build-1/sarif-data/src/Python-3.13.0/a.c.sarif");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let log = crate::sarif_cli::log(
        "3.13.0",
        &[
            (
                Some("./Objects/a.c"),
                7,
                "-Wanalyzer-null-dereference",
                "deref of NULL 'p'",
                "f",
            ),
            (None, 0, "-Wanalyzer-malloc-leak", "leak of 'q'", "g"),
        ],
    );
    std::fs::write(&path, log).unwrap();
    let static_ = json_of(&["sarif", "--unlocated"], sarif.path());
    assert_eq!(static_.len(), 2);
    let null = &static_[0];
    assert_eq!(null.tool, "gcc-analyzer");
    assert_eq!(null.kind, "-Wanalyzer-null-dereference");
    assert_eq!(null.message, "deref of NULL 'p'");
    assert_eq!(
        null.location,
        Some(Location {
            file: "Objects/a.c".into(),
            line: Some(7)
        })
    );
    assert!(null.frames.is_empty());
    assert_eq!(null.cells, ["build-1"]);
    assert_eq!(static_[1].location, None);
    // Ids are 8 hex digits in both, and distinct.
    for f in dynamic.iter().chain(&static_) {
        assert_eq!(f.id.len(), 8, "{}", f.id);
        assert!(f.id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert_ne!(static_[0].id, static_[1].id);
}
