//! Edits to one chapter's Markdown for the book: runbook's attributes removed from info
//! strings (```` ```bash on=pg-1 id=list ```` becomes ```` ```bash ````), a caption before
//! each `file=` block naming its host and path, and after each command the output to show as
//! a ```` ```console ```` block, in place of the chapter's own console block if it has one.
//! Edits keep the block's container (list item indentation, `>` quotes).

use std::ops::Range;

use crate::chapter::Block;

/// What to change around one block.
#[derive(Debug, Clone, Default)]
pub(crate) struct BlockEdit {
    /// Markdown put before the block (e.g. the caption of a `file=` block).
    pub(crate) before: Option<String>,
    /// Markdown put after the block, replacing its console block if it has one.
    pub(crate) after: Option<String>,
}

/// One replacement in the chapter's text.
struct Edit {
    range: Range<usize>,
    text: String,
}

/// The text before the fence on the fence's line (list marker, indentation, `>`), and the
/// prefix that continues that container on the following lines.
fn container(text: &str, start: usize) -> (usize, String) {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let lead = &text[line_start..start];
    let continuation = lead
        .chars()
        .map(|c| if c == '>' || c == '\t' { c } else { ' ' })
        .collect();
    (line_start, continuation)
}

/// Markdown lines with `prefix` before each, except the first when it continues a line.
fn indented(markdown: &str, first: &str, prefix: &str) -> String {
    let mut out = String::new();
    for (number, line) in markdown.lines().enumerate() {
        let lead = if number == 0 { first } else { prefix };
        if line.is_empty() {
            out.push_str(lead.trim_end());
        } else {
            out.push_str(lead);
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The fence line of a block with its info string reduced to `language`.
fn plain_fence(text: &str, range: &Range<usize>, language: &str) -> Option<Edit> {
    let line_end = text[range.start..]
        .find('\n')
        .map_or(text.len(), |i| range.start + i);
    let line = &text[range.start..line_end];
    let marker = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let fence_len = line.chars().take_while(|c| *c == marker).count();
    let info = &line[fence_len..];
    if info.trim() == language {
        return None;
    }
    Some(Edit {
        range: range.start + fence_len..line_end,
        text: language.to_string(),
    })
}

/// A fenced block of `language` holding `lines`, with a fence longer than any inside.
pub(crate) fn fenced(language: &str, lines: &[String]) -> String {
    let longest = lines
        .iter()
        .map(|line| line.trim_start().chars().take_while(|c| *c == '`').count())
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{fence}{language}\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

/// Applies `edits` (one per block, same order as `blocks`) to the chapter `text`.
pub(crate) fn apply(text: &str, blocks: &[Block], edits: &[BlockEdit]) -> String {
    let mut changes: Vec<Edit> = Vec::new();
    for (block, edit) in blocks.iter().zip(edits) {
        let (_, prefix) = container(text, block.range.start);
        if let Some(fence) = plain_fence(text, &block.range, &block.attributes.language) {
            changes.push(fence);
        }
        if let Some(before) = &edit.before {
            // Before the fence, on its line: the caption takes the list marker's place and
            // the fence moves to the next line, in the same container.
            let mut inserted = indented(before, "", &prefix);
            inserted.push_str(&prefix);
            changes.push(Edit {
                range: block.range.start..block.range.start,
                text: inserted,
            });
        }
        if let Some(after) = &edit.after {
            match &block.inline_expected {
                Some(console) => {
                    let mut replacement = indented(after, "", &prefix);
                    if !text[console.range.clone()].ends_with('\n') {
                        replacement.pop();
                    }
                    changes.push(Edit {
                        range: console.range.clone(),
                        text: replacement,
                    });
                }
                None => {
                    // pulldown-cmark's range may stop before the closing fence's newline.
                    let end = block.range.end;
                    let open_line = !text[..end].ends_with('\n');
                    let mut inserted = String::new();
                    if open_line {
                        inserted.push('\n');
                    }
                    inserted.push_str(prefix.trim_end());
                    inserted.push('\n');
                    inserted.push_str(&indented(after, &prefix, &prefix));
                    if open_line {
                        inserted.pop();
                    }
                    changes.push(Edit {
                        range: end..end,
                        text: inserted,
                    });
                }
            }
        }
    }
    changes.sort_by_key(|edit| (edit.range.start, edit.range.end));
    let mut out = String::with_capacity(text.len() + 1024);
    let mut at = 0;
    for edit in changes {
        if edit.range.start < at {
            continue; // overlapping edits cannot happen with well-formed blocks; keep the first
        }
        out.push_str(&text[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chapter::parse::parse_chapter;
    use std::path::Path;

    fn rewrite(text: &str, edit: impl Fn(&Block) -> BlockEdit) -> String {
        let parsed = parse_chapter(Path::new("c.md"), text).expect("parses");
        let edits: Vec<BlockEdit> = parsed.blocks.iter().map(edit).collect();
        apply(text, &parsed.blocks, &edits)
    }

    #[test]
    fn attributes_leave_the_info_string() {
        let out = rewrite(
            "# T\n\n```bash on=localhost id=x timeout=5s\necho hi\n```\n\n```sh norun\nrm -rf /\n```\n",
            |_| BlockEdit::default(),
        );
        assert_eq!(
            out,
            "# T\n\n```bash\necho hi\n```\n\n```sh\nrm -rf /\n```\n"
        );
    }

    #[test]
    fn output_replaces_the_console_block_or_follows_the_command() {
        let after = fenced("console", &["hi".to_string()]);
        let out = rewrite(
            "```bash id=a\necho hi\n```\n\n```console\nh. (re)\n```\n\n```bash id=b\necho hi\n```\n\nText.\n",
            |_| BlockEdit {
                before: None,
                after: Some(after.clone()),
            },
        );
        assert_eq!(
            out,
            "```bash\necho hi\n```\n\n```console\nhi\n```\n\n```bash\necho hi\n```\n\n```console\nhi\n```\n\nText.\n"
        );
    }

    #[test]
    fn edits_stay_inside_list_items() {
        let out = rewrite(
            "1. Write it:\n\n   ```ini file=/etc/x\n   A=1\n   ```\n2. Run:\n\n   ```bash\n   cat /etc/x\n   ```\n",
            |block| match block.kind {
                crate::chapter::BlockKind::File { .. } => BlockEdit {
                    before: Some("File `/etc/x`:".into()),
                    after: None,
                },
                _ => BlockEdit {
                    before: None,
                    after: Some(fenced("console", &["A=1".to_string()])),
                },
            },
        );
        assert_eq!(
            out,
            "1. Write it:\n\n   File `/etc/x`:\n   ```ini\n   A=1\n   ```\n2. Run:\n\n   ```bash\n   cat /etc/x\n   ```\n\n   ```console\n   A=1\n   ```\n"
        );
    }

    #[test]
    fn fences_outgrow_backticks_in_the_output() {
        assert_eq!(
            fenced("console", &["```".to_string()]),
            "````console\n```\n````\n"
        );
    }
}
