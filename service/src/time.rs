//! The wall clock as the wire counts it: Unix seconds and milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch (zero for a clock set before it).
pub fn unix_time() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Current Unix time in whole seconds.
pub fn unix_now() -> i64 {
    i64::try_from(unix_time().as_secs()).unwrap_or(i64::MAX)
}

/// Current Unix time in milliseconds.
pub fn unix_now_ms() -> i64 {
    i64::try_from(unix_time().as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_agree_with_the_system_clock() {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let (secs, ms) = (unix_now(), unix_now_ms());
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!((before.as_secs() as i64..=after.as_secs() as i64).contains(&secs));
        assert!((before.as_millis() as i64..=after.as_millis() as i64).contains(&ms));
    }
}
