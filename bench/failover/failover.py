#!/usr/bin/env python3
"""VRRP failover benchmark: how long a client loses a VIP when the master
director fails, for keepalived and lvsd with the same configuration, in
the same run.

Topology (network namespaces this script creates and always deletes): a
bridge `lan`; directors `a` (priority 150, MASTER) and `b` (priority 100,
BACKUP) and a client `c` on it; 192.168.77.1/.2/.10, VIP 192.168.77.100/24.
These addresses exist only inside the namespaces.

For each implementation, VRRP version (v2 advert_int 1 s, v3 advert_int
0.1 s) and case (SIGKILL of the master's processes; SIGKILL plus link down;
SIGTERM), it runs N times:
  - `c` probes the VIP with an ICMP echo every 10 ms (probe.py ping);
  - `b` records every VRRP advert it receives (probe.py adverts) and the
    moment the VIP appears on its interface (`ip monitor address`);
and reports the medians of: the VIP on `b` after the signal, after the
master's last advert, and the client's longest gap between replies.

Usage (root):  bench/failover/failover.py [--runs N] [--impl keepalived,lvsd]
                                           [--lvsd PATH] [--cases kill,kill-linkdown,term]
                                           [--versions v2,v3] [--json FILE]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "probe.py")
VIP = "192.168.77.100"
ADDR = {"a": "192.168.77.1", "b": "192.168.77.2", "c": "192.168.77.10"}
PREFIX = f"lvsdt-{os.getpid()}-fb"

CONF = """# failover benchmark, director {node}
global_defs {{
    router_id fb-{node}
    vrrp_version {version}
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int {advert}
{auth}    virtual_ipaddress {{
        {vip}/24
    }}
}}
"""
AUTH_V2 = """    authentication {
        auth_type PASS
        auth_pass s3cr3t
    }
