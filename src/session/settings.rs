//! How long sessions wait and how much they keep: every timeout, grace period and size limit
//! of the session layer, in one place.

use std::time::Duration;

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
