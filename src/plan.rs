//! Chapters + inventory + expected files -> the ordered steps of a run, every one validated
//! before any host is touched: hosts and groups exist, expected files parse, regexes compile,
//! and every `{{ variable }}` is defined by the inventory, `--var` or an earlier capture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::chapter::attrs::{ExpectedExit, Retry};
use crate::chapter::{Block, BlockKind, Chapter, Workshop};
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::expect::actual::View;
use crate::expect::pattern::{self, Expected, Origin, Reading};
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
    /// Only the `teardown` blocks (otherwise they are left out).
    pub teardown: bool,
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
    /// How the output is prepared before matching (`raw`: as printed).
    pub view: View,
    pub timeout: Duration,
    pub retry: Option<Retry>,
    pub exit: ExpectedExit,
    pub check: bool,
    /// A block that removes the lab: only a `--teardown` run has it.
    pub teardown: bool,
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

/// The default folder of expected files: `expected/` beside the workshop folder.
pub fn default_expected_dir(workshop_dir: &Path) -> PathBuf {
    let absolute = if workshop_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        workshop_dir
    };
    match absolute
        .canonicalize()
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf))
    {
        Some(parent) => {
            // Keep the path the way the user wrote it when we can, for readable messages.
            let relative = workshop_dir.components().count() <= 1 && workshop_dir.is_relative();
            if relative {
                PathBuf::from("expected")
            } else {
                parent.join("expected")
            }
        }
        None => PathBuf::from("expected"),
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

    // Variables any block may use before captures: inventory (all hosts' too), --var.
    let mut known: BTreeSet<String> = inventory.vars.keys().cloned().collect();
    for host in &inventory.hosts {
        known.extend(host.vars.keys().cloned());
    }
    known.extend(options.vars.keys().cloned());

    // Every capture and the block defining it, to tell "used before defined" from "unknown".
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
    let mut defined_by: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for step in &all_steps {
        for name in step_captures(step) {
            defined_by
                .entry(name)
                .or_insert_with(|| (step.file.clone(), step.line));
        }
    }
    let mut available = known.clone();
    for step in &all_steps {
        let block = &workshop.chapters[step.chapter].blocks[step.block];
        for (name, file, line, quoted, in_output) in step_variables(step, block) {
            if available.contains(&name) {
                continue;
            }
            let defined_later = defined_by.get(&name);
            let message = match defined_later {
                Some(_) => format!("`{{{{ {name} }}}}` is used before anything defines it"),
                None => format!("`{{{{ {name} }}}}` is not defined"),
            };
            let mut problem = Diagnostic::new(&file, line, message).quoting(&quoted);
            problem.span = variable_span(&quoted, &name);
            problem = match defined_later {
                Some((defining_file, defining_line)) => problem.hint(format!(
                    "`{name}` is captured by the block at {}:{defining_line}, which runs later; move that block first",
                    defining_file.display()
                )),
                None => {
                    let candidates: Vec<&str> = known.iter().chain(defined_by.keys()).map(String::as_str).collect();
                    let hint = match did_you_mean(&name, candidates) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!(
                            "`{name}` is not an inventory variable, a --var or a capture: define it in the inventory's `vars`, pass `--var {name}=VALUE`, or capture it in an earlier expected output with `(?P<{name}>...)`"
                        ),
                    };
                    if in_output {
                        problem.hint(format!("{hint}; if the command prints this `{{{{` itself, mark the block `verbatim`"))
                    } else {
                        problem.hint(hint)
                    }
                }
            };
            problems.push(problem);
        }
        available.extend(step_captures(step));
    }

    let selected = match select(&workshop, all_steps, options) {
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

fn step_captures(step: &Step) -> Vec<String> {
    let mut names: Vec<String> = step
        .expectations
        .shared
        .iter()
        .flat_map(Expected::capture_names)
        .collect();
    for expected in step.expectations.per_host.values() {
        names.extend(expected.capture_names());
    }
    names
}

/// Where `{{ name }}` is in `line`: the name inside the first `{{ }}` that holds it.
fn variable_span(line: &str, name: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(open) = line[from..].find("{{").map(|index| from + index) {
        let close = line[open..]
            .find("}}")
            .map_or(line.len(), |index| open + index);
        if let Some(start) = line[open..close].find(name).map(|index| open + index) {
            return Some((start, start + name.len()));
        }
        from = open + 2;
    }
    None
}

/// Every variable a step refers to: (name, file, line, quoted line, in an expected output),
/// each once per line.
fn step_variables(step: &Step, block: &Block) -> Vec<(String, PathBuf, usize, String, bool)> {
    let mut found = Vec::new();
    if let HostSpec::Template(spec) = &step.hosts {
        for name in template::variables_in(spec).unwrap_or_default() {
            found.push((
                name,
                step.file.clone(),
                step.line,
                block.fence_text.clone(),
                false,
            ));
        }
    }
    if step.templated {
        let text = match &step.action {
            Action::Run { script } => script.clone(),
            Action::WriteFile { content, path, .. } => {
                // The path is on the fence line; the content starts on the next line.
                for name in template::variables_in(path).unwrap_or_default() {
                    found.push((
                        name,
                        step.file.clone(),
                        step.line,
                        block.fence_text.clone(),
                        false,
                    ));
                }
                content.clone()
            }
        };
        for (offset, line) in text.lines().enumerate() {
            for name in template::variables_in(line).unwrap_or_default() {
                found.push((
                    name,
                    step.file.clone(),
                    step.line + 1 + offset,
                    line.to_string(),
                    false,
                ));
            }
        }
    }
    let expectations = step
        .expectations
        .shared
        .iter()
        .chain(step.expectations.per_host.values());
    for expected in expectations {
        for (name, line) in expected.variables_used() {
            found.push((
                name,
                expected.origin.path().to_path_buf(),
                line.line,
                line.source.clone(),
                true,
            ));
        }
    }
    let mut seen = BTreeSet::new();
    found.retain(|(name, file, line, _, _)| seen.insert((name.clone(), file.clone(), *line)));
    found
}

/// The expected files of one chapter, listed and parsed once (in parallel when there are many:
/// reading and compiling them is most of the planning of a large workshop).
struct ExpectedListing {
    folder: PathBuf,
    /// File name -> its parsed content; taken out when a block uses it.
    files: std::cell::RefCell<BTreeMap<String, Result<Expected, Diagnostics>>>,
}

/// Below this many files, threads cost more than they save.
const PARALLEL_LOAD_FROM: usize = 64;

impl ExpectedListing {
    fn read(folder: &Path) -> Self {
        let names: Vec<String> = std::fs::read_dir(folder)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".out"))
                    .collect()
            })
            .unwrap_or_default();
        let load = |name: &String| {
            (
                name.clone(),
                load_expected(&folder.join(name), Reading::default()),
            )
        };
        let files: BTreeMap<String, Result<Expected, Diagnostics>> =
            if names.len() < PARALLEL_LOAD_FROM {
                names.iter().map(load).collect()
            } else {
                let workers = std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .min(8);
                let chunk = names.len().div_ceil(workers);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = names
                        .chunks(chunk)
                        .map(|part| scope.spawn(move || part.iter().map(load).collect::<Vec<_>>()))
                        .collect();
                    handles
                        .into_iter()
                        .flat_map(|handle| handle.join().unwrap_or_default())
                        .collect()
                })
            };
        ExpectedListing {
            folder: folder.to_path_buf(),
            files: std::cell::RefCell::new(files),
        }
    }

    /// `<id>.out`, parsed, if present.
    fn shared(&self, id: &str) -> Option<Result<Expected, Diagnostics>> {
        self.files.borrow_mut().remove(&format!("{id}.out"))
    }

    /// `<id>.<host>.out` files: (what stands between the id and `.out`, parsed content).
    fn per_host(&self, id: &str) -> Vec<(String, Result<Expected, Diagnostics>)> {
        let prefix = format!("{id}.");
        let mut files = self.files.borrow_mut();
        let names: Vec<String> = files
            .range(prefix.clone()..)
            .map(|(name, _)| name)
            .take_while(|name| name.starts_with(&prefix))
            .filter(|name| name.len() > prefix.len() + 4)
            .cloned()
            .collect();
        names
            .into_iter()
            .filter_map(|name| {
                let host = name[prefix.len()..name.len() - 4].to_string();
                files.remove(&name).map(|loaded| (host, loaded))
            })
            .collect()
    }
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
        Some(spec) => match check_on(inventory, spec, &options.workshop_dir) {
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
        // A verbatim block's expected output is no template either: read it again so.
        let reading = Reading {
            templates: !attributes.verbatim,
        };
        let reread = |loaded: Result<Expected, Diagnostics>, name: String| {
            if reading.templates {
                loaded
            } else {
                load_expected(&listing.folder.join(name), reading)
            }
        };
        if let Some(loaded) = listing.shared(&block.id) {
            match reread(loaded, format!("{}.out", block.id)) {
                Ok(expected) => expectations.shared = Some(expected),
                Err(found) => problems.extend(found),
            }
        } else if let Some(inline) = &block.inline_expected {
            match pattern::parse_with(
                &inline.text,
                Origin::Inline(chapter.path.clone()),
                inline.first_line,
                reading,
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
            match reread(loaded, format!("{}.{host}.out", block.id)) {
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
        view: if attributes.raw {
            View::Raw
        } else {
            View::Screen
        },
        timeout: attributes.timeout.unwrap_or(options.default_timeout),
        retry: attributes.retry,
        exit: attributes.exit,
        check: attributes.check,
        teardown: attributes.teardown,
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

/// Resolves `on=`; on failure, the byte range of the faulty name within `spec`, the message
/// and the hint.
fn check_on(
    inventory: &Inventory,
    spec: &str,
    workshop_dir: &Path,
) -> Result<Vec<String>, (std::ops::Range<usize>, String, String)> {
    let mut offset = 0;
    for part in spec.split(',') {
        let start = offset + (part.len() - part.trim_start().len());
        let name = part.trim();
        offset += part.len() + 1;
        if name.is_empty() {
            // Underline the comma next to the gap.
            let comma = if start > 0 { start - 1 } else { start };
            return Err((
                comma..comma + 1,
                format!("`on={spec}` has an empty name in its list"),
                "separate names with single commas, e.g. `on=e1,e2`".to_string(),
            ));
        }
        if inventory.resolve(name).is_ok() {
            continue;
        }
        let known = inventory.names();
        let range = start..start + name.len();
        let (message, fallback) = match &inventory.path {
            Some(path) => (
                format!(
                    "`{name}` is neither a host nor a group of {}",
                    path.display()
                ),
                format!(
                    "add `{name}` to {} as a host or a group, or fix the name; it has: {}",
                    path.display(),
                    known.join(", ")
                ),
            ),
            None => (
                format!(
                    "`{name}` is not a known host: there is no inventory, so only `localhost` exists"
                ),
                format!(
                    "create {} (Ansible's YAML shape) listing the lab's hosts",
                    workshop_dir.join("inventory.yml").display()
                ),
            ),
        };
        let hint = match did_you_mean(name, known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => fallback,
        };
        return Err((range, message, hint));
    }
    inventory
        .resolve(spec)
        .map_err(|message| (0..spec.len(), message, "fix the host list".to_string()))
}

/// Reads an expected file as bytes: lines that are not UTF-8 are matched on their bytes.
fn load_expected(path: &Path, reading: Reading) -> Result<Expected, Diagnostics> {
    let mut problems = Diagnostics::default();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            problems.push(Diagnostic::new(
                path,
                0,
                format!("cannot read `{}`: {error}", path.display()),
            ));
            return Err(problems);
        }
    };
    pattern::parse_bytes(&bytes, Origin::File(path.to_path_buf()), reading).map_err(|found| {
        found.into_iter().for_each(|problem| problems.push(problem));
        problems
    })
}

/// Applies `--chapter`, `--from` and `check`-only selection.
fn select(
    workshop: &Workshop,
    steps: Vec<Step>,
    options: &PlanOptions,
) -> Result<Vec<Step>, Diagnostic> {
    let mut steps = steps;
    // A teardown run has only the blocks that remove the lab; every other run leaves them out.
    steps.retain(|step| step.teardown == options.teardown);
    // Decided on the whole workshop, before `--chapter` and `--from` narrow it.
    let ending = options.checks_only.then(|| ending_checks(&steps));
    if !options.chapters.is_empty() {
        let mut wanted = BTreeSet::new();
        for name in &options.chapters {
            let found = workshop.chapters.iter().position(|chapter| {
                chapter.key == *name
                    || chapter.file_name() == *name
                    || chapter.title.eq_ignore_ascii_case(name)
                    || chapter.path == Path::new(name)
            });
            match found {
                Some(index) => {
                    wanted.insert(index);
                }
                None => {
                    let keys: Vec<&str> = workshop
                        .chapters
                        .iter()
                        .map(|chapter| chapter.key.as_str())
                        .collect();
                    let hint = match did_you_mean(name, keys.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("the chapters are: {}", keys.join(", ")),
                    };
                    return Err(Diagnostic::new(
                        &workshop.dir,
                        0,
                        format!("no chapter named `{name}`"),
                    )
                    .hint(hint));
                }
            }
        }
        steps.retain(|step| wanted.contains(&step.chapter));
    }
    if let Some(from) = &options.from {
        let matching: Vec<usize> = steps
            .iter()
            .enumerate()
            .filter(|(_, step)| step.qualified_id == *from || step.id == *from)
            .map(|(index, _)| index)
            .collect();
        match matching.as_slice() {
            [index] => {
                steps.drain(..*index);
            }
            [] => {
                let ids: Vec<&str> = steps
                    .iter()
                    .map(|step| step.qualified_id.as_str())
                    .collect();
                let hint = match did_you_mean(from, ids.iter().copied()) {
                    Some(close) => {
                        format!("did you mean `{close}`? (`runbook list` shows every id)")
                    }
                    None => "`runbook list` shows every block id".to_string(),
                };
                return Err(Diagnostic::new(
                    &workshop.dir,
                    0,
                    format!("no block `{from}` to start from"),
                )
                .hint(hint));
            }
            several => {
                let names: Vec<&str> = several
                    .iter()
                    .map(|&index| steps[index].qualified_id.as_str())
                    .collect();
                return Err(Diagnostic::new(
                    &workshop.dir,
                    0,
                    format!("`{from}` names several blocks"),
                )
                .hint(format!("say which with its chapter: {}", names.join(", "))));
            }
        }
    }
    if let Some(ending) = ending {
        steps.retain(|step| ending.contains(&step.qualified_id));
    }
    Ok(steps)
}

/// The checks that end each chapter: its `check` blocks after its last other block. They prove
/// the state the chapter leaves the lab in. A check in the middle of a chapter proves a state
/// on the way (etcd frozen, a restart pending) that the next blocks undo: it serves `runbook
/// step` after a block the trainee typed, not `runbook check`.
pub fn ending_checks(steps: &[Step]) -> BTreeSet<String> {
    steps
        .chunk_by(|one, next| one.chapter == next.chapter)
        .flat_map(|chapter| chapter.iter().rev().take_while(|step| step.check))
        .map(|step| step.qualified_id.clone())
        .collect()
}
