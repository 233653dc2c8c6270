//! The signal: each subnet's pulse per published window (`signal_windows`), kept in step
//! with the verdicts, and the queries of the public read API.
//!
//! The counting rules live in the SQL function `pulse_signal_aggregate`
//! (`migrations/0006_signal.sql`) and are documented in `docs/signal.md`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use analyzer::Registry;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection, PgPool, Row};
use utoipa::ToSchema;
use uuid::Uuid;

/// The subnet registry the signal counts subnets of (the analyzer's embedded one).
pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::embedded);

/// The registry names a post's `tokens` may count under: every subnet but the
/// placeholders (their name, `unknown`, says nothing about a subnet).
pub static SUBNET_NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    REGISTRY
        .subnets()
        .iter()
        .filter(|s| !s.placeholder)
        .map(|s| s.name.clone())
        .collect()
});

/// The registry id of the subnet named `name`, if it counts.
pub fn netuid(name: &str) -> Option<u16> {
    REGISTRY
        .subnets()
        .iter()
        .find(|s| !s.placeholder && s.name == name)
        .map(|s| s.id)
}

/// The counted subnet a path segment names: a netuid (`45`, `sn45`) or a registry name
/// (case-insensitive).
pub fn resolve_subnet(text: &str) -> Option<(u16, &'static str)> {
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix("sn")
        .or_else(|| trimmed.strip_prefix("SN"))
        .unwrap_or(trimmed);
    let found = match digits.parse::<u16>() {
        Ok(id) => REGISTRY.get(id),
        Err(_) => REGISTRY
            .subnets()
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(trimmed) || s.name == trimmed),
    }?;
    (!found.placeholder).then_some((found.id, found.name.as_str()))
}

/// Recomputes the pulse of every subnet in `window` from the stored submissions and
/// verdicts. Called in the transaction that publishes the window's scores, so a window is
/// never published without its signal.
pub async fn aggregate_window(conn: &mut PgConnection, window: u64) -> sqlx::Result<u64> {
    let rows: i32 = sqlx::query_scalar("select pulse_signal_aggregate($1, $2)")
        .bind(window as i64)
        .bind(&*SUBNET_NAMES)
        .fetch_one(&mut *conn)
        .await?;
    Ok(rows as u64)
}

/// Recomputes the published windows whose posts the verdicts on `tasks` judged, in
/// window order (so two transactions lock windows in the same order). Called in the
/// transaction that records the verdicts, after every task row it locks: a verdict that
/// arrives after its window was published updates that window's signal in the same
/// commit.
pub async fn refresh_after_verdicts(conn: &mut PgConnection, tasks: &[Uuid]) -> sqlx::Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let windows: Vec<i64> = sqlx::query_scalar(
        "select distinct s.window_index from submissions s
         join window_publications p on p.window_index = s.window_index
         where s.validation_id = any($1)
         order by s.window_index",
    )
    .bind(tasks)
    .fetch_all(&mut *conn)
    .await?;
    for window in windows {
        aggregate_window(conn, window as u64).await?;
    }
    Ok(())
}

