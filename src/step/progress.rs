//! A trainee's progress through a workshop, kept in `.runbook/progress.json` beside the
//! workshop folder: what became of each block, which block comes next, and the values earlier
//! blocks captured, so that `runbook step` can stop at any block and resume there later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::template::Vars;

/// What the trainee did with a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum BlockStatus {
    /// runbook ran it and the output matched.
    Passed,
    /// runbook ran it; the block has no expected output to compare with.
    Unverified,
    /// The trainee typed it in their own terminal and its checks passed.
    Typed,
    /// The trainee typed it in their own terminal; nothing could check it.
    TypedUnchecked,
    Skipped,
    /// It failed and the trainee stopped there.
    Failed,
    /// `runbook catch-up` brought the lab past it (run then, or found done by its chapter's
    /// checks).
    CaughtUp,
}

impl BlockStatus {
    pub(crate) fn label(self) -> &'static str {
        match self {
            BlockStatus::Passed => "passed",
            BlockStatus::Unverified => "ran (no expected output)",
            BlockStatus::Typed => "typed, checked",
            BlockStatus::TypedUnchecked => "typed, not checked",
            BlockStatus::Skipped => "skipped",
            BlockStatus::CaughtUp => "caught up",
            BlockStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockRecord {
    pub(crate) status: BlockStatus,
    /// When (RFC 3339, UTC).
    pub(crate) at: String,
}

/// The content of `progress.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Progress {
    /// The workshop folder this progress belongs to (absolute).
    pub(crate) workshop: String,
    /// The block to show next (`chapter/id`); `None` once the end was reached.
    pub(crate) next: Option<String>,
    pub(crate) updated_at: String,
    /// Per block (`chapter/id`), what became of it.
    pub(crate) blocks: BTreeMap<String, BlockRecord>,
    /// Values captured by passed blocks, for the `{{ }}` of later ones.
    pub(crate) captures: Vars,
}

impl Progress {
    pub(crate) fn new(workshop: &Path) -> Self {
        Progress {
            workshop: workshop.display().to_string(),
            ..Progress::default()
        }
    }

    pub(crate) fn record(&mut self, qualified_id: &str, status: BlockStatus) {
        self.blocks.insert(
            qualified_id.to_string(),
            BlockRecord {
                status,
                at: now_rfc3339(),
            },
        );
    }

    /// Reads the progress of `workshop` from `path`. A missing file is a fresh start; a file
    /// about another workshop too (with the reason, to tell the trainee).
    pub(crate) fn load(
        path: &Path,
        workshop: &Path,
    ) -> Result<(Progress, Option<String>), ProgressError> {
        // A missing file is a fresh start; anything else must pass the rule for every file a
        // user gives runbook (a regular file, at most 16 MiB): a FIFO would block the open
        // and a link to /dev/zero would be read without end.
        if matches!(std::fs::symlink_metadata(path), Err(error) if error.kind() == std::io::ErrorKind::NotFound)
        {
            return Ok((Progress::new(workshop), None));
        }
        let bytes = crate::user_file::read(path).map_err(|unreadable| ProgressError::Unusable {
            message: unreadable.message,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let progress: Progress =
            serde_json::from_str(&text).map_err(|source| ProgressError::NotProgress {
                path: path.to_path_buf(),
                source,
            })?;
        if progress.workshop != workshop.display().to_string() {
            let note = format!(
                "{} was about the workshop {}; starting afresh for {}",
                path.display(),
                progress.workshop,
                workshop.display()
            );
            return Ok((Progress::new(workshop), Some(note)));
        }
        Ok((progress, None))
    }

    pub(crate) fn save(&mut self, path: &Path) -> Result<(), ProgressError> {
        self.updated_at = now_rfc3339();
        let saving = |source| ProgressError::Save {
            path: path.to_path_buf(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| saving(e.into()))?;
        json.push(b'\n');
        crate::user_file::write_atomically(path, &json).map_err(saving)
    }
}

/// Why the trainee's progress cannot be read or kept.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProgressError {
    #[error("{message}; delete it or use --restart")]
    Unusable { message: String },
    #[error(
        "{} is not runbook's progress file ({source}); delete it or use --restart",
        path.display()
    )]
    NotProgress {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot save the progress in {}: {source}", path.display())]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `.runbook/progress.json` beside the workshop folder (the folder holding it).
pub(crate) fn default_path(workshop: &Path) -> PathBuf {
    workshop
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        .join(".runbook")
        .join("progress.json")
}

use crate::report::model::now_rfc3339;

/// Moves the progress at `path` past chapter `target` of `plan` (`runbook catch-up`): every
/// block up to the chapter's end is caught up, the next block is the first after it, and the
/// values captured on the way are kept for the blocks that use them.
pub(crate) fn move_past_chapter(
    plan: &crate::plan::Plan,
    workshop: &Path,
    target: usize,
    captures: &Vars,
    path: &Path,
) -> Result<(), ProgressError> {
    let (mut progress, _) = Progress::load(path, workshop)?;
    for step in plan.steps.iter().filter(|step| step.chapter <= target) {
        progress.record(&step.qualified_id, BlockStatus::CaughtUp);
    }
    progress.next = plan
        .steps
        .iter()
        .find(|step| step.chapter > target)
        .map(|step| step.qualified_id.clone());
    progress.captures.extend(captures.clone());
    progress.save(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_the_same_progress() {
        let folder = tempfile::tempdir().expect("tempdir");
        let workshop = folder.path().join("workshop");
        let path = default_path(&workshop);
        assert_eq!(path, folder.path().join(".runbook/progress.json"));
        let mut progress = Progress::new(&workshop);
        progress.record("01-intro/hello", BlockStatus::Passed);
        progress.record("01-intro/typed", BlockStatus::TypedUnchecked);
        progress.next = Some("02-etcd/start".into());
        progress.captures.insert("leader".into(), "pg-2".into());
        progress.save(&path).expect("saved");
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.contains("\"typed-unchecked\""), "{text}");
        let (loaded, note) = Progress::load(&path, &workshop).expect("loads");
        assert_eq!(note, None);
        assert_eq!(loaded, progress);
    }

    #[test]
    fn progress_of_another_workshop_is_not_used() {
        let folder = tempfile::tempdir().expect("tempdir");
        let path = folder.path().join("progress.json");
        let mut progress = Progress::new(Path::new("/somewhere/else"));
        progress.next = Some("01/x".into());
        progress.save(&path).expect("saved");
        let (loaded, note) = Progress::load(&path, Path::new("/here/workshop")).expect("loads");
        assert_eq!(loaded.next, None);
        assert!(note.expect("a note").contains("/somewhere/else"));
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let folder = tempfile::tempdir().expect("tempdir");
        let path = folder.path().join("progress.json");
        std::fs::write(&path, "{ not json").expect("write");
        let error = Progress::load(&path, Path::new("/w"))
            .expect_err("damaged")
            .to_string();
        assert!(error.contains("progress.json") && error.contains("--restart"));
    }
}
