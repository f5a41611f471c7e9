//! Shell prompts written in front of commands, as courses print them (`$ `,
//! `postgres@pg-1:~$ `, `root@e1:/etc# `), removed the way a reader would skip them. A
//! `user@host` prompt also says where the command runs and as whom.

use std::sync::LazyLock;

use regex::Regex;

/// `user@host:dir$ ` or `user@host:dir# ` (the dir may be empty or `~`).
static USER_HOST_PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<user>[A-Za-z_][A-Za-z0-9_.-]*)@(?P<host>[A-Za-z0-9][A-Za-z0-9_.-]*):(?P<dir>[^\s$#]*)[$#](?: |$)")
        .expect("prompt regex is valid")
});

/// Where a prompt said a command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PromptTarget {
    pub(crate) user: String,
    pub(crate) host: String,
    /// 0-based line within the block where the prompt was seen.
    pub(crate) line_offset: usize,
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

pub(crate) fn strip(script: &str) -> Result<Stripped, ConflictingPrompts> {
    let mut target: Option<PromptTarget> = None;
    let mut out = String::with_capacity(script.len());
    for (offset, line) in script.split_inclusive('\n').enumerate() {
        if let Some(rest) = line.strip_prefix("$ ") {
            out.push_str(rest);
        } else if line.trim_end() == "$" {
            out.push_str(&line[1..]);
        } else if let Some(captures) = USER_HOST_PROMPT.captures(line) {
            let found = PromptTarget {
                user: captures["user"].to_string(),
                host: captures["host"].to_string(),
                line_offset: offset,
            };
            match &target {
                Some(first) if first.user != found.user || first.host != found.host => {
                    return Err(ConflictingPrompts {
                        first: first.clone(),
                        second: found,
                    });
                }
                Some(_) => {}
                None => target = Some(found),
            }
            let whole = captures.get(0).map_or(0, |m| m.end());
            out.push_str(&line[whole..]);
        } else {
            out.push_str(line);
        }
    }
    Ok(Stripped {
        script: out,
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_prompts_are_removed() {
        let stripped = strip("$ echo one\n$ echo two\n").expect("no conflict");
        assert_eq!(stripped.script, "echo one\necho two\n");
        assert_eq!(stripped.target, None);
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
            (target.user.as_str(), target.host.as_str()),
            ("postgres", "pg-1")
        );
        let root = strip("root@e1:/var/lib# ls\n").expect("no conflict");
        assert_eq!(root.script, "ls\n");
        assert_eq!(root.target.map(|t| t.user), Some("root".to_string()));
    }

    #[test]
    fn a_bare_hash_is_a_comment() {
        let stripped = strip("# make the directory\nmkdir -p /tmp/x\n").expect("no conflict");
        assert_eq!(stripped.script, "# make the directory\nmkdir -p /tmp/x\n");
    }

    #[test]
    fn two_hosts_in_one_block_conflict() {
        let conflict = strip("postgres@pg-1:~$ a\npostgres@pg-2:~$ b\n").expect_err("conflict");
        assert_eq!(conflict.second.host, "pg-2");
        assert_eq!(conflict.second.line_offset, 1);
    }
}
