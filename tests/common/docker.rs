//! The tests' own docker container, `runbook-test`: an image imported (`docker import`, no
//! registry) from the root filesystem of the tests' LXC container (Debian 12, debootstrap),
//! run without a network. Needs dockerd, which `scripts/setup-test-machine` installs (Debian's
//! docker.io) and starts by hand.

use std::process::Command;
use std::sync::OnceLock;

pub const CONTAINER: &str = "runbook-test";
pub const IMAGE: &str = "runbook-test-debian:bookworm";

const PREPARE: &str = r#"
set -eu
image=runbook-test-debian:bookworm
name=runbook-test
rootfs=/var/lib/lxc/runbook-test/rootfs
if ! docker image inspect "$image" >/dev/null 2>&1; then
  [ -d "$rootfs" ] || { echo "no root filesystem at $rootfs (the LXC test container's)" >&2; exit 1; }
  tar -C "$rootfs" --exclude=./root/.ssh -c . | docker import - "$image" >/dev/null
fi
# (Some docker clients print an empty line before failing on a missing container.)
state=$(docker inspect -f '{{.State.Status}}' "$name" 2>/dev/null) || state=absent
case "$state" in
  running) ;;
  paused) docker unpause "$name" >/dev/null ;;
  absent) docker run -d --name "$name" --network none "$image" sleep infinity >/dev/null ;;
  *) docker start "$name" >/dev/null ;;
esac
docker exec "$name" sh -c 'id runbook-test >/dev/null 2>&1 || useradd --create-home --shell /bin/bash runbook-test'
"#;

/// Makes sure the image and the running container exist (once per test process).
pub fn container() {
    static PREPARED: OnceLock<()> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let info = Command::new("docker")
            .arg("info")
            .output()
            .expect("the docker client runs (scripts/setup-test-machine installs docker.io)");
        assert!(
            info.status.success(),
            "dockerd does not answer: run scripts/setup-test-machine (it starts dockerd)\n{}",
            String::from_utf8_lossy(&info.stderr)
        );
        // The image comes from the LXC test container's root filesystem (not from the
        // debootstrap cache, which scripts/wipe-lab removes while the container stays).
        super::lxc::container();
        let output = Command::new("flock")
            .args(["/run/lock/runbook-test-docker.lock", "bash", "-c", PREPARE])
            .output()
            .expect("prepare the docker container");
        assert!(
            output.status.success(),
            "cannot prepare the docker container {CONTAINER}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// Unpauses the container when dropped, so that a failing test does not leave it paused.
#[derive(Debug)]
pub struct UnpauseOnDrop;

impl Drop for UnpauseOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["unpause", CONTAINER])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Runs a command in the container (outside runbook), for checks.
pub fn exec(script: &str) -> String {
    let output = Command::new("docker")
        .args(["exec", CONTAINER, "sh", "-c", script])
        .output()
        .expect("docker exec");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
