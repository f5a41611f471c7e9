//! The diff shown for a mismatch: the expected output against the real output rewritten in the
//! expected output's terms (a line a pattern matched shows as that pattern, lines `...` covered
//! as `...`), so only real differences stand out. Drawn with `similar`, changed words marked,
//! with a deadline so a huge output cannot stall the report.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use similar::{ChangeTag, DiffOp, TextDiff};

use super::actual::ActualOutput;
use super::matcher::Aligned;
use super::pattern::PatternLine;

/// How long the diff of one output may take before similar falls back to a coarser answer.
const DIFF_DEADLINE: Duration = Duration::from_millis(300);

/// The most lines a diff shows; the rest are counted in [`Diff::omitted`]. A block printing a
/// megabyte of one-letter lines against an expected `x` otherwise made a diff line (with its
/// line numbers and segments) of every printed line: 1.2 GB in memory and a 245 MB `run.json`.
/// With the cap, each report's diff is at most these lines, each at most the output kept
/// (`--max-output`), so every report stays in proportion to it.
pub const MAX_DIFF_LINES: usize = 1000;

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
    /// Lines of the diff not shown, beyond [`MAX_DIFF_LINES`] (0: the diff is whole).
    #[serde(default)]
    pub omitted: usize,
}

impl Diff {
    /// What every report says under a diff that was cut.
    pub fn omitted_note(&self) -> Option<String> {
        (self.omitted > 0).then(|| {
            format!(
                "diff truncated: {} more line{} not shown (at most {MAX_DIFF_LINES} are)",
                self.omitted,
                if self.omitted == 1 { "" } else { "s" }
            )
        })
    }
}

/// How many lines of a diff `op` makes (a replaced range shows both sides).
fn op_lines(op: &DiffOp) -> usize {
    let (_, old, new) = op.as_tag_tuple();
    match op {
        DiffOp::Equal { .. } | DiffOp::Delete { .. } => old.len(),
        DiffOp::Insert { .. } => new.len(),
        DiffOp::Replace { .. } => old.len() + new.len(),
    }
}

/// `op` cut to at most `budget` lines, keeping its start: what the diff still shows of it.
fn clipped(op: &DiffOp, budget: usize) -> DiffOp {
    match *op {
        DiffOp::Equal {
            old_index,
            new_index,
            len,
        } => DiffOp::Equal {
            old_index,
            new_index,
            len: len.min(budget),
        },
        DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        } => DiffOp::Delete {
            old_index,
            old_len: old_len.min(budget),
            new_index,
        },
        DiffOp::Insert {
            old_index,
            new_index,
            new_len,
        } => DiffOp::Insert {
            old_index,
            new_index,
            new_len: new_len.min(budget),
        },
        DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => {
            let old_shown = old_len.min(budget);
            DiffOp::Replace {
                old_index,
                old_len: old_shown,
                new_index,
                new_len: new_len.min(budget - old_shown),
            }
        }
    }
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
    let mut shown = 0usize;
    let mut omitted = 0usize;
    for group in diff.grouped_ops(3) {
        if shown >= MAX_DIFF_LINES {
            omitted += group.iter().map(op_lines).sum::<usize>();
            continue;
        }
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
            let budget = MAX_DIFF_LINES - shown.min(MAX_DIFF_LINES);
            let whole = op_lines(op);
            if budget == 0 {
                omitted += whole;
                continue;
            }
            // Cut before the changes are drawn: word-marking a huge replaced range is what
            // costs time and memory.
            let op = &clipped(op, budget);
            let kept = op_lines(op);
            omitted += whole - kept;
            shown += kept;
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
    let mut cut = Diff {
        hunks,
        unified: String::new(),
        omitted,
    };
    cut.unified = if omitted == 0 {
        diff.unified_diff()
            .context_radius(3)
            .header("expected", "actual")
            .to_string()
    } else {
        unified_from_hunks(&cut)
    };
    cut
}

/// The unified text of a diff that was cut: the lines it shows, then the note saying so.
fn unified_from_hunks(diff: &Diff) -> String {
    let mut text = String::from("--- expected\n+++ actual\n");
    for hunk in &diff.hunks {
        text.push_str(&hunk.header);
        text.push('\n');
        for line in &hunk.lines {
            text.push(match line.tag {
                DiffTag::Equal => ' ',
                DiffTag::Delete => '-',
                DiffTag::Insert => '+',
            });
            for segment in &line.segments {
                text.push_str(&segment.text);
            }
            text.push('\n');
        }
    }
    if let Some(note) = diff.omitted_note() {
        text.push_str(&note);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::pattern::{Origin, parse};

    /// Issue 24: a diff of half a million lines was kept whole (1.2 GB); it is cut at
    /// [`MAX_DIFF_LINES`] and counts the rest.
    #[test]
    fn a_huge_diff_is_cut_and_says_how_much_is_not_shown() {
        let expected = parse("x\n", Origin::File("e.out".into()), 1).expect("valid");
        let rewritten = vec!["y".to_string(); 5000];
        let diff = build(&expected.lines, &rewritten);
        let shown: usize = diff.hunks.iter().map(|hunk| hunk.lines.len()).sum();
        assert_eq!(shown, MAX_DIFF_LINES);
        assert_eq!(shown + diff.omitted, 5001);
        assert!(
            diff.unified
                .ends_with("diff truncated: 4001 more lines not shown (at most 1000 are)\n"),
            "{}",
            &diff.unified[diff.unified.len() - 200..]
        );
        assert!(diff.unified.lines().count() < MAX_DIFF_LINES + 10);

        let small = build(&expected.lines, &["y".to_string()]);
        assert_eq!(small.omitted, 0);
        assert_eq!(small.omitted_note(), None);
    }
}
