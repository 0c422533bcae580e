//! The seed scenarios of issue 6, end to end: each configuration from
//! `conf/tests/seeds/` (byte-identical copies of `../shared/seed-configs/`)
//! runs on a pair of directors in network namespaces, lvsd ↔ lvsd and
//! lvsd ↔ keepalived 2.2.7, with a client in a third namespace that must
//! reach the VIP before and after every failover *through the new master's
//! MAC address* — the proof that the gratuitous ARPs updated its cache (a
//! client left with the old MAC cannot re-resolve within the 3 s allowed:
//! the kernel first waits the 5 s `delay_first_probe_time`).
//!
//! The seed files run as they are but for a text substitution, written out
//! in each scenario and checked (every replaced string must occur in the
//! seed, so a changed seed fails instead of running unadapted):
//! - interface names are kept: each director's LAN link is named as in the
//!   seed (`eth0`, `eth1`);
//! - addresses: the seed's subnet prefix is replaced by a 192.168.x test
//!   prefix with the host parts kept (`10.0.0.` → `192.168.80.`, …); these
//!   addresses exist only inside the test namespaces;
//! - paths: `/script/…`, `/etc/keepalived/…` become files of the test's
//!   temporary directory;
//! - watched processes: the seeds watch `nginx`/`haproxy` with `ps -C`,
//!   `pidof` or `killall -0`, which see the whole host, so each director
//!   watches a copy of `sleep` under a name unique to the test run (and a
//!   keepalived node checks with `pgrep -x` where the seed says `pidof`:
//!   keepalived's issue #650, see 003);
//! - `systemctl start nginx` / `systemctl stop keepalived` in
//!   `000-nginx_keep.sh` become "start the fake nginx if the test allows it"
//!   and "SIGTERM this director".
//!
//! Every wait is a poll with a deadline; the only fixed windows are the
//! ones that assert that nothing happens (nopreempt), and they are derived
//! from the master-down interval.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod vrrp_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use integration::netns::{ChildGuard, Lan, Netns};
use vrrp_support::mac_of;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

const SEED_000_LB01: &str = include_str!("../conf/tests/seeds/000-nginx-ha-lb01.conf");
const SEED_000_LB02: &str = include_str!("../conf/tests/seeds/000-nginx-ha-lb02.conf");
/// `../shared/seed-configs/000-nginx_keep.sh`, copied byte for byte.
const SEED_000_KEEP: &str = include_str!("vrrp_seed_data/000-nginx_keep.sh");
const SEED_000_NOPREEMPT_LB01: &str = include_str!("../conf/tests/seeds/000-nopreempt-lb01.conf");
const SEED_000_NOPREEMPT_LB02: &str = include_str!("../conf/tests/seeds/000-nopreempt-lb02.conf");
const SEED_002_MASTER: &str = include_str!("../conf/tests/seeds/002-master.conf");
const SEED_002_BACKUP: &str = include_str!("../conf/tests/seeds/002-backup.conf");
const SEED_003_MASTER: &str = include_str!("../conf/tests/seeds/003-compose-master.conf");
const SEED_003_SLAVE: &str = include_str!("../conf/tests/seeds/003-compose-slave.conf");
const SEED_004_HAPROXY: &str = include_str!("../conf/tests/seeds/004-haproxy-ha.conf");
const SEED_004_DUAL: &str = include_str!("../conf/tests/seeds/004-dual-master.conf");

/// All seeds use advert_int 1 (VRRPv2): the master-down interval is
/// 3 s + skew (< 1 s), the first master needs it after its start.
const MASTER_DOWN: Duration = Duration::from_millis(3_610);
const ELECTED: Duration = Duration::from_secs(10);
/// A takeover without a priority-0 advert: master-down plus slack for a
/// loaded machine.
const TAKEOVER: Duration = Duration::from_secs(7);
/// After the new master holds the VIP, the client must reach it through
/// the new MAC within this (less than the kernel's 5 s re-resolution delay).
const REACH: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Lvsd,
    Keepalived,
}

/// The seed text with every `(from, to)` replaced everywhere. Each `from`
/// must occur in the seed.
fn adapt(seed: &str, substitutions: &[(&str, &str)]) -> String {
    let mut text = seed.to_string();
    for (from, to) in substitutions {
        assert!(text.contains(from), "the seed has no {from:?} to adapt");
        text = text.replace(from, to);
    }
    text
}

/// Swaps two strings that each occur once (a backup's roles in a seed
/// written for the master).
fn swap(text: &str, a: &str, b: &str) -> String {
    assert_eq!(text.matches(a).count(), 1, "{a:?} must occur once");
    assert_eq!(text.matches(b).count(), 1, "{b:?} must occur once");
    let placeholder = "\u{0}swap\u{0}";
    text.replace(a, placeholder)
        .replace(b, a)
        .replace(placeholder, b)
}

