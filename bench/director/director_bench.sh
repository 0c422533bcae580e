#!/bin/sh
# Director benchmark (issue 7): lvsd run --lvs-only against keepalived 2.2.7
# -C (checker only), same run, same configuration: NSVC NAT virtual servers
# × NDST real servers, each real server with its own address and a
# TCP_CHECK (delay_loop DELAY) against a listener in a real-server namespace.
#
#  1. Steady state: both daemons run side by side; after a warm-up, CPU
#     (utime+stime of every process of each daemon, from /proc/PID/stat)
#     over WINDOW seconds, and RSS and PSS at the end.
#  2. Reload: ROUNDS rounds, each changing the weight of one real server
#     three times: lvsd through `lvsd reload`, lvsd through SIGHUP,
#     keepalived through SIGHUP; each time from the trigger to the kernel
#     table holding the new weight (reload_timer.py polls that service).
#     Before and after the rounds, every other service's IPVS counters are
#     compared (a service or real server deleted and re-added would start
#     again from zero).
#
# Runs INSIDE the VM (needs ip_vs); see bench/director/run.sh for the host
# side. Usage: director_bench.sh LVSD [NSVC] [NDST] [DELAY] [ROUNDS] [WINDOW]
# With PROFILE=1 in the environment, perf samples lvsd during the steady
# window and during the reload rounds, keepalived's processes during the
# steady window, and the script prints the profiles (by DSO, then by
# symbol).
# LVSD_ARGS in the environment: extra arguments of `lvsd run`. SYSCALLS=1:
# the system calls per check of each daemon (strace, after the window).
set -eu
LVSD=${1:?path to lvsd}
NSVC=${2:-1000}
NDST=${3:-10}
DELAY=${4:-6}
ROUNDS=${5:-5}
WINDOW=${6:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/director-bench.XXXXXX)
NREAL=$((NSVC * NDST))
# The real server the reload changes (gen_conf.sh): real server 5 of
# virtual server NSVC/2.
S=$((NSVC / 2))
I=$((S * NDST + 5))
VIP="10.0.$((S / 250)).$((S % 250 + 1)):80"
DEST="172.16.$((I / 250)).$((I % 250 + 1)):8080"
HZ=$(getconf CLK_TCK)
PIDS=""

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$p" 2>/dev/null || true
    done
    for ns in dbl dbk dbrs; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ulimit -n 65536

# --- namespaces: dbrs holds every real-server address (a local route over
# 172.16.0.0/16); dbl (lvsd) and dbk (keepalived) reach it over their own veth.
ip netns add dbrs
ip -n dbrs link set lo up
ip -n dbrs route add local 172.16.0.0/16 dev lo
n=0
for ns in dbl dbk; do
    ip netns add $ns
    ip -n $ns link set lo up
    ip link add eth0 netns $ns type veth peer name "v$ns" netns dbrs
    ip -n $ns addr add "192.168.$((200 + n)).1/24" dev eth0
    ip -n dbrs addr add "192.168.$((200 + n)).2/24" dev "v$ns"
    ip -n $ns link set eth0 up
    ip -n dbrs link set "v$ns" up
    ip -n $ns route add 172.16.0.0/16 via "192.168.$((200 + n)).2"
    ip -n $ns route add 10.0.0.0/16 via "192.168.$((200 + n)).2"
    n=$((n + 1))
done
ip netns exec dbrs python3 "$HERE/rs_listener.py" 8080 "$WORK/counts" > "$WORK/rs.out" &
RS=$!
PIDS="$RS"
while ! grep -q ready "$WORK/rs.out"; do kill -0 "$RS"; sleep 0.1; done

# keepalived logs through syslog; the VM has no syslog daemon.
if [ ! -S /dev/log ]; then
    python3 "$HERE/log_sink.py" /dev/log > "$WORK/sink.out" &
    PIDS="$PIDS $!"
    while ! grep -q ready "$WORK/sink.out"; do sleep 0.1; done
fi

conf() { # file weight
    "$HERE/gen_conf.sh" "$NSVC" "$NDST" "$DELAY" "$2" > "$1"
}
W=1
conf "$WORK/l.conf" $W
conf "$WORK/k.conf" $W

echo "# director bench $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPUs, $NSVC virtual servers x $NDST real servers = $NREAL TCP_CHECKs, delay_loop $DELAY s"
echo "# lvsd: $("$LVSD" --version); keepalived: $(keepalived --version 2>&1 | head -1)"

# shellcheck disable=SC2086 # LVSD_ARGS: words
ip netns exec dbl "$LVSD" run --lvs-only -f "$WORK/l.conf" ${LVSD_ARGS:-} \
    --control-socket "$WORK/lvsd.sock" > "$WORK/l.log" 2>&1 &
