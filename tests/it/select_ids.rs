//! Cells by id: `--only id=…` / `--except id=…` with `*` globs and `--cells FILE`, on every
//! command that selects, with errors that name the id, the file and line, and the closest id.

use crate::common::{refused, stdout_of, TestContext};

const CELL: &str = "amd64-f40-py3.12.4-gcc-default";

fn ids(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn an_id_a_glob_and_an_except_select_what_they_name_in_definition_order() {
    assert_eq!(
        ids(&stdout_of(&["list", "--only", &format!("id={CELL}")])),
        [CELL]
    );
    let tsan = stdout_of(&["list", "--only", "id=*-tsan-*"]);
    let by_value = stdout_of(&["list", "--only", "sanitizer=tsan"]);
    assert_eq!(
        tsan, by_value,
        "a glob of ids and the axis name the same cells"
    );
    let amd64_tsan = stdout_of(&["list", "--only", "id=*-tsan-*", "--only", "platform=amd64"]);
    assert!(!amd64_tsan.is_empty() && amd64_tsan.lines().all(|l| l.starts_with("amd64-")));
    let rest = stdout_of(&["list", "--except", "id=*-tsan-*"]);
    let all = stdout_of(&["list"]);
    assert_eq!(
        ids(&rest).len() + ids(&tsan).len(),
        ids(&all).len(),
        "--except id= drops exactly the cells --only id= keeps"
    );
}

#[test]
fn a_cells_file_selects_on_render_workflow_and_explain() {
    let t = TestContext::new();
    let other = "amd64-f40-py3.12.4-gcc-tsan-shared-debug";
    t.write(
        "failed.txt",
        format!("# cut from results.csv\n{CELL}\n\n{other}  # flaky\n"),
    );
    assert_eq!(
        ids(&t.stdout(&["list", "--cells", "failed.txt"])),
        [CELL, other]
    );
    let index = t.stdout(&["render", "--cells", "failed.txt", "--out", "scripts"]);
    assert_eq!(index.lines().count(), 3, "{index}");
    assert!(t.path().join(format!("scripts/{CELL}.sh")).is_file());
    let manifest = t.stdout(&["workflow", "--only", &format!("id={other}")]);
    assert!(manifest.contains(other) && !manifest.contains(CELL));
    let explained = t.stdout(&["explain", &format!("id={CELL}")]);
    assert!(
        explained.contains(&format!("is cell {CELL}")),
        "{explained}"
    );
    // Two lists: a cell must be in both.
    t.write("one.txt", format!("{other}\n"));
    assert_eq!(
        ids(&t.stdout(&["list", "--cells", "failed.txt", "--cells", "one.txt"])),
        [other]
    );
}

#[test]
fn an_id_that_names_no_cell_is_refused_with_the_closest_and_where_it_was_written() {
    let err = refused(&["list", "--only", "id=amd64-f40-py3.12.4-gcc-defualt"]);
    assert!(
        err.contains("--only id=amd64-f40-py3.12.4-gcc-defualt")
            && err.contains("has no cell with that id")
            && err.contains(&format!("did you mean `{CELL}`")),
        "{err}"
    );
    let err = refused(&["render", "--only", "id=*-xsan-*", "--out", "/nonexistent/x"]);
    assert!(err.contains("`*-xsan-*` matches no cell"), "{err}");
    let err = refused(&["list", "--only", "id=*-tsan-*", "--only", "sanitizer=asan"]);
    assert!(
        err.contains("names cells that the selection's filters"),
        "{err}"
    );
    let err = refused(&["list", "--except", "id=nothing-like-it"]);
    assert!(err.contains("--except id=nothing-like-it"), "{err}");
    let t = TestContext::new();
    t.write("bad.txt", format!("{CELL}\n{CELL} extra\n"));
    let err = t.refused(&["list", "--cells", "bad.txt"]);
    assert!(
        err.contains("bad.txt:2: ") && err.contains("is not a cell id"),
        "{err}"
    );
    t.write("typo.txt", "# one\n\namd64-f40-py3.12.4-gcc-defualt\n");
    let err = t.refused(&["list", "--cells", "typo.txt"]);
    assert!(
        err.contains("typo.txt:3: `amd64-f40-py3.12.4-gcc-defualt`"),
        "{err}"
    );
    let err = t.refused(&["list", "--cells", "missing.txt"]);
    assert!(err.contains("missing.txt"), "{err}");
    let err = refused(&["explain", "id=*-tsan-*"]);
    assert!(
        err.contains("140 cells match") && err.contains("explain takes one cell"),
        "{err}"
    );
}

#[test]
fn no_axis_may_be_called_id() {
    let t = TestContext::new();
    let definition = crate::common::edited_definition(t.path(), |raw| {
        raw.axes[0].name = "id".into();
    });
    let err = t.refused(&["--config", definition.to_str().unwrap(), "list"]);
    assert!(
        err.contains("axis `id`") && err.contains("reserved"),
        "{err}"
    );
}
