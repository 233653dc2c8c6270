\set w random(991240, 999000)
select s.id, s.validation_id, s.post_id, s.miner_hotkey, s.subnet, s.window_index as window,
s.accepted_at, s.post_date as date, s.author, null::text as content, s.sentiment, s.score, s.likes, s.retweets, s.responses, s.followers,
case
when t.validation_id is null then 'unselected'
when t.outcome = 'pass' then 'passed'
when t.outcome = 'fail' then 'failed'
when exists (select 1 from validation_verdicts v where v.validation_id = t.validation_id
and v.outcome = 'inconclusive') then 'inconclusive'
else 'pending' end as validation,
case when t.outcome = 'fail' then (select v.failure_code from validation_verdicts v
where v.validation_id = t.validation_id and v.outcome = 'fail'
order by v.received_at, v.validator_hotkey limit 1) end as failure_code, ts_rank(to_tsvector('english', s.content), q) * (0.5 + s.score) * case when t.outcome = 'pass' then 1.5 when t.outcome = 'fail' then 0.1 when t.validation_id is null then 1.0 else 0.9 end as rank from submissions s left join validation_tasks t on t.validation_id = s.validation_id, websearch_to_tsquery('english', 'exploit upgrade') q where to_tsvector('english', s.content) @@ q and s.subnet = 'chutes' and s.window_index >= :w and s.window_index <= :w + 999 order by rank desc, s.id desc limit 20;
