//! The signer threads: they sign requests ahead of need, so no signature is made on a
//! request's path and its latency is the server's alone.
//!
//! The planner asks for work through a channel ([`Job`]) whenever a hotkey's supply runs
//! low or expires; a signer makes the post and its signatures and hands them back.
//! Epistula requests are signed one per body and uuid (a uuid is accepted once, and a
//! timestamp for 300 s), X-Auth headers once per hotkey and reused while fresh.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use protocol::auth::{self, AuthForm};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::keys::{BenchKey, PostFactory};
use crate::plan::{EpistulaSet, FreshPost, Job, Planner, Signed};

/// What every signer thread shares.
#[derive(Debug)]
pub struct Signers {
    /// The run's hotkeys.
    pub keys: Arc<[BenchKey]>,
    /// Where post ids come from.
    pub posts: PostFactory,
    /// The X-Auth message prefix.
    pub message_prefix: String,
    /// Also sign a duplicate of each Epistula post.
    pub duplicates: bool,
    /// Also sign a conflicting variant of each Epistula post.
    pub conflicts: bool,
    /// Signatures made so far.
    pub signatures: AtomicU64,
    /// Set when the run ends: queued jobs are dropped rather than signed.
    pub stopping: AtomicBool,
}

impl Signers {
    /// Starts `count` threads taking jobs from `jobs` and delivering to `planner`,
    /// waking `notify`'s waiters after each delivery. Each thread stops at a
    /// [`Job::Stop`].
    pub fn spawn(
        self: &Arc<Self>,
        count: u32,
        jobs: Receiver<Job>,
        planner: Arc<Mutex<Planner>>,
        notify: Arc<Notify>,
    ) -> Vec<JoinHandle<()>> {
        let jobs = Arc::new(Mutex::new(jobs));
        (0..count)
            .map(|i| {
                let (signers, jobs, planner, notify) = (
                    Arc::clone(self),
                    Arc::clone(&jobs),
                    Arc::clone(&planner),
                    Arc::clone(&notify),
                );
                std::thread::Builder::new()
                    .name(format!("signer-{i}"))
                    .spawn(move || signers.work(&jobs, &planner, &notify))
                    .expect("a signer thread starts")
            })
            .collect()
    }

    fn work(&self, jobs: &Mutex<Receiver<Job>>, planner: &Mutex<Planner>, notify: &Notify) {
        loop {
            let job = jobs.lock().expect("jobs lock").recv();
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            match job {
                Ok(Job::Fresh(id)) => {
                    let post = self.fresh_post(id);
                    planner
                        .lock()
                        .expect("planner lock")
                        .deposit_fresh(id, post);
                }
                Ok(Job::Status(id)) => {
                    let signed = self.status(id);
                    planner
                        .lock()
                        .expect("planner lock")
                        .deposit_status(id, signed);
                }
                Ok(Job::XAuth(id)) => {
                    let signed = self.xauth(id);
                    planner
                        .lock()
                        .expect("planner lock")
                        .deposit_xauth(id, signed);
                }
                Ok(Job::Stop) | Err(_) => return,
            }
            notify.notify_waiters();
        }
    }

    fn epistula(&self, id: u32, body: &[u8], at: SystemTime) -> http::HeaderMap {
        self.signatures.fetch_add(1, Ordering::Relaxed);
        let ms = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        auth::sign_epistula_with(
            &self.keys[id as usize].hotkey,
            body,
            &Uuid::new_v4().to_string(),
            ms,
            "",
        )
    }

    /// A new post of hotkey `id`, signed when the hotkey uses Epistula.
    pub fn fresh_post(&self, id: u32) -> FreshPost {
        let key = &self.keys[id as usize];
        let bodies = self.posts.next(key.hotkey.ss58());
        let (at, now) = (Instant::now(), SystemTime::now());
        let epistula = (key.form == AuthForm::Epistula).then(|| EpistulaSet {
            first: self.epistula(id, &bodies.body, now),
            duplicate: self
                .duplicates
                .then(|| self.epistula(id, &bodies.body, now)),
            conflict: self
                .conflicts
                .then(|| self.epistula(id, &bodies.conflict_body, now)),
        });
        FreshPost {
            post_id: bodies.post_id,
            body: bodies.body,
            conflict_body: bodies.conflict_body,
            epistula,
            at,
        }
    }

    /// A signed, empty-bodied `/v2/status` request of Epistula hotkey `id`.
    pub fn status(&self, id: u32) -> Signed {
        let at = Instant::now();
        Signed {
            headers: self.epistula(id, b"", SystemTime::now()),
            at,
        }
    }

    /// X-Auth headers of hotkey `id`, signed now.
    pub fn xauth(&self, id: u32) -> Signed {
        self.signatures.fetch_add(1, Ordering::Relaxed);
        let at = Instant::now();
        Signed {
            headers: auth::sign_x_auth(
                &self.keys[id as usize].hotkey,
                &self.message_prefix,
                SystemTime::now(),
            ),
            at,
        }
    }
}
