//! One step on one host: the script filled in, the session acquired, the attempts run and
//! retried as `retry=` asks, each judged ([`super::judge`]), the messages sent to the step.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::HostMessage;
use super::judge::{Judging, judge};
use crate::expect::dialogue::Dialogue;
use crate::expect::pattern::{Expected, Origin};
use crate::expected_files::BlessPending;
use crate::plan::{Action, Step};
use crate::report::model::{AttemptResult, HostResult, Outcome, Unreachable};
use crate::secret::Redactor;
use crate::session::pool::SessionKind;
use crate::session::{Cancel, Sessions};
use crate::template::{self, TemplateError, Vars};

/// One step on one host: the attempts, the matching, the verdict.
/// Host tasks borrow the step, the sessions and the redactor: they run as futures of the step's
/// own task (joined, not spawned), so nothing is cloned per block and no task is scheduled.
pub(super) struct HostTask<'r> {
    pub(super) step: &'r Step,
    pub(super) host: String,
    pub(super) vars: Vars,
    pub(super) expected: Option<&'r Expected>,
    pub(super) sessions: &'r Sessions,
    pub(super) redactor: &'r Redactor,
    pub(super) cancel: Cancel,
    pub(super) bless: bool,
    pub(super) permits: &'r tokio::sync::Semaphore,
    pub(super) sender: mpsc::UnboundedSender<HostMessage>,
}

/// One attempt's verdict: the attempt as reported, the values it captured, and the text
/// `--bless` would write for it.
#[derive(Debug, Clone)]
pub(super) struct Judged {
    pub(super) attempt: AttemptResult,
    pub(super) captures: Vars,
    pub(super) blessed: Option<String>,
}

impl Judged {
    fn failed(attempt: AttemptResult) -> Self {
        Judged {
            attempt,
            captures: Vars::new(),
            blessed: None,
        }
    }
}

/// However little time `retry=` has left, an attempt gets at least this long to run.
const SHORTEST_RETRY_ATTEMPT: Duration = Duration::from_secs(1);

/// How long attempt may run: the block's timeout, cut to what is left of `retry=`'s time.
fn attempt_timeout(timeout: Duration, retry_until: Option<Instant>, now: Instant) -> Duration {
    match retry_until {
        Some(until) => timeout.min(
            until
                .saturating_duration_since(now)
                .max(SHORTEST_RETRY_ATTEMPT),
        ),
        None => timeout,
    }
}

/// Whether `retry=` runs the block again after `attempt`: its outcome may change with time
/// (not an error, not a refused host key), the next attempt starts within the time, and no
/// interrupt came.
fn retries_after(
    attempt: &AttemptResult,
    retry_until: Option<Instant>,
    every: Duration,
    now: Instant,
    interrupted: bool,
) -> bool {
    let may_change = matches!(
        attempt.outcome,
        Outcome::Mismatch | Outcome::Exit | Outcome::Timeout | Outcome::Unreachable
    ) && attempt.unreachable != Some(Unreachable::HostKeyRefused);
    may_change
        && retry_until.is_some_and(|until| crate::deadline::after(now, every) < until)
        && !interrupted
}

