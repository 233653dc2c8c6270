//! Query-string checks with X's error messages: unknown and repeated parameters, field lists.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;

use crate::error::{ParamError, XError};
use crate::wire::{EXPANSIONS, FieldSelection, TWEET_FIELDS, USER_FIELDS};

/// The decoded query string of one request.
pub(super) struct Params {
    pairs: Vec<(String, String)>,
}

/// Parameters every post endpoint accepts besides its own.
pub(super) const FIELD_PARAMS: &[&str] = &[
    "expansions",
    "tweet.fields",
    "user.fields",
    "media.fields",
    "place.fields",
    "poll.fields",
];

impl Params {
    /// Checks that every parameter is known (`own` or [`FIELD_PARAMS`]) and given once.
    pub(super) fn parse(
        raw: Result<Query<Vec<(String, String)>>, QueryRejection>,
        own: &[&str],
    ) -> Result<Self, XError> {
        let Query(pairs) = raw.map_err(|rejection| {
            XError::param(
                "query",
                "",
                format!("The query string is malformed: {rejection}"),
            )
        })?;
        let mut errors = Vec::new();
        for (i, (name, value)) in pairs.iter().enumerate() {
            if !own.contains(&name.as_str()) && !FIELD_PARAMS.contains(&name.as_str()) {
                let mut known: Vec<&str> = own.iter().chain(FIELD_PARAMS).copied().collect();
                known.sort_unstable();
                errors.push(ParamError::new(
                    name,
                    value,
                    format!(
                        "The query parameter [{name}] is not one of [{}]",
                        known.join(",")
                    ),
                ));
            } else if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                errors.push(ParamError::new(
                    name,
                    value,
                    format!("Duplicate parameters are not allowed: the `{name}` query parameter"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(Self { pairs })
        } else {
            Err(XError::InvalidRequest(errors))
        }
    }

    /// The value of a parameter.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `tweet.fields`, `user.fields` and `expansions`, each value checked against X's list.
    /// `media.fields`, `place.fields` and `poll.fields` are accepted unchecked: the dataset has
    /// no media, places or polls to show them on.
    pub(super) fn fields(&self) -> Result<FieldSelection, Vec<ParamError>> {
        let mut errors = Vec::new();
        let tweet = self.list("tweet.fields", TWEET_FIELDS, &mut errors);
        let user = self.list("user.fields", USER_FIELDS, &mut errors);
        let expansions = self.list("expansions", EXPANSIONS, &mut errors);
        if errors.is_empty() {
            Ok(FieldSelection {
                tweet,
                user,
                expand_author: expansions.iter().any(|e| e == "author_id"),
            })
        } else {
            Err(errors)
        }
    }

    fn list(&self, name: &str, allowed: &[&str], errors: &mut Vec<ParamError>) -> Vec<String> {
        let Some(raw) = self.get(name) else {
            return Vec::new();
        };
        let mut values = Vec::new();
        for value in raw.split(',') {
            if allowed.contains(&value) {
                values.push(value.to_owned());
            } else {
                errors.push(ParamError::new(
                    name,
                    value,
                    format!(
                        "The `{name}` query parameter value [{value}] is not one of [{}]",
                        allowed.join(",")
                    ),
                ));
            }
        }
        values
    }
}

/// Collects the errors of several independent checks so one reply can list them all, as X's
/// does.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<ParamError>);

impl Errors {
    /// The value, or `None` after recording why there is none.
    pub(super) fn take<T>(&mut self, result: Result<T, ParamError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    /// Like [`Errors::take`] for checks that report several errors.
    pub(super) fn take_all<T>(&mut self, result: Result<T, Vec<ParamError>>) -> Option<T> {
        result.map_err(|e| self.0.extend(e)).ok()
    }
}
