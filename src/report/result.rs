//! A block's result as each front end draws it, in one place: `verify`'s line per block
//! (status, id, hosts, duration), `runbook step`'s output per host then a pass, `runbook
//! check`'s pass or fail per check; under a failure, the view every front end shares
//! ([`super::failure`]), laid out as the front end's [`Front::layout`] says. Drawn into a
//! `&mut dyn Write`: the terminal, or a buffer in a test.

use std::io::Write;

use console::Style;

use super::duration;
use super::failure::{self, Layout};
use super::model::{Outcome, StepKind, StepResult};

/// The front end that draws a result, with what it was asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Front {
    /// `verify`: a line per block, the failure under it; `verbose` (`-v`) shows every
    /// block's hosts and output, `strict` counts an unverified block as failing.
    Verify { strict: bool, verbose: bool },
    /// `runbook step`: the output per host, then a pass or the failure. `check`: the block
    /// was run as a check (a `check` block, or what `t` checks).
    Step { check: bool },
    /// `runbook check`: a pass or fail per check, the failure under it.
    Check,
}

/// Output lines `runbook step` shows after a run (the last ones); the rest is summarised.
const STEP_OUTPUT_LINES: usize = 30;

/// Where `verify`'s failure lines start: under the block's id, past the outcome column.
const VERIFY_INDENT: &str = "            ";

/// Output lines `verify` shows for a failure without a diff.
const VERIFY_OUTPUT_TAIL: usize = 20;

/// Where `check`'s failure lines start: under the check's id, past its mark.
const CHECK_INDENT: &str = "          ";

/// Output lines `check` shows for a failing check without a diff: a check's output is a
/// state (members, a leader), its last lines say enough.
const CHECK_OUTPUT_TAIL: usize = 5;

impl Front {
    /// How the failure view is laid out under this front end's own lines.
    fn layout(self) -> Layout {
        match self {
            Front::Verify { strict, verbose } => Layout {
                indent: VERIFY_INDENT,
                output_tail: Some(VERIFY_OUTPUT_TAIL),
                strict,
                every_host: verbose,
            },
            // The output is shown above the failure.
            Front::Step { .. } => Layout {
                indent: "",
                output_tail: None,
                strict: false,
                every_host: false,
            },
            Front::Check => Layout {
                indent: CHECK_INDENT,
                output_tail: Some(CHECK_OUTPUT_TAIL),
                strict: false,
                every_host: false,
            },
        }
    }
}

fn line(out: &mut dyn Write, text: impl std::fmt::Display) {
    // A terminal that went away cannot be told about it; the run goes on to its reports.
    let _ = writeln!(out, "{text}");
}

/// Draws `result` as `front` shows it.
pub(crate) fn draw(out: &mut dyn Write, front: Front, result: &StepResult) {
    match front {
        Front::Verify { strict, verbose } => verify(out, strict, verbose, result),
        Front::Step { check } => step(out, check, result),
        Front::Check => check(out, result),
    }
}

/// `verify`: the block's line, what `--bless` changed, then (on failure, or every block but
/// a skipped one with `-v`) where it is and the failure view.
fn verify(out: &mut dyn Write, strict: bool, verbose: bool, result: &StepResult) {
    let outcome = result.outcome;
    let style = outcome_style(outcome, strict);
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
    line(
        out,
        format!(
            "{} {}  {}  {}{}",
            style.apply_to(format!("{:>11}", outcome.label().to_uppercase())),
            Style::new().bold().apply_to(&result.qualified_id),
            Style::new().dim().apply_to(hosts.join(",")),
            Style::new().dim().apply_to(duration(result.duration_ms)),
            Style::new().dim().apply_to(retries),
        ),
    );
    for change in &result.blessed {
        let what = if change.created {
            "new".to_string()
        } else {
            format!("{} lines changed", change.lines_changed)
        };
        line(
            out,
            format!(
                "{:>11} {} ({what})",
                Style::new().yellow().apply_to("blessed"),
                change.path
            ),
        );
    }
    // Verbose: every block's output, e.g. a teardown's account of what it removed.
    if !(outcome.is_failure(strict) || (verbose && outcome != Outcome::Skipped)) {
        return;
    }
    line(
        out,
        format!(
            "{:>11} {}:{}",
            Style::new().blue().bold().apply_to("-->"),
            result.file,
            result.line
        ),
    );
    failure_lines(out, Front::Verify { strict, verbose }, result);
    line(out, "");
}

