//! psql as courses print it: the prompts a psql session shows (`postgres=# `, `tp1=> `,
//! continuations `postgres-# `, `postgres(# `, `postgres=*# ` inside a transaction, custom ones
//! such as `[local]:5433 postgres@postgres=# `), where a statement typed at them ends (psql
//! sends a statement once its `;` is outside quotes, comments and parentheses, and runs a
//! backslash command at the end of its line), and the `psql` command line that opens a session
//! in a shell transcript.

use std::sync::LazyLock;

use regex::Regex;

/// The languages of fences that hold SQL (or a psql session), in any case.
pub(crate) const SQL_LANGUAGES: &[&str] = &["sql", "psql", "pgsql", "postgresql"];

/// Whether a fence's language is one of [`SQL_LANGUAGES`].
pub(crate) fn is_sql_language(language: &str) -> bool {
    SQL_LANGUAGES
        .iter()
        .any(|sql| sql.eq_ignore_ascii_case(language))
}

/// psql's default prompts are `%/%R%x%# `: the database, a state character (`=` ready, `-` a
/// statement goes on, `(` `'` `"` `$` inside parentheses or quotes, `^` single-line mode, `!`
/// disconnected), the transaction state (`*` in a transaction, `!` in a failed one, `?`
/// unknown) and `#` for a superuser or `>` for anyone else. A custom prompt may put
/// `[host]:port ` and `user@` before the database. A database is required except for the
/// bare `=# `, so that an `EXPLAIN` plan's `->  Seq Scan` stays output.
static PSQL_PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:\[[^\]\s]*\](?::\d+)?[\p{Zs}\t]+)?",
        r"(?:(?P<user>[A-Za-z_][A-Za-z0-9_.-]*)@)?",
        r"(?:(?P<db>[A-Za-z_][A-Za-z0-9_$.-]*)(?P<state>[=\-('$^!])|(?P<bare>=))",
        r#"(?P<tx>[*!?]?)[#>](?:[\p{Zs}\t]|\r?\n?\z)"#
    ))
    .expect("psql prompt regex is valid")
});

/// A psql prompt at the start of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PsqlPrompt {
    /// Bytes of blanks before it.
    pub(crate) indent: usize,
    /// Byte where the typed text starts (after the prompt and its one space).
    pub(crate) text_start: usize,
    /// The database it names (`None` for the bare `=# `).
    pub(crate) database: Option<String>,
    /// A continuation prompt (`-#`, `(#`, `'#`...): the statement of the line before goes on.
    pub(crate) continues: bool,
}

/// The psql prompt `line` starts with, after any blanks.
pub(crate) fn find(line: &str) -> Option<PsqlPrompt> {
    let rest = line.trim_start_matches(super::prompt::is_blank);
    let indent = line.len() - rest.len();
    let captures = PSQL_PROMPT.captures(rest)?;
    let whole = captures
        .get(0)
        .map_or(0, |m| m.as_str().trim_end_matches(['\n', '\r']).len());
    let state = captures.name("state").map_or("=", |m| m.as_str());
    Some(PsqlPrompt {
        indent,
        text_start: indent + whole,
        database: captures.name("db").map(|m| m.as_str().to_string()),
        continues: !matches!(state, "=" | "^" | "!"),
    })
}

/// Whether psql would send `sql` (one or more lines typed at its prompts) at the end of its
/// last line: the last statement ends with `;` outside quotes, dollar quotes, comments and
/// parentheses, or the last line is a backslash command (`\d t`, `\c db`, `\gx`), or nothing
/// but blanks and comments is pending. psql's own lexer decides this in the end; this reading
/// follows its rules for the text courses print.
pub(crate) fn is_complete(sql: &str) -> bool {
    pending_statement(sql).is_none()
}

