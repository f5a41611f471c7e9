//! The `{{ variables }}` of each step (in its command, its `on=`, its file path and its
//! expected outputs), checked against what defines them: the inventory, `--var`, or a capture
//! of an earlier block.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{Action, HostSpec, Step};
use crate::chapter::{Block, Chapter, Workshop};
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::expect::pattern::Expected;
use crate::inventory::Inventory;
use crate::template::{self, Vars};

/// The lines of a templated block whose `{{ }}` do not parse, or name an unknown filter.
pub(super) fn bad_templates(chapter: &Chapter, block: &Block, action: &Action) -> Diagnostics {
    let mut problems = Diagnostics::default();
    let text = match action {
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
    problems
}

/// Variables any block may use before captures: inventory (all hosts' too), --var.
pub(crate) fn known_before_captures(inventory: &Inventory, overrides: &Vars) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = inventory.vars.keys().cloned().collect();
    for host in &inventory.hosts {
        known.extend(host.vars.keys().cloned());
    }
    known.extend(overrides.keys().cloned());
    known
}

/// Every use of a variable that nothing defines, or that only a later block captures.
pub(crate) fn undefined_variables(
    workshop: &Workshop,
    all_steps: &[Step],
    known: &BTreeSet<String>,
) -> Diagnostics {
    let mut problems = Diagnostics::default();
    // Every capture and the block defining it, to tell "used before defined" from "unknown".
    let mut defined_by: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for step in all_steps {
        for name in step_captures(step) {
            defined_by
                .entry(name)
                .or_insert_with(|| (step.file.clone(), step.line));
        }
    }
    let mut available = known.clone();
    for step in all_steps {
        let block = &workshop.chapters[step.chapter].blocks[step.block];
        for VariableUse {
            name,
            file,
            line,
            quoted,
            in_output,
        } in step_variables(step, block)
        {
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
    problems
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

/// A `{{ name }}` somewhere in a step: the line it is on, to quote in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VariableUse {
    name: String,
    file: PathBuf,
    line: usize,
    quoted: String,
    /// In an expected output (where a `{{` may be the command's own).
    in_output: bool,
}

/// Every variable a step refers to, each once per line.
fn step_variables(step: &Step, block: &Block) -> Vec<VariableUse> {
    let mut found = Vec::new();
    let mut uses = |text: &str, file: &Path, line: usize, quoted: &str| {
        for name in template::variables_in(text).unwrap_or_default() {
            found.push(VariableUse {
                name,
                file: file.to_path_buf(),
                line,
                quoted: quoted.to_string(),
                in_output: false,
            });
        }
    };
    if let HostSpec::Template(spec) = &step.hosts {
        uses(spec, &step.file, step.line, &block.fence_text);
    }
    if step.templated {
        let text = match &step.action {
            Action::Run { script } => script,
            Action::WriteFile { content, path, .. } => {
                // The path is on the fence line; the content starts on the next line.
                uses(path, &step.file, step.line, &block.fence_text);
                content
            }
        };
        for (offset, line) in text.lines().enumerate() {
            uses(line, &step.file, step.script_line + offset, line);
        }
    }
    let expectations = step
        .expectations
        .shared
        .iter()
        .chain(step.expectations.per_host.values());
    for expected in expectations {
        for (name, line) in expected.variables_used() {
            found.push(VariableUse {
                name,
                file: expected.origin.path().to_path_buf(),
                line: line.line,
                quoted: line.source.clone(),
                in_output: true,
            });
        }
    }
    let mut seen = BTreeSet::new();
    found.retain(|used| seen.insert((used.name.clone(), used.file.clone(), used.line)));
    found
}
