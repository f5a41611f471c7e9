//! How runbook reaches one host: a local process (bash itself, `lxc-attach`, `docker exec`)
//! or a channel of an SSH master ([`super::ssh`]). A transport starts shells, runs short control
//! scripts beside them (to signal a timed-out block) and tells whether a host is known to be
//! there without network traffic.

use std::sync::{Arc, Mutex as StdMutex};
use tokio::io::{AsyncReadExt, AsyncWrite};
use tokio::process::Command;

use super::ssh;
use super::{SessionError, SessionSettings};
use crate::inventory::{Host, TransportKind};

/// A shell's stdout, read directly by whoever runs a block: a block's bytes go straight from
/// the pipe into its buffer, without a reader task and a hop through a channel.
pub(super) struct ShellReader {
    inner: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for ShellReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShellReader")
    }
}

impl ShellReader {
    fn new(inner: impl tokio::io::AsyncRead + Send + Unpin + 'static) -> Self {
        ShellReader {
            inner: Box::new(inner),
            buffer: vec![0u8; 64 * 1024],
        }
    }

    /// What is available right now without waiting: `None` if nothing is. (A zero timeout
    /// would wait for the timer's next millisecond tick, on every block.)
    pub(super) fn try_read(&mut self) -> Option<Option<usize>> {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let read = std::pin::pin!(self.inner.read(&mut self.buffer));
        match read.poll(&mut context) {
            std::task::Poll::Ready(Ok(0) | Err(_)) => Some(None),
            std::task::Poll::Ready(Ok(count)) => Some(Some(count)),
            std::task::Poll::Pending => None,
        }
    }

    /// Reads what is available; `None` at end of stream. Cancel-safe (tokio's `read` is).
    pub(super) async fn read(&mut self) -> Option<&[u8]> {
        match self.inner.read(&mut self.buffer).await {
            Ok(0) | Err(_) => None,
            Ok(count) => Some(&self.buffer[..count]),
        }
    }
}

/// A running shell process, before the protocol starts.
pub(crate) struct ShellProcess {
    pub(super) stdin: Box<dyn AsyncWrite + Send + Unpin>,
    pub(super) stdout: ShellReader,
    pub(super) stderr_tail: Arc<StdMutex<Vec<u8>>>,
    /// The local process carrying the shell (bash, lxc-attach, docker or an ssh channel);
    /// dropping it kills it.
    pub(super) guard: tokio::process::Child,
}

/// Keeps the last few KiB of a stream (stderr before the protocol takes over).
fn spawn_tail(
    mut reader: impl tokio::io::AsyncRead + Send + Unpin + 'static,
) -> Arc<StdMutex<Vec<u8>>> {
    let tail = Arc::new(StdMutex::new(Vec::new()));
    let keep = Arc::clone(&tail);
    tokio::spawn(async move {
        let mut buffer = [0u8; 4096];
        while let Ok(count) = reader.read(&mut buffer).await {
            if count == 0 {
                break;
            }
            if let Ok(mut tail) = keep.lock() {
                tail.extend_from_slice(&buffer[..count]);
                let excess = tail.len().saturating_sub(4096);
                tail.drain(..excess);
            }
        }
    });
    tail
}

/// How runbook reaches one host.
#[derive(Debug)]
pub(crate) enum Transport {
    /// A process on this machine: bash itself, `lxc-attach` or `docker exec`.
    Process {
        kind: TransportKind,
        container: String,
    },
    Ssh(ssh::SshTransport),
}

