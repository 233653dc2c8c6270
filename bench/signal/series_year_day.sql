select
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
pulse_wilson_lower(sum(passed)::integer, (sum(passed) + sum(failed))::integer) as confidence from signal_windows where subnet = 'talisman_ai' and ended_at >= now() - interval '365 days' group by date_trunc('day', ended_at, 'UTC') order by date_trunc('day', ended_at, 'UTC') limit 10001;
