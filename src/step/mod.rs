//! `runbook step`: a trainee follows the workshop block by block in their own lab. For each
//! block it shows where they are (chapter, section, the prose before it) and the command with
//! its host and user, then waits: Enter runs it, `s` skips it, `t` says "I typed it myself"
//! (runbook then only checks the resulting state), `q` quits. After a run: the output and a
//! pass, or a coloured diff with a hint, and on failure retry, skip or quit. Progress and
//! captured values are saved after every block, so the next `runbook step` resumes there.
//!
//! This front end keeps only what is its own: the state machine (here), the progress file
//! ([`progress`]) and the keys ([`screen`]). Where a block runs and the text it shows come
//! from the plan ([`Plan::shown`], [`Step::read_back`]); every line is drawn by
//! [`crate::report::block`], and a block's result by [`crate::report::result`].

pub(crate) mod progress;
pub(crate) mod screen;

use std::path::PathBuf;

use crate::execute::{Executor, RunOptions};
use crate::lab::Lab;
use crate::plan::{Action as Work, FileWrite, Plan, Step};
use crate::report::block::{self, Header, Notice, What};
use crate::report::model::{Event, Outcome, Reporter, StepResult};
use crate::report::result::Front;
pub(crate) use progress::ProgressError;
use progress::{BlockStatus, Progress};
use screen::{Action, Answer, Offer, Screen};

/// Which blocks a session covers and where it may start.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    /// Indices into the plan's steps, in order: all of them, or the `--chapter`/`--from` part.
    pub(crate) window: Vec<usize>,
    /// `--from` or `--chapter` named where to start: the saved position is not used.
    pub(crate) jumped: bool,
    /// `--restart`: forget the saved progress.
    pub(crate) restart: bool,
}

/// How a session ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The last block of the selection was done.
    Finished,
    /// The trainee quit (or their input ended); progress saved.
    Quit,
    /// SIGINT, SIGTERM, SIGHUP or SIGQUIT (the signal).
    Interrupted(i32),
}

/// What to do after a block.
enum Flow {
    /// Go on at this position of the window.
    Goto(usize),
    Stop(Ending),
}

/// One trainee session.
struct TraineeSession<'a> {
    plan: &'a Plan,
    selection: Selection,
    executor: Executor<'a>,
    lab: &'a Lab,
    screen: Screen,
    progress: Progress,
    progress_path: PathBuf,
}

/// Runs a trainee session over `selection` of `plan`; `progress_path` keeps the progress.
pub(crate) async fn run(
    plan: &Plan,
    selection: Selection,
    lab: &Lab,
    progress_path: PathBuf,
) -> Result<Ending, ProgressError> {
    let workshop = plan
        .workshop
        .dir
        .canonicalize()
        .unwrap_or_else(|_| plan.workshop.dir.clone());
    let screen = Screen::new();
    let progress = if selection.restart {
        Progress::new(&workshop)
    } else {
        let (progress, note) = Progress::load(&progress_path, &workshop)?;
        if let Some(note) = note {
            block::notice(&mut screen.out(), Notice::ProgressNotUsed(&note));
        }
        progress
    };
    let mut executor = Executor::new(
        plan,
        lab.sessions.clone(),
        RunOptions::each_block_on_its_own(),
        lab.redactor.clone(),
        lab.cancel.clone(),
    );
    executor.restore_captures(progress.captures.clone());
    let mut session = TraineeSession {
        plan,
        selection,
        executor,
        lab,
        screen,
        progress,
        progress_path,
    };
    let ending = session.follow().await;
    lab.sessions
        .shutdown(matches!(ending, Ok(Ending::Interrupted(_))))
        .await;
    ending
}

