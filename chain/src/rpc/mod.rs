//! JSON-RPC 2.0: requests, responses, the method table, and the subscriptions a WebSocket
//! connection holds.
//!
//! The methods are the legacy Substrate ones the Python SDK and subxt's `LegacyBackend` call,
//! with the aliases a node registers; [`METHODS`] lists them as `rpc_methods` does.

pub mod error;
pub mod runtime_api;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::chain::{Chain, Notice, runtime_version_json};
use crate::config::{FINNEY_GENESIS, Genesis};
use crate::metadata::METADATA_V14;
use crate::scale::{AccountId, H256, from_hex, to_hex};
use error::RpcError;

/// Every method name the double answers (what `rpc_methods` lists).
pub const METHODS: &[&str] = &[
    "account_nextIndex",
    "author_pendingExtrinsics",
    "author_submitAndWatchExtrinsic",
    "author_submitExtrinsic",
    "author_unwatchExtrinsic",
    "chain_getBlock",
    "chain_getBlockHash",
    "chain_getFinalisedHead",
    "chain_getFinalizedHead",
    "chain_getHead",
    "chain_getHeader",
    "chain_getRuntimeVersion",
    "chain_subscribeAllHeads",
    "chain_subscribeFinalisedHeads",
    "chain_subscribeFinalizedHeads",
    "chain_subscribeNewHead",
    "chain_subscribeNewHeads",
    "chain_subscribeRuntimeVersion",
    "chain_unsubscribeAllHeads",
    "chain_unsubscribeFinalisedHeads",
    "chain_unsubscribeFinalizedHeads",
    "chain_unsubscribeNewHead",
    "chain_unsubscribeNewHeads",
    "chain_unsubscribeRuntimeVersion",
    "rpc_methods",
    "state_call",
    "state_callAt",
    "state_getKeysPaged",
    "state_getKeysPagedAt",
    "state_getMetadata",
    "state_getRuntimeVersion",
    "state_getStorage",
    "state_getStorageAt",
    "state_getStorageHash",
    "state_getStorageHashAt",
    "state_getStorageSize",
    "state_getStorageSizeAt",
    "state_queryStorageAt",
    "state_subscribeRuntimeVersion",
    "state_unsubscribeRuntimeVersion",
    "subscribe_newHead",
    "system_accountNextIndex",
    "system_chain",
    "system_chainType",
    "system_health",
    "system_name",
    "system_properties",
    "system_version",
    "unsubscribe_newHead",
];

/// Longest page `state_getKeysPaged` returns, as a node limits it.
const MAX_KEYS_PAGE: u64 = 1000;

/// A parsed request: its id (absent for a notification), method and positional params.
#[derive(Debug, Clone)]
pub struct Request {
    /// `id`; `None` for a notification, which gets no answer.
    pub id: Option<Value>,
    /// `method`.
    pub method: String,
    /// `params` as a list (absent params are an empty list).
    pub params: Vec<Value>,
}

impl Request {
    /// Reads one request object, or the error object to answer with (and the id to answer to).
    pub fn parse(value: Value) -> Result<Self, (Value, RpcError)> {
        let Value::Object(mut object) = value else {
            return Err((Value::Null, RpcError::invalid_request()));
        };
        let id = object.remove("id");
        let answer_to = id.clone().unwrap_or(Value::Null);
        if object.get("jsonrpc") != Some(&json!("2.0")) {
            return Err((answer_to, RpcError::invalid_request()));
        }
        let Some(Value::String(method)) = object.remove("method") else {
            return Err((answer_to, RpcError::invalid_request()));
        };
        let params = match object.remove("params") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(params)) => params,
            Some(_) => {
                return Err((answer_to, RpcError::invalid_params("params must be a list")));
            }
        };
        Ok(Self { id, method, params })
    }
}

/// A success response.
pub fn response(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "result": result, "id": id})
}

/// An error response.
pub fn error_response(id: Value, error: RpcError) -> Value {
    json!({"jsonrpc": "2.0", "error": error, "id": id})
}

/// A subscription notification.
pub fn notification(method: &str, subscription: &str, result: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": method,
        "params": {"subscription": subscription, "result": result},
    })
}

fn param(params: &[Value], index: usize) -> Option<&Value> {
    params.get(index).filter(|v| !v.is_null())
}

