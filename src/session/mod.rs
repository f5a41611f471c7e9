//! Where commands run: one persistent shell per (host, user), opened lazily over the host's
//! transport (the local machine, `lxc-attach`, `docker exec` or SSH) and spoken to with the
//! [`protocol`]. A session runs one block at a time and reports what happened as data
//! ([`Execution`]); timeouts, interrupts and lost hosts are outcomes, not errors.
//!
//! - [`pool`]: the sessions of a run ([`Sessions`]), opened lazily and pre-opened per chapter;
//! - [`shell`]: one persistent shell ([`Session`]) and how a block ends ([`Ending`]);
//! - [`transport`]: how a host is reached (local process, `lxc-attach`, `docker exec`, [`ssh`]);
//! - [`protocol`]: the frames and scripts written to a shell, and the output buffer;
//!   [`frame_file`]: where a local shell reads its frames;
//! - [`settings`]: every wait and limit; [`cancel`]: the stop request of SIGINT/SIGTERM;
//! - [`error`]: why a host gave no shell ([`SessionError`]), a refused host key among them.

pub(crate) mod background;
pub(crate) mod cancel;
pub(crate) mod error;
pub(crate) mod frame_file;
pub(crate) mod pool;
pub(crate) mod protocol;
pub(crate) mod settings;
pub(crate) mod shell;
pub(crate) mod ssh;
pub(crate) mod transport;

pub use background::{Background, BackgroundSnapshot};
pub use cancel::Cancel;
pub use error::{HostKeyRefusal, SessionError, ShellFailure};
pub(crate) use pool::Wanted;
pub use pool::{Leftover, SessionLock, Sessions};
pub use settings::SessionSettings;
pub(crate) use shell::BatchBlock;
pub use shell::{Answers, Ending, Execution, Leave, Lost, Session, Typed};
