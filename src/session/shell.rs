//! One persistent shell on one host as one user, spoken to with the [`super::protocol`]: it
//! runs one block at a time and reports what happened as data ([`Execution`]); timeouts,
//! interrupts and lost hosts are outcomes, not errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::background::Background;
use super::error::ShellFailure;
use super::frame_file::FrameFile;
use super::protocol::{self, Marker, OutputBuffer};
use super::transport::{Mover, ShellProcess, ShellReader, Transport};
use super::{Cancel, SessionError, SessionSettings};

/// How a block's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The block finished and the shell reported its exit status.
    Completed,
    TimedOut,
    Interrupted,
    /// The shell went away during the block (`exit` in the block, a lost connection).
    Lost(Lost),
    /// The block was in a batch and had just started when an earlier block of the batch timed
    /// out: stopped with it (see [`Session::next_in_batch`]).
    CutShort,
}

/// How the shell went away during a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Lost {
    #[error("the session was closed")]
    Closed,
    #[error("cannot write to the shell: {0}")]
    CannotWrite(String),
    #[error("the shell ended during the block")]
    ShellEnded,
}

/// The answers of a `pty` block: shown the line the program is printing (what follows the
/// last newline, since the last answer), it says what to type, if that line is the question
/// it waits for.
pub trait Answers: Send {
    fn answer_for(&mut self, line: &[u8]) -> Option<String>;

    /// Asked when the program has printed nothing for a moment with `line` unfinished (it
    /// waits for input there): what to type, for a transcript that prints its answers after
    /// their questions, as a course does (`Candidate ['pg2', 'pg3'] []: pg2`).
    fn answer_when_quiet(&mut self, _line: &[u8]) -> Option<String> {
        None
    }

    /// Asked first when the program has printed nothing for a moment with `line`
    /// unfinished: the answer to a marked question (`<<answer>>`) that `answer_for` held
    /// back, waiting for the rest of its prompt (a trailing blank) that never came.
    fn marked_answer_when_quiet(&mut self, _line: &[u8]) -> Option<String> {
        None
    }
}

/// An answer typed into a `pty` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typed {
    /// Where in the output it was typed: bytes from the start of the output (dropped
    /// ones included).
    pub at: u64,
    pub answer: String,
    /// Found after its question in the transcript's line (no `<<answer>>` marking): the
    /// transcript shows it as printed, not marked.
    pub inline: bool,
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
    /// The answers typed, in order (a `pty` block).
    pub typed: Vec<Typed>,
    /// What the processes the block left running printed after it ended, if they wrote to
    /// the session's output (the shell moved away from them, see [`protocol::LEFT_CHECK`]).
    pub background: Option<Background>,
}

/// What a frame runs: a shell script, or SQL typed into the session's psql.
#[derive(Debug, Clone, Copy)]
enum Script<'a> {
    Shell(&'a str),
    Sql {
        sql: &'a str,
        psql_args: &'a [String],
    },
}

/// One persistent shell on one host as one user.
pub struct Session {
    /// `None` once closed: dropping the pipe is what gives the shell its EOF.
    stdin: Option<Box<dyn AsyncWrite + Send + Unpin>>,
    stdout: ShellReader,
    guard: Option<tokio::process::Child>,
    transport: Arc<Transport>,
    settings: Arc<SessionSettings>,
    nonce: String,
    /// The value of [`protocol::SESSION_MARK`] in every process this session starts.
    mark: String,
    /// A cram test's session: its `TMPDIR`, which cram writes as `$TMPDIR` in output.
    cram_tmpdir: Option<String>,
    /// Blocks run so far: the next block's [`protocol::BLOCK_MARK`].
    blocks_run: u64,
    /// The shell function that feeds psql is defined (see [`protocol::sql_frame`]).
    sql_defined: bool,
    /// Where a local shell reads its frames, if it can (see [`FrameFile`]).
    frame_file: Option<FrameFile>,
    pid: u32,
    sid: u32,
    alive: bool,
    /// A block that may start a process was sent (and the session moved into its cgroup, if it
    /// has one): until then the end-of-run sweep has nothing to look for.
    may_have_started: bool,
}

/// Whether a block's background processes may outlive the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Leave {
    /// Ended at the end of the run, and reported as leftovers.
    #[default]
    Nothing,
    /// `keep-running`: the block starts a service the course means to leave running.
    Running,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session(pid {}, alive {})", self.pid, self.alive)
    }
}

/// One block of a batch: its script, and whether what it starts may outlive the run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchBlock<'a> {
    pub(crate) script: &'a str,
    pub(crate) leave: Leave,
}

/// A batch sent to the shell as one frame (see [`protocol::batch_text`]), whose blocks'
/// executions are read back one at a time, in order, by [`Session::next_in_batch`].
#[derive(Debug)]
pub(crate) struct Batch {
    /// Each block's mark (see [`protocol::BLOCK_MARK`]), in order.
    labels: Vec<String>,
    /// Blocks whose executions were handed out.
    taken: usize,
    /// Output read past the last end marker: the start of the next block's.
    carry: Vec<u8>,
    /// Executions read ahead: the blocks that ended while an earlier one was being stopped.
    ready: std::collections::VecDeque<Execution>,
    /// The shell runs none of the blocks not yet handed out (and not in `ready`).
    over: bool,
    /// The shell waits for [`Session::go_on`] before each block but the first (a run that
    /// stops at the first failure; see [`protocol::GO`]).
    gated: bool,
}

impl Batch {
    /// Whether [`Session::next_in_batch`] has another block's execution to give.
    pub(crate) fn goes_on(&self) -> bool {
        !self.ready.is_empty() || (!self.over && self.taken < self.labels.len())
    }
}

/// How long a gated batch polls its shell's output before it sleeps (see
/// `ShellReader::spin`): longer than a block of builtins takes (40 to 70 µs here), short
/// enough that a block running a program, which takes a millisecond or more, loses little
/// CPU to it.
const GATED_SPIN: Duration = Duration::from_micros(100);

/// Whether polling pays: only with a second CPU, where the shell runs meanwhile. On one CPU
/// the polling would keep the shell from running at all until its time is up.
fn spinning_pays() -> bool {
    static PAYS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PAYS.get_or_init(|| std::thread::available_parallelism().is_ok_and(|cpus| cpus.get() >= 2))
}

/// What a shell that failed to start printed on its stderr (the last few KiB).
fn stderr_words(process: &ShellProcess) -> String {
    let tail = process
        .stderr_tail
        .lock()
        .map(|tail| tail.clone())
        .unwrap_or_default();
    String::from_utf8_lossy(&tail).trim().to_string()
}

