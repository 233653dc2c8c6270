//! The generator's model of the server, and with it which request to send next and what
//! its reply must be.
//!
//! Every hotkey has at most one request in flight, so the model knows each hotkey's
//! quota use exactly: a reply carries the window the server placed the request in, and a
//! hotkey's use in a later window than the one it was last seen in is zero (the run's
//! hotkeys are used by nothing else while it runs). The expected reply of each request
//! follows from that, and any other reply is an error. Concurrency then comes from many
//! hotkeys, as it does on the real subnet, where each miner submits one post at a time.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method};
use protocol::auth::AuthForm;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use uuid::Uuid;

use crate::keys::BenchKey;
use crate::mix::{Mix, Op, Sequence};
use crate::receipts::{Fate, Receipt};

/// Random hotkeys tried before concluding that none of a group is ready.
const PROBES: usize = 8;
/// Stored posts kept per hotkey for duplicates and conflicts.
const STORED_PER_HOTKEY: usize = 8;

/// Signing work for the signer threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Sign one more fresh post for hotkey `.0`.
    Fresh(u32),
    /// Sign one more `/v2/status` request for Epistula hotkey `.0`.
    Status(u32),
    /// Sign new X-Auth headers for hotkey `.0`.
    XAuth(u32),
    /// Stop the signer thread that receives it.
    Stop,
}

/// Signature headers and when they were made.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The headers.
    pub headers: HeaderMap,
    /// When they were signed.
    pub at: Instant,
}

/// Epistula signatures of one post, each with a uuid of its own.
#[derive(Debug, Clone)]
pub struct EpistulaSet {
    /// Over the body, for its first submission.
    pub first: HeaderMap,
    /// Over the body again, for one duplicate.
    pub duplicate: Option<HeaderMap>,
    /// Over the conflicting body, for one conflict.
    pub conflict: Option<HeaderMap>,
}

/// A post signed ahead, not yet sent.
#[derive(Debug, Clone)]
pub struct FreshPost {
    /// The post id.
    pub post_id: u64,
    /// Its body.
    pub body: Bytes,
    /// The body of the conflicting variant.
    pub conflict_body: Bytes,
    /// Epistula signatures; `None` for X-Auth hotkeys, which use their current X-Auth
    /// headers.
    pub epistula: Option<EpistulaSet>,
    /// When it was signed.
    pub at: Instant,
}

/// A post the server stored, kept for duplicates and conflicts.
#[derive(Debug, Clone)]
struct StoredPost {
    post_id: u64,
    body: Bytes,
    conflict_body: Bytes,
    validation_id: Uuid,
    selected: bool,
    /// For Epistula hotkeys, the signatures left (each usable once).
    duplicate: Option<HeaderMap>,
    conflict: Option<HeaderMap>,
    at: Instant,
}

/// What the model knows of one hotkey.
#[derive(Debug, Default)]
struct HotkeyState {
    /// The window of its last reply, and its quota use in that window.
    window: u64,
    used: u32,
    /// A request of it is in flight.
    busy: bool,
    /// Its state is no longer known (a post's fate was lost); it sends nothing more.
    tainted: bool,
    fresh: VecDeque<FreshPost>,
    pending_fresh: u32,
    status: Option<Signed>,
    pending_status: bool,
    xauth: Option<Signed>,
    pending_xauth: bool,
    stored: VecDeque<StoredPost>,
}

/// A set of hotkey indices with O(1) insert, remove and random pick.
#[derive(Debug)]
struct IdSet {
    items: Vec<u32>,
    position: Vec<u32>,
}

const ABSENT: u32 = u32::MAX;

impl IdSet {
    fn new(capacity: usize) -> Self {
        Self {
            items: Vec::new(),
            position: vec![ABSENT; capacity],
        }
    }

    fn insert(&mut self, id: u32) {
        if self.position[id as usize] == ABSENT {
            self.position[id as usize] = self.items.len() as u32;
            self.items.push(id);
        }
    }

    fn remove(&mut self, id: u32) {
        let at = self.position[id as usize];
        if at == ABSENT {
            return;
        }
        let last = self.items.pop().expect("a member exists");
        if (at as usize) < self.items.len() {
            self.items[at as usize] = last;
            self.position[last as usize] = at;
        }
        self.position[id as usize] = ABSENT;
    }

    fn take_all(&mut self) -> Vec<u32> {
        for id in &self.items {
            self.position[*id as usize] = ABSENT;
        }
        std::mem::take(&mut self.items)
    }
}

/// Which group of idle hotkeys to pick from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Quota left in the current window.
    Fresh,
    /// Quota used in the current window.
    Full,
    /// With a stored post.
    Posted,
}

/// What a hotkey must have ready for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Fresh,
    Duplicate,
    Conflict,
    Status,
}

enum Pick {
    Found(u32),
    /// Not now, but soon: candidates lack their signatures, or busy hotkeys may become
    /// candidates when their replies come.
    Later,
    /// Not in this state of the model.
    Never,
}

