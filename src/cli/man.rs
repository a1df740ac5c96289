//! `matrix man`: the manual pages, generated from the argument definitions, with each
//! command's examples and files; `matrix(1)` on stdout, or one page per command in a directory.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_mangen::roff::{bold, italic, roman, Roff};

use super::Cli;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write a page per command into DIR (matrix.1, matrix-report.1, matrix-report-diff.1, …;
    /// the directory is replaced as a whole) instead of matrix(1) on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Replace DIR even when `matrix` did not write it.
    #[arg(long, requires = "out")]
    pub force: bool,
}

pub fn run(args: &ManArgs) -> Result<Vec<u8>> {
    let mut command = Cli::command();
    command.build();
    let Some(dir) = &args.out else {
        return page(&command, "matrix");
    };
    let pages = pages(&command, "matrix")?;
    let files: Vec<crate::output::OutputFile<'_>> = (pages.iter())
        .map(|(name, text)| crate::output::OutputFile {
            name,
            contents: text,
            executable: false,
        })
        .collect();
    crate::output::write_dir(dir, args.force, "the man pages", &[], &files).map_err(|err| {
        super::with_flags(err, |refused: crate::output::NotReplaced| {
            anyhow::anyhow!("{refused}: choose another --out, or give --force")
        })
    })?;
    eprintln!(
        "matrix: wrote {} pages into {} (`man -l {}/matrix-report.1`)",
        pages.len(),
        dir.display(),
        dir.display()
    );
    Ok(Vec::new())
}

/// `command`'s page and those of its subcommands, depth first, as (file name, roff).
fn pages(command: &clap::Command, name: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut all = vec![(format!("{name}.1"), page(command, name)?)];
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        all.extend(pages(sub, &format!("{name}-{}", sub.get_name()))?);
    }
    Ok(all)
}

