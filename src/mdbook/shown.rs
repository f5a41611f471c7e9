//! The output the book shows after a block. The real output of the last run when there is
//! one, and otherwise the expected output with its patterns turned back into text: a line a
//! `(re)` or `(glob)` matched in a recorded run shows as the line that matched; a pattern no
//! run has matched shows its fixed text with `…` where the text varies (`Leader: pg-\d (re)`
//! becomes `Leader: pg-…`); `...` shows the lines it covered, or `…` alone. Never a pattern.

use crate::expect::actual::{ActualLine, ActualOutput};
use crate::expect::escape;
use crate::expect::fixed_text::{glob_as_text, regex_as_text};
use crate::expect::matcher::{self, Aligned};
use crate::expect::pattern::glob_escape;
use crate::expect::pattern::{Expected, LineKind, PatternLine};
use crate::template::{self, Vars};

pub(crate) use crate::expect::fixed_text::VARIES;

/// Longest run of lines covered by a `...` shown whole; longer runs keep their ends.
const LONGEST_COVERED_RUN: usize = 12;
/// Lines kept at each end of a longer run.
const RUN_ENDS: usize = 4;

/// What the book prints after a block on some host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    pub(crate) lines: Vec<String>,
    /// Taken from a recorded run (otherwise from the expected output).
    pub(crate) from_run: bool,
    /// Some text is `…` because no run showed what it is.
    pub(crate) varies: bool,
}

/// A recorded run's output for one host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RealOutput<'a> {
    pub(crate) text: &'a str,
    /// It matched the expected output (or there was none) in a run of the current block.
    pub(crate) trusted: bool,
}

/// The output to show, or `None` when nothing is known.
pub(crate) fn output_for_book(
    expected: Option<&Expected>,
    real: Option<RealOutput<'_>>,
    vars: &Vars,
) -> Option<Shown> {
    match (expected, real) {
        (None, None) => None,
        (None, Some(real)) => Some(Shown {
            lines: real.text.lines().map(str::to_string).collect(),
            from_run: real.trusted,
            varies: false,
        }),
        (Some(expected), real) => {
            let actual = real.map(|real| ActualOutput::from_bytes(real.text.as_bytes()));
            let instantiated = expected.instantiate(vars).ok();
            match (actual, instantiated) {
                (Some(actual), Some(patterns)) => {
                    let comparison = matcher::compare(&patterns, &actual);
                    let trusted = real.is_some_and(|r| r.trusted);
                    if trusted && !comparison.matched {
                        // A trusted run always matched; if the expected output changed since,
                        // the run is what the block prints.
                        return Some(Shown {
                            lines: actual.lines.iter().map(|l| l.text.clone()).collect(),
                            from_run: true,
                            varies: false,
                        });
                    }
                    let mut shown =
                        along_real(&expected.lines, &actual, &comparison.alignment, vars);
                    shown.from_run = trusted;
                    Some(shown)
                }
                _ => Some(without_run(&expected.lines, vars)),
            }
        }
    }
}

/// The expected lines, pattern lines replaced by the real lines they matched; lines the
/// expected output does not have are left out (the book shows the course's output).
fn along_real(
    written: &[PatternLine],
    actual: &ActualOutput,
    alignment: &[Aligned],
    vars: &Vars,
) -> Shown {
    let mut lines = Vec::new();
    let mut varies = false;
    let mut cursor = 0;
    let text = |line: &ActualLine| line.text.clone();
    for step in alignment {
        match *step {
            Aligned::Matched { output, .. } => {
                lines.push(text(&actual.lines[output]));
                cursor = output + 1;
            }
            Aligned::Skipped { count, .. } => {
                let covered = &actual.lines
                    [cursor.min(actual.lines.len())..(cursor + count).min(actual.lines.len())];
                if covered.len() > LONGEST_COVERED_RUN {
                    lines.extend(covered[..RUN_ENDS].iter().map(text));
                    lines.push(format!(
                        "{VARIES} ({} lines not shown)",
                        covered.len() - 2 * RUN_ENDS
                    ));
                    lines.extend(covered[covered.len() - RUN_ENDS..].iter().map(text));
                } else {
                    lines.extend(covered.iter().map(text));
                }
                cursor += count;
            }
            Aligned::Missing { pattern } => {
                let (line, elided) = pattern_as_text(&written[pattern], vars);
                varies |= elided;
                lines.push(line);
            }
            Aligned::Unexpected { output } => cursor = output + 1,
        }
    }
    Shown {
        lines,
        from_run: false,
        varies,
    }
}

/// The expected output when no run is recorded.
fn without_run(written: &[PatternLine], vars: &Vars) -> Shown {
    let mut varies = false;
    let lines = written
        .iter()
        .map(|line| {
            let (text, elided) = pattern_as_text(line, vars);
            varies |= elided;
            text
        })
        .collect();
    Shown {
        lines,
        from_run: false,
        varies,
    }
}

