//! What a block really printed, made comparable: ANSI escape sequences removed, carriage
//! returns resolved as a terminal would, split into lines, and bytes that are not printable
//! UTF-8 shown escaped (`\xff`, `\x1b`), so reports stay readable whatever a command emits.

/// One line of real output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualLine {
    /// The line as text: verbatim when printable, otherwise its escaped form.
    pub text: String,
    /// `text` is an escaped form (the line held control characters or invalid UTF-8).
    pub escaped: bool,
}

impl ActualLine {
    /// The bytes the command printed for this line (after ANSI stripping).
    pub fn bytes(&self) -> Vec<u8> {
        if self.escaped {
            unescape(&self.text).unwrap_or_else(|_| self.text.clone().into_bytes())
        } else {
            self.text.clone().into_bytes()
        }
    }

    /// The line as an expected file writes it (`... (esc)` when escaped).
    pub fn as_expected(&self) -> String {
        if self.escaped {
            format!("{} (esc)", break_templates(&self.text))
        } else if needs_protection(&self.text) {
            // A literal line that looks like an annotation, `...` or a template must not be
            // read as one.
            format!("{} (esc)", escape_literal(&self.text))
        } else {
            self.text.clone()
        }
    }
}

/// Would this literal text be misread as a pattern line?
fn needs_protection(text: &str) -> bool {
    text == "..."
        || text.contains("{{")
        || [" (re)", " (glob)", " (esc)", " (no-eol)"]
            .iter()
            .any(|suffix| text.ends_with(suffix))
}

/// In an escaped form, `{{` would still start a template: write its braces as bytes.
fn break_templates(escaped: &str) -> String {
    if escaped.contains("{{") {
        escaped.replace('{', "\\x7b")
    } else {
        escaped.to_string()
    }
}

/// A literal line as the body of an `(esc)` line that reads back as the same text.
fn escape_literal(text: &str) -> String {
    let out = break_templates(&text.replace('\\', "\\\\"));
    if out == "..." {
        return "\\x2e..".to_string();
    }
    let mut out = out;
    // Escape the space before the trailing annotation-like word so it reads back as text.
    if let Some(position) = out.rfind(" (") {
        out.replace_range(position..position + 1, "\\x20");
    }
    out
}

/// Output split into lines, with whether it ended with a newline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActualOutput {
    pub lines: Vec<ActualLine>,
    /// The output did not end with a newline (and was not empty).
    pub no_eol: bool,
}

impl ActualOutput {
    pub fn from_bytes(raw: &[u8]) -> Self {
        let clean = strip_ansi(raw);
        let mut lines = Vec::new();
        let mut pieces: Vec<&[u8]> = clean.split(|&b| b == b'\n').collect();
        let no_eol = match pieces.last() {
            Some([]) => {
                pieces.pop();
                false
            }
            Some(_) => true,
            None => false,
        };
        for piece in pieces {
            // Trailing blanks are ignored on both sides; dropping them from the bytes (not
            // only from the text) keeps an escaped line equal to its `(esc)` form.
            let visible = trim_trailing_blanks(resolve_carriage_returns(piece));
            let (text, escaped) = escape_line(visible);
            lines.push(ActualLine {
                text: text.trim_end().to_string(),
                escaped,
            });
        }
        ActualOutput { lines, no_eol }
    }

    /// The output as text for display: lines joined, escaped lines shown escaped.
    pub fn display(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            text.push_str(&line.text);
            text.push('\n');
        }
        if self.no_eol {
            text.pop();
        }
        text
    }
}

/// The bytes without trailing spaces and tabs (what an `(esc)` line ignores too).
pub fn trim_trailing_blanks(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&byte| byte != b' ' && byte != b'\t')
        .map_or(0, |index| index + 1);
    &bytes[..end]
}

/// A terminal shows what was written after the last carriage return of a line (progress
/// bars overwrite themselves). A `\r` just before the newline (CRLF) is dropped.
fn resolve_carriage_returns(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.iter().rposition(|&b| b == b'\r') {
        Some(position) => &line[position + 1..],
        None => line,
    }
}

/// Escapes a line if it holds invalid UTF-8 or control characters other than tab.
pub fn escape_line(bytes: &[u8]) -> (String, bool) {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.chars().any(|c| c.is_control() && c != '\t')
    {
        return (text.to_string(), false);
    }
    (escape_bytes(bytes), true)
}

