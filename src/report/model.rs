//! What a run produced, as data: outcomes per block, per host and per attempt. The executor
//! emits it as [`Event`]s; every reporter (terminal, HTML, JUnit, JSON) renders the same data.

use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::chapter::Workshop;
use crate::expect::diff::Diff;
use crate::template::Vars;

/// How a block (or one host's part of it) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    /// Output written as the new expected output (`--bless`).
    Blessed,
    /// Ran, but there is no expected output to compare with.
    Unverified,
    /// Not run: an earlier block failed, or the run was interrupted.
    Skipped,
    /// The output differs from the expected output.
    Mismatch,
    /// The exit status differs from the expected one.
    Exit,
    Timeout,
    /// The host gave no shell (down, frozen, refused).
    Unreachable,
    /// runbook could not prepare the block (a template without its value...).
    Error,
    Interrupted,
}

impl Outcome {
    /// Whether this outcome fails the run (`unverified` only with `--strict`).
    pub(crate) fn is_failure(self, strict: bool) -> bool {
        match self {
            Outcome::Passed | Outcome::Blessed | Outcome::Skipped => false,
            Outcome::Unverified => strict,
            _ => true,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "pass",
            Outcome::Blessed => "blessed",
            Outcome::Unverified => "unverified",
            Outcome::Skipped => "skipped",
            Outcome::Mismatch => "mismatch",
            Outcome::Exit => "exit status",
            Outcome::Timeout => "timeout",
            Outcome::Unreachable => "unreachable",
            Outcome::Error => "error",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// The most telling of several outcomes (a failure wins over a pass).
    pub(crate) fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Option<Outcome> {
        outcomes.into_iter().max_by_key(|outcome| match outcome {
            Outcome::Passed => 0,
            Outcome::Blessed => 1,
            Outcome::Skipped => 2,
            Outcome::Unverified => 3,
            _ => 10 + *outcome as u8,
        })
    }
}

/// One run of a block's command on one host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptResult {
    pub number: usize,
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// What the command printed (stdout and stderr interleaved, ANSI removed, unprintable
    /// bytes escaped, secrets replaced).
    pub output: String,
    /// Only the last part of the output was kept.
    pub truncated: bool,
    pub output_bytes: u64,
    /// When each line of `output` was printed, in milliseconds from the start of the attempt:
    /// what a recording of the block (asciicast) replays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_times_ms: Vec<u32>,
    pub diff: Option<Diff>,
    /// Why, in a sentence, when it did not pass.
    pub message: Option<String>,
    /// For an `unreachable` attempt: why the host gave no shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<Unreachable>,
    /// What the processes the attempt left running printed after it ended, kept out of later
    /// blocks' output (issue 20); read when the report is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<BackgroundOutput>,
    /// Where [`AttemptResult::background`] is read from until then.
    #[serde(skip)]
    pub background_source: Option<crate::session::Background>,
}

/// What processes an attempt left running printed after it ended, up to when the report was
/// written: `output` as the attempt's own is shown (ANSI removed, unprintable bytes escaped,
/// secrets replaced), its first `--max-output` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackgroundOutput {
    pub output: String,
    pub output_bytes: u64,
    /// Only the first part of it was kept.
    pub truncated: bool,
    /// A process still held the channel when the report was written (one marked
    /// `keep-running`; the others were ended by then).
    pub still_running: bool,
}

/// Why a host gave no shell to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreachable {
    /// No shell could be opened: the host is down or refuses the login, the container does
    /// not run...
    NoShell,
    /// SSH refused the host's key: never retried, and the run stops.
    HostKeyRefused,
    /// The host answered, but the shell for the block's user ended before it was ready (a
    /// user that does not exist yet, `sudo` refusing): the host is up, the lab is not there.
    ShellRefused,
    /// The shell went away during the block (a lost connection).
    Lost,
}

/// What `--bless` did for one expected file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlessChange {
    pub path: String,
    pub created: bool,
    pub lines_changed: usize,
}

/// A block's result on one host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostResult {
    pub host: String,
    pub user: String,
    pub outcome: Outcome,
    /// Where the expected output came from (an expected file or `chapter.md:line`).
    pub expected: Option<String>,
    pub attempts: Vec<AttemptResult>,
    pub captures: Vars,
}

impl HostResult {
    pub(crate) fn last_attempt(&self) -> Option<&AttemptResult> {
        self.attempts.last()
    }
}

/// One block of a chapter, as run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    pub qualified_id: String,
    pub id: String,
    pub chapter: String,
    pub file: String,
    pub line: usize,
    pub section: Option<String>,
    pub kind: StepKind,
    /// The command as run (templates rendered), or the file's path and content.
    pub command: String,
    /// For `file=` blocks: the path written.
    pub path: Option<String>,
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub hosts: Vec<HostResult>,
    pub message: Option<String>,
    /// For a skipped block: why it was not run (`message` says it in words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_run: Option<SkipReason>,
    pub blessed: Vec<BlessChange>,
}

