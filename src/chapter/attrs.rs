//! The info string of a fenced block: its language word and runbook's `key=value` attributes
//! (`on=`, `user=`, `id=`, `timeout=`, `retry=`, `exit=`, `norun`, `file=`...), checked here so
//! that a typo is reported with its line before anything runs.

use std::time::Duration;

use crate::diagnostic::{Diagnostic, did_you_mean};

/// Languages whose blocks are commands to run.
pub(crate) const SHELL_LANGUAGES: &[&str] = &["bash", "sh", "shell"];

/// Every attribute runbook understands, for "did you mean" hints.
pub(crate) const ATTRIBUTE_NAMES: &[&str] = &[
    "on",
    "user",
    "id",
    "timeout",
    "retry",
    "exit",
    "norun",
    "file",
    "mode",
    "owner",
    "check",
    "verbatim",
    "teardown",
    "raw",
    "keep-running",
    "pty",
    "append",
    "db",
    "rowsort",
    "as",
];

/// Attributes that only make sense with `file=`.
const FILE_ONLY: &[&str] = &["mode", "owner", "append"];

/// Attributes that take no value.
const FLAGS: &[&str] = &[
    "norun",
    "check",
    "verbatim",
    "teardown",
    "raw",
    "keep-running",
    "pty",
    "append",
    "rowsort",
];

/// How long to keep re-running a block until its output matches, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    pub(crate) within: Duration,
    pub(crate) every: Duration,
}

/// Which exit status a block must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ExpectedExit {
    #[default]
    Success,
    Code(i32),
    Any,
}

impl ExpectedExit {
    pub(crate) fn accepts(self, code: Option<i32>) -> bool {
        match self {
            ExpectedExit::Any => true,
            ExpectedExit::Success => code == Some(0),
            ExpectedExit::Code(expected) => code == Some(expected),
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            ExpectedExit::Any => "any".to_string(),
            ExpectedExit::Success => "0".to_string(),
            ExpectedExit::Code(code) => code.to_string(),
        }
    }
}

/// The parsed info string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// First word, as written (`Bash`, `console`, `yaml`...).
    pub(crate) language: String,
    pub(crate) on: Option<String>,
    pub(crate) user: Option<String>,
    /// The database its SQL connects to (psql's `-d`).
    pub(crate) db: Option<String>,
    /// The rows of its result tables may come in any order (a query without `ORDER BY`).
    pub(crate) rowsort: bool,
    pub(crate) id: Option<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) exit: ExpectedExit,
    pub(crate) norun: bool,
    pub(crate) check: bool,
    pub(crate) verbatim: bool,
    /// Removes the lab: run only by `--teardown` (which runs nothing else).
    pub(crate) teardown: bool,
    /// Match the output as printed: ANSI sequences and carriage returns kept.
    pub(crate) raw: bool,
    /// What the block starts in the background is meant to outlive the run (a service the
    /// course leaves running): neither ended nor reported at the end.
    pub(crate) keep_running: bool,
    /// Run under a pseudo-terminal, typing the answers its expected output writes `<<so>>`.
    pub(crate) pty: bool,
    pub(crate) file: Option<String>,
    pub(crate) mode: Option<u32>,
    pub(crate) owner: Option<String>,
    /// With `file=`: add the content at the end of the file instead of replacing it.
    pub(crate) append: bool,
    /// Words after the language that are not runbook's (kept on non-runbook blocks, and
    /// pandoc's `.class` words on any block).
    pub(crate) foreign: Vec<String>,
    /// A `console` block holding prompts: a transcript, which runs.
    pub(crate) console_transcript: bool,
}

impl Attributes {
    /// A block whose content runs as commands: a shell language, a `console` block that
    /// holds a transcript, or SQL (run through psql). A block with `file=` is content (a
    /// script, or a file in shell syntax such as `/etc/default/etcd`): it is written, never
    /// run.
    pub(crate) fn runs_commands(&self) -> bool {
        self.file.is_none()
            && (self.console_transcript
                || is_shell_language(&self.language)
                || super::psql::is_sql_language(&self.language))
    }

    /// A block of SQL, typed into psql.
    pub(crate) fn is_sql(&self) -> bool {
        self.file.is_none() && super::psql::is_sql_language(&self.language)
    }