"""


def sh(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def ns(node):
    return f"{PREFIX}-{node}"


class Lab:
    """The namespaces and links; removed by close() even after errors."""

    def __init__(self):
        self.made = []
        try:
            for node in ["lan", "a", "b", "c"]:
                sh("ip", "netns", "add", ns(node))
                self.made.append(ns(node))
                sh("ip", "-n", ns(node), "link", "set", "lo", "up")
            sh("ip", "-n", ns("lan"), "link", "add", "br0", "type", "bridge")
            sh("ip", "-n", ns("lan"), "link", "set", "br0", "up")
            for i, node in enumerate(["a", "b", "c"]):
                port = f"p{node}"
                sh("ip", "-n", ns("lan"), "link", "add", port, "type", "veth", "peer", "eth0", "netns", ns(node))
                sh("ip", "-n", ns("lan"), "link", "set", port, "master", "br0", "up")
                sh("ip", "-n", ns(node), "link", "set", "eth0", "address", f"02:00:00:77:00:0{i + 1}")
                sh("ip", "-n", ns(node), "addr", "add", f"{ADDR[node]}/24", "dev", "eth0")
                sh("ip", "-n", ns(node), "link", "set", "eth0", "up")
        except BaseException:
            self.close()
            raise

    def close(self):
        for name in reversed(self.made):
            out = sh("ip", "netns", "pids", name, check=False).stdout.split()
            for pid in out:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", name, check=False)
        self.made = []

    def has_vip(self, node):
        out = sh("ip", "-n", ns(node), "-o", "addr", "show", "dev", "eth0").stdout
        return f" {VIP}/" in out

    def reset(self):
        for node in ["a", "b"]:
            sh("ip", "-n", ns(node), "addr", "del", f"{VIP}/24", "dev", "eth0", check=False)
            sh("ip", "-n", ns(node), "link", "set", "eth0", "up")
        sh("ip", "-n", ns("c"), "neigh", "flush", "all", check=False)


class Director:
    """One director process tree (keepalived or lvsd) inside a namespace."""

    def __init__(self, impl, node, conf, tmp, lvsd):
        self.impl = impl
        self.vrrp_pidfile = os.path.join(tmp, f"{node}.vrrp.pid")
        log = open(os.path.join(tmp, f"{impl}-{node}.log"), "ab")
        if impl == "keepalived":
            argv = ["keepalived", "-n", "-l", "-D", "-P", "-G", "-f", conf,
                    "-p", os.path.join(tmp, f"{node}.pid"), "-r", self.vrrp_pidfile]
        else:
            # Each director its own control socket (the default path is
            # shared by every namespace: the file system is the host's).
            argv = [lvsd, "run", "-f", conf, "--vrrp-only",
                    "--control-socket", os.path.join(tmp, f"{node}.sock")]
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns(node)] + argv,
                                     stdout=log, stderr=subprocess.STDOUT)

    def pids(self):
        pids = [self.proc.pid]
        if self.impl == "keepalived":
            try:
                with open(self.vrrp_pidfile) as f:
                    pids.append(int(f.read().strip()))
            except (OSError, ValueError):
                pass
        return pids

    def kill_all(self):
        # A crash of the whole tree at one instant: stop every process
        # first, or keepalived's VRRP child would see its parent die first
        # (PDEATHSIG) and resign with priority 0 before its own SIGKILL.
        pids = self.pids()
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill_all()
                self.proc.wait()
        else:
            self.kill_all()  # a keepalived child may outlive its parent


class Stream:
    """A probe process whose lines are collected with their arrival time."""

    def __init__(self, argv):
        self.lines = []
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.split()))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(3)


def wait_for(pred, timeout, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def one_run(lab, impl, version, case, confs, tmp, lvsd):
    advert = 1.0 if version == "v2" else 0.1
    lab.reset()
    b = Director(impl, "b", confs["b"], tmp, lvsd)
    a = Director(impl, "a", confs["a"], tmp, lvsd)
    probes = []
    try:
        if not wait_for(lambda: lab.has_vip("a"), 20):
            raise RuntimeError(f"{impl} {version}: a never became master (logs in {tmp})")
        time.sleep(3 * advert + 0.5)  # b has heard a and is BACKUP
        if lab.has_vip("b"):
            raise RuntimeError(f"{impl} {version}: both directors hold the VIP before the failure")
        monitor = Stream(["ip", "-n", ns("b"), "-o", "monitor", "address"])
        sniff = Stream(["ip", "netns", "exec", ns("b"), sys.executable, PROBE, "adverts"])
        ping = Stream(["ip", "netns", "exec", ns("c"), sys.executable, PROBE, "ping", VIP, "10"])
        probes = [monitor, sniff, ping]
        time.sleep(1.0)
        t0 = time.monotonic()
        if case == "term":
            a.terminate()
        else:
            a.kill_all()
            if case == "kill-linkdown":
                sh("ip", "-n", ns("a"), "link", "set", "eth0", "down")
        def vip_on_b():
            return next((t for t, w in monitor.lines if VIP + "/24" in w and "Deleted" not in w[0]), None)
        if not wait_for(lambda: vip_on_b() is not None, 15):
            raise RuntimeError(f"{impl} {version} {case}: b never took the VIP over")
        t_vip = vip_on_b()
        time.sleep(1.0)
    finally:
        for p in probes:
            p.stop()
        a.stop()
        b.stop()
    from_a = [float(w[1]) for _, w in sniff.lines if len(w) >= 4 and w[2] == ADDR["a"]]
    last_advert = max((t for t in from_a if t <= t_vip), default=t0)
    replies = sorted(float(w[1]) for _, w in ping.lines if w[0] == "reply")
    window = [t for t in replies if t >= t0 - 0.1]
    gaps = [y - x for x, y in zip(window, window[1:])]
    if window and window[0] > t0:
        gaps.append(window[0] - t0)
    return {
        "vip_after_signal_ms": (t_vip - t0) * 1000,
        "vip_after_last_advert_ms": (t_vip - last_advert) * 1000,
        "client_outage_ms": max(gaps, default=float("nan")) * 1000,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--impl", default="keepalived,lvsd")
    ap.add_argument("--lvsd", default=os.path.join(HERE, "../../target/release/lvsd"))
    ap.add_argument("--cases", default="kill,kill-linkdown,term")
    ap.add_argument("--versions", default="v2,v3")
    ap.add_argument("--json")
    args = ap.parse_args()
    impls = args.impl.split(",")
    if "lvsd" in impls:
        ok = subprocess.run([args.lvsd, "run", "--help"], capture_output=True).returncode == 0
        if not ok:
            sys.exit(f"failover.py: {args.lvsd} has no `run` command yet; use --impl keepalived")

    results = []
    tmp = tempfile.mkdtemp(prefix="lvsd-failover-")
    lab = Lab()
    try:
        for version in args.versions.split(","):
            confs = {}
            for node, state, prio in [("a", "MASTER", 150), ("b", "BACKUP", 100)]:
                path = os.path.join(tmp, f"{node}-{version}.conf")
                with open(path, "w") as f:
                    f.write(CONF.format(node=node, version=version[1], state=state, priority=prio,
                                        advert="1" if version == "v2" else "0.1", vip=VIP,
                                        auth=AUTH_V2 if version == "v2" else ""))
                confs[node] = path
            for case in args.cases.split(","):
                for impl in impls:
                    runs = [one_run(lab, impl, version, case, confs, tmp, args.lvsd) for _ in range(args.runs)]
                    row = {"impl": impl, "version": version, "case": case, "runs": len(runs)}
                    for k in runs[0]:
                        row[k] = statistics.median(r[k] for r in runs)
                    row["all"] = runs
                    results.append(row)
                    print(f"{impl:<10} {version} {case:<14} n={len(runs):<3} "
                          f"VIP after signal {row['vip_after_signal_ms']:7.0f} ms   "
                          f"after last advert {row['vip_after_last_advert_ms']:7.0f} ms   "
                          f"client outage {row['client_outage_ms']:7.0f} ms", flush=True)
    finally:
        lab.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
