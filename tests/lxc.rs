//! The lxc transport (and SSH into a container) through the real `runbook` binary against a
//! real Debian 12 LXC container (`runbook-test`, see `common::lxc`): persistent shells, user
//! switching, timeouts killing the command inside the container, and a container frozen with
//! `lxc-freeze` in the middle of a block.

mod common;

use std::time::{Duration, Instant};

use common::Lab;
use common::lxc::{ADDRESS, CONTAINER, ThawOnDrop, attach, container};

/// The container's blocks run one test at a time: a freeze must not catch another test.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lxc_host() -> String {
    format!("    box:\n      runbook_transport: lxc\n      runbook_container: {CONTAINER}\n")
}

fn ssh_host(lab: &Lab) -> String {
    let key = &container().key;
    format!(
        "    boxssh:\n      ansible_host: {ADDRESS}\n      ansible_user: root\n      ansible_ssh_private_key_file: {}\n      runbook_known_hosts_file: {}\n",
        key.display(),
        lab.path().join("known_hosts").display()
    )
}

#[test]
fn lxc_sessions_keep_state_and_switch_users() {
    container();
    let _serial = serial();
    let lab = Lab::with_hosts(&lxc_host());
    lab.chapter(
        "01.md",
        "```bash on=box\ncd /srv\nexport RB_STATE=kept\n```\n\n\
         ```bash on=box id=state\npwd; echo $RB_STATE; whoami; hostname\n```\n\n\
         ```console\n/srv\nkept\nroot\nrunbook-test\n```\n\n\
         ```bash on=box user=runbook-test id=user\nwhoami; pwd; echo \"[$RB_STATE]\"\n```\n\n\
         ```console\nrunbook-test\n/home/runbook-test\n[]\n```\n",
    );
    lab.runbook_in_own_tmp(&["verify", "workshop"])
        .assert_code(0);
    assert_eq!(lab.report()["counts"]["passed"], 2);
}

#[test]
fn an_lxc_timeout_kills_the_command_inside_the_container() {
    container();
    let _serial = serial();
    let lab = Lab::with_hosts(&lxc_host());
    lab.chapter(
        "01.md",
        "```bash on=box id=slow timeout=2s\nsleep 300 & echo $! > /tmp/rb-slow.pid; wait\n```\n\n\
         ```bash on=box id=check\nif [ -d /proc/$(cat /tmp/rb-slow.pid) ]; then echo alive; else echo gone; fi\n```\n\n\
         ```console\ngone\n```\n",
    );
    let result = lab.runbook_in_own_tmp(&["verify", "workshop", "--keep-going", "--grace", "1s"]);
    result.assert_code(1).stdout_has("TIMEOUT 01/slow");
    assert_eq!(lab.step("01/check")["outcome"], "passed");
    let pid = attach("cat /tmp/rb-slow.pid");
    assert_eq!(
        attach(&format!("test -d /proc/{} && echo alive", pid.trim())),
        "",
        "the sleep inside the container is gone"
    );
}

/// A chapter that freezes the container one second into a block on `host`, then thaws it and
/// runs another block there.
fn freeze_chapter(host: &str) -> String {
    format!(
        "```bash id=freeze-soon\n(sleep 1; lxc-freeze -n {CONTAINER}) >/dev/null 2>&1 &\n```\n\n\
         ```bash on={host} id=stuck timeout=4s\necho before; sleep 30; echo after\n```\n\n\
         ```bash id=thaw\nlxc-info -n {CONTAINER} -sH; lxc-unfreeze -n {CONTAINER}; lxc-info -n {CONTAINER} -sH\n```\n\n\
         ```console\nFROZEN\nRUNNING\n```\n\n\
         ```bash on={host} id=back\necho back\n```\n\n\
         ```console\nback\n```\n"
    )
}

fn check_frozen_run(lab: &Lab, elapsed: Duration, result: &common::Run) {
    result.assert_code(1).stdout_has("TIMEOUT 01/stuck");
    let stuck = lab.step("01/stuck");
    assert_eq!(stuck["outcome"], "timeout", "{stuck}");
    let took = stuck["duration_ms"].as_u64().expect("duration");
    assert!(
        took < 4_000 + 8_000,
        "a frozen host ends the block within its timeout and a few seconds: {took} ms"
    );
    assert_eq!(
        lab.step("01/stuck")["hosts"][0]["attempts"][0]["output"],
        "before\n"
    );
    assert_eq!(
        lab.step("01/thaw")["outcome"],
        "passed",
        "the container was frozen during the block"
    );
    let back = lab.step("01/back");
    assert_eq!(
        back["outcome"], "passed",
        "the host is reached again: {back}"
    );
    assert!(elapsed < Duration::from_secs(40), "took {elapsed:?}");
}

#[test]
fn a_frozen_container_times_out_and_is_reached_again_after_unfreeze_over_lxc() {
    container();
    let _serial = serial();
    let _thaw = ThawOnDrop;
    let lab = Lab::with_hosts(&lxc_host());
    lab.chapter("01.md", &freeze_chapter("box"));
    let started = Instant::now();
    let result = lab.runbook_in_own_tmp(&["verify", "workshop", "--keep-going", "--grace", "1s"]);
    check_frozen_run(&lab, started.elapsed(), &result);
}

#[test]
fn a_frozen_container_times_out_and_is_reached_again_after_unfreeze_over_ssh() {
    container();
    let _serial = serial();
    let _thaw = ThawOnDrop;
    let lab = Lab::with_hosts("");
    let hosts = ssh_host(&lab);
    lab.write(
        "workshop/inventory.yml",
        &format!("all:\n  hosts:\n{hosts}"),
    );
    lab.chapter("01.md", &freeze_chapter("boxssh"));
    let started = Instant::now();
    let result = lab.runbook_in_own_tmp(&["verify", "workshop", "--keep-going", "--grace", "1s"]);
    check_frozen_run(&lab, started.elapsed(), &result);
}

#[test]
fn ssh_into_the_container_keeps_state_and_switches_users() {
    container();
    let _serial = serial();
    let lab = Lab::with_hosts("");
    let hosts = ssh_host(&lab);
    lab.write(
        "workshop/inventory.yml",
        &format!("all:\n  hosts:\n{hosts}"),
    );
    lab.chapter(
        "01.md",
        "```bash on=boxssh\ncd /srv\n```\n\n\
         ```bash on=boxssh id=state\npwd; hostname\n```\n\n\
         ```console\n/srv\nrunbook-test\n```\n\n\
         ```bash on=boxssh user=runbook-test id=user\nwhoami\n```\n\n\
         ```console\nrunbook-test\n```\n",
    );
    lab.runbook_in_own_tmp(&["verify", "workshop"])
        .assert_code(0);
}

#[test]
fn sessions_a_chapter_needs_on_a_running_container_are_opened_when_it_starts() {
    container();
    let _serial = serial();
    let lab = Lab::with_hosts(&lxc_host());
    common::prewarm_chapters(&lab, "box");
    lab.runbook_in_own_tmp(&["verify", "workshop"])
        .assert_code(0);
}

#[test]
fn a_container_that_is_not_running_is_named_with_the_fix() {
    let lab = Lab::with_hosts(
        "    ghost:\n      runbook_transport: lxc\n      runbook_container: runbook-test-absent\n",
    );
    lab.chapter("01.md", "```bash on=ghost\ntrue\n```\n");
    lab.runbook_in_own_tmp(&["verify", "workshop"])
        .assert_code(1)
        .stdout_has("UNREACHABLE 01/block-1")
        .stdout_has("the container `runbook-test-absent` is not running (start it with `lxc-start -n runbook-test-absent`");
}
