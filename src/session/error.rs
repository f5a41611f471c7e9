//! Why a host gave no shell, as data: the executor tells a refused host key (which stops the
//! run) from a host that is down, and every message names the host and, where there is one,
//! the fix.

use std::time::Duration;

/// Why no shell could be opened on a host, or a control script could not run beside one.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("unknown host `{0}`")]
    UnknownHost(String),
    #[error("session table poisoned")]
    Poisoned,
    /// A local program (bash, `lxc-attach`, `docker`, `ssh`) could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no {0} pipe")]
    NoPipe(&'static str),
    /// Something runbook prepares on this machine (the folder of SSH control sockets).
    #[error("{0}")]
    Local(String),
    #[error(transparent)]
    HostKey(#[from] HostKeyRefusal),
    #[error(
        "cannot log in to {host} as {user}: {detail} (set ansible_user and ansible_ssh_private_key_file in the inventory)"
    )]
    Login {
        host: String,
        user: String,
        detail: String,
    },
    #[error("cannot connect to {host} ({user}@{address}:{port}): {detail}")]
    Connect {
        host: String,
        user: String,
        address: String,
        port: u16,
        detail: String,
    },
    /// The shell process started but never announced itself.
    #[error("{failure}{}", colon_then(said))]
    NoShell {
        failure: ShellFailure,
        /// What the shell or its transport printed, if anything.
        said: String,
    },
    #[error(
        "the container `{container}` is not running (start it with `{start}`, or check runbook_container): {reason}"
    )]
    ContainerNotRunning {
        container: String,
        start: String,
        reason: Box<SessionError>,
    },
    /// A control script got no answer: the host is frozen or unplugged.
    #[error("no answer within {}s", .0.as_secs())]
    NoAnswer(Duration),
    #[error("the connection to {host} failed: {detail}")]
    ChannelFailed { host: String, detail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl SessionError {
    /// Whether the host (or container) answered and only the shell ended before it was
    /// ready: `sudo -iu postgres` before PostgreSQL is installed, a login shell that exits.
    pub fn host_answered(&self) -> bool {
        matches!(
            self,
            SessionError::NoShell {
                failure: ShellFailure::ExitedAtOnce | ShellFailure::ExitedBeforeReady,
                ..
            }
        )
    }

    /// Whether SSH refused the host's key: never retried, and it stops the run.
    pub fn is_host_key_refusal(&self) -> bool {
        match self {
            SessionError::HostKey(_) => true,
            SessionError::ContainerNotRunning { reason, .. } => reason.is_host_key_refusal(),
            _ => false,
        }
    }
}

fn colon_then(said: &str) -> String {
    if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    }
}

/// How a shell failed to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellFailure {
    #[error("the shell exited at once")]
    ExitedAtOnce,
    #[error("the shell exited before it was ready")]
    ExitedBeforeReady,
    #[error("no shell within {}s", .0.as_secs())]
    NotWithin(Duration),
}

/// SSH refused to connect because of the host's key. A lab host rebuilt keeps its address
/// with a new key; the message says how to forget the old one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostKeyRefusal {
    #[error(
        "the host key of {host} ({entry}) has changed: it is not the key recorded in known_hosts, so runbook refuses to connect. If the host was rebuilt, forget the old key with `{forget}` and run again; otherwise someone may be intercepting the connection"
    )]
    Changed {
        host: String,
        /// The host as known_hosts writes it: `address` or `[address]:port`.
        entry: String,
        /// The `ssh-keygen -R` command that forgets the old key.
        forget: String,
    },
    #[error(
        "the host key of {host} ({entry}) is unknown and runbook_host_key_checking is `strict`: add the host's key to known_hosts after checking its fingerprint (`ssh-keyscan -p {port} {address}`), or use `accept-new` for a lab's new hosts"
    )]
    Unknown {
        host: String,
        entry: String,
        port: u16,
        address: String,
    },
    #[error("the host key of {host} ({entry}) could not be verified: {detail}")]
    Unverified {
        host: String,
        entry: String,
        detail: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_key_is_told_apart_from_other_failures() {
        let refusal = SessionError::HostKey(HostKeyRefusal::Unverified {
            host: "pg-1".into(),
            entry: "10.0.3.201".into(),
            detail: "Host key verification failed.".into(),
        });
        assert!(refusal.is_host_key_refusal());
        assert_eq!(
            refusal.to_string(),
            "the host key of pg-1 (10.0.3.201) could not be verified: Host key verification failed."
        );
        let down = SessionError::Connect {
            host: "pg-1".into(),
            user: "root".into(),
            address: "10.0.3.201".into(),
            port: 22,
            detail: "Connection refused".into(),
        };
        assert!(!down.is_host_key_refusal());
        assert_eq!(
            down.to_string(),
            "cannot connect to pg-1 (root@10.0.3.201:22): Connection refused"
        );
    }

    #[test]
    fn a_shell_that_never_started_says_what_it_printed() {
        let silent = SessionError::NoShell {
            failure: ShellFailure::NotWithin(Duration::from_secs(20)),
            said: String::new(),
        };
        assert_eq!(silent.to_string(), "no shell within 20s");
        let said = SessionError::NoShell {
            failure: ShellFailure::ExitedAtOnce,
            said: "sudo: unknown user postgres".into(),
        };
        assert_eq!(
            said.to_string(),
            "the shell exited at once: sudo: unknown user postgres"
        );
    }
}