/// `first: second`, either part left out when empty.
fn joined(first: String, second: String) -> String {
    match (first.is_empty(), second.is_empty()) {
        (_, true) => first,
        (true, false) => second,
        (false, false) => format!("{first}: {second}"),
    }
}

impl Session {
    /// Opens the shell and waits for it to announce itself.
    pub(crate) async fn start(
        transport: Arc<Transport>,
        switch_user: Option<&str>,
        settings: Arc<SessionSettings>,
        cram: Option<&crate::chapter::cram::CramTest>,
    ) -> Result<Session, SessionError> {
        let mut process = transport.open_shell(switch_user).await?;
        let nonce = protocol::rand_nonce::nonce();
        // Not the nonce: the mark is visible to every process (`env` prints it), and the
        // nonce should stay out of a block's output.
        let mark = protocol::rand_nonce::nonce();
        // A cram test's folder: named by runbook, so that its path can be told in the output.
        // Its path holds both runners' names (`cramtests-*`, `prysk-tests`): cram's and
        // prysk's own tests check where they run with `*/cramtests*/env.t (glob)` and
        // `*/prysk-tests*/env.t (glob)`, and a test file written for either passes.
        let cram_root = cram.map(|_| {
            std::env::temp_dir()
                .join(format!("cramtests-{}", &mark[..mark.len().min(12)]))
                .join("prysk-tests")
                .to_string_lossy()
                .into_owned()
        });
        let cram_setup = cram
            .zip(cram_root.as_deref())
            .map(|(test, root)| protocol::cram_setup(test, root));
        // Only a shell on this machine as runbook's own user can read runbook's file.
        let frame_file = match (&*transport, switch_user) {
            (
                Transport::Process {
                    kind: crate::inventory::TransportKind::Local,
                    ..
                },
                None,
            ) => FrameFile::create(),
            _ => None,
        };
        let bootstrap = protocol::bootstrap(
            &nonce,
            &mark,
            settings.contain,
            &settings.env,
            cram_setup.as_deref(),
            frame_file.as_ref().map(FrameFile::path),
        );
        let sent = process.stdin.write_all(bootstrap.as_bytes()).await;
        let _ = process.stdin.flush().await;
        let mut buffer = OutputBuffer::new(&nonce, 64 * 1024);
        let deadline = crate::deadline::tokio_in(settings.shell_start);
        if sent.is_err() {
            tokio::time::sleep(settings.failure_words).await;
            return Err(SessionError::NoShell {
                failure: ShellFailure::ExitedAtOnce,
                said: stderr_words(&process),
            });
        }
        loop {
            let ready = match tokio::time::timeout_at(deadline, process.stdout.read()).await {
                Ok(Some(data)) => buffer.push(data),
                Ok(None) => {
                    // Give stderr's reader a moment to collect the reason.
                    tokio::time::sleep(settings.failure_words).await;
                    let printed = String::from_utf8_lossy(&buffer.finish().output)
                        .trim()
                        .to_string();
                    return Err(SessionError::NoShell {
                        failure: ShellFailure::ExitedBeforeReady,
                        said: joined(stderr_words(&process), printed),
                    });
                }
                Err(_) => {
                    return Err(SessionError::NoShell {
                        failure: ShellFailure::NotWithin(settings.shell_start),
                        said: stderr_words(&process),
                    });
                }
            };
            if let Some((Marker::Ready { pid, sid, file, .. }, _)) = ready {
                process.stdout.follow_moves(Mover {
                    transport: Arc::clone(&transport),
                    switch_user: switch_user.map(str::to_string),
                    nonce: nonce.clone(),
                    relay_start: settings.shell_start,
                    cap: settings.output_cap,
                    moves: Vec::new(),
                });
                return Ok(Session {
                    stdin: Some(process.stdin),
                    stdout: process.stdout,
                    guard: Some(process.guard),
                    transport,
                    settings,
                    nonce,
                    mark,
                    cram_tmpdir: cram_root.map(|root| format!("{root}/tmp")),
                    blocks_run: 0,
                    sql_defined: false,
                    frame_file: frame_file.filter(|_| file),
                    pid,
                    sid,
                    alive: true,
                    may_have_started: false,
                });
            }
        }
    }

    /// A cram test's `TMPDIR` (see [`protocol::cram_setup`]); `None` for any other session.
    pub(crate) fn cram_tmpdir(&self) -> Option<&str> {
        self.cram_tmpdir.as_deref()
    }

