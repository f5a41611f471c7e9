//! Shell prompts written in front of commands, as courses print them (`$ `,
//! `postgres@pg-1:~$ `, `root@e1:/etc# `, `e1:~$ `, often indented by a space), removed the
//! way a reader would skip them. A `user@host` prompt also says where the command runs and as
//! whom.
//!
//! A bare `# ` is not a prompt: in a shell block it is a comment far more often than a root
//! prompt, and reading comments as commands would run them.

use std::sync::LazyLock;

use regex::Regex;

use super::transcript::{NoBash, ends_inside_text};

/// `user@host:dir$ `, `user@host:dir# `, or `host:dir$ ` (the dir may be empty or `~` when a
/// user is named; a prompt without one needs a dir, so that `Note:$ ` in an output stays
/// output). After the `$` or `#`: one space of any kind (a no-break space from a word
/// processor is a space to a reader), or the end of the line (a prompt alone on its line,
/// its command on the next).
static NAMED_PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:(?P<user>[A-Za-z_][A-Za-z0-9_.-]*)@(?P<host>[A-Za-z0-9][A-Za-z0-9_.-]*):[^\s$#]*",
        r"|(?P<bare_host>[A-Za-z][A-Za-z0-9_.-]*):[^\s$#]+)",
        r"[$#](?:[\p{Zs}\t]|\r?\n?\z)"
    ))
    .expect("prompt regex is valid")
});

/// Where a prompt said a command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PromptTarget {
    /// `None` for a `host:dir$` prompt, which names no user.
    pub(crate) user: Option<String>,
    pub(crate) host: String,
    /// 0-based line within the block where the prompt was seen.
    pub(crate) line_offset: usize,
}

impl PromptTarget {
    /// `user@host` or `host`, as the prompt wrote it.
    pub(crate) fn describe(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

/// A prompt found at the start of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prompt {
    /// Bytes of blanks before the prompt (an author's indentation of the transcript).
    pub(crate) indent: usize,
    /// Byte where the command starts (after the prompt and its one space).
    pub(crate) command_start: usize,
    /// Host (and user) the prompt names.
    pub(crate) user: Option<String>,
    pub(crate) host: Option<String>,
}

/// The prompt `line` starts with, after any whitespace.
pub(crate) fn find(line: &str) -> Option<Prompt> {
    let rest = line.trim_start_matches(is_blank);
    let indent = line.len() - rest.len();
    let content = rest.trim_end_matches(['\n', '\r']);
    if let Some(space) = content
        .strip_prefix('$')
        .and_then(|after| after.chars().next())
        .filter(|&space| is_blank(space))
    {
        return Some(Prompt {
            indent,
            command_start: indent + 1 + space.len_utf8(),
            user: None,
            host: None,
        });
    }
    if content.trim_end() == "$" {
        return Some(Prompt {
            indent,
            command_start: indent + 1,
            user: None,
            host: None,
        });
    }
    let captures = NAMED_PROMPT.captures(rest)?;
    // A prompt alone on its line: its command starts at the line's end (the line break
    // stays with the line).
    let whole = captures
        .get(0)
        .map_or(0, |m| m.as_str().trim_end_matches(['\n', '\r']).len());
    let (user, host) = match (captures.name("host"), captures.name("bare_host")) {
        (Some(host), _) => (
            captures.name("user").map(|m| m.as_str().to_string()),
            host.as_str().to_string(),
        ),
        (None, Some(host)) => (None, host.as_str().to_string()),
        (None, None) => return None,
    };
    Some(Prompt {
        indent,
        command_start: indent + whole,
        user,
        host: Some(host),
    })
}

/// Whitespace that indents a line: spaces, tabs, and the no-break spaces that word
/// processors and slide tools put in front of a pasted command.
pub(crate) fn is_blank(character: char) -> bool {
    character != '\n' && character != '\r' && character.is_whitespace()
}

/// `line` without the blanks of `indent` (a prefix of whitespace, in bytes) that it starts
/// with: the transcript's own indentation, not the command's (a here-document keeps the
/// indentation it has inside the transcript).
pub(crate) fn dedent(line: &str, indent: usize) -> &str {
    let mut end = 0;
    for (index, character) in line.char_indices() {
        if index >= indent || !is_blank(character) {
            break;
        }
        end = index + character.len_utf8();
    }
    &line[end..]
}

/// A block's script with prompts removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stripped {
    pub(crate) script: String,
    pub(crate) target: Option<PromptTarget>,
}

/// Two prompts in one block naming different places: one block runs in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConflictingPrompts {
    pub(crate) first: PromptTarget,
    pub(crate) second: PromptTarget,
}

