//! The class view: one row per trainee (the chapter their lab reached, a mark per chapter with
//! checks, the first failing check or why the lab did not answer, and how long it has not
//! moved), drawn for the terminal, as JSON for tools, and as a self-contained HTML page that
//! reloads itself while `--watch` keeps it up to date.

use std::io::Write;
use std::time::Duration;

use console::Style;
use serde::Serialize;

use crate::class::{FirstFailure, LabState, Unanswered};
use crate::report::check_view::ChapterState;

const TEMPLATE: &str = include_str!("class.html.tera");

/// A chapter with checks, as the view's columns show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct ChapterHead {
    /// From 1, in the course's order (chapters without checks counted).
    pub(crate) number: usize,
    pub(crate) key: String,
    pub(crate) title: String,
}

/// How far a lab got in one chapter with checks.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mark {
    /// Every check of the chapter passes.
    Reached,
    /// A check of the chapter fails.
    NotReached,
    /// A check could not run: its host gave no shell.
    Unknown,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Reached => "✔",
            Mark::NotReached => "✘",
            Mark::Unknown => "?",
        }
    }
}

/// One trainee's row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) trainee: String,
    /// The last chapter of the unbroken run of reached chapters; none when the first chapter
    /// with checks is not reached.
    pub(crate) reached: Option<ChapterHead>,
    /// One per column, in the columns' order.
    pub(crate) marks: Vec<Mark>,
    pub(crate) first_failure: Option<FirstFailure>,
    pub(crate) unreachable: Vec<Unanswered>,
    /// How long the look at this lab took.
    pub(crate) took_ms: u64,
    /// Under `--watch`: how long the lab has been at the chapter it is at.
    pub(crate) still_for_s: Option<u64>,
    /// The same, in words (`40 s`, `12 min`).
    pub(crate) still_for: Option<String>,
    /// Under `--watch`: still for long while most of the class is further on.
    pub(crate) stuck: bool,
}

/// The whole view, as JSON gives it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClassView {
    pub(crate) runbook_version: String,
    pub(crate) roster: String,
    pub(crate) checked_at: String,
    pub(crate) took_ms: u64,
    /// Under `--watch`: seconds between two looks (the HTML page reloads as often).
    pub(crate) every_s: Option<u64>,
    pub(crate) columns: Vec<ChapterHead>,
    pub(crate) trainees: Vec<Row>,
}

/// The columns: the chapters that have checks.
fn columns(chapters: &[ChapterState]) -> Vec<ChapterHead> {
    chapters
        .iter()
        .enumerate()
        .filter(|(_, chapter)| chapter.checks > 0)
        .map(|(index, chapter)| ChapterHead {
            number: index + 1,
            key: chapter.key.clone(),
            title: chapter.title.clone(),
        })
        .collect()
}

/// What the watch adds to a look: per lab, how long it has not moved and whether it is stuck.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stillness {
    pub(crate) still: Vec<Duration>,
    pub(crate) stuck: Vec<bool>,
    pub(crate) every: Option<Duration>,
}

impl ClassView {
    pub(crate) fn new(
        roster: &str,
        states: &[LabState],
        took: Duration,
        stillness: &Stillness,
    ) -> Self {
        let columns = states
            .first()
            .map(|state| columns(&state.chapters))
            .unwrap_or_default();
        let trainees = states
            .iter()
            .enumerate()
            .map(|(index, state)| {
                let marks = state
                    .chapters
                    .iter()
                    .enumerate()
                    .filter(|(_, chapter)| chapter.checks > 0)
                    .map(|(number, chapter)| {
                        if chapter.reached() {
                            Mark::Reached
                        } else if state.unknown.contains(&number) {
                            Mark::Unknown
                        } else {
                            Mark::NotReached
                        }
                    })
                    .collect();
                Row {
                    trainee: state.trainee.clone(),
                    reached: state.reached.map(|index| ChapterHead {
                        number: index + 1,
                        key: state.chapters[index].key.clone(),
                        title: state.chapters[index].title.clone(),
                    }),
                    marks,
                    first_failure: state.first_failure.clone(),
                    unreachable: state.unreachable.clone(),
                    took_ms: millis(state.took),
                    still_for_s: stillness.still.get(index).map(Duration::as_secs),
                    still_for: stillness
                        .still
                        .get(index)
                        .map(|still| minutes(still.as_secs())),
                    stuck: stillness.stuck.get(index).copied().unwrap_or(false),
                }
            })
            .collect();
        ClassView {
            runbook_version: env!("CARGO_PKG_VERSION").to_string(),
            roster: roster.to_string(),
            checked_at: crate::report::model::now_rfc3339(),
            took_ms: millis(took),
            every_s: stillness.every.map(|every| every.as_secs().max(1)),
            columns,
            trainees,
        }
    }

