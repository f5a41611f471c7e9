//! cram test files (`.t`) given to runbook as they are, through the real binary and real
//! bash: a folder of them (subfolders too, hidden ones left out) or one file; each file in a
//! shell of its own, set up as cram sets one up (`TESTDIR`, `TESTFILE`, a fresh folder named
//! after the file, `$TMPDIR` written so in output, `LANG=C`); `[N]` lines; exit status 80
//! skipping the rest of its file; a failure at the file's line. The test files below assert
//! most of it themselves: each rule broken fails one of their commands.

mod common;

use common::Lab;
use runbook::report::model::Outcome;

/// Writes the `.t` files under `tests/` in the lab.
fn suite(lab: &Lab) {
    lab.write(
        "tests/a.t",
        "cram's environment, and a folder of its own:\n\n\
         \x20 $ echo \"$TESTFILE $(basename \"$TESTDIR\")\"\n\
         \x20 a.t tests\n\
         \x20 $ pwd\n\
         \x20 */a.t (glob)\n\
         \x20 $ ls -A\n\
         \x20 $ echo \"$TMPDIR/x\" \"$LANG\" \"$TZ\"\n\
         \x20 $TMPDIR/x C GMT\n\
         \x20 $ touch here; secret=only-in-a\n\
         \nThe exit status after the output:\n\n\
         \x20 $ echo fails; false\n\
         \x20 fails\n\
         \x20 [1]\n",
    );
    lab.write(
        "tests/sub/b.t",
        "  $ echo \"[$secret]\"; ls -A\n  []\n  $ exit 80\n  $ touch \"$TESTDIR/ran-after-skip\"\n",
    );
    lab.write("tests/.hidden/c.t", "  $ false\n");
    lab.write("tests/sub/.d.t", "  $ false\n");
}

#[test]
fn a_folder_of_test_files_runs_each_file_in_a_shell_of_its_own_as_cram_does() {
    let lab = Lab::new();
    suite(&lab);
    let run = lab.runbook(&["verify", "tests"]);
    run.assert_code(0)
        .stdout_has("PASS a/block-1.1")
        .stdout_has("SKIPPED sub/b/block-1.2");
    let report = lab.report();
    let steps: Vec<(String, usize, Outcome)> = report
        .chapters
        .iter()
        .flat_map(|chapter| &chapter.steps)
        .map(|step| (step.qualified_id.clone(), step.line, step.outcome))
        .collect();
    assert_eq!(
        steps,
        [
            ("a/block-1.1".to_string(), 3, Outcome::Passed),
            ("a/block-1.2".to_string(), 5, Outcome::Passed),
            ("a/block-1.3".to_string(), 7, Outcome::Passed),
            ("a/block-1.4".to_string(), 8, Outcome::Passed),
            ("a/block-1.5".to_string(), 10, Outcome::Passed),
            ("a/block-2.1".to_string(), 14, Outcome::Passed),
            ("sub/b/block-1.1".to_string(), 1, Outcome::Passed),
            ("sub/b/block-1.2".to_string(), 3, Outcome::Skipped),
            ("sub/b/block-1.3".to_string(), 4, Outcome::Skipped),
        ],
        "hidden files and folders are left out; every command at its own line"
    );
    assert!(
        !lab.path().join("tests/ran-after-skip").exists(),
        "exit 80 skips the rest of its file"
    );
    assert!(
        !lab.path().join("tests/here").exists() && !lab.path().join("here").exists(),
        "a test runs in a folder of its own"
    );
    let skipped = lab.step("sub/b/block-1.3");
    assert_eq!(
        skipped.message.as_deref(),
        Some("not run: sub/b/block-1.2 exited with status 80, which skips the test file")
    );
}

#[test]
fn one_test_file_is_a_workshop_and_a_failure_points_at_its_line() {
    let lab = Lab::new();
    lab.write(
        "one.t",
        "A comment.\n\n  $ echo right\n  wrong\n  $ echo after\n  after\n",
    );
    // Without --keep-going: cram runs every command whatever failed before.
    let run = lab.runbook(&["verify", "one.t"]);
    run.assert_code(1)
        .stdout_has("MISMATCH one/block-1.1")
        .stdout_has("one.t:3")
        .stdout_has("expected: ./one.t:4\n")
        .stdout_has("4 - wrong")
        .stdout_has("PASS one/block-1.2");
}

#[test]
fn a_test_file_s_shell_and_folder_end_with_it_and_what_it_left_running_is_reported() {
    let lab = Lab::new();
    lab.write("tests/a.t", "  $ sleep 300 &\n  $ touch made-here\n");
    lab.write("tests/b.t", "  $ echo b\n  b\n");
    std::fs::create_dir_all(lab.path().join("tmp")).expect("tmp");
    lab.runbook_in_own_tmp(&["verify", "tests"]).assert_code(0);
    let leftovers = lab.report().leftovers;
    assert_eq!(
        leftovers
            .iter()
            .map(|leftover| leftover.command.as_str())
            .collect::<Vec<_>>(),
        ["sleep 300"]
    );
    let left: Vec<_> = std::fs::read_dir(lab.path().join("tmp"))
        .expect("tmp")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().contains("cramtests-"))
        .collect();
    assert!(left.is_empty(), "the tests' folders are removed: {left:?}");
}
