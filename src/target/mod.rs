//! Where commands run: one persistent shell per (host, user), opened lazily over the host's
//! transport (the local machine, `lxc-attach`, `docker exec` or SSH) and spoken to with the
//! [`protocol`]. A session runs one block at a time and reports what happened as data
//! ([`Execution`]); timeouts, interrupts and lost hosts are outcomes, not errors.

pub mod protocol;
pub mod ssh;

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::Command;
use tokio::sync::{Mutex, watch};

use crate::inventory::{Host, Inventory, TransportKind};
use protocol::{Marker, OutputBuffer};

/// Timing and size limits of sessions.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// How long a host may take to give a working shell.
    pub connect_timeout: Duration,
    /// Between TERM and KILL when a block times out.
    pub grace: Duration,
    /// Output kept per block (the tail).
    pub output_cap: usize,
    /// Where SSH control sockets live (short, for the socket path limit).
    pub control_dir: std::path::PathBuf,
    /// How long a control script (signalling a timed-out block) may take before the host is
    /// deemed not to answer.
    pub control_timeout: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            connect_timeout: Duration::from_secs(20),
            grace: Duration::from_secs(3),
            output_cap: 1 << 20,
            control_dir: std::env::temp_dir()
                .join(format!("runbook-ssh-{}", crate::sys::current_user())),
            control_timeout: Duration::from_secs(5),
        }
    }
}

/// How a block's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The block finished and the shell reported its exit status.
    Completed,
    TimedOut,
    Interrupted,
    /// The shell went away during the block (`exit` in the block, a lost connection).
    Lost(String),
}

/// What running one block produced.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The output (stdout and stderr interleaved), the last `output_cap` bytes of it.
    pub output: Vec<u8>,
    pub truncated: bool,
    pub total_bytes: u64,
    /// When each newline of `output` arrived, in milliseconds from the block's start.
    pub newline_times: Vec<u32>,
    pub exit_code: Option<i32>,
    pub duration: Duration,
    pub ending: Ending,
}

/// A request to stop, shared by everything running: set by SIGINT/SIGTERM.
#[derive(Debug, Clone)]
pub struct Cancel {
    receiver: watch::Receiver<Option<i32>>,
}

impl Cancel {
    pub fn new() -> (watch::Sender<Option<i32>>, Cancel) {
        let (sender, receiver) = watch::channel(None);
        (sender, Cancel { receiver })
    }

    /// The signal that asked to stop, if any.
    pub fn requested(&self) -> Option<i32> {
        *self.receiver.borrow()
    }

    pub async fn wait(&mut self) {
        let _ = self.receiver.wait_for(Option::is_some).await;
    }
}

/// A shell's stdout, read directly by whoever runs a block: a block's bytes go straight from
/// the pipe into its buffer, without a reader task and a hop through a channel.
struct ShellReader {
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
    fn try_read(&mut self) -> Option<Option<usize>> {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let read = std::pin::pin!(self.inner.read(&mut self.buffer));
        match read.poll(&mut context) {
            std::task::Poll::Ready(Ok(0) | Err(_)) => Some(None),
            std::task::Poll::Ready(Ok(count)) => Some(Some(count)),
            std::task::Poll::Pending => None,
        }
    }

    /// Reads what is available; `None` at end of stream. Cancel-safe (tokio's `read` is).
    async fn read(&mut self) -> Option<&[u8]> {
        match self.inner.read(&mut self.buffer).await {
            Ok(0) | Err(_) => None,
            Ok(count) => Some(&self.buffer[..count]),
        }
    }
}