fn hash_param(params: &[Value], index: usize) -> Result<Option<H256>, RpcError> {
    param(params, index)
        .map(|value| {
            value
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| RpcError::invalid_params(format!("invalid block hash: {value}")))
        })
        .transpose()
}

fn bytes_param(params: &[Value], index: usize, what: &str) -> Result<Vec<u8>, RpcError> {
    let value =
        param(params, index).ok_or_else(|| RpcError::invalid_params(format!("missing {what}")))?;
    value
        .as_str()
        .and_then(|s| from_hex(s).ok())
        .ok_or_else(|| RpcError::invalid_params(format!("invalid hex {what}: {value}")))
}

fn number_param(value: &Value) -> Result<u64, RpcError> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| RpcError::invalid_params(format!("invalid block number: {n}"))),
        Value::String(s) => s
            .strip_prefix("0x")
            .and_then(|digits| u64::from_str_radix(digits, 16).ok())
            .ok_or_else(|| RpcError::invalid_params(format!("invalid block number: {s}"))),
        other => Err(RpcError::invalid_params(format!(
            "invalid block number: {other}"
        ))),
    }
}

fn chain_name(chain: &Chain) -> &'static str {
    match chain.config().genesis {
        Genesis::Hash(hash) if hash.to_string() == FINNEY_GENESIS => "Bittensor",
        _ => "pulse-chain",
    }
}

