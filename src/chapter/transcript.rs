//! A fence that holds a transcript: commands after prompts, each followed by what it printed
//! (as a course shows a terminal). Each command becomes its own step with that output as its
//! expected output. Where a command ends is decided the way bash decides it: a line is
//! continued when it starts with cram's `> ` (bash's PS2), or when `bash -n` says the command
//! so far is not complete yet (an open `for`/`if`/`case`, `{`, `(`, quote, here-document, or a
//! trailing `|`, `&&`, `||`), or after a trailing `\`.

use std::process::Command;

use super::prompt::{self, PromptTarget, dedent};

/// One command of a transcript and what the author printed after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptCommand {
    /// 0-based line of the prompt within the block's body.
    pub(crate) line_offset: usize,
    /// The command with its prompt and `> ` markers removed, ending with a line break.
    pub(crate) script: String,
    /// The host (and user) its prompt names.
    pub(crate) target: Option<PromptTarget>,
    /// The printed lines after it, the transcript's indentation removed; `None` when the next
    /// prompt follows at once (nothing printed).
    pub(crate) output: Option<PrintedOutput>,
    /// The exit status the transcript gives it: cram's `[N]` line, alone after its output.
    pub(crate) exit: Option<i32>,
}

/// Lines a transcript shows after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedOutput {
    /// 0-based line within the block's body of the first printed line.
    pub(crate) line_offset: usize,
    pub(crate) text: String,
}

/// `bash` could not be run to tell where a command ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoBash(pub(crate) String);

