//! The client of the measured requests: each connection task owns one HTTP/1.1 keep-alive
//! connection (hyper's connection API, without a pool) and reopens it after a failure.
//!
//! A general client (reqwest) spends much of its time on what a load generator does not
//! need: a shared pool, URL handling, header merging. The generator shares the machine
//! with the server it measures, so its CPU per request is the server's loss; this client
//! does only what one connection needs.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Method};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::plan::{Reply, Request};

/// Where the server is and how long a reply may take.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host:port` to connect to.
    address: String,
    /// The `Host` header.
    authority: HeaderValue,
    /// Longest wait for a reply (connecting included).
    timeout: Duration,
}

impl Endpoint {
    /// The server at `base` (`http://host[:port]`, a path is ignored).
    pub fn parse(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let url = url::Url::parse(base).with_context(|| format!("{base} is not a URL"))?;
        if url.scheme() != "http" {
            bail!(
                "{base}: pulse-bench drives the server over plain http (measure the server \
                 itself, not a TLS proxy in front of it)"
            );
        }
        let host = url
            .host_str()
            .with_context(|| format!("{base} names no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let address = format!("{host}:{port}");
        let authority = HeaderValue::from_str(&address)
            .with_context(|| format!("{address} is not a valid Host header"))?;
        Ok(Self {
            address,
            authority,
            timeout,
        })
    }
}

/// One keep-alive connection to the server, opened on first use and after a failure.
#[derive(Debug)]
pub struct Connection {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// A connection to `endpoint`, not opened yet.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            sender: None,
        }
    }

    /// Sends `request` and reads the whole reply. A failure (refused, reset, timed out,
    /// not HTTP) is [`Reply::Transport`] and closes the connection, so the next request
    /// starts on a new one.
    pub async fn send(&mut self, request: Request) -> Reply {
        let timeout = self.endpoint.timeout;
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(error)) => {
                self.sender = None;
                // `{:#}` names every cause: refused, reset, timed out.
                Reply::Transport(format!("{error:#}"))
            }
            Err(_) => {
                self.sender = None;
                Reply::Transport(format!("no reply within {} s", timeout.as_secs_f64()))
            }
        }
    }

    async fn exchange(&mut self, request: Request) -> anyhow::Result<Reply> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.sender.insert(self.open().await?),
        };
        sender.ready().await.context("connection closed")?;
        let post = request.method == Method::POST;
        let mut message = http::Request::new(Full::new(request.body));
        *message.method_mut() = request.method;
        *message.uri_mut() = http::Uri::from_static(request.path);
        *message.headers_mut() = request.headers;
        let headers = message.headers_mut();
        headers.insert(HOST, self.endpoint.authority.clone());
        if post {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let response = sender.send_request(message).await?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .context("reading the reply")?
            .to_bytes();
        Ok(Reply::Http { status, body })
    }

    async fn open(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let address = &self.endpoint.address;
        let stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        // Requests are small and answered one at a time: Nagle's delay would only add
        // latency.
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP handshake with {address}"))?;
        // The connection's reads and writes run in a task of their own; it ends when the
        // sender is dropped or the server closes the connection.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}
