#!/usr/bin/env bash
# One comparison: pulse-server under pulse-bench, then the same SQL under pgbench, at the
# same concurrency, each on a scratch database created for it and dropped afterwards.
#
#   bench/compare.sh [CONCURRENCY [SECONDS [pulse-bench run flags...]]]
#
# Defaults: 16 connections, 30 s after a 5 s warm-up, 1000 hotkeys, half Epistula, only
# new posts. The server runs from target/release (cargo build --release -p bench -p server)
# with an unlimited quota, so every request is a new post, as in bench/submit.pgbench.
# Environment: PORT (8011), SERVER_ENV (extra server settings, e.g. "RUST_LOG=info"),
# SERVER_BIN (the server binary; default target/release/pulse-server), SCRIPT (the pgbench
# script; default submit.pgbench, submit-v1.pgbench for the SQL before pulse_submit),
# OUT (directory for the reports; default a new temporary directory), and the libpq
# variables PGHOST, PGPORT, PGUSER (127.0.0.1, 5432, postgres).
set -euo pipefail

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
root="$(cd "$(dirname "$0")/.." && pwd)"
concurrency="${1:-16}" secs="${2:-30}"
shift $(( $# < 2 ? $# : 2 ))
extra=("$@")
[ ${#extra[@]} -gt 0 ] || extra=(--hotkeys 1000 --mix new=100 --epistula-share 0.5)
port="${PORT:-8011}"
out="${OUT:-$(mktemp -d -t pulse-bench.XXXXXX)}"
mkdir -p "$out"
db="pulse_bench_$$"
url="postgres://$PGUSER@$PGHOST:$PGPORT/$db"

createdb "$db"
server_pid=""
cleanup() {
    [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
    [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
    dropdb --if-exists "$db"
}
trap cleanup EXIT

echo "load before pulse-bench: $(uptime)"
# Readiness: the server logs its address once it listens (RUST_LOG=warn hides the rest).
env DATABASE_URL="$url" PULSE_BIND="127.0.0.1:$port" RUST_LOG=warn,server::startup=info \
    MAX_SUBMISSION_RATE=1000000000 ${SERVER_ENV:-} \
    "${SERVER_BIN:-$root/target/release/pulse-server}" > "$out/server.log" 2>&1 &
server_pid=$!
timeout 60 bash -c "until grep -q 'listening on' '$out/server.log'; do sleep 0.1; done"
"$root/target/release/pulse-bench" run --url "http://127.0.0.1:$port" -c "$concurrency" \
    -d "${secs}s" --warmup 5s --check-db "$url" --json "$out/pulse-bench.json" -q \
    "${extra[@]}" | tee "$out/pulse-bench.txt"
echo "server RSS (KiB) after the run: $(ps -o rss= -p "$server_pid")"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
dropdb "$db"

echo "load before pgbench: $(uptime)"
"$root/bench/pgbench.sh" prepare "$db" > /dev/null
"$root/bench/pgbench.sh" run "$db" "$concurrency" "$secs" | tee "$out/pgbench.txt"
echo "load after: $(uptime)"

python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
bench = json.load(open(f"{out}/pulse-bench.json"))
tps = float(re.search(r"tps = ([\d.]+)", open(f"{out}/pgbench.txt").read()).group(1))
new = bench["outcomes"].get("new", {}).get("per_sec", 0.0)
print(f"\nnew posts/s {new:.1f}; pgbench tps {tps:.1f}; ratio {new / tps:.2f} (reports in {out})")
PY
