//! The lxc transport (and SSH into a container) through the real `runbook` binary against a
//! real Debian 12 LXC container (`runbook-test`, see `common::lxc`): the transport contract of
//! common/contract.rs over `lxc-attach` and over SSH (a frozen host is the container frozen
//! with `lxc-freeze`), sessions opened ahead, and a container that does not run.

mod common;

use common::Lab;
use common::contract::Transport;
use common::lxc::{ADDRESS, CONTAINER, ThawOnDrop, attach, container};

/// The container's blocks run one test at a time: a freeze must not catch another test.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The container, frozen and thawed with lxc's own commands; reached as `host` with the
/// inventory lines `inventory`.
fn the_container(host: &'static str, inventory: String) -> Transport {
    container();
    Transport {
        host,
        inventory,
        hostname: CONTAINER.into(),
        inside: Box::new(attach),
        freeze: Box::new(|_| format!("lxc-freeze -n {CONTAINER}")),
        thaw: Box::new(|_| {
            format!(
                "lxc-info -n {CONTAINER} -sH; lxc-unfreeze -n {CONTAINER}; lxc-info -n {CONTAINER} -sH"
            )
        }),
        thaw_says: "FROZEN\nRUNNING".into(),
        thaw_on_drop: Box::new(|| drop(ThawOnDrop)),
        after_run: Box::new(|_| {}),
        keep: vec![Box::new(serial())],
    }
}

fn lxc_attach() -> Transport {
    the_container("box", lxc_host())
}

fn ssh_into_the_container() -> Transport {
    let known_hosts = tempfile::tempdir().expect("tempdir");
    let inventory = format!(
        "    boxssh:\n      ansible_host: {ADDRESS}\n      ansible_user: root\n      ansible_ssh_private_key_file: {}\n      runbook_known_hosts_file: {}\n",
        container().key.display(),
        known_hosts.path().join("known_hosts").display()
    );
    let mut transport = the_container("boxssh", inventory);
    transport.keep.push(Box::new(known_hosts));
    transport
}

transport_contract!(over_lxc_attach, super::lxc_attach);
transport_contract!(over_ssh, super::ssh_into_the_container);

fn lxc_host() -> String {
    format!("    box:\n      runbook_transport: lxc\n      runbook_container: {CONTAINER}\n")
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

/// Issue 14 in a container: a service started through systemd (as `systemctl` and
/// `pg_ctlcluster` start the Patroni course's) belongs to the container's init, not to the
/// session, and is never ended; what the block itself leaves running (`setsid`) is. The
/// container's processes are visible in this machine's /proc.
#[test]
fn a_service_started_through_the_containers_init_survives_the_end_of_run_sweep() {
    container();
    let _serial = serial();
    let unit = "runbook-leftover-test";
    attach(&format!(
        "systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null; true"
    ));
    let lab = Lab::with_hosts(&lxc_host());
    lab.chapter(
        "01-service.md",
        &format!(
            "# Service\n\n```bash on=box\nsystemd-run --quiet --unit={unit} sleep 14041\nsetsid sleep 14042 &\nsystemctl is-active {unit}\n```\n\n```console\nactive\n```\n"
        ),
    );
    let run = lab.runbook_in_own_tmp(&["verify", "workshop"]);
    let state = attach(&format!("systemctl is-active {unit}"));
    attach(&format!("systemctl stop {unit}"));
    run.assert_code(0);
    assert_eq!(state.trim(), "active", "the init-owned service was ended");
    run.stdout_has("`sleep 14042`: left running by a block, ended by runbook");
    assert!(
        !run.stdout.contains("sleep 14041"),
        "the init-owned service is no leftover:\n{}",
        run.stdout
    );
    let setsid_alive = common::sshd::processes_mentioning("sleep 14042")
        .into_iter()
        .any(|(_, line)| line == "sleep 14042");
    assert!(!setsid_alive, "the block's setsid sleeper outlived the run");
}

#[test]
fn sql_blocks_keep_one_psql_session_in_the_container_over_lxc_attach_and_ssh() {
    let key = &container().key;
    let _serial = serial();
    let known_hosts = tempfile::tempdir().expect("tempdir");
    let lab = Lab::with_hosts(&format!(
        "{}    boxssh:\n      ansible_host: {ADDRESS}\n      ansible_user: root\n      ansible_ssh_private_key_file: {}\n      runbook_known_hosts_file: {}\n",
        lxc_host(),
        key.display(),
        known_hosts.path().join("known_hosts").display()
    ));
    let mut chapter = String::from("# SQL\n\n");
    for host in ["box", "boxssh"] {
        chapter.push_str(&format!(
            "```sql on={host} user=postgres\nSET application_name = 'rb-{host}';\nBEGIN;\n\
CREATE TEMP TABLE t AS SELECT 7 AS n;\n```\n\n\
```sql on={host} user=postgres id=back-{host}\nSELECT current_setting('application_name') AS app, n FROM t;\n\
COMMIT;\n```\n\n\
```\n app | n\n---+---\n rb-{host} | 7\n(1 row)\n\nCOMMIT\n```\n\n"
        ));
    }
    lab.chapter("01-sql.md", &chapter);
    let run = lab.runbook_in_own_tmp(&["verify", "workshop"]);
    run.assert_code(0);
    for host in ["box", "boxssh"] {
        let attempt = lab.attempt(&format!("01-sql/back-{host}"));
        assert_eq!(
            attempt.outcome,
            runbook::report::model::Outcome::Passed,
            "{attempt:?}"
        );
    }
}