/// The planner's answer.
#[derive(Debug)]
pub enum Plan {
    /// Send this.
    Send(Box<Request>, Ticket),
    /// Nothing can be sent until a reply or a signature arrives.
    Wait,
    /// Every hotkey is tainted: nothing can be sent with a known outcome any more.
    Exhausted,
}

/// A request ready to send.
#[derive(Debug)]
pub struct Request {
    /// GET or POST.
    pub method: Method,
    /// Path on the server.
    pub path: &'static str,
    /// Signature headers (none for public status).
    pub headers: HeaderMap,
    /// The body (empty for GET).
    pub body: Bytes,
}

/// What the planner needs back with the reply.
#[derive(Debug)]
pub struct Ticket {
    /// The kind sent.
    pub op: Op,
    /// The kind the mix asked for (differs from `op` when it had to be substituted).
    pub chosen: Op,
    hotkey: Option<u32>,
    expect: Expect,
}

#[derive(Debug)]
enum Expect {
    Fresh(Box<FreshPost>),
    Duplicate {
        post_id: u64,
        validation_id: Uuid,
        selected: bool,
    },
    Conflict {
        post_id: u64,
    },
    Status,
    QuotaStatus,
}

/// A reply as the runner received it.
#[derive(Debug)]
pub enum Reply {
    /// No reply: connection refused or reset, timeout.
    Transport(String),
    /// An HTTP reply.
    Http {
        /// Status code.
        status: u16,
        /// The whole body.
        body: Bytes,
    },
}

/// What a reply was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// `200` with `status: new`.
    New,
    /// `200` with `status: duplicate`.
    Duplicate,
    /// `409`.
    Conflict,
    /// `429`.
    RateLimited,
    /// `200` from public `/v2/status`.
    Status,
    /// `200` from signed `/v2/status`.
    QuotaStatus,
    /// Any other HTTP reply.
    OtherStatus,
    /// No HTTP reply.
    TransportError,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 8] = [
        Outcome::New,
        Outcome::Duplicate,
        Outcome::Conflict,
        Outcome::RateLimited,
        Outcome::Status,
        Outcome::QuotaStatus,
        Outcome::OtherStatus,
        Outcome::TransportError,
    ];

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::New => "new",
            Outcome::Duplicate => "duplicate",
            Outcome::Conflict => "conflict",
            Outcome::RateLimited => "rate_limited",
            Outcome::Status => "status",
            Outcome::QuotaStatus => "quota_status",
            Outcome::OtherStatus => "other_status",
            Outcome::TransportError => "transport_error",
        }
    }
}

/// Why a reply counts as an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// No HTTP reply.
    Transport,
    /// A 5xx reply.
    ServerError,
    /// A status other than the expected one.
    UnexpectedStatus,
    /// The expected status with a body that disagrees with the model (counts, ids).
    WrongBody,
}

impl FailureKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transport => "transport",
            FailureKind::ServerError => "server_error",
            FailureKind::UnexpectedStatus => "unexpected_status",
            FailureKind::WrongBody => "wrong_body",
        }
    }
}

/// An error found in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind.
    pub kind: FailureKind,
    /// What was expected and what came.
    pub message: String,
}

/// The verdict on one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// What the reply was.
    pub outcome: Outcome,
    /// The HTTP status, when there was a reply.
    pub status: Option<u16>,
    /// Why it is an error, if it is one.
    pub failure: Option<Failure>,
}

/// Planner settings.
#[derive(Debug, Clone)]
pub struct PlannerConfig {
    /// New posts per hotkey per window (the server's MAX_SUBMISSION_RATE).
    pub quota: u32,
    /// The mix.
    pub mix: Mix,
    /// Seed of the hotkey choices.
    pub seed: u64,
    /// Fresh posts kept signed ahead per hotkey.
    pub sign_ahead: u32,
    /// Fresh posts signed per hotkey before the run (when more than `sign_ahead`).
    pub presign: u32,
    /// Oldest signature sent.
    pub signature_max_age: Duration,
    /// Age at which X-Auth headers are replaced.
    pub xauth_reuse: Duration,
    /// Keep a receipt of every fresh post.
    pub keep_receipts: bool,
}

/// Counters of the planner's decisions.
#[derive(Debug, Clone, Default)]
pub struct PlannerStats {
    /// Requests per kind the mix asked for.
    pub chosen: BTreeMap<Op, u64>,
    /// Requests per kind sent.
    pub sent: BTreeMap<Op, u64>,
    /// (asked for, sent instead) when the asked kind was impossible, e.g. `new` when every
    /// hotkey's quota is used.
    pub substituted: BTreeMap<(Op, Op), u64>,
    /// `new` replies selected for validation.
    pub selected: u64,
    /// `new` replies.
    pub new_replies: u64,
    /// Hotkeys whose state was lost.
    pub tainted: u64,
    /// First and last window seen in replies.
    pub first_window: u64,
    /// Last window seen in replies.
    pub last_window: u64,
}

