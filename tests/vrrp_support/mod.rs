//! Shared helpers of the VRRP namespace tests: an lvsd instance on its own
//! thread inside a namespace, a keepalived peer, a LAN of two directors.
#![allow(dead_code)]

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use integration::netns::{ChildGuard, Lan, Netns};
use lvsd::vrrp::config::{InstanceConfig, VirtualAddress};
use lvsd::vrrp::instance::{self, InstanceHandle};
use lvsd::vrrp::machine::State;
use lvsd::vrrp::packet::Version;
use tokio::sync::{oneshot, watch};

pub const VIP: &str = "192.168.77.100";

/// How long to block an instance's thread, and whom to tell when it ends.
type Stall = (Duration, std::sync::mpsc::Sender<()>);

/// An lvsd VRRP instance running on its own thread inside a namespace.
pub struct LvsdNode {
    pub handle: InstanceHandle,
    shutdown: watch::Sender<bool>,
    crash: Option<oneshot::Sender<()>>,
    /// Blocks the instance's thread for a while (a process not scheduled).
    stall: tokio::sync::mpsc::UnboundedSender<Stall>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LvsdNode {
    pub fn start(ns: &Netns, config: InstanceConfig) -> Self {
        let path = ns.path();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (crash, mut crash_rx) = oneshot::channel::<()>();
        let (stall, mut stall_rx) = tokio::sync::mpsc::unbounded_channel::<Stall>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let file = File::open(&path).expect("open netns");
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let (handle_tx, handle_rx) = oneshot::channel();
                let run = instance::run(config, shutdown_rx, Some(handle_tx));
                tokio::pin!(run);
                tokio::select! {
                    handle = handle_rx => {
                        ready_tx.send(handle.expect("instance started")).expect("ready");
                    }
                    result = &mut run => panic!("instance ended early: {result:?}"),
                }
                loop {
                    tokio::select! {
                        result = &mut run => break result.expect("instance"),
                        // A crash: the future is dropped, nothing is cleaned up.
                        _ = &mut crash_rx => break,
                        Some((pause, done)) = stall_rx.recv() => {
                            // Blocks the runtime's only thread: nothing of the
                            // instance runs, its sockets and timer fill up.
                            std::thread::sleep(pause);
                            let _ = done.send(());
                        }
                    }
                }
            });
        });
        let handle = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("instance ready");
        LvsdNode {
            handle,
            shutdown,
            crash: Some(crash),
            stall,
            thread: Some(thread),
        }
    }

    /// Freezes the instance for `pause` (as if its process were not
    /// scheduled) and returns when it runs again.
    pub fn stall(&self, pause: Duration) {
        let (done, wait) = std::sync::mpsc::channel();
        self.stall.send((pause, done)).expect("instance thread");
        wait.recv().expect("stall ended");
    }

    pub fn state(&self) -> State {
        *self.handle.state.borrow()
    }

    /// SIGTERM equivalent: resign with priority 0 and remove the VIPs.
    pub fn stop(mut self) {
        self.shutdown.send_replace(true);
        if let Some(t) = self.thread.take() {
            t.join().expect("instance thread");
        }
    }

    /// SIGKILL equivalent: the instance vanishes silently, VIPs stay.
    pub fn crash(mut self) {
        if let Some(c) = self.crash.take() {
            let _ = c.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("instance thread");
        }
    }
}

impl Drop for LvsdNode {
    fn drop(&mut self) {
        if let Some(c) = self.crash.take() {
            let _ = c.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct Pair {
    pub lan: Lan,
    pub lvsd_ns: Netns,
    pub ka_ns: Netns,
    /// A client on the same LAN (192.168.77.10): probes, injected packets.
    pub client: Netns,
    pub dir: tempfile::TempDir,
}

pub fn pair(label: &str) -> Pair {
    let lan = Lan::new(&format!("{label}-lan")).expect("lan");
    let lvsd_ns = Netns::new(&format!("{label}-l")).expect("netns");
    let ka_ns = Netns::new(&format!("{label}-k")).expect("netns");
    let client = Netns::new(&format!("{label}-c")).expect("netns");
    for (ns, addr) in [
        (&lvsd_ns, "192.168.77.1/24"),
        (&ka_ns, "192.168.77.2/24"),
        (&client, "192.168.77.10/24"),
    ] {
        lan.attach(ns, "eth0").expect("attach");
        ns.addr("eth0", addr).expect("addr");
        ns.ip(&["link", "set", "lo", "up"]).expect("lo");
    }
    Pair {
        lan,
        lvsd_ns,
        ka_ns,
        client,
        dir: tempfile::tempdir().expect("tempdir"),
    }
}

/// keepalived's configuration for the same instance.
pub fn keepalived_conf(version: Version, priority: u8, unicast: bool) -> String {
    let (interval, auth) = match version {
        Version::V2 => (
            "1",
            "    authentication {\n        auth_type PASS\n        auth_pass s3cr3t\n    }\n",
        ),
        Version::V3 => ("0.1", ""),
    };
    let unicast = if unicast {
        "    unicast_src_ip 192.168.77.2\n    unicast_peer {\n        192.168.77.1\n    }\n"
    } else {
        ""
    };
    format!(
        "global_defs {{\n    vrrp_version {v}\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    advert_int {interval}\n{unicast}{auth}    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n",
        v = if version == Version::V2 { 2 } else { 3 },
    )
}

pub fn lvsd_config(version: Version, priority: u8, unicast: bool) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, "eth0");
    c.version = version;
    c.priority = priority;
    match version {
        Version::V2 => c.auth_pass = Some("s3cr3t".into()),
        Version::V3 => c.advert_int_cs = 10,
    }
    if unicast {
        c.unicast_src = Some(IpAddr::V4(Ipv4Addr::new(192, 168, 77, 1)));
        c.unicast_peers = vec![IpAddr::V4(Ipv4Addr::new(192, 168, 77, 2))];
        c.check_unicast_src = true;
    }
    let mut vip = VirtualAddress::host(IpAddr::V4(VIP.parse().expect("vip")));
    vip.prefix_len = 24;
    c.vips = vec![vip];
    c
}

pub fn start_keepalived(ns: &Netns, dir: &Path, conf: &str) -> ChildGuard {
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, conf).expect("write conf");
    let p = |name: &str| dir.join(name).display().to_string();
    ns.spawn(&[
        "keepalived",
        "-n",
        "-D",
        "-G",
        "-P",
        "-f",
        &p("keepalived.conf"),
        "-p",
        &p("ka.pid"),
        "-r",
        &p("ka-vrrp.pid"),
    ])
    .expect("keepalived")
}

