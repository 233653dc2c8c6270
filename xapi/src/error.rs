//! Error replies, in the body shapes X sends (and the same problem shape for the admin API).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::store::AdminError;

/// One invalid request parameter, as an entry of X's `errors` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name.
    pub parameter: String,
    /// The offending value(s).
    pub values: Vec<String>,
    /// X-style sentence, e.g. "The \`max_results\` query parameter value \[5\] is not between
    /// 10 and 100".
    pub message: String,
}

impl ParamError {
    /// An error about `parameter` holding `value`.
    pub fn new(parameter: &str, value: &str, message: impl Into<String>) -> Self {
        Self {
            parameter: parameter.to_owned(),
            values: vec![value.to_owned()],
            message: message.into(),
        }
    }
}

/// An error reply of the X endpoints or the admin API.
#[derive(Debug, thiserror::Error)]
pub enum XError {
    /// Missing or wrong bearer token: 401 `{"title":"Unauthorized","type":"about:blank",...}`.
    #[error("unauthorized")]
    Unauthorized,
    /// Invalid parameters: 400 with X's `Invalid Request` problem listing each one.
    #[error("invalid request: {0:?}")]
    InvalidRequest(Vec<ParamError>),
    /// Over the rate limit: 429 `{"title":"Too Many Requests",...}`.
    #[error("too many requests")]
    TooManyRequests,
    /// No such route: 404 with X's v1.1-style "page does not exist" body.
    #[error("no such page")]
    NoSuchPage,
    /// An admin API request failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
}

impl XError {
    /// A 400 about one parameter.
    pub fn param(parameter: &str, value: &str, message: impl Into<String>) -> Self {
        Self::InvalidRequest(vec![ParamError::new(parameter, value, message)])
    }
}

impl IntoResponse for XError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            XError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
            ),
            XError::InvalidRequest(errors) => {
                let errors: Vec<Value> = errors
                    .into_iter()
                    .map(|e| json!({"parameters": {e.parameter: e.values}, "message": e.message}))
                    .collect();
                (
                    StatusCode::BAD_REQUEST,
                    json!({
                        "errors": errors,
                        "title": "Invalid Request",
                        "detail": "One or more parameters to your request was invalid.",
                        "type": "https://api.twitter.com/2/problems/invalid-request",
                    }),
                )
            }
            XError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}),
            ),
            XError::NoSuchPage => (
                StatusCode::NOT_FOUND,
                json!({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}),
            ),
            XError::Admin(err) => {
                let (status, title) = match &err {
                    AdminError::NotFound(_) => (StatusCode::NOT_FOUND, "Not Found"),
                    AdminError::Conflict(_) => (StatusCode::CONFLICT, "Conflict"),
                    AdminError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid Request"),
                };
                (
                    status,
                    json!({"title": title, "detail": err.to_string(), "type": "about:blank", "status": status.as_u16()}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
