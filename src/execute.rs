//! Runs the plan's steps in order on their hosts and emits what happens as events: a block on
//! several hosts runs on each concurrently, `retry=` re-runs until the output matches, a failure
//! stops the run unless `--keep-going`, SIGINT/SIGTERM interrupt cleanly. Outcomes are data;
//! nothing here prints.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::expect::actual::{ActualOutput, View, strip_ansi};
use crate::expect::bless;
use crate::expect::pattern::{Expected, Origin};
use crate::plan::{Action, HostSpec, Plan, Step};
use crate::report::model::{
    AttemptResult, BlessChange, ChapterReport, Counts, Event, HostResult, Outcome, Reporter,
    RunReport, RunStatus, StepResult,
};
use crate::secret::Redactor;
use crate::target::{Cancel, Ending, Execution, Sessions};
use crate::template::{self, Vars};

/// How the run behaves, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub keep_going: bool,
    pub strict: bool,
    pub bless: bool,
    /// Hosts a fanned-out block runs on at once.
    pub jobs: usize,
}

/// Runs a plan.
pub struct Executor<'a> {
    plan: &'a Plan,
    sessions: Arc<Sessions>,
    options: RunOptions,
    redactor: Arc<Redactor>,
    cancel: Cancel,
    captures: Vars,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Executor({} steps)", self.plan.steps.len())
    }
}

/// What a host task sends back while it runs.
enum HostMessage {
    Attempt {
        host: String,
        attempt: AttemptResult,
        retrying: bool,
    },
    Done(HostResult, Option<BlessPending>),
}

/// The blessed text for one host, written once all hosts of the step are done.
struct BlessPending {
    host: String,
    text: String,
    /// The file the expectation came from, if it was an expected file.
    source: Option<std::path::PathBuf>,
}

impl<'a> Executor<'a> {
    pub fn new(
        plan: &'a Plan,
        sessions: Arc<Sessions>,
        options: RunOptions,
        redactor: Redactor,
        cancel: Cancel,
    ) -> Self {
        Executor {
            plan,
            sessions,
            options,
            redactor: Arc::new(redactor),
            cancel,
            captures: Vars::new(),
        }
    }

    /// Values captured so far by passed blocks (`runbook step` saves them between sessions).
    pub fn captures(&self) -> &Vars {
        &self.captures
    }

    /// Restores values captured in an earlier session, so later blocks can use them.
    pub fn restore_captures(&mut self, captures: Vars) {
        self.captures.extend(captures);
    }

    /// Runs every step, reporting to `reporter`; returns the whole report.
    pub async fn run_all(&mut self, reporter: &mut dyn Reporter) -> RunReport {
        let started_at = now_rfc3339();
        let started = Instant::now();
        reporter.event(&Event::RunStarted {
            steps: self.plan.steps.len(),
        });
        let mut results: Vec<StepResult> = Vec::new();
        let mut stop_reason: Option<String> = None;
        for index in 0..self.plan.steps.len() {
            if stop_reason.is_none() && self.cancel.requested().is_some() {
                stop_reason = Some("the run was interrupted".into());
            }
            let chapter = self.plan.steps[index].chapter;
            if stop_reason.is_none()
                && (index == 0 || self.plan.steps[index - 1].chapter != chapter)
            {
                self.sessions.prewarm(self.sessions_of_chapter(chapter));
            }
            let result = match &stop_reason {
                Some(reason) => self.skipped(index, reason),
                None => self.run_step(index, reporter).await,
            };
            if stop_reason.is_none() {
                if result.outcome == Outcome::Interrupted {
                    stop_reason = Some("the run was interrupted".into());
                } else if result.outcome.is_failure(self.options.strict) && !self.options.keep_going
                {
                    stop_reason = Some(format!(
                        "not run: {} failed (use --keep-going to run on)",
                        result.qualified_id
                    ));
                } else if result
                    .message
                    .as_deref()
                    .is_some_and(crate::target::ssh::is_host_key_refusal)
                {
                    stop_reason = Some("not run: a host key check failed".into());
                }
            }
            if stop_reason.is_some() && result.outcome == Outcome::Skipped {
                reporter.event(&Event::StepFinished {
                    result: result.clone(),
                });
            }
            results.push(result);
        }
        let interrupted = self.cancel.requested();
        self.sessions.shutdown(interrupted.is_some()).await;
        let report = self.report(results, started_at, started.elapsed(), interrupted);
        reporter.event(&Event::RunFinished {
            report: Box::new(report.clone()),
        });
        report
    }

