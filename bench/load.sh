#!/usr/bin/env bash
# pulse-bench against a pulse-server on an existing (migrated or empty) database, sampling
# the server's memory while it runs: for half-load latency, the 10-minute memory run and
# the growth comparison (bench/README.md); compare.sh runs its pulse-bench half with it.
#
#   bench/load.sh DB SECONDS [pulse-bench run flags...]
#
# e.g. bench/load.sh pulse_bench_big 30 --rate 1500
#
# The server (target/release/pulse-server, or SERVER_BIN) runs with an unlimited quota on
# 127.0.0.1:$PORT (8011); its RSS is sampled every RSS_EVERY seconds (5) into
# $OUT/rss.tsv (seconds since start, KiB), summarised at the end. Default pulse-bench
# flags: 1000 hotkeys, half Epistula, only new posts, 150 posts per hotkey signed before
# the run. Reports go to OUT (default: a new
# temporary directory). The CPU that PostgreSQL, the server and the generator use per
# request over the measured period is printed at the end (bench/cpu.py). BENCH_BIN
# selects another pulse-bench binary. libpq variables PGHOST, PGPORT, PGUSER as in
# compare.sh.
set -euo pipefail
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 2 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
db="$1" secs="$2"
shift 2
extra=("$@")
[ ${#extra[@]} -gt 0 ] || extra=(--hotkeys 1000 --mix new=100 --epistula-share 0.5 --presign 150)
port="${PORT:-8011}"
out="${OUT:-$(mktemp -d -t pulse-load.XXXXXX)}"
mkdir -p "$out"
url="postgres://$PGUSER@$PGHOST:$PGPORT/$db"

server_pid="" sampler_pid=""
cleanup() {
    [ -z "$sampler_pid" ] || kill "$sampler_pid" 2>/dev/null || true
    [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
    [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

echo "load before: $(uptime)"
env DATABASE_URL="$url" PULSE_BIND="127.0.0.1:$port" RUST_LOG=warn,server::startup=info \
    MAX_SUBMISSION_RATE=1000000000 ${SERVER_ENV:-} \
    "${SERVER_BIN:-$root/target/release/pulse-server}" > "$out/server.log" 2>&1 &
server_pid=$!
timeout 60 bash -c "until grep -q 'listening on' '$out/server.log'; do sleep 0.1; done"

every="${RSS_EVERY:-5}"
(
    start=$(date +%s)
    while kill -0 "$server_pid" 2>/dev/null; do
        printf '%s\t%s\n' "$(( $(date +%s) - start ))" "$(ps -o rss= -p "$server_pid" | tr -d ' ')"
        sleep "$every"
    done
) > "$out/rss.tsv" &
sampler_pid=$!

# CPU of PostgreSQL, the server and the generator over the measured period (after the
# 5 s warm-up, 2 s margins), to split each request's cost between them.
server_comm="$(basename "${SERVER_BIN:-$root/target/release/pulse-server}" | cut -c1-15)"
bench_comm="$(basename "${BENCH_BIN:-pulse-bench}" | cut -c1-15)"
python3 "$root/bench/cpu.py" 7 "$(( secs > 8 ? secs - 4 : secs / 2 ))" postgres=postgres \
    server="$server_comm" generator="$bench_comm" > "$out/cpu.txt" &
cpu_pid=$!
"${BENCH_BIN:-$root/target/release/pulse-bench}" run --url "http://127.0.0.1:$port" -d "${secs}s" \
    --warmup 5s --check-db "$url" --json "$out/pulse-bench.json" -q "${extra[@]}" \
    | tee "$out/pulse-bench.txt"
echo "load after: $(uptime)"
kill "$sampler_pid" 2>/dev/null || true
sampler_pid=""
wait "$cpu_pid" || true

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
try:
    fields = open(f"{out}/cpu.txt").read().split()
    cpu = dict(zip(fields[::2], map(float, fields[1::2])))
    rate = json.load(open(f"{out}/pulse-bench.json"))["throughput"]
    print("CPU per request: " + ", ".join(
        f"{name} {cores / rate * 1e6:.0f} us ({cores:.2f} cores)"
        for name, cores in cpu.items() if name != "seconds")
        + f" at {rate:.0f} req/s")
except (OSError, ValueError, KeyError, ZeroDivisionError) as error:
    print(f"CPU per request: not measured ({error})")
rows = [tuple(map(int, l.split())) for l in open(f"{out}/rss.tsv") if len(l.split()) == 2]
if rows:
    kib = [r[1] for r in rows]
    half = len(kib) // 2
    first, second = kib[:max(half, 1)], kib[half:]
    print(f"server RSS over {rows[-1][0]} s ({len(kib)} samples): first {kib[0]} KiB, "
          f"min {min(kib)}, max {max(kib)}, last {kib[-1]}; "
          f"mean of first half {sum(first) / len(first):.0f}, second half {sum(second) / len(second):.0f} "
          f"(reports in {out})")
PY
