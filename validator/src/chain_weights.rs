//! Setting weights on chain: the [`ChainWeightSetter`] behind [`WeightSetter`].
//!
//! - **Uids** come from the subnet's metagraph on chain ([`subtensor::Subtensor::metagraph`]),
//!   read at every weight update; the metagraph file is for offline use only.
//! - **Conversion** as the SDK's `process_weights_for_netuid` and
//!   `convert_and_normalize_weights_and_uids` do it: zeros dropped; fewer non-zero weights than
//!   `min_allowed_weights` padded with 1e-5 on every uid; no weight above
//!   `max_weights_limit / 65535` ([`subtensor::weights::normalize_max_weight`]); float32, then
//!   max-upscaled to u16 with half-to-even rounding. The result is checked against the chain's
//!   own rules ([`subtensor::weights::check_weight_rules`]) before anything is signed.
//! - **Version key**: the subnet's `weights_version` hyperparameter (or an explicit one).
//! - **Rate limit**: an extrinsic is sent only when the block that includes it is at least
//!   `weights_rate_limit` blocks after the chain's `LastUpdate` of this validator's uid. An
//!   extrinsic the chain refuses (a dispatch error, or the pool's refusal) is tried again a full
//!   rate limit after the block that refused it, never sooner: resending a refused call at once
//!   spends fees and changes nothing.
//! - **Commit-reveal** when the subnet's `commit_reveal_weights_enabled` is on:
//!   [`CommitReveal::Timelock`] (the SDK's default, commit-reveal version 4) sends
//!   `commit_timelocked_mechanism_weights`, drand-encrypted to the round of the reveal epoch,
//!   and the chain reveals them itself; [`CommitReveal::Hash`] sends
//!   `commit_mechanism_weights` with blake2b-256 of the weights and a random salt, then
//!   `reveal_mechanism_weights` in the reveal epoch. The salt and the pending reveal are in the
//!   state file ([`CHAIN_STATE_FILE`], written atomically before the commit is sent), so a
//!   validator restarted in between still reveals in its window.
//! - `weights.json` keeps the last vector, as without a chain.
//! - Every attempt is logged and counted (`pulse_validator_weights_extrinsics_*`), and each
//!   outcome becomes the window line (`weights set at block B (0x...)`, or why not).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use protocol::Hotkey;
use serde::{Deserialize, Serialize};
use subtensor::timelock::{CommitInputs, check_commit_reveal_version, timelocked_commit};
use subtensor::weights::{
    WeightRules, check_weight_rules, commit_hash, convert_weights, mechanism_storage_index,
    normalize_max_weight, random_salt, reveal_window,
};
use subtensor::{BlockRef, Included, SubmitError, Subtensor, TxOptions, WeightsCall};

use crate::durable;
use crate::metrics::Metrics;
use crate::weights::{
    FileWeightSetter, Metagraph, Neuron, WeightSetter, WeightVector, WeightsOutcome,
};

/// The file in the hotkey's state directory that holds the weights waiting for the chain.
pub const CHAIN_STATE_FILE: &str = "chain_weights.json";
/// The state file's format version.
pub const CHAIN_STATE_VERSION: u32 = 1;
/// Salt length of a hash commit (the SDK's).
pub const SALT_LEN: usize = 8;
/// The weight the SDK gives every uid when too few have one (`process_weights_for_netuid`).
pub const PADDING_WEIGHT: f32 = 1e-5;

/// Which commit-reveal scheme to use on subnets that require one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CommitReveal {
    /// drand-timelocked commits (commit-reveal version 4, what SDK 10 sends): one extrinsic,
    /// the chain decrypts and applies the weights when the drand round is reached.
    Timelock,
    /// A blake2b-256 hash commit, then a reveal in the reveal epoch (two extrinsics).
    Hash,
}

impl std::fmt::Display for CommitReveal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CommitReveal::Timelock => "timelock",
            CommitReveal::Hash => "hash",
        })
    }
}

