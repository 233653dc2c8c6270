#!/usr/bin/env bash
# Grows a (migrated) benchmark database to N stored submissions, shaped like a long-running
# subnet, to measure how throughput changes as data grows (bench/README.md, "Growth").
#
#   bench/grow.sh DB N          e.g. bench/grow.sh pulse_bench_big 10000000
#
# Shape: 10,000 posts per window (2,000 active miners x 5), 100,000 hotkeys taking turns,
# windows ending at the current one, one row of window_quota per (miner, window), 20% of
# posts selected with a validation task, a slot and a pass verdict, and validation ids
# time-ordered like the server's UUIDv7. Loads in batches of one million rows, then
# VACUUM ANALYZE. DB must be one pulse-server has migrated (start a server on it once), so
# that servers run on it afterwards. Connection settings from PGHOST/PGPORT/PGUSER (default
# 127.0.0.1/5432/postgres). Use a scratch database.
#
#   bench/grow.sh --year DB [WINDOWS]    e.g. bench/grow.sh --year pulse_bench_year
#
# --year stores a year of one full subnet for the read API's benchmark (bench/README.md,
# "Reading the signal"): 256 miners x 5 posts x WINDOWS windows (default 26,280 = 365 days
# of 20-minute windows, 33.6 million submissions), each post about a subnet drawn with the
# frequencies of data/posts.jsonl, tones drawn with that file's frequencies, one post in ten
# also sent by a second miner, 20% selected with a decided task (2% of them failed, with a
# failure code), every window published with 256 window scores, then each window's signal
# rows computed by pulse_signal_aggregate, as publication does. Set-based SQL
# (generate_series) in batches of 800 windows; the two indexes of migration 0006 on
# submissions are dropped while loading and rebuilt after (same definitions), which is
# faster than maintaining them row by row.
set -euo pipefail
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
year_mode() {
    [ $# -ge 1 ] || { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
    local db="$1" windows="${2:-26280}" per_window=1280 batch_windows=800
    local last=999999 first
    first=$(( last - windows + 1 ))
    local here; here="$(cd "$(dirname "$0")/.." && pwd)"
    # Subnet weights from the sample posts: (netuid, registry name, posts about it).
    local weights
    weights="$(python3 - "$here" <<'PY'
import collections, json, sys
root = sys.argv[1]
names = {s["id"]: s["name"] for s in json.load(open(f"{root}/data/subnets.json"))["subnets"]}
counts = collections.Counter()
for line in open(f"{root}/data/posts.jsonl"):
    subnet = json.loads(line)["intent"]["subnet"]
    if subnet is not None:
        counts[subnet] += 1
lo = 0
rows = []
for netuid, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
    name = names[netuid].replace("'", "''")
    rows.append(f"({netuid}, '{name}', {lo}, {lo + n})")
    lo += n
print(",".join(rows))
PY
)"
    psql -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
drop table if exists grow_subnets;
create unlogged table grow_subnets (netuid int, name text, lo int, hi int);
insert into grow_subnets values $weights;
drop index if exists submissions_subnet_window_idx;
drop index if exists submissions_content_search_idx;
SQL
    local total_weight
    total_weight=$(psql -qAt -d "$db" -c "select max(hi) from grow_subnets")
    local w=$first
    while [ "$w" -le "$last" ]; do
        local wend=$(( w + batch_windows - 1 )); [ "$wend" -gt "$last" ] && wend=$last
        psql -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
-- Row g of window w, slot i = 0..1279: miner i % 256, its post number i / 256.
create temp table grow_rows as
select w, i, ((w - $first) * $per_window + i + 1)::bigint as g,
       -- The post's hash: a copy hashes as its original, so it says the same.
       abs(hashint8(((w - $first) * $per_window + i + 1
                     - (((w - $first) * $per_window + i + 1) % 10 = 0)::int)::bigint)) as h
from generate_series($w::bigint, $wend::bigint) w, generate_series(0, $per_window - 1) i;

insert into submissions (
    validation_id, miner_hotkey, post_id, content, post_date, author, account_age,
    retweets, likes, responses, followers, tokens, sentiment, score,
    accepted_block, window_index, selected_for_validation, accepted_at)
select
    (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid,
    '5Year' || lpad((i % 256)::text, 43, '0'),
    -- One post in ten is also the previous row's post (another miner's copy).
    (1900000000000000000 + g - (g % 10 = 0)::int)::text,
    'SN' || s.netuid || ' ' || s.name || ' ' ||
        (array['emissions ticking up this week', 'validators report slow weights again',
               'new release ships faster inference', 'miners complain about the incentive curve',
               'roadmap update reads well', 'exploit rumours after the last upgrade',
               'alpha token ripping after the partnership', 'steady week, nothing new',
               'benchmark results beat the centralised baseline', 'team silent since the outage'])[1 + h % 10]
        || ' #' || (array['bittensor', 'dTAO', 'TAO', 'AI', 'decentralizedAI'])[1 + (h / 10) % 5]
        || ' @' || (array['opentensor', 'const_reborn', 'taostats', 'shibshib89'])[1 + (h / 50) % 4],
    extract(epoch from now())::bigint - ($last - w) * 1200 - 300,
    'author' || (h / 200) % 5000, 100 + (h / 7) % 3000,
    (h / 11) % 20, (h / 13) % 200, (h / 17) % 15, 50 + (h / 19) % 50000,
    jsonb_build_object(s.name, 1.0),
    -- Tones with the sample's frequencies (neutral 90, bullish 70, very bullish 58,
    -- bearish 47, very bearish 38 of 303).
    case when (h / 23) % 303 < 90 then 0.0 when (h / 23) % 303 < 160 then 0.5
         when (h / 23) % 303 < 218 then 1.0 when (h / 23) % 303 < 265 then -0.5 else -1.0 end,
    0.2 + ((h / 29) % 80) / 100.0,
    w * 100 + i * 100 / $per_window, w, g % 5 = 0,
    now() - (($last - w) * interval '20 minutes') - (($per_window - i) * interval '900 ms')
