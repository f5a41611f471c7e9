//! A fence that holds a transcript: commands after prompts, each followed by what it printed
//! (as a course shows a terminal). Each command becomes its own step with that output as its
//! expected output. Where a command ends is decided the way bash decides it: a line is
//! continued when it starts with cram's `> ` (bash's PS2), or when `bash -n` says the command
//! so far is not complete yet (an open `for`/`if`/`case`, `{`, `(`, quote, here-document, or a
//! trailing `|`, `&&`, `||`), or after a trailing `\`.

use super::prompt::{self, PromptTarget, dedent};
use super::{hop, psql};

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
    /// SQL typed at a psql prompt (`postgres=# \du`), not a shell command.
    pub(crate) psql: Option<TypedIntoPsql>,
    /// The user the transcript's terminal had become when the command was typed, by a hop
    /// it shows (`sudo -iu postgres`, then commands, then `exit`; or `sudo -iu postgres psql`
    /// for SQL), when its prompt does not name one.
    pub(crate) user: Option<String>,
}

/// Where a transcript's SQL was typed: the psql session its prompts show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedIntoPsql {
    /// The database its prompt names (`tp1=#`).
    pub(crate) prompt_database: Option<String>,
    /// The arguments of the `psql` command line that opened the session in this transcript
    /// (`psql -p 5433 tp1`), if the transcript shows it.
    pub(crate) opener: Option<Vec<String>>,
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
    // Comments before the first prompt: a shell's `#`, SQL's `--`.
    let first = lines.iter().position(|line| {
        let line = line.trim_start();
        !line.is_empty() && !line.starts_with('#') && !is_sql_comment(line)
    });
    let Some(first) = first else { return Ok(None) };
    if starting_prompt(lines[first]).is_none() {
        return Ok(None);
    }
    let has_psql = lines[first..]
        .iter()
        .any(|line| matches!(starting_prompt(line), Some(Started::Psql(_))));
    // Before reading it whole, a cheap look: a transcript has a line that is no prompt (SQL
    // typed at psql prompts is read whole even without output: it never runs in bash).
    if !has_psql
        && lines[first..]
            .iter()
            .all(|line| prompt::find(line).is_some() || line.trim().is_empty())
    {
        return Ok(None);
    }
    let mut commands: Vec<TranscriptCommand> = Vec::new();
    // The shell prompt the transcript last showed: SQL typed into a psql opened there runs
    // on that host, as that user.
    let mut shell_target: Option<PromptTarget> = None;
    // The `psql` line that opened the session the SQL lines are typed into.
    let mut opener: Option<hop::PsqlOpener> = None;
    // The users the terminal became by hops (`sudo -iu postgres`), innermost last.
    let mut hops: Vec<String> = Vec::new();
    let mut index = first;
    while index < lines.len() {
        let Some(started) = starting_prompt(lines[index]) else {
            // Only reached for the lines before the first prompt (blank or comments).
            index += 1;
            continue;
        };
        let line_offset = index;
        let (script, mut target, psql, indent) = match started {
            Started::Shell(found) => {
                let target = found.host.clone().map(|host| PromptTarget {
                    user: found.user.clone(),
                    host,
                    line_offset,
                });
                shell_target.clone_from(&target);
                opener = None;
                let Some(script) = shell_command(&lines, &mut index, &found)? else {
                    continue;
                };
                (script, target, None, found.indent)
            }
            Started::Psql(found) => {
                let script = sql_statement(&lines, &mut index, &found);
                let typed = TypedIntoPsql {
                    prompt_database: found.database.clone(),
                    opener: opener.as_ref().map(|opener| opener.args.clone()),
                };
                let target = shell_target.clone().map(|target| PromptTarget {
                    line_offset,
                    ..target
                });
                (script, target, Some(typed), found.indent)
            }
        };
        let mut output_start = index;
        // psql prints no empty line before a result; one in a course is layout.
        if psql.is_some() {
            while output_start < lines.len() && lines[output_start].trim().is_empty() {
                output_start += 1;
            }
            index = output_start;
        }
        let mut printed = String::new();
        while index < lines.len() && starting_prompt(lines[index]).is_none() {
            printed.push_str(&with_line_break(dedent(lines[index], indent)));
            index += 1;
        }
        // A `psql` command line right before a psql prompt opened the session those prompts
        // belong to: what it printed is psql's greeting, which a session fed by runbook never
        // prints, and the SQL below runs in a psql runbook opens with its arguments.
        if psql.is_none() {
            let psql_next = matches!(
                lines.get(index).and_then(|line| starting_prompt(line)),
                Some(Started::Psql(_))
            );
            if psql_next && let Some(opened) = hop::psql_opener(&script) {
                opener = Some(opened);
                continue;
            }
            // A hop into another user's shell, or out of it: followed, not run.
            if let Some(user) = hop::shell_hop(&script) {
                hops.push(user);
                continue;
            }
            if hop::is_exit(&script) && hops.pop().is_some() {
                continue;
            }
        }
        let user = match &psql {
            Some(_) => opener
                .as_ref()
                .and_then(|opener| opener.user.clone())
                .or_else(|| hops.last().cloned()),
            None => hops.last().cloned(),
        };
        // SQL typed after a hop runs as the hop's user, not as the shell prompt before it.
        if psql.is_some()
            && user.is_some()
            && let Some(target) = target.as_mut()
        {
            target.user.clone_from(&user);
        }
        // Blank lines before the next prompt separate; they are not output.
        let kept = printed.trim_end().len();
        printed.truncate(kept);
        // psql never prints SQL comments: `-- ...` lines at the end of what a SQL command
        // printed are the author's words about the next one.
        if psql.is_some() {
            loop {
                let start = printed.rfind('\n').map_or(0, |at| at + 1);
                if printed.is_empty() || !is_sql_comment(printed[start..].trim_start()) {
                    break;
                }
                printed.truncate(start);
                let kept = printed.trim_end().len();
                printed.truncate(kept);
            }
        }
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
            psql,
            user,
        });
    }
    if commands
        .iter()
        .all(|command| command.output.is_none() && command.exit.is_none() && command.psql.is_none())
    {
        return Ok(None);
    }
    Ok(Some(commands))
}

