#!/bin/sh
# IPVS programming and dump benchmark: lvsd vs ipvsadm 1.31, same run, same rules.
# Runs INSIDE the VM (needs ip_vs), e.g. from the host:
#   cargo build --release --bin lvsd && cargo build -p integration --bin vmrun
#   target/debug/vmrun -- "$PWD/ipvs-sys/bench/ipvs_bench.sh" "$PWD/target/release/lvsd"
# Usage: ipvs_bench.sh /path/to/lvsd [services] [dests] [rounds] [dumps]
#
# Every figure is taken inside the benchmark's network namespace by
# ipvs_time.pl (CLOCK_MONOTONIC around fork..waitpid of the tool alone), so
# entering the namespace (`ip netns exec`, ~90 ms in the VM) is in neither
# tool's figure. Programming: each round programs a fresh namespace with each
# tool in turn from the same rules text. Dumping: one entry into the namespace
# that ipvsadm -R programmed, then `ipvsadm -Ln` and `lvsd ipvs list -n`
# alternate DUMPS times. The script prints every figure, best and median of
# each side and their ratios lvsd/ipvsadm, and checks that both tools built
# the same table and that both list it byte for byte alike.
# The lvsd path must not contain blanks (ipvs_time.pl splits command lines).
set -eu
LVSD=${1:?path to lvsd}
NSVC=${2:-1000}
NDST=${3:-10}
ROUNDS=${4:-5}
DUMPS=${5:-11}
HERE=$(cd "$(dirname "$0")" && pwd)
TIMER="$HERE/ipvs_time.pl"
RULES=$(mktemp)
OUT=$(mktemp -d)
cleanup() {
    rm -rf "$RULES" "$OUT"
    for ns in bench-a bench-b; do ip netns del $ns 2>/dev/null || true; done
}
trap cleanup EXIT

# NAT services on 10.x, real servers on 172.16.x; those addresses exist only
# inside the benchmark namespaces (a dummy interface routes them: the kernel
# refuses a NAT destination without a route).
awk -v ns="$NSVC" -v nd="$NDST" 'BEGIN {
  for (s = 0; s < ns; s++) {
    vip = sprintf("10.%d.%d.1", int(s / 250), s % 250);
    printf "-A -t %s:80 -s wlc\n", vip;
    for (d = 1; d <= nd; d++)
      printf "-a -t %s:80 -r 172.16.%d.%d:8080 -m -w 1\n", vip, s % 250, d;
  }
}' > "$RULES"

fresh_ns() {
    ip netns del "$1" 2>/dev/null || true
    ip netns add "$1"
    ip -n "$1" link add dummy0 type dummy
    ip -n "$1" link set dummy0 up
    ip -n "$1" addr add 172.31.255.254/12 dev dummy0
}

# One timed run of a command fed the rules, inside a fresh namespace; prints
# the seconds.
time_restore() { # ns, command line
    fresh_ns "$1"
    ip netns exec "$1" perl "$TIMER" 1 "$RULES" "$2" | sed -n 's/^round 1: //p'
}
# "best median" of a list of figures (median of an even count: mean of the
# two middle ones, as ipvs_time.pl).
best_median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
        printf "%.4f %.4f\n", v[1], m }'
}
ratio() { echo "scale=3; $1 / $2" | bc; }

echo "IPVS benchmark: ${NSVC} services x ${NDST} destinations; guest $(uptime)"
pa=""; pb=""
for r in $(seq "$ROUNDS"); do
    a=$(time_restore bench-a "ipvsadm -R")
    b=$(time_restore bench-b "$LVSD ipvs restore")
    echo "program round $r: ipvsadm -R ${a}s, lvsd ipvs restore ${b}s"
    pa="$pa $a"; pb="$pb $b"
done
# shellcheck disable=SC2086
set -- $(best_median $pa) $(best_median $pb)
echo "program ${NSVC}x${NDST}, $ROUNDS rounds: ipvsadm -R best $1 s median $2 s;" \
    "lvsd ipvs restore best $3 s median $4 s; ratio best $(ratio "$3" "$1") median $(ratio "$4" "$2")"

# Dump: the table ipvsadm programmed in the last round, both tools in turn.
ip netns exec bench-a perl "$TIMER" "$DUMPS" - "ipvsadm -Ln" "$LVSD ipvs list -n" > "$OUT/dump"
sed 's/^round /dump round /' "$OUT/dump" | grep '^dump round'
# shellcheck disable=SC2046
set -- $(awk '/^best/ { sub(":", "", $4); print $2, $4 }' "$OUT/dump")
echo "dump ${NSVC}x${NDST}, $DUMPS runs each: ipvsadm -Ln best $1 s median $2 s;" \
    "lvsd ipvs list -n best $3 s median $4 s; ratio best $(ratio "$3" "$1") median $(ratio "$4" "$2")"

# Both tools programmed the same table, and both list it identically (in the
# same namespace and across the two).
ip netns exec bench-a ipvsadm -Ln > "$OUT/ipvsadm.txt"
ip netns exec bench-a "$LVSD" ipvs list -n > "$OUT/lvsd-a.txt"
ip netns exec bench-b "$LVSD" ipvs list -n > "$OUT/lvsd-b.txt"
cmp "$OUT/ipvsadm.txt" "$OUT/lvsd-a.txt"
cmp "$OUT/ipvsadm.txt" "$OUT/lvsd-b.txt"
ip netns exec bench-a ipvsadm -Sn > "$OUT/a.rules"
ip netns exec bench-b ipvsadm -Sn > "$OUT/b.rules"
cmp "$OUT/a.rules" "$OUT/b.rules"
echo "tables identical ($(grep -c '^-A' "$OUT/a.rules") services, $(grep -c '^-a' "$OUT/a.rules") destinations); listings identical"
