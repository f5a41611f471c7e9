//! A cram test file (`.t`, as cram and prysk run them) read as a chapter, so that a cram user
//! runs `runbook verify tests/` on the files as they are. cram's syntax is a transcript
//! indented by two spaces: `  $ cmd` starts a command, `  > more` continues it, any other
//! line indented by two spaces is its output (`  [N]` last: its exit status), and a line that
//! is not indented is a comment. Each run of indented lines becomes one [`Block`] whose
//! commands are a transcript's ([`TranscriptCommand`]), so the rest of the pipeline (steps
//! `<id>.1`, `.2`..., expected output, `[N]`, `--bless`) is the transcripts' own; only where
//! commands end differs: in cram a command ends where its `  > ` lines end (no `bash -n`), and
//! a printed line that looks like a prompt is output.
//!
//! What cram gives a test (one shell per file, its environment and a fresh folder) is
//! [`CramTest`], which the session layer sets up.

use std::path::{Path, PathBuf};

use super::attrs::Attributes;
use super::parse::{Block, BlockKind, InlineExpected, ParsedChapter};
use super::transcript::{PrintedOutput, TranscriptCommand};
use crate::diagnostic::Diagnostic;

/// The extension of cram's test files.
pub(crate) const EXTENSION: &str = "t";

/// cram's indentation of commands and output.
const INDENT: &str = "  ";

/// What cram gives the shell of one test file: `TESTDIR` (its folder, absolute) and
/// `TESTFILE` (its name); the session adds the rest (see `session::protocol::cram_setup`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CramTest {
    pub(crate) testdir: PathBuf,
    pub(crate) testfile: String,
}

