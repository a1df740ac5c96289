//! Which programs a bash script runs by name: a small scanner for the shapes the build-script
//! templates use, so the consistency checks see a new tool as soon as a template calls it.

use std::collections::BTreeSet;

/// Bash builtins and keywords: never looked up on PATH.
const SHELL_WORDS: &[&str] = &[
    "!",
    ".",
    ":",
    "[",
    "[[",
    "]]",
    "{",
    "}",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "case",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "declare",
    "dirs",
    "disown",
    "do",
    "done",
    "echo",
    "elif",
    "else",
    "enable",
    "esac",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "fi",
    "for",
    "function",
    "getopts",
    "hash",
    "help",
    "history",
    "if",
    "in",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "select",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "then",
    "time",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "until",
    "wait",
    "while",
];

/// Keywords after which the next word is again in command position.
const PREFIX_KEYWORDS: &[&str] = &[
    "!", "{", "if", "then", "else", "elif", "do", "while", "until", "time", "exec", "command",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reading shell code (the top level, or inside `$( )`).
    Code,
    /// Inside `"..."`.
    Double,
    /// Inside `$(( ))` or `(( ))`: arithmetic, no commands; the open parentheses.
    Arith(u32),
}

/// One level of nesting; the word fields are used by `Code` frames only.
struct Frame {
    mode: Mode,
    word: String,
    /// No quotes, escapes or expansions in the word so far.
    plain: bool,
    /// The next word is in command position.
    at_command: bool,
    /// Inside a `for ...` header: no commands until a separator.
    skip: bool,
    /// Inside `[[ ... ]]`: no commands (and `&&` is no separator) until `]]`.
    test: bool,
    /// The previous word of the command was `-exec` (find's): this one is a program.
    after_exec: bool,
    /// Inside `NAME=( ... )`.
    array: bool,
}

impl Frame {
    fn new(mode: Mode) -> Self {
        Frame {
            mode,
            word: String::new(),
            plain: true,
            at_command: true,
            skip: false,
            test: false,
            after_exec: false,
            array: false,
        }
    }

    /// Ends the current word; a plain word in command position is a program.
    fn finish(&mut self, found: &mut Vec<String>, wrappers: &BTreeSet<String>) {
        if self.word.is_empty() {
            return;
        }
        let word = std::mem::take(&mut self.word);
        let plain = std::mem::replace(&mut self.plain, true);
        let after_exec = std::mem::replace(&mut self.after_exec, false);
        if self.test {
            self.test = word != "]]";
            return;
        }
        if self.array {
            return;
        }
        if self.skip {
            return;
        }
        if !self.at_command {
            if after_exec && plain && !word.contains('/') {
                found.push(word); // find ... -exec <program>
            } else {
                self.after_exec = matches!(word.as_str(), "-exec" | "-execdir" | "-ok");
            }
            return;
        }
        if is_assignment(&word) {
            return; // an assignment before the command
        }
        if word == "[[" {
            self.test = true;
            return;
        }
        if matches!(word.as_str(), "for" | "select" | "case") {
            self.skip = true;
            self.at_command = false;
            return;
        }
        if PREFIX_KEYWORDS.contains(&word.as_str()) || wrappers.contains(&word) {
            return;
        }
        self.at_command = false;
        if plain && !word.contains('/') {
            found.push(word);
        }
    }

    /// A separator: the next word starts a command (inside `[[ ]]`, `&&` and `||` are not
    /// separators).
    fn separate(&mut self, found: &mut Vec<String>, wrappers: &BTreeSet<String>) {
        self.finish(found, wrappers);
        if !self.test && !self.array {
            self.at_command = true;
            self.skip = false;
        }
    }
}

/// Functions that run their arguments as a command (a line of the body starts with `"$@"`,
/// or with an array's words and then `"$@"`):
/// the word after a call to one is in command position, like after `exec`. The templates
/// define functions as `name() {` and close them with `}` alone at the start of a line.
fn wrapper_functions(script: &str) -> BTreeSet<String> {
    let mut wrappers = BTreeSet::new();
    let mut current: Option<&str> = None;
    for line in script.lines() {
        if let Some(name) = line.strip_suffix("() {") {
            current = Some(name.trim());
        } else if line == "}" {
            current = None;
        } else if let Some(name) = current {
            let body = line.trim_start();
            // `"$@"`, or `"${PREFIX[@]}" "$@"`: a command prefix the cell may give.
            let args = match body.strip_prefix("\"${") {
                Some(rest) => rest.split_once("[@]}\" ").map_or(body, |(_, args)| args),
                None => body,
            };
            if args.starts_with("\"$@\"") {
                wrappers.insert(name.to_string());
            }
        }
    }
    wrappers
}