/// The model and the request chooser. Shared by the workers and the signer threads
/// behind one mutex; every method is short and does no I/O.
#[derive(Debug)]
pub struct Planner {
    config: PlannerConfig,
    keys: Arc<[BenchKey]>,
    hotkeys: Vec<HotkeyState>,
    fresh: IdSet,
    full: IdSet,
    posted: IdSet,
    /// Hotkeys with a request in flight.
    busy: IdSet,
    window: u64,
    sequence: Sequence,
    rng: StdRng,
    jobs: Sender<Job>,
    pending_jobs: u64,
    want_duplicate: bool,
    want_conflict: bool,
    want_status: bool,
    receipts: Vec<(u32, u64, Fate)>,
    stats: PlannerStats,
}

impl Planner {
    /// A planner for `keys`, sending signing work to `jobs`. Call
    /// [`Planner::request_initial_supply`], wait for [`Planner::pending_jobs`] to reach
    /// zero, read each hotkey's quota and [`Planner::start`].
    pub fn new(
        config: PlannerConfig,
        keys: Arc<[BenchKey]>,
        jobs: Sender<Job>,
        window: u64,
    ) -> Self {
        let n = keys.len();
        let mix = &config.mix;
        Self {
            want_duplicate: mix.weight(Op::Duplicate) > 0,
            want_conflict: mix.weight(Op::Conflict) > 0,
            want_status: mix.weight(Op::QuotaStatus) > 0,
            sequence: Sequence::new(mix),
            rng: StdRng::seed_from_u64(config.seed),
            hotkeys: (0..n)
                .map(|_| HotkeyState {
                    window,
                    ..HotkeyState::default()
                })
                .collect(),
            fresh: IdSet::new(n),
            full: IdSet::new(n),
            posted: IdSet::new(n),
            busy: IdSet::new(n),
            window,
            jobs,
            pending_jobs: 0,
            receipts: Vec::new(),
            stats: PlannerStats {
                first_window: window,
                last_window: window,
                ..PlannerStats::default()
            },
            config,
            keys,
        }
    }

    /// Whether Epistula hotkeys need a duplicate signature with each post.
    pub fn signs_duplicates(&self) -> bool {
        self.want_duplicate
    }

    /// Whether Epistula hotkeys need a conflict signature with each post.
    pub fn signs_conflicts(&self) -> bool {
        self.want_conflict
    }

    /// Asks the signers for every hotkey's X-Auth headers (used to read its quota) and
    /// the posts and status requests it keeps signed ahead.
    pub fn request_initial_supply(&mut self) {
        for id in 0..self.keys.len() as u32 {
            self.hotkeys[id as usize].pending_xauth = true;
            self.send_job(Job::XAuth(id));
            self.refill_to(id, self.config.presign.max(self.config.sign_ahead));
        }
    }

    /// Signing jobs asked for and not yet delivered.
    pub fn pending_jobs(&self) -> u64 {
        self.pending_jobs
    }

    /// X-Auth headers of hotkey `id`, to read its quota before the run.
    pub fn xauth_headers(&self, id: u32) -> Option<HeaderMap> {
        self.hotkeys[id as usize]
            .xauth
            .as_ref()
            .map(|s| s.headers.clone())
    }

    /// Records what the server said of hotkey `id` before the run: its quota use in
    /// `window`, or `None` when it could not be read (the hotkey is then left out).
    pub fn set_initial_quota(&mut self, id: u32, quota: Option<(u64, u32)>) {
        let state = &mut self.hotkeys[id as usize];
        match quota {
            Some((window, used)) => {
                state.window = window;
                state.used = used;
                self.observe_window(window);
            }
            None => self.taint(id),
        }
    }

    /// Makes every hotkey available to requests.
    pub fn start(&mut self) {
        for id in 0..self.keys.len() as u32 {
            self.place(id);
        }
    }

    /// The kind the mix asks for next.
    pub fn choose(&mut self) -> Op {
        let op = self.sequence.next_op();
        *self.stats.chosen.entry(op).or_default() += 1;
        op
    }

    /// A request of kind `chosen`, or of a substitute when `chosen` is impossible in the
    /// current state (`new` with every quota used, a duplicate before any post is stored);
    /// [`Plan::Wait`] when the hotkeys it needs are busy or their signatures not ready.
    pub fn plan(&mut self, chosen: Op, now: Instant) -> Plan {
        let chain = [chosen, Op::New, Op::OverQuota];
        for (i, op) in chain.into_iter().enumerate() {
            if chain[..i].contains(&op) {
                continue;
            }
            let pick = match op {
                Op::Status => return self.send(chosen, op, None),
                Op::New => self.pick(Group::Fresh, Need::Fresh, now),
                Op::OverQuota => self.pick(Group::Full, Need::Fresh, now),
                Op::Duplicate => self.pick(Group::Posted, Need::Duplicate, now),
                Op::Conflict => self.pick(Group::Posted, Need::Conflict, now),
                Op::QuotaStatus => self.pick_any(Need::Status, now),
            };
            match pick {
                Pick::Found(id) => return self.send(chosen, op, Some(id)),
                // Substituting now would change the mix only because of timing: a signer
                // is behind, or a hotkey with quota left is busy.
                Pick::Later => return Plan::Wait,
                Pick::Never => {}
            }
        }
        if self.stats.tainted as usize == self.hotkeys.len() {
            Plan::Exhausted
        } else {
            Plan::Wait
        }
    }

