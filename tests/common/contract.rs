//! The transport contract: what every way of reaching a host must do, written once and run
//! through the real binary against each transport (`transport_contract!` in tests/local.rs,
//! tests/ssh.rs, tests/lxc.rs and tests/docker.rs):
//! - a session keeps its state (directory, exported variables, functions) from block to
//!   block, and `user=` opens another user's shell with its own state; the shell runs under
//!   the default scheduling policy (`SCHED_OTHER`, 0), not the one runbook chose for itself;
//! - a timeout stops the command on the host itself, and the same shell carries on;
//! - a host that freezes mid-block ends the block as `timeout` soon after its timeout, and
//!   the host is reached again once it thaws;
//! - a `pty` block runs on a terminal in the same session (its state carried in and out),
//!   and the answers of its transcript are typed when their questions come: `read -p`, a
//!   hidden password (`read -s`, and `ssh-keygen`'s passphrase, which it reads from
//!   `/dev/tty` with echo off as `passwd` does), a program that opens `/dev/tty` itself, a
//!   pager (util-linux's `more`, on every Debian host, unlike `less`) that must not hang; a
//!   question that never comes times out with a diff, and the program is gone from the host;
//!   a wrong answer is a mismatch;
//! - SIGTERM mid-block stops the command on the host, and the run says it was interrupted;
//! - what a block leaves running prints into that block's background output, never into a
//!   later block's output, whether it is a job, a daemon that left the session, or as
//!   another user; the session keeps its state after moving away from it.

use std::time::{Duration, Instant};

use runbook::report::model::{Outcome, RunStatus};

use super::Lab;

/// One transport under test.
pub struct Transport {
    /// The host's name in the inventory.
    pub host: &'static str,
    /// The host's lines under `all.hosts`.
    pub inventory: String,
    /// What `hostname` prints on the host.
    pub hostname: String,
    /// Runs a shell command on the host outside runbook (to look at what a run left there).
    pub inside: Box<dyn Fn(&str) -> String>,
    /// Shell commands run on this machine (in a block on `localhost`, in the background a
    /// second into the next block) that freeze the whole host.
    pub freeze: Box<dyn Fn(&Frozen) -> String>,
    /// A command run on this machine once the frozen block is over that thaws the host,
    /// and what it prints: proof that the host was frozen.
    pub thaw: Box<dyn Fn(&Frozen) -> String>,
    pub thaw_says: String,
    /// Thaws the host if a failing test left it frozen.
    pub thaw_on_drop: Box<dyn Fn()>,
    /// What else must hold after a run on this transport (an SSH master closed...).
    pub after_run: Box<dyn Fn(&Lab)>,
    /// What the test must keep until it ends: a server, a lock serialising a container's
    /// tests...
    pub keep: Vec<Box<dyn std::any::Any>>,
}

/// What a freeze may need to know.
pub struct Frozen {
    /// The command the frozen block runs when the freeze comes, unique to the test.
    pub command: String,
    /// A path prefix on this machine for the freeze's own files.
    pub scratch: String,
}

impl Drop for Transport {
    fn drop(&mut self) {
        (self.thaw_on_drop)();
    }
}

impl Transport {
    fn lab(&self) -> Lab {
        Lab::with_hosts(&self.inventory)
    }

    /// A file name for this lab's use on the host (tests run side by side).
    fn scratch(lab: &Lab, what: &str) -> String {
        let name = lab
            .path()
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("/tmp/{name}-{what}")
    }
}

/// Generates the contract's tests for the transport `make()` builds, in a module `name`.
#[macro_export]
macro_rules! transport_contract {
    ($name:ident, $make:path) => {
        mod $name {
            #[test]
            fn a_session_keeps_its_state_and_users_switch() {
                $crate::common::contract::state_is_kept_and_users_switch(&$make());
            }

            #[test]
            fn a_timeout_stops_the_command_on_the_host() {
                $crate::common::contract::a_timeout_stops_the_command_on_the_host(&$make());
            }

            #[test]
            fn a_frozen_host_times_out_and_is_reached_again() {
                $crate::common::contract::a_frozen_host_times_out_and_is_reached_again(&$make());
            }

            #[test]
            fn a_dialogue_is_typed_on_a_terminal() {
                $crate::common::contract::a_dialogue_is_typed_on_a_terminal(&$make());
            }

            #[test]
            fn background_output_is_its_blocks() {
                $crate::common::contract::background_output_is_its_blocks(&$make());
            }

            #[test]
            fn sigterm_stops_the_command_on_the_host() {
                $crate::common::contract::sigterm_stops_the_command_on_the_host(&$make());
            }
        }
    };
}