/// How the chain setter works.
#[derive(Debug, Clone)]
pub struct ChainSettings {
    /// The subnet.
    pub netuid: u16,
    /// The mechanism (0, the subnet's main one).
    pub mecid: u8,
    /// The scheme on subnets with commit-reveal on.
    pub commit_reveal: CommitReveal,
    /// The version key to send; `None` sends the subnet's `weights_version`.
    pub version_key: Option<u64>,
    /// Seconds per block, for aiming a timelocked commit at its drand round (12 on finney).
    pub block_time_secs: f64,
    /// Era, tip and how long to watch an extrinsic.
    pub tx: TxOptions,
}

/// A hash commit waiting for its reveal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashCommit {
    /// The salt (kept secret until the reveal).
    pub salt: Vec<u16>,
    /// The commit hash, `0x` hex.
    pub hash: String,
    /// The block that included the commit; `None` while it is being sent (a restart then
    /// sends it again: it is the same hash).
    pub commit_block: Option<u64>,
    /// The first block of the reveal window.
    pub first_reveal_block: Option<u64>,
    /// The last block of the reveal window.
    pub last_reveal_block: Option<u64>,
    /// The commit's extrinsic hash.
    pub extrinsic_hash: Option<String>,
}

/// Weights on their way to the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWeights {
    /// The window they come from.
    pub window: u64,
    /// Destination uids.
    pub uids: Vec<u16>,
    /// Their u16 weights, as sent.
    pub values: Vec<u16>,
    /// The version key a hash commit was made with (fixed from the commit on).
    pub version_key: Option<u64>,
    /// No extrinsic before the best block reaches this.
    pub not_before: u64,
    /// Extrinsics sent for these weights so far.
    pub attempts: u32,
    /// The hash commit waiting for its reveal, if any.
    pub commit: Option<HashCommit>,
}

/// What [`CHAIN_STATE_FILE`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    /// Format version.
    pub version: u32,
    /// The weights being set (or committed and waiting for their reveal).
    pub pending: Option<PendingWeights>,
    /// Newer weights that wait for a pending reveal to finish.
    pub queued: Option<PendingWeights>,
}

impl Default for ChainState {
    fn default() -> Self {
        Self {
            version: CHAIN_STATE_VERSION,
            pending: None,
            queued: None,
        }
    }
}

/// Loads and saves [`ChainState`] atomically.
#[derive(Debug, Clone)]
pub struct ChainStateFile {
    path: PathBuf,
}

