//! SSH hosts through the system's OpenSSH client: one multiplexed master connection per host,
//! opened on first use, and every shell or control command of that host is a channel on it
//! (`ssh -S SOCKET`), so only the first contact pays for the TCP and key exchange.
//!
//! runbook starts and owns the master process itself (`ssh -M -N`, in the foreground, not
//! `-f`) rather than through the `openssh` crate, for two reasons found while testing:
//! - the crate daemonizes the master, so nothing ties it to runbook: a runbook killed while a
//!   block runs left the master (and the remote command) alive for as long as the channel
//!   stayed open. Here the master gets SIGTERM from the kernel when runbook dies, however it
//!   dies, and ends every channel with it;
//! - the crate's channel commands name the host `none`: if the master is gone, ssh falls back
//!   to a fresh connection and looks `none` up in the DNS. runbook's channels name
//!   `127.0.0.1` port 9 instead, so a lost master can only cause a refused loopback connection,
//!   never traffic to another machine.
//!
//! BatchMode (never prompt), ConnectTimeout and ServerAliveInterval (a host that stops
//! answering is dropped after about 15 s) are always set; host keys are checked: `accept-new`
//! by default (a lab's containers are new, then pinned), `strict` on request, never off.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::protocol::shell_quote;
use super::{HostKeyRefusal, SessionError, SessionSettings};
use crate::inventory::{Host, HostKeyChecking};

/// The port SSH uses when `ansible_port` names none; known_hosts writes it as a bare address.
const SSH_PORT: u16 = 22;

/// Where a channel's ssh client would connect if the master were gone: a loopback port that
/// refuses at once (see the module comment).
const CHANNEL_FALLBACK: [&str; 4] = ["-p", "9", "--", "127.0.0.1"];

/// The master connection of one host: the ssh process and the folder of its control socket.
#[derive(Debug)]
struct Master {
    process: Child,
    dir: tempfile::TempDir,
}

impl Master {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("s")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    fn is_running(&mut self) -> bool {
        matches!(self.process.try_wait(), Ok(None)) && self.socket().exists()
    }
}

#[derive(Debug)]
pub(crate) struct SshTransport {
    host: Host,
    settings: Arc<SessionSettings>,
    master: Mutex<Option<Master>>,
    /// Whether the host has answered once in this run (see `Sessions::prewarm`).
    reached: AtomicBool,
    /// Why the host could not be reached, kept under
    /// [`SessionSettings::one_connect_attempt`] to answer later attempts at once.
    gave_up: std::sync::Mutex<Option<String>>,
}

