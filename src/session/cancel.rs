//! A request to stop the run, shared by everything running: set once by SIGINT, SIGTERM,
//! SIGHUP (a closed terminal, a dropped SSH connection) or SIGQUIT (Ctrl-\\), which a
//! listener task turns into that request. Each stops the run the same way: the block is
//! stopped, what it started is ended and the report is written.

use tokio::sync::watch;

/// A request to stop, shared by everything running: set by SIGINT/SIGTERM/SIGHUP/SIGQUIT.
#[derive(Debug, Clone)]
pub struct Cancel {
    receiver: watch::Receiver<Option<i32>>,
}

impl Cancel {
    pub fn new() -> (watch::Sender<Option<i32>>, Cancel) {
        let (sender, receiver) = watch::channel(None);
        (sender, Cancel { receiver })
    }

    /// A request that never comes: for the session's own short scripts (a sweep after an
    /// interrupt must still run). Its sender is kept for the life of the program, since a
    /// receiver whose sender is gone would report a stop at once.
    pub(crate) fn never() -> Cancel {
        static NEVER: std::sync::OnceLock<watch::Sender<Option<i32>>> = std::sync::OnceLock::new();
        Cancel {
            receiver: NEVER.get_or_init(|| watch::channel(None).0).subscribe(),
        }
    }

    /// The signal that asked to stop, if any.
    pub(crate) fn requested(&self) -> Option<i32> {
        *self.receiver.borrow()
    }

    /// A stop request raised by the first SIGINT, SIGTERM, SIGHUP or SIGQUIT runbook
    /// receives. A SIGHUP ignored at start (`nohup runbook ...`) stays ignored: the user asked
    /// the run to outlive its terminal. Must be called inside the tokio runtime.
    pub(crate) fn on_signals() -> Cancel {
        let (signal_sender, cancel) = Cancel::new();
        let hang_up_counts = !crate::sys::ignored_at_start(libc::SIGHUP);
        tokio::spawn(async move {
            use tokio::signal::unix::{Signal, SignalKind, signal};
            let listen = |kind: SignalKind| signal(kind).ok();
            let (Some(mut interrupt), Some(mut terminate), Some(mut quit)) = (
                listen(SignalKind::interrupt()),
                listen(SignalKind::terminate()),
                listen(SignalKind::quit()),
            ) else {
                return;
            };
            let mut hang_up = hang_up_counts
                .then(|| listen(SignalKind::hangup()))
                .flatten();
            let hung_up = async |hang_up: &mut Option<Signal>| match hang_up {
                Some(hang_up) => hang_up.recv().await,
                None => std::future::pending().await,
            };
            let received = tokio::select! {
                _ = interrupt.recv() => libc::SIGINT,
                _ = terminate.recv() => libc::SIGTERM,
                _ = quit.recv() => libc::SIGQUIT,
                _ = hung_up(&mut hang_up) => {
                    crate::sys::leave_hung_up_terminal();
                    libc::SIGHUP
                }
            };
            let _ = signal_sender.send(Some(received));
        });
        cancel
    }

    pub(crate) async fn wait(&mut self) {
        let _ = self.receiver.wait_for(Option::is_some).await;
    }
}
