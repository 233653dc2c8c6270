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
set -euo pipefail
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
[ $# -eq 2 ] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
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
