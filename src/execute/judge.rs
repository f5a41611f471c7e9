//! What one attempt means: the output made comparable (ANSI removed, secrets replaced,
//! a truncated output started at a whole line), matched against the expected output, and the
//! exit status checked, giving the attempt's outcome, its captures and its `--bless` text.
//! A pure function of what ran and what was expected.

use std::time::Duration;

use super::host::Judged;
use crate::chapter::attrs::ExpectedExit;
use crate::expect::actual::{ActualOutput, View, strip_ansi};
use crate::expect::pattern::Expected;
use crate::expect::{bless, dialogue};
use crate::plan::Action;
use crate::report::model::{AttemptResult, Outcome, Unreachable};
use crate::secret::Redactor;
use crate::session::{Ending, Execution};
use crate::template::Vars;

/// What an attempt is judged against.
#[derive(Debug)]
pub(super) struct Judging<'a> {
    pub(super) host: &'a str,
    pub(super) action: &'a Action,
    pub(super) exit: ExpectedExit,
    /// How the output is prepared before matching (`raw`: as printed).
    pub(super) view: View,
    pub(super) expected: Option<&'a Expected>,
    /// The variables of the block on this host (expected outputs' `{{ }}`).
    pub(super) vars: &'a Vars,
    pub(super) redactor: &'a Redactor,
    /// `--bless`: also compute the expected text to write.
    pub(super) bless: bool,
    /// The block ran under a pseudo-terminal: its output is read as a dialogue.
    pub(super) pty: bool,
    /// The rows of result tables may come in any order (`rowsort`).
    pub(super) rowsort: bool,
}

/// The verdict on attempt `number`, which ran as `execution` with `timeout`.
pub(super) fn judge(
    judging: &Judging<'_>,
    number: usize,
    execution: Execution,
    timeout: Duration,
) -> Judged {
    // ANSI sequences are removed before redacting: a secret printed in two colours only
    // becomes whole once they are gone (a `raw` block keeps them where no secret is cut); a
    // line whose backspaces or carriage returns draw a secret whole is redacted as drawn.
    let dialogue;
    let ran = if judging.pty {
        let start = execution.total_bytes - execution.output.len() as u64;
        dialogue = dialogue::transcript(&execution.output, start, &execution.typed);
        &dialogue
    } else {
        &execution.output
    };
    let printed = match judging.view {
        View::Screen => judging.redactor.apply_bytes_as_printed(&strip_ansi(ran)),
        View::Raw => judging.redactor.apply_bytes_as_printed(ran),
    };
    let output = ActualOutput::read(
        kept_from_first_line(&printed, execution.truncated),
        judging.view,
    );
    let mut attempt = AttemptResult {
        number,
        outcome: Outcome::Passed,
        exit_code: execution.exit_code,
        duration_ms: execution.duration.as_millis() as u64,
        // The dialogue as the trainee saw it: answers inline, without their marking.
        output: if judging.pty {
            dialogue::shown_text(&output.display())
        } else {
            output.display()
        },
        truncated: execution.truncated,
        output_bytes: execution.total_bytes,
        line_times_ms: line_times(&output, &execution),
        diff: None,
        message: None,
        unreachable: None,
        background: None,
        background_source: execution.background.clone(),
    };
    if let Some((outcome, message)) = ended_early(&execution, judging.host, timeout) {
        attempt.outcome = outcome;
        attempt.unreachable = (outcome == Outcome::Unreachable).then_some(Unreachable::Lost);
        attempt.message = Some(message);
        if judging.pty && outcome == Outcome::Timeout {
            // A dialogue that stopped is shown against its transcript: the diff shows the
            // question it waited at and what the program printed instead.
            let compared = compare(judging, attempt.clone(), &output);
            attempt.diff = compared.attempt.diff;
        }
        return Judged {
            attempt,
            captures: Vars::new(),
            blessed: None,
        };
    }
    let mut judged = compare(judging, attempt, &output);
    check_exit(&mut judged.attempt, judging.exit, execution.exit_code);
    judged
}

/// The outcome of a block that did not get to its end: timed out, interrupted, or its shell
/// lost without an exit status (with one, `exit` in the block ended it, and it is judged).
fn ended_early(execution: &Execution, host: &str, timeout: Duration) -> Option<(Outcome, String)> {
    match &execution.ending {
        Ending::TimedOut => Some((
            Outcome::Timeout,
            format!(
                "still running after {}; stopped",
                humantime::format_duration(timeout)
            ),
        )),
        Ending::CutShort => Some((
            Outcome::Timeout,
            "stopped as it started, with an earlier block of its batch that timed out".into(),
        )),
        Ending::Interrupted => Some((Outcome::Interrupted, "interrupted".into())),
        Ending::Lost(reason) if execution.exit_code.is_none() => Some((
            Outcome::Unreachable,
            format!("{reason}; the connection to {host} was lost"),
        )),
        Ending::Lost(_) | Ending::Completed => None,
    }
}

