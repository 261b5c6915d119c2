//! What a person sees while the CLI waits for a VM: a spinner with the
//! elapsed time on a terminal (indicatif), one line on stderr otherwise,
//! so logs of scripts and CI stay readable.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// How often the spinner redraws.
const TICK: Duration = Duration::from_millis(120);

/// A wait in progress; cleared when dropped.
#[derive(Debug)]
pub struct Waiting {
    spinner: Option<ProgressBar>,
}

impl Waiting {
    /// Show `message` until the wait ends.
    pub fn start(message: String) -> Self {
        if !std::io::stderr().is_terminal() {
            eprintln!("{message}");
            return Self { spinner: None };
        }
        let spinner = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            spinner.set_style(style);
        }
        spinner.set_message(message);
        spinner.enable_steady_tick(TICK);
        Self {
            spinner: Some(spinner),
        }
    }

    /// Change the message (what the wait is at now).
    pub fn update(&self, message: String) {
        if let Some(spinner) = &self.spinner {
            spinner.set_message(message);
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}
