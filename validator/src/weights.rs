//! From window scores to a weight vector: the moving average, normalisation, burn, uids, and
//! the [`WeightSetter`] that publishes the result.
//!
//! - **Moving average** ([`update_ema`]): for each window, every miner's average becomes
//!   `0.9 x average + 0.1 x score`, a miner absent from the window scoring 0 for it
//!   (docs/protocol.md#weights). A new miner starts from 0. Averages that decay below [`PRUNE_BELOW`] are dropped
//!   (they could never again carry a visible weight without new scores).
//! - **Once per window**: [`WeightState::last_window`] is persisted with the averages, and a
//!   window at or before it is never applied again. After downtime the validator applies
//!   each missed window in order (at most [`MAX_CATCH_UP_WINDOWS`]; older ones would weigh
//!   less than 0.9^48 < 1%), so its averages match a validator that never stopped.
//! - **Weights** ([`compute_weights`]): the averages, L1-normalised; with a burn share `b`,
//!   the miners share `1 - b` and the burn uid receives `b` (all of it when no miner has any
//!   average yet).
//! - **Uids**: from a metagraph file ([`Metagraph`]). With one, the vector lists every uid
//!   of the metagraph (0 for those without an average) and hotkeys without a uid are left
//!   out *before* normalising, so their share goes to the miners that can receive weight;
//!   they are reported as `unmapped` (they keep their average, which applies again if they
//!   register). Without one, the vector names hotkeys only (`uid: null`), normalised over
//!   all of them.
//! - **Publication**: behind [`WeightSetter`]; [`FileWeightSetter`] writes the vector to
//!   `weights.json`, [`crate::chain_weights::ChainWeightSetter`] sets it on chain (and then
//!   takes the uids from the chain's metagraph rather than the file).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::durable;

/// Weight of the newest window in the moving average (docs/protocol.md#weights).
pub const EMA_ALPHA: f64 = 0.1;
/// Averages below this are dropped.
pub const PRUNE_BELOW: f64 = 1e-9;
/// Most missed windows applied when catching up.
pub const MAX_CATCH_UP_WINDOWS: u64 = 48;
/// The state file's version.
pub const STATE_VERSION: u32 = 1;
/// The state file's name in the hotkey's state directory.
pub const STATE_FILE: &str = "weights_state.json";
/// The weight file's name in the hotkey's state directory.
pub const WEIGHTS_FILE: &str = "weights.json";

/// The best post a validator passed in a window (highest server-equivalent score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestPost {
    /// The post.
    pub post_id: String,
    /// Its miner.
    pub miner_hotkey: String,
    /// Its validation task.
    pub validation_id: String,
    /// Its score as the server computes it from the submitted fields.
    pub score: f64,
    /// The start of its normalised text, for the log.
    pub excerpt: String,
}

/// What the validator remembers between windows and restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightState {
    /// The file format's version.
    pub version: u32,
    /// The last window whose scores were applied.
    pub last_window: Option<u64>,
    /// The last window whose weights were handed to the [`WeightSetter`] (behind
    /// `last_window` only if the validator stopped in between; then they are set on start).
    pub weights_set_for: Option<u64>,
    /// Miner hotkey -> moving average of its window scores.
    pub ema: BTreeMap<String, f64>,
    /// Window -> the best post this validator passed in it, until that window is applied.
    #[serde(default)]
    pub best_posts: BTreeMap<u64, BestPost>,
}

impl Default for WeightState {
    fn default() -> Self {
        Self {
            version: STATE_VERSION,
            last_window: None,
            weights_set_for: None,
            ema: BTreeMap::new(),
            best_posts: BTreeMap::new(),
        }
    }
}

impl WeightState {
    /// The windows to apply when the server is in `current_window`: after the last applied
    /// one, before the current one, at most [`MAX_CATCH_UP_WINDOWS`] (the newest). On first
    /// start, only the previous window.
    pub fn windows_to_apply(&self, current_window: u64) -> std::ops::Range<u64> {
        let Some(previous) = current_window.checked_sub(1) else {
            return 0..0;
        };
        let first = match self.last_window {
            None => previous,
            Some(last) => (last + 1).max(current_window.saturating_sub(MAX_CATCH_UP_WINDOWS)),
        };
        first..current_window.max(first)
    }

