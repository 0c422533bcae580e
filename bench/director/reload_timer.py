"""Times one reload: from the trigger (a signal to a daemon, or a command
such as `lvsd reload`) to the kernel's IPVS table holding the change, seen
by polling that service's destinations over generic netlink (IPVS_CMD_GET_DEST
for one service: a poll costs the same whatever the table size, and no
process is started per poll). Runs inside the director's network namespace.

Usage:
  python3 reload_timer.py VIP DEST WEIGHT signal PID
  python3 reload_timer.py VIP DEST WEIGHT command ARGV...

Prints one line: `converged_ms=A after_ms=B polls=N poll_ms=P [reply_ms=R]`,
where A is the end of the first poll that saw DEST with WEIGHT (an upper
bound), B the start of that poll (a lower bound), P the mean poll cost, and
R when the command exited (its reply).
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import time

TIMEOUT_S = 120.0

# linux/netlink.h, linux/genetlink.h, linux/ip_vs.h
NETLINK_GENERIC = 16
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
IPVS_CMD_GET_DEST, IPVS_CMD_ATTR_SERVICE, IPVS_CMD_ATTR_DEST = 8, 1, 2
SVC_AF, SVC_PROTOCOL, SVC_ADDR, SVC_PORT = 1, 2, 3, 4
DEST_ADDR, DEST_PORT, DEST_WEIGHT = 1, 2, 4
NLA_F_NESTED = 0x8000


def attr(kind: int, payload: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def attrs(data: bytes) -> dict:
    out = {}
    while len(data) >= 4:
        length, kind = struct.unpack_from("=HH", data)
        out[kind & 0x3FFF] = data[4:length]
        data = data[(length + 3) & ~3 :]
    return out


class Genl:
    """One generic netlink socket, requests answered in order."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.bind((0, 0))
        self.seq = 0

    def request(self, family: int, cmd: int, payload: bytes, flags: int) -> list:
        self.seq += 1
        body = struct.pack("=BBH", cmd, 1, 0) + payload
        head = struct.pack("=IHHII", 16 + len(body), family, NLM_F_REQUEST | flags, self.seq, 0)
        self.sock.send(head + body)
        replies = []
        while True:
            data = self.sock.recv(65536)
            while len(data) >= 16:
                length, kind, _, seq, _ = struct.unpack_from("=IHHII", data)
                msg, data = data[16:length], data[(length + 3) & ~3 :]
                if kind == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", msg)
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return replies
                if kind == NLMSG_DONE:
                    return replies
                replies.append(attrs(msg[4:]))
                if not flags & NLM_F_DUMP and not flags & NLM_F_ACK:
                    return replies


class Ipvs:
    def __init__(self) -> None:
        self.genl = Genl()
        reply = self.genl.request(
            GENL_ID_CTRL, CTRL_CMD_GETFAMILY, attr(CTRL_ATTR_FAMILY_NAME, b"IPVS\0"), 0
        )
        (self.family,) = struct.unpack("=H", reply[0][CTRL_ATTR_FAMILY_ID][:2])

    def weights(self, vip: str) -> dict:
        """{"addr:port": weight} of the TCP service vip ("addr:port")."""
        host, port = vip.rsplit(":", 1)
        service = (
            attr(SVC_AF, struct.pack("=H", socket.AF_INET))
            + attr(SVC_PROTOCOL, struct.pack("=H", socket.IPPROTO_TCP))
            + attr(SVC_ADDR, socket.inet_aton(host))
            + attr(SVC_PORT, struct.pack("!H", int(port)))
        )
        out = {}
        for reply in self.genl.request(
            self.family,
            IPVS_CMD_GET_DEST,
            attr(IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, service),
            NLM_F_DUMP,
        ):
            dest = attrs(reply.get(IPVS_CMD_ATTR_DEST, b""))
            addr = socket.inet_ntoa(dest[DEST_ADDR][:4])
            (dport,) = struct.unpack("!H", dest[DEST_PORT])
            (weight,) = struct.unpack("=I", dest[DEST_WEIGHT])
            out["%s:%d" % (addr, dport)] = weight
        return out


IPVS = None


def has_weight(vip: str, dest: str, weight: str) -> bool:
    return IPVS.weights(vip).get(dest) == int(weight)


def main() -> int:
    global IPVS
    vip, dest, weight, mode = sys.argv[1:5]
    rest = sys.argv[5:]
    IPVS = Ipvs()
    if dest not in IPVS.weights(vip):
        print("error: %s is not a destination of %s" % (dest, vip), file=sys.stderr)
        return 2
    if has_weight(vip, dest, weight):
        print("error: the table already holds the change", file=sys.stderr)
        return 2
    proc = None
    wall0 = time.time()
    t0 = time.monotonic()
    if mode == "signal":
        os.kill(int(rest[0]), signal.SIGHUP)
    else:
        proc = subprocess.Popen(rest, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reply = None
    polls = 0
    while True:
        start = time.monotonic()
        seen = has_weight(vip, dest, weight)
        end = time.monotonic()
        polls += 1
        if proc is not None and reply is None and proc.poll() is not None:
            reply = end - t0
        if seen:
            break
        if end - t0 > TIMEOUT_S:
            print("error: no convergence within %.0f s" % TIMEOUT_S, file=sys.stderr)
            return 1
    if proc is not None and reply is None:
        proc.wait()
        reply = time.monotonic() - t0
    if proc is not None:
        said = proc.communicate()[0].decode(errors="replace").strip()
        if proc.returncode != 0 or said.count("changed") != 1:
            print("error: the command answered (exit %d): %s" % (proc.returncode, said), file=sys.stderr)
    line = "at=%s converged_ms=%.1f after_ms=%.1f polls=%d poll_ms=%.1f" % (
        time.strftime("%H:%M:%S", time.gmtime(wall0)) + ("%.3f" % (wall0 % 1))[1:],
        (end - t0) * 1000,
        (start - t0) * 1000,
        polls,
        (end - t0) * 1000 / polls,
    )
    if reply is not None:
        line += " reply_ms=%.1f" % (reply * 1000)
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
