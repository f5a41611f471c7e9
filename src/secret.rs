//! Secret values (a replication password...) replaced by a placeholder in everything runbook
//! records, before matching, so that no terminal line, report or blessed expected file ever
//! holds them.

use crate::template::Vars;

/// Replaces secret values by `[secret:NAME]`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (value, name), longest values first so that one secret containing another is replaced
    /// whole.
    secrets: Vec<(String, String)>,
}

impl Redactor {
    /// Secrets named in `names`, with their values taken from `vars`.
    pub fn new(names: &[String], vars: &Vars) -> Self {
        let mut secrets: Vec<(String, String)> = names
            .iter()
            .filter_map(|name| vars.get(name).map(|value| (value.clone(), name.clone())))
            .filter(|(value, _)| !value.is_empty())
            .collect();
        secrets.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        Redactor { secrets }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, name) in &self.secrets {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("[secret:{name}]"));
            }
        }
        out
    }

    /// For raw output: bytes are redacted as text where they are valid UTF-8.
    pub fn apply_bytes(&self, bytes: &[u8]) -> Vec<u8> {
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
}
