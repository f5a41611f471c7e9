//! The terminal display: a line per block (status, id, hosts, duration), a live status line
//! on long blocks when stderr is a terminal, and for a failure its place in the chapter, the
//! reason and the coloured diff. Colours follow the console crate (off with `NO_COLOR` or when
//! piped).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use console::{Style, Term};

use super::html::duration;
use super::model::{Event, Outcome, Reporter, StepResult};
use crate::expect::diff::{Diff, DiffTag};

/// What is running now, for the live status line.
#[derive(Debug, Default)]
struct Current {
    label: String,
    since: Option<Instant>,
    shown: bool,
}

/// Prints a run as it happens.
#[derive(Debug)]
pub struct TerminalReporter {
    strict: bool,
    total: usize,
    done: usize,
    /// Blocks not run after a stop, summarised rather than listed.
    not_run: usize,
    verbose: bool,
    current: Arc<Mutex<Current>>,
    ticker: Option<std::thread::JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl TerminalReporter {
    pub fn new(strict: bool, verbose: bool) -> Self {
        let current = Arc::new(Mutex::new(Current::default()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticker = Term::stderr().is_term().then(|| {
            let current = Arc::clone(&current);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || status_line_loop(&current, &stop))
        });
        TerminalReporter {
            strict,
            total: 0,
            done: 0,
            not_run: 0,
            verbose,
            current,
            ticker,
            stop,
        }
    }

    fn clear_status(&self) {
        if let Ok(mut current) = self.current.lock() {
            if current.shown {
                let _ = Term::stderr().clear_line();
                current.shown = false;
            }
            current.since = None;
        }
    }

    fn print_step(&mut self, result: &StepResult) {
        let outcome = result.outcome;
        if outcome == Outcome::Skipped
            && self.done > 0
            && result
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("not run") || m.contains("interrupted"))
        {
            self.not_run += 1;
            return;
        }
        let style = outcome_style(outcome, self.strict);
        let hosts: Vec<String> = result
            .hosts
            .iter()
            .map(|h| {
                if h.user == "root" || h.user.is_empty() {
                    h.host.clone()
                } else {
                    format!("{}@{}", h.user, h.host)
                }
            })
            .collect();
        let attempts: usize = result
            .hosts
            .iter()
            .map(|h| h.attempts.len())
            .max()
            .unwrap_or(0);
        let retries = if attempts > 1 {
            format!(" ({attempts} attempts)")
        } else {
            String::new()
        };
        println!(
            "{} {}  {}  {}{}",
            style.apply_to(format!("{:>11}", outcome.label().to_uppercase())),
            Style::new().bold().apply_to(&result.qualified_id),
            Style::new().dim().apply_to(hosts.join(",")),
            Style::new().dim().apply_to(duration(result.duration_ms)),
            Style::new().dim().apply_to(retries),
        );
        for change in &result.blessed {
            let what = if change.created {
                "new".to_string()
            } else {
                format!("{} lines changed", change.lines_changed)
            };
            println!(
                "{:>11} {} ({what})",
                Style::new().yellow().apply_to("blessed"),
                change.path
            );
        }
        // Verbose: every block's output, e.g. a teardown's account of what it removed.
        if outcome.is_failure(self.strict) || (self.verbose && outcome != Outcome::Skipped) {
            self.print_details(result);
        }
    }

    /// Where the block is, why it failed, and the diff or the last lines of its output.
    fn print_details(&self, result: &StepResult) {
        let arrow = Style::new().blue().bold();
        println!(
            "{:>11} {}:{}",
            arrow.apply_to("-->"),
            result.file,
            result.line
        );
        if let Some(message) = &result.message {
            println!("{:>11} {}", "", printable(message));
        }
        for host in &result.hosts {
            if !host.outcome.is_failure(self.strict) && !self.verbose {
                continue;
            }
            let Some(attempt) = host.last_attempt() else {
                continue;
            };
            if let Some(expected) = &host.expected {
                println!(
                    "{:>11} {} {}",
                    "",
                    Style::new().dim().apply_to("expected:"),
                    expected
                );
            }
            if let Some(diff) = &attempt.diff {
                print_diff(diff, &host.host);
            } else if !attempt.output.is_empty() {
                println!(
                    "{:>11} {}",
                    "",
                    Style::new()
                        .dim()
                        .apply_to(format!("output on {} (last lines):", host.host))
                );
                if attempt.truncated {
                    println!(
                        "{:>11} {}",
                        "",
                        Style::new()
                            .yellow()
                            .apply_to(super::truncation_note(attempt))
                    );
                }
                let lines: Vec<&str> = attempt.output.lines().collect();
                let start = lines.len().saturating_sub(20);
                for line in &lines[start..] {
                    println!("{:>11} {} {line}", "", Style::new().dim().apply_to("|"));
                }
            }
        }
        println!();
    }
}

/// Text from a host (a message quoting what a shell printed) with its control characters
/// shown escaped, so that it cannot move the cursor, retitle or clear the user's terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                let mut buffer = [0u8; 4];
                c.encode_utf8(&mut buffer)
                    .bytes()
                    .map(|byte| format!("\\x{byte:02x}"))
                    .collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn outcome_style(outcome: Outcome, strict: bool) -> Style {
    match outcome {
        Outcome::Passed | Outcome::Blessed => Style::new().green().bold(),
        Outcome::Unverified if !strict => Style::new().yellow(),
        Outcome::Skipped => Style::new().dim(),
        _ => Style::new().red().bold(),
    }
}

fn print_diff(diff: &Diff, host: &str) {
    println!(
        "{:>11} {}",
        "",
        Style::new()
            .dim()
            .apply_to(format!("diff on {host} (- expected, + actual):"))
    );
    for hunk in &diff.hunks {
        println!("{:>11} {}", "", Style::new().cyan().apply_to(&hunk.header));
        for line in &hunk.lines {
            let (sign, style, emphasis) = match line.tag {
                DiffTag::Equal => (" ", Style::new().dim(), Style::new().dim()),
                DiffTag::Delete => (
                    "-",
                    Style::new().red(),
                    Style::new().red().underlined().bold(),
                ),
                DiffTag::Insert => (
                    "+",
                    Style::new().green(),
                    Style::new().green().underlined().bold(),
                ),
            };
            let gutter = line.expected_line.map_or(String::new(), |n| n.to_string());
            let mut text = String::new();
            for segment in &line.segments {
                let piece = if segment.emphasized && line.tag != DiffTag::Equal {
                    emphasis.apply_to(&segment.text).to_string()
                } else {
                    style.apply_to(&segment.text).to_string()
                };
                text.push_str(&piece);
            }
            println!(
                "{:>11} {} {text}",
                Style::new().dim().apply_to(gutter),
                style.apply_to(sign)
            );
        }
    }
}

fn status_line_loop(current: &Mutex<Current>, stop: &std::sync::atomic::AtomicBool) {
    let spinner = ['|', '/', '-', '\\'];
    let mut tick = 0usize;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(250));
        tick += 1;
        let Ok(mut state) = current.lock() else {
            return;
        };
        let Some(since) = state.since else { continue };
        let elapsed = since.elapsed();
        if elapsed < Duration::from_secs(1) {
            continue;
        }
        let text = format!(
            "{} {} ({}s)",
            spinner[tick % spinner.len()],
            state.label,
            elapsed.as_secs()
        );
        let term = Term::stderr();
        let _ = term.clear_line();
        let width = usize::from(term.size().1).saturating_sub(1).max(20);
        let _ = write!(&term, "{}", console::truncate_str(&text, width, "…"));
        state.shown = true;
    }
}

