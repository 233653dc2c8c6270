//! Test support: the recorded chain files, a JSON-RPC responder over HTTP and WebSocket,
//! and a SCALE encoder driven by the metadata's types (for values no recording holds).

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parity_scale_codec::{Compact, Encode};
use scale_info::{PortableRegistry, TypeDef, TypeDefPrimitive};
use serde_json::{Value as Json, json};
use subtensor::value::Value;

/// The environment variable that names the shared reference directory.
pub const SHARED_ENV: &str = "PULSE_SHARED_DIR";

/// `shared/chain`: from `PULSE_SHARED_DIR`, else `../shared` (CI) or `../../shared`
/// (a helper's worktree) beside the workspace root. `None` when absent.
pub fn chain_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = std::env::var_os(SHARED_ENV)
        .map(PathBuf::from)
        .into_iter()
        .chain([root.join("../shared"), root.join("../../shared")]);
    for shared in candidates {
        let chain = shared.join("chain");
        if chain.join("README.md").is_file() {
            return Some(chain);
        }
    }
    None
}

/// The shared chain directory, or `None` after printing why the test skips.
#[macro_export]
macro_rules! chain_dir_or_skip {
    () => {
        match support::chain_dir() {
            Some(dir) => dir,
            None => {
                eprintln!(
                    "skipped: shared/chain not found (set {} or put shared/ beside the workspace)",
                    support::SHARED_ENV
                );
                return;
            }
        }
    };
}

