-- The signal's "penalised miner" follows the scoring rule of a missing post: a failure
-- whose verdicts all say X reports the post missing (post_not_found, post_unavailable)
-- costs a miner little in its score, since an author may have deleted the post after an
-- honest miner scraped it, so it no longer leaves out all of that miner's posts of the
-- window from the signal, only the failed post itself. Any other failure still does.
-- Otherwise pulse_signal_aggregate is unchanged from 0006.

create or replace function pulse_signal_aggregate(p_window bigint, p_subnets text[]) returns integer
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
    -- the deciding verdict) that X tells apart from honest mining. A failure whose failing
    -- verdicts all say the post is missing on X (post_not_found, post_unavailable) may be
    -- an honest miner's post deleted by its author: it leaves out that post only.
    penalised as (
        select distinct s.miner_hotkey
        from validation_tasks t join submissions s using (validation_id)
        where t.outcome = 'fail' and t.counted_window = p_window
          and not coalesce((select bool_and(v.failure_code in ('post_not_found', 'post_unavailable'))
                            from validation_verdicts v
                            where v.validation_id = t.validation_id and v.outcome = 'fail'), false)
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