impl SshTransport {
    pub(crate) fn new(host: Host, settings: Arc<SessionSettings>) -> Self {
        SshTransport {
            host,
            settings,
            master: Mutex::new(None),
            reached: AtomicBool::new(false),
            gave_up: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn login_user(&self) -> String {
        self.host
            .user
            .clone()
            .unwrap_or_else(crate::sys::current_user)
    }

    pub(crate) fn has_answered(&self) -> bool {
        self.reached.load(Ordering::Relaxed)
    }

    fn address(&self) -> &str {
        self.host.address.as_deref().unwrap_or(&self.host.name)
    }

    fn port(&self) -> u16 {
        self.host.port.unwrap_or(SSH_PORT)
    }

    fn known_hosts_file(&self) -> Option<&String> {
        self.host.vars.get("runbook_known_hosts_file")
    }

    /// The folder of control sockets: private to runbook's user, since whoever can open a
    /// control socket gets a shell on the host. Leftovers of runs that died are removed.
    fn prepare_control_dir(&self) -> Result<(), SessionError> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = &self.settings.control_dir;
        let local = SessionError::Local;
        std::fs::create_dir_all(dir)
            .map_err(|error| local(format!("cannot create {}: {error}", dir.display())))?;
        let metadata = std::fs::metadata(dir)
            .map_err(|error| local(format!("cannot read {}: {error}", dir.display())))?;
        if metadata.uid() != crate::sys::current_uid() {
            return Err(local(format!(
                "{} belongs to another user; SSH control sockets must be private",
                dir.display()
            )));
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|error| local(format!("cannot make {} private: {error}", dir.display())))?;
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let owner = name
                    .strip_prefix("rb-")
                    .and_then(|rest| rest.split('-').next())
                    .and_then(|pid| pid.parse::<u32>().ok());
                if let Some(pid) = owner
                    && !Path::new(&format!("/proc/{pid}")).exists()
                {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Starts the master and waits until it is authenticated (its control socket appears).
    async fn connect(&self) -> Result<Master, SessionError> {
        self.prepare_control_dir()?;
        let settings = &self.settings;
        let dir = tempfile::Builder::new()
            .prefix(&format!("rb-{}-", std::process::id()))
            .tempdir_in(&settings.control_dir)
            .map_err(|error| {
                SessionError::Local(format!("cannot create a control socket folder: {error}"))
            })?;
        let socket = dir.path().join("s");
        let log = dir.path().join("log");
        let checking = match self.host.host_key_checking {
            HostKeyChecking::AcceptNew => "accept-new",
            HostKeyChecking::Strict => "yes",
        };
        let connect_seconds = settings.connect_timeout.as_secs().max(1);
        let mut command = crate::sys::command("ssh");
        command
            .arg("-M")
            .arg("-N")
            .arg("-S")
            .arg(&socket)
            .arg("-E")
            .arg(&log)
            .args(["-o", "ControlPersist=no"])
            .args(["-o", "BatchMode=yes"])
            .args(["-o", &format!("StrictHostKeyChecking={checking}")])
            .args(["-o", &format!("ConnectTimeout={connect_seconds}")])
            .args([
                "-o",
                &format!("ServerAliveInterval={}", settings.ssh_alive_interval),
            ])
            .args([
                "-o",
                &format!("ServerAliveCountMax={}", settings.ssh_alive_count),
            ])
            .args(["-o", "ClearAllForwardings=yes"])
            .args(["-p", &self.port().to_string()])
            .args(["-l", &self.login_user()]);
        if let Some(known_hosts) = self.known_hosts_file() {
            command.args(["-o", &format!("UserKnownHostsFile={known_hosts}")]);
        }
        if let Some(key) = &self.host.key_file {
            command
                .args(["-o", "IdentitiesOnly=yes"])
                .arg("-i")
                .arg(key);
        }
        if let Some(jump) = &self.host.jump {
            command.args(["-o", &self.proxy_command(jump, &log)]);
            command.args(["-o", &format!("HostKeyAlias={}", self.known_entry())]);
        }
        command
            .arg("--")
            .arg(self.address())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        crate::sys::detach_session_tied_to_runbook(&mut command);
        let process = command.spawn().map_err(spawning_ssh)?;
        let mut master = Master { process, dir };
        // ssh's ConnectTimeout covers the TCP connection and the banner; the rest of the
        // handshake (a host that answers TCP but is frozen) is bounded here.
        let deadline = crate::deadline::tokio_in(
            settings
                .connect_timeout
                .saturating_add(settings.ssh_handshake),
        );
        loop {
            if let Ok(Some(_)) = master.process.try_wait() {
                let text = std::fs::read_to_string(master.log()).unwrap_or_default();
                return Err(self.explain(&text));
            }
            if socket.exists() {
                self.reached.store(true, Ordering::Relaxed);
                return Ok(master);
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = master.process.start_kill();
                return Err(SessionError::Connect {
                    host: self.host.name.clone(),
                    user: self.login_user(),
                    address: self.address().to_string(),
                    port: self.port(),
                    detail: format!("no answer within {}s", settings.connect_timeout.as_secs()),
                });
            }
            tokio::time::sleep(settings.ssh_socket_poll).await;
        }
    }

    /// The `ProxyCommand` that reaches the host through `jump`. Not `ProxyJump`: ssh runs a
    /// ProxyJump's connection with none of the command line's options, so the jump would be
    /// made without BatchMode, ConnectTimeout, runbook's known-hosts file or host key policy.
    /// Here the inner ssh gets the same ones, and logs into the same file, so that a jump
    /// that fails says why. ssh runs the command with `sh -c`: every word is quoted.
    fn proxy_command(&self, jump: &crate::inventory::Jump, log: &Path) -> String {
        let settings = &self.settings;
        let checking = match self.host.host_key_checking {
            HostKeyChecking::AcceptNew => "accept-new",
            HostKeyChecking::Strict => "yes",
        };
        let mut words: Vec<String> = vec!["ssh".into(), "-E".into(), log.display().to_string()];
        let mut option = |text: String| {
            words.push("-o".into());
            words.push(text);
        };
        option("BatchMode=yes".into());
        option(format!("StrictHostKeyChecking={checking}"));
        option(format!(
            "ConnectTimeout={}",
            settings.connect_timeout.as_secs().max(1)
        ));
        option(format!(
            "ServerAliveInterval={}",
            settings.ssh_alive_interval
        ));
        option(format!("ServerAliveCountMax={}", settings.ssh_alive_count));
        option("ClearAllForwardings=yes".into());
        if let Some(known_hosts) = self.known_hosts_file() {
            option(format!("UserKnownHostsFile={known_hosts}"));
        }
        if let Some(key) = &self.host.key_file {
            option("IdentitiesOnly=yes".into());
            words.push("-i".into());
            words.push(key.display().to_string());
        }
        words.extend(["-p".into(), jump.port.unwrap_or(SSH_PORT).to_string()]);
        if let Some(user) = &jump.user {
            words.extend(["-l".into(), user.clone()]);
        }
        // %h and %p: the host's own address and port, as the jump machine reaches them.
        words.extend([
            "-W".into(),
            "%h:%p".into(),
            "--".into(),
            jump.address.clone(),
        ]);
        let quoted: Vec<String> = words.iter().map(|word| shell_quote(word)).collect();
        format!("ProxyCommand={}", quoted.join(" "))
    }

    /// The name the host's key is kept under in known_hosts: its address (and port), as ssh
    /// writes it; through a jump, a name that also says which jump, since every trainee's
    /// lab has its own pg-1 at the same address behind their own machine, and one key per
    /// address would have each lab's key refused as a changed one.
    fn known_entry(&self) -> String {
        let address = self.address();
        match &self.host.jump {
            Some(jump) => {
                let safe = |text: &str| -> String {
                    text.chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '.' {
                                c
                            } else {
                                '-'
                            }
                        })
                        .collect()
                };
                format!(
                    "runbook-via-{}-{}-to-{}-{}",
                    safe(&jump.address),
                    jump.port.unwrap_or(SSH_PORT),
                    safe(address),
                    self.port()
                )
            }
            None if self.port() == SSH_PORT => address.to_string(),
            None => format!("[{address}]:{}", self.port()),
        }
    }

    /// Forgets a connection that failed under `one_connect_attempt`.
    pub(crate) fn forget_unreachable(&self) {
        if let Ok(mut reason) = self.gave_up.lock() {
            *reason = None;
        }
    }

    /// Turns what ssh logged into the reason it failed, naming the host and the fix.
    fn explain(&self, log: &str) -> SessionError {
        let address = self.address();
        let known_entry = self.known_entry();
        let file_option = self
            .known_hosts_file()
            .map_or_else(String::new, |file| format!(" -f {}", shell_quote(file)));
        let lower = log.to_lowercase();
        let detail = log
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty() && !line.starts_with('@'))
            .unwrap_or("ssh exited without saying why")
            .to_string();
        let host = self.host.name.clone();
        if lower.contains("remote host identification has changed")
            || (lower.contains("host key verification failed") && lower.contains("offending"))
        {
            HostKeyRefusal::Changed {
                host,
                forget: format!("ssh-keygen{file_option} -R {}", shell_quote(&known_entry)),
                entry: known_entry,
            }
            .into()
        } else if lower.contains("host key is known") && lower.contains("strict checking") {
            HostKeyRefusal::Unknown {
                host,
                entry: known_entry,
                port: self.port(),
                address: address.to_string(),
            }
            .into()
        } else if lower.contains("host key verification failed") {
            HostKeyRefusal::Unverified {
                host,
                entry: known_entry,
                detail,
            }
            .into()
        } else if lower.contains("permission denied") {
            SessionError::Login {
                host,
                user: self.login_user(),
                detail,
            }
        } else {
            SessionError::Connect {
                host,
                user: self.login_user(),
                address: address.to_string(),
                port: self.port(),
                detail,
            }
        }
    }

