//! An 80-column terminal (`COLUMNS=80`): every table `report`, `findings` and `list --long`
//! print fits it, and what does not fit a column follows its row on lines of its own, whole;
//! without a width (a pipe asked for `--format table`) the wide forms stay.

use crate::common::{self, matrix};

/// What `matrix ARGS` prints with `COLUMNS` set to `columns` (or unset).
fn printed(dir: &std::path::Path, columns: Option<&str>, args: &[&str]) -> String {
    let mut command = matrix();
    command.current_dir(dir).args(args).env_remove("COLUMNS");
    if let Some(columns) = columns {
        command.env("COLUMNS", columns);
    }
    let output = command.assert().success().get_output().stdout.clone();
    String::from_utf8(output).unwrap()
}

fn assert_fits(text: &str, what: &str) {
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(
        widest <= 80,
        "{what}: a line of {widest} characters\n{text}"
    );
}

#[test]
fn list_long_turns_into_ids_and_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["list", "--long", "--only", "sanitizer=tsan"];
    let narrow = printed(dir.path(), Some("80"), &args);
    assert_fits(&narrow, "list --long");
    let ids = printed(dir.path(), None, &["list", "--only", "sanitizer=tsan"]);
    let shown: Vec<&str> = narrow.lines().filter(|l| !l.starts_with("  ")).collect();
    assert_eq!(shown, ids.lines().collect::<Vec<_>>());
    assert!(narrow.contains("\n  platform=amd64 os=fedora-40 python=3.12.4 compiler=gcc"));
    // Without a width, the table.
    let wide = printed(dir.path(), None, &args);
    assert!(wide.starts_with("id ") && wide.lines().next().unwrap().ends_with("configure"));
}

#[test]
fn report_and_findings_tables_of_the_arm64_corpus_fit_80_columns() {
    let set = "arm64-hwasan";
    let Some(tmp) = common::corpus(&format!("{set} at 80 columns"), set, &[]) else {
        return;
    };
    let dir = tmp.path().join(set);
    let index = ["--index", "labels.csv", "--format", "table"];
    let cases: Vec<Vec<&str>> = vec![
        [&["report", "logs"][..], &index].concat(),
        [&["report", "logs", "--tests"][..], &index].concat(),
        [
            &["report", "logs", "--by", "Compiler,SanLinksMethod"][..],
            &index,
        ]
        .concat(),
        vec!["findings", "logs", "--format", "table"],
        vec!["findings", "logs", "--cells", "--format", "table"],
    ];
    for args in &cases {
        assert_fits(&printed(&dir, Some("80"), args), &args.join(" "));
    }
    // Legacy script names name no values: those that found no column follow each row.
    let cells = printed(&dir, Some("80"), &cases[0]);
    assert!(
        cells.contains("\nbuild_001.sh  Configure. Segmentation fault ")
            && cells.contains("\n  BaseImage=fedora Compiler=gcc SanLinksMethod=shared\n"),
        "{cells}"
    );
    // The pivot turned: a line per combination and result, and each combination's total.
    let by = printed(&dir, Some("80"), &cases[2]);
    assert!(
        by.contains("\nCompiler     SanLinksMethod  result "),
        "{by}"
    );
    assert!(
        by.contains("\nclang        shared          Configure. Failed "),
        "{by}"
    );
    assert!(by.contains("\n                             total "), "{by}");
    // A finding's frames follow its row, whole.
    let findings = printed(&dir, Some("80"), &cases[3]);
    assert!(
        findings.contains(
            "\n  frames: PyModuleDef_Init < _PyImport_LoadDynamicModuleWithSpec <\n    \
             _imp_create_dynamic_impl\n"
        ),
        "{findings}"
    );
    // Without a width the wide forms stay: one pivot line per combination.
    let wide = printed(&dir, None, &cases[2]);
    assert!(
        wide.lines()
            .any(|l| l.starts_with("Compiler ") && l.ends_with(" total")),
        "{wide}"
    );
}

/// A run's own cells at 80 columns: their ids (up to 60 characters) name their values, so the
/// row is id and result, and why each failed follows it whole on lines of its own.
#[test]
fn a_runs_cells_keep_their_cause_at_80_columns() {
    let dir = tempfile::tempdir().unwrap();
    let only = ["--only", "platform=amd64", "--only", "sanitizer=asan"];
    let index = printed(
        dir.path(),
        None,
        &[&["render", "--out", "s"][..], &only].concat(),
    );
    std::fs::write(dir.path().join("index.csv"), &index).unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    let cell = index.lines().nth(1).unwrap().split(',').next().unwrap();
    let cause = "configure: error: no acceptable C compiler found in $PATH, \
                 see config.log for the details of what it tried and why";
    let m = "::matrix::";
    std::fs::write(
        dir.path().join(format!("logs/{cell}.log")),
        format!(
            "{m} event=stage-start stage=configure time=t\n{cause}\n\
             {m} event=stage-end stage=configure status=1 time=t\n\
             {m} event=finish cell={cell} stage=configure status=1 time=t\n"
        ),
    )
    .unwrap();
    let args = [
        "report",
        "logs",
        "--index",
        "index.csv",
        "--format",
        "table",
    ];
    let text = printed(dir.path(), Some("80"), &args);
    assert_fits(&text, "report of a run's cells");
    assert!(text.starts_with("key "), "{text}");
    let row = text.lines().position(|l| l.starts_with(cell)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[row].trim_end().ends_with("Configure. Failed"),
        "{text}"
    );
    let under: Vec<&str> = (lines[row + 1..].iter())
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim())
        .collect();
    assert_eq!(under.join(" "), cause, "{text}");
}