    /// Whether the shell is still there. Anything it printed between blocks (a background job
    /// finishing) is not the next block's output and is dropped; an end of stream means the
    /// shell is gone.
    pub(crate) fn is_alive(&mut self) -> bool {
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
    pub async fn run(&mut self, script: &str, timeout: Duration, cancel: &Cancel) -> Execution {
        self.run_leaving(script, timeout, cancel, Leave::Nothing)
            .await
    }

    /// Runs one script; `leave` says whether what it starts in the background may outlive
    /// the run. A block that times out or is interrupted has everything it started ended,
    /// `setsid` grandchildren included (see [`protocol::SESSION_MARK`]).
    pub async fn run_leaving(
        &mut self,
        script: &str,
        timeout: Duration,
        cancel: &Cancel,
        leave: Leave,
    ) -> Execution {
        self.run_block(Script::Shell(script), timeout, cancel, leave, None)
            .await
    }

    /// Types one block of SQL into the session's psql, started with `psql_args` if none is
    /// running (see [`protocol::sql_frame`]). The exit status is 0 when no statement failed,
    /// 1 when one did, or psql's own when psql ended during the block. After a timeout or
    /// an interrupt, psql is ended: the next block starts a new one, without the old one's
    /// `\c`, settings or transaction.
    pub async fn run_sql(
        &mut self,
        sql: &str,
        psql_args: &[String],
        timeout: Duration,
        cancel: &Cancel,
    ) -> Execution {
        self.run_block(
            Script::Sql { sql, psql_args },
            timeout,
            cancel,
            Leave::Nothing,
            None,
        )
        .await
    }

    /// Runs one script under a pseudo-terminal, typing `answers` when their questions come;
    /// `leave` as for [`Session::run_leaving`].
    pub async fn run_pty(
        &mut self,
        script: &str,
        timeout: Duration,
        cancel: &Cancel,
        leave: Leave,
        answers: &mut dyn Answers,
    ) -> Execution {
        self.run_block(Script::Shell(script), timeout, cancel, leave, Some(answers))
            .await
    }

    /// One block: numbered for the process mark, run, and after a timeout or an interrupt,
    /// whatever it started and left behind ended.
    async fn run_block(
        &mut self,
        script: Script<'_>,
        timeout: Duration,
        cancel: &Cancel,
        leave: Leave,
        answers: Option<&mut dyn Answers>,
    ) -> Execution {
        self.blocks_run += 1;
        let block = match leave {
            Leave::Nothing => self.blocks_run.to_string(),
            Leave::Running => format!("{}.keep", self.blocks_run),
        };
        let mut execution = self
            .run_frame(script, &block, timeout, cancel, answers)
            .await;
        execution.background = self.stdout.take_background(&block);
        if matches!(execution.ending, Ending::TimedOut | Ending::Interrupted) && self.alive {
            // The process groups are gone; what left them (setsid, a double fork) is not.
            let sweep = protocol::sweep_script(&self.mark, Some(&block), self.settings.grace);
            // Its outcome changes nothing: the block's own is already decided.
            let _ = Box::pin(self.run_frame(
                Script::Shell(&sweep),
                protocol::SWEEP_BLOCK,
                self.settings.control_timeout + self.settings.grace * protocol::SWEEP_TERM_ROUNDS,
                &Cancel::never(),
                None,
            ))
            .await;
        }
        execution
    }

    /// Sends `blocks` to the shell as one frame; [`Session::next_in_batch`] then reads each
    /// one's execution in turn. Each block gets the mark it would get sent on its own: the
    /// numbers are only counted as the blocks are read, so that blocks the shell never ran
    /// (the batch was left) get the same numbers when they are sent again.
    ///
    /// A `gated` batch has the shell wait before each block but the first until runbook says
    /// it may run ([`Session::go_on`]) or that the batch stops there
    /// ([`Session::stop_batch`]): runbook judges each block before the next one starts, as
    /// when each is sent on its own, for the cost of one byte instead of a frame.
    pub(crate) async fn send_batch(&mut self, blocks: &[BatchBlock<'_>], gated: bool) -> Batch {
        let labels: Vec<String> = blocks
            .iter()
            .zip(self.blocks_run + 1..)
            .map(|(block, number)| match block.leave {
                Leave::Nothing => number.to_string(),
                Leave::Running => format!("{number}.keep"),
            })
            .collect();
        let mut batch = Batch {
            labels,
            taken: 0,
            carry: Vec::new(),
            ready: std::collections::VecDeque::new(),
            over: false,
            gated,
        };
        let pairs: Vec<(&str, &str, bool)> = blocks
            .iter()
            .zip(&batch.labels)
            .map(|(block, label)| {
                let check = protocol::may_leave_processes(block.script);
                (block.script, label.as_str(), check)
            })
            .collect();
        // Written whole to the frame file when there is one: a batch is long, and bash reads
        // its stdin one byte at a time.
        let in_file = self.frame_file.as_ref().and_then(|file| {
            let text = protocol::batch_text(&pairs, gated, true);
            let content = text.file.as_deref().unwrap_or_default();
            file.write(content.as_bytes()).ok().map(|()| text.line)
        });
        let mut frame = in_file.unwrap_or_else(|| protocol::batch_text(&pairs, gated, false).line);
        if pairs.iter().any(|(_, _, check)| *check) {
            frame.insert_str(0, &self.before_processes());
        }
        let started = Instant::now();
        let lost = match self.stdin.as_mut() {
            None => Some(Lost::Closed),
            Some(stdin) => match stdin.write_all(frame.as_bytes()).await {
                Ok(()) => stdin.flush().await.err(),
                Err(error) => Some(error),
            }
            .map(|error| Lost::CannotWrite(error.to_string())),
        };
        if let Some(lost) = lost {
            // The first block fails as a block sent on its own would; the others are sent
            // again, to a new shell.
            self.alive = false;
            batch.over = true;
            let buffer = OutputBuffer::new(&self.nonce, self.settings.output_cap);
            let execution = finish(buffer, None, started, Ending::Lost(lost), Vec::new());
            batch.ready.push_back(execution);
        }
        batch
    }

    /// Whether a gated batch's shell waits before a block it may still run: it ended the last
    /// block handed out, and neither left the batch nor ran its last block.
    fn waits_at_gate(batch: &Batch) -> bool {
        batch.gated
            && batch.ready.is_empty()
            && !batch.over
            && batch.taken > 0
            && batch.taken < batch.labels.len()
    }

    /// Lets a gated batch's shell run its next block (see [`Session::send_batch`]). A shell
    /// that cannot be written to is lost: the next block fails as one sent on its own would.
    pub(crate) async fn go_on(&mut self, batch: &mut Batch) {
        if !Self::waits_at_gate(batch) {
            return;
        }
        let started = Instant::now();
        let lost = match self.stdin.as_mut() {
            None => Some(Lost::Closed),
            Some(stdin) => match stdin.write_all(protocol::GO).await {
                Ok(()) => stdin.flush().await.err(),
                Err(error) => Some(error),
            }
            .map(|error| Lost::CannotWrite(error.to_string())),
        };
        if let Some(lost) = lost {
            self.alive = false;
            batch.over = true;
            let buffer = OutputBuffer::new(&self.nonce, self.settings.output_cap);
            let execution = finish(buffer, None, started, Ending::Lost(lost), Vec::new());
            batch.ready.push_back(execution);
        }
    }

    /// Has a gated batch's shell stop before its next block, and reads the batch's end marker,
    /// so that the shell reads frames again; the blocks not run are the caller's to skip or
    /// send again. Nothing to do for a batch the shell already left or ran to its end. A shell
    /// that does not answer within the control timeout is ended (the next block gets a new
    /// one).
    pub(crate) async fn stop_batch(&mut self, batch: &mut Batch) {
        if !Self::waits_at_gate(batch) {
            return;
        }
        batch.over = true;
        let written = match self.stdin.as_mut() {
            None => false,
            Some(stdin) => {
                stdin.write_all(protocol::STOP).await.is_ok() && stdin.flush().await.is_ok()
            }
        };
        if !written {
            self.alive = false;
            return;
        }
        let mut discard = OutputBuffer::new(&self.nonce, 4096);
        let mut pending = std::mem::take(&mut batch.carry);
        let until = crate::deadline::tokio_in(self.settings.control_timeout);
        loop {
            if !pending.is_empty() {
                match discard.push(&pending) {
                    Some((Marker::BatchEnd { .. }, _)) => return,
                    Some((_, rest)) => {
                        pending = rest;
                        continue;
                    }
                    None => pending.clear(),
                }
            }
            match tokio::time::timeout_at(until, self.stdout.read()).await {
                Ok(Some(data)) => pending = data.to_vec(),
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

    /// The execution of the batch's next block, read up to its end marker, with `timeout`
    /// counted from now (the previous block's end); `None` when the shell will run no more of
    /// the batch (it was left after a timeout, an interrupt, a lost shell): the caller sends
    /// the blocks left again, or skips them. A timeout or an interrupt stops the block as
    /// [`Session::run`] does and leaves the rest of the batch; blocks that the shell ran to
    /// their end meanwhile (the block finished just as its time was up) are handed out as
    /// they ran, and one it had just started is [`Ending::CutShort`].
    pub(crate) async fn next_in_batch(
        &mut self,
        batch: &mut Batch,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Option<Execution> {
        let mut execution = self.next_in_batch_run(batch, timeout, cancel).await?;
        // The block just handed out is the `taken`th of the batch.
        if let Some(label) = batch.taken.checked_sub(1).and_then(|i| batch.labels.get(i)) {
            execution.background = self.stdout.take_background(label);
        }
        Some(execution)
    }

    /// [`Session::next_in_batch`], but for the block's background output.
    async fn next_in_batch_run(
        &mut self,
        batch: &mut Batch,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Option<Execution> {
        if let Some(execution) = batch.ready.pop_front() {
            self.blocks_run += 1;
            batch.taken += 1;
            return Some(execution);
        }
        if batch.over || batch.taken >= batch.labels.len() {
            return None;
        }
        let index = batch.taken;
        self.blocks_run += 1;
        batch.taken += 1;
        let last = index + 1 == batch.labels.len();
        let started = Instant::now();
        let mut buffer = OutputBuffer::new(&self.nonce, self.settings.output_cap);
        let mut pending = std::mem::take(&mut batch.carry);
        let deadline = crate::deadline::tokio_in(timeout);
        let mut cancel = cancel.clone();
        // The last block's own end marker comes just before the batch's.
        let mut last_code = None;
        enum Wait {
            Done(i32),
            Closed,
            Stop(Ending),
        }
        let spin = batch.gated && spinning_pays();
        let waited = loop {
            let data = if pending.is_empty() {
                if spin {
                    self.stdout.spin(GATED_SPIN);
                }
                tokio::select! {
                    data = self.stdout.read() => match data {
                        Some(data) => data.to_vec(),
                        None => break Wait::Closed,
                    },
                    _ = tokio::time::sleep_until(deadline) => break Wait::Stop(Ending::TimedOut),
                    _ = cancel.wait() => break Wait::Stop(Ending::Interrupted),
                }
            } else {
                std::mem::take(&mut pending)
            };
            match buffer.push(&data) {
                Some((Marker::Done(code), rest)) if last => {
                    last_code = Some(code);
                    pending = rest;
                }
                Some((Marker::Done(code), rest)) => {
                    batch.carry = rest;
                    break Wait::Done(code);
                }
                Some((Marker::BatchEnd { code, .. }, _)) => {
                    // Left early (`break 2` in the block) or run to its end.
                    batch.over = true;
                    break Wait::Done(last_code.unwrap_or(code));
                }
                Some(_) | None => {}
            }
        };
        let ending = match waited {
            Wait::Done(code) => {
                return Some(finish(
                    buffer,
                    Some(code),
                    started,
                    Ending::Completed,
                    Vec::new(),
                ));
            }
            Wait::Closed => {
                self.alive = false;
                batch.over = true;
                let code = self.exit_status().await;
                let ending = Ending::Lost(Lost::ShellEnded);
                return Some(finish(buffer, code, started, ending, Vec::new()));
            }
            Wait::Stop(ending) => ending,
        };
        batch.over = true;
        let (code, cut) = self.abort_batch(&mut buffer, batch, index).await;
        let execution = finish(buffer, code.or(last_code), started, ending, Vec::new());
        if self.alive {
            // As after a block sent on its own: what left the process groups is ended.
            for label in std::iter::once(index)
                .chain(cut)
                .map(|i| batch.labels[i].clone())
            {
                let sweep = protocol::sweep_script(&self.mark, Some(&label), self.settings.grace);
                let _ = Box::pin(self.run_frame(
                    Script::Shell(&sweep),
                    protocol::SWEEP_BLOCK,
                    self.settings.control_timeout
                        + self.settings.grace * protocol::SWEEP_TERM_ROUNDS,
                    &Cancel::never(),
                    None,
                ))
                .await;
            }
        }
        Some(execution)
    }

    /// Stops the batch's block `index` as [`Session::abort`] stops a block, and reads the
    /// shell's output up to the batch's end marker: the block's exit status, if it came, and
    /// the blocks after it that ended meanwhile (put in `batch.ready`); the index of one the
    /// batch left after it started, if any.
    async fn abort_batch(
        &mut self,
        buffer: &mut OutputBuffer,
        batch: &mut Batch,
        index: usize,
    ) -> (Option<i32>, Option<usize>) {
        let settings = Arc::clone(&self.settings);
        let mut code = None;
        // The block being read: `index`, then each one after it that the shell went on to.
        let mut current = index;
        let mut later: Option<(OutputBuffer, Instant)> = None;
        for (signal, wait) in [("TERM", settings.grace), ("KILL", settings.after_kill)] {
            let script = protocol::kill_script(self.pid, self.sid, signal);
            if self.transport.control(&script, &settings).await.is_err() {
                self.drop_local_side();
                return (code, None);
            }
            let until = crate::deadline::tokio_in(wait);
            loop {
                let mut data = match tokio::time::timeout_at(until, self.stdout.read()).await {
                    Ok(Some(data)) => data.to_vec(),
                    Ok(None) => {
                        self.alive = false;
                        return (code, None);
                    }
                    Err(_) => break,
                };
                loop {
                    let target = match later.as_mut() {
                        Some((buffer, _)) => buffer,
                        None => &mut *buffer,
                    };
                    let found = target.push(&data);
                    match found {
                        Some((Marker::Done(status), rest)) => {
                            if let Some((done, started)) = later.take() {
                                let ending = Ending::Completed;
                                let execution =
                                    finish(done, Some(status), started, ending, Vec::new());
                                batch.ready.push_back(execution);
                            } else {
                                code = Some(status);
                            }
                            current += 1;
                            if current < batch.labels.len() {
                                later = Some((
                                    OutputBuffer::new(&self.nonce, settings.output_cap),
                                    Instant::now(),
                                ));
                            }
                            data = rest;
                        }
                        Some((
                            Marker::BatchEnd {
                                code: status,
                                started,
                            },
                            _,
                        )) => {
                            let mut cut = None;
                            match later.take() {
                                Some((left, at)) if started > current => {
                                    let execution = finish(
                                        left,
                                        Some(status),
                                        at,
                                        Ending::CutShort,
                                        Vec::new(),
                                    );
                                    batch.ready.push_back(execution);
                                    cut = Some(current);
                                }
                                Some(_) => {}
                                None => code = code.or(Some(status)),
                            }
                            self.settle().await;
                            return (code, cut);
                        }
                        Some(_) | None => break,
                    }
                    if data.is_empty() {
                        break;
                    }
                }
            }
        }
        self.end(true).await;
        (code, None)
    }

    /// What to send before a block that may start a process: the first time, the call that
    /// moves the session into its cgroup (if it gets one, see [`protocol::bootstrap`]).
    fn before_processes(&mut self) -> String {
        if std::mem::replace(&mut self.may_have_started, true) || !self.settings.contain {
            return String::new();
        }
        protocol::contain_line()
    }

    /// Ends what the session's blocks left running (all but `keep-running` blocks'), and
    /// says what that was: (pid, command line). Run inside the session, as its user, so that
    /// a session as another user (`become`) ends its own processes. A session whose blocks
    /// could start no process (builtins only, see [`protocol::may_leave_processes`]) is not
    /// looked at: there is nothing to find, and the look costs a few processes and, in a
    /// cgroup, two moves of 8 ms each.
    pub(crate) async fn sweep_leftovers(&mut self) -> Vec<(u32, String)> {
        if !self.is_alive() || !self.may_have_started {
            return Vec::new();
        }
        let sweep = protocol::sweep_script(&self.mark, None, self.settings.grace);
        let swept = self
            .run_frame(
                Script::Shell(&sweep),
                protocol::SWEEP_BLOCK,
                self.settings.control_timeout + self.settings.grace * protocol::SWEEP_TERM_ROUNDS,
                &Cancel::never(),
                None,
            )
            .await;
        protocol::parse_sweep(&swept.output)
    }

    async fn run_frame(
        &mut self,
        script: Script<'_>,
        block: &str,
        timeout: Duration,
        cancel: &Cancel,
        mut answers: Option<&mut dyn Answers>,
    ) -> Execution {
        let started = Instant::now();
        let mut buffer = OutputBuffer::new(&self.nonce, self.settings.output_cap);
        let mut typed = Vec::new();
        // The sweep ends what blocks left (or leaves `keep-running` ones): nothing to move for.
        let check = block != protocol::SWEEP_BLOCK
            && matches!(script, Script::Shell(script) if protocol::may_leave_processes(script));
        let frame = match (script, &answers, &self.frame_file) {
            (Script::Shell(script), Some(_), _) => protocol::pty_frame(script, block, &self.nonce),
            // SQL is typed into psql by the shell function; its frame is short.
            (Script::Sql { sql, psql_args }, _, _) => {
                let define = !std::mem::replace(&mut self.sql_defined, true);
                protocol::sql_frame(sql, psql_args, block, &self.nonce, define)
            }
            // A short frame costs no more on stdin; a file that cannot be written (a full
            // disk) leaves the frame to stdin too.
            (Script::Shell(script), None, Some(file))
                if script.len() >= FrameFile::SMALLEST
                    && file
                        .write(protocol::frame_assignments(script, block).as_bytes())
                        .is_ok() =>
            {
                protocol::frame_file_line(check).to_string()
            }
            (Script::Shell(script), None, _) => protocol::frame(script, block, check),
        };
        let typed_into_psql = matches!(script, Script::Sql { .. });
        // A pty block and psql are processes; the sweep ends what blocks left, and needs no
        // cgroup of its own to do it.
        let frame = if check || answers.is_some() || typed_into_psql {
            self.before_processes() + &frame
        } else {
            frame
        };
        let Some(stdin) = self.stdin.as_mut() else {
            self.alive = false;
            return finish(buffer, None, started, Ending::Lost(Lost::Closed), typed);
        };
        let written = match stdin.write_all(frame.as_bytes()).await {
            Ok(()) => stdin.flush().await,
            Err(error) => Err(error),
        };
        if let Err(error) = written {
            self.alive = false;
            let lost = Lost::CannotWrite(error.to_string());
            return finish(buffer, None, started, Ending::Lost(lost), typed);
        }
        let deadline = crate::deadline::tokio_in(timeout);
        let mut cancel = cancel.clone();
        /// How the wait for the end marker ended.
        enum Wait {
            Done(i32),
            Closed,
            Stop(Ending),
        }
        // Where the current question may start: after the last answer typed.
        let mut asked_from = 0;
        // When the program will have been quiet long enough on an unfinished line to be
        // asked for an answer printed inline in the transcript.
        let mut quiet_at: Option<tokio::time::Instant> = None;
        let waited = loop {
            let mut to_write = None;
            let quiet_deadline = quiet_at.unwrap_or(deadline);
            tokio::select! {
                data = self.stdout.read() => match data {
                    Some(data) => match buffer.push(data) {
                        Some((Marker::Done(code), _)) => break Wait::Done(code),
                        Some((Marker::PtyEnded, rest)) => {
                            to_write = Some(protocol::pty_end_line(&self.nonce));
                            if let Some((Marker::Done(code), _)) = buffer.push(&rest) {
                                break Wait::Done(code);
                            }
                        }
                        Some(_) => {}
                        None => {
                            quiet_at = None;
                            if let Some(answers) = answers.as_mut() {
                                let line = buffer.current_line(asked_from);
                                if let Some(answer) = answers.answer_for(line) {
                                    asked_from = buffer.position();
                                    to_write = Some(self.type_answer(asked_from, answer, false, &mut typed));
                                } else if !line.is_empty() {
                                    quiet_at = Some(
                                        tokio::time::Instant::now()
                                            + self.settings.quiet_before_answer,
                                    );
                                }
                            }
                        }
                    },
                    None => break Wait::Closed,
                },
                _ = tokio::time::sleep_until(quiet_deadline), if quiet_at.is_some() => {
                    quiet_at = None;
                    if let Some(answers) = answers.as_mut() {
                        let line = buffer.current_line(asked_from);
                        if let Some(answer) = answers.marked_answer_when_quiet(line) {
                            asked_from = buffer.position();
                            to_write =
                                Some(self.type_answer(asked_from, answer, false, &mut typed));
                        } else if let Some(answer) = answers.answer_when_quiet(line) {
                            asked_from = buffer.position();
                            to_write = Some(self.type_answer(asked_from, answer, true, &mut typed));
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break Wait::Stop(Ending::TimedOut),
                _ = cancel.wait() => break Wait::Stop(Ending::Interrupted),
            }
            if let Some(line) = to_write
                && let Some(stdin) = self.stdin.as_mut()
            {
                // A shell that cannot be written to is noticed when its output ends.
                if stdin.write_all(line.as_bytes()).await.is_ok() {
                    let _ = stdin.flush().await;
                }
            }
        };
        let ending = match waited {
            Wait::Done(code) => {
                return finish(buffer, Some(code), started, Ending::Completed, typed);
            }
            Wait::Closed => {
                self.alive = false;
                let code = self.exit_status().await;
                return finish(buffer, code, started, Ending::Lost(Lost::ShellEnded), typed);
            }
            Wait::Stop(ending) => ending,
        };
        let code = if typed_into_psql {
            self.abort_psql(&mut buffer).await
        } else {
            self.abort(&mut buffer).await
        };
        finish(buffer, code, started, ending, typed)
    }

    /// The line that types `answer` into the running `pty` program, noted in `typed` as
    /// typed at byte `at` of the output (`inline`: found after its question in the
    /// transcript's line, not marked).
    fn type_answer(&self, at: u64, answer: String, inline: bool, typed: &mut Vec<Typed>) -> String {
        let line = protocol::typed_line(&self.nonce, &answer);
        typed.push(Typed { at, answer, inline });
        line
    }

    /// Forgets a session whose host does not answer a control script (frozen, unplugged):
    /// asking it again to end the session would only wait as long once more. The local side
    /// goes (dropping the guard kills it); the next block on this host opens a new session
    /// once it answers.
    fn drop_local_side(&mut self) {
        self.alive = false;
        self.stdin = None;
        self.guard = None;
    }

    /// Stops the running block: TERM to its process groups, a grace period, then KILL; if the
    /// shell still does not answer, the session is ended and will be replaced.
    async fn abort(&mut self, buffer: &mut OutputBuffer) -> Option<i32> {
        let settings = Arc::clone(&self.settings);
        for (signal, wait) in [("TERM", settings.grace), ("KILL", settings.after_kill)] {
            let script = protocol::kill_script(self.pid, self.sid, signal);
            if self.transport.control(&script, &settings).await.is_err() {
                self.drop_local_side();
                return None;
            }
            let until = crate::deadline::tokio_in(wait);
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

    /// Stops a SQL block as a trainee's Ctrl-C does: INT to psql, which asks the server to
    /// cancel the running statement (killing psql alone would leave the statement running in
    /// the server, a load for the rest of the run), then ends, as psql does on Ctrl-C when it
    /// reads a script (status 3); the subshell around it prints the end marker. If that has
    /// not come within `--grace`, psql is killed (with the subshell, the only process group
    /// of the session but the shell's) and the shell is asked for a marker so that the next
    /// block starts clean. Either way the next block starts a new psql.
    async fn abort_psql(&mut self, buffer: &mut OutputBuffer) -> Option<i32> {
        let settings = Arc::clone(&self.settings);
        let interrupt = protocol::kill_script(self.pid, self.sid, "INT");
        if self.transport.control(&interrupt, &settings).await.is_err() {
            self.drop_local_side();
            return None;
        }
        let until = crate::deadline::tokio_in(settings.grace);
        loop {
            match tokio::time::timeout_at(until, self.stdout.read()).await {
                Ok(Some(data)) => {
                    if let Some((Marker::Done(code), _)) = buffer.push(data) {
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
        let kill = protocol::kill_script(self.pid, self.sid, "KILL");
        if self.transport.control(&kill, &settings).await.is_err() {
            self.drop_local_side();
            return None;
        }
        self.settle().await;
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
        let until = crate::deadline::tokio_in(self.settings.settle);
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
        let status = tokio::time::timeout(self.settings.shell_exit, child.wait())
            .await
            .ok()?
            .ok()?;
        status.code()
    }

    /// Ends the session. `force`: kill everything it started; otherwise close its stdin and
    /// let it exit, as closing a terminal would.
    pub(crate) async fn end(&mut self, force: bool) {
        self.alive = false;
        if force {
            let script = protocol::end_session_script(self.pid, self.sid, &self.mark);
            let _ = self.transport.control(&script, &self.settings).await;
        } else {
            self.stdin = None;
            if let Some(child) = self.guard.as_mut() {
                let _ = tokio::time::timeout(self.settings.shell_exit, child.wait()).await;
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
    typed: Vec<Typed>,
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
        typed,
        background: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;
    use crate::session::Sessions;
    use tokio::sync::watch;

    /// A local session with a short grace period, and the stop request it listens to.
    struct Local {
        sessions: Sessions,
        cancel: Cancel,
        _sender: watch::Sender<Option<i32>>,
    }

    impl Local {
        fn new() -> Self {
            let settings = SessionSettings {
                grace: Duration::from_millis(500),
                ..SessionSettings::default()
            };
            let (sender, cancel) = Cancel::new();
            Local {
                sessions: Sessions::new(Arc::new(Inventory::local_only()), settings),
                cancel,
                _sender: sender,
            }
        }

        async fn run(&self, script: &str, timeout: Duration) -> Execution {
            let mut lock = self
                .sessions
                .acquire("localhost", None)
                .await
                .expect("a session");
            let session = lock.as_mut().expect("started");
            session.run(script, timeout, &self.cancel).await
        }
    }

    /// Answers questions in order: each is the end of the line that asks it.
    struct InOrder(Vec<(&'static str, &'static str)>);

    impl Answers for InOrder {
        fn answer_for(&mut self, line: &[u8]) -> Option<String> {
            let (question, answer) = *self.0.first()?;
            if !String::from_utf8_lossy(line).ends_with(question) {
                return None;
            }
            self.0.remove(0);
            Some(answer.to_string())
        }
    }

    impl Local {
        async fn run_pty(&self, script: &str, answers: &mut dyn Answers) -> Execution {
            let mut lock = self
                .sessions
                .acquire("localhost", None)
                .await
                .expect("a session");
            let session = lock.as_mut().expect("started");
            session
                .run_pty(
                    script,
                    Duration::from_secs(10),
                    &self.cancel,
                    Leave::Nothing,
                    answers,
                )
                .await
        }
    }

    #[tokio::test]
    async fn a_pty_block_is_answered_and_keeps_the_session_state() {
        let shell = Local::new();
        let second = Duration::from_secs(5);
        shell
            .run(
                "cd /tmp\nlocal_only=here\ngreet() { echo \"hi $1\"; }\n",
                second,
            )
            .await;
        let mut answers = InOrder(vec![("Name: ", "bob"), ("Secret: ", "s3cret")]);
        let execution = shell
            .run_pty(
                "tty >/dev/null && echo terminal; stty size; echo \"$TERM $PWD $local_only\"; greet x\n\
                 read -p 'Name: ' name; read -s -p 'Secret: ' secret; echo; echo \"$name ${#secret}\"\n\
                 cd /; after=set\n",
                &mut answers,
            )
            .await;
        assert_eq!(execution.ending, Ending::Completed);
        assert_eq!(
            text(&execution),
            "terminal\n40 120\nxterm /tmp here\nhi x\nName: bob\nSecret: \nbob 6\n"
        );
        assert_eq!(execution.typed.len(), 2);
        let next = shell.run("echo \"$PWD $after $name\"\n", second).await;
        assert_eq!(text(&next), "/ set bob\n");
        shell.sessions.shutdown(true).await;
    }

    /// What an execution printed, as text.
    fn text(execution: &Execution) -> String {
        String::from_utf8_lossy(&execution.output).into_owned()
    }

    #[tokio::test]
    async fn state_persists_between_blocks() {
        let shell = Local::new();
        let second = Duration::from_secs(5);
        let first = shell
            .run(
                "cd /tmp\nexport RB_TEST=kept\ngreet() { echo \"hi $1\"; }\n",
                second,
            )
            .await;
        assert_eq!(first.ending, Ending::Completed);
        let next = shell
            .run("pwd; echo $RB_TEST; greet you; echo \"[$1]\"\n", second)
            .await;
        assert_eq!(text(&next), "/tmp\nkept\nhi you\n[]\n");
        shell.sessions.shutdown(true).await;
    }

    /// Regression: blocks ran inside a function, so `declare` made locals that vanished at the
    /// end of the block (the Patroni lab's `declare -A lab_address=(...)` was lost).
    #[tokio::test]
    async fn declared_variables_persist_like_at_a_prompt() {
        let shell = Local::new();
        let second = Duration::from_secs(5);
        let first = shell.run("declare -A address=([e1]=10.0.3.101)\ndeclare -i count=41\nreadonly RB_FIXED=yes\n",
            second,
        )
        .await;
        assert_eq!(first.ending, Ending::Completed);
        let next = shell
            .run(
                "count+=1\necho \"${address[e1]} $count $RB_FIXED\"\n",
                second,
            )
            .await;
        assert_eq!(text(&next), "10.0.3.101 42 yes\n");
        shell.sessions.shutdown(true).await;
    }

    /// A long script goes through the frame file (see [`FrameFile::SMALLEST`]): it runs at
    /// top level like a short one, with `'` quoted, stdin empty and its state kept.
    #[tokio::test]
    async fn a_long_script_runs_from_the_frame_file_like_a_short_one() {
        let shell = Local::new();
        let second = Duration::from_secs(5);
        let long = format!(
            "# {}\ncd /tmp\ndeclare -A seen=([k]=\"it's\")\necho \"block $RUNBOOK_BLOCK\"; cat; false\n",
            "x".repeat(FrameFile::SMALLEST)
        );
        let first = shell.run(&long, second).await;
        assert_eq!(
            (text(&first).as_str(), first.exit_code),
            ("block 1\n", Some(1))
        );
        let next = shell
            .run("echo \"$PWD ${seen[k]} $RUNBOOK_BLOCK\"\n", second)
            .await;
        assert_eq!(text(&next), "/tmp it's 2\n");
        let lock = shell
            .sessions
            .acquire("localhost", None)
            .await
            .expect("a session");
        assert!(lock.as_ref().is_some_and(|s| s.frame_file.is_some()));
        drop(lock);
        shell.sessions.shutdown(true).await;
    }

    /// The executions of a batch of `scripts` (`None` for the blocks the shell did not run),
    /// each block given `timeouts`' time; the frame goes on stdin unless `file`; a `gated`
    /// batch is told to go on after each block.
    async fn batch(
        shell: &Local,
        scripts: &[&str],
        timeouts: &[Duration],
        file: bool,
        gated: bool,
    ) -> Vec<Option<Execution>> {
        let mut lock = shell
            .sessions
            .acquire("localhost", None)
            .await
            .expect("a session");
        let session = lock.as_mut().expect("started");
        if !file {
            session.frame_file = None;
        }
        let blocks: Vec<BatchBlock<'_>> = scripts
            .iter()
            .map(|script| BatchBlock {
                script,
                leave: Leave::Nothing,
            })
            .collect();
        let mut batch = session.send_batch(&blocks, gated).await;
        let mut executions = Vec::new();
        for timeout in timeouts {
            session.go_on(&mut batch).await;
            executions.push(
                session
                    .next_in_batch(&mut batch, *timeout, &shell.cancel)
                    .await,
            );
        }
        executions
    }

    /// What ran of a batch: each block's output and exit status, `None` for one not run.
    fn ran(executions: &[Option<Execution>]) -> Vec<Option<(String, Option<i32>)>> {
        executions
            .iter()
            .map(|execution| execution.as_ref().map(|e| (text(e), e.exit_code)))
            .collect()
    }

    #[tokio::test]
    async fn a_batch_runs_its_blocks_in_turn_and_is_left_at_a_timeout() {
        for file in [true, false] {
            let shell = Local::new();
            let second = Duration::from_secs(5);
            let long = format!("# {}\necho \"it's $x\"", "y".repeat(FrameFile::SMALLEST));
            let executions = batch(
                &shell,
                &[
                    "cd /tmp; x=1; echo \"one $RUNBOOK_BLOCK\"",
                    "echo \"$PWD $x $RUNBOOK_BLOCK\"; cat; false",
                    &long,
                    "echo started; sleep 30; echo never",
                    "touch never-ran",
                ],
                &[second, second, second, Duration::from_millis(300), second],
                file,
                false,
            )
            .await;
            assert_eq!(
                ran(&executions[..3]),
                [
                    Some(("one 1\n".into(), Some(0))),
                    Some(("/tmp 1 2\n".into(), Some(1))),
                    Some(("it's 1\n".into(), Some(0))),
                ],
                "file: {file}"
            );
            let slow = executions[3].as_ref().expect("run");
            assert_eq!(slow.ending, Ending::TimedOut);
            assert!(text(slow).starts_with("started\n"), "{}", text(slow));
            assert!(executions[4].is_none(), "the batch was left");
            // The block not run took no number: sent again, it gets the one it had.
            let next = shell.run("echo \"$PWD $x $RUNBOOK_BLOCK\"\n", second).await;
            assert_eq!(text(&next), "/tmp 1 5\n");
            shell.sessions.shutdown(true).await;
        }
    }

    #[tokio::test]
    async fn a_gated_batch_runs_a_block_only_when_told_and_stops_when_told() {
        for file in [true, false] {
            let shell = Local::new();
            let second = Duration::from_secs(5);
            let dir = tempfile::tempdir().expect("a folder");
            let mark =
                |name: &str| format!("touch {}/{name}; echo $RUNBOOK_BLOCK", dir.path().display());
            let scripts = [mark("one"), mark("two"), mark("three"), mark("four")];
            let mut lock = shell
                .sessions
                .acquire("localhost", None)
                .await
                .expect("a session");
            let session = lock.as_mut().expect("started");
            if !file {
                session.frame_file = None;
            }
            let blocks: Vec<BatchBlock<'_>> = scripts
                .iter()
                .map(|script| BatchBlock {
                    script,
                    leave: Leave::Nothing,
                })
                .collect();
            let mut batch = session.send_batch(&blocks, true).await;
            let first = session
                .next_in_batch(&mut batch, second, &shell.cancel)
                .await
                .expect("the first block runs at once");
            assert_eq!(text(&first), "1\n");
            // The shell waits: the second block has not started.
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(!dir.path().join("two").exists(), "file: {file}");
            session.go_on(&mut batch).await;
            let second_block = session
                .next_in_batch(&mut batch, second, &shell.cancel)
                .await
                .expect("told to go on");
            assert_eq!(text(&second_block), "2\n");
            session.stop_batch(&mut batch).await;
            assert!(!batch.goes_on());
            assert!(!dir.path().join("three").exists(), "file: {file}");
            drop(lock);
            // The shell reads frames again; the blocks not run took no number.
            let next = shell.run("echo \"next $RUNBOOK_BLOCK\"\n", second).await;
            assert_eq!(text(&next), "next 3\n", "file: {file}");
            assert!(!dir.path().join("four").exists());
            shell.sessions.shutdown(true).await;
        }
    }

    /// A batch of builtins runs in the lean loop (`protocol::batch_text`), which must give
    /// what the general loop gives: each block's output, status, mark and state, stdin empty,
    /// a timeout that leaves the batch, gated or not, from the frame file or stdin.
    #[tokio::test]
    async fn a_lean_batch_runs_builtins_as_the_general_loop_does() {
        for (file, gated) in [(true, true), (true, false), (false, true), (false, false)] {
            let shell = Local::new();
            let second = Duration::from_secs(5);
            // A job for a lean block to wait on until its timeout.
            let job = shell.run("sleep 30 &\n", second).await;
            assert_eq!(job.exit_code, Some(0));
            let executions = batch(
                &shell,
                &[
                    // Set only by the lean loop (the mark before the batch's): proves which
                    // loop ran.
                    "cd /tmp; x=1; echo \"one $RUNBOOK_BLOCK $__rb_o\"",
                    "echo \"$PWD $x $RUNBOOK_BLOCK\"; read y; echo \"[$y] $?\"; false",
                    "declare -p RUNBOOK_BLOCK",
                    "echo started; wait; echo never",
                    "echo not run",
                ],
                &[second, second, second, Duration::from_millis(300), second],
                file,
                gated,
            )
            .await;
            let case = format!("file: {file}, gated: {gated}");
            assert_eq!(
                ran(&executions[..3]),
                [
                    Some(("one 2 1\n".into(), Some(0))),
                    Some(("/tmp 1 3\n[] 1\n".into(), Some(1))),
                    Some(("declare -x RUNBOOK_BLOCK=\"4\"\n".into(), Some(0))),
                ],
                "{case}"
            );
            let slow = executions[3].as_ref().expect("run");
            assert_eq!(slow.ending, Ending::TimedOut, "{case}");
            assert_eq!(text(slow), "started\n", "{case}");
            assert!(executions[4].is_none(), "the batch was left: {case}");
            let next = shell.run("echo \"$PWD $x $RUNBOOK_BLOCK\"\n", second).await;
            assert_eq!(text(&next), "/tmp 1 6\n", "{case}");
            shell.sessions.shutdown(true).await;
        }
    }

    #[tokio::test]
    async fn a_batch_is_left_when_its_shell_exits_or_a_block_breaks_out_of_it() {
        let shell = Local::new();
        let second = Duration::from_secs(5);
        let executions = batch(
            &shell,
            &["echo a", "echo bye; exit 3", "echo b"],
            &[second; 3],
            true,
            false,
        )
        .await;
        assert_eq!(
            ran(&executions),
            [
                Some(("a\n".into(), Some(0))),
                Some(("bye\n".into(), Some(3))),
                None
            ]
        );
        assert_eq!(
            executions[1].as_ref().map(|e| e.ending.clone()),
            Some(Ending::Lost(Lost::ShellEnded))
        );
        let executions = batch(
            &shell,
            &["echo a; break 2", "echo b"],
            &[second; 2],
            false,
            false,
        )
        .await;
        assert_eq!(ran(&executions), [Some(("a\n".into(), Some(124))), None]);
        let next = shell.run("echo again\n", second).await;
        assert_eq!(text(&next), "again\n");
        shell.sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn exit_status_stderr_and_stdin() {
        let shell = Local::new();
        let execution = shell
            .run(
                "echo out; echo err >&2; cat; printf 'no newline'; false\n",
                Duration::from_secs(5),
            )
            .await;
        assert_eq!(execution.exit_code, Some(1));
        assert_eq!(text(&execution), "out\nerr\nno newline");
        shell.sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn timeout_kills_the_command_and_keeps_the_shell() {
        let shell = Local::new();
        shell.run("cd /tmp\n", Duration::from_secs(5)).await;
        let started = Instant::now();
        let execution = shell
            .run(
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
        let output = text(&execution);
        assert!(output.starts_with("before\n"), "{output}");
        assert!(
            !output.contains("after"),
            "the rest of the block is abandoned: {output}"
        );
        let next = shell.run("pwd\n", Duration::from_secs(5)).await;
        assert_eq!(text(&next), "/tmp\n", "same shell, same directory");
        shell.sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn jobs_killed_by_a_timeout_are_not_reported_in_the_next_block() {
        let shell = Local::new();
        let execution = shell
            .run("sleep 300 & wait\n", Duration::from_millis(300))
            .await;
        assert_eq!(execution.ending, Ending::TimedOut);
        let next = shell
            .run("sleep 0.1; echo next\n", Duration::from_secs(5))
            .await;
        assert_eq!(text(&next), "next\n");
        shell.sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn timeout_stops_a_builtin_loop() {
        let shell = Local::new();
        let execution = shell
            .run("while :; do :; done\n", Duration::from_millis(300))
            .await;
        assert_eq!(execution.ending, Ending::TimedOut);
        let next = shell.run("echo alive\n", Duration::from_secs(5)).await;
        assert_eq!(text(&next), "alive\n");
        shell.sessions.shutdown(true).await;
    }

    #[tokio::test]
    async fn exit_in_a_block_ends_the_session_and_the_next_block_gets_a_new_one() {
        let shell = Local::new();
        shell.run("cd /tmp\n", Duration::from_secs(5)).await;
        let execution = shell
            .run("echo bye; exit 3\n", Duration::from_secs(5))
            .await;
        assert_eq!(execution.ending, Ending::Lost(Lost::ShellEnded));
        assert_eq!(execution.exit_code, Some(3));
        assert_eq!(text(&execution), "bye\n");
        let next = shell.run("echo again\n", Duration::from_secs(5)).await;
        assert_eq!(text(&next), "again\n");
        shell.sessions.shutdown(true).await;
    }
}