    /// Applies `window`'s scores to the averages; false (and no change) when `window` was
    /// already applied.
    pub fn apply(&mut self, window: u64, scores: &BTreeMap<String, f64>) -> bool {
        if self.last_window.is_some_and(|last| window <= last) {
            return false;
        }
        update_ema(&mut self.ema, scores);
        self.last_window = Some(window);
        true
    }

    /// Records `post` as the best of `window` if it beats the one recorded.
    pub fn offer_best_post(&mut self, window: u64, post: BestPost) {
        match self.best_posts.get(&window) {
            Some(best) if best.score >= post.score => {}
            _ => {
                self.best_posts.insert(window, post);
            }
        }
    }

    /// Takes the best post of `window`, forgetting it and any older ones.
    pub fn take_best_post(&mut self, window: u64) -> Option<BestPost> {
        let best = self.best_posts.remove(&window);
        self.best_posts.retain(|w, _| *w > window);
        best
    }
}

/// One window's step of the moving average: `ema = (1 - alpha) ema + alpha score`, a miner
/// absent from `scores` scoring 0; non-finite scores count as 0 and others are clamped to
/// [0, 1].
pub fn update_ema(ema: &mut BTreeMap<String, f64>, scores: &BTreeMap<String, f64>) {
    let hotkeys: BTreeSet<String> = ema.keys().chain(scores.keys()).cloned().collect();
    for hotkey in hotkeys {
        let score = scores
            .get(&hotkey)
            .copied()
            .filter(|s| s.is_finite())
            .unwrap_or(0.0)
            .clamp(0.0, 1.0);
        let average = ema.entry(hotkey).or_insert(0.0);
        *average = (1.0 - EMA_ALPHA) * *average + EMA_ALPHA * score;
    }
    ema.retain(|_, average| *average >= PRUNE_BELOW);
}

/// The persisted [`WeightState`].
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file in `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(STATE_FILE),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the state; a missing file is a fresh state, an unreadable one an error (starting
    /// afresh silently would forget every miner's history).
    pub fn load(&self) -> anyhow::Result<WeightState> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(WeightState::default()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()));
            }
        };
        let state: WeightState = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a weight state file; move it away to start the moving averages afresh",
                self.path.display()
            )
        })?;
        anyhow::ensure!(
            state.version == STATE_VERSION,
            "{} has format version {}; this pulse-validator reads version {STATE_VERSION}",
            self.path.display(),
            state.version
        );
        Ok(state)
    }

    /// Writes the state atomically and durably.
    pub fn save(&self, state: &WeightState) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(state).expect("the state serialises");
        durable::write_atomically(&self.path, &bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// One neuron of a [`Metagraph`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neuron {
    /// Its uid on the subnet.
    pub uid: u16,
    /// Its hotkey (SS58).
    pub hotkey: String,
}

/// The uids of a subnet's hotkeys, from a file:
///
/// ```json
/// {"netuid": 45, "block": 4512345, "neurons": [{"uid": 0, "hotkey": "5F..."}, {"uid": 1, "hotkey": "5G..."}]}
/// ```
///
/// `netuid` and `block` are optional and informational; uids and hotkeys must be unique and
/// hotkeys valid SS58. The file is re-read at every weight update, so a job that refreshes
/// it from the chain is picked up without a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metagraph {
    /// The subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netuid: Option<u16>,
    /// The block it was read at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<u64>,
    /// The neurons.
    pub neurons: Vec<Neuron>,
}

impl Metagraph {
    /// Reads and checks a metagraph file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the metagraph {}", path.display()))?;
        let metagraph: Metagraph = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a metagraph file", path.display()))?;
        metagraph
            .check()
            .with_context(|| format!("metagraph {}", path.display()))?;
        Ok(metagraph)
    }

    fn check(&self) -> anyhow::Result<()> {
        let mut uids = BTreeSet::new();
        let mut hotkeys = BTreeSet::new();
        for neuron in &self.neurons {
            anyhow::ensure!(uids.insert(neuron.uid), "uid {} appears twice", neuron.uid);
            anyhow::ensure!(
                hotkeys.insert(neuron.hotkey.as_str()),
                "hotkey {} appears twice",
                neuron.hotkey
            );
            protocol::ss58::decode(&neuron.hotkey).map_err(|e| {
                anyhow::anyhow!("uid {}: hotkey {:?}: {e}", neuron.uid, neuron.hotkey)
            })?;
        }
        Ok(())
    }

    fn uid_of(&self) -> BTreeMap<&str, u16> {
        self.neurons
            .iter()
            .map(|n| (n.hotkey.as_str(), n.uid))
            .collect()
    }
}

