//! Where output goes (stdout for results, stderr for notes, errors and the progress bar), and
//! how tables are laid out.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use wazzup_user_sync::plan::Step;
use wazzup_user_sync::service::Progress;

use crate::failure::Failure;

/// How many ids a list shows in table mode before "... and N more".
pub const SHOWN: usize = 20;

/// Where output goes: stdout for results, stderr for notes and errors.
#[derive(Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
}

impl Output {
    pub fn stdout(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not worth a panic.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    pub fn json_doc(&self, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
        self.stdout(&format!("{text}\n"));
    }

    pub fn note(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    pub fn failure(&self, failure: &Failure) {
        if self.json {
            self.json_doc(&failure.json());
        }
        let mut text = format!("error: {}\n", failure.message);
        if !self.json {
            for line in &failure.lines {
                let _ = writeln!(text, "  {line}");
            }
        }
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    /// A progress bar over `requests` calls on stderr, when it is a terminal and wanted.
    pub fn progress(&self, requests: usize) -> Bar {
        if self.json || self.quiet || !std::io::stderr().is_terminal() {
            return Bar(ProgressBar::hidden());
        }
        let bar = ProgressBar::new(requests as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {pos}/{len} requests {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar(bar)
    }
}

/// Aligned columns, widths counted in characters.
pub fn table(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let chars = cell.chars().count();
            match widths.get_mut(i) {
                Some(width) => *width = (*width).max(chars),
                None => widths.push(chars),
            }
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            // Names come from Wazzup: never let them drive the terminal.
            let cell: String = cell
                .chars()
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect();
            let cell = cell.as_str();
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// At most [`SHOWN`] lines of `items`, then how many more there are.
pub fn truncated(mut lines: Vec<String>) -> Vec<String> {
    let total = lines.len();
    lines.truncate(SHOWN);
    if total > SHOWN {
        lines.push(format!(
            "... and {} more (--json lists them all)",
            total - SHOWN
        ));
    }
    lines
}

/// The service's progress on a progress bar: a message per call, a tick after it.
pub struct Bar(ProgressBar);

impl Bar {
    /// Leaves the bar as it is (a failed run) or clears it (a finished one).
    pub fn end(&self, finished: bool) {
        if finished {
            self.0.finish_and_clear();
        } else {
            self.0.abandon();
        }
    }
}

impl Progress for Bar {
    fn starting(&mut self, step: &Step<'_>) {
        self.0.set_message(match step {
            Step::Upsert(users) => format!("upserting {}", users.len()),
            Step::BulkDelete(ids) => format!("deleting {}", ids.len()),
            Step::DeleteOne(_) => "deleting 1".to_owned(),
        });
    }

    fn finished(&mut self, _step: &Step<'_>) {
        self.0.inc(1);
    }
}
