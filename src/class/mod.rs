//! A class of labs: `runbook check --class ROSTER` looks at every trainee's lab at once with
//! the course's chapter-end checks, and says how far each lab got, which check stops it, and
//! which lab cannot be reached. Outcomes are data ([`LabState`]); the views are drawn by
//! [`crate::report::class_view`].
//!
//! - [`roster`]: the roster file, read and checked before anything connects;
//! - this module: one plan per lab ([`plan_labs`]), the labs looked at concurrently
//!   ([`look`]), and what a watch keeps between two looks ([`Watch`]).

pub(crate) mod roster;

use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::check::{chapter_states, reached};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::execute::{Executor, RunOptions};
use crate::inventory::{LOCAL_HOST, TransportKind};
use crate::plan::{Plan, PlanOptions};
use crate::report::check_view::ChapterState;
use crate::report::model::{Event, Outcome, Reporter, RunReport};
use crate::session::SessionSettings;
use roster::{Roster, Trainee};

/// Labs looked at at once unless `--labs` says otherwise: each costs a few ssh and bash
/// processes here and on its hosts, and a class is rarely bigger (see the README's "A class").
pub(crate) const DEFAULT_LABS_AT_ONCE: usize = 32;

/// One trainee's lab, planned: its checks on its own hosts.
#[derive(Debug)]
pub(crate) struct Lab {
    pub(crate) trainee: Trainee,
    pub(crate) plan: Plan,
}

/// Plans every trainee's lab: the course's checks, with the trainee's inventory and variables,
/// and their hosts reached through the trainee's machine where the roster names one. Every
/// problem of every lab is returned at once (a course problem once, not once per trainee).
pub(crate) fn plan_labs(roster: &Roster, base: &PlanOptions) -> Result<Vec<Lab>, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut labs = Vec::new();
    for trainee in &roster.trainees {
        let options = PlanOptions {
            inventory: trainee.inventory.clone().or_else(|| base.inventory.clone()),
            host_overrides: trainee.vars.clone(),
            ..base.clone()
        };
        match crate::plan::build(&options) {
            Ok(mut plan) => match reach_through(&mut plan, trainee, &roster.path) {
                Ok(()) => labs.push(Lab {
                    trainee: trainee.clone(),
                    plan,
                }),
                Err(problem) => problems.push(problem),
            },
            Err(found) => {
                for problem in found.0 {
                    if !problems.0.contains(&problem) {
                        problems.push(problem);
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(labs)
    } else {
        Err(problems)
    }
}

/// With a jump, the trainee's machine is the course's lab machine: `localhost` becomes that
/// machine, and every SSH host is reached through it (as the trainee reaches them, from it).
fn reach_through(plan: &mut Plan, trainee: &Trainee, roster: &Path) -> Result<(), Diagnostic> {
    let Some(jump) = &trainee.jump else {
        return Ok(());
    };
    for host in &mut plan.inventory.hosts {
        match host.transport {
            TransportKind::Local if host.name == LOCAL_HOST => {
                host.transport = TransportKind::Ssh;
                host.address = Some(jump.address.clone());
                host.port = jump.port;
                host.user = jump.user.clone();
                // The roster's variables reach it as they reach every host (its own inventory
                // entry, if any, was for the local machine).
                host.key_file = host
                    .vars
                    .get("ansible_ssh_private_key_file")
                    .map(std::path::PathBuf::from);
            }
            TransportKind::Ssh => {
                if host.jump.is_none() {
                    host.jump = Some(jump.clone());
                }
            }
            TransportKind::Local | TransportKind::Lxc | TransportKind::Docker => {
                return Err(Diagnostic::new(
                    roster,
                    trainee.line,
                    format!(
                        "`{}`'s lab has host `{}`, reached without SSH, which a jump cannot reach",
                        trainee.name, host.name
                    ),
                )
                .hint("reach the lab's hosts over SSH (`runbook_transport: ssh`), or give this trainee an inventory of their own"));
            }
        }
    }
    Ok(())
}

/// Why a host of a lab gave no shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Unanswered {
    pub(crate) host: String,
    pub(crate) why: String,
}

/// The first check of a lab that did not pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FirstFailure {
    /// `chapter/id`, as `runbook list` shows it.
    pub(crate) check: String,
    pub(crate) outcome: Outcome,
    /// Why, in a sentence.
    pub(crate) message: Option<String>,
}

/// What one look at one lab found.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LabState {
    pub(crate) trainee: String,
    /// Every chapter of the course, with its checks' results.
    #[serde(skip)]
    pub(crate) chapters: Vec<ChapterState>,
    /// The last chapter of the unbroken run of reached chapters (index into `chapters`).
    #[serde(skip)]
    pub(crate) reached: Option<usize>,
    /// Chapters (indices into `chapters`) with a check whose host gave no shell: what they
    /// would say is not known.
    #[serde(skip)]
    pub(crate) unknown: Vec<usize>,
    pub(crate) first_failure: Option<FirstFailure>,
    /// Hosts that gave no shell: the lab is down, frozen or refusing.
    pub(crate) unreachable: Vec<Unanswered>,
    #[serde(skip)]
    pub(crate) took: Duration,
}

