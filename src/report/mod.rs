//! The last stage: what a run produced, written for people and machines. The terminal
//! reporter follows events live; at the end `index.html`, `junit.xml` and `run.json` are
//! written from the same [`model::RunReport`], each atomically, whatever the run's outcome.

pub(crate) mod block;
pub(crate) mod cast;
pub(crate) mod check_view;
pub(crate) mod class_view;
pub(crate) mod failure;
pub(crate) mod hint;
pub(crate) mod html;
pub(crate) mod junit;
pub mod model;
pub(crate) mod result;
#[cfg(test)]
pub(crate) mod snapshots;
pub(crate) mod terminal;

use std::path::{Path, PathBuf};

use model::RunReport;

/// Where `verify` writes its reports and where the book looks for `run.json`, unless
/// `--report` or book.toml's `report` says otherwise.
pub(crate) const DEFAULT_FOLDER: &str = "report";

/// What every report says about an output that was too long to keep whole.
pub(crate) fn truncation_note(attempt: &model::AttemptResult) -> String {
    format!(
        "output truncated: {} printed ({} bytes), only the last {} kept (--max-output)",
        size(attempt.output_bytes),
        attempt.output_bytes,
        size(attempt.output.len() as u64)
    )
}

/// A duration as people read it: `812 ms`, `3.4 s`, `2m05s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// A byte count as people read it: `812 B`, `64.0 KiB`, `95.4 MiB`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Writes the three report files into `folder`; returns their paths.
pub(crate) fn write_reports(folder: &Path, report: &RunReport) -> std::io::Result<Vec<PathBuf>> {
    // The three are independent renderings of the same data: render them side by side.
    let (json, html, junit) = std::thread::scope(|scope| {
        let html = scope.spawn(|| html::render(report));
        let junit = scope.spawn(|| junit::render(report));
        let json = serde_json::to_vec_pretty(report);
        (json, html.join(), junit.join())
    });
    let json = json.map_err(std::io::Error::other)?;
    let html = html
        .map_err(|_| std::io::Error::other("the HTML report's renderer panicked"))?
        .map_err(std::io::Error::other)?;
    let junit = junit.map_err(|_| std::io::Error::other("the JUnit report's renderer panicked"))?;
    let mut written = Vec::new();
    for (name, bytes) in [
        ("run.json", json),
        ("junit.xml", junit.into_bytes()),
        ("index.html", html.into_bytes()),
    ] {
        let path = folder.join(name);
        crate::user_file::write_atomically(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// The list of the recordings runbook wrote into `casts/`, one relative path a line: the only
/// files a later run may replace or remove there. Anything else in `casts/` is the user's.
const RECORDINGS_LIST: &str = ".runbook-recordings";

/// Writes the blocks' recordings (`verify --record`) into `folder/casts/`; returns that folder.
/// They replace the previous run's: each written atomically, then the previous run's that
/// this run did not record again are removed. Only files named in the previous run's list
/// ([`RECORDINGS_LIST`]) are ever replaced or removed: a file runbook did not write stays, and
/// a recording that would take its place is refused.
pub(crate) fn write_casts(folder: &Path, report: &RunReport) -> std::io::Result<PathBuf> {
    let target = folder.join("casts");
    std::fs::create_dir_all(&target)?;
    let previous = previous_recordings(&target);
    let recordings = cast::render_all(report);
    for (relative, text) in &recordings {
        let path = target.join(relative);
        let taken = std::fs::symlink_metadata(&path).is_ok()
            && !previous.contains(relative)
            && !same_recording(&path, text);
        if taken || !plain_relative(relative) || !no_link_between(&target, relative) {
            return Err(std::io::Error::other(format!(
                "`{}` is not a recording of an earlier run, or a folder on its way is a symlink; \
                 runbook does not replace it (move it away, or choose another --report folder)",
                path.display()
            )));
        }
    }
    for (relative, text) in &recordings {
        crate::user_file::write_atomically(&target.join(relative), text.as_bytes())?;
    }
    let mut list = String::new();
    for (relative, _) in &recordings {
        list.push_str(&relative.to_string_lossy());
        list.push('\n');
    }
    crate::user_file::write_atomically(&target.join(RECORDINGS_LIST), list.as_bytes())?;
    let recorded: std::collections::HashSet<&PathBuf> =
        recordings.iter().map(|(relative, _)| relative).collect();
    for stale in previous
        .iter()
        .filter(|relative| !recorded.contains(relative))
    {
        let path = target.join(stale);
        // Only a file (a link or a folder put there since is not runbook's), and its folder
        // when that leaves it empty; a file that is already gone is fine.
        if std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.is_file()) {
            std::fs::remove_file(&path)?;
            if let Some(parent) = path.parent().filter(|parent| *parent != target) {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
    Ok(target)
}

/// The recordings the previous run listed in `casts/`: relative paths of `.cast` files inside
/// it (a line that names anything else, `..` or an absolute path, is not taken).
fn previous_recordings(casts: &Path) -> std::collections::HashSet<PathBuf> {
    let Ok(bytes) = crate::user_file::read(&casts.join(RECORDINGS_LIST)) else {
        return std::collections::HashSet::new();
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(PathBuf::from)
        .filter(|relative| {
            relative
                .extension()
                .is_some_and(|extension| extension == "cast")
                && plain_relative(relative)
                && no_link_between(casts, relative)
        })
        .collect()
}

/// Whether the file at `path` is runbook's recording of the same block on the same host (its
/// asciicast header names the same title) as `text`: a recording written before runbook kept
/// the list of its recordings, which the new one may replace.
fn same_recording(path: &Path, text: &str) -> bool {
    use std::io::{BufRead, Read};
    let header = |line: &str| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|header| {
                Some((
                    header.get("version")?.as_u64()?,
                    header.get("title")?.as_str()?.to_string(),
                ))
            })
    };
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !metadata.is_file() {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    // A header is a short line; a file whose first line is long is not a recording.
    let read = std::io::BufReader::new(file.take(64 * 1024)).read_line(&mut first);
    read.is_ok()
        && header(first.trim_end())
            .is_some_and(|found| Some(found) == header(text.lines().next().unwrap_or_default()))
}

/// Whether `relative` only goes down: no root, no `..`.
fn plain_relative(relative: &Path) -> bool {
    relative
        .components()
        .all(|part| matches!(part, std::path::Component::Normal(_)))
}

/// Whether no folder between `casts` and `relative` is a symlink, which could lead a removal
/// out of `casts/`.
fn no_link_between(casts: &Path, relative: &Path) -> bool {
    let mut path = casts.to_path_buf();
    let mut parts = relative.components().peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return true;
        }
        path.push(part);
        if std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.file_type().is_symlink())
        {
            return false;
        }
    }
    true
}
