//! The grammars a value must follow before it reaches a manifest or an image reference:
//! Kubernetes quantities, DNS-1123 names, OCI image references and registries, Kubernetes
//! architectures, durations, name prefixes. Checked where the value enters (a flag or the
//! definition), never repaired.

use anyhow::{bail, Result};

/// A Kubernetes resource quantity (`500m`, `8Gi`, `1e3`, `1.5`), kept as written, with its
/// value for comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub text: String,
    pub value: f64,
}

/// Parses a quantity as Kubernetes does (apimachinery's `resource.ParseQuantity`):
/// `<number><suffix>` where the number is `[+-]digits[.digits]` and the suffix a binary one
/// (Ki … Ei), a decimal one (n, u, m, k, M, G, T, P, E) or an exponent (`e3`, `E-2`). Resource
/// requests must also be positive, which this checks too.
pub fn parse_quantity(what: &str, text: &str) -> Result<Quantity> {
    let bad = || {
        anyhow::anyhow!(
            "{what} `{text}` is not a Kubernetes quantity: a positive number with an optional \
             suffix (m, k, M, G, T, Ki, Mi, Gi, Ti, or an exponent like e3), e.g. 2, 500m, 8Gi"
        )
    };
    let bytes = text.as_bytes();
    let mut end = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits_start = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    let mut had_digits = end > digits_start;
    if end < bytes.len() && bytes[end] == b'.' {
        end += 1;
        let fraction = end;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        had_digits |= end > fraction;
    }
    if !had_digits {
        return Err(bad());
    }
    let number: f64 = text[..end].parse().map_err(|_| bad())?;
    let suffix = &text[end..];
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => {
            let exponent = suffix
                .strip_prefix(['e', 'E'])
                .filter(|e| {
                    let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                })
                .and_then(|e| e.parse::<i32>().ok())
                .ok_or_else(bad)?;
            10f64.powi(exponent)
        }
    };
    let value = number * scale;
    if !(value > 0.0 && value.is_finite()) {
        return Err(bad());
    }
    Ok(Quantity {
        text: text.to_string(),
        value,
    })
}

/// A request must not exceed its limit: Kubernetes refuses such a pod, but only when the
/// workflow runs, long after `matrix` could have said so.
pub fn check_request_within_limit(
    request_what: &str,
    request: &Quantity,
    limit_what: &str,
    limit: &Quantity,
) -> Result<()> {
    if request.value > limit.value {
        bail!(
            "{request_what} `{}` is more than {limit_what} `{}`: Kubernetes refuses a request \
             above its limit; raise the limit or lower the request",
            request.text,
            limit.text
        );
    }
    Ok(())
}

/// A DNS-1123 label (namespaces): 1 to 63 characters of a-z 0-9 `-`, starting and ending with
/// a letter or digit.
pub fn check_dns_label(what: &str, text: &str) -> Result<()> {
    if !is_dns_label(text) {
        bail!(
            "{what} `{}` is not a DNS-1123 label: 1 to 63 characters of a-z 0-9 and -, starting \
             and ending with a letter or digit",
            text.escape_debug()
        );
    }
    Ok(())
}

/// A DNS-1123 subdomain (service accounts, secrets): at most 253 characters, dot-separated
/// labels of a-z 0-9 `-`.
pub fn check_dns_subdomain(what: &str, text: &str) -> Result<()> {
    if text.is_empty() || text.len() > 253 || !text.split('.').all(is_dns_label) {
        bail!(
            "{what} `{}` is not a DNS-1123 name: at most 253 characters of a-z 0-9 - and ., \
             each dot-separated part starting and ending with a letter or digit",
            text.escape_debug()
        );
    }
    Ok(())
}

fn is_dns_label(text: &str) -> bool {
    (1..=63).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// A registry with an optional repository path, the part of an image reference before the
/// image's own name: `ghcr.io/me`, `localhost:5000`, `registry.example.invalid/cpython-matrix`.
pub fn check_registry(what: &str, text: &str) -> Result<()> {
    // One trailing `/` is harmless: references are joined with it trimmed.
    let trimmed = text.strip_suffix('/').unwrap_or(text);
    let (host, path) = match trimmed.split_once('/') {
        Some((host, path)) => (host, Some(path)),
        None => (text, None),
    };
    let ok = is_registry_host(host) && path.is_none_or(is_repository_path);
    if !ok {
        bail!(
            "{what} `{}` is not a registry: a host name (with an optional :port) and optional \
             lowercase path components, e.g. ghcr.io/me or localhost:5000",
            text.escape_debug()
        );
    }
    Ok(())
}

/// The reserved top-level domain a registry's host ends in (`.invalid`, `.example`, `.test`:
/// RFC 2606 names that never resolve), when it does: a placeholder no pod can pull from.
pub fn placeholder_registry(registry: &str) -> Option<&'static str> {
    let host = registry.split('/').next().unwrap_or(registry);
    let host = host.split(':').next().unwrap_or(host);
    [".invalid", ".example", ".test"]
        .into_iter()
        .find(|tld| host.to_ascii_lowercase().ends_with(tld))
}

