#!/usr/bin/env bash
# The database's own ceiling for the submit path's SQL (bench/submit.pgbench).
#
#   bench/pgbench.sh prepare DB        create DB and apply migrations/*.sql
#   bench/pgbench.sh run DB C SECS     pgbench at C clients for SECS seconds
#   bench/pgbench.sh drop DB           drop DB
#
# Connection settings come from the usual libpq variables (PGHOST, PGPORT, PGUSER;
# defaults here: 127.0.0.1, 5432, postgres). Script variables can be overridden from the
# environment: HOTKEYS (1000), QUOTA (1000000000), WINDOW (1), EPISTULA_PCT (50),
# SELECT_PCT (20), VERDICTS (1), MODE (prepared), SCRIPT (submit.pgbench; submit-v1.pgbench
# for the SQL of the server before pulse_submit). Use a scratch database, never one
# that holds data you want.
set -euo pipefail

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -n1)"

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

[ $# -ge 2 ] || usage
command="$1" db="$2"
case "$command" in
prepare)
    createdb "$db"
    for migration in "$root"/migrations/*.sql; do
        psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$migration"
    done
    echo "prepared $db with $(ls "$root"/migrations/*.sql | wc -l) migrations"
    ;;
run)
    [ $# -eq 4 ] || usage
    clients="$3" secs="$4"
    # pgbench's -j cannot exceed -c.
    threads=$(( clients < 2 ? clients : 2 ))
    # CPU of PostgreSQL and pgbench over the run but its first and last 2 s.
    cpu="$(mktemp)"
    python3 "$here/cpu.py" 2 "$(( secs > 8 ? secs - 4 : secs / 2 ))" postgres=postgres \
        pgbench=pgbench > "$cpu" &
    cpu_pid=$!
    "$pgbench" -n -M "${MODE:-prepared}" -c "$clients" -j "$threads" -T "$secs" \
        -f "$here/${SCRIPT:-submit.pgbench}" \
        -D hotkeys="${HOTKEYS:-1000}" -D quota="${QUOTA:-1000000000}" -D window="${WINDOW:-1}" \
        -D epistula_pct="${EPISTULA_PCT:-50}" -D select_pct="${SELECT_PCT:-20}" \
        -D verdicts="${VERDICTS:-1}" -D now_ms="$(date +%s%3N)" \
        "$db" | tee "$cpu.out"
    wait "$cpu_pid" || true
    tps="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$cpu.out")"
    read -r _ pg _ client _ < "$cpu" || true
    if [ -n "$tps" ] && [ -n "${client:-}" ]; then
        awk -v tps="$tps" -v pg="$pg" -v client="$client" 'BEGIN {
            printf "CPU per transaction: postgres %.0f us (%.2f cores), pgbench %.0f us (%.2f cores) at %.0f tps\n",
                pg / tps * 1e6, pg, client / tps * 1e6, client, tps }'
    fi
    rm -f "$cpu" "$cpu.out"
    ;;
drop)
    dropdb --if-exists "$db"
    ;;
*)
    usage
    ;;
esac