/// The programs a bash script runs by plain name (the interpreter of its `#!` line included):
/// the first word of each simple command, outside quotes, after variable assignments and
/// keywords, at the top level and in `$( )`. Builtins, functions the script defines, words
/// with quotes or expansions (`"$CC"`) and paths (`./configure`) are left out: compilers are
/// checked from the plan, paths are not the image's. Written for the shapes the templates
/// use: no `case` patterns, no here-documents, no `eval`.
pub fn script_commands(script: &str) -> BTreeSet<String> {
    let mut scanner = Scanner::new(script);
    scanner.run();
    let Scanner {
        found, functions, ..
    } = scanner;
    found
        .into_iter()
        .filter(|w| !SHELL_WORDS.contains(&w.as_str()) && !functions.contains(w))
        .collect()
}

/// The interpreter of the `#!` line and its arguments (`env bash`), by base name.
fn shebang_programs(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(shebang) = script.lines().next().and_then(|l| l.strip_prefix("#!")) {
        for word in shebang.split_whitespace() {
            found.push(word.rsplit('/').next().unwrap_or(word).to_string());
        }
    }
    found
}

/// The innermost level of nesting.
fn top(stack: &mut [Frame]) -> &mut Frame {
    stack.last_mut().expect("the top level is never popped")
}

/// A script read character by character, with its nesting of quotes, `$( )` and arithmetic.
struct Scanner {
    chars: Vec<char>,
    /// The character being read.
    i: usize,
    stack: Vec<Frame>,
    /// Words in command position, builtins and the script's functions included.
    found: Vec<String>,
    /// The functions the script defines: not programs.
    functions: BTreeSet<String>,
    wrappers: BTreeSet<String>,
}

impl Scanner {
    fn new(script: &str) -> Self {
        Scanner {
            wrappers: wrapper_functions(script),
            found: shebang_programs(script),
            functions: BTreeSet::new(),
            chars: script.chars().collect(),
            stack: vec![Frame::new(Mode::Code)],
            i: 0,
        }
    }

    fn run(&mut self) {
        while self.i < self.chars.len() {
            let c = self.chars[self.i];
            let advance = match top(&mut self.stack).mode {
                Mode::Arith(open) => {
                    self.arith(c, open);
                    true
                }
                Mode::Double => {
                    self.double(c);
                    true
                }
                Mode::Code => self.code(c),
            };
            if advance {
                self.i += 1;
            }
        }
        if let Some(frame) = self.stack.first_mut() {
            frame.finish(&mut self.found, &self.wrappers);
        }
    }

    /// The character `ahead` places after the current one.
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn finish_word(&mut self) {
        top(&mut self.stack).finish(&mut self.found, &self.wrappers);
    }

    fn separate(&mut self) {
        top(&mut self.stack).separate(&mut self.found, &self.wrappers);
    }

    /// Inside `$(( ))` or `(( ))`: only the parentheses count.
    fn arith(&mut self, c: char, open: u32) {
        match c {
            '(' => top(&mut self.stack).mode = Mode::Arith(open + 1),
            ')' if open > 1 => top(&mut self.stack).mode = Mode::Arith(open - 1),
            ')' => {
                // The second `)` of `))`.
                self.stack.pop();
                self.i += 1;
            }
            _ => {}
        }
    }

    /// Inside `"..."`: escapes, the closing quote, and the `$( )` that still run.
    fn double(&mut self, c: char) {
        match c {
            '\\' => self.i += 1,
            '"' => {
                self.stack.pop();
            }
            '$' if self.peek(1) == Some('(') => self.open_substitution(),
            _ => {}
        }
    }

    /// The `$((` or `$(` at `i`: arithmetic or a command substitution, entered.
    fn open_substitution(&mut self) {
        if self.peek(2) == Some('(') {
            self.stack.push(Frame::new(Mode::Arith(1)));
            self.i += 2;
        } else {
            self.stack.push(Frame::new(Mode::Code));
            self.i += 1;
        }
    }

