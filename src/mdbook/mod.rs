//! `runbook mdbook`: runbook as an mdBook preprocessor, so that the course book shows what the
//! commands really print. mdBook first asks `runbook mdbook supports RENDERER` (answered by
//! the exit status), then sends `[context, book]` as JSON on stdin and reads the book back on
//! stdout. For each chapter runbook removes its attributes from the info strings, captions
//! `file=` blocks with their host and path, and puts after each command the output of the
//! last run (`report/run.json`) or else the expected output, as [`shown`] explains. The JSON
//! is handled as plain `serde_json` values, so that both mdBook 0.4 (`sections`) and 0.5
//! (`items`) books pass through with every field they carry.

pub(crate) mod rewrite;
pub(crate) mod shown;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::chapter::parse::parse_chapter_with;
use crate::chapter::{Block, BlockKind};
use crate::diagnostic::Diagnostics;
use crate::plan::{self, HostSpec, Plan, PlanOptions, Step};
use crate::report::{
    self,
    model::{AttemptResult, HostResult, Outcome, RunReport, StepResult},
};
use crate::template::Vars;
use rewrite::BlockEdit;
use shown::{RealOutput, Shown};

/// Why the book could not be preprocessed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Problems in the workshop's files (the same as `runbook verify` reports).
    Input(Diagnostics),
    /// mdBook's input is not what the protocol says, or a file cannot be read.
    Protocol(String),
}

/// Every renderer: runbook's changes are plain CommonMark (code blocks and a paragraph per
/// caption), which the HTML, Markdown and EPUB renderers alike understand.
pub(crate) fn supports(renderer: &str) -> bool {
    !renderer.trim().is_empty()
}

/// Settings of `[preprocessor.runbook]` in book.toml; paths are relative to the book root.
#[derive(Debug, Clone, Default)]
struct Settings {
    /// The folder holding `run.json` (default `report`).
    report: Option<PathBuf>,
    /// The expected outputs (default: `expected/` beside the chapters' folder).
    expected: Option<PathBuf>,
    inventory: Option<PathBuf>,
}

impl Settings {
    fn from_context(context: &Value) -> Self {
        let table = &context["config"]["preprocessor"]["runbook"];
        let path = |key: &str| table[key].as_str().map(PathBuf::from);
        Settings {
            report: path("report"),
            expected: path("expected"),
            inventory: path("inventory"),
        }
    }
}

/// The protocol's second call: the book in, the book with real output out.
pub(crate) fn preprocess(input: impl Read, mut output: impl Write) -> Result<(), Failure> {
    let mut input = input;
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|error| Failure::Protocol(format!("cannot read mdBook's input: {error}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|error| {
        Failure::Protocol(format!(
            "mdBook's input is not JSON ({error}); runbook mdbook is meant to be run by mdBook (`[preprocessor.runbook]` in book.toml)"
        ))
    })?;
    let Value::Array(mut pair) = value else {
        return Err(Failure::Protocol(
            "mdBook's input is not a [context, book] pair".into(),
        ));
    };
    if pair.len() != 2 {
        return Err(Failure::Protocol(
            "mdBook's input is not a [context, book] pair".into(),
        ));
    }
    let mut book = pair.pop().unwrap_or_default();
    let context = pair.pop().unwrap_or_default();
    let root = PathBuf::from(context["root"].as_str().unwrap_or("."));
    let source = context["config"]["book"]["src"].as_str().unwrap_or("src");
    let settings = Settings::from_context(&context);
    let book_builder = BookBuilder::new(&root, &root.join(source), &settings)?;
    let items_key = if book.get("items").is_some() {
        "items"
    } else {
        "sections"
    };
    let mut problems = Diagnostics::default();
    if let Some(items) = book.get_mut(items_key) {
        visit_chapters(items, &mut |chapter| {
            if let Err(found) = book_builder.chapter(chapter) {
                problems.extend(found);
            }
        });
    }
    for warning in &book_builder.warnings() {
        log(warning);
    }
    if !problems.is_empty() {
        return Err(Failure::Input(problems));
    }
    serde_json::to_writer(&mut output, &book)
        .map_err(|error| Failure::Protocol(format!("cannot write the book for mdBook: {error}")))?;
    output
        .flush()
        .map_err(|error| Failure::Protocol(format!("cannot write the book for mdBook: {error}")))
}