impl Reporter for TerminalReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { steps } => self.total = *steps,
            Event::StepStarted {
                index,
                qualified_id,
                hosts,
            } => {
                if let Ok(mut current) = self.current.lock() {
                    current.label = format!(
                        "[{}/{}] {qualified_id} on {}",
                        index + 1,
                        self.total,
                        hosts.join(",")
                    );
                    current.since = Some(Instant::now());
                }
            }
            Event::AttemptFinished {
                index,
                host,
                attempt,
                retrying,
            } => {
                if *retrying && let Ok(mut current) = self.current.lock() {
                    current.label = format!(
                        "[{}/{}] on {host}: attempt {} {}, retrying",
                        index + 1,
                        self.total,
                        attempt.number,
                        attempt.outcome.label()
                    );
                }
            }
            Event::StepFinished { result } => {
                self.clear_status();
                self.print_step(result);
                self.done += 1;
                let _ = std::io::stdout().flush();
            }
            Event::RunFinished { report } => {
                self.clear_status();
                if self.not_run > 0 {
                    println!(
                        "{:>11} {} blocks not run",
                        Style::new().dim().apply_to("SKIPPED"),
                        self.not_run
                    );
                }
                let counts = &report.counts;
                let mut parts = vec![
                    format!("{} passed", counts.passed),
                    format!("{} failed", counts.failed),
                ];
                if counts.unverified > 0 {
                    parts.push(format!("{} unverified", counts.unverified));
                }
                if counts.skipped > 0 {
                    parts.push(format!("{} not run", counts.skipped));
                }
                if counts.blessed > 0 {
                    parts.push(format!("{} blessed", counts.blessed));
                }
                let status = match report.status {
                    super::model::RunStatus::Passed => {
                        Style::new().green().bold().apply_to("passed")
                    }
                    super::model::RunStatus::Failed => Style::new().red().bold().apply_to("failed"),
                    super::model::RunStatus::Interrupted => {
                        Style::new().red().bold().apply_to("interrupted")
                    }
                };
                println!(
                    "\n{status}: {} in {}",
                    parts.join(", "),
                    duration(report.duration_ms)
                );
            }
        }
    }
}

impl Drop for TerminalReporter {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
        self.clear_status();
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(
            printable("lost: \u{1b}]0;title\u{7}\tend\u{9b}"),
            "lost: \\x1b]0;title\\x07\tend\\xc2\\x9b"
        );
    }
}