impl LabState {
    fn from_report(trainee: &str, plan: &Plan, report: &RunReport, took: Duration) -> Self {
        let chapters = chapter_states(plan, report);
        let steps = || report.chapters.iter().flat_map(|chapter| &chapter.steps);
        let first_failure = steps()
            .find(|step| !matches!(step.outcome, Outcome::Passed | Outcome::Unverified))
            .map(|step| FirstFailure {
                check: step.qualified_id.clone(),
                outcome: step.outcome,
                message: step.message.clone(),
            });
        let mut unreachable: Vec<Unanswered> = Vec::new();
        for host in steps().flat_map(|step| &step.hosts) {
            if !did_not_answer(host) || unreachable.iter().any(|known| known.host == host.host) {
                continue;
            }
            let why = host
                .last_attempt()
                .and_then(|attempt| attempt.message.clone())
                .unwrap_or_else(|| "no shell".into());
            unreachable.push(Unanswered {
                host: host.host.clone(),
                why,
            });
        }
        let unknown = chapters
            .iter()
            .enumerate()
            .filter(|(_, chapter)| {
                report
                    .chapters
                    .iter()
                    .filter(|run| run.key == chapter.key)
                    .flat_map(|run| &run.steps)
                    .any(|step| step.hosts.iter().any(did_not_answer))
            })
            .map(|(index, _)| index)
            .collect();
        LabState {
            trainee: trainee.to_string(),
            reached: reached(&chapters),
            unknown,
            chapters,
            first_failure,
            unreachable,
            took,
        }
    }
}

/// Opens a shell on every host the lab's checks run on, side by side, and returns those that
/// gave none. A lab with a host that does not answer is shown as unreachable without running
/// its checks: a check on the lab machine that reaches the frozen host itself (`ssh pg-1`,
/// `patronictl`) would wait for its whole timeout. The shells opened stay for the checks.
async fn reach_every_host(plan: &Plan, sessions: &crate::session::Sessions) -> Vec<Unanswered> {
    let mut hosts: Vec<&str> = Vec::new();
    for step in &plan.steps {
        if let crate::plan::HostSpec::Hosts(names) = &step.hosts {
            for name in names {
                if !hosts.contains(&name.as_str()) {
                    hosts.push(name);
                }
            }
        }
    }
    let found: RefCell<Vec<(usize, Unanswered)>> = RefCell::new(Vec::new());
    crate::join::join_all(hosts.iter().enumerate().map(|(order, host)| {
        let found = &found;
        async move {
            if let Err(error) = sessions.acquire(host, None).await
                && !error.host_answered()
            {
                found.borrow_mut().push((
                    order,
                    Unanswered {
                        host: (*host).to_string(),
                        why: error.to_string(),
                    },
                ));
            }
        }
    }))
    .await;
    let mut found = found.into_inner();
    found.sort_by_key(|(order, _)| *order);
    found
        .into_iter()
        .map(|(_, unanswered)| unanswered)
        .collect()
}

/// Whether the host gave no answer at all (down, frozen, refusing the login): a host that
/// answered but could not give the block's user a shell (`postgres` before PostgreSQL is
/// installed) is a lab that is not there yet, shown as a failing check.
fn did_not_answer(host: &crate::report::model::HostResult) -> bool {
    host.outcome == Outcome::Unreachable
        && host.last_attempt().is_none_or(|attempt| {
            attempt.unreachable != Some(crate::report::model::Unreachable::ShellRefused)
        })
}

