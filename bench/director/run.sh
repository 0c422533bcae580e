#!/bin/sh
# Host side of the director benchmark: builds a release lvsd and the VM
# runner, then runs director_bench.sh inside the VM (the host kernel may
# lack IPVS; every daemon runs in namespaces of the guest).
#
# Usage: [PROFILE=1] [SYSCALLS=1] [LVSD_ARGS=...] bench/director/run.sh [NSVC] [NDST] [DELAY] [ROUNDS] [WINDOW]
# (PROFILE=1: perf profiles of lvsd in the output; LVSD_ARGS: extra
# arguments of `lvsd run`, for experiments such as --reconcile-interval)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
cargo build --release -q --bin lvsd
cargo build -q -p integration --bin vmrun
echo "# host: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET/debug/vmrun" --timeout 3600 --memory 3072 --env "PROFILE=${PROFILE:-}" \
    --env "SYSCALLS=${SYSCALLS:-}" \
    --env "LVSD_ARGS=${LVSD_ARGS:-}" -- \
    "$ROOT/bench/director/director_bench.sh" "$TARGET/release/lvsd" "$@"
echo "# host: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
