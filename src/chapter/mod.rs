//! The workshop folder: which chapters, in which order (`SUMMARY.md`, as mdBook reads it, or
//! file-name order), each parsed into its blocks. First stage of the pipeline
//! (chapters -> plan -> execute -> match -> report).

pub mod attrs;
pub mod cram;
pub(crate) mod hop;
mod include;
pub mod parse;
pub(crate) mod prompt;
pub(crate) mod psql;
pub mod transcript;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

pub use parse::{Block, BlockKind};

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};

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
    /// A cram test file (`.t`): its commands run in a shell of their own, set up as cram
    /// sets one up.
    pub(crate) cram: Option<cram::CramTest>,
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
    /// What `runbook.yml` says for every fence (and every session) of the workshop.
    pub(crate) settings: crate::settings::Settings,
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

/// The workshop a path names: a folder of chapters, or one Markdown file (a pandoc course's
/// master file, which pulls its chapters in with `!include`), whose folder is then the
/// workshop's (for the inventory, `expected/` and the includes' paths).
pub(crate) fn folder_and_master(path: &Path) -> (PathBuf, Option<PathBuf>) {
    if std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file()) {
        let folder = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let name = path.file_name().map(PathBuf::from);
        return (folder, name);
    }
    (path.to_path_buf(), None)
}

/// Reads and parses every chapter of the workshop at `path` (a folder, or a master file: see
/// [`folder_and_master`]), `!include` lines followed.
pub(crate) fn load(
    path: &Path,
    reach: Reach,
    settings: &crate::settings::Settings,
) -> Result<Workshop, Diagnostics> {
    let (folder, master) = folder_and_master(path);
    let dir = folder.as_path();
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
    let entries = match master {
        Some(relative) => Ok(Some(vec![ChapterEntry {
            relative,
            title: None,
        }])),
        None => read_summary(dir, reach),
    };
    let entries = match entries {
        Ok(Some(entries)) => entries,
        Ok(None) => match list_chapters(dir) {
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
            .hint("add Markdown files (`01-intro.md`...) or a SUMMARY.md listing them, or cram test files (`*.t`)")
        });
        return Err(problems);
    }

    let mut reader = ChapterReader {
        dir,
        reach,
        options: settings.chapter_options(),
        chapters: Vec::new(),
        problems,
        read_from: HashMap::new(),
    };
    for entry in entries {
        reader.read(&entry.relative, entry.title, &mut Vec::new());
    }
    let ChapterReader {
        chapters,
        mut problems,
        ..
    } = reader;
    // A file split by its `!include` lines is several chapters of one key: its ids are
    // checked across all of them.
    let mut keys_checked: Vec<&str> = Vec::new();
    for chapter in &chapters {
        if keys_checked.contains(&chapter.key.as_str()) {
            continue;
        }
        keys_checked.push(&chapter.key);
        // The parts' blocks are borrowed, not copied: a long chapter's blocks are most of
        // what planning handles.
        let blocks = chapters
            .iter()
            .filter(|part| part.key == chapter.key)
            .flat_map(|part| part.runnable_blocks());
        check_unique_ids(&chapter.path, blocks, &mut problems);
    }
    if problems.is_empty() {
        Ok(Workshop {
            dir: dir.to_path_buf(),
            chapters,
            settings: settings.clone(),
        })
    } else {
        Err(problems)
    }
}

/// Reads chapters in order, following `!include` lines (see [`ChapterReader::read`]).
struct ChapterReader<'a> {
    dir: &'a Path,
    reach: Reach,
    /// How fences read, by the workshop's settings.
    options: parse::ChapterOptions,
    chapters: Vec<Chapter>,
    problems: Diagnostics,
    /// Every file read so far (relative to the workshop), and the `file:line` that included
    /// it (`None` for a chapter of SUMMARY.md or of the folder).
    read_from: HashMap<PathBuf, Option<(PathBuf, usize)>>,
}

