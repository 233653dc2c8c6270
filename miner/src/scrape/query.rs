//! The recent-search query: configured keywords, hashtags and mentions, then the filters.
//!
//! `(k1 OR "two words" OR #tag OR @account) -is:retweet lang:en`
//!
//! The parentheses matter: X binds AND tighter than OR, so the reference's
//! `k1 OR k2 -is:retweet lang:en` applies both filters to `k2` alone and lets retweets and
//! every language through for `k1`. With a single term there is nothing to group.

use thiserror::Error;

/// What to search for (a topic is keywords, hashtags and mentions: docs/protocol.md#x-search).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchTerms {
    /// Words (or phrases, when they contain spaces) any of which a post may contain.
    pub keywords: Vec<String>,
    /// Hashtags, with or without `#`.
    pub hashtags: Vec<String>,
    /// Accounts whose mentions count, with or without `@`.
    pub mentions: Vec<String>,
}

/// The filters every query ends with.
pub const FILTERS: &str = "-is:retweet lang:en";

/// Why the terms make no valid query.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueryError {
    /// Nothing to search for.
    #[error("no keywords, hashtags or mentions to search for")]
    Empty,
    /// A term X would read as something else.
    #[error("cannot search for {term:?}: {reason}")]
    BadTerm {
        /// The term as given.
        term: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The query is longer than X accepts.
    #[error(
        "the search query is {len} characters long; X accepts at most {max} (use fewer or shorter keywords, or raise X_MAX_QUERY_LEN on an enterprise project): {query}"
    )]
    TooLong {
        /// The query.
        query: String,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
}

fn bad(term: &str, reason: &'static str) -> QueryError {
    QueryError::BadTerm {
        term: term.to_owned(),
        reason,
    }
}

fn keyword(raw: &str) -> Result<String, QueryError> {
    let word = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if word.contains(['"', '(', ')']) {
        return Err(bad(raw, "quotes and parentheses are query syntax"));
    }
    if word.starts_with('-') {
        return Err(bad(raw, "a leading '-' negates a term"));
    }
    if word.contains(' ') {
        return Ok(format!("\"{word}\""));
    }
    if word.contains(':') {
        return Err(bad(raw, "'name:value' is an operator"));
    }
    if word == "OR" || word == "AND" {
        return Err(bad(raw, "OR and AND are operators"));
    }
    Ok(word)
}

fn entity(raw: &str, sigil: char, what: &'static str) -> Result<String, QueryError> {
    let name = raw.strip_prefix(sigil).unwrap_or(raw);
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && (sigil != '@' || (name.len() <= 15 && name.is_ascii()));
    if valid {
        Ok(format!("{sigil}{name}"))
    } else {
        Err(bad(raw, what))
    }
}

/// The query for `terms`, at most `max_len` characters.
///
/// Blank entries are ignored (an empty `MINER_HASHTAGS=` means none) and repeats, compared
/// case-insensitively, are kept once.
pub fn build_query(terms: &SearchTerms, max_len: usize) -> Result<String, QueryError> {
    let mut parts: Vec<String> = Vec::new();
    let nonblank = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    for raw in nonblank(&terms.keywords) {
        parts.push(keyword(&raw)?);
    }
    for raw in nonblank(&terms.hashtags) {
        parts.push(entity(
            &raw,
            '#',
            "a hashtag is letters, digits and underscores",
        )?);
    }
    for raw in nonblank(&terms.mentions) {
        parts.push(entity(
            &raw,
            '@',
            "an X username is 1 to 15 of A-Z, a-z, 0-9 and _",
        )?);
    }
    let mut unique: Vec<String> = Vec::new();
    for part in parts {
        if !unique.iter().any(|u| u.eq_ignore_ascii_case(&part)) {
            unique.push(part);
        }
    }
    let query = match unique.as_slice() {
        [] => return Err(QueryError::Empty),
        [one] => format!("{one} {FILTERS}"),
        many => format!("({}) {FILTERS}", many.join(" OR ")),
    };
    let len = query.chars().count();
    if len > max_len {
        return Err(QueryError::TooLong {
            query,
            len,
            max: max_len,
        });
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(keywords: &[&str], hashtags: &[&str], mentions: &[&str]) -> SearchTerms {
        let owned = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        SearchTerms {
            keywords: owned(keywords),
            hashtags: owned(hashtags),
            mentions: owned(mentions),
        }
    }

    #[test]
    fn several_terms_are_grouped_so_the_filters_apply_to_all() {
        assert_eq!(
            build_query(
                &terms(&["bittensor", "talisman ai"], &["#dTAO"], &["opentensor"]),
                512
            )
            .unwrap(),
            "(bittensor OR \"talisman ai\" OR #dTAO OR @opentensor) -is:retweet lang:en"
        );
    }

    #[test]
    fn a_single_term_needs_no_parentheses() {
        assert_eq!(
            build_query(&terms(&["bittensor"], &[], &[]), 512).unwrap(),
            "bittensor -is:retweet lang:en"
        );
    }

    #[test]
    fn blanks_and_repeats_are_dropped() {
        assert_eq!(
            build_query(&terms(&[" bittensor ", "", "Bittensor"], &[""], &[]), 512).unwrap(),
            "bittensor -is:retweet lang:en"
        );
        assert_eq!(
            build_query(&terms(&[""], &[], &[]), 512),
            Err(QueryError::Empty)
        );
    }

    #[test]
    fn terms_that_are_query_syntax_are_refused() {
        for keyword in ["a:b", "-spam", "say \"hi\"", "(x", "OR"] {
            assert!(
                matches!(
                    build_query(&terms(&[keyword], &[], &[]), 512),
                    Err(QueryError::BadTerm { .. })
                ),
                "{keyword}"
            );
        }
        assert!(build_query(&terms(&[], &["#two words"], &[]), 512).is_err());
        assert!(build_query(&terms(&[], &[], &["@this_name_is_far_too_long"]), 512).is_err());
    }

    #[test]
    fn a_query_over_the_limit_is_refused_with_its_length() {
        let long: Vec<String> = (0..60).map(|i| format!("keyword{i}")).collect();
        let many = SearchTerms {
            keywords: long,
            ..SearchTerms::default()
        };
        match build_query(&many, 512) {
            Err(QueryError::TooLong { len, max, .. }) => {
                assert!(len > 512);
                assert_eq!(max, 512);
            }
            other => panic!("{other:?}"),
        }
        assert!(build_query(&many, 4096).is_ok());
    }
}
