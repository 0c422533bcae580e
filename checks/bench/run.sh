#!/bin/sh
# Health-check scheduler benchmark (issue 5): 10,000 real servers with
# TCP_CHECK, then 10,000 with HTTP_GET, delay_loop 1s, 60 s each. The
# servers run in one separate process (bench_server) on 100 loopback
# addresses 127.1.0.1-127.1.0.100 x 100 ports; the checker process
# (bench) drives checks::Scheduler directly and prints its own figures.
#
# Usage: checks/bench/run.sh [COUNT] [SECONDS]     (run from anywhere, as root or not)
#   BENCH_WORKERS=N   the checker on a multi-threaded runtime of N workers
#                     (default 0: a current-thread runtime, as `lvsd run`
#                     runs its checks; the default was 2 before 2026-11-29)
#   BENCH_TIMELINE=1  lateness per second of each run
#   AUTOGROUP_NICE=N  (root for N < 0) CPU priority of both sessions, see below
set -eu
# With AUTOGROUP_NICE (below), run in a session of our own, so that the
# caller's session keeps its priority.
if [ -n "${AUTOGROUP_NICE:-}" ] && [ -z "${BENCH_OWN_SESSION:-}" ]; then
    BENCH_OWN_SESSION=1 exec setsid -w "$0" "$@"
fi
COUNT=${1:-10000}
SECONDS_PER_RUN=${2:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
cargo build --release -q -p checks --examples
BIN="$TARGET/release/examples"

# 10,000 listeners plus connections in flight.
ulimit -n 20000

# The server runs in a session of its own: with the kernel's autogroup
# scheduling (sched_autogroup_enabled=1, Debian's default), CPU is shared
# between sessions first, and the 10,000 servers, which stand for other
# machines, must not take their CPU out of the checker's share.
setsid "$BIN/bench_server" "$COUNT" > /tmp/lvsd-bench-server.$$ &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -f /tmp/lvsd-bench-server.$$' EXIT INT TERM
while ! grep -q ready /tmp/lvsd-bench-server.$$ 2>/dev/null; do
    kill -0 "$SERVER" || { echo "bench_server died" >&2; exit 1; }
    sleep 0.2
done

# AUTOGROUP_NICE=N: give both sessions (checker, server) autogroup nice N,
# what `nice -n N` would do without autogroups (under them a task's nice
# only counts inside its own session). Printed with the results.
if [ -n "${AUTOGROUP_NICE:-}" ]; then
    echo "$AUTOGROUP_NICE" > /proc/self/autogroup
    echo "$AUTOGROUP_NICE" > "/proc/$SERVER/autogroup"
fi

# utime + stime of the server process in clock ticks (proc(5) fields 14, 15).
server_ticks() {
    sed 's/.*) //' "/proc/$SERVER/stat" | awk '{ print $12 + $13 }'
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(nproc) cpus, load before: $(cut -d' ' -f1-3 /proc/loadavg)," \
    "checker $(cat /proc/self/autogroup), server $(cat "/proc/$SERVER/autogroup")"
for mode in tcp http; do
    before=$(server_ticks)
    "$BIN/bench" "$mode" "$COUNT" "$SECONDS_PER_RUN"
    after=$(server_ticks)
    # The server side must not be the limiter: its CPU over the same run.
    awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v s="$SECONDS_PER_RUN" \
        'BEGIN { printf "server_cpu_s=%.2f server_cpu_share_of_one_core=%.2f\n", t / hz, t / hz / s }'
    echo "load after $mode: $(cut -d' ' -f1-3 /proc/loadavg)"
done
