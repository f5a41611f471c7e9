//! The project's own documentation, as a reader meets it: the README's first example run
//! exactly as printed (its chapter is the file in `examples/`, its command runs with the built
//! binary and prints what the README shows), and the manual in `docs/` built by the real
//! `mdbook` with every relative link and `#anchor` resolved, the README's and
//! CONTRIBUTING.md's links into it included. mdbook must be installed
//! (`scripts/setup-test-machine` does it); the manual's test fails when it is not.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{mdbook_build, path_with_runbook};

/// The top of the repository.
fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repository().join(relative))
        .unwrap_or_else(|error| panic!("{relative}: {error}"))
}

/// A fenced block of a Markdown text: its info string and its text.
#[derive(Debug)]
struct Fence {
    info: String,
    text: String,
}

/// The fenced blocks under `heading` (a whole heading line, `## ...`), up to the next
/// heading of the same or a higher level. A fence closes on a line of at least as many
/// backticks as opened it, so a fence may hold another.
fn fences_under(markdown: &str, heading: &str) -> Vec<Fence> {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let mut lines = markdown.lines().skip_while(|line| *line != heading).skip(1);
    let mut fences = Vec::new();
    while let Some(line) = lines.next() {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            break;
        }
        let ticks = line.chars().take_while(|&c| c == '`').count();
        if ticks < 3 {
            continue;
        }
        let mut text = String::new();
        for inner in lines.by_ref() {
            let closing = inner.chars().take_while(|&c| c == '`').count();
            if closing >= ticks && inner.trim_end().len() == closing {
                break;
            }
            text.push_str(inner);
            text.push('\n');
        }
        fences.push(Fence {
            info: line[ticks..].trim().to_string(),
            text,
        });
    }
    fences
}