impl LabState {
    /// A lab with hosts that gave no shell: its checks were not run, so no chapter is known.
    fn unreachable(
        trainee: &str,
        plan: &Plan,
        unreachable: Vec<Unanswered>,
        took: Duration,
    ) -> Self {
        let chapters: Vec<ChapterState> = plan
            .workshop
            .chapters
            .iter()
            .enumerate()
            .map(|(index, chapter)| ChapterState {
                key: chapter.key.clone(),
                title: chapter.title.clone(),
                checks: plan
                    .steps
                    .iter()
                    .filter(|step| step.chapter == index)
                    .count(),
                passed: 0,
                first_failure: None,
            })
            .collect();
        let unknown = (0..chapters.len())
            .filter(|&index| chapters[index].checks > 0)
            .collect();
        LabState {
            trainee: trainee.to_string(),
            chapters,
            reached: None,
            unknown,
            first_failure: None,
            unreachable,
            took,
        }
    }
}

/// Takes nothing from a lab's run but its end: the class view draws the labs together, and
/// catch-up's look at a lab only needs its chapters' states.
#[derive(Debug)]
pub(crate) struct Quiet;

impl Reporter for Quiet {
    fn event(&mut self, _event: &Event) {}
}

/// How the labs are looked at.
#[derive(Debug, Clone)]
pub(crate) struct LookOptions {
    pub(crate) settings: SessionSettings,
    pub(crate) secrets: Vec<String>,
    /// The most labs looked at at once.
    pub(crate) at_once: usize,
}

/// The labs of a class, ready to be looked at (again): each with its sessions, which keep
/// their SSH connections from one look to the next under `--watch`.
#[derive(Debug)]
pub(crate) struct Class<'l> {
    labs: &'l [Lab],
    prepared: Vec<crate::lab::Lab>,
    at_once: usize,
}

