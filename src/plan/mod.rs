//! Chapters + inventory + expected files -> the ordered steps of a run, every one validated
//! before any host is touched: hosts and groups exist, expected files parse, regexes compile,
//! and every `{{ variable }}` is defined by the inventory, `--var` or an earlier capture.
//!
//! - this module: the plan's types and [`build`], one [`Step`] per runnable block;
//! - [`hosts`]: `on=` resolved to the inventory's hosts;
//! - [`vars`]: the `{{ variables }}` each step uses, checked against what defines them;
//! - the expected files of each chapter are read and parsed once, through
//!   [`crate::expected_files`];
//! - [`select`]: `--chapter`, `--from` and the checks that end a chapter.

pub(crate) mod hosts;
pub(crate) mod probe;
pub(crate) mod select;
pub(crate) mod shown;
pub(crate) mod vars;

/// A step's expected outputs, as [`Step::expectations`] holds them.
pub(crate) use crate::expected_files::Expectations;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::chapter::attrs::{ExpectedExit, Retry};
use crate::chapter::parse::InlineExpected;
use crate::chapter::transcript::TranscriptCommand;
use crate::chapter::{Block, BlockKind, Chapter, Workshop};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::expect::actual::View;
use crate::expected_files::{self, StepFiles};
use crate::inventory::Inventory;
use crate::secret::Redactor;
pub(crate) use crate::session::protocol::FileWrite;
use crate::template::{self, Vars};

/// The inventory runbook looks for in the workshop folder, unless `--inventory` names one; the
/// first is the name a hint suggests.
pub(crate) const INVENTORY_NAMES: [&str; 2] = ["inventory.yml", "inventory.yaml"];

/// A block's timeout when neither `timeout=` nor `--timeout` sets one.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the user asked for on the command line, as far as planning goes.
#[derive(Debug, Clone)]
pub(crate) struct PlanOptions {
    pub(crate) workshop_dir: PathBuf,
    pub(crate) inventory: Option<PathBuf>,
    pub(crate) expected_dir: Option<PathBuf>,
    pub(crate) vars: Vars,
    pub(crate) default_timeout: Duration,
    /// Run only these chapters (by key, file name or title).
    pub(crate) chapters: Vec<String>,
    /// Start at this block (`id` or `chapter/id`).
    pub(crate) from: Option<String>,
    /// Only the `check` blocks that end a chapter (see [`ending_checks`]).
    pub(crate) checks_only: bool,
    /// Only the `teardown` blocks (otherwise they are left out).
    pub(crate) teardown: bool,
    /// `--secret` names, added to the inventory's `runbook_secrets`: their values are hidden
    /// in the problems `build` reports, as they are in a run's output.
    pub(crate) secret_names: Vec<String>,
    /// `--allow-outside-workshop`: chapters may be read from outside the workshop folder.
    pub(crate) reach: crate::chapter::Reach,
    /// Set on every host of the inventory after its own settings: one trainee's lab in a
    /// class (see [`crate::class::roster`]).
    pub(crate) host_overrides: std::collections::BTreeMap<String, yaml_serde::Value>,
}

impl PlanOptions {
    /// The whole workshop in `workshop_dir`, with the inventory and the expected files where
    /// they are by default, `--timeout`'s default, no `--var` and no secret.
    pub(crate) fn for_workshop(workshop_dir: &Path) -> Self {
        PlanOptions {
            workshop_dir: workshop_dir.to_path_buf(),
            inventory: None,
            expected_dir: None,
            vars: Vars::new(),
            default_timeout: DEFAULT_TIMEOUT,
            chapters: Vec::new(),
            from: None,
            checks_only: false,
            teardown: false,
            secret_names: Vec::new(),
            reach: crate::chapter::Reach::InsideOnly,
            host_overrides: std::collections::BTreeMap::new(),
        }
    }
}

/// What a step does on each of its hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Run {
        script: String,
    },
    WriteFile {
        path: String,
        content: String,
        mode: Option<u32>,
        owner: Option<String>,
        how: FileWrite,
    },
}

