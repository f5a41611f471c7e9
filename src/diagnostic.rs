//! Errors about a user's files: where (`file:line`), the line itself, what is wrong and how to
//! fix it. Every input problem found while loading and planning becomes one `Diagnostic`, and
//! they are all reported together before anything runs.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::printable::{Shown, printable};

/// One problem in one of the user's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user would type it (relative to where runbook was started when possible).
    pub(crate) file: PathBuf,
    /// 1-based line number; 0 when the problem is about the file as a whole.
    pub line: usize,
    /// The text of that line, quoted in the message.
    pub source_line: Option<String>,
    /// Byte range within `source_line` to underline.
    pub span: Option<(usize, usize)>,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(file: impl AsRef<Path>, line: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.as_ref().to_path_buf(),
            line,
            source_line: None,
            span: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Quote `text` as the offending line.
    pub(crate) fn quoting(mut self, text: &str) -> Self {
        self.source_line = Some(text.trim_end_matches(['\r', '\n']).to_string());
        self
    }

    /// Underline `needle` in the quoted line (its first occurrence), if present.
    pub(crate) fn underlining(mut self, needle: &str) -> Self {
        if let Some(line) = &self.source_line
            && !needle.is_empty()
            && let Some(start) = line.find(needle)
        {
            self.span = Some((start, start + needle.len()));
        }
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line`, as editors and terminals understand it.
    pub(crate) fn location(&self) -> String {
        if self.line == 0 {
            self.file.display().to_string()
        } else {
            format!("{}:{}", self.file.display(), self.line)
        }
    }
}

/// Text from a user's file as the terminal shows it: a control character (a stray carriage
/// return, an escape sequence) becomes one visible `\u{FFFD}`, so the underline keeps its
/// column.
fn visible(text: &str) -> String {
    printable(text, Shown::Marked)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", visible(&self.message))?;
        writeln!(f, "  --> {}", visible(&self.location()))?;
        if let Some(source) = &self.source_line {
            let number = self.line.to_string();
            let pad = " ".repeat(number.len());
            writeln!(f, "{pad} |")?;
            writeln!(f, "{number} | {}", visible(source))?;
            // An underline that does not fit the line is left out rather than drawn wrong.
            if let Some((start, end)) = self.span
                && let (Some(before), Some(under)) = (source.get(..start), source.get(start..end))
            {
                let prefix: String = before
                    .chars()
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let width = under.chars().count().max(1);
                writeln!(f, "{pad} | {prefix}{}", "^".repeat(width))?;
            }
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = hint: {}", visible(hint))?;
        }
        Ok(())
    }
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= 2.max(candidate.len() / 3) && *distance < candidate.len().max(word.len())
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Diagnostics gathered while loading; empty means the input is good.
#[derive(Debug, Default)]
pub struct Diagnostics(pub(crate) Vec<Diagnostic>);

impl From<Diagnostic> for Diagnostics {
    fn from(problem: Diagnostic) -> Self {
        Diagnostics(vec![problem])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(problems: Vec<Diagnostic>) -> Self {
        Diagnostics(problems)
    }
}

impl Diagnostics {
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_quote_underline_and_hint() {
        let diagnostic = Diagnostic::new("workshop/etcd.md", 12, "unknown attribute `tiemout`")
            .quoting("```bash on=e1 tiemout=30s")
            .underlining("tiemout")
            .hint("did you mean `timeout`?");
        let text = diagnostic.to_string();
        assert_eq!(
            text,
            "error: unknown attribute `tiemout`\n  --> workshop/etcd.md:12\n   |\n12 | ```bash on=e1 tiemout=30s\n   |               ^^^^^^^\n  = hint: did you mean `timeout`?\n"
        );
    }

    /// Found by fuzzing (chapter): a fence line holding lone carriage returns got an
    /// underline computed on the line before its line ending was trimmed, past the quoted
    /// text, and rendering the error panicked.
    #[test]
    fn an_underline_past_the_line_is_left_out_and_control_characters_shown() {
        let mut diagnostic = Diagnostic::new("ch.md", 1, "bad").quoting("```bash\r id=\x1b[2J");
        diagnostic.span = Some((5, 40));
        assert_eq!(
            diagnostic.to_string(),
            "error: bad\n  --> ch.md:1\n  |\n1 | ```bash\u{FFFD} id=\u{FFFD}[2J\n"
        );
        diagnostic.span = Some((9, 11));
        let underline = format!(
            "1 | ```bash\u{FFFD} id=\u{FFFD}[2J\n  | {}^^\n",
            " ".repeat(9)
        );
        assert!(diagnostic.to_string().ends_with(&underline), "{diagnostic}");
    }

    #[test]
    fn suggests_close_words_only() {
        let words = ["timeout", "retry", "user", "on"];
        assert_eq!(did_you_mean("tiemout", words), Some("timeout"));
        assert_eq!(did_you_mean("retyr", words), Some("retry"));
        assert_eq!(did_you_mean("colour", words), None);
    }
}
