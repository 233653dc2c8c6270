//! `/_admin`: list, add and change posts, read and advance the clock. Not part of X's API.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::XApi;
use crate::dataset::PostLine;
use crate::error::XError;
use crate::store::{AdminError, PostPatch, PostView};

/// `GET /_admin/posts` reply.
#[derive(Serialize)]
pub(super) struct PostList {
    /// Every post, deleted ones included, in dataset order then order of addition.
    posts: Vec<PostView>,
}

/// `GET`/`POST /_admin/clock` reply.
#[derive(Serialize)]
pub(super) struct ClockView {
    /// The time dataset ages count back from.
    anchor: DateTime<Utc>,
    /// The double's current time.
    now: DateTime<Utc>,
}

/// `POST /_admin/clock` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Advance {
    /// Seconds to move the clock forward.
    advance_secs: u64,
}

pub(super) async fn list(State(app): State<XApi>) -> Json<PostList> {
    Json(PostList { posts: app.posts() })
}

pub(super) async fn get(
    State(app): State<XApi>,
    Path(reference): Path<String>,
) -> Result<Json<PostView>, XError> {
    app.post(&reference)
        .map(Json)
        .ok_or_else(|| AdminError::NotFound(reference).into())
}

pub(super) async fn add(
    State(app): State<XApi>,
    body: Result<Json<PostLine>, JsonRejection>,
) -> Result<(StatusCode, Json<PostView>), XError> {
    let Json(line) = body.map_err(invalid_body)?;
    Ok((StatusCode::CREATED, Json(app.add_post(line)?)))
}

pub(super) async fn update(
    State(app): State<XApi>,
    Path(reference): Path<String>,
    body: Result<Json<PostPatch>, JsonRejection>,
) -> Result<Json<PostView>, XError> {
    let Json(patch) = body.map_err(invalid_body)?;
    Ok(Json(app.update_post(&reference, &patch)?))
}

pub(super) async fn clock(State(app): State<XApi>) -> Json<ClockView> {
    Json(ClockView {
        anchor: app.anchor(),
        now: app.now(),
    })
}

pub(super) async fn advance_clock(
    State(app): State<XApi>,
    body: Result<Json<Advance>, JsonRejection>,
) -> Result<Json<ClockView>, XError> {
    let Json(advance) = body.map_err(invalid_body)?;
    app.advance_clock(Duration::from_secs(advance.advance_secs));
    tracing::info!(advance_secs = advance.advance_secs, "clock advanced");
    Ok(clock(State(app)).await)
}

/// Malformed bodies get the admin problem shape instead of axum's plain-text rejection.
fn invalid_body(rejection: JsonRejection) -> XError {
    AdminError::Invalid(rejection.body_text()).into()
}