/// A share of the weight set aside for one uid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Burn {
    /// The uid.
    pub uid: u16,
    /// The share, in [0, 1].
    pub share: f64,
}

/// One entry of a weight vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightEntry {
    /// The uid (null without a metagraph).
    pub uid: Option<u16>,
    /// The hotkey (null for a burn uid the metagraph does not list).
    pub hotkey: Option<String>,
    /// The weight; the vector sums to 1 unless it is all zero.
    pub weight: f64,
}

/// A hotkey with an average but no uid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmapped {
    /// The hotkey.
    pub hotkey: String,
    /// Its moving average.
    pub ema: f64,
}

/// The weights after a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightVector {
    /// The last window whose scores are in it.
    pub window: u64,
    /// The weights, by uid (or by hotkey without a metagraph).
    pub weights: Vec<WeightEntry>,
    /// Hotkeys left out for want of a uid.
    pub unmapped: Vec<Unmapped>,
    /// The burn applied, if any.
    pub burn: Option<Burn>,
    /// The best post this validator passed in `window`, if any.
    pub best_post: Option<BestPost>,
}

impl WeightVector {
    /// Whether every weight is zero (nothing to set).
    pub fn is_zero(&self) -> bool {
        self.weights.iter().all(|w| w.weight == 0.0)
    }

    /// The weight of `hotkey`, if it is in the vector.
    pub fn weight_of(&self, hotkey: &str) -> Option<f64> {
        self.weights
            .iter()
            .find(|w| w.hotkey.as_deref() == Some(hotkey))
            .map(|w| w.weight)
    }
}

/// The weight vector of `ema` after `window`: see the module documentation.
pub fn compute_weights(
    window: u64,
    ema: &BTreeMap<String, f64>,
    metagraph: Option<&Metagraph>,
    burn: Option<Burn>,
) -> WeightVector {
    let mut unmapped = Vec::new();
    let mut weights: Vec<WeightEntry> = match metagraph {
        None => ema
            .iter()
            .map(|(hotkey, average)| WeightEntry {
                uid: None,
                hotkey: Some(hotkey.clone()),
                weight: *average,
            })
            .collect(),
        Some(metagraph) => {
            let uid_of = metagraph.uid_of();
            unmapped = ema
                .iter()
                .filter(|(hotkey, _)| !uid_of.contains_key(hotkey.as_str()))
                .map(|(hotkey, average)| Unmapped {
                    hotkey: hotkey.clone(),
                    ema: *average,
                })
                .collect();
            let mut neurons = metagraph.neurons.clone();
            neurons.sort_by_key(|n| n.uid);
            neurons
                .into_iter()
                .map(|n| WeightEntry {
                    uid: Some(n.uid),
                    weight: ema.get(&n.hotkey).copied().unwrap_or(0.0),
                    hotkey: Some(n.hotkey),
                })
                .collect()
        }
    };
    let total: f64 = weights.iter().map(|w| w.weight).sum();
    let burn = burn.filter(|b| b.share > 0.0);
    let miners_share = match burn {
        Some(b) => 1.0 - b.share.clamp(0.0, 1.0),
        None => 1.0,
    };
    for entry in &mut weights {
        entry.weight = if total > 0.0 {
            entry.weight / total * miners_share
        } else {
            0.0
        };
    }
    if let Some(b) = burn {
        let share = if total > 0.0 {
            b.share.clamp(0.0, 1.0)
        } else {
            1.0
        };
        match weights.iter_mut().find(|w| w.uid == Some(b.uid)) {
            Some(entry) => entry.weight += share,
            None => weights.push(WeightEntry {
                uid: Some(b.uid),
                hotkey: None,
                weight: share,
            }),
        }
    }
    WeightVector {
        window,
        weights,
        unmapped,
        burn,
        best_post: None,
    }
}

