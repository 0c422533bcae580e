"""Opens one TCP connection to every virtual server of the benchmark
configuration at once (non-blocking), waits, and closes them all, so that
every service and the real server it picked have non-zero IPVS counters.
Runs inside a director's network namespace (IPVS schedules connections
from local processes too).

Usage: python3 touch_vips.py NSVC
"""

import socket
import sys
import time


def main() -> None:
    count = int(sys.argv[1])
    socks = []
    for s in range(count):
        vip = "10.0.%d.%d" % (s // 250, s % 250 + 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect((vip, 80))
        except BlockingIOError:
            pass
        socks.append(sock)
    time.sleep(2)
    for sock in socks:
        sock.close()


if __name__ == "__main__":
    main()
