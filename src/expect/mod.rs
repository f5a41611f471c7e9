//! Expected outputs: their syntax ([`pattern`]), real output made comparable ([`actual`]),
//! matching with captures ([`matcher`]), the diff of a mismatch ([`diff`]) and `--bless`
//! ([`bless`]). The match stage of the pipeline.

pub mod actual;
pub mod bless;
pub(crate) mod dialogue;
pub mod diff;
pub mod escape;
pub(crate) mod fixed_text;
pub mod matcher;
pub mod pattern;
pub(crate) mod table;

use actual::ActualOutput;
use pattern::Expected;

use crate::template::Vars;

/// The verdict on one output.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub matched: bool,
    pub captures: Vars,
    pub diff: Option<diff::Diff>,
    /// Which output line each expected line accounted for (what `--bless` builds on).
    pub alignment: Vec<matcher::Aligned>,
    /// For each expected line that matched nothing because its annotation cannot be used (an
    /// invalid regex...): `file:line`, the line and why, for the report; then their hints.
    pub unusable: Vec<String>,
}

impl Verdict {
    /// The expected text `--bless` would write for this output (computed only when asked: most
    /// runs never bless).
    pub fn blessed(&self, expected: &Expected, output: &ActualOutput) -> String {
        bless::blessed_text(&expected.lines, output, &self.alignment)
    }
}

/// Compares `output` with `expected`, rendering its templates with `vars` first.
pub fn check(expected: &Expected, output: &ActualOutput, vars: &Vars) -> Result<Verdict, String> {
    check_rows(expected, output, vars, false).map(|(verdict, _)| verdict)
}

/// [`check`], with the rows of each result table in any order when `rowsort` (see
/// [`table::sort_rows`]); also gives the output as compared (its rows reordered), which the
/// diff and `--bless` are made of.
pub fn check_rows(
    expected: &Expected,
    output: &ActualOutput,
    vars: &Vars,
    rowsort: bool,
) -> Result<(Verdict, Option<ActualOutput>), String> {
    let lines = expected.instantiate(vars)?;
    let written = table::ExpectedTables::of(&lines);
    // The output's tables are only compared with the expected output's: without any, they
    // are not looked for (most blocks, and a cost on each).
    let has_tables = !written.is_empty();
    let sorted = (rowsort && has_tables)
        .then(|| table::sort_rows(&written, output, &table::OutputTables::of(output)));
    let output = sorted.as_ref().unwrap_or(output);
    let printed = has_tables.then(|| table::OutputTables::of(output));
    let tables = printed.as_ref().map(|printed| (&written, printed));
    let comparison = matcher::compare_with_tables(&lines, output, tables);
    let diff = if comparison.matched {
        None
    } else {
        let rewritten = diff::rewrite_actual(&lines, output, &comparison.alignment);
        Some(diff::build(&lines, &rewritten))
    };
    let mut unusable = Vec::new();
    let mut hints = Vec::new();
    for step in &comparison.alignment {
        if let matcher::Aligned::Missing { pattern } = *step
            && let Some(line) = lines.get(pattern)
            && let Some(problem) = &line.problem
        {
            unusable.push(format!(
                "{}:{}: `{}`: {}, so it was only compared as text, as cram does",
                expected.origin.path().display(),
                line.line,
                line.source,
                problem.message,
            ));
            if !hints.contains(&problem.hint) {
                hints.push(problem.hint);
            }
        }
    }
    unusable.extend(hints.into_iter().map(|hint| format!("hint: {hint}")));
    Ok((
        Verdict {
            matched: comparison.matched,
            captures: comparison.captures,
            diff,
            alignment: comparison.alignment,
            unusable,
        },
        sorted,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pattern::{Origin, parse};

    #[test]
    fn mismatch_diff_shows_only_real_differences() {
        let expected = parse(
            "\\+ Cluster: 15-main \\(\\d+\\) \\+ (re)\n| pg-1 | Leader |\n| pg-2 | Replica |\n",
            Origin::File("expected/ha/list.out".into()),
            1,
        )
        .expect("valid");
        let output = ActualOutput::from_bytes(
            b"+ Cluster: 15-main (7029596050496494965) +\n| pg-1 | Replica |\n| pg-2 | Replica |\n",
        );
        let verdict = check(&expected, &output, &Vars::new()).expect("renders");
        assert!(!verdict.matched);
        let diff = verdict.diff.expect("a diff");
        let changed: Vec<(diff::DiffTag, String)> = diff.hunks[0]
            .lines
            .iter()
            .filter(|line| line.tag != diff::DiffTag::Equal)
            .map(|line| {
                (
                    line.tag,
                    line.segments.iter().map(|s| s.text.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            changed,
            vec![
                (diff::DiffTag::Delete, "| pg-1 | Leader |".to_string()),
                (diff::DiffTag::Insert, "| pg-1 | Replica |".to_string()),
            ]
        );
        let emphasized: Vec<&str> = diff.hunks[0]
            .lines
            .iter()
            .flat_map(|line| line.segments.iter())
            .filter(|segment| segment.emphasized)
            .map(|segment| segment.text.as_str())
            .collect();
        assert!(emphasized.contains(&"Leader"), "{emphasized:?}");
        assert!(diff.unified.contains("-| pg-1 | Leader |"));
        assert_eq!(diff.hunks[0].lines[1].expected_line, Some(2));
    }
}
