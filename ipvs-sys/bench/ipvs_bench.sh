#!/bin/sh
# IPVS programming and dump benchmark: lvsd vs ipvsadm 1.31, same run, same rules.
# Runs INSIDE the VM (needs ip_vs). Usage: ipvs_bench.sh /path/to/lvsd [services] [dests]
# Each measurement uses a fresh network namespace; prints both times and the ratio.
# NOT YET RUN (written before the VM harness existed).
set -eu
LVSD=${1:?path to lvsd}
NSVC=${2:-1000}
NDST=${3:-10}
RULES=$(mktemp)
trap 'rm -f "$RULES"; ip netns del bench-a 2>/dev/null || true; ip netns del bench-b 2>/dev/null || true' EXIT

# 1000 services x 10 destinations, NAT, private addresses only inside the namespaces.
awk -v ns="$NSVC" -v nd="$NDST" 'BEGIN {
  for (s = 0; s < ns; s++) {
    vip = sprintf("10.%d.%d.1", int(s / 250), s % 250);
    printf "-A -t %s:80 -s wlc\n", vip;
    for (d = 1; d <= nd; d++)
      printf "-a -t %s:80 -r 172.16.%d.%d:8080 -m -w 1\n", vip, s % 250, d;
  }
}' > "$RULES"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

measure_restore() { # $1 ns, $2... command
  ns=$1; shift
  ip netns add "$ns"
  t0=$(now); ip netns exec "$ns" "$@" < "$RULES"; t1=$(now)
  elapsed "$t0" "$t1"
}

a=$(measure_restore bench-a ipvsadm -R)
b=$(measure_restore bench-b "$LVSD" ipvs restore)
echo "program ${NSVC}x${NDST}: ipvsadm -R ${a}s  lvsd ipvs restore ${b}s  ratio $(echo "scale=3; $b / $a" | bc)"

t0=$(now); ip netns exec bench-a ipvsadm -Ln > /dev/null; t1=$(now)
c=$(elapsed "$t0" "$t1")
t0=$(now); ip netns exec bench-a "$LVSD" ipvs list -n > /dev/null; t1=$(now)
d=$(elapsed "$t0" "$t1")
echo "dump: ipvsadm -Ln ${c}s  lvsd ipvs list -n ${d}s  ratio $(echo "scale=3; $d / $c" | bc)"

# Both tools must see the same table.
ip netns exec bench-a ipvsadm -Ln > /tmp/bench-ipvsadm.txt
ip netns exec bench-b "$LVSD" ipvs list -n > /tmp/bench-lvsd.txt
cmp /tmp/bench-ipvsadm.txt /tmp/bench-lvsd.txt && echo "listings identical"
