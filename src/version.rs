//! CPython version strings (`3.12.4`, `3.13.0b4`, `3.15.0rc2`) and branches (`main`, `3.14`):
//! parsing, ordering, and the release directory python.org files releases under. A branch is
//! a version whose source is a checkout given at run time: `3.14` orders as 3.14, `main` after
//! every release.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A pre-release phase, ordered as CPython releases them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Alpha,
    Beta,
    Candidate,
}

impl Phase {
    fn suffix(self) -> &'static str {
        match self {
            Phase::Alpha => "a",
            Phase::Beta => "b",
            Phase::Candidate => "rc",
        }
    }
}

/// A CPython version: release numbers and an optional pre-release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// `[major, minor]` or `[major, minor, micro]`, as written; empty for `main`.
    pub release: Vec<u32>,
    pub pre: Option<(Phase, u32)>,
}

/// The development branch's name: newer than every release.
pub const MAIN: &str = "main";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a CPython version: expected MAJOR.MINOR[.MICRO] with an optional \
     a/b/rc pre-release suffix and no leading zeros, like 3.12.4 or 3.13.0b4, or `main`"
)]
pub struct VersionError(pub String);

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || VersionError(text.to_string());
        if text == MAIN {
            return Ok(Version {
                release: Vec::new(),
                pre: None,
            });
        }
        let split = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let (numbers, suffix) = text.split_at(split);
        let release = numbers
            .split('.')
            .map(|part| {
                // `04` would name a release python.org does not have (its URLs say `4`).
                let leading_zero = part.len() > 1 && part.starts_with('0');
                if part.is_empty() || leading_zero || !part.bytes().all(|b| b.is_ascii_digit()) {
                    Err(bad())
                } else {
                    part.parse::<u32>().map_err(|_| bad())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !(2..=3).contains(&release.len()) {
            return Err(bad());
        }
        let pre = if suffix.is_empty() {
            None
        } else {
            let (phase, number) = [Phase::Candidate, Phase::Alpha, Phase::Beta]
                .into_iter()
                .find_map(|p| suffix.strip_prefix(p.suffix()).map(|n| (p, n)))
                .ok_or_else(bad)?;
            let leading_zero = number.len() > 1 && number.starts_with('0');
            if number.is_empty() || leading_zero || !number.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            Some((phase, number.parse().map_err(|_| bad())?))
        };
        Ok(Version { release, pre })
    }
}

impl Version {
    /// `MAJOR.MINOR.MICRO` without the pre-release: python.org's directory for the tarball
    /// (`3.13.0b4` lives under `3.13.0/`).
    pub fn release_dir(&self) -> String {
        let mut parts = self.release.clone();
        parts.resize(3, 0);
        parts
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A branch (`main`, `3.14`): no release of python.org, so no download and no checksum.
    pub fn is_branch(&self) -> bool {
        self.release.len() != 3
    }

    fn padded_release(&self) -> [u32; 3] {
        if self.release.is_empty() {
            // `main`: after every release.
            return [u32::MAX; 3];
        }
        let mut out = [0; 3];
        for (slot, value) in out.iter_mut().zip(&self.release) {
            *slot = *value;
        }
        out
    }

    /// Orders `self` against a rule's bound. A bound without a pre-release suffix compares
    /// release numbers only, as far as the bound spells them: every 3.13 release and
    /// pre-release is "at least 3.13", which is what a feature gate like `--disable-gil` means.
    pub fn cmp_to_bound(&self, bound: &Version) -> Ordering {
        if bound.pre.is_none() {
            // `main` as a bound: only `main` is at least it.
            let n = if bound.release.is_empty() {
                3
            } else {
                bound.release.len()
            };
            return self.padded_release()[..n].cmp(&bound.padded_release()[..n]);
        }
        self.cmp(bound)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // A final release sorts after all of its pre-releases.
        let pre_key = |v: &Version| match v.pre {
            Some((phase, n)) => (0, Some((phase, n))),
            None => (1, None),
        };
        self.padded_release()
            .cmp(&other.padded_release())
            .then_with(|| pre_key(self).cmp(&pre_key(other)))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.release.is_empty() {
            return f.write_str(MAIN);
        }
        let numbers: Vec<String> = self.release.iter().map(u32::to_string).collect();
        write!(f, "{}", numbers.join("."))?;
        if let Some((phase, n)) = self.pre {
            write!(f, "{}{}", phase.suffix(), n)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn parses_releases_and_prereleases() {
        assert_eq!(v("3.12.4").release, vec![3, 12, 4]);
        assert_eq!(v("3.13.0b4").pre, Some((Phase::Beta, 4)));
        assert_eq!(v("3.15.0a2").pre, Some((Phase::Alpha, 2)));
        assert_eq!(v("3.14.0rc1").pre, Some((Phase::Candidate, 1)));
        for text in ["3.13.0b4", "3.15.0rc2", "3.12.4", "3.13"] {
            assert_eq!(v(text).to_string(), text);
        }
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for text in [
            "", "3", "3.", "3.13.0.1", "3.13.0x1", "3.13.0b", "v3.12", "3.12.4 ", "Main",
        ] {
            assert!(text.parse::<Version>().is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn orders_prereleases_before_the_release() {
        let mut versions = [
            v("3.13.0"),
            v("3.13.0rc1"),
            v("3.12.4"),
            v("3.13.0b4"),
            v("3.13.0a1"),
        ];
        versions.sort();
        let sorted: Vec<String> = versions.iter().map(Version::to_string).collect();
        assert_eq!(
            sorted,
            ["3.12.4", "3.13.0a1", "3.13.0b4", "3.13.0rc1", "3.13.0"]
        );
    }

    #[test]
    fn a_bound_without_prerelease_compares_release_numbers_only() {
        assert_eq!(v("3.13.0b4").cmp_to_bound(&v("3.13")), Ordering::Equal);
        assert_eq!(v("3.12.4").cmp_to_bound(&v("3.13")), Ordering::Less);
        assert_eq!(v("3.14.0").cmp_to_bound(&v("3.13")), Ordering::Greater);
        assert_eq!(v("3.13.0b4").cmp_to_bound(&v("3.13.0rc1")), Ordering::Less);
    }

    #[test]
    fn main_is_newest_and_a_minor_branch_is_its_minor() {
        assert_eq!(v("main").to_string(), "main");
        assert!(v("main").is_branch() && v("3.14").is_branch() && !v("3.14.0").is_branch());
        assert!(v("main") > v("3.99.9"));
        assert_eq!(v("main").cmp_to_bound(&v("3.14")), Ordering::Greater);
        assert_eq!(v("3.14").cmp_to_bound(&v("3.14")), Ordering::Equal);
        assert_eq!(v("3.14").cmp_to_bound(&v("3.15")), Ordering::Less);
        assert_eq!(v("3.14").cmp_to_bound(&v("main")), Ordering::Less);
        assert!("mainline".parse::<Version>().is_err());
    }

    #[test]
    fn release_dir_drops_the_prerelease() {
        assert_eq!(v("3.13.0b4").release_dir(), "3.13.0");
        assert_eq!(v("3.12.4").release_dir(), "3.12.4");
        assert_eq!(v("3.14").release_dir(), "3.14.0");
    }
}
