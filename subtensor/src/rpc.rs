//! JSON-RPC 2.0 to a subtensor node over HTTP or WebSocket.
//!
//! Only the legacy Substrate methods are used (the ones the Python SDK and subxt's
//! legacy backend call), so any subtensor node, archive or lite, and Pulse's own chain
//! double answer them. Over HTTP every request is one POST; over WebSocket one
//! connection carries requests and subscriptions, and is opened again on the next
//! request after it drops.
//!
//! Every failure is one [`RpcError`]: the node could not be reached, it did not answer
//! in time, it answered with a JSON-RPC error (code and message), or its answer could
//! not be read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thiserror::Error;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use crate::endpoint::{Endpoint, Transport};

/// Why a JSON-RPC request did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RpcError {
    /// No connection could be made, or it broke before the answer came.
    #[error("subtensor node {url} is unreachable: {reason}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What the network layer said.
        reason: String,
    },
    /// The node took longer than the configured timeout.
    #[error("subtensor node {url} did not answer {method} within {timeout_ms} ms")]
    Timeout {
        /// The endpoint.
        url: String,
        /// The JSON-RPC method.
        method: String,
        /// The timeout that ran out.
        timeout_ms: u128,
    },
    /// The node answered with a JSON-RPC error object.
    #[error("subtensor node {url} refused {method}: RPC error {code}: {message}{}", data.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rpc {
        /// The endpoint.
        url: String,
        /// The JSON-RPC method.
        method: String,
        /// The JSON-RPC error code (1010 is an invalid transaction, -32601 an unknown method).
        code: i64,
        /// The error message.
        message: String,
        /// The error's `data` member, as text, when present.
        data: Option<String>,
    },
    /// The answer arrived but is not what the method returns.
    #[error("subtensor node {url} gave an undecodable answer to {method}: {reason}")]
    Undecodable {
        /// The endpoint.
        url: String,
        /// The JSON-RPC method.
        method: String,
        /// What could not be read.
        reason: String,
    },
    /// A subscription was asked of an HTTP endpoint.
    #[error("{method} needs a subscription, which needs a ws:// or wss:// endpoint; {url} is HTTP")]
    NeedsWebSocket {
        /// The endpoint.
        url: String,
        /// The JSON-RPC method.
        method: String,
    },
}

/// Timeouts of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcOptions {
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// How long one request may wait for its answer.
    pub request_timeout: Duration,
}

impl Default for RpcOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A JSON-RPC client for one endpoint. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RpcClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient")
            .field("url", &self.inner.url.as_str())
            .finish_non_exhaustive()
    }
}

struct Inner {
    url: Url,
    options: RpcOptions,
    next_id: AtomicU64,
    transport: TransportState,
}

enum TransportState {
    Http(reqwest::Client),
    // The live connection, replaced when it has closed.
    Ws(Mutex<Option<WsConnection>>),
}