    /// The labs that answered and reached their first chapter with checks, the labs that did
    /// not answer at all, and the labs pointed out as stuck.
    fn counts(&self) -> (usize, usize, usize) {
        let unreachable = self
            .trainees
            .iter()
            .filter(|row| !row.unreachable.is_empty())
            .count();
        let stuck = self.trainees.iter().filter(|row| row.stuck).count();
        (self.trainees.len(), unreachable, stuck)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn minutes(seconds: u64) -> String {
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        format!("{} min", seconds / 60)
    }
}

/// The view as a terminal table.
pub(crate) fn draw(out: &mut dyn Write, view: &ClassView) {
    let (labs, unreachable, stuck) = view.counts();
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    let mut lines = Vec::new();
    lines.push(format!(
        "{} {labs} lab{} looked at in {:.1} s",
        bold.apply_to(format!("Class {}:", view.roster)),
        if labs == 1 { "" } else { "s" },
        view.took_ms as f64 / 1000.0
    ));
    let chapters: Vec<String> = view
        .columns
        .iter()
        .map(|column| format!("{} {}", column.number, column.title))
        .collect();
    lines.push(
        dim.apply_to(format!("Chapters with checks: {}", chapters.join(" · ")))
            .to_string(),
    );
    let name_width = view
        .trainees
        .iter()
        .map(|row| row.trainee.chars().count())
        .chain(["trainee".len()])
        .max()
        .unwrap_or(7);
    let reached_text = |row: &Row| {
        row.reached.as_ref().map_or_else(
            || "none".to_string(),
            |head| format!("{} {}", head.number, head.title),
        )
    };
    let reached_width = view
        .trainees
        .iter()
        .map(|row| reached_text(row).chars().count())
        .chain(["reached".len()])
        .max()
        .unwrap_or(7)
        .min(32);
    let numbers: Vec<String> = view
        .columns
        .iter()
        .map(|column| format!("{:<2}", column.number % 100))
        .collect();
    lines.push(String::new());
    lines.push(
        bold.apply_to(format!(
            "{:<name_width$}  {:<reached_width$}  {} first failing check",
            "trainee",
            "reached",
            numbers.join("")
        ))
        .to_string(),
    );
    for row in &view.trainees {
        let marks: String = row
            .marks
            .iter()
            .map(|mark| {
                let style = match mark {
                    Mark::Reached => Style::new().green(),
                    Mark::NotReached => Style::new().red(),
                    Mark::Unknown => Style::new().yellow(),
                };
                format!("{} ", style.apply_to(mark.symbol()))
            })
            .collect();
        let mut reached: String = reached_text(row);
        if reached.chars().count() > reached_width {
            reached = reached.chars().take(reached_width - 1).collect::<String>() + "…";
        }
        let what = if let Some(first) = row.unreachable.first() {
            Style::new()
                .yellow()
                .apply_to(format!("unreachable: {}: {}", first.host, first.why))
                .to_string()
        } else if let Some(failure) = &row.first_failure {
            let why = failure
                .message
                .as_deref()
                .map_or_else(String::new, |message| format!(": {message}"));
            format!("{}{why}", failure.check)
        } else {
            Style::new().green().apply_to("all checks pass").to_string()
        };
        let still = match (&row.still_for, row.stuck) {
            (Some(still), true) => format!(
                "  {}",
                Style::new()
                    .red()
                    .bold()
                    .apply_to(format!("stuck: {still} at this chapter"))
            ),
            _ => String::new(),
        };
        lines.push(format!(
            "{:<name_width$}  {:<reached_width$}  {marks} {what}{still}",
            row.trainee, reached
        ));
    }
    lines.push(String::new());
    let mut summary = format!(
        "{} of {labs} labs answered",
        labs.saturating_sub(unreachable)
    );
    if unreachable > 0 {
        summary.push_str(&format!("; {unreachable} unreachable"));
    }
    if stuck > 0 {
        summary.push_str(&format!("; {stuck} stuck"));
    }
    lines.push(summary);
    lines.push(
        dim.apply_to("✔ chapter reached · ✘ a check fails · ? its host did not answer · details: --trainee NAME")
            .to_string(),
    );
    for line in lines {
        // A terminal that went away cannot be told about it.
        let _ = writeln!(out, "{line}");
    }
}

/// The view as JSON.
pub(crate) fn json(view: &ClassView) -> String {
    serde_json::to_string_pretty(view).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
}

/// The view as a self-contained HTML page (no script, no outside resource); under `--watch`
/// it reloads itself as often as the class is looked at.
pub(crate) fn html(view: &ClassView) -> Result<String, String> {
    let mut tera = tera::Tera::new();
    tera.add_raw_template("class.html", TEMPLATE)
        .map_err(|error| error.to_string())?;
    tera.autoescape_on(vec!["class.html"]);
    let (labs, unreachable, stuck) = view.counts();
    let mut context = tera::Context::from_serialize(view).map_err(|error| error.to_string())?;
    context.insert("labs", &labs);
    context.insert("unreachable_count", &unreachable);
    context.insert("stuck_count", &stuck);
    tera.render("class.html", &context)
        .map_err(|error| format!("cannot render the class page: {error}"))
}

#[cfg(test)]
mod snapshots {
    use super::*;
    use crate::class::{FirstFailure, LabState, Unanswered};
    use crate::report::model::Outcome;
    use crate::report::snapshots::{Buffer, assert_snapshot_file};