/// The output against the expected output: a pass with its captures, a mismatch with its
/// diff, or unverified without an expected output; a `file=` block has no output to compare.
fn compare(judging: &Judging<'_>, mut attempt: AttemptResult, output: &ActualOutput) -> Judged {
    let redactor = judging.redactor;
    let mut captures = Vars::new();
    let mut blessed = None;
    match (judging.action, judging.expected) {
        (Action::WriteFile { .. }, _) => {}
        (Action::Run { .. }, None) => {
            attempt.outcome = Outcome::Unverified;
            attempt.message = Some("no expected output to compare with".into());
            if judging.bless {
                blessed = Some(bless::fresh_text(output));
            }
        }
        (Action::Run { .. }, Some(expected)) => {
            // The output is compared once its secrets are placeholders, so an expected
            // output's `{{ password }}` stands for the placeholder too.
            let vars: Vars = judging
                .vars
                .iter()
                .map(|(name, value)| (name.clone(), redactor.apply(value)))
                .collect();
            match crate::expect::check_rows(expected, output, &vars, judging.rowsort) {
                Ok((verdict, sorted)) => {
                    if judging.bless {
                        let compared = sorted.as_ref().unwrap_or(output);
                        blessed = Some(redactor.apply(&verdict.blessed(expected, compared)));
                    }
                    if verdict.matched {
                        captures = verdict.captures;
                    } else {
                        attempt.outcome = Outcome::Mismatch;
                        // An expected file may hold a secret's value itself (which can never
                        // match): the diff shows its expected side too.
                        attempt.diff = verdict.diff.map(|diff| redactor.apply_diff(diff));
                        let mut message = "the output differs from the expected output".to_string();
                        for unusable in &verdict.unusable {
                            message.push_str("; ");
                            message.push_str(&redactor.apply(unusable));
                        }
                        attempt.message = Some(message);
                    }
                }
                Err(error) => {
                    attempt.outcome = Outcome::Error;
                    attempt.message = Some(format!("cannot use the expected output: {error}"));
                }
            }
        }
    }
    Judged {
        attempt,
        captures,
        blessed,
    }
}

/// A wrong exit status makes the attempt an `exit` failure, whatever its output did (the
/// mismatch, if there was one, stays in the message).
fn check_exit(attempt: &mut AttemptResult, exit: ExpectedExit, exit_code: Option<i32>) {
    if exit.accepts(exit_code) || attempt.outcome == Outcome::Error {
        return;
    }
    let code = exit_code.map_or("none".to_string(), |c| c.to_string());
    let what = format!("exit status {code}, expected {}", exit.describe());
    attempt.message = Some(match attempt.message.take() {
        Some(previous) if attempt.outcome == Outcome::Mismatch => format!("{what}; {previous}"),
        _ => what,
    });
    attempt.outcome = Outcome::Exit;
}

/// The kept tail of a truncated output usually starts mid-line: start it at the next whole
/// line, so the report shows no half line (nor the half of a secret cut at that point).
fn kept_from_first_line(raw: &[u8], truncated: bool) -> &[u8] {
    if !truncated {
        return raw;
    }
    match raw.iter().position(|&byte| byte == b'\n') {
        Some(newline) if newline + 1 < raw.len() => &raw[newline + 1..],
        _ => raw,
    }
}

/// When each displayed line of `output` was printed. Lines and the raw output's newlines match
/// one to one counted from the end (a truncated output loses its first, partial line); a
/// last line without a newline ends with the block.
fn line_times(output: &ActualOutput, execution: &Execution) -> Vec<u32> {
    let lines = output.lines.len().min(MAX_TIMED_LINES);
    let ended = u32::try_from(execution.duration.as_millis()).unwrap_or(u32::MAX);
    let no_eol = output.no_eol && lines == output.lines.len();
    let with_newline = output.lines.len() - usize::from(output.no_eol);
    let newlines = &execution.newline_times;
    let mut times: Vec<u32> = (0..with_newline.min(lines))
        .map(|line| {
            (newlines.len() + line)
                .checked_sub(with_newline)
                .and_then(|index| newlines.get(index))
                .copied()
                .unwrap_or(0)
        })
        .collect();
    if no_eol {
        times.push(ended);
    }
    times
}

