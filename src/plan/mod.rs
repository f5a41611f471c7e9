//! Chapters + inventory + expected files -> the ordered steps of a run, every one validated
//! before any host is touched: hosts and groups exist, expected files parse, regexes compile,
//! and every `{{ variable }}` is defined by the inventory, `--var` or an earlier capture.
//!
//! - this module: the plan's types and [`build`], one [`Step`] per runnable block;
//! - [`hosts`]: `on=` resolved to the inventory's hosts;
//! - [`vars`]: the `{{ variables }}` each step uses, checked against what defines them;
//! - [`expected`]: the expected files of each chapter, read and parsed once;
//! - [`select`]: `--chapter`, `--from` and the checks that end a chapter.

pub mod expected;
pub mod hosts;
pub mod select;
pub mod vars;

use expected::ExpectedListing;
pub use expected::default_expected_dir;
pub use select::ending_checks;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::chapter::attrs::{ExpectedExit, Retry};
use crate::chapter::{Block, BlockKind, Chapter, Workshop};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::expect::pattern::{self, Expected, Origin};
use crate::inventory::{Inventory, LOCAL_HOST};
use crate::secret::Redactor;
use crate::template::{self, Vars};

/// What the user asked for on the command line, as far as planning goes.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub workshop_dir: PathBuf,
    pub inventory: Option<PathBuf>,
    pub expected_dir: Option<PathBuf>,
    pub vars: Vars,
    pub default_timeout: Duration,
    /// Run only these chapters (by key, file name or title).
    pub chapters: Vec<String>,
    /// Start at this block (`id` or `chapter/id`).
    pub from: Option<String>,
    /// Only the `check` blocks that end a chapter (see [`ending_checks`]).
    pub checks_only: bool,
    /// `--secret` names, added to the inventory's `runbook_secrets`: their values are hidden
    /// in the problems `build` reports, as they are in a run's output.
    pub secret_names: Vec<String>,
}

/// What a step does on each of its hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Run {
        script: String,
    },
    WriteFile {
        path: String,
        content: String,
        mode: Option<u32>,
        owner: Option<String>,
    },
}

/// Where a step runs: known now, or decided by a captured value at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    Hosts(Vec<String>),
    Template(String),
}

/// The expected outputs of a step: one for all hosts, and/or one per host.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub shared: Option<Expected>,
    pub per_host: BTreeMap<String, Expected>,
}

impl Expectations {
    pub fn for_host(&self, host: &str) -> Option<&Expected> {
        self.per_host.get(host).or(self.shared.as_ref())
    }
}

/// One block to run, resolved.
#[derive(Debug, Clone)]
pub struct Step {
    pub chapter: usize,
    pub block: usize,
    /// `<chapter-key>/<id>`, unique in the workshop.
    pub qualified_id: String,
    pub id: String,
    pub file: PathBuf,
    pub line: usize,
    pub hosts: HostSpec,
    pub user: Option<String>,
    pub action: Action,
    /// Render `{{ }}` in the script or content (not when `verbatim`).
    pub templated: bool,
    pub timeout: Duration,
    pub retry: Option<Retry>,
    pub exit: ExpectedExit,
    pub check: bool,
    pub expectations: Expectations,
    /// Folder of this chapter's expected files.
    pub expected_folder: PathBuf,
}

