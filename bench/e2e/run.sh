#!/usr/bin/env bash
# End-to-end director scenarios of issue 7, lvsd and keepalived 2.2.7 side
# by side in the same run (BENCHMARKS.md, "End-to-end scenarios").
#
#   sudo bench/e2e/run.sh [SCENARIO-LETTERS]      e.g. bench/e2e/run.sh abc
#
# Each scenario (a–f, tests/e2e_support/mod.rs) runs in NAT and in DR mode,
# first with two lvsd directors, then with two keepalived directors, on the
# same topology: VRRP pair, three real servers, a sorry server, a client
# sending an HTTP request to the VIP every 15 ms. It prints a Markdown table
# of the client's failed requests and outage, and one line of details per
# run. Where the kernel lacks IPVS (the CI machines) it runs inside the VM
# harness (Debian's kernel under qemu TCG, 2 vCPUs); namespaces and
# processes are removed at the end of each scenario.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
scenarios=${1:-abcdef}
[ "$(id -u)" -eq 0 ] || { echo "bench/e2e: run as root" >&2; exit 1; }
target=${CARGO_TARGET_DIR:-$top/target}

echo "bench/e2e: building"
cargo build -q --bin lvsd
cargo build -q -p integration --bin vmrun
exe=$(cargo test -q --features vm-tests --test vm_e2e --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "vm_e2e":
        print(m["executable"])')
[ -n "$exe" ] || { echo "bench/e2e: the vm_e2e test binary did not build" >&2; exit 1; }

echo "bench/e2e: $(date -u '+%Y-%m-%d %H:%M UTC'), host: $(uptime)"
echo "bench/e2e: keepalived: $(keepalived --version 2>&1 | head -1)"
args=(--ignored --exact bench_lvsd_and_keepalived_side_by_side --nocapture --test-threads 1)
if modprobe ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]; then
    E2E_SCENARIOS=$scenarios "$exe" "${args[@]}"
else
    echo "bench/e2e: this kernel has no IPVS; running inside the VM"
    "$target/debug/vmrun" --timeout 1800 --env "E2E_SCENARIOS=$scenarios" -- "$exe" "${args[@]}"
fi
