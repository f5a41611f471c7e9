//! What a process left running by a block prints once the block has ended: its block's
//! background output, read from the channel the shell left it on (see
//! [`super::protocol::LEFT_CHECK`]) until the process lets it go, and kept beside the block's
//! own output instead of landing in a later block's.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

/// A block's background output, still growing while its processes run. Cloning shares it.
#[derive(Clone)]
pub struct Background {
    collected: Arc<StdMutex<Collected>>,
    ended: watch::Receiver<bool>,
}

#[derive(Debug, Default)]
struct Collected {
    /// The first bytes, up to the cap: a server says what matters when it starts.
    kept: Vec<u8>,
    total_bytes: u64,
}

/// A block's background output as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackgroundSnapshot {
    /// The first bytes it printed (at most the session's `--max-output`).
    pub output: Vec<u8>,
    pub total_bytes: u64,
    /// Every process let go of the channel (they ended, or closed it).
    pub ended: bool,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Background({:?})", self.snapshot())
    }
}

impl Background {
    /// Starts reading `channel`, whose first bytes, already read, are `first`, until its end;
    /// `carrier` is the local process that carries it, if it is a relay of its own (ended with
    /// the channel).
    pub(crate) fn collect(
        mut channel: Box<dyn AsyncRead + Send + Unpin>,
        first: &[u8],
        carrier: Option<tokio::process::Child>,
        cap: usize,
    ) -> Self {
        let collected = Arc::new(StdMutex::new(Collected::default()));
        let (ended_tx, ended) = watch::channel(false);
        let keep = Arc::clone(&collected);
        let add = move |bytes: &[u8]| {
            if let Ok(mut collected) = keep.lock() {
                collected.total_bytes += bytes.len() as u64;
                let room = cap.saturating_sub(collected.kept.len());
                collected
                    .kept
                    .extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
        };
        add(first);
        tokio::spawn(async move {
            let _carrier = carrier;
            let mut buffer = vec![0u8; 16 * 1024];
            while let Ok(count) = channel.read(&mut buffer).await {
                if count == 0 {
                    break;
                }
                add(&buffer[..count]);
            }
            let _ = ended_tx.send(true);
        });
        Background { collected, ended }
    }

    /// What it printed so far.
    pub fn snapshot(&self) -> BackgroundSnapshot {
        let ended = *self.ended.borrow();
        let (output, total_bytes) = self.collected.lock().map_or((Vec::new(), 0), |collected| {
            (collected.kept.clone(), collected.total_bytes)
        });
        BackgroundSnapshot {
            output,
            total_bytes,
            ended,
        }
    }

    /// Waits until every process let go of the channel, at most `limit`: at the end of a run,
    /// the sweep has just ended the processes, and their last words are still on the way.
    pub async fn wait_end(&self, limit: Duration) {
        let mut ended = self.ended.clone();
        let _ = tokio::time::timeout(limit, ended.wait_for(|ended| *ended)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_first_bytes_counts_them_all_and_says_when_the_channel_ended() {
        let (mut writer, reader) = tokio::io::duplex(64);
        let background = Background::collect(Box::new(reader), b"ab", None, 4);
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"cdef")
            .await
            .expect("written");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let growing = background.snapshot();
        assert_eq!(growing.output, b"abcd");
        assert_eq!(growing.total_bytes, 6);
        assert!(!growing.ended);
        drop(writer);
        background.wait_end(Duration::from_secs(5)).await;
        assert!(background.snapshot().ended);
    }
}
