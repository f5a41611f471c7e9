//! Runs the plan's steps in order on their hosts and emits what happens as events: a block on
//! several hosts runs on each concurrently, `retry=` re-runs until the output matches, a failure
//! stops the run unless `--keep-going`, SIGINT/SIGTERM/SIGHUP/SIGQUIT interrupt cleanly. Outcomes are data;
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

use crate::expected_files::{self, BlessPending};
use crate::plan::{Action, HostSpec, Plan, Step};
use crate::report::model::{
    AttemptResult, BlessChange, Event, HostResult, Outcome, Reporter, RunReport, SkipReason,
    StepKind, StepResult, Unreachable,
};
use crate::secret::Redactor;
use crate::session::{Cancel, Sessions, Wanted};
use crate::template::{self, Vars};

/// Hosts a block naming several runs on at once, unless `--jobs` says otherwise.
pub(crate) const DEFAULT_JOBS: usize = 8;

/// How the run behaves, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) keep_going: bool,
    pub(crate) strict: bool,
    pub(crate) bless: bool,
    /// Hosts a fanned-out block runs on at once.
    pub(crate) jobs: usize,
}

impl RunOptions {
    /// How `runbook step` and `runbook check` run blocks: every block on its own (a failure
    /// does not stop the others), without `--strict` or `--bless`, with `--jobs`' default.
    pub(crate) fn each_block_on_its_own() -> Self {
        RunOptions {
            keep_going: true,
            strict: false,
            bless: false,
            jobs: DEFAULT_JOBS,
        }
    }
}

/// Runs a plan.
pub(crate) struct Executor<'a> {
    plan: &'a Plan,
    sessions: Arc<Sessions>,
    options: RunOptions,
    redactor: Arc<Redactor>,
    cancel: Cancel,
    captures: Vars,
    /// Where the `--bless` rewrites so far moved the lines of cram test files.
    cram_shifts: expected_files::cram::Shifts,
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

/// A step's run on its hosts: their results, in the order the step names the hosts, and the
/// texts `--bless` is to write.
struct HostsRun {
    results: Vec<HostResult>,
    bless: Vec<BlessPending>,
}

/// Why the run stops after a step's result, if it does: an interrupt, a failure without
/// `--keep-going`, or a refused host key (which stops it even with `--keep-going`).
pub(crate) fn stop_after(result: &StepResult, options: &RunOptions) -> Option<SkipReason> {
    if result.outcome == Outcome::Interrupted {
        Some(SkipReason::Interrupted)
    } else if result.outcome.is_failure(options.strict) && !options.keep_going {
        Some(SkipReason::EarlierFailure {
            failed: result.qualified_id.clone(),
        })
    } else if result.hosts.iter().any(|host| {
        host.last_attempt()
            .is_some_and(|attempt| attempt.unreachable == Some(Unreachable::HostKeyRefused))
    }) {
        Some(SkipReason::HostKeyRefused)
    } else {
        None
    }
}