/// Why a block's prompts could not be removed.
#[derive(Debug)]
pub(crate) enum StripError {
    Conflicting(ConflictingPrompts),
    /// bash could not be asked whether a prompt-like line is inside a here-document.
    NoBash(NoBash),
}

/// Removes the prompts of a block that is one script (no printed output between its
/// commands); the other lines stay as written. A line inside a here-document or an open
/// quote is text, whatever it looks like: bash is asked (only about a line that looks like
/// a prompt, after the first).
pub(crate) fn strip(script: &str) -> Result<Stripped, StripError> {
    let mut target: Option<PromptTarget> = None;
    let mut out = String::with_capacity(script.len());
    // Lines after an indented prompt lose that indentation too: the author indented the
    // whole block (often with no-break spaces, which bash would take for a command's name).
    let mut indent = 0;
    // Whether bash may now be inside text: it said so at its last answer, or a line since
    // could have started text (a quote or `<<`). Otherwise it is not asked again: text only
    // starts at such a line, and asking about the whole script at every prompt made a block
    // of thousands of prompts take minutes.
    let mut maybe_inside = false;
    for (offset, line) in script.split_inclusive('\n').enumerate() {
        let prompt = match find(line) {
            Some(_) if !out.trim().is_empty() && maybe_inside => {
                if ends_inside_text(&out).map_err(StripError::NoBash)? {
                    None
                } else {
                    maybe_inside = false;
                    find(line)
                }
            }
            found => found,
        };
        let Some(prompt) = prompt else {
            let kept = dedent(line, indent);
            maybe_inside = maybe_inside || may_start_text(kept);
            out.push_str(kept);
            continue;
        };
        indent = prompt.indent;
        if let Some(host) = prompt.host {
            let found = PromptTarget {
                user: prompt.user,
                host,
                line_offset: offset,
            };
            match &target {
                Some(first) if first.user != found.user || first.host != found.host => {
                    return Err(StripError::Conflicting(ConflictingPrompts {
                        first: first.clone(),
                        second: found,
                    }));
                }
                Some(_) => {}
                None => target = Some(found),
            }
        }
        let command = &line[prompt.command_start.min(line.len())..];
        maybe_inside = maybe_inside || may_start_text(command);
        out.push_str(command);
        // `$` alone on its line keeps its line break.
        if !out.ends_with('\n') && line.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(Stripped {
        script: out,
        target,
    })
}

/// Whether `text` may start text bash reads to its end (a quoted string, a here-document).
fn may_start_text(text: &str) -> bool {
    text.contains(['\'', '"', '`']) || text.contains("<<")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 24's neighbour: a block of 2,000 prompts took 37 s, `bash -n` asked about the
    /// whole script at every prompt. Only a prompt after a line that may start text asks.
    #[test]
    fn a_block_of_thousands_of_prompts_is_stripped_at_once() {
        let block: String = (0..2000).map(|n| format!("$ echo line {n}\n")).collect();
        let started = std::time::Instant::now();
        let stripped = strip(&block).expect("no conflict");
        assert_eq!(stripped.script.lines().count(), 2000);
        assert!(stripped.script.starts_with("echo line 0\necho line 1\n"));
        // Sanity only: it took tens of seconds.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        let quoted = strip("$ cat <<EOF\n$ not a prompt\nEOF\n$ echo 'a\n$ b'\n$ echo c\n")
            .expect("no conflict");
        assert_eq!(
            quoted.script,
            "cat <<EOF\n$ not a prompt\nEOF\necho 'a\n$ b'\necho c\n"
        );
    }

    #[test]
    fn dollar_prompts_are_removed() {
        let stripped = strip("$ echo one\n$ echo two\n").expect("no conflict");
        assert_eq!(stripped.script, "echo one\necho two\n");
        assert_eq!(stripped.target, None);
    }

    #[test]
    fn indented_prompts_are_prompts() {
        let stripped = strip(" $ sudo ./warmup.sh\n").expect("no conflict");
        assert_eq!(stripped.script, "sudo ./warmup.sh\n");
        assert_eq!(find("\t$ ls").map(|p| p.command_start), Some(3));
        assert_eq!(find("$\n").map(|p| p.command_start), Some(1));
    }

    #[test]
    fn no_break_spaces_indent_like_spaces() {
        let stripped =
            strip("\u{a0}$ for n in 1 2; do\n\u{a0}echo $n\n\u{a0}done\n").expect("no conflict");
        assert_eq!(stripped.script, "for n in 1 2; do\necho $n\ndone\n");
    }

    #[test]
    fn continuation_lines_stay() {
        let stripped = strip("$ for n in 1 2; do\n  echo $n\ndone\n").expect("no conflict");
        assert_eq!(stripped.script, "for n in 1 2; do\n  echo $n\ndone\n");
    }

    #[test]
    fn user_host_prompt_sets_target() {
        let stripped = strip("postgres@pg-1:~$ patronictl list\n").expect("no conflict");
        assert_eq!(stripped.script, "patronictl list\n");
        let target = stripped.target.expect("a target");
        assert_eq!(
            (target.user.as_deref(), target.host.as_str()),
            (Some("postgres"), "pg-1")
        );
        let root = strip("root@e1:/var/lib# ls\n").expect("no conflict");
        assert_eq!(root.script, "ls\n");
        assert_eq!(root.target.and_then(|t| t.user), Some("root".to_string()));
    }

    #[test]
    fn host_prompt_names_a_host_and_no_user() {
        let prompt = find(" e1:~$ sudo journalctl -xfu etcd").expect("a prompt");
        assert_eq!(prompt.host.as_deref(), Some("e1"));
        assert_eq!(prompt.user, None);
        assert_eq!(
            &" e1:~$ sudo journalctl"[prompt.command_start..],
            "sudo journalctl"
        );
        // Without a dir, `word:$ ` is text.
        assert_eq!(find("Total:$ 5"), None);
    }

    #[test]
    fn a_prompt_inside_a_line_is_not_a_prompt() {
        assert_eq!(find("PS1 was set to '$ '"), None);
        assert_eq!(find("login as dalibo@vm38:~$ now"), None);
        assert_eq!(find("$HOME is /root"), None);
    }

    #[test]
    fn a_bare_hash_is_a_comment() {
        let stripped = strip("# make the directory\nmkdir -p /tmp/x\n").expect("no conflict");
        assert_eq!(stripped.script, "# make the directory\nmkdir -p /tmp/x\n");
    }

    #[test]
    fn two_hosts_in_one_block_conflict() {
        let Err(StripError::Conflicting(conflict)) =
            strip("postgres@pg-1:~$ a\npostgres@pg-2:~$ b\n")
        else {
            panic!("two hosts conflict");
        };
        assert_eq!(conflict.second.host, "pg-2");
        assert_eq!(conflict.second.line_offset, 1);
    }

    #[test]
    fn a_here_document_or_an_open_quote_keeps_its_prompt_like_lines() {
        let here = "cat <<EOF\n$ not a prompt\nroot@box:~# ls\nEOF\n";
        let stripped = strip(here).expect("no conflict");
        assert_eq!(stripped.script, here);
        assert_eq!(stripped.target, None);
        let prompted = strip("$ cat <<'EOF'\n$ data\nEOF\n$ echo done\n").expect("no conflict");
        assert_eq!(prompted.script, "cat <<'EOF'\n$ data\nEOF\necho done\n");
        let quoted = strip("$ echo 'one\n$ two'\n").expect("no conflict");
        assert_eq!(quoted.script, "echo 'one\n$ two'\n");
        // An open loop is no text: a prompt there is still a prompt.
        let looped = strip("$ for n in 1; do\n$ echo $n\n$ done\n").expect("no conflict");
        assert_eq!(looped.script, "for n in 1; do\necho $n\ndone\n");
    }

    #[test]
    fn any_space_after_a_prompt_is_a_space_and_a_prompt_may_stand_alone() {
        for (line, command) in [
            (
                "root@vm:~#\u{a0}ansible-playbook x.yml",
                "ansible-playbook x.yml",
            ),
            ("$\u{a0}ls", "ls"),
            ("$\u{2009}ls", "ls"),
            ("postgres@pg-1:~$\tpsql", "psql"),
        ] {
            let prompt = find(line).unwrap_or_else(|| panic!("{line:?} is a prompt"));
            assert_eq!(&line[prompt.command_start..], command, "{line:?}");
        }
        for alone in [
            "dalibo@vm:~$\n",
            "dalibo@vm:~$",
            "e1:~$ \n",
            "root@vm:~#\r\n",
        ] {
            let prompt = find(alone).unwrap_or_else(|| panic!("{alone:?} is a prompt"));
            assert!(alone[prompt.command_start..].trim().is_empty(), "{alone:?}");
        }
        // A script block: the prompt alone names the place, the next line is the command.
        let stripped = strip("dalibo@vm:~$\nsudo ./warmup.sh\n").expect("no conflict");
        assert_eq!(stripped.script.trim_start(), "sudo ./warmup.sh\n");
        assert_eq!(stripped.target.map(|t| t.host), Some("vm".to_string()));
        // Not prompts: `$` glued to a word, a `#` comment.
        assert_eq!(find("$HOME\u{a0}is set"), None);
        assert_eq!(find("# comment"), None);
    }
}