    /// The (host, user) pairs the chapter's blocks name (hosts given by a capture are only
    /// known when their block runs).
    fn sessions_of_chapter(&self, chapter: usize) -> Vec<(String, Option<String>)> {
        let mut pairs: Vec<(String, Option<String>)> = Vec::new();
        for step in self
            .plan
            .steps
            .iter()
            .filter(|step| step.chapter == chapter)
        {
            if let HostSpec::Hosts(hosts) = &step.hosts {
                for host in hosts {
                    let pair = (host.clone(), step.user.clone());
                    if !pairs.contains(&pair) {
                        pairs.push(pair);
                    }
                }
            }
        }
        pairs
    }

    fn skipped(&self, index: usize, reason: &str) -> StepResult {
        let step = &self.plan.steps[index];
        let mut result = self.blank_result(step);
        result.outcome = Outcome::Skipped;
        result.message = Some(reason.to_string());
        result
    }

    fn blank_result(&self, step: &Step) -> StepResult {
        let block = self.plan.block_of(step);
        let (kind, command, path) = match &step.action {
            Action::Run { script } => ("command", script.clone(), None),
            Action::WriteFile { path, content, .. } => {
                ("file", content.clone(), Some(self.redactor.apply(path)))
            }
        };
        StepResult {
            qualified_id: step.qualified_id.clone(),
            id: step.id.clone(),
            chapter: self.plan.chapter_of(step).key.clone(),
            file: step.file.display().to_string(),
            line: step.line,
            section: block.section.clone(),
            kind: kind.to_string(),
            command: self.redactor.apply(&command),
            path,
            outcome: Outcome::Skipped,
            duration_ms: 0,
            hosts: Vec::new(),
            message: None,
            blessed: Vec::new(),
        }
    }

    /// Runs step `index` on all its hosts and reports it.
    pub async fn run_step(&mut self, index: usize, reporter: &mut dyn Reporter) -> StepResult {
        let step = &self.plan.steps[index];
        let started = Instant::now();
        let mut result = self.blank_result(step);
        let hosts = match self.resolve_hosts(step) {
            Ok(hosts) => hosts,
            Err(message) => {
                result.outcome = Outcome::Error;
                result.message = Some(message);
                reporter.event(&Event::StepStarted {
                    index,
                    qualified_id: step.qualified_id.clone(),
                    hosts: Vec::new(),
                });
                reporter.event(&Event::StepFinished {
                    result: result.clone(),
                });
                return result;
            }
        };
        reporter.event(&Event::StepStarted {
            index,
            qualified_id: step.qualified_id.clone(),
            hosts: hosts.clone(),
        });
        if let Some(first) = hosts.first() {
            // Show the command as run on the first host (templates rendered).
            let vars = self.plan.vars_for(Some(first), &self.captures);
            if step.templated
                && let Action::Run { script } = &step.action
                && let Ok(rendered) = template::render(script, &vars)
            {
                result.command = self.redactor.apply(&rendered);
            }
        }

        let (sender, mut receiver) = mpsc::unbounded_channel();
        let permits = tokio::sync::Semaphore::new(self.options.jobs.max(1));
        let tasks: Vec<HostTask<'_>> = hosts
            .iter()
            .map(|host| HostTask {
                step,
                host: host.clone(),
                vars: self.plan.vars_for(Some(host), &self.captures),
                expected: step.expectations.for_host(host),
                sessions: &self.sessions,
                redactor: &self.redactor,
                cancel: self.cancel.clone(),
                bless: self.options.bless,
                permits: &permits,
                sender: sender.clone(),
            })
            .collect();
        drop(sender);
        let mut finished: BTreeMap<String, HostResult> = BTreeMap::new();
        let mut pending_bless = Vec::new();
        // The hosts run concurrently as futures of this task; their messages are reported as
        // they come (a retrying block shows its attempts live).
        let mut all_done = std::pin::pin!(join_all(tasks.into_iter().map(HostTask::run).collect()));
        let mut running = true;
        loop {
            let message = if running {
                tokio::select! {
                    () = &mut all_done => {
                        running = false;
                        continue;
                    }
                    message = receiver.recv() => message,
                }
            } else {
                receiver.recv().await
            };
            let Some(message) = message else { break };
            match message {
                HostMessage::Attempt {
                    host,
                    attempt,
                    retrying,
                } => {
                    reporter.event(&Event::AttemptFinished {
                        index,
                        host,
                        attempt,
                        retrying,
                    });
                }
                HostMessage::Done(host_result, bless) => {
                    if let Some(bless) = bless {
                        pending_bless.push(bless);
                    }
                    finished.insert(host_result.host.clone(), host_result);
                }
            }
        }
        // Keep the hosts in the order the step names them.
        result.hosts = hosts
            .iter()
            .filter_map(|host| finished.remove(host))
            .collect();
        for host_result in &result.hosts {
            if host_result.outcome == Outcome::Passed || host_result.outcome == Outcome::Blessed {
                self.captures.extend(host_result.captures.clone());
            }
        }
        if !pending_bless.is_empty() {
            match write_blessed(step, pending_bless, hosts.len()) {
                Ok(changes) => result.blessed = changes,
                Err(message) => {
                    result.message = Some(message);
                    for host_result in &mut result.hosts {
                        if host_result.outcome == Outcome::Blessed {
                            host_result.outcome = Outcome::Error;
                        }
                    }
                }
            }
        }
        result.outcome =
            Outcome::worst(result.hosts.iter().map(|h| h.outcome)).unwrap_or(Outcome::Error);
        if result.message.is_none() {
            result.message = result
                .hosts
                .iter()
                .filter(|h| h.outcome.is_failure(self.options.strict))
                .filter_map(|h| {
                    h.last_attempt()
                        .and_then(|a| a.message.clone())
                        .map(|m| format!("{}: {m}", h.host))
                })
                .next();
        }
        result.duration_ms = started.elapsed().as_millis() as u64;
        reporter.event(&Event::StepFinished {
            result: result.clone(),
        });
        result
    }

