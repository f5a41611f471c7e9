//! `{{ name }}` in commands, `on=` and expected files: inventory variables, `--var` values and
//! values captured from earlier output, rendered with tera. Only `{{ ... }}` expressions are
//! template syntax: tera's `{% %}` and `{# #}` are switched off, because shell scripts write
//! `${#array[@]}` and `{%s}` and must reach the host unchanged.

use std::collections::BTreeMap;

use tera::{Context, Delimiters, Tera};

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
pub fn is_template(text: &str) -> bool {
    text.contains("{{")
}

/// The variables `text` refers to, or the template's syntax error.
pub fn variables_in(text: &str) -> Result<Vec<String>, String> {
    if !is_template(text) {
        return Ok(Vec::new());
    }
    let mut tera = engine();
    tera.add_raw_template("block", text)
        .map_err(|error| describe(&error))?;
    let mut names: Vec<String> = tera
        .get_template_variables("block")
        .map_err(|error| describe(&error))?
        .into_iter()
        .map(str::to_string)
        .collect();
    names.sort();
    Ok(names)
}

/// Renders `text` with `vars`, each value passed through `escape` first (identity for commands,
/// `regex::escape` for a regex line...).
pub fn render_with(
    text: &str,
    vars: &Vars,
    escape: impl Fn(&str) -> String,
) -> Result<String, String> {
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

pub fn render(text: &str, vars: &Vars) -> Result<String, String> {
    render_with(text, vars, str::to_string)
}

/// tera's errors nest their cause; one line is what a user needs.
fn describe(error: &tera::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
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
        assert!(variables_in("{{ unclosed").is_err());
    }

    #[test]
    fn escaping_applies_to_values_only() {
        let rendered = render_with("^{{ v }}.*$", &vars(&[("v", "a.b")]), |value| {
            regex::escape(value)
        });
        assert_eq!(rendered.as_deref(), Ok("^a\\.b.*$"));
    }
}
