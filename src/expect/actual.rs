//! What a block really printed, made comparable. By default as a terminal would show it: ANSI
//! escape sequences removed and carriage returns resolved (a `raw` block keeps both, to
//! assert the bytes as printed); then split into lines, trailing blanks dropped, and lines
//! that are not printable UTF-8 shown escaped (`\xff`, `\x1b`), so reports stay readable
//! whatever a command emits.

use std::sync::OnceLock;

use super::escape;

/// How the printed bytes are prepared before matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// What a terminal shows: ANSI sequences removed, `\r` resolved (CRLF read as LF).
    #[default]
    Screen,
    /// The bytes as printed (`raw` blocks): colour codes and `\r` stay, to be asserted with
    /// `(esc)`.
    Raw,
}

/// One line of real output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualLine {
    /// The bytes the command printed for this line (prepared as its [`View`] says, trailing
    /// blanks dropped).
    pub bytes: Vec<u8>,
    /// The line as text: verbatim when printable, otherwise its escaped form.
    pub text: String,
    /// `text` is an escaped form (the line held control characters or invalid UTF-8).
    pub escaped: bool,
    /// The line as cram would print it in a `.t` file (computed when first asked).
    cram: OnceLock<String>,
}

impl ActualLine {
    pub fn new(bytes: Vec<u8>) -> Self {
        let (text, escaped) = escape_line(&bytes);
        ActualLine {
            bytes,
            text,
            escaped,
            cram: OnceLock::new(),
        }
    }

    /// The line as cram prints it (`... (esc)` when it is not printable UTF-8): what an
    /// annotated expected line is first compared with, literally, as cram does.
    pub fn cram_form(&self) -> &str {
        self.cram.get_or_init(|| cram_text(&self.bytes))
    }

    /// The same for a last line printed without its newline (` (no-eol)` before ` (esc)`).
    pub fn cram_form_unterminated(&self) -> String {
        let mut bytes = self.bytes.clone();
        bytes.extend_from_slice(b" (no-eol)");
        cram_text(&bytes)
    }

    /// The line as `--bless` writes it, prysk's way: as it is when printable, `... (esc)`
    /// otherwise, with ` (no-eol)` when `unterminated`. A line that runbook would read as
    /// something else (`...`, a `{{` template) is written escaped.
    pub fn as_expected(&self, unterminated: bool) -> String {
        let protect = !self.escaped
            && escape::escape(&self.bytes).is_none()
            && (self.text == "..." || self.text.contains("{{"));
        if protect {
            let mut body = escape_literal(&self.text, !unterminated);
            if unterminated {
                body.push_str(" (no-eol)");
            }
            return format!("{body} (esc)");
        }
        let mut bytes = self.bytes.clone();
        if unterminated {
            bytes.extend_from_slice(b" (no-eol)");
        }
        match escape::escape(&bytes) {
            None => String::from_utf8_lossy(&bytes).into_owned(),
            Some(body) => {
                let mut body = break_templates(&body);
                if !unterminated {
                    protect_no_eol(&mut body);
                }
                format!("{body} (esc)")
            }
        }
    }
}

