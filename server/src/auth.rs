//! Who is calling: signature checks, Epistula replay protection and role checks.
//!
//! # Layout
//! - [`memo`]: the X-Auth signatures this process has proven ([`XAuthMemo`]).

pub mod memo;

use std::time::SystemTime;

use axum::http::HeaderMap;
use protocol::auth::{self, AuthForm, ProvenSignatures, Verified};

pub use memo::XAuthMemo;

use crate::AppState;
use crate::config::{AcceptedAuth, Registration, Role, RouteClass};
use crate::db;
use crate::error::ApiError;
use crate::metagraph::{Metagraph, Snapshot, ValidatorRefusal, tao};

/// Checks the request's signature, if any, without the database: form, freshness and
/// sr25519 signature. Whether an Epistula uuid was spent before is the caller's next
/// question ([`authenticate`] asks it; `/v2/submit` asks it inside its one statement).
pub fn verify(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<Verified>, ApiError> {
    let memo: &dyn ProvenSignatures = &*state.x_auth_memo;
    let verified = auth::verify_request_with(
        headers,
        body,
        &state.settings.auth,
        SystemTime::now(),
        Some(memo),
    )
    .map_err(|error| {
        // The claimed signer is unproven, so it is logged apart from the span's `hotkey`;
        // it is what an operator needs to find a miner whose clock is off.
        let claimed = [
            auth::header::EPISTULA_SIGNED_BY,
            auth::header::X_AUTH_SS58_ADDRESS,
        ]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .unwrap_or("");
        let span = tracing::Span::current();
        span.record("reason", error.code());
        span.record("hotkey", claimed);
        tracing::debug!(%error, "authentication refused");
        state.metrics.auth_failure(error.code());
        ApiError::Unauthorized(error.to_string())
    })?;
    if let Some(verified) = &verified {
        tracing::Span::current().record("hotkey", verified.hotkey.as_str());
        if verified.form == AuthForm::Epistula
            && let Some(identity) = &state.settings.server_identity
        {
            let signed_for = headers
                .get(auth::header::EPISTULA_SIGNED_FOR)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .unwrap_or("");
            if signed_for != identity {
                return Err(refuse(
                    state,
                    "wrong_signed_for",
                    format!(
                        "Epistula-Signed-For is {signed_for:?}, but this server is {identity:?}: sign requests for this server"
                    ),
                ));
            }
        }
    }
    Ok(verified)
}

/// The 401 for a request whose signature is valid but not acceptable here.
fn refuse(state: &AppState, code: &'static str, message: String) -> ApiError {
    let span = tracing::Span::current();
    span.record("reason", code);
    tracing::debug!(%message, "authentication refused");
    state.metrics.auth_failure(code);
    ApiError::Unauthorized(message)
}

/// Refuses a request of `class` signed in a form its setting does not accept
/// (`PULSE_MINER_AUTH`, `PULSE_VALIDATOR_AUTH`): with `epistula`, X-Auth is refused (401).
pub fn require_form(
    state: &AppState,
    verified: &Verified,
    class: RouteClass,
) -> Result<(), ApiError> {
    let (accepted, setting) = match class {
        RouteClass::Miners => (state.settings.miner_auth, "PULSE_MINER_AUTH"),
        RouteClass::Validators => (state.settings.validator_auth, "PULSE_VALIDATOR_AUTH"),
    };
    if accepted == AcceptedAuth::Epistula && verified.form != AuthForm::Epistula {
        return Err(refuse(
            state,
            "form_not_accepted",
            format!(
                "this server accepts only Epistula v2 signatures here ({setting}=epistula): X-Auth does not bind the request body"
            ),
        ));
    }
    Ok(())
}

/// [`verify`], refusing unsigned requests.
pub fn verify_signed(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, ApiError> {
    verify(state, headers, body)?.ok_or_else(|| {
        state.metrics.auth_failure("missing");
        ApiError::Unauthorized(
            "missing authentication: sign the request with Epistula v2 (Epistula-* headers) or X-Auth (X-Auth-* headers)"
                .into(),
        )
    })
}

/// The 401 for an Epistula uuid spent before.
pub fn replayed(state: &AppState, uuid: Option<uuid::Uuid>) -> ApiError {
    let uuid = uuid.map(|u| u.to_string()).unwrap_or_default();
    tracing::Span::current().record("reason", "replay");
    tracing::debug!(%uuid, "authentication refused");
    state.metrics.auth_failure("replay");
    ApiError::Unauthorized(format!(
        "Epistula-Uuid {uuid} was already used; sign every request with a new uuid"
    ))
}

/// Checks the request's signature, if any, and accepts its Epistula uuid once.
///
/// Returns `None` for an unsigned request. The uuid is recorded in its own statement,
/// before the request's work: a uuid is spent by authenticating, whatever the request's
/// outcome, so no signed request can be replayed later.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<Verified>, ApiError> {
    match verify(state, headers, body)? {
        Some(verified) => spend_uuid(state, verified).await.map(Some),
        None => Ok(None),
    }
}

/// [`authenticate`], refusing unsigned requests.
pub async fn require_signature(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, ApiError> {
    spend_uuid(state, verify_signed(state, headers, body)?).await
}

/// Accepts the Epistula uuid of a verified request once (X-Auth has none): the second
/// request with a uuid is refused as a replay. The uuid is recorded in its own statement,
/// before the request's work.
pub async fn spend_uuid(state: &AppState, verified: Verified) -> Result<Verified, ApiError> {
    if let Some(uuid) = verified.epistula_uuid
        && !db::nonces::consume(&state.db, uuid, &verified.hotkey, verified.signed_at_ms).await?
    {
        return Err(replayed(state, Some(uuid)));
    }
    Ok(verified)
}

/// The 403 for a submission signed by another hotkey than its `miner_hotkey`.
pub fn not_the_miner(state: &AppState, signer: &str, miner_hotkey: &str) -> ApiError {
    tracing::Span::current().record("reason", "signer_not_miner");
    state.metrics.auth_failure("signer_not_miner");
    ApiError::Forbidden(format!(
        "request is signed by {signer} but miner_hotkey is {miner_hotkey}; a miner may submit only as itself"
    ))
}

/// The 403 for a signer that may not submit posts, given its registered roles.
///
/// With open registration any hotkey may submit except one registered only in other roles
/// (a validator's key should not also mine unless the operator says so); with closed
/// registration only hotkeys registered as miners may. (`pulse_submit` applies the rule;
/// this words the refusal.)
pub fn not_a_miner(state: &AppState, hotkey: &str, roles: &[Role]) -> ApiError {
    let reason = if roles.is_empty() {
        format!(
            "hotkey {hotkey} is not registered as a miner on this server (registration is closed)"
        )
    } else {
        format!(
            "hotkey {hotkey} is registered as {} and may not submit posts",
            join_roles(roles)
        )
    };
    tracing::Span::current().record("reason", "wrong_role");
    state.metrics.auth_failure("wrong_role");
    ApiError::Forbidden(reason)
}

fn join_roles(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The 403 for a miner whose hotkey holds no UID on the subnet (REGISTRATION=metagraph).
pub fn no_uid(state: &AppState, hotkey: &str, snapshot: &Snapshot) -> ApiError {
    tracing::Span::current().record("reason", "no_uid");
    state.metrics.auth_failure("no_uid");
    ApiError::Forbidden(format!(
        "hotkey {hotkey} has no UID on netuid {netuid} at block {block}: register it with `btcli subnet register --netuid {netuid}` (with the wallet that holds it); this server sees registrations at its next metagraph sync",
        netuid = snapshot.netuid,
        block = snapshot.block,
    ))
}

/// Why `hotkey` may not act as a validator, or `None` when it may. Listed with `hotkeys add
/// --role validator` it always may; otherwise, with REGISTRATION=metagraph, a UID with a
/// validator permit and MIN_VALIDATOR_STAKE may (503 when the metagraph is too old to tell);
/// in the other modes only the listed ones may.
pub async fn validator_refusal(state: &AppState, hotkey: &str) -> Result<Option<String>, ApiError> {
    let roles = db::hotkeys::roles(&state.db, hotkey).await?;
    if roles.contains(&Role::Validator) {
        return Ok(None);
    }
    Ok(Some(
        match (&state.settings.registration, &state.metagraph) {
            (Registration::Metagraph, Some(metagraph)) => {
                let snapshot = metagraph.fresh_or_503()?;
                match metagraph.judge_validator(snapshot.neuron(hotkey)) {
                    Ok(()) => return Ok(None),
                    Err(refusal) => refusal_message(metagraph, &snapshot, hotkey, refusal),
                }
            }
            _ => format!(
                "hotkey {hotkey} is not registered as a validator on this server (pulse-server hotkeys add {hotkey} --role validator)"
            ),
        },
    ))
}

/// Refuses a signer that may not act as a validator ([`validator_refusal`] says why).
pub async fn require_validator(state: &AppState, hotkey: &str) -> Result<(), ApiError> {
    let Some(refusal) = validator_refusal(state, hotkey).await? else {
        return Ok(());
    };
    tracing::Span::current().record("reason", "wrong_role");
    state.metrics.auth_failure("wrong_role");
    Err(ApiError::Forbidden(refusal))
}

/// Why the metagraph does not make `hotkey` a validator, and what fixes it.
fn refusal_message(
    metagraph: &Metagraph,
    snapshot: &Snapshot,
    hotkey: &str,
    refusal: ValidatorRefusal,
) -> String {
    let netuid = snapshot.netuid;
    let block = snapshot.block;
    match refusal {
        ValidatorRefusal::NoUid => format!(
            "hotkey {hotkey} has no UID on netuid {netuid} at block {block}: register it with `btcli subnet register --netuid {netuid}`, then stake to it for a validator permit"
        ),
        ValidatorRefusal::NoPermit { uid } => format!(
            "hotkey {hotkey} (uid {uid} on netuid {netuid} at block {block}) has no validator permit: the chain gives permits to the subnet's top stakes at each epoch; add stake with `btcli stake add --netuid {netuid} --include-hotkeys {hotkey}`"
        ),
        ValidatorRefusal::LowStake { uid, stake_rao } => format!(
            "hotkey {hotkey} (uid {uid} on netuid {netuid} at block {block}) has {} of stake on the subnet, below MIN_VALIDATOR_STAKE ({}): add stake with `btcli stake add --netuid {netuid} --include-hotkeys {hotkey}`",
            tao(stake_rao),
            tao(metagraph.config().min_validator_stake_rao),
        ),
    }
}
