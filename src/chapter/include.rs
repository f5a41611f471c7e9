//! `!include PATH` lines, the form of the pandoc-include filter that pandoc courses are built
//! with: a master file pulls its chapters in, each on a line of its own in the prose. Found
//! here with pulldown-cmark, so that the same words inside a code block or a quote stay text.

use std::path::PathBuf;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::parse::{LineIndex, markdown_options};

/// One `!include` line of a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncludeLine {
    /// Its line in the chapter (1-based).
    pub(crate) line: usize,
    /// The path as written, relative to the including file.
    pub(crate) target: PathBuf,
}

/// A line that starts like an include but that runbook cannot read as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnreadInclude {
    pub(crate) line: usize,
    pub(crate) why: &'static str,
}

const DIRECTIVE: &str = "!include";

/// The `!include` lines of `text`, in order, and those written in a form runbook does not read
/// (pandoc-include's options in backquotes, `!include` without a path).
pub(crate) fn find(text: &str) -> (Vec<IncludeLine>, Vec<UnreadInclude>) {
    let lines = LineIndex::new(text);
    let mut found = Vec::new();
    let mut unread = Vec::new();
    // A paragraph's lines are read from the source: pandoc-include takes every line of a
    // paragraph that starts with the directive, several in a row included.
    let mut paragraph_start: Option<usize> = None;
    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Paragraph) => paragraph_start = Some(range.start),
            Event::End(TagEnd::Paragraph) => {
                let Some(start) = paragraph_start.take() else {
                    continue;
                };
                let first = lines.line_of(start);
                let last = lines.line_of(range.end.saturating_sub(1).max(start));
                for line in first..=last {
                    read_line(lines.line_text(text, line), line, &mut found, &mut unread);
                }
            }
            _ => {}
        }
    }
    (found, unread)
}

fn read_line(
    source: &str,
    line: usize,
    found: &mut Vec<IncludeLine>,
    unread: &mut Vec<UnreadInclude>,
) {
    let Some(rest) = source.trim_end().strip_prefix(DIRECTIVE) else {
        return;
    };
    // `!includes` or `!include-header` are other words (or other filters' directives).
    if rest.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_') {
        return;
    }
    if rest.starts_with('`') {
        unread.push(UnreadInclude {
            line,
            why: "runbook reads `!include PATH` only: pandoc-include's options in backquotes (a line range, a format) are not applied",
        });
        return;
    }
    let target = rest.trim();
    if target.is_empty() {
        unread.push(UnreadInclude {
            line,
            why: "`!include` needs the path of the file to include",
        });
        return;
    }
    // pandoc-include allows the path in quotes.
    let target = target
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(target);
    found.push(IncludeLine {
        line,
        target: PathBuf::from(target),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(text: &str) -> Vec<(usize, String)> {
        find(text)
            .0
            .into_iter()
            .map(|include| (include.line, include.target.display().to_string()))
            .collect()
    }

    #[test]
    fn reads_include_lines_in_the_prose_alone_or_several_in_a_paragraph() {
        let text = "# Master\n\n!include include/a.md\n\nSome prose.\n\n!include include/b.md\n!include \"include/c d.md\"\n";
        assert_eq!(
            targets(text),
            [
                (3, "include/a.md".to_string()),
                (7, "include/b.md".to_string()),
                (8, "include/c d.md".to_string()),
            ]
        );
    }

    #[test]
    fn leaves_the_directive_alone_in_code_quotes_front_matter_and_other_words() {
        let text = "---\ntitle: x\n---\n\n```\n!include include/a.md\n```\n\n    !include indented.md\n\n`!include inline.md`\n\n!include-header h.md\n\nSee !include x.md in the middle.\n";
        assert_eq!(targets(text), []);
        assert_eq!(find(text).1, []);
    }

    #[test]
    fn says_which_include_lines_it_cannot_read() {
        let (found, unread) = find("!include`startLine=2` a.md\n\n!include\n");
        assert_eq!(found, []);
        assert_eq!(
            unread.iter().map(|u| u.line).collect::<Vec<_>>(),
            [1, 3],
            "{unread:?}"
        );
    }
}
