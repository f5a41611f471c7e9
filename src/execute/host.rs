//! One step on one host: the script filled in, the session acquired, the attempts run and
//! retried as `retry=` asks, each judged ([`super::judge`]), the messages sent to the step.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::HostMessage;
use crate::expect::bless_files::BlessPending;
use crate::expect::pattern::{Expected, Origin};
use crate::plan::{Action, Step};
use crate::report::model::{AttemptResult, HostResult, Outcome};
use crate::secret::Redactor;
use crate::session::{Cancel, Sessions};
use crate::template::{self, Vars};

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

impl HostTask<'_> {
    fn script(&self) -> Result<String, String> {
        let render = |text: &str| {
            if self.step.templated {
                template::render(text, &self.vars).map_err(String::from)
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
            } => Ok(crate::session::protocol::write_file_script(
                &render(path)?,
                &render(content)?,
                *mode,
                owner.as_deref(),
            )),
        }
    }

    fn expected_label(&self) -> Option<String> {
        self.expected
            .as_ref()
            .map(|expected| match &expected.origin {
                Origin::File(path) => path.display().to_string(),
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
        let user = match &self.step.user {
            Some(user) => user.clone(),
            None => self.sessions.default_user(&self.host).unwrap_or_default(),
        };
        let mut result = HostResult {
            host: self.host.clone(),
            user: user.clone(),
            outcome: Outcome::Error,
            expected: self.expected_label(),
            attempts: Vec::new(),
            captures: Vars::new(),
        };
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
        let retry_until = self.step.retry.map(|retry| Instant::now() + retry.within);
        let mut bless_text = None;
        let mut cancel = self.cancel.clone();
        for number in 1.. {
            let timeout = match retry_until {
                Some(until) => self.step.timeout.min(
                    until
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_secs(1)),
                ),
                None => self.step.timeout,
            };
            let (attempt, captures, blessed) = self.attempt(number, &user, &script, timeout).await;
            let outcome = attempt.outcome;
            let retryable = matches!(
                outcome,
                Outcome::Mismatch | Outcome::Exit | Outcome::Timeout | Outcome::Unreachable
            );
            let every = self.step.retry.map_or(Duration::ZERO, |retry| retry.every);
            let retrying = retryable
                && retry_until.is_some_and(|until| Instant::now() + every < until)
                && self.cancel.requested().is_none()
                && !attempt
                    .message
                    .as_deref()
                    .is_some_and(crate::session::ssh::is_host_key_refusal);
            result.attempts.push(attempt.clone());
            let _ = self.sender.send(HostMessage::Attempt {
                host: self.host.clone(),
                attempt,
                retrying,
            });
            result.outcome = outcome;
            result.captures = captures;
            bless_text = blessed;
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
        let pending =
            if self.bless && matches!(result.outcome, Outcome::Mismatch | Outcome::Unverified) {
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
        let _ = self.sender.send(HostMessage::Done(result, pending));
    }

    /// One attempt: run, then judge. Returns the attempt, captures and the blessed text.
    async fn attempt(
        &self,
        number: usize,
        user: &str,
        script: &str,
        timeout: Duration,
    ) -> (AttemptResult, Vars, Option<String>) {
        // Opening a shell can take up to --connect-timeout on a host that does not answer; an
        // interrupt must not wait for that (dropping the attempt kills the half-open client).
        let mut cancel = self.cancel.clone();
        let acquired = tokio::select! {
            acquired = self.sessions.acquire(&self.host, Some(user)) => acquired,
            _ = cancel.wait() => {
                return (failed_attempt(number, Outcome::Interrupted, "interrupted while connecting".into()), Vars::new(), None);
            }
        };
        let mut lock = match acquired {
            Ok(lock) => lock,
            Err(message) => {
                let message = self.redactor.apply(&message);
                return (
                    failed_attempt(
                        number,
                        Outcome::Unreachable,
                        format!("no shell on {} as {user}: {message}", self.host),
                    ),
                    Vars::new(),
                    None,
                );
            }
        };
        let Some(session) = lock.as_mut() else {
            return (
                failed_attempt(number, Outcome::Unreachable, "no session".into()),
                Vars::new(),
                None,
            );
        };
        let execution = session
            .run(script, timeout, &self.sessions.settings, &self.cancel)
            .await;
        drop(lock);
        self.judge(number, execution, timeout)
    }
}

fn failed_attempt(number: usize, outcome: Outcome, message: String) -> AttemptResult {
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
    }
}
