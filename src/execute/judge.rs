//! What one attempt means: the output made comparable (ANSI removed, secrets replaced,
//! a truncated output started at a whole line), matched against the expected output, and the
//! exit status checked, giving the attempt's outcome, its captures and its `--bless` text.

use std::time::Duration;

use super::host::HostTask;
use crate::expect::actual::{ActualOutput, strip_ansi};
use crate::expect::bless;
use crate::plan::Action;
use crate::report::model::{AttemptResult, Outcome};
use crate::session::{Ending, Execution};
use crate::template::Vars;

impl HostTask<'_> {
    pub(super) fn judge(
        &self,
        number: usize,
        execution: Execution,
        timeout: Duration,
    ) -> (AttemptResult, Vars, Option<String>) {
        // ANSI sequences are removed before redacting: a secret printed in two colours only
        // becomes whole once they are gone.
        let raw = self.redactor.apply_bytes(&strip_ansi(&execution.output));
        let output = ActualOutput::from_bytes(kept_from_first_line(&raw, execution.truncated));
        let mut attempt = AttemptResult {
            number,
            outcome: Outcome::Passed,
            exit_code: execution.exit_code,
            duration_ms: execution.duration.as_millis() as u64,
            output: output.display(),
            truncated: execution.truncated,
            output_bytes: execution.total_bytes,
            line_times_ms: line_times(&output, &execution),
            diff: None,
            message: None,
        };
        match &execution.ending {
            Ending::TimedOut => {
                attempt.outcome = Outcome::Timeout;
                attempt.message = Some(format!(
                    "still running after {}; stopped",
                    humantime::format_duration(timeout)
                ));
                return (attempt, Vars::new(), None);
            }
            Ending::Interrupted => {
                attempt.outcome = Outcome::Interrupted;
                attempt.message = Some("interrupted".into());
                return (attempt, Vars::new(), None);
            }
            Ending::Lost(reason) if execution.exit_code.is_none() => {
                attempt.outcome = Outcome::Unreachable;
                attempt.message = Some(format!(
                    "{reason}; the connection to {} was lost",
                    self.host
                ));
                return (attempt, Vars::new(), None);
            }
            Ending::Lost(_) | Ending::Completed => {}
        }
        let mut captures = Vars::new();
        let mut blessed = None;
        let exit_ok = self.step.exit.accepts(execution.exit_code);
        match (&self.step.action, &self.expected) {
            (Action::WriteFile { .. }, _) => {}
            (Action::Run { .. }, None) => {
                attempt.outcome = Outcome::Unverified;
                attempt.message = Some("no expected output to compare with".into());
                if self.bless {
                    blessed = Some(bless::fresh_text(&output));
                }
            }
            (Action::Run { .. }, Some(expected)) => {
                // The output is compared once its secrets are placeholders, so an expected
                // output's `{{ password }}` stands for the placeholder too.
                let vars: Vars = self
                    .vars
                    .iter()
                    .map(|(name, value)| (name.clone(), self.redactor.apply(value)))
                    .collect();
                match crate::expect::check(expected, &output, &vars) {
                    Ok(verdict) => {
                        if self.bless {
                            blessed =
                                Some(self.redactor.apply(&verdict.blessed(expected, &output)));
                        }
                        if verdict.matched {
                            captures = verdict.captures;
                        } else {
                            attempt.outcome = Outcome::Mismatch;
                            // An expected file may hold a secret's value itself (which can
                            // never match): the diff shows its expected side too.
                            attempt.diff = verdict.diff.map(|diff| self.redactor.apply_diff(diff));
                            attempt.message =
                                Some("the output differs from the expected output".into());
                        }
                    }
                    Err(error) => {
                        attempt.outcome = Outcome::Error;
                        attempt.message = Some(format!("cannot use the expected output: {error}"));
                    }
                }
            }
        }
        if !exit_ok && attempt.outcome != Outcome::Error {
            let code = execution
                .exit_code
                .map_or("none".to_string(), |c| c.to_string());
            let what = format!("exit status {code}, expected {}", self.step.exit.describe());
            attempt.message = Some(match attempt.message.take() {
                Some(previous) if attempt.outcome == Outcome::Mismatch => {
                    format!("{what}; {previous}")
                }
                _ => what,
            });
            attempt.outcome = Outcome::Exit;
        }
        (attempt, captures, blessed)
    }
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
    let lines = output.lines.len();
    let ended = u32::try_from(execution.duration.as_millis()).unwrap_or(u32::MAX);
    let with_newline = lines - usize::from(output.no_eol);
    let newlines = &execution.newline_times;
    let mut times: Vec<u32> = (0..with_newline)
        .map(|line| {
            (newlines.len() + line)
                .checked_sub(with_newline)
                .and_then(|index| newlines.get(index))
                .copied()
                .unwrap_or(0)
        })
        .collect();
    if output.no_eol {
        times.push(ended);
    }
    times
}
