//! The expected-output syntax, cram's: plain lines compared after trimming trailing
//! whitespace; a line ending in ` (re)` is a regex for the whole line, ` (glob)` a glob,
//! ` (esc)` escaped bytes, ` (no-eol)` (before or after the other annotation) a last line
//! without newline; `...` alone stands for any number of lines. Named regex groups capture
//! values for later blocks. Regexes are compiled here, once, with a size limit. A line whose
//! annotation cannot be used (an invalid regex...) is kept with the reason: as in cram, it is
//! then only compared as literal text, and the block that uses it fails, not the workshop.

use std::ops::Range;
use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};

use super::escape;
use crate::diagnostic::Diagnostic;
use crate::template;

/// Compiled regexes are capped so that a pathological pattern cannot eat the machine. Unicode
/// classes are large once compiled (`\w{64}` takes about 3 MiB, `\w{670}` fits), hence this
/// much.
pub const REGEX_SIZE_LIMIT: usize = 32 << 20;

/// The lazy DFA's cache, per regex: when a regex needs more, matching uses a slower engine
/// (never an error), so it stays small however many regexes a workshop holds.
const DFA_CACHE_LIMIT: usize = 1 << 20;

/// What kind of comparison a line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    Literal,
    Regex,
    Glob,
    Escaped,
    AnyLines,
}

/// A ready-to-use comparison for one line.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The bytes of the line (trailing blanks dropped).
    Literal(Vec<u8>),
    Regex(Regex),
    Escaped(Vec<u8>),
    AnyLines,
    /// The annotation cannot be used (see [`PatternLine::problem`]): only the literal
    /// comparison with the line as written is left.
    Unusable,
}

/// One line of an expected output.
#[derive(Debug, Clone)]
pub struct PatternLine {
    /// 1-based line number in the file holding it (expected file or chapter).
    pub line: usize,
    /// The line as written, annotations included.
    pub source: String,
    /// The text without its annotations (a template when `templated`).
    pub body: String,
    pub kind: LineKind,
    pub no_eol: bool,
    pub templated: bool,
    /// Compiled now unless the line is a template (compiled once its values are known).
    pub matcher: Option<Matcher>,
    /// Why the line's annotation cannot be used, when it cannot.
    pub problem: Option<LineProblem>,
}

/// What is wrong with a line whose annotation cannot be used, told when its block fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub message: String,
    pub hint: &'static str,
}

impl PatternLine {
    /// Whether the line carries an annotation, so that cram first compares it literally, as
    /// written, with the line as cram would print it (`baz??? (glob)` matches itself).
    pub fn annotated(&self) -> bool {
        self.kind != LineKind::AnyLines
            && !self.templated
            && (self.kind != LineKind::Literal || self.no_eol)
    }

    /// The line as written, without trailing blanks (what the literal comparison uses).
    pub fn written(&self) -> &str {
        self.source.trim_end()
    }
}

impl PatternLine {
    /// The names this line's regex captures.
    pub fn capture_names(&self) -> Vec<String> {
        match &self.matcher {
            Some(Matcher::Regex(regex)) if self.kind == LineKind::Regex => regex
                .capture_names()
                .flatten()
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Where an expected output comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    /// A ```console block in a chapter.
    Inline(PathBuf),
}

impl Origin {
    pub fn path(&self) -> &Path {
        match self {
            Origin::File(path) | Origin::Inline(path) => path,
        }
    }
}

/// A parsed expected output.
#[derive(Debug, Clone)]
pub struct Expected {
    pub origin: Origin,
    pub lines: Vec<PatternLine>,
}

impl Expected {
    /// `text` expected exactly as it is, line by line (trailing blanks aside), its first line
    /// being line `first_line` of `origin`; with `templates`, a line holding `{{ }}` is
    /// rendered once its values are known.
    pub(crate) fn literal(origin: Origin, first_line: usize, text: &str, templates: bool) -> Self {
        let lines = text
            .lines()
            .enumerate()
            .map(|(offset, line)| {
                let templated = templates && template::is_template(line);
                PatternLine {
                    line: first_line + offset,
                    source: line.to_string(),
                    body: line.trim_end().to_string(),
                    kind: LineKind::Literal,
                    no_eol: false,
                    templated,
                    matcher: (!templated)
                        .then(|| Matcher::Literal(line.trim_end().as_bytes().to_vec())),
                    problem: None,
                }
            })
            .collect();
        Expected { origin, lines }
    }

    /// Names captured by this output's regexes.
    pub fn capture_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .flat_map(PatternLine::capture_names)
            .collect()
    }

    /// Template variables used, with the line using them.
    pub fn variables_used(&self) -> Vec<(String, &PatternLine)> {
        self.lines
            .iter()
            .filter(|line| line.templated)
            .flat_map(|line| {
                template::variables_in(&line.body)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |name| (name, line))
            })
            .collect()
    }

