//! Plain-text tables for terminals: columns padded to their widest cell, control characters
//! shown as escapes (a log's ESC or OSC bytes must not clear the screen or set the clipboard).

use std::borrow::Cow;

/// `text` with every control character written as a Rust-style escape (`\x1b`, `\t`, `\0`),
/// so text from logs and SARIF files prints as what it is instead of acting on the terminal.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x100 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`visible`] for a message of several lines: its line breaks stay, every other control
/// character is escaped. For stderr, where a file name from a log directory (`f\x1b]0;PWN\x07.log`)
/// or a cell id from a log's marker must print as what it is.
pub fn visible_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && c.is_control()) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<str>> = text.split('\n').map(visible).collect();
    Cow::Owned(lines.join("\n"))
}

/// Pads columns to their widest cell (two spaces apart); the last column is not padded, so no
/// line ends in spaces.
pub fn align(rows: &[Vec<String>], right: &[bool]) -> String {
    let escaped: Vec<Vec<String>>;
    let rows = if rows
        .iter()
        .flatten()
        .any(|cell| cell.chars().any(char::is_control))
    {
        escaped = (rows.iter())
            .map(|row| row.iter().map(|cell| visible(cell).into_owned()).collect())
            .collect();
        &escaped[..]
    } else {
        rows
    };
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths = column_widths(rows, columns);
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            let last = c + 1 == row.len();
            if right.get(c).copied().unwrap_or(false) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if !last {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The widest cell of each of the first `columns` columns, in characters.
fn column_widths(rows: &[Vec<String>], columns: usize) -> Vec<usize> {
    (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// `header`, a rule of dashes under it, then `rows`, aligned as by [`align`].
pub fn with_header(header: &[String], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut all = Vec::with_capacity(rows.len() + 2);
    all.push(header.to_vec());
    all.extend(
        rows.iter()
            .map(|row| row.iter().map(|cell| visible(cell).into_owned()).collect()),
    );
    let widths = column_widths(&all, header.len());
    all.insert(1, widths.iter().map(|w| "-".repeat(*w)).collect());
    align(&all, right)
}

/// The table of `header` and `rows` as [`with_header`] writes it when every line fits `width`;
/// else the columns from `fold_from` on leave the table and follow each row as indented
/// `name: value` lines, wrapped to the width (empty values left out): nothing is cut.
pub fn fit(
    header: &[String],
    rows: &[Vec<String>],
    right: &[bool],
    width: usize,
    fold_from: usize,
) -> String {
    let wide = with_header(header, rows, right);
    if wide.lines().all(|l| l.chars().count() <= width) {
        return wide;
    }
    let kept: Vec<Vec<String>> = rows.iter().map(|r| r[..fold_from].to_vec()).collect();
    let table = with_header(&header[..fold_from], &kept, &right[..fold_from]);
    with_lines_below(&table, |row| {
        let mut lines = Vec::new();
        for (name, value) in header[fold_from..].iter().zip(&rows[row][fold_from..]) {
            if value.is_empty() {
                continue;
            }
            let text = format!("{name}: {}", visible(value));
            // A field's own continuation lines are indented further than the next field.
            for (n, part) in wrap_words(&text, width.saturating_sub(4).max(20))
                .iter()
                .enumerate()
            {
                let indent = if n == 0 { "  " } else { "    " };
                lines.push(format!("{indent}{part}"));
            }
        }
        lines
    })
}

/// `table` as [`with_header`] wrote it (its header, the rule, then a line per row), with the
/// lines `below(row)` gives after each row's line.
pub fn with_lines_below(table: &str, below: impl Fn(usize) -> Vec<String>) -> String {
    let mut out = String::new();
    for (n, line) in table.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        for extra in n.checked_sub(2).map(&below).unwrap_or_default() {
            out.push_str(&extra);
            out.push('\n');
        }
    }
    out
}

/// `text` cut to `chars` characters, the cut marked with `…`.
pub fn clip_chars(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// `text` broken at spaces into lines of at most `width` characters; a word longer than that
/// is broken into lines of `width` characters (no text is lost, no line is wider).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let words = text.split_whitespace().flat_map(|word| {
        let chars: Vec<char> = word.chars().collect();
        let pieces: Vec<String> = chars.chunks(width).map(|c| c.iter().collect()).collect();
        pieces
    });
    for word in words {
        let word = word.as_str();
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_at_the_width() {
        assert_eq!(
            wrap_words("aa bb  cc dddddddd e", 5),
            ["aa bb", "cc", "ddddd", "ddd e"]
        );
        assert_eq!(wrap_words("", 5), Vec::<String>::new());
        assert_eq!(wrap_words("aa bb", 5), ["aa bb"]);
    }

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(visible("plain"), "plain");
        assert_eq!(
            visible("a\x1b]52;c;ZXZpbA==\x07b\x1b[2J\t\0\u{9b}"),
            "a\\x1b]52;c;ZXZpbA==\\x07b\\x1b[2J\\t\\0\\x9b"
        );
        let rows = vec![
            vec!["\x1b[2J".to_string(), "x".into()],
            vec!["ab".into(), "y".into()],
        ];
        assert_eq!(align(&rows, &[]), "\\x1b[2J  x\nab       y\n");
    }

    #[test]
    fn pads_right_aligns_and_rules() {
        let rows = vec![
            vec!["a".to_string(), "10".into()],
            vec!["bbb".into(), "2".into()],
        ];
        assert_eq!(align(&rows, &[false, true]), "a    10\nbbb   2\n");
        let header = vec!["k".to_string(), "n".into()];
        assert_eq!(
            with_header(&header, &rows, &[false, true]),
            "k     n\n---  --\na    10\nbbb   2\n"
        );
    }
}
