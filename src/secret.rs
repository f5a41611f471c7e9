//! Secret values (a replication password...) replaced by a placeholder in everything runbook
//! records, before matching, so that no terminal line, report or blessed expected file ever
//! holds them.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::expect::actual::strip_ansi;
use crate::expect::diff::{Diff, Segment};
use crate::inventory::Inventory;
use crate::template::Vars;

/// Every secret name must name a variable: a typo in `--secret` or `runbook_secrets` would
/// otherwise leave the real secret unprotected without a word.
pub(crate) fn check_names(
    from_command_line: &[String],
    inventory: &Inventory,
    workshop_dir: &Path,
    vars: &Vars,
) -> Diagnostics {
    let mut problems = Diagnostics::default();
    let known: Vec<&str> = vars
        .keys()
        .map(String::as_str)
        .filter(|name| !name.starts_with("runbook_") && !name.starts_with("ansible_"))
        .collect();
    let hint = |name: &str| match did_you_mean(name, known.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!(
            "define `{name}` in the inventory's `vars` or with `--var {name}=VALUE`, or fix the name"
        ),
    };
    for name in from_command_line {
        if !vars.contains_key(name) {
            problems.push(
                Diagnostic::new(
                    workshop_dir,
                    0,
                    format!("`--secret {name}` names no variable, so nothing would be hidden"),
                )
                .hint(hint(name)),
            );
        }
    }
    for name in &inventory.secrets {
        if vars.contains_key(name) {
            continue;
        }
        let mut problem = Diagnostic::new(
            inventory.path.as_deref().unwrap_or(workshop_dir),
            0,
            format!("`runbook_secrets` lists `{name}`, which is not a variable, so nothing would be hidden"),
        )
        .hint(hint(name));
        // Point at the line that names it, under `runbook_secrets`.
        if let Some(path) = &inventory.path
            && let Ok(text) = std::fs::read_to_string(path)
        {
            let start = text
                .lines()
                .position(|line| line.contains("runbook_secrets"))
                .unwrap_or(0);
            if let Some((index, line)) = text
                .lines()
                .enumerate()
                .skip(start)
                .find(|(_, line)| line.contains(name.as_str()))
            {
                problem.line = index + 1;
                problem = problem.quoting(line).underlining(name);
            }
        }
        problems.push(problem);
    }
    problems
}

/// Every variable a block may see on some host: the inventory's, each host's, then `--var`.
pub(crate) fn every_value(inventory: &Inventory, overrides: &Vars) -> Vars {
    let mut vars = inventory.vars.clone();
    for host in &inventory.hosts {
        vars.extend(host.vars.clone());
    }
    vars.extend(overrides.clone());
    vars
}

/// Replaces secret values by `[secret:NAME]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    /// (value, name), longest values first so that one secret containing another is replaced
    /// whole.
    secrets: Vec<(String, String)>,
}

impl Redactor {
    /// The lab's secrets: the inventory's `runbook_secrets` and `command_line_names`, with
    /// their values from any host's variables or `--var` (`overrides`).
    pub(crate) fn for_lab(
        inventory: &Inventory,
        overrides: &Vars,
        command_line_names: &[String],
    ) -> Self {
        let mut names = command_line_names.to_vec();
        names.extend(inventory.secret_names());
        Redactor::new(&names, &every_value(inventory, overrides))
    }

