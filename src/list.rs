//! `runbook list`: the plan as a reader would check it, or as JSON for editors, CI scripts
//! and other tools (`--format json`), without touching any host.

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Write;

use console::Style;
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::expect::pattern::{Expected, Origin};
use crate::plan::{Action, FileWrite, HostSpec, Plan, Step};

/// One step of the plan as `--format json` prints it.
#[derive(Debug, Serialize)]
struct ListedStep {
    /// `<chapter>/<id>`, as the reports name the step.
    id: String,
    chapter: String,
    section: Option<String>,
    file: String,
    /// The fence line, or for a transcript's command the line of its prompt.
    line: usize,
    /// For a transcript's command, its number in the transcript (from 1).
    part: Option<usize>,
    /// The hosts it runs on; empty when a capture decides them at run time.
    hosts: Vec<String>,
    /// The `on=` template a capture fills in at run time.
    hosts_template: Option<String>,
    user: Option<String>,
    /// What the command is typed into: `shell` (bash), or `psql` for SQL.
    interpreter: &'static str,
    /// For SQL, the database its psql session connects to when it opens (null: psql's
    /// default, the user's name), and psql's arguments, which name the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    psql_args: Option<Vec<String>>,
    kind: &'static str,
    /// The script as it will run, `{{ }}` not filled in (null for a file block).
    command: Option<String>,
    /// The path a file block writes, and its content.
    writes: Option<String>,
    content: Option<String>,
    /// For a file block, whether its content is added to the file (`append`) rather than
    /// replacing it (null for a command).
    #[serde(skip_serializing_if = "Option::is_none")]
    append: Option<bool>,
    /// The expected output shared by every host, as written (or null).
    expected: Option<String>,
    /// Where it is written: an expected file's `path`, or `path:line` in the chapter.
    expected_from: Option<String>,
    /// Expected outputs of single hosts (`<id>.<host>.out`).
    expected_per_host: BTreeMap<String, ListedExpected>,
    timeout_ms: u128,
    retry_ms: Option<u128>,
    exit: String,
    check: bool,
    teardown: bool,
    /// The environment every session starts with (`runbook.yml`'s `env:`).
    env: BTreeMap<String, String>,
    /// What keeps this step from running (an unknown host, a bad expected file...); empty
    /// for a good step. `runbook list` exits with status 2 when any step has one.
    problems: Vec<ListedProblem>,
}

/// A problem of a step, as `runbook list --format json` gives it.
#[derive(Debug, Serialize)]
struct ListedProblem {
    file: String,
    line: usize,
    message: String,
    hint: Option<String>,
}

