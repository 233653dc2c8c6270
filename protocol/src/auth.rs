//! Request authentication: the reference `X-Auth-*` headers and Epistula v2.
//!
//! Both forms name a hotkey and carry an sr25519 signature with a timestamp. X-Auth signs
//! only `<prefix>:<unix seconds>` (it does not bind the body, and reference clients reuse one
//! signature across retries), so it is accepted for compatibility. Epistula v2 signs the
//! SHA-256 of the exact body, a request uuid and a millisecond timestamp; the server accepts
//! each uuid once, which makes a captured request useless to replay.
//!
//! This module decides whether headers are well formed, fresh and correctly signed. Whether
//! a uuid was seen before and whether the signer may act are the server's questions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use thiserror::Error;
use uuid::Uuid;

use crate::keys::{self, Hotkey};
use crate::ss58::{self, Ss58Error};

/// The message prefix reference clients sign: `talisman-ai-auth:<unix seconds>`.
pub const DEFAULT_MESSAGE_PREFIX: &str = "talisman-ai-auth";
/// Oldest accepted signature age, in seconds.
pub const DEFAULT_MAX_AGE_SECS: u64 = 300;
/// Furthest accepted signature time ahead of the server's clock, in seconds.
pub const DEFAULT_MAX_FUTURE_SECS: u64 = 60;

/// Header names, lowercase as `http` stores them.
pub mod header {
    /// X-Auth: signer's SS58 address.
    pub const X_AUTH_SS58_ADDRESS: &str = "x-auth-ss58address";
    /// X-Auth: the signed message, `<prefix>:<unix seconds>`.
    pub const X_AUTH_MESSAGE: &str = "x-auth-message";
    /// X-Auth: the signing instant as decimal seconds.
    pub const X_AUTH_TIMESTAMP: &str = "x-auth-timestamp";
    /// X-Auth: sr25519 signature, 128 hex digits.
    pub const X_AUTH_SIGNATURE: &str = "x-auth-signature";
    /// Epistula: protocol version, `2`.
    pub const EPISTULA_VERSION: &str = "epistula-version";
    /// Epistula: signing instant in Unix milliseconds.
    pub const EPISTULA_TIMESTAMP: &str = "epistula-timestamp";
    /// Epistula: a uuid, accepted once.
    pub const EPISTULA_UUID: &str = "epistula-uuid";
    /// Epistula: signer's SS58 address.
    pub const EPISTULA_SIGNED_BY: &str = "epistula-signed-by";
    /// Epistula: the intended receiver's SS58 address (optional).
    pub const EPISTULA_SIGNED_FOR: &str = "epistula-signed-for";
    /// Epistula: `0x` + 128 hex digits.
    pub const EPISTULA_REQUEST_SIGNATURE: &str = "epistula-request-signature";
}

/// The two header forms a request is signed with: what clients choose and what the server
/// found on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthForm {
    /// Epistula v2: binds the body, each request accepted once (Pulse's default).
    Epistula,
    /// The reference `X-Auth-*` headers, for compatibility.
    XAuth,
}

impl AuthForm {
    /// Both forms.
    pub const ALL: [AuthForm; 2] = [AuthForm::Epistula, AuthForm::XAuth];

    /// Stable lowercase name, for settings (`PULSE_AUTH`), logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthForm::XAuth => "x-auth",
            AuthForm::Epistula => "epistula",
        }
    }
}

impl std::fmt::Display for AuthForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an [`AuthForm`]'s.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown signature form {0:?} (expected epistula or x-auth)")]
pub struct UnknownAuthForm(pub String);

impl std::str::FromStr for AuthForm {
    type Err = UnknownAuthForm;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|form| form.as_str() == name)
            .ok_or_else(|| UnknownAuthForm(name.to_owned()))
    }
}

