#!/bin/sh
# Writes a keepalived.conf with NSVC TCP virtual servers × NDST NAT real
# servers, each real server with a TCP_CHECK, to stdout. Every real server
# has its own address (172.16.0.1 upwards, port 8080), so no checker can
# share one probe between real servers. The one real server that the reload
# benchmark changes (real server 5 of virtual server NSVC/2) gets weight
# WEIGHT; every other real server has weight 1.
#
# Usage: gen_conf.sh NSVC NDST DELAY_LOOP WEIGHT
set -eu
awk -v ns="$1" -v nd="$2" -v delay="$3" -v w="$4" 'BEGIN {
  print "global_defs {\n    router_id lvsd-director-bench\n}";
  for (s = 0; s < ns; s++) {
    printf "virtual_server 10.0.%d.%d 80 {\n", int(s / 250), s % 250 + 1;
    printf "    delay_loop %d\n    lvs_sched wlc\n    lvs_method NAT\n    protocol TCP\n", delay;
    for (d = 0; d < nd; d++) {
      i = s * nd + d;
      weight = (s == int(ns / 2) && d == 5) ? w : 1;
      printf "    real_server 172.16.%d.%d 8080 {\n        weight %d\n", int(i / 250), i % 250 + 1, weight;
      print  "        TCP_CHECK {\n            connect_timeout 3\n        }\n    }";
    }
    print "}";
  }
}'
