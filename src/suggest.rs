//! "Did you mean ...?" for names a user typed: the closest known name, when one is close.

/// ` (did you mean `x`?)` when one of `known` is close to `typed`, else the empty string.
/// Case is ignored in the comparison (`ASan` is close to `asan`): names here are lowercase by
/// grammar, and a person types them as the projects spell them.
pub fn did_you_mean<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let typed = typed.to_lowercase();
    known
        .into_iter()
        .map(|candidate| {
            let score = strsim::jaro_winkler(&typed, &candidate.to_lowercase());
            (score, candidate)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, best)| format!(" (did you mean `{best}`?)"))
        .unwrap_or_default()
}

/// Adds a suggestion to serde's "unknown field `x`, expected one of `a`, `b`" messages.
pub fn suggest_for_unknown_field(message: &str) -> String {
    let Some(rest) = message.split("unknown field `").nth(1) else {
        return message.to_string();
    };
    let Some((typed, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    format!("{message}{}", did_you_mean(typed, known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("compilr", ["platform", "compiler"]),
            " (did you mean `compiler`?)"
        );
        assert_eq!(did_you_mean("zzz", ["platform", "compiler"]), "");
        assert_eq!(
            did_you_mean("ASan", ["none", "asan", "hwasan", "tsan"]),
            " (did you mean `asan`?)"
        );
        assert_eq!(
            did_you_mean("TSAN", ["none", "asan", "hwasan", "tsan"]),
            " (did you mean `tsan`?)"
        );
    }

    #[test]
    fn extends_serde_unknown_field_messages() {
        let message = "unknown field `axez`, expected one of `image`, `source`, `axes`, `rules`";
        assert_eq!(
            suggest_for_unknown_field(message),
            format!("{message} (did you mean `axes`?)")
        );
        assert_eq!(suggest_for_unknown_field("invalid type"), "invalid type");
    }
}
