//! `runbook.yml`, beside the chapters: what a course says once instead of on every fence
//! (the language of a fence that names none, the host and user a block runs on when it does
//! not say, the environment the course's outputs were printed in). Read before the chapters,
//! since a fence's meaning depends on it; checked like every input, errors at `file:line`.
//!
//! Why a file of its own rather than `book.toml` or the master file's front matter: a pandoc
//! course has no `book.toml`, an mdBook course's `book.toml` belongs to the book's build, and
//! the front matter is the authors' text, which runbook reads but does not change. A file
//! beside the chapters serves every kind of course, and an annotated copy of the authors'
//! course adds it without touching a line of theirs. It is YAML, like the inventory beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::chapter::attrs;
use crate::chapter::parse::ChapterOptions;
use crate::diagnostic::{Diagnostic, Diagnostics};

/// The settings file's name, in the workshop folder (or the master file's folder).
pub(crate) const FILE_NAME: &str = "runbook.yml";

/// Every key the file takes, for "did you mean" hints.
const KNOWN_KEYS: &[&str] = &[
    "db", "defaults", "env", "language", "on", "sql-user", "user",
];

/// A workshop's settings; the defaults when it has no `runbook.yml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Where they were read from, for messages (`None`: no file).
    pub(crate) path: Option<PathBuf>,
    pub(crate) defaults: Defaults,
    /// Exported in every session before its first block (`LANG: fr_FR.UTF-8` for a course
    /// whose outputs were printed in French), in the order written.
    pub(crate) env: Vec<(String, String)>,
}

/// What applies to a fence that does not say otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    /// The language of a fence that names none (```` ``` ```` alone): `bash` makes such
    /// fences commands. A bare fence right after a command stays that command's output.
    pub(crate) language: Option<String>,
    /// The host (or group) of a block without `on=` and without a prompt that names one.
    pub(crate) on: Option<String>,
    /// The user of a block without `user=` and without a prompt that names one.
    pub(crate) user: Option<String>,
    /// The database SQL connects to when neither its block (`db=`) nor a `psql` line of its
    /// transcript says (psql's own default otherwise: the user's name).
    pub(crate) db: Option<String>,
    /// The user SQL blocks run psql as when they say nothing (`user:` is for shell blocks
    /// too; a course whose shell runs as root types its SQL as `postgres`).
    #[serde(rename = "sql-user")]
    pub(crate) sql_user: Option<String>,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    env: BTreeMap<String, EnvValue>,
}

/// An environment value: YAML may write a number or a boolean where the shell sees text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EnvValue {
    Text(String),
    Number(i64),
    Flag(bool),
}

