#!/usr/bin/env python3
"""VRRP failover benchmark: how long a client loses a VIP when the master
director fails, for keepalived and lvsd with the same configuration, in
the same run.

Topology (network namespaces this script creates and always deletes): a
bridge `lan`; directors `a` (priority 150, MASTER) and `b` (priority 100,
BACKUP) and a client `c` on it; 192.168.77.1/.2/.10, VIP 192.168.77.100/24.
These addresses exist only inside the namespaces.

For each VRRP version (v2 advert_int 1 s, v3 advert_int 0.1 s) and case
(SIGKILL of the master's processes; SIGKILL plus link down; SIGTERM), it
runs N failures per implementation:
  - `c` probes the VIP with an ICMP echo every 10 ms (probe.py ping), at
    a phase to `a`'s adverts set per run (spread evenly over 10 ms), and
    records ARP and VRRP frames on its wire (probe.py frames);
  - `b` records every VRRP advert it receives (probe.py adverts) and the
    moment the VIP appears on its interface (probe.py addresses);
  - the signal is sent from `b`'s namespace a fixed offset after an advert
    from `a` arrived there (probe.py kill): run i uses (i + 0.5)/N of the
    advert interval, the same offsets for every implementation, which take
    turns run by run. Packet times are kernel receive timestamps.
It prints every run, the medians of: the VIP on `b` after the signal,
after the master's last advert, and the client's longest gap between
replies; and, with two implementations, the paired differences (second
minus first) at each offset, with their median and mean and how often the
second was later. Where the time goes on `b` is shown too: `b`'s first
advert, its first gratuitous ARP seen by `c`, and `c`'s first reply after
that ARP.

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

from probe import crash  # probe.py, beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "probe.py")
VIP = "192.168.77.100"
ADDR = {"a": "192.168.77.1", "b": "192.168.77.2", "c": "192.168.77.10"}
MAC = {node: f"02:00:00:77:00:0{i + 1}" for i, node in enumerate(["a", "b", "c"])}
PROBE_MS = 10
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
            for node in ["a", "b", "c"]:
                port = f"p{node}"
                sh("ip", "-n", ns("lan"), "link", "add", port, "type", "veth", "peer", "eth0", "netns", ns(node))
                sh("ip", "-n", ns("lan"), "link", "set", port, "master", "br0", "up")
                sh("ip", "-n", ns(node), "link", "set", "eth0", "address", MAC[node])
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
        crash(self.pids())

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
    """A probe process and the lines it printed, split into words."""

    def __init__(self, argv):
        self.lines = []
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.split())

    def find(self, kind):
        return [w for w in list(self.lines) if w and w[0] == kind]

    def wait_ready(self, timeout):
        if not wait_for(lambda: self.find("ready") or self.proc.poll() is not None, timeout) \
                or not self.find("ready"):
            raise RuntimeError(f"probe {self.proc.args[4:]} did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(3)


def probe(node, *args):
    return Stream(["ip", "netns", "exec", ns(node), sys.executable, PROBE, *args])


def wait_for(pred, timeout, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def one_run(lab, impl, version, case, confs, tmp, lvsd, offset, phase):
    """One failure of `a`, signalled `offset` seconds after an advert from
    `a` reached `b`; the client's echoes go out `phase` seconds after each
    advert from `a` and every 10 ms after that."""
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
        monitor = probe("b", "addresses")
        sniff = probe("b", "adverts")
        wire = probe("c", "frames")
        ping = probe("c", "ping", VIP, str(PROBE_MS), "--anchor", ADDR["a"], f"{phase * 1000:.3f}")
        probes = [monitor, sniff, wire, ping]
        for p in probes:
            p.wait_ready(10)
        time.sleep(1.0)
        # The signal goes out from b's namespace at a fixed phase after an
        # advert from a arrived there (probe.py kill), so both
        # implementations are failed at the same offsets.
        if case == "term":
            signal_args = ["TERM", str(a.proc.pid)]
        else:
            signal_args = ["KILL"] + [str(pid) for pid in a.pids()]
        if case == "kill-linkdown":
            signal_args += ["--link-down", ns("a"), "eth0"]
        killer = probe("b", "kill", ADDR["a"], f"{offset * 1000:.3f}", *signal_args)
        probes.append(killer)
        if not wait_for(lambda: killer.find("signal"), 10 * advert + 5):
            raise RuntimeError(f"{impl} {version} {case}: no advert from a reached b before the signal")
        t0, t_trigger = (float(x) for x in killer.find("signal")[0][1:3])

        def vip_on_b():
            return next((float(w[1]) for w in monitor.find("address")
                         if w[2] == "new" and w[3] == VIP + "/24"), None)
        if not wait_for(lambda: vip_on_b() is not None, 15):
            raise RuntimeError(f"{impl} {version} {case}: b never took the VIP over")
        t_vip = vip_on_b()
        time.sleep(1.0)
    finally:
        for p in probes:
            p.stop()
        a.stop()
        b.stop()
    from_a = [float(w[1]) for w in sniff.find("advert") if w[2] == ADDR["a"]]
    last_advert = max((t for t in from_a if t <= t_vip), default=t0)
    replies = sorted(float(w[1]) for w in ping.find("reply"))
    window = [t for t in replies if t >= t0 - 0.1]
    gaps = [y - x for x, y in zip(window, window[1:])]
    if window and window[0] > t0:
        gaps.append(window[0] - t0)
    # What the client saw on the wire: b's first gratuitous ARP for the VIP
    # and b's first advert, then the first echo reply after that ARP.
    garp = next((float(w[1]) for w in wire.find("arp")
                 if w[2] == MAC["b"] and w[4] == VIP and float(w[1]) >= t0), float("nan"))
    b_advert = next((float(w[1]) for w in wire.find("vrrp")
                     if w[3] == ADDR["b"] and float(w[1]) >= t0), float("nan"))
    reply_after_garp = next((t for t in replies if t >= garp), float("nan"))
    return {
        "offset_ms": offset * 1000,
        "probe_phase_ms": phase * 1000,
        "signal_after_advert_ms": (t0 - t_trigger) * 1000,
        "vip_after_signal_ms": (t_vip - t0) * 1000,
        "vip_after_last_advert_ms": (t_vip - last_advert) * 1000,
        "client_outage_ms": max(gaps, default=float("nan")) * 1000,
        "first_advert_after_vip_ms": (b_advert - t_vip) * 1000,
        "garp_after_vip_ms": (garp - t_vip) * 1000,
        "reply_after_garp_ms": (reply_after_garp - garp) * 1000,
    }


# Columns printed for each case (the JSON has every field of every run).
COLUMNS = [
    ("vip_after_signal_ms", "VIP after signal"),
    ("vip_after_last_advert_ms", "after last advert"),
    ("client_outage_ms", "client outage"),
]
DETAIL = [
    ("first_advert_after_vip_ms", "b advert-VIP"),
    ("garp_after_vip_ms", "GARP-VIP"),
    ("reply_after_garp_ms", "reply-GARP"),
]


def median(values):
    values = [v for v in values if v == v]  # without NaN
    return statistics.median(values) if values else float("nan")


# A paired difference within this is "the same" (the probes' own timing).
SAME_MS = 1.0


def paired(runs_a, runs_b, key):
    """Per-offset differences b - a of one measure, and their summary;
    `slower`/`faster` count differences beyond SAME_MS."""
    diffs = [rb[key] - ra[key] for ra, rb in zip(runs_a, runs_b)]
    valid = [d for d in diffs if d == d]
    return {
        "diffs": diffs,
        "median": median(valid),
        "mean": statistics.fmean(valid) if valid else float("nan"),
        "slower": sum(1 for d in valid if d > SAME_MS),
        "faster": sum(1 for d in valid if d < -SAME_MS),
    }


def report_case(version, case, impls, runs):
    print(f"\n{version} {case}: per run (ms; offset = signal after an advert from a on b, "
          f"phase = client's echoes after it)", flush=True)
    header = f"  {'offset':>7} {'phase':>5} {'impl':<10} {'sig-adv':>7}" + "".join(f" {t:>17}" for _, t in COLUMNS) \
        + "".join(f" {t:>13}" for _, t in DETAIL)
    print(header)
    for i in range(len(runs[impls[0]])):
        for impl in impls:
            r = runs[impl][i]
            print(f"  {r['offset_ms']:7.1f} {r['probe_phase_ms']:5.1f} {impl:<10} {r['signal_after_advert_ms']:7.1f}"
                  + "".join(f" {r[k]:17.1f}" for k, _ in COLUMNS)
                  + "".join(f" {r[k]:13.1f}" for k, _ in DETAIL))
    rows = []
    for impl in impls:
        row = {"impl": impl, "version": version, "case": case, "runs": len(runs[impl])}
        for k in runs[impl][0]:
            row[k] = median(r[k] for r in runs[impl])
        row["all"] = runs[impl]
        rows.append(row)
        print(f"{impl:<10} {version} {case:<14} n={len(runs[impl]):<3} "
              f"VIP after signal {row['vip_after_signal_ms']:7.0f} ms   "
              f"after last advert {row['vip_after_last_advert_ms']:7.0f} ms   "
              f"client outage {row['client_outage_ms']:7.0f} ms", flush=True)
    pairs = {}
    if len(impls) == 2:
        base, other = impls
        for k, title in COLUMNS + DETAIL:
            p = paired(runs[base], runs[other], k)
            pairs[k] = p
            print(f"  paired {other} - {base}, {title:<17}: median {p['median']:+7.1f} ms, "
                  f"mean {p['mean']:+7.1f} ms, {other} later by > {SAME_MS:.0f} ms in "
                  f"{p['slower']}/{len(p['diffs'])} (earlier in {p['faster']}); per offset: "
                  + " ".join(f"{d:+.1f}" for d in p["diffs"]), flush=True)
    return rows, pairs


def summary(results, impls):
    """One line per case: medians side by side, then the paired median
    difference and how many runs the second implementation was later."""
    print("\nsummary (ms): medians " + " / ".join(impls)
          + (f"; paired {impls[1]} - {impls[0]}: (median, runs later by > {SAME_MS:.0f} ms)"
             if len(impls) == 2 else ""))
    cases = []
    for row in results:
        if (row["version"], row["case"]) not in cases:
            cases.append((row["version"], row["case"]))
    for version, case in cases:
        rows = {r["impl"]: r for r in results if (r["version"], r["case"]) == (version, case)}
        line = f"  {version} {case:<14}"
        for key, title in COLUMNS:
            medians = " / ".join(f"{rows[i][key]:.0f}" for i in impls if i in rows)
            line += f" | {title}: {medians}"
            pairs = rows[impls[-1]].get("paired_minus_" + impls[0])
            if pairs:
                p = pairs[key]
                line += f" ({p['median']:+.1f}, {p['slower']}/{len(p['diffs'])})"
        print(line, flush=True)


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
            advert = 1.0 if version == "v2" else 0.1
            confs = {}
            for node, state, prio in [("a", "MASTER", 150), ("b", "BACKUP", 100)]:
                path = os.path.join(tmp, f"{node}-{version}.conf")
                with open(path, "w") as f:
                    f.write(CONF.format(node=node, version=version[1], state=state, priority=prio,
                                        advert="1" if version == "v2" else "0.1", vip=VIP,
                                        auth=AUTH_V2 if version == "v2" else ""))
                confs[node] = path
            for case in args.cases.split(","):
                # Run i fails the master (i + 0.5)/N of an advert interval
                # after one of its adverts, for every implementation, and
                # the client's 10 ms echoes keep the phase (N - i - 0.5)/N
                # of 10 ms to those adverts: both are spread evenly, and
                # the same for each implementation, so the client's outage,
                # counted in 10 ms probes, compares pair by pair. The
                # implementations take turns first, so that a change in the
                # host's load hits both.
                runs = {impl: [] for impl in impls}
                for i in range(args.runs):
                    offset = (i + 0.5) / args.runs * advert
                    phase = (args.runs - i - 0.5) / args.runs * PROBE_MS / 1000
                    for impl in (impls if i % 2 == 0 else impls[::-1]):
                        runs[impl].append(one_run(lab, impl, version, case, confs, tmp, args.lvsd,
                                                  offset, phase))
                rows, pairs = report_case(version, case, impls, runs)
                if pairs:
                    rows[-1]["paired_minus_" + impls[0]] = pairs
                results.extend(rows)
    finally:
        lab.close()
    summary(results, impls)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
