//! Text that came from a host or a user's file, made safe to print on a terminal: a control
//! character (an escape sequence, a carriage return, a bell) is shown, never obeyed, so it
//! can neither move the cursor, retitle or clear the terminal, nor garble the message.

/// How a control character is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    /// As its bytes, `\x1b`: nothing is lost (messages quoting what a host printed).
    Escaped,
    /// As one `\u{FFFD}`, one column wide, so that an underline below the text keeps its
    /// place (quoted lines of a user's file).
    Marked,
}

/// Whether `c` would act on a terminal rather than show (a tab only moves to the next stop).
pub(crate) fn is_control(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// `text` with its control characters shown as `shown` says.
pub(crate) fn printable(text: &str, shown: Shown) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !is_control(c) {
            out.push(c);
            continue;
        }
        match shown {
            Shown::Marked => out.push('\u{FFFD}'),
            Shown::Escaped => {
                let mut buffer = [0u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
        }
    }
    out
}

/// A line runbook is about to write to a terminal, made of its own styling (SGR colour
/// sequences, `ESC [ digits m`, which the console crate writes) and text from elsewhere: the
/// colour sequences are kept, every other control character is shown escaped. The last line
/// of defence: text runbook did not write is escaped where it is put in the line (so its own
/// colour sequences show too); whatever was missed there still cannot retitle, clear or move
/// the terminal, or write its clipboard.
pub(crate) fn for_terminal(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(length) = colour_sequence_length(rest)
        {
            out.push_str(&rest[..length]);
            rest = &rest[length..];
            continue;
        }
        if c == '\n' || !is_control(c) {
            out.push(c);
        } else {
            out.push_str(&printable(&c.to_string(), Shown::Escaped));
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Prints one line on stdout through [`for_terminal`]: what the reporters print (`say!`).
/// A failed write is ignored, where `println!` would panic: after a hang-up the terminal is
/// gone (EIO) until runbook notices the SIGHUP, and the run must still end and write its
/// report.
pub(crate) fn print_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{}", for_terminal(line));
}

/// A writer that passes every line through [`for_terminal`] on its way to `inner`: the
/// reporters that draw into a writer (`verify`'s, `check`'s, `step`'s) write what a workshop,
/// a host or a program said, and none of it may act on the terminal. A line is written when
/// its newline comes (or on `flush`). Failed writes are the caller's to ignore.
pub(crate) struct TerminalWriter<W: std::io::Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: std::io::Write> std::fmt::Debug for TerminalWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalWriter").finish_non_exhaustive()
    }
}

impl<W: std::io::Write> TerminalWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        TerminalWriter {
            inner,
            pending: Vec::new(),
        }
    }

    fn write_pending(&mut self, through: usize) -> std::io::Result<()> {
        let line: Vec<u8> = self.pending.drain(..through).collect();
        let (text, newline) = match line.strip_suffix(b"\n") {
            Some(text) => (text, true),
            None => (&line[..], false),
        };
        let shown = for_terminal(&String::from_utf8_lossy(text));
        self.inner.write_all(shown.as_bytes())?;
        if newline {
            self.inner.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl<W: std::io::Write> Drop for TerminalWriter<W> {
    fn drop(&mut self) {
        // A last line without its newline is still shown.
        let _ = std::io::Write::flush(self);
    }
}

impl<W: std::io::Write> std::io::Write for TerminalWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
            self.write_pending(end + 1)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let all = self.pending.len();
        if all > 0 {
            self.write_pending(all)?;
        }
        self.inner.flush()
    }
}

/// `println!` for the reporters: the line goes through [`for_terminal`], so no text from a
/// workshop, a host or a program can act on the terminal, whichever message it ends up in.
macro_rules! say {
    () => {
        $crate::printable::print_line("")
    };
    ($($argument:tt)*) => {
        $crate::printable::print_line(&format!($($argument)*))
    };
}
pub(crate) use say;

/// The length of the SGR sequence (`ESC [ 1;31 m`) `text` starts with, if it does.
fn colour_sequence_length(text: &str) -> Option<usize> {
    let parameters = text.strip_prefix("\u{1b}[")?;
    let digits = parameters
        .bytes()
        .take_while(|byte| byte.is_ascii_digit() || *byte == b';')
        .count();
    (parameters.as_bytes().get(digits) == Some(&b'm')).then_some(2 + digits + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped_or_marked() {
        let hostile = "lost: \u{1b}]0;title\u{7}\tend\u{9b}";
        assert_eq!(
            printable(hostile, Shown::Escaped),
            "lost: \\x1b]0;title\\x07\tend\\xc2\\x9b"
        );
        assert_eq!(
            printable(hostile, Shown::Marked),
            "lost: \u{FFFD}]0;title\u{FFFD}\tend\u{FFFD}"
        );
        assert_eq!(printable("plain é text", Shown::Escaped), "plain é text");
    }

    /// Issue 24: a chapter's text reached `runbook step`'s terminal with its escapes live.
    #[test]
    fn a_terminal_line_keeps_colours_and_shows_every_other_escape() {
        let line = "\u{1b}[1;34m── Chapter\u{1b}[0m \u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[10;1H\rend\n";
        assert_eq!(
            for_terminal(line),
            "\u{1b}[1;34m── Chapter\u{1b}[0m \\x1b]0;owned\\x07\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07\\x1b[10;1H\\x0dend\n"
        );
        assert_eq!(for_terminal("\u{1b}[m plain"), "\u{1b}[m plain");
        assert_eq!(for_terminal("\u{1b}[31"), "\\x1b[31");
    }
}
