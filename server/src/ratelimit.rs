//! Per-IP rate limits: requests to the public read API, and failed authentications on
//! every route.
//!
//! Each limit counts per IP address in fixed one-minute windows, in this process's
//! memory (several server processes each allow the limit; the limit is a guard against
//! one client starving the others, not an accounting). An address over a limit is
//! answered 429 with `Retry-After` (seconds until its minute ends) without reaching the
//! handler.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use protocol::api::ErrorBody;

use crate::AppState;

/// The counting period of both limits.
const PERIOD: Duration = Duration::from_secs(60);

/// Addresses tracked before stale entries are swept (one sweep per `MAX_TRACKED` new
/// addresses keeps the map bounded under a spray of source addresses).
const MAX_TRACKED: usize = 100_000;

/// Fixed-window counters per IP address.
#[derive(Debug, Default)]
pub struct IpCounter {
    entries: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl IpCounter {
    /// Adds one to `ip`'s count in the current minute; returns the count so far.
    pub fn add(&self, ip: IpAddr, now: Instant) -> u32 {
        let mut entries = self.entries.lock().expect("rate limit map poisoned");
        if entries.len() >= MAX_TRACKED && !entries.contains_key(&ip) {
            entries.retain(|_, (start, _)| now.duration_since(*start) < PERIOD);
        }
        let entry = entries.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= PERIOD {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1
    }

    /// `ip`'s count in the current minute, and the seconds until that minute ends.
    pub fn current(&self, ip: IpAddr, now: Instant) -> (u32, u64) {
        let entries = self.entries.lock().expect("rate limit map poisoned");
        match entries.get(&ip) {
            Some((start, count)) if now.duration_since(*start) < PERIOD => {
                let left = PERIOD - now.duration_since(*start);
                (*count, left.as_secs().max(1))
            }
            _ => (0, 0),
        }
    }
}

/// The two limits' counters, shared by every request of a process.
#[derive(Debug, Default)]
pub struct RateLimits {
    /// Requests to the public read API.
    pub public: IpCounter,
    /// Failed authentications (401 answers).
    pub auth_failures: IpCounter,
}

/// The 429 answer, with the seconds to wait.
fn too_many(retry_after: u64, what: &str) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(ErrorBody {
            detail: format!("too many {what} from this address; retry in {retry_after} s"),
            window: None,
        }),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&retry_after.to_string()).expect("digits"),
    );
    response
}

/// Middleware of every route: refuses an address whose failed authentications reached
/// the limit this minute, counts public requests against their limit, and counts each 401
/// answered.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let per_minute = state.settings.public_rate_limit_per_minute;
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let (Some(ip), true) = (ip, per_minute > 0) else {
        return next.run(request).await;
    };
    let now = Instant::now();
    let (failures, wait) = state.rate_limits.auth_failures.current(ip, now);
    if failures >= per_minute {
        return too_many(wait, "failed authentications");
    }
    if request.uri().path().starts_with("/v2/signal/") {
        let count = state.rate_limits.public.add(ip, now);
        if count > per_minute {
            let (_, wait) = state.rate_limits.public.current(ip, now);
            return too_many(wait, "requests");
        }
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        state.rate_limits.auth_failures.add(ip, now);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reset_after_a_minute_and_addresses_count_apart() {
        let counter = IpCounter::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        assert_eq!(counter.add(a, t0), 1);
        assert_eq!(counter.add(a, t0 + Duration::from_secs(59)), 2);
        assert_eq!(counter.add(b, t0), 1);
        assert_eq!(counter.current(a, t0 + Duration::from_secs(30)), (2, 30));
        assert_eq!(counter.add(a, t0 + Duration::from_secs(60)), 1);
        assert_eq!(counter.current(b, t0 + Duration::from_secs(61)), (0, 0));
    }
}
