//! The docker transport through the real `runbook` binary against a real container (dockerd
//! from Debian's docker.io, an image imported from a debootstrap root filesystem): the
//! transport contract of common/contract.rs, with a configured `runbook_become`; a frozen host
//! is the container paused (`docker pause`, the cgroup freezer).

mod common;

use common::contract::Transport;
use common::docker::{CONTAINER, UnpauseOnDrop, container, exec};

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn the_container() -> Transport {
    container();
    Transport {
        host: "app",
        inventory: format!(
            "    app:\n      runbook_transport: docker\n      runbook_container: {CONTAINER}\n      runbook_become: su - {{user}} -s /bin/bash\n"
        ),
        hostname: exec("hostname").trim().to_string(),
        inside: Box::new(exec),
        freeze: Box::new(|_| format!("docker pause {CONTAINER}")),
        thaw: Box::new(|_| {
            format!(
                "docker inspect -f '{{{{.State.Status}}}}' {CONTAINER}; docker unpause {CONTAINER}"
            )
        }),
        thaw_says: format!("paused\n{CONTAINER}"),
        thaw_on_drop: Box::new(|| drop(UnpauseOnDrop)),
        after_run: Box::new(|_| {}),
        keep: vec![Box::new(serial())],
    }
}

transport_contract!(over_docker_exec, super::the_container);
