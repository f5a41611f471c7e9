//! One chapter's Markdown, read with pulldown-cmark into the fenced blocks runbook cares about,
//! each with its line, its attributes, the section it sits in and the prose that leads to it.

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::attrs::{self, Attributes, InfoLine};
use super::prompt::{self, StripError};
use super::psql;
use super::transcript::{self, NoBash, TranscriptCommand};
use crate::diagnostic::Diagnostic;

/// The Markdown extensions mdBook enables, so that runbook sees the same blocks as the book,
/// and pandoc's YAML front matter, which courses kept as pandoc Markdown start with.
pub(crate) fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        // Pandoc's YAML front matter: metadata, not headings (`# comment` lines in it) or
        // prose.
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
}

/// Maps byte offsets to 1-based line numbers.
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(index, _)| index + 1));
        LineIndex { starts }
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(index) => index + 1,
            Err(index) => index,
        }
    }

    pub fn line_text<'a>(&self, text: &'a str, line: usize) -> &'a str {
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(text.len());
        let end = self.starts.get(line).copied().unwrap_or(text.len());
        text[start.min(text.len())..end.min(text.len())].trim_end_matches(['\n', '\r'])
    }
}

/// What a block does when the workshop runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    /// A shell block: its script, prompts removed.
    Command { script: String },
    /// A content block with `file=`: written to that path on its host.
    File { path: String, content: String },
    /// A shell block marked `norun`: shown, never run.
    Shown,
}

/// A ```console block right after a command: what the command printed, as the course shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineExpected {
    /// Line of the console block's first content line.
    pub first_line: usize,
    pub text: String,
    /// Bytes of the whole console block (fences included) in the chapter.
    pub(crate) range: Range<usize>,
}

/// A fenced block of a chapter that runbook runs or shows.
#[derive(Debug, Clone)]
pub struct Block {
    /// Line of the opening fence.
    pub line: usize,
    /// The opening fence line as written, for error messages.
    pub fence_text: String,
    pub(crate) attributes: Attributes,
    pub kind: BlockKind,
    /// Host and user from a `user@host:dir$` prompt.
    pub(crate) prompt_host: Option<String>,
    pub(crate) prompt_user: Option<String>,
    /// Line of that prompt in the chapter (for messages about its host).
    pub(crate) prompt_line: Option<usize>,
    /// `id=` or the automatic `block-N` (N counts runnable blocks in the chapter).
    pub id: String,
    /// Title of the heading the block sits under.
    pub(crate) section: Option<String>,
    /// The last few lines of prose before the block (for `runbook step`).
    pub(crate) context: Vec<String>,
    pub inline_expected: Option<InlineExpected>,
    /// Bytes of the block (fences included) in the chapter.
    pub(crate) range: Range<usize>,
    /// The commands of a transcript block (prompts with printed output), each its own step;
    /// empty for a block that is one script.
    pub transcript: Vec<TranscriptCommand>,
}

impl Block {
    pub fn runs(&self) -> bool {
        !matches!(self.kind, BlockKind::Shown)
    }
}

/// The parts of one chapter.
#[derive(Debug, Clone, Default)]
pub struct ParsedChapter {
    pub(crate) first_heading: Option<String>,
    pub blocks: Vec<Block>,
}

struct OpenBlock {
    info: String,
    range: Range<usize>,
    body: String,
}

/// How many prose lines before a block to keep as its context.
const CONTEXT_LINES: usize = 4;

/// What the workshop's settings change in how a chapter reads (see `runbook.yml`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ChapterOptions {
    /// The language of a fence that names none, when it is a shell: such a fence runs,
    /// unless it sits right after a command, whose output it then is.
    pub(crate) bare_fence_shell: Option<String>,
}

/// Parses one chapter. `file` is only used in messages.
pub fn parse_chapter(file: &Path, text: &str) -> Result<ParsedChapter, Vec<Diagnostic>> {
    parse_chapter_with(file, text, &ChapterOptions::default())
}