LPID=$!
ip netns exec dbk keepalived --dont-fork --check --log-console -f "$WORK/k.conf" \
    -p "$WORK/k.pid" -c "$WORK/k-check.pid" -r "$WORK/k-vrrp.pid" > "$WORK/k.log" 2>&1 &
KPID=$!
PIDS="$LPID $KPID $PIDS"
T0=$(date +%s.%N)

dests() { # ns
    ip netns exec "$1" ipvsadm -Ln | grep -c -- '-> 172\.16\.' || true
}
# Both tables complete; how long each daemon took from start.
for ns in dbl dbk; do
    while [ "$(dests $ns)" -lt "$NREAL" ]; do
        kill -0 "$LPID"; kill -0 "$KPID"
        sleep 1
    done
    echo "$ns: all $NREAL real servers in the table $(echo "$(date +%s.%N) - $T0" | bc | cut -c1-5) s after start (polled every ~2 s)"
done

# Every process of a daemon: the pid and its descendants.
tree() { # pid
    echo "$1"
    for c in $(awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null); do tree "$c"; done
}
ticks() { # pid [fields]: utime+stime (or the awk expression given) of the whole tree
    t=0
    for p in $(tree "$1"); do
        v=$(awk "{ print ${2:-\$14 + \$15} }" "/proc/$p/stat" 2>/dev/null || true)
        t=$((t + ${v:-0}))
    done
    echo $t
}
mem() { # pid: "RSS PSS" in KiB over the whole tree
    r=0; s=0
    for p in $(tree "$1"); do
        v=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        r=$((r + ${v:-0}))
        v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
        s=$((s + ${v:-0}))
    done
    echo "$r $s"
}
idle() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }
# Connections the listener accepted from each director so far: "lvsd keepalived".
accepted() {
    rm -f "$WORK/counts"
    kill -USR1 "$RS"
    while [ ! -f "$WORK/counts" ]; do sleep 0.1; done
    l=$(awk '$1 == "192.168.200.1" { print $2 }' "$WORK/counts")
    k=$(awk '$1 == "192.168.201.1" { print $2 }' "$WORK/counts")
    echo "${l:-0} ${k:-0}"
}

# --- steady state
WARM=$((3 * DELAY + 10))
echo "steady state: warm-up ${WARM} s, then a ${WINDOW} s window"
sleep "$WARM"
echo "processes: lvsd $(tree $LPID | wc -l), keepalived $(tree $KPID | wc -l)"
set -- $(accepted); lc0=$1; kc0=$2
lu0=$(ticks $LPID '$14'); ku0=$(ticks $KPID '$14')
l0=$(ticks $LPID); k0=$(ticks $KPID); r0=$(ticks $RS); i0=$(idle); w0=$(date +%s.%N)
if [ -n "${PROFILE:-}" ]; then
    perf record -q -F 250 -e cpu-clock -p "$(tree $KPID | paste -sd,)" -o "$WORK/keepalived.perf" -- sleep "$WINDOW" 2>/dev/null &
    KPERF=$!
    perf record -q -F 250 -e cpu-clock -p "$LPID" -o "$WORK/steady.perf" -- sleep "$WINDOW" 2>/dev/null
    wait "$KPERF" || true
else
    sleep "$WINDOW"
