#!/usr/bin/env bash
# lvsd demo: a director pair in front of three web servers, and a failover.
#
#   sudo ./integration/demo.sh
#
# Sets the machine up (integration/setup.sh), builds lvsd, then, in network
# namespaces it creates and always deletes: one LAN (a bridge), two lvsd
# directors (MASTER 150 and BACKUP 100 of VIP 192.168.77.50, LVS-DR rr with
# HTTP_GET checks), three HTTP real servers and a client. It shows
# `lvsd status`, sends requests to the VIP, kills the master (SIGKILL and
# link down) while the client keeps requesting, and shows the backup holding
# the VIP. Where the running kernel has no IPVS, it runs inside the VM
# harness (Debian's kernel under qemu), which takes a few seconds more.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

if [ "${1:-}" != "--inside" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "demo: run as root (namespaces, IPVS)" >&2; exit 1; }
    bash integration/setup.sh >/dev/null
    echo "demo: building lvsd"
    cargo build -q --bin lvsd && cargo build -q -p integration --bin vmrun
    if modprobe ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]; then
        exec bash "$0" --inside
    fi
    echo "demo: this kernel has no IPVS; running the demo inside the VM"
    exec target/debug/vmrun --timeout 300 -- bash "$top/integration/demo.sh" --inside
fi

LVSD=$top/target/debug/lvsd
VIP=192.168.77.50
run=$(mktemp -d /tmp/lvsd-demo.XXXXXX)
ns() { echo "lvsdt-$$-demo-$1"; }
nodes="lan d1 d2 r1 r2 r3 client"
cleanup() {
    for n in $nodes; do
        ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$(ns "$n")" 2>/dev/null || true
    done
    rm -rf "$run"
}
trap cleanup EXIT

# --- the LAN -------------------------------------------------------------------
for n in $nodes; do ip netns add "$(ns "$n")"; ip -n "$(ns "$n")" link set lo up; done
ip -n "$(ns lan)" link add br0 type bridge forward_delay 0 stp_state 0
ip -n "$(ns lan)" link set br0 up
attach() { # NODE ADDRESS
    ip -n "$(ns lan)" link add "p-$1" type veth peer name eth0 netns "$(ns "$1")"
    ip -n "$(ns lan)" link set "p-$1" master br0 up
    ip -n "$(ns "$1")" addr add "$2/24" dev eth0
    ip -n "$(ns "$1")" link set eth0 up
}
attach d1 192.168.77.1; attach d2 192.168.77.2
attach r1 192.168.77.11; attach r2 192.168.77.12; attach r3 192.168.77.13
attach client 192.168.77.100

# --- three real servers (LVS-DR: the VIP on lo, no ARP for it) -----------------
for i in 1 2 3; do
    r=$(ns "r$i")
    ip -n "$r" addr add "$VIP/32" dev lo
    ip netns exec "$r" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    mkdir -p "$run/www$i"; echo "hello from real server r$i" > "$run/www$i/index.html"
    (ip netns exec "$r" python3 -m http.server 80 --directory "$run/www$i" >/dev/null 2>&1 &)
done

# --- two lvsd directors, the same keepalived.conf but state and priority ------
director_conf() { # STATE PRIORITY
    cat <<CONF
global_defs { router_id demo-$1 }
vrrp_instance VI_1 {
    state $1
    interface eth0
    virtual_router_id 51
    priority $2
    advert_int 1
    authentication { auth_type PASS auth_pass demo }
    virtual_ipaddress { $VIP/24 }
}
virtual_server $VIP 80 {
    protocol TCP
    delay_loop 2
    lvs_sched rr
    lvs_method DR
    real_server 192.168.77.11 80 { HTTP_GET { url { path / } connect_timeout 1 } }
    real_server 192.168.77.12 80 { HTTP_GET { url { path / } connect_timeout 1 } }
    real_server 192.168.77.13 80 { HTTP_GET { url { path / } connect_timeout 1 } }
}
CONF
}
director_conf MASTER 150 > "$run/d1.conf"
director_conf BACKUP 100 > "$run/d2.conf"
for d in d1 d2; do
    (ip netns exec "$(ns "$d")" "$LVSD" run -f "$run/$d.conf" --control-socket "$run/$d.sock" \
        >"$run/$d.log" 2>&1 &)
done

status() { "$LVSD" status --socket "$run/$1.sock"; }
requests() { # COUNT: the client asks the VIP; prints who answered, counts failures
    ip netns exec "$(ns client)" python3 - "$1" <<'PY'
import sys, time, urllib.request
ok = failed = 0
seen = {}
for _ in range(int(sys.argv[1])):
    try:
        body = urllib.request.urlopen("http://192.168.77.50/", timeout=0.5).read().decode().strip()
        seen[body] = seen.get(body, 0) + 1
        ok += 1
    except Exception:
        failed += 1
    time.sleep(0.05)
for body, n in sorted(seen.items()):
    print(f"  {n:3d} x {body}")
print(f"  {ok} answered, {failed} failed")
PY
}

echo "demo: waiting for d1 to become master and check the real servers"
for _ in $(seq 100); do
    ip -n "$(ns d1)" addr show dev eth0 | grep -q "$VIP/" && [ -S "$run/d1.sock" ] && break
    sleep 0.1
done
sleep 3
echo; echo "== lvsd status on d1"; status d1
echo; echo "== 30 requests to http://$VIP/"; requests 30

echo; echo "== killing d1 (SIGKILL, link down) while the client keeps requesting"
ip netns pids "$(ns d1)" | xargs -r kill -9
ip -n "$(ns d1)" link set eth0 down
requests 120
echo; echo "== lvsd status on d2"; status d2
echo; echo "demo: done (namespaces removed on exit)"