/// The start (byte) of the statement psql would still be waiting to complete after `sql`,
/// `None` when nothing is pending.
pub(crate) fn pending_statement(sql: &str) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut index = 0;
    let mut depth: i32 = 0;
    // Where the pending statement starts: the first byte that is not blank or a comment
    // after the last `;` (or the start).
    let mut pending: Option<usize> = None;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'-' if bytes.get(index + 1) == Some(&b'-') => {
                index = line_end(bytes, index);
                continue;
            }
            b'/' if bytes.get(index + 1) == Some(&b'*') => {
                index = block_comment_end(bytes, index);
                continue;
            }
            b'\\' => {
                // A backslash command takes the rest of its line and ends what precedes it
                // (`\g`, `\gx`, `\gset` send the statement; `\d` alone is a command).
                index = line_end(bytes, index);
                pending = None;
                depth = 0;
                continue;
            }
            b'\'' | b'"' => {
                pending.get_or_insert(index);
                match quoted_end(bytes, index, byte) {
                    Some(end) => index = end,
                    None => return pending,
                }
                continue;
            }
            b'$' => {
                if let Some(tag_end) = dollar_tag(bytes, index) {
                    pending.get_or_insert(index);
                    let tag = &bytes[index..tag_end];
                    match find_from(bytes, tag_end, tag) {
                        Some(close) => index = close + tag.len(),
                        None => return pending,
                    }
                    continue;
                }
                pending.get_or_insert(index);
            }
            b'(' => {
                pending.get_or_insert(index);
                depth += 1;
            }
            b')' => {
                pending.get_or_insert(index);
                depth -= 1;
            }
            b';' if depth <= 0 => {
                pending = None;
                depth = 0;
            }
            _ if byte.is_ascii_whitespace() => {}
            _ => {
                pending.get_or_insert(index);
            }
        }
        index += 1;
    }
    pending
}

/// A SQL fence that shows its statements, an empty line, then what psql printed (a course's
/// way of putting a query and its result in one fence): the statements, and the byte where
/// the result starts. Only when the text after the first empty line that follows complete
/// statements reads as psql's output (a table's rule, a `(N rows)` footer, an expanded
/// record, an `ERROR:`) and holds no statement of its own; otherwise `None`, and the fence is
/// all SQL.
pub(crate) fn split_printed(body: &str) -> Option<(&str, usize)> {
    if is_complete(body) {
        return None;
    }
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let end = offset + line.len();
        if line.trim().is_empty() && offset > 0 && is_complete(&body[..offset]) {
            let rest = &body[end..];
            let rest_start = end + (rest.len() - rest.trim_start_matches(['\n', '\r']).len());
            let result = &body[rest_start..];
            let looks_printed = result.lines().any(|line| {
                let line = line.trim();
                (line.starts_with("--") && line.contains('+') && !line.contains(' '))
                    || line.chars().all(|c| c == '-') && line.len() > 2
                    || line.starts_with("-[ RECORD ")
                    || line.starts_with("ERROR:")
                    || (line.starts_with('(')
                        && line.ends_with(')')
                        && line[1..].starts_with(|c: char| c.is_ascii_digit()))
            });
            let holds_statement = result.lines().any(|line| {
                let line = line.trim_end();
                line.ends_with(';') || line.trim_start().starts_with('\\') || line.contains(" \\g")
            });
            if body[..offset].trim().is_empty() || !looks_printed || holds_statement {
                return None;
            }
            return Some((&body[..offset], rest_start));
        }
        offset = end;
    }
    None
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |at| from + at + 1)
}

fn block_comment_end(bytes: &[u8], from: usize) -> usize {
    // PostgreSQL's block comments nest.
    let mut depth = 0;
    let mut index = from;
    while index + 1 < bytes.len() {
        match (bytes[index], bytes[index + 1]) {
            (b'/', b'*') => {
                depth += 1;
                index += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                index += 2;
                if depth == 0 {
                    return index;
                }
            }
            _ => index += 1,
        }
    }
    bytes.len()
}

/// The byte after the quote that closes the one at `from` (`''` inside is a quote).
fn quoted_end(bytes: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut index = from + 1;
    // E'...' strings take backslash escapes.
    let escapes = quote == b'\'' && from > 0 && bytes[from - 1].eq_ignore_ascii_case(&b'e');
    while index < bytes.len() {
        let byte = bytes[index];
        if escapes && byte == b'\\' {
            index += 2;
            continue;
        }
        if byte == quote {
            if bytes.get(index + 1) == Some(&quote) {
                index += 2;
                continue;
            }
            return Some(index + 1);
        }
        index += 1;
    }
    None
}

/// The end of a dollar-quote tag (`$$`, `$body$`) starting at `from`, if it is one (`$1` is
/// a parameter).
fn dollar_tag(bytes: &[u8], from: usize) -> Option<usize> {
    if from > 0 && (bytes[from - 1].is_ascii_alphanumeric() || bytes[from - 1] == b'_') {
        return None;
    }
    let mut index = from + 1;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'$' {
            return Some(index + 1);
        }
        let allowed = byte.is_ascii_alphabetic()
            || byte == b'_'
            || (index > from + 1 && byte.is_ascii_digit());
        if !allowed {
            return None;
        }
        index += 1;
    }
    None
}

fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at)
}