fi
lu1=$(ticks $LPID '$14'); ku1=$(ticks $KPID '$14')
l1=$(ticks $LPID); k1=$(ticks $KPID); r1=$(ticks $RS); i1=$(idle); w1=$(date +%s.%N)
set -- $(accepted); lc=$(($1 - lc0)); kc=$(($2 - kc0))
span=$(echo "$w1 - $w0" | bc)
set -- $(mem $LPID); lrss=$1; lpss=$2
set -- $(mem $KPID); krss=$1; kpss=$2
lcpu=$(echo "scale=3; ($l1 - $l0) / $HZ" | bc)
kcpu=$(echo "scale=3; ($k1 - $k0) / $HZ" | bc)
echo "steady window ${span} s: VM idle $(echo "scale=2; ($i1 - $i0) / $HZ / $span / $(nproc)" | bc) of $(nproc) vCPUs; listener CPU $(echo "scale=2; ($r1 - $r0) / $HZ" | bc) s"
echo "steady lvsd:       CPU ${lcpu} s ($(echo "scale=2; 100 * $lcpu / $span" | bc)% of a core), $lc checks ($(echo "scale=1; $lc / $span" | bc)/s, $(echo "scale=3; 1000 * $lcpu / $lc" | bc) ms CPU each), RSS $((lrss / 1024)) MiB, PSS $((lpss / 1024)) MiB"
echo "steady keepalived: CPU ${kcpu} s ($(echo "scale=2; 100 * $kcpu / $span" | bc)% of a core), $kc checks ($(echo "scale=1; $kc / $span" | bc)/s, $(echo "scale=3; 1000 * $kcpu / $kc" | bc) ms CPU each), RSS $((krss / 1024)) MiB, PSS $((kpss / 1024)) MiB"
echo "steady user-space share of the CPU: lvsd $(echo "scale=2; ($lu1 - $lu0) / ($l1 - $l0)" | bc), keepalived $(echo "scale=2; ($ku1 - $ku0) / ($k1 - $k0)" | bc)"
echo "steady ratio lvsd/keepalived: CPU $(echo "scale=2; $lcpu / $kcpu" | bc), CPU per check $(echo "scale=2; ($lcpu * $kc) / ($kcpu * $lc)" | bc), RSS $(echo "scale=2; $lrss / $krss" | bc), PSS $(echo "scale=2; $lpss / $kpss" | bc)"
# Where each daemon's memory is: anonymous (heap, stacks) against file
# pages (the binary and its libraries), and lvsd's largest mappings.
for d in "lvsd $LPID" "keepalived $KPID"; do
    set -- $d
    echo "memory $1: $(for p in $(tree "$2"); do cat "/proc/$p/smaps_rollup"; done |
        awk '/^(Rss|Anonymous|Private_Dirty):/ { v[$1] += $2 } END { printf "Rss %d KiB, Anonymous %d KiB, file %d KiB", v["Rss:"], v["Anonymous:"], v["Rss:"] - v["Anonymous:"] }'), threads $(awk '/^Threads/ { print $2 }' "/proc/$2/status")"
done
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6); range = $1 } /^Rss:/ { if ($2 > 1024) printf "%d %s %s\n", $2, range, name }' "/proc/$LPID/smaps" |
    sort -n -r | head -12 | awk '{ printf "  lvsd mapping %s %s: Rss %d KiB\n", $2, $3, $1 }'

# With SYSCALLS=1: the system calls each daemon makes per check, counted by
# strace over every thread for STRACE_S seconds (strace slows both, so this
# comes after the window; the counts per check are what matter).
if [ -n "${SYSCALLS:-}" ]; then
    STRACE_S=10
    set -- $(accepted); sl0=$1; sk0=$2
    tracers=""
    for d in "lvsd $LPID" "keepalived $KPID"; do
        set -- $d
        for p in $(tree "$2"); do
            timeout -s INT "$STRACE_S" strace -f -c -p "$p" -o "$WORK/$1.$p.strace" 2>/dev/null &
            tracers="$tracers $!"
        done
    done
    for t in $tracers; do wait "$t" || true; done
    set -- $(accepted); sl=$(($1 - sl0)); sk=$(($2 - sk0))
    for d in "lvsd $sl" "keepalived $sk"; do
        set -- $d
        echo "syscalls per check, $1 ($2 checks in ${STRACE_S} s under strace):"
        cat "$WORK/$1".*.strace | awk -v n="$2" '
            $NF ~ /^[a-z_0-9]+$/ && $(NF-1) ~ /^[0-9]+$/ && $NF != "total" { c[$NF] += ($(NF-2) ~ /^[0-9]+$/ && NF == 6 ? $(NF-2) : $(NF-1)) }
            END { for (k in c) if (c[k] / n >= 0.01) printf "  %-16s %.2f\n", k, c[k] / n }' | sort -k2 -n -r
    done
fi

# --- reload
# Counters on every service, then the snapshot the rounds must not change
# (the changed service's block aside).
stats() { # ns
    ip netns exec "$1" ipvsadm -Ln --stats |
        awk -v vip="$VIP" '/^TCP/ { skip = ($2 == vip) } !skip'
}
for ns in dbl dbk; do ip netns exec $ns python3 "$HERE/touch_vips.py" "$NSVC"; done
# The last packets of those connections (FIN retransmissions) settle first.
for side in l k; do
    i=0
    stats "db$side" > "$WORK/$side.before"
    while [ $i -lt 6 ]; do
        sleep 5
        stats "db$side" > "$WORK/$side.again"
        cmp -s "$WORK/$side.before" "$WORK/$side.again" && break
        mv "$WORK/$side.again" "$WORK/$side.before"
        i=$((i + 1))
    done
done
echo "counters before: lvsd side $(awk '/^TCP/ && $3 > 0' "$WORK/l.before" | wc -l) services with connections, keepalived side $(awk '/^TCP/ && $3 > 0' "$WORK/k.before" | wc -l)"

