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
use crate::session::{BatchBlock, Cancel, Sessions, Wanted};
use crate::template::{self, Vars};

/// The most blocks sent to a shell in one batch (`--keep-going`, see
/// [`Executor::run_batch`]): enough that the frame's cost is spread thin, few enough that a
/// batch left by a timeout has little to send again.
const BATCH_MOST: usize = 500;

/// Hosts a block naming several runs on at once, unless `--jobs` says otherwise.
pub(crate) const DEFAULT_JOBS: usize = 8;

/// How the run behaves, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) keep_going: bool,
    /// With `keep_going`, consecutive plain blocks for one shell go to it in one batch (see
    /// [`Executor::run_batch`]).
    pub(crate) batch: bool,
    pub(crate) strict: bool,
    pub(crate) bless: bool,
    /// Hosts a fanned-out block runs on at once.
    pub(crate) jobs: usize,
}

impl RunOptions {
    /// How `runbook step` and `runbook check` run blocks: every block on its own (a failure
    /// does not stop the others, and each is sent alone), without `--strict` or `--bless`,
    /// with `--jobs`' default.
    pub(crate) fn each_block_on_its_own() -> Self {
        RunOptions {
            keep_going: true,
            batch: false,
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

/// How long, all together, the end of a run waits for the last words of the processes blocks
/// left running, once the sweep has ended them (see [`Executor::read_background`]).
const BACKGROUND_LAST_WORDS: std::time::Duration = std::time::Duration::from_millis(500);

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
        let mut index = 0;
        while index < plan.steps.len() {
            let step = &plan.steps[index];
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
            if skip.is_none() && self.options.batch {
                let batched = self.run_batch(index, reporter).await;
                if !batched.is_empty() {
                    index += batched.len();
                    for result in batched {
                        stopped = stop_after(&result, &self.options);
                        results.push(result);
                    }
                    continue;
                }
            }
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
            index += 1;
        }
        let interrupted = self.cancel.requested();
        let mut leftovers = cram_leftovers;
        leftovers.extend(
            self.sessions
                .shutdown_and_sweep(interrupted.is_some())
                .await,
        );
        self.read_background(&mut results).await;
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

    /// Reads what the processes blocks left running printed (see
    /// [`crate::report::model::BackgroundOutput`]), once the sweep has ended them: their last
    /// words may still be on the way, so each gets a moment, [`BACKGROUND_LAST_WORDS`] for
    /// all of them together.
    async fn read_background(&self, results: &mut [StepResult]) {
        let until = tokio::time::Instant::now() + BACKGROUND_LAST_WORDS;
        let attempts = results
            .iter_mut()
            .flat_map(|step| step.hosts.iter_mut())
            .flat_map(|host| host.attempts.iter_mut());
        for attempt in attempts {
            let Some(source) = attempt.background_source.take() else {
                continue;
            };
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            source.wait_end(left).await;
            let snapshot = source.snapshot();
            // A process caught before its own redirection (`cmd >log &` at a block's end)
            // moves the shell for nothing: it prints nothing there, and nothing is shown.
            if snapshot.total_bytes == 0 {
                continue;
            }
            let printed = self
                .redactor
                .apply_bytes_as_printed(&crate::expect::actual::strip_ansi(&snapshot.output));
            let output = crate::expect::actual::ActualOutput::read(
                &printed,
                crate::expect::actual::View::Screen,
            )
            .display();
            attempt.background = Some(crate::report::model::BackgroundOutput {
                output,
                output_bytes: snapshot.total_bytes,
                truncated: snapshot.total_bytes > snapshot.output.len() as u64,
                still_running: !snapshot.ended,
            });
        }
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
        let (result, hosts) = match self.start_step(step, index, reporter) {
            Ok(started) => started,
            Err(result) => return result,
        };
        let run = self.run_on_hosts(step, index, &hosts, reporter).await;
        self.finish_step(step, result, &hosts, run, started, reporter)
    }

    /// A step's start: its hosts, reported; or, when they cannot be told, its result.
    fn start_step(
        &self,
        step: &Step,
        index: usize,
        reporter: &mut dyn Reporter,
    ) -> Result<(StepResult, Vec<String>), StepResult> {
        match self.prepare_step(step) {
            Ok((result, hosts)) => {
                reporter.event(&Event::StepStarted {
                    index,
                    qualified_id: step.qualified_id.clone(),
                    hosts: hosts.clone(),
                });
                Ok((result, hosts))
            }
            Err(result) => {
                reporter.event(&Event::StepStarted {
                    index,
                    qualified_id: step.qualified_id.clone(),
                    hosts: Vec::new(),
                });
                reporter.event(&Event::StepFinished {
                    result: result.clone(),
                });
                Err(result)
            }
        }
    }

    /// What [`Executor::start_step`] reports, unreported: a gated batch tells the shell to run
    /// the next block before reporting the one before, and reports the next one's start after.
    fn prepare_step(&self, step: &Step) -> Result<(StepResult, Vec<String>), StepResult> {
        let mut result = self.blank_result(step);
        let hosts = match self.plan.hosts_of(step, &self.captures, &self.redactor) {
            Ok(hosts) => hosts,
            Err(message) => {
                result.outcome = Outcome::Error;
                result.message = Some(message);
                return Err(result);
            }
        };
        if step.templated
            && let Some(first) = hosts.first()
            && let Action::Run { script } = &step.action
        {
            // Show the command as run on the first host (templates rendered).
            let vars = self.plan.vars_for(Some(first), &self.captures);
            if let Ok(rendered) = template::render(script, &vars) {
                result.command = self.redactor.apply(&rendered);
            }
        }
        Ok((result, hosts))
    }

    /// A step's end once it ran on its hosts: the values captured, the texts `--bless`
    /// writes, the outcome, reported.
    fn finish_step(
        &mut self,
        step: &Step,
        result: StepResult,
        hosts: &[String],
        run: HostsRun,
        started: Instant,
        reporter: &mut dyn Reporter,
    ) -> StepResult {
        let result = self.conclude_step(step, result, hosts, run, started);
        reporter.event(&Event::StepFinished {
            result: result.clone(),
        });
        result
    }

    /// What [`Executor::finish_step`] does but the report: the values captured, the texts
    /// `--bless` writes, the outcome.
    fn conclude_step(
        &mut self,
        step: &Step,
        mut result: StepResult,
        hosts: &[String],
        run: HostsRun,
        started: Instant,
    ) -> StepResult {
        let HostsRun { results, bless } = run;
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
        result
    }

    /// Whether `step` may run in a batch (see [`Executor::run_batch`]) on `host` as `user`,
    /// after a step that runs there: a plain shell block on one known host (no `pty`, SQL or
    /// cram test, no `retry=`), with nothing an earlier block of the batch could change:
    /// no `{{ }}` to fill in from its captures, no captures of its own for a later one.
    fn batchable(step: &Step) -> Option<(&str, Option<&str>)> {
        let HostSpec::Hosts(hosts) = &step.hosts else {
            return None;
        };
        let [host] = hosts.as_slice() else {
            return None;
        };
        let plain = matches!(step.action, Action::Run { .. })
            && !step.pty
            && !step.templated
            && step.retry.is_none()
            && step.cram.is_none()
            && step.psql.is_none()
            && step
                .expectations
                .for_host(host)
                .is_none_or(|expected| expected.capture_names().is_empty());
        plain.then_some((host.as_str(), step.user.as_deref()))
    }

    /// Runs the steps from `first` on that can go in one batch (see [`Executor::batchable`]:
    /// same host and user, same chapter, in a shell already open) as one frame, and reports
    /// each as [`Executor::run_step`] would have, in order, as its end marker comes. Without
    /// `--keep-going` a failing block must stop the run before the next one starts, and only
    /// runbook can tell a block failed (its output is matched here), so the batch is gated:
    /// the shell waits before each block for runbook's word, given once the block before is
    /// judged (one byte, where sending each block alone costs a frame the shell reads a byte
    /// at a time); with `--keep-going` the shell runs the batch through. The steps the shell
    /// did not run (an earlier one of the batch timed out, was interrupted or lost its shell,
    /// or failed in a run that stops there) are left to the run loop, which sends them again
    /// or skips them.
    /// Returns the results of the steps it ran: none when there is no batch to make.
    async fn run_batch(&mut self, first: usize, reporter: &mut dyn Reporter) -> Vec<StepResult> {
        let plan: &'a Plan = self.plan;
        let Some(target) = Self::batchable(&plan.steps[first]) else {
            return Vec::new();
        };
        let chapter = plan.steps[first].chapter;
        let count = plan.steps[first..]
            .iter()
            .take(BATCH_MOST)
            .take_while(|step| step.chapter == chapter && Self::batchable(step) == Some(target))
            .count();
        if count < 2 {
            return Vec::new();
        }
        let steps = &plan.steps[first..first + count];
        let (host, user) = target;
        let user = match user {
            Some(user) => user.to_string(),
            None => self.sessions.default_user(host).unwrap_or_default(),
        };
        let sessions = Arc::clone(&self.sessions);
        let Some(mut lock) = sessions.acquire_open(host, &user).await else {
            return Vec::new();
        };
        let Some(session) = lock.as_mut() else {
            return Vec::new();
        };
        let blocks: Vec<BatchBlock<'_>> = steps
            .iter()
            .map(|step| BatchBlock {
                script: match &step.action {
                    Action::Run { script } => script.as_str(),
                    Action::WriteFile { .. } => "",
                },
                leave: if step.keep_running {
                    crate::session::Leave::Running
                } else {
                    crate::session::Leave::Nothing
                },
            })
            .collect();
        // Without `--keep-going` the shell waits for a word from runbook before each block
        // (see `Session::send_batch`): a block after a failing one must not start.
        let gated = !self.options.keep_going;
        let mut batch = session.send_batch(&blocks, gated).await;
        let mut results = Vec::new();
        let (sender, _receiver) = mpsc::unbounded_channel();
        let permits = tokio::sync::Semaphore::new(1);
        // The next step, started (its shell told to run it) but not yet reported as started.
        let mut next: Option<(StepResult, Vec<String>, Instant)> = None;
        for (offset, step) in steps.iter().enumerate() {
            let index = first + offset;
            // A block the shell will not run is left to the run loop, unreported.
            if !batch.goes_on() {
                break;
            }
            let (result, hosts, started) = if offset == 0 {
                let started = Instant::now();
                // Its hosts are known (one, named): this gives its start, never an error.
                let Ok((result, hosts)) = self.start_step(step, index, reporter) else {
                    break;
                };
                (result, hosts, started)
            } else {
                // The step before did not tell the shell to go on: the run stops there or the
                // run loop takes this step on its own.
                let Some((result, hosts, started)) = next.take() else {
                    break;
                };
                // Reported as started before its end is awaited, as a block sent alone is
                // (the live status line shows it running).
                reporter.event(&Event::StepStarted {
                    index,
                    qualified_id: step.qualified_id.clone(),
                    hosts: hosts.clone(),
                });
                (result, hosts, started)
            };
            let Some(execution) = session
                .next_in_batch(&mut batch, step.timeout, &self.cancel)
                .await
            else {
                break;
            };
            let task = self.host_task(step, host, &permits, &sender);
            let judged = task.judge_execution(1, execution, step.timeout, None);
            let mut host_result = task.blank_result(user.clone());
            host_result.outcome = judged.attempt.outcome;
            host_result.attempts.push(judged.attempt.clone());
            host_result.captures = judged.captures;
            let (host_result, pending) = task.finish(host_result, judged.blessed);
            let run = HostsRun {
                results: vec![host_result],
                bless: pending.into_iter().collect(),
            };
            let result = self.conclude_step(step, result, &hosts, run, started);
            let stop = stop_after(&result, &self.options).is_some();
            // The shell waits for a word before the next block: it gets it the moment this
            // block's verdict is known, and runs that block while this one is reported. Not
            // after an interrupt (the next block does not start and the run loop skips it),
            // nor when the next step's hosts cannot be told (the run loop reports it).
            if !stop
                && offset + 1 < steps.len()
                && batch.goes_on()
                && !(gated && self.cancel.requested().is_some())
                && let Ok((next_result, next_hosts)) = self.prepare_step(&steps[offset + 1])
            {
                let next_started = Instant::now();
                session.go_on(&mut batch).await;
                next = Some((next_result, next_hosts, next_started));
            }
            reporter.event(&Event::AttemptFinished {
                index,
                host: host.to_string(),
                attempt: judged.attempt,
                retrying: false,
            });
            reporter.event(&Event::StepFinished {
                result: result.clone(),
            });
            results.push(result);
            if stop {
                break;
            }
        }
        // A gated batch left before its end (a failure, an interrupt) has its shell waiting
        // for a word: it stops there and reads frames again.
        session.stop_batch(&mut batch).await;
        results
    }

    /// `step` on `host`, with that host's values and expected output, ready to run.
    fn host_task<'t>(
        &'t self,
        step: &'t Step,
        host: &str,
        permits: &'t tokio::sync::Semaphore,
        sender: &mpsc::UnboundedSender<HostMessage>,
    ) -> HostTask<'t> {
        HostTask {
            step,
            host: host.to_string(),
            vars: self.plan.vars_for(Some(host), &self.captures),
            expected: step.expectations.for_host(host),
            sessions: &self.sessions,
            redactor: &self.redactor,
            cancel: self.cancel.clone(),
            bless: self.options.bless,
            permits,
            sender: sender.clone(),
        }
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
            .map(|host| self.host_task(step, host, &permits, &sender))
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
            batch: true,
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
