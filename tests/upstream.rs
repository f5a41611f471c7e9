//! The authors'-course suite: runbook on courses as their authors keep them, which this
//! project reads but does not hold (their text stays theirs). They sit in one folder, with
//! `patroni-2021/` (the Patroni course and its playbook) and `ws14/` (a PostgreSQL 14
//! workshop) in it: `../shared/upstream` beside the clone, or the folder `RUNBOOK_UPSTREAM`
//! names.
//!
//! A fresh clone has no such folder, so this suite is not part of `scripts/test`: it is built
//! only with the `upstream-courses` feature, and `scripts/test-upstream [FOLDER]` runs it
//! (`.ci/run` does, every time). Once asked for, a missing course fails the test, never skips
//! it.

#![cfg(feature = "upstream-courses")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The folder of the authors' courses; panics, saying how to provide it, when it lacks one.
fn upstream(course: &str, chapter: &str) -> PathBuf {
    let root = std::env::var_os("RUNBOOK_UPSTREAM").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream"),
        PathBuf::from,
    );
    let folder = root.join(course);
    assert!(
        folder.join(chapter).is_file(),
        "{} holds no {chapter}: the authors'-course suite needs their courses; run \
         `scripts/test-upstream FOLDER` with the folder that holds {course}/ (or clone the \
         repository beside shared/)",
        folder.display()
    );
    folder
}

fn runbook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run runbook")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `scripts/annotated-course ARGS FOLDER` with this build's runbook: its stdout, once it has
/// succeeded.
fn annotated_course(args: &[&str], folder: &Path) -> String {
    let output =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/annotated-course"))
            .args(args)
            .arg(folder)
            .env("RUNBOOK", env!("CARGO_BIN_EXE_runbook"))
            .env("NO_COLOR", "1")
            .output()
            .expect("run scripts/annotated-course");
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "--- stdout\n{stdout}\n--- stderr\n{}",
        text(&output.stderr)
    );
    stdout
}

#[test]
fn the_annotated_patroni_course_changes_fence_lines_only_and_pandoc_reads_the_same_blocks() {
    let stdout = annotated_course(&[], &upstream("patroni-2021", "patroni.md"));
    assert!(
        stdout.contains("fence lines changed, nothing else"),
        "{stdout}"
    );
    assert!(stdout.contains("pandoc reads the same"), "{stdout}");
    // Transcripts make several steps of one block (the script itself refuses a step that
    // would leave the lab).
    assert!(stdout.contains("steps from"), "{stdout}");
}

/// The PostgreSQL 14 workshop's annotated copy: fence lines named by `file:line` in its
/// included chapters, `runbook.yml` and `inventory.yml` added beside the master file, nothing
/// else changed; its plan lists (the inventory names the authors' `pop-os`).
#[test]
fn the_annotated_postgresql_14_workshop_changes_fence_lines_only_and_adds_its_settings() {
    let stdout = annotated_course(
        &["--course", "ws14"],
        &upstream("ws14", "140-postgresql_14.md"),
    );
    assert!(
        stdout.contains("50 fence lines changed, nothing else, in 25 files; 2 files added"),
        "{stdout}"
    );
    assert!(stdout.contains("pandoc reads the same"), "{stdout}");
    assert!(stdout.contains("252 steps from 222 blocks"), "{stdout}");
}

#[test]
fn the_patroni_course_as_written_pairs_its_printed_output_with_its_commands() {
    let folder = upstream("patroni-2021", "patroni.md");
    let output = runbook(&[
        "list",
        folder.to_str().expect("UTF-8 path"),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON plan");
    let steps = plan.as_array().expect("a list of steps");
    let from_the_course = steps
        .iter()
        .filter(|step| step["expected_from"].as_str().is_some())
        .count();
    // What the course prints, as counted by hand when transcripts were first read: 57 steps,
    // 27 of them with the output the authors printed below the command.
    assert_eq!(steps.len(), 57, "{}", text(&output.stdout));
    assert_eq!(from_the_course, 27);
    // No printed output line became a command: the first transcript's commands are the
    // course's `sudo` and `ssh` lines, each with its own step.
    let commands: Vec<&str> = steps
        .iter()
        .filter_map(|step| step["command"].as_str())
        .collect();
    assert!(
        commands.iter().all(|command| !command.starts_with("+--")),
        "a table line read as a command: {commands:?}"
    );
}

/// The PostgreSQL 14 workshop as its authors keep it: a master file whose chapters come in by
/// `!include`. Its plan lists the steps of the included chapters at their own `file:line`,
/// marks the one step whose prompt names a machine of the authors' (`pop-os`) and exits 2;
/// no result table printed after an `sql` fence is read as a command.
#[test]
fn the_postgresql_14_workshop_is_read_through_its_include_lines() {
    let folder = upstream("ws14", "140-postgresql_14.md");
    let master = folder.join("140-postgresql_14.md");
    let output = runbook(&[
        "list",
        master.to_str().expect("UTF-8 path"),
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON plan");
    let steps = plan.as_array().expect("a list of steps");
    // 71 when `!include` was first read (SQL not run then); with SQL blocks and psql
    // transcripts, 286: 224 typed into psql (114 with the authors' printed output), 62 shell.
    assert_eq!(steps.len(), 286, "{}", text(&output.stdout));
    let typed_into_psql = steps
        .iter()
        .filter(|step| step["interpreter"] == "psql")
        .count();
    assert_eq!(typed_into_psql, 224);
    // No psql prompt is left in a command: every `db=#` line was read as one.
    let prompt =
        regex::Regex::new(r"(?m)^\s*[A-Za-z_][A-Za-z0-9_]*[=\-(][*!]?[#>]\s").expect("regex");
    assert!(
        steps
            .iter()
            .all(|step| !prompt.is_match(step["command"].as_str().unwrap_or_default())),
        "a psql prompt was left in a command"
    );
    let files: std::collections::BTreeSet<&str> = steps
        .iter()
        .filter_map(|step| step["file"].as_str())
        .collect();
    assert!(
        files.iter().all(|file| file.contains("/include/")),
        "every step comes from an included chapter: {files:?}"
    );
    let faulty: Vec<&serde_json::Value> = steps
        .iter()
        .filter(|step| {
            step["problems"]
                .as_array()
                .is_some_and(|problems| !problems.is_empty())
        })
        .collect();
    // The authors' machine (`pop-os`) in one prompt, and 13 SQL fences that end inside a
    // statement (shell commands, fragments, queries shown with their results: errata, which
    // the annotated copy marks).
    let message = |step: &&serde_json::Value| {
        step["problems"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        faulty
            .iter()
            .filter(|step| message(step).contains("pop-os"))
            .count(),
        1,
        "{faulty:?}"
    );
    assert_eq!(
        faulty
            .iter()
            .filter(|step| message(step).contains("ends inside a statement"))
            .count(),
        13,
        "{faulty:?}"
    );
    assert_eq!(faulty.len(), 14, "{faulty:?}");
    // A query plan printed after (or with) an SQL query is never a command that runs: it is
    // the query's output, or part of a fence refused above.
    assert!(
        steps.iter().all(|step| {
            let command = step["command"].as_str().unwrap_or_default();
            let refused = step["problems"]
                .as_array()
                .is_some_and(|problems| !problems.is_empty());
            refused || !command.contains("QUERY PLAN")
        }),
        "a query plan printed after an sql fence was read as a command"
    );
}