/// What the server checks signatures against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPolicy {
    /// Prefix of the X-Auth message (`<prefix>:<unix seconds>`).
    pub message_prefix: String,
    /// Oldest accepted signature.
    pub max_age: Duration,
    /// Furthest accepted signature time ahead of the server's clock.
    pub max_future: Duration,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            message_prefix: DEFAULT_MESSAGE_PREFIX.to_string(),
            max_age: Duration::from_secs(DEFAULT_MAX_AGE_SECS),
            max_future: Duration::from_secs(DEFAULT_MAX_FUTURE_SECS),
        }
    }
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Signer's SS58 address.
    pub hotkey: String,
    /// Signer's public key.
    pub public_key: [u8; 32],
    /// The header form used.
    pub form: AuthForm,
    /// Signing instant in Unix milliseconds.
    pub signed_at_ms: u64,
    /// The Epistula request uuid (which the server must accept only once).
    pub epistula_uuid: Option<Uuid>,
}

/// Why a request's authentication was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// Some but not all headers of a form are present.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but unreadable.
    #[error("malformed header {header}: {reason}")]
    Malformed {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `Epistula-Version` other than 2.
    #[error("unsupported Epistula-Version {0:?} (this server speaks version 2)")]
    UnsupportedVersion(String),
    /// The signer's address is not a valid SS58 address.
    #[error("invalid signer address: {0}")]
    BadAddress(Ss58Error),
    /// The signature does not verify for this signer and message.
    #[error("signature does not match the signer and message")]
    BadSignature,
    /// The signature is older than the freshness window.
    #[error("signature is {age_secs} s old; at most {max_secs} s is accepted (check the clock)")]
    Stale {
        /// How old it is.
        age_secs: u64,
        /// The limit.
        max_secs: u64,
    },
    /// The signature is dated too far ahead of the server's clock.
    #[error(
        "signature is dated {ahead_secs} s in the future; at most {max_secs} s is accepted (check the clock)"
    )]
    FromTheFuture {
        /// How far ahead it is.
        ahead_secs: u64,
        /// The limit.
        max_secs: u64,
    },
}

impl AuthError {
    /// A short stable code for the reason, for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingHeader(_) => "missing_header",
            AuthError::Malformed { .. } => "malformed_header",
            AuthError::UnsupportedVersion(_) => "unsupported_version",
            AuthError::BadAddress(_) => "bad_address",
            AuthError::BadSignature => "bad_signature",
            AuthError::Stale { .. } => "stale",
            AuthError::FromTheFuture { .. } => "future",
        }
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn header_str<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, AuthError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| AuthError::Malformed {
                header: name,
                reason: "not visible ASCII".into(),
            }),
    }
}

fn required<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, AuthError> {
    header_str(headers, name)?.ok_or(AuthError::MissingHeader(name))
}

fn check_freshness(
    signed_at_ms: u64,
    now: SystemTime,
    policy: &AuthPolicy,
) -> Result<(), AuthError> {
    let now_ms = unix_ms(now);
    if signed_at_ms > now_ms {
        let ahead = Duration::from_millis(signed_at_ms - now_ms);
        if ahead > policy.max_future {
            return Err(AuthError::FromTheFuture {
                ahead_secs: ahead.as_secs(),
                max_secs: policy.max_future.as_secs(),
            });
        }
    } else {
        let age = Duration::from_millis(now_ms - signed_at_ms);
        if age > policy.max_age {
            return Err(AuthError::Stale {
                age_secs: age.as_secs(),
                max_secs: policy.max_age.as_secs(),
            });
        }
    }
    Ok(())
}

fn parse_signature(header: &'static str, raw: &str) -> Result<[u8; 64], AuthError> {
    keys::decode_hex_array::<64>(raw).map_err(|e| AuthError::Malformed {
        header,
        reason: format!("signature must be 64 bytes of hex: {e}"),
    })
}

fn parse_signer(raw: &str) -> Result<[u8; 32], AuthError> {
    ss58::decode(raw).map_err(AuthError::BadAddress)
}

/// Checks a request's authentication headers against `body`.
///
/// Returns `Ok(None)` when the request carries neither form (public endpoints allow that).
/// Epistula is used when any `Epistula-*` header is present, X-Auth otherwise; a form with
/// some of its headers missing is refused naming the first missing one, never read as an
/// unsigned request.
pub fn verify_request(
    headers: &HeaderMap,
    body: &[u8],
    policy: &AuthPolicy,
    now: SystemTime,
) -> Result<Option<Verified>, AuthError> {
    verify_request_with(headers, body, policy, now, None)
}