/// A process name unique to this test run (≤ 15 characters: `ps -C`,
/// `pidof` and `killall` match the kernel's command name).
fn unique(tag: &str) -> String {
    format!("{tag}{}", std::process::id() % 100_000)
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A copy of `sleep` called `name`: a real process the seeds' scripts watch.
fn fake_program(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy("/bin/sleep", &path).unwrap();
    path
}

/// PIDs of the processes called `name` (host-wide, as the seeds' scripts see).
fn pids_named(name: &str) -> Vec<i32> {
    let out = Command::new("pidof").arg(name).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn signal(pid: i32, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
fn within(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One director: lvsd (`lvsd run --vrrp-only`) or keepalived (`-P`), in its
/// own namespace, with its configuration, pid file and log in `dir`.
struct Node {
    name: &'static str,
    imp: Impl,
    ns: Netns,
    dev: &'static str,
    dir: PathBuf,
    process: Option<ChildGuard>,
}

impl Node {
    fn conf(&self) -> PathBuf {
        self.dir.join("keepalived.conf")
    }

    /// The director's main PID (what `systemctl stop` would signal).
    fn pid_file(&self) -> PathBuf {
        self.dir.join("director.pid")
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("lvsd.sock")
    }

    fn write_conf(&self, text: &str) {
        std::fs::write(self.conf(), text).unwrap();
    }

    fn start(&mut self) {
        assert!(self.process.is_none(), "{} already runs", self.name);
        let log = self.dir.join("director.log").display().to_string();
        let conf = self.conf().display().to_string();
        let pid_file = self.pid_file();
        let vrrp_pid = self.dir.join("vrrp.pid");
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(&vrrp_pid);
        let command = match self.imp {
            Impl::Lvsd => format!(
                "exec {LVSD} run --vrrp-only -f {conf} --control-socket {} >>{log} 2>&1",
                self.socket().display()
            ),
            Impl::Keepalived => format!(
                "exec keepalived -n -l -D -P -f {conf} -p {} -r {} >>{log} 2>&1",
                pid_file.display(),
                vrrp_pid.display()
            ),
        };
        // `ip netns exec` and `sh -c exec` keep the PID: it is the director's.
        let child = self.ns.spawn(&["sh", "-c", &command]).unwrap();
        if self.imp == Impl::Lvsd {
            std::fs::write(&pid_file, format!("{}\n", child.pid())).unwrap();
        }
        self.process = Some(child);
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.process.as_ref().expect("running").pid()).unwrap()
    }

    /// Waits until the director's process has ended (by itself or a signal).
    fn exited_within(&mut self, limit: Duration) -> bool {
        let Some(process) = self.process.as_mut() else {
            return true;
        };
        let done = within(limit, || process.child().try_wait().unwrap().is_some());
        if done {
            self.process = None;
        }
        done
    }

    /// SIGTERM (`systemctl stop`): resign with priority 0, VIPs removed.
    fn terminate(&mut self) {
        signal(self.pid(), nix::sys::signal::Signal::SIGTERM);
        assert!(
            self.exited_within(Duration::from_secs(10)),
            "{} did not stop on SIGTERM",
            self.name
        );
    }

    /// SIGKILL: a crash, the VIPs stay configured on the dead node.
    fn crash(&mut self) {
        let mut pids = vec![self.pid()];
        if self.imp == Impl::Keepalived {
            // Stop the VRRP child first: on its parent's death it would
            // resign (PDEATHSIG) and the parent could respawn it.
            if let Ok(text) = std::fs::read_to_string(self.dir.join("vrrp.pid")) {
                pids.extend(text.trim().parse::<i32>());
            }
            for &pid in &pids {
                signal(pid, nix::sys::signal::Signal::SIGSTOP);
            }
        }
        for &pid in &pids {
            signal(pid, nix::sys::signal::Signal::SIGKILL);
        }
        assert!(self.exited_within(Duration::from_secs(5)));
    }

    /// The director's LAN link, as a pulled cable or a switch port down.
    fn link(&self, up: bool) {
        self.ns
            .ip(&["link", "set", self.dev, if up { "up" } else { "down" }])
            .unwrap();
    }

    /// The `ip -o addr` line of `vip` on the LAN interface, if it is there.
    fn vip_line(&self, vip: &str) -> Option<String> {
        let out = self
            .ns
            .ip(&["-o", "-4", "addr", "show", "dev", self.dev])
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.contains(&format!(" inet {vip}/")))
            .map(|l| l.split('\\').next().unwrap_or(l).trim().to_string())
    }

    fn holds(&self, vip: &str) -> bool {
        self.vip_line(vip).is_some()
    }

    fn mac(&self) -> String {
        mac_of(&self.ns, self.dev)
    }

    /// An lvsd instance's status (`lvsd status --json`), if it answers.
    fn lvsd_instance(&self, instance: &str) -> Option<serde_json::Value> {
        assert_eq!(self.imp, Impl::Lvsd);
        let out = Command::new(LVSD)
            .args(["status", "--json", "--socket"])
            .arg(self.socket())
            .output()
            .ok()?;
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        status["vrrp"]
            .as_array()?
            .iter()
            .find(|i| i["name"] == instance)
            .cloned()
    }

    fn lvsd_state(&self, instance: &str) -> Option<String> {
        self.lvsd_instance(instance)
            .and_then(|i| i["state"].as_str().map(String::from))
    }

    fn notify_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("notify.log"))
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    }
}

