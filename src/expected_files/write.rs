//! Writing `--bless` results: which expected files a step's blessed outputs go to (one shared
//! `<id>.out`, or one `<id>.<host>.out` per host) and what each write changed. The blessed
//! text itself is `expect::bless`'s work; this module only places it.

use std::path::PathBuf;

use super::StepFiles;

/// The blessed text for one host, written once all hosts of the step are done.
#[derive(Debug)]
pub(crate) struct BlessPending {
    pub(crate) host: String,
    pub(crate) text: String,
    /// The file the expectation came from, if it was an expected file.
    pub(crate) source: Option<PathBuf>,
}

/// One expected file `--bless` writes, and its new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlessedFile {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

/// What `--bless` changed in one expected file (the report says it as `BlessChange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) path: PathBuf,
    /// The file did not exist before.
    pub(crate) created: bool,
    pub(crate) lines_changed: usize,
}

/// A blessed expected file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub(crate) struct BlessError {
    pub(crate) path: PathBuf,
    pub(crate) source: std::io::Error,
}

/// Where the blessed outputs of a step on `host_count` hosts go: one shared `<id>.out` when
/// every host printed the same (and no host has its own file), otherwise one
/// `<id>.<host>.out` per host. A block on one host keeps the file it was checked against.
fn blessed_files(
    step: StepFiles<'_>,
    pending: &[BlessPending],
    host_count: usize,
) -> Vec<BlessedFile> {
    let all_same =
        pending.len() == host_count && pending.windows(2).all(|pair| pair[0].text == pair[1].text);
    let any_own_file = pending.iter().any(|p| {
        p.source
            .as_ref()
            .is_some_and(|s| *s == step.path(Some(&p.host)))
    });
    if host_count == 1 || (all_same && !any_own_file) {
        let path = match pending.first().and_then(|p| p.source.clone()) {
            Some(source) if host_count == 1 => source,
            _ => step.path(None),
        };
        pending
            .first()
            .map(|first| BlessedFile {
                path,
                text: first.text.clone(),
            })
            .into_iter()
            .collect()
    } else {
        pending
            .iter()
            .map(|item| BlessedFile {
                path: step.path(Some(&item.host)),
                text: item.text.clone(),
            })
            .collect()
    }
}

/// Writes a step's blessed outputs ([`blessed_files`]); says what changed in each file that
/// did change.
pub(crate) fn write_blessed(
    step: StepFiles<'_>,
    pending: Vec<BlessPending>,
    host_count: usize,
) -> Result<Vec<Change>, BlessError> {
    let mut changes = Vec::new();
    for BlessedFile { path, text } in blessed_files(step, &pending, host_count) {
        let previous = std::fs::read_to_string(&path).ok();
        if previous.as_deref() == Some(text.as_str()) {
            continue;
        }
        let lines_changed = match &previous {
            Some(previous) => similar::TextDiff::from_lines(previous.as_str(), text.as_str())
                .iter_all_changes()
                .filter(|change| change.tag() != similar::ChangeTag::Equal)
                .count(),
            None => text.lines().count(),
        };
        if let Err(source) = crate::user_file::write_atomically(&path, text.as_bytes()) {
            return Err(BlessError { path, source });
        }
        changes.push(Change {
            path,
            created: previous.is_none(),
            lines_changed,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn step() -> StepFiles<'static> {
        StepFiles {
            folder: Path::new("expected/02"),
            id: "list",
        }
    }

    fn pending(host: &str, text: &str, source: Option<&str>) -> BlessPending {
        BlessPending {
            host: host.into(),
            text: text.into(),
            source: source.map(PathBuf::from),
        }
    }

    fn file(path: &str, text: &str) -> BlessedFile {
        BlessedFile {
            path: path.into(),
            text: text.into(),
        }
    }

    #[test]
    fn hosts_that_printed_the_same_share_one_file() {
        let same = [pending("pg-1", "a\n", None), pending("pg-2", "a\n", None)];
        assert_eq!(
            blessed_files(step(), &same, 2),
            [file("expected/02/list.out", "a\n")]
        );
    }

    #[test]
    fn hosts_that_differ_or_have_their_own_file_get_one_each() {
        let different = [pending("pg-1", "a\n", None), pending("pg-2", "b\n", None)];
        assert_eq!(
            blessed_files(step(), &different, 2),
            [
                file("expected/02/list.pg-1.out", "a\n"),
                file("expected/02/list.pg-2.out", "b\n")
            ]
        );
        let own = [
            pending("pg-1", "a\n", Some("expected/02/list.pg-1.out")),
            pending("pg-2", "a\n", Some("expected/02/list.out")),
        ];
        assert_eq!(blessed_files(step(), &own, 2).len(), 2);
        let one_of_two = [pending("pg-1", "a\n", None)];
        assert_eq!(
            blessed_files(step(), &one_of_two, 2),
            [file("expected/02/list.pg-1.out", "a\n")],
            "the other host passed: its file stays"
        );
    }

    #[test]
    fn a_block_on_one_host_keeps_the_file_it_was_checked_against() {
        let checked = [pending("pg-1", "a\n", Some("expected/02/list.pg-1.out"))];
        assert_eq!(
            blessed_files(step(), &checked, 1),
            [file("expected/02/list.pg-1.out", "a\n")]
        );
        let fresh = [pending("pg-1", "a\n", None)];
        assert_eq!(
            blessed_files(step(), &fresh, 1),
            [file("expected/02/list.out", "a\n")]
        );
    }
}