    /// The control socket of a working master, connecting (again) if there is none or it died.
    async fn master_socket(&self) -> Result<PathBuf, SessionError> {
        let mut master = self.master.lock().await;
        if let Some(running) = master.as_mut() {
            if running.is_running() {
                return Ok(running.socket());
            }
            *master = None;
        }
        let given_up = self.gave_up.lock().ok().and_then(|reason| reason.clone());
        if let Some(detail) = given_up {
            return Err(SessionError::Connect {
                host: self.host.name.clone(),
                user: self.login_user(),
                address: self.address().to_string(),
                port: self.port(),
                detail,
            });
        }
        let fresh = match self.connect().await {
            Ok(fresh) => fresh,
            Err(error) => {
                if self.settings.one_connect_attempt
                    && let SessionError::Connect { detail, .. } = &error
                    && let Ok(mut reason) = self.gave_up.lock()
                {
                    *reason = Some(format!("{detail} (not tried again in this run)"));
                }
                return Err(error);
            }
        };
        let socket = fresh.socket();
        *master = Some(fresh);
        Ok(socket)
    }

    /// An ssh client that runs `remote_command` as a channel of the master.
    fn channel(socket: &Path, remote_command: &str) -> Command {
        let mut command = crate::sys::command("ssh");
        command
            .arg("-S")
            .arg(socket)
            .args(["-o", "BatchMode=yes", "-o", "ControlMaster=no", "-T"])
            .args(CHANNEL_FALLBACK)
            .arg(remote_command)
            .kill_on_drop(true);
        command
    }

