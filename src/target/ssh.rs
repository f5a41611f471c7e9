//! SSH hosts through the system's OpenSSH (the `openssh` crate): one multiplexed master per
//! host, opened on first use, with BatchMode, ConnectTimeout and ServerAliveInterval so that a
//! dead host is noticed; host keys checked (`accept-new` by default, `strict` on request, never
//! disabled). The master outlives its last channel by only a few seconds, so a crashed run
//! does not leave it behind.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, SessionBuilder, Stdio};
use tokio::sync::Mutex;

use super::SessionSettings;
use super::protocol::shell_quote;
use crate::inventory::{Host, HostKeyChecking};

/// How long a master stays up once runbook has closed its last channel.
const MASTER_LINGER_SECONDS: usize = 10;

#[derive(Debug)]
pub struct SshTransport {
    host: Host,
    connect_timeout: Duration,
    control_dir: std::path::PathBuf,
    master: Mutex<Option<Arc<openssh::Session>>>,
}

impl SshTransport {
    pub fn new(host: Host, settings: &SessionSettings) -> Self {
        SshTransport {
            host,
            connect_timeout: settings.connect_timeout,
            control_dir: settings.control_dir.clone(),
            master: Mutex::new(None),
        }
    }

    pub fn login_user(&self) -> String {
        self.host
            .user
            .clone()
            .unwrap_or_else(crate::sys::current_user)
    }

    fn destination(&self) -> String {
        format!(
            "{}@{}:{}",
            self.login_user(),
            self.host.address.as_deref().unwrap_or(&self.host.name),
            self.host.port.unwrap_or(22)
        )
    }

    async fn connect(&self) -> Result<Arc<openssh::Session>, String> {
        std::fs::create_dir_all(&self.control_dir)
            .map_err(|error| format!("cannot create {}: {error}", self.control_dir.display()))?;
        let mut builder = SessionBuilder::default();
        builder
            .user(self.login_user())
            .port(self.host.port.unwrap_or(22))
            .known_hosts_check(match self.host.host_key_checking {
                HostKeyChecking::AcceptNew => KnownHosts::Add,
                HostKeyChecking::Strict => KnownHosts::Strict,
            })
            .connect_timeout(self.connect_timeout.max(Duration::from_secs(1)))
            .server_alive_interval(Duration::from_secs(5))
            .control_directory(&self.control_dir)
            .clean_history_control_directory(true)
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(MASTER_LINGER_SECONDS).unwrap_or(NonZeroUsize::MIN),
            ));
        if let Some(key) = &self.host.key_file {
            builder.keyfile(key);
        }
        if let Some(known_hosts) = self.host.vars.get("runbook_known_hosts_file") {
            builder.user_known_hosts_file(known_hosts);
        }
        let address = self
            .host
            .address
            .clone()
            .unwrap_or_else(|| self.host.name.clone());
        builder
            .connect(&address)
            .await
            .map(Arc::new)
            .map_err(|error| self.explain(&error))
    }

    /// Turns ssh's error into a sentence that names the host and the fix.
    fn explain(&self, error: &openssh::Error) -> String {
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            detail = format!("{detail}: {cause}");
            source = cause.source();
        }
        let address = self.host.address.as_deref().unwrap_or(&self.host.name);
        let lower = detail.to_lowercase();
        if lower.contains("host key verification failed")
            || lower.contains("remote host identification has changed")
        {
            let known = self
                .host
                .vars
                .get("runbook_known_hosts_file")
                .map_or_else(String::new, |file| format!(" -f {file}"));
            format!(
                "the host key of {} ({address}) is not the one known for it (host key verification failed); if the host was rebuilt, forget the old key with `ssh-keygen{known} -R {address}` and run again",
                self.host.name
            )
        } else {
            format!(
                "cannot connect to {} ({}): {detail}",
                self.host.name,
                self.destination()
            )
        }
    }

    /// The master, connecting (again) if there is none or it died.
    async fn master(&self, check: bool) -> Result<Arc<openssh::Session>, String> {
        let mut master = self.master.lock().await;
        if let Some(session) = master.as_ref() {
            if !check || session.check().await.is_ok() {
                return Ok(Arc::clone(session));
            }
            *master = None;
        }
        let session = self.connect().await?;
        *master = Some(Arc::clone(&session));
        Ok(session)
    }

    pub async fn open_shell(
        &self,
        switch_user: Option<&str>,
    ) -> Result<openssh::Child<Arc<openssh::Session>>, String> {
        let command = match switch_user {
            Some(switch) => format!("exec sh -c {}", shell_quote(switch)),
            None => "exec bash -l".to_string(),
        };
        for attempt in 0..2 {
            // A new shell is rare: make sure the master still works, reconnect if not.
            let master = self.master(true).await?;
            match openssh::Session::to_raw_command(Arc::clone(&master), &command)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .await
            {
                Ok(child) => return Ok(child),
                Err(error) if attempt == 0 => {
                    let _ = error;
                    *self.master.lock().await = None;
                }
                Err(error) => return Err(self.explain(&error)),
            }
        }
        Err(format!("cannot open a shell on {}", self.host.name))
    }

    pub async fn control(&self, script: &str) -> Result<String, String> {
        let master = self.master(false).await?;
        let output = master
            .raw_command(format!("sh -c {}", shell_quote(script)))
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|error| self.explain(&error))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    pub async fn close(&self) {
        if let Some(master) = self.master.lock().await.take()
            && let Ok(master) = Arc::try_unwrap(master)
        {
            let _ = master.close().await;
        }
    }
}