/// One subnet's pulse in one published window (a row of `signal_windows`), or the sum of
/// several windows (a series point of an hour or a day).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Pulse {
    /// First window counted in the point.
    pub first_window: i64,
    /// Last window counted in the point (the same as `first_window` per window).
    pub last_window: i64,
    /// First acceptance time among the windows' submissions.
    pub started_at: DateTime<Utc>,
    /// Last acceptance time among the windows' submissions.
    pub ended_at: DateTime<Utc>,
    /// Submissions about the subnet (all miners' copies, counted or not).
    pub submissions: i64,
    /// Submissions that count: not failed, from a miner not penalised in the window.
    pub counted_submissions: i64,
    /// Submissions left out because their validation failed.
    pub excluded_failed: i64,
    /// Submissions left out because their miner was penalised in the window.
    pub excluded_penalised: i64,
    /// Distinct X posts among the counted submissions.
    pub posts: i64,
    /// Distinct miners among the counted submissions (per hour or day: the most in one
    /// window).
    pub miners: i64,
    /// Distinct authors among the counted submissions (per hour or day: the most in one
    /// window).
    pub authors: i64,
    /// Mean sentiment of the posts, in [-1, 1]; null without posts.
    pub mean_sentiment: Option<f64>,
    /// Sentiment weighted by the posts' scores; per hour or day, the windows' values
    /// weighted by their posts. Null without posts.
    pub weighted_sentiment: Option<f64>,
    /// Posts per sentiment class (nearest class to the post's median sentiment).
    pub very_bullish: i64,
    /// See `very_bullish`.
    pub bullish: i64,
    /// See `very_bullish`.
    pub neutral: i64,
    /// See `very_bullish`.
    pub bearish: i64,
    /// See `very_bullish`.
    pub very_bearish: i64,
    /// Likes summed over the posts (each post's median claim).
    pub likes: i64,
    /// Retweets summed over the posts.
    pub retweets: i64,
    /// Replies summed over the posts.
    pub responses: i64,
    /// Submissions sampled for validation.
    pub selected: i64,
    /// Sampled submissions decided pass.
    pub passed: i64,
    /// Sampled submissions decided fail.
    pub failed: i64,
    /// Failed submissions per failure code.
    #[sqlx(json)]
    pub failed_by_code: BTreeMap<String, i64>,
    /// Sampled submissions undecided, with an inconclusive verdict.
    pub inconclusive: i64,
    /// Sampled submissions undecided, without any verdict yet.
    pub pending: i64,
    /// Share of the submissions with a decisive verdict.
    pub checked: f64,
    /// Share of the decided submissions that passed; null when none was decided.
    pub held: Option<f64>,
    /// Lower bound of the 95% Wilson interval of the pass rate (0 when nothing was decided).
    pub confidence: f64,
}

/// The sums a [`Pulse`] is read with, over the rows of `signal_windows` in `from`.
const PULSE_COLUMNS: &str = "
    min(window_index) as first_window, max(window_index) as last_window,
    min(started_at) as started_at, max(ended_at) as ended_at,
    sum(submissions)::bigint as submissions, sum(counted_submissions)::bigint as counted_submissions,
    sum(excluded_failed)::bigint as excluded_failed, sum(excluded_penalised)::bigint as excluded_penalised,
    sum(posts)::bigint as posts, max(miners)::bigint as miners, max(authors)::bigint as authors,
    sum(mean_sentiment * posts) / nullif(sum(posts) filter (where mean_sentiment is not null), 0) as mean_sentiment,
    sum(weighted_sentiment * posts) / nullif(sum(posts) filter (where weighted_sentiment is not null), 0) as weighted_sentiment,
    sum(very_bullish)::bigint as very_bullish, sum(bullish)::bigint as bullish, sum(neutral)::bigint as neutral,
    sum(bearish)::bigint as bearish, sum(very_bearish)::bigint as very_bearish,
    sum(likes)::bigint as likes, sum(retweets)::bigint as retweets, sum(responses)::bigint as responses,
    sum(selected)::bigint as selected, sum(passed)::bigint as passed, sum(failed)::bigint as failed,
    coalesce((select jsonb_object_agg(code, n) from (
        select e.key as code, sum(e.value::bigint) as n
        from jsonb_array_elements(jsonb_agg(failed_by_code)) f(codes), jsonb_each_text(f.codes) e
        group by e.key) c), '{}'::jsonb) as failed_by_code,
    sum(inconclusive)::bigint as inconclusive, sum(pending)::bigint as pending,
    coalesce((sum(passed) + sum(failed))::float8 / nullif(sum(submissions), 0), 0) as checked,
    sum(passed)::float8 / nullif(sum(passed) + sum(failed), 0) as held,
    pulse_wilson_lower(sum(passed)::integer, (sum(passed) + sum(failed))::integer) as confidence";

