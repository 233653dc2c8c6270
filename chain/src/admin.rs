//! The admin API: JSON under `/admin` to drive the chain in tests and on the devnet (make
//! blocks, upgrade the runtime, set nonces, create subnets, register and deregister neurons,
//! change permits and stake, read back weights, commits and reveals). The crate documentation
//! lists every route with its bodies.
//!
//! Changes apply at once to the best block's state (and so to every later block); earlier
//! blocks keep theirs. With an admin token configured, every request needs
//! `Authorization: Bearer <token>`.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::chain::Chain;
use crate::config::RuntimeVersion;
use crate::metagraph::{
    DEFAULT_MAX_ALLOWED_UIDS, Hyperparameters, MetagraphError, NeuronPatch, NeuronSpec, Subnet,
};
use crate::scale::{AccountId, H256, to_hex};
use crate::state::{Account, State as ChainState};

/// An admin request that failed: status and a sentence.
#[derive(Debug)]
pub struct AdminError(StatusCode, String);

impl AdminError {
    fn not_found(what: impl Into<String>) -> Self {
        Self(StatusCode::NOT_FOUND, what.into())
    }

    fn invalid(what: impl Into<String>) -> Self {
        Self(StatusCode::UNPROCESSABLE_ENTITY, what.into())
    }
}

impl From<MetagraphError> for AdminError {
    fn from(err: MetagraphError) -> Self {
        let status = match err {
            MetagraphError::AlreadyRegistered(..) => StatusCode::CONFLICT,
            MetagraphError::NotRegistered(..) | MetagraphError::NoSuchUid(..) => {
                StatusCode::NOT_FOUND
            }
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self(status, err.to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

type AdminResult<T> = Result<T, AdminError>;

/// A JSON body that answers 422 with the parser's sentence instead of axum's plain text.
struct Body<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|err| AdminError::invalid(err.to_string()))?;
        let bytes = if bytes.is_empty() {
            axum::body::Bytes::from_static(b"{}")
        } else {
            bytes
        };
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|err| AdminError::invalid(format!("invalid JSON body: {err}")))
    }
}

/// The admin routes.
pub fn router(chain: Chain) -> Router<Chain> {
    Router::new()
        .route("/admin/chain", get(chain_info).patch(patch_chain))
        .route("/admin/blocks", post(produce))
        .route("/admin/runtime", post(runtime))
        .route("/admin/accounts/{address}", get(account).put(put_account))
        .route("/admin/subnets", get(subnets).post(create_subnet))
        .route("/admin/subnets/{netuid}", get(subnet).patch(patch_subnet))
        .route(
            "/admin/subnets/{netuid}/neurons",
            get(neurons).post(register),
        )
        .route(
            "/admin/subnets/{netuid}/neurons/{neuron}",
            get(neuron).patch(patch_neuron),
        )
        .route("/admin/subnets/{netuid}/deregister", post(deregister))
        .route("/admin/subnets/{netuid}/weights", get(weights))
        .route("/admin/subnets/{netuid}/commits", get(commits))
        .route("/admin/subnets/{netuid}/reveals", get(reveals))
        .route("/admin/extrinsics", get(extrinsics))
        .route_layer(from_fn_with_state(chain, require_token))
}

async fn require_token(State(chain): State<Chain>, req: Request, next: Next) -> Response {
    let Some(token) = &chain.config().admin_token else {
        return next.run(req).await;
    };
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if given == Some(token.expose()) {
        next.run(req).await
    } else {
        AdminError(StatusCode::UNAUTHORIZED, "admin token required".to_owned()).into_response()
    }
}

fn head(chain: &Chain) -> Value {
    let header = chain.best_header();
    let (finalized, finalized_hash) = chain.finalized();
    json!({
        "best": {"number": header.number, "hash": chain.best_hash()},
        "finalized": {"number": finalized, "hash": finalized_hash},
    })
}