/// Parses one chapter as the workshop's settings say (see [`ChapterOptions`]).
pub(crate) fn parse_chapter_with(
    file: &Path,
    text: &str,
    options: &ChapterOptions,
) -> Result<ParsedChapter, Vec<Diagnostic>> {
    let lines = LineIndex::new(text);
    let mut problems = Vec::new();
    let mut chapter = ParsedChapter::default();
    let mut section: Option<String> = None;
    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut prose: Vec<String> = Vec::new();
    let mut paragraph: Option<String> = None;
    let mut open: Option<OpenBlock> = None;
    // Console blocks are paired with the command before them in a second pass.
    let mut consoles: Vec<ConsoleBlock> = Vec::new();
    let mut ordinal = 0usize;
    // The last SQL fence's end: the fence right after it is what the query printed.
    let mut sql_ended: Option<usize> = None;

    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, String::new())),
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, title)) = heading.take() {
                    if level == HeadingLevel::H1 && chapter.first_heading.is_none() {
                        chapter.first_heading = Some(title.clone());
                    }
                    section = Some(title);
                    prose.clear();
                }
            }
            Event::Start(Tag::Paragraph | Tag::Item) => {
                paragraph.get_or_insert_with(String::new);
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item) => {
                if let Some(done) = paragraph.take() {
                    let trimmed = done.trim();
                    if !trimmed.is_empty() {
                        prose.extend(trimmed.lines().map(str::to_string));
                        let excess = prose.len().saturating_sub(CONTEXT_LINES);
                        prose.drain(..excess);
                    }
                }
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                open = Some(OpenBlock {
                    info: info.to_string(),
                    range,
                    body: String::new(),
                });
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some(mut fenced) = open.take() else {
                    continue;
                };
                let language = attrs::split_language(&fenced.info);
                // PostgreSQL courses print a query in an `sql` fence and its result in the
                // next fence, whatever language that one names (`sh` for a table, often):
                // output, never a command. A transcript (a prompt first) is still commands,
                // and so is a fence marked `standalone` (```` ```{.bash .standalone} ````: a
                // command of its own that a short lead-in happens to join to the query).
                let after_sql = sql_ended.take().is_some_and(|end| {
                    is_layout_gap(&text[end.min(fenced.range.start)..fenced.range.start])
                });
                // A psql transcript (`workshop=# \dx` in an `sh` fence) ends with a query too:
                // the fence after it is that query's output.
                let psql_transcript = starts_with_psql_prompt(&fenced.body);
                if is_sql_language(&language) || psql_transcript {
                    sql_ended = Some(fenced.range.end);
                } else if after_sql
                    && (attrs::is_shell_language(&language) || language.is_empty())
                    && !starts_with_prompt(&fenced.body)
                    && !fenced.info.contains("file=")
                    && !is_marked_standalone(&fenced.info)
                {
                    fenced.info = "console".to_string();
                }
                if let Some(shell) = &options.bare_fence_shell
                    && fenced.info.trim().is_empty()
                    && !starts_with_prompt(&fenced.body)
                {
                    // A bare fence after a command is what it printed, as a console block
                    // would be; anywhere else it is a command in the course's language.
                    let follows_command = chapter.blocks.last().is_some_and(|block| {
                        block.attributes.runs_commands()
                            && block.inline_expected.is_none()
                            && consoles
                                .iter()
                                .all(|console| console.range.start < block.range.end)
                            && is_layout_gap(&text[block.range.end..fenced.range.start])
                    });
                    if follows_command {
                        fenced.info = "console".to_string();
                    } else {
                        fenced.info = shell.clone();
                    }
                }
                match read_fenced_block(file, text, &lines, fenced) {
                    Err(found) => problems.extend(found),
                    Ok(FencedBlock::Other) => {}
                    Ok(FencedBlock::Console(console)) => consoles.push(console),
                    Ok(FencedBlock::Runnable(read)) => {
                        let runs = !matches!(read.kind, BlockKind::Shown);
                        if runs {
                            ordinal += 1;
                        }
                        let id = match &read.attributes.id {
                            Some(id) => id.clone(),
                            None if runs => format!("block-{ordinal}"),
                            None => String::new(),
                        };
                        chapter.blocks.push(Block {
                            line: read.line,
                            fence_text: read.fence_text,
                            attributes: read.attributes,
                            kind: read.kind,
                            prompt_host: read.prompt.host,
                            prompt_user: read.prompt.user,
                            prompt_line: read.prompt.line,
                            id,
                            section: section.clone(),
                            context: prose.clone(),
                            inline_expected: read.printed,
                            range: read.range,
                            transcript: read.transcript,
                        });
                    }
                }
            }
            Event::Text(content) | Event::Code(content) => {
                if let Some(block) = open.as_mut() {
                    block.body.push_str(&content);
                } else if let Some((_, title)) = heading.as_mut() {
                    title.push_str(&content);
                } else if let Some(current) = paragraph.as_mut() {
                    current.push_str(&content);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(current) = paragraph.as_mut() {
                    current.push('\n');
                }
            }
            _ => {}
        }
    }

    pair_consoles(&mut chapter, consoles, text);

    if problems.is_empty() {
        Ok(chapter)
    } else {
        Err(problems)
    }
}