impl RpcClient {
    /// A client for `endpoint`. Over WebSocket the connection is opened now, so an
    /// unreachable node is reported here; over HTTP nothing is sent yet.
    pub async fn connect(endpoint: &Endpoint, options: RpcOptions) -> Result<Self, RpcError> {
        let transport = match endpoint.transport() {
            Transport::Http => {
                let http = reqwest::Client::builder()
                    .connect_timeout(options.connect_timeout)
                    .build()
                    .map_err(|error| RpcError::Unreachable {
                        url: endpoint.url.to_string(),
                        reason: error.to_string(),
                    })?;
                TransportState::Http(http)
            }
            Transport::WebSocket => {
                let connection = WsConnection::open(&endpoint.url, options.connect_timeout).await?;
                TransportState::Ws(Mutex::new(Some(connection)))
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                url: endpoint.url.clone(),
                options,
                next_id: AtomicU64::new(1),
                transport,
            }),
        })
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &Url {
        &self.inner.url
    }

    /// Sends `method` with `params` (a JSON array) and reads the result as `T`.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, RpcError> {
        let result = self.request_value(method, params).await?;
        serde_json::from_value(result).map_err(|error| self.undecodable(method, error.to_string()))
    }

    /// Like [`RpcClient::request`], returning the raw JSON result.
    pub async fn request_value(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let timeout = self.inner.options.request_timeout;
        let answer = match &self.inner.transport {
            TransportState::Http(http) => {
                let sent = http
                    .post(self.inner.url.clone())
                    .json(&body)
                    .timeout(timeout)
                    .send();
                let response = sent.await.map_err(|error| self.http_error(method, error))?;
                let status = response.status();
                let text = response
                    .text()
                    .await
                    .map_err(|error| self.http_error(method, error))?;
                match serde_json::from_str::<Value>(&text) {
                    Ok(answer) => answer,
                    Err(_) if !status.is_success() => {
                        return Err(RpcError::Unreachable {
                            url: self.inner.url.to_string(),
                            reason: format!("HTTP {status}"),
                        });
                    }
                    Err(error) => return Err(self.undecodable(method, error.to_string())),
                }
            }
            TransportState::Ws(slot) => {
                let (reply, answer) = oneshot::channel();
                self.ws_send(
                    slot,
                    Command::Request {
                        id,
                        body,
                        reply,
                        notifications: None,
                    },
                )
                .await?;
                match tokio::time::timeout(timeout, answer).await {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(_)) => return Err(self.closed()),
                    Err(_) => return Err(self.timeout(method)),
                }
            }
        };
        self.result_of(method, answer)
    }

    /// Subscribes with `method` and `params`; notifications arrive on the returned
    /// [`Subscription`]. Dropping it sends `unsubscribe_method`. Needs WebSocket.
    pub async fn subscribe(
        &self,
        method: &str,
        params: Value,
        unsubscribe_method: &'static str,
    ) -> Result<Subscription, RpcError> {
        let TransportState::Ws(slot) = &self.inner.transport else {
            return Err(RpcError::NeedsWebSocket {
                url: self.inner.url.to_string(),
                method: method.to_string(),
            });
        };
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let (reply, answer) = oneshot::channel();
        let (notify, notifications) = mpsc::unbounded_channel();
        let commands = self
            .ws_send(
                slot,
                Command::Request {
                    id,
                    body,
                    reply,
                    notifications: Some(notify),
                },
            )
            .await?;
        let answer = match tokio::time::timeout(self.inner.options.request_timeout, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => return Err(self.closed()),
            Err(_) => return Err(self.timeout(method)),
        };
        let subscription_id = self.result_of(method, answer)?;
        if !(subscription_id.is_string() || subscription_id.is_number()) {
            return Err(self.undecodable(method, format!("subscription id {subscription_id}")));
        }
        Ok(Subscription {
            id: subscription_id,
            method: method.to_string(),
            url: self.inner.url.to_string(),
            notifications,
            commands,
            unsubscribe_method,
            next_id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
        })
    }

    // Hands a command to the live connection, opening a new one when the last has closed.
    async fn ws_send(
        &self,
        slot: &Mutex<Option<WsConnection>>,
        command: Command,
    ) -> Result<mpsc::UnboundedSender<Command>, RpcError> {
        let mut guard = slot.lock().await;
        if guard
            .as_ref()
            .is_none_or(|connection| connection.commands.is_closed())
        {
            *guard = Some(
                WsConnection::open(&self.inner.url, self.inner.options.connect_timeout).await?,
            );
        }
        let connection = guard.as_ref().expect("a connection was just opened");
        connection
            .commands
            .send(command)
            .map_err(|_| self.closed())?;
        Ok(connection.commands.clone())
    }

    fn result_of(&self, method: &str, answer: Value) -> Result<Value, RpcError> {
        let Value::Object(mut answer) = answer else {
            return Err(self.undecodable(method, "the answer is not a JSON object".into()));
        };
        if let Some(error) = answer.remove("error") {
            let code = error
                .get("code")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let data = error.get("data").map(|data| match data {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
            return Err(RpcError::Rpc {
                url: self.inner.url.to_string(),
                method: method.to_string(),
                code,
                message,
                data,
            });
        }
        answer.remove("result").ok_or_else(|| {
            self.undecodable(method, "the answer has neither result nor error".into())
        })
    }

    fn http_error(&self, method: &str, error: reqwest::Error) -> RpcError {
        if error.is_timeout() {
            self.timeout(method)
        } else {
            RpcError::Unreachable {
                url: self.inner.url.to_string(),
                reason: error_chain(&error),
            }
        }
    }

    fn timeout(&self, method: &str) -> RpcError {
        RpcError::Timeout {
            url: self.inner.url.to_string(),
            method: method.to_string(),
            timeout_ms: self.inner.options.request_timeout.as_millis(),
        }
    }

    fn closed(&self) -> RpcError {
        RpcError::Unreachable {
            url: self.inner.url.to_string(),
            reason: "the WebSocket connection closed".into(),
        }
    }

    fn undecodable(&self, method: &str, reason: String) -> RpcError {
        RpcError::Undecodable {
            url: self.inner.url.to_string(),
            method: method.to_string(),
            reason,
        }
    }
}

/// Notifications of one subscription, in the order the node sent them.
pub struct Subscription {
    id: Value,
    method: String,
    url: String,
    notifications: mpsc::UnboundedReceiver<Value>,
    commands: mpsc::UnboundedSender<Command>,
    unsubscribe_method: &'static str,
    next_id: u64,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("method", &self.method)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next notification's `result`; an error when the connection has closed.
    pub async fn next(&mut self) -> Result<Value, RpcError> {
        self.notifications
            .recv()
            .await
            .ok_or_else(|| RpcError::Unreachable {
                url: self.url.clone(),
                reason: format!("the WebSocket connection closed during {}", self.method),
            })
    }

    /// The next notification read as `T`.
    pub async fn next_as<T: DeserializeOwned>(&mut self) -> Result<T, RpcError> {
        let value = self.next().await?;
        serde_json::from_value(value).map_err(|error| RpcError::Undecodable {
            url: self.url.clone(),
            method: self.method.clone(),
            reason: error.to_string(),
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Best effort: the node also forgets subscriptions when the connection closes.
        let body = json!({
            "jsonrpc": "2.0",
            "id": self.next_id,
            "method": self.unsubscribe_method,
            "params": [self.id.clone()],
        });
        let _ = self.commands.send(Command::Unsubscribe {
            subscription: subscription_key(&self.id),
            body,
        });
    }
}

enum Command {
    Request {
        id: u64,
        body: Value,
        reply: oneshot::Sender<Value>,
        notifications: Option<mpsc::UnboundedSender<Value>>,
    },
    Unsubscribe {
        subscription: String,
        body: Value,
    },
}

struct WsConnection {
    commands: mpsc::UnboundedSender<Command>,
}

impl WsConnection {
    async fn open(url: &Url, connect_timeout: Duration) -> Result<Self, RpcError> {
        let unreachable = |reason: String| RpcError::Unreachable {
            url: url.to_string(),
            reason,
        };
        let connecting = tokio_tungstenite::connect_async(url.as_str());
        let (socket, _) = tokio::time::timeout(connect_timeout, connecting)
            .await
            .map_err(|_| {
                unreachable(format!(
                    "no WebSocket connection within {} ms",
                    connect_timeout.as_millis()
                ))
            })?
            .map_err(|error| unreachable(error_chain(&error)))?;
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run_connection(socket, receiver));
        Ok(Self { commands })
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

// Owns the socket: writes commands, routes answers to their requests by id and
// notifications to their subscriptions. Ends when the socket closes or every client
// handle is gone; pending requests then see their reply channel close.
async fn run_connection(socket: Socket, mut commands: mpsc::UnboundedReceiver<Command>) {
    let (mut sink, mut stream) = socket.split();
    let mut pending: HashMap<u64, (oneshot::Sender<Value>, Option<mpsc::UnboundedSender<Value>>)> =
        HashMap::new();
    let mut subscriptions: HashMap<String, mpsc::UnboundedSender<Value>> = HashMap::new();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                let body = match command {
                    Command::Request { id, body, reply, notifications } => {
                        pending.insert(id, (reply, notifications));
                        body
                    }
                    Command::Unsubscribe { subscription, body } => {
                        subscriptions.remove(&subscription);
                        body
                    }
                };
                if sink.send(Message::text(body.to_string())).await.is_err() {
                    break;
                }
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let Ok(message) = serde_json::from_str::<Value>(&text) else { continue };
                route(message, &mut pending, &mut subscriptions);
            }
        }
    }
}

fn route(
    message: Value,
    pending: &mut HashMap<u64, (oneshot::Sender<Value>, Option<mpsc::UnboundedSender<Value>>)>,
    subscriptions: &mut HashMap<String, mpsc::UnboundedSender<Value>>,
) {
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let Some((reply, notifications)) = pending.remove(&id) else {
            return;
        };
        // The subscription is registered before its id reaches the caller, so a
        // notification that follows the answer at once is not lost.
        if let (Some(notifications), Some(subscription)) = (notifications, message.get("result")) {
            subscriptions.insert(subscription_key(subscription), notifications);
        }
        let _ = reply.send(message);
        return;
    }
    let Some(params) = message.get("params") else {
        return;
    };
    let (Some(subscription), Some(result)) = (params.get("subscription"), params.get("result"))
    else {
        return;
    };
    let key = subscription_key(subscription);
    if let Some(sender) = subscriptions.get(&key)
        && sender.send(result.clone()).is_err()
    {
        subscriptions.remove(&key);
    }
}

fn subscription_key(id: &Value) -> String {
    match id {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
