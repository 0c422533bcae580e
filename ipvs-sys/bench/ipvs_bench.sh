#!/bin/sh
# IPVS programming and dump benchmark: lvsd vs ipvsadm 1.31, same run, same rules.
# Runs INSIDE the VM (needs ip_vs), e.g. from the host:
#   cargo build --release --bin lvsd
#   target/debug/vmrun -- "$PWD/ipvs-sys/bench/ipvs_bench.sh" "$PWD/target/release/lvsd"
# Usage: ipvs_bench.sh /path/to/lvsd [services] [dests] [rounds]
# Each programming run uses a fresh network namespace; both tools are measured
# alternately in every round; the script prints every figure, the best of each
# side and the ratio lvsd/ipvsadm, and checks both tables list identically.
set -eu
LVSD=${1:?path to lvsd}
NSVC=${2:-1000}
NDST=${3:-10}
ROUNDS=${4:-5}
RULES=$(mktemp)
cleanup() {
    rm -f "$RULES"
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

# Times one command inside a namespace, measured from inside it (entering the
# namespace with `ip netns exec` is not part of either tool's cost).
# Prints seconds, 4 decimals. stdin is passed through; stdout is discarded.
time_in() { # ns, command...
    ns=$1; shift
    ip netns exec "$ns" sh -c '
        t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
        echo "scale=4; ($t1 - $t0) / 1" | bc' sh "$@"
}
min() { printf '%s\n' "$@" | sort -g | head -1; }

time_restore() { # ns, command...
    ns=$1; shift
    fresh_ns "$ns"
    time_in "$ns" "$@" < "$RULES"
}

pa=""; pb=""; da=""; db=""
for r in $(seq "$ROUNDS"); do
    a=$(time_restore bench-a ipvsadm -R)
    b=$(time_restore bench-b "$LVSD" ipvs restore)
    c=$(time_in bench-a ipvsadm -Ln)
    d=$(time_in bench-a "$LVSD" ipvs list -n)
    echo "round $r: program ipvsadm -R ${a}s, lvsd ipvs restore ${b}s; dump ipvsadm -Ln ${c}s, lvsd ipvs list -n ${d}s"
    pa="$pa $a"; pb="$pb $b"; da="$da $c"; db="$db $d"
done
# shellcheck disable=SC2086
{ a=$(min $pa); b=$(min $pb); c=$(min $da); d=$(min $db); }
echo "program ${NSVC}x${NDST} (best of $ROUNDS): ipvsadm -R ${a}s  lvsd ipvs restore ${b}s  ratio $(echo "scale=3; $b / $a" | bc)"
echo "dump ${NSVC}x${NDST} (best of $ROUNDS): ipvsadm -Ln ${c}s  lvsd ipvs list -n ${d}s  ratio $(echo "scale=3; $d / $c" | bc)"

# Both tools programmed the same table, and both list it identically.
ip netns exec bench-a ipvsadm -Ln > /tmp/bench-ipvsadm.txt
ip netns exec bench-b "$LVSD" ipvs list -n > /tmp/bench-lvsd.txt
cmp /tmp/bench-ipvsadm.txt /tmp/bench-lvsd.txt
ip netns exec bench-a ipvsadm -Sn > /tmp/bench-a.rules
ip netns exec bench-b ipvsadm -Sn > /tmp/bench-b.rules
cmp /tmp/bench-a.rules /tmp/bench-b.rules
echo "tables identical ($(grep -c '^-A' /tmp/bench-a.rules) services, $(grep -c '^-a' /tmp/bench-a.rules) destinations); listings identical"
