//! `runbook check`: only `check` blocks run, and the answer is which chapters the lab reached.

mod common;

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
        .stdout_has("Running 4 checks (read-only)")
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
    let report: serde_json::Value =
        serde_json::from_str(&lab.read("check-report/run.json")).expect("json");
    assert_eq!(report["counts"]["total"], 4);
    assert_eq!(report["counts"]["failed"], 4);
}

#[test]
fn only_one_chapter_and_no_checks_at_all() {
    let lab = workshop();
    lab.write("etcd", "");
    let run = lab.runbook(&["check", "workshop", "--chapter", "01-etcd"]);
    run.assert_code(0)
        .stdout_has("Running 1 check (read-only)")
        .stdout_has("✔  1. Etcd")
        .stdout_has("The chosen chapters are reached (the others were not checked).");
    assert!(!run.stdout.contains("PostgreSQL"), "{}", run.stdout);
    lab.runbook(&["check", "workshop", "--chapter", "02-postgres"])
        .assert_code(1)
        .stdout_has("1 of the chosen chapters is not reached");
    lab.runbook(&["check", "workshop", "--chapter", "03-notes"])
        .assert_code(2)
        .stderr_has("no `check` block to run");
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
