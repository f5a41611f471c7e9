//! `runbook step`: a trainee follows the workshop block by block in their own lab. For each
//! block it shows where they are (chapter, section, the prose before it) and the command with
//! its host and user, then waits: Enter runs it, `s` skips it, `t` says "I typed it myself"
//! (runbook then only checks the resulting state), `q` quits. After a run: the output and a
//! pass, or a coloured diff with a hint, and on failure retry, skip or quit. Progress and
//! captured values are saved after every block, so the next `runbook step` resumes there.

pub(crate) mod progress;
pub(crate) mod screen;

use std::path::PathBuf;

use console::Style;

use crate::chapter::attrs::ExpectedExit;
use crate::execute::{Executor, RunOptions};
use crate::expect::pattern::{Expected, LineKind, Matcher, Origin, PatternLine};
use crate::lab::Lab;
use crate::plan::{Action as Work, Expectations, HostSpec, Plan, Step};
use crate::report::failure::{self, Layout};
use crate::report::model::{Event, Outcome, Reporter, StepKind, StepResult};
use crate::template;
pub(crate) use progress::ProgressError;
use progress::{BlockStatus, Progress};
use screen::{Action, Answer, Offer, Screen};

/// Output lines shown after a run (the last ones); the rest is summarised.
const OUTPUT_LINES: usize = 30;

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
            screen.line(Style::new().yellow().apply_to(note));
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
        let window = &self.selection.window;
        if self.selection.jumped || self.selection.restart {
            return Some(0);
        }
        if let Some(next) = &self.progress.next
            && let Some(position) = window
                .iter()
                .position(|&index| self.plan.steps[index].qualified_id == *next)
        {
            return Some(position);
        }
        if self.progress.next.is_none() && !self.progress.blocks.is_empty() {
            // The end was reached in an earlier session.
            return None;
        }
        // The saved block is gone (the chapter changed): the first block not done yet.
        Some(
            window
                .iter()
                .position(|&index| {
                    !self
                        .progress
                        .blocks
                        .contains_key(&self.plan.steps[index].qualified_id)
                })
                .unwrap_or(0),
        )
    }

    async fn follow(&mut self) -> Result<Ending, ProgressError> {
        let total = self.selection.window.len();
        if total == 0 {
            self.screen.line("No block to follow in this selection.");
            return Ok(Ending::Finished);
        }
        let Some(mut position) = self.start() else {
            self.screen.line(format!(
                "You reached the end of this workshop ({} blocks done). `runbook step --restart` starts again; `--from ID` or `--chapter NAME` jumps to a block.",
                self.progress.blocks.len()
            ));
            return Ok(Ending::Finished);
        };
        let done = self.progress.blocks.len();
        if position > 0 && !self.selection.jumped {
            self.screen.line(format!(
                "Resuming at {} ({done} blocks done; `--restart` starts again).",
                Style::new()
                    .bold()
                    .apply_to(&self.step(position).qualified_id)
            ));
        }
        self.screen.line(Style::new().dim().apply_to(format!(
            "Progress is saved in {} after every block.",
            self.progress_path.display()
        )));
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
                    self.screen.blank();
                    let how = match ending {
                        Ending::Interrupted(_) => "Interrupted",
                        _ => "Stopped",
                    };
                    self.screen.line(format!(
                        "{how} at {}. Progress saved: `runbook step` resumes there.",
                        Style::new()
                            .bold()
                            .apply_to(&self.step(position).qualified_id)
                    ));
                    return Ok(ending);
                }
            }
        }
    }

    /// The id of the block at `position` of the window, or after the window the block of the
    /// whole workshop that follows it (`None` at the very end).
    fn id_at(&self, position: usize) -> Option<String> {
        if let Some(&index) = self.selection.window.get(position) {
            return Some(self.plan.steps[index].qualified_id.clone());
        }
        let last = *self.selection.window.last()?;
        self.plan
            .steps
            .get(last + 1)
            .map(|step| step.qualified_id.clone())
    }

    async fn finish(&mut self) -> Result<Ending, ProgressError> {
        self.save()?;
        let mut counts = std::collections::BTreeMap::new();
        for index in &self.selection.window {
            if let Some(record) = self
                .progress
                .blocks
                .get(&self.plan.steps[*index].qualified_id)
            {
                *counts.entry(record.status.label()).or_insert(0usize) += 1;
            }
        }
        let summary: Vec<String> = counts
            .iter()
            .map(|(label, count)| format!("{count} {label}"))
            .collect();
        self.screen.blank();
        let what = match &self.progress.next {
            None => "End of the workshop".to_string(),
            Some(next) => format!("End of this part; `runbook step` goes on with {next}"),
        };
        self.screen.line(format!(
            "{}: {}.",
            Style::new().bold().apply_to(what),
            summary.join(", ")
        ));
        Ok(Ending::Finished)
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
            let status = match result.outcome {
                Outcome::Passed | Outcome::Blessed => Some(BlockStatus::Passed),
                Outcome::Unverified => Some(BlockStatus::Unverified),
                _ => None,
            };
            if let Some(status) = status {
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
        let probe = if matches!(step.action, Work::WriteFile { .. }) {
            self.screen.line(
                Style::new().dim().apply_to(
                    "runbook reads the file back and compares it with the block's content.",
                ),
            );
            Probe::ReadBack(read_back(step))
        } else if step.check {
            Probe::Checks(vec![index])
        } else {
            let checks: Vec<usize> = (index + 1..plan.steps.len())
                .take_while(|&i| plan.steps[i].check && plan.steps[i].chapter == step.chapter)
                .collect();
            if checks.is_empty() {
                self.screen.line(Style::new().yellow().apply_to(
                    "No `check` block follows this block, so runbook cannot tell whether it worked: marked as typed, not checked.",
                ));
                self.progress
                    .record(&step.qualified_id, BlockStatus::TypedUnchecked);
                return Ok(Flow::Goto(position + 1));
            }
            let names: Vec<&str> = checks
                .iter()
                .map(|&i| plan.steps[i].qualified_id.as_str())
                .collect();
            self.screen.line(Style::new().dim().apply_to(format!(
                "runbook checks the state your command should have left: {}",
                names.join(", ")
            )));
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
        let screen = &self.screen;
        let bold = Style::new().bold();
        let dim = Style::new().dim();
        screen.blank();
        let width = usize::from(console::Term::stdout().size().1).clamp(40, 100);
        let title = format!(
            "── Chapter {} of {} · {} ",
            step.chapter + 1,
            self.plan.workshop.chapters.len(),
            shown(&chapter.title)
        );
        let counter = format!(" block {} of {} ──", index + 1, self.plan.steps.len());
        let fill = width.saturating_sub(
            console::measure_text_width(&title) + console::measure_text_width(&counter),
        );
        screen.line(
            Style::new()
                .blue()
                .bold()
                .apply_to(format!("{title}{}{counter}", "─".repeat(fill))),
        );
        if let Some(section) = &block.section
            && *section != chapter.title
        {
            screen.line(bold.apply_to(format!("§ {}", shown(section))));
        }
        for line in &block.context {
            screen.line(format!("  {}", shown(line)));
        }
        screen.blank();
        let vars_host = self.hosts(step).into_iter().next();
        let vars = self
            .plan
            .vars_for(vars_host.as_deref(), self.executor.captures());
        let render = |text: &str| -> String {
            let text = if step.templated {
                template::render(text, &vars).unwrap_or_else(|_| text.to_string())
            } else {
                text.to_string()
            };
            shown(&self.lab.redactor.apply(&text))
        };
        let place = shown(&self.place(step));
        let (what, body) = match &step.action {
            Work::Run { script } => (
                if step.check {
                    format!("check on {place}")
                } else {
                    format!("on {place}")
                },
                render(script),
            ),
            Work::WriteFile {
                path,
                content,
                mode,
                owner,
            } => {
                let mut what = format!("file {} on {place}", bold.apply_to(render(path)));
                if let Some(mode) = mode {
                    what.push_str(&format!(", mode {mode:04o}"));
                }
                if let Some(owner) = owner {
                    what.push_str(&format!(", owner {owner}"));
                }
                (what, render(content))
            }
        };
        screen.line(format!(
            "{}   {}",
            Style::new().magenta().bold().apply_to(what),
            dim.apply_to(format!(
                "{}  {}:{}",
                step.qualified_id,
                shown(&step.file.display().to_string()),
                step.line
            ))
        ));
        let prefix = match step.action {
            Work::Run { .. } => "$ ",
            Work::WriteFile { .. } => "│ ",
        };
        for (number, line) in body.lines().enumerate() {
            let lead = if number == 0 || matches!(step.action, Work::WriteFile { .. }) {
                prefix
            } else {
                "  "
            };
            screen.line(format!("  {}{}", dim.apply_to(lead), bold.apply_to(line)));
        }
        if step.pty {
            let render_expected = |text: &str| -> String {
                let text = template::render(text, &vars).unwrap_or_else(|_| text.to_string());
                shown(&self.lab.redactor.apply(&text))
            };
            self.show_questions(step, vars_host.as_deref(), &render_expected);
        }
        screen.blank();
    }

    /// The questions a `pty` block will ask and the answers its transcript gives them.
    fn show_questions(&self, step: &Step, host: Option<&str>, render: &dyn Fn(&str) -> String) {
        let expected = match host {
            Some(host) => step.expectations.for_host(host),
            None => step.expectations.shared.as_ref(),
        };
        let questions: Vec<(String, String)> = expected
            .map(|expected| {
                expected
                    .lines
                    .iter()
                    .filter_map(|line| {
                        let (question, answer) = crate::expect::dialogue::split_answer(&line.body)?;
                        let question = match line.kind {
                            LineKind::Glob => crate::mdbook::shown::glob_as_text(question),
                            LineKind::Regex => crate::mdbook::shown::regex_as_text(question),
                            _ => question.to_string(),
                        };
                        Some((render(question.trim_end()), render(answer)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if questions.is_empty() {
            return;
        }
        let dim = Style::new().dim();
        self.screen.line(dim.apply_to(
            "  It asks, and the course answers (Enter: runbook types these answers; t: you type them in your own terminal):",
        ));
        for (question, answer) in questions {
            let answer = if answer.is_empty() {
                "(Enter)".to_string()
            } else {
                answer
            };
            self.screen.line(format!(
                "    {question} {}",
                Style::new().green().bold().apply_to(answer)
            ));
        }
    }

    /// The hosts a step runs on, as far as known now.
    fn hosts(&self, step: &Step) -> Vec<String> {
        match &step.hosts {
            HostSpec::Hosts(hosts) => hosts.clone(),
            HostSpec::Template(spec) => {
                let vars = self.plan.vars_for(None, self.executor.captures());
                template::render(spec, &vars)
                    .ok()
                    .and_then(|rendered| {
                        crate::plan::hosts::resolve(&self.plan.inventory, rendered.trim()).ok()
                    })
                    .unwrap_or_default()
            }
        }
    }

    /// "e1, e2 as root", for the header.
    fn place(&self, step: &Step) -> String {
        let hosts = self.hosts(step);
        let where_ = if hosts.is_empty() {
            match &step.hosts {
                HostSpec::Template(spec) => format!("{spec} (not known yet)"),
                HostSpec::Hosts(_) => "no host".to_string(),
            }
        } else {
            hosts.join(", ")
        };
        let user = step.user.clone().or_else(|| {
            hosts
                .first()
                .and_then(|host| self.lab.sessions.default_user(host))
        });
        match user {
            Some(user) if !user.is_empty() => format!("{where_} as {user}"),
            _ => where_,
        }
    }

    /// After a run: the output per host, then a pass or the failure with its diff and a hint.
    fn show_result(&self, check: bool, result: &StepResult) {
        let screen = &self.screen;
        let dim = Style::new().dim();
        // Hosts that printed the same are shown once.
        let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
        for host in &result.hosts {
            let output = host.last_attempt().map_or("", |a| a.output.as_str());
            match groups.iter_mut().find(|(_, text)| *text == output) {
                Some((hosts, _)) => hosts.push(&host.host),
                None => groups.push((vec![&host.host], output)),
            }
        }
        if result.kind == StepKind::Command {
            for (hosts, output) in &groups {
                if output.is_empty() {
                    continue;
                }
                screen.line(dim.apply_to(format!("  output on {}:", hosts.join(", "))));
                let lines: Vec<&str> = output.lines().collect();
                let hidden = lines.len().saturating_sub(OUTPUT_LINES);
                if hidden > 0 {
                    screen.line(dim.apply_to(format!("  │ … {hidden} earlier lines")));
                }
                for line in &lines[hidden..] {
                    screen.line(format!("  {} {line}", dim.apply_to("│")));
                }
            }
        }
        let all_hosts: Vec<&str> = result.hosts.iter().map(|h| h.host.as_str()).collect();
        let took = crate::report::duration(result.duration_ms);
        match result.outcome {
            Outcome::Passed | Outcome::Blessed => {
                let what = match (result.kind, check) {
                    (StepKind::File, _) => {
                        format!("wrote {}", result.path.as_deref().unwrap_or("the file"))
                    }
                    (_, true) => "check passed".to_string(),
                    _ => "passed".to_string(),
                };
                screen.line(format!(
                    "{} {}",
                    Style::new().green().bold().apply_to(format!("✔ {what}")),
                    dim.apply_to(format!("on {}  {took}", all_hosts.join(", ")))
                ));
            }
            Outcome::Unverified => screen.line(format!(
                "{} {}",
                Style::new().yellow().bold().apply_to("✔ ran"),
                dim.apply_to(format!(
                    "on {}  {took}; this block has no expected output to compare with",
                    all_hosts.join(", ")
                ))
            )),
            _ => {
                let layout = Layout {
                    indent: "",
                    // The output is shown above.
                    output_tail: None,
                    strict: false,
                    every_host: false,
                };
                for line in failure::step_lines(result, layout) {
                    screen.line(line);
                }
            }
        }
    }
}

/// Shows progress while a block runs: where it started, and retries.
struct Live<'s> {
    screen: &'s Screen,
}

impl Reporter for Live<'_> {
    fn event(&mut self, event: &Event) {
        let dim = Style::new().dim();
        match event {
            Event::StepStarted { hosts, .. } if !hosts.is_empty() => {
                self.screen
                    .line(dim.apply_to(format!("  running on {} …", hosts.join(", "))));
            }
            Event::AttemptFinished {
                host,
                attempt,
                retrying: true,
                ..
            } => {
                self.screen.line(dim.apply_to(format!(
                    "  attempt {} on {host}: {}; trying again",
                    attempt.number,
                    attempt.outcome.label()
                )));
            }
            _ => {}
        }
    }
}

/// Text from the workshop (a heading, prose, a command, a host's name) as the trainee's
/// terminal must show it: its control characters escaped, never obeyed.
/// Its line breaks stay, to be shown line by line.
fn shown(text: &str) -> String {
    text.split('\n')
        .map(|line| crate::printable::printable(line, crate::printable::Shown::Escaped))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A read-only step that prints the file a `file=` block writes (`cat`), with the block's
/// content as its expected output, literally.
fn read_back(step: &Step) -> Step {
    let mut probe = step.clone();
    if let Work::WriteFile { path, content, .. } = &step.action {
        probe.action = Work::Run {
            script: format!("cat -- {}\n", crate::session::protocol::shell_quote(path)),
        };
        let lines = content
            .lines()
            .enumerate()
            .map(|(offset, line)| {
                let templated = step.templated && template::is_template(line);
                PatternLine {
                    line: step.line + 1 + offset,
                    source: line.to_string(),
                    body: line.trim_end().to_string(),
                    kind: LineKind::Literal,
                    no_eol: false,
                    templated,
                    matcher: (!templated)
                        .then(|| Matcher::Literal(line.trim_end().as_bytes().to_vec())),
                    problem: None,
                }
            })
            .collect();
        probe.expectations = Expectations {
            shared: Some(Expected {
                // Labelled as the chapter itself: the expected text is the block's content.
                origin: Origin::File(step.file.clone()),
                lines,
            }),
            per_host: Default::default(),
        };
        probe.exit = ExpectedExit::Success;
        probe.retry = None;
        probe.check = true;
    }
    probe
}

/// What `t` checks after a block the trainee did themselves.
enum Probe {
    /// The file a `file=` block writes, read back and compared with the block's content.
    ReadBack(Step),
    /// Read-only steps of the plan, by index: the block itself when it is a check, or the
    /// checks that follow it.
    Checks(Vec<usize>),
}