/// A running shell process, before the protocol starts.
pub struct ShellProcess {
    stdin: Box<dyn AsyncWrite + Send + Unpin>,
    stdout: ShellReader,
    stderr_tail: Arc<StdMutex<Vec<u8>>>,
    /// The local process carrying the shell (bash, lxc-attach, docker or an ssh channel);
    /// dropping it kills it.
    guard: tokio::process::Child,
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
pub enum Transport {
    /// A process on this machine: bash itself, `lxc-attach` or `docker exec`.
    Process {
        kind: TransportKind,
        container: String,
    },
    Ssh(ssh::SshTransport),
}

const CONTAINER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Transport {
    pub fn for_host(host: &Host, settings: &SessionSettings) -> Self {
        match host.transport {
            TransportKind::Ssh => Transport::Ssh(ssh::SshTransport::new(host.clone(), settings)),
            kind => Transport::Process {
                kind,
                container: host.container.clone(),
            },
        }
    }

    /// The user a shell runs as without switching.
    pub fn login_user(&self) -> String {
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
    async fn open_shell(&self, switch_user: Option<&str>) -> Result<ShellProcess, String> {
        match self {
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
                let mut child = command
                    .spawn()
                    .map_err(|error| format!("cannot start `{}`: {error}", argv[0]))?;
                let stdin = child.stdin.take().ok_or("no stdin pipe")?;
                let stdout = child.stdout.take().ok_or("no stdout pipe")?;
                let stderr = child.stderr.take().ok_or("no stderr pipe")?;
                Ok(ShellProcess {
                    stdin: Box::new(stdin),
                    stdout: ShellReader::new(stdout),
                    stderr_tail: spawn_tail(stderr),
                    guard: child,
                })
            }
            Transport::Ssh(ssh) => {
                let mut child = ssh.open_shell(switch_user).await?;
                let stdin = child.stdin.take().ok_or("no stdin pipe")?;
                let stdout = child.stdout.take().ok_or("no stdout pipe")?;
                let stderr = child.stderr.take().ok_or("no stderr pipe")?;
                Ok(ShellProcess {
                    stdin: Box::new(stdin),
                    stdout: ShellReader::new(stdout),
                    stderr_tail: spawn_tail(stderr),
                    guard: child,
                })
            }
        }
    }

    /// Runs a short script beside the session (to signal what the session runs).
    pub async fn control(&self, script: &str, limit: Duration) -> Result<String, String> {
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
                    let output = command.output().await.map_err(|error| error.to_string())?;
                    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
                }
                Transport::Ssh(ssh) => ssh.control(script).await,
            }
        };
        match tokio::time::timeout(limit, run).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {}s", limit.as_secs())),
        }
    }

    pub async fn close(&self) {
        if let Transport::Ssh(ssh) = self {
            ssh.close().await;
        }
    }

    /// Adds what a container's manager says when a shell could not be opened in it.
    async fn explain_failure(&self, reason: String) -> String {
        match self {
            Transport::Process { kind, container }
                if matches!(kind, TransportKind::Lxc | TransportKind::Docker)
                    && !self.is_present().await =>
            {
                let start = if *kind == TransportKind::Lxc {
                    format!("lxc-start -n {container}")
                } else {
                    format!("docker start {container}")
                };
                format!(
                    "the container `{container}` is not running (start it with `{start}`, or check runbook_container): {reason}"
                )
            }
            _ => reason,
        }
    }

    /// Whether the host is known to be there without sending anything over a network: this
    /// machine always is; a container when its manager (a local command) says it runs; an
    /// SSH host only once it has answered in this run. See [`Sessions::prewarm`].
    async fn is_present(&self) -> bool {
        let probe = |program: &str, args: Vec<String>, expected: &'static str| {
            let mut command = Command::new(program);
            command
                .args(args)
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true);
            async move {
                let output = tokio::time::timeout(Duration::from_secs(5), command.output()).await;
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

/// One persistent shell on one host as one user.
pub struct Session {
    /// `None` once closed: dropping the pipe is what gives the shell its EOF.
    stdin: Option<Box<dyn AsyncWrite + Send + Unpin>>,
    stdout: ShellReader,
    guard: Option<tokio::process::Child>,
    transport: Arc<Transport>,
    nonce: String,
    pid: u32,
    sid: u32,
    alive: bool,
    control_timeout: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session(pid {}, alive {})", self.pid, self.alive)
    }
}

impl std::fmt::Debug for ShellProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShellProcess({:?})", self.guard)
    }
}