/// A subnet and its newest pulse.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubnetPulse {
    /// The subnet's netuid.
    pub netuid: u16,
    /// Its registry name.
    pub name: String,
    /// Its pulse in the newest published window that has posts about it; null if none.
    pub latest: Option<Pulse>,
}

/// Every counted subnet with its newest pulse, by netuid.
pub async fn latest(pool: &PgPool) -> sqlx::Result<Vec<SubnetPulse>> {
    // One index probe per subnet (signal_windows_subnet_idx), not a scan of the table.
    let sql = format!(
        "select n.name, p.* from unnest($1::text[]) as n(name)
         left join lateral (
             select {PULSE_COLUMNS} from signal_windows
             where subnet = n.name
               and window_index = (select max(window_index) from signal_windows where subnet = n.name)
         ) p on true"
    );
    let rows = sqlx::query(&sql)
        .bind(&*SUBNET_NAMES)
        .fetch_all(pool)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("name")?;
        let first: Option<i64> = row.try_get("first_window")?;
        let latest = match first {
            Some(_) => Some(Pulse::from_row(&row)?),
            None => None,
        };
        out.push(SubnetPulse {
            netuid: netuid(&name).unwrap_or_default(),
            name,
            latest,
        });
    }
    Ok(out)
}

/// How a series groups windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// One point per window.
    Window,
    /// One point per hour (UTC) in which windows ended.
    Hour,
    /// One point per day (UTC) in which windows ended.
    Day,
}

/// Which windows a series or a posts page covers: a window range, a time range, or both.
#[derive(Debug, Clone, Copy, Default)]
pub struct Range {
    /// First window, inclusive.
    pub from_window: Option<i64>,
    /// Last window, inclusive.
    pub to_window: Option<i64>,
    /// Earliest time, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Latest time, exclusive.
    pub to: Option<DateTime<Utc>>,
}

/// `subnet`'s pulse per `bucket` over `range`, oldest first, at most `max_points + 1`
/// points (the caller refuses more than `max_points`).
pub async fn series(
    pool: &PgPool,
    subnet: &str,
    bucket: Bucket,
    range: Range,
    max_points: i64,
) -> sqlx::Result<Vec<Pulse>> {
    let key = match bucket {
        Bucket::Window => "window_index",
        Bucket::Hour => "date_trunc('hour', ended_at, 'UTC')",
        Bucket::Day => "date_trunc('day', ended_at, 'UTC')",
    };
    let sql = format!(
        "select {PULSE_COLUMNS} from signal_windows
         where subnet = $1
           and ($2::bigint is null or window_index >= $2) and ($3::bigint is null or window_index <= $3)
           and ($4::timestamptz is null or ended_at >= $4) and ($5::timestamptz is null or ended_at < $5)
         group by {key} order by {key} limit $6"
    );
    sqlx::query_as::<_, Pulse>(&sql)
        .bind(subnet)
        .bind(range.from_window)
        .bind(range.to_window)
        .bind(range.from)
        .bind(range.to)
        .bind(max_points + 1)
        .fetch_all(pool)
        .await
}

/// A published window's place in time. Named `PublishedWindow` in the OpenAPI document:
/// `WindowInfo` there is the current window every miner and validator reply carries.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[schema(as = PublishedWindow)]
pub struct WindowInfo {
    /// The window.
    pub window: i64,
    /// Block at which its scores and signal were published.
    pub published_block: i64,
    /// When they were published.
    pub published_at: DateTime<Utc>,
    /// Whether every sampled post of the window has its decided outcome, so the window's
    /// signal can no longer change.
    pub settled: bool,
    /// Newest change of the window's signal rows (a late verdict updates them).
    pub updated_at: Option<DateTime<Utc>>,
}

/// `window`'s publication, if published.
pub async fn window_info(pool: &PgPool, window: i64) -> sqlx::Result<Option<WindowInfo>> {
    sqlx::query_as::<_, WindowInfo>(
        "select p.window_index as window, p.published_block, p.published_at,
                coalesce(sum(s.pending + s.inconclusive), 0) = 0 as settled,
                max(s.updated_at) as updated_at
         from window_publications p left join signal_windows s using (window_index)
         where p.window_index = $1
         group by p.window_index, p.published_block, p.published_at",
    )
    .bind(window)
    .fetch_optional(pool)
    .await
}