pub fn state_is_kept_and_users_switch(transport: &Transport) {
    let lab = transport.lab();
    let host = transport.host;
    let hostname = &transport.hostname;
    lab.chapter(
        "01.md",
        &format!(
            "```bash on={host}\ncd /tmp\nexport RB_STATE=kept\ngreet() {{ echo \"hello $1\"; }}\n```\n\n\
             ```bash on={host} id=state\npwd; echo $RB_STATE; greet there; whoami; hostname; cut -d' ' -f41 /proc/$$/stat\n```\n\n\
             ```console\n/tmp\nkept\nhello there\nroot\n{hostname}\n0\n```\n\n\
             ```bash on={host} user=runbook-test id=switched\nwhoami; pwd; echo \"[$RB_STATE]\"; cd /; export MINE=1\n```\n\n\
             ```console\nrunbook-test\n/home/runbook-test\n[]\n```\n\n\
             ```bash on={host} user=runbook-test id=switched-again\npwd; echo $MINE\n```\n\n\
             ```console\n/\n1\n```\n\n\
             ```bash on={host} id=root-again\npwd; whoami\n```\n\n\
             ```console\n/tmp\nroot\n```\n"
        ),
    );
    lab.runbook_in_own_tmp(&["verify", "workshop"])
        .assert_code(0);
    let report = lab.report();
    assert_eq!(report.counts.passed, 4, "{report:?}");
    assert_eq!(
        lab.step("01/switched").hosts[0].user,
        "runbook-test",
        "the report says who ran it"
    );
    assert_eq!(lab.step("01/root-again").hosts[0].user, "root");
    (transport.after_run)(&lab);
}

pub fn background_output_is_its_blocks(transport: &Transport) {
    let lab = transport.lab();
    let host = transport.host;
    // Root's first block leaves a job that prints a second later, in the middle of the third
    // block; the other user's first block leaves a daemon that left the session (`setsid`)
    // and prints during the block after it; a process that writes elsewhere is not moved
    // away from. That user's shell has `set -u` on from then on (a course's strict block
    // leaves it so): the look must not trip on it. Consecutive blocks of one shell go in one batch: the moves happen inside it.
    lab.chapter(
        "01.md",
        &format!(
            "```bash on={host} id=job\ncd /tmp; (sleep 1; echo late from the job) &\necho started\n```\n\n\
             ```console\nstarted\n```\n\n\
             ```bash on={host} id=second\necho second\n```\n\n```console\nsecond\n```\n\n\
             ```bash on={host} id=waited\nsleep 2; echo waited; pwd\n```\n\n```console\nwaited\n/tmp\n```\n\n\
             ```bash on={host} user=runbook-test id=daemon\nset -u\nsetsid sh -c 'sleep 1; echo daemon says hi; sleep 30' &\necho daemon\n```\n\n\
             ```console\ndaemon\n```\n\n\
             ```bash on={host} user=runbook-test id=quiet\nsleep 30 >/dev/null 2>&1 &\necho quiet\n```\n\n```console\nquiet\n```\n\n\
             ```bash on={host} user=runbook-test id=after\nsleep 2; echo after; whoami\n```\n\n```console\nafter\nrunbook-test\n```\n"
        ),
    );
    lab.runbook_in_own_tmp(&["verify", "workshop"])
        .assert_code(0);
    let report = lab.report();
    assert_eq!(report.counts.passed, 6, "{report:#?}");
    let background = |id: &str| lab.attempt(&format!("01/{id}")).background;
    let job = background("job").expect("the job's output is the first block's");
    assert_eq!(job.output, "late from the job\n");
    assert!(!job.still_running, "{job:?}");
    let daemon = background("daemon").expect("the daemon's output is its block's");
    assert_eq!(daemon.output, "daemon says hi\n");
    assert!(!daemon.still_running, "the sweep ended it: {daemon:?}");
    for id in ["second", "waited", "quiet", "after"] {
        assert_eq!(
            background(id),
            None,
            "{id} left nothing writing to the session"
        );
    }
    let html = lab.read("report/index.html");
    assert!(html.contains("late from the job"), "the page shows it");
    let junit = lab.read("report/junit.xml");
    assert!(junit.contains("background output, printed after the block ended:\ndaemon says hi"));
    (transport.after_run)(&lab);
}