    fn resolve_hosts(&self, step: &Step) -> Result<Vec<String>, String> {
        match &step.hosts {
            HostSpec::Hosts(hosts) => Ok(hosts.clone()),
            HostSpec::Template(spec) => {
                let vars = self.plan.vars_for(None, &self.captures);
                let rendered = template::render(spec, &vars).map_err(|error| {
                    format!("cannot tell where to run `on={spec}`: {error} (was the block that captures it skipped?)")
                })?;
                self.plan
                    .inventory
                    .resolve(rendered.trim())
                    .map_err(|error| {
                        self.redactor
                            .apply(&format!("on={spec} gave `{rendered}`: {error}"))
                    })
            }
        }
    }

    fn report(
        &self,
        results: Vec<StepResult>,
        started_at: String,
        elapsed: Duration,
        interrupted: Option<i32>,
    ) -> RunReport {
        let mut counts = Counts::default();
        for result in &results {
            counts.total += 1;
            match result.outcome {
                Outcome::Passed => counts.passed += 1,
                Outcome::Blessed => counts.blessed += 1,
                Outcome::Skipped => counts.skipped += 1,
                Outcome::Unverified => {
                    if self.options.strict {
                        counts.failed += 1;
                    } else {
                        counts.unverified += 1;
                    }
                }
                _ => counts.failed += 1,
            }
        }
        let status = if interrupted.is_some() {
            RunStatus::Interrupted
        } else if counts.failed > 0 {
            RunStatus::Failed
        } else {
            RunStatus::Passed
        };
        let mut chapters: Vec<ChapterReport> = Vec::new();
        for result in results {
            let step_chapter = &result.chapter;
            if chapters
                .last()
                .is_none_or(|chapter| &chapter.key != step_chapter)
            {
                let chapter = self
                    .plan
                    .workshop
                    .chapters
                    .iter()
                    .find(|c| &c.key == step_chapter);
                chapters.push(ChapterReport {
                    key: step_chapter.clone(),
                    file: chapter
                        .map(|c| c.path.display().to_string())
                        .unwrap_or_default(),
                    title: chapter.map(|c| c.title.clone()).unwrap_or_default(),
                    steps: Vec::new(),
                });
            }
            if let Some(chapter) = chapters.last_mut() {
                chapter.steps.push(result);
            }
        }
        RunReport {
            runbook_version: env!("CARGO_PKG_VERSION").to_string(),
            workshop: self.plan.workshop.dir.display().to_string(),
            started_at,
            duration_ms: elapsed.as_millis() as u64,
            status,
            interrupted_by: interrupted.map(signal_name),
            strict: self.options.strict,
            counts,
            chapters,
        }
    }
}

pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}

/// One step on one host: the attempts, the matching, the verdict.
/// Host tasks borrow the step, the sessions and the redactor: they run as futures of the step's
/// own task (joined, not spawned), so nothing is cloned per block and no task is scheduled.
struct HostTask<'r> {
    step: &'r Step,
    host: String,
    vars: Vars,
    expected: Option<&'r Expected>,
    sessions: &'r Sessions,
    redactor: &'r Redactor,
    cancel: Cancel,
    bless: bool,
    permits: &'r tokio::sync::Semaphore,
    sender: mpsc::UnboundedSender<HostMessage>,
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
            } => Ok(crate::target::protocol::write_file_script(
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

    async fn run(self) {
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
                    .is_some_and(crate::target::ssh::is_host_key_refusal);
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

    fn judge(
        &self,
        number: usize,
        execution: Execution,
        timeout: Duration,
    ) -> (AttemptResult, Vars, Option<String>) {
        // ANSI sequences are removed before redacting: a secret printed in two colours only
        // becomes whole once they are gone (a `raw` block keeps them where no secret is cut).
        let printed = match self.step.view {
            View::Screen => self.redactor.apply_bytes(&strip_ansi(&execution.output)),
            View::Raw => self.redactor.apply_bytes_as_printed(&execution.output),
        };
        let output = ActualOutput::read(
            kept_from_first_line(&printed, execution.truncated),
            self.step.view,
        );
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
                            let mut message =
                                "the output differs from the expected output".to_string();
                            for unusable in &verdict.unusable {
                                message.push_str("; ");
                                message.push_str(&self.redactor.apply(unusable));
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

/// Writes blessed outputs: one shared `<id>.out` when every host printed the same (and no
/// host has its own file), otherwise one `<id>.<host>.out` per host.
fn write_blessed(
    step: &Step,
    pending: Vec<BlessPending>,
    host_count: usize,
) -> Result<Vec<BlessChange>, String> {
    let all_same =
        pending.len() == host_count && pending.windows(2).all(|pair| pair[0].text == pair[1].text);
    let any_own_file = pending.iter().any(|p| {
        p.source
            .as_ref()
            .is_some_and(|s| *s == step.expected_path(Some(&p.host)))
    });
    let mut writes: Vec<(std::path::PathBuf, String)> = Vec::new();
    if host_count == 1 || (all_same && !any_own_file) {
        let path = match pending.first().and_then(|p| p.source.clone()) {
            Some(source) if host_count == 1 => source,
            _ => step.expected_path(None),
        };
        if let Some(first) = pending.first() {
            writes.push((path, first.text.clone()));
        }
    } else {
        for item in &pending {
            writes.push((step.expected_path(Some(&item.host)), item.text.clone()));
        }
    }
    let mut changes = Vec::new();
    for (path, text) in writes {
        let previous = std::fs::read_to_string(&path).ok();
        if previous.as_deref() == Some(text.as_str()) {
            continue;
        }
        let lines_changed = match &previous {
            Some(previous) => similar::TextDiff::from_lines(previous.as_str(), text.as_str())
                .iter_all_changes()
                .filter(|change| change.tag() != similar::ChangeTag::Equal)
                .count(),
            None => text.lines().count(),
        };
        crate::report::write_atomically(&path, text.as_bytes())
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        changes.push(BlessChange {
            path: path.display().to_string(),
            created: previous.is_none(),
            lines_changed,
        });
    }
    Ok(changes)
}

/// Polls futures concurrently within the current task until all are done (a small join_all:
/// the futures borrow from the caller, so they cannot be spawned).
async fn join_all<F: Future<Output = ()>>(futures: Vec<F>) {
    let mut futures: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for slot in &mut futures {
            if let Some(future) = slot {
                if future.as_mut().poll(context).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
