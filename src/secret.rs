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

/// Replaces secret values by `[secret:NAME]`: the value as written, and the forms a command
/// commonly prints it in (base64, URL-encoding, hex, the value broken across two lines).
/// Masking is best effort, as in CI systems: a secret printed in another form, or computed
/// from, gets through; the manual says so (docs/src/inventory.md).
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    /// (what to find, what to put instead), longest first so that one secret (or form)
    /// containing another is replaced whole.
    secrets: Vec<(String, String)>,
    /// Each secret percent-encoded in any mixture (see [`percent_encoded_pattern`]), with its
    /// placeholder; the longest value first. Applied after `secrets`, so that a secret
    /// holding another is already replaced whole when the shorter one's pattern runs.
    percent_encoded: Vec<PercentEncoded>,
}

/// A secret's percent-encoded forms, as text and as bytes (raw output).
#[derive(Debug, Clone)]
struct PercentEncoded {
    text: regex::Regex,
    bytes: regex::bytes::Regex,
    placeholder: String,
}

/// A pattern for `value` percent-encoded by any encoder: which characters an encoder leaves
/// as they are differs (`encodeURIComponent` encodes `/`, Python's `quote` keeps it,
/// `encodeURI` keeps `:@&=+$,;?#`), so each character that is not a letter or a digit may
/// be itself or `%XX` (hex in either case), a space also `+`. `None` for a value that no
/// encoder changes (letters and digits only), or whose fully encoded form is too short to
/// tell from other output.
fn percent_encoded_pattern(value: &str) -> Option<String> {
    // One hex digit of a `%XX` escape, in either case.
    let hex_digit = |nibble: u8| match nibble {
        0..=9 => char::from(b'0' + nibble).to_string(),
        _ => {
            let upper = char::from(b'A' + nibble - 10);
            format!("[{upper}{}]", upper.to_ascii_lowercase())
        }
    };
    let mut pattern = String::new();
    let mut fully_encoded_length = 0;
    for character in value.chars() {
        if character.is_ascii_alphanumeric() {
            pattern.push(character);
            fully_encoded_length += 1;
            continue;
        }
        let mut utf8 = [0; 4];
        let bytes = character.encode_utf8(&mut utf8).as_bytes();
        fully_encoded_length += 3 * bytes.len();
        let encoded: String = bytes
            .iter()
            .map(|byte| format!("%{}{}", hex_digit(byte >> 4), hex_digit(byte & 0xf)))
            .collect();
        let space = if character == ' ' { "|\\+" } else { "" };
        pattern.push_str(&format!(
            "(?:{}|{encoded}{space})",
            regex::escape(&character.to_string())
        ));
    }
    let changed_by_encoding = fully_encoded_length > value.len();
    (changed_by_encoding && fully_encoded_length >= SHORTEST_ENCODED_FORM).then_some(pattern)
}

/// Encoded forms shorter than this are not masked: a 4-character base64 or hex fragment
/// occurs in ordinary output too often to hide it.
const SHORTEST_ENCODED_FORM: usize = 8;