/// [`verify_request`], looking up X-Auth signatures in `proven` before verifying them and
/// recording there the ones that verify, so that a reused X-Auth header (reference clients
/// sign once and reuse the headers while they are fresh) is not verified again. Freshness
/// and every header rule are still checked on each request; only the sr25519 arithmetic
/// for a (key, message, signature) already proven is skipped, so the answer is the same as
/// without `proven`.
pub fn verify_request_with(
    headers: &HeaderMap,
    body: &[u8],
    policy: &AuthPolicy,
    now: SystemTime,
    proven: Option<&dyn ProvenSignatures>,
) -> Result<Option<Verified>, AuthError> {
    let epistula = [
        header::EPISTULA_VERSION,
        header::EPISTULA_TIMESTAMP,
        header::EPISTULA_UUID,
        header::EPISTULA_SIGNED_BY,
        header::EPISTULA_SIGNED_FOR,
        header::EPISTULA_REQUEST_SIGNATURE,
    ];
    if epistula.iter().any(|h| headers.contains_key(*h)) {
        return verify_epistula(headers, body, policy, now).map(Some);
    }
    let x_auth = [
        header::X_AUTH_SS58_ADDRESS,
        header::X_AUTH_MESSAGE,
        header::X_AUTH_TIMESTAMP,
        header::X_AUTH_SIGNATURE,
    ];
    if x_auth.iter().any(|h| headers.contains_key(*h)) {
        return verify_x_auth(headers, policy, now, proven).map(Some);
    }
    Ok(None)
}

/// Parses `X-Auth-Timestamp` (decimal seconds such as `1764120123.4567891`) to whole seconds
/// and milliseconds.
fn parse_decimal_seconds(raw: &str) -> Option<(u64, u64)> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = whole.parse().ok()?;
    let millis: u64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    Some((secs, secs.checked_mul(1000)?.checked_add(millis)?))
}

fn verify_x_auth(
    headers: &HeaderMap,
    policy: &AuthPolicy,
    now: SystemTime,
    proven: Option<&dyn ProvenSignatures>,
) -> Result<Verified, AuthError> {
    let address = required(headers, header::X_AUTH_SS58_ADDRESS)?;
    let message = required(headers, header::X_AUTH_MESSAGE)?;
    let timestamp = required(headers, header::X_AUTH_TIMESTAMP)?;
    let signature = required(headers, header::X_AUTH_SIGNATURE)?;

    let public_key = parse_signer(address)?;
    let message_secs = message
        .strip_prefix(policy.message_prefix.as_str())
        .and_then(|rest| rest.strip_prefix(':'))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| AuthError::Malformed {
            header: header::X_AUTH_MESSAGE,
            reason: format!("expected \"{}:<unix seconds>\"", policy.message_prefix),
        })?;
    let (stamp_secs, signed_at_ms) =
        parse_decimal_seconds(timestamp).ok_or_else(|| AuthError::Malformed {
            header: header::X_AUTH_TIMESTAMP,
            reason: "expected decimal unix seconds such as 1764120123.45".into(),
        })?;
    if stamp_secs != message_secs {
        return Err(AuthError::Malformed {
            header: header::X_AUTH_TIMESTAMP,
            reason: format!("whole seconds {stamp_secs} differ from the message's {message_secs}"),
        });
    }
    let signature = parse_signature(header::X_AUTH_SIGNATURE, signature)?;
    check_freshness(signed_at_ms, now, policy)?;

    let proof = ProvenXAuth {
        public_key: &public_key,
        message,
        signature: &signature,
        message_secs,
    };
    if !proven.is_some_and(|proven| proven.is_proven(&proof)) {
        // Browser wallets sign the message wrapped in <Bytes>...</Bytes>; accept both.
        let verifies = keys::verify(&public_key, message.as_bytes(), &signature)
            || keys::verify(
                &public_key,
                format!("<Bytes>{message}</Bytes>").as_bytes(),
                &signature,
            );
        if !verifies {
            return Err(AuthError::BadSignature);
        }
        if let Some(proven) = proven {
            proven.remember(&proof, now, policy);
        }
    }
    Ok(Verified {
        hotkey: address.to_string(),
        public_key,
        form: AuthForm::XAuth,
        signed_at_ms,
        epistula_uuid: None,
    })
}

