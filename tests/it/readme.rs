//! The README's tables of axes, rules and blind spots are the definition's: this test regenerates them and
//! fails, printing the block to paste, when README.adoc has drifted.

use matrix::definition::{Matrix, RawBlindSpot, RawDefinition, RawValue, BUILTIN_DEFINITION};
use matrix::expand::{expand, ValueMask};

fn axes_table(raw: &RawDefinition) -> String {
    let mut out = String::from(
        "[cols=\"1,3,3,4\",options=\"header\"]\n|===\n| axis | values | id tokens | what\n",
    );
    for axis in &raw.axes {
        let values: Vec<String> = axis
            .values
            .iter()
            .map(|v| format!("`{}`", v.name()))
            .collect();
        let tokens: Vec<String> = axis
            .values
            .iter()
            .map(|v| {
                let token = match v {
                    RawValue::Plain(name) => name.clone(),
                    RawValue::Detailed(d) => d.id.clone().unwrap_or_else(|| d.value.clone()),
                };
                if token.is_empty() {
                    "(none)".to_string()
                } else {
                    format!("`{}{token}`", axis.id_prefix)
                }
            })
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {}\n",
            axis.name,
            values.join(", "),
            tokens.join(", "),
            axis.doc.clone().unwrap_or_default()
        ));
    }
    out.push_str("|===\n");
    out
}

fn rules_table(raw: &RawDefinition) -> String {
    let mut out =
        String::from("[cols=\"2,4,4\",options=\"header\"]\n|===\n| rule | holds when | why\n");
    for rule in &raw.rules {
        out.push_str(&format!(
            "| `{}` | `{}` | {}\n",
            rule.name,
            rule.describe(),
            rule.reason
        ));
    }
    out.push_str("|===\n");
    out
}

/// What lifts a blind spot: `configure` `--a` or `--b`; `env` `X=y`.
fn unless_text(spot: &RawBlindSpot) -> String {
    let u = &spot.unless;
    let kinds = [
        ("configure", &u.configure),
        ("compile", &u.compile),
        ("link", &u.link),
        ("env", &u.env),
        ("wrap", &u.wrap),
    ];
    let parts: Vec<String> = (kinds.iter())
        .filter(|(_, items)| !items.is_empty())
        .map(|(kind, items)| {
            let items: Vec<String> = items.iter().map(|i| format!("`+{i}+`")).collect();
            format!("{kind} {}", items.join(" or "))
        })
        .collect();
    if parts.is_empty() {
        "(nothing)".to_string()
    } else {
        parts.join("; ")
    }
}

fn blind_spots_table(raw: &RawDefinition) -> String {
    let m = Matrix::compile(raw.clone(), "built-in").unwrap();
    let cells = expand(&m, &ValueMask::all(&m)).unwrap();
    let counts = matrix::blind_spots::count(&m, &cells).unwrap();
    let mut out = String::from(
        "[cols=\"3,1,3,3,2,5\",options=\"header\"]\n|===\n\
         | blind spot | cells | when | unless the build has | hides | why\n",
    );
    for (spot, count) in raw.blind_spots.iter().zip(&counts.blind_spots) {
        let hides: Vec<String> = spot.hides.iter().map(|h| format!("`{h}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} | {} | {}\n",
            spot.name,
            count.cells,
            spot.describe_when(),
            unless_text(spot),
            if hides.is_empty() {
                "(nothing)".to_string()
            } else {
                hides.join(", ")
            },
            spot.reason
        ));
    }
    out.push_str("|===\n");
    out
}

/// The byte range of the text between `// BEGIN name` and `// END name` (AsciiDoc), or
/// `<!-- BEGIN name -->` and `<!-- END name -->` (Markdown).
fn block(text: &str, name: &str, markdown: bool) -> std::ops::Range<usize> {
    let (begin, end) = if markdown {
        (
            format!("<!-- BEGIN {name} -->\n"),
            format!("<!-- END {name} -->\n"),
        )
    } else {
        (format!("// BEGIN {name}\n"), format!("// END {name}\n"))
    };
    let start = text
        .find(&begin)
        .unwrap_or_else(|| panic!("the document lacks `{begin}`"))
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("the document lacks `{end}`"))
        + start;
    start..stop
}

/// Rewrites (under `UPDATE_README`) or checks each named block of the document at `path`.
fn check_blocks(path: &std::path::Path, blocks: &[(&str, String)]) {
    let markdown = path.extension().is_some_and(|e| e == "md");
    let mut text = std::fs::read_to_string(path).unwrap();
    let update = std::env::var_os("UPDATE_README").is_some();
    for (name, expected) in blocks {
        let range = block(&text, name, markdown);
        if text[range.clone()] == *expected {
            continue;
        }
        assert!(
            update,
            "{}'s {name} block differs from what the current build gives; run \
             `UPDATE_README=1 cargo test --test it readme` or replace the block with:\n{expected}",
            path.display()
        );
        text.replace_range(range, expected);
    }
    if update {
        std::fs::write(path, text).unwrap();
    }
}

/// `UPDATE_README=1 cargo test --test it readme` rewrites the blocks instead of failing.
#[test]
fn readme_tables_match_the_definition() {
    let raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "built-in").unwrap();
    let path = crate::common::project_root().join("README.adoc");
    check_blocks(
        &path,
        &[
            ("axes", axes_table(&raw)),
            ("rules", rules_table(&raw)),
            ("blind_spots", blind_spots_table(&raw)),
        ],
    );
}

/// The sizes `docs/PERFORMANCE.md` states are the current build's: the built-in matrix's
/// cells, its rendered scripts and index, and its Workflow stream.
fn sizes_table() -> String {
    let ctx = crate::common::TestContext::new();
    let index = ctx.stdout(&["render", "--out", "scripts"]);
    let scripts: u64 = std::fs::read_dir(ctx.path().join("scripts"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let cells = index.lines().count() - 1;
    let workflow = ctx.stdout(&["workflow"]);
    let documents = workflow.matches("\nkind: Workflow\n").count();
    let n = |v: u64| {
        let digits = v.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    format!(
        "| what | the current build |\n|---|---|\n\
         | cells of the built-in matrix | {} |\n\
         | `matrix render --out DIR`: the scripts, the CSV index | {} bytes, {} bytes |\n\
         | `matrix workflow`: Workflows, bytes | {}, {} bytes |\n",
        n(cells as u64),
        n(scripts),
        n(index.len() as u64),
        n(documents as u64),
        n(workflow.len() as u64),
    )
}

#[test]
fn performance_sizes_are_the_current_builds() {
    let path = crate::common::project_root().join("docs/PERFORMANCE.md");
    check_blocks(&path, &[("sizes", sizes_table())]);
}