    /// A `console` block of output (not a transcript, which runs).
    pub(crate) fn is_console(&self) -> bool {
        !self.console_transcript && self.language.eq_ignore_ascii_case("console")
    }
}

pub(crate) fn is_shell_language(language: &str) -> bool {
    SHELL_LANGUAGES
        .iter()
        .any(|shell| shell.eq_ignore_ascii_case(language))
}

/// The language an info string names, in either syntax (`bash on=x`, `{.bash on=x}`).
pub(crate) fn split_language(info: &str) -> String {
    let words = pandoc_words(info).unwrap_or_else(|| split_words(info));
    words
        .ok()
        .and_then(|words| words.into_iter().next())
        .map(|(_, language)| language)
        .unwrap_or_default()
}

/// Splits an info string into words with their byte offsets, honouring quotes (so that
/// `file="/etc/my app.conf"` is one word) and `{{ ... }}` templates (so that
/// `on={{ leader }}` is one word).
fn split_words(info: &str) -> Result<Vec<(usize, String)>, usize> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    let mut quote_start = 0;
    let mut in_template = false;
    let mut characters = info.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        if quote.is_none()
            && !in_template
            && character == '{'
            && characters.peek().map(|(_, c)| *c) == Some('{')
        {
            in_template = true;
        } else if in_template && character == '}' && characters.peek().map(|(_, c)| *c) == Some('}')
        {
            in_template = false;
            current.push('}');
            characters.next();
            start.get_or_insert(index);
            current.push('}');
            continue;
        }
        match (quote, character) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') if !in_template => {
                quote = Some(character);
                quote_start = index;
                start.get_or_insert(index);
            }
            (None, c) if c.is_whitespace() && !in_template => {
                if let Some(begin) = start.take() {
                    words.push((begin, std::mem::take(&mut current)));
                }
            }
            (None, c) => {
                start.get_or_insert(index);
                current.push(c);
            }
        }
    }
    if quote.is_some() {
        return Err(quote_start);
    }
    if let Some(begin) = start {
        words.push((begin, current));
    }
    Ok(words)
}

/// The longest duration runbook accepts anywhere (a block's `timeout=`, `retry=`,
/// `--timeout`, `--connect-timeout`, `--grace`): a day. No workshop step waits longer, and a
/// bound keeps every deadline computed from it far from the limits of the clock (a huge
/// value once overflowed `Instant + Duration` and panicked after blocks had run).
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses a duration as runbook writes them: `30s`, `2m`, `1m30s`, `500ms`, at most
/// [`MAX_DURATION`].
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "add a unit: `{text}s` for seconds, `{text}m` for minutes"
        ));
    }
    let duration = humantime::parse_duration(text)
        .map_err(|_| "write a duration such as `30s`, `2m`, `1m30s` or `500ms`".to_string())?;
    if duration > MAX_DURATION {
        return Err(format!(
            "`{text}` is longer than runbook's limit of `{}h`: write a shorter duration such as `30m`",
            MAX_DURATION.as_secs() / 3600
        ));
    }
    Ok(duration)
}

/// Context for reporting a problem in an info string.
#[derive(Debug)]
pub struct InfoLine<'a> {
    pub file: &'a std::path::Path,
    pub line: usize,
    /// The whole fence line as written, quoted in errors.
    pub text: &'a str,
}

impl InfoLine<'_> {
    fn error(&self, message: impl Into<String>, underline: &str) -> Diagnostic {
        Diagnostic::new(self.file, self.line, message)
            .quoting(self.text)
            .underlining(underline)
    }

    /// An error underlining `length` bytes at `offset` in the info string.
    fn error_at(
        &self,
        info: &str,
        offset: usize,
        length: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(self.file, self.line, message).quoting(self.text);
        // The info string sits after the fence characters in the quoted line (which is the
        // fence line without its line ending).
        let quoted = diagnostic.source_line.as_deref().unwrap_or_default();
        if let Some(info_start) = quoted.find(info.trim_start()) {
            let start = info_start + offset;
            let end = (start + length).min(quoted.len());
            if start < end && quoted.is_char_boundary(start) && quoted.is_char_boundary(end) {
                diagnostic.span = Some((start, end));
            }
        }
        diagnostic
    }
}

/// Parses `info`; returns the attributes or every problem found in them.
pub fn parse(info: &str, at: &InfoLine<'_>) -> Result<Attributes, Vec<Diagnostic>> {
    parse_with(info, at, false)
}

