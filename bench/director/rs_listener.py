"""The real servers of the director benchmark: one process, one listening
socket on 0.0.0.0:PORT, in a namespace whose route table makes a whole
prefix local (`ip route add local 172.16.0.0/16 dev lo`), so every one of the
10,000 real-server addresses answers a TCP_CHECK. Each connection is
accepted and closed at once. It counts connections per client address, so
that each director's CPU can be divided by the checks it really made; on
SIGUSR1 it writes "ADDRESS COUNT" lines to COUNTS.

Usage: python3 rs_listener.py PORT COUNTS   (prints "ready" when listening)
"""

import os
import signal
import socket
import sys
from collections import Counter


def main() -> None:
    port, counts_path = int(sys.argv[1]), sys.argv[2]
    counts = Counter()

    def dump(_signum, _frame) -> None:
        with open(counts_path + ".tmp", "w") as out:
            for addr, n in sorted(counts.items()):
                out.write("%s %d\n" % (addr, n))
        os.replace(counts_path + ".tmp", counts_path)

    signal.signal(signal.SIGUSR1, dump)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(4096)
    print("ready", flush=True)
    while True:
        conn, peer = listener.accept()
        counts[peer[0]] += 1
        conn.close()


if __name__ == "__main__":
    main()