impl Session {
    /// Opens the shell and waits for it to announce itself.
    pub async fn start(
        transport: Arc<Transport>,
        switch_user: Option<&str>,
        settings: &SessionSettings,
    ) -> Result<Session, String> {
        let mut process = transport.open_shell(switch_user).await?;
        let nonce = protocol::rand_nonce::nonce();
        let bootstrap = protocol::bootstrap(&nonce);
        let sent = process.stdin.write_all(bootstrap.as_bytes()).await;
        let _ = process.stdin.flush().await;
        let mut buffer = OutputBuffer::new(&nonce, 64 * 1024);
        let deadline = tokio::time::Instant::now() + settings.connect_timeout;
        let describe_exit = |process: &ShellProcess, what: &str| {
            let tail = process
                .stderr_tail
                .lock()
                .map(|tail| tail.clone())
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&tail).trim().to_string();
            if text.is_empty() {
                what.to_string()
            } else {
                format!("{what}: {text}")
            }
        };
        if sent.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Err(describe_exit(&process, "the shell exited at once"));
        }
        loop {
            let ready = match tokio::time::timeout_at(deadline, process.stdout.read()).await {
                Ok(Some(data)) => buffer.push(data),
                Ok(None) => {
                    // Give stderr's reader a moment to collect the reason.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let printed = String::from_utf8_lossy(&buffer.finish().output)
                        .trim()
                        .to_string();
                    let mut reason =
                        describe_exit(&process, "the shell exited before it was ready");
                    if !printed.is_empty() {
                        reason = format!("{reason}: {printed}");
                    }
                    return Err(reason);
                }
                Err(_) => {
                    let waited = settings.connect_timeout.as_secs();
                    return Err(describe_exit(
                        &process,
                        &format!("no shell within {waited}s"),
                    ));
                }
            };
            if let Some((Marker::Ready { pid, sid, .. }, _)) = ready {
                return Ok(Session {
                    stdin: Some(process.stdin),
                    stdout: process.stdout,
                    guard: Some(process.guard),
                    transport,
                    nonce,
                    pid,
                    sid,
                    alive: true,
                    control_timeout: settings.control_timeout,
                });
            }
        }
    }

    /// Whether the shell is still there. Anything it printed between blocks (a background job
    /// finishing) is not the next block's output and is dropped; an end of stream means the
    /// shell is gone.
    pub fn is_alive(&mut self) -> bool {
        while self.alive {
            match self.stdout.try_read() {
                Some(Some(_)) => {}
                Some(None) => self.alive = false,
                None => break,
            }
        }
        self.alive
    }

    /// Runs one script and reports how it went.
    pub async fn run(
        &mut self,
        script: &str,
        timeout: Duration,
        settings: &SessionSettings,
        cancel: &Cancel,
    ) -> Execution {
        let started = Instant::now();
        let mut buffer = OutputBuffer::new(&self.nonce, settings.output_cap);
        let frame = protocol::frame(script);
        let Some(stdin) = self.stdin.as_mut() else {
            self.alive = false;
            return finish(
                buffer,
                None,
                started,
                Ending::Lost("the session was closed".into()),
            );
        };
        let written = match stdin.write_all(frame.as_bytes()).await {
            Ok(()) => stdin.flush().await,
            Err(error) => Err(error),
        };
        if let Err(error) = written {
            self.alive = false;
            return finish(
                buffer,
                None,
                started,
                Ending::Lost(format!("cannot write to the shell: {error}")),
            );
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut cancel = cancel.clone();
        /// How the wait for the end marker ended.
        enum Wait {
            Done(i32),
            Closed,
            Stop(Ending),
        }
        let waited = loop {
            tokio::select! {
                data = self.stdout.read() => match data {
                    Some(data) => {
                        if let Some((Marker::Done(code), _)) = buffer.push(data) {
                            break Wait::Done(code);
                        }
                    }
                    None => break Wait::Closed,
                },
                _ = tokio::time::sleep_until(deadline) => break Wait::Stop(Ending::TimedOut),
                _ = cancel.wait() => break Wait::Stop(Ending::Interrupted),
            }
        };
        let ending = match waited {
            Wait::Done(code) => return finish(buffer, Some(code), started, Ending::Completed),
            Wait::Closed => {
                self.alive = false;
                let code = self.exit_status().await;
                let lost = Ending::Lost("the shell ended during the block".into());
                return finish(buffer, code, started, lost);
            }
            Wait::Stop(ending) => ending,
        };
        let code = self.abort(&mut buffer, settings).await;
        finish(buffer, code, started, ending)
    }

    /// Stops the running block: TERM to its process groups, a grace period, then KILL; if the
    /// shell still does not answer, the session is ended and will be replaced.
    async fn abort(
        &mut self,
        buffer: &mut OutputBuffer,
        settings: &SessionSettings,
    ) -> Option<i32> {
        for (signal, wait) in [("TERM", settings.grace), ("KILL", Duration::from_secs(2))] {
            let script = protocol::kill_script(self.pid, self.sid, signal);
            if self
                .transport
                .control(&script, settings.control_timeout)
                .await
                .is_err()
            {
                // The host does not answer (frozen, unplugged): asking it again to end the
                // session would only wait as long once more. Drop the local side; the next
                // block on this host opens a new session once it answers.
                self.alive = false;
                self.stdin = None;
                self.guard = None;
                return None;
            }
            let until = tokio::time::Instant::now() + wait;
            loop {
                match tokio::time::timeout_at(until, self.stdout.read()).await {
                    Ok(Some(data)) => {
                        if let Some((Marker::Done(code), _)) = buffer.push(data) {
                            self.settle().await;
                            return Some(code);
                        }
                    }
                    Ok(None) => {
                        self.alive = false;
                        return None;
                    }
                    Err(_) => break,
                }
            }
        }
        self.end(true).await;
        None
    }

    /// Lets the shell report the jobs that were just killed, out of the next block's output
    /// (see [`protocol::settle`]). A shell that does not answer is ended.
    async fn settle(&mut self) {
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        let line = protocol::settle(&self.nonce);
        if stdin.write_all(line.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
            self.alive = false;
            return;
        }
        let mut discard = OutputBuffer::new(&self.nonce, 4096);
        let until = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            match tokio::time::timeout_at(until, self.stdout.read()).await {
                Ok(Some(data)) => {
                    if discard.push(data).is_some() {
                        return;
                    }
                }
                Ok(None) => {
                    self.alive = false;
                    return;
                }
                Err(_) => {
                    self.end(true).await;
                    return;
                }
            }
        }
    }

    /// The exit status of the local process once the shell has gone (for ssh, lxc-attach and
    /// docker exec, the remote shell's status).
    async fn exit_status(&mut self) -> Option<i32> {
        let child = self.guard.as_mut()?;
        let status = tokio::time::timeout(Duration::from_secs(2), child.wait())
            .await
            .ok()?
            .ok()?;
        status.code()
    }

    /// Ends the session. `force`: kill everything it started; otherwise close its stdin and
    /// let it exit, as closing a terminal would.
    pub async fn end(&mut self, force: bool) {
        self.alive = false;
        if force {
            let script = protocol::end_session_script(self.pid, self.sid);
            let _ = self.transport.control(&script, self.control_timeout).await;
        } else {
            self.stdin = None;
            if let Some(child) = self.guard.as_mut() {
                let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            }
        }
        // Dropping the guard kills the local side (bash, lxc-attach, docker or the ssh client).
        self.guard = None;
    }
}

