//! The double's clock: real time from an anchor, which tests can move forward.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Current time as the double sees it: the anchor plus the real time elapsed since start plus
/// any time added with [`Clock::advance`].
///
/// Anchoring at a fixed instant lets tests know every post's date in advance; advancing lets
/// them age posts out of the search window or run past a rate-limit window without waiting.
#[derive(Debug)]
pub(crate) struct Clock {
    /// The anchor in Unix milliseconds, a whole second (X dates have second precision).
    anchor_ms: i64,
    /// When the clock was made.
    started: Instant,
    /// Milliseconds added by `advance`.
    offset_ms: AtomicI64,
}

impl Clock {
    /// A clock reading `anchor` now, truncated to the second.
    pub(crate) fn new(anchor: DateTime<Utc>) -> Self {
        Self {
            anchor_ms: anchor.timestamp() * 1000,
            started: Instant::now(),
            offset_ms: AtomicI64::new(0),
        }
    }

    /// The anchor in Unix milliseconds.
    pub(crate) fn anchor_ms(&self) -> i64 {
        self.anchor_ms
    }

    /// Now, in Unix milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.anchor_ms
            .saturating_add(elapsed)
            .saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward. There is no way back: rate-limit windows assume time only grows.
    pub(crate) fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// A Unix-millisecond time as a UTC date (clamped to chrono's range).
pub(crate) fn datetime(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_is_truncated_to_the_second_and_advance_moves_now() {
        let anchor = DateTime::from_timestamp_millis(1_764_120_123_456).unwrap();
        let clock = Clock::new(anchor);
        assert_eq!(clock.anchor_ms(), 1_764_120_123_000);
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now_ms() >= before + 3_600_000);
    }
}