/// The newest published window, if any.
pub async fn latest_window(pool: &PgPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select max(window_index) from window_publications")
        .fetch_one(pool)
        .await
}

/// One subnet's row of a window's leaderboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubnetRow {
    /// The subnet's netuid.
    pub netuid: u16,
    /// Its registry name.
    pub name: String,
    /// Its pulse in the window.
    #[serde(flatten)]
    pub pulse: Pulse,
}

/// `window`'s subnets, most posts first (then by netuid), and the window's total.
pub async fn window_subnets(
    pool: &PgPool,
    window: i64,
) -> sqlx::Result<(Vec<SubnetRow>, Option<Pulse>)> {
    let sql = format!(
        "select subnet, {PULSE_COLUMNS} from signal_windows where window_index = $1 group by subnet"
    );
    let rows = sqlx::query(&sql).bind(window).fetch_all(pool).await?;
    let mut subnets = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("subnet")?;
        subnets.push(SubnetRow {
            netuid: netuid(&name).unwrap_or_default(),
            name,
            pulse: Pulse::from_row(&row)?,
        });
    }
    subnets.sort_by(|a, b| {
        b.pulse
            .posts
            .cmp(&a.pulse.posts)
            .then(a.netuid.cmp(&b.netuid))
    });
    let total_sql = format!(
        "select {PULSE_COLUMNS} from signal_windows where window_index = $1 having count(*) > 0"
    );
    let total = sqlx::query_as::<_, Pulse>(&total_sql)
        .bind(window)
        .fetch_optional(pool)
        .await?;
    Ok((subnets, total))
}

/// One miner's row of a window's leaderboard.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct MinerRow {
    /// The miner's hotkey.
    pub miner_hotkey: String,
    /// Its window score (after any penalty).
    pub score: f64,
    /// Its reward before the penalty.
    pub reward: f64,
    /// Its posts accepted in the window.
    pub posts: i32,
    /// Validation failures counted in the window.
    pub failed_validations: i32,
    /// What the reward was multiplied by (1 without failures).
    pub penalty_factor: f64,
}

/// `window`'s miners, best score first, at most `limit`.
pub async fn window_miners(pool: &PgPool, window: i64, limit: i64) -> sqlx::Result<Vec<MinerRow>> {
    sqlx::query_as::<_, MinerRow>(
        "select miner_hotkey, score, reward, posts, failed_validations, penalty_factor
         from window_scores where window_index = $1
         order by score desc, miner_hotkey limit $2",
    )
    .bind(window)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A validation outcome a post can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValidationState {
    /// Not sampled for validation.
    Unselected,
    /// Sampled, no verdict yet.
    Pending,
    /// Sampled, undecided, with an inconclusive verdict.
    Inconclusive,
    /// Decided pass.
    Passed,
    /// Decided fail.
    Failed,
}

/// The SQL expression of a post's [`ValidationState`] (`s`: submissions, `t`: its task).
const VALIDATION_STATE: &str = "case
    when t.validation_id is null then 'unselected'
    when t.outcome = 'pass' then 'passed'
    when t.outcome = 'fail' then 'failed'
    when exists (select 1 from validation_verdicts v where v.validation_id = t.validation_id
                 and v.outcome = 'inconclusive') then 'inconclusive'
    else 'pending' end";

/// One stored submission as the read API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PostItem {
    /// The submission's public id (a validator receives the post under it).
    pub validation_id: Uuid,
    /// The X post's id.
    pub post_id: String,
    /// The miner that submitted it.
    pub miner_hotkey: String,
    /// The subnet it counts for (highest relevance in `tokens`).
    pub subnet: Option<String>,
    /// That subnet's netuid, when it is a registry subnet.
    #[sqlx(skip)]
    pub netuid: Option<u16>,
    /// The window it was accepted in.
    pub window: i64,
    /// When it was accepted.
    pub accepted_at: DateTime<Utc>,
    /// The post's creation time as the miner reported it (Unix seconds).
    pub date: i64,
    /// The post's author.
    pub author: String,
    /// The post's text, when the server publishes post text (`PUBLISH_POST_TEXT`).
    pub content: Option<String>,
    /// The miner's sentiment, in [-1, 1].
    pub sentiment: f64,
    /// The server's score of the post.
    pub score: f64,
    /// Likes as submitted.
    pub likes: i64,
    /// Retweets as submitted.
    pub retweets: i64,
    /// Replies as submitted.
    pub responses: i64,
    /// The author's followers as submitted.
    pub followers: i64,
    /// Its validation outcome: `unselected`, `pending`, `inconclusive`, `passed`, `failed`.
    pub validation: String,
    /// The failure code of the first fail verdict, when it failed.
    pub failure_code: Option<String>,
    /// Full-text rank times the post's score and validation weight (search only).
    pub rank: Option<f64>,
    /// The keyset position, for the next page's `cursor`.
    #[serde(skip)]
    #[sqlx(rename = "id")]
    pub row_id: i64,
}

