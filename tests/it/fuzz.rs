//! Fuzz-style properties over arbitrary and mutated bytes for every parser of outside input:
//! the definition loader, the log classifier, the sanitizer-report recognizer and the SARIF
//! reader. Each gives a result or an error, never a panic. CI runs proptest's default 256
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
}
