#!/usr/bin/env python3
"""Probes for the failover benchmark; each runs inside a test namespace
(`ip netns exec NS python3 probe.py MODE ...`) and prints one line per
event with a CLOCK_MONOTONIC time, which every namespace shares. Packet
times are the kernel's receive timestamps (SO_TIMESTAMPNS), so a probe
scheduled late on a loaded host still reports when the packet arrived.
Each probe asks for SCHED_FIFO (it only sleeps in the kernel, so it costs
the directors nothing) and prints "ready" once its socket is open.

  ping ADDR INTERVAL_MS [--anchor SRC PHASE_MS]
                           ICMP echo to ADDR every INTERVAL_MS;
                           prints "reply T SEQ" for each echo reply. With
                           --anchor, the echoes go out PHASE_MS after each
                           advert from SRC (heard on eth0), then every
                           INTERVAL_MS.
  adverts                  prints "advert T SRC PRIO" for every VRRP
                           packet (IP protocol 112) this namespace receives.
  addresses                prints "address T new|del ADDR/PREFIX IFINDEX"
                           for every IPv4 address added or removed here
                           (rtnetlink RTMGRP_IPV4_IFADDR).
  frames                   prints "arp T SRCMAC OP SENDER TARGET" for every
                           ARP frame and "vrrp T SRCMAC SRC PRIO" for every
                           VRRP packet on the wire here (a packet socket:
                           no group membership needed).
  kill SRC OFFSET_MS SIG PID... [--link-down NETNS IFNAME]
                           waits for the next advert from SRC with a
                           priority above 0, then OFFSET_MS after its
                           arrival sends SIG (KILL: SIGSTOP to every PID,
                           then SIGKILL to every PID; TERM: SIGTERM to
                           the first PID) and, with --link-down, sets
                           IFNAME in namespace NETNS down (rtnetlink, no
                           subprocess); prints "signal T_SIGNAL T_ADVERT"
                           and exits.

ping, adverts, addresses and frames run until killed (SIGTERM)."""

import ctypes
import math
import os
import select
import signal
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
IPPROTO_VRRP = 112
VRRP_GROUP = "224.0.0.18"
NETLINK_ROUTE = 0
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWLINK, RTM_NEWADDR, RTM_DELADDR = 16, 20, 21
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
IFA_ADDRESS, IFA_LOCAL = 1, 2
IFF_UP = 1
CLONE_NEWNET = 0x40000000
ETH_P_ALL, ETH_P_IP, ETH_P_ARP = 0x0003, 0x0800, 0x0806


def realtime_priority() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (OSError, AttributeError):
        pass  # not root / not Linux: normal scheduling, noisier times


