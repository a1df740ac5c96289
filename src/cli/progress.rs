//! The CLI's side of long reads: a progress bar on a terminal (stderr) and the warnings domain
//! code returns, printed on stderr.

use std::io::IsTerminal;

use crate::artifacts::Warning;

/// A bar for reading `what`, hidden when stderr is not a terminal. Give [`Bar::update`] to the
/// domain code as its progress callback; the bar clears itself when dropped.
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    pub fn new(what: &str) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(indicatif::ProgressBar::hidden());
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{spinner}} {what} {{bar:30}} {{binary_bytes}}/{{binary_total_bytes}} ({{eta}})"
            ))
            .expect("valid progress template"),
        );
        Bar(bar)
    }

    pub fn update(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Prints what the reader skipped, one line each.
pub fn warn(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("warning: {}", crate::table::visible(&w.to_string()));
    }
}
