#!/usr/bin/env python3
"""Probes for the failover benchmark; each runs inside a test namespace
(`ip netns exec NS python3 probe.py MODE ...`) and prints one line per
event with the CLOCK_MONOTONIC time, which every namespace shares.

  ping ADDR INTERVAL_MS    ICMP echo to ADDR every INTERVAL_MS;
                           prints "reply T SEQ" for each echo reply.
  adverts                  prints "advert T SRC PRIO" for every VRRP
                           packet (IP protocol 112) this namespace receives.

Both run until killed (SIGTERM)."""

import os
import select
import signal
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(addr: str, interval_ms: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    interval = interval_ms / 1000.0
    seq = 0
    next_send = time.monotonic()
    out = sys.stdout
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
        ready, _, _ = select.select([sock], [], [], max(0.0, next_send - now))
        if ready:
            data, _ = sock.recvfrom(2048)
            ihl = (data[0] & 0x0F) * 4
            icmp_type, _, _, r_ident, r_seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if icmp_type == 0 and r_ident == ident:
                out.write(f"reply {time.monotonic():.6f} {r_seq}\n")
                out.flush()


def adverts() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    out = sys.stdout
    while True:
        data, (src, _) = sock.recvfrom(2048)
        ihl = (data[0] & 0x0F) * 4
        prio = data[ihl + 2] if len(data) > ihl + 2 else -1
        out.write(f"advert {time.monotonic():.6f} {src} {prio}\n")
        out.flush()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    mode = sys.argv[1]
    if mode == "ping":
        ping(sys.argv[2], float(sys.argv[3]))
    elif mode == "adverts":
        adverts()
    else:
        sys.exit(f"probe.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