const BASE64_STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_URL_SAFE: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 of `bytes` in `alphabet`, with `=` padding.
fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for index in 0..4 {
            if index <= group.len() {
                out.push(char::from(
                    alphabet[((n >> (18 - 6 * index)) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The forms of `value` masked besides the value itself (percent-encoding, which has too many
/// mixtures to list, is [`percent_encoded_pattern`]'s).
fn encoded_forms(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut forms = Vec::new();
    for alphabet in [BASE64_STANDARD, BASE64_URL_SAFE] {
        let whole = base64(bytes, alphabet);
        forms.push(whole.trim_end_matches('=').to_string());
        forms.push(whole);
        // Inside longer base64 (`user:secret`, a JSON document), the secret starts at any
        // of three positions within a 3-byte group; the characters that encode only its
        // own bytes are the same whatever surrounds it. Those are masked, for each start.
        for skip in 0..3 {
            if let Some(rest) = bytes.get(skip..) {
                let whole_groups = &rest[..rest.len() / 3 * 3];
                forms.push(base64(whole_groups, alphabet));
            }
        }
    }
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    forms.push(hex.to_uppercase());
    forms.push(hex);
    forms.retain(|form| form.len() >= SHORTEST_ENCODED_FORM && form != value);
    forms.sort();
    forms.dedup();
    forms
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
        let mut secrets: Vec<(String, String)> = Vec::new();
        let mut percent_encoded: Vec<(usize, PercentEncoded)> = Vec::new();
        for name in names {
            let Some(value) = vars.get(name).filter(|value| !value.is_empty()) else {
                continue;
            };
            let placeholder = format!("[secret:{name}]");
            secrets.push((value.clone(), placeholder.clone()));
            // Built from escaped characters and fixed classes, so only a value too long for
            // the regex size limit fails; it is still masked as written and in its other forms.
            if let Some(pattern) = percent_encoded_pattern(value)
                && let (Ok(text), Ok(bytes)) = (
                    regex::Regex::new(&pattern),
                    regex::bytes::Regex::new(&pattern),
                )
            {
                percent_encoded.push((
                    value.len(),
                    PercentEncoded {
                        text,
                        bytes,
                        placeholder: placeholder.clone(),
                    },
                ));
            }
            for form in encoded_forms(value) {
                secrets.push((form, placeholder.clone()));
            }
            // Broken across two lines (a wrapped terminal, `fold`, a tool that wraps its
            // output): each part is masked, the line break kept so that lines still match.
            let characters: Vec<(usize, char)> = value.char_indices().collect();
            if value.len() >= SHORTEST_ENCODED_FORM {
                for (at, _) in characters.iter().skip(1) {
                    let (first, second) = value.split_at(*at);
                    for newline in ["\n", "\r\n"] {
                        secrets.push((
                            format!("{first}{newline}{second}"),
                            format!("{placeholder}{newline}{placeholder}"),
                        ));
                    }
                }
            }
        }
        percent_encoded.sort_by_key(|(length, _)| std::cmp::Reverse(*length));
        let mut seen = std::collections::HashSet::new();
        secrets.retain(|(value, _)| seen.insert(value.clone()));
        secrets.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        Redactor {
            secrets,
            percent_encoded: percent_encoded.into_iter().map(|(_, form)| form).collect(),
        }
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, placeholder) in &self.secrets {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), placeholder);
            }
        }
        for form in &self.percent_encoded {
            if form.text.is_match(&out) {
                out = form
                    .text
                    .replace_all(&out, regex::NoExpand(&form.placeholder))
                    .into_owned();
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

    /// Output redacted as bytes, and a line in which escape sequences, backspaces or carriage
    /// returns split a secret (it is whole only as a terminal draws the line) is redacted as
    /// drawn, so that no secret gets through in colours or overwritten characters. Used for
    /// both views: a `raw` block keeps its escapes where no secret is cut.
    pub(crate) fn apply_bytes_as_printed(&self, bytes: &[u8]) -> Vec<u8> {
        let redacted = self.apply_bytes(bytes);
        let splits = |byte: &u8| matches!(byte, 0x1b | 0x08 | b'\r');
        if self.secrets.is_empty() || !redacted.iter().any(splits) {
            return redacted;
        }
        let mut out = Vec::with_capacity(redacted.len());
        for (index, line) in redacted.split(|&byte| byte == b'\n').enumerate() {
            if index > 0 {
                out.push(b'\n');
            }
            if !line.iter().any(splits) {
                out.extend_from_slice(line);
                continue;
            }
            let shown = drawn(&strip_ansi(line));
            let hidden = self.apply_bytes(&shown);
            if hidden == shown {
                out.extend_from_slice(line);
            } else {
                out.extend_from_slice(&hidden);
                // A CRLF line keeps its CR, which the drawing consumed.
                if line.ends_with(b"\r") {
                    out.push(b'\r');
                }
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
        for (value, placeholder) in &self.secrets {
            let needle = value.as_bytes();
            let replacement = placeholder.as_bytes();
            let mut result = Vec::with_capacity(out.len());
            let mut index = 0;
            while index < out.len() {
                if out[index..].starts_with(needle) {
                    result.extend_from_slice(replacement);
                    index += needle.len();
                } else {
                    result.push(out[index]);
                    index += 1;
                }
            }
            out = result;
        }
        for form in &self.percent_encoded {
            if form.bytes.is_match(&out) {
                out = form
                    .bytes
                    .replace_all(&out, regex::bytes::NoExpand(form.placeholder.as_bytes()))
                    .into_owned();
            }
        }
        out
    }
}

/// A line as a terminal draws it: a backspace moves one character left and a carriage return
/// to the start, and what follows overwrites what was there.
fn drawn(line: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let mut cells: Vec<char> = Vec::with_capacity(text.len());
    let mut column = 0usize;
    for character in text.chars() {
        match character {
            '\u{8}' => column = column.saturating_sub(1),
            '\r' => column = 0,
            _ => {
                if column < cells.len() {
                    cells[column] = character;
                } else {
                    cells.push(character);
                }
                column += 1;
            }
        }
    }
    cells.into_iter().collect::<String>().into_bytes()
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

    fn one_secret(value: &str) -> Redactor {
        let vars: Vars = [("pw".to_string(), value.to_string())]
            .into_iter()
            .collect();
        Redactor::new(&["pw".into()], &vars)
    }

    #[test]
    fn base64_of_a_secret_is_hidden_padded_or_not_standard_or_url_safe() {
        let redactor = one_secret("rep-pass-7Kq9Zx");
        // python3 -c "import base64; print(base64.b64encode(b'rep-pass-7Kq9Zx'))"
        assert_eq!(
            redactor.apply("x cmVwLXBhc3MtN0txOVp4 y"),
            "x [secret:pw] y"
        );
        // The same secret inside longer base64, at each of the three alignments.
        for (encoded, kept) in [
            ("cmVwLXBhc3MtN0txOVp4IXRhaWw=", "IXRhaWw="),
            ("dXJlcC1wYXNzLTdLcTlaeCF0YWls", ""),
            ("dXNyZXAtcGFzcy03S3E5WnghdGFpbA==", ""),
            ("dXNlcmVwLXBhc3MtN0txOVp4IXRhaWw=", "IXRhaWw="),
        ] {
            let hidden = redactor.apply(encoded);
            assert!(hidden.contains("[secret:pw]"), "{encoded} -> {hidden}");
            assert!(hidden.ends_with(kept), "{encoded} -> {hidden}");
            for leak in ["cGFzcy03S3E5", "LXBhc3MtN0tx", "YXNzLTdLcTla"] {
                assert!(!hidden.contains(leak), "{encoded} -> {hidden}");
            }
        }
        // URL-safe alphabet, with padding.
        let url_safe = redactor.apply("-_9yZXAtcGFzcy03S3E5Wng=");
        assert!(!url_safe.contains("cGFzcy03S3E5"), "{url_safe}");
    }

    #[test]
    fn hex_and_url_encoding_of_a_secret_are_hidden() {
        let redactor = one_secret("rep-pass-7Kq9Zx");
        assert_eq!(
            redactor.apply("7265702d706173732d374b71395a78"),
            "[secret:pw]"
        );
        assert_eq!(
            redactor.apply("7265702D706173732D374B71395A78"),
            "[secret:pw]"
        );
        let spaced = one_secret("p@ss w/rd:42!");
        for encoded in ["p%40ss%20w%2Frd%3A42%21", "p%40ss+w%2frd%3a42%21"] {
            assert_eq!(spaced.apply(&format!("q={encoded}&")), "q=[secret:pw]&");
        }
    }

    /// Encoders differ in what they leave as it is: Python's `quote` keeps `/`, `encodeURI`
    /// keeps `:@+`, `quote_plus` writes a space as `+`; each mixture is hidden, in text and
    /// in raw bytes, and a secret with no character an encoder changes gets no pattern.
    #[test]
    fn a_secret_partly_percent_encoded_is_hidden_whatever_the_encoder_kept() {
        let redactor = one_secret("s3cr3t/Pass+word é");
        for encoded in [
            // python3 -c "import urllib.parse; print(urllib.parse.quote('s3cr3t/Pass+word é'))"
            "s3cr3t/Pass%2Bword%20%C3%A9",
            // urllib.parse.quote_plus
            "s3cr3t%2FPass%2Bword+%C3%A9",
            // encodeURI keeps / and +; lower-case hex
            "s3cr3t/Pass+word%20%c3%a9",
        ] {
            assert_eq!(
                redactor.apply(&format!("dsn=x://u:{encoded}@h")),
                "dsn=x://u:[secret:pw]@h",
                "{encoded}"
            );
            assert_eq!(
                redactor.apply_bytes(&[encoded.as_bytes(), b"\xff"].concat()),
                b"[secret:pw]\xff".to_vec()
            );
        }
        // Letters and digits only: nothing for an encoder to change, the value itself is masked.
        assert!(percent_encoded_pattern("rep7Kq9Zx1").is_none());
        assert!(
            percent_encoded_pattern("a/b").is_none(),
            "`a%2Fb`: shorter than 8"
        );
        // Other text that only shares the letters stays.
        assert_eq!(redactor.apply("s3cr3t Pass word"), "s3cr3t Pass word");
    }

    #[test]
    fn a_secret_broken_across_two_lines_is_hidden_and_the_lines_kept() {
        let redactor = one_secret("rep-pass-7Kq9Zx");
        assert_eq!(
            redactor.apply("rep-pass\n-7Kq9Zx end\n"),
            "[secret:pw]\n[secret:pw] end\n"
        );
        assert_eq!(
            redactor.apply("r\r\nep-pass-7Kq9Zx"),
            "[secret:pw]\r\n[secret:pw]"
        );
    }

    /// Issue 24: `printf '%s\b%s\n' "${pw:0:11}" "${pw:10}"` draws the secret whole on a
    /// terminal though its bytes never hold it.
    #[test]
    fn a_secret_split_by_a_backspace_or_a_carriage_return_is_hidden() {
        let redactor = one_secret("rep-pass-7Kq9Zx");
        assert_eq!(
            redactor.apply_bytes_as_printed(b"before\nrep-pass-7K\x08Kq9Zx\nafter\x08\n"),
            b"before\n[secret:pw]\nafter\x08\n"
        );
        assert_eq!(
            redactor.apply_bytes_as_printed(b"xxxxxxxxxxxxxxxxxxxx\rrep-pass-\x08-7Kq9Zx\r\n"),
            b"[secret:pw]xxxxx\r\n"
        );
    }

    #[test]
    fn a_short_secret_has_no_encoded_forms_that_would_hide_ordinary_output() {
        let redactor = one_secret("abc");
        // base64 `YWJj`, hex `616263`: too short to be told from other output.
        assert_eq!(redactor.apply("YWJj 616263 abc"), "YWJj 616263 [secret:pw]");
    }
}