    /// Checks `reply` against the model, updates it and frees the hotkey.
    pub fn settle(&mut self, ticket: Ticket, reply: Reply) -> Settled {
        let id = ticket.hotkey;
        let settled = match ticket.expect {
            Expect::Fresh(post) => {
                let id = id.expect("posts have a hotkey");
                self.settle_fresh(id, *post, &reply)
            }
            Expect::Duplicate {
                post_id,
                validation_id,
                selected,
            } => {
                let id = id.expect("duplicates have a hotkey");
                self.settle_duplicate(id, post_id, validation_id, selected, &reply)
            }
            Expect::Conflict { post_id } => {
                let id = id.expect("conflicts have a hotkey");
                self.settle_conflict(id, post_id, &reply)
            }
            Expect::Status => self.settle_status(&reply),
            Expect::QuotaStatus => {
                let id = id.expect("signed status has a hotkey");
                self.settle_quota_status(id, &reply)
            }
        };
        if let Some(id) = id {
            self.hotkeys[id as usize].busy = false;
            self.busy.remove(id);
            self.place(id);
        }
        settled
    }

    /// A signed post for hotkey `id` from a signer.
    pub fn deposit_fresh(&mut self, id: u32, post: FreshPost) {
        self.pending_jobs -= 1;
        let state = &mut self.hotkeys[id as usize];
        state.pending_fresh -= 1;
        state.fresh.push_back(post);
        self.place(id);
    }

    /// A signed status request for hotkey `id` from a signer.
    pub fn deposit_status(&mut self, id: u32, signed: Signed) {
        self.pending_jobs -= 1;
        let state = &mut self.hotkeys[id as usize];
        state.pending_status = false;
        state.status = Some(signed);
    }

    /// New X-Auth headers for hotkey `id` from a signer.
    pub fn deposit_xauth(&mut self, id: u32, signed: Signed) {
        self.pending_jobs -= 1;
        let state = &mut self.hotkeys[id as usize];
        state.pending_xauth = false;
        state.xauth = Some(signed);
        self.place(id);
    }

    /// Sends `threads` stops, one for each signer thread.
    pub fn stop_signers(&mut self, threads: usize) {
        for _ in 0..threads {
            // A thread that already stopped needs none; nothing else can fail here.
            let _ = self.jobs.send(Job::Stop);
        }
    }

    /// The decision counters so far.
    pub fn stats(&self) -> &PlannerStats {
        &self.stats
    }

    /// The fate of every fresh post sent (when receipts are kept).
    pub fn receipts(&self) -> Vec<Receipt> {
        self.receipts
            .iter()
            .map(|(id, post_id, fate)| Receipt {
                hotkey: self.keys[*id as usize].hotkey.ss58().to_string(),
                post_id: post_id.to_string(),
                fate: *fate,
            })
            .collect()
    }

    fn send_job(&mut self, job: Job) {
        self.pending_jobs += 1;
        // The signers outlive every planner call; a send fails only while the run is
        // being torn down, when nothing waits for the result.
        let _ = self.jobs.send(job);
    }

    /// Asks for the signatures hotkey `id` is missing.
    fn refill(&mut self, id: u32) {
        self.refill_to(id, self.config.sign_ahead);
    }

    /// Asks for the signatures hotkey `id` is missing, counting `posts` fresh posts as
    /// its supply.
    fn refill_to(&mut self, id: u32, posts: u32) {
        let (form, want_status) = (self.keys[id as usize].form, self.want_status);
        let state = &mut self.hotkeys[id as usize];
        let missing = posts.saturating_sub(state.fresh.len() as u32 + state.pending_fresh);
        state.pending_fresh += missing;
        let status = form == AuthForm::Epistula
            && want_status
            && state.status.is_none()
            && !state.pending_status;
        if status {
            state.pending_status = true;
        }
        for _ in 0..missing {
            self.send_job(Job::Fresh(id));
        }
        if status {
            self.send_job(Job::Status(id));
        }
    }

    fn used_now(&self, id: u32) -> u32 {
        let state = &self.hotkeys[id as usize];
        if state.window == self.window {
            state.used
        } else {
            0
        }
    }

    /// Puts an idle hotkey in the groups it belongs to.
    fn place(&mut self, id: u32) {
        self.fresh.remove(id);
        self.full.remove(id);
        self.posted.remove(id);
        let state = &self.hotkeys[id as usize];
        if state.busy || state.tainted {
            return;
        }
        let has_posts = !state.stored.is_empty();
        if self.used_now(id) < self.config.quota {
            self.fresh.insert(id);
        } else {
            self.full.insert(id);
        }
        if has_posts {
            self.posted.insert(id);
        }
    }

