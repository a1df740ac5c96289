//! Dockerfile lint for the common rules (hadolint's where they apply), run without Docker:
//! a pinned base, no `latest`, package installs that stay small and clean up in their own
//! layer, `pipefail` for pipes, and one documented `RUN` per layer purpose.

use std::fmt;

/// One finding: the instruction's first line (1-based), a rule id and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub line: usize,
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.rule, self.message)
    }
}

/// An instruction with its continuation lines joined (comment lines inside dropped).
#[derive(Debug)]
struct Instruction {
    line: usize,
    keyword: String,
    args: String,
    /// A comment line directly above it.
    documented: bool,
}

fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current: Option<Instruction> = None;
    let mut comment_above = false;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(inst) = current.as_mut() {
            if trimmed.starts_with('#') {
                continue; // BuildKit drops comment lines inside an instruction
            }
            let (body, more) = match trimmed.strip_suffix('\\') {
                Some(body) => (body, true),
                None => (trimmed, false),
            };
            inst.args.push(' ');
            inst.args.push_str(body.trim());
            if !more {
                out.push(current.take().unwrap());
            }
            continue;
        }
        if trimmed.is_empty() {
            comment_above = false;
            continue;
        }
        if trimmed.starts_with('#') {
            comment_above = true;
            continue;
        }
        let (keyword, rest) = trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((trimmed, ""));
        let (body, more) = match rest.trim().strip_suffix('\\') {
            Some(body) => (body.trim().to_string(), true),
            None => (rest.trim().to_string(), false),
        };
        let inst = Instruction {
            line: n + 1,
            keyword: keyword.to_ascii_uppercase(),
            args: body,
            documented: comment_above,
        };
        comment_above = false;
        if more {
            current = Some(inst);
        } else {
            out.push(inst);
        }
    }
    out.extend(current);
    out
}

/// Lints one Dockerfile; an empty list means it is clean.
pub fn lint(text: &str) -> Vec<Finding> {
    let insts = instructions(text);
    let mut linter = Linter::default();
    if !insts.iter().any(|i| i.keyword == "FROM") {
        linter.find(1, "no-from", "the Dockerfile has no FROM".into());
    }
    for inst in &insts {
        linter.instruction(inst);
    }
    linter.findings
}

/// The findings so far, and what the instructions read so far set up.
#[derive(Default)]
struct Linter {
    findings: Vec<Finding>,
    /// A `SHELL` with `pipefail` came before.
    pipefail: bool,
    /// `RUN`s so far that install distribution packages (not a repository's setup).
    plain_installs: usize,
}

impl Linter {
    fn find(&mut self, line: usize, rule: &'static str, message: String) {
        self.findings.push(Finding {
            line,
            rule,
            message,
        });
    }

    fn instruction(&mut self, inst: &Instruction) {
        let args = inst.args.as_str();
        match inst.keyword.as_str() {
            "FROM" => self.from(inst.line, args),
            "SHELL" => self.pipefail = args.contains("pipefail"),
            "ADD" if args.contains("://") => self.find(
                inst.line,
                "no-add-url",
                "ADD of a URL is neither checked nor cached; download in RUN and verify".into(),
            ),
            "RUN" => self.run(inst),
            _ => {}
        }
    }