fn finish(
    buffer: OutputBuffer,
    exit_code: Option<i32>,
    started: Instant,
    ending: Ending,
) -> Execution {
    let captured = buffer.finish();
    Execution {
        output: captured.output,
        truncated: captured.truncated,
        total_bytes: captured.total_bytes,
        newline_times: captured.newline_times,
        exit_code,
        duration: started.elapsed(),
        ending,
    }
}

type SessionKey = (String, String);

/// All sessions of a run, opened on first use.
#[derive(Debug)]
pub struct Sessions {
    inventory: Arc<Inventory>,
    pub settings: SessionSettings,
    transports: StdMutex<HashMap<String, Arc<Transport>>>,
    sessions: StdMutex<HashMap<SessionKey, Arc<Mutex<Option<Session>>>>>,
}

/// A session in use by one block; others wanting the same (host, user) wait.
pub type SessionLock = tokio::sync::OwnedMutexGuard<Option<Session>>;

impl Sessions {
    pub fn new(inventory: Arc<Inventory>, settings: SessionSettings) -> Self {
        Sessions {
            inventory,
            settings,
            transports: StdMutex::new(HashMap::new()),
            sessions: StdMutex::new(HashMap::new()),
        }
    }

    fn transport(&self, host: &str) -> Result<Arc<Transport>, String> {
        let found = self
            .inventory
            .host(host)
            .ok_or_else(|| format!("unknown host `{host}`"))?;
        let mut transports = self
            .transports
            .lock()
            .map_err(|_| "session table poisoned")?;
        Ok(Arc::clone(
            transports
                .entry(host.to_string())
                .or_insert_with(|| Arc::new(Transport::for_host(found, &self.settings))),
        ))
    }

    /// The user a block runs as on `host` when it names none.
    pub fn default_user(&self, host: &str) -> Result<String, String> {
        Ok(self.transport(host)?.login_user())
    }

