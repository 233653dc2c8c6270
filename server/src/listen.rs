//! The HTTP server loop: accepting connections with limits a public service needs.
//!
//! `axum::serve` sets no timers and no connection limit, so a client that trickles its
//! headers (slow-loris) or opens connections by the thousand could hold sockets and tasks
//! forever. This loop serves the same router through hyper with:
//! - a cap on open connections (`PULSE_MAX_CONNECTIONS`): a connection over the cap is
//!   closed as soon as it is accepted, so a flood cannot starve the clients already served;
//! - a header read timeout (`PULSE_HEADER_TIMEOUT_SECS`), which hyper also applies to
//!   keep-alive connections waiting idle for their next request;
//! - graceful shutdown: stop accepting, let requests in flight finish (at most
//!   [`SHUTDOWN_GRACE`]), then close.
//!
//! The listening socket itself ([`bind`]) keeps a long accept queue: miners connect all at
//! once when a window opens.
//!
//! Bodies are bounded separately (`PULSE_MAX_BODY_BYTES`), and a request whose handling
//! (body read included) takes longer than `PULSE_REQUEST_TIMEOUT_SECS` is answered 503.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;

use crate::metrics::Metrics;

/// How long requests in flight may run after shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Connections the kernel may hold completed for the server before it accepts them (the
/// kernel caps it at `net.core.somaxconn`, 4096 by default on Linux).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `address` with an accept queue of [`LISTEN_BACKLOG`] connections.
///
/// A window's opening brings every miner at once. With the queue Rust's standard library
/// (and so `tokio::net::TcpListener::bind`) asks for, 128, a subnet's 256 miners
/// connecting in the same instant overflowed it: the kernel dropped the surplus SYNs, and
/// each of those miners waited for its SYN's retransmission, a full second
/// (`pulse-bench burst`: p99 1.1 s against 0.13 s; bench/README.md).
pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As std does on Unix: a restarted server may bind while old connections linger in
    // TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest wait for a request's headers (and for the next request on an idle
    /// keep-alive connection).
    pub header_read_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            metrics.connections_rejected.inc();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(stream),
                // The peer's address reaches handlers and middleware as `ConnectInfo`
                // (the per-IP rate limits read it).
                TowerToHyperService::new(tower::Layer::layer(
                    &axum::Extension(axum::extract::ConnectInfo(peer)),
                    app.clone(),
                )),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        let open = Arc::clone(&metrics);
        open.open_connections.inc();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
            open.open_connections.dec();
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {} s; closing",
            SHUTDOWN_GRACE.as_secs()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections that complete while nobody accepts: only the accept queue holds them.
    /// With std's queue of 128 the rest would wait on SYN retransmissions (1 s, 3 s, 7 s,
    /// ...) until the deadline below; with [`LISTEN_BACKLOG`] every one completes at once.
    #[tokio::test]
    async fn a_burst_of_connections_fits_in_the_accept_queue_without_an_accept() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let address = listener.local_addr().unwrap();
        let mut connecting = tokio::task::JoinSet::new();
        for _ in 0..600 {
            connecting.spawn(tokio::net::TcpStream::connect(address));
        }
        let all = tokio::time::timeout(Duration::from_secs(30), async {
            let mut streams = Vec::new();
            while let Some(joined) = connecting.join_next().await {
                streams.push(joined.unwrap().unwrap());
            }
            streams
        })
        .await
        .expect("every connection completes into the accept queue");
        assert_eq!(all.len(), 600);
        drop(listener);
    }
}
