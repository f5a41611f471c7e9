//! `--bless` on a cram test file (`.t`): a command's expected output lives in the file itself,
//! under the command, so its blessed output is written there, in place, as `prysk -i` patches
//! the file: the command's output lines (indented by two spaces, its `[N]` line among them)
//! are replaced by the blessed lines, and every other line of the file (comments, commands,
//! the output of the commands that passed) stays byte for byte.
//!
//! The steps of a file are blessed one after another, each as it finishes, and a rewrite
//! changes the number of lines below it: [`Shifts`] remembers, per file, how many lines the
//! rewrites so far added or removed, so that a later command, known by its line in the file
//! as it was read, is found where it now is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::write::{BlessError, Change};

/// Lines added (or, negative, removed) by the rewrites so far, per test file.
#[derive(Debug, Default)]
pub(crate) struct Shifts(HashMap<PathBuf, isize>);

/// The indentation of a cram test's commands and output.
const INDENT: &[u8] = b"  ";

/// Writes `blessed` (the command's new output, cram's syntax, one line per line, its `[N]`
/// line last if it has one) as the output of the command at line `line` (1-based, in the file
/// as it was read) of the test file `path`. `None` when nothing changed.
pub(crate) fn write_blessed(
    path: &Path,
    line: usize,
    blessed: &str,
    shifts: &mut Shifts,
) -> Result<Option<Change>, BlessError> {
    let error = |source| BlessError {
        path: path.to_path_buf(),
        source,
    };
    let before = std::fs::read(path).map_err(error)?;
    let shift = shifts.0.get(path).copied().unwrap_or_default();
    let Some(now) = line.checked_add_signed(shift) else {
        return Ok(None);
    };
    let Some((after, removed, added)) = rewritten(&before, now, blessed) else {
        return Ok(None);
    };
    if after == before {
        return Ok(None);
    }
    crate::user_file::write_atomically(path, &after).map_err(error)?;
    *shifts.0.entry(path.to_path_buf()).or_default() += added as isize - removed as isize;
    Ok(Some(Change {
        path: path.to_path_buf(),
        created: false,
        lines_changed: removed + added,
    }))
}

/// The file `text` with the output of the command at line `line` (1-based) replaced by
/// `blessed`, and how many lines were removed and added; `None` when that line is no command.
fn rewritten(text: &[u8], line: usize, blessed: &str) -> Option<(Vec<u8>, usize, usize)> {
    let lines: Vec<&[u8]> = text.split_inclusive(|&byte| byte == b'\n').collect();
    let command = line.checked_sub(1)?;
    if !lines.get(command)?.starts_with(b"  $ ") {
        return None;
    }
    // The command's own lines: its `$ ` line and its `> ` continuations.
    let mut start = command + 1;
    while lines
        .get(start)
        .is_some_and(|line| line.starts_with(b"  > "))
    {
        start += 1;
    }
    // Its output: the indented lines up to the next command or the next comment. A `> ` line
    // among them is more of the command (cram gives it to the shell): it moves up, under the
    // command's other lines, where `prysk -i` writes it.
    let mut end = start;
    let mut moved_up: Vec<&[u8]> = Vec::new();
    while let Some(line) = lines.get(end)
        && line.starts_with(INDENT)
        && !line.starts_with(b"  $ ")
    {
        if line.starts_with(b"  > ") {
            moved_up.push(line);
        }
        end += 1;
    }
    let mut out = Vec::with_capacity(text.len() + blessed.len());
    for kept in lines[..start].iter().chain(&moved_up) {
        out.extend_from_slice(kept);
    }
    // A file whose last line had no newline gets one before the lines written after it.
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let added = blessed.lines().count();
    for new in blessed.lines() {
        out.extend_from_slice(INDENT);
        out.extend_from_slice(new.as_bytes());
        out.push(b'\n');
    }
    // Output lines after a comment are this command's too (cram reads them so): they go, and
    // the comments stay, below the new output, as `prysk -i` leaves them.
    let mut removed = end - start - moved_up.len();
    let mut rest = end;
    while let Some(line) = lines.get(rest)
        && !line.starts_with(b"  $ ")
    {
        if !line.starts_with(INDENT) || line.starts_with(b"  > ") {
            out.extend_from_slice(line);
        } else {
            removed += 1;
        }
        rest += 1;
    }
    for kept in &lines[rest..] {
        out.extend_from_slice(kept);
    }
    Some((out, removed, added))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(text: &str, line: usize, blessed: &str) -> String {
        let (out, _, _) = rewritten(text.as_bytes(), line, blessed).expect("a command");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn only_the_command_s_output_lines_change() {
        let text =
            "Intro.\n\n  $ echo a\n  old\n  [1]\nA comment.\n  $ cat <<EOF\n  > x\n  > EOF\n  y\n";
        assert_eq!(
            rewrite(text, 3, "a\n"),
            "Intro.\n\n  $ echo a\n  a\nA comment.\n  $ cat <<EOF\n  > x\n  > EOF\n  y\n"
        );
        assert_eq!(
            rewrite(text, 7, "x\n\n[2]\n"),
            "Intro.\n\n  $ echo a\n  old\n  [1]\nA comment.\n  $ cat <<EOF\n  > x\n  > EOF\n  x\n  \n  [2]\n"
        );
        assert_eq!(rewritten(text.as_bytes(), 4, "x\n"), None, "not a command");
    }

    #[test]
    fn output_lines_after_a_comment_go_with_their_command() {
        assert_eq!(
            rewrite(
                "  $ printf 'a\\nb\\n'\n  a\ncomment\n  c\n\n  $ true\n",
                1,
                "a\nb\n"
            ),
            "  $ printf 'a\\nb\\n'\n  a\n  b\ncomment\n\n  $ true\n"
        );
    }

    #[test]
    fn a_command_that_printed_nothing_gets_its_output_under_it() {
        assert_eq!(
            rewrite("  $ echo a\n  $ true", 1, "a\n"),
            "  $ echo a\n  a\n  $ true"
        );
        assert_eq!(rewrite("  $ echo a", 1, "a\n"), "  $ echo a\n  a\n");
    }

    #[test]
    fn later_commands_are_found_after_earlier_rewrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.t");
        std::fs::write(&path, "  $ echo a\n  $ echo b\n  x\n  y\n").expect("write");
        let mut shifts = Shifts::default();
        let first = write_blessed(&path, 1, "a\nmore\n", &mut shifts).expect("writes");
        assert_eq!(first.map(|change| change.lines_changed), Some(2));
        write_blessed(&path, 2, "b\n", &mut shifts).expect("writes");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "  $ echo a\n  a\n  more\n  $ echo b\n  b\n"
        );
    }
}