/// Parses the info string of a `console` block that holds a transcript (prompts): it runs,
/// so runbook's attributes on it are read as on a shell block.
pub(crate) fn parse_console_transcript(
    info: &str,
    at: &InfoLine<'_>,
) -> Result<Attributes, Vec<Diagnostic>> {
    parse_with(info, at, true)
}

/// A word of pandoc's attribute syntax that pandoc cannot read (a bare `norun`): pandoc would
/// then show the whole fence as inline code, not as a code block.
const PANDOC_BARE: &str = "\u{0}bare:";

/// Pandoc's attribute syntax (```` ```{.bash #id on=pg-1 .norun} ````) as runbook's words:
/// the first `.class` is the language, `#name` is `id=name`, a class that is one of runbook's
/// flags (`.norun`, `.check`...) is that flag, other classes are pandoc's own. The braces
/// become blanks so that every word keeps its offset for underlining.
fn pandoc_words(info: &str) -> Option<Result<Vec<(usize, String)>, usize>> {
    let trimmed = info.trim();
    if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
        return None;
    }
    let open = info.find('{')?;
    let close = info.rfind('}')?;
    let mut blanked = info.to_string();
    blanked.replace_range(close..=close, " ");
    blanked.replace_range(open..=open, " ");
    let words = match split_words(&blanked) {
        Ok(words) => words,
        Err(at) => return Some(Err(at)),
    };
    let mut language: Option<(usize, String)> = None;
    let mut rest = Vec::new();
    for (offset, word) in words {
        if let Some(class) = word.strip_prefix('.') {
            // A flag is never the language: `{.norun}` marks a fence that names none.
            if FLAGS.contains(&class) {
                rest.push((offset, class.to_string()));
                continue;
            }
            if language.is_none() {
                language = Some((offset, class.to_string()));
                continue;
            }
        } else if let Some(id) = word.strip_prefix('#') {
            rest.push((offset, format!("id={id}")));
            continue;
        } else if !word.contains('=') {
            rest.push((offset, format!("{PANDOC_BARE}{word}")));
            continue;
        }
        rest.push((offset, word));
    }
    let mut ordered = vec![language.unwrap_or((open, String::new()))];
    ordered.extend(rest);
    Some(Ok(ordered))
}

