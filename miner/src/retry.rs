//! [`Backoff`]: how many times a request is tried and how long to wait between tries.

use std::time::Duration;

/// Waits between attempts: `waits.len() + 1` attempts in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    waits: Vec<Duration>,
}

impl Backoff {
    /// The reference's submission policy (BRIEF A7): 3 attempts, waiting 3 s then 6 s.
    pub fn reference() -> Self {
        Self::new(vec![Duration::from_secs(3), Duration::from_secs(6)])
    }

    /// Tries once, then once more after each of `waits`.
    pub fn new(waits: Vec<Duration>) -> Self {
        Self { waits }
    }

    /// Attempts in all.
    pub fn attempts(&self) -> usize {
        self.waits.len() + 1
    }

    /// The wait after failed attempt number `failed` (1-based), or `None` when that was the
    /// last attempt.
    pub fn wait_after(&self, failed: usize) -> Option<Duration> {
        failed
            .checked_sub(1)
            .and_then(|index| self.waits.get(index))
            .copied()
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::reference()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_policy_is_three_attempts_with_3_and_6_seconds_between() {
        let backoff = Backoff::default();
        assert_eq!(backoff.attempts(), 3);
        assert_eq!(backoff.wait_after(1), Some(Duration::from_secs(3)));
        assert_eq!(backoff.wait_after(2), Some(Duration::from_secs(6)));
        assert_eq!(backoff.wait_after(3), None);
        assert_eq!(backoff.wait_after(0), None);
        assert_eq!(Backoff::new(vec![]).attempts(), 1);
    }
}
