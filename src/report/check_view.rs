//! What `runbook check` prints around its checks' results (each drawn by [`super::result`]):
//! the line that starts the run, then the table of chapters, each reached or not, and the
//! verdict on how far the lab got. `check.rs` decides the states and the verdict; the lines
//! are drawn here, into a `&mut dyn Write`: stdout, or a buffer in a test.

use std::io::Write;

use console::Style;

/// How far a lab got in one chapter.
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

/// What the run says about the lab as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict<'a> {
    /// `--chapter` chose some chapters: how many of those with checks are not reached (how
    /// far the lab got as a whole cannot be told).
    Chosen { failing: usize },
    /// The unbroken run of reached chapters from the start ends at chapter `number` (from 1)
    /// of `total`; `later`: a chapter after it whose checks pass too (number, title).
    Reached {
        number: usize,
        total: usize,
        title: &'a str,
        later: Option<(usize, &'a str)>,
    },
    /// The first chapter with checks is not reached.
    NotReached,
}

fn line(out: &mut dyn Write, text: impl std::fmt::Display) {
    // A terminal that went away cannot be told about it; the run goes on to its report.
    let _ = writeln!(out, "{text}");
}

/// The first line: how many checks run, and that they only read.
pub(crate) fn started(out: &mut dyn Write, checks: usize) {
    line(
        out,
        Style::new().dim().apply_to(format!(
            "Running {checks} check{} (read-only; the checks that end each chapter)…",
            if checks == 1 { "" } else { "s" }
        )),
    );
}

/// The chapters, numbered from 1 in the workshop's order, then the verdict. Under `--chapter`
/// (a [`Verdict::Chosen`]) chapters without checks were not chosen and are left out.
pub(crate) fn chapters(out: &mut dyn Write, states: &[ChapterState], verdict: Verdict<'_>) {
    let partial = matches!(verdict, Verdict::Chosen { .. });
    line(out, "");
    line(out, Style::new().bold().apply_to("Chapters"));
    for (number, state) in states.iter().enumerate() {
        if partial && state.checks == 0 {
            continue;
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
        line(
            out,
            format!("  {mark} {:>2}. {:<34} {what}", number + 1, state.title),
        );
    }
    line(out, "");
    let bold = Style::new().bold();
    match verdict {
        Verdict::Chosen { failing: 0 } => line(
            out,
            bold.apply_to("The chosen chapters are reached (the others were not checked)."),
        ),
        Verdict::Chosen { failing } => line(
            out,
            bold.apply_to(format!(
                "{failing} of the chosen chapters {} not reached (the others were not checked).",
                if failing == 1 { "is" } else { "are" }
            )),
        ),
        Verdict::Reached {
            number,
            total,
            title,
            later,
        } => {
            line(
                out,
                bold.apply_to(format!(
                    "The lab has reached chapter {number} of {total}: {title}."
                )),
            );
            if let Some((later, title)) = later {
                line(
                    out,
                    Style::new().yellow().apply_to(format!(
                        "Note: chapter {later} ({title}) passes its checks too, though an earlier one does not."
                    )),
                );
            }
        }
        Verdict::NotReached => line(
            out,
            bold.apply_to("The lab has not reached the first chapter that has checks."),
        ),
    }
}

/// What `runbook catch-up` found and will do: one line per chapter up to the target.
pub(crate) fn catch_up_plan(
    out: &mut dyn Write,
    states: &[ChapterState],
    decisions: &[crate::catch_up::Decision],
) {
    use crate::catch_up::Decision;
    line(out, Style::new().bold().apply_to("Where the lab is"));
    for (index, decision) in decisions.iter().enumerate() {
        let state = &states[index];
        let (mark, what) = match decision {
            Decision::AlreadyThere => (
                Style::new().green().bold().apply_to("✔"),
                "already there: left as it is",
            ),
            Decision::PassesAlready => (
                Style::new().green().apply_to("✔"),
                "its checks pass: left as it is",
            ),
            Decision::Run => (Style::new().yellow().bold().apply_to("▶"), "to run"),
            Decision::Empty => (Style::new().dim().apply_to("·"), "no blocks"),
        };
        line(
            out,
            format!("  {mark}  {:>2}. {:<32} {what}", index + 1, state.title),
        );
    }
    if !decisions.contains(&Decision::Run)
        && let Some(last) = decisions.len().checked_sub(1)
    {
        line(
            out,
            format!(
                "The lab is at the end of chapter {} ({}): nothing to run.",
                last + 1,
                states[last].title
            ),
        );
    }
    line(out, "");
}