/// Where a step runs: known now, or decided by a captured value at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostSpec {
    Hosts(Vec<String>),
    Template(String),
}

/// One block to run, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) chapter: usize,
    pub(crate) block: usize,
    /// `<chapter-key>/<id>`, unique in the workshop.
    pub(crate) qualified_id: String,
    pub(crate) id: String,
    pub(crate) file: PathBuf,
    /// The block's fence line, or for a transcript's command the line of its prompt.
    pub(crate) line: usize,
    /// The line of the chapter the script's first line is on.
    pub(crate) script_line: usize,
    /// For a transcript's command, its number in the transcript (from 1).
    pub(crate) part: Option<usize>,
    pub(crate) hosts: HostSpec,
    pub(crate) user: Option<String>,
    pub(crate) action: Action,
    /// Render `{{ }}` in the script or content (not when `verbatim`).
    pub(crate) templated: bool,
    /// How the output is prepared before matching (`raw`: as printed).
    pub(crate) view: View,
    /// Run under a pseudo-terminal, answering the questions of the expected output.
    pub(crate) pty: bool,
    /// The rows of its result tables may come in any order.
    pub(crate) rowsort: bool,
    pub(crate) timeout: Duration,
    pub(crate) retry: Option<Retry>,
    pub(crate) exit: ExpectedExit,
    pub(crate) check: bool,
    /// A block that removes the lab: only a `--teardown` run has it.
    pub(crate) teardown: bool,
    /// `keep-running`: its background processes outlive the run.
    pub(crate) keep_running: bool,
    pub(crate) expectations: Expectations,
    /// Folder of this chapter's expected files.
    pub(crate) expected_folder: PathBuf,
    /// A command of a cram test file: it runs in that file's own shell, set up as cram does.
    pub(crate) cram: Option<crate::chapter::cram::CramTest>,
    /// SQL: typed into a psql session on its host, as its user, instead of a shell.
    pub(crate) psql: Option<PsqlTarget>,
}

/// The psql session a SQL step is typed into: one per host, user and `args`, opened by the
/// first step that needs it and kept for the run, so that `\c`, `SET`, an open transaction
/// and temporary tables carry from block to block as in a trainee's terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PsqlTarget {
    /// psql's arguments, which name the session: `-d DB` from `db=` or the workshop's
    /// default, or those of the transcript's `psql` line.
    pub(crate) args: Vec<String>,
    /// The database the session starts in when `args` name none: the one the step's prompt
    /// shows (`tp1=#`), since that is where the course's terminal was.
    pub(crate) prompt_database: Option<String>,
    /// `args` come from the workshop's defaults (no `db=`, no `psql` line of a transcript): a
    /// `psql` block before it decides them instead.
    pub(crate) from_defaults: bool,
}

impl PsqlTarget {
    /// psql's arguments when this step opens the session.
    pub(crate) fn start_args(&self) -> Vec<String> {
        let mut args = self.args.clone();
        if crate::chapter::psql::database_of(&args).is_none()
            && let Some(database) = &self.prompt_database
        {
            args.push("-d".to_string());
            args.push(database.clone());
        }
        args
    }

    /// The database the session connects to when it opens (`None`: psql's default, the
    /// user's name).
    pub(crate) fn database(&self) -> Option<String> {
        crate::chapter::psql::database_of(&self.start_args())
    }
}

impl Step {
    /// Where this step's expected files are (and where `--bless` writes them).
    pub(crate) fn expected_files(&self) -> StepFiles<'_> {
        StepFiles {
            folder: &self.expected_folder,
            id: &self.id,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) workshop: Workshop,
    pub(crate) inventory: Inventory,
    /// The steps this run executes, in order.
    pub(crate) steps: Vec<Step>,
    /// `--var` values, which win over everything else.
    pub(crate) overrides: Vars,
}

impl Plan {
    pub(crate) fn chapter_of(&self, step: &Step) -> &Chapter {
        &self.workshop.chapters[step.chapter]
    }

    pub(crate) fn block_of(&self, step: &Step) -> &Block {
        &self.workshop.chapters[step.chapter].blocks[step.block]
    }