/// What became of a weight vector handed to a [`WeightSetter`] (the window line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WeightsOutcome {
    /// Written to the weight file.
    Written {
        /// The file.
        path: PathBuf,
    },
    /// Set on chain.
    Set {
        /// The window the weights come from.
        window: u64,
        /// The including block.
        block: u64,
        /// The extrinsic's hash, `0x` hex.
        extrinsic_hash: String,
    },
    /// Committed as a hash; the reveal follows in the reveal window.
    Committed {
        /// The window the weights come from.
        window: u64,
        /// The including block.
        block: u64,
        /// The extrinsic's hash.
        extrinsic_hash: String,
        /// The first block of the reveal window.
        reveal_from: u64,
        /// Its last block.
        reveal_until: u64,
    },
    /// A hash commit revealed: the weights are set.
    Revealed {
        /// The window the weights come from.
        window: u64,
        /// The including block.
        block: u64,
        /// The extrinsic's hash.
        extrinsic_hash: String,
    },
    /// Committed timelocked to a drand round; the chain reveals them itself.
    TimelockCommitted {
        /// The window the weights come from.
        window: u64,
        /// The including block.
        block: u64,
        /// The extrinsic's hash.
        extrinsic_hash: String,
    },
    /// Not set (yet), and why.
    NotSet {
        /// Why, in one line.
        reason: String,
        /// The block from which the next attempt may be made, if one is planned.
        retry_at: Option<u64>,
    },
}

impl WeightsOutcome {
    /// A [`WeightsOutcome::NotSet`].
    pub fn not_set(reason: String, retry_at: Option<u64>) -> Self {
        Self::NotSet { reason, retry_at }
    }

    /// The window line's text after `window N: `.
    pub fn describe(&self) -> String {
        match self {
            Self::Written { path } => format!("weights written to {}", path.display()),
            Self::Set {
                block,
                extrinsic_hash,
                ..
            } => format!("weights set at block {block} ({extrinsic_hash})"),
            Self::Committed {
                block,
                extrinsic_hash,
                reveal_from,
                reveal_until,
                ..
            } => format!(
                "weights committed at block {block} ({extrinsic_hash}); reveal in blocks {reveal_from} to {reveal_until}"
            ),
            Self::Revealed {
                block,
                extrinsic_hash,
                ..
            } => format!("weights set at block {block} ({extrinsic_hash}), revealing the commit"),
            Self::TimelockCommitted {
                block,
                extrinsic_hash,
                ..
            } => format!(
                "weights committed timelocked at block {block} ({extrinsic_hash}); the chain reveals them"
            ),
            Self::NotSet { reason, retry_at } => match retry_at {
                Some(block) => {
                    format!("weights not set: {reason}; next attempt from block {block}")
                }
                None => format!("weights not set: {reason}"),
            },
        }
    }
}

/// Publishes a weight vector: to a file ([`FileWeightSetter`]) or on chain
/// ([`crate::chain_weights::ChainWeightSetter`]).
pub trait WeightSetter: Send {
    /// Publishes `weights`, or starts to: what came of it is the window line.
    fn set_weights(
        &mut self,
        weights: &WeightVector,
    ) -> impl Future<Output = anyhow::Result<WeightsOutcome>> + Send;

    /// Moves weights still on their way one step (a retry after the rate limit, a reveal);
    /// called at every step of the loop. `None` when nothing happened.
    fn tick(&mut self) -> impl Future<Output = anyhow::Result<Option<WeightsOutcome>>> + Send {
        async { Ok(None) }
    }

    /// The uids to weigh, when the setter has its own source of them (the chain); `None`
    /// uses the metagraph file.
    fn metagraph(&mut self) -> impl Future<Output = anyhow::Result<Option<Metagraph>>> + Send {
        async { Ok(None) }
    }

    /// Hands the setter the validator's counters.
    fn attach_metrics(&mut self, metrics: std::sync::Arc<crate::metrics::Metrics>) {
        let _ = metrics;
    }
}

/// Writes each vector to `weights.json` (atomically), replacing the previous one.
#[derive(Debug, Clone)]
pub struct FileWeightSetter {
    path: PathBuf,
}

impl FileWeightSetter {
    /// A setter writing `weights.json` in `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(WEIGHTS_FILE),
        }
    }

    /// The file it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The weight file: the vector and when it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightFile {
    /// When it was written (RFC 3339).
    pub written_at: String,
    /// The moving average's alpha.
    pub ema_alpha: f64,
    /// The vector.
    #[serde(flatten)]
    pub vector: WeightVector,
}

