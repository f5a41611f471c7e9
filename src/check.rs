//! `runbook check`: runs the `check` blocks that end each chapter (read-only commands that
//! prove the state it leaves: three etcd members, one leader) and tells which chapters the lab
//! has reached, for a trainee or for a trainer looking at a trainee's lab. A chapter is reached
//! when all of its ending checks pass. What is decided here is `check`'s own (the chapters'
//! states, the verdict); the lines are drawn by [`crate::report::result`] (each check) and
//! [`crate::report::check_view`] (the first line, the chapters, the verdict).

use std::io::Write;

use crate::plan::Plan;
use crate::report::check_view::{self, ChapterState, Verdict};
use crate::report::model::{Event, Outcome, Reporter, RunReport, StepResult};
use crate::report::result::{self, Front};

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

/// What the run says about the lab: how far it got, or under `--chapter` (`partial`) how
/// many of the chosen chapters are not reached.
pub(crate) fn verdict(states: &[ChapterState], partial: bool) -> Verdict<'_> {
    if partial {
        return Verdict::Chosen {
            failing: states
                .iter()
                .filter(|s| s.checks > 0 && !s.reached())
                .count(),
        };
    }
    let Some(index) = reached(states) else {
        return Verdict::NotReached;
    };
    // A later chapter that passes is worth a note: the lab may be further on than its
    // first broken chapter says (a check that is flaky, or a step done by hand).
    let later = states[index + 1..]
        .iter()
        .position(ChapterState::reached)
        .map(|offset| {
            let later = index + 1 + offset;
            (later + 1, states[later].title.as_str())
        });
    Verdict::Reached {
        number: index + 1,
        total: states.len(),
        title: &states[index].title,
        later,
    }
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

    /// Draws into `out`, every line through [`crate::printable::TerminalWriter`]: a check's
    /// id, its host and what it printed come from the workshop and the lab, and only
    /// runbook's own colours may act on the terminal.
    pub(crate) fn drawing_into(out: Box<dyn Write>, plan: &'p Plan, partial: bool) -> Self {
        CheckReporter {
            plan,
            partial,
            out: Box::new(crate::printable::TerminalWriter::new(out)),
        }
    }
}

impl Reporter for CheckReporter<'_> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { steps } => check_view::started(&mut self.out, *steps),
            Event::StepFinished { result } => result::draw(&mut self.out, Front::Check, result),
            Event::RunFinished { report } => {
                let states = chapter_states(self.plan, report);
                check_view::chapters(&mut self.out, &states, verdict(&states, self.partial));
            }
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

    #[test]
    fn the_verdict_names_the_last_chapter_reached_and_a_later_one_that_passes() {
        let titles = ["etcd", "Patroni", "HAProxy", "Backups"];
        let states: Vec<ChapterState> = [state(2, 2), state(1, 0), state(0, 0), state(1, 1)]
            .into_iter()
            .zip(titles)
            .map(|(state, title)| ChapterState {
                title: title.into(),
                ..state
            })
            .collect();
        assert_eq!(
            verdict(&states, false),
            Verdict::Reached {
                number: 1,
                total: 4,
                title: "etcd",
                later: Some((4, "Backups")),
            }
        );
        assert_eq!(verdict(&states[1..2], false), Verdict::NotReached);
        // --chapter: only the chosen chapters with checks count, the one not reached here.
        assert_eq!(verdict(&states, true), Verdict::Chosen { failing: 1 });
        assert_eq!(verdict(&states[2..], true), Verdict::Chosen { failing: 0 });
    }
}
