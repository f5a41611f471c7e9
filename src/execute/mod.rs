//! Runs the plan's steps in order on their hosts and emits what happens as events: a block on
//! several hosts runs on each concurrently, `retry=` re-runs until the output matches, a failure
//! stops the run unless `--keep-going`, SIGINT/SIGTERM interrupt cleanly. Outcomes are data;
//! nothing here prints.
//!
//! - this module: the run loop ([`Executor::run_all`]) and one step on all its hosts
//!   ([`Executor::run_step`]);
//! - [`host`]: one step on one host, its attempts and the `retry=` policy;
//! - [`judge`]: what one attempt's output and exit status mean (the verdict).

mod host;
mod judge;

use host::HostTask;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::expect::bless_files::{self, BlessPending};
use crate::plan::{Action, HostSpec, Plan, Step};
use crate::report::model::{
    AttemptResult, Event, HostResult, Outcome, Reporter, RunReport, StepResult,
};
use crate::secret::Redactor;
use crate::session::{Cancel, Sessions};
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
        let started_at = crate::report::model::now_rfc3339();
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
                    .is_some_and(crate::session::ssh::is_host_key_refusal)
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
        let report = RunReport::assemble(
            &self.plan.workshop,
            self.options.strict,
            results,
            started_at,
            started.elapsed(),
            interrupted,
        );
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
            match bless_files::write_blessed(step, pending_bless, hosts.len()) {
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