    /// The lines with every template rendered and compiled.
    pub fn instantiate(
        &self,
        vars: &template::Vars,
    ) -> Result<std::borrow::Cow<'_, [PatternLine]>, String> {
        if !self.lines.iter().any(|line| line.templated) {
            // The common case: nothing to render, the compiled lines serve as they are.
            return Ok(std::borrow::Cow::Borrowed(&self.lines));
        }
        let mut out = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            if !line.templated {
                out.push(line.clone());
                continue;
            }
            let rendered = match line.kind {
                LineKind::Regex => template::render_with(&line.body, vars, regex::escape),
                LineKind::Glob => template::render_with(&line.body, vars, glob_escape),
                _ => template::render(&line.body, vars),
            }
            .map_err(|error| format!("{}:{}: {error}", self.origin.path().display(), line.line))?;
            let (matcher, problem) = match compile(line.kind, &rendered) {
                Ok(matcher) => (matcher, None),
                Err(error) => (
                    Matcher::Unusable,
                    Some(LineProblem {
                        message: error.message,
                        hint: error.hint,
                    }),
                ),
            };
            out.push(PatternLine {
                body: rendered,
                templated: false,
                matcher: Some(matcher),
                problem,
                ..line.clone()
            });
        }
        Ok(std::borrow::Cow::Owned(out))
    }
}

/// Escapes `*`, `?` and `\` so that `value` matches itself in a ` (glob)` line.
pub fn glob_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for character in value.chars() {
        if matches!(character, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

/// Turns a cram glob into an anchored regex: `*` any text, `?` one character. As in cram, a
/// backslash escapes only `*`, `?` and itself; before any other character (`\d`, a Windows
/// path's `C:\Users`) it is a backslash, so that the line means what cram reads in it.
fn glob_to_regex(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() * 2);
    let mut characters = glob.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match characters.next_if(|next| matches!(next, '*' | '?' | '\\')) {
                Some(escaped) => out.push_str(&regex::escape(&escaped.to_string())),
                None => out.push_str(&regex::escape("\\")),
            },
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out
}

/// Why a pattern line cannot be used, and where in its text (byte range of the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    pub span: Option<Range<usize>>,
    pub hint: &'static str,
}

impl CompileError {
    fn new(message: String, hint: &'static str) -> Self {
        CompileError {
            message,
            span: None,
            hint,
        }
    }
}

