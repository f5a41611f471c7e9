//! The terminal display of `verify`: a line per block (status, id, hosts, duration) and for a
//! failure its place in the chapter, the reason and the coloured diff (drawn by
//! [`super::result`], which `step` and `check` share), a live status line on long blocks when
//! stderr is a terminal, and the run's summary. Colours follow the console crate (off with
//! `NO_COLOR` or when piped). The lines are drawn into a writer: stdout, or a test's buffer.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use console::{Style, Term};

use super::duration;
use super::model::{Event, Reporter, StepResult};
use super::result::Front;

/// What is running now, for the live status line.
#[derive(Debug, Default)]
struct Current {
    label: String,
    since: Option<Instant>,
    shown: bool,
}

/// Prints a run as it happens.
pub(crate) struct TerminalReporter {
    strict: bool,
    total: usize,
    done: usize,
    /// Blocks not run after a stop, summarised rather than listed.
    not_run: usize,
    verbose: bool,
    current: Arc<Mutex<Current>>,
    ticker: Option<std::thread::JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// Where the lines go.
    out: Box<dyn Write>,
}

impl std::fmt::Debug for TerminalReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalReporter")
            .field("strict", &self.strict)
            .field("verbose", &self.verbose)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl TerminalReporter {
    /// Prints on stdout, with a live status line on stderr when it is a terminal.
    pub(crate) fn new(strict: bool, verbose: bool) -> Self {
        Self::drawing_into(
            Box::new(std::io::stdout()),
            strict,
            verbose,
            Term::stderr().is_term(),
        )
    }

    /// Draws into `out`; `status_line`: show what runs on stderr while it runs.
    pub(crate) fn drawing_into(
        out: Box<dyn Write>,
        strict: bool,
        verbose: bool,
        status_line: bool,
    ) -> Self {
        let current = Arc::new(Mutex::new(Current::default()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticker = status_line.then(|| {
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
            out: Box::new(crate::printable::TerminalWriter::new(out)),
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
        if self.done > 0 && result.not_run.is_some() {
            self.not_run += 1;
            return;
        }
        super::result::draw(
            &mut self.out,
            Front::Verify {
                strict: self.strict,
                verbose: self.verbose,
            },
            result,
        );
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
        let shown = crate::printable::for_terminal(&text);
        let _ = write!(&term, "{}", console::truncate_str(&shown, width, "…"));
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
                // The label is only for the live status line: without one, not made at all
                // (a cost on each block of a long run).
                if self.ticker.is_some()
                    && let Ok(mut current) = self.current.lock()
                {
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
                let _ = self.out.flush();
            }
            Event::RunFinished { report } => {
                self.clear_status();
                if self.not_run > 0 {
                    let _ = writeln!(
                        self.out,
                        "{:>11} {} blocks not run",
                        Style::new().dim().apply_to("SKIPPED"),
                        self.not_run
                    );
                }
                // As nextest reports a test's leaked processes: runbook ended them, and
                // says so, since a course that meant them to stay wants `keep-running`.
                for leftover in &report.leftovers {
                    let _ = writeln!(
                        self.out,
                        "{:>11} {} pid {} `{}`: left running by a block, ended by runbook",
                        Style::new().yellow().bold().apply_to("LEFTOVER"),
                        leftover.host,
                        leftover.pid,
                        leftover.command
                    );
                }
                if !report.leftovers.is_empty() {
                    let _ = writeln!(
                        self.out,
                        "{:>11} mark a block `keep-running` if what it starts must outlive the run",
                        ""
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
                let _ = writeln!(
                    self.out,
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