impl<'a> TraineeSession<'a> {
    fn step(&self, position: usize) -> &'a Step {
        let plan: &'a Plan = self.plan;
        &plan.steps[self.selection.window[position]]
    }

    /// Where to begin: the saved position when it is in the selection.
    fn start(&self) -> Option<usize> {
        start(&ids(self.plan), &self.selection, &self.progress)
    }

    async fn follow(&mut self) -> Result<Ending, ProgressError> {
        let total = self.selection.window.len();
        if total == 0 {
            self.notice(Notice::NothingToFollow);
            return Ok(Ending::Finished);
        }
        let Some(mut position) = self.start() else {
            self.notice(Notice::AlreadyAtTheEnd {
                done: self.progress.blocks.len(),
            });
            return Ok(Ending::Finished);
        };
        let done = self.progress.blocks.len();
        if position > 0 && !self.selection.jumped {
            self.notice(Notice::Resuming {
                id: &self.step(position).qualified_id,
                done,
            });
        }
        self.notice(Notice::SavedIn(&self.progress_path));
        loop {
            if position >= total {
                return self.finish().await;
            }
            let flow = self.block(position).await?;
            match flow {
                Flow::Goto(next) => {
                    position = next;
                    self.progress.next = self.id_at(position);
                    self.save()?;
                }
                Flow::Stop(ending) => {
                    self.progress.next = Some(self.step(position).qualified_id.clone());
                    self.save()?;
                    self.notice(Notice::Stopped {
                        id: &self.step(position).qualified_id,
                        interrupted: matches!(ending, Ending::Interrupted(_)),
                    });
                    return Ok(ending);
                }
            }
        }
    }

    /// The id of the block at `position` of the window, or after the window the block of the
    /// whole workshop that follows it (`None` at the very end).
    fn id_at(&self, position: usize) -> Option<String> {
        id_at(&ids(self.plan), &self.selection.window, position).map(str::to_string)
    }

    async fn finish(&mut self) -> Result<Ending, ProgressError> {
        self.save()?;
        let counts = counts(&ids(self.plan), &self.selection.window, &self.progress);
        self.notice(Notice::Finished {
            next: self.progress.next.as_deref(),
            counts: &counts,
        });
        Ok(Ending::Finished)
    }

    fn notice(&self, notice: Notice<'_>) {
        block::notice(&mut self.screen.out(), notice);
    }

    fn save(&mut self) -> Result<(), ProgressError> {
        self.progress.captures = self.executor.captures().clone();
        self.progress.save(&self.progress_path)
    }

    /// Shows the block at `position`, asks, and acts.
    async fn block(&mut self, position: usize) -> Result<Flow, ProgressError> {
        let index = self.selection.window[position];
        self.show_block(index);
        let step = self.step(position);
        let typed_label = if matches!(step.action, Work::WriteFile { .. }) {
            "I wrote the file myself"
        } else {
            "I typed it myself"
        };
        let run_label = match (&step.action, step.check) {
            (
                Work::WriteFile {
                    how: FileWrite::Append,
                    ..
                },
                _,
            ) => "add it",
            (Work::WriteFile { .. }, _) => "write it",
            (_, true) => "check",
            _ if step.pty => "run it, runbook typing the answers",
            _ => "run",
        };
        let typed_label = if step.pty {
            "I typed it and its answers myself"
        } else {
            typed_label
        };
        let offers = [
            Offer::enter(Action::Run, run_label),
            Offer::key('s', Action::Skip, "skip"),
            Offer::key('t', Action::Typed, typed_label),
            Offer::key('q', Action::Quit, "quit"),
        ];
        match self.screen.ask(&offers, &self.lab.cancel).await {
            Answer::Chose(Action::Run) => self.run_block(position).await,
            Answer::Chose(Action::Skip) => {
                self.progress
                    .record(&self.step(position).qualified_id, BlockStatus::Skipped);
                Ok(Flow::Goto(position + 1))
            }
            Answer::Chose(Action::Typed) => self.typed(position).await,
            Answer::Chose(Action::Quit | Action::Retry) | Answer::EndOfInput => {
                Ok(Flow::Stop(Ending::Quit))
            }
            Answer::Interrupted => Ok(Flow::Stop(self.interrupted())),
        }
    }

    fn interrupted(&self) -> Ending {
        Ending::Interrupted(self.lab.cancel.requested().unwrap_or(libc::SIGINT))
    }

    /// Enter: runbook runs the block; on failure the trainee retries, skips or quits.
    async fn run_block(&mut self, position: usize) -> Result<Flow, ProgressError> {
        let index = self.selection.window[position];
        loop {
            let result = self.execute(&self.plan.steps[index], index).await;
            if result.outcome == Outcome::Interrupted || self.lab.cancel.requested().is_some() {
                return Ok(Flow::Stop(self.interrupted()));
            }
            self.show_result(self.plan.steps[index].check, &result);
            if let Some(status) = status_after_run(result.outcome) {
                self.progress
                    .record(&self.plan.steps[index].qualified_id, status);
                return Ok(Flow::Goto(position + 1));
            }
            let id = &self.plan.steps[index].qualified_id;
            let failed = Some(BlockStatus::Failed);
            if let Some(flow) = self.after_failure("retry", id, position, failed).await {
                return Ok(flow);
            }
        }
    }

    /// After a failure: `r` (`retry_label`) tries again (`None`), `s` skips the block `id` at
    /// `position`, `q` quits, recording the block as `quit_status` if given.
    async fn after_failure(
        &mut self,
        retry_label: &'static str,
        id: &str,
        position: usize,
        quit_status: Option<BlockStatus>,
    ) -> Option<Flow> {
        let offers = [
            Offer::key('r', Action::Retry, retry_label),
            Offer::key('s', Action::Skip, "skip"),
            Offer::key('q', Action::Quit, "quit"),
        ];
        match self.screen.ask(&offers, &self.lab.cancel).await {
            Answer::Chose(Action::Retry) => None,
            Answer::Chose(Action::Skip) => {
                self.progress.record(id, BlockStatus::Skipped);
                Some(Flow::Goto(position + 1))
            }
            Answer::Interrupted => Some(Flow::Stop(self.interrupted())),
            _ => {
                if let Some(status) = quit_status {
                    self.progress.record(id, status);
                }
                Some(Flow::Stop(Ending::Quit))
            }
        }
    }

    /// `t`: the trainee did it in their own terminal; runbook checks the state it should have
    /// left. A `file=` block: the file on the host must hold the block's content. A `check`
    /// block: it is read-only, so it is simply run. A command: the `check` blocks right after
    /// it are run; without any, nothing can be checked and the block is marked so.
    async fn typed(&mut self, position: usize) -> Result<Flow, ProgressError> {
        let index = self.selection.window[position];
        let plan: &'a Plan = self.plan;
        let step = &plan.steps[index];
        let probe = if let Some(read_back) = step.read_back() {
            self.notice(Notice::ReadingBack);
            Probe::ReadBack(read_back)
        } else if step.check {
            Probe::Checks(vec![index])
        } else {
            let checks = checks_after(&plan.steps, index);
            if checks.is_empty() {
                self.notice(Notice::Unchecked);
                self.progress
                    .record(&step.qualified_id, BlockStatus::TypedUnchecked);
                return Ok(Flow::Goto(position + 1));
            }
            let names: Vec<&str> = checks
                .iter()
                .map(|&i| plan.steps[i].qualified_id.as_str())
                .collect();
            self.notice(Notice::Checking(&names));
            Probe::Checks(checks)
        };
        loop {
            let mut all_passed = true;
            let probes: Vec<(&Step, usize)> = match &probe {
                Probe::ReadBack(read) => vec![(read, index)],
                Probe::Checks(checks) => checks.iter().map(|&i| (&plan.steps[i], i)).collect(),
            };
            for (probe_step, probe_index) in probes {
                let result = self.execute(probe_step, probe_index).await;
                if result.outcome == Outcome::Interrupted || self.lab.cancel.requested().is_some() {
                    return Ok(Flow::Stop(self.interrupted()));
                }
                self.show_result(true, &result);
                if !matches!(result.outcome, Outcome::Passed | Outcome::Unverified) {
                    all_passed = false;
                    break;
                }
            }
            if all_passed {
                self.progress.record(&step.qualified_id, BlockStatus::Typed);
                let mut next = position + 1;
                if let Probe::Checks(checks) = &probe {
                    for &check in checks {
                        if check != index {
                            let id = plan.steps[check].qualified_id.clone();
                            self.progress.record(&id, BlockStatus::Passed);
                        }
                        // The checks already ran: move past them.
                        if self.selection.window.get(next) == Some(&check) {
                            next += 1;
                        }
                    }
                }
                return Ok(Flow::Goto(next));
            }
            let id = &step.qualified_id;
            if let Some(flow) = self.after_failure("check again", id, position, None).await {
                return Ok(flow);
            }
        }
    }

    /// Runs `step` (the plan's step `index`, or the read-back probe made from it) with the
    /// values captured so far; keeps what it captures.
    async fn execute(&mut self, step: &Step, index: usize) -> StepResult {
        let mut live = Live {
            screen: &self.screen,
        };
        self.executor.run_step(step, index, &mut live).await
    }

    /// The header of a block: where the trainee is, the prose before it, what will run where.
    fn show_block(&self, index: usize) {
        let step = &self.plan.steps[index];
        let block = self.plan.block_of(step);
        let chapter = self.plan.chapter_of(step);
        let shown = self
            .plan
            .shown(step, self.executor.captures(), &self.lab.redactor);
        let user = step.user.clone().or_else(|| {
            let first = shown.hosts.first()?;
            self.lab.sessions.default_user(first)
        });
        let database = step.psql.as_ref().and_then(|psql| psql.database());
        let what = match &step.action {
            Work::Run { .. } => match &step.psql {
                Some(_) => What::Sql {
                    check: step.check,
                    database: database.as_deref(),
                },
                None => What::Run { check: step.check },
            },
            Work::WriteFile {
                mode, owner, how, ..
            } => What::File {
                path: shown.path.as_deref().unwrap_or_default(),
                append: *how == FileWrite::Append,
                mode: *mode,
                owner: owner.as_deref(),
            },
        };
        let header = Header {
            chapter_number: step.chapter + 1,
            chapters: self.plan.workshop.chapters.len(),
            chapter_title: &chapter.title,
            block_number: index + 1,
            blocks: self.plan.steps.len(),
            section: block.section.as_deref(),
            context: &block.context,
            what,
            place: &shown.place,
            user: user.as_deref(),
            id: &step.qualified_id,
            file: &step.file,
            line: step.line,
            body: &shown.body,
            questions: &shown.questions,
            width: usize::from(console::Term::stdout().size().1),
        };
        block::header(&mut self.screen.out(), &header);
    }

    /// After a run: the output per host, then a pass or the failure with its diff and a hint.
    fn show_result(&self, check: bool, result: &StepResult) {
        crate::report::result::draw(&mut self.screen.out(), Front::Step { check }, result);
    }
}