    fn chapter(title: &str, checks: usize, passed: usize) -> ChapterState {
        ChapterState {
            key: title.to_lowercase(),
            title: title.into(),
            checks,
            passed,
            first_failure: None,
        }
    }

    /// Four labs: at the end, stuck at etcd, unreachable, and a name that is markup.
    fn view() -> ClassView {
        let course = |passed: [usize; 3]| {
            vec![
                chapter("Principles", 0, 0),
                chapter("etcd", 2, passed[0]),
                chapter("Patroni", 3, passed[1]),
                chapter("Backups", 1, passed[2]),
            ]
        };
        let lab = |trainee: &str, passed, reached, unknown: Vec<usize>| LabState {
            trainee: trainee.into(),
            chapters: course(passed),
            reached,
            unknown,
            first_failure: None,
            unreachable: Vec::new(),
            took: Duration::from_millis(1200),
        };
        let done = lab("alice", [2, 3, 1], Some(3), Vec::new());
        let stuck = LabState {
            first_failure: Some(FirstFailure {
                check: "patroni/cluster-list".into(),
                outcome: Outcome::Mismatch,
                message: Some("pg-1: the output differs from the expected output".into()),
            }),
            ..lab("bob", [2, 1, 0], Some(1), Vec::new())
        };
        let down = LabState {
            unreachable: vec![Unanswered {
                host: "pg-1".into(),
                why: "no shell on pg-1 as root: cannot connect to pg-1 (root@10.0.3.201:22): no answer within 5s".into(),
            }],
            first_failure: Some(FirstFailure {
                check: "etcd/member-list".into(),
                outcome: Outcome::Unreachable,
                message: None,
            }),
            ..lab("carol", [0, 0, 0], None, vec![1, 2, 3])
        };
        let markup = LabState {
            first_failure: Some(FirstFailure {
                check: "backups/backup-info".into(),
                outcome: Outcome::Exit,
                message: Some("backup: exit status 1, expected 0".into()),
            }),
            ..lab("<dave & co>", [2, 3, 0], Some(2), Vec::new())
        };
        let states = [done, stuck, down, markup];
        let stillness = Stillness {
            still: vec![
                Duration::from_secs(30),
                Duration::from_secs(900),
                Duration::from_secs(900),
                Duration::from_secs(60),
            ],
            stuck: vec![false, true, false, false],
            every: Some(Duration::from_secs(30)),
        };
        let mut view = ClassView::new(
            "class.yml",
            &states,
            Duration::from_millis(4200),
            &stillness,
        );
        view.checked_at = "2026-12-07T10:00:00Z".into();
        view.runbook_version = "0.0.0".into();
        view
    }

    #[test]
    fn the_class_view_as_a_table_json_and_a_page() {
        let view = view();
        let buffer = Buffer::default();
        draw(&mut buffer.clone(), &view);
        assert_snapshot_file("class", "view.txt", &buffer.text());
        assert_snapshot_file("class", "view.json", &json(&view));
        assert_snapshot_file("class", "view.html", &html(&view).expect("renders"));
    }
}