fn parse_with(
    info: &str,
    at: &InfoLine<'_>,
    console_transcript: bool,
) -> Result<Attributes, Vec<Diagnostic>> {
    // `{.bash #x` without its `}` is neither syntax: read as words, its language would be
    // `{.bash`, a block that silently never runs.
    let trimmed = info.trim();
    if trimmed.starts_with('{') && !trimmed.starts_with("{{") && !trimmed.ends_with('}') {
        return Err(vec![
            at.error("the `{` of pandoc's attributes is never closed", "{")
                .hint(format!("close it: ```{trimmed}}}")),
        ]);
    }
    let words = match pandoc_words(info).unwrap_or_else(|| split_words(info)) {
        Ok(words) => words,
        Err(_) => {
            return Err(vec![
                at.error("unclosed quote in the block's attributes", "\"")
                    .hint("close the quote, e.g. file=\"/etc/my app.conf\""),
            ]);
        }
    };
    let mut attributes = Attributes {
        console_transcript,
        ..Attributes::default()
    };
    let Some(((_, language), rest)) = words.split_first() else {
        return Ok(attributes);
    };
    attributes.language = language.clone();
    let shell = attributes.runs_commands();
    let console = attributes.is_console() && !console_transcript;

    // A block in another language is runbook's only when it carries one of runbook's keys;
    // otherwise its words belong to whatever else reads it (mdBook, a highlighter...).
    let mentions_runbook = rest.iter().any(|(_, word)| {
        let key = word.split('=').next().unwrap_or_default();
        ATTRIBUTE_NAMES.contains(&key)
    });
    if !shell && (!mentions_runbook || console) {
        attributes.foreign = rest
            .iter()
            .map(|(_, word)| word.trim_start_matches(PANDOC_BARE).to_string())
            .collect();
        return Ok(attributes);
    }

    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let leading = info.len() - info.trim_start().len();
    for (offset, word) in rest {
        // Pandoc's own classes (`.numberLines`) are left to pandoc.
        if word.starts_with('.') {
            attributes.foreign.push(word.clone());
            continue;
        }
        let (key, value) = match known_key(info, at, offset - leading, word, &seen) {
            Ok(key_and_value) => key_and_value,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        // Seen even when its value is wrong: the checks below must not also say it is missing.
        seen.push(key);
        let set = checked_value(at, key, value, word)
            .and_then(|value| set_attribute(&mut attributes, at, key, value, word));
        if let Err(problem) = set {
            problems.push(problem);
        }
    }
    problems.extend(combination_problems(&attributes, &seen, at));
    if problems.is_empty() {
        Ok(attributes)
    } else {
        Err(problems)
    }
}

/// One word's key and value, once the key is known to be one of runbook's, given once.
fn known_key<'w>(
    info: &str,
    at: &InfoLine<'_>,
    offset: usize,
    word: &'w str,
    seen: &[&str],
) -> Result<(&'w str, Option<&'w str>), Diagnostic> {
    if let Some(bare) = word.strip_prefix(PANDOC_BARE) {
        let hint = if FLAGS.contains(&bare) {
            format!("write `.{bare}`: in braces a flag is a class")
        } else {
            format!("write `.{bare}` (a class) or `{bare}=VALUE`")
        };
        return Err(
            at.error_at(
                info,
                offset,
                bare.len(),
                format!("pandoc cannot read `{bare}` inside `{{...}}`: it would show this fence as text, not as a code block"),
            )
            .hint(hint),
        );
    }
    let (key, value) = match word.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (word, None),
    };
    if !ATTRIBUTE_NAMES.contains(&key) {
        let problem = at.error_at(
            info,
            offset,
            key.len(),
            format!("unknown attribute `{key}`"),
        );
        return Err(match did_you_mean(key, ATTRIBUTE_NAMES.iter().copied()) {
            Some(close) => problem.hint(format!("did you mean `{close}`?")),
            None => problem.hint(format!(
                "runbook's attributes are: {}",
                ATTRIBUTE_NAMES.join(", ")
            )),
        });
    }
    if seen.contains(&key) {
        return Err(at
            .error(format!("attribute `{key}` is given twice"), word)
            .hint("keep one of them"));
    }
    Ok((key, value))
}

/// A key's value as its key takes it: none for a flag, a non-empty one for every other key.
fn checked_value<'w>(
    at: &InfoLine<'_>,
    key: &str,
    value: Option<&'w str>,
    word: &str,
) -> Result<&'w str, Diagnostic> {
    if FLAGS.contains(&key) {
        return match value {
            Some(_) => Err(at
                .error(format!("`{key}` takes no value"), word)
                .hint(format!("write `{key}` alone"))),
            None => Ok(""),
        };
    }
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        _ => {
            let example = match key {
                "on" => "on=pg-1",
                "user" => "user=postgres",
                "db" => "db=tp1",
                "as" => "as=bash",
                "id" => "id=cluster-list",
                "timeout" => "timeout=30s",
                "retry" => "retry=90s/2s",
                "exit" => "exit=1",
                "file" => "file=/etc/default/etcd",
                "mode" => "mode=0644",
                _ => "owner=postgres:postgres",
            };
            let message = match key {
                "file" => "`file=` needs the path of the file to write".to_string(),
                _ => format!("`{key}` needs a value"),
            };
            Err(at
                .error(message, word)
                .hint(format!("for example `{example}`")))
        }
    }
}