impl CompileError {
    /// The message, with the part of `body` it is about when known: "... (at `(?=`)".
    fn located_in(&self, body: &str) -> String {
        match self
            .span
            .clone()
            .filter(|span| span.start < span.end)
            .and_then(|span| body.get(span))
        {
            Some(part) => format!("{} (at `{part}`)", self.message),
            None => self.message.clone(),
        }
    }
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

const REGEX_HINT: &str = "a ` (re)` line is a Rust regex matched against the whole line (no look-around or back-references); escape literal characters such as `(`, `[`, `.` with `\\`";
const TOO_LARGE_HINT: &str = "large counted repetitions (`\\w{500}`) compile to large programs: prefer `\\w+`, or split the line";
const ESCAPE_HINT: &str =
    "an ` (esc)` line writes bytes as `\\xNN`, `\\t`, `\\r`, `\\\\` or octal `\\001`";

fn build_regex(pattern: &str) -> Result<Regex, CompileError> {
    let build = |text: &str| {
        RegexBuilder::new(text)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(DFA_CACHE_LIMIT)
            .build()
    };
    let pattern = &from_python(pattern);
    match build(&format!("^(?:{pattern})$")) {
        Ok(regex) => Ok(regex),
        Err(regex::Error::CompiledTooBig(_)) => Err(CompileError::new(
            format!(
                "this regex is too large once compiled (over {} MiB)",
                REGEX_SIZE_LIMIT >> 20
            ),
            TOO_LARGE_HINT,
        )),
        Err(error) => {
            // Compile the line alone to learn where the problem is in the user's own text
            // (the anchors around it would shift, or even take, the position).
            let alone = build(pattern).err().unwrap_or(error);
            Err(describe_regex_error(&alone, pattern))
        }
    }
}

/// The regex crate's message is several lines with its own caret; keep the reason and turn the
/// caret into a byte range of `pattern`.
fn describe_regex_error(error: &regex::Error, pattern: &str) -> CompileError {
    let text = error.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let reason = lines
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or(text.as_str());
    let mut problem = CompileError::new(format!("invalid regex: {reason}"), REGEX_HINT);
    // Shape: "regex parse error:", "    <pattern>", "    <spaces>^^^", "error: ...".
    if lines.len() >= 4 && !pattern.contains('\n') {
        let carets = lines[2].strip_prefix("    ").unwrap_or_default();
        let start = carets.chars().take_while(|&c| c == ' ').count();
        let width = carets[start..].chars().take_while(|&c| c == '^').count();
        let byte_at = |column: usize| {
            pattern
                .char_indices()
                .nth(column)
                .map_or(pattern.len(), |(index, _)| index)
        };
        if width > 0 && start < pattern.chars().count() {
            problem.span = Some(byte_at(start)..byte_at(start + width));
        }
    }
    problem
}

/// cram's regexes are Python's: its `\\Z` (the end of the text) is Rust's `\\z`.
fn from_python(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains("\\Z") {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut characters = pattern.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' => {
                let next = characters.next();
                match next {
                    Some('Z') if !in_class => out.push_str("\\z"),
                    Some(next) => {
                        out.push('\\');
                        out.push(next);
                    }
                    None => out.push('\\'),
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` first in a class is a member, not its end.
                for opening in ['^', ']'] {
                    if characters.peek() == Some(&opening) {
                        out.push(opening);
                        characters.next();
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            other => out.push(other),
        }
    }
    std::borrow::Cow::Owned(out)
}

pub(crate) fn compile(kind: LineKind, body: &str) -> Result<Matcher, CompileError> {
    Ok(match kind {
        LineKind::Literal => {
            Matcher::Literal(super::actual::trim_trailing_blanks(body.as_bytes()).to_vec())
        }
        LineKind::Regex => Matcher::Regex(build_regex(body)?),
        LineKind::Glob => Matcher::Regex(build_regex(&glob_to_regex(body)).map_err(|error| {
            // Positions in the translated regex mean nothing in the glob.
            CompileError {
                span: None,
                ..error
            }
        })?),
        LineKind::Escaped => {
            let bytes = escape::decode(body.as_bytes()).map_err(|error| CompileError {
                message: error.message,
                span: Some(error.span),
                hint: ESCAPE_HINT,
            })?;
            Matcher::Escaped(super::actual::trim_trailing_blanks(&bytes).to_vec())
        }
        LineKind::AnyLines => Matcher::AnyLines,
    })
}

/// How an expected output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// `{{ }}` is template syntax (not in a `verbatim` block's expected output).
    pub templates: bool,
}

impl Default for Reading {
    fn default() -> Self {
        Reading { templates: true }
    }
}

/// The annotations cram puts at the end of a line.
const KINDS: [(&str, LineKind); 3] = [
    (" (re)", LineKind::Regex),
    (" (glob)", LineKind::Glob),
    (" (esc)", LineKind::Escaped),
];

/// A line's body, kind and `(no-eol)`: annotations are read from the end, `(no-eol)` before
/// or after the other one (runbook writes `x (esc) (no-eol)`, prysk `x (no-eol) (esc)`).
fn annotations(text: &str) -> (&str, LineKind, bool) {
    let mut body = text;
    let mut kind = LineKind::Literal;
    let mut no_eol = false;
    loop {
        if !no_eol && let Some(rest) = body.strip_suffix(" (no-eol)") {
            body = rest;
            no_eol = true;
            continue;
        }
        if kind == LineKind::Literal
            && let Some((rest, found)) = KINDS
                .iter()
                .find_map(|(suffix, kind)| body.strip_suffix(suffix).map(|rest| (rest, *kind)))
        {
            body = rest;
            kind = found;
            continue;
        }
        break;
    }
    if body == "..." && kind == LineKind::Literal {
        kind = LineKind::AnyLines;
    }
    (body, kind, no_eol)
}

/// Parses an expected output. `first_line` is the line number of its first line in `origin`.
pub fn parse(text: &str, origin: Origin, first_line: usize) -> Result<Expected, Vec<Diagnostic>> {
    parse_with(text, origin, first_line, Reading::default())
}

/// Parses an expected file that may not be UTF-8: a line that is not is read as the UTF-8
/// line that means the same (its bytes written as `\xNN`), so it is matched on its bytes.
pub fn parse_bytes(
    bytes: &[u8],
    origin: Origin,
    reading: Reading,
) -> Result<Expected, Vec<Diagnostic>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_with(text, origin, 1, reading),
        Err(_) => {
            let text: Vec<String> = bytes
                .split(|&byte| byte == b'\n')
                .map(utf8_equivalent)
                .collect();
            parse_with(&text.join("\n"), origin, 1, reading)
        }
    }
}

/// A line of an expected file as valid UTF-8 that matches the same output: invalid bytes
/// become `\xNN` in an ` (esc)` line, and, in a regex or glob (which match the escaped form
/// of such output), the text `\xNN`.
pub(crate) fn utf8_equivalent(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Ok(text) = std::str::from_utf8(line) {
        return text.to_string();
    }
    let end = line
        .iter()
        .rposition(|byte| !byte.is_ascii_whitespace())
        .map_or(0, |index| index + 1);
    let trimmed = &line[..end];
    // The annotations are ASCII at the end: the body is the bytes before them.
    let lossy = String::from_utf8_lossy(trimmed);
    let (lossy_body, kind, no_eol) = annotations(&lossy);
    let body = &trimmed[..trimmed.len() - (lossy.len() - lossy_body.len())];
    let mut out = String::new();
    for chunk in body.utf8_chunks() {
        let valid = chunk.valid();
        match kind {
            LineKind::Literal | LineKind::AnyLines => {
                out.push_str(&valid.replace('\\', "\\\\").replace('{', "\\x7b"));
            }
            _ => out.push_str(valid),
        }
        for byte in chunk.invalid() {
            match kind {
                LineKind::Regex | LineKind::Glob => out.push_str(&format!("\\\\x{byte:02x}")),
                _ => out.push_str(&format!("\\x{byte:02x}")),
            }
        }
    }
    let annotation = match kind {
        LineKind::Regex => " (re)",
        LineKind::Glob => " (glob)",
        _ => " (esc)",
    };
    out.push_str(annotation);
    if no_eol {
        out.push_str(" (no-eol)");
    }
    out
}

/// Parses an expected output read as `reading` says.
pub fn parse_with(
    text: &str,
    origin: Origin,
    first_line: usize,
    reading: Reading,
) -> Result<Expected, Vec<Diagnostic>> {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let file = origin.path().to_path_buf();
    for (index, raw) in text.lines().enumerate() {
        let number = first_line + index;
        let source = raw.trim_end_matches('\r').to_string();
        let (body, kind, no_eol) = annotations(source.trim_end());
        // A `{{` that is no template (a tool's own `{{ }}`, `{{.Name}}`) is literal text; one
        // that is a template but names a filter tera does not have is an error.
        let read = (reading.templates && kind != LineKind::AnyLines && template::is_template(body))
            .then(|| {
                template::variables_in(body).and_then(|names| template::check_names(body, &names))
            });
        let templated = match &read {
            Some(Ok(())) => true,
            Some(Err(error)) => error.message.starts_with("unknown "),
            None => false,
        };
        let mut problem = None;
        let matcher = if templated {
            if let Some(Err(error)) = &read {
                let mut diagnostic =
                    Diagnostic::new(&file, number, format!("bad template: {error}"))
                        .quoting(&source)
                        .hint(format!(
                            "{}; if the tool prints this `{{{{` itself, mark the block `verbatim`",
                            template::hint_for(error)
                        ));
                if let Some(span) = error
                    .span
                    .clone()
                    .filter(|span| span.start < span.end && span.end <= body.len())
                {
                    diagnostic.span = Some((span.start, span.end));
                }
                problems.push(diagnostic);
            }
            None
        } else {
            match compile(kind, body) {
                Ok(matcher) => Some(matcher),
                Err(error) => {
                    problem = Some(LineProblem {
                        message: error.located_in(body),
                        hint: error.hint,
                    });
                    Some(Matcher::Unusable)
                }
            }
        };
        lines.push(PatternLine {
            line: number,
            source: source.clone(),
            body: body.to_string(),
            kind,
            no_eol,
            templated,
            matcher,
            problem,
        });
    }
    if problems.is_empty() {
        Ok(Expected { origin, lines })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Expected {
        parse(text, Origin::File("e.out".into()), 1).unwrap_or_else(|p| panic!("{p:?}"))
    }

    #[test]
    fn recognises_annotations() {
        let expected = parse_ok(
            "plain  \nLeader: (?P<leader>pg-\\d) (re)\n* members (glob)\na\\x01 (esc)\n...\nlast (no-eol)\n",
        );
        let kinds: Vec<LineKind> = expected.lines.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            vec![
                LineKind::Literal,
                LineKind::Regex,
                LineKind::Glob,
                LineKind::Escaped,
                LineKind::AnyLines,
                LineKind::Literal
            ]
        );
        assert!(expected.lines[5].no_eol);
        assert_eq!(expected.capture_names(), vec!["leader"]);
    }

    #[test]
    fn an_invalid_regex_is_kept_with_its_reason() {
        let expected = parse_ok("ok\nbad (unclosed (re)\nfoo(?=bar)bar (re)\n(ab)\\1 (re)\n");
        for line in &expected.lines[1..] {
            assert!(matches!(line.matcher, Some(Matcher::Unusable)), "{line:?}");
            let problem = line.problem.as_ref().expect("a reason");
            assert!(
                problem.message.starts_with("invalid regex"),
                "{}",
                problem.message
            );
        }
        assert!(expected.lines[0].problem.is_none());
    }

    #[test]
    fn counted_unicode_classes_fit_and_huge_regexes_do_not() {
        let expected = parse_ok("\\w{64} (re)\n\\w{1000}\\w{1000}\\w{1000} (re)\n");
        assert!(matches!(expected.lines[0].matcher, Some(Matcher::Regex(_))));
        let problem = expected.lines[1].problem.as_ref().expect("too large");
        assert!(problem.message.contains("too large"), "{}", problem.message);
        assert!(problem.message.contains("32 MiB"), "{}", problem.message);
    }

    #[test]
    fn the_reason_names_the_part_of_the_line() {
        let expected = parse_ok("foo(?=bar)bar (re)\na\\x1 (esc)\n");
        let reasons: Vec<&str> = expected
            .lines
            .iter()
            .map(|line| line.problem.as_ref().expect("unusable").message.as_str())
            .collect();
        assert!(reasons[0].ends_with("(at `(?=`)"), "{}", reasons[0]);
        assert!(reasons[1].ends_with("(at `\\x1`)"), "{}", reasons[1]);
    }

    #[test]
    fn python_end_of_text_is_understood() {
        assert_eq!(from_python(r"foo\Z"), r"foo\z");
        assert_eq!(from_python(r"a\\Z[\Z]"), r"a\\Z[\Z]");
        let expected = parse_ok("foo\\Z (re)\n");
        let Some(Matcher::Regex(regex)) = &expected.lines[0].matcher else {
            panic!("a regex")
        };
        assert!(regex.is_match("foo"));
    }

    #[test]
    fn no_eol_before_or_after_the_annotation() {
        let expected = parse_ok("a\n\\x01 (no-eol) (esc)\n");
        assert_eq!(expected.lines[1].kind, LineKind::Escaped);
        assert!(expected.lines[1].no_eol);
        let other = parse_ok("\\x01 (esc) (no-eol)\n");
        assert_eq!(other.lines[0].kind, LineKind::Escaped);
        assert!(other.lines[0].no_eol);
        // Not on the last line: allowed, it can then only match literally (as in cram).
        let early = parse_ok("a (no-eol)\nb\n");
        assert!(early.lines[0].no_eol);
    }

    #[test]
    fn braces_that_are_no_template_are_text() {
        let expected = parse_ok("{{ }}\n{{.State.Status}}\n{{ a b }}\n{{ leader }}\n");
        let templated: Vec<bool> = expected.lines.iter().map(|l| l.templated).collect();
        assert_eq!(templated, vec![false, false, false, true]);
        let verbatim = parse_with(
            "{{ leader }}\n",
            Origin::File("e.out".into()),
            1,
            Reading { templates: false },
        )
        .expect("valid");
        assert!(!verbatim.lines[0].templated);
    }

    #[test]
    fn lines_that_are_not_utf8_mean_their_bytes() {
        let expected = parse_bytes(
            b"caf\xe9\ncaf\xe9.* (re)\n\xff\\x01 (esc)\nplain\n",
            Origin::File("e.out".into()),
            Reading::default(),
        )
        .expect("valid");
        let sources: Vec<&str> = expected.lines.iter().map(|l| l.source.as_str()).collect();
        assert_eq!(
            sources,
            vec![
                "caf\\xe9 (esc)",
                "caf\\\\xe9.* (re)",
                "\\xff\\x01 (esc)",
                "plain"
            ]
        );
        let Some(Matcher::Escaped(bytes)) = &expected.lines[0].matcher else {
            panic!("bytes")
        };
        assert_eq!(bytes, b"caf\xe9");
    }

    #[test]
    fn templated_lines_render_escaped() {
        let expected = parse_ok("Leader {{ leader }}.* (re)\n");
        assert!(expected.lines[0].templated);
        let vars = [("leader".to_string(), "pg.1".to_string())]
            .into_iter()
            .collect();
        let lines = expected.instantiate(&vars).expect("renders");
        let Some(Matcher::Regex(regex)) = &lines[0].matcher else {
            panic!("a regex")
        };
        assert!(regex.is_match("Leader pg.1 ok"));
        assert!(!regex.is_match("Leader pgx1 ok"));
    }

    #[test]
    fn glob_translation() {
        assert_eq!(glob_to_regex("a*b?c\\*"), "a.*b.c\\*");
    }

    /// Issue 20: `\d (glob)` matched `d`, the backslash dropped, where cram keeps it.
    #[test]
    fn a_glob_backslash_escapes_only_star_question_mark_and_itself() {
        let matches = |glob: &str, line: &str| {
            let Matcher::Regex(regex) = compile(LineKind::Glob, glob).expect("compiles") else {
                panic!("a regex")
            };
            regex.is_match(line)
        };
        assert!(matches("\\d", "\\d"));
        assert!(!matches("\\d", "d"));
        assert!(matches("C:\\Users\\m?", "C:\\Users\\me"));
        assert!(matches("C:\\Users\\*", "C:\\Users*"), "`\\*` is a star");
        assert!(matches("\\* \\? \\\\ fo?b*", "* ? \\ foobar"));
        assert!(!matches("\\*", "x"));
        assert!(matches("end\\", "end\\"), "a trailing backslash is itself");
    }
}