/// A file of `shared/chain`.
pub fn read(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// A JSON file of `shared/chain`.
pub fn read_json(dir: &std::path::Path, name: &str) -> Json {
    serde_json::from_slice(&read(dir, name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// `0x`-hex of bytes.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Bytes of `0x`-hex.
pub fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text.trim_start_matches("0x")).unwrap()
}

/// What the responder answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A JSON-RPC result.
    Result(Json),
    /// A JSON-RPC error.
    Error {
        code: i64,
        message: String,
        data: Option<String>,
    },
    /// No answer at all (for timeouts).
    Silence,
    /// A subscription: its id, then these notifications under `notification` method.
    Subscription {
        notification: String,
        items: Vec<Json>,
    },
}

type Rule = Box<dyn Fn(&str, &Json) -> Option<Answer> + Send + Sync>;

/// A JSON-RPC node double for one test: HTTP POST and WebSocket on one port, answering
/// by rules tried in order, and keeping every request it saw.
pub struct Responder {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<ResponderState>,
}

struct ResponderState {
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<(String, Json)>>,
}

impl Responder {
    /// Starts a responder with no rules on a free loopback port.
    pub async fn start() -> Self {
        let state = Arc::new(ResponderState {
            rules: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/", post(http_rpc).get(ws_upgrade))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, state }
    }

    /// `http://` URL of the responder.
    pub fn http_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `ws://` URL of the responder.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Adds a rule (tried after the earlier ones).
    pub fn rule(&self, rule: impl Fn(&str, &Json) -> Option<Answer> + Send + Sync + 'static) {
        self.state.rules.lock().unwrap().push(Box::new(rule));
    }

    /// Answers `method` with `params` (hex strings compared without `0x`) with `result`.
    pub fn answer(&self, method: &str, params: Json, result: Json) {
        let method = method.to_string();
        let params = normalise(&params);
        self.rule(move |m, p| {
            (m == method && normalise(p) == params).then(|| Answer::Result(result.clone()))
        });
    }

    /// Answers `method` whatever its params.
    pub fn answer_any(&self, method: &str, answer: Answer) {
        let method = method.to_string();
        self.rule(move |m, _| (m == method).then(|| answer.clone()));
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<(String, Json)> {
        self.state.seen.lock().unwrap().clone()
    }

    /// The params of every request of `method` seen so far.
    pub fn seen_params(&self, method: &str) -> Vec<Json> {
        self.seen()
            .into_iter()
            .filter(|(m, _)| m == method)
            .map(|(_, params)| params)
            .collect()
    }

    /// Loads the recorded answers of `shared/chain`: every row of `rpc_replay.json`, the
    /// recorded metadata, and the recorded runtime version and head under the methods the
    /// client uses (`chain_getBlockHash []` for the head, the runtime version at any block).
    pub fn load_recording(&self, dir: &std::path::Path) {
        let replay = read_json(dir, "metagraph/rpc_replay.json");
        let facts = read_json(dir, "chain_facts.json");
        let head = facts["recorded_block"]["hash"].clone();
        self.answer("chain_getBlockHash", json!([]), head.clone());
        for row in replay["rows"].as_array().unwrap() {
            let method = row["method"].as_str().unwrap();
            let result = match row.get("result_file") {
                Some(file) => json!(hex0x(&read(
                    dir,
                    &format!("metagraph/{}", file.as_str().unwrap())
                ))),
                None => row["result"].clone(),
            };
            let method = if method == "chain_getHead" {
                "chain_getBlockHash"
            } else {
                method
            };
            self.answer(method, row["params"].clone(), result.clone());
            if method == "state_getRuntimeVersion" {
                // Recorded at the parent; the runtime is the same at the block itself.
                self.answer(method, json!([head.clone()]), result);
            }
        }
        let v14 = read(dir, "metadata_v14.scale");
        self.answer_any("state_getMetadata", Answer::Result(json!(hex0x(&v14))));
        let v15 = read(dir, "metadata_v15.scale");
        let mut wrapped = vec![1u8];
        Compact(v15.len() as u32).encode_to(&mut wrapped);
        wrapped.extend_from_slice(&v15);
        assert_eq!(
            hex0x(&wrapped[..5]),
            facts["metadata_v15_rpc_wrapper"]["result_prefix_hex"]
                .as_str()
                .unwrap()
        );
        self.rule(move |method, params| {
            (method == "state_call" && params[0] == "Metadata_metadata_at_version")
                .then(|| Answer::Result(json!(hex0x(&wrapped))))
        });
        self.answer("chain_getFinalizedHead", json!([]), head);
    }

    fn respond(&self, method: &str, params: &Json) -> Answer {
        respond(&self.state, method, params)
    }
}

fn respond(state: &ResponderState, method: &str, params: &Json) -> Answer {
    state
        .seen
        .lock()
        .unwrap()
        .push((method.to_string(), params.clone()));
    let rules = state.rules.lock().unwrap();
    rules
        .iter()
        .find_map(|rule| rule(method, params))
        .unwrap_or_else(|| Answer::Error {
            code: -32601,
            message: format!("Method not found: {method} {params}"),
            data: None,
        })
}

// Hex strings compare without their `0x`, so `"0100"` and `"0x0100"` are one param.
fn normalise(params: &Json) -> Json {
    match params {
        Json::String(text) => Json::String(text.trim_start_matches("0x").to_string()),
        Json::Array(items) => Json::Array(items.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

fn envelope(id: &Json, answer: &Answer) -> Option<Json> {
    match answer {
        Answer::Result(result) => Some(json!({"jsonrpc": "2.0", "id": id, "result": result})),
        Answer::Error {
            code,
            message,
            data,
        } => {
            let mut error = json!({"code": code, "message": message});
            if let Some(data) = data {
                error["data"] = json!(data);
            }
            Some(json!({"jsonrpc": "2.0", "id": id, "error": error}))
        }
        Answer::Silence => None,
        Answer::Subscription { .. } => Some(json!({
            "jsonrpc": "2.0", "id": id,
            "error": {"code": -32000, "message": "subscriptions need a WebSocket"}
        })),
    }
}

async fn http_rpc(State(state): State<Arc<ResponderState>>, body: String) -> Response {
    let request: Json = serde_json::from_str(&body).unwrap();
    let answer = respond(
        &state,
        request["method"].as_str().unwrap(),
        &request["params"],
    );
    match envelope(&request["id"], &answer) {
        Some(reply) => axum::Json(reply).into_response(),
        // Never answer: the client's timeout is what the test watches.
        None => std::future::pending::<Response>().await,
    }
}

async fn ws_upgrade(
    State(state): State<Arc<ResponderState>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| ws_session(state, socket))
}

async fn ws_session(state: Arc<ResponderState>, mut socket: WebSocket) {
    let mut next_subscription = 0u64;
    while let Some(Ok(message)) = socket.recv().await {
        let Message::Text(text) = message else {
            continue;
        };
        let request: Json = serde_json::from_str(&text).unwrap();
        let answer = respond(
            &state,
            request["method"].as_str().unwrap(),
            &request["params"],
        );
        match answer {
            Answer::Subscription {
                notification,
                items,
            } => {
                next_subscription += 1;
                let id = format!("sub-{next_subscription}");
                let reply = json!({"jsonrpc": "2.0", "id": request["id"], "result": id});
                if socket.send(Message::text(reply.to_string())).await.is_err() {
                    return;
                }
                for item in items {
                    let note = json!({
                        "jsonrpc": "2.0",
                        "method": notification,
                        "params": {"subscription": id, "result": item},
                    });
                    if socket.send(Message::text(note.to_string())).await.is_err() {
                        return;
                    }
                }
            }
            other => {
                if let Some(reply) = envelope(&request["id"], &other)
                    && socket.send(Message::text(reply.to_string())).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Encodes `value` as the registry's type `ty` (the inverse of `subtensor::value::decode`),
/// for building answers that no recording holds.
pub fn encode_value(types: &PortableRegistry, ty: u32, value: &Value, out: &mut Vec<u8>) {
    let resolved = types.resolve(ty).expect("type in registry");
    match (&resolved.type_def, value) {
        (TypeDef::Composite(composite), Value::Composite(fields)) => {
            assert_eq!(
                composite.fields.len(),
                fields.len(),
                "fields of {:?}",
                resolved.path
            );
            for (field, (_, value)) in composite.fields.iter().zip(fields) {
                encode_value(types, field.ty.id, value, out);
            }
        }
        (TypeDef::Composite(composite), single) if composite.fields.len() == 1 => {
            encode_value(types, composite.fields[0].ty.id, single, out);
        }
        (TypeDef::Variant(variants), Value::Variant { name, fields, .. }) => {
            let variant = variants
                .variants
                .iter()
                .find(|variant| &variant.name == name)
                .unwrap_or_else(|| panic!("no variant {name} in {:?}", resolved.path));
            out.push(variant.index);
            assert_eq!(variant.fields.len(), fields.len(), "fields of {name}");
            for (field, (_, value)) in variant.fields.iter().zip(fields) {
                encode_value(types, field.ty.id, value, out);
            }
        }
        (TypeDef::Sequence(_), Value::Bytes(bytes)) => bytes.encode_to(out),
        (TypeDef::Sequence(sequence), Value::Sequence(items)) => {
            Compact(items.len() as u32).encode_to(out);
            for item in items {
                encode_value(types, sequence.type_param.id, item, out);
            }
        }
        (TypeDef::Array(_), Value::Bytes(bytes)) => out.extend_from_slice(bytes),
        (TypeDef::Array(array), Value::Sequence(items)) => {
            for item in items {
                encode_value(types, array.type_param.id, item, out);
            }
        }
        (TypeDef::Tuple(tuple), Value::Composite(fields)) => {
            for (field, (_, value)) in tuple.fields.iter().zip(fields) {
                encode_value(types, field.id, value, out);
            }
        }
        (TypeDef::Primitive(primitive), value) => encode_primitive(primitive, value, out),
        (TypeDef::Compact(_), value) => {
            let number = value.as_u128().expect("compact of a number");
            Compact(number).encode_to(out);
        }
        (def, value) => panic!("cannot encode {value:?} as {def:?}"),
    }
}

fn encode_primitive(primitive: &TypeDefPrimitive, value: &Value, out: &mut Vec<u8>) {
    use TypeDefPrimitive as P;
    match (primitive, value) {
        (P::Bool, Value::Bool(flag)) => flag.encode_to(out),
        (P::U8, Value::Unsigned(n)) => (*n as u8).encode_to(out),
        (P::U16, Value::Unsigned(n)) => (*n as u16).encode_to(out),
        (P::U32, Value::Unsigned(n)) => (*n as u32).encode_to(out),
        (P::U64, Value::Unsigned(n)) => (*n as u64).encode_to(out),
        (P::U128, Value::Unsigned(n)) => n.encode_to(out),
        (P::I32, Value::Signed(n)) => (*n as i32).encode_to(out),
        (P::I64, Value::Signed(n)) => (*n as i64).encode_to(out),
        (P::I128, Value::Signed(n)) => n.encode_to(out),
        (P::Str, Value::Str(text)) => text.encode_to(out),
        (primitive, value) => panic!("cannot encode {value:?} as {primitive:?}"),
    }
}

/// A composite value from named fields.
pub fn composite(fields: Vec<(&str, Value)>) -> Value {
    Value::Composite(
        fields
            .into_iter()
            .map(|(name, value)| (Some(name.to_string()), value))
            .collect(),
    )
}

/// A variant value by name.
pub fn variant(name: &str, fields: Vec<Value>) -> Value {
    Value::Variant {
        name: name.to_string(),
        index: 0,
        fields: fields.into_iter().map(|value| (None, value)).collect(),
    }
}

/// An unsigned number value.
pub fn num(number: u128) -> Value {
    Value::Unsigned(number)
}

/// A map of the shared recorded answers by `(method, params)` for tests that need them
/// without a responder.
pub fn recorded_rows(dir: &std::path::Path) -> HashMap<String, Json> {
    let replay = read_json(dir, "metagraph/rpc_replay.json");
    replay["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                format!("{} {}", row["method"].as_str().unwrap(), row["params"]),
                row.clone(),
            )
        })
        .collect()
}

/// The zero value of a registry type: zeros, empty sequences, each enum's first variant.
pub fn default_value(types: &PortableRegistry, ty: u32) -> Value {
    let resolved = types.resolve(ty).expect("type in registry");
    match &resolved.type_def {
        TypeDef::Composite(composite) => Value::Composite(
            composite
                .fields
                .iter()
                .map(|field| (field.name.clone(), default_value(types, field.ty.id)))
                .collect(),
        ),
        TypeDef::Variant(variants) => {
            let first = variants
                .variants
                .iter()
                .min_by_key(|variant| variant.index)
                .expect("an enum with variants");
            Value::Variant {
                name: first.name.clone(),
                index: first.index,
                fields: first
                    .fields
                    .iter()
                    .map(|field| (field.name.clone(), default_value(types, field.ty.id)))
                    .collect(),
            }
        }
        TypeDef::Sequence(_) => Value::Sequence(Vec::new()),
        TypeDef::Array(array) => match &types.resolve(array.type_param.id).unwrap().type_def {
            TypeDef::Primitive(TypeDefPrimitive::U8) => Value::Bytes(vec![0; array.len as usize]),
            _ => Value::Sequence(
                (0..array.len)
                    .map(|_| default_value(types, array.type_param.id))
                    .collect(),
            ),
        },
        TypeDef::Tuple(tuple) => Value::Composite(
            tuple
                .fields
                .iter()
                .map(|field| (None, default_value(types, field.id)))
                .collect(),
        ),
        TypeDef::Primitive(TypeDefPrimitive::Bool) => Value::Bool(false),
        TypeDef::Primitive(TypeDefPrimitive::Str) => Value::Str(String::new()),
        TypeDef::Primitive(
            TypeDefPrimitive::I8
            | TypeDefPrimitive::I16
            | TypeDefPrimitive::I32
            | TypeDefPrimitive::I64
            | TypeDefPrimitive::I128,
        ) => Value::Signed(0),
        TypeDef::Primitive(_) | TypeDef::Compact(_) => Value::Unsigned(0),
        TypeDef::BitSequence(_) => panic!("no default bit sequence"),
    }
}

/// `value` with its field `name` replaced.
pub fn with_field(mut value: Value, name: &str, new: Value) -> Value {
    match &mut value {
        Value::Composite(fields) | Value::Variant { fields, .. } => {
            let slot = fields
                .iter_mut()
                .find(|(field, _)| field.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("no field {name}"));
            slot.1 = new;
        }
        other => panic!("{other:?} has no fields"),
    }
    value
}

/// One `System.Events` record: `pallet`.`event` in phase `ApplyExtrinsic(index)`, with
/// the given fields set and the rest at their zero values.
pub fn event_record(
    metadata: &subtensor::Metadata,
    index: u32,
    pallet: &str,
    event: &str,
    fields: Vec<(&str, Value)>,
) -> Value {
    let types = &metadata.types;
    let events = metadata.storage_entry("System", "Events").unwrap();
    let TypeDef::Sequence(records) = &types.resolve(events.value_ty).unwrap().type_def else {
        panic!()
    };
    let record_ty = records.type_param.id;
    let TypeDef::Composite(record) = &types.resolve(record_ty).unwrap().type_def else {
        panic!()
    };
    let event_field = record
        .fields
        .iter()
        .find(|f| f.name.as_deref() == Some("event"))
        .unwrap();
    let TypeDef::Variant(runtime_events) = &types.resolve(event_field.ty.id).unwrap().type_def
    else {
        panic!()
    };
    let pallet_variant = runtime_events
        .variants
        .iter()
        .find(|v| v.name == pallet)
        .unwrap();
    let pallet_event_ty = pallet_variant.fields[0].ty.id;
    let TypeDef::Variant(pallet_events) = &types.resolve(pallet_event_ty).unwrap().type_def else {
        panic!()
    };
    let event_variant = pallet_events
        .variants
        .iter()
        .find(|v| v.name == event)
        .unwrap();
    let mut event_value = Value::Variant {
        name: event.to_string(),
        index: event_variant.index,
        fields: event_variant
            .fields
            .iter()
            .map(|field| (field.name.clone(), default_value(types, field.ty.id)))
            .collect(),
    };
    for (name, value) in fields {
        event_value = with_field(event_value, name, value);
    }
    let mut record_value = default_value(types, record_ty);
    record_value = with_field(
        record_value,
        "phase",
        variant("ApplyExtrinsic", vec![num(u128::from(index))]),
    );
    with_field(record_value, "event", variant(pallet, vec![event_value]))
}

/// SCALE bytes of `System.Events` holding `records`.
pub fn events_bytes(metadata: &subtensor::Metadata, records: Vec<Value>) -> Vec<u8> {
    let events = metadata.storage_entry("System", "Events").unwrap();
    let mut out = Vec::new();
    encode_value(
        &metadata.types,
        events.value_ty,
        &Value::Sequence(records),
        &mut out,
    );
    out
}

/// The index of `pallet`'s error `name` in the metadata.
pub fn error_index(metadata: &subtensor::Metadata, pallet: &str, name: &str) -> u8 {
    let errors = metadata.pallet(pallet).unwrap().errors_ty.unwrap();
    let TypeDef::Variant(variants) = &metadata.types.resolve(errors).unwrap().type_def else {
        panic!()
    };
    variants
        .variants
        .iter()
        .find(|v| v.name == name)
        .unwrap()
        .index
}