async fn chain_info(State(chain): State<Chain>) -> AdminResult<Json<Value>> {
    let runtime = chain
        .runtime_version(None)
        .map_err(|e| AdminError::invalid(e.message))?;
    let (stake_threshold, commit_reveal_version) = chain
        .with_state(None, |s, _, _| (s.stake_threshold, s.commit_reveal_version))
        .map_err(|e| AdminError::invalid(e.message))?;
    let mut info = head(&chain);
    info["genesis_hash"] = json!(chain.genesis_hash());
    info["runtime"] = json!({
        "spec_version": runtime.spec_version,
        "transaction_version": runtime.transaction_version,
    });
    info["block_time_ms"] = json!(chain.config().block_time.map(|d| d.as_millis() as u64));
    info["stake_threshold"] = json!(stake_threshold);
    info["commit_reveal_version"] = json!(commit_reveal_version);
    info["pool"] = json!(
        chain
            .pool()
            .into_iter()
            .map(|(hash, signer, nonce, ready)| json!({"hash": hash, "signer": signer, "nonce": nonce, "ready": ready}))
            .collect::<Vec<_>>()
    );
    Ok(Json(info))
}

/// `PATCH /admin/chain`: runtime-wide weights settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainPatch {
    stake_threshold: Option<u64>,
    commit_reveal_version: Option<u16>,
}

