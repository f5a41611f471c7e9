//! How runbook reaches one host: a local process (bash itself, `lxc-attach`, `docker exec`)
//! or a channel of an SSH master ([`super::ssh`]). A transport starts shells, runs short control
//! scripts beside them (to signal a timed-out block) and tells whether a host is known to be
//! there without network traffic.

use std::sync::{Arc, Mutex as StdMutex};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::background::Background;
use super::protocol;
use super::ssh;
use super::{SessionError, SessionSettings};
use crate::inventory::{Host, TransportKind};

/// A shell's stdout, read directly by whoever runs a block: a block's bytes go straight from
/// the pipe into its buffer, without a reader task and a hop through a channel.
///
/// Once [`ShellReader::follow_moves`] is called, it also follows the shell when the shell
/// moves its output to a new channel (a block left a process writing to the old one, see
/// [`protocol::LEFT_CHECK`]): it starts the relay that reads the new channel, reads on from
/// it, and hands the old one to a [`Background`] collector, as that block's background output.
pub(super) struct ShellReader {
    inner: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    /// The same pipe as `inner`, non-blocking, for [`ShellReader::spin`]; `None` where there
    /// is no such pipe (a stream in tests) or once the output moved to a relay.
    spin: Option<std::fs::File>,
    /// Polls in a row that ended with nothing (at most 6), and how many polls to skip because
    /// of them: on a busy machine, or for blocks that take longer than a poll, polling only
    /// takes a CPU from others.
    spin_misses: u32,
    spin_skips: u32,
    buffer: Vec<u8>,
    /// Bytes of `buffer` read but not handed out yet: `pending.0..pending.1`.
    pending: (usize, usize),
    /// The pending bytes may be the start of a move marker: read more before handing them out.
    partial: bool,
    mover: Option<Mover>,
    /// The relay that carries `inner`, once the shell has moved (dropping it ends it).
    carrier: Option<tokio::process::Child>,
    /// The bytes handed out last ended inside a marker that is not a move (its closing
    /// separator is still to come, and starts nothing).
    in_marker: bool,
    /// A move whose relay is starting.
    pending_move: Option<PendingMove>,
}

/// What a [`ShellReader`] needs to follow the shell to a new channel.
pub(super) struct Mover {
    pub(super) transport: Arc<Transport>,
    pub(super) switch_user: Option<String>,
    pub(super) nonce: String,
    /// How long a relay may take to start.
    pub(super) relay_start: std::time::Duration,
    /// How much of a block's background output is kept.
    pub(super) cap: usize,
    /// The moves seen and not yet handed out: the block's mark, its background output.
    pub(super) moves: Vec<(String, Background)>,
}

impl std::fmt::Debug for ShellReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShellReader")
    }
}

/// Where a move marker is in some bytes.
enum MoveMarker {
    None,
    /// Complete: it spans `start..end`, and names the block and the FIFO.
    At {
        start: usize,
        end: usize,
        block: String,
        path: String,
    },
    /// The bytes from `start` on may be the beginning of one.
    MaybeFrom(usize),
}

impl ShellReader {
    fn new(inner: impl tokio::io::AsyncRead + Send + Unpin + 'static) -> Self {
        ShellReader {
            inner: Box::new(inner),
            spin: None,
            spin_misses: 0,
            spin_skips: 0,
            buffer: vec![0u8; 64 * 1024],
            pending: (0, 0),
            partial: false,
            mover: None,
            carrier: None,
            in_marker: false,
            pending_move: None,
        }
    }

    /// A reader of a process's stdout pipe, which [`ShellReader::spin`] may poll.
    fn of_pipe(stdout: tokio::process::ChildStdout) -> Self {
        use std::os::fd::AsFd;
        let spin = Some(stdout.as_fd())
            .filter(|fd| crate::sys::is_nonblocking(*fd))
            .and_then(|fd| fd.try_clone_to_owned().ok())
            .map(std::fs::File::from);
        let mut reader = ShellReader::new(stdout);
        reader.spin = spin;
        reader
    }