    /// Variables for a block on `host`: inventory (all, groups, host), then captures, then
    /// `--var`.
    pub(crate) fn vars_for(&self, host: Option<&str>, captures: &Vars) -> Vars {
        let mut vars = self.inventory.vars.clone();
        if let Some(found) = host.and_then(|name| self.inventory.host(name)) {
            vars.extend(found.vars.clone());
        }
        vars.extend(captures.clone());
        vars.extend(self.overrides.clone());
        vars
    }
}

/// Loads and validates everything; returns the plan of the steps this run takes (`--chapter`,
/// `--from`, checks only) or every problem found.
pub(crate) fn build(options: &PlanOptions) -> Result<Plan, Diagnostics> {
    let Selected { mut plan, chosen } = build_whole(options)?;
    let mut steps: Vec<Option<Step>> = plan.steps.into_iter().map(Some).collect();
    plan.steps = chosen
        .into_iter()
        .filter_map(|index| steps[index].take())
        .collect();
    Ok(plan)
}

/// The plan of the whole workshop, and the steps `--chapter`, `--from` (and checks only) choose.
#[derive(Debug)]
pub(crate) struct Selected {
    /// Every step of the workshop.
    pub(crate) plan: Plan,
    /// Indices into `plan.steps`, in order.
    pub(crate) chosen: Vec<usize>,
}

/// Like [`build`], but the plan keeps every step of the workshop and says which are chosen
/// (`runbook step` follows the chosen part with the whole workshop's progress and captures).
pub(crate) fn build_whole(options: &PlanOptions) -> Result<Selected, Diagnostics> {
    let Reviewed {
        selected,
        problems: others,
        step_problems,
    } = review(options)?;
    // In the order they were found: each step's, then those of no one step.
    let mut problems = Diagnostics::default();
    for found in step_problems {
        problems.extend(found);
    }
    problems.extend(others);
    if problems.is_empty() {
        Ok(selected)
    } else {
        Err(problems)
    }
}

/// A plan that may have problems: the steps as far as they could be made, with each step's
/// own problems beside it, for `runbook list` to show the whole course with its faults marked
/// (a typo in one prompt does not hide the other steps). Nothing runs from it.
#[derive(Debug)]
pub(crate) struct Reviewed {
    pub(crate) selected: Selected,
    /// The problems of no one step (variables used before a capture defines them, `--from`).
    pub(crate) problems: Diagnostics,
    /// The problems of each step of `selected.plan.steps`, by index (most are empty).
    pub(crate) step_problems: Vec<Diagnostics>,
}