    fn taint(&mut self, id: u32) {
        let state = &mut self.hotkeys[id as usize];
        if !state.tainted {
            state.tainted = true;
            self.stats.tainted += 1;
        }
        self.place(id);
    }

    /// A later window started: quota used in earlier windows no longer counts.
    fn observe_window(&mut self, window: u64) {
        self.stats.last_window = self.stats.last_window.max(window);
        self.stats.first_window = self.stats.first_window.min(window);
        if window > self.window {
            self.window = window;
            for id in self.full.take_all() {
                self.place(id);
            }
        }
    }

    fn group(&self, group: Group) -> &IdSet {
        match group {
            Group::Fresh => &self.fresh,
            Group::Full => &self.full,
            Group::Posted => &self.posted,
        }
    }

    /// Whether a busy hotkey may belong to `group` once its reply comes. Only quota left
    /// is waited for: `new` turns into `over-quota` only when no hotkey has any, so the
    /// counts of `new` and `429` replies follow from the quota alone. The other kinds are
    /// substituted at once rather than idling a connection.
    fn busy_may_join(&self, group: Group) -> bool {
        group == Group::Fresh
            && self
                .busy
                .items
                .iter()
                .any(|&id| self.used_now(id) < self.config.quota)
    }

    fn pick(&mut self, group: Group, need: Need, now: Instant) -> Pick {
        let items = &self.group(group).items;
        if items.is_empty() {
            return if self.busy_may_join(group) {
                Pick::Later
            } else {
                Pick::Never
            };
        }
        // A small group is tried in full, so the choice never misses a ready hotkey; a
        // large one by random probes. Ids are copied out first because checking a hotkey
        // may move it between groups.
        let mut candidates = [0u32; PROBES];
        let count = items.len().min(PROBES);
        if items.len() <= PROBES {
            candidates[..count].copy_from_slice(items);
        } else {
            let len = items.len();
            for slot in &mut candidates {
                let at = self.rng.random_range(0..len);
                *slot = self.group(group).items[at];
            }
        }
        for &id in &candidates[..count] {
            if self.ready(id, need, now) {
                return Pick::Found(id);
            }
        }
        match need {
            // Signers will deliver: wait for them.
            Need::Fresh | Need::Status => Pick::Later,
            // Used signatures of stored posts are not replaced.
            Need::Duplicate | Need::Conflict => Pick::Never,
        }
    }

    fn pick_any(&mut self, need: Need, now: Instant) -> Pick {
        let (fresh, full) = (self.fresh.items.len(), self.full.items.len());
        if fresh + full == 0 {
            return if !self.busy.items.is_empty() {
                Pick::Later
            } else {
                Pick::Never
            };
        }
        let group = if self.rng.random_range(0..fresh + full) < fresh {
            Group::Fresh
        } else {
            Group::Full
        };
        match self.pick(group, need, now) {
            Pick::Found(id) => Pick::Found(id),
            _ => Pick::Later,
        }
    }

    /// Whether hotkey `id` holds usable X-Auth headers; asks for new ones when they are
    /// due.
    fn xauth_ready(&mut self, id: u32, now: Instant) -> bool {
        let state = &self.hotkeys[id as usize];
        let age = state
            .xauth
            .as_ref()
            .map(|s| now.saturating_duration_since(s.at));
        if age.is_none_or(|age| age >= self.config.xauth_reuse) && !state.pending_xauth {
            self.hotkeys[id as usize].pending_xauth = true;
            self.send_job(Job::XAuth(id));
        }
        age.is_some_and(|age| age < self.config.signature_max_age)
    }

    /// Whether hotkey `id` can send a request that needs `need`; drops signatures too old
    /// to send and asks for replacements on the way.
    fn ready(&mut self, id: u32, need: Need, now: Instant) -> bool {
        let form = self.keys[id as usize].form;
        let max_age = self.config.signature_max_age;
        let stale = |at: Instant| now.saturating_duration_since(at) >= max_age;
        let state = &mut self.hotkeys[id as usize];
        let expired = state.fresh.iter().take_while(|p| stale(p.at)).count();
        state.fresh.drain(..expired);
        if form == AuthForm::Epistula {
            state
                .stored
                .retain(|p| !stale(p.at) && (p.duplicate.is_some() || p.conflict.is_some()));
            if state.status.as_ref().is_some_and(|s| stale(s.at)) {
                state.status = None;
            }
        }
        self.refill(id);
        let state = &self.hotkeys[id as usize];
        let epistula = form == AuthForm::Epistula;
        let has = match need {
            Need::Fresh => !state.fresh.is_empty(),
            Need::Status => !epistula || state.status.is_some(),
            Need::Duplicate => !epistula || state.stored.iter().any(|p| p.duplicate.is_some()),
            Need::Conflict => !epistula || state.stored.iter().any(|p| p.conflict.is_some()),
        };
        let ready = has && (epistula || self.xauth_ready(id, now));
        if !ready {
            // Stored posts may have been dropped above.
            self.place(id);
        }
        ready
    }