/// An X-Auth signature that verified, with what it was proven for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvenXAuth<'a> {
    /// The signer's public key.
    pub public_key: &'a [u8; 32],
    /// The signed message, `<prefix>:<unix seconds>`.
    pub message: &'a str,
    /// The sr25519 signature.
    pub signature: &'a [u8; 64],
    /// The Unix second the message names (when the signature stops being fresh follows
    /// from it).
    pub message_secs: u64,
}

/// Where [`verify_request_with`] looks up X-Auth signatures it proved before, and records
/// the ones it proves.
///
/// Reference clients sign once and reuse the X-Auth headers while they are fresh, so a
/// server that keeps the signatures it proved answers a reused header with a lookup instead
/// of the sr25519 arithmetic. The verifier trusts [`is_proven`](Self::is_proven): an
/// implementation must answer `true` only for a (key, message, signature) it was given
/// through [`remember`](Self::remember). What to keep and for how long is the
/// implementation's business (the server's is a bounded in-memory map).
pub trait ProvenSignatures {
    /// Whether `proof.signature` was proven for `proof.public_key` and `proof.message`.
    fn is_proven(&self, proof: &ProvenXAuth<'_>) -> bool;

    /// Records a signature that has just verified, at `now`, under `policy` (whose
    /// freshness limits tell which remembered signatures can no longer be accepted).
    fn remember(&self, proof: &ProvenXAuth<'_>, now: SystemTime, policy: &AuthPolicy);
}

/// The string an Epistula v2 signature covers:
/// `"{sha256 hex of body}.{uuid}.{timestamp_ms}.{signed_for}"`.
pub fn epistula_message(body: &[u8], uuid: &str, timestamp_ms: u64, signed_for: &str) -> String {
    let digest = hex::encode(Sha256::digest(body));
    format!("{digest}.{uuid}.{timestamp_ms}.{signed_for}")
}

fn verify_epistula(
    headers: &HeaderMap,
    body: &[u8],
    policy: &AuthPolicy,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let version = required(headers, header::EPISTULA_VERSION)?;
    if version != "2" {
        return Err(AuthError::UnsupportedVersion(version.to_string()));
    }
    let timestamp = required(headers, header::EPISTULA_TIMESTAMP)?;
    let uuid_raw = required(headers, header::EPISTULA_UUID)?;
    let signed_by = required(headers, header::EPISTULA_SIGNED_BY)?;
    let signed_for = header_str(headers, header::EPISTULA_SIGNED_FOR)?.unwrap_or("");
    let signature = required(headers, header::EPISTULA_REQUEST_SIGNATURE)?;

    let signed_at_ms = Some(timestamp)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| AuthError::Malformed {
            header: header::EPISTULA_TIMESTAMP,
            reason: "expected unix milliseconds".into(),
        })?;
    let uuid = Uuid::try_parse(uuid_raw).map_err(|_| AuthError::Malformed {
        header: header::EPISTULA_UUID,
        reason: "expected a uuid".into(),
    })?;
    let public_key = parse_signer(signed_by)?;
    let signature = parse_signature(header::EPISTULA_REQUEST_SIGNATURE, signature)?;
    check_freshness(signed_at_ms, now, policy)?;

    let message = epistula_message(body, uuid_raw, signed_at_ms, signed_for);
    if !keys::verify(&public_key, message.as_bytes(), &signature) {
        return Err(AuthError::BadSignature);
    }
    Ok(Verified {
        hotkey: signed_by.to_string(),
        public_key,
        form: AuthForm::Epistula,
        signed_at_ms,
        epistula_uuid: Some(uuid),
    })
}

fn value(s: impl AsRef<str>) -> HeaderValue {
    HeaderValue::from_str(s.as_ref()).expect("signing headers are ASCII")
}

/// X-Auth headers as the reference clients send them, signed at `now`.
pub fn sign_x_auth(hotkey: &Hotkey, message_prefix: &str, now: SystemTime) -> HeaderMap {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let message = format!("{message_prefix}:{}", since_epoch.as_secs());
    let signature = hex::encode(hotkey.sign(message.as_bytes()));
    let mut headers = HeaderMap::new();
    headers.insert(header::X_AUTH_SS58_ADDRESS, value(hotkey.ss58()));
    headers.insert(header::X_AUTH_MESSAGE, value(&message));
    headers.insert(
        header::X_AUTH_TIMESTAMP,
        value(format!(
            "{}.{:07}",
            since_epoch.as_secs(),
            since_epoch.subsec_nanos() / 100
        )),
    );
    headers.insert(header::X_AUTH_SIGNATURE, value(signature));
    headers
}

/// Epistula v2 headers for `body` with a fresh uuid, signed at `now`.
pub fn sign_epistula(
    hotkey: &Hotkey,
    body: &[u8],
    signed_for: Option<&str>,
    now: SystemTime,
) -> HeaderMap {
    sign_epistula_with(
        hotkey,
        body,
        &Uuid::new_v4().to_string(),
        unix_ms(now),
        signed_for.unwrap_or(""),
    )
}

/// Epistula v2 headers for `body` with the given uuid and timestamp (for tests and tools
/// that must control them).
pub fn sign_epistula_with(
    hotkey: &Hotkey,
    body: &[u8],
    uuid: &str,
    timestamp_ms: u64,
    signed_for: &str,
) -> HeaderMap {
    let message = epistula_message(body, uuid, timestamp_ms, signed_for);
    let mut headers = HeaderMap::new();
    headers.insert(header::EPISTULA_VERSION, HeaderValue::from_static("2"));
    headers.insert(header::EPISTULA_TIMESTAMP, value(timestamp_ms.to_string()));
    headers.insert(header::EPISTULA_UUID, value(uuid));
    headers.insert(header::EPISTULA_SIGNED_BY, value(hotkey.ss58()));
    if !signed_for.is_empty() {
        headers.insert(header::EPISTULA_SIGNED_FOR, value(signed_for));
    }
    headers.insert(
        header::EPISTULA_REQUEST_SIGNATURE,
        value(format!(
            "0x{}",
            hex::encode(hotkey.sign(message.as_bytes()))
        )),
    );
    headers
}

/// Builds request headers and a body from arbitrary bytes, verifies them, and panics if
/// verification broke a promise: any input gives a verdict (never a panic), and an accepted
/// request names a valid SS58 signer in the form its headers used.
///
/// Layout of `data`: a count byte, then per header a name selector byte (one of the auth
/// header names, or `content-type`), a length byte and that many value bytes; the rest is
/// the body. Shared by the `auth_headers` fuzz target and the property tests.
pub fn check_verify_invariants(data: &[u8]) {
    const NAMES: [&str; 11] = [
        header::X_AUTH_SS58_ADDRESS,
        header::X_AUTH_MESSAGE,
        header::X_AUTH_TIMESTAMP,
        header::X_AUTH_SIGNATURE,
        header::EPISTULA_VERSION,
        header::EPISTULA_TIMESTAMP,
        header::EPISTULA_UUID,
        header::EPISTULA_SIGNED_BY,
        header::EPISTULA_SIGNED_FOR,
        header::EPISTULA_REQUEST_SIGNATURE,
        "content-type",
    ];
    let mut headers = HeaderMap::new();
    let mut rest = data;
    let count = rest.first().map_or(0, |n| n % 12);
    rest = rest.get(1..).unwrap_or(&[]);
    for _ in 0..count {
        let [selector, len, tail @ ..] = rest else {
            break;
        };
        let len = usize::from(*len).min(tail.len());
        if let Ok(value) = HeaderValue::from_bytes(&tail[..len]) {
            headers.insert(NAMES[usize::from(*selector) % NAMES.len()], value);
        }
        rest = &tail[len..];
    }
    let now = UNIX_EPOCH + Duration::from_secs(1_764_120_123);
    match verify_request(&headers, rest, &AuthPolicy::default(), now) {
        Ok(Some(verified)) => {
            assert!(ss58::decode(&verified.hotkey).is_ok());
            let epistula = headers.contains_key(header::EPISTULA_VERSION);
            assert_eq!(verified.form == AuthForm::Epistula, epistula);
            assert_eq!(verified.epistula_uuid.is_some(), epistula);
        }
        Ok(None) => assert!(!NAMES[..10].iter().any(|n| headers.contains_key(*n))),
        Err(error) => assert!(!error.to_string().is_empty() && !error.code().is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn key() -> Hotkey {
        Hotkey::from_seed([0x11; 32])
    }

    #[test]
    fn x_auth_headers_verify_and_name_the_signer() {
        let now = at(1_764_120_123);
        let headers = sign_x_auth(&key(), DEFAULT_MESSAGE_PREFIX, now);
        let verified = verify_request(&headers, b"ignored", &AuthPolicy::default(), now)
            .unwrap()
            .unwrap();
        assert_eq!(verified.hotkey, key().ss58());
        assert_eq!(verified.form, AuthForm::XAuth);
        assert_eq!(verified.signed_at_ms, 1_764_120_123_000);
        assert_eq!(verified.epistula_uuid, None);
    }

    /// One signature a [`Recorder`] was given.
    #[derive(Debug, Clone)]
    struct Remembered {
        public_key: [u8; 32],
        message: String,
        signature: [u8; 64],
        message_secs: u64,
    }

    /// Remembers what it is given; answers `true` for everything when `trusting`.
    #[derive(Default)]
    struct Recorder {
        remembered: std::cell::RefCell<Vec<Remembered>>,
        trusting: bool,
    }

    impl ProvenSignatures for Recorder {
        fn is_proven(&self, proof: &ProvenXAuth<'_>) -> bool {
            self.trusting
                || self.remembered.borrow().iter().any(|r| {
                    r.public_key == *proof.public_key
                        && r.message == proof.message
                        && r.signature == *proof.signature
                })
        }

        fn remember(&self, proof: &ProvenXAuth<'_>, _now: SystemTime, _policy: &AuthPolicy) {
            self.remembered.borrow_mut().push(Remembered {
                public_key: *proof.public_key,
                message: proof.message.to_owned(),
                signature: *proof.signature,
                message_secs: proof.message_secs,
            });
        }
    }

    #[test]
    fn proven_x_auth_signatures_are_recorded_once_and_refused_ones_never() {
        let policy = AuthPolicy::default();
        let proven = Recorder::default();
        let now = at(1_764_120_123);
        let headers = sign_x_auth(&key(), DEFAULT_MESSAGE_PREFIX, now);
        for _ in 0..3 {
            assert_eq!(
                verify_request_with(&headers, b"", &policy, now, Some(&proven)),
                verify_request(&headers, b"", &policy, now)
            );
        }
        let remembered = proven.remembered.borrow().clone();
        assert_eq!(remembered.len(), 1, "proven once, then looked up");
        assert_eq!(remembered[0].public_key, key().public_key());
        assert_eq!(remembered[0].message, "talisman-ai-auth:1764120123");
        assert_eq!(
            hex::encode(remembered[0].signature),
            headers[header::X_AUTH_SIGNATURE].to_str().unwrap()
        );
        assert_eq!(remembered[0].message_secs, 1_764_120_123);

        let mut other_signer = headers.clone();
        other_signer.insert(
            header::X_AUTH_SS58_ADDRESS,
            HeaderValue::from_str(Hotkey::from_seed([0x22; 32]).ss58()).unwrap(),
        );
        assert_eq!(
            verify_request_with(&other_signer, b"", &policy, now, Some(&proven)),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            proven.remembered.borrow().len(),
            1,
            "refusals are not recorded"
        );
    }

    #[test]
    fn a_proven_signature_skips_only_the_arithmetic_never_the_freshness_or_header_rules() {
        let policy = AuthPolicy::default();
        // A store that vouches for everything shows what the verifier leaves to it.
        let trusting = Recorder {
            trusting: true,
            ..Recorder::default()
        };
        let now = at(1_764_120_123);
        let mut headers = sign_x_auth(&key(), DEFAULT_MESSAGE_PREFIX, now);
        headers.insert(header::X_AUTH_SIGNATURE, value("00".repeat(64)));
        assert!(
            verify_request_with(&headers, b"", &policy, now, Some(&trusting)).is_ok(),
            "the sr25519 check is the store's to skip"
        );
        assert!(matches!(
            verify_request_with(&headers, b"", &policy, at(1_764_120_424), Some(&trusting)),
            Err(AuthError::Stale { .. })
        ));
        headers.insert(header::X_AUTH_TIMESTAMP, value("1764120124.0"));
        assert_eq!(
            verify_request_with(&headers, b"", &policy, now, Some(&trusting))
                .unwrap_err()
                .code(),
            "malformed_header"
        );
        // Epistula signatures bind the body and a single-use uuid: never looked up.
        let mut epistula = sign_epistula(&key(), b"{}", None, now);
        epistula.insert(
            header::EPISTULA_REQUEST_SIGNATURE,
            value(format!("0x{}", "00".repeat(64))),
        );
        assert_eq!(
            verify_request_with(&epistula, b"{}", &policy, now, Some(&trusting)),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn x_auth_timestamp_keeps_the_fraction_as_python_prints_it() {
        let now = UNIX_EPOCH + Duration::from_nanos(1_764_120_123_456_789_100);
        let headers = sign_x_auth(&key(), "p", now);
        assert_eq!(headers[header::X_AUTH_TIMESTAMP], "1764120123.4567891");
        assert_eq!(headers[header::X_AUTH_MESSAGE], "p:1764120123");
    }

    #[test]
    fn no_auth_headers_means_anonymous() {
        assert_eq!(
            verify_request(&HeaderMap::new(), b"", &AuthPolicy::default(), at(0)),
            Ok(None)
        );
    }

    #[test]
    fn partial_x_auth_headers_name_the_missing_one() {
        let mut headers = sign_x_auth(&key(), DEFAULT_MESSAGE_PREFIX, at(1000));
        headers.remove(header::X_AUTH_SIGNATURE);
        assert_eq!(
            verify_request(&headers, b"", &AuthPolicy::default(), at(1000)),
            Err(AuthError::MissingHeader(header::X_AUTH_SIGNATURE))
        );
    }

    #[test]
    fn freshness_allows_five_minutes_past_and_one_minute_ahead() {
        let policy = AuthPolicy::default();
        let signed = at(10_000);
        let headers = sign_x_auth(&key(), DEFAULT_MESSAGE_PREFIX, signed);
        assert!(verify_request(&headers, b"", &policy, at(10_300)).is_ok());
        assert_eq!(
            verify_request(&headers, b"", &policy, at(10_301)),
            Err(AuthError::Stale {
                age_secs: 301,
                max_secs: 300
            })
        );
        assert!(verify_request(&headers, b"", &policy, at(9_940)).is_ok());
        assert_eq!(
            verify_request(&headers, b"", &policy, at(9_939)),
            Err(AuthError::FromTheFuture {
                ahead_secs: 61,
                max_secs: 60
            })
        );
    }

    #[test]
    fn x_auth_message_and_timestamp_must_name_the_same_second() {
        let mut headers = sign_x_auth(&key(), DEFAULT_MESSAGE_PREFIX, at(1000));
        headers.insert(header::X_AUTH_TIMESTAMP, HeaderValue::from_static("1001.5"));
        let err = verify_request(&headers, b"", &AuthPolicy::default(), at(1000)).unwrap_err();
        assert_eq!(err.code(), "malformed_header");
    }

    #[test]
    fn x_auth_message_with_another_prefix_is_refused() {
        let headers = sign_x_auth(&key(), "other-app", at(1000));
        let err = verify_request(&headers, b"", &AuthPolicy::default(), at(1000)).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::Malformed {
                    header: header::X_AUTH_MESSAGE,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn configured_prefix_is_honoured() {
        let policy = AuthPolicy {
            message_prefix: "pulse".into(),
            ..AuthPolicy::default()
        };
        let headers = sign_x_auth(&key(), "pulse", at(1000));
        assert!(verify_request(&headers, b"", &policy, at(1000)).is_ok());
    }

    #[test]
    fn signature_without_0x_or_with_it_both_parse() {
        let mut headers = sign_x_auth(&key(), DEFAULT_MESSAGE_PREFIX, at(1000));
        let bare = headers[header::X_AUTH_SIGNATURE]
            .to_str()
            .unwrap()
            .to_string();
        headers.insert(header::X_AUTH_SIGNATURE, value(format!("0x{bare}")));
        assert!(verify_request(&headers, b"", &AuthPolicy::default(), at(1000)).is_ok());
    }

    #[test]
    fn decimal_seconds_parse_with_and_without_fraction() {
        assert_eq!(
            parse_decimal_seconds("1764120123.4567891"),
            Some((1_764_120_123, 1_764_120_123_456))
        );
        assert_eq!(
            parse_decimal_seconds("1764120123"),
            Some((1_764_120_123, 1_764_120_123_000))
        );
        assert_eq!(
            parse_decimal_seconds("1764120123.5"),
            Some((1_764_120_123, 1_764_120_123_500))
        );
        assert_eq!(parse_decimal_seconds("-1.5"), None);
        assert_eq!(parse_decimal_seconds("1e9"), None);
        assert_eq!(parse_decimal_seconds(".5"), None);
    }

    #[test]
    fn epistula_headers_without_a_version_are_refused_not_read_as_unsigned() {
        // Found by the auth_headers fuzz target: a lone Epistula-Uuid made the request
        // anonymous, so a client that forgot Epistula-Version got a public reply.
        let mut headers = HeaderMap::new();
        headers.insert(
            header::EPISTULA_UUID,
            HeaderValue::from_static("f9532e466a3657f336b359ecb7af9fb7"),
        );
        assert_eq!(
            verify_request(&headers, b"", &AuthPolicy::default(), at(0)),
            Err(AuthError::MissingHeader(header::EPISTULA_VERSION))
        );
        let mut headers = sign_epistula(&key(), b"", None, at(1_764_120_123));
        headers.remove(header::EPISTULA_VERSION);
        assert_eq!(
            verify_request(&headers, b"", &AuthPolicy::default(), at(1_764_120_123)),
            Err(AuthError::MissingHeader(header::EPISTULA_VERSION))
        );
    }

    #[test]
    fn the_crash_the_fuzzer_found_is_a_clean_refusal() {
        let input =
            include_bytes!("../../fuzz/seeds/auth_headers/regression-epistula-without-version.bin");
        check_verify_invariants(input);
    }

    #[test]
    fn epistula_binds_the_body() {
        let now = at(1_764_120_123);
        let headers = sign_epistula(&key(), b"{\"a\":1}", None, now);
        let verified = verify_request(&headers, b"{\"a\":1}", &AuthPolicy::default(), now)
            .unwrap()
            .unwrap();
        assert_eq!(verified.form, AuthForm::Epistula);
        assert!(verified.epistula_uuid.is_some());
        assert_eq!(
            verify_request(&headers, b"{\"a\":2}", &AuthPolicy::default(), now),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn epistula_signed_for_is_covered_by_the_signature() {
        let now = at(1_764_120_123);
        let mut headers = sign_epistula(
            &key(),
            b"",
            Some("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"),
            now,
        );
        assert!(verify_request(&headers, b"", &AuthPolicy::default(), now).is_ok());
        headers.remove(header::EPISTULA_SIGNED_FOR);
        assert_eq!(
            verify_request(&headers, b"", &AuthPolicy::default(), now),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn epistula_other_versions_and_bad_uuids_are_refused() {
        let now = at(1_764_120_123);
        let mut headers = sign_epistula(&key(), b"", None, now);
        headers.insert(header::EPISTULA_VERSION, HeaderValue::from_static("1"));
        assert_eq!(
            verify_request(&headers, b"", &AuthPolicy::default(), now),
            Err(AuthError::UnsupportedVersion("1".into()))
        );
        let headers = sign_epistula_with(&key(), b"", "not-a-uuid", 1_764_120_123_000, "");
        let err = verify_request(&headers, b"", &AuthPolicy::default(), now).unwrap_err();
        assert!(matches!(
            err,
            AuthError::Malformed {
                header: header::EPISTULA_UUID,
                ..
            }
        ));
    }

    #[test]
    fn epistula_message_has_a_trailing_dot_when_signed_for_is_empty() {
        let message = epistula_message(b"", "u", 5, "");
        assert_eq!(
            message,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.u.5."
        );
    }
}