/// Loads and checks everything as [`build_whole`] does, keeping a step that has problems
/// (its hosts and expected output as far as they could be read) with its problems. Problems
/// that leave no plan to show (a chapter that cannot be read, a broken inventory) are
/// returned as errors.
pub(crate) fn review(options: &PlanOptions) -> Result<Reviewed, Diagnostics> {
    let mut problems = Diagnostics::default();
    // A master file's folder holds what a workshop folder would.
    let (folder, _) = crate::chapter::folder_and_master(&options.workshop_dir);
    // The settings change how fences read: a broken file stops here, before any chapter.
    let settings = crate::settings::Settings::load(&folder)?;
    let workshop = crate::chapter::load(&options.workshop_dir, options.reach, &settings);
    let inventory_path = options.inventory.clone().or_else(|| {
        INVENTORY_NAMES
            .iter()
            .map(|name| folder.join(name))
            // Whatever is there, not only a regular file: a FIFO or a directory named
            // inventory.yml is refused when read, not passed over for `localhost` alone.
            .find(|path| std::fs::symlink_metadata(path).is_ok())
    });
    let inventory = match &inventory_path {
        Some(path) => Inventory::load_with(path, &options.host_overrides),
        None => Ok(Inventory::local_only()),
    };
    let (workshop, inventory) = match (workshop, inventory) {
        (Ok(workshop), Ok(inventory)) => (workshop, inventory),
        (workshop, inventory) => {
            if let Err(found) = workshop {
                problems.extend(found);
            }
            if let Err(found) = inventory {
                problems.extend(found);
            }
            // Without an inventory, only `--var` values are known to hide.
            let redactor = Redactor::for_lab(
                &Inventory::local_only(),
                &options.vars,
                &options.secret_names,
            );
            return Err(redactor.apply_diagnostics(problems));
        }
    };
    // The default host must name the inventory's hosts: said once, at runbook.yml's line,
    // rather than at every fence that leans on it.
    if let (Some(on), Some(path)) = (&workshop.settings.defaults.on, &workshop.settings.path)
        && let Err(error) = hosts::resolve(&inventory, on)
    {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let line = text
            .lines()
            .position(|line| line.trim_start().starts_with("on:"))
            .map_or(0, |index| index + 1);
        let mut problem =
            Diagnostic::new(path, line, format!("runbook.yml's default host: {error}"))
                .hint("name a host or group of the inventory, e.g. `on: pg-1`, or remove `on:`");
        if line > 0 {
            problem = problem.quoting(text.lines().nth(line - 1).unwrap_or_default());
        }
        problems.push(problem);
        return Err(problems);
    }
    let expected_dir = options
        .expected_dir
        .clone()
        .unwrap_or_else(|| expected_files::default_dir(&folder));

    let known = vars::known_before_captures(&inventory, &options.vars);

    // Every runnable block becomes a step, with the problems it has.
    let mut all_steps = Vec::new();
    let mut step_problems = Vec::new();
    for (chapter_index, chapter) in workshop.chapters.iter().enumerate() {
        // One listing of the chapter's expected folder serves all its blocks.
        let listing = expected_files::Listing::read(&expected_files::chapter_folder(
            &expected_dir,
            &chapter.key,
        ));
        // The psql a `psql` block of this chapter opened, which its SQL blocks are typed into.
        let mut opened = OpenedPsql::default();
        for (block_index, block) in chapter.blocks.iter().enumerate() {
            if !block.runs() {
                continue;
            }
            // A transcript is one step per command; any other block is one step.
            let parts: Vec<Option<usize>> = if block.transcript.is_empty() {
                vec![None]
            } else {
                (0..block.transcript.len()).map(Some).collect()
            };
            for part in parts {
                let (mut step, found) = match plan_step(
                    &workshop,
                    &inventory,
                    &listing,
                    options,
                    chapter_index,
                    block_index,
                    part,
                ) {
                    Ok(step) => (step, Diagnostics::default()),
                    Err((step, found)) => (*step, found),
                };
                opened.follow(
                    &mut step,
                    block.attributes.user.is_some(),
                    block.prompt_user.is_some(),
                );
                all_steps.push(step);
                step_problems.push(found);
            }
        }
    }
    problems.extend(vars::undefined_variables(&workshop, &all_steps, &known));

    let chosen = match select::select(&workshop, &all_steps, options) {
        Ok(chosen) => chosen,
        Err(problem) => {
            problems.push(problem);
            Vec::new()
        }
    };
    // A quoted line may hold a secret's value written out in a chapter.
    let redactor = Redactor::for_lab(&inventory, &options.vars, &options.secret_names);
    Ok(Reviewed {
        problems: redactor.apply_diagnostics(problems),
        step_problems: step_problems
            .into_iter()
            .map(|found| redactor.apply_diagnostics(found))
            .collect(),
        selected: Selected {
            plan: Plan {
                workshop,
                inventory,
                steps: all_steps,
                overrides: options.vars.clone(),
            },
            chosen,
        },
    })
}

/// The psql session a chapter's blocks opened, as a trainee's terminal has it: a shell block
/// that is only a `psql` command line (`psql`, `psql tp1`, `sudo -iu postgres psql`) opens a
/// psql instead of running one in the shell (which, fed no input, would end at once); the SQL
/// blocks after it that name no database (`db=`) and no user (`user=`) are typed into it; a
/// SQL block that is only `\q` leaves it.
///
/// A shell block that is only a hop into another user's shell (`sudo su - postgres`, `sudo -iu
/// postgres`) is followed the same way: it runs nothing, and the chapter's blocks after it
/// that name no user (neither `user=` nor a prompt) run as that user, up to a block that is
/// only `exit`.
#[derive(Debug, Default)]
struct OpenedPsql {
    session: Option<(Vec<String>, Option<String>)>,
    /// The user a hop block made the terminal, innermost last.
    hops: Vec<String>,
}

