//! Which steps a run takes: `--chapter`, `--from`, and for `runbook check` the checks that end
//! each chapter.

use std::collections::BTreeSet;
use std::path::Path;

use super::{PlanOptions, Step};
use crate::chapter::Workshop;
use crate::diagnostic::{Diagnostic, did_you_mean};

/// Applies `--chapter`, `--from` and `check`-only selection: the indices of the chosen
/// steps, in order.
pub(super) fn select(
    workshop: &Workshop,
    steps: &[Step],
    options: &PlanOptions,
) -> Result<Vec<usize>, Diagnostic> {
    // A teardown run has only the blocks that remove the lab; every other run leaves them out.
    let mut chosen: Vec<usize> = (0..steps.len())
        .filter(|&index| steps[index].teardown == options.teardown)
        .collect();
    // Decided on the whole workshop, before `--chapter` and `--from` narrow it.
    let ending = options
        .checks_only
        .then(|| ending_checks(chosen.iter().map(|&index| &steps[index])));
    if !options.chapters.is_empty() {
        let wanted = named_chapters(workshop, &options.chapters)?;
        chosen.retain(|&index| wanted.contains(&steps[index].chapter));
    }
    if let Some(from) = &options.from {
        let start = start_at(workshop, steps, &chosen, from)?;
        chosen.drain(..start);
    }
    if let Some(ending) = ending {
        chosen.retain(|&index| ending.contains(&steps[index].qualified_id));
    }
    Ok(chosen)
}

/// The chapters `--chapter` names (by key, file name, title, path or number from 1, as
/// `runbook check` numbers them), by index.
pub(crate) fn named_chapters(
    workshop: &Workshop,
    names: &[String],
) -> Result<BTreeSet<usize>, Diagnostic> {
    let mut wanted = BTreeSet::new();
    for name in names {
        // A name first: a chapter whose key is `2` is that one, not the second.
        let found = workshop
            .chapters
            .iter()
            .position(|chapter| {
                chapter.key == *name
                    || chapter.file_name() == *name
                    || chapter.title.eq_ignore_ascii_case(name)
                    || chapter.path == Path::new(name)
            })
            .or_else(|| {
                name.parse::<usize>()
                    .ok()
                    .filter(|number| (1..=workshop.chapters.len()).contains(number))
                    .map(|number| number - 1)
            });
        let Some(index) = found else {
            let keys: Vec<&str> = workshop
                .chapters
                .iter()
                .map(|chapter| chapter.key.as_str())
                .collect();
            let hint = match did_you_mean(name, keys.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("the chapters are: {}", keys.join(", ")),
            };
            return Err(
                Diagnostic::new(&workshop.dir, 0, format!("no chapter named `{name}`")).hint(hint),
            );
        };
        wanted.insert(index);
    }
    Ok(wanted)
}

/// Where `--from` starts within the chosen steps: the one step whose id (or `chapter/id`) it
/// names.
fn start_at(
    workshop: &Workshop,
    steps: &[Step],
    chosen: &[usize],
    from: &str,
) -> Result<usize, Diagnostic> {
    let matching: Vec<usize> = chosen
        .iter()
        .enumerate()
        .filter(|(_, index)| {
            let step = &steps[**index];
            // A transcript's id (without `.n`) starts at its first command.
            let first_of_transcript = format!("{from}.1");
            step.qualified_id == *from
                || step.id == *from
                || (step.part == Some(1)
                    && (step.qualified_id == first_of_transcript || step.id == first_of_transcript))
        })
        .map(|(position, _)| position)
        .collect();
    match matching.as_slice() {
        [position] => Ok(*position),
        [] => {
            let ids: Vec<&str> = chosen
                .iter()
                .map(|&index| steps[index].qualified_id.as_str())
                .collect();
            let hint = match did_you_mean(from, ids.iter().copied()) {
                Some(close) => format!("did you mean `{close}`? (`runbook list` shows every id)"),
                None => "`runbook list` shows every block id".to_string(),
            };
            Err(
                Diagnostic::new(&workshop.dir, 0, format!("no block `{from}` to start from"))
                    .hint(hint),
            )
        }
        several => {
            let names: Vec<&str> = several
                .iter()
                .map(|&position| steps[chosen[position]].qualified_id.as_str())
                .collect();
            Err(
                Diagnostic::new(&workshop.dir, 0, format!("`{from}` names several blocks"))
                    .hint(format!("say which with its chapter: {}", names.join(", "))),
            )
        }
    }
}

/// The checks that end each chapter: its `check` blocks after its last other block. They prove
/// the state the chapter leaves the lab in. A check in the middle of a chapter proves a state
/// on the way (etcd frozen, a restart pending) that the next blocks undo: it serves `runbook
/// step` after a block the trainee typed, not `runbook check`.
pub(crate) fn ending_checks<'s>(steps: impl IntoIterator<Item = &'s Step>) -> BTreeSet<String> {
    let steps: Vec<&Step> = steps.into_iter().collect();
    steps
        .chunk_by(|one, next| one.chapter == next.chapter)
        .flat_map(|chapter| chapter.iter().rev().take_while(|step| step.check))
        .map(|step| step.qualified_id.clone())
        .collect()
}
