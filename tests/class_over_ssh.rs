//! `runbook check --class` against real sshd servers on 127.0.0.1 (Debian's openssh-server,
//! keys made by the test): labs at different chapters, one reached through a jump host, one
//! refusing and one frozen; the page rewritten while watching; roster mistakes refused before
//! anything connects. The class view on LXC containers and in Chromium is in tests/class.rs.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use common::sshd::Sshd;
use serde_json::Value;

/// A course of three chapters, each ending with a check that reads the chapter's file in the
/// lab's state folder (`{{ state }}`, one per trainee, from the roster).
fn course(sshd: &Sshd) -> Lab {
    let lab = Lab::with_hosts(&sshd.inventory_host("node", ""));
    for (number, word) in ["one", "two", "three"].iter().enumerate() {
        lab.chapter(
            &format!("{}-{word}.md", number + 1),
            &format!(
                "# Chapter {word}\n\n```bash\necho {word} > {{{{ state }}}}/{word}\n```\n\n```bash id={word}-done check on=node\ncat {{{{ state }}}}/{word}\n```\n"
            ),
        );
        lab.expected(
            &format!("{}-{word}", number + 1),
            &format!("{word}-done"),
            &format!("{word}\n"),
        );
    }
    lab
}

/// Puts trainee `name`'s lab at the end of `chapters` chapters (its state folder's files).
fn reach(lab: &Lab, name: &str, chapters: usize) {
    let folder = lab.path().join("state").join(name);
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("state folder");
    for word in ["one", "two", "three"].iter().take(chapters) {
        std::fs::write(folder.join(word), format!("{word}\n")).expect("state");
    }
}

fn state_var(lab: &Lab, name: &str) -> String {
    format!(
        "{{state: {}}}",
        lab.path().join("state").join(name).display()
    )
}

fn class_json(lab: &Lab, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        "check",
        "workshop",
        "--class",
        "class.yml",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = lab
        .command(&args)
        .env("TMPDIR", lab.path().join("tmp"))
        .output()
        .expect("run runbook");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let view = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {stdout}\nstderr: {stderr}"));
    (output.status.code().unwrap_or(-1), view, stderr)
}

fn row<'v>(view: &'v Value, trainee: &str) -> &'v Value {
    view["trainees"]
        .as_array()
        .expect("trainees")
        .iter()
        .find(|row| row["trainee"] == trainee)
        .unwrap_or_else(|| panic!("no row for {trainee}: {view:#}"))
}

fn marks(row: &Value) -> Vec<&str> {
    row["marks"]
        .as_array()
        .expect("marks")
        .iter()
        .map(|mark| mark.as_str().expect("mark"))
        .collect()
}