impl OpenedPsql {
    /// Turns an opening block into the step that opens the session, and points the SQL steps
    /// after it at that session. `user_given`: the block says `user=`; `prompt_user`: its
    /// prompt names one.
    fn follow(&mut self, step: &mut Step, user_given: bool, prompt_user: bool) {
        if step.part.is_some() {
            // A transcript follows its own `psql` lines and hops (see `chapter::transcript`).
            return;
        }
        let script = match &step.action {
            Action::Run { script } => script.clone(),
            Action::WriteFile { .. } => return,
        };
        if step.psql.is_none() && !user_given && !prompt_user {
            if let Some(user) = crate::chapter::hop::shell_hop(&script) {
                self.hops.push(user);
                step.action = Action::Run {
                    script: String::new(),
                };
                return;
            }
            if crate::chapter::hop::is_exit(&script) && self.hops.pop().is_some() {
                step.action = Action::Run {
                    script: String::new(),
                };
                return;
            }
        }
        if !user_given
            && !prompt_user
            && let Some(user) = self.hops.last()
        {
            step.user = Some(user.clone());
        }
        match &mut step.psql {
            None => {
                let Some(opener) = crate::chapter::hop::psql_opener(&script) else {
                    return;
                };
                if let Some(user) = &opener.user {
                    step.user = Some(user.clone());
                }
                step.psql = Some(PsqlTarget {
                    args: opener.args.clone(),
                    prompt_database: None,
                    from_defaults: false,
                });
                // Nothing to type: psql starts (and says so if it cannot connect).
                step.action = Action::Run {
                    script: String::new(),
                };
                self.session = Some((opener.args, step.user.clone()));
            }
            Some(psql) => {
                if let Some((args, user)) = &self.session
                    && psql.from_defaults
                {
                    psql.args.clone_from(args);
                    if !user_given && user.is_some() {
                        step.user.clone_from(user);
                    }
                }
                if script.trim() == "\\q" {
                    self.session = None;
                }
            }
        }
    }
}

/// Command `index` of a transcript as a block of its own: `<id>.<n>` (counted from 1), its
/// prompt's host and user, and the output printed after it as its expected output (or else,
/// for the last command, the console block after the transcript).
fn transcript_step(whole: &Block, index: usize, command: &TranscriptCommand) -> Block {
    let prompt_line = whole.line + 1 + command.line_offset;
    let printed = command.output.as_ref().map(|output| InlineExpected {
        first_line: whole.line + 1 + output.line_offset,
        text: output.text.clone(),
        range: whole.range.clone(),
    });
    let last = index + 1 == whole.transcript.len();
    let inline_expected = match printed {
        Some(printed) => Some(printed),
        None if last => whole.inline_expected.clone(),
        // SQL at a psql prompt followed at once by the next one: courses leave out psql's
        // command tags (`CREATE TABLE`, `INSERT 0 1`), so nothing shown is nothing expected,
        // not an empty output (an error still fails it: see `exit`).
        None if command.psql.is_some() => None,
        // The next prompt follows at once: the command printed nothing, and the transcript
        // says so.
        None => Some(InlineExpected {
            first_line: prompt_line + 1,
            text: String::new(),
            range: whole.range.clone(),
        }),
    };
    // cram's `[N]` after a command says how that command ends, whatever the fence says for
    // the whole transcript.
    let mut attributes = whole.attributes.clone();
    if let Some(code) = command.exit {
        attributes.exit = ExpectedExit::Code(code);
    }
    Block {
        kind: BlockKind::Command {
            script: command.script.clone(),
        },
        attributes,
        id: format!("{}.{}", whole.id, index + 1),
        prompt_host: command.target.as_ref().map(|target| target.host.clone()),
        prompt_user: command
            .target
            .as_ref()
            .and_then(|target| target.user.clone())
            .or_else(|| command.user.clone()),
        prompt_line: Some(prompt_line),
        inline_expected,
        transcript: Vec::new(),
        ..whole.clone()
    }
}