/// Every step's id (`chapter/id`), in the plan's order.
fn ids(plan: &Plan) -> Vec<&str> {
    plan.steps
        .iter()
        .map(|step| step.qualified_id.as_str())
        .collect()
}

/// Where a session begins in `selection.window` (positions into it; `ids`: every step's id):
/// the first block with `--restart` or after a jump; else the saved next block when it is in
/// the window; `None` when an earlier session reached the end; else (the saved block is gone,
/// its chapter changed) the first block not done yet.
fn start(ids: &[&str], selection: &Selection, progress: &Progress) -> Option<usize> {
    let window = &selection.window;
    if selection.jumped || selection.restart {
        return Some(0);
    }
    if let Some(next) = &progress.next
        && let Some(position) = window.iter().position(|&index| ids[index] == next)
    {
        return Some(position);
    }
    if progress.next.is_none() && !progress.blocks.is_empty() {
        return None;
    }
    Some(
        window
            .iter()
            .position(|&index| !progress.blocks.contains_key(ids[index]))
            .unwrap_or(0),
    )
}

/// The id of the block at `position` of `window`, or past the window the block of the whole
/// workshop that follows it, where the next session goes on (`None` at the very end).
fn id_at<'p>(ids: &[&'p str], window: &[usize], position: usize) -> Option<&'p str> {
    if let Some(&index) = window.get(position) {
        return Some(ids[index]);
    }
    ids.get(*window.last()? + 1).copied()
}

