//! Matching real output against an expected output: every pattern line against every output
//! line, `...` absorbing any run of lines. A dynamic programme finds the alignment with the
//! fewest unexplained lines; zero means a match, and otherwise the same alignment tells the
//! diff and `--bless` which lines really differ. Named regex groups on the path are captured.
//! As in cram, an annotated line first matches the output line that reads exactly like it
//! (`baz??? quux (glob)` matches that text), then by its annotation.

use super::actual::{ActualLine, ActualOutput};
use super::escape;
use super::pattern::{LineKind, Matcher, PatternLine};
use super::table::{self, ExpectedTables, OutputTables};
use crate::template::Vars;

/// Alignment tables larger than this (pattern lines x output lines) fall back to a greedy walk.
const MAX_CELLS: usize = 4_000_000;

/// How one line of the aligned result came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aligned {
    /// Pattern line `pattern` matched output line `output`.
    Matched { pattern: usize, output: usize },
    /// A `...` line (index `pattern`) covered `count` output lines.
    Skipped { pattern: usize, count: usize },
    /// Expected line that nothing in the output matched.
    Missing { pattern: usize },
    /// Output line that no expected line accounts for.
    Unexpected { output: usize },
}

/// The result of comparing one output with one expected output.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub matched: bool,
    pub captures: Vars,
    pub alignment: Vec<Aligned>,
}

fn line_matches(pattern: &PatternLine, line: &ActualLine, unterminated: bool) -> bool {
    if pattern.annotated() {
        let written = pattern.written();
        if written == line.cram_form() || (unterminated && written == line.cram_form_unterminated())
        {
            return true;
        }
    }
    if pattern.no_eol && !unterminated {
        return false;
    }
    match &pattern.matcher {
        Some(Matcher::Literal(bytes)) => *bytes == line.bytes,
        Some(Matcher::Regex(regex)) => regex.is_match(&line.text),
        Some(Matcher::Escaped(bytes)) => escape::escaped_line_matches(bytes, &line.bytes),
        Some(Matcher::AnyLines) => true,
        // An unusable annotation only matches literally (above); an uninstantiated template
        // never matches: callers instantiate first.
        Some(Matcher::Unusable) | None => false,
    }
}

/// Compares `output` with `patterns` (already instantiated).
pub fn compare(patterns: &[PatternLine], output: &ActualOutput) -> Comparison {
    compare_with_tables(patterns, output, None)
}

/// Compares `output` with `patterns`, a line of a result table also matching a written row
/// whose cells it matches (see [`super::table`]).
pub(crate) fn compare_with_tables(
    patterns: &[PatternLine],
    output: &ActualOutput,
    tables: Option<(&ExpectedTables, &OutputTables)>,
) -> Comparison {
    let lines = &output.lines;
    let matches = |i: usize, j: usize| {
        line_matches(&patterns[i], &lines[j], output.unterminated(j))
            || tables.is_some_and(|(written, printed)| table::cells_match(written, printed, i, j))
    };

    // Fast path: no `...` and as many lines as patterns, all matching in order.
    let has_any = patterns.iter().any(|p| p.kind == LineKind::AnyLines);
    if !has_any && patterns.len() == lines.len() && (0..lines.len()).all(|i| matches(i, i)) {
        let alignment = (0..lines.len())
            .map(|i| Aligned::Matched {
                pattern: i,
                output: i,
            })
            .collect();
        return finish(patterns, output, alignment);
    }
    let cells = (patterns.len() + 1).saturating_mul(lines.len() + 1);
    let alignment = if cells <= MAX_CELLS {
        align_optimal(patterns, lines.len(), &matches)
    } else {
        align_greedy(patterns, lines.len(), &matches)
    };
    finish(patterns, output, alignment)
}

fn finish(patterns: &[PatternLine], output: &ActualOutput, alignment: Vec<Aligned>) -> Comparison {
    let matched = alignment
        .iter()
        .all(|step| matches!(step, Aligned::Matched { .. } | Aligned::Skipped { .. }));
    let mut captures = Vars::new();
    if matched {
        for step in &alignment {
            if let Aligned::Matched {
                pattern,
                output: index,
            } = *step
                && patterns[pattern].kind == LineKind::Regex
                && let Some(Matcher::Regex(regex)) = &patterns[pattern].matcher
                && let Some(found) = regex.captures(&output.lines[index].text)
            {
                for name in regex.capture_names().flatten() {
                    if let Some(value) = found.name(name) {
                        captures.insert(name.to_string(), value.as_str().to_string());
                    }
                }
            }
        }
    }
    Comparison {
        matched,
        captures,
        alignment,
    }
}

