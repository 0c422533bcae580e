#!/bin/sh
# Health-check scheduler benchmark (issue 5): 10,000 real servers with
# TCP_CHECK, then 10,000 with HTTP_GET, delay_loop 1s, 60 s each. The
# servers run in one separate process (bench_server) on 100 loopback
# addresses 127.1.0.1-127.1.0.100 x 100 ports; the checker process
# (bench) drives checks::Scheduler directly and prints its own figures.
#
# Usage: checks/bench/run.sh [COUNT] [SECONDS]     (run from anywhere, as root or not)
set -eu
COUNT=${1:-10000}
SECONDS_PER_RUN=${2:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
cargo build --release -q -p checks --examples
BIN="$TARGET/release/examples"

# 10,000 listeners plus connections in flight.
ulimit -n 20000

"$BIN/bench_server" "$COUNT" > /tmp/lvsd-bench-server.$$ &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -f /tmp/lvsd-bench-server.$$' EXIT INT TERM
while ! grep -q ready /tmp/lvsd-bench-server.$$ 2>/dev/null; do
    kill -0 "$SERVER" || { echo "bench_server died" >&2; exit 1; }
    sleep 0.2
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(nproc) cpus, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in tcp http; do
    "$BIN/bench" "$mode" "$COUNT" "$SECONDS_PER_RUN"
    echo "load after $mode: $(cut -d' ' -f1-3 /proc/loadavg)"
done