impl From<&Diagnostic> for ListedProblem {
    fn from(problem: &Diagnostic) -> Self {
        ListedProblem {
            file: problem.file.display().to_string(),
            line: problem.line,
            message: problem.message.clone(),
            hint: problem.hint.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct ListedExpected {
    expected: String,
    expected_from: String,
}

/// An expected output's text as written, annotations included.
fn written(expected: &Expected) -> String {
    let mut text = String::new();
    for line in &expected.lines {
        text.push_str(&line.source);
        if !line.no_eol {
            text.push('\n');
        }
    }
    text
}

/// `path` of an expected file, `path:line` of output written in a chapter (for the empty
/// output of a transcript's command, the line of the prompt after it).
fn written_at(step: &Step, expected: &Expected) -> String {
    match &expected.origin {
        Origin::File(path) => path.display().to_string(),
        Origin::Inline(path) => format!(
            "{}:{}",
            path.display(),
            expected.lines.first().map_or(step.line + 1, |l| l.line)
        ),
    }
}

fn listed(plan: &Plan, step: &Step, problems: Option<&Diagnostics>) -> ListedStep {
    let (hosts, hosts_template) = match &step.hosts {
        HostSpec::Hosts(hosts) => (hosts.clone(), None),
        HostSpec::Template(spec) => (Vec::new(), Some(spec.clone())),
    };
    let (kind, command, writes, content, append) = match &step.action {
        Action::Run { script } => ("command", Some(script.clone()), None, None, None),
        Action::WriteFile {
            path, content, how, ..
        } => (
            "file",
            None,
            Some(path.clone()),
            Some(content.clone()),
            Some(*how == FileWrite::Append),
        ),
    };
    let shared = step.expectations.shared.as_ref();
    ListedStep {
        id: step.qualified_id.clone(),
        chapter: plan.chapter_of(step).key.clone(),
        section: plan.block_of(step).section.clone(),
        file: step.file.display().to_string(),
        line: step.line,
        part: step.part,
        hosts,
        hosts_template,
        user: step.user.clone(),
        interpreter: if step.psql.is_some() { "psql" } else { "shell" },
        database: step.psql.as_ref().and_then(|psql| psql.database()),
        psql_args: step.psql.as_ref().map(|psql| psql.args.clone()),
        kind,
        command,
        writes,
        content,
        append,
        expected: shared.map(written),
        expected_from: shared.map(|expected| written_at(step, expected)),
        expected_per_host: step
            .expectations
            .per_host
            .iter()
            .map(|(host, expected)| {
                (
                    host.clone(),
                    ListedExpected {
                        expected: written(expected),
                        expected_from: written_at(step, expected),
                    },
                )
            })
            .collect(),
        timeout_ms: step.timeout.as_millis(),
        retry_ms: step.retry.map(|retry| retry.within.as_millis()),
        exit: step.exit.describe(),
        check: step.check,
        teardown: step.teardown,
        env: plan.workshop.settings.env.iter().cloned().collect(),
        problems: problems
            .map(|found| found.0.iter().map(ListedProblem::from).collect())
            .unwrap_or_default(),
    }
}

/// The plan as a JSON array, one object per step, on stdout; `problems[i]` are step `i`'s.
pub(crate) fn print_json(plan: &Plan, problems: &[Diagnostics]) {
    let steps: Vec<ListedStep> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| listed(plan, step, problems.get(index)))
        .collect();
    match serde_json::to_string_pretty(&steps) {
        Ok(text) => crate::printable::say!("{text}"),
        // Strings, numbers and maps only: serialising cannot fail.
        Err(error) => unreachable!("the plan serialises to JSON: {error}"),
    }
}

/// The plan as a reader checks it, a line per step; `problems[i]` are step `i`'s, shown under
/// it. On stdout, every line through [`crate::printable::TerminalWriter`] (chapter titles,
/// ids and problems come from the workshop: shown, never obeyed); a closed pipe ends nothing.
pub(crate) fn print(plan: &Plan, problems: &[Diagnostics]) {
    let mut out = crate::printable::TerminalWriter::new(std::io::stdout().lock());
    draw(&mut out, plan, problems);
}

/// [`print`] into `out`: stdout, or a buffer in a test.
fn draw(out: &mut dyn Write, plan: &Plan, problems: &[Diagnostics]) {
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    let red = Style::new().red().bold();
    let mut chapter_shown = None;
    for (index, step) in plan.steps.iter().enumerate() {
        let chapter = plan.chapter_of(step);
        if chapter_shown != Some(step.chapter) {
            let _ = writeln!(
                out,
                "{} {}",
                bold.apply_to(&chapter.title),
                dim.apply_to(chapter.path.display())
            );
            chapter_shown = Some(step.chapter);
        }
        let hosts = match &step.hosts {
            HostSpec::Hosts(hosts) => hosts.join(","),
            HostSpec::Template(spec) => format!("{spec} (at run time)"),
        };
        let user = step.user.clone().unwrap_or_else(|| "-".into());
        let expected = match &step.action {
            Action::WriteFile {
                path,
                how: FileWrite::Append,
                ..
            } => format!("appends to {path}"),
            Action::WriteFile { path, .. } => format!("writes {path}"),
            Action::Run { .. } => {
                let mut sources: Vec<String> = Vec::new();
                if let Some(shared) = &step.expectations.shared {
                    sources.push(match &shared.origin {
                        Origin::File(path) => path.display().to_string(),
                        Origin::Inline(path) => {
                            let line = shared.lines.first().map_or(step.line + 1, |l| l.line);
                            // A transcript's own output, or the console block after a block.
                            let console = plan
                                .block_of(step)
                                .inline_expected
                                .as_ref()
                                .map(|console| console.first_line);
                            let written = if step.part.is_some() && console != Some(line) {
                                "transcript"
                            } else {
                                "console block"
                            };
                            format!("{}:{line} ({written})", path.display())
                        }
                    });
                }
                for (host, expected) in &step.expectations.per_host {
                    sources.push(format!("{} ({host})", expected.origin.path().display()));
                }
                if sources.is_empty() {
                    format!(
                        "no expected output (would be {})",
                        step.expected_files().path(None).display()
                    )
                } else {
                    sources.join(", ")
                }
            }
        };
        let mut flags = Vec::new();
        if let Some(psql) = &step.psql {
            flags.push(match psql.database() {
                Some(database) => format!("psql {database}"),
                None => "psql".to_string(),
            });
        }
        if let Some(retry) = step.retry {
            flags.push(format!(
                "retry {}",
                humantime::format_duration(retry.within)
            ));
        }
        if step.check {
            flags.push("check".to_string());
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join(", "))
        };
        let _ = writeln!(
            out,
            "  {:<32} {:<22} {:<10} {}{}",
            step.qualified_id,
            hosts,
            user,
            dim.apply_to(expected),
            dim.apply_to(flags)
        );
        for problem in problems.get(index).map_or(&[][..], |found| &found.0) {
            // The writer shows the problem's text escaped, as every line `list` prints.
            let _ = writeln!(
                out,
                "    {} {} ({})",
                red.apply_to("error:"),
                problem.message,
                problem.location()
            );
        }
    }
    // A transcript is one block of several steps.
    let blocks = plan
        .steps
        .iter()
        .map(|step| (step.chapter, step.block))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if blocks == plan.steps.len() {
        let _ = writeln!(
            out,
            "{} blocks in {} chapters",
            plan.steps.len(),
            plan.workshop.chapters.len()
        );
    } else {
        let _ = writeln!(
            out,
            "{} steps from {blocks} blocks in {} chapters",
            plan.steps.len(),
            plan.workshop.chapters.len()
        );
    }
    let planned_teardown = plan.steps.iter().any(|step| step.teardown);
    let teardown = plan
        .workshop
        .chapters
        .iter()
        .flat_map(|chapter| &chapter.blocks)
        .filter(|block| block.attributes.teardown && !block.attributes.norun)
        .count();
    if teardown > 0 && !planned_teardown {
        let _ = writeln!(
out,
            "{}",
            dim.apply_to(format!(
                "and {teardown} teardown block{} that remove the lab, left out: `--teardown` runs them alone",
                if teardown == 1 { "" } else { "s" }
            ))
        );
    }
}

#[cfg(test)]
mod snapshots {
    //! What `runbook list` prints for a small workshop, compared with
    //! `tests/snapshots/list/`: hosts from groups and single hosts, users, where each expected
    //! output is written (a file, a console block, a transcript, none yet), `retry` and
    //! `check`, a file block, a step with a problem printed under it, a teardown block, and
    //! the count of steps and blocks.