/// Answers a method that is not a subscription.
pub fn call(chain: &Chain, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    match method {
        "system_chain" => Ok(json!(chain_name(chain))),
        "system_name" => Ok(json!("pulse-chain")),
        "system_version" => Ok(json!(format!("{}-pulse-chain", env!("CARGO_PKG_VERSION")))),
        "system_chainType" => Ok(json!("Development")),
        "system_properties" => {
            Ok(json!({"ss58Format": 42, "tokenDecimals": 9, "tokenSymbol": "TAO"}))
        }
        "system_health" => Ok(json!({"peers": 0, "isSyncing": false, "shouldHavePeers": false})),
        "rpc_methods" => Ok(json!({"methods": METHODS})),
        "system_accountNextIndex" | "account_nextIndex" => {
            let who: AccountId = param(params, 0)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| RpcError::invalid_params("expected an SS58 address"))?;
            Ok(json!(chain.account_next_index(&who)))
        }
        "chain_getHeader" => {
            let at = hash_param(params, 0)?;
            Ok(chain.header(at).map_or(Value::Null, |h| h.to_json()))
        }
        "chain_getBlock" => {
            let at = hash_param(params, 0)?;
            Ok(chain.block(at).map_or(Value::Null, |(header, extrinsics)| {
                json!({
                    "block": {
                        "header": header.to_json(),
                        "extrinsics": extrinsics.iter().map(to_hex).collect::<Vec<_>>(),
                    },
                    "justifications": null,
                })
            }))
        }
        "chain_getBlockHash" | "chain_getHead" => match param(params, 0) {
            None => Ok(json!(chain.best_hash())),
            Some(Value::Array(numbers)) => numbers
                .iter()
                .map(|n| Ok(json!(chain.block_hash(Some(number_param(n)?)))))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Some(n) => Ok(json!(chain.block_hash(Some(number_param(n)?)))),
        },
        "chain_getFinalizedHead" | "chain_getFinalisedHead" => Ok(json!(chain.finalized().1)),
        "state_getRuntimeVersion" | "chain_getRuntimeVersion" => {
            let at = hash_param(params, 0)?;
            Ok(runtime_version_json(chain.runtime_version(at)?))
        }
        "state_getMetadata" => {
            let at = hash_param(params, 0)?;
            chain.with_state(at, |_, _, _| ())?;
            Ok(json!(to_hex(METADATA_V14)))
        }
        "state_call" | "state_callAt" => {
            let name = param(params, 0)
                .and_then(|v| v.as_str())
                .ok_or_else(|| RpcError::invalid_params("missing method name"))?;
            let args = bytes_param(params, 1, "call data")?;
            let at = hash_param(params, 2)?;
            runtime_api::call(chain, name, &args, at).map(|bytes| json!(to_hex(bytes)))
        }
        "state_getStorage" | "state_getStorageAt" => {
            let key = bytes_param(params, 0, "storage key")?;
            let at = hash_param(params, 1)?;
            let value =
                chain.with_state(at, |state, ctx, _| crate::state::read(state, ctx, &key))?;
            Ok(value.map_or(Value::Null, |v| json!(to_hex(v))))
        }
        "state_getStorageHash" | "state_getStorageHashAt" => {
            let key = bytes_param(params, 0, "storage key")?;
            let at = hash_param(params, 1)?;
            let value =
                chain.with_state(at, |state, ctx, _| crate::state::read(state, ctx, &key))?;
            Ok(value.map_or(Value::Null, |v| json!(H256::hash_of(&v))))
        }
        "state_getStorageSize" | "state_getStorageSizeAt" => {
            let key = bytes_param(params, 0, "storage key")?;
            let at = hash_param(params, 1)?;
            let value =
                chain.with_state(at, |state, ctx, _| crate::state::read(state, ctx, &key))?;
            Ok(value.map_or(Value::Null, |v| json!(v.len())))
        }
        "state_queryStorageAt" => {
            let keys = param(params, 0)
                .and_then(|v| v.as_array())
                .ok_or_else(|| RpcError::invalid_params("expected a list of keys"))?
                .iter()
                .map(|k| {
                    k.as_str()
                        .and_then(|s| from_hex(s).ok())
                        .ok_or_else(|| RpcError::invalid_params(format!("invalid key {k}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let at = hash_param(params, 1)?;
            let block = at.unwrap_or_else(|| chain.best_hash());
            let changes = chain.with_state(Some(block), |state, ctx, _| {
                keys.iter()
                    .map(|key| {
                        let value = crate::state::read(state, ctx, key);
                        json!([to_hex(key), value.map(to_hex)])
                    })
                    .collect::<Vec<_>>()
            })?;
            Ok(json!([{"block": block, "changes": changes}]))
        }
        "state_getKeysPaged" | "state_getKeysPagedAt" => {
            let prefix = match param(params, 0) {
                None => Vec::new(),
                Some(_) => bytes_param(params, 0, "prefix")?,
            };
            let count = param(params, 1)
                .map(number_param)
                .transpose()?
                .ok_or_else(|| RpcError::invalid_params("missing count"))?;
            if count > MAX_KEYS_PAGE {
                return Err(RpcError {
                    code: 4002,
                    message: format!(
                        "count exceeds maximum value. value: {count}, max: {MAX_KEYS_PAGE}"
                    ),
                    data: None,
                });
            }
            let start = match param(params, 2) {
                None => None,
                Some(_) => Some(bytes_param(params, 2, "start key")?),
            };
            let at = hash_param(params, 3)?;
            let mut keys = chain.with_state(at, |state, _, _| crate::state::keys(state))?;
            keys.retain(|k| k.starts_with(&prefix) && start.as_ref().is_none_or(|s| k > s));
            keys.sort();
            keys.truncate(count as usize);
            Ok(json!(keys.iter().map(to_hex).collect::<Vec<_>>()))
        }
        "author_submitExtrinsic" => {
            let bytes = bytes_param(params, 0, "extrinsic")?;
            chain.submit(bytes, None).map(|hash| json!(hash))
        }
        "author_pendingExtrinsics" => Ok(json!(chain.pending_extrinsics())),
        _ if is_subscription(method) => Err(RpcError::method_not_found()),
        _ => Err(RpcError::method_not_found()),
    }
}

/// Whether `method` opens or closes a subscription (only over WebSocket).
pub fn is_subscription(method: &str) -> bool {
    subscription_kind(method).is_some() || unsubscription(method)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NewHeads,
    AllHeads,
    FinalizedHeads,
    RuntimeVersion,
    Extrinsic,
}

fn subscription_kind(method: &str) -> Option<Kind> {
    match method {
        "chain_subscribeNewHeads" | "chain_subscribeNewHead" | "subscribe_newHead" => {
            Some(Kind::NewHeads)
        }
        "chain_subscribeAllHeads" => Some(Kind::AllHeads),
        "chain_subscribeFinalizedHeads" | "chain_subscribeFinalisedHeads" => {
            Some(Kind::FinalizedHeads)
        }
        "state_subscribeRuntimeVersion" | "chain_subscribeRuntimeVersion" => {
            Some(Kind::RuntimeVersion)
        }
        "author_submitAndWatchExtrinsic" => Some(Kind::Extrinsic),
        _ => None,
    }
}

fn unsubscription(method: &str) -> bool {
    matches!(
        method,
        "chain_unsubscribeNewHeads"
            | "chain_unsubscribeNewHead"
            | "unsubscribe_newHead"
            | "chain_unsubscribeAllHeads"
            | "chain_unsubscribeFinalizedHeads"
            | "chain_unsubscribeFinalisedHeads"
            | "state_unsubscribeRuntimeVersion"
            | "chain_unsubscribeRuntimeVersion"
            | "author_unwatchExtrinsic"
    )
}

/// A subscription id in the shape a node's (jsonrpsee's random 16-character strings).
fn subscription_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let digest = crate::scale::blake2_256(&n.to_le_bytes());
    digest[..16]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// One WebSocket connection's subscriptions. Outgoing messages go to `out`; dropping the
/// session ends every subscription task.
pub struct Session {
    chain: Chain,
    out: mpsc::UnboundedSender<Value>,
    subscriptions: HashMap<String, JoinHandle<()>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for task in self.subscriptions.values() {
            task.abort();
        }
    }
}

impl Session {
    /// A session writing to `out`.
    pub fn new(chain: Chain, out: mpsc::UnboundedSender<Value>) -> Self {
        Self {
            chain,
            out,
            subscriptions: HashMap::new(),
        }
    }

    /// Handles one request; the answer (if the request has an id) goes to `out`, before any
    /// notification of a subscription it opens.
    pub fn handle(&mut self, request: Request) {
        let id = request.id.clone().unwrap_or(Value::Null);
        let answer = if let Some(kind) = subscription_kind(&request.method) {
            self.subscribe(kind, &request.params)
                .map(|(sub_id, task)| (json!(sub_id), Some((sub_id, task))))
        } else if unsubscription(&request.method) {
            let removed = param(&request.params, 0)
                .and_then(|v| v.as_str())
                .and_then(|sub_id| self.subscriptions.remove(sub_id))
                .map(|task| task.abort())
                .is_some();
            Ok((json!(removed), None))
        } else {
            call(&self.chain, &request.method, &request.params).map(|v| (v, None))
        };
        match answer {
            Ok((result, started)) => {
                if request.id.is_some() {
                    let _ = self.out.send(response(id, result));
                }
                if let Some((sub_id, start)) = started {
                    let task = start(self.out.clone());
                    self.subscriptions.insert(sub_id, task);
                }
            }
            Err(err) => {
                if request.id.is_some() {
                    let _ = self.out.send(error_response(id, err));
                }
            }
        }
    }

    /// Opens a subscription: its id, and a function that starts forwarding once the answer
    /// carrying the id has been queued.
    #[expect(
        clippy::type_complexity,
        reason = "a one-off deferred start; a named type would add nothing"
    )]
    fn subscribe(
        &mut self,
        kind: Kind,
        params: &[Value],
    ) -> Result<
        (
            String,
            Box<dyn FnOnce(mpsc::UnboundedSender<Value>) -> JoinHandle<()> + Send>,
        ),
        RpcError,
    > {
        let sub_id = subscription_id();
        let chain = self.chain.clone();
        if kind == Kind::Extrinsic {
            let bytes = bytes_param(params, 0, "extrinsic")?;
            let (tx, mut statuses) = mpsc::unbounded_channel();
            chain.submit(bytes, Some(tx))?;
            let id = sub_id.clone();
            return Ok((
                sub_id,
                Box::new(move |out| {
                    tokio::spawn(async move {
                        while let Some(status) = statuses.recv().await {
                            let last = status.is_final();
                            let message =
                                notification("author_extrinsicUpdate", &id, status.to_json());
                            if out.send(message).is_err() || last {
                                return;
                            }
                        }
                    })
                }),
            ));
        }
        // Subscribe before reading the current value so nothing falls between the two.
        let mut notices = chain.subscribe();
        let (method, first) = match kind {
            Kind::NewHeads | Kind::AllHeads => (
                if kind == Kind::NewHeads {
                    "chain_newHead"
                } else {
                    "chain_allHead"
                },
                chain.best_header().to_json(),
            ),
            Kind::FinalizedHeads => (
                "chain_finalizedHead",
                chain
                    .header(Some(chain.finalized().1))
                    .map(|h| h.to_json())
                    .unwrap_or(Value::Null),
            ),
            Kind::RuntimeVersion => (
                "state_runtimeVersion",
                runtime_version_json(chain.runtime_version(None)?),
            ),
            Kind::Extrinsic => unreachable!("handled above"),
        };
        let id = sub_id.clone();
        Ok((
            sub_id,
            Box::new(move |out| {
                tokio::spawn(async move {
                    if out.send(notification(method, &id, first)).is_err() {
                        return;
                    }
                    loop {
                        let notice = match notices.recv().await {
                            Ok(notice) => notice,
                            Err(broadcast::error::RecvError::Lagged(missed)) => {
                                tracing::warn!(subscription = %id, missed, "subscriber lagged; notices skipped");
                                continue;
                            }
                            Err(broadcast::error::RecvError::Closed) => return,
                        };
                        let item = match (kind, notice) {
                            (Kind::NewHeads | Kind::AllHeads, Notice::NewHead(h)) => h,
                            (Kind::FinalizedHeads, Notice::Finalized(h)) => h,
                            (Kind::RuntimeVersion, Notice::RuntimeVersion(v)) => v,
                            _ => continue,
                        };
                        if out
                            .send(notification(method, &id, Value::clone(&item)))
                            .is_err()
                        {
                            return;
                        }
                    }
                })
            }),
        ))
    }
}

/// Answers one HTTP request body (a request or a batch): `None` when nothing is owed (only
/// notifications).
pub fn handle_http(chain: &Chain, body: &[u8]) -> Option<Value> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Some(error_response(Value::Null, RpcError::parse_error()));
    };
    match value {
        Value::Array(batch) => {
            if batch.is_empty() {
                return Some(error_response(Value::Null, RpcError::invalid_request()));
            }
            let answers: Vec<Value> = batch
                .into_iter()
                .filter_map(|item| handle_http_one(chain, item))
                .collect();
            (!answers.is_empty()).then_some(Value::Array(answers))
        }
        single => handle_http_one(chain, single),
    }
}