impl WeightSetter for FileWeightSetter {
    async fn set_weights(&mut self, weights: &WeightVector) -> anyhow::Result<WeightsOutcome> {
        let file = WeightFile {
            written_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ema_alpha: EMA_ALPHA,
            vector: weights.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&file).expect("the weight file serialises");
        durable::write_atomically(&self.path, &bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(WeightsOutcome::Written {
            path: self.path.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn the_average_moves_a_tenth_of_the_way_and_absent_miners_score_zero() {
        let mut ema = BTreeMap::new();
        update_ema(&mut ema, &scores(&[("a", 0.5), ("b", 1.0)]));
        assert!(close(ema["a"], 0.05) && close(ema["b"], 0.1));
        update_ema(
            &mut ema,
            &scores(&[("a", 0.5), ("c", f64::NAN), ("d", 7.0)]),
        );
        assert!(close(ema["a"], 0.095), "{ema:?}");
        assert!(close(ema["b"], 0.09), "absent: 0.9 x 0.1");
        assert!(!ema.contains_key("c"), "NaN counts as 0, and 0 is pruned");
        assert!(close(ema["d"], 0.1), "clamped to 1");
        // A miner that stops scoring decays and is eventually pruned.
        for _ in 0..200 {
            update_ema(&mut ema, &BTreeMap::new());
        }
        assert!(ema.is_empty(), "{ema:?}");
    }

    #[test]
    fn a_window_is_applied_once_and_missed_windows_are_caught_up_in_order() {
        let mut state = WeightState::default();
        assert_eq!(state.windows_to_apply(0), 0..0);
        assert_eq!(
            state.windows_to_apply(10),
            9..10,
            "first start: previous window only"
        );
        assert!(state.apply(9, &scores(&[("a", 1.0)])));
        assert!(!state.apply(9, &scores(&[("a", 1.0)])), "never twice");
        assert!(!state.apply(3, &scores(&[("a", 1.0)])), "never backwards");
        assert!(close(state.ema["a"], 0.1));
        assert_eq!(state.windows_to_apply(10), 10..10);
        assert_eq!(state.windows_to_apply(13), 10..13);
        assert_eq!(state.windows_to_apply(1000), 952..1000);
    }

    #[test]
    fn the_best_post_is_kept_per_window_until_taken() {
        let post = |id: &str, score: f64| BestPost {
            post_id: id.into(),
            miner_hotkey: "m".into(),
            validation_id: "v".into(),
            score,
            excerpt: String::new(),
        };
        let mut state = WeightState::default();
        state.offer_best_post(4, post("1", 0.5));
        state.offer_best_post(4, post("2", 0.4));
        state.offer_best_post(4, post("3", 0.7));
        state.offer_best_post(3, post("4", 0.9));
        state.offer_best_post(5, post("5", 0.1));
        assert_eq!(state.take_best_post(4).map(|p| p.post_id), Some("3".into()));
        assert_eq!(
            state.best_posts.keys().copied().collect::<Vec<_>>(),
            [5],
            "older ones go too"
        );
        assert_eq!(state.take_best_post(4), None);
    }

    #[test]
    fn weights_are_l1_normalised_and_the_burn_takes_its_share() {
        let ema = scores(&[("a", 0.3), ("b", 0.1)]);
        let vector = compute_weights(7, &ema, None, None);
        assert!(close(vector.weight_of("a").unwrap(), 0.75));
        assert!(close(vector.weight_of("b").unwrap(), 0.25));
        assert!(vector.weights.iter().all(|w| w.uid.is_none()));

        let burn = Burn { uid: 0, share: 0.2 };
        let vector = compute_weights(7, &ema, None, Some(burn));
        assert!(close(vector.weight_of("a").unwrap(), 0.6));
        assert!(close(vector.weight_of("b").unwrap(), 0.2));
        let burned = vector.weights.iter().find(|w| w.uid == Some(0)).unwrap();
        assert!(close(burned.weight, 0.2) && burned.hotkey.is_none());
        assert!(close(
            vector.weights.iter().map(|w| w.weight).sum::<f64>(),
            1.0
        ));

        // No averages yet: everything to the burn uid, or nothing to set.
        let vector = compute_weights(7, &BTreeMap::new(), None, Some(burn));
        assert_eq!(vector.weights.len(), 1);
        assert!(close(vector.weights[0].weight, 1.0));
        assert!(compute_weights(7, &BTreeMap::new(), None, None).is_zero());
        assert!(
            !compute_weights(7, &ema, None, Some(Burn { uid: 0, share: 0.0 }))
                .weights
                .iter()
                .any(|w| w.uid.is_some())
        );
    }

    #[test]
    fn a_metagraph_maps_uids_and_leaves_unknown_hotkeys_out_before_normalising() {
        let a = testkit_free_ss58(1);
        let b = testkit_free_ss58(2);
        let owner = testkit_free_ss58(3);
        let metagraph = Metagraph {
            netuid: Some(45),
            block: None,
            neurons: vec![
                Neuron {
                    uid: 2,
                    hotkey: b.clone(),
                },
                Neuron {
                    uid: 0,
                    hotkey: owner.clone(),
                },
                Neuron {
                    uid: 1,
                    hotkey: a.clone(),
                },
            ],
        };
        metagraph.check().unwrap();
        let ema = scores(&[(&a, 0.2), (&b, 0.2), ("5Unregistered", 0.6)]);
        let vector = compute_weights(9, &ema, Some(&metagraph), Some(Burn { uid: 0, share: 0.5 }));
        let uids: Vec<_> = vector.weights.iter().map(|w| w.uid.unwrap()).collect();
        assert_eq!(uids, [0, 1, 2], "every uid, in order");
        assert!(
            close(vector.weights[0].weight, 0.5),
            "the owner uid has only the burn"
        );
        assert_eq!(vector.weights[0].hotkey.as_deref(), Some(owner.as_str()));
        assert!(close(vector.weight_of(&a).unwrap(), 0.25));
        assert!(close(vector.weight_of(&b).unwrap(), 0.25));
        assert_eq!(
            vector.unmapped,
            [Unmapped {
                hotkey: "5Unregistered".into(),
                ema: 0.6
            }]
        );
    }

    #[test]
    fn metagraph_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metagraph.json");
        let a = testkit_free_ss58(1);
        std::fs::write(
            &path,
            format!(
                r#"{{"neurons": [{{"uid": 0, "hotkey": "{a}"}}, {{"uid": 0, "hotkey": "{a}"}}]}}"#
            ),
        )
        .unwrap();
        let error = format!("{:#}", Metagraph::load(&path).unwrap_err());
        assert!(error.contains("uid 0 appears twice"), "{error}");
        std::fs::write(&path, r#"{"neurons": [{"uid": 0, "hotkey": "nope"}]}"#).unwrap();
        assert!(Metagraph::load(&path).is_err());
        std::fs::write(
            &path,
            format!(r#"{{"netuid": 45, "neurons": [{{"uid": 3, "hotkey": "{a}"}}]}}"#),
        )
        .unwrap();
        assert_eq!(Metagraph::load(&path).unwrap().neurons[0].uid, 3);
    }

    #[test]
    fn the_state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path());
        assert_eq!(file.load().unwrap(), WeightState::default());
        let mut state = WeightState::default();
        state.apply(4, &scores(&[("a", 0.37)]));
        state.weights_set_for = Some(4);
        file.save(&state).unwrap();
        assert_eq!(file.load().unwrap(), state);
        std::fs::write(file.path(), b"{").unwrap();
        assert!(
            file.load().is_err(),
            "an unreadable state is not silently reset"
        );
    }

    #[tokio::test]
    async fn the_file_setter_writes_the_vector() {
        let dir = tempfile::tempdir().unwrap();
        let mut setter = FileWeightSetter::new(dir.path());
        let vector = compute_weights(3, &scores(&[("a", 0.1)]), None, None);
        setter.set_weights(&vector).await.unwrap();
        let file: WeightFile =
            serde_json::from_slice(&std::fs::read(setter.path()).unwrap()).unwrap();
        assert_eq!(file.vector, vector);
        assert_eq!(file.ema_alpha, 0.1);
    }

    /// A valid SS58 address from a fixed seed.
    fn testkit_free_ss58(n: u8) -> String {
        protocol::Hotkey::from_seed([n; 32]).ss58().to_string()
    }
}
