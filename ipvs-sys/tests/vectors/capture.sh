#!/bin/sh
# Captures the netlink messages the real ipvsadm 1.31 (libipvs over libnl-3)
# exchanges with the kernel, as golden vectors for the codec tests
# (ipvs-sys/tests/golden.rs).
#
# On the host:   ipvs-sys/tests/vectors/capture.sh [path/to/vmrun]
#   boots the VM (integration's vmrun, Debian 6.1 kernel with ip_vs), runs
#   itself inside, and writes one NAME.nl file per command next to itself.
# In the guest (LVSD_IN_VM=1): in a fresh network namespace with an nlmon
#   device, each ipvsadm command runs while tcpdump records nlmon0; every
#   captured packet is printed as one hex line, ">" for a request (the
#   NLM_F_REQUEST flag is set) and "<" for what the kernel sent back.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

if [ -z "${LVSD_IN_VM:-}" ]; then
    top=$(cd "$here/../../.." && pwd)
    vmrun=${1:-$top/target/debug/vmrun}
    out=$(mktemp)
    trap 'rm -f "$out"' EXIT
    "$vmrun" -- "$here/capture.sh" > "$out"
    rm -f "$here"/*.nl
    awk -v dir="$here" '
        /^@@@ / { file = dir "/" $2 ".nl"; next }
        file != "" && /^[#<>]/ { print > file }
    ' "$out"
    ls "$here"/*.nl
    exit 0
fi

ns=nlcap
ip netns add $ns
trap 'ip netns del $ns' EXIT
ip -n $ns link set lo up
ip -n $ns link add dummy0 type dummy
ip -n $ns link set dummy0 multicast on up
ip -n $ns addr add 10.255.255.254/8 dev dummy0
ip -n $ns -6 addr add 2001:db8:ffff::1/32 dev dummy0
ip -n $ns link add nlmon0 type nlmon
ip -n $ns link set nlmon0 up

# pcap → hex lines. LINKTYPE_NETLINK (253) packets start with a 16-byte
# pseudo-header laid out like Linux SLL (its protocol field is the netlink
# protocol, 16 = NETLINK_GENERIC); the netlink data follows, as sent.
pcap2hex() {
    python3 - "$1" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
linktype = struct.unpack("<I", data[20:24])[0]
assert linktype == 253, f"linktype {linktype}"
off = 24
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    protocol = struct.unpack(">H", pkt[14:16])[0]
    if protocol != 16:
        continue
    msg = pkt[16:]
    flags = struct.unpack("<H", msg[6:8])[0]
    print((">" if flags & 1 else "<") + " " + msg.hex())
PY
}

capture() { # NAME ipvsadm-args...
    name=$1
    shift
    rm -f /tmp/nl.pcap /tmp/nl.err
    ip netns exec $ns tcpdump -i nlmon0 -U -s 0 -w /tmp/nl.pcap 2>/tmp/nl.err &
    pid=$!
    until grep -q listening /tmp/nl.err 2>/dev/null; do sleep 0.1; done
    rc=0
    ip netns exec $ns ipvsadm "$@" >/dev/null 2>&1 || rc=$?
    sleep 1
    kill -INT $pid
    wait $pid || true
    echo "@@@ $name"
    echo "# ipvsadm $* (exit $rc)"
    pcap2hex /tmp/nl.pcap
}

capture add-service-tcp -A -t 10.1.0.1:80 -s wlc -p 300 -M 255.255.255.0
capture add-service-udp6 -A -u '[2001:db8::1]:53' -s sh -b sh-fallback,sh-port
capture add-service-fwmark -A -f 7 -s rr -o
capture add-service-sip -A -u 10.1.0.2:5060 -s rr -p 60 --pe sip
capture add-service-sctp -A --sctp-service 10.1.0.3:3868 -s mh -b mh-port
capture add-service-exists -A -t 10.1.0.1:80 -s rr
capture add-service-nosched -A -t 10.1.0.9:80 -s foo
capture add-dest-masq -a -t 10.1.0.1:80 -r 10.1.1.1:8080 -m -w 3 -x 100 -y 10
capture add-dest-gue -a -t 10.1.0.1:80 -r 10.1.1.2:80 -i --tun-type gue --tun-port 6080 --tun-csum
capture add-dest-gre -a -t 10.1.0.1:80 -r 10.1.1.3:80 -i --tun-type gre --tun-nocsum
capture add-dest-ipip6 -a -u '[2001:db8::1]:53' -r '[2001:db8:1::2]:53' -i
capture add-dest-route -a -f 7 -r 10.1.1.4:0 -g -w 0
capture edit-service -E -t 10.1.0.1:80 -s wrr -p 100
capture edit-dest -e -t 10.1.0.1:80 -r 10.1.1.1:8080 -m -w 5
capture set-timeouts --set 900 120 300
capture start-daemon --start-daemon master --mcast-interface dummy0 --syncid 3 --sync-maxlen 1200 --mcast-group 239.1.2.3 --mcast-port 8849 --mcast-ttl 2
capture list-daemon -L --daemon
capture list-timeout -L --timeout
capture list -Ln
capture list-one -Ln -t 10.1.0.1:80
capture save -S -n
capture stop-daemon --stop-daemon master
capture zero-one -Z -t 10.1.0.1:80
capture zero -Z
capture del-dest -d -t 10.1.0.1:80 -r 10.1.1.3:80
capture del-service -D -f 7
capture del-service-missing -D -t 10.1.0.99:80
capture flush -C
