//! Slow and greedy clients are cut off without hurting the clients already being served.

use std::time::Duration;

use reqwest::StatusCode;
use server::config::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::App;

/// Reads until the server closes the connection; returns what it sent. Fails after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(limit, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection in time");
    received
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected_while_others_are_served() {
    let app = App::with_settings(Settings {
        header_read_timeout: Duration::from_secs(1),
        ..Settings::default()
    })
    .await;
    let mut slow = TcpStream::connect(app.server.address).await.unwrap();
    slow.write_all(b"POST /v2/submit HTTP/1.1\r\nHost: pulse\r\nContent-Type: appl")
        .await
        .unwrap();
    // Served while the slow client holds its connection.
    let status = app
        .client
        .get(app.url("/v2/status"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    let reply = read_until_closed(&mut slow, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected reply {text:?}"
    );
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once_and_served_clients_keep_working() {
    let app = App::with_settings(Settings {
        max_connections: 20,
        ..Settings::default()
    })
    .await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    assert_eq!(
        client
            .get(app.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let mut flood = Vec::new();
    for _ in 0..200 {
        flood.push(TcpStream::connect(app.server.address).await.unwrap());
    }
    // The established client keeps being served on its kept-alive connection.
    for _ in 0..20 {
        assert_eq!(
            client
                .get(app.url("/v2/status"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    // Connections over the cap were closed as soon as they were accepted.
    let mut closed = 0;
    for stream in &mut flood[30..] {
        let reply = read_until_closed(stream, Duration::from_secs(10)).await;
        assert!(reply.is_empty());
        closed += 1;
    }
    assert_eq!(closed, 170);
    let text = client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rejected: f64 = text
        .lines()
        .find(|l| l.starts_with("pulse_connections_rejected_total "))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap();
    assert!(rejected >= 170.0, "{rejected}");

    // Once the flood goes away, new clients get in again.
    drop(flood);
    let fresh = reqwest::Client::new();
    let mut served = false;
    for _ in 0..50 {
        if let Ok(response) = fresh.get(app.url("/health")).send().await {
            served = response.status() == StatusCode::OK;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(served);
}

#[tokio::test]
async fn oversized_verdict_batches_are_413_too() {
    let app = App::with_settings(Settings {
        max_body_bytes: 1024,
        ..Settings::default()
    })
    .await;
    let signer = crate::helpers::miner();
    let body = serde_json::json!({"validator_hotkey": signer.ss58(), "results": [], "padding": "x".repeat(2048)});
    let response = signer
        .post_json(&app.client, &app.url("/v2/validation_result"), &body)
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
