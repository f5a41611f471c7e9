//! The workshop folder: which chapters, in which order (`SUMMARY.md`, as mdBook reads it, or
//! file-name order), each parsed into its blocks. First stage of the pipeline
//! (chapters -> plan -> execute -> match -> report).

pub mod attrs;
pub mod parse;
pub(crate) mod prompt;
pub mod transcript;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

pub use parse::{Block, BlockKind};

use crate::diagnostic::{Diagnostic, Diagnostics};

/// One Markdown file of the workshop.
#[derive(Debug, Clone)]
pub(crate) struct Chapter {
    /// Path as shown to the user (the workshop folder as given, joined with the file).
    pub(crate) path: PathBuf,
    /// Path relative to the workshop folder, without `.md`: names `expected/<key>/`.
    pub(crate) key: String,
    pub(crate) title: String,
    pub(crate) blocks: Vec<Block>,
    /// The chapter's text as read, so that a message can quote any line of it.
    pub(crate) text: String,
}

impl Chapter {
    /// Line `number` (1-based) of the chapter's text; empty past its end.
    pub(crate) fn line(&self, number: usize) -> &str {
        self.text
            .lines()
            .nth(number.saturating_sub(1))
            .unwrap_or_default()
    }

    pub(crate) fn runnable_blocks(&self) -> impl Iterator<Item = &Block> {
        self.blocks.iter().filter(|block| block.runs())
    }

    /// The chapter's file name, e.g. `02-etcd.md`.
    pub(crate) fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// All chapters of a workshop, in reading order.
#[derive(Debug, Clone)]
pub(crate) struct Workshop {
    pub(crate) dir: PathBuf,
    pub(crate) chapters: Vec<Chapter>,
}

/// A chapter named by SUMMARY.md or found in the folder, before it is read.
struct ChapterEntry {
    relative: PathBuf,
    title: Option<String>,
}

/// Whether chapters may live outside the workshop folder (`--allow-outside-workshop`).
/// By default they may not, as mdBook reads nothing outside `src/`: a SUMMARY.md naming
/// `../../etc/passwd`, an absolute path or a symlink out of the folder would otherwise have
/// runbook read, and run, a file the workshop does not hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Reach {
    #[default]
    InsideOnly,
    Anywhere,
}

/// Why `relative` (a chapter of the workshop in `dir`) is outside the folder, if it is.
fn outside_workshop(dir: &Path, relative: &Path) -> Option<String> {
    // By its words first (`../x` climbs out whether or not it exists)...
    if let Some(reason) = outside_by_its_words(relative) {
        return Some(reason.into());
    }
    // ...then where it really is: a symlink may point out of the folder.
    let root = dir.canonicalize().ok()?;
    let target = dir.join(relative).canonicalize().ok()?;
    (!target.starts_with(&root)).then(|| {
        format!(
            "a symlink to `{}`, outside the workshop folder",
            target.display()
        )
    })
}

/// Why `relative` leaves the folder it is relative to by its words alone (an absolute path, a
/// `..` that climbs above it), if it does. Such a path cannot name a chapter's expected files
/// (`expected/<path>/`) or its recordings without leaving their folders too.
fn outside_by_its_words(relative: &Path) -> Option<&'static str> {
    if relative.is_absolute() {
        return Some("an absolute path");
    }
    let mut depth = 0usize;
    for part in relative.components() {
        match part {
            std::path::Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return Some("outside the workshop folder"),
            },
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    None
}

const OUTSIDE_BY_ITS_WORDS_HINT: &str = "a chapter's path names its expected files (`expected/<path>/`), which must stay in `expected/`: to use a chapter from elsewhere, link it into the workshop folder (`ln -s ../other/o.md o.md`, then `expected/o/`) and pass `--allow-outside-workshop`";

const OUTSIDE_HINT: &str = "keep the chapters inside the workshop folder, or pass `--allow-outside-workshop` if the course really means to use files from elsewhere";