impl<'l> Class<'l> {
    /// Prepares every lab (secrets, sessions): everything that can be refused is refused
    /// here, before the first lab is contacted.
    pub(crate) fn prepare(
        labs: &'l [Lab],
        workshop_dir: &Path,
        options: &LookOptions,
    ) -> Result<Self, Diagnostics> {
        let settings = SessionSettings {
            contain: true,
            one_connect_attempt: true,
            keep_connections: true,
            ..options.settings.clone()
        };
        let prepared = labs
            .iter()
            .map(|lab| {
                crate::lab::prepare(&lab.plan, workshop_dir, &options.secrets, settings.clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Class {
            labs,
            prepared,
            at_once: options.at_once.max(1),
        })
    }

    /// Runs every lab's checks, at most `at_once` labs at a time, each check once; returns
    /// the labs' states in the roster's order. A lab's hosts get one connection each, reused
    /// by its checks (and by the next look); a host that cannot be reached is not tried again
    /// in this look (it costs one connect timeout).
    pub(crate) async fn look(&self) -> Vec<LabState> {
        let states: RefCell<Vec<Option<LabState>>> = RefCell::new(vec![None; self.labs.len()]);
        let gate = tokio::sync::Semaphore::new(self.at_once);
        let looks =
            self.labs
                .iter()
                .zip(&self.prepared)
                .enumerate()
                .map(|(index, (lab, prepared))| {
                    let states = &states;
                    let gate = &gate;
                    async move {
                        let Ok(_turn) = gate.acquire().await else {
                            return;
                        };
                        prepared.sessions.forget_unreachable();
                        let started = Instant::now();
                        let unanswered = reach_every_host(&lab.plan, &prepared.sessions).await;
                        if !unanswered.is_empty() {
                            let state = LabState::unreachable(
                                &lab.trainee.name,
                                &lab.plan,
                                unanswered,
                                started.elapsed(),
                            );
                            states.borrow_mut()[index] = Some(state);
                            return;
                        }
                        let mut executor = Executor::new(
                            &lab.plan,
                            prepared.sessions.clone(),
                            RunOptions::each_block_on_its_own(),
                            prepared.redactor.clone(),
                            prepared.cancel.clone(),
                        );
                        let report = executor.run_all(&mut Quiet).await;
                        let state = LabState::from_report(
                            &lab.trainee.name,
                            &lab.plan,
                            &report,
                            started.elapsed(),
                        );
                        states.borrow_mut()[index] = Some(state);
                    }
                });
        crate::join::join_all(looks).await;
        states.into_inner().into_iter().flatten().collect()
    }

    /// Closes every lab's SSH connections.
    pub(crate) async fn close(&self) {
        crate::join::join_all(
            self.prepared
                .iter()
                .map(|prepared| prepared.sessions.close_connections()),
        )
        .await;
    }
}

/// What a watch remembers between looks: since when each trainee's lab has been at the
/// chapter it is at.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    since: std::collections::HashMap<String, (Option<usize>, Instant)>,
}

impl Watch {
    /// Notes this look's chapters; returns, per lab in order, how long it has not moved.
    pub(crate) fn note(&mut self, states: &[LabState], now: Instant) -> Vec<Duration> {
        states
            .iter()
            .map(|state| {
                let entry = self
                    .since
                    .entry(state.trainee.clone())
                    .or_insert((state.reached, now));
                // An unreachable lab says nothing about its progress: it keeps its time.
                if state.unreachable.is_empty() && entry.0 != state.reached {
                    *entry = (state.reached, now);
                }
                now.saturating_duration_since(entry.1)
            })
            .collect()
    }
}

/// The labs to point out: still for at least `after` while most of the class (more than half
/// of the labs that answered) is further on. A lab alone at its chapter is not stuck for being
/// slow if most are behind it or with it.
pub(crate) fn stuck(states: &[LabState], still: &[Duration], after: Duration) -> Vec<bool> {
    let answered: Vec<&LabState> = states
        .iter()
        .filter(|state| state.unreachable.is_empty())
        .collect();
    let rank = |reached: Option<usize>| reached.map_or(0, |index| index + 1);
    states
        .iter()
        .zip(still)
        .map(|(state, still)| {
            let ahead = answered
                .iter()
                .filter(|other| rank(other.reached) > rank(state.reached))
                .count();
            // An unreachable lab's chapter is not known: it is shown as unreachable instead.
            state.unreachable.is_empty() && *still >= after && ahead * 2 > answered.len()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(trainee: &str, reached: Option<usize>, unreachable: bool) -> LabState {
        LabState {
            trainee: trainee.into(),
            chapters: Vec::new(),
            reached,
            unknown: Vec::new(),
            first_failure: None,
            unreachable: if unreachable {
                vec![Unanswered {
                    host: "pg-1".into(),
                    why: "down".into(),
                }]
            } else {
                Vec::new()
            },
            took: Duration::ZERO,
        }
    }

    #[test]
    fn a_lab_is_still_since_its_chapter_last_changed_and_unreachable_keeps_its_time() {
        let mut watch = Watch::default();
        let start = Instant::now();
        let minute = Duration::from_secs(60);
        let first = [state("a", Some(1), false), state("b", Some(1), false)];
        assert_eq!(watch.note(&first, start), [Duration::ZERO, Duration::ZERO]);
        let second = [state("a", Some(2), false), state("b", None, true)];
        assert_eq!(
            watch.note(&second, start + minute),
            [Duration::ZERO, minute]
        );
        let third = [state("a", Some(2), false), state("b", Some(1), false)];
        assert_eq!(
            watch.note(&third, start + 3 * minute),
            [2 * minute, 3 * minute]
        );
    }

    #[test]
    fn stuck_means_still_long_enough_while_most_of_the_class_is_ahead() {
        let after = Duration::from_secs(600);
        let long = Duration::from_secs(900);
        let short = Duration::from_secs(60);
        let states = [
            state("behind", Some(0), false),
            state("a", Some(2), false),
            state("b", Some(3), false),
            state("down", None, true),
        ];
        // Two of the three that answered are ahead of `behind`: more than half.
        assert_eq!(
            stuck(&states, &[long, long, long, long], after),
            [true, false, false, false]
        );
        assert_eq!(
            stuck(&states, &[short, long, long, long], after),
            [false; 4]
        );
        // Half the class level with it: not stuck.
        let level = [state("x", Some(1), false), state("y", Some(1), false)];
        assert_eq!(stuck(&level, &[long, long], after), [false, false]);
    }
}
