#!/usr/bin/env bash
# A full subnet at each window's start, with registration by metagraph and with open
# registration, on fresh scratch databases (bench/README.md, "A window's opening burst"):
#
#   bench/burst.sh [metagraph|open|both] [pulse-bench burst flags...]
#
# metagraph: pulse-chain (1 s blocks, netuid 1) and pulse-server with BLOCK_SOURCE=subtensor
# and REGISTRATION=metagraph; pulse-bench registers its hotkeys on the chain first.
# open: pulse-server alone, BLOCK_SOURCE=clock, BLOCK_TIME_SECS=1, REGISTRATION=open.
# Defaults: 256 hotkeys x 6 posts for 5 windows (windows of 100 blocks: about 100 s each).
# Binaries from target/release (SERVER_BIN, CHAIN_BIN, BENCH_BIN override); reports and
# logs go to OUT (default: a new temporary directory). libpq variables PGHOST, PGPORT,
# PGUSER as in compare.sh.
set -euo pipefail
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-both}"
case "$mode" in metagraph|open|both) shift $(( $# > 0 ? 1 : 0 )) ;; *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
extra=("$@")
out="${OUT:-$(mktemp -d -t pulse-burst.XXXXXX)}"
mkdir -p "$out"
server_bin="${SERVER_BIN:-$root/target/release/pulse-server}"
chain_bin="${CHAIN_BIN:-$root/target/release/pulse-chain}"
bench_bin="${BENCH_BIN:-$root/target/release/pulse-bench}"
# 256 hotkeys open a connection each at once, beside the server's own.
ulimit -n 65536 2>/dev/null || true

pids=()
dbs=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for db in "${dbs[@]}"; do dropdb --if-exists "$db" 2>/dev/null || true; done
}
trap cleanup EXIT

# Waits for a line matching $2 in log $1 and prints the address after "listening on ".
address_in() {
    timeout 60 bash -c "until grep -q '$2' '$1'; do sleep 0.1; done"
    grep -m1 -o 'listening on [^ ]*' "$1" | sed 's/listening on //'
}

one() {
    local kind="$1"
    local db="pulse_burst_${kind}_$$"
    createdb "$db"
    dbs+=("$db")
    local url="postgres://$PGUSER@$PGHOST:$PGPORT/$db"
    local env=(DATABASE_URL="$url" PULSE_BIND=127.0.0.1:0 RUST_LOG=warn,server::startup=info
               LOG_FORMAT=text DATABASE_MAX_CONNECTIONS="${DATABASE_MAX_CONNECTIONS:-16}")
    local register=()
    if [ "$kind" = metagraph ]; then
        env CHAIN_BIND=127.0.0.1:0 CHAIN_BLOCK_TIME_MS=1000 CHAIN_NETUIDS=1 LOG_FORMAT=text \
            "$chain_bin" > "$out/chain.log" 2>&1 &
        pids+=($!)
        local chain
        chain="$(address_in "$out/chain.log" 'pulse-chain listening on')"
        chain="${chain/ws:\/\//http://}"
        env+=(BLOCK_SOURCE=subtensor SUBTENSOR_URL="$chain" NETUID=1 REGISTRATION=metagraph
              METAGRAPH_SYNC_BLOCKS=5)
        register=(--register-on "$chain" --netuid 1)
    else
        env+=(BLOCK_SOURCE=clock BLOCK_TIME_SECS=1 REGISTRATION=open)
    fi
    env "${env[@]}" "$server_bin" > "$out/server-$kind.log" 2>&1 &
    pids+=($!)
    local server
    server="$(address_in "$out/server-$kind.log" 'listening on')"
    echo "== $kind registration: server $server, database $db, load before: $(uptime)"
    "$bench_bin" burst --url "$server" "${register[@]}" --check-db "$url" \
        --json "$out/burst-$kind.json" "${extra[@]}" | tee "$out/burst-$kind.txt"
}

status=0
if [ "$mode" = metagraph ] || [ "$mode" = both ]; then one metagraph || status=1; fi
if [ "$mode" = open ] || [ "$mode" = both ]; then one open || status=1; fi
echo "reports in $out"
exit $status