/// mdBook passes a preprocessor's stderr to the user: runbook's notes go there.
#[allow(clippy::print_stderr)]
fn log(message: &str) {
    eprintln!("[runbook] {message}");
}

fn visit_chapters(items: &mut Value, visit: &mut dyn FnMut(&mut Value)) {
    let Some(items) = items.as_array_mut() else {
        return;
    };
    for item in items {
        if let Some(chapter) = item.get_mut("Chapter") {
            visit(chapter);
            if let Some(children) = chapter.get_mut("sub_items") {
                visit_chapters(children, visit);
            }
        }
    }
}

/// Everything known about the workshop, to rewrite its chapters.
struct BookBuilder {
    plan: Plan,
    /// Steps by `chapter/id`.
    steps: BTreeMap<String, usize>,
    /// The last run's results by `chapter/id`.
    results: BTreeMap<String, StepResult>,
    /// Values the last run captured (for `{{ }}` in expected outputs).
    captures: Vars,
    warnings: std::cell::RefCell<Vec<String>>,
}

impl BookBuilder {
    fn new(root: &Path, workshop: &Path, settings: &Settings) -> Result<Self, Failure> {
        let options = PlanOptions {
            inventory: settings.inventory.as_ref().map(|p| root.join(p)),
            expected_dir: settings.expected.as_ref().map(|p| root.join(p)),
            ..PlanOptions::for_workshop(workshop)
        };
        let plan = plan::build(&options).map_err(Failure::Input)?;
        let report_dir = root.join(
            settings
                .report
                .as_deref()
                .unwrap_or(Path::new(report::DEFAULT_FOLDER)),
        );
        let run_json = report_dir.join("run.json");
        let mut results = BTreeMap::new();
        let mut captures = Vars::new();
        let mut warnings = Vec::new();
        if run_json.is_file() {
            let text = std::fs::read_to_string(&run_json).map_err(|error| {
                Failure::Protocol(format!("cannot read {}: {error}", run_json.display()))
            })?;
            let report: RunReport = serde_json::from_str(&text).map_err(|error| {
                Failure::Protocol(format!(
                    "{} is not a runbook report ({error}); run `runbook verify` again or delete it",
                    run_json.display()
                ))
            })?;
            for chapter in report.chapters {
                for step in chapter.steps {
                    for host in &step.hosts {
                        if matches!(host.outcome, Outcome::Passed | Outcome::Blessed) {
                            captures.extend(host.captures.clone());
                        }
                    }
                    results.insert(step.qualified_id.clone(), step);
                }
            }
        } else {
            warnings.push(format!(
                "no {} yet: the book shows the expected outputs (`runbook verify` records real ones)",
                run_json.display()
            ));
        }
        let steps = plan
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| (step.qualified_id.clone(), index))
            .collect();
        Ok(BookBuilder {
            plan,
            steps,
            results,
            captures,
            warnings: std::cell::RefCell::new(warnings),
        })
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.borrow().clone()
    }

    fn warn(&self, message: String) {
        self.warnings.borrow_mut().push(message);
    }

    /// Rewrites one chapter of mdBook's JSON in place.
    fn chapter(&self, chapter: &mut Value) -> Result<(), Diagnostics> {
        let Some(source) = chapter["source_path"].as_str().map(PathBuf::from) else {
            return Ok(()); // a draft or generated chapter: no file, no blocks of runbook's
        };
        let Some(content) = chapter["content"].as_str().map(str::to_string) else {
            return Ok(());
        };
        let key = source
            .with_extension("")
            .to_string_lossy()
            .replace('\\', "/");
        let path = self.plan.workshop.dir.join(&source);
        // Read as the plan read it (`runbook.yml`'s language for bare fences), so that the
        // blocks and their ids are the same.
        let parsed = parse_chapter_with(
            &path,
            &content,
            &self.plan.workshop.settings.chapter_options(),
        )
        .map_err(|found| {
            let mut problems = Diagnostics::default();
            found.into_iter().for_each(|problem| problems.push(problem));
            problems
        })?;
        let edits: Vec<BlockEdit> = parsed
            .blocks
            .iter()
            .map(|block| self.edit(&key, block))
            .collect();
        let rewritten = rewrite::apply(&content, &parsed.blocks, &edits);
        chapter["content"] = Value::String(rewritten);
        Ok(())
    }

    fn edit(&self, chapter_key: &str, block: &Block) -> BlockEdit {
        let qualified = format!("{chapter_key}/{}", block.id);
        let step = self
            .steps
            .get(&qualified)
            .map(|&index| &self.plan.steps[index]);
        match (&block.kind, step) {
            (BlockKind::Shown, _) => BlockEdit::default(),
            (BlockKind::File { path, .. }, step) => BlockEdit {
                before: Some(file_caption(block, path, step)),
                after: None,
            },
            (BlockKind::Command { .. }, Some(step)) => BlockEdit {
                before: None,
                after: self.output(step),
            },
            (BlockKind::Command { .. }, None) => {
                // Content mdBook changed (an include) so that the block is not the planned
                // one: its own console block is all there is.
                let after = block.inline_expected.as_ref().and_then(|inline| {
                    let expected = crate::expect::pattern::parse(
                        &inline.text,
                        crate::expect::pattern::Origin::Inline(PathBuf::new()),
                        inline.first_line,
                    )
                    .ok()?;
                    let shown = shown::output_for_book(Some(&expected), None, &self.captures)?;
                    Some(render_outputs(&[(Vec::new(), shown)]))
                });
                BlockEdit {
                    before: None,
                    after,
                }
            }
        }
    }

    /// The console block(s) after a command: one, or one per group of hosts that printed
    /// different things.
    fn output(&self, step: &Step) -> Option<String> {
        let result = self.results.get(&step.qualified_id);
        let stale = result.is_some_and(|result| is_stale(step, result));
        if stale {
            self.warn(format!(
                "{}: the block changed since the last run; the book shows its expected output",
                step.qualified_id
            ));
        }
        let mut groups: Vec<(Vec<String>, Shown)> = Vec::new();
        let ran: Vec<(&str, Option<RealOutput<'_>>, Outcome)> = match result {
            // A stale run printed another command's output: none of it is shown.
            Some(result) if !result.hosts.is_empty() && !stale => result
                .hosts
                .iter()
                .map(|host| {
                    let real = host.last_attempt().map(|attempt| RealOutput {
                        text: &attempt.output,
                        trusted: run_can_be_shown(host, attempt),
                    });
                    (host.host.as_str(), real, host.outcome)
                })
                .collect(),
            _ => match &step.hosts {
                HostSpec::Hosts(hosts) => hosts
                    .iter()
                    .map(|h| (h.as_str(), None, Outcome::Skipped))
                    .collect(),
                HostSpec::Template(_) => vec![("", None, Outcome::Skipped)],
            },
        };
        for (host, real, outcome) in ran {
            if real.is_some_and(|r| !r.trusted) && outcome != Outcome::Skipped {
                self.warn(format!(
                    "{} on {host}: the last run ended `{}`; the book shows the expected output",
                    step.qualified_id,
                    outcome.label()
                ));
            }
            let expected = if host.is_empty() {
                step.expectations.shared.as_ref()
            } else {
                step.expectations.for_host(host)
            };
            let mut vars = self
                .plan
                .vars_for((!host.is_empty()).then_some(host), &Vars::new());
            vars.extend(self.captures.clone());
            // A command that prints nothing gets no empty console block.
            let Some(mut shown) = shown::output_for_book(expected, real, &vars)
                .filter(|shown| !shown.lines.is_empty())
            else {
                continue;
            };
            if step.pty {
                // A dialogue reads as the trainee saw it: the answers inline, unmarked.
                for line in &mut shown.lines {
                    *line = crate::expect::dialogue::shown_line(line);
                }
            }
            match groups.iter_mut().find(|(_, other)| *other == shown) {
                Some((hosts, _)) => hosts.push(host.to_string()),
                None => groups.push((vec![host.to_string()], shown)),
            }
        }
        if groups.is_empty() {
            return None;
        }
        if groups.len() == 1 {
            groups[0].0.clear();
        }
        let mut rendered = render_outputs(&groups);
        if let Some(result) = result.filter(|_| !stale)
            && let Some(player) = replay(result)
        {
            rendered.push('\n');
            rendered.push_str(&player);
        }
        Some(rendered)
    }
}

