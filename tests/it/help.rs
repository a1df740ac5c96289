//! `--help` of `matrix`, of every subcommand and of theirs (`report diff`), as snapshots: a flag
//! renamed, a default changed or a help text edited shows up in review as a changed snapshot
//! (`tests/it/snapshots/it__help__*.snap`; accept with `INSTA_UPDATE=always cargo test`).

use clap::CommandFactory;

use crate::common::matrix;

fn help(args: &[&str]) -> String {
    let out = matrix()
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_help_of_every_command_is_as_reviewed() {
    insta::assert_snapshot!("matrix", help(&[]));
    let cli = matrix::cli::Cli::command();
    for command in cli.get_subcommands() {
        let name = command.get_name();
        if name == "help" {
            continue;
        }
        insta::assert_snapshot!(name.to_owned(), help(&[name]));
        for sub in command.get_subcommands() {
            let sub = sub.get_name();
            if sub != "help" {
                insta::assert_snapshot!(format!("{name}-{sub}"), help(&[name, sub]));
            }
        }
    }
}
