//! A one-line hint of what differs in a mismatch, for a trainee who should not have to read a
//! whole diff to see that `Leader` became `Replica`: the first changed words, with the line of
//! the expected output they are on.

use crate::expect::diff::{Diff, DiffLine, DiffTag};

/// Longest quoted text in a hint; the diff above it has the rest.
const QUOTE_LIMIT: usize = 60;

fn quote(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > QUOTE_LIMIT {
        let cut: String = text.chars().take(QUOTE_LIMIT).collect();
        format!("`{cut}…`")
    } else {
        format!("`{text}`")
    }
}

fn whole(line: &DiffLine) -> String {
    line.segments.iter().map(|s| s.text.as_str()).collect()
}

/// The changed words of a line, or the whole line when no word is marked.
fn changed(line: &DiffLine) -> String {
    let words: Vec<&str> = line
        .segments
        .iter()
        .filter(|segment| segment.emphasized)
        .map(|segment| segment.text.trim())
        .filter(|text| !text.is_empty())
        .collect();
    if words.is_empty() {
        whole(line)
    } else {
        words.join(" … ")
    }
}

/// What differs first, in words.
pub(crate) fn describe(diff: &Diff) -> Option<String> {
    let lines: Vec<&DiffLine> = diff.hunks.iter().flat_map(|hunk| &hunk.lines).collect();
    let first = lines.iter().position(|line| line.tag != DiffTag::Equal)?;
    // The run of changes starting there: deleted (expected) lines, then inserted (real) ones.
    let run: Vec<&DiffLine> = lines[first..]
        .iter()
        .take_while(|line| line.tag != DiffTag::Equal)
        .copied()
        .collect();
    let deleted: Vec<&DiffLine> = run
        .iter()
        .filter(|l| l.tag == DiffTag::Delete)
        .copied()
        .collect();
    let inserted: Vec<&DiffLine> = run
        .iter()
        .filter(|l| l.tag == DiffTag::Insert)
        .copied()
        .collect();
    let at = |line: &DiffLine| {
        line.expected_line
            .map_or(String::new(), |n| format!(" (expected line {n})"))
    };
    Some(match (deleted.first(), inserted.first()) {
        (Some(expected), Some(actual)) => format!(
            "expected {} but the output has {}{}",
            quote(&changed(expected)),
            quote(&changed(actual)),
            at(expected)
        ),
        (Some(expected), None) => {
            let more = if deleted.len() > 1 {
                format!(" and {} more expected lines", deleted.len() - 1)
            } else {
                String::new()
            };
            format!(
                "the output lacks {}{}{more}",
                quote(&whole(expected)),
                at(expected)
            )
        }
        (None, Some(actual)) => {
            let count = inserted.len();
            format!(
                "the output has {count} line{} the expected output does not, first {}",
                if count == 1 { "" } else { "s" },
                quote(&whole(actual))
            )
        }
        (None, None) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::actual::ActualOutput;
    use crate::expect::pattern::{Origin, parse};
    use crate::template::Vars;

    fn hint(expected: &str, output: &str) -> String {
        let expected = parse(expected, Origin::File("e.out".into()), 1).expect("valid");
        let output = ActualOutput::from_bytes(output.as_bytes());
        let verdict = crate::expect::check(&expected, &output, &Vars::new()).expect("checks");
        describe(&verdict.diff.expect("a mismatch")).expect("a hint")
    }

    #[test]
    fn names_the_changed_word_and_its_line() {
        assert_eq!(
            hint(
                "| pg-1 | Leader |\n| pg-2 | Replica |\n",
                "| pg-1 | Replica |\n| pg-2 | Replica |\n"
            ),
            "expected `Leader` but the output has `Replica` (expected line 1)"
        );
    }

    #[test]
    fn missing_and_extra_lines() {
        assert_eq!(
            hint("a\nb\nc\n", "a\n"),
            "the output lacks `b` (expected line 2) and 1 more expected lines"
        );
        assert_eq!(
            hint("a\n", "a\nnoise\n"),
            "the output has 1 line the expected output does not, first `noise`"
        );
    }
}