fn handle_http_one(chain: &Chain, value: Value) -> Option<Value> {
    let request = match Request::parse(value) {
        Ok(request) => request,
        Err((id, err)) => return Some(error_response(id, err)),
    };
    let answer = call(chain, &request.method, &request.params);
    let id = request.id?;
    Some(match answer {
        Ok(result) => response(id, result),
        Err(err) => error_response(id, err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn every_listed_method_is_answered_or_is_a_subscription() {
        let chain = Chain::new(Config::manual()).unwrap();
        for method in METHODS {
            if is_subscription(method) {
                continue;
            }
            if let Err(err) = call(&chain, method, &[]) {
                assert_ne!(err.code, -32601, "{method} is listed but not answered");
            }
        }
    }

    #[test]
    fn unknown_methods_and_malformed_requests_get_jsonrpc_errors() {
        let chain = Chain::new(Config::manual()).unwrap();
        let answer = handle_http(&chain, br#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#).unwrap();
        assert_eq!(answer["error"]["code"], -32601);
        let answer = handle_http(&chain, b"{not json").unwrap();
        assert_eq!(answer["error"]["code"], -32700);
        let answer = handle_http(&chain, br#"{"id":1,"method":"system_chain"}"#).unwrap();
        assert_eq!(answer["error"]["code"], -32600);
        assert!(handle_http(&chain, br#"{"jsonrpc":"2.0","method":"system_chain"}"#).is_none());
    }

    #[test]
    fn block_hash_takes_numbers_hex_and_lists() {
        let chain = Chain::new(Config::manual()).unwrap();
        chain.produce_blocks(2);
        let by_number = call(&chain, "chain_getBlockHash", &[json!(1)]).unwrap();
        let by_hex = call(&chain, "chain_getBlockHash", &[json!("0x1")]).unwrap();
        assert_eq!(by_number, by_hex);
        let list = call(&chain, "chain_getBlockHash", &[json!([0, 1, 9])]).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 3);
        assert_eq!(list[2], Value::Null);
    }

    #[test]
    fn subscription_ids_look_like_a_nodes() {
        let id = subscription_id();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(id, subscription_id());
    }
}