const CONTAINER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Transport {
    pub(crate) fn for_host(host: &Host, settings: &Arc<SessionSettings>) -> Self {
        match host.transport {
            TransportKind::Ssh => {
                Transport::Ssh(ssh::SshTransport::new(host.clone(), Arc::clone(settings)))
            }
            kind => Transport::Process {
                kind,
                container: host.container.clone(),
            },
        }
    }

    /// The user a shell runs as without switching.
    pub(crate) fn login_user(&self) -> String {
        match self {
            Transport::Process {
                kind: TransportKind::Local,
                ..
            } => crate::sys::current_user(),
            Transport::Process { .. } => "root".to_string(),
            Transport::Ssh(ssh) => ssh.login_user(),
        }
    }

    /// argv of a local process running `command` (a shell command line) or a login bash.
    fn process_argv(kind: TransportKind, container: &str, command: Option<&str>) -> Vec<String> {
        let mut argv: Vec<String> = match kind {
            TransportKind::Lxc => vec![
                "lxc-attach".into(),
                "-n".into(),
                container.into(),
                "--clear-env".into(),
                "--set-var".into(),
                "HOME=/root".into(),
                "--set-var".into(),
                format!("PATH={CONTAINER_PATH}"),
                "--".into(),
            ],
            TransportKind::Docker => vec![
                "docker".into(),
                "exec".into(),
                "-i".into(),
                container.into(),
            ],
            _ => Vec::new(),
        };
        match command {
            Some(command) => argv.extend(["sh".into(), "-c".into(), command.into()]),
            None if kind == TransportKind::Local => argv.push("bash".into()),
            None => argv.extend(["bash".into(), "-l".into()]),
        }
        argv
    }

    /// Starts a shell; `switch_user` is the command that becomes another user, if needed.
    pub(super) async fn open_shell(
        &self,
        switch_user: Option<&str>,
    ) -> Result<ShellProcess, SessionError> {
        let mut child = match self {
            Transport::Process { kind, container } => {
                let argv = Self::process_argv(*kind, container, switch_user);
                let mut command = Command::new(&argv[0]);
                command
                    .args(&argv[1..])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .kill_on_drop(true);
                crate::sys::detach_session(&mut command);
                command.spawn().map_err(|source| SessionError::Spawn {
                    program: argv[0].clone(),
                    source,
                })?
            }
            Transport::Ssh(ssh) => ssh.open_shell(switch_user).await?,
        };
        let stdin = child.stdin.take().ok_or(SessionError::NoPipe("stdin"))?;
        let stdout = child.stdout.take().ok_or(SessionError::NoPipe("stdout"))?;
        let stderr = child.stderr.take().ok_or(SessionError::NoPipe("stderr"))?;
        Ok(ShellProcess {
            stdin: Box::new(stdin),
            stdout: ShellReader::new(stdout),
            stderr_tail: spawn_tail(stderr),
            guard: child,
        })
    }

    /// Runs a short script beside the session (to signal what the session runs), giving up
    /// after the settings' `control_timeout`.
    pub(crate) async fn control(
        &self,
        script: &str,
        settings: &SessionSettings,
    ) -> Result<String, SessionError> {
        let run = async {
            match self {
                Transport::Process { kind, container } => {
                    let argv = Self::process_argv(*kind, container, Some(script));
                    let mut command = Command::new(&argv[0]);
                    command
                        .args(&argv[1..])
                        .stdin(std::process::Stdio::null())
                        .kill_on_drop(true);
                    crate::sys::detach_session(&mut command);
                    let output = command.output().await?;
                    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
                }
                Transport::Ssh(ssh) => ssh.control(script).await,
            }
        };
        match tokio::time::timeout(settings.control_timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(SessionError::NoAnswer(settings.control_timeout)),
        }
    }

    pub(crate) async fn close(&self) {
        if let Transport::Ssh(ssh) = self {
            ssh.close().await;
        }
    }

    /// Forgets that the host could not be reached (see
    /// [`SessionSettings::one_connect_attempt`]): the next use tries again.
    pub(crate) fn forget_unreachable(&self) {
        if let Transport::Ssh(ssh) = self {
            ssh.forget_unreachable();
        }
    }

    /// Adds what a container's manager says when a shell could not be opened in it.
    pub(super) async fn explain_failure(
        &self,
        reason: SessionError,
        settings: &SessionSettings,
    ) -> SessionError {
        match self {
            Transport::Process { kind, container }
                if matches!(kind, TransportKind::Lxc | TransportKind::Docker)
                    && !self.is_present(settings).await =>
            {
                let start = if *kind == TransportKind::Lxc {
                    format!("lxc-start -n {container}")
                } else {
                    format!("docker start {container}")
                };
                SessionError::ContainerNotRunning {
                    container: container.clone(),
                    start,
                    reason: Box::new(reason),
                }
            }
            _ => reason,
        }
    }

    /// Whether the host is known to be there without sending anything over a network: this
    /// machine always is; a container when its manager (a local command) says it runs; an
    /// SSH host only once it has answered in this run. See [`super::Sessions::prewarm`].
    pub(super) async fn is_present(&self, settings: &SessionSettings) -> bool {
        let probe = |program: &str, args: Vec<String>, expected: &'static str| {
            let mut command = Command::new(program);
            command
                .args(args)
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true);
            let limit = settings.presence_probe;
            async move {
                let output = tokio::time::timeout(limit, command.output()).await;
                matches!(output, Ok(Ok(output)) if String::from_utf8_lossy(&output.stdout).trim() == expected)
            }
        };
        match self {
            Transport::Process {
                kind: TransportKind::Lxc,
                container,
            } => {
                probe(
                    "lxc-info",
                    vec!["-sH".into(), "-n".into(), container.clone()],
                    "RUNNING",
                )
                .await
            }
            Transport::Process {
                kind: TransportKind::Docker,
                container,
            } => {
                probe(
                    "docker",
                    vec![
                        "inspect".into(),
                        "-f".into(),
                        "{{.State.Status}}".into(),
                        container.clone(),
                    ],
                    "running",
                )
                .await
            }
            Transport::Process { .. } => true,
            Transport::Ssh(ssh) => ssh.has_answered(),
        }
    }
}

impl std::fmt::Debug for ShellProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShellProcess({:?})", self.guard)
    }
}
