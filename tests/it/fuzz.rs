//! Fuzz-style properties over arbitrary and mutated bytes for every parser of outside input:
//! the definition loader, the log classifier, the sanitizer-report recognizer, the SARIF
//! reader and the known-findings catalog. Each gives a result or an error, never a panic. And
//! for the writers that outside text reaches: CSV cells read back as they were written and
//! none runs as a spreadsheet formula; AsciiDoc text is one passthrough with nothing escaping
//! it. CI runs proptest's default 256
//! cases each; the large run is `PROPTEST_CASES=100000 cargo test --release --test it fuzz::`
//! (README, "Hostile input").

use proptest::prelude::*;

use matrix::definition::{Matrix, BUILTIN_DEFINITION};

/// The built-in definition with `replacement` put in place of `len` bytes at `at` (both
/// clamped): every mutation a truncated, spliced or corrupted file could bring.
fn mutated(text: &[u8], at: usize, len: usize, replacement: &[u8]) -> Vec<u8> {
    let at = at % (text.len() + 1);
    let end = (at + len).min(text.len());
    let mut out = text[..at].to_vec();
    out.extend_from_slice(replacement);
    out.extend_from_slice(&text[end..]);
    out
}

fn a_sarif_document() -> impl Strategy<Value = Vec<u8>> {
    let location = "\\{\"physicalLocation\":\\{\"artifactLocation\":\\{\"uri\":\"[a-z/.]{0,12}\"\\},\"region\":\\{\"startLine\":-?[0-9]{1,3}\\}\\}\\}";
    let result = format!(
        "\\{{\"ruleId\":\"-?[a-z-]{{0,12}}\",\"level\":\"(error|warning|note)\",\"message\":\\{{\"text\":\".{{0,20}}\"\\}},\"locations\":\\[({location})?\\]\\}}"
    );
    let document = format!(
        "\\{{\"version\":\"2.1.0\",\"runs\":\\[\\{{\"tool\":\\{{\"driver\":\\{{\"name\":\"GNU C[0-9]{{0,2}}\"\\}}\\}},\"results\":\\[({result})?(,{result})?\\]\\}}\\]\\}}"
    );
    prop_oneof![
        proptest::string::string_regex(&document)
            .unwrap()
            .prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    /// Arbitrary bytes as a definition: an error naming the file, or a matrix.
    #[test]
    fn fuzz_definition_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(err) = Matrix::from_yaml(&text, "fuzz.yaml") {
            let message = format!("{err:#}");
            prop_assert!(message.contains("fuzz.yaml"), "{message}");
        }
    }

    /// The built-in definition cut, spliced or corrupted anywhere.
    #[test]
    fn fuzz_definition_mutated(
        at in any::<usize>(),
        len in 0usize..64,
        replacement in proptest::collection::vec(
            prop_oneof![Just(b'['), Just(b'{'), Just(b':'), Just(b'\n'), Just(b' '), Just(b'"'), any::<u8>()],
            0..16,
        ),
    ) {
        let bytes = mutated(BUILTIN_DEFINITION.as_bytes(), at, len, &replacement);
        let text = String::from_utf8_lossy(&bytes);
        if let Err(err) = Matrix::from_yaml(&text, "fuzz.yaml") {
            let message = format!("{err:#}");
            prop_assert!(message.contains("fuzz.yaml"), "{message}");
        }
    }

    /// Arbitrary bytes as a build log: every byte is read, a classification comes out.
    #[test]
    fn fuzz_log_classifier(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..600),
            proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(0u8), Just(b':'), any::<u8>()],
                0..600,
            ),
        ],
    ) {
        let (read, _) = matrix::logs::read::scan(std::io::Cursor::new(bytes.clone()));
        prop_assert_eq!(read, bytes.len() as u64);
    }

    /// Arbitrary lines through the sanitizer-report recognizer: reports or nothing.
    #[test]
    fn fuzz_sanitizer_recognizer(
        lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 0..40),
    ) {
        let mut recognizer = matrix::sanitizer::Recognizer::new();
        let mut reports = 0usize;
        for (i, line) in lines.iter().enumerate() {
            recognizer.line(i as u64 + 1, None, line, &mut |_| reports += 1);
        }
        recognizer.finish(&mut |_| reports += 1);
        prop_assert!(reports <= lines.len());
    }

    /// SARIF-shaped and arbitrary bytes: diagnostics or a JSON error.
    #[test]
    fn fuzz_sarif_reader(bytes in a_sarif_document()) {
        let _ = matrix::sarif::model::parse(&bytes);
    }

    /// Arbitrary values through the CSV writer of `report`, `findings` and `sarif`: valid CSV
    /// whose cells read back as the values, and none a spreadsheet would run.
    #[test]
    fn fuzz_csv_writer(
        rows in proptest::collection::vec(proptest::collection::vec(cell_text(), 3), 1..6),
    ) {
        let mut w = matrix::spreadsheet::Writer::new();
        // A header first, as every output has (a reader drops a byte-order mark before it).
        w.write_record(["a", "b", "c"]).unwrap();
        for row in &rows {
            w.write_record(row).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let mut reader = csv::Reader::from_reader(&bytes[..]);
        let mut back = Vec::new();
        for record in reader.records() {
            let record = record.unwrap();
            for cell in record.iter() {
                let number = cell.trim_start_matches(['-', '+']).parse::<f64>().is_ok();
                prop_assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']) || number,
                    "{cell:?} would run as a formula"
                );
            }
            back.push(matrix::spreadsheet::record(&record).iter().map(str::to_owned).collect::<Vec<_>>());
        }
        prop_assert_eq!(back, rows);
    }

    /// Arbitrary text as the page's AsciiDoc shows it: one `pass:c[…]` that nothing inside
    /// ends early (every `]` escaped, no trailing backslash), on one line, and in a table cell
    /// no bare `|`.
    #[test]
    fn fuzz_asciidoc_literal(text in cell_text()) {
        for (cell, out) in [
            (false, matrix::templates::adoc_literal(text.clone())),
            (true, matrix::templates::adoc_literal_cell(text.clone())),
        ] {
            if text.is_empty() {
                prop_assert_eq!(out, "");
                continue;
            }
            let inner = out.strip_prefix("pass:c[").and_then(|t| t.strip_suffix(']'));
            prop_assert!(inner.is_some(), "{out:?}");
            let inner = inner.unwrap();
            prop_assert!(!inner.chars().any(char::is_control), "{out:?}");
            prop_assert!(!inner.ends_with('\\'), "{out:?}");
            let bytes = inner.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                if b == b']' || (cell && b == b'|') {
                    prop_assert!(i > 0 && bytes[i - 1] == b'\\', "bare {} in {out:?}", b as char);
                }
            }
        }
    }

    /// Arbitrary text as the page's folded report: a collapsible block around a literal one,
    /// whose delimiters no line of the text repeats, with no control character and no line
    /// AsciiDoc's preprocessor would obey.
    #[test]
    fn fuzz_asciidoc_folded(lines in proptest::collection::vec(
        prop_oneof![cell_text(), "[=.]{0,8}", "(include|ifdef|ifndef|ifeval|endif)::[a-z/]{0,5}\\[\\]"],
        0..8,
    )) {
        let out = matrix::templates::adoc_folded(lines.join("\n"));
        let all: Vec<&str> = out.split('\n').collect();
        prop_assert!(all.len() >= 5, "{out:?}");
        prop_assert_eq!(all[0], "[%collapsible]");
        let (outer, inner) = (all[1], all[2]);
        prop_assert!(outer.len() >= 4 && outer.chars().all(|c| c == '='), "{out:?}");
        prop_assert!(inner.len() >= 4 && inner.chars().all(|c| c == '.'), "{out:?}");
        prop_assert_eq!(&all[all.len() - 2..], &[inner, outer]);
        for line in &all[3..all.len() - 2] {
            prop_assert!(*line != inner && *line != outer, "{line:?} closes a block: {out:?}");
            prop_assert!(!line.chars().any(char::is_control), "{out:?}");
            let directive = ["include::", "ifdef::", "ifndef::", "ifeval::", "endif::"];
            prop_assert!(!directive.iter().any(|d| line.starts_with(d)), "{line:?}");
        }
    }

    /// Arbitrary and CSV-shaped bytes as a known-findings catalog: an error naming the file, or
    /// a catalog that writes and reads back as itself.
    #[test]
    fn fuzz_known_findings_catalog(bytes in a_catalog()) {
        use matrix::findings::known::Catalog;
        match Catalog::parse(&bytes, "known.csv") {
            Err(err) => prop_assert!(format!("{err:#}").contains("known.csv"), "{err:#}"),
            Ok(catalog) => {
                let again = Catalog::parse(&catalog.to_csv().unwrap(), "again.csv").unwrap();
                prop_assert_eq!(again.entries, catalog.entries);
            }
        }
    }
}

