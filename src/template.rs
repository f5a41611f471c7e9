//! `{{ name }}` in commands, `on=` and expected files: inventory variables, `--var` values and
//! values captured from earlier output, rendered with tera. Only `{{ ... }}` expressions are
//! template syntax: tera's `{% %}` and `{# #}` are switched off, because shell scripts write
//! `${#array[@]}` and `{%s}` and must reach the host unchanged.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use tera::{Context, Delimiters, ErrorKind, Tera};

/// Values available to templates, by name.
pub type Vars = BTreeMap<String, String>;

fn engine() -> Tera {
    let mut tera = Tera::new();
    tera.set_delimiters(Delimiters {
        block_start: "\u{1}\u{2}".into(),
        block_end: "\u{2}\u{1}".into(),
        variable_start: "{{".into(),
        variable_end: "}}".into(),
        comment_start: "\u{3}\u{4}".into(),
        comment_end: "\u{4}\u{3}".into(),
    })
    .expect("runbook's delimiters are valid");
    tera.autoescape_on(Vec::<&str>::new());
    tera
}

/// Whether `text` uses templating at all (the fast path for the common case).
pub(crate) fn is_template(text: &str) -> bool {
    text.contains("{{")
}

/// A template that cannot be used: what is wrong, in one line, and where in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub message: String,
    /// Byte range in the template's text, when tera knows it.
    pub span: Option<Range<usize>>,
    /// A name tera does not know, when that is the problem: found before anything runs.
    pub unknown: Option<Unknown>,
}

/// A name in `{{ }}` that tera does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unknown {
    Filter(String),
    /// A function or a test.
    Other(String),
}

