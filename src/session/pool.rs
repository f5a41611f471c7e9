//! All sessions of a run: one per (host, user), opened on first use, pre-opened in the
//! background where that cannot contact a host too early, and ended together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};

use tokio::sync::Mutex;

use super::protocol;
use super::shell::Session;
use super::transport::Transport;
use super::{SessionError, SessionSettings};
use crate::chapter::cram::CramTest;
use crate::inventory::Inventory;

/// (host, user, kind): one session each.
type SessionKey = (String, String, SessionKind);

/// What a session is for, besides its host and user: each cram test file has a shell of its
/// own, and each psql session (named by psql's arguments) a shell that only feeds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) enum SessionKind {
    /// The shell a course's blocks share.
    #[default]
    Shell,
    /// A cram test file's shell, set up as cram sets one up.
    Cram(CramTest),
    /// The shell that runs one psql (with these arguments) and types SQL into it.
    Psql(Vec<String>),
}

/// A session the coming blocks will want: on `host`, as `user` (`None`: the login user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub(crate) host: String,
    pub(crate) user: Option<String>,
}

/// All sessions of a run, opened on first use.
#[derive(Debug)]
pub struct Sessions {
    inventory: Arc<Inventory>,
    pub settings: Arc<SessionSettings>,
    transports: StdMutex<HashMap<String, Arc<Transport>>>,
    sessions: StdMutex<HashMap<SessionKey, Arc<Mutex<Option<Session>>>>>,
}

/// A process a session's block left running at the end of the run, which runbook ended
/// (as nextest reports a test's leaked processes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Leftover {
    pub host: String,
    pub user: String,
    pub pid: u32,
    pub command: String,
}

/// A session in use by one block; others wanting the same (host, user) wait.
pub type SessionLock = tokio::sync::OwnedMutexGuard<Option<Session>>;

impl Sessions {
    pub fn new(inventory: Arc<Inventory>, settings: SessionSettings) -> Self {
        Sessions {
            inventory,
            settings: Arc::new(settings),
            transports: StdMutex::new(HashMap::new()),
            sessions: StdMutex::new(HashMap::new()),
        }
    }

    fn transport(&self, host: &str) -> Result<Arc<Transport>, SessionError> {
        let found = self
            .inventory
            .host(host)
            .ok_or_else(|| SessionError::UnknownHost(host.to_string()))?;
        let mut transports = self.transports.lock().map_err(|_| SessionError::Poisoned)?;
        Ok(Arc::clone(
            transports
                .entry(host.to_string())
                .or_insert_with(|| Arc::new(Transport::for_host(found, &self.settings))),
        ))
    }

    /// The user a block runs as on `host` when it names none (`None` for a host the
    /// inventory does not have).
    pub(crate) fn default_user(&self, host: &str) -> Option<String> {
        Some(self.transport(host).ok()?.login_user())
    }

    /// A live session for (`host`, `user`), opening one if needed.
    pub async fn acquire(
        &self,
        host: &str,
        user: Option<&str>,
    ) -> Result<SessionLock, SessionError> {
        self.acquire_for(host, user, &SessionKind::Shell).await
    }

    /// The course's shell for (`host`, `user`) if it is open and alive, `None` otherwise: a
    /// batch of blocks is only sent to a shell that is there, so that a host that gives none
    /// is reported by a block sent on its own, as without batches.
    pub(crate) async fn acquire_open(&self, host: &str, user: &str) -> Option<SessionLock> {
        let slot = {
            let sessions = self.sessions.lock().ok()?;
            Arc::clone(sessions.get(&(host.to_string(), user.to_string(), SessionKind::Shell))?)
        };
        let mut lock = slot.lock_owned().await;
        lock.as_mut().is_some_and(Session::is_alive).then_some(lock)
    }