/// Durations as the terminal reporter prints them (`12 ms`, `3.4 s`, `2m05s`) made alike:
/// they are the one part of the output that varies from run to run.
fn without_times(text: &str) -> String {
    let time = regex::Regex::new(r"\b\d+ ms\b|\b\d+\.\d s\b|\b\d+m\d\ds\b").expect("regex");
    text.lines()
        .map(|line| time.replace_all(line, "<time>").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn the_readme_first_example_runs_as_printed() {
    let readme = read("README.md");
    let fences = fences_under(&readme, "## A first example");
    let [chapter, commands, printed] = fences.as_slice() else {
        panic!("the README's first example is a chapter, a command and what it prints: {fences:?}");
    };
    assert_eq!(chapter.info, "markdown");
    assert_eq!(
        chapter.text,
        read("examples/hello/hello.md"),
        "the README shows examples/hello/hello.md as it is"
    );
    assert_eq!(commands.info, "sh");
    assert_eq!(printed.info, "text");

    // From the top of a clone, as the README says; a copy, so that the run's report/ does not
    // land in the repository.
    let clone = tempfile::tempdir().expect("tempdir");
    copy_folder(
        &repository().join("examples"),
        &clone.path().join("examples"),
    );
    let started = Instant::now();
    let output = Command::new("bash")
        .args(["-e", "-c", &commands.text])
        .current_dir(clone.path())
        .env("PATH", path_with_runbook())
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the example fails:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert_eq!(
        without_times(&stdout),
        without_times(&printed.text),
        "the example prints what the README shows (times aside); stderr:\n{stderr}"
    );
    assert!(
        took < Duration::from_secs(60),
        "the README promises under a minute; it took {took:?}"
    );
    assert!(clone.path().join("report/index.html").is_file());
}

/// The values of every `href` and `src` attribute of an HTML page, entities decoded.
fn links_of(html: &str) -> Vec<String> {
    let attribute = regex::Regex::new(r#"\s(?:href|src)\s*=\s*"([^"]*)""#).expect("regex");
    attribute
        .captures_iter(html)
        .map(|found| {
            found[1]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// The `id`s of an HTML page's elements.
fn ids_of(html: &str) -> Vec<String> {
    let id = regex::Regex::new(r#"\sid\s*=\s*"([^"]*)""#).expect("regex");
    id.captures_iter(html)
        .map(|found| found[1].replace("&amp;", "&"))
        .collect()
}

/// `%xx` escapes decoded, as a browser does before it looks up a path or a fragment.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A link leaves the book when it names a scheme (`https:`, `mailto:`) or a host (`//`).
fn is_external(link: &str) -> bool {
    link.starts_with("//")
        || link
            .split(['/', '#', '?'])
            .next()
            .is_some_and(|first| first.contains(':'))
}

/// The built book's pages, by path, with the ids each holds.
struct Book {
    root: PathBuf,
    pages: BTreeMap<PathBuf, String>,
}

impl Book {
    fn read(root: &Path) -> Self {
        fn walk(folder: &Path, pages: &mut BTreeMap<PathBuf, String>) {
            for entry in std::fs::read_dir(folder).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, pages);
                } else if path.extension().is_some_and(|e| e == "html") {
                    let html = std::fs::read_to_string(&path).expect("read page");
                    pages.insert(path, html);
                }
            }
        }
        let mut pages = BTreeMap::new();
        walk(root, &mut pages);
        Book {
            root: root.to_path_buf(),
            pages,
        }
    }

    /// What is wrong with `link`, followed from the page `from`, if anything.
    fn broken(&self, from: &Path, link: &str) -> Option<String> {
        let (path, fragment) = link.split_once('#').unwrap_or((link, ""));
        let path = path.split('?').next().unwrap_or_default();
        let target = if path.is_empty() {
            from.to_path_buf()
        } else if let Some(from_root) = path.strip_prefix('/') {
            // The site's root, where the book is served (mdBook's 404 page links so).
            normalized(&self.root.join(percent_decoded(from_root)))
        } else {
            let joined = normalized(
                &from
                    .parent()
                    .expect("page folder")
                    .join(percent_decoded(path)),
            );
            if joined.is_dir() {
                joined.join("index.html")
            } else {
                joined
            }
        };
        if !target.starts_with(&self.root) {
            return Some(format!("leaves the book: {}", target.display()));
        }
        if !target.exists() {
            return Some(format!("no such file: {}", target.display()));
        }
        if fragment.is_empty() {
            return None;
        }
        let fragment = percent_decoded(fragment);
        match self.pages.get(&target) {
            Some(html) if ids_of(html).contains(&fragment) => None,
            Some(_) => Some(format!("no id `{fragment}` in {}", target.display())),
            None => Some(format!(
                "a fragment into {}, which is not a page",
                target.display()
            )),
        }
    }
}

/// `a/b/../c` as `a/c`, without asking the file system (the target may not exist).
fn normalized(path: &Path) -> PathBuf {
    let mut result = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                result.pop();
            }
            std::path::Component::CurDir => {}
            other => result.push(other),
        }
    }
    result
}

#[test]
fn the_link_checker_finds_a_missing_page_and_a_missing_anchor() {
    let site = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(site.path().join("part")).expect("mkdir");
    std::fs::write(
        site.path().join("index.html"),
        r##"<h1 id="top">x</h1><a href="part/page.html#here">ok</a><a href="#top">ok</a>"##,
    )
    .expect("write");
    std::fs::write(
        site.path().join("part/page.html"),
        r##"<h2 id="here">x</h2><a href="../index.html#gone">no</a><a href="../lost.html">no</a><a href="/index.html">ok</a>"##,
    )
    .expect("write");
    let book = Book::read(site.path());
    let problems: Vec<String> = book
        .pages
        .iter()
        .flat_map(|(page, html)| {
            links_of(html)
                .into_iter()
                .filter_map(|link| book.broken(page, &link).map(|why| format!("{link}: {why}")))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with("../index.html#gone: no id `gone`"),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("../lost.html: no such file"),
        "{problems:#?}"
    );
}

/// The link targets of a Markdown text: `[text](target)`.
fn markdown_links(markdown: &str) -> Vec<String> {
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").expect("regex");
    link.captures_iter(markdown)
        .map(|found| found[1].to_string())
        .collect()
}

#[test]
fn the_manual_builds_and_every_link_in_it_resolves() {
    let out = tempfile::tempdir().expect("tempdir");
    let destination = out.path().join("book");
    let (built, log) = mdbook_build(&repository().join("docs"), &destination);
    assert!(built, "mdbook build docs failed:\n{log}");
    assert!(
        !log.contains("WARN") && !log.contains("ERROR"),
        "mdbook build docs complains:\n{log}"
    );
    let book = Book::read(&destination);
    assert!(
        book.pages.len() > 15,
        "a page per chapter: {:?}",
        book.pages.keys()
    );

    let mut broken = Vec::new();
    let mut checked = 0;
    for (page, html) in &book.pages {
        for link in links_of(html) {
            if is_external(&link) {
                continue;
            }
            checked += 1;
            if let Some(why) = book.broken(page, &link) {
                broken.push(format!(
                    "{}: `{link}`: {why}",
                    page.strip_prefix(&destination).unwrap_or(page).display()
                ));
            }
        }
    }

    // The README and CONTRIBUTING.md link into the manual's sources, `docs/src/<page>.md`,
    // which the book renders as `<page>.html`; their other relative links name files of the
    // repository.
    for file in ["README.md", "CONTRIBUTING.md"] {
        for link in markdown_links(&read(file)) {
            if is_external(&link) {
                continue;
            }
            checked += 1;
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let why = match path.strip_prefix("docs/src/") {
                Some(page) => {
                    let html = page.replace(".md", ".html");
                    let into_book = if fragment.is_empty() {
                        html
                    } else {
                        format!("{html}#{fragment}")
                    };
                    book.broken(&destination.join("index.html"), &into_book)
                        .map(|why| format!("{why} (the book's page for {path})"))
                }
                None if !repository().join(path).exists() => Some("no such file".to_string()),
                None if !fragment.is_empty() => {
                    Some("a fragment outside the manual is not checked: link into docs/".into())
                }
                None => None,
            };
            if let Some(why) = why {
                broken.push(format!("{file}: `{link}`: {why}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {checked} links are broken:\n{}",
        broken.len(),
        broken.join("\n")
    );
    assert!(checked > 100, "only {checked} links checked");
}
