//! What a cell's markers say besides its result: how long each stage took (the times of its
//! start and end markers) and the `event=fact name=N value=V` lines its script printed (the
//! compiler's version, the source's identity).

use std::collections::BTreeMap;

use serde::Serialize;

/// Longest fact value kept: a compiler's first `--version` line fits many times over.
const VALUE_CHARS: usize = 200;

/// A cell's facts, from its markers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// Seconds each stage took, by its marker name (`setup`, `configure`, `compile`,
    /// `canaries`, `tests`, `collect`), in the order the stages ran.
    pub seconds: Vec<(String, u64)>,
    /// The `event=fact` values by name; of a name printed twice, the last.
    pub values: BTreeMap<String, String>,
}

impl crate::logs::sparse::Empty for Facts {
    fn empty() -> &'static Self {
        static EMPTY: Facts = Facts {
            seconds: Vec::new(),
            values: BTreeMap::new(),
        };
        &EMPTY
    }
}

impl Facts {
    /// Seconds of the stage of that marker name, when it ended.
    pub fn seconds_of(&self, stage: &str) -> Option<u64> {
        self.seconds
            .iter()
            .find(|(s, _)| s == stage)
            .map(|&(_, n)| n)
    }

    /// Seconds from the first stage's start to the last one's end.
    pub fn total_seconds(&self) -> Option<u64> {
        (!self.seconds.is_empty()).then(|| self.seconds.iter().map(|&(_, n)| n).sum())
    }
}

/// Collects [`Facts`] from the markers as the classifier parses them.
#[derive(Debug, Default)]
pub(super) struct FactsReader {
    facts: Facts,
    /// The stage that started and has not ended, with its start in seconds.
    open: Option<(String, i64)>,
}

impl FactsReader {
    /// One marker: its `event`, `stage` and `time` fields and the text after `::matrix:: `.
    pub fn marker(
        &mut self,
        event: Option<&str>,
        stage: Option<&str>,
        time: Option<&str>,
        rest: &str,
    ) {
        let at = time.and_then(epoch_seconds);
        match (event, stage) {
            (Some("stage-start"), Some(stage)) => {
                self.open = at.map(|at| (stage.to_string(), at));
            }
            (Some("stage-end"), Some(stage)) => {
                if let (Some((open, start)), Some(end)) = (self.open.take(), at) {
                    if open == stage && end >= start {
                        self.facts.seconds.push((open, (end - start) as u64));
                    }
                }
            }
            (Some("fact"), _) => self.fact(rest),
            _ => {}
        }
    }

    /// `event=fact name=N value=V…`: the value runs to the end of the line.
    fn fact(&mut self, rest: &str) {
        let name = rest
            .split_whitespace()
            .find_map(|f| f.strip_prefix("name="));
        let value = rest.split_once(" value=").map(|(_, v)| v.trim_end());
        if let (Some(name), Some(value)) = (name, value) {
            let value: String = value.chars().take(VALUE_CHARS).collect();
            self.facts.values.insert(name.to_string(), value);
        }
    }

    pub fn finish(self) -> Facts {
        self.facts
    }
}

/// `2026-12-07T11:45:30Z` (the scripts' marker time, always UTC) as seconds since 1970.
fn epoch_seconds(time: &str) -> Option<i64> {
    let b = time.as_bytes();
    let shape_ok = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape_ok {
        return None;
    }
    let num = |from: usize, to: usize| time.get(from..to)?.parse::<i64>().ok();
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_times_are_seconds_since_1970() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(epoch_seconds("2026-12-07T11:45:30Z"), Some(1_796_643_930));
        assert_eq!(epoch_seconds("2026-12-07 11:45:30Z"), None);
        assert_eq!(epoch_seconds("2026-13-07T11:45:30Z"), None);
        assert_eq!(epoch_seconds("T"), None);
    }

    #[test]
    fn stages_are_timed_and_facts_kept_to_the_end_of_the_line() {
        let mut r = FactsReader::default();
        let lines = [
            "event=stage-start stage=setup time=2026-12-07T11:00:00Z",
            "event=fact name=compiler value=gcc (Debian 12.2.0-14) 12.2.0",
            "event=stage-end stage=setup status=0 time=2026-12-07T11:00:03Z",
            "event=stage-start stage=compile time=2026-12-07T11:00:03Z",
            "event=stage-end stage=compile status=0 time=2026-12-07T11:02:03Z",
            "event=stage-start stage=tests time=2026-12-07T11:02:03Z",
        ];
        for rest in lines {
            let field = |k: &str| {
                rest.split_whitespace()
                    .find_map(|f| f.strip_prefix(k)?.strip_prefix('='))
            };
            r.marker(field("event"), field("stage"), field("time"), rest);
        }
        let facts = r.finish();
        assert_eq!(
            facts.seconds,
            [("setup".to_string(), 3), ("compile".to_string(), 120)]
        );
        assert_eq!(facts.total_seconds(), Some(123));
        assert_eq!(facts.values["compiler"], "gcc (Debian 12.2.0-14) 12.2.0");
    }
}