/// The arguments of a `psql` command line that opens an interactive session (`psql`,
/// `psql tp1`, `psql -p 5433 -U alice`), `None` for one that runs something and returns
/// (`-c`, `-f`, `-l`, a redirection, a pipe) or is not a plain `psql` call.
pub(crate) fn session_opener(command: &str) -> Option<Vec<String>> {
    let words = simple_words(command)?;
    let (first, args) = words.split_first()?;
    if first != "psql" && !first.ends_with("/psql") {
        return None;
    }
    const RUNS_AND_RETURNS: &[&str] = &[
        "-c",
        "--command",
        "-f",
        "--file",
        "-l",
        "--list",
        "-V",
        "--version",
        "-?",
        "--help",
    ];
    let returns = args.iter().any(|arg| {
        RUNS_AND_RETURNS.contains(&arg.as_str())
            || arg.starts_with("--command=")
            || arg.starts_with("--file=")
            || bundle_runs_and_returns(arg)
    });
    (!returns).then(|| args.to_vec())
}

/// Whether a bundle of psql's short options (`-Atc`, `-cSELECT`, `-lq`) holds one that runs
/// and returns (`-c`, `-f`, `-l`, `-V`, `-?`). Letters are read as getopt reads them: one that
/// takes a value (`-d`, `-p`...) ends the bundle, the rest being its value (`-dlab` is
/// database `lab`).
fn bundle_runs_and_returns(arg: &str) -> bool {
    const TAKES_A_VALUE: &str = "dhLoprUvPFRT";
    let Some(letters) = arg.strip_prefix('-').filter(|rest| !rest.starts_with('-')) else {
        return false;
    };
    for letter in letters.chars() {
        if "cflV?".contains(letter) {
            return true;
        }
        if TAKES_A_VALUE.contains(letter) {
            return false;
        }
    }
    false
}

/// The words of a command with no shell syntax but quotes (no pipe, redirection, list,
/// substitution or second line): `None` for any other.
pub(crate) fn simple_words(command: &str) -> Option<Vec<String>> {
    let command = command.trim();
    if command.contains(['|', '<', '>', ';', '&', '`', '$', '\n']) {
        return None;
    }
    shell_words(command)
}