    fn from(&mut self, line: usize, args: &str) {
        let image = args.split_whitespace().next().unwrap_or("");
        let (name, digest) = image.split_once('@').unwrap_or((image, ""));
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.find(
                line,
                "pinned-base",
                format!("FROM {image} is not pinned by a sha256 digest"),
            );
        }
        let last = name.rsplit('/').next().unwrap_or(name);
        match last.split_once(':') {
            Some((_, "latest")) => self.find(
                line,
                "no-latest",
                format!("FROM {image} uses the tag `latest`; name the release"),
            ),
            None => self.find(
                line,
                "no-latest",
                format!("FROM {image} has no tag, which means `latest`; name the release"),
            ),
            _ => {}
        }
    }

    fn run(&mut self, inst: &Instruction) {
        let (line, args) = (inst.line, inst.args.as_str());
        if !inst.documented {
            self.find(
                line,
                "documented-layer",
                "say in a comment above the RUN what the layer is for".into(),
            );
        }
        self.shell(line, args);
        for command in args.split("&&") {
            self.command(line, command);
        }
        let installs_apt = args.contains("apt-get install");
        let installs_dnf = args.contains("dnf install");
        if installs_apt {
            self.apt_install(line, args);
        }
        if installs_dnf {
            self.dnf_install(line, args);
        }
        if (installs_apt || installs_dnf) && !args.contains("sources.list.d") {
            self.plain_installs += 1;
            if self.plain_installs > 1 {
                self.find(
                    line,
                    "one-layer-per-purpose",
                    "a second RUN installs distribution packages: install them all in one layer"
                        .into(),
                );
            }
        }
    }

    /// The RUN's shell as a whole: pipes and root.
    fn shell(&mut self, line: usize, args: &str) {
        if has_pipe(args) && !self.pipefail {
            self.find(
                line,
                "pipefail",
                "a RUN with a pipe needs `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]` before it"
                    .into(),
            );
        }
        for shell in ["| sh", "| bash", "|sh", "|bash"] {
            if args.contains(shell) {
                self.find(
                    line,
                    "no-pipe-to-shell",
                    "a download piped into a shell runs whatever the server sends; \
                     download, check, then run"
                        .into(),
                );
            }
        }
        if args.split_whitespace().any(|w| w == "sudo") {
            self.find(
                line,
                "no-sudo",
                "RUN already runs as root: drop sudo".into(),
            );
        }
    }

    /// One command of a RUN's `&&` chain.
    fn command(&mut self, line: usize, command: &str) {
        let words: Vec<&str> = command.split_whitespace().collect();
        if words.first() == Some(&"apt") {
            self.find(
                line,
                "apt-get",
                "use apt-get in scripts; apt's interface is not stable".into(),
            );
        }
        // `dnf update` upgrades; `apt-get update` only refreshes the lists.
        let upgrades = match words.first() {
            Some(&"apt-get") => words
                .iter()
                .any(|w| matches!(*w, "upgrade" | "dist-upgrade")),
            Some(&"dnf") => words
                .iter()
                .any(|w| matches!(*w, "upgrade" | "update" | "distro-sync")),
            _ => false,
        };
        if upgrades {
            self.find(
                line,
                "no-upgrade",
                "upgrading every package makes the image depend on the day it was \
                 built; the pinned base is the baseline"
                    .into(),
            );
        }
    }

    fn apt_install(&mut self, line: usize, args: &str) {
        if !args.contains("--no-install-recommends") {
            self.find(
                line,
                "apt-no-recommends",
                "apt-get install without --no-install-recommends".into(),
            );
        }
        if !args.contains("apt-get install -y") {
            self.find(line, "apt-yes", "apt-get install without -y".into());
        }
        let update = args.find("apt-get update");
        let install = args.find("apt-get install");
        if update.is_none() || update > install {
            self.find(
                line,
                "apt-update-same-layer",
                "run apt-get update in the same RUN, before apt-get install, so a \
                 cached update never serves a stale list"
                    .into(),
            );
        }
        let clean = args.rfind("rm -rf /var/lib/apt/lists/*");
        if clean.is_none() || clean < install {
            self.find(
                line,
                "apt-clean-lists",
                "end the RUN with `rm -rf /var/lib/apt/lists/*`".into(),
            );
        }
    }

    fn dnf_install(&mut self, line: usize, args: &str) {
        if !args.contains("--setopt=install_weak_deps=False") {
            self.find(
                line,
                "dnf-no-weak-deps",
                "dnf install without --setopt=install_weak_deps=False".into(),
            );
        }
        if !args.contains("dnf install -y") {
            self.find(line, "dnf-yes", "dnf install without -y".into());
        }
        let clean = args.rfind("dnf clean all");
        if clean.is_none() || clean < args.find("dnf install") {
            self.find(line, "dnf-clean", "end the RUN with `dnf clean all`".into());
        }
    }
}

/// Whether shell text has a pipe `|` (not `||`).
fn has_pipe(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'|' && bytes.get(i + 1) != Some(&b'|') && (i == 0 || bytes[i - 1] != b'|')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Matrix;
    use crate::images::dockerfile::render_all;

    fn rules(text: &str) -> Vec<&'static str> {
        lint(text).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn the_rendered_dockerfiles_are_clean() {
        for file in render_all(
            &Matrix::builtin().unwrap(),
            &crate::templates::Templates::builtin(),
        )
        .unwrap()
        {
            assert_eq!(lint(&file.text), [], "{}", file.file_name);
        }
    }

    #[test]
    fn each_rule_fires_on_its_fault() {
        let digest = "sha256:".to_string() + &"a".repeat(64);
        assert_eq!(rules("FROM fedora:40\n"), ["pinned-base"]);
        assert_eq!(rules(&format!("FROM fedora@{digest}\n")), ["no-latest"]);
        assert_eq!(
            rules(&format!("FROM fedora:latest@{digest}\n")),
            ["no-latest"]
        );
        let base = format!("FROM ubuntu:24.04@{digest}\n");
        assert_eq!(
            rules(&format!("{base}# x\nRUN apt-get install -y curl\n")),
            [
                "apt-no-recommends",
                "apt-update-same-layer",
                "apt-clean-lists"
            ]
        );
        assert_eq!(
            rules(&format!(
                "{base}# x\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n    && rm -rf /var/lib/apt/lists/*\nRUN apt-get update && apt-get install -y --no-install-recommends tar && rm -rf /var/lib/apt/lists/*\n"
            )),
            ["documented-layer", "one-layer-per-purpose"]
        );
        assert_eq!(
            rules(&format!("{base}# x\nRUN dnf install curl\n")),
            ["dnf-no-weak-deps", "dnf-yes", "dnf-clean"]
        );
        assert_eq!(
            rules(&format!(
                "{base}# x\nRUN curl -s https://x.invalid/i.sh | bash\n"
            )),
            ["pipefail", "no-pipe-to-shell"]
        );
        assert_eq!(
            rules(&format!(
                "{base}# x\nRUN apt-get update && apt-get upgrade -y\n"
            )),
            ["no-upgrade"]
        );
        assert_eq!(
            rules(&format!("{base}# x\nRUN apt install -y x\n")),
            ["apt-get"]
        );
    }
}
