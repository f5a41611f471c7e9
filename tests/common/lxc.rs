//! The tests' own LXC container, `runbook-test` (Debian 12 with sudo and openssh-server),
//! created on first use and kept for later runs (the first creation debootstraps for about
//! 80 s; then the root filesystem is cached). It has a fixed address on the lab bridge,
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

/// Creates (if absent), configures, starts and waits for the container. Serialised across
/// test processes by a lock file, and done once per test process.
const PREPARE: &str = r#"
set -eu
name=runbook-test
address=10.0.3.250
if ! lxc-info -n "$name" >/dev/null 2>&1; then
  echo "creating the LXC container $name (the first time takes about 80 s)" >&2
  lxc-create -n "$name" -t debian -- -r bookworm --packages=sudo,openssh-server >&2
fi
config=/var/lib/lxc/$name/config
rootfs=/var/lib/lxc/$name/rootfs
changed=0
if ! grep -q '^lxc.net.0.ipv4.address' "$config"; then
  printf 'lxc.net.0.ipv4.address = %s/24\nlxc.net.0.ipv4.gateway = 10.0.3.1\n' "$address" >> "$config"
  changed=1
fi
# A fixed address: the container's own DHCP client must not replace it.
if ! grep -q 'eth0 inet manual' "$rootfs/etc/network/interfaces"; then
  printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet manual\n' > "$rootfs/etc/network/interfaces"
  changed=1
fi
key=/var/lib/lxc/$name/runbook-test-key
[ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -C runbook-test -f "$key"
mkdir -p "$rootfs/root/.ssh"
chmod 700 "$rootfs/root/.ssh"
cp "$key.pub" "$rootfs/root/.ssh/authorized_keys"
chmod 600 "$rootfs/root/.ssh/authorized_keys"
state=$(lxc-info -n "$name" -sH)
# A test that failed half-way may have left it frozen.
[ "$state" != FROZEN ] || { lxc-unfreeze -n "$name"; state=RUNNING; }
if [ "$changed" = 1 ] && [ "$state" != STOPPED ]; then
  lxc-stop -n "$name" -t 10
  state=STOPPED
fi
[ "$state" = RUNNING ] || lxc-start -n "$name"
for _ in $(seq 150); do
  if lxc-attach -n "$name" -- sh -c 'systemctl is-active --quiet ssh && id runbook-test >/dev/null 2>&1' 2>/dev/null; then
    echo "$key"
    exit 0
  fi
  lxc-attach -n "$name" -- sh -c 'systemctl is-active --quiet ssh && { id runbook-test >/dev/null 2>&1 || useradd --create-home --shell /bin/bash runbook-test; }' 2>/dev/null || true
  sleep 0.2
done
echo "the container $name did not come up (sshd inactive after 30 s)" >&2
exit 1
"#;

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
            .args([
                "/run/lock/runbook-test-container.lock",
                "bash",
                "-c",
                PREPARE,
            ])
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
