//! How long sessions wait and how much they keep: every timeout, grace period and size limit
//! of the session layer, in one place. The command line sets the first three (`--connect-timeout`,
//! `--grace`, `--max-output`); the others are fixed waits, named here so that none hides in the
//! code that uses it.

use std::path::PathBuf;
use std::time::Duration;

/// How long a host may take to give a shell, unless `--connect-timeout` says otherwise.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Between TERM and KILL on a timeout, unless `--grace` says otherwise.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(3);
/// Output kept per block (1 MiB), unless `--max-output` says otherwise.
pub(crate) const DEFAULT_OUTPUT_CAP: usize = 1 << 20;

/// Timing and size limits of sessions.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Exported in every shell before its first block (`runbook.yml`'s `env:`), in order.
    pub env: Vec<(String, String)>,
    /// How long a host may take to answer (SSH: TCP, banner and handshake), and to give a
    /// working shell.
    pub connect_timeout: Duration,
    /// How long a host that has answered may take to give a working shell (its login
    /// scripts run first): `connect_timeout` but for a class view, whose short connect
    /// timeout is for labs that do not answer at all.
    pub shell_start: Duration,
    /// Between TERM and KILL when a block times out.
    pub grace: Duration,
    /// Output kept per block (the tail).
    pub output_cap: usize,
    /// Where SSH control sockets live (short, for the socket path limit).
    pub control_dir: PathBuf,
    /// How long a control script (signalling a timed-out block) may take before the host is
    /// deemed not to answer.
    pub control_timeout: Duration,
    /// After KILL, how long the shell may take to report the block's end before the session
    /// is ended and replaced.
    pub after_kill: Duration,
    /// How long the shell may take to take the reports of the jobs a timeout killed
    /// ([`super::protocol::settle`]).
    pub settle: Duration,
    /// How long a shell whose stdin was closed (or that ended) may take to exit.
    pub shell_exit: Duration,
    /// How long a container manager (`lxc-info`, `docker inspect`) may take to say whether a
    /// container runs.
    pub presence_probe: Duration,
    /// How long to let a shell that failed to start finish writing why on its stderr.
    pub failure_words: Duration,
    /// SSH: beyond `connect_timeout` (which ssh applies to TCP and the banner), the rest of
    /// the handshake, for a host that answers TCP but is frozen.
    pub ssh_handshake: Duration,
    /// SSH: how often to look for the master's control socket while it connects.
    pub ssh_socket_poll: Duration,
    /// SSH: how long the master may take to exit when the run ends.
    pub ssh_master_exit: Duration,
    /// SSH: seconds between keep-alive probes of the master; after
    /// [`SessionSettings::ssh_alive_count`] unanswered probes ssh drops the connection, so a
    /// frozen or unplugged host is noticed within about 15 s.
    pub ssh_alive_interval: u32,
    pub ssh_alive_count: u32,
    /// How long a `pty` program must print nothing, on an unfinished line, before an answer
    /// the transcript prints inline after that line's question is typed: long enough that a
    /// program still writing its line is not interrupted, short beside a person's pause.
    pub quiet_before_answer: Duration,
    /// Put each session in a cgroup of its own where it runs as root and can (see
    /// [`super::protocol::bootstrap`]): for runs whose end sweeps what the blocks left
    /// (`verify`, `check`), not for `runbook step`, which leaves the trainee's lab running.
    pub contain: bool,
    /// An SSH host that could not be reached once is not tried again in this run: a class
    /// view looks at thirty labs, and a lab that is down must cost one connect timeout, not
    /// one per check.
    pub one_connect_attempt: bool,
    /// The SSH connections outlive the shells at the end of a run, until
    /// [`super::Sessions::close_connections`]: a class view that looks again every 30 s
    /// opens a shell on each host each time, not a connection.
    pub keep_connections: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            env: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            shell_start: DEFAULT_CONNECT_TIMEOUT,
            grace: DEFAULT_GRACE,
            output_cap: DEFAULT_OUTPUT_CAP,
            control_dir: std::env::temp_dir()
                .join(format!("runbook-ssh-{}", crate::sys::current_user())),
            control_timeout: Duration::from_secs(5),
            after_kill: Duration::from_secs(2),
            settle: Duration::from_secs(2),
            shell_exit: Duration::from_secs(2),
            presence_probe: Duration::from_secs(5),
            failure_words: Duration::from_millis(100),
            ssh_handshake: Duration::from_secs(2),
            ssh_socket_poll: Duration::from_millis(10),
            ssh_master_exit: Duration::from_secs(2),
            ssh_alive_interval: 5,
            ssh_alive_count: 3,
            one_connect_attempt: false,
            keep_connections: false,
            quiet_before_answer: Duration::from_millis(300),
            contain: false,
        }
    }
}