    /// Takes what hotkey `id` has ready for `op` and marks it busy.
    fn send(&mut self, chosen: Op, op: Op, id: Option<u32>) -> Plan {
        *self.stats.sent.entry(op).or_default() += 1;
        if op != chosen {
            *self.stats.substituted.entry((chosen, op)).or_default() += 1;
        }
        let Some(id) = id else {
            let request = Request {
                method: Method::GET,
                path: "/v2/status",
                headers: HeaderMap::new(),
                body: Bytes::new(),
            };
            let ticket = Ticket {
                op,
                chosen,
                hotkey: None,
                expect: Expect::Status,
            };
            return Plan::Send(Box::new(request), ticket);
        };
        let form = self.keys[id as usize].form;
        let xauth = self.hotkeys[id as usize]
            .xauth
            .as_ref()
            .map(|s| s.headers.clone())
            .unwrap_or_default();
        let state = &mut self.hotkeys[id as usize];
        state.busy = true;
        self.busy.insert(id);
        let (request, expect) = match op {
            Op::New | Op::OverQuota => {
                let post = state.fresh.pop_front().expect("checked by ready");
                let headers = match &post.epistula {
                    Some(set) => set.first.clone(),
                    None => xauth,
                };
                let body = post.body.clone();
                (
                    Request {
                        method: Method::POST,
                        path: "/v2/submit",
                        headers,
                        body,
                    },
                    Expect::Fresh(Box::new(post)),
                )
            }
            Op::Duplicate | Op::Conflict => {
                let duplicate = op == Op::Duplicate;
                // The newest stored post with a signature left for this kind.
                let index = (0..state.stored.len())
                    .rev()
                    .find(|&i| {
                        let p = &state.stored[i];
                        form == AuthForm::XAuth
                            || if duplicate {
                                p.duplicate.is_some()
                            } else {
                                p.conflict.is_some()
                            }
                    })
                    .expect("checked by ready");
                let post = &mut state.stored[index];
                let headers = match form {
                    AuthForm::XAuth => xauth,
                    AuthForm::Epistula if duplicate => post.duplicate.take().expect("checked"),
                    AuthForm::Epistula => post.conflict.take().expect("checked"),
                };
                let (body, expect) = if duplicate {
                    (
                        post.body.clone(),
                        Expect::Duplicate {
                            post_id: post.post_id,
                            validation_id: post.validation_id,
                            selected: post.selected,
                        },
                    )
                } else {
                    (
                        post.conflict_body.clone(),
                        Expect::Conflict {
                            post_id: post.post_id,
                        },
                    )
                };
                (
                    Request {
                        method: Method::POST,
                        path: "/v2/submit",
                        headers,
                        body,
                    },
                    expect,
                )
            }
            Op::QuotaStatus => {
                let headers = match form {
                    AuthForm::XAuth => xauth,
                    AuthForm::Epistula => state.status.take().expect("checked by ready").headers,
                };
                (
                    Request {
                        method: Method::GET,
                        path: "/v2/status",
                        headers,
                        body: Bytes::new(),
                    },
                    Expect::QuotaStatus,
                )
            }
            Op::Status => unreachable!("public status has no hotkey"),
        };
        self.place(id);
        self.refill(id);
        Plan::Send(
            Box::new(request),
            Ticket {
                op,
                chosen,
                hotkey: Some(id),
                expect,
            },
        )
    }

    /// The hotkey's quota use in `window` before this request, or `None` when `window`
    /// is earlier than one it was already seen in (the server's block went backwards).
    fn used_in(&self, id: u32, window: u64) -> Option<u32> {
        let state = &self.hotkeys[id as usize];
        match window.cmp(&state.window) {
            std::cmp::Ordering::Equal => Some(state.used),
            std::cmp::Ordering::Greater => Some(0),
            std::cmp::Ordering::Less => None,
        }
    }

    fn record(&mut self, id: u32, post_id: u64, fate: Fate) {
        if self.config.keep_receipts {
            self.receipts.push((id, post_id, fate));
        }
    }

