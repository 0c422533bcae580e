#!/usr/bin/env bash
# The one test command of lvsd (README.md names it; .ci/run calls it).
#
# On a fresh Debian machine of the CI kind (root, no IPVS in the host kernel)
# it sets up everything itself, then builds and runs every test:
#   1. installs the Debian packages the tests use, if any is missing, and
#   2. fetches Debian's kernel into target/vm-kernel (both: integration/setup.sh);
#   3. rustfmt check and clippy (-D warnings, all targets, all features);
#   4. host tests: every unit and integration test binary of the workspace,
#      as root (network-namespace tests included), and the doc tests;
#   5. VM tests: every test target named `vm_*` runs inside a VM booted with
#      the real IPVS kernel, one boot per test binary (integration/src/vm.rs).
# It keeps going after a failure, prints one summary line and exits non-zero
# if anything failed.
#
# Options: --skip-lint (no fmt/clippy), --only PATTERN (run only test
# binaries whose name matches the shell glob PATTERN, e.g. --only 'vm_*').
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
export CARGO_TERM_COLOR=never
lint=1
only='*'
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-lint) lint=0 ;;
        --only) only=$2; shift ;;
        *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

start=$(date +%s)
failures=()
binaries_passed=0
tests_passed=0
tests_failed=0

step() { printf '\n=== %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }
fail() { failures+=("$1"); printf '!!! FAILED: %s\n' "$1"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: run as root (network namespaces, raw sockets, qemu 9p)" >&2
    exit 1
fi

# --- 1./2. Debian packages and the VM kernel (integration/setup.sh) -----------
step "setup: packages and VM kernel"
bash integration/setup.sh || exit 1

# Namespaces left by a killed earlier run (their creator is gone).
for ns in $(ip netns list 2>/dev/null | awk '/^lvsdt-/ {print $1}'); do
    pid=$(echo "$ns" | cut -d- -f2)
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "removing stale namespace $ns"
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9
        ip netns del "$ns"
    fi
done

# --- 3. lint ---------------------------------------------------------------------
if [ $lint -eq 1 ]; then
    step "cargo fmt --check"
    cargo fmt --all --check || fail "rustfmt"
    step "cargo clippy"
    cargo clippy -q --workspace --all-targets --all-features -- -D warnings || fail "clippy"
fi

# --- 4./5. build every test binary once, then run it where it belongs ------------
step "build"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
cargo build -q --workspace --all-features --bins || fail "build (binaries)"
cargo test -q --workspace --all-features --no-run --message-format=json-render-diagnostics \
    | python3 -c '
import json, os, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        t = m["target"]
        name = t["name"] if "lib" not in t["kind"] else t["name"] + "(unit)"
        if t["kind"] == ["bin"]:
            name = t["name"] + "(bin-unit)"
        print(name, os.path.dirname(m["manifest_path"]), m["executable"], sep="\t")
' >"$list" || fail "build (tests)"
vmrun=$top/target/debug/vmrun

# Runs one test binary (on the host or in the VM); its output is shown and
# its "test result:" lines are counted.
run_binary() {
    local where=$1 name=$2 dir=$3 exe=$4 out rc
    out=$(mktemp)
    step "$where: $name"
    if [ "$where" = vm ]; then
        (cd "$dir" && CARGO_MANIFEST_DIR=$dir "$vmrun" --timeout 900 -- "$exe") 2>&1 | tee "$out"
    else
        (cd "$dir" && CARGO_MANIFEST_DIR=$dir "$exe") 2>&1 | tee "$out"
    fi
    rc=${PIPESTATUS[0]}
    local p f
    p=$(sed -n 's/^test result: .*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^test result: .*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$out" | awk '{s+=$1} END {print s+0}')
    tests_passed=$((tests_passed + p))
    tests_failed=$((tests_failed + f))
    rm -f "$out"
    if [ "$rc" -eq 0 ]; then
        binaries_passed=$((binaries_passed + 1))
    else
        fail "$where: $name (exit $rc)"
    fi
}

while IFS=$'\t' read -r name dir exe; do
    # shellcheck disable=SC2254
    case "$name" in $only) ;; *) continue ;; esac
    case "$name" in
        vm_*) ;; # below, in the VM
        *) run_binary host "$name" "$dir" "$exe" ;;
    esac
done <"$list"

if [ "$only" = '*' ]; then
    step "doc tests"
    cargo test -q --workspace --all-features --doc || fail "doc tests"
fi

while IFS=$'\t' read -r name dir exe; do
    # shellcheck disable=SC2254
    case "$name" in $only) ;; *) continue ;; esac
    case "$name" in
        vm_*) run_binary vm "$name" "$dir" "$exe" ;;
    esac
done <"$list"

# Namespaces whose creating test process has ended must be gone (another
# process's live test namespaces are not ours to judge).
leftover=""
for ns in $(ip netns list 2>/dev/null | awk '/^lvsdt-/ {print $1}'); do
    kill -0 "$(echo "$ns" | cut -d- -f2)" 2>/dev/null || leftover="$leftover $ns"
done
[ -z "$leftover" ] || fail "namespaces left behind:$leftover"

step "summary"
echo "test binaries passed: $binaries_passed; tests: $tests_passed passed, $tests_failed failed; $(($(date +%s) - start)) s in all"
if [ ${#failures[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${failures[@]}"
    exit 1
fi
echo "ALL PASSED"
