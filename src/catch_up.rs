//! `runbook catch-up --to CHAPTER`: brings a lab (one's own, or a trainee's of a class) to
//! the end of a chapter, for a trainee who fell behind or broke their lab. The lab's
//! chapter-end checks say where it is; the chapters up to CHAPTER whose checks do not all pass
//! are run as `verify` runs them (stopping at the first failure, with the usual failure view),
//! and their own checks, which end them, prove the result. What is decided here is which
//! chapters run; the running is the executor's and the printing the reporters'.

use crate::report::check_view::ChapterState;

/// What catch-up does with one chapter up to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The chapter's checks pass, and so do those of every chapter before it: left alone.
    AlreadyThere,
    /// Its checks pass, but an earlier chapter's do not: left alone too (its state is there;
    /// running it again could undo what a later step did).
    PassesAlready,
    /// Run as `verify` runs it.
    Run,
    /// No blocks: nothing to do.
    Empty,
}

/// The decision for each chapter `0..=target`, from the lab's chapter states (checks run
/// once), and whether each chapter has blocks. A chapter without checks cannot be seen to be
/// done: it is left alone only when a later chapter up to which the lab is reached (an
/// unbroken run of passing chapters with checks) comes after it, otherwise it runs.
pub(crate) fn decide(states: &[ChapterState], has_blocks: &[bool], target: usize) -> Vec<Decision> {
    let reached = crate::check::reached(&states[..=target.min(states.len().saturating_sub(1))]);
    (0..=target)
        .map(|index| {
            if !has_blocks.get(index).copied().unwrap_or(false) {
                Decision::Empty
            } else if reached.is_some_and(|last| index <= last) {
                Decision::AlreadyThere
            } else if states[index].reached() {
                Decision::PassesAlready
            } else {
                Decision::Run
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::{AlreadyThere, Empty, PassesAlready, Run};

    fn state(checks: usize, passed: usize) -> ChapterState {
        ChapterState {
            key: String::new(),
            title: String::new(),
            checks,
            passed,
            first_failure: None,
        }
    }

    #[test]
    fn chapters_up_to_the_lab_s_last_reached_one_are_left_and_the_rest_run() {
        // principles (no blocks), lab (no checks), etcd (passes), patroni (fails),
        // incidents (fails), configuration (passes though patroni fails).
        let states = [
            state(0, 0),
            state(0, 0),
            state(2, 2),
            state(3, 1),
            state(2, 0),
            state(1, 1),
        ];
        let blocks = [false, true, true, true, true, true];
        assert_eq!(
            decide(&states, &blocks, 5),
            [Empty, AlreadyThere, AlreadyThere, Run, Run, PassesAlready]
        );
        // Only up to the target.
        assert_eq!(
            decide(&states, &blocks, 3),
            [Empty, AlreadyThere, AlreadyThere, Run]
        );
        // A fresh lab: everything runs; the chapter without checks too.
        let fresh = [state(0, 0), state(0, 0), state(2, 0), state(3, 0)];
        assert_eq!(decide(&fresh, &blocks[..4], 3), [Empty, Run, Run, Run]);
        // Already there: nothing runs.
        let done = [state(0, 0), state(0, 0), state(2, 2), state(3, 3)];
        assert_eq!(
            decide(&done, &blocks[..4], 3),
            [Empty, AlreadyThere, AlreadyThere, AlreadyThere]
        );
    }
}