impl ChapterReader<'_> {
    /// Reads the chapter at `relative` (to the workshop folder). A file with `!include` lines
    /// is cut at them: its blocks before the first include are one chapter, then come the
    /// included file's chapters, then its blocks up to the next include, and so on, so that
    /// steps keep the reading order of the assembled course and each block its own
    /// `file:line`. `including` is the chain of `!include` lines that led here.
    fn read(
        &mut self,
        relative: &Path,
        title: Option<String>,
        including: &mut Vec<(PathBuf, usize)>,
    ) {
        let path = self.dir.join(relative);
        let key = normalised(relative)
            .with_extension("")
            .to_string_lossy()
            .replace('\\', "/");
        if self.reach == Reach::InsideOnly
            && including.is_empty()
            && let Some(reason) = outside_workshop(self.dir, relative)
        {
            // Only a chapter found by listing the folder gets here (SUMMARY.md's links and
            // `!include` lines are checked where they name a file): a symlink out of it.
            self.problems.push(
                Diagnostic::new(
                    &path,
                    0,
                    format!("the chapter `{}` is {reason}", path.display()),
                )
                .hint(OUTSIDE_HINT),
            );
            return;
        }
        if including.is_empty()
            && let Some(Some((file, line))) = self.read_from.get(&normalised(relative))
        {
            self.problems.push(
                Diagnostic::new(
                    &path,
                    0,
                    format!(
                        "the chapter `{}` is also included at {}:{line}",
                        path.display(),
                        file.display()
                    ),
                )
                .hint("a chapter runs once: keep it in SUMMARY.md or in the `!include` line, not both"),
            );
            return;
        }
        self.read_from.insert(
            normalised(relative),
            including
                .last()
                .map(|(file, line)| (self.dir.join(file), *line)),
        );
        let read = if cram::is_test_file(relative) {
            cram::read_text(&path)
        } else {
            read_utf8(&path)
        };
        let text = match read {
            Ok(text) => text,
            Err(problem) => {
                self.problems.push(problem);
                return;
            }
        };
        if cram::is_test_file(relative) {
            self.chapters.push(Chapter {
                title: title.unwrap_or_else(|| relative.display().to_string()),
                blocks: cram::parse(&text).blocks,
                cram: Some(cram::CramTest::of(&path)),
                path,
                key,
                text,
            });
            return;
        }
        let parsed = match parse::parse_chapter_with(&path, &text, &self.options) {
            Ok(parsed) => parsed,
            Err(found) => {
                found
                    .into_iter()
                    .for_each(|problem| self.problems.push(problem));
                return;
            }
        };
        let title = title
            .or(parsed.first_heading)
            .unwrap_or_else(|| key.clone());
        let (includes, unread) = include::find(&text);
        let lines = parse::LineIndex::new(&text);
        for bad in unread {
            self.problems.push(
                Diagnostic::new(&path, bad.line, bad.why)
                    .quoting(lines.line_text(&text, bad.line))
                    .hint("write `!include PATH` on a line of its own, PATH relative to this file, or paste the lines wanted into a file of their own"),
            );
        }
        if includes.is_empty() {
            self.chapters.push(Chapter {
                path,
                key,
                title,
                blocks: parsed.blocks,
                text,
                cram: None,
            });
            return;
        }
        let mut blocks = parsed.blocks.into_iter().peekable();
        let mut part = 0usize;
        let mut push_part = |reader: &mut Self, part_blocks: Vec<Block>| {
            // The parts of a master file that hold no block are its front matter and
            // headings: nothing to run or show as a chapter.
            if part_blocks.is_empty() {
                return;
            }
            part += 1;
            reader.chapters.push(Chapter {
                path: path.clone(),
                key: key.clone(),
                title: if part == 1 {
                    title.clone()
                } else {
                    format!("{title} ({part})")
                },
                blocks: part_blocks,
                text: text.clone(),
                cram: None,
            });
        };
        for include in includes {
            let before: Vec<Block> =
                std::iter::from_fn(|| blocks.next_if(|block| block.line < include.line)).collect();
            push_part(self, before);
            let quoted = lines.line_text(&text, include.line).to_string();
            let Some(target) = self.included(relative, &path, &include, &quoted, including) else {
                continue;
            };
            including.push((relative.to_path_buf(), include.line));
            self.read(&target, None, including);
            including.pop();
        }
        let rest: Vec<Block> = blocks.collect();
        push_part(self, rest);
    }

    /// The file an `!include` line names, relative to the workshop folder, once it is known
    /// to be readable, inside the workshop (unless allowed), not already read and not one of
    /// the files including it; otherwise the problem is reported at the line.
    fn included(
        &mut self,
        relative: &Path,
        path: &Path,
        include: &include::IncludeLine,
        quoted: &str,
        including: &[(PathBuf, usize)],
    ) -> Option<PathBuf> {
        let written = include.target.to_string_lossy().into_owned();
        let at = || {
            Diagnostic::new(path, include.line, "")
                .quoting(quoted)
                .underlining(&written)
        };
        let target = match relative.parent() {
            Some(parent) => normalised(&parent.join(&include.target)),
            None => normalised(&include.target),
        };
        // As for SUMMARY.md: a path that leaves the workshop by its words would name expected
        // files outside `expected/`, whatever `--allow-outside-workshop` says.
        if self.reach == Reach::Anywhere
            && let Some(reason) = outside_by_its_words(&target)
        {
            let mut problem = at().hint(OUTSIDE_BY_ITS_WORDS_HINT);
            problem.message = format!(
                "this line includes `{written}`, {reason}: its expected files would be outside `expected/`"
            );
            self.problems.push(problem);
            return None;
        }
        if self.reach == Reach::InsideOnly
            && let Some(reason) = outside_workshop(self.dir, &target)
        {
            let mut problem = at().hint(OUTSIDE_HINT);
            problem.message = format!("this line includes `{written}`, {reason}");
            self.problems.push(problem);
            return None;
        }
        let full = self.dir.join(&target);
        if !full.exists() {
            let siblings = full
                .parent()
                .and_then(|folder| std::fs::read_dir(folder).ok())
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|entry| entry.file_name().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let wanted = full
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut problem = at();
            problem.message = format!(
                "this line includes `{written}`, which does not exist (looked for `{}`)",
                full.display()
            );
            problem = match did_you_mean(&wanted, siblings.iter().map(String::as_str)) {
                Some(close) => problem.hint(format!("did you mean `{close}`?")),
                None => problem.hint(
                    "the path is relative to the file that holds the `!include` line: fix it, or create the file",
                ),
            };
            self.problems.push(problem);
            return None;
        }
        let chain: Vec<&PathBuf> = including.iter().map(|(file, _)| file).collect();
        if target == normalised(relative) || chain.iter().any(|file| normalised(file) == target) {
            let mut problem = at()
                .hint("a file cannot include itself, even through other files: remove this line");
            let mut steps: Vec<String> = including
                .iter()
                .map(|(file, line)| format!("{}:{line}", file.display()))
                .collect();
            steps.push(format!("{}:{}", relative.display(), include.line));
            problem.message = format!(
                "this line includes `{written}`, which is already being read: the includes loop ({})",
                steps.join(" -> ")
            );
            self.problems.push(problem);
            return None;
        }
        if let Some(first) = self.read_from.get(&target) {
            let where_first = match first {
                Some((file, line)) => {
                    format!("it is already included at {}:{line}", file.display())
                }
                None => "it is already a chapter of the workshop".to_string(),
            };
            let mut problem = at().hint(format!(
                "{where_first}; a chapter runs once: remove one of them, or point runbook at one master file (`runbook list FOLDER/MASTER.md`)"
            ));
            problem.message = format!("this line includes `{written}` a second time");
            self.problems.push(problem);
            return None;
        }
        Some(target)
    }
}