pub fn a_timeout_stops_the_command_on_the_host(transport: &Transport) {
    let lab = transport.lab();
    let host = transport.host;
    let pid_file = Transport::scratch(&lab, "slow.pid");
    lab.chapter(
        "01.md",
        &format!(
            "```bash on={host} id=slow timeout=2s\necho started; sleep 300 & echo $! > {pid_file}; wait\n```\n\n\
             ```bash on={host} id=check\nif [ -d /proc/$(cat {pid_file}) ]; then echo alive; else echo gone; fi\necho shell ok\n```\n\n\
             ```console\ngone\nshell ok\n```\n"
        ),
    );
    let started = Instant::now();
    let result = lab.runbook_in_own_tmp(&["verify", "workshop", "--keep-going", "--grace", "1s"]);
    let elapsed = started.elapsed();
    result.assert_code(1).stdout_has("TIMEOUT 01/slow");
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    let slow = lab.step("01/slow");
    assert_eq!(slow.outcome, Outcome::Timeout);
    assert_eq!(super::first_attempt(&slow).output, "started\n");
    let check = lab.step("01/check");
    assert_eq!(check.outcome, Outcome::Passed, "the same shell: {check:?}");
    let pid = (transport.inside)(&format!("cat {pid_file}; rm -f {pid_file}"));
    assert!(!pid.trim().is_empty(), "the block wrote its pid");
    assert_eq!(
        (transport.inside)(&format!("test -d /proc/{} && echo alive", pid.trim())),
        "",
        "the sleep on the host is gone"
    );
    (transport.after_run)(&lab);
}