/// A console block, waiting to be paired with the command before it.
struct ConsoleBlock {
    range: Range<usize>,
    /// Line of its first content line.
    first_line: usize,
    body: String,
    /// Marked `standalone` (```` ```{.console .standalone} ````): output shown for itself,
    /// not the output of the command before it.
    standalone: bool,
}

/// The word that keeps a console block from being paired with the command before it.
const STANDALONE: &str = "standalone";

/// Whether a fence's info string carries the word `standalone` (`.standalone` in pandoc's
/// form), after its language.
fn is_marked_standalone(info: &str) -> bool {
    info.split(|c: char| c.is_whitespace() || c == '{' || c == '}')
        .filter(|word| !word.is_empty())
        .skip(1)
        .any(|word| word.trim_start_matches('.') == STANDALONE)
}

/// What one closed fence turns out to be.
enum FencedBlock {
    /// A console block: the output of the command before it.
    Console(ConsoleBlock),
    /// A block runbook runs or shows; its id, section and context are the walk's to give.
    Runnable(ReadBlock),
    /// A block of another language: part of the prose, to runbook.
    Other,
}

/// A runnable or shown block as its fence and body say, before it has a place in the chapter.
struct ReadBlock {
    line: usize,
    fence_text: String,
    attributes: Attributes,
    kind: BlockKind,
    prompt: PromptPlace,
    range: Range<usize>,
    transcript: Vec<TranscriptCommand>,
    /// What a SQL fence prints after its statements (see [`psql::split_printed`]).
    printed: Option<InlineExpected>,
}

/// Where a script block's prompt says it runs (none for a transcript: each of its commands
/// names its own).
#[derive(Default)]
struct PromptPlace {
    host: Option<String>,
    user: Option<String>,
    /// Line of that prompt in the chapter.
    line: Option<usize>,
}

