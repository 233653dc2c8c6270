//! A double on a free port, raw JSON-RPC over HTTP (reqwest) and WebSocket
//! (tokio-tungstenite), the recorded files, and a test signer.

use std::path::PathBuf;
use std::time::Duration;

use chain::extrinsic::{Additional, Era, Extra, MetadataHashMode};
use chain::scale::{AccountId, H256, from_hex, to_hex};
use chain::{Chain, Config};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

/// Where the reference files live: `$PULSE_SHARED_DIR`, else `shared/` beside the workspace.
/// `None` (and a message on stderr) when they are absent, so tests that need them skip.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PULSE_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    if dir.join("chain/README.md").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: the reference files are not at {} (set PULSE_SHARED_DIR to the shared/ folder)",
            dir.display()
        );
        None
    }
}

/// A file under `shared/chain/`, if the reference files are present.
pub fn recorded(path: &str) -> Option<Vec<u8>> {
    let dir = shared_dir()?;
    Some(std::fs::read(dir.join("chain").join(path)).unwrap())
}

/// `shared/chain/extrinsics.json`, if present.
pub fn vectors() -> Option<Value> {
    recorded("extrinsics.json").map(|bytes| serde_json::from_slice(&bytes).unwrap())
}

/// The SDK vectors' signer (the pulse-test wallet's hotkey).
pub const VECTOR_SIGNER: &str = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV";

/// A double serving over HTTP and WebSocket until dropped.
pub struct TestChain {
    /// `http://127.0.0.1:<port>`.
    pub http: String,
    /// `ws://127.0.0.1:<port>`.
    pub ws: String,
    /// In-process handle sharing the chain.
    pub chain: Chain,
    /// HTTP client.
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl TestChain {
    /// Serves a chain built from `config`. The listener is bound before the server task
    /// starts, so requests can be made at once.
    pub async fn spawn(config: Config) -> Self {
        let chain = Chain::new(config).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(chain.clone().run());
        tokio::spawn(chain::serve(listener, chain.clone(), async {
            stopped.await.ok();
        }));
        Self {
            http: format!("http://{addr}"),
            ws: format!("ws://{addr}"),
            chain,
            client: reqwest::Client::new(),
            _shutdown: shutdown,
        }
    }

    /// One JSON-RPC call over HTTP; the whole response object.
    pub async fn rpc_raw(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = self
            .client
            .post(&self.http)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// One JSON-RPC call over HTTP that must succeed; its result.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        let answer = self.rpc_raw(method, params).await;
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// One JSON-RPC call over HTTP that must fail; its error object.
    pub async fn rpc_error(&self, method: &str, params: Value) -> Value {
        let answer = self.rpc_raw(method, params).await;
        assert!(
            answer.get("result").is_none(),
            "{method} succeeded: {answer}"
        );
        answer["error"].clone()
    }

    /// `state_call` over HTTP; the result bytes.
    pub async fn state_call(&self, function: &str, args: &[u8]) -> Vec<u8> {
        let result = self
            .rpc("state_call", json!([function, to_hex(args)]))
            .await;
        from_hex(result.as_str().unwrap()).unwrap()
    }

    /// A GET of the admin API that must succeed; its JSON body.
    pub async fn admin_get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.http))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// An admin request with a JSON body; status and JSON answer.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.http))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Makes `count` blocks through the admin API.
    pub async fn blocks(&self, count: u32) -> Value {
        let (status, body) = self
            .admin(
                reqwest::Method::POST,
                "/admin/blocks",
                json!({"count": count}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A WebSocket connection to the double.
    pub async fn connect(&self) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(&self.ws).await.unwrap();
        Ws { stream, next_id: 1 }
    }

    /// The additional signed data this chain checks at its best block, for an era born at
    /// `checkpoint`.
    pub fn additional(&self, checkpoint: H256) -> Additional {
        let runtime = self.chain.runtime_version(None).unwrap();
        Additional {
            spec_version: runtime.spec_version,
            transaction_version: runtime.transaction_version,
            genesis_hash: self.chain.genesis_hash(),
            checkpoint,
            metadata_hash: None,
        }
    }

    /// `call` signed by `key` with `nonce`, immortal, for this chain.
    pub fn sign(&self, key: &protocol::Hotkey, call: &[u8], nonce: u32) -> Vec<u8> {
        let extra = Extra {
            era: Era::Immortal,
            nonce,
            tip: 0,
            mode: MetadataHashMode::Disabled,
        };
        chain::extrinsic::sign(
            key,
            call,
            extra,
            &self.additional(self.chain.genesis_hash()),
        )
    }
}

/// A WebSocket JSON-RPC client that keeps every message it reads.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Ws {
    /// Sends a request; returns its id.
    pub async fn send(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.stream
            .send(Message::text(body.to_string()))
            .await
            .unwrap();
        id
    }

    /// The next JSON message, within 30 seconds.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.stream.next())
                .await
                .expect("no message from the double within 30 s")
                .expect("the connection closed")
                .unwrap();
            if let Message::Text(text) = message {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    /// Sends a request and returns its answer (the next message must be it).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params).await;
        let answer = self.next().await;
        assert_eq!(answer["id"], json!(id), "{answer}");
        answer
    }

    /// Opens a subscription; its id.
    pub async fn subscribe(&mut self, method: &str, params: Value) -> String {
        let answer = self.call(method, params).await;
        answer["result"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} gave no subscription id: {answer}"))
            .to_owned()
    }

    /// The next notification's `params.result`, checking its method and subscription id.
    pub async fn notification(&mut self, method: &str, subscription: &str) -> Value {
        let message = self.next().await;
        assert_eq!(message["method"], method, "{message}");
        assert_eq!(message["params"]["subscription"], subscription, "{message}");
        message["params"]["result"].clone()
    }
}

/// A hotkey from a one-byte seed.
pub fn key(seed: u8) -> protocol::Hotkey {
    protocol::Hotkey::from_seed([seed; 32])
}

/// The account of a hotkey.
pub fn account(key: &protocol::Hotkey) -> AccountId {
    AccountId(key.public_key())
}

/// Parses a `0x` block hash out of JSON.
pub fn hash(value: &Value) -> H256 {
    value.as_str().unwrap().parse().unwrap()
}
