//! Guards for the crate's structure (issues 9 and 23): no import cycle among the modules of
//! `src/`, every import between top-level modules points down the layers
//! `docs/ARCHITECTURE.md` draws ("Layers"), and nothing outside `src/cli/` depends on the command line
//! (`crate::cli`, `clap`). The
//! checker reads the source as text (comments and string literals removed) and is tested on
//! small synthetic trees so that each guard is seen to fail. How long a function may be is
//! clippy's `too_many_lines` (clippy.toml), not a cap on files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One source file: its module path (`report::classify::marker`; `""` for the crate root) and
/// its text without comments and string or char literals.
struct Module {
    path: String,
    file: PathBuf,
    code: String,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` is the root. `src/main.rs` is
/// the binary, not a module of the library: `None`.
fn module_path(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    match last.as_str() {
        "main.rs" if parts.is_empty() => return None,
        "lib.rs" if parts.is_empty() => {}
        "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    Some(parts.join("::"))
}

/// The code with comments, string literals and char literals blanked out, so that a path
/// mentioned in prose or in a message is not taken for a dependency.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r' && matches!(c.get(i + 1), Some('#') | Some('"')) {
            // A raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && (c.get(i + 1) == Some(&'\\') || c.get(i + 2) == Some(&'\'')) {
            // A char literal ('"', '\'', '\n'); a lifetime ('a) has no closing quote.
            i += 1;
            while i < c.len() && c[i] != '\'' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn load(src: &Path) -> Vec<Module> {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    files
        .into_iter()
        .map(|file| {
            let text = fs::read_to_string(&file).unwrap();
            Module {
                path: module_path(src, &file).unwrap_or_else(|| "<main>".into()),
                code: strip(&text),
                file,
            }
        })
        .collect()
}

fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// The paths that start at `code[at..]` (just after `crate::` or `super::`): `a::b::C`, or
/// each path of a group `{a::{b, c}, d}`, each as its segments.
fn paths_at(code: &[char], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix: Vec<String> = Vec::new();
    loop {
        while at < code.len() && code[at].is_whitespace() {
            at += 1;
        }
        if at < code.len() && code[at] == '{' {
            let mut all = Vec::new();
            at += 1;
            loop {
                while at < code.len() && (code[at].is_whitespace() || code[at] == ',') {
                    at += 1;
                }
                if at >= code.len() || code[at] == '}' {
                    at += 1;
                    break;
                }
                let (inner, next) = paths_at(code, at);
                for p in inner {
                    let mut full = prefix.clone();
                    full.extend(p);
                    all.push(full);
                }
                at = next;
            }
            return (all, at);
        }
        let start = at;
        while at < code.len() && is_ident(code[at]) {
            at += 1;
        }
        if at == start {
            return (vec![prefix], at);
        }
        prefix.push(code[start..at].iter().collect());
        if code.get(at) == Some(&':') && code.get(at + 1) == Some(&':') {
            at += 2;
        } else {
            // Skip `as name` and the like: the path ends here.
            while at < code.len() && !matches!(code[at], ',' | '}' | ';') {
                if code[at] == '{' || code[at] == '(' {
                    break;
                }
                at += 1;
            }
            return (vec![prefix], at);
        }
    }
}

/// The modules `module` refers to (`crate::…` and `super::…` paths), each resolved to the
/// longest known module path, and whether it names `clap`.
fn references(module: &Module, known: &BTreeSet<String>) -> (BTreeSet<String>, bool) {
    let code: Vec<char> = module.code.chars().collect();
    let own: Vec<&str> = if module.path.is_empty() {
        vec![]
    } else {
        module.path.split("::").collect()
    };
    // `super` of a file `a/b.rs` (module a::b) is `a`; of `a/b/mod.rs` (also a::b) it is `a`;
    // inside an inline `mod tests { … }` of either, it is `a::b`.
    let mut out = BTreeSet::new();
    let mut clap = false;
    // The braces open at `i`, each with the inline module's name when it opened one.
    let mut braces: Vec<Option<String>> = Vec::new();
    // The inline module whose `{` comes next (`mod name {`).
    let mut module_brace: Option<(usize, String)> = None;
    let mut i = 0;
    while i < code.len() {
        let boundary = i == 0 || !(is_ident(code[i - 1]) || code[i - 1] == ':');
        let rest: String = code[i..(i + 7).min(code.len())].iter().collect();
        if boundary && rest.starts_with("crate::") {
            let (paths, _) = paths_at(&code, i + 7);
            for p in paths {
                if let Some(m) = resolve(&p, known) {
                    out.insert(m);
                }
            }
            i += 7;
        } else if boundary && rest.starts_with("super::") {
            let mut base: Vec<&str> = own.clone();
            base.extend(braces.iter().flatten().map(String::as_str));
            let mut at = i;
            while code[at..].iter().take(7).collect::<String>() == "super::" {
                base.pop();
                at += 7;
            }
            let (paths, _) = paths_at(&code, at);
            for p in paths {
                let mut full: Vec<String> = base.iter().map(|s| s.to_string()).collect();
                full.extend(p);
                if let Some(m) = resolve(&full, known) {
                    out.insert(m);
                }
            }
            i = at;
        } else if boundary
            && rest.starts_with("clap")
            && !code.get(i + 4).copied().is_some_and(is_ident)
        {
            clap = true;
            i += 4;
        } else {
            if boundary {
                if let Some(found) = inline_module_at(&code, i) {
                    module_brace = Some(found);
                }
            }
            match code[i] {
                '{' => braces.push(match module_brace.take() {
                    Some((at, name)) if at == i => Some(name),
                    other => {
                        module_brace = other;
                        None
                    }
                }),
                '}' => {
                    braces.pop();
                }
                _ => {}
            }
            i += 1;
        }
    }
    (out, clap)
}

/// `mod name {` at `code[at..]`: where its `{` is, and the name.
fn inline_module_at(code: &[char], at: usize) -> Option<(usize, String)> {
    let keyword: String = code[at..(at + 3).min(code.len())].iter().collect();
    if keyword != "mod" || !code.get(at + 3).is_some_and(|c| c.is_whitespace()) {
        return None;
    }
    let skip_space = |mut i: usize| {
        while code.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    let start = skip_space(at + 3);
    let mut end = start;
    while code.get(end).copied().is_some_and(is_ident) {
        end += 1;
    }
    let brace = skip_space(end);
    (end > start && code.get(brace) == Some(&'{'))
        .then(|| (brace, code[start..end].iter().collect()))
}

fn resolve(path: &[String], known: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|p| known.contains(p))
}

/// The child of `parent` that `module` is in or under (`report::classify` for
/// `report::classify::marker` under `report`), if any.
fn child_of(parent: &str, module: &str) -> Option<String> {
    let rest = if parent.is_empty() {
        module
    } else {
        module.strip_prefix(parent)?.strip_prefix("::")?
    };
    let first = rest.split("::").next().filter(|s| !s.is_empty())?;
    Some(if parent.is_empty() {
        first.to_owned()
    } else {
        format!("{parent}::{first}")
    })
}

/// Every cycle among siblings: for each module, its children depend on each other when
/// anything in one's subtree refers into another's. A parent using its children, and children
/// using their parent's items, is how a module is built and not a cycle. Each cycle is
/// written `a -> b -> a`.
fn cycles(modules: &[Module]) -> Vec<String> {
    let known: BTreeSet<String> = modules.iter().map(|m| m.path.clone()).collect();
    let refs: Vec<(String, BTreeSet<String>)> = modules
        .iter()
        .filter(|m| m.path != "<main>")
        .map(|m| (m.path.clone(), references(m, &known).0))
        .collect();
    let mut found = Vec::new();
    for parent in &known {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, targets) in &refs {
            let Some(a) = child_of(parent, from) else {
                continue;
            };
            for to in targets {
                if let Some(b) = child_of(parent, to) {
                    if a != b {
                        graph.entry(a.clone()).or_default().insert(b);
                    }
                }
            }
        }
        found.extend(graph_cycles(&graph));
    }
    found
}

/// One cycle per strongly connected set found by depth-first search, as `a -> b -> a`.
fn graph_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<String>,
    ) {
        if let Some(pos) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(node.to_owned());
            found.push(cycle.join(" -> "));
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_owned());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

/// Files outside `src/cli/` (and the binary's `main.rs`) that use `crate::cli` or `clap`.
fn cli_leaks(modules: &[Module]) -> Vec<String> {
    let known: BTreeSet<String> = modules.iter().map(|m| m.path.clone()).collect();
    modules
        .iter()
        .filter(|m| m.path != "<main>" && m.path != "cli" && !m.path.starts_with("cli::"))
        .filter_map(|m| {
            let (refs, clap) = references(m, &known);
            let cli = refs.iter().any(|r| r == "cli" || r.starts_with("cli::"));
            (cli || clap).then(|| {
                format!(
                    "{} uses {}",
                    m.file.display(),
                    if cli { "crate::cli" } else { "clap" }
                )
            })
        })
        .collect()
}

/// The rows of `docs/ARCHITECTURE.md`'s layer diagram ("Layers"), top first: the top-level
/// modules each row names. A row is a line of the diagram's first column (before two spaces);
/// arrows and the descriptions' continuation lines start with a space or `↓`.
fn diagram_layers(doc: &str) -> Vec<Vec<String>> {
    let section = &doc[doc.find("## Layers").expect("no ## Layers")..];
    let block = section.split("\n```\n").nth(1).expect("no diagram");
    block
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with([' ', '↓']))
        .map(|l| {
            let names = l.split("  ").next().unwrap();
            names
                .split(" · ")
                .map(|n| n.trim().trim_end_matches('/').to_owned())
                .collect()
        })
        .collect()
}

/// Imports between top-level modules that do not point to a lower row of `layers`, and
/// top-level modules on no row, each as a line.
fn layer_violations(modules: &[Module], layers: &[Vec<String>]) -> Vec<String> {
    let known: BTreeSet<String> = modules.iter().map(|m| m.path.clone()).collect();
    let row = |module: &str| layers.iter().position(|r| r.iter().any(|n| n == module));
    let top = |path: &str| path.split("::").next().unwrap().to_owned();
    let mut found = BTreeSet::new();
    for module in modules
        .iter()
        .filter(|m| !m.path.is_empty() && m.path != "<main>")
    {
        let from = top(&module.path);
        let Some(from_row) = row(&from) else {
            found.insert(format!("{from} is on no row of the diagram"));
            continue;
        };
        for to in references(module, &known).0.iter().map(|r| top(r)) {
            if to == from || to.is_empty() {
                continue;
            }
            match row(&to) {
                Some(to_row) if to_row > from_row => {}
                _ => {
                    found.insert(format!("{from} imports {to}, not below it"));
                }
            }
        }
    }
    found.into_iter().collect()
}

fn project_src() -> PathBuf {
    crate::common::project_root().join("src")
}

#[test]
fn the_module_graph_has_no_cycle() {
    let modules = load(&project_src());
    assert!(modules.len() > 40, "read {} files", modules.len());
    let found = cycles(&modules);
    assert!(
        found.is_empty(),
        "import cycles in src/:\n{}",
        found.join("\n")
    );
}

#[test]
fn imports_point_down_the_layers_the_architecture_draws() {
    let path = crate::common::project_root().join("docs/ARCHITECTURE.md");
    let layers = diagram_layers(&fs::read_to_string(path).unwrap());
    assert!(layers.len() > 5, "{layers:?}");
    let wrong = layer_violations(&load(&project_src()), &layers);
    assert!(
        wrong.is_empty(),
        "the diagram of docs/ARCHITECTURE.md (Layers) and the code disagree:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_cli_knows_the_command_line() {
    let leaks = cli_leaks(&load(&project_src()));
    assert!(
        leaks.is_empty(),
        "the domain must not depend on the command line (keep clap types in src/cli/):\n{}",
        leaks.join("\n")
    );
}

/// The checker on synthetic trees: each guard fails where it must, and only there.
mod checker {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<Module>) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let modules = load(dir.path());
        (dir, modules)
    }

    const LIB: &str = "pub mod a;\npub mod b;\npub mod cli;\n";

    #[test]
    fn a_cycle_between_top_level_modules_is_found() {
        let (_d, m) = tree(&[
            ("lib.rs", LIB),
            ("a.rs", "use crate::b::Thing;\n"),
            ("b/mod.rs", "pub mod inner;\n"),
            ("b/inner.rs", "use crate::{a::{self, Other}, cli};\n"),
            ("cli/mod.rs", ""),
        ]);
        assert_eq!(cycles(&m), vec!["a -> b -> a".to_string()]);
    }

    #[test]
    fn a_cycle_between_submodules_is_found_through_super() {
        let (_d, m) = tree(&[
            ("lib.rs", LIB),
            ("a.rs", ""),
            ("b/mod.rs", "mod x;\nmod y;\nuse self::x::X;\n"),
            ("b/x.rs", "use super::y::Y;\nuse super::Shared;\n"),
            ("b/y.rs", "fn f() -> super::super::b::x::X { todo!() }\n"),
            ("cli/mod.rs", ""),
        ]);
        assert_eq!(cycles(&m), vec!["b::x -> b::y -> b::x".to_string()]);
    }

    #[test]
    fn super_in_an_inline_module_starts_from_its_file() {
        // `b::x` uses `b::y`; what `b/y.rs` says decides whether `b::y` uses `b::x` back.
        let cycles_with_y = |y: &str| {
            let (_d, m) = tree(&[
                ("lib.rs", LIB),
                ("a.rs", ""),
                ("b/mod.rs", "mod x;\nmod y;\n"),
                ("b/x.rs", "use super::y::Y;\n"),
                ("b/y.rs", y),
                ("cli/mod.rs", ""),
            ]);
            cycles(&m)
        };
        // In `b/y.rs`'s `mod tests`, `super::super` is `b`, not the crate root.
        assert_eq!(
            cycles_with_y(
                "pub struct Y;\nfn f() {}\nmod tests {\n    use super::super::x::X;\n    mod deeper { use super::super::super::a; }\n}\n"
            ),
            vec!["b::x -> b::y -> b::x".to_string()]
        );
        // After the inline module closes, `super` is the file's parent again.
        let after = cycles_with_y("mod tests { fn g() {} }\nuse super::super::b::Z;\n");
        assert!(after.is_empty(), "{after:?}");
    }

    #[test]
    fn paths_in_comments_and_strings_are_not_dependencies() {
        let (_d, m) = tree(&[
            ("lib.rs", LIB),
            ("a.rs", "use crate::b::B;\n"),
            (
                "b/mod.rs",
                "// crate::a::A\n/* use crate::cli; */\nconst S: &str = \"crate::a \\\" clap\";\nconst R: &str = r#\"crate::a\"#;\nfn f<'a>(c: char) -> bool { c == '\"' }\n",
            ),
            ("cli/mod.rs", "use clap::Parser;\nuse crate::a;\n"),
        ]);
        assert!(cycles(&m).is_empty(), "{:?}", cycles(&m));
        assert!(cli_leaks(&m).is_empty(), "{:?}", cli_leaks(&m));
    }

    #[test]
    fn an_import_up_or_across_the_layers_is_found() {
        let diagram = "## Layers\n\n```\ncli/  the top\n  ↓\na · b/  side by side\n  ↓\nc\n```\n";
        let layers = diagram_layers(diagram);
        assert_eq!(layers, [vec!["cli"], vec!["a", "b"], vec!["c"]]);
        let (_d, m) = tree(&[
            (
                "lib.rs",
                "pub mod a; pub mod b; pub mod c; pub mod cli; pub mod d;",
            ),
            ("a.rs", "use crate::b::X; use crate::c::Y;"),
            ("b/mod.rs", "use crate::c::Z;"),
            ("c.rs", "use crate::a::W;"),
            ("cli/mod.rs", "use crate::a::V;"),
            ("d.rs", ""),
        ]);
        assert_eq!(
            layer_violations(&m, &layers),
            [
                "a imports b, not below it",
                "c imports a, not below it",
                "d is on no row of the diagram"
            ]
        );
    }

    #[test]
    fn the_command_line_outside_cli_is_found() {
        let (_d, m) = tree(&[
            ("lib.rs", LIB),
            ("a.rs", "use crate::cli::Format;\n"),
            ("b/mod.rs", "#[derive(clap::ValueEnum)]\npub enum F { X }\n"),
            ("cli/mod.rs", "use clap::Parser;\n"),
            ("main.rs", "fn main() { matrix::cli::main() }\n"),
        ]);
        let leaks = cli_leaks(&m);
        assert_eq!(leaks.len(), 2, "{leaks:?}");
        assert!(leaks[0].ends_with("a.rs uses crate::cli"), "{leaks:?}");
        assert!(leaks[1].ends_with("b/mod.rs uses clap"), "{leaks:?}");
    }
}