impl CramTest {
    /// The test at `path`, its folder made absolute as cram makes it.
    pub(crate) fn of(path: &Path) -> CramTest {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        CramTest {
            testdir: absolute.parent().map(Path::to_path_buf).unwrap_or_default(),
            testfile: absolute
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

/// Whether `path` names a cram test file.
pub(crate) fn is_test_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == EXTENSION)
}

/// The text of the test file at `path`. A cram test need not be UTF-8: an output line that is
/// not is read as the ` (esc)` line that matches the same bytes (as an expected file's is),
/// so that the chapter is text; a command must be UTF-8, since it is sent to bash as text.
pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let bytes = crate::user_file::read(path)
        .map_err(|refused| Diagnostic::new(path, 0, refused.message).hint(refused.hint))?;
    if let Ok(text) = String::from_utf8(bytes.clone()) {
        return Ok(text);
    }
    let mut text = String::with_capacity(bytes.len() + 64);
    for (index, line) in bytes.split_inclusive(|&byte| byte == b'\n').enumerate() {
        let (body, end) = match line.strip_suffix(b"\n") {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        match std::str::from_utf8(body) {
            Ok(valid) => text.push_str(valid),
            Err(_) if body.starts_with(b"  $ ") || body.starts_with(b"  > ") => {
                return Err(Diagnostic::new(
                    path,
                    index + 1,
                    "this command is not valid UTF-8",
                )
                .quoting(&String::from_utf8_lossy(body))
                .hint("write its bytes with printf escapes (`printf 'caf\\351'`), or save the file as UTF-8"));
            }
            Err(_) => {
                // Indentation and a comment's text survive the conversion as they are.
                text.push_str(&crate::expect::pattern::utf8_equivalent(body));
            }
        }
        text.push_str(end);
    }
    Ok(text)
}

/// One command of the file as it is read: its lines in the file (0-based).
struct Reading {
    /// Index of its `  $ ` line.
    line: usize,
    script: String,
    /// Index of its first output line, and the output (indentation removed).
    output: Option<(usize, String)>,
}

/// The blocks of a `.t` file: one per run of indented lines that starts with a command, each
/// holding its commands as a transcript. Output lines after a comment belong to the command
/// before the comment, as in cram.
pub fn parse(text: &str) -> ParsedChapter {
    // The runs of indented lines that start with a command, each its commands in order.
    let mut groups: Vec<Vec<Reading>> = Vec::new();
    let mut after_comment = true;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some(indented) = line.strip_prefix(INDENT) else {
            after_comment = true;
            continue;
        };
        if let Some(command) = indented.strip_prefix("$ ") {
            let reading = Reading {
                line: index,
                script: format!("{command}\n"),
                output: None,
            };
            match groups.last_mut() {
                Some(group) if !after_comment => group.push(reading),
                _ => groups.push(vec![reading]),
            }
            after_comment = false;
            continue;
        }
        let Some(current) = groups.last_mut().and_then(|group| group.last_mut()) else {
            // Indented lines before any command: cram shows them as they are and runs nothing.
            continue;
        };
        // cram gives the shell every `> ` line after a command, wherever it stands: below
        // output lines too, it is more of the command's script, never output.
        if let Some(more) = indented.strip_prefix("> ") {
            current.script.push_str(more);
            current.script.push('\n');
        } else {
            let (_, printed) = current.output.get_or_insert_with(|| (index, String::new()));
            printed.push_str(indented);
            printed.push('\n');
        }
        // An indented line after a comment that is not a command goes on the command before
        // the comment, as cram reads it; the group stays the one it was.
    }
    let mut chapter = ParsedChapter::default();
    for (number, group) in groups.into_iter().enumerate() {
        let first = group[0].line;
        // A block's lines count from the line after its "fence": here the line before its
        // first command, so that each command keeps its own `file:line`.
        let line = first;
        let transcript: Vec<TranscriptCommand> = group
            .into_iter()
            .map(|reading| {
                let (output, exit) = match reading.output {
                    Some((at, printed)) => {
                        let (printed, exit) = without_exit_status(printed);
                        // A `[N]` line alone leaves no output; a blank line (`  `) is output.
                        let output = (!printed.is_empty()).then(|| PrintedOutput {
                            line_offset: at - first,
                            text: printed,
                        });
                        (output, exit)
                    }
                    None => (None, None),
                };
                TranscriptCommand {
                    psql: None,
                    user: None,
                    line_offset: reading.line - first,
                    script: reading.script,
                    target: None,
                    output,
                    exit,
                }
            })
            .collect();
        let script = transcript
            .iter()
            .map(|command| command.script.as_str())
            .collect();
        let fence_text = text
            .lines()
            .nth(first)
            .unwrap_or_default()
            .trim_end_matches('\r')
            .to_string();
        chapter.blocks.push(Block {
            line,
            fence_text,
            attributes: attributes(),
            kind: BlockKind::Command { script },
            prompt_host: None,
            prompt_user: None,
            prompt_line: None,
            id: format!("block-{}", number + 1),
            section: None,
            context: Vec::new(),
            // A command the next one follows at once printed nothing (see
            // `plan::transcript_step`); the last one too, in cram.
            inline_expected: Some(InlineExpected {
                first_line: line + 1,
                text: String::new(),
                range: 0..0,
            }),
            range: 0..0,
            transcript,
        });
    }
    chapter
}

/// `printed` (lines ending with a newline) without its last line when that line is cram's
/// `[N]` (N from 1 to 255: the command's exit status), and N. Only that line goes: a blank
/// output line before it is output, as in cram.
fn without_exit_status(mut printed: String) -> (String, Option<i32>) {
    let body = printed.strip_suffix('\n').unwrap_or(&printed);
    let last_start = body.rfind('\n').map_or(0, |index| index + 1);
    let code = body[last_start..]
        .trim_end()
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<i32>().ok())
        .filter(|code| (1..=255).contains(code));
    if code.is_some() {
        printed.truncate(last_start);
    }
    (printed, code)
}