/// The most lines whose times `run.json` keeps (`line_times_ms`): a megabyte of one-letter
/// lines would otherwise add half a million numbers to it, 14 bytes of report per byte
/// printed. A recording plays the lines after them at the last time kept.
pub(crate) const MAX_TIMED_LINES: usize = 10_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::pattern::{Origin, parse};
    use crate::session::Lost;

    fn ran(output: &str, exit_code: Option<i32>, ending: Ending) -> Execution {
        Execution {
            output: output.as_bytes().to_vec(),
            truncated: false,
            total_bytes: output.len() as u64,
            newline_times: output
                .bytes()
                .filter(|&b| b == b'\n')
                .enumerate()
                .map(|(index, _)| 10 * (index as u32 + 1))
                .collect(),
            exit_code,
            duration: Duration::from_millis(50),
            ending,
            typed: Vec::new(),
            background: None,
        }
    }

    fn expected(text: &str) -> Expected {
        parse(text, Origin::File("expected/ch/b.out".into()), 1).expect("a valid expected output")
    }

    /// Judges `execution` of a command on `e1` against `expected` (if any), with `vars` and a
    /// redactor hiding the variable `password`.
    fn verdict(
        execution: Execution,
        expected: Option<&Expected>,
        exit: ExpectedExit,
        bless: bool,
    ) -> Judged {
        let vars: Vars = [("password".to_string(), "s3cret".to_string())].into();
        let redactor = Redactor::new(&["password".to_string()], &vars);
        let action = Action::Run {
            script: "true\n".into(),
        };
        let judging = Judging {
            host: "e1",
            action: &action,
            exit,
            view: View::Screen,
            expected,
            vars: &vars,
            redactor: &redactor,
            bless,
            pty: false,
            rowsort: false,
        };
        judge(&judging, 1, execution, Duration::from_secs(2))
    }

    /// Judges `execution` against `expected` and checks the outcome and the message (a diff
    /// exactly for a mismatch, `unreachable` exactly for a lost shell, no bless text).
    fn judged_as(
        what: &str,
        execution: Execution,
        expected: Option<&Expected>,
        exit: ExpectedExit,
        outcome: Outcome,
        message: Option<&str>,
    ) {
        let judged = verdict(execution, expected, exit, false);
        assert_eq!(judged.attempt.outcome, outcome, "{what}");
        assert_eq!(judged.attempt.message.as_deref(), message, "{what}");
        assert_eq!(
            judged.attempt.diff.is_some(),
            message.is_some_and(|m| m.contains("differs")),
            "{what}: a diff exactly for a mismatch"
        );
        assert_eq!(
            judged.attempt.unreachable,
            (outcome == Outcome::Unreachable).then_some(Unreachable::Lost),
            "{what}"
        );
        assert!(
            judged.blessed.is_none(),
            "{what}: no bless text without --bless"
        );
    }

    #[test]
    #[rustfmt::skip]
    fn outcomes_and_messages() {
        use ExpectedExit::{Any, Code, Success};
        let done = || Ending::Completed;
        let ready = expected("ready\n");
        let ready = Some(&ready);
        judged_as("same output", ran("ready\n", Some(0), done()), ready, Success, Outcome::Passed, None);
        judged_as("other output", ran("not yet\n", Some(0), done()), ready, Success, Outcome::Mismatch, Some("the output differs from the expected output"));
        judged_as("no expected output", ran("ready\n", Some(0), done()), None, Success, Outcome::Unverified, Some("no expected output to compare with"));
        judged_as("failed command", ran("ready\n", Some(3), done()), ready, Success, Outcome::Exit, Some("exit status 3, expected 0"));
        judged_as("failed, other output", ran("no\n", Some(3), done()), ready, Success, Outcome::Exit, Some("exit status 3, expected 0; the output differs from the expected output"));
        judged_as("failed, nothing expected", ran("", Some(1), done()), None, Success, Outcome::Exit, Some("exit status 1, expected 0"));
        judged_as("expected failure", ran("ready\n", Some(3), done()), ready, Code(3), Outcome::Passed, None);
        judged_as("any status", ran("ready\n", Some(9), done()), ready, Any, Outcome::Passed, None);
        judged_as("timed out", ran("ready\n", None, Ending::TimedOut), ready, Success, Outcome::Timeout, Some("still running after 2s; stopped"));
        judged_as("interrupted", ran("ready\n", None, Ending::Interrupted), ready, Success, Outcome::Interrupted, Some("interrupted"));
        judged_as("connection lost", ran("rea", None, Ending::Lost(Lost::ShellEnded)), ready, Success, Outcome::Unreachable, Some("the shell ended during the block; the connection to e1 was lost"));
        judged_as("`exit` in the block", ran("ready\n", Some(0), Ending::Lost(Lost::ShellEnded)), ready, Success, Outcome::Passed, None);
    }

    /// Judges a command that printed `output` and exited 0.
    fn printed(output: &str, expected: Option<&Expected>, bless: bool) -> Judged {
        verdict(
            ran(output, Some(0), Ending::Completed),
            expected,
            ExpectedExit::Success,
            bless,
        )
    }

    #[test]
    fn a_pass_keeps_its_captures_and_a_mismatch_none() {
        let leader = expected("Leader: (?P<leader>pg-\\d) (re)\n");
        let passed = printed("Leader: pg-2\n", Some(&leader), false);
        assert_eq!(
            passed.captures.get("leader").map(String::as_str),
            Some("pg-2")
        );
        let failed = printed("Leader: none\n", Some(&leader), false);
        assert!(failed.captures.is_empty());
    }

    #[test]
    fn secrets_are_replaced_before_matching_and_in_the_diff() {
        let placeholder = expected("password: {{ password }}\n");
        let passed = printed("password: s3cret\n", Some(&placeholder), false);
        assert_eq!(passed.attempt.outcome, Outcome::Passed);
        assert_eq!(passed.attempt.output, "password: [secret:password]\n");
        let written_out = expected("password: s3cret\n");
        let failed = printed("password: other\n", Some(&written_out), false);
        let diff = failed.attempt.diff.expect("a diff");
        assert!(!diff.unified.contains("s3cret"), "{}", diff.unified);
        assert!(
            diff.unified.contains("[secret:password]"),
            "{}",
            diff.unified
        );
    }

    #[test]
    fn output_is_made_comparable_and_its_lines_timed() {
        let coloured = expected("green\n");
        let judged = printed("\x1b[32mgreen\x1b[0m\n", Some(&coloured), false);
        assert_eq!(
            judged.attempt.outcome,
            Outcome::Passed,
            "ANSI sequences are removed"
        );
        assert_eq!(judged.attempt.line_times_ms, vec![10]);
        let mut cut = ran("f line\nwhole line\nlast", Some(0), Ending::Completed);
        cut.truncated = true;
        cut.total_bytes = 100_000;
        let judged = verdict(cut, None, ExpectedExit::Success, false);
        assert_eq!(
            judged.attempt.output, "whole line\nlast",
            "starts at a whole line"
        );
        assert!(judged.attempt.truncated);
        assert_eq!(judged.attempt.output_bytes, 100_000);
        assert_eq!(
            judged.attempt.line_times_ms,
            vec![20, 50],
            "the last line ends with the block"
        );
    }

    #[test]
    fn bless_texts_are_made_only_when_blessing() {
        let old = expected("Leader: pg-\\d (re)\nold\n");
        let judged = printed("Leader: pg-1\nnew\n", Some(&old), true);
        assert_eq!(judged.attempt.outcome, Outcome::Mismatch);
        assert_eq!(
            judged.blessed.as_deref(),
            Some("Leader: pg-\\d (re)\nnew\n")
        );
        let fresh = printed("password: s3cret\n", None, true);
        assert_eq!(
            fresh.blessed.as_deref(),
            Some("password: [secret:password]\n")
        );
    }

    #[test]
    fn a_file_block_passes_on_its_exit_status_alone() {
        let vars = Vars::new();
        let redactor = Redactor::default();
        let action = Action::WriteFile {
            path: "/etc/x.ini".into(),
            content: "a = 1\n".into(),
            mode: None,
            owner: None,
            how: crate::plan::FileWrite::Replace,
        };
        let judging = Judging {
            host: "e1",
            action: &action,
            exit: ExpectedExit::Success,
            view: View::Screen,
            expected: None,
            vars: &vars,
            redactor: &redactor,
            bless: true,
            pty: false,
            rowsort: false,
        };
        let wrote = judge(
            &judging,
            1,
            ran("", Some(0), Ending::Completed),
            Duration::from_secs(2),
        );
        assert_eq!(wrote.attempt.outcome, Outcome::Passed);
        assert!(wrote.blessed.is_none());
        let failed = judge(
            &judging,
            2,
            ran("Permission denied\n", Some(1), Ending::Completed),
            Duration::from_secs(2),
        );
        assert_eq!(failed.attempt.outcome, Outcome::Exit);
        assert_eq!(failed.attempt.number, 2);
    }
}