impl ChainStateFile {
    /// The file in `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(CHAIN_STATE_FILE),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads it; missing is empty, unreadable an error (a lost salt cannot be revealed).
    pub fn load(&self) -> anyhow::Result<ChainState> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ChainState::default()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()));
            }
        };
        let state: ChainState = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a chain weights file; move it away to forget the weights waiting for the chain",
                self.path.display()
            )
        })?;
        anyhow::ensure!(
            state.version == CHAIN_STATE_VERSION,
            "{} has format version {}; this pulse-validator reads version {CHAIN_STATE_VERSION}",
            self.path.display(),
            state.version
        );
        Ok(state)
    }

    /// Writes it atomically and durably.
    pub fn save(&self, state: &ChainState) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(state).expect("the chain state serialises");
        durable::write_atomically(&self.path, &bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// Sets weights on chain; see the module documentation.
pub struct ChainWeightSetter {
    subtensor: Subtensor,
    hotkey: Hotkey,
    settings: ChainSettings,
    file: ChainStateFile,
    state: ChainState,
    record: FileWeightSetter,
    metrics: Option<Arc<Metrics>>,
    metagraph: Option<subtensor::Metagraph>,
}

impl std::fmt::Debug for ChainWeightSetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainWeightSetter")
            .field("hotkey", &self.hotkey.ss58())
            .field("settings", &self.settings)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ChainWeightSetter {
    /// A setter for `hotkey` on `settings.netuid`, keeping its state in `state_dir`.
    ///
    /// Refuses (one line) when the node's runtime is not one Pulse signs for: the metadata
    /// check names the pallet, call, argument or extension that differs.
    pub async fn new(
        subtensor: Subtensor,
        hotkey: Hotkey,
        settings: ChainSettings,
        state_dir: &Path,
    ) -> anyhow::Result<Self> {
        let head = subtensor
            .head()
            .await
            .context("reading the chain's best block")?;
        let runtime = subtensor
            .runtime_at(head.hash)
            .await
            .context("reading the chain's runtime")?;
        if let Err(mismatch) = &runtime.signing {
            anyhow::bail!(
                "refusing to sign weights for spec version {}: {mismatch}",
                runtime.version.spec_version
            );
        }
        let file = ChainStateFile::new(state_dir);
        let state = file.load()?;
        if let Some(pending) = &state.pending {
            tracing::info!(
                window = pending.window,
                commit = pending.commit.is_some(),
                "weights from before the restart are still waiting for the chain"
            );
        }
        Ok(Self {
            subtensor,
            hotkey,
            settings,
            file,
            state,
            record: FileWeightSetter::new(state_dir),
            metrics: None,
            metagraph: None,
        })
    }

    /// What is waiting for the chain.
    pub fn state(&self) -> &ChainState {
        &self.state
    }

    fn save(&self) -> anyhow::Result<()> {
        self.file.save(&self.state)
    }

    async fn read_metagraph(&mut self) -> Result<subtensor::Metagraph, subtensor::ChainError> {
        let metagraph = self.subtensor.metagraph(self.settings.netuid).await?;
        self.metagraph = Some(metagraph.clone());
        Ok(metagraph)
    }

    fn count(&self, what: &str, call: &str, outcome: &str) {
        if let Some(metrics) = &self.metrics {
            metrics.weights_extrinsic(what, call, outcome);
        }
    }

    /// Tries to move the pending weights one step: wait, send, commit or reveal.
    /// `Ok(None)` when there was nothing to do yet.
    async fn attempt(&mut self) -> anyhow::Result<Option<WeightsOutcome>> {
        let Some(pending) = self.state.pending.clone() else {
            return Ok(None);
        };
        let head = match self.subtensor.head().await {
            Ok(head) => head,
            Err(error) => {
                return Ok(Some(WeightsOutcome::not_set(
                    format!("the subtensor is unreachable ({error}); trying again next step"),
                    None,
                )));
            }
        };
        if head.number < pending.not_before {
            return Ok(None);
        }
        let metagraph = match self
            .subtensor
            .metagraph_at(self.settings.netuid, head)
            .await
        {
            Ok(metagraph) => metagraph,
            Err(error) => {
                return Ok(Some(WeightsOutcome::not_set(
                    format!(
                        "cannot read netuid {}'s metagraph: {error}",
                        self.settings.netuid
                    ),
                    None,
                )));
            }
        };
        self.metagraph = Some(metagraph.clone());
        let params = &metagraph.hyperparameters;
        let rate_limit = params.weights_rate_limit;
        let Some(own) = metagraph.neuron_by_hotkey(self.hotkey.ss58()).cloned() else {
            let retry = head.number + rate_limit.max(1);
            self.defer(retry)?;
            return Ok(Some(WeightsOutcome::not_set(
                format!(
                    "hotkey {} has no UID on netuid {} at block {}: register with btcli subnets register",
                    self.hotkey.ss58(),
                    self.settings.netuid,
                    head.number
                ),
                Some(retry),
            )));
        };
        if let Some(commit) = pending.commit.clone()
            && let (Some(first), Some(last)) = (commit.first_reveal_block, commit.last_reveal_block)
        {
            // The reveal goes into the block after the best one.
            let next = head.number + 1;
            if next < first {
                self.defer(first - 1)?;
                return Ok(None);
            }
            if next <= last {
                return self.reveal(&pending, &commit, &head).await.map(Some);
            }
            tracing::warn!(
                window = pending.window,
                commit_block = commit.commit_block,
                last_reveal_block = last,
                "the hash commit's reveal window passed; committing the weights again"
            );
            if let Some(pending) = &mut self.state.pending {
                pending.commit = None;
                pending.version_key = None;
            }
            self.save()?;
        }
        // The extrinsic lands in the next block at the earliest: it passes the rate limit when
        // that block is at least `rate_limit` after the last update.
        let allowed = own.last_update.saturating_add(rate_limit);
        if own.last_update != 0 && head.number + 1 < allowed {
            self.defer(allowed - 1)?;
            tracing::info!(
                window = pending.window,
                last_update = own.last_update,
                rate_limit,
                next_allowed_block = allowed,
                "weights wait for the rate limit"
            );
            return Ok(None);
        }
        let pending = self.state.pending.clone().expect("checked above");
        let version_key = pending
            .version_key
            .or(self.settings.version_key)
            .unwrap_or(params.weights_version);
        if !params.commit_reveal_weights_enabled {
            let call = WeightsCall::SetMechanismWeights {
                netuid: self.settings.netuid,
                mecid: self.settings.mecid,
                dests: pending.uids.clone(),
                weights: pending.values.clone(),
                version_key,
            };
            return self.send(call, "set", &head, rate_limit).await.map(Some);
        }
        match self.settings.commit_reveal {
            CommitReveal::Timelock => {
                let version = match self.subtensor.commit_reveal_version(head.hash).await {
                    Ok(version) => version,
                    Err(error) => {
                        return Ok(Some(WeightsOutcome::not_set(
                            format!("cannot read CommitRevealWeightsVersion: {error}"),
                            None,
                        )));
                    }
                };
                if let Err(unsupported) = check_commit_reveal_version(version) {
                    let retry = head.number + u64::from(params.tempo).max(1);
                    self.defer(retry)?;
                    return Ok(Some(WeightsOutcome::not_set(
                        unsupported.to_string(),
                        Some(retry),
                    )));
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                let commit = timelocked_commit(&CommitInputs {
                    hotkey: self.hotkey.public_key(),
                    netuid: self.settings.netuid,
                    mecid: self.settings.mecid,
                    uids: &pending.uids,
                    values: &pending.values,
                    version_key,
                    tempo: params.tempo,
                    reveal_period_epochs: params.commit_reveal_period,
                    current_block: head.number,
                    block_time_secs: self.settings.block_time_secs,
                    now_unix_secs: now,
                })
                .context("encrypting the timelocked commit")?;
                let call = WeightsCall::CommitTimelockedMechanismWeights {
                    netuid: self.settings.netuid,
                    mecid: self.settings.mecid,
                    commit: commit.commit,
                    reveal_round: commit.reveal_round,
                    commit_reveal_version: version,
                };
                self.send(call, "commit_timelocked", &head, rate_limit)
                    .await
                    .map(Some)
            }
            CommitReveal::Hash => {
                let salt = match &pending.commit {
                    Some(commit) => commit.salt.clone(),
                    None => random_salt(SALT_LEN),
                };
                let netuid_index =
                    mechanism_storage_index(self.settings.netuid, self.settings.mecid);
                let hash = commit_hash(
                    &self.hotkey.public_key(),
                    netuid_index,
                    &pending.uids,
                    &pending.values,
                    &salt,
                    version_key,
                );
                // The salt is on disk before the commit leaves: a restart must be able to
                // reveal whatever the chain may have recorded.
                if let Some(pending) = &mut self.state.pending {
                    pending.version_key = Some(version_key);
                    pending.commit = Some(HashCommit {
                        salt,
                        hash: format!("0x{}", hex::encode(hash)),
                        commit_block: None,
                        first_reveal_block: None,
                        last_reveal_block: None,
                        extrinsic_hash: None,
                    });
                }
                self.save()?;
                let call = WeightsCall::CommitMechanismWeights {
                    netuid: self.settings.netuid,
                    mecid: self.settings.mecid,
                    commit_hash: hash,
                };
                self.send(call, "commit", &head, rate_limit).await.map(Some)
            }
        }
    }

    fn defer(&mut self, block: u64) -> anyhow::Result<()> {
        if let Some(pending) = &mut self.state.pending
            && pending.not_before != block
        {
            pending.not_before = block;
            self.save()?;
        }
        Ok(())
    }

    /// Submits `call` and records what came of it. A refusal defers the next attempt by a
    /// full rate limit from the refusing block.
    async fn send(
        &mut self,
        call: WeightsCall,
        what: &str,
        head: &BlockRef,
        rate_limit: u64,
    ) -> anyhow::Result<WeightsOutcome> {
        let name = call.name();
        if let Some(pending) = &mut self.state.pending {
            pending.attempts += 1;
        }
        self.count(what, name, "submitted");
        tracing::info!(
            call = name,
            netuid = self.settings.netuid,
            best = head.number,
            "sending weights extrinsic"
        );
        let result = self
            .subtensor
            .sign_and_submit(&self.hotkey, &call, &self.settings.tx)
            .await;
        let backoff = rate_limit.max(1);
        match result {
            Ok(Included {
                failure: None,
                block,
                extrinsic_hash,
                ..
            }) => {
                self.count(what, name, "included");
                let hash = extrinsic_hash.to_string();
                tracing::info!(call = name, block = block.number, extrinsic = %hash, "weights extrinsic included");
                Ok(self.landed(what, block.number, hash)?)
            }
            Ok(Included {
                failure: Some(failure),
                block,
                extrinsic_hash,
                ..
            }) => {
                self.count(what, name, &failure.name);
                let retry = block.number + backoff;
                tracing::warn!(call = name, block = block.number, extrinsic = %extrinsic_hash,
                    error = %failure, docs = %failure.docs, next_attempt = retry,
                    "the chain refused the weights extrinsic");
                self.defer(retry)?;
                Ok(WeightsOutcome::not_set(
                    format!(
                        "{name} failed at block {} ({extrinsic_hash}): {failure}",
                        block.number
                    ),
                    Some(retry),
                ))
            }
            Err(error) => {
                let label = match &error {
                    SubmitError::Rejected {
                        custom: Some(custom),
                        ..
                    } => (*custom).to_owned(),
                    SubmitError::Rejected { .. } => "rejected".to_owned(),
                    SubmitError::Chain(_) => "transport".to_owned(),
                    _ => "not_included".to_owned(),
                };
                self.count(what, name, &label);
                let retry = head.number + backoff;
                tracing::warn!(call = name, %error, next_attempt = retry, "weights extrinsic not included");
                self.defer(retry)?;
                Ok(WeightsOutcome::not_set(
                    format!("{name} was not included: {error}"),
                    Some(retry),
                ))
            }
        }
    }

    fn landed(&mut self, what: &str, block: u64, hash: String) -> anyhow::Result<WeightsOutcome> {
        let pending = self
            .state
            .pending
            .clone()
            .expect("sent for pending weights");
        let outcome = match what {
            "commit" => {
                let params = &self
                    .metagraph
                    .as_ref()
                    .expect("read before sending")
                    .hyperparameters;
                let (first, last) = reveal_window(
                    self.settings.netuid,
                    params.tempo,
                    params.commit_reveal_period,
                    block,
                );
                let saved = self.state.pending.as_mut().expect("checked");
                let commit = saved.commit.as_mut().expect("made before sending");
                commit.commit_block = Some(block);
                commit.first_reveal_block = Some(first);
                commit.last_reveal_block = Some(last);
                commit.extrinsic_hash = Some(hash.clone());
                saved.not_before = first.saturating_sub(1);
                self.save()?;
                return Ok(WeightsOutcome::Committed {
                    window: pending.window,
                    block,
                    extrinsic_hash: hash,
                    reveal_from: first,
                    reveal_until: last,
                });
            }
            "commit_timelocked" => WeightsOutcome::TimelockCommitted {
                window: pending.window,
                block,
                extrinsic_hash: hash,
            },
            "reveal" => WeightsOutcome::Revealed {
                window: pending.window,
                block,
                extrinsic_hash: hash,
            },
            _ => WeightsOutcome::Set {
                window: pending.window,
                block,
                extrinsic_hash: hash,
            },
        };
        self.state.pending = self.state.queued.take();
        self.save()?;
        Ok(outcome)
    }

    async fn reveal(
        &mut self,
        pending: &PendingWeights,
        commit: &HashCommit,
        head: &BlockRef,
    ) -> anyhow::Result<WeightsOutcome> {
        let call = WeightsCall::RevealMechanismWeights {
            netuid: self.settings.netuid,
            mecid: self.settings.mecid,
            uids: pending.uids.clone(),
            values: pending.values.clone(),
            salt: commit.salt.clone(),
            version_key: pending.version_key.unwrap_or_default(),
        };
        // A refused reveal is retried in the same window, a block later at the soonest.
        let outcome = self.send(call, "reveal", head, 1).await?;
        if let WeightsOutcome::NotSet { .. } = &outcome
            && let Some(last) = commit.last_reveal_block
            && self
                .state
                .pending
                .as_ref()
                .is_some_and(|p| p.not_before >= last)
        {
            // Past the window the commit is gone; the next attempt commits again.
            if let Some(pending) = &mut self.state.pending {
                pending.commit = None;
                pending.version_key = None;
            }
            self.save()?;
        }
        Ok(outcome)
    }

    /// The weights of `vector` as the chain takes them, by the SDK's rules, or why they
    /// cannot be sent.
    fn convert(
        &self,
        vector: &WeightVector,
        metagraph: &subtensor::Metagraph,
    ) -> Result<(Vec<u16>, Vec<u16>), String> {
        let own_uid = metagraph
            .neuron_by_hotkey(self.hotkey.ss58())
            .map(|n| n.uid)
            .ok_or_else(|| {
                format!(
                    "hotkey {} has no UID on netuid {}: register with btcli subnets register",
                    self.hotkey.ss58(),
                    self.settings.netuid
                )
            })?;
        let subnet_n = u16::try_from(metagraph.neurons.len()).unwrap_or(u16::MAX);
        let params = &metagraph.hyperparameters;
        let pairs: Vec<(u16, f64)> = vector
            .weights
            .iter()
            .filter_map(|entry| entry.uid.map(|uid| (uid, entry.weight)))
            .filter(|(uid, _)| *uid < subnet_n)
            .collect();
        let (uids, weights) = process_weights(
            &pairs,
            subnet_n,
            params.min_allowed_weights,
            params.max_weights_limit,
        );
        let uids: Vec<i64> = uids.into_iter().map(i64::from).collect();
        let weights: Vec<f64> = weights.into_iter().map(f64::from).collect();
        let (uids, values) = convert_weights(&uids, &weights).map_err(|e| e.to_string())?;
        check_weight_rules(
            &uids,
            &values,
            &WeightRules {
                own_uid,
                subnet_n,
                min_allowed_weights: params.min_allowed_weights,
                max_weights_limit: params.max_weights_limit,
            },
        )
        .map_err(|e| format!("the chain would refuse these weights: {e}"))?;
        Ok((uids, values))
    }
}

/// The SDK's `process_weights_for_netuid` on `(uid, weight)` pairs of a subnet of `n`
/// neurons: the uids and float32 weights to convert.
///
/// Non-zero weights only; when fewer than `min_allowed_weights` are non-zero, every uid gets
/// [`PADDING_WEIGHT`] plus its weight; then no weight may exceed `max_weights_limit / 65535`
/// of the total. All zero: equal weights on every uid. Unlike the SDK, a subnet smaller than
/// the minimum needs only as many weights as it has neurons (the chain's own rule), rather than
/// getting equal weights.
pub fn process_weights(
    pairs: &[(u16, f64)],
    n: u16,
    min_allowed_weights: u16,
    max_weights_limit: u16,
) -> (Vec<u16>, Vec<f32>) {
    let limit = f32::from(max_weights_limit) / f32::from(u16::MAX);
    let non_zero: Vec<(u16, f32)> = pairs
        .iter()
        .filter(|(_, w)| *w > 0.0 && w.is_finite())
        .map(|(uid, w)| (*uid, *w as f32))
        .collect();
    let all: Vec<u16> = (0..n).collect();
    // The chain asks for min(min_allowed_weights, n) weights; the SDK's "a subnet smaller than
    // the minimum gets equal weights" would throw the scores away on a small subnet.
    let min_allowed_weights = min_allowed_weights.min(n);
    if non_zero.is_empty() {
        let share = 1.0 / f32::from(n.max(1));
        return (all, vec![share; usize::from(n)]);
    }
    if non_zero.len() < usize::from(min_allowed_weights) {
        let mut weights = vec![PADDING_WEIGHT; usize::from(n)];
        for (uid, weight) in &non_zero {
            weights[usize::from(*uid)] += weight;
        }
        return (all, normalize_max_weight(&weights, limit));
    }
    let uids = non_zero.iter().map(|(uid, _)| *uid).collect();
    let weights: Vec<f32> = non_zero.iter().map(|(_, w)| *w).collect();
    (uids, normalize_max_weight(&weights, limit))
}

impl WeightSetter for ChainWeightSetter {
    async fn metagraph(&mut self) -> anyhow::Result<Option<Metagraph>> {
        let metagraph = self
            .read_metagraph()
            .await
            .with_context(|| format!("reading netuid {}'s metagraph", self.settings.netuid))?;
        Ok(Some(Metagraph {
            netuid: Some(metagraph.netuid),
            block: Some(metagraph.block.number),
            neurons: metagraph
                .neurons
                .iter()
                .map(|n| Neuron {
                    uid: n.uid,
                    hotkey: n.hotkey.clone(),
                })
                .collect(),
        }))
    }

    async fn set_weights(&mut self, vector: &WeightVector) -> anyhow::Result<WeightsOutcome> {
        // `weights.json` stays the record of the last vector, on chain or not.
        self.record.set_weights(vector).await?;
        let metagraph = match self.metagraph.clone() {
            Some(metagraph) => metagraph,
            None => match self.read_metagraph().await {
                Ok(metagraph) => metagraph,
                Err(error) => {
                    return Ok(WeightsOutcome::not_set(
                        format!(
                            "cannot read netuid {}'s metagraph: {error}",
                            self.settings.netuid
                        ),
                        None,
                    ));
                }
            },
        };
        let (uids, values) = match self.convert(vector, &metagraph) {
            Ok(converted) => converted,
            Err(reason) => return Ok(WeightsOutcome::not_set(reason, None)),
        };
        let weights = PendingWeights {
            window: vector.window,
            uids,
            values,
            version_key: None,
            not_before: 0,
            attempts: 0,
            commit: None,
        };
        let revealing = self
            .state
            .pending
            .as_ref()
            .is_some_and(|p| p.commit.as_ref().is_some_and(|c| c.commit_block.is_some()));
        if revealing {
            // The commit on chain is revealed first; the newest weights follow it.
            self.state.queued = Some(weights);
        } else {
            let not_before = self.state.pending.as_ref().map_or(0, |p| p.not_before);
            self.state.pending = Some(PendingWeights {
                not_before,
                ..weights
            });
        }
        self.save()?;
        match self.attempt().await? {
            Some(outcome) => Ok(outcome),
            None => Ok(self.waiting()),
        }
    }

    async fn tick(&mut self) -> anyhow::Result<Option<WeightsOutcome>> {
        self.attempt().await
    }

    fn attach_metrics(&mut self, metrics: Arc<Metrics>) {
        self.metrics = Some(metrics);
    }
}

impl ChainWeightSetter {
    fn waiting(&self) -> WeightsOutcome {
        match &self.state.pending {
            Some(PendingWeights {
                commit:
                    Some(HashCommit {
                        commit_block: Some(block),
                        first_reveal_block: Some(first),
                        ..
                    }),
                ..
            }) => WeightsOutcome::not_set(
                format!("the commit of block {block} is revealed first"),
                Some(first.saturating_sub(1)),
            ),
            Some(pending) => WeightsOutcome::not_set(
                "waiting for the weights rate limit".to_owned(),
                Some(pending.not_before + 1),
            ),
            None => WeightsOutcome::not_set("nothing to set".to_owned(), None),
        }
    }
}

/// The setter a validator runs with: the weight file, or the chain when a subtensor is
/// configured.
#[derive(Debug)]
pub enum Setter {
    /// `weights.json` in the state directory.
    File(FileWeightSetter),
    /// Weights on chain.
    Chain(Box<ChainWeightSetter>),
}

impl WeightSetter for Setter {
    async fn set_weights(&mut self, weights: &WeightVector) -> anyhow::Result<WeightsOutcome> {
        match self {
            Setter::File(file) => file.set_weights(weights).await,
            Setter::Chain(chain) => chain.set_weights(weights).await,
        }
    }

    async fn tick(&mut self) -> anyhow::Result<Option<WeightsOutcome>> {
        match self {
            Setter::File(file) => file.tick().await,
            Setter::Chain(chain) => chain.tick().await,
        }
    }

    async fn metagraph(&mut self) -> anyhow::Result<Option<Metagraph>> {
        match self {
            Setter::File(file) => file.metagraph().await,
            Setter::Chain(chain) => chain.metagraph().await,
        }
    }

    fn attach_metrics(&mut self, metrics: Arc<Metrics>) {
        match self {
            Setter::File(file) => file.attach_metrics(metrics),
            Setter::Chain(chain) => chain.attach_metrics(metrics),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_weights_are_padded_on_every_uid_as_the_sdk_does() {
        let (uids, weights) = process_weights(&[(2, 0.5), (0, 0.0)], 4, 3, u16::MAX);
        assert_eq!(uids, [0, 1, 2, 3]);
        assert!(weights[2] > 0.99, "{weights:?}");
        assert!(weights[0] > 0.0 && weights[0] < 1e-4, "{weights:?}");
        // Enough non-zero weights: zeros are left out.
        let (uids, weights) = process_weights(&[(0, 0.0), (1, 0.25), (3, 0.75)], 4, 2, u16::MAX);
        assert_eq!(uids, [1, 3]);
        assert!((weights[0] - 0.25).abs() < 1e-6 && (weights[1] - 0.75).abs() < 1e-6);
        // All zero: equal weights.
        let (uids, weights) = process_weights(&[(0, 0.0)], 3, 1, u16::MAX);
        assert_eq!(uids, [0, 1, 2]);
        assert!(weights.iter().all(|w| (w - 1.0 / 3.0).abs() < 1e-6));
    }

    #[test]
    fn no_weight_exceeds_the_max_weight_limit() {
        // Limit 32768/65535 (just over a half): [0.9, 0.05, 0.05] is capped under it.
        let (_, weights) = process_weights(&[(0, 0.9), (1, 0.05), (2, 0.05)], 3, 1, 32768);
        let largest = weights.iter().copied().fold(0.0f32, f32::max);
        assert!(largest <= 32768.0 / 65535.0, "{weights:?}");
        assert!(
            largest > 0.45,
            "capped at the limit, not below it: {weights:?}"
        );
        let (uids, values) = convert_weights(
            &[0, 1, 2],
            &weights.iter().map(|w| f64::from(*w)).collect::<Vec<_>>(),
        )
        .unwrap();
        check_weight_rules(
            &uids,
            &values,
            &WeightRules {
                own_uid: 9,
                subnet_n: 3,
                min_allowed_weights: 1,
                max_weights_limit: 32768,
            },
        )
        .unwrap();
    }
}
