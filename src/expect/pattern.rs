//! The expected-output syntax, cram's: plain lines compared after trimming trailing
//! whitespace; a line ending in ` (re)` is a regex for the whole line, ` (glob)` a glob,
//! ` (esc)` escaped bytes, ` (no-eol)` a last line without newline; `...` alone stands for any
//! number of lines. Named regex groups capture values for later blocks. Regexes are compiled
//! here, once, with a size limit, so a bad one is reported before anything runs.

use std::ops::Range;
use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};

use super::actual::unescape;
use crate::diagnostic::Diagnostic;
use crate::template;

/// Compiled regexes are capped so that a pathological pattern cannot eat the machine.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

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
    Literal(String),
    Regex(Regex),
    Escaped(Vec<u8>),
    AnyLines,
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
            let matcher = compile(line.kind, &rendered).map_err(|error| {
                format!("{}:{}: {error}", self.origin.path().display(), line.line)
            })?;
            out.push(PatternLine {
                body: rendered,
                templated: false,
                matcher: Some(matcher),
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

/// Turns a cram glob into an anchored regex: `*` any text, `?` one character, `\` escapes.
fn glob_to_regex(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() * 2);
    let mut characters = glob.chars();
    while let Some(character) = characters.next() {
        match character {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match characters.next() {
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

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

const REGEX_HINT: &str = "a ` (re)` line is a Rust regex matched against the whole line; escape literal characters such as `(`, `[`, `.` with `\\`";
const TOO_LARGE_HINT: &str = "large counted repetitions (`\\w{500}`) compile to large programs: prefer `\\w+`, or split the line";
const ESCAPE_HINT: &str = "an ` (esc)` line writes bytes as `\\xNN`, `\\t`, `\\r` or `\\\\`";

fn build_regex(pattern: &str) -> Result<Regex, CompileError> {
    let build = |text: &str| {
        RegexBuilder::new(text)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
    };
    match build(&format!("^(?:{pattern})$")) {
        Ok(regex) => Ok(regex),
        Err(regex::Error::CompiledTooBig(_)) => Err(CompileError::new(
            "this regex is too large once compiled (over 1 MiB)".to_string(),
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

fn compile(kind: LineKind, body: &str) -> Result<Matcher, CompileError> {
    Ok(match kind {
        LineKind::Literal => Matcher::Literal(body.trim_end().to_string()),
        LineKind::Regex => Matcher::Regex(build_regex(body)?),
        LineKind::Glob => Matcher::Regex(build_regex(&glob_to_regex(body)).map_err(|error| {
            // Positions in the translated regex mean nothing in the glob.
            CompileError {
                span: None,
                ..error
            }
        })?),
        LineKind::Escaped => {
            let bytes = unescape(body).map_err(|error| CompileError {
                message: error.message,
                span: Some(error.span),
                hint: ESCAPE_HINT,
            })?;
            Matcher::Escaped(super::actual::trim_trailing_blanks(&bytes).to_vec())
        }
        LineKind::AnyLines => Matcher::AnyLines,
    })
}

/// Parses an expected output. `first_line` is the line number of its first line in `origin`.
pub fn parse(text: &str, origin: Origin, first_line: usize) -> Result<Expected, Vec<Diagnostic>> {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let file = origin.path().to_path_buf();
    let total = text.lines().count();
    for (index, raw) in text.lines().enumerate() {
        let number = first_line + index;
        let source = raw.trim_end_matches('\r').to_string();
        let mut body = source.trim_end();
        let mut no_eol = false;
        if let Some(rest) = body.strip_suffix(" (no-eol)") {
            body = rest;
            no_eol = true;
            if index + 1 != total {
                problems.push(
                    Diagnostic::new(&file, number, "`(no-eol)` on a line that is not the last")
                        .quoting(&source)
                        .underlining("(no-eol)")
                        .hint("only the last line of an output can lack its newline"),
                );
            }
        }
        let (kind, body) = if body == "..." {
            (LineKind::AnyLines, body)
        } else if let Some(rest) = body.strip_suffix(" (re)") {
            (LineKind::Regex, rest)
        } else if let Some(rest) = body.strip_suffix(" (glob)") {
            (LineKind::Glob, rest)
        } else if let Some(rest) = body.strip_suffix(" (esc)") {
            (LineKind::Escaped, rest)
        } else {
            (LineKind::Literal, body)
        };
        let templated = kind != LineKind::AnyLines && template::is_template(body);
        // Positions found in `body` are positions in `source` too: the body is its start.
        let at = |message: String, span: Option<Range<usize>>, hint: &str| {
            let mut problem = Diagnostic::new(&file, number, message)
                .quoting(&source)
                .hint(hint);
            if let Some(span) = span.filter(|span| span.start < span.end && span.end <= body.len())
            {
                problem.span = Some((span.start, span.end));
            }
            problem
        };
        let matcher = if templated {
            // Check the template and the pattern around it now, with a stand-in value.
            match template::variables_in(body) {
                Err(error) => {
                    let hint = format!(
                        "{}; a literal `{{{{` is written `{{{{ \"{{{{\" }}}}`",
                        template::hint_for(&error)
                    );
                    problems.push(at(
                        format!("bad template: {error}"),
                        error.span.clone(),
                        &hint,
                    ));
                }
                Ok(names) => {
                    if let Err(error) = template::check_names(body, &names) {
                        problems.push(at(
                            format!("bad template: {error}"),
                            error.span.clone(),
                            template::hint_for(&error),
                        ));
                    }
                    let stand_in: template::Vars = names
                        .into_iter()
                        .map(|name| (name, "x".to_string()))
                        .collect();
                    if let Ok(rendered) = template::render(body, &stand_in)
                        && let Err(error) = compile(kind, &rendered)
                    {
                        // Positions in the rendered text are not positions in the line.
                        problems.push(at(error.message, None, error.hint));
                    }
                }
            }
            None
        } else {
            match compile(kind, body) {
                Ok(matcher) => Some(matcher),
                Err(error) => {
                    problems.push(at(error.message, error.span, error.hint));
                    None
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
    fn invalid_regex_is_an_error_at_its_line() {
        let problems =
            parse("ok\nbad (unclosed (re)\n", Origin::File("e.out".into()), 1).expect_err("bad");
        assert_eq!(problems[0].line, 2);
        assert!(
            problems[0].message.starts_with("invalid regex"),
            "{}",
            problems[0].message
        );
        assert_eq!(
            problems[0].source_line.as_deref(),
            Some("bad (unclosed (re)")
        );
    }

    #[test]
    fn huge_regex_is_refused() {
        let text = "\\w{1000}\\w{1000}\\w{1000} (re)\n";
        let problems = parse(text, Origin::File("e.out".into()), 1).expect_err("too big");
        assert!(
            problems[0].message.contains("too large"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn no_eol_only_last() {
        let problems = parse("a (no-eol)\nb\n", Origin::File("e.out".into()), 1).expect_err("bad");
        assert!(problems[0].message.contains("not the last"));
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
}