/// How many blocks of `window` ended with each status, by label, in the labels' order.
fn counts(ids: &[&str], window: &[usize], progress: &Progress) -> Vec<(&'static str, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for &index in window {
        if let Some(record) = progress.blocks.get(ids[index]) {
            *counts.entry(record.status.label()).or_insert(0usize) += 1;
        }
    }
    counts.into_iter().collect()
}

/// What a run that ended with `outcome` records, or `None`: it failed, and the trainee
/// chooses (retry, skip, quit).
fn status_after_run(outcome: Outcome) -> Option<BlockStatus> {
    match outcome {
        Outcome::Passed | Outcome::Blessed => Some(BlockStatus::Passed),
        Outcome::Unverified => Some(BlockStatus::Unverified),
        _ => None,
    }
}

/// What `t` runs after a command the trainee typed (the step `index`): the `check` blocks
/// right after it in its chapter, by index.
fn checks_after(steps: &[Step], index: usize) -> Vec<usize> {
    let chapter = steps[index].chapter;
    (index + 1..steps.len())
        .take_while(|&i| steps[i].check && steps[i].chapter == chapter)
        .collect()
}

/// Shows progress while a block runs: where it started, and retries.
struct Live<'s> {
    screen: &'s Screen,
}

impl Reporter for Live<'_> {
    fn event(&mut self, event: &Event) {
        block::live(&mut self.screen.out(), event);
    }
}