    /// Secrets named in `names`, with their values taken from `vars`.
    pub(crate) fn new(names: &[String], vars: &Vars) -> Self {
        let mut secrets: Vec<(String, String)> = names
            .iter()
            .filter_map(|name| vars.get(name).map(|value| (value.clone(), name.clone())))
            .filter(|(value, _)| !value.is_empty())
            .collect();
        secrets.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        Redactor { secrets }
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, name) in &self.secrets {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("[secret:{name}]"));
            }
        }
        out
    }

    /// Problems found in a user's files: the quoted line, the message and the hint. The
    /// underline follows the text it marked, or goes when that text was a secret.
    pub(crate) fn apply_diagnostics(&self, problems: Diagnostics) -> Diagnostics {
        if self.secrets.is_empty() {
            return problems;
        }
        let redact = |mut problem: Diagnostic| {
            problem.message = self.apply(&problem.message);
            problem.hint = problem.hint.map(|hint| self.apply(&hint));
            if let Some(line) = problem.source_line.take() {
                let redacted = self.apply(&line);
                if redacted != line {
                    let marked = problem
                        .span
                        .and_then(|(start, end)| line.get(start..end))
                        .map(|text| self.apply(text));
                    problem.span = marked.and_then(|text| {
                        let start = redacted.find(text.as_str())?;
                        (!text.is_empty()).then_some((start, start + text.len()))
                    });
                }
                problem.source_line = Some(redacted);
            }
            problem
        };
        Diagnostics(problems.0.into_iter().map(redact).collect())
    }

    /// A mismatch's diff, both sides. A changed line is rebuilt as one piece: the words a
    /// diff marks could otherwise split a secret and hide it from the search.
    pub(crate) fn apply_diff(&self, mut diff: Diff) -> Diff {
        if self.secrets.is_empty() {
            return diff;
        }
        for hunk in &mut diff.hunks {
            for line in &mut hunk.lines {
                let whole: String = line.segments.iter().map(|s| s.text.as_str()).collect();
                let redacted = self.apply(&whole);
                if redacted != whole {
                    let emphasized = line.segments.iter().any(|s| s.emphasized);
                    line.segments = vec![Segment {
                        text: redacted,
                        emphasized,
                    }];
                }
            }
        }
        diff.unified = self.apply(&diff.unified);
        diff
    }

    /// For output kept as printed (`raw` blocks): redacted as bytes, and a line in which
    /// escape sequences split a secret (it is whole only once they are removed) is redacted
    /// without its escape sequences, so that no secret gets through in colours.
    pub(crate) fn apply_bytes_as_printed(&self, bytes: &[u8]) -> Vec<u8> {
        let redacted = self.apply_bytes(bytes);
        if self.secrets.is_empty() || !redacted.contains(&0x1b) {
            return redacted;
        }
        let mut out = Vec::with_capacity(redacted.len());
        for (index, line) in redacted.split(|&byte| byte == b'\n').enumerate() {
            if index > 0 {
                out.push(b'\n');
            }
            let shown = strip_ansi(line);
            let hidden = self.apply_bytes(&shown);
            if hidden == shown {
                out.extend_from_slice(line);
            } else {
                out.extend_from_slice(&hidden);
            }
        }
        out
    }

    /// For raw output: bytes are redacted as text where they are valid UTF-8.
    pub(crate) fn apply_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        if self.secrets.is_empty() {
            return bytes.to_vec();
        }
        let mut out = bytes.to_vec();
        for (value, name) in &self.secrets {
            let needle = value.as_bytes();
            let replacement = format!("[secret:{name}]").into_bytes();
            let mut result = Vec::with_capacity(out.len());
            let mut index = 0;
            while index < out.len() {
                if out[index..].starts_with(needle) {
                    result.extend_from_slice(&replacement);
                    index += needle.len();
                } else {
                    result.push(out[index]);
                    index += 1;
                }
            }
            out = result;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_values_longest_first() {
        let vars: Vars = [
            ("pass".to_string(), "rep-pass".to_string()),
            ("short".to_string(), "rep".to_string()),
        ]
        .into_iter()
        .collect();
        let redactor = Redactor::new(&["pass".into(), "short".into(), "missing".into()], &vars);
        assert_eq!(
            redactor.apply("password 'rep-pass' and rep"),
            "password '[secret:pass]' and [secret:short]"
        );
        assert_eq!(
            redactor.apply_bytes(b"x rep-pass\xff"),
            b"x [secret:pass]\xff"
        );
    }

    #[test]
    fn a_secret_split_by_colours_is_hidden_in_raw_output() {
        let vars: Vars = [("pass".to_string(), "hunter2".to_string())]
            .into_iter()
            .collect();
        let redactor = Redactor::new(&["pass".into()], &vars);
        assert_eq!(
            redactor.apply_bytes_as_printed(
                b"\x1b[1mkept\x1b[0m\nhun\x1b[31mter2\x1b[0m\n\x1b[2mhunter2\x1b[0m\n"
            ),
            b"\x1b[1mkept\x1b[0m\n[secret:pass]\n\x1b[2m[secret:pass]\x1b[0m\n"
        );
    }
}
