//! A failure as every front end shows it (`verify`'s terminal, `runbook step`, `runbook
//! check`): for each failing host its outcome and reason, where the expected output came
//! from, the coloured diff with a hint naming what differs first, or else a hint for the
//! outcome and the last lines the host printed. Text from hosts is shown, never obeyed
//! ([`crate::printable`]); only the indentation differs from one front end to another.

use console::Style;

use super::hint;
use super::model::{HostResult, Outcome, StepResult, Unreachable};
use crate::expect::diff::{Diff, DiffTag};
use crate::printable::{Shown, printable};

/// How a front end lays a failure out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Put before every line.
    pub(crate) indent: &'static str,
    /// How many of the last output lines to show when there is no diff (`None`: the front
    /// end has shown the output already).
    pub(crate) output_tail: Option<usize>,
    /// `--strict`: an unverified host counts as failing.
    pub(crate) strict: bool,
    /// Show every host of the step, not only the failing ones (`verify -v`).
    pub(crate) every_host: bool,
}

/// A message from a host (it may quote what a shell printed) made safe for the terminal.
pub(crate) fn message_text(message: &str) -> String {
    printable(message, Shown::Escaped)
}

/// The lines of a failed step: its own message when no host's line says it (a template that
/// names no host, a blessed file that cannot be written), then each failing host's view.
pub(crate) fn step_lines(result: &StepResult, layout: Layout) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(message) = &result.message
        && result.first_host_failure(layout.strict).as_ref() != Some(message)
    {
        let text = message_text(message);
        lines.push(if result.hosts.is_empty() {
            format!(
                "{}{}: {text}",
                layout.indent,
                Style::new()
                    .red()
                    .bold()
                    .apply_to(format!("✘ {}", result.outcome.label()))
            )
        } else {
            format!("{}{text}", layout.indent)
        });
    }
    for host in &result.hosts {
        if layout.every_host || host.outcome.is_failure(layout.strict) {
            lines.extend(host_lines(host, layout));
        }
    }
    lines
}

/// One failing host: outcome and reason, the expected output's origin, the diff and its hint,
/// or a hint for the outcome and the last lines printed.
pub(crate) fn host_lines(host: &HostResult, layout: Layout) -> Vec<String> {
    let indent = layout.indent;
    // What follows the host's line is indented under it.
    let detail = format!("{indent}  ");
    let dim = Style::new().dim();
    let attempt = host.last_attempt();
    let message = attempt.and_then(|a| a.message.as_deref());
    let (mark, style) = if host.outcome.is_failure(layout.strict) {
        ("✘", Style::new().red().bold())
    } else {
        ("·", Style::new().yellow())
    };
    let mut lines = vec![format!(
        "{indent}{}{}",
        style.apply_to(format!("{mark} {} on {}", host.outcome.label(), host.host)),
        message.map_or(String::new(), |m| format!(": {}", message_text(m)))
    )];
    if let Some(expected) = &host.expected {
        lines.push(format!(
            "{detail}{}",
            dim.apply_to(format!("expected: {}", message_text(expected)))
        ));
    }
    let hint = match attempt.and_then(|a| a.diff.as_ref()) {
        Some(diff) => {
            lines.push(format!(
                "{detail}{}",
                dim.apply_to("diff (- expected, + real output):")
            ));
            lines.extend(diff_lines(diff, &detail));
            hint::describe(diff)
        }
        None => {
            if let (Some(tail), Some(attempt)) = (layout.output_tail, attempt)
                && !attempt.output.is_empty()
            {
                lines.push(format!(
                    "{detail}{}",
                    dim.apply_to(format!("output on {} (last lines):", host.host))
                ));
                if attempt.truncated {
                    lines.push(format!(
                        "{detail}{}",
                        Style::new()
                            .yellow()
                            .apply_to(super::truncation_note(attempt))
                    ));
                }
                let output: Vec<&str> = attempt.output.lines().collect();
                for line in &output[output.len().saturating_sub(tail)..] {
                    lines.push(format!("{detail}{} {line}", dim.apply_to("|")));
                }
            }
            outcome_hint(host)
        }
    };
    if let Some(hint) = hint {
        lines.push(format!(
            "{detail}{} {hint}",
            Style::new().cyan().bold().apply_to("hint:")
        ));
    }
    lines
}

/// What to look at when a host failed without a diff.
fn outcome_hint(host: &HostResult) -> Option<String> {
    let unreachable = host.last_attempt().and_then(|a| a.unreachable);
    match (host.outcome, unreachable) {
        (Outcome::Exit, _) => {
            Some("the command failed: its last output lines above say why".to_string())
        }
        (Outcome::Timeout, _) => {
            Some("the command did not finish in time: is a service it waits for up?".to_string())
        }
        // The refusal says how to fix it.
        (Outcome::Unreachable, Some(Unreachable::HostKeyRefused)) => None,
        (Outcome::Unreachable, Some(Unreachable::Lost)) => Some(format!(
            "the shell on {} went away during the block: is the host up and reachable?",
            host.host
        )),
        (Outcome::Unreachable, Some(Unreachable::ShellRefused)) => Some(format!(
            "{} answered, but the shell for {} ended at once: does the user exist there yet (an earlier chapter creates it)?",
            host.host, host.user
        )),
        (Outcome::Unreachable, _) => Some(format!(
            "runbook could not open a shell on {}: is the host up and reachable?",
            host.host
        )),
        _ => None,
    }
}

