//! Waiting for several futures at once within the current task: the futures may borrow from
//! the caller (nothing is spawned), so a step's hosts run without cloning what they share,
//! and the sessions of a run end side by side.

/// Polls `futures` concurrently until all are done.
pub(crate) async fn join_all<F: Future<Output = ()>>(futures: impl IntoIterator<Item = F>) {
    let mut futures: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for slot in &mut futures {
            if let Some(future) = slot {
                if future.as_mut().poll(context).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::time::Duration;

    #[tokio::test]
    async fn borrowed_futures_run_side_by_side() {
        let finished = RefCell::new(Vec::new());
        join_all([300, 100, 200].map(|ms| {
            let finished = &finished;
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                finished.borrow_mut().push(ms);
            }
        }))
        .await;
        // One after the other, they would end in the order given.
        assert_eq!(
            *finished.borrow(),
            [100, 200, 300],
            "each ended on its own time"
        );
    }
}