/// A SQL comment line (`-- ...`, or `--` alone), not a table's `----+----` rule.
fn is_sql_comment(line: &str) -> bool {
    line.strip_prefix("--")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// A prompt that starts a command: a shell prompt, or a psql prompt that is not a
/// continuation (a continuation line outside a statement is output).
enum Started {
    Shell(prompt::Prompt),
    Psql(psql::PsqlPrompt),
}

fn starting_prompt(line: &str) -> Option<Started> {
    if let Some(found) = prompt::find(line) {
        return Some(Started::Shell(found));
    }
    psql::find(line)
        .filter(|found| !found.continues)
        .map(Started::Psql)
}

/// The shell command whose prompt is on line `*index`, its continuation lines included;
/// `*index` is left on the line after it. `None` for a prompt alone with no command after it
/// (the terminal waiting).
fn shell_command(
    lines: &[&str],
    index: &mut usize,
    found: &prompt::Prompt,
) -> Result<Option<String>, NoBash> {
    let mut script =
        with_line_break(&lines[*index][found.command_start.min(lines[*index].len())..]);
    *index += 1;
    // A prompt alone on its line (`dalibo@vm:~$`, then the command below it): the command is
    // the next line. With no command there (another prompt, a blank line, the end), the
    // prompt is only the terminal waiting: no step.
    if script.trim().is_empty() {
        match lines.get(*index) {
            Some(next) if !next.trim().is_empty() && starting_prompt(next).is_none() => {
                script = with_line_break(dedent(next, found.indent));
                *index += 1;
            }
            _ => return Ok(None),
        }
    }
    // What bash last said was still open, and the command's last two lines: bash is asked
    // again only once a line may have closed it (see `may_close`), so that a command left open
    // for thousands of lines costs a few checks, not one check of its whole text per line
    // (which made planning quadratic).
    let mut open: Option<Open> = None;
    let mut last = script.clone();
    let mut before_last = String::new();
    while *index < lines.len() {
        let next = lines[*index];
        let appended = if let Some(after) = continuation_marker(next) {
            open = None;
            with_line_break(after)
        } else {
            let still_open = match &open {
                Some(known) if !may_close(&last, &before_last, known) => true,
                _ => {
                    open = open_part(&script)?;
                    open.is_some()
                }
            };
            if !still_open {
                break;
            }
            with_line_break(dedent(next, found.indent))
        };
        script.push_str(&appended);
        before_last = std::mem::replace(&mut last, appended);
        *index += 1;
    }
    Ok(Some(script))
}

/// The SQL typed at the psql prompt on line `*index`: its line, then the lines psql would
/// still read before sending it (continuation prompts such as `postgres-# ` removed, or
/// lines printed without one), up to where the statement is complete; `*index` is left on
/// the line after it. A prompt alone on its line takes the next line, as a shell prompt does.
fn sql_statement(lines: &[&str], index: &mut usize, found: &psql::PsqlPrompt) -> String {
    let mut script = with_line_break(&lines[*index][found.text_start.min(lines[*index].len())..]);
    *index += 1;
    while *index < lines.len() {
        let next = lines[*index];
        let continued = psql::find(next).filter(|prompt| prompt.continues);
        let typed = match &continued {
            Some(prompt) => &next[prompt.text_start.min(next.len())..],
            None if script.trim().is_empty() || !psql::is_complete(&script) => {
                if starting_prompt(next).is_some() {
                    break;
                }
                dedent(next, found.indent)
            }
            None => break,
        };
        script.push_str(&with_line_break(typed.trim_start_matches(prompt::is_blank)));
        *index += 1;
    }
    script
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

/// What `script` leaves open, as bash says it: `None` when bash would not ask for another
/// line (print PS2) after it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Open {
    /// The delimiters of the here-documents bash is still reading.
    wanted: Vec<String>,
}

/// Whether bash would ask for another line after `script`, and what it is still reading.
fn open_part(script: &str) -> Result<Option<Open>, NoBash> {
    let last = script.trim_end_matches('\n');
    let trailing_backslashes = last.chars().rev().take_while(|&c| c == '\\').count();
    if trailing_backslashes % 2 == 1 {
        return Ok(Some(Open { wanted: Vec::new() }));
    }
    let messages = parse_messages(script)?;
    let open = messages.contains("unexpected end of file")
        || messages.contains("unexpected EOF")
        || messages.contains("delimited by end-of-file");
    // "here-document at line 2 delimited by end-of-file (wanted `EOF')"
    let wanted = messages
        .split("(wanted `")
        .skip(1)
        .filter_map(|rest| rest.split_once("')").map(|(word, _)| word.to_string()))
        .collect();
    Ok(open.then_some(Open { wanted }))
}

/// Whether `last`, the line just added to a command bash said was left open (`known`), may
/// have closed it; `before` is the line before it. Only a line holding something that ends a
/// construct can: a closing word or bracket (`done`, `fi`, `esac`, `}`, `)`, `]]`), a quote,
/// a here-document's delimiter, or any line after one that ends with an operator or a
/// backslash (`a |`, `&&`, `||`) or holds a comment (which may hide one). A line holding none
/// of these leaves the command open, without asking bash.
fn may_close(last: &str, before: &str, known: &Open) -> bool {
    const CLOSERS: [&str; 9] = ["done", "fi", "esac", "}", ")", "]", "'", "\"", "`"];
    let before = before.trim_end();
    let delimiter = last.trim_start_matches('\t').trim_end_matches(['\n', '\r']);
    CLOSERS.iter().any(|closer| last.contains(closer))
        || before.ends_with(['|', '&', '\\', '(', '!'])
        || before.contains('#')
        || known.wanted.iter().any(|wanted| wanted == delimiter)
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
/// user's locale. The script goes on stdin: as an argument (`-c`), one of more than 128 KiB
/// was refused by the kernel.
fn parse_messages(script: &str) -> Result<String, NoBash> {
    use std::io::Write;
    let no_bash = |error: std::io::Error| NoBash(error.to_string());
    let mut checking = crate::sys::std_command("bash")
        .arg("--norc")
        .arg("-n")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(no_bash)?;
    if let Some(mut stdin) = checking.stdin.take() {
        // bash answers in a line or two, after reading all of it, or less: at a syntax error
        // it stops reading, and the rest of the write fails (EPIPE), which is no error here.
        let _ = stdin.write_all(script.as_bytes());
    }
    let checked = checking.wait_with_output().map_err(no_bash)?;
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

    /// Issue 24: a `for` left open for 5,000 lines took `runbook list` 19 to 29 s, one
    /// `bash -n` of the whole command so far per line. Lines that cannot close it are not
    /// asked about; the result is the same.
    #[test]
    fn a_command_open_for_thousands_of_lines_asks_bash_a_few_times() {
        let mut body = String::from("$ for i in 1 2; do\n");
        for line in 0..5000 {
            body.push_str(&format!("  echo line {line} of the loop\n"));
        }
        body.push_str("done\nline 1\n$ echo after\nafter\n");
        let started = std::time::Instant::now();
        let commands = commands(&body);
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0].script.lines().count(), 5002);
        assert_eq!(
            commands[0].output.as_ref().map(|o| o.text.as_str()),
            Some("line 1\n")
        );
        assert_eq!(commands[1].script, "echo after\n");
        // Sanity only (asking per line took tens of seconds).
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    /// A syntax error early in a long command: bash stops reading it, and says so.
    #[test]
    fn a_long_command_bash_stops_reading_is_still_answered() {
        let script = format!("fi\n{}", "echo filler line\n".repeat(20_000));
        assert_eq!(open_part(&script), Ok(None));
        let open = format!("for i in 1; do\n{}", "echo filler line\n".repeat(20_000));
        assert!(matches!(open_part(&open), Ok(Some(_))));
    }

    #[test]
    fn a_line_that_may_close_is_asked_about() {
        let open = Open {
            wanted: vec!["EOF".into()],
        };
        assert!(!may_close("  echo text\n", "for i in 1; do\n", &open));
        assert!(may_close("done\n", "  echo\n", &open));
        assert!(may_close("  b\n", "  a |\n", &open));
        assert!(may_close("  b\n", "  a && # why\n", &open));
        assert!(may_close("\tEOF\n", "text\n", &open));
        assert!(may_close("it's\n", "text\n", &open));
    }

    #[test]
    fn here_documents_and_quotes_opened_inside_a_loop_still_end_it() {
        let body = "$ for i in 1; do\n  cat <<EOF\n  text } done\nEOF\n  echo \"a\n  b\"\ndone\nout\n$ echo x\nx\n";
        let commands = commands(body);
        assert_eq!(commands.len(), 2, "{commands:?}");
        assert_eq!(commands[0].script.lines().count(), 7);
        assert_eq!(
            commands[0].output.as_ref().map(|o| o.text.as_str()),
            Some("out\n")
        );
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