/// A host's last run stands for the block in the book when it passed (or had nothing to match)
/// and its output was kept whole.
fn run_can_be_shown(host: &HostResult, attempt: &AttemptResult) -> bool {
    matches!(
        host.outcome,
        Outcome::Passed | Outcome::Blessed | Outcome::Unverified
    ) && !attempt.truncated
}

/// A replay of the block as the last run printed it, on its first host whose run can be shown:
/// the recording's events in an element that `assets/runbook-cast.js` (the book's
/// `additional-js`) turns into a button and a screen. Without that script it shows nothing.
fn replay(result: &StepResult) -> Option<String> {
    let (host, attempt) = result.hosts.iter().find_map(|host| {
        let attempt = host.last_attempt()?;
        (run_can_be_shown(host, attempt) && !attempt.line_times_ms.is_empty())
            .then_some((host, attempt))
    })?;
    let events = report::cast::events(result, host, attempt);
    let seconds = events.last().map_or(0.0, |event| event.0);
    let events: Vec<Value> = events
        .into_iter()
        .map(|(at, text)| serde_json::json!([at, text]))
        .collect();
    let attribute = |text: &str| {
        text.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    Some(format!(
        "<div class=\"runbook-cast\" data-title=\"{}\" data-seconds=\"{seconds:.1}\" data-cast=\"{}\"></div>\n",
        attribute(&format!("{} on {}", result.qualified_id, host.host)),
        attribute(&Value::Array(events).to_string()),
    ))
}

/// A block's recorded result no longer belongs to it when its command changed since.
fn is_stale(step: &Step, result: &StepResult) -> bool {
    if step.templated || result.command.contains("[secret:") {
        // The run recorded the command with values filled in or hidden: not comparable.
        return false;
    }
    let current = match &step.action {
        plan::Action::Run { script } => script,
        plan::Action::WriteFile { content, .. } => content,
    };
    result.command != *current
}

/// Console blocks for the groups of hosts, each captioned when there are several.
fn render_outputs(groups: &[(Vec<String>, Shown)]) -> String {
    let mut out = String::new();
    for (hosts, shown) in groups {
        if !out.is_empty() {
            out.push('\n');
        }
        let named: Vec<String> = hosts
            .iter()
            .filter(|h| !h.is_empty())
            .map(|h| format!("`{h}`"))
            .collect();
        if !named.is_empty() {
            out.push_str(&format!("On {}:\n\n", named.join(", ")));
        }
        out.push_str(&rewrite::fenced("console", &shown.lines));
        if shown.varies && !shown.from_run {
            out.push_str(&format!(
                "\n*Expected output, not from a recorded run: `{}` stands for text that varies.*\n",
                shown::VARIES
            ));
        }
    }
    out
}

/// "File `/etc/patroni.yml` on `pg-1`, `pg-2` (mode 0640, owner postgres):", or for an
/// `append` block "Added to the end of file `~/.profile` on ...".
fn file_caption(block: &Block, path: &str, step: Option<&Step>) -> String {
    let spec = block
        .attributes
        .on
        .clone()
        .or_else(|| block.prompt_host.clone());
    let hosts: Vec<String> = match step.map(|s| &s.hosts) {
        Some(HostSpec::Hosts(hosts)) => hosts.clone(),
        _ => Vec::new(),
    };
    let quoted: Vec<String> = hosts.iter().map(|h| format!("`{h}`")).collect();
    let place = match (&spec, quoted.is_empty()) {
        (Some(spec), false) if *spec != hosts.join(",") => {
            format!("`{spec}` ({})", quoted.join(", "))
        }
        (_, false) => quoted.join(", "),
        (Some(spec), true) => format!("`{spec}`"),
        (None, true) => "`localhost`".to_string(),
    };
    let mut details = Vec::new();
    if let Some(mode) = block.attributes.mode {
        details.push(format!("mode {mode:04o}"));
    }
    if let Some(owner) = &block.attributes.owner {
        details.push(format!("owner {owner}"));
    }
    let details = if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join(", "))
    };
    if block.attributes.append {
        format!("Added to the end of file `{path}` on {place}{details}:\n")
    } else {
        format!("File `{path}` on {place}{details}:\n")
    }
}
