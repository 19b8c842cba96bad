//! A progress bar with ETA and throughput, drawn only on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Step progress on stderr. Hidden automatically when stderr is not a terminal (CI, tests, pipes).
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` steps, starting at `position` (non-zero after a resume). `visible =
    /// false` hides it even on a terminal.
    pub fn new(total: u64, position: u64, visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} steps {per_sec} ETA {eta_precise} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_position(position);
        bar.reset_eta();
        Self { bar }
    }

    /// Moves the bar to `position` and shows `message` (e.g. loss and lr) beside it.
    pub fn update(&self, position: u64, message: String) {
        self.bar.set_position(position);
        self.bar.set_message(message);
    }

    /// Prints a line above the bar (or plainly on stderr when the bar is hidden).
    pub fn warn(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Leaves the bar at its final state.
    pub fn finish(&self) {
        self.bar.abandon();
    }
}