fn plan_step(
    workshop: &Workshop,
    inventory: &Inventory,
    listing: &expected_files::Listing,
    options: &PlanOptions,
    chapter_index: usize,
    block_index: usize,
    part: Option<usize>,
) -> Result<Step, (Box<Step>, Diagnostics)> {
    let chapter = &workshop.chapters[chapter_index];
    let whole = &chapter.blocks[block_index];
    let command = part.and_then(|index| whole.transcript.get(index).map(|c| (index, c)));
    let transcript_part = command.map(|(index, command)| transcript_step(whole, index, command));
    let block = transcript_part.as_ref().unwrap_or(whole);
    let mut problems = Diagnostics::default();
    let attributes = &block.attributes;

    let defaults = &workshop.settings.defaults;
    let (hosts, host_problem) = hosts::of_block(
        chapter,
        block,
        inventory,
        &workshop.dir,
        defaults.on.as_ref(),
    );
    problems.extend(host_problem.into_iter().collect::<Vec<_>>().into());
    let typed_into_psql = command.and_then(|(_, command)| command.psql.as_ref());
    let psql = (attributes.is_sql() || typed_into_psql.is_some()).then(|| {
        let database = |name: &String| vec!["-d".to_string(), name.clone()];
        let named = attributes
            .db
            .as_ref()
            .map(database)
            .or_else(|| typed_into_psql.and_then(|typed| typed.opener.clone()));
        PsqlTarget {
            from_defaults: named.is_none(),
            args: named
                .or_else(|| defaults.db.as_ref().map(database))
                .unwrap_or_default(),
            prompt_database: typed_into_psql.and_then(|typed| typed.prompt_database.clone()),
        }
    });
    // A prompt's user goes with its host: the workshop's default user is for blocks that
    // name neither (for SQL, its default SQL user first).
    let workshop_user = if psql.is_some() {
        defaults.sql_user.clone().or_else(|| defaults.user.clone())
    } else {
        defaults.user.clone()
    };
    let user = attributes
        .user
        .clone()
        .or_else(|| block.prompt_user.clone())
        .or_else(|| {
            (block.prompt_host.is_none())
                .then_some(workshop_user)
                .flatten()
        });
    let action = match &block.kind {
        BlockKind::Command { script } => Action::Run {
            script: script.clone(),
        },
        BlockKind::File { path, content } => Action::WriteFile {
            path: path.clone(),
            content: content.clone(),
            mode: attributes.mode,
            owner: attributes.owner.clone(),
            how: if attributes.append {
                FileWrite::Append
            } else {
                FileWrite::Replace
            },
        },
        BlockKind::Shown => unreachable!("norun blocks are not planned"),
    };
    if psql.is_some()
        && let Action::Run { script } = &action
        && !crate::chapter::psql::is_complete(script)
    {
        // psql would wait for the rest of the statement, and the next SQL block would
        // supply it: the error is here, not there.
        let script_line =
            command.map_or(block.line + 1, |_| block.prompt_line.unwrap_or(block.line));
        let lines: Vec<&str> = script.lines().collect();
        let last = lines
            .iter()
            .rposition(|line| !line.trim().is_empty())
            .unwrap_or(0);
        problems.extend(Diagnostics::from(
            Diagnostic::new(
                &chapter.path,
                script_line + last,
                "this SQL ends inside a statement: psql would wait for the rest of it",
            )
            .quoting(lines.get(last).copied().unwrap_or_default())
            .hint("end the statement with `;` (or `\\g`); a quote, `(` or `$$` left open also keeps it going"),
        ));
    }
    let templated = !attributes.verbatim
        && match &action {
            Action::Run { script } => template::is_template(script),
            Action::WriteFile { content, path, .. } => {
                template::is_template(content) || template::is_template(path)
            }
        };
    if templated {
        problems.extend(vars::bad_templates(chapter, block, &action));
    }
    let expectations = if attributes.runs_commands() {
        match expected_files::of_block(chapter, block, inventory, listing) {
            Ok(expectations) => expectations,
            Err(found) => {
                problems.extend(found);
                Expectations::default()
            }
        }
    } else {
        Expectations::default()
    };

    if attributes.pty {
        for expected in expectations
            .shared
            .iter()
            .chain(expectations.per_host.values())
        {
            problems.extend(crate::expect::dialogue::problems(expected).into());
        }
    }

    // A SQL block's expected output shows its errors where psql printed them: the output
    // decides, not the status (1 when a statement failed). Without expected output, a failed
    // statement fails the block, as a failed command does.
    let has_expected = expectations.shared.is_some() || !expectations.per_host.is_empty();
    let exit = match attributes.exit {
        ExpectedExit::Success if psql.is_some() && has_expected => ExpectedExit::Any,
        exit => exit,
    };
    let step = Step {
        chapter: chapter_index,
        block: block_index,
        qualified_id: format!("{}/{}", chapter.key, block.id),
        id: block.id.clone(),
        file: chapter.path.clone(),
        line: command.map_or(block.line, |_| block.prompt_line.unwrap_or(block.line)),
        script_line: command.map_or(block.line + 1, |_| block.prompt_line.unwrap_or(block.line)),
        part: command.map(|(index, _)| index + 1),
        hosts,
        user,
        action,
        templated,
        view: if attributes.raw {
            View::Raw
        } else {
            View::Screen
        },
        pty: attributes.pty,
        rowsort: attributes.rowsort,
        timeout: attributes.timeout.unwrap_or(options.default_timeout),
        retry: attributes.retry,
        exit,
        check: attributes.check,
        teardown: attributes.teardown,
        keep_running: attributes.keep_running,
        expectations,
        expected_folder: listing.folder().to_path_buf(),
        cram: chapter.cram.clone(),
        psql,
    };
    if problems.is_empty() {
        Ok(step)
    } else {
        Err((Box::new(step), problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::pattern::Origin;

    /// A workshop folder with `files` (relative path, text) beside its `expected/` folder.
    fn workshop(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    fn options(dir: &tempfile::TempDir) -> PlanOptions {
        PlanOptions {
            expected_dir: Some(dir.path().join("expected")),
            ..PlanOptions::for_workshop(&dir.path().join("workshop"))
        }
    }

    const INVENTORY: &str = "all:\n  vars:\n    site: lab\n  children:\n    etcd:\n      hosts:\n        e1: {ansible_host: 10.0.3.101}\n        e2: {ansible_host: 10.0.3.102}\n";

    const CHAPTER: &str = "# Etcd\n\n```bash on=etcd id=members timeout=5s\netcdctl member list\n```\n\n```console\nmember (re)\n```\n\n```bash\nroot@e1:~# echo {{ site }}\n```\n\n```console\nlab\n```\n\n```ini file=/etc/x.ini on=e2 mode=0640\na = 1\n```\n\n```bash check on=e1 id=up\ntrue\n```\n";

    #[test]
    fn every_runnable_block_becomes_a_step() {
        let dir = workshop(&[
            ("workshop/01-etcd.md", CHAPTER),
            ("workshop/inventory.yml", INVENTORY),
            ("expected/01-etcd/members.e2.out", "e2 only\n"),
            ("expected/01-etcd/members.nothost.out", "not a host's\n"),
            ("expected/01-etcd/block-2.out", "from the file\n"),
        ]);
        let plan = build(&options(&dir)).expect("a valid workshop");
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.qualified_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "01-etcd/members",
                "01-etcd/block-2",
                "01-etcd/block-3",
                "01-etcd/up"
            ]
        );
        let [members, echo, file, up] = &plan.steps[..] else {
            panic!("four steps");
        };
        assert_eq!(
            members.hosts,
            HostSpec::Hosts(vec!["e1".into(), "e2".into()])
        );
        assert_eq!(members.timeout, Duration::from_secs(5));
        assert_eq!(members.line, 3);
        let shared = members
            .expectations
            .shared
            .as_ref()
            .expect("the console block");
        assert!(matches!(shared.origin, Origin::Inline(_)));
        assert!(
            members
                .expectations
                .for_host("e2")
                .is_some_and(|e| e.lines[0].source == "e2 only")
        );
        assert!(
            !members.expectations.per_host.contains_key("nothost"),
            "not a host: ignored"
        );
        assert_eq!(
            echo.hosts,
            HostSpec::Hosts(vec!["e1".into()]),
            "from the prompt"
        );
        assert_eq!(echo.user.as_deref(), Some("root"));
        assert!(echo.templated);
        assert_eq!(echo.timeout, Duration::from_secs(60), "the default");
        let echoed = echo.expectations.shared.as_ref().expect("expected");
        assert!(
            matches!(&echoed.origin, Origin::File(path) if path.ends_with("block-2.out")),
            "the expected file wins over the console block"
        );
        assert_eq!(
            file.action,
            Action::WriteFile {
                path: "/etc/x.ini".into(),
                content: "a = 1\n".into(),
                mode: Some(0o640),
                owner: None,
                how: FileWrite::Replace,
            }
        );
        assert!(file.expectations.shared.is_none());
        assert!(up.check && !members.check);
        assert_eq!(
            members.expected_files().path(Some("e1")),
            dir.path().join("expected/01-etcd/members.e1.out")
        );
    }

    #[test]
    fn every_problem_is_found_before_anything_runs() {
        let dir = workshop(&[
            (
                "workshop/01.md",
                "```bash on=e3\ntrue\n```\n\n```bash\necho {{ leader }}\n```\n\n```bash id=get\nget\n```\n\n```console\n(?P<leader>e\\d) (re)\n```\n\n```bash\necho {{ nope }}\n```\n",
            ),
            ("workshop/inventory.yml", INVENTORY),
        ]);
        let problems = build(&options(&dir)).expect_err("problems");
        let found: Vec<(usize, String)> = problems
            .0
            .iter()
            .map(|p| (p.line, p.message.clone()))
            .collect();
        let inventory = dir.path().join("workshop/inventory.yml");
        assert_eq!(
            found,
            [
                (
                    1,
                    format!(
                        "`e3` is neither a host nor a group of {}",
                        inventory.display()
                    )
                ),
                (
                    6,
                    "`{{ leader }}` is used before anything defines it".into()
                ),
                (18, "`{{ nope }}` is not defined".into()),
            ]
        );
        assert_eq!(problems.0[0].hint.as_deref(), Some("did you mean `e1`?"));
    }

    #[test]
    fn chapter_and_from_choose_a_part_of_the_whole_workshop() {
        let dir = workshop(&[
            (
                "workshop/01-one.md",
                "# One\n\n```bash id=a\ntrue\n```\n\n```bash id=b\ntrue\n```\n",
            ),
            (
                "workshop/02-two.md",
                "# Two\n\n```bash id=c\ntrue\n```\n\n```bash check id=d\ntrue\n```\n",
            ),
        ]);
        let mut chosen = options(&dir);
        chosen.from = Some("b".into());
        let Selected {
            plan,
            chosen: window,
        } = build_whole(&chosen).expect("valid");
        assert_eq!(plan.steps.len(), 4, "the whole workshop");
        assert_eq!(window, [1, 2, 3]);
        assert_eq!(build(&chosen).expect("valid").steps.len(), 3);
        chosen.from = None;
        chosen.chapters = vec!["Two".into()];
        assert_eq!(build_whole(&chosen).expect("valid").chosen, [2, 3]);
        chosen.chapters = Vec::new();
        chosen.checks_only = true;
        let checks = build(&chosen).expect("valid");
        let ids: Vec<&str> = checks
            .steps
            .iter()
            .map(|s| s.qualified_id.as_str())
            .collect();
        assert_eq!(ids, ["02-two/d"], "the checks that end a chapter");
        chosen.checks_only = false;
        chosen.chapters = vec!["three".into()];
        let problems = build(&chosen).expect_err("no such chapter");
        assert_eq!(problems.0[0].message, "no chapter named `three`");
        assert_eq!(
            problems.0[0].hint.as_deref(),
            Some("the chapters are: 01-one, 02-two")
        );
    }
}