impl HostTask<'_> {
    fn script(&self) -> Result<String, TemplateError> {
        let render = |text: &str| {
            if self.step.templated {
                template::render(text, &self.vars)
            } else {
                Ok(text.to_string())
            }
        };
        match &self.step.action {
            Action::Run { script } => render(script),
            Action::WriteFile {
                path,
                content,
                mode,
                owner,
                how,
            } => Ok(crate::session::protocol::write_file_script(
                &render(path)?,
                &render(content)?,
                *mode,
                owner.as_deref(),
                *how,
            )),
        }
    }

    fn expected_label(&self) -> Option<String> {
        self.expected
            .as_ref()
            .map(|expected| match &expected.origin {
                Origin::File(path) => path.display().to_string(),
                // A cram test's output is in the test file, under its command.
                Origin::Inline(path) if self.step.cram.is_some() => {
                    let line = expected.lines.first().map_or(0, |l| l.line);
                    format!("{}:{line}", path.display())
                }
                Origin::Inline(path) => {
                    let line = expected.lines.first().map_or(0, |l| l.line);
                    format!("{}:{line} (console block)", path.display())
                }
            })
    }

    pub(super) async fn run(self) {
        let Ok(_permit) = self.permits.acquire().await else {
            return;
        };
        let user = self.user();
        let mut result = self.blank_result(user.clone());
        let script = match self.script() {
            Ok(script) => script,
            Err(error) => {
                let attempt = failed_attempt(
                    1,
                    Outcome::Error,
                    format!("cannot fill in the block's template: {error}"),
                );
                result.attempts.push(attempt.clone());
                let _ = self.sender.send(HostMessage::Attempt {
                    host: self.host.clone(),
                    attempt,
                    retrying: false,
                });
                let _ = self.sender.send(HostMessage::Done(result, None));
                return;
            }
        };
        let retry_until = self
            .step
            .retry
            .map(|retry| crate::deadline::after(Instant::now(), retry.within));
        let every = self.step.retry.map_or(Duration::ZERO, |retry| retry.every);
        let mut bless_text = None;
        let mut cancel = self.cancel.clone();
        for number in 1.. {
            let timeout = attempt_timeout(self.step.timeout, retry_until, Instant::now());
            let judged = self.attempt(number, &user, &script, timeout).await;
            let retrying = retries_after(
                &judged.attempt,
                retry_until,
                every,
                Instant::now(),
                self.cancel.requested().is_some(),
            );
            result.outcome = judged.attempt.outcome;
            result.attempts.push(judged.attempt.clone());
            let _ = self.sender.send(HostMessage::Attempt {
                host: self.host.clone(),
                attempt: judged.attempt,
                retrying,
            });
            result.captures = judged.captures;
            bless_text = judged.blessed;
            if !retrying {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = cancel.wait() => {
                    result.outcome = Outcome::Interrupted;
                    break;
                }
            }
        }
        let (result, pending) = self.finish(result, bless_text);
        let _ = self.sender.send(HostMessage::Done(result, pending));
    }

    /// The host's result once its last attempt is judged, and the text `--bless` is to
    /// write for it.
    pub(super) fn finish(
        &self,
        mut result: HostResult,
        mut bless_text: Option<String>,
    ) -> (HostResult, Option<BlessPending>) {
        // A cram test's `[N]` line is part of its output: a wrong exit status is blessed too.
        let cram = self.step.cram.is_some();
        let blessable = matches!(result.outcome, Outcome::Mismatch | Outcome::Unverified)
            || (cram && result.outcome == Outcome::Exit);
        if cram
            && let Some(text) = bless_text.as_mut()
            && let Some(code) = result.attempts.last().and_then(|a| a.exit_code)
            && code != 0
        {
            text.push_str(&format!("[{code}]\n"));
        }
        let pending = if self.bless && blessable {
            bless_text.map(|text| {
                result.outcome = Outcome::Blessed;
                BlessPending {
                    host: self.host.clone(),
                    text,
                    source: self.expected.as_ref().and_then(|e| match &e.origin {
                        Origin::File(path) => Some(path.clone()),
                        Origin::Inline(_) => None,
                    }),
                }
            })
        } else {
            None
        };
        (result, pending)
    }

    /// The user the step runs as on this host.
    pub(super) fn user(&self) -> String {
        match &self.step.user {
            Some(user) => user.clone(),
            None => self.sessions.default_user(&self.host).unwrap_or_default(),
        }
    }

    /// A host result before any attempt.
    pub(super) fn blank_result(&self, user: String) -> HostResult {
        HostResult {
            host: self.host.clone(),
            user,
            outcome: Outcome::Error,
            expected: self.expected_label(),
            attempts: Vec::new(),
            captures: Vars::new(),
        }
    }

    /// The session this step runs in on its host, besides its user: the course's shell, a
    /// cram test file's own, or the one feeding its psql.
    fn session_kind(&self) -> SessionKind {
        match (&self.step.cram, &self.step.psql) {
            (Some(test), _) => SessionKind::Cram(test.clone()),
            (None, Some(psql)) => SessionKind::Psql(psql.args.clone()),
            (None, None) => SessionKind::Shell,
        }
    }

    /// One attempt: a session, the script run in it, the verdict.
    async fn attempt(&self, number: usize, user: &str, script: &str, timeout: Duration) -> Judged {
        // Opening a shell can take up to --connect-timeout on a host that does not answer; an
        // interrupt must not wait for that (dropping the attempt kills the half-open client).
        let mut cancel = self.cancel.clone();
        let kind = self.session_kind();
        let acquired = tokio::select! {
            acquired = self.sessions.acquire_for(&self.host, Some(user), &kind) => acquired,
            _ = cancel.wait() => {
                let message = "interrupted while connecting".to_string();
                return Judged::failed(failed_attempt(number, Outcome::Interrupted, message));
            }
        };
        let mut lock = match acquired {
            Ok(lock) => lock,
            Err(error) => {
                let message = self.redactor.apply(&error.to_string());
                let mut attempt = failed_attempt(
                    number,
                    Outcome::Unreachable,
                    format!("no shell on {} as {user}: {message}", self.host),
                );
                attempt.unreachable = Some(if error.is_host_key_refusal() {
                    Unreachable::HostKeyRefused
                } else if error.host_answered() {
                    Unreachable::ShellRefused
                } else {
                    Unreachable::NoShell
                });
                return Judged::failed(attempt);
            }
        };
        let Some(session) = lock.as_mut() else {
            let mut attempt = failed_attempt(number, Outcome::Unreachable, "no session".into());
            attempt.unreachable = Some(Unreachable::NoShell);
            return Judged::failed(attempt);
        };
        let leave = if self.step.keep_running {
            crate::session::Leave::Running
        } else {
            crate::session::Leave::Nothing
        };
        let mut dialogue = None;
        let mut execution = if let Some(psql) = &self.step.psql {
            session
                .run_sql(script, &psql.start_args(), timeout, &self.cancel)
                .await
        } else if self.step.pty {
            let questions = match Dialogue::of(self.expected, &self.vars) {
                Ok(questions) => dialogue.insert(questions),
                Err(error) => {
                    let message = self.redactor.apply(&error);
                    return Judged::failed(failed_attempt(number, Outcome::Error, message));
                }
            };
            session
                .run_pty(script, timeout, &self.cancel, leave, questions)
                .await
        } else {
            session
                .run_leaving(script, timeout, &self.cancel, leave)
                .await
        };
        if self.step.psql.is_some() {
            // psql follows every result with an empty line, which a course never shows (the
            // next prompt comes after it, or nothing): it is not part of the output.
            let kept = execution
                .output
                .iter()
                .rposition(|&byte| byte != b'\n')
                .map_or(0, |last| last + 2)
                .min(execution.output.len());
            execution.output.truncate(kept);
        }
        if let Some(tmpdir) = session.cram_tmpdir() {
            execution.output = as_cram_prints(&execution.output, tmpdir);
        }
        drop(lock);
        if self.step.cram.is_some()
            && execution.exit_code == Some(CRAM_SKIP)
            && matches!(execution.ending, crate::session::Ending::Lost(_))
        {
            let mut attempt = failed_attempt(
                number,
                Outcome::Skipped,
                format!(
                    "the test's shell exited with status {CRAM_SKIP}: cram skips the test file"
                ),
            );
            attempt.exit_code = execution.exit_code;
            attempt.output = String::from_utf8_lossy(&execution.output).into_owned();
            return Judged::failed(attempt);
        }
        self.judge_execution(number, execution, timeout, dialogue)
    }

    /// The verdict on attempt `number` of the step, which ran as `execution`.
    pub(super) fn judge_execution(
        &self,
        number: usize,
        execution: crate::session::Execution,
        timeout: Duration,
        dialogue: Option<Dialogue>,
    ) -> Judged {
        let timed_out = execution.ending == crate::session::Ending::TimedOut;
        let mut judged = judge(
            &Judging {
                host: &self.host,
                action: &self.step.action,
                exit: self.step.exit,
                view: self.step.view,
                expected: self.expected,
                vars: &self.vars,
                redactor: self.redactor,
                bless: self.bless,
                pty: self.step.pty,
                rowsort: self.step.rowsort,
            },
            number,
            execution,
            timeout,
        );
        if let Some(dialogue) = dialogue
            && !matches!(
                judged.attempt.outcome,
                Outcome::Passed | Outcome::Interrupted
            )
        {
            let last_line = judged.attempt.output.lines().last().unwrap_or_default();
            if let Some(why) = dialogue.explain(last_line, timed_out) {
                let message = judged.attempt.message.take().unwrap_or_default();
                let why = self.redactor.apply(&why);
                judged.attempt.message = Some(if message.is_empty() {
                    why
                } else {
                    format!("{message}; {why}")
                });
            }
        }
        judged
    }
}