impl<'a> Executor<'a> {
    pub(crate) fn new(
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
            cram_shifts: expected_files::cram::Shifts::default(),
        }
    }

    /// Values captured so far by passed blocks (`runbook step` saves them between sessions).
    pub(crate) fn captures(&self) -> &Vars {
        &self.captures
    }

    /// Restores values captured in an earlier session, so later blocks can use them.
    pub(crate) fn restore_captures(&mut self, captures: Vars) {
        self.captures.extend(captures);
    }

    /// Runs every step, reporting to `reporter`; returns the whole report.
    pub(crate) async fn run_all(&mut self, reporter: &mut dyn Reporter) -> RunReport {
        let started_at = crate::report::model::now_rfc3339();
        let started = Instant::now();
        reporter.event(&Event::RunStarted {
            steps: self.plan.steps.len(),
        });
        let plan: &'a Plan = self.plan;
        let mut results: Vec<StepResult> = Vec::new();
        let mut stopped: Option<SkipReason> = None;
        // A cram test file that skipped itself (exit 80): its chapter and why.
        let mut cram_skipped: Option<(usize, SkipReason)> = None;
        // What the cram test files left running, ended when each file was done.
        let mut cram_leftovers = Vec::new();
        for (index, step) in plan.steps.iter().enumerate() {
            if stopped.is_none() && self.cancel.requested().is_some() {
                stopped = Some(SkipReason::Interrupted);
            }
            if index > 0
                && plan.steps[index - 1].chapter != step.chapter
                && let Some(test) = &plan.steps[index - 1].cram
            {
                cram_leftovers.extend(self.sessions.end_cram_test(test).await);
            }
            if stopped.is_none() && (index == 0 || plan.steps[index - 1].chapter != step.chapter) {
                self.sessions
                    .prewarm(self.sessions_of_chapter(step.chapter));
            }
            let skip = stopped.clone().or_else(|| {
                cram_skipped
                    .as_ref()
                    .filter(|(chapter, _)| *chapter == step.chapter)
                    .map(|(_, reason)| reason.clone())
            });
            let result = match &skip {
                Some(reason) => {
                    let skipped = self.skipped(step, reason.clone());
                    reporter.event(&Event::StepFinished {
                        result: skipped.clone(),
                    });
                    skipped
                }
                None => {
                    let result = self.run_step(step, index, reporter).await;
                    stopped = stop_after(&result, &self.options);
                    if step.cram.is_some() && result.outcome == Outcome::Skipped {
                        let by = result.qualified_id.clone();
                        cram_skipped = Some((step.chapter, SkipReason::CramSkip { by }));
                    }
                    result
                }
            };
            results.push(result);
        }
        let interrupted = self.cancel.requested();
        let mut leftovers = cram_leftovers;
        leftovers.extend(
            self.sessions
                .shutdown_and_sweep(interrupted.is_some())
                .await,
        );
        let mut report = RunReport::assemble(
            &plan.workshop,
            self.options.strict,
            results,
            started_at,
            started.elapsed(),
            interrupted,
        );
        report.leftovers = leftovers
            .into_iter()
            .map(|mut leftover| {
                leftover.command = self.redactor.apply(&leftover.command);
                leftover
            })
            .collect();
        reporter.event(&Event::RunFinished {
            report: Box::new(report.clone()),
        });
        report
    }

    /// The sessions the chapter's blocks name (hosts given by a capture are only known when
    /// their block runs).
    fn sessions_of_chapter(&self, chapter: usize) -> Vec<Wanted> {
        let mut wanted: Vec<Wanted> = Vec::new();
        for step in self
            .plan
            .steps
            .iter()
            // A cram test file's shell is its own, opened by its first command.
            .filter(|step| step.chapter == chapter && step.cram.is_none())
        {
            if let HostSpec::Hosts(hosts) = &step.hosts {
                for host in hosts {
                    let session = Wanted {
                        host: host.clone(),
                        user: step.user.clone(),
                    };
                    if !wanted.contains(&session) {
                        wanted.push(session);
                    }
                }
            }
        }
        wanted
    }

    fn skipped(&self, step: &Step, reason: SkipReason) -> StepResult {
        let mut result = self.blank_result(step);
        result.outcome = Outcome::Skipped;
        result.message = Some(reason.to_string());
        result.not_run = Some(reason);
        result
    }

    fn blank_result(&self, step: &Step) -> StepResult {
        let block = self.plan.block_of(step);
        let (kind, command, path) = match &step.action {
            Action::Run { script } => (StepKind::Command, script.clone(), None),
            Action::WriteFile { path, content, .. } => (
                StepKind::File,
                content.clone(),
                Some(self.redactor.apply(path)),
            ),
        };
        StepResult {
            qualified_id: step.qualified_id.clone(),
            id: step.id.clone(),
            chapter: self.plan.chapter_of(step).key.clone(),
            file: step.file.display().to_string(),
            line: step.line,
            section: block.section.clone(),
            kind,
            command: self.redactor.apply(&command),
            path,
            outcome: Outcome::Skipped,
            duration_ms: 0,
            hosts: Vec::new(),
            message: None,
            not_run: None,
            blessed: Vec::new(),
        }
    }

    /// Runs `step` (the plan's step `index`, or a probe made from it: `runbook step` reads a
    /// file back this way) on all its hosts and reports it.
    pub(crate) async fn run_step(
        &mut self,
        step: &Step,
        index: usize,
        reporter: &mut dyn Reporter,
    ) -> StepResult {
        let started = Instant::now();
        let mut result = self.blank_result(step);
        let hosts = match self.plan.hosts_of(step, &self.captures, &self.redactor) {
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
        let HostsRun { results, bless } = self.run_on_hosts(step, index, &hosts, reporter).await;
        result.hosts = results;
        for host_result in &result.hosts {
            if host_result.outcome == Outcome::Passed || host_result.outcome == Outcome::Blessed {
                self.captures.extend(host_result.captures.clone());
            }
        }
        if !bless.is_empty() {
            let written = match (&step.cram, bless.first()) {
                // A cram test's expected output is in the test file, under the command.
                (Some(_), Some(pending)) => expected_files::cram::write_blessed(
                    &step.file,
                    step.line,
                    &pending.text,
                    &mut self.cram_shifts,
                )
                .map(|change| change.into_iter().collect()),
                _ => expected_files::write_blessed(step.expected_files(), bless, hosts.len()),
            };
            match written {
                Ok(changes) => {
                    result.blessed = changes
                        .into_iter()
                        .map(|change| BlessChange {
                            path: change.path.display().to_string(),
                            created: change.created,
                            lines_changed: change.lines_changed,
                        })
                        .collect();
                }
                Err(error) => {
                    result.message = Some(error.to_string());
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
            result.message = result.first_host_failure(self.options.strict);
        }
        result.duration_ms = started.elapsed().as_millis() as u64;
        reporter.event(&Event::StepFinished {
            result: result.clone(),
        });
        result
    }

    /// Runs `step` on each of `hosts` concurrently (at most `--jobs` at once), reporting the
    /// attempts as they come.
    async fn run_on_hosts(
        &self,
        step: &Step,
        index: usize,
        hosts: &[String],
        reporter: &mut dyn Reporter,
    ) -> HostsRun {
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
        let mut all_done =
            std::pin::pin!(crate::join::join_all(tasks.into_iter().map(HostTask::run)));
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
        let results = hosts
            .iter()
            .filter_map(|host| finished.remove(host))
            .collect();
        HostsRun {
            results,
            bless: pending_bless,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(outcome: Outcome, unreachable: Option<Unreachable>) -> StepResult {
        let mut attempt = host::failed_attempt(1, outcome, String::new());
        attempt.unreachable = unreachable;
        StepResult {
            qualified_id: "01/b".into(),
            id: "b".into(),
            chapter: "01".into(),
            file: "workshop/01.md".into(),
            line: 3,
            section: None,
            kind: StepKind::Command,
            command: "true\n".into(),
            path: None,
            outcome,
            duration_ms: 0,
            hosts: vec![HostResult {
                host: "e1".into(),
                user: "root".into(),
                outcome,
                expected: None,
                attempts: vec![attempt],
                captures: Vars::new(),
            }],
            message: None,
            not_run: None,
            blessed: Vec::new(),
        }
    }

    fn options(keep_going: bool, strict: bool) -> RunOptions {
        RunOptions {
            keep_going,
            strict,
            bless: false,
            jobs: 1,
        }
    }

    #[test]
    fn the_run_stops_after_an_interrupt_a_failure_or_a_refused_host_key() {
        let refused = Some(Unreachable::HostKeyRefused);
        let failure = Some(SkipReason::EarlierFailure {
            failed: "01/b".into(),
        });
        let cases = [
            (Outcome::Passed, None, options(false, false), None),
            (
                Outcome::Mismatch,
                None,
                options(false, false),
                failure.clone(),
            ),
            (Outcome::Mismatch, None, options(true, false), None),
            (Outcome::Unverified, None, options(false, false), None),
            (
                Outcome::Unverified,
                None,
                options(false, true),
                failure.clone(),
            ),
            (
                Outcome::Interrupted,
                None,
                options(true, false),
                Some(SkipReason::Interrupted),
            ),
            (
                Outcome::Unreachable,
                Some(Unreachable::NoShell),
                options(true, false),
                None,
            ),
            (
                Outcome::Unreachable,
                refused,
                options(true, false),
                Some(SkipReason::HostKeyRefused),
            ),
            (
                Outcome::Unreachable,
                refused,
                options(false, false),
                failure,
            ),
        ];
        for (outcome, unreachable, options, stop) in cases {
            assert_eq!(
                stop_after(&result(outcome, unreachable), &options),
                stop,
                "{outcome:?} {unreachable:?} {options:?}"
            );
        }
    }

    #[test]
    fn skip_reasons_read_as_before() {
        assert_eq!(
            SkipReason::Interrupted.to_string(),
            "the run was interrupted"
        );
        assert_eq!(
            SkipReason::EarlierFailure {
                failed: "01/b".into()
            }
            .to_string(),
            "not run: 01/b failed (use --keep-going to run on)"
        );
        assert_eq!(
            SkipReason::HostKeyRefused.to_string(),
            "not run: a host key check failed"
        );
    }
}