impl StepResult {
    /// The first failing host's reason, named (`web: exit status 1, expected 0`): what the
    /// step's message says when nothing else went wrong.
    pub(crate) fn first_host_failure(&self, strict: bool) -> Option<String> {
        self.hosts
            .iter()
            .filter(|h| h.outcome.is_failure(strict))
            .filter_map(|h| {
                h.last_attempt()
                    .and_then(|a| a.message.as_ref())
                    .map(|m| format!("{}: {m}", h.host))
            })
            .next()
    }
}

/// What a block does: runs a command, or writes a file (`file=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Command,
    File,
}

/// Why a block was not run: the run stopped before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "because", rename_all = "snake_case")]
pub enum SkipReason {
    Interrupted,
    /// An earlier block failed and `--keep-going` was not given.
    EarlierFailure {
        failed: String,
    },
    /// A host's key was refused: the run stops even with `--keep-going`.
    HostKeyRefused,
    /// A command of the same cram test file exited with status 80, cram's "skip this test".
    CramSkip {
        by: String,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Interrupted => f.write_str("the run was interrupted"),
            SkipReason::EarlierFailure { failed } => {
                write!(f, "not run: {failed} failed (use --keep-going to run on)")
            }
            SkipReason::HostKeyRefused => f.write_str("not run: a host key check failed"),
            SkipReason::CramSkip { by } => {
                write!(
                    f,
                    "not run: {by} exited with status 80, which skips the test file"
                )
            }
        }
    }
}

/// A chapter with its blocks' results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChapterReport {
    pub key: String,
    pub file: String,
    pub title: String,
    pub steps: Vec<StepResult>,
}

/// Counts of outcomes over the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub unverified: usize,
    pub skipped: usize,
    pub blessed: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Passed,
    Failed,
    Interrupted,
}

/// Everything about a run: what `run.json` holds and every report is drawn from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub runbook_version: String,
    pub workshop: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub status: RunStatus,
    /// The signal that interrupted the run, if one did.
    pub interrupted_by: Option<String>,
    pub strict: bool,
    pub counts: Counts,
    pub chapters: Vec<ChapterReport>,
    /// Processes the blocks left running in the background, which runbook ended at the end
    /// of the run (those of `keep-running` blocks are not among them).
    #[serde(default)]
    pub leftovers: Vec<crate::session::Leftover>,
}

impl RunReport {
    /// The report of a run from its steps' results, in order: the counts, the status, and
    /// the results grouped by chapter.
    pub(crate) fn assemble(
        workshop: &Workshop,
        strict: bool,
        results: Vec<StepResult>,
        started_at: String,
        elapsed: Duration,
        interrupted: Option<i32>,
    ) -> RunReport {
        let mut counts = Counts::default();
        for result in &results {
            counts.total += 1;
            match result.outcome {
                Outcome::Passed => counts.passed += 1,
                Outcome::Blessed => counts.blessed += 1,
                Outcome::Skipped => counts.skipped += 1,
                Outcome::Unverified => {
                    if strict {
                        counts.failed += 1;
                    } else {
                        counts.unverified += 1;
                    }
                }
                _ => counts.failed += 1,
            }
        }
        let status = if interrupted.is_some() {
            RunStatus::Interrupted
        } else if counts.failed > 0 {
            RunStatus::Failed
        } else {
            RunStatus::Passed
        };
        let mut chapters: Vec<ChapterReport> = Vec::new();
        for result in results {
            let step_chapter = &result.chapter;
            if chapters
                .last()
                .is_none_or(|chapter| &chapter.key != step_chapter)
            {
                let chapter = workshop.chapters.iter().find(|c| &c.key == step_chapter);
                chapters.push(ChapterReport {
                    key: step_chapter.clone(),
                    file: chapter
                        .map(|c| c.path.display().to_string())
                        .unwrap_or_default(),
                    title: chapter.map(|c| c.title.clone()).unwrap_or_default(),
                    steps: Vec::new(),
                });
            }
            if let Some(chapter) = chapters.last_mut() {
                chapter.steps.push(result);
            }
        }
        RunReport {
            runbook_version: env!("CARGO_PKG_VERSION").to_string(),
            workshop: workshop.dir.display().to_string(),
            started_at,
            duration_ms: elapsed.as_millis() as u64,
            status,
            interrupted_by: interrupted.map(signal_name),
            strict,
            counts,
            chapters,
            leftovers: Vec::new(),
        }
    }
}

pub(crate) fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGQUIT => "SIGQUIT".into(),
        other => format!("signal {other}"),
    }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What the executor tells reporters, as it happens.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    RunStarted {
        steps: usize,
    },
    StepStarted {
        index: usize,
        qualified_id: String,
        hosts: Vec<String>,
    },
    AttemptFinished {
        index: usize,
        host: String,
        attempt: AttemptResult,
        retrying: bool,
    },
    StepFinished {
        result: StepResult,
    },
    RunFinished {
        report: Box<RunReport>,
    },
}

/// A consumer of events: the terminal display, the report collector...
pub(crate) trait Reporter {
    fn event(&mut self, event: &Event);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chapter::Chapter;

