//! The tests' own LXC container, `runbook-test` (Debian 12 with sudo, openssh-server and
//! postgresql), created on first use and kept for later runs (the first creation debootstraps
//! for about 80 s; then the root filesystem is cached). It has a fixed address on the lab bridge,
//! 10.0.3.250, outside the addresses the Patroni course gives its containers, and a key pair
//! for SSH as root kept beside its config. The course's containers are never touched.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub const CONTAINER: &str = "runbook-test";
pub const ADDRESS: &str = "10.0.3.250";

/// The prepared container: its SSH key (the private half's path).
#[derive(Debug)]
pub struct Container {
    pub key: PathBuf,
}

pub fn container() -> &'static Container {
    static PREPARED: OnceLock<Container> = OnceLock::new();
    PREPARED.get_or_init(|| {
        for tool in [
            "/usr/bin/lxc-create",
            "/usr/bin/lxc-attach",
            "/usr/bin/flock",
        ] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: run scripts/setup-test-machine (it installs LXC)"
            );
        }
        assert!(
            std::path::Path::new("/sys/class/net/lxcbr0").exists(),
            "the LXC bridge lxcbr0 is down: run scripts/setup-test-machine (it starts lxc-net)"
        );
        let output = Command::new("flock")
            .args(["/run/lock/runbook-test-container.lock", "bash"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/prepare-test-container"
            ))
            .output()
            .expect("run the container preparation");
        assert!(
            output.status.success(),
            "cannot prepare the LXC container {CONTAINER}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let key = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Container {
            key: PathBuf::from(key),
        }
    })
}

/// Unfreezes the container when dropped, so that a failing test does not leave it frozen.
#[derive(Debug)]
pub struct ThawOnDrop;

impl Drop for ThawOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("lxc-unfreeze")
            .args(["-n", CONTAINER])
            .status();
    }
}

/// Runs a command in the container (outside runbook), for checks.
pub fn attach(script: &str) -> String {
    let output = Command::new("lxc-attach")
        .args(["-n", CONTAINER, "--", "sh", "-c", script])
        .output()
        .expect("lxc-attach");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
