//! A real OpenSSH server (Debian's openssh-server) for the tests: started on 127.0.0.1 on a
//! free port with host and user keys generated for the test, its own sshd_config, and killed
//! (with every connection it forked) when dropped. `scripts/setup-test-machine` installs it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    process: Option<Child>,
}

fn keygen(path: &Path, comment: &str) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs (openssh-client; see scripts/setup-test-machine)");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("address").port()
}

/// Every process whose parent chain leads to `root` (the children sshd forked per connection).
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(after) = stat.rsplit_once(") ").map(|(_, rest)| rest.to_string()) else {
            continue;
        };
        if let Some(ppid) = after.split(' ').nth(1).and_then(|p| p.parse().ok()) {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        for (pid, ppid) in &parents {
            if *ppid == parent && !found.contains(pid) {
                found.push(*pid);
            }
        }
        index += 1;
    }
    found.remove(0);
    found
}

impl Sshd {
    /// Generates keys and starts the server.
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: run scripts/setup-test-machine (it installs openssh-server)"
        );
        let dir = tempfile::Builder::new()
            .prefix("runbook-sshd-")
            .tempdir()
            .expect("tempdir");
        keygen(&dir.path().join("host_key"), "runbook-test-host");
        keygen(&dir.path().join("client_key"), "runbook-test-client");
        std::fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("authorized_keys");
        std::fs::write(dir.path().join("known_hosts"), "").expect("known_hosts");
        let mut sshd = Sshd {
            dir,
            port: 0,
            process: None,
        };
        sshd.launch();
        sshd
    }

    fn launch(&mut self) {
        let keep_port = self.port;
        for _ in 0..10 {
            let port = if keep_port != 0 {
                keep_port
            } else {
                free_port()
            };
            let config = self.dir.path().join("sshd_config");
            let d = self.dir.path().display();
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile none\n\
                     AuthorizedKeysFile {d}/authorized_keys\nAuthenticationMethods publickey\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n\
                     MaxSessions 32\nLogLevel VERBOSE\n"
                ),
            )
            .expect("sshd_config");
            let log = std::fs::File::create(self.dir.path().join("sshd.log")).expect("log");
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start sshd");
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    self.port = port;
                    self.process = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default();
            if log.contains("privilege separation directory") {
                panic!(
                    "sshd cannot start: {log}(run scripts/setup-test-machine, it creates /run/sshd)"
                );
            }
            if keep_port != 0 {
                // The port may still be held by the previous server's last connections.
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        panic!(
            "sshd did not start: {}",
            std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
        );
    }

    pub fn pid(&self) -> u32 {
        self.process.as_ref().map_or(0, Child::id)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let mut pids = descendants(child.id());
            pids.push(child.id());
            for pid in pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = child.wait();
        }
    }

    /// The same address and port, but a server with a new host key: a rebuilt host.
    pub fn restart_with_new_host_key(&mut self) {
        self.stop();
        keygen(
            &self.dir.path().join("host_key"),
            "runbook-test-host-rebuilt",
        );
        self.launch();
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// The inventory lines of a host reached through this server (8 spaces of indent, under
    /// `all.hosts`), as root with the test's key and known_hosts file.
    pub fn inventory_host(&self, name: &str, extra: &str) -> String {
        format!(
            "    {name}:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      ansible_user: root\n      ansible_ssh_private_key_file: {}\n      runbook_known_hosts_file: {}\n{extra}",
            self.port,
            self.client_key().display(),
            self.known_hosts().display()
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Processes whose command line mentions `needle` (e.g. the lab's control folder).
pub fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains(needle) && pid != std::process::id() {
            found.push((pid, line.trim().to_string()));
        }
    }
    found
}