/// The columns of a [`PostItem`], with the text only when `publish_text`.
fn post_columns(publish_text: bool) -> String {
    format!(
        "s.id, s.validation_id, s.post_id, s.miner_hotkey, s.subnet, s.window_index as window,
         s.accepted_at, s.post_date as date, s.author,
         {content} as content, s.sentiment, s.score, s.likes, s.retweets, s.responses, s.followers,
         {VALIDATION_STATE} as validation,
         case when t.outcome = 'fail' then (select v.failure_code from validation_verdicts v
             where v.validation_id = t.validation_id and v.outcome = 'fail'
             order by v.received_at, v.validator_hotkey limit 1) end as failure_code",
        content = if publish_text {
            "s.content"
        } else {
            "null::text"
        },
    )
}

/// Filters of a posts page.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    /// Registry name of the subnet.
    pub subnet: Option<String>,
    /// Windows and times.
    pub range: Range,
    /// Sentiment class value (-1, -0.5, 0, 0.5, 1) the post's sentiment rounds to.
    pub sentiment: Option<f64>,
    /// Validation outcome.
    pub validation: Option<ValidationState>,
    /// Keyset position: rows strictly before (window, id) in (window desc, id desc) order.
    pub before: Option<(i64, i64)>,
    /// Whether post text is published.
    pub publish_text: bool,
}

/// The SQL condition (starting with `and`) keeping posts in `state` (`s`: submissions,
/// `t`: its task); empty for any state.
fn validation_condition(state: Option<ValidationState>) -> &'static str {
    match state {
        None => "",
        Some(ValidationState::Unselected) => "and t.validation_id is null",
        Some(ValidationState::Passed) => "and t.outcome = 'pass'",
        Some(ValidationState::Failed) => "and t.outcome = 'fail'",
        Some(ValidationState::Inconclusive) => {
            "and t.outcome is null and exists (select 1 from validation_verdicts v
                 where v.validation_id = t.validation_id and v.outcome = 'inconclusive')"
        }
        Some(ValidationState::Pending) => {
            "and t.validation_id is not null and t.outcome is null and not exists (
                 select 1 from validation_verdicts v
                 where v.validation_id = t.validation_id and v.outcome = 'inconclusive')"
        }
    }
}

