//! The run's miners: hotkeys derived from a seed, and the posts they submit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use protocol::Hotkey;
use protocol::api::SubmitRequest;
use protocol::auth::AuthForm;
use protocol::post_id::SNOWFLAKE_EPOCH_MS;
use sha2::{Digest, Sha256};

/// One miner of the run.
#[derive(Debug, Clone)]
pub struct BenchKey {
    /// The signing key.
    pub hotkey: Hotkey,
    /// The header form it signs with: Epistula, a signature over each body with a uuid
    /// accepted once, or X-Auth, a signature over the time only, reused while fresh.
    pub form: AuthForm,
}

/// `count` hotkeys derived from `seed`; a share `epistula_share` of them, spread evenly,
/// sign with Epistula.
///
/// The same seed always gives the same hotkeys, so reruns act as the same miners (and
/// find the quota those miners already used in the current window).
pub fn derive(seed: u64, count: u32, epistula_share: f64) -> Vec<BenchKey> {
    (0..count)
        .map(|i| {
            let digest = Sha256::digest(format!("pulse-bench hotkey {seed}/{i}"));
            // Hotkey i signs with Epistula when the running count of Epistula hotkeys
            // steps up at i, which spreads them evenly instead of putting them first.
            let before = (f64::from(i) * epistula_share).floor();
            let after = (f64::from(i + 1) * epistula_share).floor();
            BenchKey {
                hotkey: Hotkey::from_seed(digest.into()),
                form: if after > before {
                    AuthForm::Epistula
                } else {
                    AuthForm::XAuth
                },
            }
        })
        .collect()
}

/// A post body ready to send, and the variant that conflicts with it.
#[derive(Debug, Clone)]
pub struct PostBodies {
    /// The post id.
    pub post_id: u64,
    /// The JSON body.
    pub body: Bytes,
    /// The same post id with one more like: a conflict once `body` is stored.
    pub conflict_body: Bytes,
}

/// Makes posts with ids no earlier run used.
///
/// Ids are X snowflakes of the run's start time (`(ms since X's epoch) << 22`) plus a
/// counter, so they are canonical, unique within the run, and above every id of an
/// earlier run unless that run made over four million posts per millisecond it lasted.
#[derive(Debug)]
pub struct PostFactory {
    base: u64,
    next: AtomicU64,
}

impl PostFactory {
    /// A factory whose ids start at the snowflake of `now`.
    pub fn new(now: SystemTime) -> Self {
        let ms = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        Self {
            base: ms.saturating_sub(SNOWFLAKE_EPOCH_MS) << 22,
            next: AtomicU64::new(0),
        }
    }

    /// A new post by `miner`.
    pub fn next(&self, miner: &str) -> PostBodies {
        let post_id = self.base + self.next.fetch_add(1, Ordering::Relaxed);
        let now = service::unix_now();
        let mut post = SubmitRequest {
            miner_hotkey: miner.to_string(),
            post_id: post_id.to_string(),
            content: format!(
                "SN{} looks strong this week: steady emissions and a busy validator set (bench post {post_id})",
                post_id % 128 + 1
            ),
            date: now - 60,
            author: format!("bench_{}", post_id % 1000),
            account_age: 365 + post_id % 1000,
            retweets: post_id % 50,
            likes: post_id % 500,
            responses: post_id % 20,
            followers: 1_000 + post_id % 100_000,
            tokens: [("talisman_ai".to_string(), 1.0)].into_iter().collect(),
            sentiment: 0.5,
            score: 0.55,
        };
        let body = Bytes::from(serde_json::to_vec(&post).expect("a post serialises"));
        post.likes += 1;
        let conflict_body = Bytes::from(serde_json::to_vec(&post).expect("a post serialises"));
        PostBodies {
            post_id,
            body,
            conflict_body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_same_seed_gives_the_same_hotkeys_and_another_seed_others() {
        let a = derive(7, 3, 0.5);
        let b = derive(7, 3, 0.5);
        let c = derive(8, 3, 0.5);
        assert_eq!(a[2].hotkey.ss58(), b[2].hotkey.ss58());
        assert_ne!(a[0].hotkey.ss58(), c[0].hotkey.ss58());
        assert_ne!(a[0].hotkey.ss58(), a[1].hotkey.ss58());
    }

    #[test]
    fn epistula_hotkeys_are_spread_in_the_requested_share() {
        let keys = derive(1, 100, 0.3);
        let epistula = keys.iter().filter(|k| k.form == AuthForm::Epistula).count();
        assert_eq!(epistula, 30);
        assert!(derive(1, 4, 0.0).iter().all(|k| k.form == AuthForm::XAuth));
        assert!(
            derive(1, 4, 1.0)
                .iter()
                .all(|k| k.form == AuthForm::Epistula)
        );
    }

    #[test]
    fn post_ids_are_canonical_unique_and_later_runs_start_higher() {
        let start = UNIX_EPOCH + Duration::from_secs(1_764_120_000);
        let factory = PostFactory::new(start);
        let first = factory.next("5Miner");
        let second = factory.next("5Miner");
        assert!(second.post_id > first.post_id);
        assert!(protocol::post_id::parse_canonical_post_id(&first.post_id.to_string()).is_ok());
        let later = PostFactory::new(start + Duration::from_secs(1)).next("5Miner");
        assert!(later.post_id > second.post_id);
    }

    #[test]
    fn the_conflicting_body_differs_only_in_likes() {
        let post = PostFactory::new(SystemTime::now()).next("5Miner");
        let a: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&post.conflict_body).unwrap();
        assert_eq!(b["likes"], a["likes"].as_u64().unwrap() + 1);
        let (mut a, mut b) = (a, b);
        a["likes"] = 0.into();
        b["likes"] = 0.into();
        assert_eq!(a, b);
    }
}