    /// One character of shell code. False when it has already moved `i` past what it read.
    fn code(&mut self, c: char) -> bool {
        match c {
            '\\' | '\'' | '"' | '$' | '`' => self.quoting(c),
            '#' if top(&mut self.stack).word.is_empty() => self.skip_comment(),
            '(' => self.open_paren(),
            ')' => self.close_paren(),
            ';' | '&' | '|' | '\n' => self.separate(),
            '<' | '>' => {
                self.redirection();
                return false;
            }
            ' ' | '\t' => self.finish_word(),
            _ => top(&mut self.stack).word.push(c),
        }
        true
    }

    /// An escape, quote or expansion: the word is no longer plain, and a quote or `$( )`
    /// nests. A backslash before a newline only continues the line.
    fn quoting(&mut self, c: char) {
        if c == '\\' && self.peek(1) == Some('\n') {
            self.finish_word();
            self.i += 1;
            return;
        }
        let frame = top(&mut self.stack);
        frame.word.push(c);
        frame.plain = false;
        match c {
            '\\' => self.i += 1,
            '\'' => {
                self.i += 1;
                while self.i < self.chars.len() && self.chars[self.i] != '\'' {
                    self.i += 1;
                }
            }
            '"' => self.stack.push(Frame::new(Mode::Double)),
            '$' if self.peek(1) == Some('(') => self.open_substitution(),
            _ => {} // `$NAME`, `${ }` or a backquote
        }
    }

    /// A comment: skipped up to its newline, which still separates.
    fn skip_comment(&mut self) {
        while self.i + 1 < self.chars.len() && self.chars[self.i + 1] != '\n' {
            self.i += 1;
        }
    }

    fn open_paren(&mut self) {
        let next = self.peek(1);
        let frame = top(&mut self.stack);
        if next == Some('(') && frame.word.is_empty() && frame.at_command {
            self.stack.push(Frame::new(Mode::Arith(1)));
            self.i += 1;
        } else if frame.word.ends_with('=') && is_assignment(&frame.word) {
            // `NAME=(words)`: an array of arguments (its `$( )` still run).
            frame.word.clear();
            frame.plain = true;
            frame.array = true;
        } else if next == Some(')') && !frame.word.is_empty() {
            // `name() {`: a function definition, not a program.
            self.functions.insert(std::mem::take(&mut frame.word));
            frame.plain = true;
            frame.at_command = true;
            self.i += 1;
        } else {
            frame.separate(&mut self.found, &self.wrappers);
        }
    }

    fn close_paren(&mut self) {
        let depth = self.stack.len();
        let frame = top(&mut self.stack);
        if frame.array {
            frame.finish(&mut self.found, &self.wrappers);
            frame.array = false;
            frame.at_command = false;
        } else if depth > 1 {
            frame.finish(&mut self.found, &self.wrappers);
            self.stack.pop();
        } else {
            frame.separate(&mut self.found, &self.wrappers);
        }
    }

    /// A redirection: its target is a file, not a command. Leaves `i` after the target.
    fn redirection(&mut self) {
        // `2>&1`, `{fd}<>`: digits or `{name}` just before the operator are a file
        // descriptor, not a word.
        let frame = top(&mut self.stack);
        let name = (frame.word.strip_prefix('{')).and_then(|w| w.strip_suffix('}'));
        let named = name.is_some_and(|n| {
            !n.is_empty() && n.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
        });
        if frame.plain && (named || frame.word.bytes().all(|b| b.is_ascii_digit())) {
            frame.word.clear();
        }
        self.finish_word();
        while matches!(self.chars.get(self.i + 1), Some('<' | '>' | '&')) {
            self.i += 1;
        }
        self.i += 1;
        while matches!(self.chars.get(self.i), Some(' ' | '\t')) {
            self.i += 1;
        }
        skip_word(&self.chars, &mut self.i);
    }
}

