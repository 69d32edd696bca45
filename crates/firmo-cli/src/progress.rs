//! Progress on long work: a spinner with counts on a terminal, nothing otherwise (cron
//! logs and `--json` stay clean).

use std::io::IsTerminal;

use firmo_engine::sync::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar on stderr when it is a terminal and output is for people; hidden otherwise.
    pub(crate) fn new(json: bool, quiet: bool) -> Bar {
        let visible = !json && !quiet && std::io::stderr().is_terminal();
        let bar = if visible {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}] {pos} accounts")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar { bar }
    }

    pub(crate) fn done(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str) {
        self.bar.set_message(name.to_owned());
    }

    fn pulled(&self, total: u64) {
        self.bar.set_message(format!("syncing: {total} pulled"));
    }

    fn processed(&self, total: u64) {
        self.bar.set_position(total);
    }
}
