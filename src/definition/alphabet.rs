//! The character alphabets of names in the definition (axis names, values and id tokens,
//! environment variable names, package names, words and file names), each stated once.

use anyhow::{bail, Result};

/// Kubernetes label values (and so cell ids and axis values) are at most this long.
pub const MAX_LABEL_LEN: usize = 63;

/// An ASCII letter or digit first, then only letters, digits and bytes of `extra`: a name that
/// can never be read as an option (`-x`) or a path, and needs no quoting.
fn is_word(text: &str, extra: &[u8]) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Axis names and values become Kubernetes label keys and values, file-name parts and CSV
/// fields, and appear in script comments: keep them to the label alphabet.
pub fn check_label(what: &str, text: &str) -> Result<()> {
    let ok = text.len() <= MAX_LABEL_LEN
        && is_word(text, b"-_.")
        && text.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        bail!(
            "{what} `{}` is not valid: use 1 to {MAX_LABEL_LEN} characters of A-Z a-z 0-9 - _ ., \
             starting and ending with a letter or digit",
            text.escape_debug()
        );
    }
    Ok(())
}

/// A shell environment variable name: a letter or `_`, then letters, digits and `_`.
pub fn check_env_name(what: &str, name: &str) -> Result<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        bail!(
            "{what}: `{}` is not an environment variable name",
            name.escape_debug()
        );
    }
    Ok(())
}

/// Distribution package names (Debian's and RPM's alphabets); never starting with `-`, so a
/// name cannot become an option of dnf or apt-get.
pub fn check_package(name: &str) -> Result<()> {
    if !is_word(name, b"+._-") {
        bail!(
            "`{}` is not a package name: use letters, digits and + . _ -, starting with a \
             letter or digit",
            name.escape_debug()
        );
    }
    Ok(())
}

/// Repository names, suites and components: words of letters, digits and `. _ -`.
pub fn check_word(what: &str, text: &str) -> Result<()> {
    if !is_word(text, b"._-") {
        bail!(
            "{what} `{}` is not valid: use letters, digits and . _ -",
            text.escape_debug()
        );
    }
    Ok(())
}

/// A program or runtime file a package provides: the package-name alphabet, so no `/` and no
/// white space.
pub fn check_file_name(what: &str, name: &str) -> Result<()> {
    if !is_word(name, b"+._-") {
        bail!(
            "{what} `{}` is not a plain file name (no `/`, no white space)",
            name.escape_debug()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_1_to_63_label_characters_with_alphanumeric_ends() {
        for good in [
            "a",
            "amd64",
            "ubuntu-24.04",
            "3.13",
            "no_gil",
            &"x".repeat(63),
        ] {
            assert!(check_label("value", good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", ".a", "a b", "a/b", "é", &"x".repeat(64)] {
            let err = check_label("value", bad).unwrap_err().to_string();
            assert!(err.contains("is not valid"), "{bad}: {err}");
        }
    }

    #[test]
    fn env_names_packages_words_and_file_names() {
        assert!(check_env_name("c", "_ASAN_OPTIONS2").is_ok());
        for bad in ["", "2X", "A-B", "A B"] {
            assert!(check_env_name("c", bad).is_err(), "{bad}");
        }
        assert!(check_package("g++").is_ok() && check_package("libasan8").is_ok());
        for bad in ["", "--nogpgcheck", "a b", "a/b", "+x"] {
            assert!(check_package(bad).is_err(), "{bad}");
        }
        assert!(check_word("suite", "llvm-toolchain-noble-19").is_ok());
        assert!(check_word("suite", "a+b").is_err() && check_word("suite", "").is_err());
        assert!(check_file_name("file", "libclang_rt.asan-x86_64.a").is_ok());
        for bad in ["", "bin/cc", "a b", "-o"] {
            assert!(check_file_name("file", bad).is_err(), "{bad}");
        }
    }
}