impl Step {
    /// The file `--bless` writes for `host` (`None`: the shared `<id>.out`).
    pub fn expected_path(&self, host: Option<&str>) -> PathBuf {
        match host {
            Some(host) => self.expected_folder.join(format!("{}.{host}.out", self.id)),
            None => self.expected_folder.join(format!("{}.out", self.id)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub workshop: Workshop,
    pub inventory: Inventory,
    /// The steps this run executes, in order.
    pub steps: Vec<Step>,
    /// `--var` values, which win over everything else.
    pub overrides: Vars,
}

impl Plan {
    pub fn chapter_of(&self, step: &Step) -> &Chapter {
        &self.workshop.chapters[step.chapter]
    }

    pub fn block_of(&self, step: &Step) -> &Block {
        &self.workshop.chapters[step.chapter].blocks[step.block]
    }

    /// Variables for a block on `host`: inventory (all, groups, host), then captures, then
    /// `--var`.
    pub fn vars_for(&self, host: Option<&str>, captures: &Vars) -> Vars {
        let mut vars = self.inventory.vars.clone();
        if let Some(found) = host.and_then(|name| self.inventory.host(name)) {
            vars.extend(found.vars.clone());
        }
        vars.extend(captures.clone());
        vars.extend(self.overrides.clone());
        vars
    }
}

/// Loads and validates everything; returns the plan or every problem found.
pub fn build(options: &PlanOptions) -> Result<Plan, Diagnostics> {
    let mut problems = Diagnostics::default();
    let workshop = crate::chapter::load(&options.workshop_dir);
    let inventory_path = options.inventory.clone().or_else(|| {
        ["inventory.yml", "inventory.yaml"]
            .iter()
            .map(|name| options.workshop_dir.join(name))
            .find(|path| path.is_file())
    });
    let inventory = match &inventory_path {
        Some(path) => Inventory::load(path),
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
    let expected_dir = options
        .expected_dir
        .clone()
        .unwrap_or_else(|| default_expected_dir(&options.workshop_dir));

    let known = vars::known_before_captures(&inventory, &options.vars);

    // Every runnable block becomes a step, or the problems that keep it from being one.
    let mut all_steps = Vec::new();
    for (chapter_index, chapter) in workshop.chapters.iter().enumerate() {
        // One listing of the chapter's expected folder serves all its blocks.
        let listing = ExpectedListing::read(&expected_dir.join(&chapter.key));
        for (block_index, block) in chapter.blocks.iter().enumerate() {
            if !block.runs() {
                continue;
            }
            match plan_step(
                &workshop,
                &inventory,
                &listing,
                options,
                chapter_index,
                block_index,
            ) {
                Ok(step) => all_steps.push(step),
                Err(found) => problems.extend(found),
            }
        }
    }
    problems.extend(vars::undefined_variables(&workshop, &all_steps, &known));

    let selected = match select::select(&workshop, all_steps, options) {
        Ok(steps) => steps,
        Err(problem) => {
            problems.push(problem);
            Vec::new()
        }
    };
    if !problems.is_empty() {
        // A quoted line may hold a secret's value written out in a chapter.
        let redactor = Redactor::for_lab(&inventory, &options.vars, &options.secret_names);
        return Err(redactor.apply_diagnostics(problems));
    }
    Ok(Plan {
        workshop,
        inventory,
        steps: selected,
        overrides: options.vars.clone(),
    })
}

fn plan_step(
    workshop: &Workshop,
    inventory: &Inventory,
    listing: &ExpectedListing,
    options: &PlanOptions,
    chapter_index: usize,
    block_index: usize,
) -> Result<Step, Diagnostics> {
    let chapter = &workshop.chapters[chapter_index];
    let block = &chapter.blocks[block_index];
    let mut problems = Diagnostics::default();
    let attributes = &block.attributes;

    let on = attributes.on.clone().or_else(|| block.prompt_host.clone());
    // Where `on=`'s value (or the prompt's host) sits, to quote and underline it.
    let (on_line, on_text, on_start) = match (&attributes.on, &block.prompt_line) {
        (None, Some(prompt_line)) => {
            let text = chapter_line(chapter, *prompt_line);
            let host = block.prompt_host.clone().unwrap_or_default();
            let start = text.find(&format!("@{host}:")).map(|index| index + 1);
            (*prompt_line, text, start)
        }
        _ => {
            let spec = on.clone().unwrap_or_default();
            let start = block
                .fence_text
                .find(&format!("on={spec}"))
                .map(|index| index + 3)
                .or_else(|| block.fence_text.find(&spec));
            (block.line, block.fence_text.clone(), start)
        }
    };
    let on_problem = |message: String, range: std::ops::Range<usize>, hint: String| {
        let mut problem = Diagnostic::new(&chapter.path, on_line, message)
            .quoting(&on_text)
            .hint(hint);
        if let Some(start) = on_start
            && range.start < range.end
            && on_text.is_char_boundary(start + range.start)
            && on_text.is_char_boundary((start + range.end).min(on_text.len()))
        {
            problem.span = Some((start + range.start, (start + range.end).min(on_text.len())));
        }
        problem
    };
    let hosts = match &on {
        None => HostSpec::Hosts(vec![LOCAL_HOST.to_string()]),
        Some(spec) if template::is_template(spec) => {
            match template::variables_in(spec).and_then(|names| template::check_names(spec, &names))
            {
                Ok(()) => {}
                Err(error) => problems.push(on_problem(
                    format!("bad template in on=: {error}"),
                    error.span.clone().unwrap_or(0..spec.len()),
                    format!("{}, e.g. `on={{{{ leader }}}}`", template::hint_for(&error)),
                )),
            }
            HostSpec::Template(spec.clone())
        }
        Some(spec) => match hosts::check_on(inventory, spec, &options.workshop_dir) {
            Ok(hosts) => HostSpec::Hosts(hosts),
            Err((range, message, hint)) => {
                problems.push(on_problem(message, range, hint));
                HostSpec::Hosts(Vec::new())
            }
        },
    };
    let user = attributes
        .user
        .clone()
        .or_else(|| block.prompt_user.clone());
    let action = match &block.kind {
        BlockKind::Command { script } => Action::Run {
            script: script.clone(),
        },
        BlockKind::File { path, content } => Action::WriteFile {
            path: path.clone(),
            content: content.clone(),
            mode: attributes.mode,
            owner: attributes.owner.clone(),
        },
        BlockKind::Shown => unreachable!("norun blocks are not planned"),
    };
    let templated = !attributes.verbatim
        && match &action {
            Action::Run { script } => template::is_template(script),
            Action::WriteFile { content, path, .. } => {
                template::is_template(content) || template::is_template(path)
            }
        };
    if templated {
        let text = match &action {
            Action::Run { script } => script.as_str(),
            Action::WriteFile { content, .. } => content.as_str(),
        };
        for (offset, line) in text.lines().enumerate() {
            let checked =
                template::variables_in(line).and_then(|names| template::check_names(line, &names));
            if let Err(error) = checked {
                let hint = format!(
                    "{}; if the block needs a literal `{{{{`, mark it `verbatim`",
                    template::hint_for(&error)
                );
                let mut problem = Diagnostic::new(
                    &chapter.path,
                    block.line + 1 + offset,
                    format!("bad template: {error}"),
                )
                .quoting(line)
                .hint(hint);
                if let Some(span) = error
                    .span
                    .filter(|span| span.start < span.end && span.end <= line.len())
                {
                    problem.span = Some((span.start, span.end));
                }
                problems.push(problem);
            }
        }
    }

    let expected_folder = listing.folder.clone();
    let mut expectations = Expectations::default();
    if attributes.is_shell() {
        if let Some(loaded) = listing.shared(&block.id) {
            match loaded {
                Ok(expected) => expectations.shared = Some(expected),
                Err(found) => problems.extend(found),
            }
        } else if let Some(inline) = &block.inline_expected {
            match pattern::parse(
                &inline.text,
                Origin::Inline(chapter.path.clone()),
                inline.first_line,
            ) {
                Ok(expected) => expectations.shared = Some(expected),
                Err(found) => found.into_iter().for_each(|problem| problems.push(problem)),
            }
        }
        for (host, loaded) in listing.per_host(&block.id) {
            if inventory.host(&host).is_none() {
                // `<id>.<something>.out` where something is not a host: maybe another block's
                // id with a dot in it; leave it alone.
                continue;
            }
            match loaded {
                Ok(expected) => {
                    expectations.per_host.insert(host, expected);
                }
                Err(found) => problems.extend(found),
            }
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Step {
        chapter: chapter_index,
        block: block_index,
        qualified_id: format!("{}/{}", chapter.key, block.id),
        id: block.id.clone(),
        file: chapter.path.clone(),
        line: block.line,
        hosts,
        user,
        action,
        templated,
        timeout: attributes.timeout.unwrap_or(options.default_timeout),
        retry: attributes.retry,
        exit: attributes.exit,
        check: attributes.check,
        expectations,
        expected_folder,
    })
}

/// Line `number` (1-based) of a chapter's text, read again for quoting.
fn chapter_line(chapter: &Chapter, number: usize) -> String {
    std::fs::read_to_string(&chapter.path)
        .ok()
        .and_then(|text| {
            text.lines()
                .nth(number.saturating_sub(1))
                .map(str::to_string)
        })
        .unwrap_or_default()
}
