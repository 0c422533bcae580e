"""A /dev/log that keeps nothing: the VM runs no syslog daemon, and without
one keepalived's syslog() falls back to the console (LOG_CONS), which is the
benchmark's output. Its own log still goes to the file behind
--log-console.

Usage: python3 log_sink.py PATH   (prints "ready" once bound)
"""

import os
import socket
import sys


def main() -> None:
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(path)
    print("ready", flush=True)
    while True:
        sink.recv(65536)


if __name__ == "__main__":
    main()