async fn patch_chain(
    State(chain): State<Chain>,
    Body(patch): Body<ChainPatch>,
) -> AdminResult<Json<Value>> {
    chain.change_state(|state| {
        if let Some(threshold) = patch.stake_threshold {
            state.stake_threshold = threshold;
        }
        if let Some(version) = patch.commit_reveal_version {
            state.commit_reveal_version = version;
        }
    });
    chain_info(State(chain)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Produce {
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

async fn produce(
    State(chain): State<Chain>,
    Body(body): Body<Produce>,
) -> AdminResult<Json<Value>> {
    if body.count == 0 || body.count > 10_000 {
        return Err(AdminError::invalid("count must be 1..=10000"));
    }
    let worker = chain.clone();
    tokio::task::spawn_blocking(move || worker.produce_blocks(body.count))
        .await
        .map_err(|err| AdminError(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))?;
    Ok(Json(head(&chain)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuntimeBody {
    spec_version: u32,
    transaction_version: Option<u32>,
}

async fn runtime(
    State(chain): State<Chain>,
    Body(body): Body<RuntimeBody>,
) -> AdminResult<(StatusCode, Json<Value>)> {
    let current = chain
        .runtime_version(None)
        .map_err(|e| AdminError::invalid(e.message))?;
    let next = RuntimeVersion {
        spec_version: body.spec_version,
        transaction_version: body
            .transaction_version
            .unwrap_or(current.transaction_version),
    };
    chain.schedule_runtime(next);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "from_block": chain.best_header().number + 1,
            "spec_version": next.spec_version,
            "transaction_version": next.transaction_version,
        })),
    ))
}

fn parse_account(raw: &str) -> AdminResult<AccountId> {
    raw.parse()
        .map_err(|err: crate::scale::BadAccount| AdminError::invalid(err.to_string()))
}

fn account_json(who: &AccountId, account: Account) -> Value {
    json!({"address": who, "public_key": to_hex(who.0), "nonce": account.nonce, "free": account.free})
}

async fn account(
    State(chain): State<Chain>,
    Path(address): Path<String>,
) -> AdminResult<Json<Value>> {
    let who = parse_account(&address)?;
    let account = chain
        .with_state(None, |s, _, _| {
            s.accounts.get(&who).copied().unwrap_or_default()
        })
        .map_err(|e| AdminError::invalid(e.message))?;
    Ok(Json(account_json(&who, account)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    nonce: Option<u32>,
    free: Option<u64>,
}

async fn put_account(
    State(chain): State<Chain>,
    Path(address): Path<String>,
    Body(body): Body<AccountBody>,
) -> AdminResult<Json<Value>> {
    let who = parse_account(&address)?;
    let account = chain.change_state(|state| {
        let account = state.accounts.entry(who).or_default();
        if let Some(nonce) = body.nonce {
            account.nonce = nonce;
        }
        if let Some(free) = body.free {
            account.free = free;
        }
        *account
    });
    Ok(Json(account_json(&who, account)))
}

fn subnet_json(subnet: &Subnet) -> Value {
    json!({
        "netuid": subnet.netuid,
        "hyperparameters": subnet.hyperparameters,
        "max_allowed_uids": subnet.max_allowed_uids,
        "mechanism_count": subnet.mechanisms.len(),
        "n": subnet.n(),
    })
}

fn read_subnet<T>(chain: &Chain, netuid: u16, read: impl FnOnce(&Subnet) -> T) -> AdminResult<T> {
    chain
        .with_state(None, |state, _, _| {
            state.subnets.get(&netuid).map(|s| read(s))
        })
        .map_err(|e| AdminError::invalid(e.message))?
        .ok_or_else(|| AdminError::not_found(format!("no subnet with netuid {netuid}")))
}

fn change_subnet<T>(
    chain: &Chain,
    netuid: u16,
    change: impl FnOnce(&mut Subnet, u64) -> AdminResult<T>,
) -> AdminResult<T> {
    let block = u64::from(chain.best_header().number);
    chain.change_state(|state: &mut ChainState| {
        let subnet = state
            .subnet_mut(netuid)
            .ok_or_else(|| AdminError::not_found(format!("no subnet with netuid {netuid}")))?;
        // Work on a copy so a refused change leaves the subnet as it was.
        let mut copy = subnet.clone();
        let result = change(&mut copy, block)?;
        *subnet = copy;
        Ok(result)
    })
}

async fn subnets(State(chain): State<Chain>) -> AdminResult<Json<Value>> {
    let list = chain
        .with_state(None, |state, _, _| {
            state
                .subnets
                .values()
                .map(|s| subnet_json(s))
                .collect::<Vec<_>>()
        })
        .map_err(|e| AdminError::invalid(e.message))?;
    Ok(Json(Value::Array(list)))
}

/// `POST /admin/subnets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubnet {
    netuid: u16,
    #[serde(default)]
    hyperparameters: Option<Value>,
    #[serde(default)]
    max_allowed_uids: Option<u16>,
    #[serde(default)]
    mechanism_count: Option<u8>,
    #[serde(default)]
    neurons: Vec<NeuronSpec>,
}

fn merge_hyperparameters(
    base: &Hyperparameters,
    patch: Option<&Value>,
) -> AdminResult<Hyperparameters> {
    let Some(patch) = patch else {
        return Ok(base.clone());
    };
    let Some(fields) = patch.as_object() else {
        return Err(AdminError::invalid("hyperparameters must be an object"));
    };
    let mut merged = serde_json::to_value(base).expect("hyperparameters serialize");
    for (name, value) in fields {
        merged[name] = value.clone();
    }
    serde_json::from_value(merged)
        .map_err(|err| AdminError::invalid(format!("invalid hyperparameters: {err}")))
}

async fn create_subnet(
    State(chain): State<Chain>,
    Body(body): Body<NewSubnet>,
) -> AdminResult<(StatusCode, Json<Value>)> {
    if body.netuid >= crate::metagraph::MAX_SUBNETS {
        return Err(AdminError::invalid(format!(
            "netuid {} is out of range",
            body.netuid
        )));
    }
    let params = merge_hyperparameters(&Hyperparameters::default(), body.hyperparameters.as_ref())?;
    let block = u64::from(chain.best_header().number);
    let mut subnet = Subnet::new(
        body.netuid,
        params,
        body.max_allowed_uids.unwrap_or(DEFAULT_MAX_ALLOWED_UIDS),
    );
    subnet.set_mechanism_count(body.mechanism_count.unwrap_or(1))?;
    for neuron in &body.neurons {
        subnet.push_loaded(neuron, block)?;
    }
    let json = subnet_json(&subnet);
    chain.change_state(|state| {
        if state.subnets.contains_key(&body.netuid) {
            return Err(AdminError(
                StatusCode::CONFLICT,
                format!("netuid {} exists", body.netuid),
            ));
        }
        state.subnets.insert(body.netuid, Arc::new(subnet));
        Ok(())
    })?;
    tracing::info!(netuid = body.netuid, "subnet created");
    Ok((StatusCode::CREATED, Json(json)))
}

async fn subnet(State(chain): State<Chain>, Path(netuid): Path<u16>) -> AdminResult<Json<Value>> {
    read_subnet(&chain, netuid, subnet_json).map(Json)
}

/// `PATCH /admin/subnets/{netuid}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubnetPatch {
    #[serde(default)]
    hyperparameters: Option<Value>,
    #[serde(default)]
    max_allowed_uids: Option<u16>,
    #[serde(default)]
    mechanism_count: Option<u8>,
}

async fn patch_subnet(
    State(chain): State<Chain>,
    Path(netuid): Path<u16>,
    Body(patch): Body<SubnetPatch>,
) -> AdminResult<Json<Value>> {
    let json = change_subnet(&chain, netuid, |subnet, _| {
        subnet.hyperparameters =
            merge_hyperparameters(&subnet.hyperparameters, patch.hyperparameters.as_ref())?;
        if let Some(max) = patch.max_allowed_uids {
            subnet.max_allowed_uids = max;
        }
        if let Some(count) = patch.mechanism_count {
            subnet.set_mechanism_count(count)?;
        }
        Ok(subnet_json(subnet))
    })?;
    tracing::info!(netuid, "subnet changed");
    Ok(Json(json))
}

async fn neurons(State(chain): State<Chain>, Path(netuid): Path<u16>) -> AdminResult<Json<Value>> {
    read_subnet(&chain, netuid, |subnet| {
        json!(
            (0..subnet.n())
                .filter_map(|uid| subnet.view(uid))
                .collect::<Vec<_>>()
        )
    })
    .map(Json)
}

fn find_uid(subnet: &Subnet, reference: &str) -> AdminResult<u16> {
    if let Ok(uid) = reference.parse::<u16>() {
        return if uid < subnet.n() {
            Ok(uid)
        } else {
            Err(MetagraphError::NoSuchUid(uid, subnet.netuid).into())
        };
    }
    let hotkey = parse_account(reference)?;
    subnet
        .uid_of(&hotkey)
        .ok_or_else(|| MetagraphError::NotRegistered(hotkey, subnet.netuid).into())
}

async fn register(
    State(chain): State<Chain>,
    Path(netuid): Path<u16>,
    Body(spec): Body<NeuronSpec>,
) -> AdminResult<(StatusCode, Json<Value>)> {
    if spec.uid.is_some() {
        return Err(AdminError::invalid(
            "uid is chosen by registration; leave it out",
        ));
    }
    let json = change_subnet(&chain, netuid, |subnet, block| {
        let registered = subnet.register(&spec, block)?;
        Ok(json!({
            "uid": registered.uid,
            "replaced": registered.replaced,
            "neuron": subnet.view(registered.uid),
        }))
    })?;
    tracing::info!(netuid, hotkey = %spec.hotkey, uid = %json["uid"], "neuron registered");
    Ok((StatusCode::CREATED, Json(json)))
}

async fn neuron(
    State(chain): State<Chain>,
    Path((netuid, reference)): Path<(u16, String)>,
) -> AdminResult<Json<Value>> {
    read_subnet(&chain, netuid, |subnet| {
        find_uid(subnet, &reference).map(|uid| json!(subnet.view(uid)))
    })?
    .map(Json)
}

async fn patch_neuron(
    State(chain): State<Chain>,
    Path((netuid, reference)): Path<(u16, String)>,
    Body(patch): Body<NeuronPatch>,
) -> AdminResult<Json<Value>> {
    let json = change_subnet(&chain, netuid, |subnet, _| {
        let uid = find_uid(subnet, &reference)?;
        subnet.patch(uid, &patch)?;
        Ok(json!(subnet.view(uid)))
    })?;
    tracing::info!(netuid, neuron = %reference, "neuron changed");
    Ok(Json(json))
}

/// `POST /admin/subnets/{netuid}/deregister`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deregister {
    hotkey: AccountId,
    #[serde(default)]
    replacement: Option<NeuronSpec>,
}