/// cost[i][j]: fewest unexplained lines aligning patterns[i..] with lines[j..].
fn align_optimal(
    patterns: &[PatternLine],
    n: usize,
    matches: &dyn Fn(usize, usize) -> bool,
) -> Vec<Aligned> {
    let p = patterns.len();
    let width = n + 1;
    let mut cost = vec![0u32; (p + 1) * width];
    let mut matched = vec![false; p * n];
    let at = |i: usize, j: usize| i * width + j;
    for j in 0..=n {
        cost[at(p, j)] = (n - j) as u32;
    }
    for i in (0..p).rev() {
        let any = patterns[i].kind == LineKind::AnyLines;
        cost[at(i, n)] = cost[at(i + 1, n)] + u32::from(!any);
        for j in (0..n).rev() {
            let value = if any {
                cost[at(i + 1, j)].min(cost[at(i, j + 1)])
            } else {
                let is_match = matches(i, j);
                matched[i * n + j] = is_match;
                // Skipping a pattern line or an output line costs one; replacing one line by
                // another also costs one, so that a changed line shows as a change.
                let mut best = cost[at(i + 1, j)]
                    .min(cost[at(i, j + 1)])
                    .min(cost[at(i + 1, j + 1)])
                    + 1;
                if is_match {
                    best = best.min(cost[at(i + 1, j + 1)]);
                }
                best
            };
            cost[at(i, j)] = value;
        }
    }
    // Walk the table from the start, preferring matches, then `...` absorbing lines.
    let mut alignment = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut skipped = 0usize;
    while i < p || j < n {
        if i < p && patterns[i].kind == LineKind::AnyLines {
            // `...` takes a line only when that is strictly better than ending it here, so a
            // changed last line shows as a change rather than vanishing into the `...`.
            if j < n && cost[at(i, j + 1)] < cost[at(i + 1, j)] {
                skipped += 1;
                j += 1;
            } else {
                alignment.push(Aligned::Skipped {
                    pattern: i,
                    count: skipped,
                });
                skipped = 0;
                i += 1;
            }
            continue;
        }
        if i < p && j < n && matched[i * n + j] && cost[at(i, j)] == cost[at(i + 1, j + 1)] {
            alignment.push(Aligned::Matched {
                pattern: i,
                output: j,
            });
            i += 1;
            j += 1;
        } else if i < p && j < n && cost[at(i, j)] == cost[at(i + 1, j + 1)] + 1 {
            alignment.push(Aligned::Missing { pattern: i });
            alignment.push(Aligned::Unexpected { output: j });
            i += 1;
            j += 1;
        } else if i < p && (j == n || cost[at(i, j)] == cost[at(i + 1, j)] + 1) {
            alignment.push(Aligned::Missing { pattern: i });
            i += 1;
        } else {
            alignment.push(Aligned::Unexpected { output: j });
            j += 1;
        }
    }
    alignment
}

