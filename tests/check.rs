//! `runbook check`: only `check` blocks run, and the answer is which chapters the lab reached.

mod common;

use runbook::report::model::Outcome;

use common::Lab;

fn workshop() -> Lab {
    let lab = Lab::new();
    lab.chapter(
        "01-etcd.md",
        "# Etcd\n\n```bash id=install\ntouch installed-etcd\n```\n\n```bash check id=etcd-up\ntest -e etcd && echo up\n```\n\n```console\nup\n```\n",
    );
    lab.chapter(
        "02-postgres.md",
        "# PostgreSQL\n\n```bash check id=pg-up\ntest -e pg && echo up\n```\n\n```console\nup\n```\n\n```bash check id=pg-leader\ncat pg\n```\n\n```console\nleader: pg-\\d (re)\n```\n",
    );
    lab.chapter(
        "03-notes.md",
        "# Notes\n\n```bash\necho nothing to check\n```\n",
    );
    lab.chapter(
        "04-backup.md",
        "# Backup\n\n```bash check id=backup\ntest -e backup && echo done\n```\n\n```console\ndone\n```\n",
    );
    lab
}

#[test]
fn tells_which_chapters_the_lab_has_reached() {
    let lab = workshop();
    lab.write("etcd", "");
    lab.write("pg", "leader: none\n");
    lab.write("backup", "");
    let run = lab.runbook(&["check", "workshop"]);
    run.assert_code(1)
        .stdout_has("Running 4 checks (read-only; the checks that end each chapter)")
        .stdout_has("✔ pass  01-etcd/etcd-up")
        .stdout_has("✔ pass  02-postgres/pg-up")
        .stdout_has("✘ fail  02-postgres/pg-leader")
        .stdout_has("hint: expected `leader: pg-\\d (re)` but the output has `leader: none` (expected line 16)")
        .stdout_has("✔  1. Etcd")
        .stdout_has("reached (1 of 1 checks pass)")
        .stdout_has("✘  2. PostgreSQL")
        .stdout_has("not reached: 1 of 2 checks pass, first failing: 02-postgres/pg-leader")
        .stdout_has("·  3. Notes")
        .stdout_has("no checks")
        .stdout_has("The lab has reached chapter 1 of 4: Etcd.")
        .stdout_has("Note: chapter 4 (Backup) passes its checks too, though an earlier one does not.");
    // Only checks ran: the install block did not.
    assert!(!lab.path().join("installed-etcd").exists());
    assert!(!run.stdout.contains("nothing to check"));

    lab.write("pg", "leader: pg-2\n");
    lab.runbook(&["check", "workshop"])
        .assert_code(0)
        .stdout_has("The lab has reached chapter 4 of 4: Backup.");
}

#[test]
fn a_fresh_lab_has_reached_nothing() {
    let lab = workshop();
    lab.runbook(&["check", "workshop", "--report", "check-report"])
        .assert_code(1)
        .stdout_has("The lab has not reached the first chapter that has checks.")
        .stdout_has("report: check-report/index.html");
    let report = lab.report_in("check-report");
    assert_eq!(report.counts.total, 4);
    assert_eq!(report.counts.failed, 4);
}

#[test]
fn only_one_chapter_and_no_checks_at_all() {
    let lab = workshop();
    lab.write("etcd", "");
    let run = lab.runbook(&["check", "workshop", "--chapter", "01-etcd"]);
    run.assert_code(0)
        .stdout_has("Running 1 check (read-only; the checks that end each chapter)")
        .stdout_has("✔  1. Etcd")
        .stdout_has("The chosen chapters are reached (the others were not checked).");
    assert!(!run.stdout.contains("PostgreSQL"), "{}", run.stdout);
    lab.runbook(&["check", "workshop", "--chapter", "02-postgres"])
        .assert_code(1)
        .stdout_has("1 of the chosen chapters is not reached");
    lab.runbook(&["check", "workshop", "--chapter", "03-notes"])
        .assert_code(2)
        .stderr_has("no `check` block ends a chapter");
}

/// `check` and `step` refuse a `--secret` naming no variable, as `verify` does: a typo there
/// would leave the real secret visible.
#[test]
fn a_secret_naming_no_variable_is_refused_before_anything_runs() {
    let lab = workshop();
    for command in ["check", "step"] {
        lab.runbook(&[command, "workshop", "--secret", "pasword"])
            .assert_code(2)
            .stderr_has("`--secret pasword` names no variable");
    }
    assert!(!lab.path().join("installed-etcd").exists());
}

/// A chapter's checks in its middle prove a passing state (here: a restart pending) that its
/// later blocks undo; `runbook check` judges a chapter by the checks that end it, and looks at
/// the lab once unless `--wait`.
#[test]
fn a_chapter_is_judged_by_the_checks_that_end_it_each_run_once_unless_wait() {
    let lab = Lab::new();
    lab.chapter(
        "01-config.md",
        "# Configuration\n\n\
         ```bash id=edit\ntouch pending\n```\n\n\
         ```bash check id=pending-restart\ntest -e pending && echo pending\n```\n\n```console\npending\n```\n\n\
         ```bash id=restart\nrm -f pending; touch restarted\n```\n\n\
         ```bash check id=restarted retry=30s/100ms\n\
         n=$(( $(cat looks 2>/dev/null || echo 0) + 1 )); echo $n > looks\n\
         test -e restarted && [ $n -ge 3 ] && echo restarted\n```\n\n```console\nrestarted\n```\n",
    );
    // The state the chapter leaves: restarted, nothing pending.
    lab.write("restarted", "");
    let run = lab.runbook(&["check", "workshop", "--report", "once"]);
    run.assert_code(1)
        .stdout_has("Running 1 check (read-only; the checks that end each chapter)")
        .stdout_has("✘ fail  01-config/restarted");
    assert!(!run.stdout.contains("pending-restart"), "{}", run.stdout);
    assert_eq!(lab.read("looks").trim(), "1", "one look without --wait");
    let report = lab.report_in("once");
    let attempts = &report.chapters[0].steps[0].hosts[0].attempts;
    assert_eq!(attempts.len(), 1, "{report:?}");

    // With --wait, the retry runs until the state shows (the third look here).
    lab.write("looks", "0\n");
    lab.runbook(&["check", "workshop", "--wait"])
        .assert_code(0)
        .stdout_has("✔ pass  01-config/restarted")
        .stdout_has("The lab has reached chapter 1 of 1: Configuration.");
    assert_eq!(lab.read("looks").trim(), "3");

    // verify runs every block, the middle check included.
    lab.write("looks", "0\n");
    let verified = lab.runbook(&["verify", "workshop"]);
    verified.assert_code(0);
    assert_eq!(
        lab.step("01-config/pending-restart").outcome,
        Outcome::Passed
    );
}