pub fn a_dialogue_is_typed_on_a_terminal(transport: &Transport) {
    let lab = transport.lab();
    let host = transport.host;
    let pid_file = Transport::scratch(&lab, "pty.pid");
    lab.chapter(
        "01.md",
        &format!(
            "```bash on={host} id=setup\ncd /tmp; colour=blue\n```\n\n\
             ```bash on={host} id=dialogue pty\n\
             tty >/dev/null && echo \"on a terminal, $TERM, $(stty size)\"\n\
             read -p \"Name [$colour]: \" name\n\
             read -s -p 'Password: ' secret; echo\n\
             ssh-keygen -q -t ed25519 -C runbook -f /tmp/rb-pty-key.$$ && echo \"key saved, $(wc -l < /tmp/rb-pty-key.$$.pub) public line\"; rm -f /tmp/rb-pty-key.$$ /tmp/rb-pty-key.$$.pub\n\
             sh -c 'printf \"Code: \" >/dev/tty; read code </dev/tty; echo \"code $code\"' </dev/null\n\
             printf '%s\\n' one two three | more\n\
             echo \"$name ${{#secret}} $PWD\"; cd /; answered=yes\n```\n\n\
             ```console\non a terminal, xterm, 40 120\nName [blue]: <<bob>>\nPassword: <<{{{{ password }}}}>>\n\
             Enter passphrase (empty for no passphrase): <<{{{{ password }}}}>>\n\
             Enter same passphrase again: <<{{{{ password }}}}>>\nkey saved, 1 public line\n\
             Code: <<42>>\ncode 42\none\ntwo\nthree\nbob 8 /tmp\n```\n\n\
             ```bash on={host} id=after\necho \"$PWD $answered $name\"\n```\n\n\
             ```console\n/ yes bob\n```\n\n\
             ```bash on={host} id=never pty timeout=2s\necho $$ > {pid_file}; read -p 'Colour: ' colour\n```\n\n\
             ```console\nName: <<bob>>\n```\n\n\
             ```bash on={host} id=wrong pty\nread -p 'Sure? [y/N]: ' sure; [ \"$sure\" = y ] && echo yes || echo no\n```\n\n\
             ```console\nSure? [y/N]: <<n>>\nyes\n```\n\n\
             ```bash on={host} id=gone\nsleep 0.2; grep -s State: /proc/$(cat {pid_file})/status | grep -qv zombie && echo alive || echo gone; rm -f {pid_file}\n```\n\n\
             ```console\ngone\n```\n"
        ),
    );
    let result = lab.runbook_in_own_tmp(&[
        "verify",
        "workshop",
        "--keep-going",
        "--grace",
        "1s",
        "--var",
        "password=hunter22",
        "--secret",
        "password",
    ]);
    result.assert_code(1);
    let dialogue = lab.step("01/dialogue");
    assert_eq!(dialogue.outcome, Outcome::Passed, "{dialogue:?}");
    assert_eq!(
        super::first_attempt(&dialogue).output,
        "on a terminal, xterm, 40 120\nName [blue]: bob\nPassword: [secret:password]\n\
         Enter passphrase (empty for no passphrase): [secret:password]\n\
         Enter same passphrase again: [secret:password]\nkey saved, 1 public line\n\
         Code: 42\ncode 42\none\ntwo\nthree\nbob 8 /tmp\n",
        "the dialogue as the trainee sees it"
    );
    assert_eq!(
        lab.step("01/after").outcome,
        Outcome::Passed,
        "state carried out"
    );
    let never = super::first_attempt(&lab.step("01/never"));
    assert_eq!(never.outcome, Outcome::Timeout, "{never:?}");
    let message = never.message.clone().unwrap_or_default();
    assert!(
        message.contains("waiting for the question of") && message.contains("`Colour:`"),
        "{message}"
    );
    assert!(never.diff.is_some(), "the diff shows where it waited");
    assert_eq!(lab.attempt("01/wrong").outcome, Outcome::Mismatch);
    let gone = super::first_attempt(&lab.step("01/gone"));
    assert_eq!(
        gone.output, "gone\n",
        "the program that timed out is gone from the host: {gone:?}"
    );
    let everything = format!(
        "{}{}",
        lab.read("report/run.json"),
        lab.read("report/index.html")
    );
    assert!(
        !everything.contains("hunter22"),
        "the typed secret stays masked"
    );
    (transport.after_run)(&lab);
}