/// The status a cram test's shell exits with to skip the test file.
const CRAM_SKIP: i32 = 80;

/// Output as cram shows it: the test's `TMPDIR` written `$TMPDIR`, so that a test file's
/// expected output does not depend on the folder of one run.
fn as_cram_prints(output: &[u8], tmpdir: &str) -> Vec<u8> {
    let needle = tmpdir.as_bytes();
    if needle.is_empty() {
        return output.to_vec();
    }
    let mut out = Vec::with_capacity(output.len());
    let mut rest = output;
    while let Some(at) = rest
        .windows(needle.len())
        .position(|window| window == needle)
    {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"$TMPDIR");
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

pub(super) fn failed_attempt(number: usize, outcome: Outcome, message: String) -> AttemptResult {
    AttemptResult {
        number,
        outcome,
        exit_code: None,
        duration_ms: 0,
        output: String::new(),
        line_times_ms: Vec::new(),
        truncated: false,
        output_bytes: 0,
        diff: None,
        message: Some(message),
        unreachable: None,
        background: None,
        background_source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(outcome: Outcome, unreachable: Option<Unreachable>) -> AttemptResult {
        let mut attempt = failed_attempt(1, outcome, String::new());
        attempt.unreachable = unreachable;
        attempt
    }

    #[test]
    fn a_cram_test_s_tmpdir_is_written_as_cram_writes_it() {
        assert_eq!(
            as_cram_prints(
                b"/tmp/r-1/tmp/x and /tmp/r-1/tmp\n/tmp/r-1/test.t\n",
                "/tmp/r-1/tmp"
            ),
            b"$TMPDIR/x and $TMPDIR\n/tmp/r-1/test.t\n"
        );
    }

    #[test]
    fn an_attempt_runs_for_the_timeout_or_what_retry_has_left_but_at_least_a_second() {
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        assert_eq!(attempt_timeout(minute, None, now), minute);
        let in_ten = Some(now + Duration::from_secs(10));
        assert_eq!(
            attempt_timeout(minute, in_ten, now),
            Duration::from_secs(10)
        );
        assert_eq!(
            attempt_timeout(Duration::from_secs(3), in_ten, now),
            Duration::from_secs(3)
        );
        assert_eq!(
            attempt_timeout(minute, Some(now), now + Duration::from_secs(5)),
            SHORTEST_RETRY_ATTEMPT
        );
    }

    #[test]
    fn retry_runs_again_only_what_time_may_change() {
        let now = Instant::now();
        let until = Some(now + Duration::from_secs(10));
        let second = Duration::from_secs(1);
        for (outcome, unreachable, again) in [
            (Outcome::Mismatch, None, true),
            (Outcome::Exit, None, true),
            (Outcome::Timeout, None, true),
            (Outcome::Unreachable, Some(Unreachable::NoShell), true),
            (Outcome::Unreachable, Some(Unreachable::Lost), true),
            (
                Outcome::Unreachable,
                Some(Unreachable::HostKeyRefused),
                false,
            ),
            (Outcome::Passed, None, false),
            (Outcome::Unverified, None, false),
            (Outcome::Error, None, false),
            (Outcome::Interrupted, None, false),
        ] {
            assert_eq!(
                retries_after(&attempt(outcome, unreachable), until, second, now, false),
                again,
                "{outcome:?} {unreachable:?}"
            );
        }
        let mismatch = attempt(Outcome::Mismatch, None);
        assert!(
            !retries_after(&mismatch, None, second, now, false),
            "no retry="
        );
        assert!(
            !retries_after(&mismatch, until, Duration::from_secs(10), now, false),
            "the next attempt would start after the time is up"
        );
        assert!(
            !retries_after(&mismatch, until, second, now, true),
            "interrupted"
        );
    }
}
