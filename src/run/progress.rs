//! What a run shows while it works, on stderr: on a terminal one live line per running cell
//! (id, stage, elapsed) under an overall bar; otherwise one plain line per event.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    live: Option<Live>,
    total: usize,
    done: usize,
    failed: usize,
    running: usize,
    /// When the first cell started: the ETA is the rate since then applied to what is left.
    since: Option<Instant>,
}

struct Live {
    multi: MultiProgress,
    overall: ProgressBar,
    cells: BTreeMap<String, ProgressBar>,
}

impl Progress {
    /// Live lines when stderr is a terminal, plain lines otherwise.
    pub fn new(total: usize) -> Self {
        let live = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(total as u64));
            overall.set_style(
                ProgressStyle::with_template("{bar:20} {pos}/{len} {msg}")
                    .expect("valid progress template"),
            );
            overall.enable_steady_tick(Duration::from_secs(1));
            Live {
                multi,
                overall,
                cells: BTreeMap::new(),
            }
        });
        let progress = Progress {
            live,
            total,
            done: 0,
            failed: 0,
            running: 0,
            since: None,
        };
        progress.update_overall();
        progress
    }

    /// What the bar says beside `done/total`: short enough for 80 columns at any count.
    fn counts(&self) -> String {
        format!(
            "{} failed · {} running · ETA {}",
            self.failed,
            self.running,
            self.eta()
        )
    }

    /// How long the rest should take at the rate cells have finished so far; `—` until one has
    /// (a guess before then would be a number about nothing).
    fn eta(&self) -> String {
        let (Some(since), done @ 1..) = (self.since, self.done) else {
            return "—".to_string();
        };
        let left = (self.total - self.done) as f64;
        let per_cell = since.elapsed().as_secs_f64() / done as f64;
        format_duration(Duration::from_secs_f64(per_cell * left))
    }

    fn update_overall(&self) {
        if let Some(live) = &self.live {
            live.overall.set_position(self.done as u64);
            live.overall.set_message(self.counts());
        }
    }

    /// A message that stays (above the live lines on a terminal).
    pub fn say(&self, text: &str) {
        match &self.live {
            Some(live) => live.multi.suspend(|| say(text)),
            None => say(text),
        }
    }

    pub fn started(&mut self, cell: &str) {
        self.running += 1;
        self.since.get_or_insert_with(Instant::now);
        match &mut self.live {
            Some(live) => {
                let bar = live
                    .multi
                    .insert_before(&live.overall, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {msg} {elapsed}")
                        .expect("valid progress template"),
                );
                bar.set_prefix(cell.to_string());
                bar.set_message("starting");
                bar.enable_steady_tick(Duration::from_millis(500));
                live.cells.insert(cell.to_string(), bar);
            }
            None => say(&format!(
                "[{}/{}] start {cell}",
                self.done + self.running,
                self.total
            )),
        }
        self.update_overall();
    }

    /// The stage a running cell has reached (from its log's markers).
    pub fn stage(&mut self, cell: &str, stage: &str) {
        match &self.live {
            Some(live) => {
                if let Some(bar) = live.cells.get(cell) {
                    bar.set_message(crate::table::visible(stage).into_owned());
                }
            }
            None => say(&format!("{cell}: {stage}")),
        }
    }

    pub fn finished(&mut self, cell: &str, result: &str, passed: bool, elapsed: Duration) {
        self.running -= 1;
        self.done += 1;
        if !passed {
            self.failed += 1;
        }
        let left = self.total - self.done;
        let eta = if left > 0 {
            format!(" (ETA {})", self.eta())
        } else {
            String::new()
        };
        let line = format!(
            "[{}/{}] {cell}: {} in {}{eta}",
            self.done,
            self.total,
            crate::table::visible(result),
            format_duration(elapsed)
        );
        if let Some(live) = &mut self.live {
            if let Some(bar) = live.cells.remove(cell) {
                bar.finish_and_clear();
                live.multi.remove(&bar);
            }
        }
        self.say(&line);
        self.update_overall();
    }

    /// A cell stopped before it finished (interrupt): neither done nor failed.
    pub fn abandoned(&mut self, cell: &str) {
        self.running -= 1;
        if let Some(live) = &mut self.live {
            if let Some(bar) = live.cells.remove(cell) {
                bar.finish_and_clear();
                live.multi.remove(&bar);
            }
        }
        self.say(&format!("{cell}: interrupted, no result"));
        self.update_overall();
    }

    pub fn finish(self) {
        if let Some(live) = self.live {
            live.overall.finish_and_clear();
        }
    }
}

/// `1h02m03s`, `4m05s`, `7s`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// The stage named by the last `stage-start` marker in `text`, if any.
pub fn last_stage(text: &[u8]) -> Option<String> {
    const START: &[u8] = b"::matrix:: event=stage-start stage=";
    let at = memchr::memmem::rfind(text, START)?;
    let rest = &text[at + START.len()..];
    let end = rest.iter().position(|&b| b == b' ' || b == b'\n')?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// When a run started, to say how long it took.
pub fn since(start: Instant) -> String {
    format_duration(start.elapsed())
}

/// One line on stderr. A reader that went away (a closed pipe) must not stop the run: the cells
/// still have to be stopped properly and their results written, so write errors are ignored.
/// Control characters are escaped: a line may hold a stage name from a cell's log, a file
/// name or what a program printed, none of which may act on the terminal.
fn say(text: &str) {
    use std::io::Write;
    let text = crate::table::visible_lines(text);
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_no_eta_until_a_cell_has_finished() {
        let mut progress = Progress::new(4);
        assert_eq!(progress.eta(), "—");
        progress.started("a");
        assert_eq!(progress.eta(), "—");
        progress.since = Some(Instant::now() - Duration::from_secs(60));
        progress.finished("a", "Tests. Passed", true, Duration::from_secs(60));
        // One cell a minute so far, three left.
        assert_eq!(progress.eta(), "3m00s");
        assert!(
            progress.counts().chars().count() < 40,
            "{}",
            progress.counts()
        );
    }

    #[test]
    fn durations_read_as_hours_minutes_seconds() {
        assert_eq!(format_duration(Duration::from_secs(7)), "7s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(format_duration(Duration::from_secs(3723)), "1h02m03s");
    }

    #[test]
    fn the_last_started_stage_is_the_current_one() {
        let log = b"::matrix:: event=stage-start stage=setup time=T\nx\n\
                    ::matrix:: event=stage-end stage=setup status=0 time=T\n\
                    ::matrix:: event=stage-start stage=compile time=T\nmake\n";
        assert_eq!(last_stage(log).as_deref(), Some("compile"));
        assert_eq!(last_stage(b"nothing yet"), None);
        // A marker still being written is not read half.
        assert_eq!(last_stage(b"::matrix:: event=stage-start stage=conf"), None);
    }
}