    /// Starts a shell (as the login user, or through `switch_user`) on a channel.
    pub(crate) async fn open_shell(
        &self,
        switch_user: Option<&str>,
    ) -> Result<Child, SessionError> {
        let remote = match switch_user {
            Some(switch) => format!("exec sh -c {}", shell_quote(switch)),
            None => "exec bash -l".to_string(),
        };
        let socket = self.master_socket().await?;
        let mut command = Self::channel(&socket, &remote);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::sys::detach_session(&mut command);
        command.spawn().map_err(spawning_ssh)
    }

    /// Runs a short script on its own channel, beside the sessions.
    pub(crate) async fn control(&self, script: &str) -> Result<String, SessionError> {
        let socket = self.master_socket().await?;
        let mut command = Self::channel(&socket, &format!("sh -c {}", shell_quote(script)));
        command.stdin(Stdio::null());
        crate::sys::detach_session(&mut command);
        let output = command.output().await.map_err(spawning_ssh)?;
        if output.status.code() == Some(255) {
            return Err(SessionError::ChannelFailed {
                host: self.host.name.clone(),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Ends the master (and with it every channel still open).
    pub(crate) async fn close(&self) {
        let Some(mut master) = self.master.lock().await.take() else {
            return;
        };
        if master.is_running() {
            let mut exit = crate::sys::command("ssh");
            exit.arg("-S")
                .arg(master.socket())
                .args(["-O", "exit"])
                .args(CHANNEL_FALLBACK)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true);
            let _ = tokio::time::timeout(self.settings.ssh_master_exit, exit.status()).await;
        }
        if tokio::time::timeout(self.settings.ssh_master_exit, master.process.wait())
            .await
            .is_err()
        {
            let _ = master.process.start_kill();
            let _ = master.process.wait().await;
        }
    }
}

fn spawning_ssh(source: std::io::Error) -> SessionError {
    SessionError::Spawn {
        program: "ssh".into(),
        source,
    }
}