fn stop(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
fn the_class_view_tells_each_lab_apart_and_a_refusing_or_frozen_lab_costs_one_connect_timeout() {
    let sshd = Sshd::start();
    let frozen = Sshd::start();
    let lab = course(&sshd);
    reach(&lab, "alice", 2);
    reach(&lab, "bob", 1);
    reach(&lab, "erin", 0);
    reach(&lab, "carol", 3);
    reach(&lab, "dora", 3);
    // bob's lab is reached through a jump host (the same server: his machine in front of his
    // lab), carol's refuses connections, dora's server is stopped: it accepts TCP (the
    // kernel does) and never says a word.
    lab.write(
        "class.yml",
        &format!(
            "trainees:\n  alice:\n    vars: {}\n  bob:\n    jump: root@127.0.0.1:{}\n    vars: {}\n  carol:\n    vars: {{ansible_port: 9, state: /nowhere}}\n  dora:\n    vars: {{ansible_port: {}, state: /nowhere}}\n  erin:\n    vars: {}\n",
            state_var(&lab, "alice"),
            sshd.port,
            state_var(&lab, "bob"),
            frozen.port,
            state_var(&lab, "erin"),
        ),
    );
    // dora's server has this test's key but not its own entry in known_hosts: accept-new.
    stop(frozen.pid(), "-STOP");
    let started = Instant::now();
    let (code, view, stderr) = class_json(&lab, &["--connect-timeout", "2s"]);
    let took = started.elapsed();
    stop(frozen.pid(), "-CONT");
    assert_eq!(code, 1, "not every lab passes: {stderr}");
    let names: Vec<&str> = view["trainees"]
        .as_array()
        .expect("trainees")
        .iter()
        .map(|row| row["trainee"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["alice", "bob", "carol", "dora", "erin"],
        "the roster's order"
    );
    let columns: Vec<u64> = view["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|column| column["number"].as_u64().expect("number"))
        .collect();
    assert_eq!(columns, [1, 2, 3]);

    let alice = row(&view, "alice");
    assert_eq!(alice["reached"]["number"], 2, "{alice:#}");
    assert_eq!(marks(alice), ["reached", "reached", "not-reached"]);
    assert_eq!(alice["first_failure"]["check"], "3-three/three-done");
    assert_eq!(alice["unreachable"], Value::Array(vec![]));

    let bob = row(&view, "bob");
    assert_eq!(bob["reached"]["number"], 1, "through the jump: {bob:#}");
    assert_eq!(marks(bob), ["reached", "not-reached", "not-reached"]);

    let erin = row(&view, "erin");
    assert_eq!(erin["reached"], Value::Null);
    assert_eq!(erin["first_failure"]["check"], "1-one/one-done");

    let carol = row(&view, "carol");
    assert_eq!(marks(carol), ["unknown", "unknown", "unknown"]);
    let why = carol["unreachable"][0]["why"].as_str().expect("why");
    assert!(why.contains("Connection refused"), "{why}");
    assert_eq!(carol["unreachable"][0]["host"], "node");

    let dora = row(&view, "dora");
    let why = dora["unreachable"][0]["why"].as_str().expect("why");
    assert!(
        why.contains("timed out") || why.contains("no answer within 2s"),
        "{why}"
    );
    // One connect timeout (2 s, plus the handshake's own bound), not one per check (three).
    let dora_ms = dora["took_ms"].as_u64().expect("took_ms");
    assert!(
        (1900..6000).contains(&dora_ms),
        "the frozen lab cost {dora_ms} ms"
    );
    // The labs were looked at side by side: the class took less than its labs one after the
    // other would have.
    let each: u64 = names
        .iter()
        .map(|name| row(&view, name)["took_ms"].as_u64().expect("took_ms"))
        .sum();
    let whole = view["took_ms"].as_u64().expect("took_ms");
    assert!(
        whole < each,
        "the class took {whole} ms, its labs {each} ms in all"
    );
    assert!(
        took < Duration::from_secs(20),
        "the class answered in {took:?}"
    );
}

#[test]
fn the_text_view_marks_each_chapter_and_one_trainee_gets_every_check_in_full() {
    let sshd = Sshd::start();
    let lab = course(&sshd);
    reach(&lab, "alice", 3);
    reach(&lab, "bob", 1);
    lab.write(
        "class.yml",
        &format!(
            "trainees:\n  alice:\n    vars: {}\n  bob:\n    vars: {}\n",
            state_var(&lab, "alice"),
            state_var(&lab, "bob")
        ),
    );
    let run = lab.runbook_in_own_tmp(&["check", "workshop", "--class", "class.yml"]);
    run.assert_code(1)
        .stdout_has("Class class.yml: 2 labs looked at")
        .stdout_has("Chapters with checks: 1 Chapter one · 2 Chapter two · 3 Chapter three")
        .stdout_has("all checks pass")
        .stdout_has("2-two/two-done: node: exit status 1")
        .stdout_has("2 of 2 labs answered");
    let alice_line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("alice"))
        .expect("alice's row");
    assert!(
        alice_line.contains("3 Chapter three") && alice_line.contains("✔ ✔ ✔"),
        "{alice_line}"
    );
    let bob_line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("bob"))
        .expect("bob's row");
    assert!(
        bob_line.contains("1 Chapter one") && bob_line.contains("✔ ✘ ✘"),
        "{bob_line}"
    );

    // The failure view of one lab, on demand: the diff of its first failing check.
    lab.runbook_in_own_tmp(&[
        "check",
        "workshop",
        "--class",
        "class.yml",
        "--trainee",
        "bob",
    ])
    .assert_code(1)
    .stdout_has("diff (- expected, + real output)")
    .stdout_has("The lab has reached chapter 1 of 3: Chapter one.");
    lab.runbook_in_own_tmp(&[
        "check",
        "workshop",
        "--class",
        "class.yml",
        "--trainee",
        "alice",
    ])
    .assert_code(0)
    .stdout_has("The lab has reached chapter 3 of 3");
    lab.runbook_in_own_tmp(&[
        "check",
        "workshop",
        "--class",
        "class.yml",
        "--trainee",
        "bobb",
    ])
    .assert_code(2)
    .stderr_has("the roster names no trainee `bobb`")
    .stderr_has("did you mean `bob`?");
}

/// Waits until the page at `path` satisfies `ready`, for up to 60 s.
fn page_when(path: &Path, ready: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let page = std::fs::read_to_string(path).unwrap_or_default();
        if ready(&page) {
            return page;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the page never got there; last:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The row of `trainee` in the page: from its `<tr` to its `</tr>`.
fn page_row<'p>(page: &'p str, trainee: &str) -> &'p str {
    let start = page
        .find(&format!("data-trainee=\"{trainee}\""))
        .unwrap_or_else(|| panic!("no row for {trainee}"));
    let end = page[start..]
        .find("</tr>")
        .map_or(page.len(), |end| start + end);
    &page[start..end]
}

#[test]
fn watching_rewrites_the_page_as_a_lab_moves_on_and_points_out_a_stuck_lab() {
    let sshd = Sshd::start();
    let lab = course(&sshd);
    reach(&lab, "alice", 1);
    reach(&lab, "bob", 3);
    reach(&lab, "carol", 3);
    lab.write(
        "class.yml",
        &format!(
            "trainees:\n  alice:\n    vars: {}\n  bob:\n    vars: {}\n  '<carol>':\n    vars: {}\n",
            state_var(&lab, "alice"),
            state_var(&lab, "bob"),
            state_var(&lab, "carol")
        ),
    );
    let page = lab.path().join("class.html");
    let mut watching = lab
        .command(&[
            "check",
            "workshop",
            "--class",
            "class.yml",
            "--watch",
            "1s",
            "--stuck-after",
            "1s",
            "--html",
            "class.html",
        ])
        .env("TMPDIR", lab.path().join("tmp"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runbook check --watch");
    // Two of three labs are ahead of alice's, which has not moved for a second: stuck.
    let first = page_when(&page, |page| page.contains("stuck for"));
    assert!(
        first.contains("http-equiv=\"refresh\" content=\"1\""),
        "{first}"
    );
    assert!(page_row(&first, "alice").contains("1 Chapter one"));
    assert!(page_row(&first, "alice").contains("stuck"), "{first}");
    assert!(!page_row(&first, "bob").contains("stuck"));
    // Names are the page's text, never its markup.
    assert!(first.contains("&lt;carol&gt;") && !first.contains("<carol>"));
    // alice catches up: the next look shows it, and she is no longer pointed out.
    reach(&lab, "alice", 3);
    let later = page_when(&page, |page| {
        page.contains("data-trainee") && page_row(page, "alice").contains("3 Chapter three")
    });
    assert!(!page_row(&later, "alice").contains("stuck"), "{later}");
    // Several looks, one connection per lab: the shells are new at each look, the SSH
    // connections are kept.
    let log = std::fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap_or_default();
    let logins = log.matches("Accepted publickey").count();
    assert_eq!(logins, 3, "one login per lab:\n{log}");
    stop(watching.id(), "-INT");
    let status = watching.wait().expect("wait");
    assert!(status.code().is_some(), "ends on INT by itself: {status:?}");
    // Its connections end with it.
    let control = lab.path().join("tmp").display().to_string();
    let left: Vec<_> = common::sshd::processes_mentioning(&control)
        .into_iter()
        .filter(|(_, line)| line.starts_with("ssh "))
        .collect();
    assert!(left.is_empty(), "ssh processes left: {left:?}");
}

#[test]
fn roster_mistakes_are_refused_at_their_line_before_any_lab_is_contacted() {
    let sshd = Sshd::start();
    let lab = course(&sshd);
    lab.write(
        "class.yml",
        "trainees:\n  alice:\n    jmp: root@127.0.0.1\n  bob:\n    jump: root@127.0.0.1:70000\n  carol:\n    inventory: labs/carol.yml\n",
    );
    let log = sshd.dir.path().join("sshd.log");
    let before = std::fs::read_to_string(&log).unwrap_or_default();
    lab.runbook_in_own_tmp(&["check", "workshop", "--class", "class.yml"])
        .assert_code(2)
        .stderr_has("class.yml:3")
        .stderr_has("unknown key `jmp` for trainee `alice`")
        .stderr_has("did you mean `jump`?")
        .stderr_has("class.yml:5")
        .stderr_has("`70000` is not a port")
        .stderr_has("class.yml:7")
        .stderr_has("labs/carol.yml does not exist");
    // A lab host that lxc-attach reaches cannot be reached through a trainee's machine.
    lab.write(
        "workshop/inventory.yml",
        "all:\n  hosts:\n    node: {runbook_transport: lxc, runbook_container: c1}\n",
    );
    lab.write(
        "class.yml",
        "trainees:\n  alice:\n    jump: root@127.0.0.1\n    vars: {state: /nowhere}\n",
    );
    lab.runbook_in_own_tmp(&["check", "workshop", "--class", "class.yml"])
        .assert_code(2)
        .stderr_has("class.yml:2")
        .stderr_has("reached without SSH, which a jump cannot reach");
    // (The server's log also shows the test's own probe of its port, which logs in nowhere.)
    let after = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !after.contains("Accepted publickey") && !before.contains("Accepted publickey"),
        "nothing logged in to the server: {after}"
    );
}

#[test]
fn catching_a_lab_up_runs_only_the_chapters_it_lacks_and_moves_its_progress() {
    let sshd = Sshd::start();
    let lab = course(&sshd);
    reach(&lab, "bob", 1);
    // bob's machine is in front of his lab: the course's local blocks run on it too.
    lab.write(
        "class.yml",
        &format!(
            "vars:\n  ansible_ssh_private_key_file: {}\n  runbook_known_hosts_file: {}\ntrainees:\n  bob:\n    jump: root@127.0.0.1:{}\n    vars: {}\n  carol:\n    vars: {{state: /nowhere}}\n",
            sshd.client_key().display(),
            sshd.known_hosts().display(),
            sshd.port,
            state_var(&lab, "bob")
        ),
    );
    // Marks what ran: chapter one's block would write this file again; it must not run.
    std::fs::write(lab.path().join("state/bob/one"), "one\n").expect("state");
    let before = std::fs::metadata(lab.path().join("state/bob/one"))
        .and_then(|meta| meta.modified())
        .expect("mtime");
    std::thread::sleep(Duration::from_millis(1100));
    let run = lab.runbook_in_own_tmp(&[
        "catch-up",
        "workshop",
        "--class",
        "class.yml",
        "--trainee",
        "bob",
        "--to",
        "3",
        "--progress",
        "bob-progress.json",
    ]);
    run.assert_code(0)
        .stdout_has("1. Chapter one                      already there: left as it is")
        .stdout_has("2. Chapter two                      to run")
        .stdout_has("3. Chapter three                    to run")
        .stdout_has("PASS 3-three/three-done");
    let after = std::fs::metadata(lab.path().join("state/bob/one"))
        .and_then(|meta| meta.modified())
        .expect("mtime");
    assert_eq!(before, after, "chapter one did not run again");
    assert_eq!(
        lab.read("state/bob/three"),
        "three\n",
        "chapter three ran on bob's lab"
    );
    let progress: Value =
        serde_json::from_str(&lab.read("bob-progress.json")).expect("progress JSON");
    assert_eq!(
        progress["next"],
        Value::Null,
        "past the last chapter: {progress:#}"
    );
    assert_eq!(progress["blocks"]["2-two/two-done"]["status"], "caught-up");

    // The class view agrees.
    let (_, view, _) = class_json(&lab, &[]);
    assert_eq!(row(&view, "bob")["reached"]["number"], 3);

    // Asked again: nothing to run.
    lab.runbook_in_own_tmp(&[
        "catch-up",
        "workshop",
        "--class",
        "class.yml",
        "--trainee",
        "bob",
        "--to",
        "Chapter three",
    ])
    .assert_code(0)
    .stdout_has("The lab is at the end of chapter 3 (Chapter three): nothing to run.");

    // A chapter that cannot be brought about stops with the usual failure view.
    lab.runbook_in_own_tmp(&[
        "catch-up",
        "workshop",
        "--class",
        "class.yml",
        "--trainee",
        "carol",
        "--to",
        "2",
    ])
    .assert_code(1)
    .stdout_has("1. Chapter one                      to run")
    .stdout_has("/nowhere/one: No such file or directory");
}

#[test]
fn a_host_that_answers_without_the_block_s_user_is_a_lab_not_there_yet_not_a_lab_down() {
    let sshd = Sshd::start();
    let lab = Lab::with_hosts(&sshd.inventory_host("node", ""));
    // The course's Patroni checks run as postgres, which a lab at the etcd chapter lacks.
    lab.chapter(
        "1-service.md",
        "# Service\n\n```bash id=as-service check on=node user=runbook-no-such-user\nwhoami\n```\n",
    );
    lab.expected("1-service", "as-service", "runbook-no-such-user\n");
    lab.write("class.yml", "trainees:\n  alice:\n");
    let (code, view, stderr) = class_json(&lab, &[]);
    assert_eq!(code, 1, "{stderr}");
    let alice = row(&view, "alice");
    assert_eq!(alice["unreachable"], Value::Array(vec![]), "{alice:#}");
    assert_eq!(marks(alice), ["not-reached"]);
    assert_eq!(alice["first_failure"]["check"], "1-service/as-service");
    assert_eq!(alice["first_failure"]["outcome"], "unreachable");
}