    fn settle_fresh(&mut self, id: u32, post: FreshPost, reply: &Reply) -> Settled {
        let (status, body) = match reply {
            Reply::Transport(error) => {
                self.taint(id);
                self.record(id, post.post_id, Fate::Unknown);
                return transport(error);
            }
            Reply::Http { status, body } => (*status, parse(body)),
        };
        let outcome = classify_submit(status, &body);
        if !matches!(outcome, Outcome::New | Outcome::RateLimited) {
            self.taint(id);
            self.record(id, post.post_id, Fate::Unknown);
            return unexpected(outcome, status, "200 new or 429", &body);
        }
        let Some(window) = body["current_window"].as_u64() else {
            self.taint(id);
            self.record(id, post.post_id, Fate::Unknown);
            return wrong_body(outcome, status, "no current_window in the reply", &body);
        };
        let Some(used) = self.used_in(id, window) else {
            self.taint(id);
            self.record(id, post.post_id, Fate::Unknown);
            return wrong_body(outcome, status, "the reply's window went backwards", &body);
        };
        self.observe_window(window);
        let quota = self.config.quota;
        if outcome == Outcome::RateLimited {
            self.record(id, post.post_id, Fate::Refused);
            let state = &mut self.hotkeys[id as usize];
            state.window = window;
            state.used = used;
            let count = body["detail"]["rate_limit"]["current_count"].as_u64();
            if used < quota {
                self.taint(id);
                return unexpected(
                    outcome,
                    status,
                    &format!("200 new ({used} of {quota} used in window {window})"),
                    &body,
                );
            }
            if count != Some(u64::from(used)) {
                self.taint(id);
                return wrong_body(
                    outcome,
                    status,
                    &format!("rate_limit.current_count {used}"),
                    &body,
                );
            }
            return ok(outcome, status);
        }
        let validation_id = body["validation_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok());
        let selected = body["selected_for_validation"].as_bool();
        let (Some(validation_id), Some(selected)) = (validation_id, selected) else {
            self.taint(id);
            self.record(id, post.post_id, Fate::Unknown);
            return wrong_body(
                outcome,
                status,
                "validation_id and selected_for_validation",
                &body,
            );
        };
        self.record(
            id,
            post.post_id,
            Fate::New {
                validation_id,
                selected,
                window,
            },
        );
        self.stats.new_replies += 1;
        self.stats.selected += u64::from(selected);
        let reported = body["submissions_in_window"].as_u64();
        let state = &mut self.hotkeys[id as usize];
        state.window = window;
        state.used = used + 1;
        let (duplicate, conflict) = match post.epistula {
            Some(set) => (set.duplicate, set.conflict),
            None => (None, None),
        };
        // Stored posts are kept only for duplicates and conflicts to reuse.
        if self.want_duplicate || self.want_conflict {
            state.stored.push_back(StoredPost {
                post_id: post.post_id,
                body: post.body,
                conflict_body: post.conflict_body,
                validation_id,
                selected,
                duplicate,
                conflict,
                at: post.at,
            });
            if state.stored.len() > STORED_PER_HOTKEY {
                state.stored.pop_front();
            }
        }
        if used >= quota {
            self.taint(id);
            return unexpected(
                outcome,
                status,
                &format!("429 ({used} of {quota} already used in window {window})"),
                &body,
            );
        }
        if reported != Some(u64::from(used + 1)) {
            self.taint(id);
            return wrong_body(
                outcome,
                status,
                &format!("submissions_in_window {}", used + 1),
                &body,
            );
        }
        ok(outcome, status)
    }

    fn settle_duplicate(
        &mut self,
        id: u32,
        post_id: u64,
        validation_id: Uuid,
        selected: bool,
        reply: &Reply,
    ) -> Settled {
        let (status, body) = match reply {
            Reply::Transport(error) => return transport(error),
            Reply::Http { status, body } => (*status, parse(body)),
        };
        let outcome = classify_submit(status, &body);
        if outcome != Outcome::Duplicate {
            if outcome == Outcome::New {
                // The stored post is gone, or was never stored: the model is wrong here.
                self.taint(id);
            }
            return unexpected(
                outcome,
                status,
                &format!("200 duplicate of post {post_id}"),
                &body,
            );
        }
        let same = body["validation_id"].as_str() == Some(&validation_id.to_string())
            && body["selected_for_validation"].as_bool() == Some(selected);
        if !same {
            return wrong_body(
                outcome,
                status,
                &format!(
                    "the original receipt (validation_id {validation_id}, selected {selected})"
                ),
                &body,
            );
        }
        self.check_quota_report(id, outcome, status, &body, "submissions_in_window")
    }

    fn settle_conflict(&mut self, id: u32, post_id: u64, reply: &Reply) -> Settled {
        let (status, body) = match reply {
            Reply::Transport(error) => return transport(error),
            Reply::Http { status, body } => (*status, parse(body)),
        };
        let outcome = classify_submit(status, &body);
        if outcome != Outcome::Conflict {
            return unexpected(outcome, status, &format!("409 for post {post_id}"), &body);
        }
        if body["detail"]["differing_fields"] != serde_json::json!(["likes"]) {
            return wrong_body(outcome, status, "differing_fields [\"likes\"]", &body);
        }
        match body["current_window"].as_u64() {
            Some(window) => {
                self.observe_window(window);
                if let Some(used) = self.used_in(id, window) {
                    let state = &mut self.hotkeys[id as usize];
                    state.window = window;
                    state.used = used;
                }
                ok(outcome, status)
            }
            None => wrong_body(outcome, status, "current_window", &body),
        }
    }

    fn settle_status(&mut self, reply: &Reply) -> Settled {
        let (status, body) = match reply {
            Reply::Transport(error) => return transport(error),
            Reply::Http { status, body } => (*status, parse(body)),
        };
        if status != 200 {
            return unexpected(Outcome::OtherStatus, status, "200", &body);
        }
        match (body["status"].as_str(), body["current_window"].as_u64()) {
            (Some("ok"), Some(window)) => {
                self.observe_window(window);
                ok(Outcome::Status, status)
            }
            _ => wrong_body(
                Outcome::Status,
                status,
                "status ok and current_window",
                &body,
            ),
        }
    }

    fn settle_quota_status(&mut self, id: u32, reply: &Reply) -> Settled {
        let (status, body) = match reply {
            Reply::Transport(error) => return transport(error),
            Reply::Http { status, body } => (*status, parse(body)),
        };
        if status != 200 {
            return unexpected(Outcome::OtherStatus, status, "200", &body);
        }
        let hotkey = self.keys[id as usize].hotkey.ss58();
        if body["hotkey"].as_str() != Some(hotkey) {
            return wrong_body(
                Outcome::QuotaStatus,
                status,
                &format!("hotkey {hotkey}"),
                &body,
            );
        }
        self.check_quota_report(
            id,
            Outcome::QuotaStatus,
            status,
            &body,
            "submissions_in_window",
        )
    }

    /// Compares the quota use a reply reports with the model's, and takes its window.
    fn check_quota_report(
        &mut self,
        id: u32,
        outcome: Outcome,
        status: u16,
        body: &Value,
        field: &str,
    ) -> Settled {
        let Some(window) = body["current_window"].as_u64() else {
            return wrong_body(outcome, status, "current_window", body);
        };
        let Some(used) = self.used_in(id, window) else {
            self.taint(id);
            return wrong_body(outcome, status, "the reply's window went backwards", body);
        };
        self.observe_window(window);
        let state = &mut self.hotkeys[id as usize];
        state.window = window;
        state.used = used;
        if body[field].as_u64() != Some(u64::from(used)) {
            self.taint(id);
            return wrong_body(
                outcome,
                status,
                &format!("{field} {used} in window {window}"),
                body,
            );
        }
        ok(outcome, status)
    }
}

fn parse(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn classify_submit(status: u16, body: &Value) -> Outcome {
    match (status, body["status"].as_str()) {
        (200, Some("new")) => Outcome::New,
        (200, Some("duplicate")) => Outcome::Duplicate,
        (409, _) => Outcome::Conflict,
        (429, _) => Outcome::RateLimited,
        _ => Outcome::OtherStatus,
    }
}

fn ok(outcome: Outcome, status: u16) -> Settled {
    Settled {
        outcome,
        status: Some(status),
        failure: None,
    }
}

fn transport(error: &str) -> Settled {
    Settled {
        outcome: Outcome::TransportError,
        status: None,
        failure: Some(Failure {
            kind: FailureKind::Transport,
            message: error.to_string(),
        }),
    }
}

/// A short form of a reply body for error messages.
fn excerpt(body: &Value) -> String {
    let text = body.to_string();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

fn unexpected(outcome: Outcome, status: u16, expected: &str, body: &Value) -> Settled {
    let kind = if status >= 500 {
        FailureKind::ServerError
    } else {
        FailureKind::UnexpectedStatus
    };
    Settled {
        outcome,
        status: Some(status),
        failure: Some(Failure {
            kind,
            message: format!("expected {expected}, got {status}: {}", excerpt(body)),
        }),
    }
}

fn wrong_body(outcome: Outcome, status: u16, expected: &str, body: &Value) -> Settled {
    Settled {
        outcome,
        status: Some(status),
        failure: Some(Failure {
            kind: FailureKind::WrongBody,
            message: format!("{status} reply without {expected}: {}", excerpt(body)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_set_inserts_removes_and_empties() {
        let mut set = IdSet::new(5);
        for id in [3, 1, 4] {
            set.insert(id);
        }
        set.insert(1);
        assert_eq!(set.items.len(), 3);
        set.remove(3);
        set.remove(3);
        assert_eq!(set.items, [4, 1]);
        set.remove(1);
        assert_eq!(set.items, [4]);
        assert_eq!(set.take_all(), [4]);
        set.insert(4);
        assert_eq!(set.items, [4]);
    }

    #[test]
    fn submit_replies_are_classified_by_status_and_body() {
        let new = serde_json::json!({"status": "new"});
        let duplicate = serde_json::json!({"status": "duplicate"});
        assert_eq!(classify_submit(200, &new), Outcome::New);
        assert_eq!(classify_submit(200, &duplicate), Outcome::Duplicate);
        assert_eq!(classify_submit(409, &Value::Null), Outcome::Conflict);
        assert_eq!(classify_submit(429, &Value::Null), Outcome::RateLimited);
        assert_eq!(classify_submit(401, &Value::Null), Outcome::OtherStatus);
    }
}