/// Kills every keepalived process of the namespace with `signal`.
pub fn signal_keepalived(ns: &Netns, signal: &str) {
    let pids: Vec<String> = ns.pids().iter().map(u32::to_string).collect();
    if signal == "-KILL" {
        // A real crash: stop every process first, so that the VRRP child
        // cannot react to its parent's death (keepalived's PDEATHSIG makes
        // it resign with priority 0 otherwise) and the parent cannot respawn it.
        let _ = Command::new("kill").arg("-STOP").args(&pids).status();
    }
    let _ = Command::new("kill").arg(signal).args(&pids).status();
}

pub fn has_vip(ns: &Netns) -> bool {
    ns.sh("ip -4 addr show dev eth0")
        .map(|out| out.contains(&format!("inet {VIP}/")))
        .unwrap_or(false)
}

/// Polls `condition` every 10 ms until it holds; returns how long it took.
pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

/// The MAC address of `dev` in `ns`.
pub fn mac_of(ns: &Netns, dev: &str) -> String {
    ns.sh(&format!("ip -br link show dev {dev}"))
        .expect("mac")
        .split_whitespace()
        .find(|w| w.len() == 17 && w.matches(':').count() == 5)
        .expect("a MAC address")
        .to_string()
}

/// `client`'s neighbour entry (lladdr) for `address`, if any.
pub fn neighbour(client: &Netns, address: &str) -> Option<String> {
    let out = client.sh(&format!("ip neigh show {address}")).ok()?;
    let words: Vec<&str> = out.split_whitespace().collect();
    words
        .iter()
        .position(|w| *w == "lladdr")
        .and_then(|i| words.get(i + 1))
        .map(|m| m.to_string())
}

/// The client's neighbour entry for the VIP (lladdr), if any.
pub fn client_neighbour(client: &Netns) -> Option<String> {
    neighbour(client, VIP)
}

pub const VIP6: &str = "fd00:77::100";

/// Gives the pair's namespaces IPv6 addresses and waits until their
/// link-local addresses have finished duplicate address detection.
pub fn add_ipv6(p: &Pair) {
    for (ns, addr) in [
        (&p.lvsd_ns, "fd00:77::1/64"),
        (&p.ka_ns, "fd00:77::2/64"),
        (&p.client, "fd00:77::10/64"),
    ] {
        ns.ip(&["addr", "add", addr, "dev", "eth0", "nodad"])
            .expect("ipv6 addr");
    }
    for ns in [&p.lvsd_ns, &p.ka_ns, &p.client] {
        wait_for("link-local address", Duration::from_secs(5), || {
            ns.sh("ip -6 addr show dev eth0 scope link")
                .is_ok_and(|out| out.contains("fe80::") && !out.contains("tentative"))
        });
    }
}

pub fn keepalived_conf_v6(priority: u8) -> String {
    format!(
        "global_defs {{\n    vrrp_version 3\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_instance VI_6 {{\n    state BACKUP\n    interface eth0\n    native_ipv6\n    \
         virtual_router_id 52\n    priority {priority}\n    advert_int 0.1\n    \
         virtual_ipaddress {{\n        {VIP6}/64\n    }}\n}}\n"
    )
}

pub fn lvsd_config_v6(priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_6", 52, "eth0");
    c.version = Version::V3;
    c.family = lvsd::vrrp::packet::Family::Ipv6;
    c.priority = priority;
    c.advert_int_cs = 10;
    let mut vip = VirtualAddress::host(IpAddr::V6(VIP6.parse().expect("vip6")));
    vip.prefix_len = 64;
    c.vips = vec![vip];
    c
}

pub fn has_vip6(ns: &Netns) -> bool {
    ns.sh("ip -6 addr show dev eth0")
        .map(|out| out.contains(&format!("inet6 {VIP6}/")))
        .unwrap_or(false)
}

/// The client's IPv6 neighbour entry for the VIP (lladdr), if any.
pub fn client_neighbour6(client: &Netns) -> Option<String> {
    neighbour(client, VIP6)
}
