//! The X-Auth signatures this process has proven, so that reused X-Auth headers cost a
//! lookup rather than an sr25519 verification.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use protocol::auth::{AuthPolicy, ProvenSignatures, ProvenXAuth};

/// X-Auth signatures known to verify, consulted by [`protocol::auth::verify_request_with`].
///
/// Entries are keyed by the signature and hold the key and message it was proven for; a
/// hit needs all three to match. Only signatures that verified are kept, so a memo can never
/// make a bad signature pass. The memo holds at most `capacity` entries: when full, entries
/// whose message is older than the freshness window are dropped (they could not be
/// accepted again anyway), and if that frees nothing the memo starts over. Stale entries
/// are also swept every minute, so the memo's size follows the signatures in use.
#[derive(Debug)]
pub struct XAuthMemo {
    capacity: usize,
    entries: Mutex<MemoEntries>,
}

#[derive(Debug, Default)]
struct MemoEntries {
    by_signature: HashMap<[u8; 64], MemoEntry>,
    /// Unix seconds of the last sweep of stale entries.
    swept_at: u64,
}

/// Seconds between sweeps of stale entries, so that the memo holds about one freshness
/// window of signatures rather than filling up to its capacity.
const MEMO_SWEEP_SECS: u64 = 60;

#[derive(Debug)]
struct MemoEntry {
    public_key: [u8; 32],
    message: Box<str>,
    message_secs: u64,
}

impl XAuthMemo {
    /// A memo of at most `capacity` signatures (about 200 bytes each).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(MemoEntries::default()),
        }
    }

    /// Signatures held now.
    pub fn len(&self) -> usize {
        self.lock().by_signature.len()
    }

    /// Whether the memo holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoEntries> {
        // A panic while holding the lock cannot leave an entry half-written (inserts and
        // removals are single calls), so a poisoned memo is still sound.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ProvenSignatures for XAuthMemo {
    fn is_proven(&self, proof: &ProvenXAuth<'_>) -> bool {
        self.lock()
            .by_signature
            .get(proof.signature)
            .is_some_and(|entry| {
                entry.public_key == *proof.public_key && &*entry.message == proof.message
            })
    }

    fn remember(&self, proof: &ProvenXAuth<'_>, now: SystemTime, policy: &AuthPolicy) {
        let mut entries = self.lock();
        let now_secs = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if entries.by_signature.len() >= self.capacity
            || now_secs >= entries.swept_at.saturating_add(MEMO_SWEEP_SECS)
        {
            let oldest_fresh = now_secs.saturating_sub(policy.max_age.as_secs() + 1);
            entries
                .by_signature
                .retain(|_, entry| entry.message_secs >= oldest_fresh);
            entries.swept_at = now_secs;
            if entries.by_signature.len() >= self.capacity {
                entries.by_signature.clear();
            }
        }
        entries.by_signature.insert(
            *proof.signature,
            MemoEntry {
                public_key: *proof.public_key,
                message: proof.message.into(),
                message_secs: proof.message_secs,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::HeaderValue;
    use protocol::Hotkey;
    use protocol::auth::{
        AuthError, DEFAULT_MESSAGE_PREFIX, header, sign_x_auth, verify_request, verify_request_with,
    };

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn key() -> Hotkey {
        Hotkey::from_seed([0x11; 32])
    }

    #[test]
    fn a_memo_gives_the_same_answers_and_holds_only_proven_signatures() {
        let policy = AuthPolicy::default();
        let memo = XAuthMemo::new(16);
        let now = at(1_764_120_123);
        let headers = sign_x_auth(&key(), DEFAULT_MESSAGE_PREFIX, now);
        let plain = verify_request(&headers, b"", &policy, now);
        assert!(plain.as_ref().is_ok_and(Option::is_some));
        for _ in 0..3 {
            assert_eq!(
                verify_request_with(&headers, b"", &policy, now, Some(&memo)),
                plain
            );
        }
        assert_eq!(memo.len(), 1, "one signature, proven once");

        // The proven signature with another signer or another second is still refused.
        let mut other_signer = headers.clone();
        other_signer.insert(
            header::X_AUTH_SS58_ADDRESS,
            HeaderValue::from_str(Hotkey::from_seed([0x22; 32]).ss58()).unwrap(),
        );
        assert_eq!(
            verify_request_with(&other_signer, b"", &policy, now, Some(&memo)),
            Err(AuthError::BadSignature)
        );
        let mut other_second = headers.clone();
        other_second.insert(
            header::X_AUTH_MESSAGE,
            HeaderValue::from_static("talisman-ai-auth:1764120124"),
        );
        other_second.insert(
            header::X_AUTH_TIMESTAMP,
            HeaderValue::from_static("1764120124.0"),
        );
        assert_eq!(
            verify_request_with(&other_second, b"", &policy, now, Some(&memo)),
            Err(AuthError::BadSignature)
        );
        assert_eq!(memo.len(), 1, "refused signatures are not remembered");

        // Remembered is not fresh: a stale header is refused as without the memo.
        assert!(matches!(
            verify_request_with(&headers, b"", &policy, at(1_764_120_424), Some(&memo)),
            Err(AuthError::Stale { .. })
        ));
    }

    #[test]
    fn a_full_memo_drops_stale_signatures_first_then_starts_over() {
        let policy = AuthPolicy::default();
        let memo = XAuthMemo::new(2);
        let keys: Vec<Hotkey> = (1..=4u8).map(|i| Hotkey::from_seed([i; 32])).collect();
        let verify = |key: &Hotkey, signed: u64, now: u64| {
            let headers = sign_x_auth(key, DEFAULT_MESSAGE_PREFIX, at(signed));
            verify_request_with(&headers, b"", &policy, at(now), Some(&memo)).unwrap();
        };
        verify(&keys[0], 1_000, 1_000);
        verify(&keys[1], 1_200, 1_200);
        // Full; at 1,400 the first (signed at 1,000) is stale and makes room.
        verify(&keys[2], 1_400, 1_400);
        assert_eq!(memo.len(), 2);
        // Full of fresh signatures: the memo starts over rather than grow.
        verify(&keys[3], 1_401, 1_401);
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn stale_signatures_are_swept_each_minute_before_the_memo_is_full() {
        let policy = AuthPolicy::default();
        let memo = XAuthMemo::new(100);
        let keys: Vec<Hotkey> = (1..=3u8).map(|i| Hotkey::from_seed([i; 32])).collect();
        let verify = |key: &Hotkey, secs: u64| {
            let headers = sign_x_auth(key, DEFAULT_MESSAGE_PREFIX, at(secs));
            verify_request_with(&headers, b"", &policy, at(secs), Some(&memo)).unwrap();
        };
        verify(&keys[0], 1_000);
        verify(&keys[1], 1_030);
        assert_eq!(
            memo.len(),
            2,
            "within a minute of the last sweep nothing is swept"
        );
        // 1,400: the first two are stale (older than 300 s) and the last sweep was long ago.
        verify(&keys[2], 1_400);
        assert_eq!(memo.len(), 1);
    }
}
