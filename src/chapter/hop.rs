//! Where a course's terminal moves: `sudo -iu postgres`, `sudo su - postgres` or `su - postgres`
//! open a shell as another user, `exit` (or `logout`) leaves it, and `sudo -iu postgres psql`
//! opens psql as that user. A transcript shows these moves as commands; runbook follows them
//! instead of running them (a login shell fed no input would end at once, and the commands
//! after it would run as the wrong user).

use super::psql;

/// A command that opens an interactive shell as `user` (root when it names none):
/// `sudo -i`, `sudo -iu U`, `sudo -u U -i`, `sudo -s`, `sudo su - U`, `su - U`, `su -l U`,
/// `sudo -u U bash`, `sudo -u U -s`.
pub(crate) fn shell_hop(command: &str) -> Option<String> {
    let words = psql::simple_words(command)?;
    let (user, rest) = switched(&words)?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match rest.as_slice() {
        [] | ["bash" | "sh" | "-bash" | "/bin/bash" | "/bin/sh"] => {
            Some(user.unwrap_or_else(|| "root".to_string()))
        }
        _ => None,
    }
}

/// A command that leaves the shell a hop opened.
pub(crate) fn is_exit(command: &str) -> bool {
    matches!(
        command.trim(),
        "exit" | "logout" | "exit 0" | "^D" | "Ctrl-D" | "CTRL-D"
    )
}

/// A `psql` command line that opens an interactive session: its user when it goes through
/// `sudo`/`su` (`sudo -iu postgres psql`), and psql's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PsqlOpener {
    pub(crate) user: Option<String>,
    pub(crate) args: Vec<String>,
}

/// The psql session `command` opens, if it is one (see [`psql::session_opener`]).
pub(crate) fn psql_opener(command: &str) -> Option<PsqlOpener> {
    if let Some(args) = psql::session_opener(command) {
        return Some(PsqlOpener { user: None, args });
    }
    let words = psql::simple_words(command)?;
    let (user, rest) = switched(&words)?;
    let line = rest
        .iter()
        .map(|word| crate::session::protocol::shell_quote(word))
        .collect::<Vec<_>>()
        .join(" ");
    let args = psql::session_opener(&line)?;
    Some(PsqlOpener {
        user: Some(user.unwrap_or_else(|| "root".to_string())),
        args,
    })
}

/// A command that starts with `sudo` or `su` and its user switch: the user it switches to
/// (`None`: root) and the command it runs there (empty: a shell).
fn switched(words: &[String]) -> Option<(Option<String>, Vec<String>)> {
    let (first, rest) = words.split_first()?;
    match first.as_str() {
        "sudo" => {
            let mut user = None;
            let mut index = 0;
            while let Some(word) = rest.get(index) {
                if let Some(name) = word.strip_prefix("--user=") {
                    user = Some(name.to_string());
                } else if word == "--user" {
                    index += 1;
                    user = Some(rest.get(index)?.clone());
                } else if word == "--login" || word == "--shell" || word == "--" {
                } else if let Some(flags) = word.strip_prefix('-') {
                    if flags.is_empty() || !flags.chars().all(|c| "iuHnEsl".contains(c)) {
                        return None;
                    }
                    if let Some(at) = flags.find('u') {
                        let attached = &flags[at + 1..];
                        if attached.is_empty() {
                            index += 1;
                            user = Some(rest.get(index)?.clone());
                        } else if attached.chars().all(|c| "iHnEsl".contains(c)) {
                            // `-ui U`: the flags after `u` are flags, the name comes next.
                            index += 1;
                            user = Some(rest.get(index)?.clone());
                        } else {
                            user = Some(attached.to_string());
                        }
                    }
                } else {
                    break;
                }
                index += 1;
            }
            let command = rest[index.min(rest.len())..].to_vec();
            // `sudo su - postgres`: su's own switch, run as root.
            if command.first().is_some_and(|word| word == "su") {
                return switched(&command);
            }
            Some((user, command))
        }
        "su" => {
            let mut user = None;
            let mut command = Vec::new();
            let mut index = 0;
            while let Some(word) = rest.get(index) {
                match word.as_str() {
                    "-" | "-l" | "--login" => {}
                    "-c" | "--command" => {
                        index += 1;
                        command = psql::shell_words(rest.get(index)?)?;
                    }
                    option if option.starts_with('-') => return None,
                    name if user.is_none() => user = Some(name.to_string()),
                    _ => return None,
                }
                index += 1;
            }
            Some((user, command))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_into_a_shell_as_another_user_are_recognised() {
        for (command, user) in [
            ("sudo -iu postgres", "postgres"),
            ("sudo -i -u postgres", "postgres"),
            ("sudo -u postgres -i", "postgres"),
            ("sudo su - postgres", "postgres"),
            ("su - postgres", "postgres"),
            ("sudo -i", "root"),
            ("sudo -u postgres bash", "postgres"),
            ("sudo --user=etcd -s", "etcd"),
        ] {
            assert_eq!(shell_hop(command), Some(user.to_string()), "{command}");
        }
        for command in [
            "sudo -iu postgres pg_lsclusters",
            "sudo systemctl restart patroni",
            "su - postgres -c 'psql -c \"SELECT 1\"'",
            "sudo -iu postgres psql",
            "echo sudo -i",
        ] {
            assert_eq!(shell_hop(command), None, "{command}");
        }
        assert!(is_exit("exit"));
        assert!(!is_exit("exit 3"));
    }

    #[test]
    fn psql_opened_through_sudo_or_su_runs_as_that_user() {
        let opener = |user: Option<&str>, args: &[&str]| {
            Some(PsqlOpener {
                user: user.map(str::to_string),
                args: args.iter().map(|arg| (*arg).to_string()).collect(),
            })
        };
        assert_eq!(psql_opener("psql -p 5433"), opener(None, &["-p", "5433"]));
        assert_eq!(
            psql_opener("sudo -iu postgres psql"),
            opener(Some("postgres"), &[])
        );
        assert_eq!(
            psql_opener("sudo -u postgres psql tp1"),
            opener(Some("postgres"), &["tp1"])
        );
        assert_eq!(
            psql_opener("su - postgres -c 'psql -d tp1'"),
            opener(Some("postgres"), &["-d", "tp1"])
        );
        assert_eq!(psql_opener("sudo -iu postgres psql -c 'SELECT 1'"), None);
    }
}