impl Settings {
    /// The settings of the workshop in `folder`: its `runbook.yml`, or the defaults.
    pub(crate) fn load(folder: &Path) -> Result<Settings, Diagnostics> {
        let path = folder.join(FILE_NAME);
        // Whatever is there (a FIFO, a directory) is refused when read, not passed over.
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(Settings::default());
        }
        let text = crate::chapter::read_utf8(&path)?;
        if text.trim().is_empty() {
            return Ok(Settings {
                path: Some(path),
                ..Settings::default()
            });
        }
        let file: File = yaml_serde::from_str(&text).map_err(|error| {
            let line = error.location().map_or(0, |location| location.line());
            let message = error.to_string();
            let first = message.lines().next().unwrap_or(&message).to_string();
            // serde names the unknown key: a typo of a known one gets "did you mean".
            let unknown = first
                .split_once("unknown field `")
                .and_then(|(_, rest)| rest.split_once('`'))
                .map(|(name, _)| name.to_string());
            let close = unknown.as_deref().and_then(|name| {
                crate::diagnostic::did_you_mean(name, KNOWN_KEYS.iter().copied())
            });
            let hint = match close {
                Some(close) => format!("did you mean `{close}`?"),
                None => "it holds `defaults:` (language, on, user, db, sql-user) and `env:` (NAME: value), e.g. `defaults: {language: bash, user: postgres}`".to_string(),
            };
            let mut problem = Diagnostic::new(
                &path,
                line,
                format!("{FILE_NAME} cannot be read: {first}"),
            )
            .hint(hint);
            if line > 0 {
                problem = problem.quoting(text.lines().nth(line - 1).unwrap_or_default());
            }
            Diagnostics::from(problem)
        })?;
        let mut problems = Diagnostics::default();
        let line_of = |needle: &str| {
            text.lines()
                .position(|line| line.trim_start().starts_with(needle))
                .map_or(0, |index| index + 1)
        };
        let quote = |line: usize| text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
        if let Some(language) = &file.defaults.language
            && (language.is_empty() || language.contains(char::is_whitespace))
        {
            let line = line_of("language");
            problems.push(
                Diagnostic::new(&path, line, format!("`{language}` is not a language word"))
                    .quoting(quote(line))
                    .hint("give one word, as a fence would: `language: bash`"),
            );
        }
        for (key, value) in [
            ("on", &file.defaults.on),
            ("user", &file.defaults.user),
            ("db", &file.defaults.db),
            ("sql-user", &file.defaults.sql_user),
        ] {
            if value
                .as_deref()
                .is_some_and(|value| value.trim().is_empty())
            {
                let line = line_of(key);
                problems.push(
                    Diagnostic::new(&path, line, format!("`{key}:` is empty"))
                        .quoting(quote(line))
                        .hint(format!("give a value, or remove `{key}:`")),
                );
            }
        }
        let mut env = Vec::new();
        for (name, value) in file.env {
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                let line = line_of(&name);
                problems.push(
                    Diagnostic::new(
                        &path,
                        line,
                        format!("`{name}` cannot be the name of an environment variable"),
                    )
                    .quoting(quote(line))
                    .hint("use letters, digits and `_`, not starting with a digit"),
                );
                continue;
            }
            let value = match value {
                EnvValue::Text(text) => text,
                EnvValue::Number(number) => number.to_string(),
                EnvValue::Flag(flag) => flag.to_string(),
            };
            env.push((name, value));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Settings {
            path: Some(path),
            defaults: file.defaults,
            env,
        })
    }

    /// How chapters read under these settings: a bare fence is a command when the default
    /// language is a shell (another language changes nothing runbook reads).
    pub(crate) fn chapter_options(&self) -> ChapterOptions {
        ChapterOptions {
            bare_fence_shell: self
                .defaults
                .language
                .clone()
                .filter(|language| attrs::is_shell_language(language)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Settings, Diagnostics> {
        let folder = tempfile::tempdir().expect("tempdir");
        std::fs::write(folder.path().join(FILE_NAME), text).expect("write");
        Settings::load(folder.path())
    }

    #[test]
    fn reads_defaults_and_environment() {
        let settings = load(
            "# the course's way\ndefaults:\n  language: bash\n  on: pg-1\n  user: postgres\nenv:\n  LANG: fr_FR.UTF-8\n  PGPORT: 5433\n",
        )
        .expect("valid");
        assert_eq!(settings.defaults.language.as_deref(), Some("bash"));
        assert_eq!(settings.defaults.on.as_deref(), Some("pg-1"));
        assert_eq!(settings.defaults.user.as_deref(), Some("postgres"));
        assert_eq!(
            settings.env,
            [
                ("LANG".to_string(), "fr_FR.UTF-8".to_string()),
                ("PGPORT".to_string(), "5433".to_string())
            ]
        );
        assert_eq!(
            settings.chapter_options().bare_fence_shell.as_deref(),
            Some("bash")
        );
        let none = Settings::load(tempfile::tempdir().expect("tempdir").path()).expect("no file");
        assert_eq!(none, Settings::default());
        assert_eq!(none.chapter_options().bare_fence_shell, None);
    }

    #[test]
    fn a_typo_or_a_bad_name_is_an_error_at_its_line() {
        let problems = load("defaults:\n  langage: bash\n").expect_err("unknown key");
        let problem = &problems.0[0];
        assert_eq!(problem.line, 2, "{problem}");
        assert!(problem.message.contains("langage"), "{problem}");
        let problems = load("env:\n  1LANG: C\n").expect_err("bad name");
        assert_eq!(problems.0[0].line, 2, "{}", problems.0[0]);
        let problems = load("defaults:\n  user: ''\n").expect_err("empty user");
        assert_eq!(problems.0[0].line, 2, "{}", problems.0[0]);
    }
}