/// Sets what `key=value` says, or says why the value cannot be used.
fn set_attribute(
    attributes: &mut Attributes,
    at: &InfoLine<'_>,
    key: &str,
    value: &str,
    word: &str,
) -> Result<(), Diagnostic> {
    let problem = |message: String, hint: &str| Err(at.error(message, word).hint(hint));
    match key {
        "on" => attributes.on = Some(value.to_string()),
        "user" => attributes.user = Some(value.to_string()),
        "db" => attributes.db = Some(value.to_string()),
        // A fence whose language says one thing and whose text is another (shell commands in
        // an `sql` fence): run as `value`, the language word left as written for the other
        // readers of the file (pandoc's highlighting).
        "as" if is_shell_language(value) || super::psql::is_sql_language(value) => {
            attributes.language = value.to_string();
        }
        "as" => {
            return problem(
                format!("`as={value}` names no language runbook runs"),
                "write `as=bash` (or sh, shell) for shell commands, `as=sql` for SQL",
            );
        }
        "id" if is_valid_id(value) => attributes.id = Some(value.to_string()),
        "id" => {
            return problem(
                format!("`{value}` cannot be a block id"),
                "an id names a file: use letters, digits, `-`, `_` and `.`, not starting with `.`",
            );
        }
        "timeout" => match parse_duration(value) {
            Ok(duration) if !duration.is_zero() => attributes.timeout = Some(duration),
            Ok(_) => {
                return problem(
                    "a timeout of zero would stop every command".to_string(),
                    "give a positive duration such as `timeout=30s`",
                );
            }
            Err(hint) => return problem(format!("bad duration `{value}` for timeout"), &hint),
        },
        "retry" => match parse_retry(value) {
            Ok(retry) => attributes.retry = Some(retry),
            Err(hint) => return problem(format!("bad retry `{value}`"), &hint),
        },
        "exit" => {
            attributes.exit = match value {
                "any" => ExpectedExit::Any,
                _ => match value.parse::<i32>() {
                    Ok(0) => ExpectedExit::Success,
                    Ok(code) if (1..=255).contains(&code) => ExpectedExit::Code(code),
                    _ => {
                        return problem(
                            format!("bad exit status `{value}`"),
                            "write a number from 0 to 255, or `exit=any`",
                        );
                    }
                },
            }
        }
        "file" => attributes.file = Some(value.to_string()),
        "mode" => match u32::from_str_radix(value, 8) {
            Ok(mode) if mode <= 0o7777 => attributes.mode = Some(mode),
            _ => {
                return problem(
                    format!("bad file mode `{value}`"),
                    "write an octal mode such as `mode=0644` or `mode=600`",
                );
            }
        },
        "owner" => attributes.owner = Some(value.to_string()),
        "norun" => attributes.norun = true,
        "check" => attributes.check = true,
        "verbatim" => attributes.verbatim = true,
        "teardown" => attributes.teardown = true,
        "raw" => attributes.raw = true,
        "keep-running" => attributes.keep_running = true,
        "pty" => attributes.pty = true,
        "append" => attributes.append = true,
        "rowsort" => attributes.rowsort = true,
        _ => unreachable!("every name in ATTRIBUTE_NAMES is handled"),
    }
    Ok(())
}

/// What the keys given (`seen`) cannot mean together, or on this kind of block.
fn combination_problems(
    attributes: &Attributes,
    seen: &[&str],
    at: &InfoLine<'_>,
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if attributes.teardown && attributes.check {
        problems.push(
            at.error(
                "`teardown` removes the lab, so it cannot also be a read-only `check`",
                "teardown",
            )
            .hint(
                "keep one: `check` proves a state, `teardown` marks a block that removes the lab",
            ),
        );
    }
    // Now that `file=` is known: it makes any block content, a shell one included (what it
    // holds is written to the file), so the keys that only mean something for a command are
    // refused below.
    if !attributes.runs_commands() {
        // `file=` with a bad value is already reported; saying the block does nothing as well
        // would send the reader the wrong way.
        if attributes.file.is_none() && !seen.contains(&"file") {
            let key = seen.first().copied().unwrap_or("on");
            problems.push(
                at.error(
                    format!(
                        "`{key}=` does nothing on this `{}` block: only shell blocks run",
                        attributes.language
                    ),
                    key,
                )
                .hint("add file=PATH to write this block's content to a file, or make it a ```bash block"),
            );
        }
        for key in ["timeout", "retry", "exit", "check", "pty", "db", "rowsort"] {
            if seen.contains(&key) {
                problems.push(
                    at.error(
                        format!("`{key}` applies to commands, not to file blocks"),
                        key,
                    )
                    .hint(format!("remove `{key}` from this block")),
                );
            }
        }
    } else {
        for key in FILE_ONLY {
            if seen.contains(key) {
                let written = if FLAGS.contains(key) {
                    format!("`{key}`")
                } else {
                    format!("`{key}=`")
                };
                problems.push(
                    at.error(format!("{written} only goes with `file=`"), key)
                        .hint("set it on the content block that has file=PATH"),
                );
            }
        }
        if attributes.is_sql() && attributes.pty {
            problems.push(
                at.error("`pty` does not apply to SQL: it is typed into psql, which asks nothing", "pty")
                    .hint("remove `pty`; a dialogue belongs in a shell block (`psql` run with its questions)"),
            );
        }
    }
    problems
}