/// An image's repository name below the registry: lowercase path components (`build-cpython`,
/// `cpython-matrix/build`).
pub fn check_repository(what: &str, text: &str) -> Result<()> {
    if !is_repository_path(text) {
        bail!(
            "{what} `{}` is not an image repository name: lowercase letters and digits, \
             separated by . _ __ - or /, e.g. build-cpython",
            text.escape_debug()
        );
    }
    Ok(())
}

/// A full image reference as the OCI distribution spec writes it:
/// `[registry/]path[:tag][@sha256:digest]`, e.g. `moby/buildkit:v0.16.0-rootless`.
pub fn check_image_reference(what: &str, text: &str) -> Result<()> {
    let bad = || {
        anyhow::anyhow!(
            "{what} `{}` is not an image reference: [registry/]name[:tag][@sha256:digest], e.g. \
             moby/buildkit:v0.16.0-rootless",
            text.escape_debug()
        )
    };
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    if let Some(digest) = digest {
        let hex = digest.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
    }
    // A tag follows the last `:` after the last `/` (a `:` before it is a registry's port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        let ok = (1..=128).contains(&tag.len())
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            && !tag.starts_with(['.', '-']);
        if !ok {
            return Err(bad());
        }
    }
    let ok = match name.split_once('/') {
        // `ubuntu` or `library/ubuntu`: no registry, a repository path.
        Some((first, path)) if is_registry_host(first) && looks_like_host(first) => {
            is_repository_path(path)
        }
        _ => is_repository_path(name),
    };
    if !ok {
        return Err(bad());
    }
    Ok(())
}

/// Kubernetes' `kubernetes.io/arch` values (Go's GOARCH names for the platforms it runs on).
pub const ARCHITECTURES: [&str; 9] = [
    "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64",
];

/// A value of the axis that selects nodes by `kubernetes.io/arch` must be one of
/// [`ARCHITECTURES`].
pub fn check_architecture(what: &str, text: &str) -> Result<()> {
    if !ARCHITECTURES.contains(&text) {
        bail!(
            "{what} `{}` is not a Kubernetes architecture (a kubernetes.io/arch value): use one \
             of {}",
            text.escape_debug(),
            ARCHITECTURES.join(", ")
        );
    }
    Ok(())
}

/// Seconds in `4h`, `90m`, `1h30m`, `7d`, `45s` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<u64> {
    let bad = || {
        anyhow::anyhow!(
            "`{text}` is not a duration: use a positive number of seconds or numbers with units \
             d, h, m, s (e.g. 4h, 90m, 1h30m), at most {MAX_DURATION_SECONDS} seconds"
        )
    };
    let text = text.trim();
    let seconds = parse_seconds(text).ok_or_else(bad)?;
    if seconds > MAX_DURATION_SECONDS {
        bail!(
            "`{text}` is longer than the longest duration, {MAX_DURATION_SECONDS} seconds (a \
             Kubernetes activeDeadlineSeconds is a signed 64-bit number)"
        );
    }
    Ok(seconds)
}

/// The longest duration: Kubernetes reads `activeDeadlineSeconds` as an int64.
pub const MAX_DURATION_SECONDS: u64 = i64::MAX as u64;

