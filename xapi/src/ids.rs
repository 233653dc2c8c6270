//! Post and user ids as X makes them: snowflakes whose high bits are the creation time.

use protocol::post_id::{SNOWFLAKE_EPOCH_MS, snowflake_time_ms};

/// Bits below the timestamp in a snowflake; X fills them with machine and sequence numbers.
pub const SEQUENCE_BITS: u32 = 22;

/// Largest per-post sequence number that fits below the timestamp.
pub const MAX_SEQUENCE: u32 = (1 << SEQUENCE_BITS) - 1;

/// Mints the id of a post created at `created_ms` (Unix milliseconds), with `sequence` in the
/// low bits so posts created in the same millisecond still get distinct ids.
///
/// `(id >> 22) + SNOWFLAKE_EPOCH_MS` gives `created_ms` back, which is what validators check.
/// `None` when the time is before X's epoch or too far ahead for 64 bits, when the sequence does
/// not fit in 22 bits, or for the one combination that would make id 0.
pub fn mint_post_id(created_ms: i64, sequence: u32) -> Option<u64> {
    if sequence > MAX_SEQUENCE {
        return None;
    }
    let since_epoch = u64::try_from(created_ms)
        .ok()?
        .checked_sub(SNOWFLAKE_EPOCH_MS)?;
    if since_epoch >> (64 - SEQUENCE_BITS) != 0 {
        return None;
    }
    // Id 0 is not a canonical post id (protocol::post_id), so it is never minted.
    Some((since_epoch << SEQUENCE_BITS) | u64::from(sequence)).filter(|&id| id != 0)
}

/// Creation time, in Unix milliseconds, that a post id encodes.
pub fn post_time_ms(id: u64) -> i64 {
    // At most (2^42 - 1) + epoch, far below i64::MAX.
    snowflake_time_ms(id) as i64
}

/// A stable user id derived from the username (FNV-1a of its lowercase form).
///
/// Hashing rather than numbering users in order of appearance keeps an author's id the same
/// when the dataset is reordered or grows, so fixtures that hold a user id stay valid.
pub fn user_id(username: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in username.to_ascii_lowercase().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // X user ids are positive and at most 19 digits; keep 62 bits and never 0.
    (hash >> 2).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_id_encodes_its_creation_time_and_sequence() {
        let created_ms = 1_764_120_123_000;
        let id = mint_post_id(created_ms, 7).unwrap();
        assert_eq!(post_time_ms(id), created_ms);
        assert_eq!(id & u64::from(MAX_SEQUENCE), 7);
    }

    #[test]
    fn posts_of_the_same_millisecond_get_distinct_ids_in_sequence_order() {
        let a = mint_post_id(1_764_120_123_000, 1).unwrap();
        let b = mint_post_id(1_764_120_123_000, 2).unwrap();
        assert!(a < b);
    }

    #[test]
    fn times_before_the_snowflake_epoch_and_oversized_sequences_are_refused() {
        assert_eq!(mint_post_id(SNOWFLAKE_EPOCH_MS as i64 - 1, 0), None);
        assert_eq!(mint_post_id(-5, 0), None);
        assert_eq!(mint_post_id(1_764_120_123_000, MAX_SEQUENCE + 1), None);
        assert_eq!(mint_post_id(SNOWFLAKE_EPOCH_MS as i64, 0), None);
        assert_eq!(mint_post_id(SNOWFLAKE_EPOCH_MS as i64, 1), Some(1));
    }

    #[test]
    fn user_ids_ignore_case_and_differ_between_users() {
        assert_eq!(user_id("TaoWhale_"), user_id("taowhale_"));
        assert_ne!(user_id("taowhale_"), user_id("mira_builds"));
        assert!(user_id("x") > 0);
    }
}