    /// A live session for (`host`, `user`), opening one if needed.
    pub async fn acquire(&self, host: &str, user: Option<&str>) -> Result<SessionLock, String> {
        let transport = self.transport(host)?;
        let login = transport.login_user();
        let user = user.unwrap_or(&login).to_string();
        let slot = {
            let mut sessions = self.sessions.lock().map_err(|_| "session table poisoned")?;
            Arc::clone(
                sessions
                    .entry((host.to_string(), user.clone()))
                    .or_default(),
            )
        };
        let mut lock = slot.lock_owned().await;
        let healthy = lock.as_mut().is_some_and(Session::is_alive);
        if !healthy {
            let switch = if user == login {
                None
            } else {
                let template = self
                    .inventory
                    .host(host)
                    .map_or(crate::inventory::DEFAULT_BECOME, |h| {
                        h.become_command.as_str()
                    });
                Some(template.replace("{user}", &protocol::shell_quote(&user)))
            };
            let session =
                match Session::start(Arc::clone(&transport), switch.as_deref(), &self.settings)
                    .await
                {
                    Ok(session) => session,
                    Err(reason) => return Err(transport.explain_failure(reason).await),
                };
            *lock = Some(session);
        }
        Ok(lock)
    }

    /// Opens in the background the sessions that the coming blocks will use, so that a
    /// chapter touching several hosts does not pay their set-ups one after the other.
    ///
    /// Design: a session is otherwise opened lazily, by the first block that needs it, which
    /// is what guarantees that runbook never contacts a host before the blocks that create it
    /// (a course's lab chapter) have run. Pre-opening must keep that guarantee, so it only
    /// touches hosts known to exist without any network traffic: the local machine, a
    /// container that its manager (`lxc-info`, `docker inspect`, local commands) reports
    /// running, and an SSH host that has already answered in this run (then only a new channel
    /// on its master is opened, or the master is re-opened after the host was lost). An SSH
    /// host's first contact therefore stays lazy; a block on several hosts still connects to
    /// them concurrently. A pre-opening that fails is forgotten: the block that needs the
    /// session tries again and reports the error itself.
    pub fn prewarm(self: &Arc<Self>, pairs: Vec<(String, Option<String>)>) {
        for (host, user) in pairs {
            let sessions = Arc::clone(self);
            tokio::spawn(async move {
                let Ok(transport) = sessions.transport(&host) else {
                    return;
                };
                let login = transport.login_user();
                let user = user.unwrap_or(login);
                let open = sessions
                    .sessions
                    .lock()
                    .ok()
                    .and_then(|table| table.get(&(host.clone(), user.clone())).cloned());
                if let Some(slot) = open {
                    // Busy: a block is using (or opening) it right now.
                    let Ok(mut lock) = slot.try_lock() else {
                        return;
                    };
                    if lock.as_mut().is_some_and(Session::is_alive) {
                        return;
                    }
                }
                if transport.is_present().await {
                    let _ = sessions.acquire(&host, Some(&user)).await;
                }
            });
        }
    }

    /// Ends every session and SSH master. `force` kills what the sessions still run.
    pub async fn shutdown(&self, force: bool) {
        let slots: Vec<_> = match self.sessions.lock() {
            Ok(sessions) => sessions.values().cloned().collect(),
            Err(_) => Vec::new(),
        };
        let endings = slots.into_iter().map(|slot| async move {
            let mut lock = slot.lock().await;
            if let Some(mut session) = lock.take() {
                session.end(force).await;
            }
        });
        futures_join_all(endings).await;
        let transports: Vec<_> = match self.transports.lock() {
            Ok(transports) => transports.values().cloned().collect(),
            Err(_) => Vec::new(),
        };
        for transport in transports {
            transport.close().await;
        }
    }
}