/// The seconds of a duration, `None` when it is not one (or is 0: a deadline of 0 would kill
/// every pod at once) or overflows.
fn parse_seconds(text: &str) -> Option<u64> {
    if let Ok(seconds) = text.parse::<u64>() {
        return (seconds > 0).then_some(seconds);
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
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    (number.is_empty() && total > 0).then_some(total)
}

/// `build-cpython` or `build-cpython-`: a DNS label prefix (of Argo's `generateName`);
/// returned ending with `-`.
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

/// `docker.io`, `localhost:5000`, `10.0.0.1:5000`: DNS labels (any case) joined by dots, with
/// an optional port.
fn is_registry_host(text: &str) -> bool {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    port_ok && !host.is_empty() && host.split('.').all(label_ok)
}

/// Whether the first component of a reference names a registry rather than a repository:
/// the distribution spec's rule (a dot, a port, or `localhost`).
fn looks_like_host(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

/// Path components of lowercase alphanumerics separated by `.`, `_`, `__` or runs of `-`.
fn is_repository_path(text: &str) -> bool {
    !text.is_empty()
        && text.split('/').all(|component| {
            let bytes = component.as_bytes();
            let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
                return false;
            }
            let mut i = 0;
            while i < bytes.len() {
                if alnum(&bytes[i]) {
                    i += 1;
                    continue;
                }
                // A separator: `.`, `_`, `__` or one or more `-`, then an alphanumeric.
                let start = i;
                match bytes[i] {
                    b'.' => i += 1,
                    b'_' => {
                        i += if bytes.get(i + 1) == Some(&b'_') {
                            2
                        } else {
                            1
                        }
                    }
                    b'-' => {
                        while i < bytes.len() && bytes[i] == b'-' {
                            i += 1;
                        }
                    }
                    _ => return false,
                }
                if i == start || i >= bytes.len() || !alnum(&bytes[i]) {
                    return false;
                }
            }
            true
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserved_domain_is_a_placeholder_registry() {
        let placeholder = placeholder_registry;
        assert_eq!(
            placeholder("registry.example.invalid/cpython-matrix"),
            Some(".invalid")
        );
        assert_eq!(placeholder("r.test:5000/x"), Some(".test"));
        assert_eq!(placeholder("ghcr.io/example.invalid"), None);
        assert_eq!(placeholder("localhost:5000"), None);
    }

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
    fn generate_names_are_dns_label_prefixes() {
        assert_eq!(check_generate_name("nightly").unwrap(), "nightly-");
        assert_eq!(
            check_generate_name("build-cpython-").unwrap(),
            "build-cpython-"
        );
        assert!(check_generate_name("Build_").is_err());
        assert!(check_generate_name(&"a".repeat(41)).is_err());
    }

    #[test]
    fn quantities_follow_kubernetes() {
        for (text, value) in [
            ("2", 2.0),
            ("500m", 0.5),
            ("1.5", 1.5),
            ("8Gi", 8.0 * 1024f64.powi(3)),
            ("1e3", 1000.0),
            ("1E-3", 0.001),
            ("+3k", 3000.0),
            (".5", 0.5),
            ("1Ki", 1024.0),
        ] {
            let q = parse_quantity("--memory", text).unwrap();
            assert!((q.value - value).abs() < 1e-9 * value, "{text}");
        }
        for bad in [
            "", "8GB", "lots", "0", "-1", "1e", "1.2.3", "Gi", "1 Gi", "1e3Gi", ".", "{{x}}",
        ] {
            let err = parse_quantity("--memory", bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("--memory `{bad}` is not a Kubernetes quantity")),
                "{err}"
            );
        }
    }

    #[test]
    fn requests_above_limits_are_refused() {
        let q = |t| parse_quantity("x", t).unwrap();
        assert!(check_request_within_limit("--cpu", &q("1"), "--cpu-limit", &q("1000m")).is_ok());
        let err = check_request_within_limit("--memory", &q("16Gi"), "--memory-limit", &q("1Mi"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--memory `16Gi` is more than --memory-limit `1Mi`"),
            "{err}"
        );
    }

    #[test]
    fn dns_names() {
        assert!(check_dns_label("--namespace", "argo").is_ok());
        assert!(check_dns_label("--namespace", "Bad Namespace!").is_err());
        assert!(check_dns_label("--namespace", &"a".repeat(64)).is_err());
        assert!(check_dns_subdomain("--service-account", "argo-workflow.ci").is_ok());
        for bad in ["$(id)", "Bad Secret", "", "a..b", "-a", "{{workflow.name}}"] {
            assert!(
                check_dns_subdomain("--docker-config-secret", bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn registries_and_image_references() {
        for good in [
            "registry.example.invalid/cpython-matrix",
            "ghcr.io/me",
            "localhost:5000",
            "localhost",
            "ghcr.io/me/",
            "docker.io/library",
            "10.0.0.1:5000/a/b",
        ] {
            check_registry("--registry", good).unwrap();
        }
        for bad in [
            "",
            "my reg/$(id)",
            "reg\nistry",
            "{{workflow.name}}",
            "ghcr.io/Me",
            "ghcr.io/",
            "ghcr.io//x",
            "-x.io",
        ] {
            assert!(check_registry("--registry", bad).is_err(), "{bad:?}");
        }
        for good in [
            "moby/buildkit:v0.16.0-rootless",
            "ubuntu",
            "ubuntu:24.04",
            "localhost:5000/a/b:c",
            "ghcr.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "docker.io/library/debian:12",
        ] {
            check_image_reference("--buildkit-image", good).unwrap();
        }
        for bad in [
            "evil image;$(id)",
            "",
            "moby/buildkit:",
            "Moby/buildkit",
            "x@sha256:12",
            "a/b:{{x}}",
        ] {
            assert!(
                check_image_reference("--buildkit-image", bad).is_err(),
                "{bad}"
            );
        }
        assert!(check_repository("image.name", "build-cpython").is_ok());
        assert!(check_repository("image.name", "build cpython {{").is_err());
    }

    #[test]
    fn architectures() {
        assert!(check_architecture("platform", "arm64").is_ok());
        let err = check_architecture("value of workflow.arch_axis `compiler`", "gcc")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`gcc` is not a Kubernetes architecture"),
            "{err}"
        );
    }
}
