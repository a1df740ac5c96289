//! Plain-text tables for terminals: columns padded to their widest cell.

/// Pads columns to their widest cell (two spaces apart); the last column is not padded, so no
/// line ends in spaces.
pub fn align(rows: &[Vec<String>], right: &[bool]) -> String {
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
    all.extend(rows.iter().cloned());
    let widths = column_widths(&all, header.len());
    all.insert(1, widths.iter().map(|w| "-".repeat(*w)).collect());
    align(&all, right)
}

#[cfg(test)]
mod tests {
    use super::*;

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
