-- The signal: each subnet's pulse per published window, and the indexes the public read
-- API and search use. The counting rules are documented in docs/signal.md.

-- The subnet a submission is about: the key of its highest relevance in `tokens` (ties go
-- to the first name in text order). The reference miner sends only its winning subnet, so
-- this is that subnet; a post naming several counts for its strongest one only, so the
-- per-subnet numbers add up to the window's. Immutable (it reads only its argument), so it
-- can be indexed.
create function pulse_primary_subnet(p_tokens jsonb) returns text
language sql immutable parallel safe
as $$
    select key from jsonb_each(p_tokens) order by (value)::float8 desc, key limit 1
$$;

-- Each submission's subnet, computed once when it is stored (about 25 µs) rather than by
-- every read: the rollup reads it for each post of a window, the posts page filters on it.
alter table submissions
    add column subnet text generated always as (pulse_primary_subnet(tokens)) stored;

-- Posts of one subnet, newest window first, then newest submission: the read API's posts
-- page (keyset on (window_index, id)) and a window's posts per subnet.
create index submissions_subnet_window_idx on submissions (subnet, window_index, id);

-- Full-text search over the stored text. 'english' stems words ("validators" finds
-- "validator"); the parser keeps hashtags' and mentions' words as words.
create index submissions_content_search_idx
    on submissions using gin (to_tsvector('english', content));

-- One row per (published window, subnet): the rollup every read of the signal uses, so a
-- year's series reads one row per window instead of a window's submissions.
create table signal_windows (
    window_index        bigint           not null references window_publications (window_index),
    -- The subnet's registry name (the `tokens` key).
    subnet              text             not null,
    -- First and last acceptance time among the window's submissions (all subnets): what
    -- hour and day buckets of a series group by.
    started_at          timestamptz      not null,
    ended_at            timestamptz      not null,
    -- Submissions naming the subnet, and those that count (not failed, miner not penalised).
    submissions         integer          not null,
    counted_submissions integer          not null,
    excluded_failed     integer          not null,
    excluded_penalised  integer          not null,
    -- Distinct X posts among the counted submissions (several miners, one post: one).
    posts               integer          not null,
    miners              integer          not null,
    authors             integer          not null,
    -- Mean of the posts' sentiments, and the same weighted by the posts' scores (null when
    -- no post counts).
    mean_sentiment      double precision,
    weighted_sentiment  double precision,
    very_bullish        integer          not null,
    bullish             integer          not null,
    neutral             integer          not null,
    bearish             integer          not null,
    very_bearish        integer          not null,
    likes               bigint           not null,
    retweets            bigint           not null,
    responses           bigint           not null,
    -- Validation evidence over all submissions naming the subnet: sampled, decided pass,
    -- decided fail (and per failure code), undecided with an inconclusive verdict,
    -- undecided without any.
    selected            integer          not null,
    passed              integer          not null,
    failed              integer          not null,
    failed_by_code      jsonb            not null,
    inconclusive        integer          not null,
    pending             integer          not null,
    -- Share of the submissions with a decisive verdict, the share of those that passed,
    -- and the lower bound of the 95% Wilson interval of the pass rate (0 when nothing was
    -- decided): small samples and failures both lower it.
    checked             double precision not null,
    held                double precision,
    confidence          double precision not null,
    updated_at          timestamptz      not null default now(),
    primary key (window_index, subnet)
);

-- A subnet's series and its latest pulse.
create index signal_windows_subnet_idx on signal_windows (subnet, window_index desc);

-- Recomputes the rows of `p_window` for the subnets named in `p_subnets` (the registry's
-- names: a made-up name in `tokens` never becomes a subnet). Called in the transaction
-- that publishes the window, and again in the transaction of any verdict on one of its
-- posts that arrives later, so the rows always match the stored verdicts. The transaction
-- lock on the window serialises two verdict transactions refreshing the same window: the
-- second reads after the first committed (each statement of READ COMMITTED takes a new
-- snapshot), so neither overwrites the other with stale counts.
create function pulse_signal_aggregate(p_window bigint, p_subnets text[]) returns integer
language plpgsql
as $$
declare
    v_rows integer;