/// The escaped form: printable characters as they are, `\\` for a backslash, `\xNN` for other
/// bytes (control characters, invalid UTF-8).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for character in chunk.valid().chars() {
            match character {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let mut buffer = [0u8; 4];
                    for byte in c.encode_utf8(&mut buffer).bytes() {
                        out.push_str(&format!("\\x{byte:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// A backslash sequence an `(esc)` line cannot hold, with its byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnescapeError {
    pub message: String,
    pub span: std::ops::Range<usize>,
}

/// Turns an escaped form back into bytes (for `(esc)` lines).
pub fn unescape(text: &str) -> Result<Vec<u8>, UnescapeError> {
    let mut out = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'\\' {
            out.push(bytes[index]);
            index += 1;
            continue;
        }
        match bytes.get(index + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                index += 2;
            }
            Some(b't') => {
                out.push(b'\t');
                index += 2;
            }
            Some(b'r') => {
                out.push(b'\r');
                index += 2;
            }
            Some(b'x') => {
                let digits = bytes[index + 2..]
                    .iter()
                    .take(2)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
                if digits < 2 {
                    return Err(UnescapeError {
                        message: "`\\x` needs two hex digits, e.g. `\\x1b`".to_string(),
                        span: index..index + 2 + digits,
                    });
                }
                let hex = &text[index + 2..index + 4];
                let byte = u8::from_str_radix(hex, 16).map_err(|_| UnescapeError {
                    message: format!("`\\x{hex}` is not a hex byte"),
                    span: index..index + 4,
                })?;
                out.push(byte);
                index += 4;
            }
            next => {
                // Underline the backslash and the whole character after it, if any.
                let width = next.map_or(0, |_| {
                    text[index + 1..].chars().next().map_or(0, char::len_utf8)
                });
                let shown = &text[index..index + 1 + width];
                return Err(UnescapeError {
                    message: format!("unknown escape `{shown}`"),
                    span: index..index + 1 + width,
                });
            }
        }
    }
    Ok(out)
}

/// Removes ANSI escape sequences (CSI, OSC and two-byte ESC sequences).
pub fn strip_ansi(raw: &[u8]) -> Vec<u8> {
    if !raw.contains(&0x1b) {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut index = 0;
    while index < raw.len() {
        let byte = raw[index];
        if byte != 0x1b {
            out.push(byte);
            index += 1;
            continue;
        }
        match raw.get(index + 1) {
            Some(b'[') => {
                // CSI: parameters and intermediates, then one final byte in 0x40..=0x7e.
                let mut end = index + 2;
                while end < raw.len() && !(0x40..=0x7e).contains(&raw[end]) {
                    end += 1;
                }
                index = end + 1;
            }
            Some(b']') => {
                // OSC: ends with BEL or ESC \.
                let mut end = index + 2;
                while end < raw.len() {
                    if raw[end] == 0x07 {
                        end += 1;
                        break;
                    }
                    if raw[end] == 0x1b && raw.get(end + 1) == Some(&b'\\') {
                        end += 2;
                        break;
                    }
                    end += 1;
                }
                index = end;
            }
            Some(next) if (0x40..=0x5f).contains(next) => index += 2,
            _ => {
                // A lone ESC: keep it, it will be shown escaped.
                out.push(byte);
                index += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_notes_missing_newline() {
        let output = ActualOutput::from_bytes(b"one\ntwo  \nthree");
        assert_eq!(output.lines.len(), 3);
        assert_eq!(output.lines[1].text, "two");
        assert!(output.no_eol);
        assert!(!ActualOutput::from_bytes(b"one\n").no_eol);
        assert!(ActualOutput::from_bytes(b"").lines.is_empty());
    }

    #[test]
    fn strips_ansi_and_resolves_carriage_returns() {
        let output = ActualOutput::from_bytes(
            b"\x1b[1;31mred\x1b[0m\r\n10%\r50%\r100%\n\x1b]0;title\x07ok\n",
        );
        let texts: Vec<&str> = output.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["red", "100%", "ok"]);
    }

    #[test]
    fn escapes_control_and_invalid_bytes() {
        let output = ActualOutput::from_bytes(b"a\xffb\x01c\\\n");
        assert_eq!(output.lines[0].text, "a\\xffb\\x01c\\\\");
        assert!(output.lines[0].escaped);
        assert_eq!(
            unescape(&output.lines[0].text).expect("valid"),
            b"a\xffb\x01c\\"
        );
    }

    /// Found by fuzzing (matcher): output holding `{{` was blessed as a literal line, which
    /// the next run read as a template and could not render.
    #[test]
    fn braces_in_output_are_not_blessed_as_templates() {
        for (raw, written) in [
            (&b"{{ x }}"[..], "\\x7b\\x7b x }} (esc)"),
            (&b"\x01{{"[..], "\\x01\\x7b\\x7b (esc)"),
            (&b"a {b} c"[..], "a {b} c"),
        ] {
            let output = ActualOutput::from_bytes(raw);
            assert_eq!(output.lines[0].as_expected(), written);
            let body = written.trim_end_matches(" (esc)");
            if written.ends_with(" (esc)") {
                assert_eq!(unescape(body).expect("valid"), raw);
            }
        }
    }

    /// Found by fuzzing (matcher): an escaped line ending in a tab kept the tab, which its
    /// blessed `(esc)` form drops, so the blessed file did not match the output it came from.
    #[test]
    fn trailing_blanks_are_dropped_from_escaped_lines_too() {
        let output = ActualOutput::from_bytes(b"\xff\t \t");
        assert_eq!(output.lines[0].text, "\\xff");
        assert_eq!(output.lines[0].bytes(), b"\xff");
    }

    #[test]
    fn lines_that_look_like_patterns_are_protected() {
        let line = ActualLine {
            text: "hello (re)".into(),
            escaped: false,
        };
        let written = line.as_expected();
        assert!(written.ends_with(" (esc)"));
        let body = written.trim_end_matches(" (esc)");
        assert_eq!(unescape(body).expect("valid"), b"hello (re)");
        let dots = ActualLine {
            text: "...".into(),
            escaped: false,
        };
        assert_eq!(
            unescape(dots.as_expected().trim_end_matches(" (esc)")).expect("valid"),
            b"..."
        );
    }
}