    fn workshop() -> Workshop {
        let chapter = |key: &str, title: &str| Chapter {
            path: format!("workshop/{key}.md").into(),
            key: key.into(),
            title: title.into(),
            blocks: Vec::new(),
            text: String::new(),
            cram: None,
        };
        Workshop {
            dir: "workshop".into(),
            chapters: vec![chapter("01-etcd", "Etcd"), chapter("02-pg", "PostgreSQL")],
            settings: crate::settings::Settings::default(),
        }
    }

    fn step(chapter: &str, id: &str, outcome: Outcome) -> StepResult {
        StepResult {
            qualified_id: format!("{chapter}/{id}"),
            id: id.into(),
            chapter: chapter.into(),
            file: format!("workshop/{chapter}.md"),
            line: 1,
            section: None,
            kind: StepKind::Command,
            command: "true\n".into(),
            path: None,
            outcome,
            duration_ms: 1,
            hosts: Vec::new(),
            message: None,
            not_run: None,
            blessed: Vec::new(),
        }
    }

    fn run(strict: bool, interrupted: Option<i32>, outcomes: &[Outcome]) -> RunReport {
        let results = outcomes
            .iter()
            .enumerate()
            .map(|(index, outcome)| {
                let chapter = if index < 2 { "01-etcd" } else { "02-pg" };
                step(chapter, &format!("b{index}"), *outcome)
            })
            .collect();
        RunReport::assemble(
            &workshop(),
            strict,
            results,
            "2026-01-01T00:00:00Z".into(),
            Duration::from_millis(1500),
            interrupted,
        )
    }

    #[test]
    fn counts_and_status() {
        use Outcome::*;
        let report = run(false, None, &[Passed, Unverified, Blessed, Skipped]);
        assert_eq!(report.status, RunStatus::Passed);
        let counts = &report.counts;
        assert_eq!(
            (
                counts.total,
                counts.passed,
                counts.failed,
                counts.unverified,
                counts.blessed,
                counts.skipped
            ),
            (4, 1, 0, 1, 1, 1)
        );
        let strict = run(true, None, &[Passed, Unverified]);
        assert_eq!(
            strict.status,
            RunStatus::Failed,
            "--strict: unverified fails"
        );
        assert_eq!((strict.counts.failed, strict.counts.unverified), (1, 0));
        for failure in [Mismatch, Exit, Timeout, Unreachable, Error, Interrupted] {
            let report = run(false, None, &[Passed, failure]);
            assert_eq!(report.status, RunStatus::Failed, "{failure:?}");
            assert_eq!(report.counts.failed, 1, "{failure:?}");
        }
        let stopped = run(false, Some(libc::SIGTERM), &[Passed]);
        assert_eq!(stopped.status, RunStatus::Interrupted);
        assert_eq!(stopped.interrupted_by.as_deref(), Some("SIGTERM"));
        assert_eq!(stopped.duration_ms, 1500);
    }

    #[test]
    fn results_are_grouped_by_chapter_in_order() {
        let report = run(false, None, &[Outcome::Passed; 3]);
        let chapters: Vec<(&str, &str, &str, usize)> = report
            .chapters
            .iter()
            .map(|c| {
                (
                    c.key.as_str(),
                    c.title.as_str(),
                    c.file.as_str(),
                    c.steps.len(),
                )
            })
            .collect();
        assert_eq!(
            chapters,
            [
                ("01-etcd", "Etcd", "workshop/01-etcd.md", 2),
                ("02-pg", "PostgreSQL", "workshop/02-pg.md", 1)
            ]
        );
        assert_eq!(report.workshop, "workshop");
    }

    #[test]
    fn the_worst_outcome_stands_for_a_step() {
        use Outcome::*;
        assert_eq!(
            Outcome::worst([Passed, Unverified, Blessed]),
            Some(Unverified)
        );
        assert_eq!(Outcome::worst([Passed, Timeout, Skipped]), Some(Timeout));
        assert_eq!(Outcome::worst([]), None);
        assert!(!Unverified.is_failure(false) && Unverified.is_failure(true));
        assert!(!Skipped.is_failure(true) && Mismatch.is_failure(false));
    }

    #[test]
    fn run_json_reads_back_and_says_why_a_block_was_not_run() {
        let mut report = run(false, None, &[Outcome::Mismatch, Outcome::Skipped]);
        let skipped = &mut report.chapters[0].steps[1];
        let reason = SkipReason::EarlierFailure {
            failed: "01-etcd/b0".into(),
        };
        skipped.message = Some(reason.to_string());
        skipped.not_run = Some(reason.clone());
        let json = serde_json::to_value(&report).expect("serialises");
        assert_eq!(
            json["chapters"][0]["steps"][1]["not_run"],
            serde_json::json!({"because": "earlier_failure", "failed": "01-etcd/b0"})
        );
        assert_eq!(json["chapters"][0]["steps"][0]["kind"], "command");
        assert!(
            json["chapters"][0]["steps"][0].get("not_run").is_none(),
            "absent when the block ran"
        );
        let back: RunReport = serde_json::from_value(json).expect("reads back");
        assert_eq!(back.chapters[0].steps[1].not_run, Some(reason));
        assert_eq!(back.counts.skipped, 1);
    }
}