/// Reads one closed or unclosed fence: its attributes, what it does, its transcript or its
/// prompt. Every problem is returned, none printed.
fn read_fenced_block(
    file: &Path,
    text: &str,
    lines: &LineIndex,
    fenced: OpenBlock,
) -> Result<FencedBlock, Vec<Diagnostic>> {
    let line = lines.line_of(fenced.range.start);
    let fence_text = lines.line_text(text, line).to_string();
    if !is_closed(&text[fenced.range.clone()]) {
        let fence = fence_of(&fence_text);
        return Err(vec![
            Diagnostic::new(file, line, "this code block is never closed")
                .quoting(&fence_text)
                .underlining(&fence)
                .hint(format!(
                    "add a line holding only {fence} after the block's last line; \
                     without it the rest of the chapter is read as this block"
                )),
        ]);
    }
    let at = InfoLine {
        file,
        line,
        text: &fence_text,
    };
    // A console block (or a fence that names no language) that starts with a prompt is a
    // transcript, which runs; any other console block is the output of the command before it.
    let language = attrs::split_language(&fenced.info);
    let console_transcript = (language.eq_ignore_ascii_case("console") || language.is_empty())
        && starts_with_prompt(&fenced.body);
    let attributes = if console_transcript {
        attrs::parse_console_transcript(&fenced.info, &at)?
    } else {
        attrs::parse(&fenced.info, &at)?
    };
    if attributes.is_console() {
        let standalone = attributes
            .foreign
            .iter()
            .any(|word| word.trim_start_matches('.') == STANDALONE);
        return Ok(FencedBlock::Console(ConsoleBlock {
            range: fenced.range,
            first_line: line + 1,
            body: fenced.body,
            standalone,
        }));
    }
    let kind = if attributes.norun && (attributes.runs_commands() || attributes.file.is_some()) {
        BlockKind::Shown
    } else if attributes.runs_commands() {
        BlockKind::Command {
            script: String::new(),
        }
    } else if let Some(path) = &attributes.file {
        BlockKind::File {
            path: path.clone(),
            content: fenced.body.clone(),
        }
    } else {
        return Ok(FencedBlock::Other);
    };
    let transcript = if matches!(kind, BlockKind::Command { .. }) {
        transcript::read(&fenced.body)
            .map_err(|no_bash| {
                vec![without_bash(
                    file,
                    line,
                    &fence_text,
                    "where this transcript's commands end",
                    no_bash,
                )]
            })?
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut printed = None;
    let (kind, prompt) = if !transcript.is_empty() {
        // Each command of a transcript names its own host (see `transcript`).
        let script = transcript
            .iter()
            .map(|command| command.script.as_str())
            .collect();
        (BlockKind::Command { script }, PromptPlace::default())
    } else if attributes.is_sql() {
        // SQL has no shell prompts to strip; a result printed after the statements, in the
        // same fence, is their expected output.
        let script = match psql::split_printed(&fenced.body) {
            Some((sql, result_offset)) => {
                let result = &fenced.body[result_offset..];
                printed = Some(InlineExpected {
                    first_line: line + 1 + fenced.body[..result_offset].matches('\n').count(),
                    text: result.to_string(),
                    range: fenced.range.clone(),
                });
                sql.to_string()
            }
            None => fenced.body.clone(),
        };
        match kind {
            BlockKind::Command { .. } => (BlockKind::Command { script }, PromptPlace::default()),
            shown => (shown, PromptPlace::default()),
        }
    } else if attributes.runs_commands() {
        strip_prompts(&at, text, lines, &fenced.body, kind).map_err(|problem| vec![problem])?
    } else {
        (kind, PromptPlace::default())
    };
    Ok(FencedBlock::Runnable(ReadBlock {
        line,
        fence_text,
        attributes,
        kind,
        prompt,
        range: fenced.range,
        transcript,
        printed,
    }))
}

/// A script block's prompts removed: the script as it runs and where its prompt says it
/// runs (a shown block keeps its kind, for the place its prompt names).
fn strip_prompts(
    at: &InfoLine<'_>,
    text: &str,
    lines: &LineIndex,
    body: &str,
    kind: BlockKind,
) -> Result<(BlockKind, PromptPlace), Diagnostic> {
    let at_line = |offset: usize| at.line + 1 + offset;
    match prompt::strip(body) {
        Ok(stripped) => {
            let prompt = match stripped.target {
                Some(target) => PromptPlace {
                    line: Some(at_line(target.line_offset)),
                    host: Some(target.host),
                    user: target.user,
                },
                None => PromptPlace::default(),
            };
            let kind = match kind {
                BlockKind::Command { .. } => BlockKind::Command {
                    script: stripped.script,
                },
                shown => shown,
            };
            Ok((kind, prompt))
        }
        Err(StripError::NoBash(no_bash)) => Err(without_bash(
            at.file,
            at.line,
            at.text,
            "whether this block's prompt-like lines are inside a here-document",
            no_bash,
        )),
        Err(StripError::Conflicting(conflict)) => {
            let bad_line = at_line(conflict.second.line_offset);
            Err(Diagnostic::new(
                at.file,
                bad_line,
                format!(
                    "this block's prompts name two places: {} and {}",
                    conflict.first.describe(),
                    conflict.second.describe()
                ),
            )
            .quoting(lines.line_text(text, bad_line))
            .underlining(&conflict.second.describe())
            .hint("a block runs in one place: split it into one block per host"))
        }
    }
}

/// A console block "directly after" a command is one separated from it only by layout (see
/// [`is_layout_gap`]); it becomes that command's expected output.
fn pair_consoles(chapter: &mut ParsedChapter, consoles: Vec<ConsoleBlock>, text: &str) {
    for console in consoles.into_iter().filter(|console| !console.standalone) {
        let previous = chapter
            .blocks
            .iter_mut()
            .rev()
            .find(|block| block.range.end <= console.range.start);
        if let Some(block) = previous
            && block.attributes.runs_commands()
            && block.inline_expected.is_none()
            && is_layout_gap(&text[block.range.end..console.range.start])
        {
            block.inline_expected = Some(InlineExpected {
                first_line: console.first_line,
                text: console.body,
                range: console.range,
            });
        }
    }
}

/// The languages PostgreSQL courses write SQL in (any case).
pub(crate) fn is_sql_language(language: &str) -> bool {
    ["sql", "psql", "pgsql", "postgresql", "plpgsql"]
        .iter()
        .any(|sql| sql.eq_ignore_ascii_case(language))
}

/// The longest lead-in, in characters, that still introduces the output below it
/// ("On obtient :", "Result:"); a longer sentence is prose of its own.
const LEAD_IN_CHARS: usize = 60;

/// Whether the text between a command fence and an output fence is only layout: blank lines,
/// what a PDF build inserts (raw TeX lines such as `\scriptsize` or `\newpage`, pandoc's raw
/// blocks ```` ```{=latex} ````, HTML comments), and at most one short lead-in line that
/// ends with `:` (at most [`LEAD_IN_CHARS`] characters). Anything else keeps them apart.
pub(crate) fn is_layout_gap(gap: &str) -> bool {
    let mut lead_ins = 0;
    let mut in_comment = false;
    let mut in_raw_block: Option<String> = None;
    for line in gap.lines() {
        let trimmed = line.trim_matches(|c: char| c.is_whitespace());
        if let Some(fence) = &in_raw_block {
            if trimmed.starts_with(fence.as_str()) {
                in_raw_block = None;
            }
            continue;
        }
        if in_comment {
            in_comment = !trimmed.contains("-->");
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("<!--") {
            in_comment = !rest.contains("-->");
            if !in_comment && !rest.trim_end().ends_with("-->") {
                return false;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let fence: String = trimmed
                .chars()
                .take_while(|&c| c == '`' || c == '~')
                .collect();
            let info = trimmed[fence.len()..].replace(' ', "");
            if info.starts_with("{=") {
                in_raw_block = Some(fence);
                continue;
            }
            return false;
        }
        if is_raw_tex(trimmed) {
            continue;
        }
        if trimmed.ends_with(':') && trimmed.chars().count() <= LEAD_IN_CHARS && lead_ins == 0 {
            lead_ins += 1;
            continue;
        }
        return false;
    }
    !in_comment && in_raw_block.is_none()
}

/// A line of raw TeX as courses put between blocks for their PDF: one or more commands
/// (`\scriptsize`, `\newpage`, `\begin{small}`, `\vspace{1em}`), nothing else.
fn is_raw_tex(line: &str) -> bool {
    let mut rest = line;
    if !rest.starts_with('\\') {
        return false;
    }
    while let Some(after) = rest.strip_prefix('\\') {
        let name_length = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        if name_length == 0 {
            return false;
        }
        rest = &after[name_length..];
        while let Some(argument) = rest.strip_prefix('{').or_else(|| rest.strip_prefix('[')) {
            let Some(end) = argument.find(['}', ']']) else {
                return false;
            };
            rest = &argument[end + 1..];
        }
        rest = rest.trim_start();
    }
    rest.is_empty()
}

/// Whether the first line of `body` that is not blank is a prompt.
/// Whether the first line of `body` that is not blank starts with a psql prompt
/// (`postgres=# `): a psql transcript, whatever the fence's language.
fn starts_with_psql_prompt(body: &str) -> bool {
    body.lines()
        .find(|line| !line.trim().is_empty())
        .and_then(psql::find)
        .is_some_and(|found| !found.continues)
}

fn starts_with_prompt(body: &str) -> bool {
    body.lines()
        .find(|line| !line.trim().is_empty())
        .is_some_and(|line| prompt::find(line).is_some())
}

/// The fence characters that open `fence_line` (e.g. "```" or "~~~~").
fn fence_of(fence_line: &str) -> String {
    let trimmed = fence_line.trim_start_matches([' ', '>', '\t']);
    let Some(first) = trimmed.chars().next() else {
        return "```".into();
    };
    trimmed.chars().take_while(|&c| c == first).collect()
}

/// The error for a block runbook cannot read because bash, which it asks where a command, a
/// here-document or a quoted string ends, could not be run.
fn without_bash(
    file: &Path,
    line: usize,
    fence_text: &str,
    question: &str,
    NoBash(error): NoBash,
) -> Diagnostic {
    Diagnostic::new(
        file,
        line,
        format!("cannot run `bash -n` to tell {question}: {error}"),
    )
    .quoting(fence_text)
    .hint("install bash: runbook asks it where a command, a here-document or a quoted string ends")
}

/// pulldown-cmark runs an unclosed fence to the end of its container; a closed block's source
/// ends with a fence line at least as long as the opening one.
fn is_closed(source: &str) -> bool {
    let mut source_lines = source.lines();
    let Some(first) = source_lines.next() else {
        return false;
    };
    let opening = fence_of(first);
    let Some(marker) = opening.chars().next() else {
        return false;
    };
    let Some(last) = source.trim_end().lines().last() else {
        return false;
    };
    if std::ptr::eq(last, first) || source.trim_end().lines().count() < 2 {
        return false;
    }
    let last = last.trim_start_matches([' ', '>', '\t']).trim_end();
    last.len() >= opening.len() && last.chars().all(|c| c == marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ParsedChapter {
        parse_chapter(Path::new("ch.md"), text).unwrap_or_else(|problems| panic!("{problems:?}"))
    }

    #[test]
    fn pandoc_markdown_is_prose_around_its_blocks() {
        let chapter = parse(concat!(
            "---\ntitle: 'A course'\n#\n# Slide options\n#\n## Depth\ntoc-depth: 2\n---\n\n",
            "# The course\n\n<div class=\"notes\">\n\n</div>\n\n---\n\n## Loops\n\n",
            "<div class=\"notes\">\n\n| a | b |\n|---|---|\n| `$ x` | 1 |\n\n",
            "<!-- ```bash\nnot a block\n``` -->\n\n",
            "```Bash\n$ echo in\nin\n```\n\n</div>\n\n---\n\n### After\n\n",
            "```{.bash #last}\necho last\n```\n",
        ));
        // Front matter `#` lines are YAML comments: the first heading is the course's.
        assert_eq!(chapter.first_heading.as_deref(), Some("The course"));
        let found: Vec<(&str, Option<&str>, usize)> = chapter
            .blocks
            .iter()
            .map(|block| {
                (
                    block.id.as_str(),
                    block.section.as_deref(),
                    block.transcript.len(),
                )
            })
            .collect();
        // The table and the commented-out fence are prose; a block inside a <div> belongs to
        // the heading before the div.
        assert_eq!(
            found,
            [("block-1", Some("Loops"), 1), ("last", Some("After"), 0)]
        );
    }

    #[test]
    fn finds_shell_blocks_with_lines_and_ids() {
        let chapter = parse(
            "# Etcd\n\nInstall it.\n\n```bash on=e1 id=install\napt-get install etcd\n```\n\n```Bash\necho hi\n```\n\n```rust\nfn main() {}\n```\n",
        );
        assert_eq!(chapter.first_heading.as_deref(), Some("Etcd"));
        assert_eq!(chapter.blocks.len(), 2);
        assert_eq!(chapter.blocks[0].line, 5);
        assert_eq!(chapter.blocks[0].id, "install");
        assert_eq!(chapter.blocks[0].context, vec!["Install it."]);
        assert_eq!(chapter.blocks[1].id, "block-2");
        assert_eq!(
            chapter.blocks[1].kind,
            BlockKind::Command {
                script: "echo hi\n".into()
            }
        );
    }

    #[test]
    fn console_block_after_command_is_its_expected_output() {
        let chapter = parse(
            "```bash\necho hi\n```\n\n```console\nhi\n```\n\nText\n\n```console\nnot paired\n```\n",
        );
        let inline = chapter.blocks[0].inline_expected.as_ref().expect("paired");
        assert_eq!(inline.text, "hi\n");
        assert_eq!(inline.first_line, 6);
    }

    #[test]
    fn console_after_prose_is_not_paired() {
        let chapter = parse("```bash\necho hi\n```\n\nSome words.\n\n```console\nhi\n```\n");
        assert!(chapter.blocks[0].inline_expected.is_none());
    }

    #[test]
    fn norun_and_file_blocks() {
        let chapter = parse("```sh norun\nrm -rf /\n```\n\n```ini file=/etc/x on=e1\nA=1\n```\n");
        assert_eq!(chapter.blocks[0].kind, BlockKind::Shown);
        assert_eq!(chapter.blocks[0].id, "");
        assert_eq!(
            chapter.blocks[1].kind,
            BlockKind::File {
                path: "/etc/x".into(),
                content: "A=1\n".into()
            }
        );
        assert_eq!(chapter.blocks[1].id, "block-1");
    }

    #[test]
    fn prompts_set_host_and_user() {
        let chapter = parse("```bash\npostgres@pg-1:~$ patronictl list\n```\n");
        assert_eq!(chapter.blocks[0].prompt_host.as_deref(), Some("pg-1"));
        assert_eq!(chapter.blocks[0].prompt_user.as_deref(), Some("postgres"));
        assert_eq!(
            chapter.blocks[0].kind,
            BlockKind::Command {
                script: "patronictl list\n".into()
            }
        );
    }

    #[test]
    fn unclosed_fence_is_an_error_at_its_line() {
        let problems =
            parse_chapter(Path::new("ch.md"), "Intro\n\n```bash\necho hi\n").expect_err("unclosed");
        assert_eq!(problems[0].line, 3);
        assert_eq!(problems[0].message, "this code block is never closed");
    }

    #[test]
    fn fences_in_lists_are_found() {
        let chapter = parse("1. Step one:\n\n   ```bash\n   echo one\n   ```\n");
        assert_eq!(chapter.blocks.len(), 1);
        assert_eq!(chapter.blocks[0].line, 3);
        assert_eq!(
            chapter.blocks[0].kind,
            BlockKind::Command {
                script: "echo one\n".into()
            }
        );
    }

    #[test]
    fn line_index() {
        let text = "a\nbb\nccc";
        let index = LineIndex::new(text);
        assert_eq!(index.line_of(0), 1);
        assert_eq!(index.line_of(2), 2);
        assert_eq!(index.line_of(5), 3);
        assert_eq!(index.line_text(text, 2), "bb");
    }

    #[test]
    fn a_layout_gap_is_blank_lines_pdf_layout_and_one_short_lead_in() {
        for gap in [
            "\n\n",
            "\n\\scriptsize\n\n",
            "\n\\newpage \\vspace{1em}\n",
            "\n<!-- note -->\n",
            "\n<!-- a note\nover two lines -->\n",
            "\n```{=latex}\n\\newpage\n```\n",
            "\nOn obtient\u{a0}:\n\n",
            "\n\\small\n\nRésultat :\n",
        ] {
            assert!(is_layout_gap(gap), "{gap:?} is layout");
        }
        for gap in [
            "\nSome prose.\n",
            "\nOne: \n\nTwo:\n",
            "\nA sentence that goes on well past a lead-in before ending in a colon:\n",
            "\n```sql\nSELECT 1;\n```\n",
            "\n<!-- never closed\n",
            "\n\\not tex at all here\n",
        ] {
            assert!(!is_layout_gap(gap), "{gap:?} is not layout");
        }
    }
}
