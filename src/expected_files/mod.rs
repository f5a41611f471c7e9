//! The expected files of a workshop, `expected/<chapter>/<id>.out` and `<id>.<host>.out`:
//! their names, reading them for the plan ([`read`]) and writing them back for `--bless`
//! ([`write`]), and a cram test file's outputs, which live in the file itself ([`cram`]). This
//! module is the one place that knows the folder's layout.
//!
//! It is a module of its own, rather than part of `expect/`, because it works on the files and
//! not on their text: it lists folders, reads and writes files, and decides which file a
//! block's output goes to, with the chapter and the inventory at hand. `expect/` stays pure
//! (expected text in, verdict and blessed text out; what the fuzz targets drive) and imports
//! neither the plan nor the reports. The plan reads through this module before anything
//! runs, the executor writes through it after a step: both stages call down into it, and it
//! imports neither of them nor the reports (what `--bless` changed goes back as plain data,
//! which the executor puts into the report's model).

pub(crate) mod cram;
mod read;
mod write;

pub(crate) use read::{Listing, of_block};
pub(crate) use write::{BlessPending, write_blessed};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::expect::pattern::Expected;

/// The folder's name, beside the workshop folder unless `--expected` names another.
const FOLDER: &str = "expected";

/// How every expected file's name ends; other files in the folder are not read.
const EXTENSION: &str = ".out";

/// The default folder of expected files: `expected/` beside the workshop folder.
pub(crate) fn default_dir(workshop_dir: &Path) -> PathBuf {
    let absolute = if workshop_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        workshop_dir
    };
    match absolute
        .canonicalize()
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf))
    {
        Some(parent) => {
            // Keep the path the way the user wrote it when we can, for readable messages.
            let relative = workshop_dir.components().count() <= 1 && workshop_dir.is_relative();
            if relative {
                PathBuf::from(FOLDER)
            } else {
                parent.join(FOLDER)
            }
        }
        None => PathBuf::from(FOLDER),
    }
}

/// The folder of one chapter's expected files.
pub(crate) fn chapter_folder(expected_dir: &Path, chapter_key: &str) -> PathBuf {
    expected_dir.join(chapter_key)
}

/// The name of a block's expected file: `<id>.out` for all its hosts, `<id>.<host>.out` for
/// one host.
fn file_name(id: &str, host: Option<&str>) -> String {
    match host {
        Some(host) => format!("{id}.{host}{EXTENSION}"),
        None => format!("{id}{EXTENSION}"),
    }
}

/// Where one step's expected files are: its chapter's folder and its id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepFiles<'a> {
    pub(crate) folder: &'a Path,
    pub(crate) id: &'a str,
}

impl StepFiles<'_> {
    /// The file for `host` (`None`: the shared `<id>.out`).
    pub(crate) fn path(&self, host: Option<&str>) -> PathBuf {
        self.folder.join(file_name(self.id, host))
    }
}

/// The expected outputs of a step: one for all hosts, and/or one per host.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expectations {
    pub(crate) shared: Option<Expected>,
    pub(crate) per_host: BTreeMap<String, Expected>,
}

impl Expectations {
    /// A host's own `<id>.<host>.out` wins over what all hosts share.
    pub(crate) fn for_host(&self, host: &str) -> Option<&Expected> {
        self.per_host.get(host).or(self.shared.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_has_one_shared_file_and_one_per_host() {
        let files = StepFiles {
            folder: Path::new("expected/02"),
            id: "list",
        };
        assert_eq!(files.path(None), Path::new("expected/02/list.out"));
        assert_eq!(
            files.path(Some("pg-1")),
            Path::new("expected/02/list.pg-1.out")
        );
    }
}