/// Skips one word (a redirection target), quotes included; stops at its end.
fn skip_word(chars: &[char], i: &mut usize) {
    while *i < chars.len() {
        match chars[*i] {
            ' ' | '\t' | '\n' | ';' | '|' | '&' | ')' => return,
            '"' => {
                *i += 1;
                while *i < chars.len() && chars[*i] != '"' {
                    if chars[*i] == '\\' {
                        *i += 1;
                    }
                    *i += 1;
                }
                *i += 1;
            }
            '\'' => {
                *i += 1;
                while *i < chars.len() && chars[*i] != '\'' {
                    *i += 1;
                }
                *i += 1;
            }
            _ => *i += 1,
        }
    }
}

fn is_assignment(word: &str) -> bool {
    match word.find('=') {
        Some(eq) if eq > 0 => {
            let name = &word[..eq];
            let name = name.strip_suffix('+').unwrap_or(name);
            // `NAME[key]=`: an element of an array.
            let name = match name.strip_suffix(']') {
                Some(element) => element.split_once('[').map_or(element, |(name, _)| name),
                None => name,
            };
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_after_a_wrapper_function_are_commands() {
        let script =
            "#!/bin/bash\nrun() {\n    \"$@\" &\n    wait $!\n}\nrun make -j2\nrun ./configure\n";
        let found: Vec<String> = script_commands(script).into_iter().collect();
        assert_eq!(found, ["bash", "make"]);
        let prefixed = "#!/bin/bash\nrun() {\n    \"${WRAP[@]}\" \"$@\" &\n}\nrun make\n";
        assert_eq!(commands(prefixed), ["bash", "make"]);
        assert_eq!(
            commands("declare -A A=()\nA[some-key]=1\nA[k]+=2\nls\n"),
            ["ls"]
        );
        let not_a_wrapper = "#!/bin/bash\nrun() {\n    \"${WRAP[@]}\" -v &\n}\nrun make\n";
        assert_eq!(commands(not_a_wrapper), ["bash"]);
    }

    #[test]
    fn a_file_descriptor_before_a_redirection_is_no_command() {
        assert_eq!(
            commands("exec 2>&1\nexec >&- 2>&-\nls 2>/dev/null\n"),
            ["ls"]
        );
        assert_eq!(commands("exec > >(exec tee -a -- f) 2>&1\n"), ["tee"]);
        let named = "exec {nap}<> <(:)\nread -t 1 -u \"$nap\" _\n";
        assert_eq!(commands(named), Vec::<String>::new());
    }
    use crate::definition::Matrix;
    use crate::expand::{expand, ValueMask};
    use crate::plan::BuildPlan;
    use crate::render::Renderer;

    fn commands(script: &str) -> Vec<String> {
        script_commands(script).into_iter().collect()
    }

    #[test]
    fn finds_programs_in_command_position_only() {
        let script = "#!/usr/bin/env bash\n\
            set -e # comment with rm in it\n\
            X=${Y:-$(nproc)}\n\
            LC_ALL=C sort <in >\"$out\" | wc -l && mkdir -p \"$d\" || true\n\
            f() {\n    local v=$1\n    printf '%s | cat\\n' \"$v\"\n}\n\
            f x; echo \"text; rm -rf $(find . -name '*.o' | head -1) done\"\n\
            for x in tar gzip; do cp \"$x\" y; done\n\
            if [[ -n $x ]]; then \"$CC\" --version; ./configure; fi\n\
            ((n > 1)) && tar -xzf a.tgz \\\n    -C dir\n\
            path=$(readlink -f \"$p\")\n";
        assert_eq!(
            commands(script),
            [
                "bash", "cp", "env", "find", "head", "mkdir", "nproc", "readlink", "sort", "tar",
                "wc"
            ]
        );
    }

    #[test]
    fn the_build_script_runs_exactly_these_programs() {
        let m = Matrix::builtin().unwrap();
        let cell = expand(&m, &ValueMask::all(&m)).unwrap().remove(0);
        let plan = BuildPlan::for_cell(&m, &cell).unwrap();
        let script = Renderer::builtin()
            .unwrap()
            .render(&m, &cell, &plan)
            .unwrap();
        assert_eq!(
            commands(&script.text),
            [
                "bash",
                "cat",
                "cp",
                "curl",
                "env",
                "find",
                "grep",
                "head",
                "make",
                "mkdir",
                "mv",
                "nproc",
                "readlink",
                "rm",
                "rmdir",
                "sed",
                "sha256sum",
                "sort",
                "tar",
                "tee",
                "timeout",
                "wc"
            ]
        );
    }
}