/// Reads and parses every chapter of the workshop in `dir`.
pub(crate) fn load(dir: &Path, reach: Reach) -> Result<Workshop, Diagnostics> {
    let mut problems = Diagnostics::default();
    if !dir.is_dir() {
        problems.push(
            Diagnostic::new(
                dir,
                0,
                format!("workshop folder `{}` does not exist", dir.display()),
            )
            .hint("give the folder holding the chapters, e.g. `runbook verify workshop/`"),
        );
        return Err(problems);
    }
    let entries = match read_summary(dir, reach) {
        Ok(Some(entries)) => entries,
        Ok(None) => match list_markdown(dir) {
            Ok(entries) => entries,
            Err(error) => {
                problems.push(Diagnostic::new(
                    dir,
                    0,
                    format!("cannot list the workshop: {error}"),
                ));
                return Err(problems);
            }
        },
        Err(found) => return Err(found),
    };
    if entries.is_empty() {
        let summary = dir.join("SUMMARY.md");
        problems.push(if summary.is_file() {
            Diagnostic::new(&summary, 0, "SUMMARY.md lists no chapter")
                .hint("add a line per chapter, e.g. `- [Introduction](01-introduction.md)`, or remove SUMMARY.md to run the folder's .md files in name order")
        } else {
            Diagnostic::new(
                dir,
                0,
                format!("the workshop `{}` has no chapters", dir.display()),
            )
            .hint("add Markdown files (`01-intro.md`...) or a SUMMARY.md listing them")
        });
        return Err(problems);
    }

    let mut chapters = Vec::new();
    for entry in entries {
        let path = dir.join(&entry.relative);
        let key = entry
            .relative
            .with_extension("")
            .to_string_lossy()
            .replace('\\', "/");
        if reach == Reach::InsideOnly
            && let Some(reason) = outside_workshop(dir, &entry.relative)
        {
            // Only a chapter found by listing the folder gets here (SUMMARY.md's links are
            // checked where it names them): a symlink out of the folder.
            problems.push(
                Diagnostic::new(
                    &path,
                    0,
                    format!("the chapter `{}` is {reason}", path.display()),
                )
                .hint(OUTSIDE_HINT),
            );
            continue;
        }
        let text = match read_utf8(&path) {
            Ok(text) => text,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        match parse::parse_chapter(&path, &text) {
            Ok(parsed) => {
                let title = entry
                    .title
                    .or(parsed.first_heading)
                    .unwrap_or_else(|| key.clone());
                chapters.push(Chapter {
                    path,
                    key,
                    title,
                    blocks: parsed.blocks,
                    text,
                });
            }
            Err(found) => found.into_iter().for_each(|problem| problems.push(problem)),
        }
    }
    for chapter in &chapters {
        check_unique_ids(chapter, &mut problems);
    }
    if problems.is_empty() {
        Ok(Workshop {
            dir: dir.to_path_buf(),
            chapters,
        })
    } else {
        Err(problems)
    }
}

/// Reads a file that must be UTF-8, pointing at the first line that is not.
/// Only a regular file of at most [`crate::user_file::MAX_FILE_SIZE`] is read.
pub(crate) fn read_utf8(path: &Path) -> Result<String, Diagnostic> {
    let bytes = crate::user_file::read(path)
        .map_err(|refused| Diagnostic::new(path, 0, refused.message).hint(refused.hint))?;
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        let line = bytes[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
        let start = bytes[..valid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let end = bytes[valid..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| valid + i);
        let mut problem = Diagnostic::new(
            path,
            line,
            format!(
                "this file is not valid UTF-8 (byte 0x{:02x})",
                bytes.get(valid).copied().unwrap_or_default()
            ),
        )
        .quoting(&String::from_utf8_lossy(&bytes[start..end]))
        .hint("save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)");
        // The quoted line is valid up to the bad byte, which shows as one replacement character.
        let column = valid - start;
        if problem
            .source_line
            .as_deref()
            .and_then(|quoted| quoted.get(column..))
            .is_some_and(|rest| rest.starts_with('\u{FFFD}'))
        {
            problem.span = Some((column, column + '\u{FFFD}'.len_utf8()));
        }
        problem
    })
}

fn check_unique_ids(chapter: &Chapter, problems: &mut Diagnostics) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    // A transcript's steps are `<id>.1`, `.2`...: a block with `id=list.1` would take the
    // name (and the expected file) of the first command of the transcript `list`.
    let mut step_names: HashMap<String, usize> = HashMap::new();
    for block in chapter.runnable_blocks() {
        let names: Vec<String> = if block.transcript.is_empty() {
            vec![block.id.clone()]
        } else {
            (1..=block.transcript.len())
                .map(|part| format!("{}.{part}", block.id))
                .collect()
        };
        for name in names {
            if let Some(first) = step_names.insert(name.clone(), block.line)
                && first != block.line
                && !seen.contains_key(block.id.as_str())
            {
                problems.push(
                    Diagnostic::new(&chapter.path, block.line, format!("two steps would be named `{name}`"))
                        .quoting(&block.fence_text)
                        .hint(format!(
                            "the block at line {first} makes a step of that name too (a transcript's commands are `<id>.1`, `<id>.2`...): give one of them another id"
                        )),
                );
            }
        }
        if let Some(first) = seen.insert(&block.id, block.line) {
            problems.push(
                Diagnostic::new(&chapter.path, block.line, format!("duplicate block id `{}`", block.id))
                    .quoting(&block.fence_text)
                    .underlining(&format!("id={}", block.id))
                    .hint(format!(
                        "`{}` is already the id of the block at line {first}; ids name expected files and must be unique in a chapter",
                        block.id
                    )),
            );
        }
    }
}

/// Chapter files in file-name order, when there is no SUMMARY.md.
fn list_markdown(dir: &Path) -> std::io::Result<Vec<ChapterEntry>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        // Not `is_file()`: a FIFO or a device named `*.md` is kept, to be refused by name
        // when it is read, rather than left out without a word.
        .filter(|path| !path.is_dir() && path.extension().is_some_and(|ext| ext == "md"))
        .filter_map(|path| path.file_name().map(PathBuf::from))
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .map(|relative| ChapterEntry {
            relative,
            title: None,
        })
        .collect())
}