fn outcome_style(outcome: Outcome, strict: bool) -> Style {
    match outcome {
        Outcome::Passed | Outcome::Blessed => Style::new().green().bold(),
        Outcome::Unverified if !strict => Style::new().yellow(),
        Outcome::Skipped => Style::new().dim(),
        _ => Style::new().red().bold(),
    }
}

/// `runbook step`: the output per host (hosts that printed the same shown once), then a
/// pass or the failure view.
fn step(out: &mut dyn Write, check: bool, result: &StepResult) {
    let dim = Style::new().dim();
    let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
    for host in &result.hosts {
        let output = host.last_attempt().map_or("", |a| a.output.as_str());
        match groups.iter_mut().find(|(_, text)| *text == output) {
            Some((hosts, _)) => hosts.push(&host.host),
            None => groups.push((vec![&host.host], output)),
        }
    }
    if result.kind == StepKind::Command {
        for (hosts, output) in &groups {
            if output.is_empty() {
                continue;
            }
            line(
                out,
                dim.apply_to(format!("  output on {}:", hosts.join(", "))),
            );
            let lines: Vec<&str> = output.lines().collect();
            let hidden = lines.len().saturating_sub(STEP_OUTPUT_LINES);
            if hidden > 0 {
                line(out, dim.apply_to(format!("  │ … {hidden} earlier lines")));
            }
            for output_line in &lines[hidden..] {
                line(out, format!("  {} {output_line}", dim.apply_to("│")));
            }
        }
    }
    let all_hosts: Vec<&str> = result.hosts.iter().map(|h| h.host.as_str()).collect();
    let took = duration(result.duration_ms);
    match result.outcome {
        Outcome::Passed | Outcome::Blessed => {
            let what = match (result.kind, check) {
                (StepKind::File, _) => {
                    format!("wrote {}", result.path.as_deref().unwrap_or("the file"))
                }
                (_, true) => "check passed".to_string(),
                _ => "passed".to_string(),
            };
            line(
                out,
                format!(
                    "{} {}",
                    Style::new().green().bold().apply_to(format!("✔ {what}")),
                    dim.apply_to(format!("on {}  {took}", all_hosts.join(", ")))
                ),
            );
        }
        Outcome::Unverified => line(
            out,
            format!(
                "{} {}",
                Style::new().yellow().bold().apply_to("✔ ran"),
                dim.apply_to(format!(
                    "on {}  {took}; this block has no expected output to compare with",
                    all_hosts.join(", ")
                ))
            ),
        ),
        _ => failure_lines(out, Front::Step { check }, result),
    }
}

/// `runbook check`: a pass (an unverified check passes: it ran, read-only, and said nothing
/// against the state) or a fail with the failure view under it.
fn check(out: &mut dyn Write, result: &StepResult) {
    let hosts: Vec<&str> = result.hosts.iter().map(|h| h.host.as_str()).collect();
    let passed = matches!(result.outcome, Outcome::Passed | Outcome::Unverified);
    let mark = if passed {
        Style::new().green().bold().apply_to("✔ pass")
    } else {
        Style::new().red().bold().apply_to("✘ fail")
    };
    line(
        out,
        format!(
            "  {mark}  {:<36} {}",
            result.qualified_id,
            Style::new().dim().apply_to(hosts.join(","))
        ),
    );
    if !passed {
        failure_lines(out, Front::Check, result);
    }
}

/// The failure view, as `front` lays it out.
fn failure_lines(out: &mut dyn Write, front: Front, result: &StepResult) {
    for failure_line in failure::step_lines(result, front.layout()) {
        line(out, failure_line);
    }
}
