//! Which steps a run takes: `--chapter`, `--from`, and for `runbook check` the checks that end
//! each chapter.

use std::collections::BTreeSet;
use std::path::Path;

use super::{PlanOptions, Step};
use crate::chapter::Workshop;
use crate::diagnostic::{Diagnostic, did_you_mean};

/// Applies `--chapter`, `--from` and `check`-only selection.
pub(super) fn select(
    workshop: &Workshop,
    steps: Vec<Step>,
    options: &PlanOptions,
) -> Result<Vec<Step>, Diagnostic> {
    let mut steps = steps;
    // Decided on the whole workshop, before `--chapter` and `--from` narrow it.
    let ending = options.checks_only.then(|| ending_checks(&steps));
    if !options.chapters.is_empty() {
        let mut wanted = BTreeSet::new();
        for name in &options.chapters {
            let found = workshop.chapters.iter().position(|chapter| {
                chapter.key == *name
                    || chapter.file_name() == *name
                    || chapter.title.eq_ignore_ascii_case(name)
                    || chapter.path == Path::new(name)
            });
            match found {
                Some(index) => {
                    wanted.insert(index);
                }
                None => {
                    let keys: Vec<&str> = workshop
                        .chapters
                        .iter()
                        .map(|chapter| chapter.key.as_str())
                        .collect();
                    let hint = match did_you_mean(name, keys.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("the chapters are: {}", keys.join(", ")),
                    };
                    return Err(Diagnostic::new(
                        &workshop.dir,
                        0,
                        format!("no chapter named `{name}`"),
                    )
                    .hint(hint));
                }
            }
        }
        steps.retain(|step| wanted.contains(&step.chapter));
    }
    if let Some(from) = &options.from {
        let matching: Vec<usize> = steps
            .iter()
            .enumerate()
            .filter(|(_, step)| step.qualified_id == *from || step.id == *from)
            .map(|(index, _)| index)
            .collect();
        match matching.as_slice() {
            [index] => {
                steps.drain(..*index);
            }
            [] => {
                let ids: Vec<&str> = steps
                    .iter()
                    .map(|step| step.qualified_id.as_str())
                    .collect();
                let hint = match did_you_mean(from, ids.iter().copied()) {
                    Some(close) => {
                        format!("did you mean `{close}`? (`runbook list` shows every id)")
                    }
                    None => "`runbook list` shows every block id".to_string(),
                };
                return Err(Diagnostic::new(
                    &workshop.dir,
                    0,
                    format!("no block `{from}` to start from"),
                )
                .hint(hint));
            }
            several => {
                let names: Vec<&str> = several
                    .iter()
                    .map(|&index| steps[index].qualified_id.as_str())
                    .collect();
                return Err(Diagnostic::new(
                    &workshop.dir,
                    0,
                    format!("`{from}` names several blocks"),
                )
                .hint(format!("say which with its chapter: {}", names.join(", "))));
            }
        }
    }
    if let Some(ending) = ending {
        steps.retain(|step| ending.contains(&step.qualified_id));
    }
    Ok(steps)
}

/// The checks that end each chapter: its `check` blocks after its last other block. They prove
/// the state the chapter leaves the lab in. A check in the middle of a chapter proves a state
/// on the way (etcd frozen, a restart pending) that the next blocks undo: it serves `runbook
/// step` after a block the trainee typed, not `runbook check`.
pub fn ending_checks(steps: &[Step]) -> BTreeSet<String> {
    steps
        .chunk_by(|one, next| one.chapter == next.chapter)
        .flat_map(|chapter| chapter.iter().rev().take_while(|step| step.check))
        .map(|step| step.qualified_id.clone())
        .collect()
}
