//! The knobs of `matrix workflow` and their checked values: defaults come from the definition's
//! `workflow:` section, flags override them.

use anyhow::{bail, Context, Result};

use super::types::ArtifactRepositoryRef;

/// Which kind of Argo object to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Workflow,
    WorkflowTemplate,
    CronWorkflow,
}

/// Argo refuses larger objects; the Workflow also holds every node's status while it runs.
pub const ARGO_OBJECT_LIMIT: usize = 1 << 20;
/// Default size budget per document: a quarter of Argo's limit leaves room for the status.
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024;
/// A pod's template travels in one annotation/environment value, capped by Kubernetes.
pub const POD_TEMPLATE_LIMIT: usize = 256 * 1024;

/// Everything that shapes the manifests besides the cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub kind: Kind,
    pub schedule: Option<String>,
    pub registry: String,
    pub arch_axis: usize,
    pub parallelism: u32,
    pub deadline_seconds: u64,
    pub cpu: String,
    pub memory: String,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
    pub retry_limit: u32,
    pub ttl_seconds: u64,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    /// Ends with `-`.
    pub generate_name: String,
    pub artifact_repository_ref: Option<ArtifactRepositoryRef>,
    pub max_bytes: usize,
}

/// Seconds in `4h`, `90m`, `1h30m`, `7d`, `45s` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<u64> {
    let bad = || {
        anyhow::anyhow!(
            "`{text}` is not a duration: use a number of seconds or numbers with units d, h, m, s \
             (e.g. 4h, 90m, 1h30m)"
        )
    };
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = total
            .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// A Kubernetes quantity such as `2`, `500m`, `8Gi`, `1.5`.
pub fn check_quantity(what: &str, text: &str) -> Result<String> {
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let number_ok = !number.is_empty()
        && number.matches('.').count() <= 1
        && number != "."
        && number.parse::<f64>().is_ok_and(|n| n > 0.0);
    const SUFFIXES: [&str; 14] = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    if !number_ok || !SUFFIXES.contains(&suffix) {
        bail!(
            "{what} `{text}` is not a Kubernetes quantity: a positive number with an optional \
             suffix (m, k, M, G, Ki, Mi, Gi, ...), e.g. 2, 500m, 8Gi"
        );
    }
    Ok(text.to_string())
}

/// `build-cpython` or `build-cpython-`: a DNS label prefix; returned ending with `-`.
pub fn check_generate_name(text: &str) -> Result<String> {
    let base = text.strip_suffix('-').unwrap_or(text);
    let ok = !base.is_empty()
        && base.len() <= 40
        && base
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && base.starts_with(|c: char| c.is_ascii_alphanumeric())
        && base.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        bail!(
            "generate name `{text}` is not valid: use 1 to 40 characters of a-z 0-9 -, starting \
             and ending with a letter or digit (a trailing `-` is added)"
        );
    }
    Ok(format!("{base}-"))
}

/// `KEY` or `CONFIGMAP:KEY`.
pub fn parse_artifact_repository_ref(text: &str) -> Result<ArtifactRepositoryRef> {
    let (config_map, key) = match text.split_once(':') {
        Some((map, key)) => (Some(map.to_string()), key),
        None => (None, text),
    };
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !name_ok(key) || config_map.as_deref().is_some_and(|m| !name_ok(m)) {
        bail!(
            "artifact repository ref `{text}` is not KEY or CONFIGMAP:KEY (names of A-Z a-z 0-9 \
             - _ .)"
        );
    }
    Ok(ArtifactRepositoryRef {
        config_map,
        key: key.to_string(),
    })
}

/// Five cron fields (`0 3 * * *`) or a `@daily`-style macro, as Argo's cron parser accepts.
pub fn check_schedule(text: &str) -> Result<String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let macro_ok = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ]
    .contains(&text.trim());
    let field_ok = |f: &&str| {
        f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?'))
    };
    if !macro_ok && (fields.len() != 5 || !fields.iter().all(field_ok)) {
        bail!(
            "schedule `{text}` is not a cron schedule: give five fields (minute hour day month \
             weekday), e.g. \"0 3 * * *\", or a macro such as @daily"
        );
    }
    Ok(fields.join(" "))
}

/// Reads a duration knob, naming where it came from on error.
pub fn duration_knob(value: &str, source: &str) -> Result<u64> {
    parse_duration(value).with_context(|| format!("in {source}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("4h").unwrap(), 14_400);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400);
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        assert_eq!(parse_duration("600").unwrap(), 600);
        for bad in ["", "h", "4x", "4h3", "0h", "-1"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_names_refs_and_schedules_are_checked() {
        assert!(check_quantity("--memory", "8Gi").is_ok());
        assert!(check_quantity("--cpu", "500m").is_ok());
        assert!(check_quantity("--cpu", "1.5").is_ok());
        assert!(check_quantity("--memory", "8GB").is_err());
        assert!(check_quantity("--memory", "lots").is_err());
        assert_eq!(check_generate_name("nightly").unwrap(), "nightly-");
        assert!(check_generate_name("Build_").is_err());
        let r = parse_artifact_repository_ref("repos:minio").unwrap();
        assert_eq!(
            (r.config_map.as_deref(), r.key.as_str()),
            (Some("repos"), "minio")
        );
        assert!(parse_artifact_repository_ref("a b").is_err());
        assert_eq!(check_schedule("0 3 * * *").unwrap(), "0 3 * * *");
        assert!(check_schedule("@daily").is_ok());
        assert!(check_schedule("0 3 * *").is_err());
    }
}
