//! The images hold what the cells use, and the checks fail, naming what is missing, when a
//! package is removed from the definition or a script starts to run a new program.

use matrix::definition::images::{RawImages, RawOsImage, RawPackageGroup};
use matrix::definition::{Matrix, RawDefinition, BUILTIN_DEFINITION};
use matrix::images::consistency::{check, Problem};
use matrix::render::Renderer;
use matrix::templates::BUILTIN as BUILTIN_TEMPLATES;

fn raw() -> RawDefinition {
    RawDefinition::from_yaml(BUILTIN_DEFINITION, "test").unwrap()
}

fn os<'a>(raw: &'a mut RawDefinition, name: &str) -> &'a mut RawOsImage {
    let images: &mut RawImages = raw.images.as_mut().unwrap();
    images.os.get_mut(name).unwrap()
}

/// Removes `package` from its group (dropping the group if it empties) and from `provides`.
fn remove_package(raw: &mut RawDefinition, os_name: &str, package: &str) {
    let image = os(raw, os_name);
    for group in &mut image.packages {
        group.install.retain(|p| p != package);
    }
    image.packages.retain(|g| !g.install.is_empty());
    assert!(image.provides.remove(package).is_some(), "{package}");
}

fn problems(raw: RawDefinition) -> Vec<Problem> {
    let m = Matrix::compile(raw, "test").unwrap();
    check(&m, &Renderer::builtin().unwrap()).unwrap()
}

fn text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_builtin_images_hold_what_every_cell_uses() {
    assert_eq!(problems(raw()), []);
}

#[test]
fn removing_clangs_runtime_breaks_the_preload_cells() {
    let mut r = raw();
    remove_package(&mut r, "fedora-40", "compiler-rt");
    let found = problems(r);
    let all = text(&found);
    assert!(found.iter().all(|p| p.os == "fedora-40"), "{all}");
    assert!(
        all.contains("needs one of the files `libclang_rt.asan.so`, `libclang_rt.asan-x86_64.so`"),
        "{all}"
    );
    assert!(all.contains("cell amd64-f40-"), "{all}");
}

#[test]
fn removing_ubuntus_clang_18_runtime_is_caught_although_clang_19_ships_the_same_names() {
    // libclang-rt-19-dev holds files of the same names, but clang 18 does not look there.
    let mut r = raw();
    remove_package(&mut r, "ubuntu-24.04", "libclang-rt-18-dev");
    let all = text(&problems(r));
    assert!(
        all.contains("image ubuntu-24.04: cell ")
            && all.contains("-u24.04-py3.12.4-clang-asan-")
            && all.contains("(found by clang)"),
        "{all}"
    );
    assert!(!all.contains("found by clang-19"), "{all}");
}

#[test]
fn removing_a_static_runtime_breaks_the_static_cells() {
    let mut r = raw();
    remove_package(&mut r, "fedora-40", "libasan-static");
    let all = text(&problems(r));
    assert!(all.contains("image fedora-40: cell "), "{all}");
    assert!(all.contains("-gcc-asan-static-"), "{all}");
    assert!(all.contains("needs file `libasan.a`"), "{all}");
}

#[test]
fn removing_the_linker_or_a_compiler_is_named() {
    let mut r = raw();
    remove_package(&mut r, "fedora-40", "lld");
    let all = text(&problems(r));
    assert!(all.contains("needs command `ld.lld`"), "{all}");

    let mut r = raw();
    remove_package(&mut r, "fedora-40", "gcc-c++");
    let all = text(&problems(r));
    assert!(
        all.contains("-gcc-") && all.contains("needs command `g++`"),
        "{all}"
    );

    // Without clang-19 no package provides the compiler its runtime is declared for.
    let mut r = raw();
    remove_package(&mut r, "ubuntu-24.04", "clang-19");
    let err = format!("{:#}", Matrix::compile(r, "test").unwrap_err());
    assert!(
        err.contains("names compiler `clang-19` in `for_compilers`"),
        "{err}"
    );
}

#[test]
fn removing_a_tool_the_script_calls_is_named_with_every_cell_of_the_os() {
    let mut r = raw();
    remove_package(&mut r, "ubuntu-24.04", "curl");
    let found = problems(r);
    let all = text(&found);
    let m = Matrix::builtin().unwrap();
    let ubuntu_cells = matrix::expand::expand(&m, &matrix::expand::ValueMask::all(&m))
        .unwrap()
        .into_iter()
        .filter(|c| c.id.contains("-u24.04-"))
        .count();
    assert!(
        all.contains("needs command `curl`, which no package the image installs provides")
            && all.contains(&format!("and {} more", ubuntu_cells - 1)),
        "{all}"
    );
    // The apt.llvm.org layer downloads its key with curl too.
    assert!(all.contains("adding a repository runs `curl`"), "{all}");
}

#[test]
fn removing_a_package_but_not_its_provides_entry_is_a_definition_error() {
    let mut r = raw();
    for group in &mut os(&mut r, "fedora-40").packages {
        group.install.retain(|p| p != "make");
    }
    let err = format!("{:#}", Matrix::compile(r, "test").unwrap_err());
    assert!(
        err.contains("images.os.fedora-40")
            && err.contains("`provides` describes package `make`, which no package group installs"),
        "{err}"
    );
}

#[test]
fn a_group_no_cell_needs_is_reported() {
    let mut r = raw();
    let mut when = std::collections::BTreeMap::new();
    when.insert(
        "compiler".to_string(),
        matrix::definition::RawCondition::One("clang-19".into()),
    );
    os(&mut r, "fedora-40").packages.push(RawPackageGroup {
        purpose: "clang 19".into(),
        when,
        repository: None,
        install: vec!["clang19".into()],
    });
    let all = text(&problems(r));
    assert!(
        all.contains("package group #9 (clang 19) is needed by no cell of fedora-40"),
        "{all}"
    );
}

#[test]
fn a_template_that_starts_calling_a_new_program_needs_it_in_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, source) in BUILTIN_TEMPLATES {
        let source = if name == "body.sh.j2" {
            source.replace(
                "stage_begin compile\n",
                "stage_begin compile\nxz --version\n",
            )
        } else {
            source.to_string()
        };
        std::fs::write(tmp.path().join(name), source).unwrap();
    }
    let m = Matrix::builtin().unwrap();
    let found = check(&m, &Renderer::from_dir(tmp.path()).unwrap()).unwrap();
    let all = text(&found);
    assert_eq!(found.len(), 2, "{all}");
    assert!(
        all.contains("image fedora-40: cell ") && all.contains("needs command `xz`"),
        "{all}"
    );
    assert!(all.contains("image ubuntu-24.04: cell "), "{all}");
}
