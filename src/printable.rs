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
}