/// What `t` checks after a block the trainee did themselves.
enum Probe {
    /// The file a `file=` block writes, read back and compared with the block's content.
    ReadBack(Step),
    /// Read-only steps of the plan, by index: the block itself when it is a check, or the
    /// checks that follow it.
    Checks(Vec<usize>),
}

#[cfg(test)]
mod tests {
    //! The session's decisions, without a lab or a terminal: where it starts, where the next
    //! session goes on, the counts at the end, what a run records and what `t` checks.

    use super::*;

    const IDS: [&str; 4] = [
        "01-etcd/install",
        "01-etcd/members",
        "02-pg/init",
        "02-pg/list",
    ];

    fn selection(window: &[usize], jumped: bool, restart: bool) -> Selection {
        Selection {
            window: window.to_vec(),
            jumped,
            restart,
        }
    }

    /// Progress that says `next` comes next, `done` blocks passed.
    fn progress(next: Option<&str>, done: &[&str]) -> Progress {
        let mut progress = Progress::new(std::path::Path::new("/workshop"));
        progress.next = next.map(str::to_string);
        for id in done {
            progress.record(id, BlockStatus::Passed);
        }
        progress
    }

    #[test]
    fn a_session_resumes_at_the_saved_block_or_the_first_not_done() {
        let all = selection(&[0, 1, 2, 3], false, false);
        assert_eq!(start(&IDS, &all, &progress(None, &[])), Some(0), "fresh");
        let saved = progress(Some("02-pg/init"), &IDS[..2]);
        assert_eq!(start(&IDS, &all, &saved), Some(2));
        // A position counts in the window, not in the workshop.
        assert_eq!(
            start(&IDS, &selection(&[2, 3], false, false), &saved),
            Some(0)
        );
        // --restart and a jump (--from, --chapter) start at the window's first block.
        assert_eq!(
            start(&IDS, &selection(&[0, 1, 2, 3], false, true), &saved),
            Some(0)
        );
        assert_eq!(
            start(&IDS, &selection(&[1, 2, 3], true, false), &saved),
            Some(0)
        );
        // The saved block is gone (its chapter changed): the first block not done.
        let gone = progress(Some("02-pg/renamed"), &IDS[..1]);
        assert_eq!(start(&IDS, &all, &gone), Some(1));
        // An earlier session reached the end.
        assert_eq!(start(&IDS, &all, &progress(None, &IDS)), None);
    }

