//! Writing `--bless` results: which expected files a step's blessed outputs go to (one shared
//! `<id>.out`, or one `<id>.<host>.out` per host) and what each write changed.

use crate::plan::Step;
use crate::report::model::BlessChange;

/// The blessed text for one host, written once all hosts of the step are done.
#[derive(Debug)]
pub struct BlessPending {
    pub host: String,
    pub text: String,
    /// The file the expectation came from, if it was an expected file.
    pub source: Option<std::path::PathBuf>,
}

/// Writes blessed outputs: one shared `<id>.out` when every host printed the same (and no
/// host has its own file), otherwise one `<id>.<host>.out` per host.
pub fn write_blessed(
    step: &Step,
    pending: Vec<BlessPending>,
    host_count: usize,
) -> Result<Vec<BlessChange>, String> {
    let all_same =
        pending.len() == host_count && pending.windows(2).all(|pair| pair[0].text == pair[1].text);
    let any_own_file = pending.iter().any(|p| {
        p.source
            .as_ref()
            .is_some_and(|s| *s == step.expected_path(Some(&p.host)))
    });
    let mut writes: Vec<(std::path::PathBuf, String)> = Vec::new();
    if host_count == 1 || (all_same && !any_own_file) {
        let path = match pending.first().and_then(|p| p.source.clone()) {
            Some(source) if host_count == 1 => source,
            _ => step.expected_path(None),
        };
        if let Some(first) = pending.first() {
            writes.push((path, first.text.clone()));
        }
    } else {
        for item in &pending {
            writes.push((step.expected_path(Some(&item.host)), item.text.clone()));
        }
    }
    let mut changes = Vec::new();
    for (path, text) in writes {
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
        crate::report::write_atomically(&path, text.as_bytes())
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        changes.push(BlessChange {
            path: path.display().to_string(),
            created: previous.is_none(),
            lines_changed,
        });
    }
    Ok(changes)
}
