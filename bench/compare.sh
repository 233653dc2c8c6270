#!/usr/bin/env bash
# One comparison: pulse-server under pulse-bench, then the same SQL under pgbench, at the
# same concurrency, each on a scratch database created for it and dropped afterwards.
#
#   bench/compare.sh [CONCURRENCY [SECONDS [pulse-bench run flags...]]]
#
# Defaults: 16 connections, 30 s after a 5 s warm-up, 1000 hotkeys, half Epistula, only
# new posts, 150 posts per hotkey signed before the run (enough for 35 s at 4,000/s, so
# the generator signs nothing while measuring). The server runs from target/release (cargo build --release -p bench -p server)
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
[ ${#extra[@]} -gt 0 ] || extra=(--hotkeys 1000 --mix new=100 --epistula-share 0.5 --presign 150)
out="${OUT:-$(mktemp -d -t pulse-bench.XXXXXX)}"
mkdir -p "$out"
db="pulse_bench_$$"

createdb "$db"
trap 'dropdb --if-exists "$db"' EXIT

# The server under pulse-bench: bench/load.sh starts it, samples its memory, stops it.
OUT="$out" "$root/bench/load.sh" "$db" "$secs" -c "$concurrency" "${extra[@]}"
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