    use super::*;
    use crate::report::snapshots::{Buffer, assert_snapshot_file};

    /// Writes `files` (path, content) under `root`.
    fn write(root: &std::path::Path, files: &[(&str, &str)]) {
        for (path, content) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
    }

    #[test]
    fn list_prints_a_line_per_step_and_a_problem_under_its_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            &[
                (
                    "workshop/inventory.yml",
                    "all:\n  hosts:\n    pg-1: {ansible_host: 10.0.3.11}\n  children:\n    etcd:\n      hosts:\n        e1: {ansible_host: 10.0.3.101}\n        e2: {ansible_host: 10.0.3.102}\n",
                ),
                (
                    "workshop/01-etcd.md",
                    "# etcd\n\n```bash id=start on=etcd\nsystemctl start etcd\n```\n\n```bash id=members on=e1 retry=30s/2s check\netcdctl member list\n```\n",
                ),
                (
                    "workshop/02-patroni.md",
                    "# Patroni\n\n```yaml file=/etc/patroni.yml on=pg-1 id=config\nscope: demo\n```\n\n```bash id=leader on=pg-1 user=postgres\npatronictl list\n```\n\n```console\npg-1\n```\n\n```bash id=status on=pg-9\nsystemctl status patroni\n```\n",
                ),
                (
                    "workshop/03-teardown.md",
                    "# Teardown\n\n```bash on=pg-1\n$ patronictl version\npatronictl version 4.0.4\n$ true\n```\n\n```bash id=remove on=all teardown\nrm -rf /var/lib/patroni\n```\n",
                ),
                ("expected/01-etcd/members.out", "e1\ne2\n"),
            ],
        );
        let workshop = dir.path().join("workshop");
        let options = crate::plan::PlanOptions {
            expected_dir: Some(dir.path().join("expected")),
            ..crate::plan::PlanOptions::for_workshop(&workshop)
        };
        let reviewed = crate::plan::review(&options).expect("a plan to show");
        assert!(
            reviewed.step_problems.iter().any(|found| !found.is_empty()),
            "the workshop has a faulty step to show"
        );
        let buffer = Buffer::default();
        let mut out = crate::printable::TerminalWriter::new(buffer.clone());
        draw(&mut out, &reviewed.selected.plan, &reviewed.step_problems);
        drop(out);
        // Paths as a trainer typing `runbook list workshop/` from the folder would see them,
        // not the test's temporary folder.
        let shown = buffer
            .text()
            .replace(&format!("{}/", dir.path().display()), "");
        assert_snapshot_file("list", "plan.txt", &shown);
    }
}
