//! Canonical X post ids and the creation time encoded in them.

use thiserror::Error;

/// Milliseconds since the Unix epoch at which X's snowflake ids start counting.
pub const SNOWFLAKE_EPOCH_MS: u64 = 1_288_834_974_657;

/// Why a string is not a canonical post id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PostIdError {
    /// The string is empty.
    #[error("must not be empty")]
    Empty,
    /// A character other than an ASCII digit.
    #[error("must contain only the digits 0-9")]
    NotDigits,
    /// Zero-padded or zero: the same post could be claimed under many spellings.
    #[error("must not start with 0 (write the id without leading zeros)")]
    LeadingZero,
    /// More than `u64::MAX`; X ids are unsigned 64-bit integers.
    #[error("must fit in an unsigned 64-bit integer")]
    TooLarge,
}

/// Parses a post id in its one canonical spelling: decimal digits, no leading zero, at most
/// `u64::MAX`.
///
/// Only one spelling is accepted because `(miner_hotkey, post_id)` is the idempotency key:
/// with `"0123"` and `"123"` both allowed, a miner could submit one post twice.
pub fn parse_canonical_post_id(raw: &str) -> Result<u64, PostIdError> {
    if raw.is_empty() {
        return Err(PostIdError::Empty);
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PostIdError::NotDigits);
    }
    if raw.starts_with('0') {
        return Err(PostIdError::LeadingZero);
    }
    raw.parse::<u64>().map_err(|_| PostIdError::TooLarge)
}

/// Creation time, in Unix milliseconds, that X encodes in a snowflake id.
pub fn snowflake_time_ms(post_id: u64) -> u64 {
    (post_id >> 22) + SNOWFLAKE_EPOCH_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_digits_parse() {
        assert_eq!(
            parse_canonical_post_id("1860000000000000001"),
            Ok(1_860_000_000_000_000_001)
        );
        assert_eq!(parse_canonical_post_id("7"), Ok(7));
    }

    #[test]
    fn largest_u64_is_accepted_and_one_more_is_not() {
        assert_eq!(
            parse_canonical_post_id("18446744073709551615"),
            Ok(u64::MAX)
        );
        assert_eq!(
            parse_canonical_post_id("18446744073709551616"),
            Err(PostIdError::TooLarge)
        );
        assert_eq!(
            parse_canonical_post_id("99999999999999999999999"),
            Err(PostIdError::TooLarge)
        );
    }

    #[test]
    fn zero_padding_and_zero_are_rejected() {
        assert_eq!(
            parse_canonical_post_id("0123"),
            Err(PostIdError::LeadingZero)
        );
        assert_eq!(parse_canonical_post_id("0"), Err(PostIdError::LeadingZero));
        assert_eq!(parse_canonical_post_id("00"), Err(PostIdError::LeadingZero));
    }

    #[test]
    fn anything_but_ascii_digits_is_rejected() {
        for raw in [
            "12a", "-12", "+12", " 12", "12 ", "1_000", "1.0", "١٢٣", "1e9",
        ] {
            assert_eq!(
                parse_canonical_post_id(raw),
                Err(PostIdError::NotDigits),
                "{raw:?}"
            );
        }
        assert_eq!(parse_canonical_post_id(""), Err(PostIdError::Empty));
    }

    #[test]
    fn snowflake_time_is_the_high_bits_plus_the_x_epoch() {
        // 1_860_000_000_000_000_001 >> 22 = 443_458_557_128
        assert_eq!(
            snowflake_time_ms(1_860_000_000_000_000_001),
            443_458_557_128 + SNOWFLAKE_EPOCH_MS
        );
        assert_eq!(
            snowflake_time_ms((1000u64 << 22) | 0x3f_ffff),
            1000 + SNOWFLAKE_EPOCH_MS
        );
    }
}
