//! [`ScrapedPost`]: a post as the miner knows it, between X and a submission.

use analyzer::{Analysis, PostInput};
use protocol::api::SubmitRequest;

/// One post with the figures the miner scores and submits (docs/protocol.md#post-fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrapedPost {
    /// X's id (decimal digits); empty when an `analyze` input gives none.
    pub id: String,
    /// The text exactly as X returns it (X's HTML escaping included, as validators will
    /// fetch it).
    pub text: String,
    /// The author's username, without `@`.
    pub author: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Whole days between the author's account creation and the scrape.
    pub account_age_days: u64,
    /// Likes.
    pub likes: u64,
    /// Retweets.
    pub retweets: u64,
    /// Replies (submitted as `responses`).
    pub replies: u64,
    /// Quote posts (scored, not submitted).
    pub quotes: u64,
    /// The author's followers.
    pub followers: u64,
    /// X's language tag (`en`, `und`, ...), when known.
    pub lang: Option<String>,
    /// Whether the post is a retweet.
    pub is_retweet: bool,
}

impl ScrapedPost {
    /// What the analyser needs.
    pub fn input(&self) -> PostInput {
        PostInput {
            text: self.text.clone(),
            created_at: self.created_at,
            likes: self.likes,
            retweets: self.retweets,
            replies: self.replies,
            quotes: self.quotes,
            followers: self.followers,
            account_age_days: self.account_age_days,
        }
    }

    /// The submission of this post by `hotkey`, with `analysis` of it.
    ///
    /// # Panics
    /// If the analysis found no subnet (so no sentiment); callers submit relevant posts only.
    pub fn submission(&self, hotkey: &str, analysis: &Analysis) -> SubmitRequest {
        SubmitRequest {
            miner_hotkey: hotkey.to_owned(),
            post_id: self.id.clone(),
            content: analysis.content.clone(),
            date: self.created_at,
            author: self.author.clone(),
            account_age: self.account_age_days,
            retweets: self.retweets,
            likes: self.likes,
            responses: self.replies,
            followers: self.followers,
            tokens: analysis.tokens.clone(),
            sentiment: analysis
                .sentiment
                .expect("a relevant post has a sentiment")
                .value(),
            score: analysis.score.total,
        }
    }
}

/// Whole days from `since` to `now` (Unix seconds), 0 when `since` is later.
pub fn whole_days(since: i64, now: i64) -> u64 {
    u64::try_from(now.saturating_sub(since).max(0) / 86_400).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use analyzer::Analyzer;

    use super::*;

    #[test]
    fn whole_days_round_down_and_never_go_negative() {
        assert_eq!(whole_days(0, 86_399), 0);
        assert_eq!(whole_days(0, 86_400), 1);
        assert_eq!(whole_days(0, 10 * 86_400 + 5), 10);
        assert_eq!(whole_days(100, 0), 0);
    }

    #[tokio::test]
    async fn a_submission_carries_the_reference_field_names_and_the_analysis() {
        let now = 1_764_120_000;
        let post = ScrapedPost {
            id: "1860000000000000001".into(),
            text: "SN45\r\nto the moon 🚀".into(),
            author: "alice".into(),
            created_at: now - 3600,
            account_age_days: 400,
            likes: 10,
            retweets: 3,
            replies: 2,
            quotes: 1,
            followers: 1200,
            lang: Some("en".into()),
            is_retweet: false,
        };
        let analysis = Analyzer::default()
            .analyze(&post.input(), now)
            .await
            .unwrap();
        let submission = post.submission("5Hotkey", &analysis);
        let json = serde_json::to_value(&submission).unwrap();
        assert_eq!(json["content"], "SN45 to the moon 🚀");
        assert_eq!(json["responses"], 2);
        assert_eq!(json["account_age"], 400);
        assert_eq!(json["date"], now - 3600);
        assert_eq!(json["tokens"]["talisman_ai"], 1.0);
        assert_eq!(json["sentiment"], 1.0);
        assert_eq!(json["score"], analysis.score.total);
        assert!(json.get("quotes").is_none());
    }
}
