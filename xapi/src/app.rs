//! [`XApi`], the double's shared state and the handle tests use to change it in-process.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, datetime};
use crate::config::Config;
use crate::dataset::{Dataset, DatasetError, PostLine};
use crate::ratelimit::{Quota, RateLimiter};
use crate::store::{AdminError, PostPatch, PostView, Store};

/// The two rate-limited X endpoints; each has its own window, as on X.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `GET /2/tweets/search/recent`.
    Search,
    /// `GET /2/tweets`.
    Lookup,
}

/// A change to the served posts, from the admin API, a schedule or a test.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    /// Change the post named by `post` (an id or a key).
    Update {
        /// Id (all digits) or key of the post.
        post: String,
        /// What to change.
        patch: PostPatch,
    },
    /// Add a post, dated from the double's current time.
    Add(PostLine),
}

/// The running double: configuration, clock, posts and rate-limit counters. Cheap to clone;
/// clones share everything, so a test keeps one and hands another to [`crate::serve`].
#[derive(Debug, Clone)]
pub struct XApi {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    clock: Clock,
    store: Mutex<Store>,
    search_limiter: RateLimiter,
    lookup_limiter: RateLimiter,
}

impl XApi {
    /// Builds the double: dates every post from `config.anchor` (or now), mints ids.
    ///
    /// Fails if a post would predate X's snowflake epoch or two posts get the same id.
    pub fn new(dataset: &Dataset, config: Config) -> Result<Self, DatasetError> {
        let clock = Clock::new(config.anchor.unwrap_or_else(Utc::now));
        let store = Store::build(dataset, clock.anchor_ms())?;
        let window_ms = i64::try_from(config.rate_limit_window.as_millis()).unwrap_or(i64::MAX);
        Ok(Self {
            inner: Arc::new(Inner {
                search_limiter: RateLimiter::new(config.search_limit, window_ms),
                lookup_limiter: RateLimiter::new(config.lookup_limit, window_ms),
                config,
                clock,
                store: Mutex::new(store),
            }),
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The time dataset ages count back from (whole seconds).
    pub fn anchor(&self) -> DateTime<Utc> {
        datetime(self.inner.clock.anchor_ms())
    }

    /// The double's current time: anchor + real time since start + time advanced.
    pub fn now(&self) -> DateTime<Utc> {
        datetime(self.now_ms())
    }

    /// Moves the double's clock forward: posts age (and leave the search window), rate-limit
    /// windows end. Time never goes back.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.clock.advance(by);
    }

    /// Every post, deleted ones included, in dataset order then in order of addition.
    pub fn posts(&self) -> Vec<PostView> {
        let store = self.store();
        (0..store.posts().len()).map(|i| store.view(i)).collect()
    }

    /// The post with this id (all digits) or key.
    pub fn post(&self, reference: &str) -> Option<PostView> {
        let store = self.store();
        store.find(reference).map(|i| store.view(i))
    }

    /// Adds a post created `age_minutes` before the current time (or at its fixed id's time).
    /// `retweet_of` may name the original by key or id. When the author's username is already
    /// known, the stored author is kept and the line's other author fields are ignored (change
    /// authors with a patch's `author`).
    pub fn add_post(&self, line: PostLine) -> Result<PostView, AdminError> {
        let now_ms = self.now_ms();
        let mut store = self.store();
        let index = store.add(&line, now_ms)?;
        let view = store.view(index);
        tracing::info!(post.id = view.id, post.key = %view.key, "post added");
        Ok(view)
    }

    /// Changes the post with this id or key.
    pub fn update_post(&self, reference: &str, patch: &PostPatch) -> Result<PostView, AdminError> {
        let mut store = self.store();
        let index = store
            .find(reference)
            .ok_or_else(|| AdminError::NotFound(reference.to_owned()))?;
        store.patch(index, patch)?;
        let view = store.view(index);
        tracing::info!(post.id = view.id, post.key = %view.key, ?patch, "post changed");
        Ok(view)
    }

    /// Applies a [`Mutation`].
    pub fn apply(&self, mutation: &Mutation) -> Result<PostView, AdminError> {
        match mutation {
            Mutation::Update { post, patch } => self.update_post(post, patch),
            Mutation::Add(line) => self.add_post(line.clone()),
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The posts, locked. Held only for synchronous work: no handler awaits while holding it.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave a half-applied patch that matters to
        // a test double, so a poisoned lock is used as it is.
        self.inner
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one request against an endpoint's window.
    pub(crate) fn take_quota(&self, endpoint: Endpoint) -> Quota {
        let limiter = match endpoint {
            Endpoint::Search => &self.inner.search_limiter,
            Endpoint::Lookup => &self.inner.lookup_limiter,
        };
        limiter.take(self.now_ms())
    }
}
