#!/bin/sh
# lvsd's memory over time (issue 7): `lvsd run --lvs-only` alone with
# NSVC x NDST real servers (gen_conf.sh, TCP_CHECKs against a listener in a
# real-server namespace), sampled once a second after a warm-up: VmRSS,
# smaps_rollup Rss and Anonymous, and each anonymous mapping above 1 MB
# (glibc's heaps). One reading at the end of a window, as director_bench.sh
# takes it, can fall before or after the periodic pass and its trim; the
# series shows the whole swing.
#
# Runs INSIDE the VM (needs ip_vs). From the host:
#   cargo build --release --bin lvsd && cargo build -p integration --bin vmrun
#   target/debug/vmrun --memory 3072 -- bench/director/rss_series.sh \
#       target/release/lvsd [NSVC] [NDST] [WARM] [SAMPLES] [LVSD_RUN_ARGS...]
set -eu
LVSD=${1:?path to lvsd}
NSVC=${2:-1000}
NDST=${3:-10}
WARM=${4:-30}
SAMPLES=${5:-40}
shift $(($# < 5 ? $# : 5))
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/rss-series.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do
        while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
    done
    ip netns del rsl 2>/dev/null || true
    ip netns del rsrs 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add rsrs
ip -n rsrs link set lo up
ip -n rsrs route add local 172.16.0.0/16 dev lo
ip netns add rsl
ip -n rsl link set lo up
ip link add eth0 netns rsl type veth peer name vrsl netns rsrs
ip -n rsl addr add 192.168.200.1/24 dev eth0
ip -n rsrs addr add 192.168.200.2/24 dev vrsl
ip -n rsl link set eth0 up
ip -n rsrs link set vrsl up
ip -n rsl route add 172.16.0.0/16 via 192.168.200.2

ip netns exec rsrs python3 "$HERE/rs_listener.py" 8080 "$WORK/counts" > "$WORK/rs.out" &
PIDS="$!"
while ! grep -q ready "$WORK/rs.out"; do sleep 0.1; done
"$HERE/gen_conf.sh" "$NSVC" "$NDST" 6 1 > "$WORK/l.conf"
ulimit -n 65536
ip netns exec rsl "$LVSD" run --lvs-only -f "$WORK/l.conf" \
    --control-socket "$WORK/lvsd.sock" "$@" > "$WORK/l.log" 2>&1 &
LPID=$!
PIDS="$LPID $PIDS"
sleep "$WARM"
i=1
while [ $i -le "$SAMPLES" ]; do
    kill -0 "$LPID"
    echo "t=$i VmRSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$LPID/status")" \
        "Rss=$(awk '/^Rss:/ { print $2 }' "/proc/$LPID/smaps_rollup")" \
        "Anonymous=$(awk '/^Anonymous:/ { print $2 }' "/proc/$LPID/smaps_rollup")" \
        "heaps=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { anon = ($6 == "" || $6 == "[heap]") }
            /^Rss:/ { if (anon && $2 > 1024) printf "%d,", $2 }' "/proc/$LPID/smaps")"
    sleep 1
    i=$((i + 1))
done
echo "IPVS operations logged: $(grep -c 'IPVS op' "$WORK/l.log" || true)"