pub fn a_frozen_host_times_out_and_is_reached_again(transport: &Transport) {
    let lab = transport.lab();
    let host = transport.host;
    // A sleep no other test runs, so that a freeze looking for it finds this one.
    let unique: u32 = lab.path().to_string_lossy().bytes().fold(7, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    let frozen = Frozen {
        command: format!("sleep 30.{:06}", unique % 1_000_000),
        scratch: lab.path().join("freeze").display().to_string(),
    };
    lab.chapter(
        "01.md",
        &format!(
            // The host's session is open before the freeze is armed: a first connection that
            // takes over a second (a new SSH host on a busy machine) would otherwise meet the
            // freeze while connecting, and the block would be unreachable, not timed out.
            "```bash on={host} id=open\ntrue\n```\n\n\
             ```bash id=freeze-soon verbatim\n(sleep 1; {}) >/dev/null 2>&1 &\n```\n\n\
             ```bash on={host} id=stuck timeout=4s\necho before; {}; echo after\n```\n\n\
             ```bash id=thaw verbatim\n{}\n```\n\n\
             ```console\n{}\n```\n\n\
             ```bash on={host} id=back\necho back\n```\n\n\
             ```console\nback\n```\n",
            (transport.freeze)(&frozen),
            frozen.command,
            (transport.thaw)(&frozen),
            transport.thaw_says
        ),
    );
    let started = Instant::now();
    let result = lab.runbook_in_own_tmp(&["verify", "workshop", "--keep-going", "--grace", "1s"]);
    let elapsed = started.elapsed();
    result.assert_code(1).stdout_has("TIMEOUT 01/stuck");
    let stuck = lab.step("01/stuck");
    assert_eq!(stuck.outcome, Outcome::Timeout, "{stuck:?}");
    assert!(
        stuck.duration_ms < 4_000 + 8_000,
        "a frozen host ends the block within its timeout and a few seconds: {} ms",
        stuck.duration_ms
    );
    assert_eq!(super::first_attempt(&stuck).output, "before\n");
    let thaw = lab.step("01/thaw");
    assert_eq!(
        thaw.outcome,
        Outcome::Passed,
        "the host was frozen during the block: {thaw:?}"
    );
    let back = lab.step("01/back");
    assert_eq!(
        back.outcome,
        Outcome::Passed,
        "the host is reached again: {back:?}"
    );
    assert!(elapsed < Duration::from_secs(40), "took {elapsed:?}");
    (transport.after_run)(&lab);
}

pub fn sigterm_stops_the_command_on_the_host(transport: &Transport) {
    let lab = transport.lab();
    let host = transport.host;
    let pid_file = Transport::scratch(&lab, "long.pid");
    lab.chapter(
        "01.md",
        &format!(
            "```bash on={host} timeout=120s\nsleep 100 & echo $! > {pid_file}; wait\n```\n\n\
             ```bash id=never\ntouch never\n```\n"
        ),
    );
    let mut child = lab
        .command(&["verify", "workshop"])
        .env("TMPDIR", lab.path().join("tmp"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start runbook");
    let started = Instant::now();
    let pid = loop {
        let pid = (transport.inside)(&format!("cat {pid_file} 2>/dev/null"));
        if !pid.trim().is_empty() {
            break pid.trim().to_string();
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the block never started");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert_eq!(child.wait().expect("wait").code(), Some(143));
    assert_eq!(
        (transport.inside)(&format!(
            "test -d /proc/{pid} && echo alive; rm -f {pid_file}"
        )),
        "",
        "the command on the host was stopped"
    );
    let report = lab.report();
    assert_eq!(report.status, RunStatus::Interrupted);
    assert_eq!(report.interrupted_by.as_deref(), Some("SIGTERM"));
    assert_eq!(lab.step("01/never").outcome, Outcome::Skipped);
    assert!(!lab.path().join("never").exists());
    (transport.after_run)(&lab);
}

/// Freezes (SIGSTOP) every process of the session that runs `frozen.command`: the shell of
/// a block on this machine and what it started, as a frozen host would be. Then notes the
/// states they are in (`T`: stopped).
pub fn freeze_session(frozen: &Frozen) -> String {
    let Frozen { command, scratch } = frozen;
    format!(
        "sid=$(ps -o sid= -p \"$(pgrep -n -f -x '{command}')\" | tr -d ' '); \
         [ -n \"$sid\" ] && pkill -STOP -s \"$sid\"; echo \"$sid\" > {scratch}.sid; \
         sleep 0.2; ps -o stat= -s \"$sid\" | cut -c1 | sort -u > {scratch}.states"
    )
}

/// Thaws what [`freeze_session`] froze; prints the states it found them in.
pub fn thaw_session(frozen: &Frozen) -> String {
    let scratch = &frozen.scratch;
    format!("cat {scratch}.states; pkill -CONT -s \"$(cat {scratch}.sid)\"; true")
}

/// Freezes every descendant of `root` (a server's connections and all they run): the host
/// behind that server stops answering, its network connections staying open.
pub fn freeze_descendants(root: u32, frozen: &Frozen) -> String {
    let scratch = &frozen.scratch;
    format!(
        "d() {{ for c in $(ps -o pid= --ppid \"$1\"); do echo \"$c\"; d \"$c\"; done; }}; \
         all=$(d {root}); kill -STOP $all; echo $all > {scratch}.pids; \
         sleep 0.2; ps -o stat= -p \"$(echo $all | tr ' ' ,)\" | cut -c1 | sort -u > {scratch}.states"
    )
}

/// Thaws what [`freeze_descendants`] froze; prints the states it found them in.
pub fn thaw_descendants(frozen: &Frozen) -> String {
    let scratch = &frozen.scratch;
    format!("cat {scratch}.states; kill -CONT $(cat {scratch}.pids); true")
}

/// Runs `script` with `sh -c` on this machine; its stdout.
pub fn here(script: &str) -> String {
    let output = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("sh");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