/// How cram compares: the bytes as printed (`raw`), the expected lines as written (no `{{ }}`
/// templates: `verbatim`), each command run by bash.
fn attributes() -> Attributes {
    Attributes {
        language: "bash".to_string(),
        raw: true,
        verbatim: true,
        ..Attributes::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(text: &str) -> Vec<(usize, String, Option<String>, Option<i32>)> {
        parse(text)
            .blocks
            .iter()
            .flat_map(|block| {
                block.transcript.iter().map(|command| {
                    (
                        block.line + 1 + command.line_offset,
                        command.script.clone(),
                        command.output.as_ref().map(|output| output.text.clone()),
                        command.exit,
                    )
                })
            })
            .collect()
    }

    #[test]
    fn indented_commands_and_output_with_comments_between() {
        let text = "Intro line.\n\n  $ echo hi\n  hi\n  $ false\n  [1]\n\nA comment.\n\n  $ cat <<EOF\n  > a\n  > EOF\n  a\n";
        assert_eq!(
            commands(text),
            [
                (3, "echo hi\n".into(), Some("hi\n".into()), None),
                (5, "false\n".into(), None, Some(1)),
                (10, "cat <<EOF\na\nEOF\n".into(), Some("a\n".into()), None),
            ]
        );
        let chapter = parse(text);
        assert_eq!(
            chapter.blocks.len(),
            2,
            "one block per run of indented lines"
        );
        assert_eq!(chapter.blocks[1].fence_text, "  $ cat <<EOF");
        assert!(chapter.blocks.iter().all(|block| block.attributes.raw));
    }

    #[test]
    fn printed_lines_that_look_like_other_prompts_are_output_but_a_continuation_is_script() {
        let text = "  $ printf '# root\\nuser@h:~$ x\\n'\n  # root\n  user@h:~$ x\n";
        assert_eq!(
            commands(text),
            [(
                1,
                "printf '# root\\nuser@h:~$ x\\n'\n".into(),
                Some("# root\nuser@h:~$ x\n".into()),
                None
            )]
        );
        // As cram reads it: a `> ` line below the output is given to the shell.
        let text = "  $ echo a\n  a\n  > echo b\n  b\n";
        assert_eq!(
            commands(text),
            [(1, "echo a\necho b\n".into(), Some("a\nb\n".into()), None)]
        );
    }

    #[test]
    fn an_output_line_that_is_not_utf8_reads_as_the_escaped_line_that_matches_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("latin1.t");
        std::fs::write(&path, b"Caf\xe9.\n  $ printf 'caf\\351\\n'\n  caf\xe9\n").expect("write");
        let text = read_text(&path).expect("readable");
        assert_eq!(
            text,
            "Caf\\xe9. (esc)\n  $ printf 'caf\\351\\n'\n  caf\\xe9 (esc)\n"
        );
        assert_eq!(commands(&text)[0].2.as_deref(), Some("caf\\xe9 (esc)\n"));
        std::fs::write(&path, b"  $ echo caf\xe9\n").expect("write");
        let problem = read_text(&path).expect_err("a command must be UTF-8");
        assert_eq!(
            (problem.line, problem.message.as_str()),
            (1, "this command is not valid UTF-8")
        );
    }

    #[test]
    fn output_after_a_comment_is_the_command_before_it() {
        let text = "  $ printf 'a\\nb\\n'\n  a\nbetween\n  b\n";
        assert_eq!(commands(text)[0].2.as_deref(), Some("a\nb\n"));
        // A blank output line is two spaces and stays output; an empty line is a comment.
        let text = "  $ printf 'a\\n\\nb\\n'\n  a\n  \n  b\n";
        assert_eq!(commands(text)[0].2.as_deref(), Some("a\n\nb\n"));
        let text = "  $ echo\n  \n  $ true\n";
        assert_eq!(commands(text)[0].2.as_deref(), Some("\n"), "one blank line");
        let text = "  $ printf 'a\\n\\n'; false\n  a\n  \n  [1]\n";
        assert_eq!(
            commands(text),
            [(
                1,
                "printf 'a\\n\\n'; false\n".into(),
                Some("a\n\n".into()),
                Some(1)
            )],
            "the blank line before `[1]` is output"
        );
    }
}