/// A diff as coloured lines: a gutter with the expected output's line numbers, `-` expected
/// in red, `+` real output in green, changed words underlined.
pub(crate) fn diff_lines(diff: &Diff, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for hunk in &diff.hunks {
        lines.push(format!(
            "{indent}{}",
            Style::new().cyan().apply_to(&hunk.header)
        ));
        for line in &hunk.lines {
            let (sign, style) = match line.tag {
                DiffTag::Equal => (" ", Style::new().dim()),
                DiffTag::Delete => ("-", Style::new().red()),
                DiffTag::Insert => ("+", Style::new().green()),
            };
            let emphasis = style.clone().underlined().bold();
            let mut text = String::new();
            for segment in &line.segments {
                let styled = if segment.emphasized && line.tag != DiffTag::Equal {
                    emphasis.apply_to(&segment.text)
                } else {
                    style.apply_to(&segment.text)
                };
                text.push_str(&styled.to_string());
            }
            let gutter = line.expected_line.map_or(String::new(), |n| n.to_string());
            lines.push(format!(
                "{indent}{} {} {text}",
                Style::new().dim().apply_to(format!("{gutter:>4}")),
                style.apply_to(sign)
            ));
        }
    }
    if let Some(note) = diff.omitted_note() {
        lines.push(format!("{indent}{}", Style::new().yellow().apply_to(note)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{AttemptResult, StepKind};
    use crate::template::Vars;

    const LAYOUT: Layout = Layout {
        indent: "",
        output_tail: Some(2),
        strict: false,
        every_host: false,
    };

    fn host(outcome: Outcome, message: &str, output: &str) -> HostResult {
        HostResult {
            host: "pg-1".into(),
            user: "root".into(),
            outcome,
            expected: Some("expected/02/list.out".into()),
            attempts: vec![AttemptResult {
                number: 1,
                outcome,
                exit_code: Some(1),
                duration_ms: 3,
                output: output.into(),
                truncated: false,
                output_bytes: output.len() as u64,
                line_times_ms: Vec::new(),
                diff: None,
                message: Some(message.into()),
                unreachable: None,
                background: None,
                background_source: None,
            }],
            captures: Vars::new(),
        }
    }

    fn step(hosts: Vec<HostResult>, message: Option<&str>) -> StepResult {
        StepResult {
            qualified_id: "02/list".into(),
            id: "list".into(),
            chapter: "02".into(),
            file: "workshop/02.md".into(),
            line: 4,
            section: None,
            kind: StepKind::Command,
            command: "patronictl list\n".into(),
            path: None,
            outcome: Outcome::worst(hosts.iter().map(|h| h.outcome)).unwrap_or(Outcome::Error),
            duration_ms: 3,
            hosts,
            message: message.map(str::to_string),
            not_run: None,
            blessed: Vec::new(),
        }
    }

    fn plain(lines: Vec<String>) -> Vec<String> {
        lines
            .iter()
            .map(|line| console::strip_ansi_codes(line).into_owned())
            .collect()
    }

    #[test]
    fn a_failed_command_shows_its_reason_its_last_lines_and_a_hint() {
        let failed = host(
            Outcome::Exit,
            "exit status 1, expected 0",
            "one\ntwo\nthree\n",
        );
        assert_eq!(
            plain(host_lines(&failed, LAYOUT)),
            [
                "✘ exit status on pg-1: exit status 1, expected 0",
                "  expected: expected/02/list.out",
                "  output on pg-1 (last lines):",
                "  | two",
                "  | three",
                "  hint: the command failed: its last output lines above say why",
            ]
        );
    }

    #[test]
    fn what_a_host_said_is_shown_escaped_never_obeyed() {
        let lost = host(Outcome::Unreachable, "no shell: \u{1b}]0;owned\u{7}", "");
        let lines = plain(host_lines(&lost, LAYOUT));
        assert_eq!(
            lines[0],
            "✘ unreachable on pg-1: no shell: \\x1b]0;owned\\x07"
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("  hint: runbook could not open a shell on pg-1: is the host up and reachable?")
        );
        let mut refused = lost.clone();
        refused.attempts[0].unreachable = Some(Unreachable::HostKeyRefused);
        assert!(
            !plain(host_lines(&refused, LAYOUT))
                .iter()
                .any(|l| l.contains("hint:")),
            "a refused key's message says the fix itself"
        );
    }

    #[test]
    fn the_steps_own_message_shows_when_no_host_says_it() {
        let failed = host(Outcome::Mismatch, "the output differs", "x\n");
        let from_the_host = step(vec![failed.clone()], Some("pg-1: the output differs"));
        let lines = plain(step_lines(&from_the_host, LAYOUT));
        assert_eq!(lines[0], "✘ mismatch on pg-1: the output differs");
        let own = step(
            vec![failed],
            Some("cannot write expected/02/list.out: denied"),
        );
        assert_eq!(
            plain(step_lines(&own, LAYOUT))[0],
            "cannot write expected/02/list.out: denied"
        );
        let nowhere = step(
            Vec::new(),
            Some("cannot tell where to run `on={{ leader }}`"),
        );
        assert_eq!(
            plain(step_lines(&nowhere, LAYOUT)),
            ["✘ error: cannot tell where to run `on={{ leader }}`"]
        );
    }

    #[test]
    fn passing_hosts_are_left_out_unless_every_host_is_asked_for() {
        let passed = host(Outcome::Passed, "", "fine\n");
        let failed = host(Outcome::Timeout, "still running after 2s; stopped", "");
        let both = step(vec![passed, failed], None);
        let lines = plain(step_lines(&both, LAYOUT));
        assert_eq!(
            lines[0],
            "✘ timeout on pg-1: still running after 2s; stopped"
        );
        assert!(lines.iter().all(|line| !line.contains("pass")), "{lines:?}");
        let every = Layout {
            every_host: true,
            ..LAYOUT
        };
        assert!(plain(step_lines(&both, every))[0].starts_with("· pass on pg-1"));
    }
}