/// Runs futures concurrently and waits for all (a small join_all without another crate).
pub async fn futures_join_all<F: Future + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        if let Ok(result) = handle.await {
            results.push(result);
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> (Sessions, Cancel, watch::Sender<Option<i32>>) {
        let settings = SessionSettings {
            grace: Duration::from_millis(500),
            ..SessionSettings::default()
        };
        let (sender, cancel) = Cancel::new();
        (
            Sessions::new(Arc::new(Inventory::local_only()), settings),
            cancel,
            sender,
        )
    }

    async fn run(
        sessions: &Sessions,
        cancel: &Cancel,
        script: &str,
        timeout: Duration,
    ) -> Execution {
        let mut lock = sessions
            .acquire("localhost", None)
            .await
            .expect("a session");
        let session = lock.as_mut().expect("started");
        session
            .run(script, timeout, &sessions.settings, cancel)
            .await
    }

    #[tokio::test]
    async fn state_persists_between_blocks() {
        let (sessions, cancel, _sender) = local();
        let second = Duration::from_secs(5);
        let first = run(
            &sessions,
            &cancel,
            "cd /tmp\nexport RB_TEST=kept\ngreet() { echo \"hi $1\"; }\n",
            second,
        )
        .await;
        assert_eq!(first.ending, Ending::Completed);
        let next = run(
            &sessions,
            &cancel,
            "pwd; echo $RB_TEST; greet you; echo \"[$1]\"\n",
            second,
        )
        .await;
        assert_eq!(
            String::from_utf8_lossy(&next.output),
            "/tmp\nkept\nhi you\n[]\n"
        );
        sessions.shutdown(true).await;
    }

    /// Regression: blocks ran inside a function, so `declare` made locals that vanished at the
    /// end of the block (the Patroni lab's `declare -A lab_address=(...)` was lost).
    #[tokio::test]
    async fn declared_variables_persist_like_at_a_prompt() {
        let (sessions, cancel, _sender) = local();
        let second = Duration::from_secs(5);
        let first = run(
            &sessions,
            &cancel,
            "declare -A address=([e1]=10.0.3.101)\ndeclare -i count=41\nreadonly RB_FIXED=yes\n",
            second,
        )
        .await;
        assert_eq!(first.ending, Ending::Completed);
        let next = run(
            &sessions,
            &cancel,
            "count+=1\necho \"${address[e1]} $count $RB_FIXED\"\n",
            second,
        )
        .await;
        assert_eq!(String::from_utf8_lossy(&next.output), "10.0.3.101 42 yes\n");
        sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn exit_status_stderr_and_stdin() {
        let (sessions, cancel, _sender) = local();
        let execution = run(
            &sessions,
            &cancel,
            "echo out; echo err >&2; cat; printf 'no newline'; false\n",
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(execution.exit_code, Some(1));
        assert_eq!(
            String::from_utf8_lossy(&execution.output),
            "out\nerr\nno newline"
        );
        sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn timeout_kills_the_command_and_keeps_the_shell() {
        let (sessions, cancel, _sender) = local();
        run(&sessions, &cancel, "cd /tmp\n", Duration::from_secs(5)).await;
        let started = Instant::now();
        let execution = run(
            &sessions,
            &cancel,
            "echo before; sleep 30; echo after\n",
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(execution.ending, Ending::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        let output = String::from_utf8_lossy(&execution.output);
        assert!(output.starts_with("before\n"), "{output}");
        assert!(
            !output.contains("after"),
            "the rest of the block is abandoned: {output}"
        );
        let next = run(&sessions, &cancel, "pwd\n", Duration::from_secs(5)).await;
        assert_eq!(
            String::from_utf8_lossy(&next.output),
            "/tmp\n",
            "same shell, same directory"
        );
        sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn jobs_killed_by_a_timeout_are_not_reported_in_the_next_block() {
        let (sessions, cancel, _sender) = local();
        let execution = run(
            &sessions,
            &cancel,
            "sleep 300 & wait\n",
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(execution.ending, Ending::TimedOut);
        let next = run(
            &sessions,
            &cancel,
            "sleep 0.1; echo next\n",
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(String::from_utf8_lossy(&next.output), "next\n");
        sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn timeout_stops_a_builtin_loop() {
        let (sessions, cancel, _sender) = local();
        let execution = run(
            &sessions,
            &cancel,
            "while :; do :; done\n",
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(execution.ending, Ending::TimedOut);
        let next = run(&sessions, &cancel, "echo alive\n", Duration::from_secs(5)).await;
        assert_eq!(String::from_utf8_lossy(&next.output), "alive\n");
        sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn exit_in_a_block_ends_the_session_and_the_next_block_gets_a_new_one() {
        let (sessions, cancel, _sender) = local();
        run(&sessions, &cancel, "cd /tmp\n", Duration::from_secs(5)).await;
        let execution = run(
            &sessions,
            &cancel,
            "echo bye; exit 3\n",
            Duration::from_secs(5),
        )
        .await;
        assert!(matches!(execution.ending, Ending::Lost(_)));
        assert_eq!(execution.exit_code, Some(3));
        assert_eq!(String::from_utf8_lossy(&execution.output), "bye\n");
        let next = run(&sessions, &cancel, "echo again\n", Duration::from_secs(5)).await;
        assert_eq!(String::from_utf8_lossy(&next.output), "again\n");
        sessions.shutdown(true).await;
    }
}