/// For outputs too large for the table: walk both in order, `...` skipping up to the next line
/// that matches the pattern after it.
fn align_greedy(
    patterns: &[PatternLine],
    n: usize,
    matches: &dyn Fn(usize, usize) -> bool,
) -> Vec<Aligned> {
    let mut alignment = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < patterns.len() {
        if patterns[i].kind == LineKind::AnyLines {
            let start = j;
            if i + 1 == patterns.len() {
                j = n;
            } else {
                while j < n && !matches(i + 1, j) {
                    j += 1;
                }
            }
            alignment.push(Aligned::Skipped {
                pattern: i,
                count: j - start,
            });
            i += 1;
        } else if j < n && matches(i, j) {
            alignment.push(Aligned::Matched {
                pattern: i,
                output: j,
            });
            i += 1;
            j += 1;
        } else {
            alignment.push(Aligned::Missing { pattern: i });
            i += 1;
        }
    }
    alignment.extend((j..n).map(|output| Aligned::Unexpected { output }));
    alignment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::pattern::{Origin, parse};

    fn check(expected: &str, output: &str) -> Comparison {
        let expected = parse(expected, Origin::File("e.out".into()), 1).expect("valid");
        let lines = expected.instantiate(&Vars::new()).expect("no templates");
        compare(&lines, &ActualOutput::from_bytes(output.as_bytes()))
    }

    #[test]
    fn plain_lines_match_ignoring_trailing_spaces() {
        assert!(check("a\nb  \n", "a  \nb\n").matched);
        assert!(!check("a\nb\n", "a\nc\n").matched);
        assert!(check("", "").matched);
        assert!(!check("", "x\n").matched);
    }

    #[test]
    fn regex_glob_and_captures() {
        let comparison = check(
            "Leader: (?P<leader>pg-\\d) (re)\n* members (glob)\n",
            "Leader: pg-3\n3 members\n",
        );
        assert!(comparison.matched);
        assert_eq!(
            comparison.captures.get("leader").map(String::as_str),
            Some("pg-3")
        );
        assert!(
            !check("Leader: pg-\\d (re)\n", "Leader: pg-33\n").matched,
            "regexes are anchored"
        );
    }

    #[test]
    fn dots_match_any_number_of_lines() {
        assert!(check("start\n...\nend\n", "start\nend\n").matched);
        assert!(check("start\n...\nend\n", "start\n1\n2\n3\nend\n").matched);
        assert!(check("...\n", "").matched);
        assert!(check("a\n...\nb\n...\nc\n", "a\nx\nb\nb\nc\n").matched);
        assert!(!check("start\n...\nend\n", "start\n1\n").matched);
    }

    #[test]
    fn no_eol() {
        assert!(check("abc (no-eol)\n", "abc").matched);
        assert!(!check("abc (no-eol)\n", "abc\n").matched);
        assert!(
            check("abc\n", "abc").matched,
            "a missing final newline is tolerated"
        );
    }

    #[test]
    fn annotated_lines_match_literally_first() {
        assert!(check("baz??? quux (glob)\n", "baz??? quux (glob)\n").matched);
        assert!(check("foo\\Z\\Z bar (re)\n", "foo\\Z\\Z bar (re)\n").matched);
        assert!(check("(esc) in output (esc)\n", "(esc) in output (esc)\n").matched);
        assert!(check("x (no-eol)\ny\n", "x (no-eol)\ny\n").matched);
        assert!(
            check("bad (unclosed (re)\n", "bad (unclosed (re)\n").matched,
            "an invalid regex still matches as text"
        );
        assert!(!check("bad (unclosed (re)\n", "bad (unclosed\n").matched);
    }

    #[test]
    fn escapes_as_prysk_writes_them() {
        assert!(check("\\x01 (no-eol) (esc)\n", "\x01").matched);
        assert!(check("\\x01 (esc) (no-eol)\n", "\x01").matched);
        assert!(check("\\u200b (esc)\n", "\u{200b}\n").matched);
        assert!(check("\\xa0 (esc)\n", "\u{a0}\n").matched);
        assert!(check("\\001\\a\\' (esc)\n", "\x01\x07'\n").matched);
        assert!(check("a\\tb (esc)\n", "a\tb\n").matched);
    }

    #[test]
    fn escaped_lines() {
        assert!(check("a\\x01b (esc)\n", "a\x01b\n").matched);
        assert!(check("plain (esc)\n", "plain\n").matched);
    }

    #[test]
    fn alignment_pinpoints_the_difference() {
        let comparison = check("one\ntwo\nthree\n", "one\nTWO\nthree\n");
        assert!(!comparison.matched);
        assert_eq!(
            comparison.alignment,
            vec![
                Aligned::Matched {
                    pattern: 0,
                    output: 0
                },
                Aligned::Missing { pattern: 1 },
                Aligned::Unexpected { output: 1 },
                Aligned::Matched {
                    pattern: 2,
                    output: 2
                },
            ]
        );
    }

    #[test]
    fn no_captures_from_a_failed_match() {
        let comparison = check("(?P<x>\\d+) (re)\nmissing\n", "42\n");
        assert!(!comparison.matched);
        assert!(comparison.captures.is_empty());
    }
}