def timestamped(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


def receive(sock: socket.socket):
    """One packet, its source, and its kernel arrival time on CLOCK_MONOTONIC
    (the SO_TIMESTAMPNS stamp is CLOCK_REALTIME: shifted by the two clocks'
    difference read now, which a slewing clock changes by nanoseconds)."""
    data, ancdata, _, source = sock.recvmsg(2048, 64)
    mono, real = time.monotonic(), time.time()
    arrival = mono
    for level, kind, value in ancdata:
        if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(value) >= 16:
            sec, nsec = struct.unpack("@qq", value[:16])
            arrival = mono - (real - (sec + nsec / 1e9))
    return data, source, arrival


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ready(out) -> None:
    out.write("ready\n")
    out.flush()


def ping(addr: str, interval_ms: float, anchor=None) -> None:
    """With `anchor` (SRC, PHASE_MS), the echoes go out PHASE_MS after each
    advert from SRC and every interval after that: the probe's grid keeps
    one phase to the master's adverts, which the benchmark sets per run."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    timestamped(sock)
    watch = [sock]
    if anchor:
        adverts_in = vrrp_socket()
        # ip_mreqn on the namespace's eth0 (the client has no multicast route).
        adverts_in.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                              socket.inet_aton(VRRP_GROUP) + socket.inet_aton("0.0.0.0")
                              + struct.pack("@i", socket.if_nametoindex("eth0")))
        watch.append(adverts_in)
        anchor_source, phase = anchor[0], float(anchor[1]) / 1000.0
    ident = os.getpid() & 0xFFFF
    interval = interval_ms / 1000.0
    seq = 0
    next_send = time.monotonic()
    out = sys.stdout
    ready(out)
    while True:
        now = time.monotonic()
        if now >= next_send:
            seq = (seq + 1) & 0xFFFF
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            payload = struct.pack("!d", now)
            packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload
            try:
                sock.sendto(packet, (addr, 0))
            except OSError:
                pass  # no route / ARP failure while the VIP moves: counted as loss
            next_send += interval
            continue
        ready_fds, _, _ = select.select(watch, [], [], max(0.0, next_send - now))
        if sock in ready_fds:
            data, _, arrival = receive(sock)
            ihl = (data[0] & 0x0F) * 4
            icmp_type, _, _, r_ident, r_seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if icmp_type == 0 and r_ident == ident:
                out.write(f"reply {arrival:.6f} {r_seq}\n")
                out.flush()
        if anchor and adverts_in in ready_fds:
            data, (src, _), arrival = receive(adverts_in)
            if src == anchor_source and parse_advert(data) > 0:
                # The first grid point (phase + k intervals after the advert)
                # at least half an interval after the last echo.
                grid = arrival + phase
                earliest = max(time.monotonic(), next_send - interval / 2)
                next_send = grid + math.ceil((earliest - grid) / interval) * interval


def vrrp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_VRRP)
    timestamped(sock)
    return sock


def parse_advert(data: bytes):
    """(priority) of an IPv4 packet carrying VRRP, or -1 if truncated."""
    ihl = (data[0] & 0x0F) * 4
    return data[ihl + 2] if len(data) > ihl + 2 else -1


def adverts() -> None:
    sock = vrrp_socket()
    out = sys.stdout
    ready(out)
    while True:
        data, (src, _), arrival = receive(sock)
        out.write(f"advert {arrival:.6f} {src} {parse_advert(data)}\n")
        out.flush()


def netlink_attributes(data: bytes, offset: int):
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("@HH", data, offset)
        if length < 4:
            return
        yield kind, data[offset + 4:offset + length]
        offset += (length + 3) & ~3


def addresses() -> None:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.bind((0, RTMGRP_IPV4_IFADDR))
    out = sys.stdout
    ready(out)
    while True:
        data = sock.recv(65536)
        now = time.monotonic()
        offset = 0
        while offset + 16 <= len(data):
            length, kind = struct.unpack_from("@IH", data, offset)
            if length < 16:
                break
            if kind in (RTM_NEWADDR, RTM_DELADDR):
                _, prefix, _, _, index = struct.unpack_from("@BBBBI", data, offset + 16)
                attrs = dict(netlink_attributes(data[:offset + length], offset + 24))
                raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
                if raw and len(raw) == 4:
                    word = "new" if kind == RTM_NEWADDR else "del"
                    out.write(f"address {now:.6f} {word} {socket.inet_ntoa(raw)}/{prefix} {index}\n")
            offset += (length + 3) & ~3
        out.flush()


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def frames() -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    timestamped(sock)
    out = sys.stdout
    ready(out)
    while True:
        data, _, arrival = receive(sock)
        if len(data) < 14:
            continue
        ethertype = struct.unpack_from("!H", data, 12)[0]
        source = mac_text(data[6:12])
        if ethertype == ETH_P_ARP and len(data) >= 42:
            op = struct.unpack_from("!H", data, 20)[0]
            sender, target = socket.inet_ntoa(data[28:32]), socket.inet_ntoa(data[38:42])
            out.write(f"arp {arrival:.6f} {source} {op} {sender} {target}\n")
        elif ethertype == ETH_P_IP and len(data) >= 34 and data[23] == IPPROTO_VRRP:
            out.write(f"vrrp {arrival:.6f} {source} {socket.inet_ntoa(data[26:30])} "
                      f"{parse_advert(data[14:])}\n")
        else:
            continue
        out.flush()


class LinkDown:
    """An rtnetlink socket opened inside another namespace (setns for the
    moment of the socket() call), ready to set one interface down at once."""

    def __init__(self, netns: str, ifname: str):
        libc = ctypes.CDLL(None, use_errno=True)
        here = os.open("/proc/self/ns/net", os.O_RDONLY)
        there = os.open(os.path.join("/run/netns", netns), os.O_RDONLY)
        try:
            if libc.setns(there, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {netns}")
            try:
                self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
                self.index = socket.if_nametoindex(ifname)
            finally:
                if libc.setns(here, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(here)
            os.close(there)

    def __call__(self) -> None:
        # RTM_NEWLINK with ifi_change IFF_UP and ifi_flags 0: `ip link set down`.
        body = struct.pack("@BBHiII", socket.AF_UNSPEC, 0, 0, self.index, 0, IFF_UP)
        header = struct.pack("@IHHII", 16 + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0)
        self.sock.send(header + body)
        reply = self.sock.recv(4096)
        kind = struct.unpack_from("@IH", reply)[1]
        if kind == NLMSG_ERROR:
            error = struct.unpack_from("@i", reply, 16)[0]
            if error != 0:
                raise OSError(-error, "link down")


def crash(pids) -> None:
    """Kills a director's process tree at one instant: every process is
    stopped first, or keepalived's VRRP child would see its parent die first
    (PDEATHSIG) and resign with priority 0 before its own SIGKILL."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def kill(argv) -> None:
    link_down = None
    if "--link-down" in argv:
        at = argv.index("--link-down")
        link_down = LinkDown(argv[at + 1], argv[at + 2])
        argv = argv[:at] + argv[at + 3:]
    source, offset, sig = argv[0], float(argv[1]) / 1000.0, argv[2]
    pids = [int(p) for p in argv[3:]]
    sock = vrrp_socket()
    out = sys.stdout
    ready(out)
    while True:
        data, (src, _), arrival = receive(sock)
        if src == source and parse_advert(data) > 0:
            break
    target = arrival + offset
    while True:
        left = target - time.monotonic()
        if left <= 0:
            break
        if left > 0.002:
            time.sleep(left - 0.001)  # the last millisecond spins
    t_signal = time.monotonic()
    if sig == "KILL":
        crash(pids)
    else:
        os.kill(pids[0], signal.SIGTERM)
    if link_down:
        link_down()
    # Back to normal priority before anything else: a SCHED_FIFO process
    # still running (printing, exiting) would hold its CPU against the
    # signalled director when the kernel wakes it there (a SIGTERMed master
    # then resigned up to 10 ms late in half the runs, either
    # implementation).
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except (OSError, AttributeError):
        pass
    out.write(f"signal {t_signal:.6f} {arrival:.6f}\n")
    out.flush()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    realtime_priority()
    mode = sys.argv[1]
    if mode == "ping":
        anchor = sys.argv[sys.argv.index("--anchor") + 1:][:2] if "--anchor" in sys.argv else None
        ping(sys.argv[2], float(sys.argv[3]), anchor)
    elif mode == "adverts":
        adverts()
    elif mode == "addresses":
        addresses()
    elif mode == "frames":
        frames()
    elif mode == "kill":
        kill(sys.argv[2:])
    else:
        sys.exit(f"probe.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
