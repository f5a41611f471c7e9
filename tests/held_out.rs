//! Issue 14's held-out cases, which the static corpus (`tests/bad_input/`) cannot hold: usage
//! errors, FIFOs, directories and symlinks made at run time, a very large inventory, and the
//! inventory's resolved choices (which group's variable wins) seen in a real run.

mod common;

use std::time::{Duration, Instant};

use common::Lab;

const MARKER: &str = "# Setup\n\n```bash id=first\ntouch ran\n```\n";

fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Runs runbook, killing it if it hangs: a hang is the bug these tests pin. Its output is
/// read while it runs (a pipe left unread would block a long answer).
fn run_bounded(lab: &Lab, args: &[&str]) -> (common::Run, Duration) {
    let started = Instant::now();
    let child = lab
        .command(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn runbook");
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    let Ok(output) = receiver.recv_timeout(Duration::from_secs(20)) else {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        panic!("runbook {args:?} did not answer within 20 s");
    };
    let output = output.expect("output");
    let run = common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (run, started.elapsed())
}

fn assert_nothing_ran(lab: &Lab) {
    assert!(!lab.path().join("ran").exists(), "a block ran");
    assert!(!lab.path().join("report").exists(), "a report was written");
}

#[test]
fn huge_durations_on_the_command_line_are_usage_errors_before_anything_runs() {
    let lab = Lab::new();
    lab.chapter("01-setup.md", MARKER);
    for option in ["--timeout", "--connect-timeout", "--grace"] {
        for value in ["100000000h", "25h", "99999999999999999999s"] {
            let (run, _) = run_bounded(&lab, &["verify", "workshop", option, value]);
            assert_eq!(run.code, 2, "{option} {value}: {}", run.stderr);
            assert!(
                run.stderr
                    .contains(&format!("invalid value '{value}' for '{option}")),
                "{option} {value}: {}",
                run.stderr
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            assert_nothing_ran(&lab);
        }
    }
    let (run, _) = run_bounded(&lab, &["verify", "workshop", "--timeout", "25h"]);
    run.stderr_has("longer than runbook's limit of `24h`");
    // The limit itself is accepted.
    let (run, _) = run_bounded(&lab, &["verify", "workshop", "--timeout", "24h"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_fifo_as_expected_file_is_refused_at_once() {
    let lab = Lab::new();
    lab.chapter(
        "01-setup.md",
        &format!("{MARKER}\n```bash id=hello\necho hi\n```\n"),
    );
    std::fs::create_dir_all(lab.path().join("expected/01-setup")).expect("mkdir");
    mkfifo(&lab.path().join("expected/01-setup/hello.out"));
    let (run, took) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("error: `expected/01-setup/hello.out` is a named pipe (FIFO), not a regular file\n  --> expected/01-setup/hello.out\n");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_nothing_ran(&lab);
}

#[test]
fn a_fifo_or_a_directory_named_as_a_chapter_is_refused_at_the_summary_line() {
    let lab = Lab::new();
    lab.chapter("01-setup.md", MARKER);
    lab.chapter(
        "SUMMARY.md",
        "# Summary\n\n- [Setup](01-setup.md)\n- [Pipe](02-pipe.md)\n- [Folder](03-folder.md)\n",
    );
    mkfifo(&lab.path().join("workshop/02-pipe.md"));
    std::fs::create_dir_all(lab.path().join("workshop/03-folder.md")).expect("mkdir");
    let (run, took) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("`workshop/02-pipe.md` is a named pipe (FIFO), not a regular file\n  --> workshop/SUMMARY.md:4\n")
        .stderr_has("`workshop/03-folder.md` is a directory, not a regular file\n  --> workshop/SUMMARY.md:5\n");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_nothing_ran(&lab);
}

#[test]
fn a_fifo_chapter_in_a_folder_without_summary_and_a_fifo_summary_are_refused() {
    let lab = Lab::new();
    lab.chapter("01-setup.md", MARKER);
    mkfifo(&lab.path().join("workshop/02-pipe.md"));
    let (run, _) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("error: `workshop/02-pipe.md` is a named pipe (FIFO), not a regular file\n  --> workshop/02-pipe.md\n");
    std::fs::remove_file(lab.path().join("workshop/02-pipe.md")).expect("rm");
    mkfifo(&lab.path().join("workshop/SUMMARY.md"));
    let (run, _) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("`workshop/SUMMARY.md` is a named pipe (FIFO), not a regular file");
    assert_nothing_ran(&lab);
}

/// Issue 24: `runbook step`'s progress file follows the rule for every file runbook reads.
/// A FIFO there blocked in `open` forever; a symlink to `/dev/zero` was read without end.
#[test]
fn a_progress_file_that_is_a_fifo_or_a_device_is_refused_at_once() {
    let lab = Lab::new();
    lab.chapter("01-setup.md", MARKER);
    std::fs::create_dir_all(lab.path().join(".runbook")).expect("mkdir");
    let progress = lab.path().join(".runbook/progress.json");
    mkfifo(&progress);
    let (run, took) = run_bounded(&lab, &["step", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has(
        "progress.json` is a named pipe (FIFO), not a regular file; delete it or use --restart",
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_nothing_ran(&lab);

    std::fs::remove_file(&progress).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &progress).expect("symlink");
    let (run, took) = run_bounded(&lab, &["step", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("progress.json` is a device, not a regular file; delete it or use --restart");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_nothing_ran(&lab);

    // `--restart` does not read it, and replaces the link with the new progress.
    let (run, _) = run_bounded(&lab, &["step", "workshop", "--restart"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::symlink_metadata(&progress)
            .expect("progress")
            .is_file()
    );
}

#[test]
fn an_inventory_that_is_a_fifo_a_directory_or_too_large_is_refused() {
    let lab = Lab::new();
    lab.chapter("01-setup.md", MARKER);
    mkfifo(&lab.path().join("workshop/inventory.yml"));
    let (run, _) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("`workshop/inventory.yml` is a named pipe (FIFO), not a regular file");
    let (run, _) = run_bounded(&lab, &["verify", "workshop", "--inventory", "/dev/zero"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("`/dev/zero` is a device, not a regular file");
    std::fs::remove_file(lab.path().join("workshop/inventory.yml")).expect("rm");
    let big = lab.path().join("workshop/inventory.yml");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(17 * 1024 * 1024).expect("grow");
    let (run, _) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("is too large (17825792 bytes; runbook reads files of at most 16 MiB)");
    assert_nothing_ran(&lab);
}

#[test]
fn an_inventory_of_twenty_thousand_hosts_answers_quickly() {
    let lab = Lab::new();
    lab.chapter(
        "01-setup.md",
        "# Setup\n\n```bash on=h19999\necho far\n```\n\n```console\nfar\n```\n",
    );
    let mut inventory =
        String::from("all:\n  hosts:\n    h19999:\n      runbook_transport: local\n");
    for index in 0..20_000 {
        inventory.push_str(&format!(
            "    h{index}x: {{ansible_host: 10.0.{}.{}}}\n",
            index / 250,
            index % 250
        ));
    }
    lab.write("workshop/inventory.yml", &inventory);
    let (run, took) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Debug build on a shared 2-core machine: generous, yet far from the minutes it took.
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn chapters_outside_the_workshop_are_refused_unless_allowed() {
    let lab = Lab::new();
    lab.chapter("01-setup.md", MARKER);
    lab.write(
        "elsewhere/02-outside.md",
        "# Outside\n\n```bash\ntouch outside-ran\n```\n",
    );
    std::os::unix::fs::symlink(
        lab.path().join("elsewhere/02-outside.md"),
        lab.path().join("workshop/02-outside.md"),
    )
    .expect("symlink");
    let (run, _) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("error: the chapter `workshop/02-outside.md` is a symlink to `")
        .stderr_has("02-outside.md`, outside the workshop folder\n")
        .stderr_has("--allow-outside-workshop");
    assert_nothing_ran(&lab);
    // The same through SUMMARY.md, by `../`: refused at its line.
    std::fs::remove_file(lab.path().join("workshop/02-outside.md")).expect("rm");
    lab.chapter(
        "SUMMARY.md",
        "- [Setup](01-setup.md)\n- [Outside](../elsewhere/02-outside.md)\n",
    );
    let (run, _) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("error: SUMMARY.md names `../elsewhere/02-outside.md`, outside the workshop folder\n  --> workshop/SUMMARY.md:2\n");
    assert_nothing_ran(&lab);
    // Even allowed, a `../` path would name expected files outside `expected/` (issue 24):
    // refused at its line, before anything runs.
    let (run, _) = run_bounded(&lab, &["verify", "workshop", "--allow-outside-workshop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("error: SUMMARY.md names `../elsewhere/02-outside.md`, outside the workshop folder: its expected files would be outside `expected/`\n  --> workshop/SUMMARY.md:2\n");
    assert_nothing_ran(&lab);
    // Allowed on purpose, through a link in the folder: read and run.
    std::os::unix::fs::symlink(
        lab.path().join("elsewhere/02-outside.md"),
        lab.path().join("workshop/02-outside.md"),
    )
    .expect("symlink");
    lab.chapter(
        "SUMMARY.md",
        "- [Setup](01-setup.md)\n- [Outside](02-outside.md)\n",
    );
    let (run, _) = run_bounded(&lab, &["verify", "workshop", "--allow-outside-workshop"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        lab.path().join("outside-ran").exists(),
        "the outside chapter ran"
    );
}

/// Issue 24: `--bless --allow-outside-workshop` with SUMMARY.md naming `../other/o.md` wrote
/// `expected/../other/o/o.out`, beside the chapter outside `expected/`. Refused at the line.
#[test]
fn bless_never_writes_outside_expected_whatever_the_chapter_path() {
    let lab = Lab::new();
    lab.chapter("01-setup.md", MARKER);
    lab.write("other/o.md", "# Other\n\n```bash id=o\necho o\n```\n");
    lab.chapter(
        "SUMMARY.md",
        "- [Setup](01-setup.md)\n- [Other](../other/o.md)\n",
    );
    let (run, _) = run_bounded(
        &lab,
        &["verify", "workshop", "--bless", "--allow-outside-workshop"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("  --> workshop/SUMMARY.md:2\n");
    assert!(
        !lab.path().join("other/o").exists(),
        "nothing blessed beside the chapter"
    );
    assert!(
        !lab.path().join("expected").exists(),
        "nothing blessed at all"
    );
    assert_nothing_ran(&lab);
    // The same by an absolute path.
    let absolute = lab.path().join("other/o.md");
    lab.chapter(
        "SUMMARY.md",
        &format!(
            "- [Setup](01-setup.md)\n- [Other]({})\n",
            absolute.display()
        ),
    );
    let (run, _) = run_bounded(
        &lab,
        &["verify", "workshop", "--bless", "--allow-outside-workshop"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr_has("an absolute path: its expected files would be outside `expected/`");
    assert!(!lab.path().join("expected").exists());
    assert_nothing_ran(&lab);
}

/// Issue 24: a SUMMARY.md repeating one link 300,000 times printed 300,000 messages (60 MB).
/// The first ones are shown, the rest counted.
#[test]
fn a_summary_repeating_a_link_prints_a_bounded_number_of_problems() {
    let lab = Lab::new();
    lab.chapter("01-setup.md", MARKER);
    lab.chapter("SUMMARY.md", &"- [Setup](01-setup.md)\n".repeat(300_000));
    let (run, _) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.len() < 64 * 1024,
        "{} bytes on stderr",
        run.stderr.len()
    );
    assert_eq!(run.stderr.matches("is listed twice").count(), 50);
    run.stderr_has(
        "error: 299999 problems in the workshop (the first 50 shown, 299949 more not); nothing was run\n",
    );
    assert_nothing_ran(&lab);
}

#[test]
fn a_host_in_two_groups_takes_ansibles_precedence_and_a_child_may_be_defined_later() {
    let lab = Lab::new();
    // pg-1 is in `zeta` and `alpha` (same depth: the later name, zeta, wins), and in
    // `primary`, a child of `db` defined after `db` names it (deeper: wins over both).
    lab.write(
        "workshop/inventory.yml",
        "all:
  vars:
    role: from-all
    site: from-all
    tier: from-all
  children:
    zeta:
      hosts:
        pg-1:
          runbook_transport: local
      vars:
        role: from-zeta
        site: from-zeta
    alpha:
      hosts:
        pg-1:
          own: from-host
      vars:
        role: from-alpha
        site: from-alpha
        own: from-alpha
    db:
      children:
        primary:
      vars:
        tier: from-db
    primary:
      hosts:
        pg-1:
      vars:
        site: from-primary
",
    );
    lab.chapter(
        "01-vars.md",
        "# Vars\n\n```bash on=db id=show\necho {{ role }} {{ site }} {{ tier }} {{ own }}\n```\n\n```console\nfrom-zeta from-primary from-db from-host\n```\n",
    );
    let (run, _) = run_bounded(&lab, &["verify", "workshop"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run.stdout_has("PASS 01-vars/show  pg-1");
}

/// Issue 24: `runbook list` took 19 to 29 s on a transcript whose first command opens a `for`
/// followed by 5,000 lines: each line asked `bash -n` about the whole command so far.
#[test]
fn a_transcript_left_open_for_five_thousand_lines_is_planned_at_once() {
    let lab = Lab::new();
    let mut chapter = String::from("# Open\n\n```console\n$ for i in 1 2 3; do\n");
    for line in 0..5000 {
        chapter.push_str(&format!("  echo this is line {line} of the loop body\n"));
    }
    chapter.push_str("```\n");
    lab.chapter("01-open.md", &chapter);
    let (run, _) = run_bounded(&lab, &["list", "workshop", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let command = plan[0]["command"].as_str().expect("a command");
    assert_eq!(
        command.lines().count(),
        5001,
        "one command, open to the end"
    );
}
