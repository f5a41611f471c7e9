//! A request to stop the run, shared by everything running: set once by SIGINT or SIGTERM,
//! which a listener task turns into that request.

use tokio::sync::watch;

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

    /// A stop request raised by the first SIGINT or SIGTERM runbook receives. Must be called
    /// inside the tokio runtime.
    pub(crate) fn on_signals() -> Cancel {
        let (signal_sender, cancel) = Cancel::new();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut interrupt), Ok(mut terminate)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            let received = tokio::select! {
                _ = interrupt.recv() => libc::SIGINT,
                _ = terminate.recv() => libc::SIGTERM,
            };
            let _ = signal_sender.send(Some(received));
        });
        cancel
    }

    pub(crate) async fn wait(&mut self) {
        let _ = self.receiver.wait_for(Option::is_some).await;
    }
}