# Waits until a daemon's CPU use over 2 s falls back to its steady rate
# (plus 0.2 core): the work of the previous reload is over. At most 60 s.
lrate=$(((l1 - l0) * 2 / ${span%.*}))
krate=$(((k1 - k0) * 2 / ${span%.*}))
settle() { # pid steady-ticks-per-2s
    i=0
    while [ $i -lt 30 ]; do
        a=$(ticks "$1"); sleep 2; b=$(ticks "$1")
        [ $((b - a)) -le $(($2 + 2 * HZ / 5)) ] && return 0
        i=$((i + 1))
    done
    echo "warning: pid $1 still busy after 60 s"
}
trial() { # ns conf-file label timer-args...
    ns=$1; file=$2; label=$3; shift 3
    W=$((W + 1))
    conf "$file" $W
    out=$(ip netns exec "$ns" python3 "$HERE/reload_timer.py" "$VIP" "$DEST" $W "$@")
    echo "round $r $label (weight $W): $out"
    echo "$label $out" >> "$WORK/results"
}
if [ -n "${PROFILE:-}" ]; then
    perf record -q -F 250 -e cpu-clock -p "$LPID" -o "$WORK/reload.perf" 2>/dev/null &
    PERF=$!
fi
for r in $(seq "$ROUNDS"); do
    settle $LPID $lrate; settle $KPID $krate
    trial dbl "$WORK/l.conf" "lvsd-reload" command "$LVSD" reload --socket "$WORK/lvsd.sock"
    settle $LPID $lrate
    trial dbl "$WORK/l.conf" "lvsd-SIGHUP" signal "$LPID"
    settle $KPID $krate
    trial dbk "$WORK/k.conf" "keepalived-SIGHUP" signal "$KPID"
done
settle $LPID $lrate; settle $KPID $krate
if [ -n "${PROFILE:-}" ]; then
    kill -INT "$PERF"; wait "$PERF" || true
    for p in steady keepalived reload; do
        echo "--- profile: $p (by DSO, then by symbol)"
        perf report -i "$WORK/$p.perf" --stdio --no-children --sort dso 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -8
        perf report -i "$WORK/$p.perf" --stdio --no-children --sort dso,sym 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -45
    done
fi

echo "lvsd's log of its last reloads:"
grep -E 'reload|EditDest' "$WORK/l.log" | tail -12 | cut -c1-200

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { # label key
    awk -v l="$1" -v k="$2" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$WORK/results"
}
if [ "$ROUNDS" -gt 0 ]; then
    for label in lvsd-reload lvsd-SIGHUP keepalived-SIGHUP; do
        echo "reload $label: converged median $(field $label converged_ms | median) ms, min $(field $label converged_ms | sort -g | head -1), max $(field $label converged_ms | sort -g | tail -1) (lower bound median $(field $label after_ms | median) ms, poll $(field $label poll_ms | median) ms)"
    done
    echo "reload lvsd reload reply: median $(field lvsd-reload reply_ms | median) ms"
    lm=$(field lvsd-SIGHUP converged_ms | median); km=$(field keepalived-SIGHUP converged_ms | median)
    echo "reload ratio lvsd SIGHUP / keepalived SIGHUP (medians): $(echo "scale=3; $lm / $km" | bc)"
fi

stats dbl > "$WORK/l.after"
stats dbk > "$WORK/k.after"
# A service or real server deleted and re-added starts again from zero
# connections; a late packet of the connections opened above (a FIN
# retransmitted) may still add to the packet and byte counters.
for side in l k; do
    if cmp -s "$WORK/$side.before" "$WORK/$side.after"; then
        echo "counters $side: every other service and real server unchanged ($(grep -c '^TCP' "$WORK/$side.after") services, $(grep -c -- '->' "$WORK/$side.after") lines)"
    elif paste -d'|' "$WORK/$side.before" "$WORK/$side.after" | awk -F'|' '
        { n = split($1, a, " "); m = split($2, b, " ")
          if (n != m) exit 1
          if (a[1] == "TCP" || a[1] == "->") {
              if (a[2] != b[2] || a[3] != b[3]) exit 1
              for (i = 4; i <= n; i++) if (b[i] + 0 < a[i] + 0) exit 1
          } else if ($1 != $2) exit 1 }'; then
        echo "counters $side: every other service and real server kept (same entries, same connection counts; packet counters only grew):"
        diff "$WORK/$side.before" "$WORK/$side.after" | grep '^>' | head -4
    else
        echo "counters $side: CHANGED"
        diff "$WORK/$side.before" "$WORK/$side.after" | head -20
    fi
done
echo "lvsd log lines: $(wc -l < "$WORK/l.log"); keepalived log lines: $(wc -l < "$WORK/k.log")"
grep -i 'error\|warn' "$WORK/l.log" | head -5 || true
