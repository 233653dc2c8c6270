\set w random(991240, 995000)
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
order by v.received_at, v.validator_hotkey limit 1) end as failure_code, null::float8 as rank from submissions s left join validation_tasks t on t.validation_id = s.validation_id where s.subnet = 'talisman_ai' and (s.window_index, s.id) < (:w, 9223372036854775807) order by s.window_index desc, s.id desc limit 51;
