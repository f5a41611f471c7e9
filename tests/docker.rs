//! The docker transport through the real `runbook` binary against a real container (dockerd
//! from Debian's docker.io, an image imported from a debootstrap root filesystem): persistent
//! shells, a configured `runbook_become`, timeouts killing the command inside the container,
//! and a container paused (`docker pause`, the cgroup freezer) in the middle of a block.

mod common;

use common::Lab;
use common::docker::{CONTAINER, UnpauseOnDrop, container, exec};

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lab() -> Lab {
    let lab = Lab::new();
    lab.write(
        "workshop/inventory.yml",
        &format!(
            "all:\n  hosts:\n    app:\n      runbook_transport: docker\n      runbook_container: {CONTAINER}\n      runbook_become: su - {{user}} -s /bin/bash\n"
        ),
    );
    lab
}

#[test]
fn docker_sessions_keep_state_and_switch_users() {
    container();
    let _serial = serial();
    let lab = lab();
    lab.chapter(
        "01.md",
        "```bash on=app\ncd /srv\nexport RB_STATE=kept\n```\n\n\
         ```bash on=app id=state\npwd; echo $RB_STATE; whoami\n```\n\n\
         ```console\n/srv\nkept\nroot\n```\n\n\
         ```bash on=app user=runbook-test id=user\nwhoami; pwd; echo \"[$RB_STATE]\"\n```\n\n\
         ```console\nrunbook-test\n/home/runbook-test\n[]\n```\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    assert_eq!(lab.report()["counts"]["passed"], 2);
}

#[test]
fn a_docker_timeout_kills_the_command_inside_the_container() {
    container();
    let _serial = serial();
    let lab = lab();
    lab.chapter(
        "01.md",
        "```bash on=app id=slow timeout=2s\nsleep 300 & echo $! > /tmp/rb-slow.pid; wait\n```\n\n\
         ```bash on=app id=check\nif [ -d /proc/$(cat /tmp/rb-slow.pid) ]; then echo alive; else echo gone; fi\n```\n\n\
         ```console\ngone\n```\n",
    );
    lab.runbook(&["verify", "workshop", "--keep-going", "--grace", "1s"])
        .assert_code(1)
        .stdout_has("TIMEOUT 01/slow");
    assert_eq!(lab.step("01/check")["outcome"], "passed");
    let pid = exec("cat /tmp/rb-slow.pid");
    assert_eq!(
        exec(&format!("test -d /proc/{} && echo alive", pid.trim())),
        ""
    );
}

#[test]
fn a_paused_container_times_out_and_is_reached_again_after_unpause() {
    container();
    let _serial = serial();
    let _unpause = UnpauseOnDrop;
    let lab = lab();
    lab.chapter(
        "01.md",
        &format!(
            "```bash id=pause-soon\n(sleep 1; docker pause {CONTAINER}) >/dev/null 2>&1 &\n```\n\n\
             ```bash on=app id=stuck timeout=4s\necho before; sleep 30; echo after\n```\n\n\
             ```bash id=unpause verbatim\ndocker inspect -f '{{{{.State.Status}}}}' {CONTAINER}; docker unpause {CONTAINER}\n```\n\n\
             ```console\npaused\n{CONTAINER}\n```\n\n\
             ```bash on=app id=back\necho back\n```\n\n```console\nback\n```\n"
        ),
    );
    let result = lab.runbook(&["verify", "workshop", "--keep-going", "--grace", "1s"]);
    result.assert_code(1).stdout_has("TIMEOUT 01/stuck");
    let stuck = lab.step("01/stuck");
    assert_eq!(stuck["hosts"][0]["attempts"][0]["output"], "before\n");
    let took = stuck["duration_ms"].as_u64().expect("duration");
    assert!(took < 4_000 + 8_000, "{took} ms");
    assert_eq!(lab.step("01/unpause")["outcome"], "passed");
    assert_eq!(lab.step("01/back")["outcome"], "passed");
}