    #[test]
    fn past_its_window_a_session_names_the_workshops_next_block() {
        let window = [1, 2];
        assert_eq!(id_at(&IDS, &window, 0), Some("01-etcd/members"));
        assert_eq!(id_at(&IDS, &window, 1), Some("02-pg/init"));
        assert_eq!(id_at(&IDS, &window, 2), Some("02-pg/list"));
        assert_eq!(id_at(&IDS, &[2, 3], 2), None, "the end of the workshop");
        assert_eq!(id_at(&IDS, &[], 0), None);
    }

    #[test]
    fn the_end_counts_the_windows_blocks_by_what_became_of_them() {
        let mut done = progress(None, &["01-etcd/install", "02-pg/init"]);
        done.record("01-etcd/members", BlockStatus::Skipped);
        done.record("02-pg/list", BlockStatus::TypedUnchecked);
        assert_eq!(
            counts(&IDS, &[0, 1, 2, 3], &done),
            [("passed", 2), ("skipped", 1), ("typed, not checked", 1)]
        );
        // Blocks outside the window are not this session's.
        assert_eq!(counts(&IDS, &[2], &done), [("passed", 1)]);
    }

    #[test]
    fn a_run_records_a_pass_and_leaves_a_failure_to_the_trainee() {
        assert_eq!(status_after_run(Outcome::Passed), Some(BlockStatus::Passed));
        assert_eq!(
            status_after_run(Outcome::Blessed),
            Some(BlockStatus::Passed)
        );
        assert_eq!(
            status_after_run(Outcome::Unverified),
            Some(BlockStatus::Unverified)
        );
        for failed in [
            Outcome::Mismatch,
            Outcome::Exit,
            Outcome::Timeout,
            Outcome::Unreachable,
            Outcome::Error,
        ] {
            assert_eq!(status_after_run(failed), None, "{failed:?}");
        }
    }

    #[test]
    fn typing_a_command_checks_the_checks_right_after_it_in_its_chapter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let workshop = dir.path().join("workshop");
        std::fs::create_dir_all(&workshop).expect("mkdir");
        std::fs::write(
            workshop.join("01-etcd.md"),
            "# etcd\n\n```bash id=install\napt install etcd\n```\n\n```bash id=running check\nsystemctl is-active etcd\n```\n\n```bash id=members check\netcdctl member list\n```\n\n```bash id=tune\necho tuned\n```\n",
        )
        .expect("write");
        std::fs::write(
            workshop.join("02-pg.md"),
            "# PostgreSQL\n\n```bash id=ready check\npg_isready\n```\n",
        )
        .expect("write");
        let plan = crate::plan::build(&crate::plan::PlanOptions::for_workshop(&workshop))
            .expect("a valid workshop");
        let ids = ids(&plan);
        let names = |checks: Vec<usize>| -> Vec<&str> { checks.iter().map(|&i| ids[i]).collect() };
        assert_eq!(
            names(checks_after(&plan.steps, 0)),
            ["01-etcd/running", "01-etcd/members"]
        );
        // The check that opens the next chapter is that chapter's, not this command's.
        assert!(checks_after(&plan.steps, 3).is_empty());
    }
}