/// One page: clap_mangen's sections, then EXAMPLES, EXIT STATUS, FILES and SEE ALSO.
fn page(command: &clap::Command, name: &str) -> Result<Vec<u8>> {
    // Subcommands carry no version of their own; every page says the tool's.
    let command = command
        .clone()
        .display_name(name.to_owned())
        .version(env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if command.has_subcommands() {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = Roff::new();
    definitions(&mut roff, "EXAMPLES", &examples(name));
    let statuses = super::EXIT_STATUSES.map(|(status, meaning)| (status.to_string(), meaning));
    definitions(&mut roff, "EXIT STATUS", &statuses);
    definitions(&mut roff, "FILES", files(name));
    see_also(&mut roff, &command, name);
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// A section of `.TP` paragraphs: a term in bold, its meaning below.
fn definitions<T: AsRef<str>>(roff: &mut Roff, title: &str, items: &[(T, &str)]) {
    if items.is_empty() {
        return;
    }
    roff.control("SH", [title]);
    for (term, meaning) in items {
        roff.control("TP", [] as [&str; 0])
            .text([bold(term.as_ref())])
            .text([roman(*meaning)]);
    }
}

/// The parent's page and the subcommands' pages.
fn see_also(roff: &mut Roff, command: &clap::Command, name: &str) {
    let mut related: Vec<String> = Vec::new();
    if let Some((parent, _)) = name.rsplit_once('-') {
        related.push(parent.to_owned());
    }
    related.extend(
        (command.get_subcommands())
            .filter(|s| s.get_name() != "help")
            .map(|s| format!("{name}-{}", s.get_name())),
    );
    if related.is_empty() {
        return;
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut line = Vec::new();
    for (n, page) in related.iter().enumerate() {
        if n > 0 {
            line.push(roman(", "));
        }
        line.push(bold(page.as_str()));
        line.push(roman("(1)"));
    }
    line.push(roman("; the README for the whole guide: "));
    line.push(italic("README.adoc"));
    roff.text(line);
}

/// Each command's examples: its page, a command line, and what it does.
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "matrix",
        "matrix check",
        "validate the definition and lint every script (the CI dry run)",
    ),
    (
        "matrix",
        "matrix render --out scripts > index.csv",
        "one build script per cell, and the index",
    ),
    (
        "matrix",
        "matrix workflow | argo submit -n argo -",
        "the whole matrix on an Argo cluster",
    ),
    (
        "matrix",
        "matrix run --out runs/tonight --only python=3.13.5 --only sanitizer=asan",
        "run cells here",
    ),
    (
        "matrix",
        "matrix report runs/tonight --html tonight.html",
        "results, and a page to read them",
    ),
    (
        "matrix-render",
        "matrix render --out scripts > index.csv",
        "every cell's script, the CSV index on stdout",
    ),
    (
        "matrix-render",
        "matrix render --out smoke --cover 2",
        "a covering sample: every pair of values, 21 cells",
    ),
    (
        "matrix-render",
        "matrix render --out one --only id=amd64-u24.04-py3.13.5-gcc-asan-shared-pre-debug",
        "one cell",
    ),
    (
        "matrix-workflow",
        "matrix workflow --registry ghcr.io/me | argo submit -n argo -",
        "submit the whole matrix",
    ),
    (
        "matrix-workflow",
        "matrix workflow --only platform=amd64 --only sanitizer=analyzer",
        "a slice, one Workflow",
    ),
    (
        "matrix-workflow",
        "matrix workflow --kind cron-workflow --schedule \"0 3 * * *\" > nightly.yaml",
        "a nightly CronWorkflow",
    ),
    (
        "matrix-list",
        "matrix list --only python=3.13.5 | wc -l",
        "how many cells a version has",
    ),
    (
        "matrix-list",
        "matrix list --long --only sanitizer=tsan",
        "ids and values",
    ),
    ("matrix-list", "matrix list --cover 2", "a covering sample"),
    (
        "matrix-axes",
        "matrix axes --only platform=arm64",
        "values and their cell counts on arm64",
    ),
    (
        "matrix-explain",
        "matrix explain compiler=clang-19 os=fedora-40",
        "which rules exclude this combination",
    ),
    (
        "matrix-explain",
        "matrix explain id=amd64-u24.04-py3.13.5-gcc-asan-shared-pre-debug",
        "one cell: its flags and why",
    ),
    (
        "matrix-explain",
        "matrix explain --blind-spots",
        "the cells that cannot see a class of defect",
    ),
    (
        "matrix-check",
        "matrix check",
        "the dry run CI gates a definition change on",
    ),
    (
        "matrix-init",
        "matrix init",
        "write the built-in definition to ./matrix.yaml",
    ),
    (
        "matrix-init",
        "matrix init --profile cpython-ci ci.yaml",
        "CPython's own sanitizer setup",
    ),
    (
        "matrix-init",
        "matrix --config mine.yaml init copy.yaml",
        "a copy of another definition",
    ),
    (
        "matrix-completions",
        "source <(matrix completions bash)",
        "complete axes, values and cell ids in bash",
    ),
    (
        "matrix-completions",
        "matrix completions fish > ~/.config/fish/completions/matrix.fish",
        "in fish",
    ),
    (
        "matrix-man",
        "matrix man --out man1",
        "a page per command into man1/",
    ),
    ("matrix-man", "man -l man1/matrix-report.1", "read one"),
    (
        "matrix-images",
        "matrix images --out dockerfiles",
        "one Dockerfile per OS, checked against the matrix",
    ),
    (
        "matrix-images",
        "matrix images --workflow --registry ghcr.io/me | argo submit -n argo -",
        "build them in the cluster",
    ),
    (
        "matrix-images-build",
        "matrix images build --engine podman --only os=debian-12",
        "build an image here",
    ),
    (
        "matrix-images-verify",
        "matrix images verify localhost/cpython-matrix/build-cpython:debian-12",
        "check an image from the inside",
    ),
    (
        "matrix-sarif",
        "matrix sarif data/ --summary",
        "counts per version, rule and file",
    ),
    (
        "matrix-sarif",
        "matrix sarif data/ --diff 3.12.4 3.13.0b4",
        "what 3.13.0b4 has that 3.12.4 has not",
    ),
    (
        "matrix-report",
        "matrix report runs/tonight",
        "results per cell (a table on a terminal, CSV in a pipe)",
    ),
    (
        "matrix-report",
        "matrix report runs/tonight --reasons",
        "the failed cells grouped by cause",
    ),
    (
        "matrix-report",
        "matrix report runs/tonight --by compiler,sanitizer --html tonight.html",
        "the page, with a heat map",
    ),
    (
        "matrix-report-diff",
        "matrix report diff last-night.csv runs/tonight --fail-on-regression",
        "what changed since last night",
    ),
    (
        "matrix-findings",
        "matrix findings runs/tonight/logs --known known.csv --new",
        "tonight's new findings only",
    ),
    (
        "matrix-findings",
        "matrix findings logs/ --known known.csv --update --fail-on-new",
        "nightly: record, fail on new",
    ),
    (
        "matrix-findings-show",
        "matrix findings show 2b1159f2 runs/tonight/logs",
        "one report in full, from its log",
    ),
    (
        "matrix-run",
        "matrix run --out runs/tonight --only python=3.13.5 --only sanitizer=asan",
        "run cells on this machine",
    ),
    (
        "matrix-run",
        "matrix run --out runs/tonight --resume",
        "finish an interrupted run",
    ),
    (
        "matrix-run",
        "matrix run --out runs/tonight --rerun failed,timeout",
        "run those cells again",
    ),
    (
        "matrix-repro",
        "matrix repro amd64-u24.04-py3.13.5-gcc-asan-shared-pre-debug --shell",
        "one cell again, then a shell in its tree",
    ),
    (
        "matrix-fetch",
        "matrix fetch -n argo matrix-x7k2p --out runs/argo",
        "a run on Argo into a run directory",
    ),
];

/// The examples on `page`'s page.
fn examples(page: &str) -> Vec<(&'static str, &'static str)> {
    (EXAMPLES.iter())
        .filter(|(on, _, _)| *on == page)
        .map(|&(_, command, what)| (command, what))
        .collect()
}

/// The files a command reads or writes by itself.
fn files(page: &str) -> &'static [(&'static str, &'static str)] {
    const DEFINITION: (&str, &str) = (
        "./matrix.yaml",
        "the matrix definition, when --config is not given (else the built-in one)",
    );
    const CACHE: (&str, &str) = (
        "$XDG_CACHE_HOME/matrix/sources",
        "downloaded and made source tarballs (~/.cache/matrix/sources without XDG_CACHE_HOME)",
    );
    const RUN_DIR: (&str, &str) = (
        "RUNDIR/{index.csv,results.csv,scripts,logs,artifacts,work}",
        "a run: its cells, results, scripts, logs (earlier attempts in logs/attempts/N)",
    );
    match page {
        "matrix-run" | "matrix-repro" => &[DEFINITION, CACHE, RUN_DIR],
        "matrix-fetch" => &[RUN_DIR],
        "matrix-report" | "matrix-findings" => &[(
            "RUNDIR/index.csv, RUNDIR/fetch.csv",
            "picked up by themselves when LOGDIR is a run directory",
        )],
        "matrix-completions"
        | "matrix-man"
        | "matrix-sarif"
        | "matrix-report-diff"
        | "matrix-findings-show" => &[],
        _ => &[DEFINITION],
    }
}
