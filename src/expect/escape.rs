//! The escapes of an ` (esc)` line, as cram and prysk write and read them: reading follows
//! Python's `codecs.escape_decode` (what prysk uses: `\xNN`, `\t`, `\r`, `\n`, `\\`, `\'`,
//! `\"`, `\a`, `\b`, `\f`, `\v`, octal `\0` to `\377`), plus the `\uXXXX` and `\UXXXXXXXX` that
//! `prysk -i` writes for characters that are not printable; writing follows prysk's
//! `_escape_utf8` (a line is escaped when it is not printable UTF-8, and then every character
//! that is not printable is written the way Python's `unicode_escape` writes it).

use std::sync::LazyLock;

use regex::Regex;

/// A backslash sequence an `(esc)` line cannot hold, with its byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnescapeError {
    pub message: String,
    pub span: std::ops::Range<usize>,
}

/// The bytes an escaped text stands for. A backslash before a character that has no escape
/// (`\q`) stays as it is, as in Python; an `\x` without two hex digits, or a backslash that
/// ends the text, is an error (Python refuses them too).
pub fn decode(text: &[u8]) -> Result<Vec<u8>, UnescapeError> {
    let mut out = Vec::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        if text[index] != b'\\' {
            out.push(text[index]);
            index += 1;
            continue;
        }
        let Some(&next) = text.get(index + 1) else {
            return Err(UnescapeError {
                message: "a backslash ends the line: write a literal backslash as `\\\\`"
                    .to_string(),
                span: index..index + 1,
            });
        };
        let simple = match next {
            b'\\' => Some(b'\\'),
            b'\'' => Some(b'\''),
            b'"' => Some(b'"'),
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            index += 2;
            continue;
        }
        match next {
            b'0'..=b'7' => {
                let digits = text[index + 1..]
                    .iter()
                    .take(3)
                    .take_while(|byte| (b'0'..=b'7').contains(byte))
                    .count();
                let value = text[index + 1..index + 1 + digits]
                    .iter()
                    .fold(0u32, |value, digit| value * 8 + u32::from(digit - b'0'));
                // Python keeps the low byte of `\400` to `\777`.
                out.push((value & 0xff) as u8);
                index += 1 + digits;
            }
            b'x' => {
                let digits = hex_digits(&text[index + 2..], 2);
                if digits < 2 {
                    return Err(UnescapeError {
                        message: "`\\x` needs two hex digits, e.g. `\\x1b`".to_string(),
                        span: index..index + 2 + digits,
                    });
                }
                out.push(hex_value(&text[index + 2..index + 4]) as u8);
                index += 4;
            }
            b'u' | b'U' => {
                let width = if next == b'u' { 4 } else { 8 };
                let digits = hex_digits(&text[index + 2..], width);
                let character = (digits == width)
                    .then(|| char::from_u32(hex_value(&text[index + 2..index + 2 + width])))
                    .flatten();
                match character {
                    Some(character) => {
                        let mut buffer = [0u8; 4];
                        out.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
                        index += 2 + width;
                    }
                    None => {
                        // Not a code point: kept as written, as Python's bytes escapes do.
                        out.extend_from_slice(&text[index..index + 2]);
                        index += 2;
                    }
                }
            }
            _ => {
                out.push(b'\\');
                index += 1;
            }
        }
    }
    Ok(out)
}

fn hex_digits(text: &[u8], at_most: usize) -> usize {
    text.iter()
        .take(at_most)
        .take_while(|byte| byte.is_ascii_hexdigit())
        .count()
}

fn hex_value(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |value, digit| {
        value * 16 + char::from(*digit).to_digit(16).unwrap_or(0)
    })
}

/// Characters Python's `str.isprintable` refuses besides the ASCII ones: other (control,
/// format, surrogate, private use, unassigned) and separators other than the space.
static NOT_PRINTABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]").expect("a valid class")
});