/// Directors and a client on one bridge. Dropped in field order: the
/// directors (processes, namespaces) first.
struct Lab {
    nodes: Vec<Node>,
    client: Netns,
    lan: Lan,
    dir: tempfile::TempDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for node in &self.nodes {
                let log =
                    std::fs::read_to_string(node.dir.join("director.log")).unwrap_or_default();
                eprintln!("---- {} ({:?}) log:\n{log}", node.name, node.imp);
            }
        }
    }
}

/// `nodes`: (name, implementation, address/prefix) of each director, whose
/// LAN interface is called `dev`; the client gets `client` on its eth0.
fn lab(label: &str, dev: &'static str, nodes: &[(&'static str, Impl, &str)], client: &str) -> Lab {
    let lan = Lan::new(&format!("{label}-lan")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for &(name, imp, cidr) in nodes {
        let ns = Netns::new(&format!("{label}-{name}")).unwrap();
        lan.attach(&ns, dev).unwrap();
        ns.addr(dev, cidr).unwrap();
        let node_dir = dir.path().join(name);
        std::fs::create_dir(&node_dir).unwrap();
        out.push(Node {
            name,
            imp,
            ns,
            dev,
            dir: node_dir,
            process: None,
        });
    }
    let client_ns = Netns::new(&format!("{label}-c")).unwrap();
    lan.attach(&client_ns, "eth0").unwrap();
    client_ns.addr("eth0", client).unwrap();
    Lab {
        nodes: out,
        client: client_ns,
        lan,
        dir,
    }
}

impl Lab {
    fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    fn node_mut(&mut self, name: &str) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.name == name).unwrap()
    }

    /// The client's ARP entry for `vip` (its lladdr), if resolved.
    fn neighbour(&self, vip: &str) -> Option<String> {
        let out = self.client.sh(&format!("ip neigh show {vip}")).ok()?;
        let words: Vec<&str> = out.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "lladdr")?;
        words.get(at + 1).map(|m| m.to_string())
    }

    /// The client pings `vip` and gets answers through `via`'s MAC address.
    fn reaches(&self, vip: &str, via: &str) {
        let mac = self.node(via).mac();
        let ok = within(REACH, || {
            let pinged = self
                .client
                .exec(&["ping", "-c", "1", "-W", "1", "-q", vip])
                .is_ok();
            pinged && self.neighbour(vip).as_deref() == Some(mac.as_str())
        });
        assert!(
            ok,
            "the client cannot reach {vip} through {via} ({mac}); its ARP entry: {:?}",
            self.neighbour(vip)
        );
    }

    /// Waits until `name` holds `vip` (and it is the only one), then checks
    /// that the client reaches it there.
    fn master_is(&self, name: &str, vip: &str, limit: Duration) {
        let node = self.node(name);
        assert!(
            within(limit, || node.holds(vip)),
            "{name} does not hold {vip} after {limit:?}"
        );
        for other in self.nodes.iter().filter(|n| n.name != name) {
            assert!(
                within(Duration::from_secs(5), || !other.holds(vip)),
                "{} still holds {vip} beside {name}",
                other.name
            );
        }
        self.reaches(vip, name);
    }

    /// Nothing moves for `window`: `name` keeps `vip`, no one else takes it.
    fn stays(&self, name: &str, vip: &str, window: Duration) {
        let start = Instant::now();
        while start.elapsed() < window {
            assert!(self.node(name).holds(vip), "{name} lost {vip}");
            for other in self.nodes.iter().filter(|n| n.name != name) {
                assert!(!other.holds(vip), "{} took {vip} from {name}", other.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

// ---------------------------------------------------------------------------
// 000-nginx-ha: lb01 (priority 150) runs the seed's nginx_keep.sh every 5 s:
// when nginx is gone it starts it again, waits 3 s, and stops keepalived if
// nginx is still not running; lb02 (100) takes over.

const VIP_000: &str = "192.168.80.3";

fn seed_000_track_script(label: &str, lb01_impl: Impl, lb02_impl: Impl) {
    let mut lab = lab(
        label,
        "eth0",
        &[
            // lb01 at .5 as in 000-brainsplitting.sh.
            ("lb01", lb01_impl, "192.168.80.5/24"),
            ("lb02", lb02_impl, "192.168.80.6/24"),
        ],
        "192.168.80.10/24",
    );
    let dir = lab.node("lb01").dir.clone();
    let nginx_name = unique(&format!("ngx{label}"));
    let nginx = fake_program(&dir, &nginx_name);
    let startable = dir.join("nginx-startable");
    let start_nginx = dir.join("start-nginx");
    write_executable(
        &start_nginx,
        &format!(
            "#!/bin/sh\n# stands for `systemctl start nginx`\n[ -e {} ] || exit 1\n\
             setsid {} 3600 </dev/null >/dev/null 2>&1 &\n",
            startable.display(),
            nginx.display()
        ),
    );
    let keep = dir.join("nginx_keep.sh");
    let start_cmd = start_nginx.display().to_string();
    let stop_cmd = format!(
        "kill -TERM $(cat {})",
        lab.node("lb01").pid_file().display()
    );
    write_executable(
        &keep,
        &adapt(
            SEED_000_KEEP,
            &[
                ("ps -C nginx", &format!("ps -C {nginx_name}")),
                ("systemctl start nginx", &start_cmd),
                ("systemctl stop keepalived", &stop_cmd),
            ],
        ),
    );
    let keep_path = keep.display().to_string();
    lab.node("lb01").write_conf(&adapt(
        SEED_000_LB01,
        &[
            ("10.0.0.", "192.168.80."),
            ("/script/nginx_keep.sh", &keep_path),
        ],
    ));
    lab.node("lb02")
        .write_conf(&adapt(SEED_000_LB02, &[("10.0.0.", "192.168.80.")]));

    // nginx runs; lb01 (150) becomes master, lb02 (100) backup.
    std::fs::write(&startable, "").unwrap();
    lab.node("lb01")
        .ns
        .exec(&[start_nginx.to_str().unwrap()])
        .unwrap();
    assert!(within(Duration::from_secs(3), || pids_named(&nginx_name)
        .len()
        == 1));
    lab.node_mut("lb01").start();
    lab.master_is("lb01", VIP_000, ELECTED);
    lab.node_mut("lb02").start();
    lab.stays("lb01", VIP_000, Duration::from_secs(1));
    lab.reaches(VIP_000, "lb01");

    // nginx dies and may be restarted: the script (every 5 s) starts it again.
    let first = pids_named(&nginx_name);
    for &pid in &first {
        signal(pid, nix::sys::signal::Signal::SIGKILL);
    }
    assert!(
        within(Duration::from_secs(9), || {
            let now = pids_named(&nginx_name);
            !now.is_empty() && now.iter().all(|p| !first.contains(p))
        }),
        "the track script did not start nginx again"
    );
    // The script checks again after its 3 s and keeps the director running.
    lab.stays("lb01", VIP_000, Duration::from_millis(3_500));
    assert!(!lab.node_mut("lb01").exited_within(Duration::ZERO));
    lab.reaches(VIP_000, "lb01");

    // nginx dies for good: the script stops lb01, lb02 takes over.
    std::fs::remove_file(&startable).unwrap();
    for pid in pids_named(&nginx_name) {
        signal(pid, nix::sys::signal::Signal::SIGKILL);
    }
    assert!(
        lab.node_mut("lb01").exited_within(Duration::from_secs(12)),
        "the track script did not stop lb01"
    );
    // Stopped, lb01 resigned (priority 0): lb02 within its skew time.
    lab.master_is("lb02", VIP_000, Duration::from_secs(3));

    // nginx is back, lb01 restarts and preempts (150 > 100).
    std::fs::write(&startable, "").unwrap();
    lab.node("lb01")
        .ns
        .exec(&[start_nginx.to_str().unwrap()])
        .unwrap();
    lab.node_mut("lb01").start();
    lab.master_is("lb01", VIP_000, ELECTED);
}

#[test]
fn seed_000_track_script_lvsd_pair() {
    seed_000_track_script("s0l", Impl::Lvsd, Impl::Lvsd);
}

#[test]
fn seed_000_track_script_keepalived_lb01_lvsd_lb02() {
    seed_000_track_script("s0k", Impl::Keepalived, Impl::Lvsd);
}

// ---------------------------------------------------------------------------
// 000-nopreempt: both BACKUP with nopreempt, 150 and 100. A returning
// higher priority does not take the VIP back.

fn seed_000_nopreempt(label: &str, lb01_impl: Impl, lb02_impl: Impl) {
    let mut lab = lab(
        label,
        "eth0",
        &[
            ("lb01", lb01_impl, "192.168.80.5/24"),
            ("lb02", lb02_impl, "192.168.80.6/24"),
        ],
        "192.168.80.10/24",
    );
    let subs = [("10.0.0.", "192.168.80.")];
    lab.node("lb01")
        .write_conf(&adapt(SEED_000_NOPREEMPT_LB01, &subs));
    lab.node("lb02")
        .write_conf(&adapt(SEED_000_NOPREEMPT_LB02, &subs));
    lab.node_mut("lb01").start();
    lab.master_is("lb01", VIP_000, ELECTED);
    lab.node_mut("lb02").start();
    lab.stays("lb01", VIP_000, Duration::from_secs(1));
    lab.reaches(VIP_000, "lb01");

    // lb01 stops: lb02 takes over after its skew time.
    lab.node_mut("lb01").terminate();
    lab.master_is("lb02", VIP_000, Duration::from_secs(3));

    // lb01 (150) returns and stays backup: nopreempt. It would have
    // preempted one master-down interval after its start; watch two.
    lab.node_mut("lb01").start();
    lab.stays("lb02", VIP_000, MASTER_DOWN * 2);
    if lab.node("lb01").imp == Impl::Lvsd {
        assert_eq!(
            lab.node("lb01").lvsd_state("VI_1").as_deref(),
            Some("BACKUP")
        );
    }
    lab.reaches(VIP_000, "lb02");

    // lb02 stops: lb01 takes over.
    lab.node_mut("lb02").terminate();
    lab.master_is("lb01", VIP_000, Duration::from_secs(3));
}

#[test]
fn seed_000_nopreempt_lvsd_pair() {
    seed_000_nopreempt("s0nl", Impl::Lvsd, Impl::Lvsd);
}

#[test]
fn seed_000_nopreempt_lvsd_lb01_keepalived_lb02() {
    seed_000_nopreempt("s0nk", Impl::Lvsd, Impl::Keepalived);
}

// ---------------------------------------------------------------------------
// 002: the VIP on eth1 with `label eth1:1` (master /24, backup /32 as the
// seeds write it); the master crashes (SIGKILL) and comes back.

const VIP_002: &str = "192.168.82.5";

fn assert_label(lab: &Lab, node: &str, vip: &str, prefix: &str, label: &str) {
    let line = lab.node(node).vip_line(vip).expect("the VIP");
    assert!(
        line.contains(&format!(" inet {vip}/{prefix} ")) && line.ends_with(&format!(" {label}")),
        "{node}: {line}"
    );
}

fn seed_002_label(label: &str, master_impl: Impl, backup_impl: Impl) {
    let mut lab = lab(
        label,
        "eth1",
        &[
            ("master", master_impl, "192.168.82.1/24"),
            ("backup", backup_impl, "192.168.82.2/24"),
        ],
        "192.168.82.10/24",
    );
    let subs = [("192.168.31.", "192.168.82.")];
    lab.node("master")
        .write_conf(&adapt(SEED_002_MASTER, &subs));
    lab.node("backup")
        .write_conf(&adapt(SEED_002_BACKUP, &subs));
    lab.node_mut("master").start();
    lab.master_is("master", VIP_002, ELECTED);
    assert_label(&lab, "master", VIP_002, "24", "eth1:1");
    lab.node_mut("backup").start();
    lab.stays("master", VIP_002, Duration::from_secs(1));
    lab.reaches(VIP_002, "master");

    // SIGKILL: the dead master keeps answering for the VIP, so only the
    // backup's gratuitous ARPs move the client.
    lab.node_mut("master").crash();
    let backup = lab.node("backup");
    assert!(
        within(TAKEOVER, || backup.holds(VIP_002)),
        "backup takeover"
    );
    assert_label(&lab, "backup", VIP_002, "32", "eth1:1");
    lab.reaches(VIP_002, "backup");

    // The master restarts: the leftover VIP goes, then it preempts.
    lab.node_mut("master").start();
    lab.master_is("master", VIP_002, ELECTED);
    assert_label(&lab, "master", VIP_002, "24", "eth1:1");
}

#[test]
fn seed_002_label_lvsd_pair() {
    seed_002_label("s2l", Impl::Lvsd, Impl::Lvsd);
}

#[test]
fn seed_002_label_keepalived_master_lvsd_backup() {
    seed_002_label("s2k", Impl::Keepalived, Impl::Lvsd);
}

// ---------------------------------------------------------------------------
// 003-compose: a unicast pair (unicast_src_ip / unicast_peer), both tracking
// `pidof nginx` (weight 0: a failure is FAULT). The master's file also has
// a virtual_server, which a VRRP-only director ignores.

const VIP_003: &str = "192.168.83.4";

/// tcpdump on the LAN's bridge: every VRRP packet any port sends.
fn capture_vrrp(lab: &Lab) -> (ChildGuard, PathBuf) {
    let out = lab.dir.path().join("vrrp.txt");
    let err = lab.dir.path().join("tcpdump.err");
    let guard = lab
        .lan
        .netns()
        .spawn(&[
            "sh",
            "-c",
            &format!(
                "exec tcpdump -i br0 -n -l 'ip proto 112' >{} 2>{}",
                out.display(),
                err.display()
            ),
        ])
        .unwrap();
    assert!(
        within(Duration::from_secs(5), || std::fs::read_to_string(&err)
            .is_ok_and(|e| e.contains("listening on"))),
        "tcpdump did not start"
    );
    (guard, out)
}

/// (source, destination) of each captured packet.
fn captured(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "IP")?;
            let source = words.get(at + 1)?.to_string();
            let destination = words.get(at + 3)?.trim_end_matches(':').to_string();
            Some((source, destination))
        })
        .collect()
}

fn seed_003_unicast(label: &str, master_impl: Impl, slave_impl: Impl) {
    let mut lab = lab(
        label,
        "eth0",
        &[
            ("master", master_impl, "192.168.83.2/24"),
            ("slave", slave_impl, "192.168.83.3/24"),
        ],
        "192.168.83.10/24",
    );
    let mut nginx = Vec::new();
    for (node, seed) in [("master", SEED_003_MASTER), ("slave", SEED_003_SLAVE)] {
        let name = unique(&format!("ngx{label}{}", &node[..1]));
        let program = fake_program(&lab.node(node).dir, &name);
        // keepalived resolves a script's program with realpath(): `pidof`
        // is a symlink to killall5 on Debian 12, which then refuses the
        // process name ("only one argument, a signal number, allowed"), so
        // the seed's check always fails under keepalived (its issue #650;
        // the maintainers' advice is pgrep). lvsd runs `pidof` as written.
        let watch = match lab.node(node).imp {
            Impl::Lvsd => format!("pidof {name}"),
            Impl::Keepalived => format!("pgrep -x {name}"),
        };
        lab.node(node).write_conf(&adapt(
            seed,
            &[("172.20.128.", "192.168.83."), ("pidof nginx", &watch)],
        ));
        nginx.push(program);
    }
    let run_nginx = |lab: &Lab, node: &str, program: &Path| {
        lab.node(node)
            .ns
            .spawn(&[program.to_str().unwrap(), "3600"])
            .unwrap()
    };
    let mut master_nginx = Some(run_nginx(&lab, "master", &nginx[0]));
    let _slave_nginx = run_nginx(&lab, "slave", &nginx[1]);
    let (tcpdump, capture) = capture_vrrp(&lab);

    lab.node_mut("master").start();
    lab.master_is("master", VIP_003, ELECTED);
    lab.node_mut("slave").start();
    lab.stays("master", VIP_003, Duration::from_secs(1));
    lab.reaches(VIP_003, "master");

    // The master's nginx dies: chk_nginx (every 2 s) fails, FAULT.
    drop(master_nginx.take());
    lab.master_is("slave", VIP_003, Duration::from_secs(2) + TAKEOVER);

    // nginx is back: the master (200) preempts the slave (100).
    master_nginx = Some(run_nginx(&lab, "master", &nginx[0]));
    lab.master_is("master", VIP_003, Duration::from_secs(2) + TAKEOVER);
    drop(master_nginx);
    drop(tcpdump);

    // Every advert went to the peer only (none to 224.0.0.18, none to the
    // client), in both directions.
    let packets = captured(&capture);
    let master_ip = "192.168.83.2";
    let slave_ip = "192.168.83.3";
    for (source, destination) in &packets {
        let peer = if source == master_ip {
            slave_ip
        } else {
            master_ip
        };
        assert!(
            (source == master_ip || source == slave_ip) && destination == peer,
            "VRRP packet {source} > {destination}"
        );
    }
    for who in [master_ip, slave_ip] {
        assert!(
            packets.iter().filter(|(s, _)| s == who).count() >= 2,
            "too few adverts from {who}: {packets:?}"
        );
    }
}

#[test]
fn seed_003_unicast_lvsd_pair() {
    seed_003_unicast("s3l", Impl::Lvsd, Impl::Lvsd);
}

#[test]
fn seed_003_unicast_lvsd_master_keepalived_slave() {
    seed_003_unicast("s3k", Impl::Lvsd, Impl::Keepalived);
}

// ---------------------------------------------------------------------------
// 004-haproxy-ha and 004-dual-master: chk_haproxy (`killall -0 haproxy`,
// weight +2) and chk_mantaince_down (`[[ -f … ]] && exit 1 || exit 0`),
// track_interface eth0, notify_master/backup/fault. The seeds are written
// for the master; the backup's file follows their comments ("BACKUP for
// slave routers", "100 for BACKUP").
//
// keepalived 2.2.7 disables chk_mantaince_down: `[[` is a shell keyword, no
// program ("Cannot find script [[ in path - disabling"), so the effective
// priorities are 101 + 2 and 100 + 2 while haproxy runs.

const VIP_004: &str = "192.168.100.1";
const VIP_004_2: &str = "192.168.100.2";

/// The 004 substitutions for one director: addresses, /etc/keepalived/ (the
/// notify script and the maintenance flag), the watched haproxy.
fn adapt_004(seed: &str, node: &Node, haproxy: &str) -> String {
    let etc = format!("{}/", node.dir.display());
    let watch = format!("killall -0 {haproxy}");
    adapt(
        seed,
        &[
            ("172.16.", "192.168."),
            ("/etc/keepalived/", &etc),
            ("killall -0 haproxy", &watch),
        ],
    )
}

/// notify.sh: appends its argument (master, backup, fault) to notify.log.
fn notify_script(node: &Node) {
    write_executable(
        &node.dir.join("notify.sh"),
        &format!(
            "#!/bin/sh\necho \"$1\" >> {}\n",
            node.dir.join("notify.log").display()
        ),
    );
}

fn effective_priority(node: &Node, instance: &str) -> Option<u64> {
    node.lvsd_instance(instance)
        .and_then(|i| i["effective_priority"].as_u64())
}

fn seed_004_haproxy(label: &str, a_impl: Impl, b_impl: Impl) {
    let mut lab = lab(
        label,
        "eth0",
        &[
            ("a", a_impl, "192.168.100.11/16"),
            ("b", b_impl, "192.168.100.12/16"),
        ],
        "192.168.100.10/16",
    );
    let mut haproxy = Vec::new();
    for node in ["a", "b"] {
        let name = unique(&format!("hap{label}{node}"));
        let program = fake_program(&lab.node(node).dir, &name);
        let mut conf = adapt_004(SEED_004_HAPROXY, lab.node(node), &name);
        if node == "b" {
            conf = adapt(
                &conf,
                &[
                    ("state MASTER", "state BACKUP"),
                    ("priority 101", "priority 100"),
                ],
            );
        }
        lab.node(node).write_conf(&conf);
        notify_script(lab.node(node));
        haproxy.push(program);
    }
    let run = |lab: &Lab, node: &str, program: &Path| {
        lab.node(node)
            .ns
            .spawn(&[program.to_str().unwrap(), "3600"])
            .unwrap()
    };
    let mut a_haproxy = Some(run(&lab, "a", &haproxy[0]));
    let _b_haproxy = run(&lab, "b", &haproxy[1]);

    lab.node_mut("a").start();
    lab.master_is("a", VIP_004, ELECTED);
    lab.node_mut("b").start();
    lab.stays("a", VIP_004, Duration::from_secs(1));
    assert_label(&lab, "a", VIP_004, "16", "eth0:0");
    for (node, expected) in [("a", 103), ("b", 102)] {
        if lab.node(node).imp == Impl::Lvsd {
            assert!(
                within(Duration::from_secs(3), || effective_priority(
                    lab.node(node),
                    "VI_1"
                ) == Some(expected)),
                "{node}: effective priority {:?}, expected {expected}",
                effective_priority(lab.node(node), "VI_1")
            );
        }
    }
    lab.reaches(VIP_004, "a");

    // haproxy dies on a: 101 < 102, b takes over.
    drop(a_haproxy.take());
    lab.master_is("b", VIP_004, Duration::from_secs(1) + TAKEOVER);
    assert_label(&lab, "b", VIP_004, "16", "eth0:0");

    // haproxy is back: a (103) preempts.
    a_haproxy = Some(run(&lab, "a", &haproxy[0]));
    lab.master_is("a", VIP_004, Duration::from_secs(1) + TAKEOVER);

    // a's eth0 goes down (track_interface): FAULT; b takes over.
    lab.node("a").link(false);
    lab.master_is("b", VIP_004, TAKEOVER);

    // The link is back: a leaves FAULT and preempts.
    lab.node("a").link(true);
    lab.master_is("a", VIP_004, ELECTED);

    // a stops (SIGTERM): b within its skew time.
    lab.node_mut("a").terminate();
    lab.master_is("b", VIP_004, Duration::from_secs(3));
    drop(a_haproxy);

    // The notify scripts ran once per transition, in order (the same order
    // keepalived gives its own scripts).
    let a = lab.node("a").notify_log();
    let b = lab.node("b").notify_log();
    assert_eq!(
        a,
        ["backup", "master", "backup", "master", "fault", "backup", "master"],
        "a ({:?})",
        lab.node("a").imp
    );
    assert_eq!(
        b,
        ["backup", "master", "backup", "master", "backup", "master"],
        "b ({:?})",
        lab.node("b").imp
    );
}

#[test]
fn seed_004_haproxy_lvsd_pair() {
    seed_004_haproxy("s4l", Impl::Lvsd, Impl::Lvsd);
}

#[test]
fn seed_004_haproxy_lvsd_master_keepalived_backup() {
    seed_004_haproxy("s4k", Impl::Lvsd, Impl::Keepalived);
}

fn seed_004_dual_master(label: &str, a_impl: Impl, b_impl: Impl) {
    let mut lab = lab(
        label,
        "eth0",
        &[
            ("a", a_impl, "192.168.100.11/16"),
            ("b", b_impl, "192.168.100.12/16"),
        ],
        "192.168.100.10/16",
    );
    let mut haproxy = Vec::new();
    for node in ["a", "b"] {
        let name = unique(&format!("hap{label}{node}"));
        let program = fake_program(&lab.node(node).dir, &name);
        let mut conf = adapt_004(SEED_004_DUAL, lab.node(node), &name);
        if node == "b" {
            // b is VI_1's backup and VI_2's master.
            conf = swap(
                &conf,
                "state MASTER  ## BACKUP for slave routers\n    priority 101",
                "state BACKUP  ## BACKUP for slave routers\n    priority 100",
            );
        }
        lab.node(node).write_conf(&conf);
        notify_script(lab.node(node));
        haproxy.push(program);
    }
    let run = |lab: &Lab, node: &str, program: &Path| {
        lab.node(node)
            .ns
            .spawn(&[program.to_str().unwrap(), "3600"])
            .unwrap()
    };
    let mut a_haproxy = Some(run(&lab, "a", &haproxy[0]));
    let _b_haproxy = run(&lab, "b", &haproxy[1]);

    // a alone holds both; b arrives and preempts VI_2 (103 > 102).
    lab.node_mut("a").start();
    lab.master_is("a", VIP_004, ELECTED);
    lab.master_is("a", VIP_004_2, Duration::from_secs(1));
    lab.node_mut("b").start();
    lab.master_is("b", VIP_004_2, ELECTED);
    lab.stays("a", VIP_004, Duration::from_secs(1));
    assert_label(&lab, "a", VIP_004, "16", "eth0:0");
    assert_label(&lab, "b", VIP_004_2, "16", "eth0:1");
    lab.reaches(VIP_004, "a");
    lab.reaches(VIP_004_2, "b");

    // haproxy dies on a: VI_1 goes to b (102 > 101), which holds both.
    drop(a_haproxy.take());
    lab.master_is("b", VIP_004, Duration::from_secs(1) + TAKEOVER);
    lab.reaches(VIP_004_2, "b");

    // haproxy is back on a: VI_1 returns to a.
    a_haproxy = Some(run(&lab, "a", &haproxy[0]));
    lab.master_is("a", VIP_004, Duration::from_secs(1) + TAKEOVER);
    lab.reaches(VIP_004_2, "b");

    // b's link goes down: a takes VI_2 as well.
    lab.node("b").link(false);
    lab.master_is("a", VIP_004_2, TAKEOVER);
    lab.reaches(VIP_004, "a");

    // b's link is back: b preempts VI_2; dual master again.
    lab.node("b").link(true);
    lab.master_is("b", VIP_004_2, ELECTED);
    lab.reaches(VIP_004, "a");
    drop(a_haproxy);
}

#[test]
fn seed_004_dual_master_lvsd_pair() {
    seed_004_dual_master("s4dl", Impl::Lvsd, Impl::Lvsd);
}

#[test]
fn seed_004_dual_master_lvsd_a_keepalived_b() {
    seed_004_dual_master("s4dk", Impl::Lvsd, Impl::Keepalived);
}
