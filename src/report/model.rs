//! What a run produced, as data: outcomes per block, per host and per attempt. The executor
//! emits it as [`Event`]s; every reporter (terminal, HTML, JUnit, JSON) renders the same data.

use serde::{Deserialize, Serialize};

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
    pub fn is_failure(self, strict: bool) -> bool {
        match self {
            Outcome::Passed | Outcome::Blessed | Outcome::Skipped => false,
            Outcome::Unverified => strict,
            _ => true,
        }
    }

    pub fn label(self) -> &'static str {
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
    pub fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Option<Outcome> {
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
    pub fn last_attempt(&self) -> Option<&AttemptResult> {
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
    /// `command` or `file`.
    pub kind: String,
    /// The command as run (templates rendered), or the file's path and content.
    pub command: String,
    /// For `file=` blocks: the path written.
    pub path: Option<String>,
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub hosts: Vec<HostResult>,
    pub message: Option<String>,
    pub blessed: Vec<BlessChange>,
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
}

/// What the executor tells reporters, as it happens.
#[derive(Debug, Clone)]
pub enum Event {
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
pub trait Reporter {
    fn event(&mut self, event: &Event);
}