/// Words of a simple command line: blanks split, single and double quotes group.
pub(crate) fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(character) = chars.next() {
        match character {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => current.push(other),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => current.push(chars.next()?),
                        other => current.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                current.push(chars.next()?);
            }
            _ if character.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            _ => {
                in_word = true;
                current.push(character);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Some(words)
}

/// The database a `psql` argument list connects to: `-d NAME`, `--dbname=NAME`, or the first
/// argument that is not an option (psql's `DBNAME`).
pub(crate) fn database_of(args: &[String]) -> Option<String> {
    const TAKES_VALUE: &[&str] = &[
        "-h",
        "--host",
        "-p",
        "--port",
        "-U",
        "--username",
        "-v",
        "--set",
        "--variable",
        "-P",
        "--pset",
        "-F",
        "-R",
        "-o",
        "-L",
        "-T",
    ];
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "-d" || word == "--dbname" {
            return words.next().cloned();
        }
        if let Some(name) = word.strip_prefix("--dbname=") {
            return Some(name.to_string());
        }
        if let Some(name) = word.strip_prefix("-d").filter(|name| !name.is_empty()) {
            return Some(name.to_string());
        }
        if TAKES_VALUE.contains(&word.as_str()) {
            words.next();
            continue;
        }
        if !word.starts_with('-') {
            return Some(word.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(line: &str) -> Option<(Option<String>, bool, String)> {
        find(line).map(|found| {
            (
                found.database,
                found.continues,
                line[found.text_start..].trim_start().to_string(),
            )
        })
    }

    #[test]
    fn every_prompt_form_a_course_prints_is_read() {
        let db = |name: &str| Some(name.to_string());
        assert_eq!(
            prompt("postgres=# \\du"),
            Some((db("postgres"), false, "\\du".into()))
        );
        assert_eq!(
            prompt("tp1_template=> SELECT 1;"),
            Some((db("tp1_template"), false, "SELECT 1;".into()))
        );
        assert_eq!(
            prompt("=# SELECT 1;"),
            Some((None, false, "SELECT 1;".into()))
        );
        assert_eq!(
            prompt("postgres-# FROM t;"),
            Some((db("postgres"), true, "FROM t;".into()))
        );
        assert_eq!(
            prompt("postgres(# id int"),
            Some((db("postgres"), true, "id int".into()))
        );
        assert_eq!(
            prompt("postgres'# text'"),
            Some((db("postgres"), true, "text'".into()))
        );
        assert_eq!(
            prompt("postgres=*# COMMIT;"),
            Some((db("postgres"), false, "COMMIT;".into()))
        );
        assert_eq!(
            prompt("postgres=!# ROLLBACK;"),
            Some((db("postgres"), false, "ROLLBACK;".into()))
        );
        assert_eq!(
            prompt("postgres-*# x;"),
            Some((db("postgres"), true, "x;".into()))
        );
        assert_eq!(
            prompt("[local]:5433 postgres@postgres=# SHOW port;"),
            Some((db("postgres"), false, "SHOW port;".into()))
        );
        assert_eq!(
            prompt("  postgres=#\u{a0}SELECT 2;"),
            Some((db("postgres"), false, "SELECT 2;".into()))
        );
        assert_eq!(
            prompt("postgres=#\n"),
            Some((db("postgres"), false, String::new()))
        );
    }

    #[test]
    fn output_lines_are_not_prompts() {
        for line in [
            "   ->  Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4)",
            "->  Index Scan",
            " a=1",
            "x => y",
            "# a comment",
            "$ ls",
            "root@pg1:~# ls",
            "(1 row)",
            "Type \"help\" for help.",
        ] {
            assert_eq!(find(line), None, "{line:?}");
        }
    }

    #[test]
    fn a_statement_ends_at_its_semicolon_outside_quotes_and_parentheses() {
        assert!(is_complete("SELECT 1;\n"));
        assert!(is_complete("SELECT 1; -- done\n"));
        assert!(is_complete("\\d t\n"));
        assert!(is_complete("SELECT 1 \\gx\n"));
        assert!(is_complete("-- only a comment\n"));
        assert!(is_complete(
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
        ));
        assert!(is_complete("SELECT 'a;b', \"c;d\", E'it\\'s';\n"));
        assert!(!is_complete("SELECT 1\n"));
        assert!(!is_complete("CREATE TABLE t (\n  id int;\n"));
        assert!(!is_complete("SELECT 'open;\n"));
        assert!(!is_complete("DO $body$ BEGIN PERFORM 1; END\n"));
        assert!(!is_complete("SELECT 1; SELECT 2\n"));
        assert!(is_complete("/* a /* nested */ comment */ SELECT $1;\n"));
    }

    #[test]
    fn a_result_printed_after_the_statements_in_the_same_fence_is_their_output() {
        let body =
            "SELECT string_to_table('a b', ' ');\n\nstring_to_table\n-----------------\n a\n b\n";
        let (sql, at) = split_printed(body).expect("split");
        assert_eq!(sql, "SELECT string_to_table('a b', ' ');\n");
        assert_eq!(&body[at..], "string_to_table\n-----------------\n a\n b\n");
        // Statements alone, or text after them that is no output, stay SQL.
        assert_eq!(split_printed("SELECT 1;\n\nSELECT 2;\n"), None);
        assert_eq!(split_printed("SELECT 1;\n\nsome words\n"), None);
        assert_eq!(
            split_printed("SELECT 1;\n\n a\n---\n 1\nSELECT 2 \\gx\n-[ RECORD 1 ]\n"),
            None
        );
    }

    #[test]
    fn a_psql_command_line_opens_a_session_unless_it_runs_and_returns() {
        assert_eq!(session_opener("psql"), Some(vec![]));
        assert_eq!(
            session_opener("psql -p 5433 tp1"),
            Some(vec!["-p".into(), "5433".into(), "tp1".into()])
        );
        assert_eq!(session_opener("psql -c 'SELECT 1'"), None);
        assert_eq!(session_opener("psql -f x.sql"), None);
        assert_eq!(session_opener("psql -l"), None);
        // Bundled, as `psql -Atc "SELECT ..."` is written in scripts.
        assert_eq!(session_opener("psql -Atc 'SELECT 1'"), None);
        assert_eq!(session_opener("psql -qAtf x.sql"), None);
        assert_eq!(
            session_opener("psql -dlab -At"),
            Some(vec!["-dlab".to_string(), "-At".to_string()])
        );
        assert_eq!(session_opener("psql < x.sql"), None);
        assert_eq!(session_opener("sudo -iu postgres psql"), None);
        assert_eq!(session_opener("psqlx"), None);
    }

    #[test]
    fn the_database_of_a_psql_command_line() {
        let args = |line: &str| session_opener(line).expect("opens");
        assert_eq!(database_of(&args("psql tp1")), Some("tp1".into()));
        assert_eq!(
            database_of(&args("psql -p 5433 -d tp1")),
            Some("tp1".into())
        );
        assert_eq!(database_of(&args("psql --dbname=b")), Some("b".into()));
        assert_eq!(database_of(&args("psql -U alice -h /tmp")), None);
    }
}
