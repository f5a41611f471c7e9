//! `runbook check`: runs the `check` blocks that end each chapter (read-only commands that
//! prove the state it leaves: three etcd members, one leader) and tells which chapters the lab
//! has reached, for a trainee or for a trainer looking at a trainee's lab. A chapter is reached
//! when all of its ending checks pass.

use std::io::Write;

use console::Style;

use crate::plan::Plan;
use crate::report::failure::{self, Layout};
use crate::report::model::{Event, Outcome, Reporter, RunReport, StepResult};

/// Output lines shown for a failing check without a diff.
const OUTPUT_TAIL: usize = 5;

/// How far a lab got, chapter by chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChapterState {
    pub(crate) key: String,
    pub(crate) title: String,
    pub(crate) checks: usize,
    pub(crate) passed: usize,
    /// The first check that did not pass.
    pub(crate) first_failure: Option<String>,
}

impl ChapterState {
    pub(crate) fn reached(&self) -> bool {
        self.checks > 0 && self.passed == self.checks
    }
}

/// Every chapter of the workshop with the results of its checks (none for chapters without).
pub(crate) fn chapter_states(plan: &Plan, report: &RunReport) -> Vec<ChapterState> {
    plan.workshop
        .chapters
        .iter()
        .map(|chapter| {
            let steps: Vec<&StepResult> = report
                .chapters
                .iter()
                .filter(|c| c.key == chapter.key)
                .flat_map(|c| &c.steps)
                .collect();
            ChapterState {
                key: chapter.key.clone(),
                title: chapter.title.clone(),
                checks: steps.len(),
                passed: steps
                    .iter()
                    .filter(|s| matches!(s.outcome, Outcome::Passed | Outcome::Unverified))
                    .count(),
                first_failure: steps
                    .iter()
                    .find(|s| !matches!(s.outcome, Outcome::Passed | Outcome::Unverified))
                    .map(|s| s.qualified_id.clone()),
            }
        })
        .collect()
}

/// The last chapter of the unbroken run of reached chapters from the start (chapters without
/// checks neither break nor extend it); `None` when the first chapter with checks fails.
pub(crate) fn reached(states: &[ChapterState]) -> Option<usize> {
    let mut last = None;
    for (index, state) in states.iter().enumerate() {
        if state.checks == 0 {
            continue;
        }
        if !state.reached() {
            break;
        }
        last = Some(index);
    }
    last
}

/// Prints each check as it finishes, then the chapters reached.
pub(crate) struct CheckReporter<'p> {
    plan: &'p Plan,
    /// `--chapter` chose some chapters: the others were not checked, and how far the lab got
    /// as a whole cannot be told.
    partial: bool,
    /// Where the lines go: stdout, or a test's buffer.
    out: Box<dyn Write>,
}

impl std::fmt::Debug for CheckReporter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckReporter")
            .field("partial", &self.partial)
            .finish_non_exhaustive()
    }
}

impl<'p> CheckReporter<'p> {
    pub(crate) fn new(plan: &'p Plan, partial: bool) -> Self {
        Self::drawing_into(Box::new(console::Term::stdout()), plan, partial)
    }

    pub(crate) fn drawing_into(out: Box<dyn Write>, plan: &'p Plan, partial: bool) -> Self {
        CheckReporter { plan, partial, out }
    }

    /// One line, its control characters shown escaped (a check's id or host comes from the
    /// workshop), runbook's own colours kept.
    fn line(&mut self, text: impl std::fmt::Display) {
        let _ = writeln!(
            self.out,
            "{}",
            crate::printable::for_terminal(&text.to_string())
        );
    }

