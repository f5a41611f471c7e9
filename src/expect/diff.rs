//! The diff shown for a mismatch: the expected output against the real output rewritten in the
//! expected output's terms (a line a pattern matched shows as that pattern, lines `...` covered
//! as `...`), so only real differences stand out. Drawn with `similar`, changed words marked,
//! with a deadline so a huge output cannot stall the report.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};

use super::actual::ActualOutput;
use super::matcher::Aligned;
use super::pattern::PatternLine;

/// How long the diff of one output may take before similar falls back to a coarser answer.
const DIFF_DEADLINE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffTag {
    Equal,
    Delete,
    Insert,
}

/// A piece of a diff line; `emphasized` pieces are the words that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub text: String,
    pub emphasized: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub tag: DiffTag,
    /// Line number in the expected file (or chapter, for inline output).
    pub expected_line: Option<usize>,
    /// Position in the real output as rewritten (1-based).
    pub actual_line: Option<usize>,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    pub header: String,
    pub lines: Vec<DiffLine>,
}

/// A mismatch, ready for every reporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub hunks: Vec<Hunk>,
    /// The same diff as plain unified text (for JUnit and logs).
    pub unified: String,
}

/// The real output as the expected output would write it, line by line.
pub fn rewrite_actual(
    patterns: &[PatternLine],
    output: &ActualOutput,
    alignment: &[Aligned],
) -> Vec<String> {
    let mut lines = Vec::with_capacity(alignment.len());
    // A last line without newline is written `... (no-eol)`, which must be the file's last
    // line: a `...` aligned after it (covering nothing) goes before it instead.
    let mut unterminated = None;
    for step in alignment {
        match *step {
            Aligned::Matched { pattern, .. } | Aligned::Skipped { pattern, .. } => {
                lines.push(patterns[pattern].source.clone());
            }
            Aligned::Missing { .. } => {}
            Aligned::Unexpected { output: index } => {
                if output.unterminated(index) {
                    unterminated = Some(output.lines[index].as_expected(true));
                } else {
                    lines.push(output.lines[index].as_expected(false));
                }
            }
        }
    }
    lines.extend(unterminated);
    lines
}

/// Builds the diff between the expected lines and the rewritten real output.
pub fn build(patterns: &[PatternLine], rewritten: &[String]) -> Diff {
    let mut expected = String::new();
    for pattern in patterns {
        expected.push_str(&pattern.source);
        expected.push('\n');
    }
    let mut actual = String::new();
    for line in rewritten {
        actual.push_str(line);
        actual.push('\n');
    }
    let diff = TextDiff::configure()
        .timeout(DIFF_DEADLINE)
        .diff_lines(expected.as_str(), actual.as_str());
    let deadline = Some(Instant::now() + DIFF_DEADLINE);
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        let header = format!(
            "@@ -{},{} +{},{} @@",
            patterns.get(old.start).map_or(old.start + 1, |p| p.line),
            old.len(),
            new.start + 1,
            new.len()
        );
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_inline_changes_deadline(op, deadline) {
                let tag = match change.tag() {
                    ChangeTag::Equal => DiffTag::Equal,
                    ChangeTag::Delete => DiffTag::Delete,
                    ChangeTag::Insert => DiffTag::Insert,
                };
                let segments = change
                    .iter_strings_lossy()
                    .map(|(emphasized, text)| Segment {
                        text: text.trim_end_matches('\n').to_string(),
                        emphasized,
                    })
                    .filter(|segment| !segment.text.is_empty())
                    .collect();
                lines.push(DiffLine {
                    tag,
                    expected_line: change
                        .old_index()
                        .and_then(|i| patterns.get(i))
                        .map(|p| p.line),
                    actual_line: change.new_index().map(|i| i + 1),
                    segments,
                });
            }
        }
        hunks.push(Hunk { header, lines });
    }
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string();
    Diff { hunks, unified }
}