/// `path` with its `.` parts removed and each `x/..` pair folded, by its words only (the
/// file may be a symlink: where it really is, `outside_workshop` checks).
fn normalised(path: &Path) -> PathBuf {
    let mut parts: Vec<std::path::Component<'_>> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir
                if matches!(parts.last(), Some(std::path::Component::Normal(_))) =>
            {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.iter().collect()
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

/// Problems of the chapter at `path` whose runnable `blocks` (of all its parts) share an id
/// or a step's name.
fn check_unique_ids<'b>(
    path: &Path,
    blocks: impl Iterator<Item = &'b Block>,
    problems: &mut Diagnostics,
) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    // A transcript's steps are `<id>.1`, `.2`...: a block with `id=list.1` would take the
    // name (and the expected file) of the first command of the transcript `list`.
    let mut step_names: HashMap<String, usize> = HashMap::new();
    for block in blocks {
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
                    Diagnostic::new(path, block.line, format!("two steps would be named `{name}`"))
                        .quoting(&block.fence_text)
                        .hint(format!(
                            "the block at line {first} makes a step of that name too (a transcript's commands are `<id>.1`, `<id>.2`...): give one of them another id"
                        )),
                );
            }
        }
        if let Some(first) = seen.insert(&block.id, block.line) {
            problems.push(
                Diagnostic::new(path, block.line, format!("duplicate block id `{}`", block.id))
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

/// Chapter files in file-name order, when there is no SUMMARY.md: the `.md` files, or, in a
/// folder that has none, its cram test files (see [`list_cram_tests`]).
fn list_chapters(dir: &Path) -> std::io::Result<Vec<ChapterEntry>> {
    let markdown = list_markdown(dir)?;
    if !markdown.is_empty() {
        return Ok(markdown);
    }
    let mut found = Vec::new();
    list_cram_tests(dir, Path::new(""), &mut found)?;
    found.sort();
    Ok(found
        .into_iter()
        .map(|relative| ChapterEntry {
            relative,
            title: None,
        })
        .collect())
}

/// The `.t` files under `dir` (in `under`, relative to it), subfolders included, hidden files
/// and folders left out: the files cram runs when given a folder.
fn list_cram_tests(dir: &Path, under: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir.join(under))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let relative = under.join(&name);
        // Not followed: a symlinked folder could loop, and cram's own listing skips them too.
        let kind = entry.file_type()?;
        if kind.is_dir() {
            list_cram_tests(dir, &relative, found)?;
        } else if cram::is_test_file(&relative) {
            found.push(relative);
        }
    }
    Ok(())
}

/// The `.md` files of the folder, in file-name order.
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
                    problem = match did_you_mean(&wanted, names.iter().map(String::as_str)) {
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