/// Whether Python would call `character` printable.
pub fn is_printable(character: char) -> bool {
    if character.is_ascii() {
        return (' '..='~').contains(&character);
    }
    let mut buffer = [0u8; 4];
    !NOT_PRINTABLE.is_match(character.encode_utf8(&mut buffer))
}

/// The escaped form prysk writes for a line that is not printable UTF-8 (without the
/// ` (esc)`), or `None` when the line is written as it is.
pub fn escape(bytes: &[u8]) -> Option<String> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.chars().all(is_printable)
    {
        return None;
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for character in chunk.valid().chars() {
            push_character(&mut out, character);
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    Some(out)
}

/// One character as `unicode_escape` writes it (`\\` for a backslash, as prysk adds).
fn push_character(out: &mut String, character: char) {
    match character {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if is_printable(c) => out.push(c),
        c if u32::from(c) < 0x100 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
        c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
        c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
    }
}

/// Whether an `(esc)` line whose bytes are `expected` matches a line that printed `printed`.
/// prysk writes `\xa0` both for the byte 0xa0 and for the character U+00A0 (and reads it back
/// as the byte), so, as prysk does, the printed line also matches through its escaped form.
pub fn escaped_line_matches(expected: &[u8], printed: &[u8]) -> bool {
    if expected == printed {
        return true;
    }
    match escape(printed) {
        Some(escaped) => decode(escaped.as_bytes()).is_ok_and(|bytes| bytes == expected),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> Vec<u8> {
        decode(text.as_bytes()).unwrap_or_else(|error| panic!("{text}: {error:?}"))
    }

    #[test]
    fn reads_every_escape_python_reads() {
        assert_eq!(decoded(r"\x1b[1m\t\r\n\\"), b"\x1b[1m\t\r\n\\");
        assert_eq!(decoded(r#"\'\"\a\b\f\v"#), b"'\"\x07\x08\x0c\x0b");
        assert_eq!(decoded(r"\001\0\12\377\400"), b"\x01\x00\x0a\xff\x00");
        assert_eq!(
            decoded(r"\0018"),
            b"\x018",
            "octal takes three digits at most"
        );
        assert_eq!(decoded(r"\u00e9\u200b\U0001f600"), "é\u{200b}😀".as_bytes());
        assert_eq!(
            decoded(r"\q\u12"),
            br"\q\u12",
            "unknown escapes stay as written"
        );
    }

    #[test]
    fn refuses_what_python_refuses() {
        let error = decode(br"ab\x1").expect_err("one hex digit");
        assert_eq!(error.span, 2..5);
        assert!(decode(b"ab\\").is_err());
    }

    #[test]
    fn writes_what_prysk_writes() {
        assert_eq!(escape(b"plain text"), None);
        assert_eq!(escape("caf\u{e9} ☺".as_bytes()), None);
        assert_eq!(escape(b"foo \\ \r").as_deref(), Some(r"foo \\ \r"));
        assert_eq!(escape(b"a\tb").as_deref(), Some(r"a\tb"));
        assert_eq!(escape("\u{a0}".as_bytes()).as_deref(), Some(r"\xa0"));
        assert_eq!(escape("\u{200b}".as_bytes()).as_deref(), Some(r"\u200b"));
        assert_eq!(
            escape("\u{e0001}".as_bytes()).as_deref(),
            Some(r"\U000e0001")
        );
        assert_eq!(
            escape(b"\xe2\x98\xba \xff x\t").as_deref(),
            Some("\u{263a} \\xff x\\t")
        );
        assert_eq!(escape(b"\x1b[31m").as_deref(), Some(r"\x1b[31m"));
    }

    #[test]
    fn what_prysk_writes_reads_back() {
        for line in [
            &b"\x00\x01\x1f\x7f"[..],
            "\u{a0}nbsp".as_bytes(),
            "\u{200b}\u{e0001}".as_bytes(),
            b"\xff\xfe invalid",
            b"back\\slash\r",
        ] {
            let written = escape(line).expect("escaped");
            assert!(
                escaped_line_matches(&decoded(&written), line),
                "{written} does not match {line:?}"
            );
        }
    }
}