/// The chapters SUMMARY.md links to, in order; `None` without a SUMMARY.md.
fn read_summary(dir: &Path, reach: Reach) -> Result<Option<Vec<ChapterEntry>>, Diagnostics> {
    let path = dir.join("SUMMARY.md");
    // A SUMMARY.md that is a FIFO or a directory is refused by `read_utf8`, not ignored.
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let mut problems = Diagnostics::default();
    let text = match read_utf8(&path) {
        Ok(text) => text,
        Err(problem) => {
            problems.push(problem);
            return Err(problems);
        }
    };
    let lines = parse::LineIndex::new(&text);
    let mut entries: Vec<ChapterEntry> = Vec::new();
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    let mut link: Option<(String, usize, String)> = None;
    for (event, range) in Parser::new(&text).into_offset_iter() {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                link = Some((
                    dest_url.to_string(),
                    lines.line_of(range.start),
                    String::new(),
                ));
            }
            Event::Text(content) | Event::Code(content) => {
                if let Some((_, _, title)) = link.as_mut() {
                    title.push_str(&content);
                }
            }
            Event::End(TagEnd::Link) => {
                let Some((dest, line, title)) = link.take() else {
                    continue;
                };
                let quoted = lines.line_text(&text, line);
                // A `file://` URL looks like a chapter but mdBook does not read it as one; a
                // silent skip would leave the chapter out of the run unseen.
                if dest.to_ascii_lowercase().starts_with("file:") {
                    problems.push(
                        Diagnostic::new(
                            &path,
                            line,
                            format!("SUMMARY.md links to `{dest}`, a URL, not a chapter's path"),
                        )
                        .quoting(quoted)
                        .underlining(&dest)
                        .hint("name the chapter by its path relative to SUMMARY.md, e.g. `- [Title](01-intro.md)`"),
                    );
                    continue;
                }
                // Draft chapters (`[Title]()`) and external links are not chapters.
                if dest.is_empty() || dest.contains("://") {
                    continue;
                }
                let relative = PathBuf::from(dest.split('#').next().unwrap_or_default());
                if reach == Reach::Anywhere
                    && let Some(reason) = outside_by_its_words(&relative)
                {
                    problems.push(
                        Diagnostic::new(
                            &path,
                            line,
                            format!(
                                "SUMMARY.md names `{}`, {reason}: its expected files would be outside `expected/`",
                                relative.display()
                            ),
                        )
                        .quoting(quoted)
                        .underlining(&relative.to_string_lossy())
                        .hint(OUTSIDE_BY_ITS_WORDS_HINT),
                    );
                    continue;
                }
                if reach == Reach::InsideOnly
                    && let Some(reason) = outside_workshop(dir, &relative)
                {
                    problems.push(
                        Diagnostic::new(
                            &path,
                            line,
                            format!("SUMMARY.md names `{}`, {reason}", relative.display()),
                        )
                        .quoting(quoted)
                        .underlining(&relative.to_string_lossy())
                        .hint(OUTSIDE_HINT),
                    );
                    continue;
                }
                if let Ok(metadata) = std::fs::metadata(dir.join(&relative))
                    && !metadata.is_file()
                {
                    let refused = crate::user_file::read(&dir.join(&relative))
                        .err()
                        .map(|refused| refused.message)
                        .unwrap_or_default();
                    problems.push(
                        Diagnostic::new(
                            &path,
                            line,
                            format!("SUMMARY.md names a chapter that cannot be read: {refused}"),
                        )
                        .quoting(quoted)
                        .underlining(&relative.to_string_lossy())
                        .hint("a chapter is a regular Markdown file: replace it, or fix the link"),
                    );
                    continue;
                }
                if !dir.join(&relative).is_file() {
                    let mut problem = Diagnostic::new(
                        &path,
                        line,
                        format!(
                            "SUMMARY.md names `{}`, which does not exist",
                            relative.display()
                        ),
                    )
                    .quoting(quoted)
                    .underlining(&relative.to_string_lossy());
                    let known = list_markdown(dir).unwrap_or_default();
                    let names: Vec<String> = known
                        .iter()
                        .map(|entry| entry.relative.to_string_lossy().into_owned())
                        .collect();
                    let wanted = relative.to_string_lossy();
                    problem = match crate::diagnostic::did_you_mean(
                        &wanted,
                        names.iter().map(String::as_str),
                    ) {
                        Some(close) => problem.hint(format!("did you mean `{close}`?")),
                        None => problem.hint("create the chapter or remove the line"),
                    };
                    problems.push(problem);
                    continue;
                }
                if let Some(first) = seen.insert(relative.clone(), line) {
                    problems.push(
                        Diagnostic::new(
                            &path,
                            line,
                            format!("`{}` is listed twice", relative.display()),
                        )
                        .quoting(quoted)
                        .underlining(&relative.to_string_lossy())
                        .hint(format!(
                            "it is already listed at line {first}; a chapter runs once"
                        )),
                    );
                    continue;
                }
                entries.push(ChapterEntry {
                    relative,
                    title: Some(title.trim().to_string()),
                });
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(Some(entries))
    } else {
        Err(problems)
    }
}
