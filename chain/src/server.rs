//! The HTTP surface on one port, as a node's RPC server has it: JSON-RPC over `POST /` and over
//! a WebSocket upgrade of `GET /`, the node's `GET /health`, and the admin API under `/admin`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::chain::Chain;
use crate::rpc::{self, Request as RpcRequest, Session, error::RpcError};

/// Largest request or message, as a node's default (15 MiB).
const MAX_MESSAGE_BYTES: usize = 15 * 1024 * 1024;

/// The double's routes, ready to serve.
pub fn router(chain: Chain) -> Router {
    Router::new()
        .route("/", get(websocket).post(http_rpc))
        .route(
            "/health",
            get(|| async {
                axum::Json(json!({"peers": 0, "isSyncing": false, "shouldHavePeers": false}))
            }),
        )
        .merge(crate::admin::router(chain.clone()))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let path = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or(req.uri().path(), MatchedPath::as_str);
                    tracing::debug_span!("request", http.method = %req.method(), http.path = %path)
                })
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
        .with_state(chain)
}

async fn http_rpc(State(chain): State<Chain>, body: Bytes) -> Response {
    // Runtime calls and block production share a lock; keep the async workers free.
    let answer = tokio::task::spawn_blocking(move || rpc::handle_http(&chain, &body)).await;
    match answer {
        Ok(Some(value)) => (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            value.to_string(),
        )
            .into_response(),
        Ok(None) => StatusCode::OK.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "JSON-RPC handler failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn websocket(
    State(chain): State<Chain>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(MAX_MESSAGE_BYTES)
            .on_upgrade(move |socket| connection(chain, socket)),
        // What jsonrpsee answers a plain GET on the RPC port.
        Err(_) => (
            StatusCode::METHOD_NOT_ALLOWED,
            "Used HTTP Method is not allowed. POST or OPTIONS is required\n",
        )
            .into_response(),
    }
}

/// Serves one WebSocket connection: requests in, answers and notifications out, in order.
async fn connection(chain: Chain, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Value>();
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            if sink.send(Message::text(message.to_string())).await.is_err() {
                return;
            }
        }
    });
    let mut session = Session::new(chain.clone(), out.clone());
    while let Some(Ok(message)) = stream.next().await {
        let text = match &message {
            Message::Text(text) => text.as_str().to_owned(),
            Message::Binary(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => text.to_owned(),
                Err(_) => {
                    let _ = out.send(rpc::error_response(Value::Null, RpcError::parse_error()));
                    continue;
                }
            },
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            let _ = out.send(rpc::error_response(Value::Null, RpcError::parse_error()));
            continue;
        };
        match value {
            Value::Array(batch) => {
                let chain = chain.clone();
                let answers: Vec<Value> = batch
                    .into_iter()
                    .filter_map(|item| match RpcRequest::parse(item) {
                        Err((id, err)) => Some(rpc::error_response(id, err)),
                        Ok(request) => {
                            let id = request.id?;
                            Some(match rpc::call(&chain, &request.method, &request.params) {
                                Ok(result) => rpc::response(id, result),
                                Err(err) => rpc::error_response(id, err),
                            })
                        }
                    })
                    .collect();
                if !answers.is_empty() {
                    let _ = out.send(Value::Array(answers));
                }
            }
            single => match RpcRequest::parse(single) {
                Ok(request) => session.handle(request),
                Err((id, err)) => {
                    let _ = out.send(rpc::error_response(id, err));
                }
            },
        }
    }
    drop(session);
    drop(out);
    // The writer ends when the last sender (held by subscription tasks) is gone; those were
    // aborted with the session, so this does not wait on anything but queued messages.
    let _ = writer.await;
}