    /// Polls the pipe for output for at most `budget` without sleeping, so that what comes
    /// meanwhile is in hand for the next [`ShellReader::read`] without a wake-up. Why: a
    /// gated batch's block is judged before the next one starts, and on a machine whose
    /// CPUs are virtual, waking a process that sleeps on another CPU costs tens of
    /// microseconds, twice a block (its output, then its end marker), about the time a block
    /// of builtins takes to run (issue 23, BENCHMARKS.md). Nothing happens when output is
    /// already held, a move is under way, or there is no pipe to poll. After a poll that
    /// found nothing, the next 2 are skipped, after two in a row the next 4, and so on up to
    /// 64; a poll that finds output starts the count again.
    pub(super) fn spin(&mut self, budget: std::time::Duration) {
        use std::io::Read;
        let Some(mut pipe) = self.spin.as_ref() else {
            return;
        };
        if self.spin_skips > 0 {
            self.spin_skips -= 1;
            return;
        }
        let (start, end) = self.pending;
        if self.pending_move.is_some() || (start < end && !self.partial) {
            return;
        }
        // As `read` does: what is held back first, then what comes.
        let held = end - start;
        self.buffer.copy_within(start..end, 0);
        self.pending = (0, held);
        let until = std::time::Instant::now() + budget;
        loop {
            match pipe.read(&mut self.buffer[held..]) {
                // The end of the stream is `read`'s to find.
                Ok(0) => return,
                Ok(count) => {
                    self.pending = (0, held + count);
                    self.partial = false;
                    self.spin_misses = 0;
                    return;
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
            if std::time::Instant::now() >= until {
                self.spin_misses = (self.spin_misses + 1).min(6);
                self.spin_skips = 1 << self.spin_misses;
                return;
            }
            std::hint::spin_loop();
        }
    }

    /// From now on, follows the shell when it moves its output (see [`ShellReader`]).
    pub(super) fn follow_moves(&mut self, mover: Mover) {
        self.mover = Some(mover);
    }

    /// The background output of the block marked `block`, if the shell moved away from it.
    pub(super) fn take_background(&mut self, block: &str) -> Option<Background> {
        let moves = &mut self.mover.as_mut()?.moves;
        let at = moves.iter().position(|(mark, _)| mark == block)?;
        Some(moves.remove(at).1)
    }

    /// What is available right now without waiting: `None` if nothing is. (A zero timeout
    /// would wait for the timer's next millisecond tick, on every block.) Used between
    /// blocks only, where what comes is dropped: a shell moves only at a block's end, which
    /// [`ShellReader::read`] reads.
    pub(super) fn try_read(&mut self) -> Option<Option<usize>> {
        if self.pending_move.is_some() {
            return None;
        }
        if self.pending.0 < self.pending.1 {
            let count = self.pending.1 - self.pending.0;
            self.pending = (0, 0);
            self.partial = false;
            return Some(Some(count));
        }
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let read = std::pin::pin!(self.inner.read(&mut self.buffer));
        match read.poll(&mut context) {
            std::task::Poll::Ready(Ok(0) | Err(_)) => Some(None),
            std::task::Poll::Ready(Ok(count)) => Some(Some(count)),
            std::task::Poll::Pending => None,
        }
    }

    /// Reads what is available; `None` at end of stream. Cancel-safe: what was read is kept
    /// in `pending` until handed out, and a move is finished before anything else is read.
    pub(super) async fn read(&mut self) -> Option<&[u8]> {
        loop {
            if self.pending_move.is_some() && !self.finish_move().await {
                return None;
            }
            let (start, end) = self.pending;
            if start < end && !self.partial {
                match self.find_move(start, end) {
                    MoveMarker::None => {
                        self.pending = (0, 0);
                        return Some(&self.buffer[start..end]);
                    }
                    MoveMarker::MaybeFrom(from) => {
                        self.partial = true;
                        self.pending = (from, end);
                        if from > start {
                            return Some(&self.buffer[start..from]);
                        }
                    }
                    MoveMarker::At { start: marker, .. } if marker > start => {
                        self.pending = (marker, end);
                        return Some(&self.buffer[start..marker]);
                    }
                    MoveMarker::At {
                        end: after,
                        block,
                        path,
                        ..
                    } => {
                        self.start_move(after, end, block, path);
                        continue;
                    }
                }
            }
            // Read more, after what is held back.
            let held = end - start;
            self.buffer.copy_within(start..end, 0);
            self.pending = (0, held);
            match self.inner.read(&mut self.buffer[held..]).await {
                Ok(0) | Err(_) if held == 0 => return None,
                Ok(0) | Err(_) => {
                    // The stream ended in what looked like the start of a marker: it was not.
                    self.partial = false;
                    self.pending = (0, 0);
                    return Some(&self.buffer[..held]);
                }
                Ok(count) => {
                    self.pending = (0, held + count);
                    self.partial = false;
                }
            }
        }
    }

    /// Looks for a move marker in `buffer[start..end]`.
    fn find_move(&mut self, start: usize, end: usize) -> MoveMarker {
        let Some(mover) = &self.mover else {
            return MoveMarker::None;
        };
        let bytes = &self.buffer[start..end];
        let head = format!(
            "{}{} {} ",
            protocol::SEPARATOR as char,
            mover.nonce,
            protocol::MOVE_WORD
        );
        let head = head.as_bytes();
        // Any marker of the session starts so (`SEPARATOR`, the nonce, a space).
        let opening = &head[..head.len() - protocol::MOVE_WORD.len() - 1];
        let mut from = 0;
        if self.in_marker {
            // The rest of a marker handed out in part: up to its closing separator.
            match bytes.iter().position(|&b| b == protocol::SEPARATOR) {
                Some(close) => from = close + 1,
                None => return MoveMarker::None,
            }
        }
        let mut in_marker = false;
        let found = loop {
            let Some(at) = bytes[from..].iter().position(|&b| b == protocol::SEPARATOR) else {
                break MoveMarker::None;
            };
            let at = from + at;
            let rest = &bytes[at..];
            if rest.starts_with(head) {
                let payload = &rest[head.len()..];
                let Some(close) = payload.iter().position(|&b| b == protocol::SEPARATOR) else {
                    break MoveMarker::MaybeFrom(start + at);
                };
                let words = String::from_utf8_lossy(&payload[..close]).into_owned();
                let (block, path) = words.split_once(' ').unwrap_or(("", &words));
                break MoveMarker::At {
                    start: start + at,
                    end: start + at + head.len() + close + 1,
                    block: block.to_string(),
                    path: path.to_string(),
                };
            }
            if head.starts_with(rest) {
                break MoveMarker::MaybeFrom(start + at);
            }
            if rest.starts_with(opening) {
                // Another marker (a block's end): its closing separator starts nothing.
                match rest[opening.len()..]
                    .iter()
                    .position(|&b| b == protocol::SEPARATOR)
                {
                    Some(close) => from = at + opening.len() + close + 1,
                    None => {
                        in_marker = true;
                        break MoveMarker::None;
                    }
                }
                continue;
            }
            from = at + 1;
        };
        self.in_marker = in_marker;
        found
    }

    /// The shell moved to the FIFO at `path` after block `block`: starts the relay that will
    /// read it, in a task of its own, and keeps what came on the old channel after the marker
    /// (`buffer[after..end]`), for [`ShellReader::finish_move`].
    fn start_move(&mut self, after: usize, end: usize, block: String, path: String) {
        let Some(mover) = self.mover.as_ref() else {
            return;
        };
        let relay = tokio::spawn(start_relay(
            Arc::clone(&mover.transport),
            mover.switch_user.clone(),
            mover.nonce.clone(),
            path,
            mover.relay_start,
        ));
        self.pending_move = Some(PendingMove {
            block,
            after_marker: self.buffer[after..end].to_vec(),
            relay,
        });
        self.pending = (0, 0);
        self.partial = false;
    }

    /// Waits for the relay [`ShellReader::start_move`] started, then reads on from it and
    /// hands the old channel to a background collector. Cancel-safe: the relay starts in a
    /// task of its own, so a read cancelled meanwhile (a block's timeout, a `pty` block's
    /// quiet timer) leaves it starting, and the next read waits for the same relay. `false`
    /// if no relay could be started: the shell's output is then out of reach, as if it had
    /// ended.
    async fn finish_move(&mut self) -> bool {
        let Some(pending) = self.pending_move.as_mut() else {
            return true;
        };
        let started = (&mut pending.relay).await;
        let Some(pending) = self.pending_move.take() else {
            return false;
        };
        let (Ok(Some((relay, first))), Some(mover)) = (started, self.mover.as_mut()) else {
            return false;
        };
        let old = std::mem::replace(&mut self.inner, relay.stdout.inner);
        self.spin = None;
        let old_carrier = self.carrier.replace(relay.guard);
        let background = Background::collect(old, &pending.after_marker, old_carrier, mover.cap);
        mover.moves.push((pending.block, background));
        self.buffer[..first.len()].copy_from_slice(&first);
        self.pending = (0, first.len());
        self.partial = false;
        true
    }
}

/// A move whose relay is starting (see [`ShellReader::start_move`]).
struct PendingMove {
    block: String,
    /// What came on the old channel after the move marker: the start of the block's
    /// background output.
    after_marker: Vec<u8>,
    relay: tokio::task::JoinHandle<Option<(ShellProcess, Vec<u8>)>>,
}

/// Starts a relay of the FIFO at `path` (see [`protocol::relay_command`]) as the session's
/// user, within `limit`: the relay's process, and what it printed after its ready marker
/// (the first of the shell's new output). Whatever a login shell prints before the marker is
/// not the shell's output.
async fn start_relay(
    transport: Arc<Transport>,
    switch_user: Option<String>,
    nonce: String,
    path: String,
    limit: std::time::Duration,
) -> Option<(ShellProcess, Vec<u8>)> {
    let relay = async {
        let mut process = transport.open_shell(switch_user.as_deref()).await.ok()?;
        let command = protocol::relay_command(&nonce, &path);
        process.stdin.write_all(command.as_bytes()).await.ok()?;
        process.stdin.flush().await.ok()?;
        let separator = protocol::SEPARATOR as char;
        let ready = format!("{separator}{nonce} relay{separator}");
        let mut seen = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let count = process.stdout.inner.read(&mut chunk).await.ok()?;
            if count == 0 {
                return None;
            }
            seen.extend_from_slice(&chunk[..count]);
            if let Some(at) = seen
                .windows(ready.len())
                .position(|window| window == ready.as_bytes())
            {
                let first = seen.split_off(at + ready.len());
                return Some((process, first));
            }
        }
    };
    tokio::time::timeout(limit, relay).await.ok().flatten()
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
                let mut command = crate::sys::command(&argv[0]);
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
            stdout: match self {
                Transport::Process { .. } => ShellReader::of_pipe(stdout),
                Transport::Ssh(_) => ShellReader::new(stdout),
            },
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
                    let mut command = crate::sys::command(&argv[0]);
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
            let mut command = crate::sys::command(program);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::AsyncWriteExt;

    /// A FIFO in a folder of its own under `folder`, as `__rb_move` makes one, and the shell's
    /// side of it: opened read and write, so that writing never waits for a reader.
    fn moved_output(folder: &tempfile::TempDir) -> (std::path::PathBuf, std::fs::File) {
        let fifo = folder.path().join("run").join("o");
        std::fs::create_dir(fifo.parent().expect("parent")).expect("made");
        let made = crate::sys::std_command("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let shell_side = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .expect("opened");
        (fifo, shell_side)
    }

    /// The reader of a child's stdout pipe, as a session's.
    fn child_output(script: &str) -> (tokio::process::Child, ShellReader) {
        let mut child = crate::sys::command("sh")
            .args(["-c", script])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("sh starts");
        let stdout = child.stdout.take().expect("piped");
        (child, ShellReader::of_pipe(stdout))
    }

    #[tokio::test]
    async fn spinning_hands_over_what_came_and_gives_up_at_its_budget() {
        use std::time::{Duration, Instant};
        // Output that comes within the budget is in hand at once, whole.
        let (_child, mut reader) = child_output("sleep 0.05; printf hello");
        assert!(reader.spin.is_some(), "a process's pipe can be polled");
        let started = Instant::now();
        reader.spin(Duration::from_secs(5));
        assert!(started.elapsed() < Duration::from_secs(4));
        let read = tokio::time::timeout(Duration::ZERO, reader.read()).await;
        assert_eq!(read.expect("held already").expect("output"), b"hello");
        // Nothing within the budget: back with nothing, after the budget.
        let (_child, mut reader) = child_output("sleep 5");
        let started = Instant::now();
        reader.spin(Duration::from_millis(30));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(reader.pending, (0, 0));
        // After a poll that found nothing, the next two are skipped.
        for _ in 0..2 {
            let started = Instant::now();
            reader.spin(Duration::from_millis(30));
            assert!(started.elapsed() < Duration::from_millis(30));
        }
        let started = Instant::now();
        reader.spin(Duration::from_millis(30));
        assert!(started.elapsed() >= Duration::from_millis(30));
        // The end of the stream is left to `read`.
        let (_child, mut reader) = child_output("exit 0");
        reader.spin(Duration::from_secs(5));
        assert!(reader.read().await.is_none());
    }

    /// A reader following moves of a shell whose nonce is `nonce`, on this machine.
    fn following(stream: tokio::io::DuplexStream, nonce: &str) -> ShellReader {
        let mut reader = ShellReader::new(stream);
        reader.follow_moves(Mover {
            transport: Arc::new(Transport::Process {
                kind: TransportKind::Local,
                container: String::new(),
            }),
            switch_user: None,
            nonce: nonce.to_string(),
            relay_start: std::time::Duration::from_secs(10),
            cap: 4096,
            moves: Vec::new(),
        });
        reader
    }

    /// The move marker cut at every byte, and a block's end marker cut at every byte before
    /// it: what comes before the move is read from the old channel, what comes after it on
    /// the old channel is the block's background output, and the reader goes on with the new
    /// channel (a FIFO, read through a relay, as a shell's would be); an end marker passes
    /// through whole, its closing separator not taken for the start of a move.
    #[tokio::test]
    async fn a_move_is_followed_wherever_the_reads_cut_it() {
        let nonce = "n0nce";
        let end = format!("\x1e{nonce} 0\x1e");
        let moved_at = |path: &str| format!("\x1e{nonce} move 7 {path}\x1e");
        let probe = moved_at("/x");
        for cut in 1..end.len() + probe.len() {
            let folder = tempfile::tempdir().expect("a folder");
            let (fifo, mut new_side) = moved_output(&folder);
            new_side.write_all(b"after the move\n").expect("written");
            let old_text = format!(
                "before{end}{}left behind\n",
                moved_at(&fifo.to_string_lossy())
            );
            let (mut old_side, stream) = tokio::io::duplex(4096);
            let mut reader = following(stream, nonce);
            let (first, second) = old_text.as_bytes().split_at(cut.min(old_text.len()));
            let (first, second) = (first.to_vec(), second.to_vec());
            let writer = tokio::spawn(async move {
                old_side.write_all(&first).await.expect("written");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                old_side.write_all(&second).await.expect("written");
                old_side
            });
            let mut seen = Vec::new();
            let wanted = format!("before{end}after the move\n");
            while seen.len() < wanted.len() {
                let data = tokio::time::timeout(std::time::Duration::from_secs(10), reader.read())
                    .await
                    .unwrap_or_else(|_| panic!("cut at {cut}: stuck after {seen:?}"))
                    .unwrap_or_else(|| panic!("cut at {cut}: ended after {seen:?}"));
                seen.extend_from_slice(data);
            }
            assert_eq!(String::from_utf8_lossy(&seen), wanted, "cut at {cut}");
            let old_side = writer.await.expect("the writer");
            drop(old_side);
            let background = reader.take_background("7").expect("the block's");
            background.wait_end(std::time::Duration::from_secs(5)).await;
            let snapshot = background.snapshot();
            assert_eq!(snapshot.output, b"left behind\n", "cut at {cut}");
            assert!(snapshot.ended);
            assert!(!fifo.exists(), "the relay removed the FIFO's folder");
            drop(new_side);
        }
    }

    /// A read cancelled while the relay starts (a block's timeout firing then) loses
    /// nothing: the next read waits for the same relay and goes on from it.
    #[tokio::test]
    async fn a_move_survives_reads_cancelled_while_its_relay_starts() {
        let nonce = "n0nce";
        let folder = tempfile::tempdir().expect("a folder");
        let (fifo, mut new_side) = moved_output(&folder);
        new_side.write_all(b"after the move\n").expect("written");
        let (mut old_side, stream) = tokio::io::duplex(4096);
        let mut reader = following(stream, nonce);
        let old_text = format!(
            "before\x1e{nonce} move 7 {}\x1eleft behind\n",
            fifo.to_string_lossy()
        );
        old_side
            .write_all(old_text.as_bytes())
            .await
            .expect("written");
        let mut seen = Vec::new();
        let mut limit = std::time::Duration::from_micros(100);
        let mut cancelled = 0;
        while seen.len() < "beforeafter the move\n".len() {
            match tokio::time::timeout(limit, reader.read()).await {
                Ok(data) => seen.extend_from_slice(data.expect("not ended")),
                Err(_) => {
                    cancelled += 1;
                    limit *= 2;
                }
            }
        }
        assert_eq!(seen, b"beforeafter the move\n");
        assert!(
            cancelled > 0,
            "the relay's start was cancelled at least once"
        );
        drop(old_side);
        let background = reader.take_background("7").expect("the block's");
        background.wait_end(std::time::Duration::from_secs(5)).await;
        assert_eq!(background.snapshot().output, b"left behind\n");
        drop(new_side);
    }

    /// An end marker whose closing separator comes alone, with nothing after it (the shell
    /// then waits for its next frame): handed out at once, not held back as the possible
    /// start of a move.
    #[tokio::test]
    async fn an_end_marker_s_lone_closing_separator_is_not_held_back() {
        let (mut shell_side, stream) = tokio::io::duplex(4096);
        let mut reader = following(stream, "n0nce");
        let mut seen = Vec::new();
        shell_side
            .write_all(b"out\x1en0nce 0")
            .await
            .expect("written");
        seen.extend_from_slice(reader.read().await.expect("read"));
        shell_side.write_all(b"\x1e").await.expect("written");
        let closing = tokio::time::timeout(std::time::Duration::from_secs(2), reader.read())
            .await
            .expect("handed out without more output")
            .expect("read");
        seen.extend_from_slice(closing);
        assert_eq!(seen, b"out\x1en0nce 0\x1e");
    }
}
