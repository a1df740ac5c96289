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

/// The byte range of the text between `// BEGIN name` and `// END name`.
fn block(readme: &str, name: &str) -> std::ops::Range<usize> {
    let begin = format!("// BEGIN {name}\n");
    let end = format!("// END {name}\n");
    let start = readme
        .find(&begin)
        .unwrap_or_else(|| panic!("README.adoc lacks `{begin}`"))
        + begin.len();
    let stop = readme[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("README.adoc lacks `{end}`"))
        + start;
    start..stop
}

/// `UPDATE_README=1 cargo test --test readme` rewrites the blocks instead of failing.
#[test]
fn readme_tables_match_the_definition() {
    let raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "built-in").unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.adoc");
    let mut readme = std::fs::read_to_string(path).unwrap();
    let update = std::env::var_os("UPDATE_README").is_some();
    for (name, expected) in [
        ("axes", axes_table(&raw)),
        ("rules", rules_table(&raw)),
        ("blind_spots", blind_spots_table(&raw)),
    ] {
        let range = block(&readme, name);
        if readme[range.clone()] == expected {
            continue;
        }
        assert!(
            update,
            "README.adoc's {name} table differs from definition/matrix.yaml; run \
             `UPDATE_README=1 cargo test --test readme` or replace the block with:\n{expected}"
        );
        readme.replace_range(range, &expected);
    }
    if update {
        std::fs::write(path, readme).unwrap();
    }
}
