//! `--bless`: the real output written back as the new expected output, cram's `-i` way: every
//! pattern line (`(re)`, `(glob)`, `...`, templates) that still matches is kept as written, and
//! only the lines that really changed are replaced by what the command printed.

use super::actual::ActualOutput;
use super::diff::rewrite_actual;
use super::matcher::Aligned;
use super::pattern::PatternLine;

/// The new text of an expected output. `written` are the lines as written in the expected
/// output (templates unrendered), index for index with the patterns the alignment used.
pub fn blessed_text(
    written: &[PatternLine],
    output: &ActualOutput,
    alignment: &[Aligned],
) -> String {
    let mut text = String::new();
    for line in rewrite_actual(written, output, alignment) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The expected text for an output with no expected output yet.
pub fn fresh_text(output: &ActualOutput) -> String {
    let alignment: Vec<Aligned> = (0..output.lines.len())
        .map(|index| Aligned::Unexpected { output: index })
        .collect();
    blessed_text(&[], output, &alignment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::matcher::compare;
    use crate::expect::pattern::{Origin, parse};
    use crate::template::Vars;

    fn bless(expected: &str, output: &str) -> String {
        let parsed = parse(expected, Origin::File("e.out".into()), 1).expect("valid");
        let lines = parsed.instantiate(&Vars::new()).expect("no templates");
        let output = ActualOutput::from_bytes(output.as_bytes());
        let comparison = compare(&lines, &output);
        blessed_text(&parsed.lines, &output, &comparison.alignment)
    }

    #[test]
    fn keeps_patterns_that_still_match() {
        let blessed = bless(
            "Leader: pg-\\d (re)\nstarted at * (glob)\n...\nold line\n",
            "Leader: pg-2\nstarted at 12:00\nnoise\nnoise\nnew line\n",
        );
        assert_eq!(
            blessed,
            "Leader: pg-\\d (re)\nstarted at * (glob)\n...\nnew line\n"
        );
    }

    #[test]
    fn replaces_patterns_that_no_longer_match() {
        assert_eq!(
            bless("Leader: pg-\\d (re)\n", "Leader: none\n"),
            "Leader: none\n"
        );
    }

    /// Found by fuzzing (matcher): a `...` aligned after an unterminated last line was
    /// written after its `(no-eol)` line, which then did not parse.
    #[test]
    fn no_eol_line_stays_last() {
        assert_eq!(bless("\n...\n", "\x01"), "...\n\\x01 (no-eol) (esc)\n");
    }

    #[test]
    fn fresh_output_is_escaped_where_needed() {
        let output = ActualOutput::from_bytes(b"plain\nbell\x07\nlast");
        assert_eq!(
            fresh_text(&output),
            "plain\nbell\\x07 (esc)\nlast (no-eol)\n"
        );
    }
}