async fn deregister(
    State(chain): State<Chain>,
    Path(netuid): Path<u16>,
    Body(body): Body<Deregister>,
) -> AdminResult<Json<Value>> {
    let json = change_subnet(&chain, netuid, |subnet, block| {
        let replacement = body.replacement.clone().unwrap_or_else(|| {
            // A hotkey nobody holds the secret of, derived from where and when, so runs repeat.
            let seed = (b"pulse-chain/replacement", netuid, body.hotkey, block).encode();
            NeuronSpec::hotkey(AccountId(crate::scale::blake2_256(&seed)))
        });
        let uid = subnet.deregister(&body.hotkey, &replacement, block)?;
        Ok(json!({"uid": uid, "replacement": replacement.hotkey, "neuron": subnet.view(uid)}))
    })?;
    tracing::info!(netuid, hotkey = %body.hotkey, "neuron deregistered");
    Ok(Json(json))
}

#[derive(Debug, Serialize)]
struct WeightsView {
    uid: u16,
    hotkey: Option<AccountId>,
    block: u64,
    weights: Vec<(u16, u16)>,
}

async fn weights(State(chain): State<Chain>, Path(netuid): Path<u16>) -> AdminResult<Json<Value>> {
    read_subnet(&chain, netuid, |subnet| {
        let mechanisms: Vec<Value> = subnet
            .mechanisms
            .iter()
            .enumerate()
            .map(|(mecid, mechanism)| {
                let weights: Vec<WeightsView> = mechanism
                    .weights
                    .iter()
                    .map(|(uid, entry)| WeightsView {
                        uid: *uid,
                        hotkey: subnet.neurons.get(usize::from(*uid)).map(|n| n.hotkey),
                        block: entry.block,
                        weights: entry.weights.clone(),
                    })
                    .collect();
                json!({
                    "mecid": mecid,
                    "netuid_index": subnet.storage_index(mecid as u8),
                    "last_update": mechanism.last_update,
                    "weights": weights,
                })
            })
            .collect();
        json!({"netuid": netuid, "mechanisms": mechanisms})
    })
    .map(Json)
}

