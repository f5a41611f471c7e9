//! The last stage: what a run produced, written for people and machines. The terminal
//! reporter follows events live; at the end `index.html`, `junit.xml` and `run.json` are
//! written from the same [`model::RunReport`], each atomically, whatever the run's outcome.

pub(crate) mod block;
pub(crate) mod cast;
pub(crate) mod failure;
pub(crate) mod hint;
pub(crate) mod html;
pub(crate) mod junit;
pub mod model;
#[cfg(test)]
mod snapshots;
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

/// Writes the blocks' recordings (`verify --record`) into `folder/casts/`; returns that folder.
/// They replace the previous run's as a whole: written into a new folder, which then takes
/// the place of `casts/`, so no recording of an earlier run is left among them.
pub(crate) fn write_casts(folder: &Path, report: &RunReport) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    let fresh = tempfile::Builder::new()
        .prefix(".casts-")
        .tempdir_in(folder)?;
    for (relative, text) in cast::render_all(report) {
        let path = fresh.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    let target = folder.join("casts");
    if target.exists() {
        std::fs::remove_dir_all(&target)?;
    }
    std::fs::rename(fresh.keep(), &target)?;
    Ok(target)
}