    fn step(&mut self, result: &StepResult) {
        let hosts: Vec<&str> = result.hosts.iter().map(|h| h.host.as_str()).collect();
        let passed = matches!(result.outcome, Outcome::Passed | Outcome::Unverified);
        let mark = if passed {
            Style::new().green().bold().apply_to("✔ pass")
        } else {
            Style::new().red().bold().apply_to("✘ fail")
        };
        self.line(format!(
            "  {mark}  {:<36} {}",
            result.qualified_id,
            Style::new().dim().apply_to(hosts.join(","))
        ));
        if passed {
            return;
        }
        let layout = Layout {
            indent: "          ",
            output_tail: Some(OUTPUT_TAIL),
            strict: false,
            every_host: false,
        };
        for line in failure::step_lines(result, layout) {
            self.line(line);
        }
    }

    fn summary(&mut self, report: &RunReport) {
        let states = chapter_states(self.plan, report);
        self.line("");
        self.line(Style::new().bold().apply_to("Chapters"));
        for (number, state) in states.iter().enumerate() {
            if self.partial && state.checks == 0 {
                continue; // not chosen with --chapter (or without checks): not checked
            }
            let (mark, what) = if state.checks == 0 {
                (
                    Style::new().dim().apply_to("·"),
                    Style::new().dim().apply_to("no checks".to_string()),
                )
            } else if state.reached() {
                (
                    Style::new().green().bold().apply_to("✔"),
                    Style::new().green().apply_to(format!(
                        "reached ({} of {} checks pass)",
                        state.passed, state.checks
                    )),
                )
            } else {
                (
                    Style::new().red().bold().apply_to("✘"),
                    Style::new().red().apply_to(format!(
                        "not reached: {} of {} checks pass{}",
                        state.passed,
                        state.checks,
                        state
                            .first_failure
                            .as_ref()
                            .map_or(String::new(), |id| format!(", first failing: {id}"))
                    )),
                )
            };
            self.line(format!(
                "  {mark} {:>2}. {:<34} {what}",
                number + 1,
                state.title
            ));
        }
        let total = states.len();
        if self.partial {
            let failing = states
                .iter()
                .filter(|s| s.checks > 0 && !s.reached())
                .count();
            self.line("");
            self.line(Style::new().bold().apply_to(if failing == 0 {
                "The chosen chapters are reached (the others were not checked).".to_string()
            } else {
                format!(
                    "{failing} of the chosen chapters {} not reached (the others were not checked).",
                    if failing == 1 { "is" } else { "are" }
                )
            }));
            return;
        }
        let verdict = match reached(&states) {
            Some(index) => format!(
                "The lab has reached chapter {} of {total}: {}.",
                index + 1,
                states[index].title
            ),
            None => "The lab has not reached the first chapter that has checks.".to_string(),
        };
        self.line("");
        self.line(Style::new().bold().apply_to(verdict));
        if let Some(index) = reached(&states)
            && let Some(later) = states[index + 1..].iter().position(ChapterState::reached)
        {
            self.line(Style::new().yellow().apply_to(format!(
                "Note: chapter {} ({}) passes its checks too, though an earlier one does not.",
                index + 2 + later,
                states[index + 1 + later].title
            )));
        }
    }
}

impl Reporter for CheckReporter<'_> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { steps } => self.line(Style::new().dim().apply_to(format!(
                "Running {steps} check{} (read-only; the checks that end each chapter)…",
                if *steps == 1 { "" } else { "s" }
            ))),
            Event::StepFinished { result } => self.step(result),
            Event::RunFinished { report } => self.summary(report),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(checks: usize, passed: usize) -> ChapterState {
        ChapterState {
            key: String::new(),
            title: String::new(),
            checks,
            passed,
            first_failure: None,
        }
    }

    #[test]
    fn reached_is_the_end_of_the_unbroken_run() {
        assert_eq!(reached(&[state(2, 2), state(0, 0), state(1, 1)]), Some(2));
        assert_eq!(reached(&[state(2, 2), state(1, 0), state(1, 1)]), Some(0));
        assert_eq!(reached(&[state(1, 0), state(1, 1)]), None);
        assert_eq!(reached(&[state(0, 0)]), None);
    }
}
