//! Guarding the emitted YAML against the readers Argo uses: `argo` and `kubectl` parse YAML with
//! go-yaml v2 rules (YAML 1.1), where plain `no`, `on`, `1_000` or `2024-01-01` are not strings.
//! serde_yaml quotes only what YAML 1.2 would misread, so such a value must be refused.

use anyhow::{bail, Result};
use serde_json::Value;

/// Whether go-yaml v2 resolves the plain scalar `text` to something other than a string.
pub fn go_yaml_reads_as_non_string(text: &str) -> bool {
    const WORDS: [&str; 37] = [
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
    ];
    if WORDS.contains(&text) {
        return true;
    }
    let Some(first) = text.chars().next() else {
        return true;
    };
    if !(first.is_ascii_digit() || first == '+' || first == '-' || first == '.') {
        return false;
    }
    if is_timestamp(text) {
        return true;
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    is_go_int(&plain) || is_yaml_style_float(&plain)
}

/// `2006-1-2`, optionally followed by a time: go-yaml v2 makes these timestamps.
fn is_timestamp(text: &str) -> bool {
    let date = text.split(['T', 't', ' ']).next().unwrap_or("");
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && (1..=2).contains(&parts[1].len())
        && (1..=2).contains(&parts[2].len())
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// What Go's `strconv.ParseInt(s, 0, 64)` accepts (ignoring range).
fn is_go_int(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = body.to_ascii_lowercase();
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = lower.strip_prefix("0x") {
        digits(hex, 16)
    } else if let Some(oct) = lower.strip_prefix("0o") {
        digits(oct, 8)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        digits(bin, 2)
    } else if body.len() > 1 && body.starts_with('0') {
        digits(body, 8)
    } else {
        digits(body, 10)
    }
}

/// go-yaml v2's float pattern: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && all_digits(frac),
        Some((int, frac)) => !int.is_empty() && all_digits(int) && all_digits(frac),
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Whether serde_yaml writes `text` as a plain (unquoted) scalar.
fn written_plain(text: &str) -> bool {
    serde_yaml::to_string(text)
        .map(|s| !s.starts_with(['\'', '"', '|', '>']))
        .unwrap_or(false)
}

/// Refuses a document holding a string a YAML 1.1 reader would turn into something else.
pub fn check(document: &impl serde::Serialize) -> Result<()> {
    fn walk(value: &Value, path: &mut Vec<String>) -> Result<()> {
        match value {
            Value::String(text) => check_one(text, path),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(format!("[{i}]"));
                    walk(item, path)?;
                    path.pop();
                }
                Ok(())
            }
            Value::Object(map) => {
                for (key, item) in map {
                    check_one(key, path)?;
                    path.push(format!(".{key}"));
                    walk(item, path)?;
                    path.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn check_one(text: &str, path: &[String]) -> Result<()> {
        if go_yaml_reads_as_non_string(text) && written_plain(text) {
            bail!(
                "`{text}` (at {}) would be read by Argo's YAML parser (YAML 1.1) as a boolean, \
                 number, null or date, not as the string `{text}`: rename that value in the \
                 matrix definition (e.g. `with-{text}`)",
                path.concat().trim_start_matches('.')
            );
        }
        Ok(())
    }
    walk(&serde_json::to_value(document)?, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_non_strings_are_recognised() {
        for text in [
            "no",
            "Yes",
            "on",
            "OFF",
            "y",
            "~",
            "1_000",
            "0x1F",
            "017",
            "0b101",
            "2024-01-01",
            "1e3",
            ".5",
            "-3",
            "+1.5e-3",
            ".inf",
        ] {
            assert!(go_yaml_reads_as_non_string(text), "{text}");
        }
        for text in [
            "none",
            "3.12.4",
            "3.13.0b4",
            "amd64",
            "clang-19",
            "u24.04",
            "1.2.3e",
            "fedora-40",
            "12-34",
        ] {
            assert!(!go_yaml_reads_as_non_string(text), "{text}");
        }
    }

    #[test]
    fn only_plain_written_non_strings_are_refused() {
        #[derive(serde::Serialize)]
        struct Doc {
            a: &'static str,
        }
        // serde_yaml already quotes what YAML 1.2 misreads too.
        assert!(check(&Doc { a: "true" }).is_ok());
        assert!(check(&Doc { a: "3.12.4" }).is_ok());
        let err = check(&Doc { a: "no" }).unwrap_err().to_string();
        assert!(err.contains("`no` (at a)"), "{err}");
    }
}