/// A page of posts, newest window first, then newest submission; `limit + 1` rows at most
/// so the caller knows whether a next page exists.
pub async fn posts(pool: &PgPool, filter: &PostFilter, limit: i64) -> sqlx::Result<Vec<PostItem>> {
    let validation_filter = validation_condition(filter.validation);
    let sql = format!(
        "select {columns}, null::float8 as rank
         from submissions s left join validation_tasks t on t.validation_id = s.validation_id
         where ($1::text is null or s.subnet = $1)
           and ($2::bigint is null or s.window_index >= $2) and ($3::bigint is null or s.window_index <= $3)
           and ($4::timestamptz is null or s.accepted_at >= $4) and ($5::timestamptz is null or s.accepted_at < $5)
           and ($6::float8 is null or round(s.sentiment * 2) = round($6 * 2))
           and ($7::bigint is null or (s.window_index, s.id) < ($7, $8))
           {validation_filter}
         order by s.window_index desc, s.id desc
         limit $9",
        columns = post_columns(filter.publish_text),
    );
    let rows = sqlx::query_as::<_, PostItem>(&sql)
        .bind(filter.subnet.as_deref())
        .bind(filter.range.from_window)
        .bind(filter.range.to_window)
        .bind(filter.range.from)
        .bind(filter.range.to)
        .bind(filter.sentiment)
        .bind(filter.before.map(|b| b.0))
        .bind(filter.before.map(|b| b.1))
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    Ok(with_netuids(rows))
}

fn with_netuids(mut rows: Vec<PostItem>) -> Vec<PostItem> {
    for row in &mut rows {
        row.netuid = row.subnet.as_deref().and_then(netuid);
    }
    rows
}

/// Every submission of `window`, in acceptance order, as a stream (the export).
pub fn window_posts(
    pool: PgPool,
    window: i64,
    publish_text: bool,
) -> impl futures_util::Stream<Item = sqlx::Result<PostItem>> + Send + 'static {
    let sql = format!(
        "select {columns}, null::float8 as rank
         from submissions s left join validation_tasks t on t.validation_id = s.validation_id
         where s.window_index = $1 order by s.id",
        columns = post_columns(publish_text),
    );
    let (sender, receiver) = tokio::sync::mpsc::channel::<sqlx::Result<PostItem>>(256);
    tokio::spawn(async move {
        let mut rows = sqlx::query_as::<_, PostItem>(&sql)
            .bind(window)
            .fetch(&pool);
        while let Some(row) = rows.next().await {
            let row = row.map(|mut r| {
                r.netuid = r.subnet.as_deref().and_then(netuid);
                r
            });
            let failed = row.is_err();
            // A client that went away closes the channel: stop reading.
            if sender.send(row).await.is_err() || failed {
                break;
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}

/// Full-text search: stored posts matching `query` (websearch syntax: words, "phrases",
/// `or`, `-word`), filtered like a posts page (subnet, range and validation outcome; the
/// answer route asks for passed posts only), best first. A post's rank is its text rank
/// times (0.5 + its score) times a validation weight: passed 1.5, unselected or pending 1,
/// inconclusive 0.8, failed 0.1 (failed posts stay findable, at the bottom).
pub async fn search(
    pool: &PgPool,
    query: &str,
    filter: &PostFilter,
    limit: i64,
) -> sqlx::Result<Vec<PostItem>> {
    let sql = format!(
        "select {columns},
                ts_rank(to_tsvector('english', s.content), q) * (0.5 + s.score)
                * case when t.outcome = 'pass' then 1.5 when t.outcome = 'fail' then 0.1
                       when t.validation_id is null then 1.0 else 0.9 end as rank
         from submissions s left join validation_tasks t on t.validation_id = s.validation_id,
              websearch_to_tsquery('english', $1) q
         where to_tsvector('english', s.content) @@ q
           and ($2::text is null or s.subnet = $2)
           and ($3::bigint is null or s.window_index >= $3) and ($4::bigint is null or s.window_index <= $4)
           and ($5::timestamptz is null or s.accepted_at >= $5) and ($6::timestamptz is null or s.accepted_at < $6)
           {validation_filter}
         order by rank desc, s.id desc
         limit $7",
        columns = post_columns(filter.publish_text),
        validation_filter = validation_condition(filter.validation),
    );
    let rows = sqlx::query_as::<_, PostItem>(&sql)
        .bind(query)
        .bind(filter.subnet.as_deref())
        .bind(filter.range.from_window)
        .bind(filter.range.to_window)
        .bind(filter.range.from)
        .bind(filter.range.to)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(with_netuids(rows))
}