fn parse_retry(value: &str) -> Result<Retry, String> {
    let (within, every) = match value.split_once('/') {
        Some((within, every)) => (within, Some(every)),
        None => (value, None),
    };
    let within = parse_duration(within)?;
    let every = match every {
        Some(every) => parse_duration(every)?,
        None => Duration::from_secs(1),
    };
    if within.is_zero() {
        return Err("retry for a positive duration, e.g. `retry=90s`".to_string());
    }
    if every > within {
        return Err(format!(
            "the interval is longer than the whole retry: write e.g. `retry={}/{}`",
            humantime::format_duration(within),
            humantime::format_duration(within / 10)
        ));
    }
    Ok(Retry { within, every })
}

/// Ids become file names: keep them portable.
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse_ok(info: &str) -> Attributes {
        let at = InfoLine {
            file: Path::new("ch.md"),
            line: 3,
            text: info,
        };
        parse(info, &at).unwrap_or_else(|problems| panic!("{problems:?}"))
    }

    fn parse_err(info: &str) -> Vec<Diagnostic> {
        let text = format!("```{info}");
        let at = InfoLine {
            file: Path::new("ch.md"),
            line: 3,
            text: &text,
        };
        parse(info, &at).expect_err("should fail")
    }

    #[test]
    fn reads_all_attributes() {
        let attributes =
            parse_ok("Bash on=pg-1 user=postgres id=cluster-list timeout=30s retry=90s/2s exit=3");
        assert!(attributes.runs_commands());
        assert_eq!(attributes.on.as_deref(), Some("pg-1"));
        assert_eq!(attributes.user.as_deref(), Some("postgres"));
        assert_eq!(attributes.id.as_deref(), Some("cluster-list"));
        assert_eq!(attributes.timeout, Some(Duration::from_secs(30)));
        assert_eq!(
            attributes.retry,
            Some(Retry {
                within: Duration::from_secs(90),
                every: Duration::from_secs(2)
            })
        );
        assert_eq!(attributes.exit, ExpectedExit::Code(3));
    }

    #[test]
    fn teardown_is_a_flag_that_cannot_be_a_check() {
        assert!(parse_ok("bash teardown").teardown);
        assert!(!parse_ok("bash").teardown);
        assert_eq!(
            parse_err("bash teardown check")[0].message,
            "`teardown` removes the lab, so it cannot also be a read-only `check`"
        );
    }

    #[test]
    fn quoted_values_and_flags() {
        let attributes = parse_ok("ini file=\"/etc/my app.conf\" mode=600 owner=etcd on=e1");
        assert_eq!(attributes.file.as_deref(), Some("/etc/my app.conf"));
        assert_eq!(attributes.mode, Some(0o600));
        assert!(parse_ok("sh norun").norun);
        assert_eq!(parse_ok("bash exit=any").exit, ExpectedExit::Any);
    }

    #[test]
    fn pandoc_attributes_read_like_runbook_words() {
        let attributes = parse_ok("{.bash #list on=pg-1 user=postgres .norun .numberLines}");
        assert!(attributes.runs_commands());
        assert_eq!(attributes.language, "bash");
        assert_eq!(attributes.id.as_deref(), Some("list"));
        assert_eq!(attributes.on.as_deref(), Some("pg-1"));
        assert_eq!(attributes.user.as_deref(), Some("postgres"));
        assert!(attributes.norun);
        assert_eq!(attributes.foreign, vec![".numberLines"]);
        let spaced = parse_ok(" {.Bash id=cluster-list retry=90s/2s on=\"{{ leader }}\"} ");
        assert_eq!(spaced.id.as_deref(), Some("cluster-list"));
        assert_eq!(spaced.on.as_deref(), Some("{{ leader }}"));
        assert!(spaced.retry.is_some());
        // A fence without a language that holds a transcript, kept from running.
        let at = InfoLine {
            file: Path::new("ch.md"),
            line: 3,
            text: "```{.norun}",
        };
        let unnamed = parse_console_transcript("{.norun}", &at).expect("valid");
        assert_eq!(unnamed.language, "");
        assert!(unnamed.norun && unnamed.foreign.is_empty());
        // A content block in braces, as today's form.
        let file = parse_ok("{.ini file=\"/etc/my app.conf\" on=e1 mode=600}");
        assert_eq!(file.file.as_deref(), Some("/etc/my app.conf"));
    }

    #[test]
    fn a_bare_flag_in_braces_is_an_error_pandoc_would_show_as_text() {
        let problems = parse_err("{.bash on=pg-1 norun}");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("pandoc cannot read `norun`"));
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("write `.norun`: in braces a flag is a class")
        );
        let (start, end) = problems[0].span.expect("underlined");
        assert_eq!(&"```{.bash on=pg-1 norun}"[start..end], "norun");
        assert_eq!(
            parse_err("{.bash on=pg-1 tiemout=3s}")[0].message,
            "unknown attribute `tiemout`"
        );
    }

    #[test]
    fn foreign_blocks_keep_their_words() {
        let attributes = parse_ok("rust ignore edition2021");
        assert_eq!(attributes.foreign, vec!["ignore", "edition2021"]);
        assert!(!attributes.runs_commands());
    }

    #[test]
    fn unknown_attribute_suggests_the_close_one() {
        let problems = parse_err("bash tiemout=3s");
        assert_eq!(problems[0].message, "unknown attribute `tiemout`");
        assert_eq!(problems[0].hint.as_deref(), Some("did you mean `timeout`?"));
        assert_eq!(problems[0].line, 3);
    }

    #[test]
    fn malformed_values_are_errors() {
        assert!(
            parse_err("bash timeout=30")[0]
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("30s")
        );
        assert_eq!(
            parse_err("bash timeout=soon")[0].message,
            "bad duration `soon` for timeout"
        );
        assert_eq!(
            parse_err("bash exit=300")[0].message,
            "bad exit status `300`"
        );
        assert_eq!(
            parse_err("bash retry=2s/10s")[0].message,
            "bad retry `2s/10s`"
        );
        assert_eq!(
            parse_err("bash id=../x")[0].message,
            "`../x` cannot be a block id"
        );
        assert_eq!(parse_err("bash on=")[0].message, "`on` needs a value");
        let empty_file = parse_err("ini file= on=e1");
        assert_eq!(empty_file.len(), 1, "{empty_file:?}");
        assert_eq!(
            empty_file[0].message,
            "`file=` needs the path of the file to write"
        );
        assert_eq!(
            parse_err("bash norun=yes")[0].message,
            "`norun` takes no value"
        );
        assert_eq!(
            parse_err("bash user=a user=b")[0].message,
            "attribute `user` is given twice"
        );
    }

    #[test]
    fn file_rules() {
        // `file=` makes a shell block content: written, not run, so command keys are refused.
        let script = parse_ok("bash file=/x mode=0755 on=e1");
        assert!(!script.runs_commands());
        assert_eq!(script.file.as_deref(), Some("/x"));
        assert!(
            parse_err("sh file=/x retry=10s")[0]
                .message
                .contains("applies to commands")
        );
        assert!(parse_err("yaml on=e1")[0].message.contains("does nothing"));
        assert!(
            parse_err("bash mode=600")[0]
                .message
                .contains("only goes with `file=`")
        );
        assert!(
            parse_err("ini file=/x timeout=3s")[0]
                .message
                .contains("applies to commands")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("").is_err());
    }
}

#[cfg(test)]
mod template_words {
    use super::*;
    use std::path::Path;

    #[test]
    fn template_values_keep_their_spaces() {
        let info = "bash id=where on={{ here }}";
        let at = InfoLine {
            file: Path::new("ch.md"),
            line: 1,
            text: "```bash id=where on={{ here }}",
        };
        let attributes = parse(info, &at).expect("valid");
        assert_eq!(attributes.on.as_deref(), Some("{{ here }}"));
    }

    #[test]
    fn underline_is_on_the_word_itself() {
        let text = "```bash id=where here=1";
        let at = InfoLine {
            file: Path::new("ch.md"),
            line: 1,
            text,
        };
        let problems = parse("bash id=where here=1", &at).expect_err("unknown");
        let (start, end) = problems[0].span.expect("a span");
        assert_eq!(&text[start..end], "here");
        assert_eq!(start, 17);
    }
}