from grow_rows
join grow_subnets s on h % $total_weight >= s.lo and h % $total_weight < s.hi;

insert into validation_tasks (validation_id, selected_at, outcome, decided_at, counted_window)
select (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid,
       now() - (($last - w) * interval '20 minutes'),
       case when h % 50 = 0 then 'fail' else 'pass' end, now(), w
from grow_rows where g % 5 = 0;

insert into validation_slots (validation_id, slot, answered_by)
select (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid, 1, '5YearValidator'
from grow_rows where g % 5 = 0;

insert into validation_verdicts (validation_id, validator_hotkey, outcome, failure_code, received_block, received_window)
select (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid, '5YearValidator',
       case when h % 50 = 0 then 'fail' else 'pass' end,
       case when h % 50 = 0 then (array['metric_inflation_likes', 'content_mismatch', 'post_not_found'])[1 + (h / 50) % 3] end,
       w * 100 + 99, w
from grow_rows where g % 5 = 0;

insert into window_quota (miner_hotkey, window_index, used)
select '5Year' || lpad(m::text, 43, '0'), w, 5
from generate_series($w::bigint, $wend::bigint) w, generate_series(0, 255) m;

insert into window_publications (window_index, published_block)
select w, (w + 1) * 100 + 5 from generate_series($w::bigint, $wend::bigint) w;

insert into window_scores (window_index, miner_hotkey, score, reward, posts, failed_validations, penalty_factor)
select window_index, miner_hotkey,
       case when failed > 0 then reward * 0.1 else reward end, reward, 5, failed,
       case when failed > 0 then 0.1 else 1.0 end
from (select s.window_index, s.miner_hotkey, avg(s.score) as reward,
             count(*) filter (where t.outcome = 'fail')::int as failed
      from submissions s left join validation_tasks t using (validation_id)
      where s.window_index between $w and $wend
      group by 1, 2) k;
drop table grow_rows;
SQL
        echo "loaded windows $w..$wend ($(date -u +%T))"
        w=$(( wend + 1 ))
    done
    echo "rebuilding the search and subnet indexes ($(date -u +%T))"
    psql -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
set maintenance_work_mem = '512MB';
create index submissions_subnet_window_idx on submissions (subnet, window_index, id);
create index submissions_content_search_idx
    on submissions using gin (to_tsvector('english', content));
drop table grow_subnets;
SQL
    echo "computing the signal of every window ($(date -u +%T))"
    # Statistics first: without them the planner takes the freshly loaded tables for small
    # ones and scans validation_tasks whole for every window (seconds per window).
    psql -q -v ON_ERROR_STOP=1 -d "$db" -c "analyze"
    psql -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
do \$\$
declare
    w bigint;
    names text[];
begin
    -- Every registry name the data uses (drawn from the registry, so all count).
    names := array(select distinct subnet from submissions
                   where window_index between $last - 50 and $last);
    for w in $first..$last loop
        perform pulse_signal_aggregate(w, names);
        if w % 1000 = 0 then
            commit;
        end if;
    end loop;
end
\$\$;
vacuum analyze;
SQL
    psql -qAt -d "$db" -c "select count(*) || ' submissions, ' || (select count(*) from signal_windows) || ' signal rows, ' || pg_size_pretty(pg_database_size(current_database())) from submissions"
}

if [ "${1:-}" = --year ]; then shift; year_mode "$@"; exit; fi
[ $# -eq 2 ] || { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
db="$1" total="$2"
per_window=10000
windows=$(( (total + per_window - 1) / per_window ))
batch=1000000

psql -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
create or replace function pg_temp.grow_id(g bigint) returns uuid language sql immutable as \$\$
    select (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid
\$\$;
SQL

start=1
while [ "$start" -le "$total" ]; do
    end=$(( start + batch - 1 )); [ "$end" -gt "$total" ] && end=$total
    psql -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
-- Window w holds rows (w-1)*$per_window+1 .. w*$per_window; the newest window is 1,000,000.
insert into submissions (
    validation_id, miner_hotkey, post_id, content, post_date, author, account_age,
    retweets, likes, responses, followers, tokens, sentiment, score,
    accepted_block, window_index, selected_for_validation, accepted_at)
select
    (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid,
    '5Grow' || lpad((((g - 1) % 2000) + 2000 * (((g - 1) / $per_window) % 50))::text, 43, '0'),
    (1800000000000000000 + g)::text,
    'Grown post ' || g || ': SN45 looks strong this week, steady emissions and a busy validator set',
    1764120000 - ($total - g) * 12 / 100,
    'grow_author', 365, 3, 10, 1, 1200, '{"talisman_ai": 1.0}'::jsonb, 0.5, 0.55,
    (1000000 - $windows + (g - 1) / $per_window) * 100,
    1000000 - $windows + (g - 1) / $per_window,
    g % 5 = 0,
    now() - (($total - g) * interval '120 ms')
from generate_series($start::bigint, $end::bigint) as g;

insert into validation_tasks (validation_id, selected_at, outcome, decided_at, counted_window)
select (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid,
       now() - (($total - g) * interval '120 ms'), 'pass', now(),
       1000000 - $windows + (g - 1) / $per_window
from generate_series($start::bigint, $end::bigint) as g where g % 5 = 0;

insert into validation_slots (validation_id, slot, answered_by)
select (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid, 1, '5GrowValidator'
from generate_series($start::bigint, $end::bigint) as g where g % 5 = 0;

insert into validation_verdicts (validation_id, validator_hotkey, outcome, received_block, received_window)
select (lpad(to_hex(g), 12, '0') || '7' || substr(md5(g::text), 1, 19))::uuid, '5GrowValidator', 'pass',
       (1000000 - $windows + (g - 1) / $per_window) * 100, 1000000 - $windows + (g - 1) / $per_window
from generate_series($start::bigint, $end::bigint) as g where g % 5 = 0;
SQL
    echo "loaded rows $start..$end"
    start=$(( end + 1 ))
done

psql -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
insert into window_quota (miner_hotkey, window_index, used)
select miner_hotkey, window_index, count(*)::int from submissions group by 1, 2
on conflict (miner_hotkey, window_index) do update set used = excluded.used;
vacuum analyze;
SQL
psql -qAt -d "$db" -c "select count(*) || ' submissions, ' || pg_size_pretty(pg_database_size(current_database())) from submissions"
