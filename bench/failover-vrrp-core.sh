#!/bin/sh
# VRRP core failover figures, in network namespaces (as root): lvsd as the
# backup of a keepalived master and keepalived as the backup of an lvsd
# master, SIGTERM and SIGKILL of the master, v2 1 s and v3 0.1 s; medians of
# 5 runs. Uses the library directly (no `lvsd run` needed). For the
# end-to-end client-outage benchmark see bench/failover*.sh of the lead.
set -eu
cd "$(dirname "$0")/.."
exec cargo test -p lvsd --test vrrp_failover_bench -- --ignored --nocapture --test-threads=1