/// The commands of `body` when it is a transcript: its first line that is not blank or a
/// comment is a prompt, and at least one command is followed by printed output. `None`
/// otherwise: a block of commands alone stays one script, as it always was.
pub(crate) fn read(body: &str) -> Result<Option<Vec<TranscriptCommand>>, NoBash> {
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    let first = lines
        .iter()
        .position(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
    let Some(first) = first else { return Ok(None) };
    if prompt::find(lines[first]).is_none() {
        return Ok(None);
    }
    // Before reading it whole, a cheap look: a transcript has a line that is no prompt.
    if lines[first..]
        .iter()
        .all(|line| prompt::find(line).is_some() || line.trim().is_empty())
    {
        return Ok(None);
    }
    let mut commands = Vec::new();
    let mut index = first;
    while index < lines.len() {
        let Some(found) = prompt::find(lines[index]) else {
            // Only reached for the lines before the first prompt (blank or comments).
            index += 1;
            continue;
        };
        let line_offset = index;
        let target = found.host.clone().map(|host| PromptTarget {
            user: found.user.clone(),
            host,
            line_offset,
        });
        let mut script =
            with_line_break(&lines[index][found.command_start.min(lines[index].len())..]);
        index += 1;
        // A prompt alone on its line (`dalibo@vm:~$`, then the command below it): the
        // command is the next line. With no command there (another prompt, a blank line, the
        // end), the prompt is only the terminal waiting: no step.
        if script.trim().is_empty() {
            match lines.get(index) {
                Some(next) if !next.trim().is_empty() && prompt::find(next).is_none() => {
                    script = with_line_break(dedent(next, found.indent));
                    index += 1;
                }
                _ => continue,
            }
        }
        while index < lines.len() {
            let next = lines[index];
            if let Some(after) = continuation_marker(next) {
                script.push_str(&with_line_break(after));
            } else if needs_more(&script)? {
                script.push_str(&with_line_break(dedent(next, found.indent)));
            } else {
                break;
            }
            index += 1;
        }
        let output_start = index;
        let mut printed = String::new();
        while index < lines.len() && prompt::find(lines[index]).is_none() {
            printed.push_str(&with_line_break(dedent(lines[index], found.indent)));
            index += 1;
        }
        // Blank lines before the next prompt separate; they are not output.
        let kept = printed.trim_end().len();
        printed.truncate(kept);
        let exit = take_exit_status(&mut printed);
        let output = (!printed.is_empty()).then(|| {
            printed.push('\n');
            PrintedOutput {
                line_offset: output_start,
                text: printed,
            }
        });
        commands.push(TranscriptCommand {
            line_offset,
            script,
            target,
            output,
            exit,
        });
    }
    if commands
        .iter()
        .all(|command| command.output.is_none() && command.exit.is_none())
    {
        return Ok(None);
    }
    Ok(Some(commands))
}

/// Removes cram's `[N]` line (the command exited with status N, 1 to 255) from the end of
/// `printed` and returns N. Only a line that is `[N]` and nothing else counts, so a job's
/// `[1] 4242` or R's `[1] "x"` stay output.
fn take_exit_status(printed: &mut String) -> Option<i32> {
    let last_start = printed.rfind('\n').map_or(0, |index| index + 1);
    let last = printed[last_start..].trim();
    let code: i32 = last
        .strip_prefix('[')?
        .strip_suffix(']')
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()
        .filter(|code| (1..=255).contains(code))?;
    printed.truncate(last_start);
    let kept = printed.trim_end().len();
    printed.truncate(kept);
    Some(code)
}

/// The rest of a line that starts with cram's continuation marker `> ` (or is `>` alone).
fn continuation_marker(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches(prompt::is_blank);
    if let Some(after) = rest.strip_prefix("> ") {
        return Some(after);
    }
    (rest.trim_end() == ">").then_some("\n")
}

fn with_line_break(text: &str) -> String {
    let mut owned = text.to_string();
    if !owned.ends_with('\n') {
        owned.push('\n');
    }
    owned
}

/// Whether bash would ask for another line (print PS2) after `script`.
pub(crate) fn needs_more(script: &str) -> Result<bool, NoBash> {
    let last = script.trim_end_matches('\n');
    let trailing_backslashes = last.chars().rev().take_while(|&c| c == '\\').count();
    if trailing_backslashes % 2 == 1 {
        return Ok(true);
    }
    let messages = parse_messages(script)?;
    Ok(messages.contains("unexpected end of file")
        || messages.contains("unexpected EOF")
        || messages.contains("delimited by end-of-file"))
}

/// Whether `script` ends inside text bash has not finished reading: a here-document before
/// its delimiter, or an open quote. A line that comes next is that text, even when it looks
/// like a prompt (`$ not a prompt` in a here-document is data).
pub(crate) fn ends_inside_text(script: &str) -> Result<bool, NoBash> {
    let messages = parse_messages(script)?;
    Ok(messages.contains("delimited by end-of-file")
        || messages.contains("unexpected EOF while looking for matching"))
}

/// What `bash -n` says of `script`: it parses without running; C messages, whatever the
/// user's locale.
fn parse_messages(script: &str) -> Result<String, NoBash> {
    let checked = Command::new("bash")
        .arg("--norc")
        .arg("-n")
        .arg("-c")
        .arg(script)
        .env("LC_ALL", "C")
        .output()
        .map_err(|error| NoBash(error.to_string()))?;
    Ok(String::from_utf8_lossy(&checked.stderr).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(body: &str) -> Vec<TranscriptCommand> {
        read(body).expect("bash runs").expect("a transcript")
    }

    fn scripts(body: &str) -> Vec<String> {
        commands(body).into_iter().map(|c| c.script).collect()
    }

    fn outputs(body: &str) -> Vec<Option<String>> {
        commands(body)
            .into_iter()
            .map(|c| c.output.map(|o| o.text))
            .collect()
    }

    #[test]
    fn each_prompt_starts_a_command_and_the_lines_after_are_its_output() {
        let body = "$ echo one\none\n$ true\n$ printf 'a\\nb\\n'\na\nb\n";
        assert_eq!(
            scripts(body),
            ["echo one\n", "true\n", "printf 'a\\nb\\n'\n"]
        );
        assert_eq!(
            outputs(body),
            [Some("one\n".to_string()), None, Some("a\nb\n".to_string())]
        );
        let found = commands(body);
        assert_eq!(found[2].line_offset, 3);
        assert_eq!(found[2].output.as_ref().map(|o| o.line_offset), Some(4));
    }

    #[test]
    fn a_block_of_commands_alone_is_no_transcript() {
        assert_eq!(read("$ echo one\n$ echo two\n"), Ok(None));
        assert_eq!(read("$ for n in 1 2; do\n  echo $n\ndone\n"), Ok(None));
        assert_eq!(read("echo no prompt\necho at all\n"), Ok(None));
        // The output of a command the reader runs is no reason to split a plain script.
        assert_eq!(read("echo $ not a prompt\n$ x\n"), Ok(None));
    }

    #[test]
    fn an_open_loop_continues_until_bash_has_it_whole() {
        let body = " $ for node in e1 e2; do\n echo $node\n done\n e1\n e2\n";
        assert_eq!(scripts(body), ["for node in e1 e2; do\necho $node\ndone\n"]);
        assert_eq!(outputs(body), [Some("e1\ne2\n".to_string())]);
    }

    #[test]
    fn open_if_case_braces_and_parens_continue() {
        for (body, script) in [
            (
                "$ if true; then\necho yes\nfi\nyes\n",
                "if true; then\necho yes\nfi\n",
            ),
            (
                "$ case a in\na) echo A;;\nesac\nA\n",
                "case a in\na) echo A;;\nesac\n",
            ),
            ("$ {\necho in\n}\nin\n", "{\necho in\n}\n"),
            ("$ (\necho sub\n)\nsub\n", "(\necho sub\n)\n"),
            (
                "$ while false; do\n:\ndone\n$ echo x\nx\n",
                "while false; do\n:\ndone\n",
            ),
        ] {
            assert_eq!(scripts(body)[0], script, "{body:?}");
        }
    }

    #[test]
    fn open_quotes_and_trailing_operators_continue() {
        for (body, script) in [
            ("$ echo \"a\nb\"\na\nb\n", "echo \"a\nb\"\n"),
            ("$ echo 'a\nb'\na\nb\n", "echo 'a\nb'\n"),
            ("$ echo a \\\n  b\na b\n", "echo a \\\n  b\n"),
            ("$ echo a |\ncat\na\n", "echo a |\ncat\n"),
            ("$ true &&\necho ok\nok\n", "true &&\necho ok\n"),
            ("$ false ||\necho no\nno\n", "false ||\necho no\n"),
        ] {
            assert_eq!(scripts(body), [script], "{body:?}");
        }
    }

    #[test]
    fn a_complete_line_ends_the_command_however_it_is_indented() {
        // Indentation does not continue a command: bash decides.
        let body = "$ echo a\n    indented output\n";
        assert_eq!(scripts(body), ["echo a\n"]);
        assert_eq!(outputs(body), [Some("    indented output\n".to_string())]);
    }

    #[test]
    fn a_here_document_runs_to_its_delimiter() {
        let body =
            "$ cat <<EOF\nline one\n$ not a prompt inside\nEOF\nline one\n$ not a prompt inside\n";
        let found = commands(body);
        assert_eq!(
            found[0].script,
            "cat <<EOF\nline one\n$ not a prompt inside\nEOF\n"
        );
        // After the here-document the `$ ` line is a prompt again.
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].output.as_ref().map(|o| o.text.as_str()),
            Some("line one\n")
        );
    }

    #[test]
    fn cram_continuation_lines_are_part_of_the_command() {
        let body = "$ echo one \\\n> two\none two\n$ cat <<EOF\n> hi\n> EOF\nhi\n";
        assert_eq!(
            scripts(body),
            ["echo one \\\ntwo\n", "cat <<EOF\nhi\nEOF\n"]
        );
        assert_eq!(outputs(body)[1].as_deref(), Some("hi\n"));
    }

    #[test]
    fn a_prompt_inside_an_output_line_is_output() {
        let body = "$ echo 'cost: 5$ each'\ncost: 5$ each\n$ echo 'at dalibo@vm38:~$ now'\nat dalibo@vm38:~$ now\n";
        assert_eq!(commands(body).len(), 2);
        assert_eq!(outputs(body)[1].as_deref(), Some("at dalibo@vm38:~$ now\n"));
    }

    #[test]
    fn prompts_name_hosts_command_by_command() {
        let body = "postgres@pg-1:~$ hostname\npg-1\nroot@pg-2:~# hostname\npg-2\n";
        let found = commands(body);
        let targets: Vec<String> = found
            .iter()
            .map(|c| {
                c.target
                    .as_ref()
                    .map(PromptTarget::describe)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(targets, ["postgres@pg-1", "root@pg-2"]);
    }

    #[test]
    fn trailing_blank_lines_are_not_output() {
        let body = "$ echo a\na\n\n \n$ true\n\n";
        assert_eq!(outputs(body), [Some("a\n".to_string()), None]);
    }

    #[test]
    fn a_prompt_alone_on_its_line_applies_to_the_command_below_it() {
        let body = "dalibo@vm:~$\nsudo ansible-playbook -i inventory.yml setup.yml\nPLAY [all]\n\nroot@vm:~#\u{a0}ls /tmp\nx\n$\n";
        let found = commands(body);
        assert_eq!(
            found.iter().map(|c| c.script.as_str()).collect::<Vec<_>>(),
            [
                "sudo ansible-playbook -i inventory.yml setup.yml\n",
                "ls /tmp\n"
            ]
        );
        let target = found[0].target.as_ref().expect("the prompt names a place");
        assert_eq!(
            (target.user.as_deref(), target.host.as_str()),
            (Some("dalibo"), "vm")
        );
        assert_eq!(
            found[1].target.as_ref().map(|t| t.host.as_str()),
            Some("vm")
        );
        assert_eq!(
            found
                .iter()
                .map(|c| c.output.as_ref().map(|o| o.text.as_str()))
                .collect::<Vec<_>>(),
            [Some("PLAY [all]\n"), Some("x\n")],
            "the last `$`, with nothing after it, is no command"
        );
    }

    #[test]
    fn an_exit_status_line_after_a_command_s_output_is_its_expected_status() {
        let body = "$ dropdb tp\ndropdb: error: database \"tp\" is being accessed by other users\n[1]\n$ false\n[1]\n$ sleep 1 &\n[1] 4242\n$ echo done\ndone\n";
        let found = commands(body);
        assert_eq!(
            found.iter().map(|c| c.exit).collect::<Vec<_>>(),
            [Some(1), Some(1), None, None]
        );
        assert_eq!(
            found
                .iter()
                .map(|c| c.output.as_ref().map(|o| o.text.as_str()))
                .collect::<Vec<_>>(),
            [
                Some("dropdb: error: database \"tp\" is being accessed by other users\n"),
                None,
                Some("[1] 4242\n"),
                Some("done\n"),
            ]
        );
        // Not statuses: zero, out of range, words.
        for line in ["[0]", "[256]", "[x]", "[]"] {
            let found = commands(&format!("$ true\n{line}\n"));
            assert_eq!(found[0].exit, None, "{line}");
        }
    }
}