/// One expected line as text, and whether some of it had to become `…`.
pub(crate) fn pattern_as_text(line: &PatternLine, vars: &Vars) -> (String, bool) {
    let body = if line.templated {
        let escape: fn(&str) -> String = match line.kind {
            LineKind::Regex => regex::escape,
            LineKind::Glob => glob_escape,
            _ => str::to_string,
        };
        match template::render_with(&line.body, vars, escape) {
            Ok(rendered) => rendered,
            Err(_) => {
                // A value no run captured: it varies, whatever the line's kind.
                let stand_in = match line.kind {
                    LineKind::Regex => ".*",
                    LineKind::Glob => "*",
                    _ => VARIES,
                };
                replace_templates(&line.body, stand_in)
            }
        }
    } else {
        line.body.clone()
    };
    let text = match line.kind {
        LineKind::Literal => body,
        LineKind::AnyLines => VARIES.to_string(),
        LineKind::Regex => regex_as_text(&body),
        LineKind::Glob => glob_as_text(&body),
        LineKind::Escaped => match escape::decode(body.as_bytes()).map(String::from_utf8) {
            Ok(Ok(text)) if !text.chars().any(|c| c.is_control() && c != '\t') => text,
            _ => body,
        },
    };
    let varies = text.contains(VARIES);
    (text, varies)
}

/// `{{ ... }}` spans replaced by `stand_in`.
fn replace_templates(text: &str, stand_in: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push_str(stand_in);
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::pattern::{Origin, parse};

    fn expected(text: &str) -> Expected {
        parse(text, Origin::File("e.out".into()), 1).expect("valid")
    }

    #[test]
    fn without_a_run_patterns_become_text_with_ellipses() {
        let shown = output_for_book(
            Some(&expected(
                "Leader: pg-\\d (re)\nplain\n...\nid * (glob)\nbell\\x07 (esc)\nok\\x21 (esc)\n",
            )),
            None,
            &Vars::new(),
        )
        .expect("shown");
        assert_eq!(
            shown.lines,
            vec!["Leader: pg-…", "plain", "…", "id …", "bell\\x07", "ok!"]
        );
        assert!(shown.varies && !shown.from_run);
    }

    #[test]
    fn a_trusted_run_shows_the_lines_that_matched() {
        let real = RealOutput {
            text: "Leader: pg-2\nplain\nnoise 1\nnoise 2\nid 42\n",
            trusted: true,
        };
        let shown = output_for_book(
            Some(&expected("Leader: pg-\\d (re)\nplain\n...\nid * (glob)\n")),
            Some(real),
            &Vars::new(),
        )
        .expect("shown");
        assert_eq!(
            shown.lines,
            vec!["Leader: pg-2", "plain", "noise 1", "noise 2", "id 42"]
        );
        assert!(shown.from_run && !shown.varies);
    }

    #[test]
    fn long_runs_under_dots_keep_their_ends() {
        let noise: String = (1..=30).map(|n| format!("line {n}\n")).collect();
        let text = format!("start\n{noise}end\n");
        let shown = output_for_book(
            Some(&expected("start\n...\nend\n")),
            Some(RealOutput {
                text: &text,
                trusted: true,
            }),
            &Vars::new(),
        )
        .expect("shown");
        assert_eq!(shown.lines.len(), 1 + 4 + 1 + 4 + 1);
        assert_eq!(shown.lines[5], "… (22 lines not shown)");
        assert_eq!(shown.lines[9], "line 30");
    }

    #[test]
    fn a_failed_run_fills_in_only_what_matched() {
        let real = RealOutput {
            text: "Leader: pg-3\nsurprise\n",
            trusted: false,
        };
        let shown = output_for_book(
            Some(&expected("Leader: pg-\\d (re)\nMembers: \\d+ (re)\n")),
            Some(real),
            &Vars::new(),
        )
        .expect("shown");
        assert_eq!(shown.lines, vec!["Leader: pg-3", "Members: …"]);
        assert!(!shown.from_run && shown.varies);
    }

    #[test]
    fn templates_use_known_values_or_vary() {
        let lines = expected("Leader: {{ leader }}\nnode {{ leader }} is up (re)\n");
        let mut vars = Vars::new();
        let unknown = output_for_book(Some(&lines), None, &vars).expect("shown");
        assert_eq!(unknown.lines, vec!["Leader: …", "node … is up"]);
        vars.insert("leader".into(), "pg-1".into());
        let known = output_for_book(Some(&lines), None, &vars).expect("shown");
        assert_eq!(known.lines, vec!["Leader: pg-1", "node pg-1 is up"]);
    }
}
