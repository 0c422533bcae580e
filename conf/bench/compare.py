#!/usr/bin/env python3
"""lvsd check against keepalived -t on the issue-3 benchmark configuration.

    python3 conf/bench/compare.py [--rounds 7] [--lvsd target/release/lvsd] [--vs 1000 --rs 10]

Generates the configuration with gen.py (1,000 virtual servers × 10 real servers,
each with an HTTP_GET checker: 127,003 lines), then times `lvsd check -f FILE` and
`keepalived -t -f FILE` alternately in the same run, each under /usr/bin/time
(wall clock, user+system CPU, peak RSS). Both run inside a network namespace this
script creates and deletes, so keepalived never sees the host's interfaces.
Prints every round, the medians and the lvsd/keepalived ratios. Needs root.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TIME = "/usr/bin/time"


def measure(namespace, argv, out_dir):
    """Runs argv in the namespace under /usr/bin/time: (exit code, wall s, cpu s, peak KiB)."""
    report = os.path.join(out_dir, "time.txt")
    cmd = ["ip", "netns", "exec", namespace, TIME, "-f", "%e %U %S %M", "-o", report, *argv]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with open(report, encoding="utf-8") as f:
        # /usr/bin/time writes "Command exited with non-zero status N" first when it fails.
        wall, user, system, rss = f.read().split("\n")[-2].split()
    return done.returncode, float(wall), float(user) + float(system), int(rss), done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--lvsd", default="target/release/lvsd")
    parser.add_argument("--keepalived", default=shutil.which("keepalived") or "/usr/sbin/keepalived")
    parser.add_argument("--vs", type=int, default=1000)
    parser.add_argument("--rs", type=int, default=10)
    args = parser.parse_args()
    if not os.path.exists(TIME):
        print(f"{TIME} is missing (apt-get install time)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="conf-bench-")
    namespace = f"conf-bench-{os.getpid()}"
    try:
        conf = os.path.join(work, "bench.conf")
        with open(conf, "w", encoding="utf-8") as f:
            subprocess.run(
                [sys.executable, os.path.join(HERE, "gen.py"), "--vs", str(args.vs), "--rs", str(args.rs)],
                stdout=f,
                check=True,
            )
        with open(conf, encoding="utf-8") as f:
            lines = sum(1 for _ in f)
        subprocess.run(["ip", "netns", "add", namespace], check=True)
        sides = {
            "keepalived": [args.keepalived, "-t", "-f", conf],
            "lvsd": [os.path.abspath(args.lvsd), "check", "-f", conf],
        }
        print(f"{lines} lines, {args.vs} virtual servers x {args.rs} real servers (HTTP_GET)")
        print(f"{'round':>5} {'side':<10} {'exit':>4} {'wall s':>8} {'cpu s':>7} {'peak MiB':>9}")
        results = {side: [] for side in sides}
        for rnd in range(args.rounds):
            # Alternate which side goes first, so neither always runs on a warmer machine.
            order = list(sides) if rnd % 2 == 0 else list(reversed(sides))
            for side in order:
                code, wall, cpu, rss, err = measure(namespace, sides[side], work)
                if code != 0:
                    print(f"{side} exited {code}:\n{err}", file=sys.stderr)
                    return 1
                results[side].append((wall, cpu, rss))
                print(f"{rnd + 1:>5} {side:<10} {code:>4} {wall:>8.3f} {cpu:>7.3f} {rss / 1024:>9.1f}")
        med = {
            side: tuple(statistics.median(r[i] for r in rows) for i in range(3))
            for side, rows in results.items()
        }
        best = {side: min(r[0] for r in rows) for side, rows in results.items()}
        peak = {side: max(r[2] for r in rows) for side, rows in results.items()}
        k, l = med["keepalived"], med["lvsd"]
        print()
        print(f"{'':<12} {'median':>8} {'best':>8} {'median':>7} {'max':>9}")
        print(f"{'':<12} {'wall s':>8} {'wall s':>8} {'cpu s':>7} {'peak MiB':>9}")
        for side in sides:
            print(
                f"{side:<12} {med[side][0]:>8.3f} {best[side]:>8.3f} {med[side][1]:>7.3f} {peak[side] / 1024:>9.1f}"
            )
        print(
            f"{'lvsd/keep.':<12} {l[0] / k[0]:>8.2f} {best['lvsd'] / best['keepalived']:>8.2f}"
            f" {l[1] / k[1]:>7.2f} {peak['lvsd'] / peak['keepalived']:>9.2f}"
        )
        print("target: time <= 0.50, peak memory <= 1.00 (cpu s: /usr/bin/time, 10 ms ticks)")
        return 0
    finally:
        subprocess.run(["ip", "netns", "del", namespace], stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
