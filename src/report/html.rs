//! `index.html`: one self-contained page (inline CSS, no script, a Content-Security-Policy that
//! forbids scripts and network loads) rendered with tera from the run's data. Every piece of
//! output is HTML-escaped by tera's autoescaping, so whatever a command printed stays text.

use serde::Serialize;

use super::duration;
use super::model::{Outcome, RunReport, RunStatus, StepResult};

const TEMPLATE: &str = include_str!("index.html.tera");

#[derive(Serialize)]
struct Page {
    version: String,
    workshop: String,
    started_at: String,
    duration: String,
    status_label: &'static str,
    status_class: &'static str,
    interrupted_by: Option<String>,
    counts: super::model::Counts,
    failures: Vec<FailureView>,
    chapters: Vec<ChapterView>,
    leftovers: Vec<crate::session::Leftover>,
}

#[derive(Serialize)]
struct FailureView {
    anchor: String,
    id: String,
    class: String,
    label: &'static str,
    message: String,
    location: String,
}

#[derive(Serialize)]
struct ChapterView {
    anchor: String,
    title: String,
    file: String,
    steps: Vec<StepView>,
}

#[derive(Serialize)]
struct StepView {
    anchor: String,
    id: String,
    class: String,
    label: &'static str,
    hosts_label: String,
    duration: String,
    location: String,
    section: Option<String>,
    message: Option<String>,
    path: Option<String>,
    command: String,
    open: bool,
    blessed: Vec<super::model::BlessChange>,
    hosts: Vec<HostView>,
}

#[derive(Serialize)]
struct HostView {
    host: String,
    user: String,
    class: String,
    label: &'static str,
    expected: Option<String>,
    many: bool,
    attempts: Vec<AttemptView>,
}

#[derive(Serialize)]
struct AttemptView {
    number: usize,
    class: String,
    label: &'static str,
    exit: String,
    duration: String,
    message: Option<String>,
    truncated: Option<String>,
    output: String,
    lines: usize,
    show_output: bool,
    ran: bool,
    diff: Option<Vec<HunkView>>,
    /// Says the diff was cut, and how much of it is not shown.
    diff_omitted: Option<String>,
}

#[derive(Serialize)]
struct HunkView {
    header: String,
    lines: Vec<LineView>,
}

#[derive(Serialize)]
struct LineView {
    class: &'static str,
    sign: &'static str,
    old: String,
    new: String,
    segments: Vec<SegmentView>,
}

#[derive(Serialize)]
struct SegmentView {
    text: String,
    em: bool,
}

fn class(outcome: Outcome) -> String {
    format!("{outcome:?}").to_lowercase()
}

fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn step_view(step: &StepResult, strict: bool) -> StepView {
    let failed = step.outcome.is_failure(strict);
    let hosts = step
        .hosts
        .iter()
        .map(|host| HostView {
            host: host.host.clone(),
            user: host.user.clone(),
            class: class(host.outcome),
            label: host.outcome.label(),
            expected: host.expected.clone(),
            many: host.attempts.len() > 1,
            attempts: host
                .attempts
                .iter()
                .map(|attempt| AttemptView {
                    number: attempt.number,
                    class: class(attempt.outcome),
                    label: attempt.outcome.label(),
                    exit: attempt
                        .exit_code
                        .map_or("-".to_string(), |code| code.to_string()),
                    duration: duration(attempt.duration_ms),
                    message: attempt
                        .message
                        .clone()
                        .filter(|_| attempt.outcome != Outcome::Passed),
                    truncated: attempt.truncated.then(|| super::truncation_note(attempt)),
                    lines: attempt.output.lines().count(),
                    show_output: attempt.outcome.is_failure(strict) && attempt.diff.is_none(),
                    ran: attempt.exit_code.is_some(),
                    output: attempt.output.clone(),
                    diff_omitted: attempt.diff.as_ref().and_then(|diff| diff.omitted_note()),
                    diff: attempt.diff.as_ref().map(|diff| {
                        diff.hunks
                            .iter()
                            .map(|hunk| HunkView {
                                header: hunk.header.clone(),
                                lines: hunk
                                    .lines
                                    .iter()
                                    .map(|line| {
                                        let (class, sign) = match line.tag {
                                            crate::expect::diff::DiffTag::Equal => ("equal", " "),
                                            crate::expect::diff::DiffTag::Delete => ("delete", "-"),
                                            crate::expect::diff::DiffTag::Insert => ("insert", "+"),
                                        };
                                        LineView {
                                            class,
                                            sign,
                                            old: line
                                                .expected_line
                                                .map_or(String::new(), |n| n.to_string()),
                                            new: line
                                                .actual_line
                                                .map_or(String::new(), |n| n.to_string()),
                                            segments: line
                                                .segments
                                                .iter()
                                                .map(|s| SegmentView {
                                                    text: s.text.clone(),
                                                    em: s.emphasized
                                                        && line.tag
                                                            != crate::expect::diff::DiffTag::Equal,
                                                })
                                                .collect(),
                                        }
                                    })
                                    .collect(),
                            })
                            .collect()
                    }),
                })
                .collect(),
        })
        .collect();
    StepView {
        anchor: anchor(&step.qualified_id),
        id: step.qualified_id.clone(),
        class: class(step.outcome),
        label: step.outcome.label(),
        hosts_label: step
            .hosts
            .iter()
            .map(|h| h.host.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        duration: duration(step.duration_ms),
        location: format!("{}:{}", step.file, step.line),
        section: step.section.clone(),
        message: step.message.clone(),
        path: step.path.clone(),
        command: step.command.clone(),
        open: failed,
        blessed: step.blessed.clone(),
        hosts,
    }
}

pub(crate) fn render(report: &RunReport) -> Result<String, String> {
    let (status_label, status_class) = match report.status {
        RunStatus::Passed => ("passed", "passed"),
        RunStatus::Failed => ("failed", "mismatch"),
        RunStatus::Interrupted => ("interrupted", "interrupted"),
    };
    let failures = report
        .chapters
        .iter()
        .flat_map(|chapter| chapter.steps.iter())
        .filter(|step| step.outcome.is_failure(report.strict))
        .map(|step| FailureView {
            anchor: anchor(&step.qualified_id),
            id: step.qualified_id.clone(),
            class: class(step.outcome),
            label: step.outcome.label(),
            message: step.message.clone().unwrap_or_default(),
            location: format!("{}:{}", step.file, step.line),
        })
        .collect();
    let page = Page {
        version: report.runbook_version.clone(),
        workshop: report.workshop.clone(),
        started_at: report.started_at.clone(),
        duration: duration(report.duration_ms),
        status_label,
        status_class,
        interrupted_by: report.interrupted_by.clone(),
        counts: report.counts.clone(),
        leftovers: report.leftovers.clone(),
        failures,
        chapters: report
            .chapters
            .iter()
            .map(|chapter| ChapterView {
                anchor: anchor(&format!("chapter-{}", chapter.key)),
                title: chapter.title.clone(),
                file: chapter.file.clone(),
                steps: chapter
                    .steps
                    .iter()
                    .map(|step| step_view(step, report.strict))
                    .collect(),
            })
            .collect(),
    };
    let mut tera = tera::Tera::new();
    tera.add_raw_template("index.html", TEMPLATE)
        .map_err(|error| error.to_string())?;
    let context = tera::Context::from_serialize(&page).map_err(|error| error.to_string())?;
    tera.render("index.html", &context)
        .map_err(|error| format!("cannot render the HTML report: {error}"))
}