begin
    perform pg_advisory_xact_lock(1397311310, (p_window % 2147483647)::integer);
    delete from signal_windows where window_index = p_window;
    insert into signal_windows (
        window_index, subnet, started_at, ended_at, submissions, counted_submissions,
        excluded_failed, excluded_penalised, posts, miners, authors, mean_sentiment,
        weighted_sentiment, very_bullish, bullish, neutral, bearish, very_bearish, likes,
        retweets, responses, selected, passed, failed, failed_by_code, inconclusive, pending,
        checked, held, confidence)
    with bounds as (
        select min(accepted_at) as started_at, max(accepted_at) as ended_at
        from submissions where window_index = p_window
    ),
    -- A miner is penalised in a window when a failure counts in it (as window scores
    -- count failures: decided before the window was published, else in the window of
    -- the deciding verdict).
    penalised as (
        select distinct s.miner_hotkey
        from validation_tasks t join submissions s using (validation_id)
        where t.outcome = 'fail' and t.counted_window = p_window
    ),
    subs as (
        select s.miner_hotkey, s.post_id, s.author, s.sentiment, s.score, s.likes, s.retweets,
               s.responses, s.selected_for_validation, t.outcome,
               s.subnet,
               t.validation_id is not null and t.outcome is null
                   and exists (select 1 from validation_verdicts v
                               where v.validation_id = t.validation_id and v.outcome = 'inconclusive')
                   as inconclusive,
               t.validation_id is not null and t.outcome is null
                   and not exists (select 1 from validation_verdicts v
                                   where v.validation_id = t.validation_id and v.outcome = 'inconclusive')
                   as pending,
               -- The code of the first fail verdict: fixed once the task is decided.
               case when t.outcome = 'fail' then coalesce(
                   (select v.failure_code from validation_verdicts v
                    where v.validation_id = t.validation_id and v.outcome = 'fail'
                    order by v.received_at, v.validator_hotkey limit 1), 'unspecified') end
                   as failure_code,
               s.miner_hotkey in (select miner_hotkey from penalised) as penalised
        from submissions s
        left join validation_tasks t on t.validation_id = s.validation_id
        where s.window_index = p_window
          and s.subnet = any (p_subnets)
    ),
    counted as (
        select * from subs where outcome is distinct from 'fail' and not penalised
    ),
    -- One X post, however many miners sent it: the median of their claims, so one
    -- miner's inflated copy moves nothing.
    posts as (
        select subnet, post_id,
               percentile_cont(0.5) within group (order by sentiment) as sentiment,
               percentile_cont(0.5) within group (order by score) as score,
               percentile_cont(0.5) within group (order by likes) as likes,
               percentile_cont(0.5) within group (order by retweets) as retweets,
               percentile_cont(0.5) within group (order by responses) as responses
        from counted group by subnet, post_id
    ),
    post_totals as (
        select subnet, count(*)::integer as posts,
               avg(sentiment) as mean_sentiment,
               sum(score * sentiment) / nullif(sum(score), 0) as weighted_sentiment,
               count(*) filter (where round(sentiment * 2) = 2)::integer as very_bullish,
               count(*) filter (where round(sentiment * 2) = 1)::integer as bullish,
               count(*) filter (where round(sentiment * 2) = 0)::integer as neutral,
               count(*) filter (where round(sentiment * 2) = -1)::integer as bearish,
               count(*) filter (where round(sentiment * 2) = -2)::integer as very_bearish,
               sum(round(likes))::bigint as likes,
               sum(round(retweets))::bigint as retweets,
               sum(round(responses))::bigint as responses
        from posts group by subnet
    ),
    sub_totals as (
        select subnet, count(*)::integer as submissions,
               count(*) filter (where outcome is distinct from 'fail' and not penalised)::integer as counted_submissions,
               count(*) filter (where outcome = 'fail')::integer as excluded_failed,
               count(*) filter (where outcome is distinct from 'fail' and penalised)::integer as excluded_penalised,
               count(distinct miner_hotkey) filter (where outcome is distinct from 'fail' and not penalised)::integer as miners,
               count(distinct author) filter (where outcome is distinct from 'fail' and not penalised)::integer as authors,
               count(*) filter (where selected_for_validation)::integer as selected,
               count(*) filter (where outcome = 'pass')::integer as passed,
               count(*) filter (where outcome = 'fail')::integer as failed,
               count(*) filter (where inconclusive)::integer as inconclusive,
               count(*) filter (where pending)::integer as pending
        from subs group by subnet
    ),
    codes as (
        select subnet, jsonb_object_agg(failure_code, n) as failed_by_code
        from (select subnet, failure_code, count(*) as n from subs
              where failure_code is not null group by subnet, failure_code) c
        group by subnet
    )
    select p_window, st.subnet, b.started_at, b.ended_at, st.submissions, st.counted_submissions,
           st.excluded_failed, st.excluded_penalised, coalesce(pt.posts, 0), st.miners, st.authors,
           pt.mean_sentiment, pt.weighted_sentiment, coalesce(pt.very_bullish, 0),
           coalesce(pt.bullish, 0), coalesce(pt.neutral, 0), coalesce(pt.bearish, 0),
           coalesce(pt.very_bearish, 0), coalesce(pt.likes, 0), coalesce(pt.retweets, 0),
           coalesce(pt.responses, 0), st.selected, st.passed, st.failed,
           coalesce(c.failed_by_code, '{}'::jsonb), st.inconclusive, st.pending,
           (st.passed + st.failed)::float8 / st.submissions,
           case when st.passed + st.failed > 0 then st.passed::float8 / (st.passed + st.failed) end,
           pulse_wilson_lower(st.passed, st.passed + st.failed)
    from sub_totals st
    cross join bounds b
    left join post_totals pt using (subnet)
    left join codes c using (subnet);
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;

-- Lower bound of the 95% Wilson score interval of `p_passed` successes in `p_n` trials;
-- 0 when there were none.
create function pulse_wilson_lower(p_passed integer, p_n integer) returns double precision
language sql immutable parallel safe
as $$
    select case when p_n = 0 then 0::float8 else
        greatest(0::float8,
            (p + z * z / (2 * n) - z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n))
    end
    from (select p_passed::float8 / nullif(p_n, 0) as p, p_n::float8 as n, 1.959963984540054::float8 as z) k
$$;