fn cram_text(bytes: &[u8]) -> String {
    match escape::escape(bytes) {
        Some(escaped) => format!("{escaped} (esc)"),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// In an escaped form, `{{` would still start a template: write its braces as bytes.
fn break_templates(escaped: &str) -> String {
    if escaped.contains("{{") {
        escaped.replace('{', "\\x7b")
    } else {
        escaped.to_string()
    }
}

/// A printable line as the body of an `(esc)` line that reads back as the same text.
fn escape_literal(text: &str, terminated: bool) -> String {
    let out = break_templates(&text.replace('\\', "\\\\"));
    if out == "..." {
        return "\\x2e..".to_string();
    }
    let mut out = out;
    if terminated {
        protect_no_eol(&mut out);
    }
    out
}

/// An `(esc)` body ending in ` (no-eol)` would be read as that annotation: escape its space.
fn protect_no_eol(body: &mut String) {
    if body.ends_with(" (no-eol)") {
        let position = body.len() - " (no-eol)".len();
        body.replace_range(position..position + 1, "\\x20");
    }
}

/// Output split into lines, with whether it ended with a newline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActualOutput {
    pub lines: Vec<ActualLine>,
    /// The output did not end with a newline (and was not empty).
    pub no_eol: bool,
}

impl ActualOutput {
    /// The output as a terminal shows it ([`View::Screen`]).
    pub fn from_bytes(raw: &[u8]) -> Self {
        Self::read(raw, View::Screen)
    }

    pub fn read(raw: &[u8], view: View) -> Self {
        let clean = match view {
            View::Screen => strip_ansi(raw),
            View::Raw => raw.to_vec(),
        };
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
            let visible = match view {
                View::Screen => resolve_carriage_returns(piece),
                View::Raw => piece,
            };
            // Trailing blanks are ignored on both sides; dropping them from the bytes (not
            // only from the text) keeps an escaped line equal to its `(esc)` form.
            lines.push(ActualLine::new(trim_trailing_blanks(visible).to_vec()));
        }
        ActualOutput { lines, no_eol }
    }

    /// Whether line `index` is the last and was printed without its newline.
    pub fn unterminated(&self, index: usize) -> bool {
        self.no_eol && index + 1 == self.lines.len()
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

/// Escapes a line, prysk's way, if it holds invalid UTF-8 or control characters other than
/// tab (what a report could not show as it is).
pub fn escape_line(bytes: &[u8]) -> (String, bool) {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.chars().any(|c| c.is_control() && c != '\t')
    {
        return (text.to_string(), false);
    }
    match escape::escape(bytes) {
        Some(escaped) => (escaped, true),
        None => (String::from_utf8_lossy(bytes).into_owned(), false),
    }
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
            // Terminals consume every ESC sequence, not only the C1 ones: `ESC >` and `ESC =`
            // (keypad modes, which `less` prints on a terminal), `ESC 7`/`ESC 8` (cursor),
            // `ESC ( B` (character sets: intermediates, then a final byte).
            Some(next) if (0x30..=0x7e).contains(next) => index += 2,
            Some(next) if (0x20..=0x2f).contains(next) => {
                let mut end = index + 2;
                while end < raw.len() && (0x20..=0x2f).contains(&raw[end]) {
                    end += 1;
                }
                index = (end + 1).min(raw.len());
            }
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

    fn decoded(text: &str) -> Vec<u8> {
        escape::decode(text.as_bytes()).expect("valid")
    }

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
        assert_eq!(
            strip_ansi(b"\x1b=one\x1b>\x1b7\x1b(Btwo\x1b8\x1b"),
            b"onetwo\x1b",
            "keypad, cursor and character-set sequences; a lone ESC stays"
        );
    }

    #[test]
    fn raw_view_keeps_colours_and_carriage_returns() {
        let output = ActualOutput::read(b"\x1b[1;31mred\x1b[0m\r\n10%\r100%\n", View::Raw);
        let written: Vec<String> = output.lines.iter().map(|l| l.as_expected(false)).collect();
        assert_eq!(
            written,
            vec![
                "\\x1b[1;31mred\\x1b[0m\\r (esc)".to_string(),
                "10%\\r100% (esc)".to_string()
            ]
        );
        assert_eq!(output.lines[0].bytes, b"\x1b[1;31mred\x1b[0m\r");
    }

    #[test]
    fn escapes_control_and_invalid_bytes() {
        let output = ActualOutput::from_bytes(b"a\xffb\x01c\\\n");
        assert_eq!(output.lines[0].text, "a\\xffb\\x01c\\\\");
        assert!(output.lines[0].escaped);
        assert_eq!(decoded(&output.lines[0].text), b"a\xffb\x01c\\");
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
            assert_eq!(output.lines[0].as_expected(false), written);
            let body = written.trim_end_matches(" (esc)");
            if written.ends_with(" (esc)") {
                assert_eq!(decoded(body), raw);
            }
        }
    }

    /// Found by fuzzing (matcher): an escaped line ending in a tab kept the tab, which its
    /// blessed `(esc)` form drops, so the blessed file did not match the output it came from.
    #[test]
    fn trailing_blanks_are_dropped_from_escaped_lines_too() {
        let output = ActualOutput::from_bytes(b"\xff\t \t");
        assert_eq!(output.lines[0].text, "\\xff");
        assert_eq!(output.lines[0].bytes, b"\xff");
    }

    /// Found by fuzzing (matcher, with prysk's escapes): an escaped line whose text ends in
    /// ` (no-eol)` was blessed as `... (no-eol) (esc)`, read back as a last line without
    /// newline; and a printable line ending in ` (esc)` was taken for an escaped form.
    #[test]
    fn blessed_lines_ending_like_annotations_read_back_as_themselves() {
        let escaped = ActualLine::new(b"\x01{{ (no-eol)".to_vec()).as_expected(false);
        assert_eq!(escaped, "\\x01\\x7b\\x7b\\x20(no-eol) (esc)");
        let printable = ActualLine::new(b"}}x{ (no-eol) (esc)".to_vec()).as_expected(false);
        assert_eq!(printable, "}}x{ (no-eol) (esc)");
    }

    #[test]
    fn blessed_as_prysk_writes_it() {
        let line = |bytes: &[u8]| ActualLine::new(bytes.to_vec());
        // Annotation-like text is written as it is: cram matches it literally first.
        assert_eq!(line(b"hello (re)").as_expected(false), "hello (re)");
        assert_eq!(line(b"tab\there").as_expected(false), "tab\\there (esc)");
        assert_eq!(line(b"last").as_expected(true), "last (no-eol)");
        assert_eq!(line(b"\x01").as_expected(true), "\\x01 (no-eol) (esc)");
        let dots = line(b"...").as_expected(false);
        assert_eq!(decoded(dots.trim_end_matches(" (esc)")), b"...");
        let eol = line(b"{{ a (no-eol)").as_expected(false);
        assert_eq!(eol, "\\x7b\\x7b a\\x20(no-eol) (esc)");
    }
}
