//! Deadlines computed from durations without ever overflowing the clock: `Instant + Duration`
//! panics when the sum does not fit, so every deadline runbook derives (a block's timeout,
//! `retry=`, the connect timeout) goes through here and saturates at a far but valid instant.

use std::time::Duration;

/// Far enough never to be reached by a run, near enough to fit any platform's clock.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `now + wait`, or a far instant when that sum does not fit.
pub(crate) fn after(now: std::time::Instant, wait: Duration) -> std::time::Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

/// [`after`] for tokio's clock.
pub(crate) fn after_tokio(now: tokio::time::Instant, wait: Duration) -> tokio::time::Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

/// `tokio::time::Instant::now() + wait`, saturating.
pub(crate) fn tokio_in(wait: Duration) -> tokio::time::Instant {
    after_tokio(tokio::time::Instant::now(), wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_too_long_for_the_clock_saturates_instead_of_panicking() {
        let now = std::time::Instant::now();
        assert!(after(now, Duration::MAX) > now);
        assert_eq!(
            after(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        let tokio_now = tokio::time::Instant::now();
        assert!(after_tokio(tokio_now, Duration::MAX) > tokio_now);
    }
}
