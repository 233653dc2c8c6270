//! Per-endpoint request limits in fixed windows, answered with X's `x-rate-limit-*` headers.

use std::sync::Mutex;

use axum::http::{HeaderMap, HeaderValue};

/// A fixed-window counter: at most `limit` requests from the window's first request until
/// `window_ms` later, as X counts app-authenticated requests per 15-minute window.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Requests allowed per window.
    limit: u32,
    /// Window length in milliseconds.
    window_ms: i64,
    /// Start of the current window (Unix ms) and requests counted in it.
    current: Mutex<Option<(i64, u32)>>,
}

/// The outcome of counting one request, with what the headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    /// Whether the request may proceed.
    pub(crate) allowed: bool,
    /// Requests allowed per window.
    pub(crate) limit: u32,
    /// Requests left in the window after this one.
    pub(crate) remaining: u32,
    /// Unix second at which the window ends (`x-rate-limit-reset`).
    pub(crate) reset_unix: i64,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per `window_ms` milliseconds.
    pub(crate) fn new(limit: u32, window_ms: i64) -> Self {
        Self {
            limit,
            window_ms: window_ms.max(1),
            current: Mutex::new(None),
        }
    }

    /// Counts one request made at `now_ms`.
    pub(crate) fn take(&self, now_ms: i64) -> Quota {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let (start, used) = match *current {
            Some((start, used)) if now_ms < start + self.window_ms => (start, used),
            _ => (now_ms, 0),
        };
        let allowed = used < self.limit;
        let used = if allowed { used + 1 } else { used };
        *current = Some((start, used));
        Quota {
            allowed,
            limit: self.limit,
            remaining: self.limit - used,
            // Rounded up so a client that waits until this second is never early.
            reset_unix: (start + self.window_ms + 999).div_euclid(1000),
        }
    }
}

impl Quota {
    /// Writes `x-rate-limit-limit`, `x-rate-limit-remaining` and `x-rate-limit-reset`.
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("x-rate-limit-limit", HeaderValue::from(self.limit));
        headers.insert("x-rate-limit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-rate-limit-reset", HeaderValue::from(self.reset_unix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_beyond_the_limit_are_refused_until_the_window_ends() {
        let limiter = RateLimiter::new(2, 900_000);
        let t0 = 1_000_000_000_000;
        assert_eq!(limiter.take(t0).remaining, 1);
        assert!(limiter.take(t0 + 1).allowed);
        let refused = limiter.take(t0 + 2);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset_unix, (t0 + 900_000) / 1000);
        assert!(!limiter.take(t0 + 899_999).allowed);
        let next = limiter.take(t0 + 900_000);
        assert!(next.allowed);
        assert_eq!(next.remaining, 1);
    }

    #[test]
    fn a_zero_limit_refuses_everything() {
        assert!(!RateLimiter::new(0, 1000).take(0).allowed);
    }
}