impl Unknown {
    fn name(&self) -> &str {
        match self {
            Unknown::Filter(name) | Unknown::Other(name) => name,
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The variables `text` refers to, or the template's syntax error.
pub fn variables_in(text: &str) -> Result<Vec<String>, TemplateError> {
    if !is_template(text) {
        return Ok(Vec::new());
    }
    let mut tera = engine();
    tera.add_raw_template("block", text)
        .map_err(|error| locate_name(describe(&error), text))?;
    let mut names: Vec<String> = tera
        .get_template_variables("block")
        .map_err(|error| locate_name(describe(&error), text))?
        .into_iter()
        .map(str::to_string)
        .collect();
    names.sort();
    Ok(names)
}

/// Renders `text` with `vars`, each value passed through `escape` first (identity for commands,
/// `regex::escape` for a regex line...).
pub(crate) fn render_with(
    text: &str,
    vars: &Vars,
    escape: impl Fn(&str) -> String,
) -> Result<String, TemplateError> {
    if !is_template(text) {
        return Ok(text.to_string());
    }
    let mut context = Context::new();
    for (name, value) in vars {
        context.insert(name.clone(), &escape(value));
    }
    engine()
        .render_str(text, &context, false)
        .map_err(|error| describe(&error))
}

pub(crate) fn render(text: &str, vars: &Vars) -> Result<String, TemplateError> {
    render_with(text, vars, str::to_string)
}

/// Problems that rendering with stand-in values reveals before anything runs: a filter,
/// function or test tera does not have. (Other rendering errors depend on the real values.)
pub fn check_names(text: &str, variables: &[String]) -> Result<(), TemplateError> {
    if !is_template(text) {
        return Ok(());
    }
    let stand_in: Vars = variables
        .iter()
        .map(|name| (name.clone(), "x".to_string()))
        .collect();
    match render(text, &stand_in) {
        Err(error) if error.unknown.is_some() => Err(locate_name(error, text)),
        _ => Ok(()),
    }
}

/// tera reports an unknown filter, function or test by name, in backticks, without a
/// position: point at that name in the text.
fn locate_name(mut error: TemplateError, text: &str) -> TemplateError {
    if error.span.is_none()
        && let Some(unknown) = &error.unknown
    {
        let name = unknown.name();
        if !name.is_empty()
            && let Some(start) = text.find(name)
        {
            error.span = Some(start..start + name.len());
        }
    }
    error
}

/// The hint for a template error: unknown names get the list of filters that exist.
pub(crate) fn hint_for(error: &TemplateError) -> &'static str {
    match error.unknown {
        Some(Unknown::Filter(_)) => {
            "tera's filters work in `{{ }}` (`upper`, `lower`, `trim`, `replace`, `default`, `split`...): check the name"
        }
        Some(Unknown::Other(_)) => {
            "only variables and tera's filters work in `{{ }}`: check the name"
        }
        None => "write values as `{{ name }}`",
    }
}

/// What tera's one-line reason says is unknown: tera tells it only in words (`unknown filter
/// `uper``), so this is the one place that reads them.
fn unknown_in(message: &str) -> Option<Unknown> {
    let name = message.split('`').nth(1).unwrap_or_default().to_string();
    if message.starts_with("unknown filter") {
        Some(Unknown::Filter(name))
    } else if message.starts_with("unknown ") {
        Some(Unknown::Other(name))
    } else {
        None
    }
}

fn lowercase_first(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// tera's errors draw their own source excerpt over several lines; runbook quotes the line
/// itself, so it keeps tera's one-line reason and where it points.
fn describe(error: &tera::Error) -> TemplateError {
    let (message, span) = match error.kind() {
        ErrorKind::SyntaxError(report) | ErrorKind::RenderingError(report) => {
            let message = match report.message() {
                "Unexpected end of input" => "`{{` is never closed by `}}`".to_string(),
                other => lowercase_first(other.trim_end_matches('.')),
            };
            (message, Some(report.span().range.clone()))
        }
        _ => {
            let text = error.to_string();
            let first = text.lines().next().unwrap_or_default();
            (
                lowercase_first(first.trim_start_matches("error: ").trim()),
                None,
            )
        }
    };
    let mut message = message;
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    TemplateError {
        unknown: unknown_in(&message),
        message,
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_variables() {
        let rendered = render(
            "patronictl switchover --leader {{ leader }} --force",
            &vars(&[("leader", "pg-3")]),
        );
        assert_eq!(
            rendered.as_deref(),
            Ok("patronictl switchover --leader pg-3 --force")
        );
    }

    #[test]
    fn shell_syntax_passes_through() {
        let script = "n=${#list[@]}; printf '{%s}' x  # {# not a comment #}\n";
        assert_eq!(variables_in(script), Ok(vec![]));
        assert_eq!(render(script, &Vars::new()).as_deref(), Ok(script));
        let mixed = "echo ${#a} {{ v }} {% raw %}";
        assert_eq!(
            render(mixed, &vars(&[("v", "1")])).as_deref(),
            Ok("echo ${#a} 1 {% raw %}")
        );
    }

    #[test]
    fn finds_variables() {
        assert_eq!(
            variables_in("{{ a }} and {{ b | upper }} {{a}}"),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
    }

    #[test]
    fn missing_variable_and_syntax_errors_are_reported() {
        assert!(render("{{ nope }}", &Vars::new()).is_err());
        let error = variables_in("echo {{ unclosed").expect_err("unclosed");
        assert_eq!(error.message, "`{{` is never closed by `}}`");
        let odd = variables_in("{{ a b }}").expect_err("two words");
        assert_eq!(odd.message, "found identifier but expected }}");
        assert_eq!(odd.span, Some(5..6));
    }

    #[test]
    fn unknown_filters_are_found_before_running() {
        let error = check_names("{{ a | nofilter }}", &["a".into()]).expect_err("unknown");
        assert!(
            error.message.starts_with("unknown filter `nofilter`"),
            "{error}"
        );
        assert_eq!(error.span, Some(7..15));
        assert_eq!(error.unknown, Some(Unknown::Filter("nofilter".into())));
        assert!(hint_for(&error).starts_with("tera's filters work"));
        assert_eq!(check_names("{{ a | upper }}", &["a".into()]), Ok(()));
        let syntax = variables_in("{{ a").expect_err("never closed");
        assert_eq!(syntax.unknown, None);
        assert_eq!(hint_for(&syntax), "write values as `{{ name }}`");
    }

    #[test]
    fn escaping_applies_to_values_only() {
        let rendered = render_with("^{{ v }}.*$", &vars(&[("v", "a.b")]), |value| {
            regex::escape(value)
        });
        assert_eq!(rendered.as_deref(), Ok("^a\\.b.*$"));
    }
}