    /// A live session of `kind` for (`host`, `user`).
    pub(crate) async fn acquire_for(
        &self,
        host: &str,
        user: Option<&str>,
        kind: &SessionKind,
    ) -> Result<SessionLock, SessionError> {
        let cram = match kind {
            SessionKind::Cram(test) => Some(test),
            SessionKind::Shell | SessionKind::Psql(_) => None,
        };
        let transport = self.transport(host)?;
        let login = transport.login_user();
        let user = user.unwrap_or(&login).to_string();
        let slot = {
            let mut sessions = self.sessions.lock().map_err(|_| SessionError::Poisoned)?;
            Arc::clone(
                sessions
                    .entry((host.to_string(), user.clone(), kind.clone()))
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
            let started = Session::start(
                Arc::clone(&transport),
                switch.as_deref(),
                Arc::clone(&self.settings),
                cram,
            )
            .await;
            let session = match started {
                Ok(session) => session,
                Err(reason) => {
                    return Err(transport.explain_failure(reason, &self.settings).await);
                }
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
    pub(crate) fn prewarm(self: &Arc<Self>, wanted: Vec<Wanted>) {
        for Wanted { host, user } in wanted {
            let sessions = Arc::clone(self);
            tokio::spawn(async move {
                let Ok(transport) = sessions.transport(&host) else {
                    return;
                };
                let login = transport.login_user();
                let user = user.unwrap_or(login);
                let open = sessions.sessions.lock().ok().and_then(|table| {
                    table
                        .get(&(host.clone(), user.clone(), SessionKind::Shell))
                        .cloned()
                });
                if let Some(slot) = open {
                    // Busy: a block is using (or opening) it right now.
                    let Ok(mut lock) = slot.try_lock() else {
                        return;
                    };
                    if lock.as_mut().is_some_and(Session::is_alive) {
                        return;
                    }
                }
                if transport.is_present(&sessions.settings).await {
                    let _ = sessions.acquire(&host, Some(&user)).await;
                }
            });
        }
    }

    /// Ends every session and SSH master. `force` kills what the sessions still run.
    /// What the blocks left running in the background is left alone: `runbook step` is a
    /// trainee's own lab, resumed later, whose services a quit must not end.
    pub async fn shutdown(&self, force: bool) {
        self.end_sessions(force, false).await;
    }

    /// Like [`Sessions::shutdown`], but first ends what the blocks left running in the
    /// background (all but what `keep-running` blocks started), and returns it, to be
    /// reported: the end of a `verify` or `check` run.
    pub async fn shutdown_and_sweep(&self, force: bool) -> Vec<Leftover> {
        self.end_sessions(force, true).await
    }

    /// Ends the shells of the cram test file `test`, once its commands are done, as cram ends
    /// a test's shell: what they left running is ended and returned, to be reported, and the
    /// test's folder goes with the shell.
    pub(crate) async fn end_cram_test(&self, test: &CramTest) -> Vec<Leftover> {
        self.end_matching(false, true, Some(test)).await
    }

    async fn end_sessions(&self, force: bool, sweep: bool) -> Vec<Leftover> {
        let leftovers = self.end_matching(force, sweep, None).await;
        if !self.settings.keep_connections || force {
            self.close_connections().await;
        }
        leftovers
    }

    /// Closes every SSH master (at the end of a run, or of a class view that kept them).
    pub(crate) async fn close_connections(&self) {
        for transport in self.transports() {
            transport.close().await;
        }
    }

    /// Forgets which hosts could not be reached, so that the next look tries them again.
    pub(crate) fn forget_unreachable(&self) {
        for transport in self.transports() {
            transport.forget_unreachable();
        }
    }

    fn transports(&self) -> Vec<Arc<Transport>> {
        match self.transports.lock() {
            Ok(transports) => transports.values().cloned().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Ends the sessions of the cram test file `only`, or all of them.
    async fn end_matching(
        &self,
        force: bool,
        sweep: bool,
        only: Option<&CramTest>,
    ) -> Vec<Leftover> {
        let slots: Vec<_> = match self.sessions.lock() {
            Ok(mut sessions) => {
                let keys: Vec<SessionKey> = sessions
                    .keys()
                    .filter(|(_, _, kind)| match (only, kind) {
                        (None, _) => true,
                        (Some(only), SessionKind::Cram(test)) => test == only,
                        (Some(_), _) => false,
                    })
                    .cloned()
                    .collect();
                keys.into_iter()
                    .filter_map(|key| {
                        let slot = if only.is_some() {
                            sessions.remove(&key)?
                        } else {
                            Arc::clone(sessions.get(&key)?)
                        };
                        Some((key, slot))
                    })
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        let found: StdMutex<Vec<Leftover>> = StdMutex::new(Vec::new());
        let endings = slots.into_iter().map(|((host, user, _), slot)| {
            let found = &found;
            async move {
                let mut lock = slot.lock().await;
                let mut leftovers = Vec::new();
                if let Some(mut session) = lock.take() {
                    if sweep && !force {
                        leftovers = session.sweep_leftovers().await;
                    }
                    session.end(force).await;
                }
                if let Ok(mut found) = found.lock() {
                    found.extend(leftovers.into_iter().map(|(pid, command)| Leftover {
                        host: host.clone(),
                        user: user.clone(),
                        pid,
                        command,
                    }));
                }
            }
        });
        crate::join::join_all(endings).await;
        let mut leftovers = found.into_inner().unwrap_or_default();
        leftovers.sort_by(|a, b| (&a.host, &a.user, a.pid).cmp(&(&b.host, &b.user, b.pid)));
        leftovers
    }
}