async fn commits(State(chain): State<Chain>, Path(netuid): Path<u16>) -> AdminResult<Json<Value>> {
    read_subnet(&chain, netuid, |subnet| {
        let mechanisms: Vec<Value> = subnet
            .mechanisms
            .iter()
            .enumerate()
            .map(|(mecid, mechanism)| {
                let commits: Vec<Value> = mechanism
                    .commits
                    .iter()
                    .flat_map(|(who, queue)| {
                        queue.iter().map(move |c| {
                            json!({
                                "hotkey": who,
                                "hash": c.hash,
                                "commit_block": c.commit_block,
                                "first_reveal_block": c.first_reveal_block,
                                "last_reveal_block": c.last_reveal_block,
                            })
                        })
                    })
                    .collect();
                let timelocked: Vec<Value> = mechanism
                    .timelocked
                    .iter()
                    .flat_map(|(epoch, list)| {
                        list.iter().map(move |c| {
                            json!({
                                "epoch": epoch,
                                "hotkey": c.who,
                                "commit_block": c.commit_block,
                                "reveal_round": c.reveal_round,
                                "commit": to_hex(&c.commit),
                                "hash": H256::hash_of(&c.commit),
                            })
                        })
                    })
                    .collect();
                json!({"mecid": mecid, "commits": commits, "timelocked": timelocked})
            })
            .collect();
        json!({"netuid": netuid, "mechanisms": mechanisms})
    })
    .map(Json)
}

async fn reveals(State(chain): State<Chain>, Path(netuid): Path<u16>) -> AdminResult<Json<Value>> {
    read_subnet(&chain, netuid, |subnet| {
        let mut all = Vec::new();
        for (mecid, mechanism) in subnet.mechanisms.iter().enumerate() {
            for reveal in &mechanism.reveals {
                let mut value = json!(reveal);
                value["mecid"] = json!(mecid);
                all.push(value);
            }
        }
        Value::Array(all)
    })
    .map(Json)
}

async fn extrinsics(State(chain): State<Chain>) -> Json<Value> {
    Json(json!(chain.included()))
}