/// Text a cell may hold: formula starts, quotes, separators, line breaks, markup, any char.
fn cell_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("=".to_owned()),
        Just("+".to_owned()),
        Just("-".to_owned()),
        Just("@".to_owned()),
        Just("'".to_owned()),
        Just("\t".to_owned()),
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just(",".to_owned()),
        Just("\"".to_owned()),
        Just("]".to_owned()),
        Just("|".to_owned()),
        Just("\\".to_owned()),
        Just("+++".to_owned()),
        Just("pass:[".to_owned()),
        Just("1".to_owned()),
        Just(".5".to_owned()),
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// A catalog's header and rows of arbitrary cells, or arbitrary bytes.
fn a_catalog() -> impl Strategy<Value = Vec<u8>> {
    let row = (
        "[0-9a-f]{0,8}",
        "(open|fixed|ignored|flaky|[a-z]{0,5})",
        cell_text(),
        cell_text(),
        "(20[0-9]{2}-[0-9]{2}-[0-9]{2})?",
    );
    prop_oneof![
        proptest::collection::vec(row, 0..5).prop_map(|rows| {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(matrix::findings::known::HEADER).unwrap();
            for (id, status, link, note, seen) in rows {
                w.write_record([&id, &status, &link, &note, &seen, &seen])
                    .unwrap();
            }
            w.into_inner().unwrap()
        }),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

/// A catalog whose rows before `bad` are valid (ids distinct) and whose row `bad` has an id that
/// is no id, each row's note and link arbitrary text (line breaks too, which CSV quotes); and
/// the line that row starts on, as an editor numbers it.
fn a_catalog_with_a_bad_row() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let row = (cell_text(), cell_text());
    (
        proptest::collection::vec(row, 1..6),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(rows, bad)| {
            let bad = bad.index(rows.len());
            let mut bytes = Vec::new();
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(matrix::findings::known::HEADER).unwrap();
            let mut line = 0;
            for (i, (link, note)) in rows.iter().enumerate() {
                bytes.extend(w.into_inner().unwrap());
                if i == bad {
                    line = 1 + bytes.iter().filter(|&&b| b == b'\n').count();
                }
                w = csv::Writer::from_writer(Vec::new());
                let id = if i == bad {
                    "nohex".to_owned()
                } else {
                    format!("{i:08x}")
                };
                w.write_record([id.as_str(), "open", link, note, "", ""])
                    .unwrap();
            }
            bytes.extend(w.into_inner().unwrap());
            (bytes, line)
        })
}

proptest! {
    /// A known-findings catalog, the file a team edits by hand to suppress findings it knows:
    /// a row that is wrong is named by the file and a line of the file, whatever its cells and
    /// those of the rows before it hold (quoted line breaks included: the line the row starts
    /// on, not its row number); never a panic.
    #[test]
    fn fuzz_known_findings_errors_name_the_line((bytes, line) in a_catalog_with_a_bad_row()) {
        use matrix::findings::known::Catalog;
        let err = Catalog::parse(&bytes, "known.csv").expect_err("a row with a bad id");
        let message = format!("{err:#}");
        let named: usize = message
            .strip_prefix("known.csv: line ")
            .and_then(|rest| rest.split_once(": id \"nohex\""))
            .and_then(|(number, _)| number.parse().ok())
            .unwrap_or_else(|| panic!("no `known.csv: line N: id` in {message}"));
        prop_assert_eq!(named, line, "{}", message);
    }
}
