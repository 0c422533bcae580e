//! lvsd's VRRP instance against the real keepalived (Debian 2.2.7), in
//! network namespaces on one bridge: election, takeover after a graceful
//! stop (priority 0) and after a crash, in both roles, v2 multicast with
//! auth PASS and v3 unicast; hostile packets dropped and counted.
//! Addresses exist only inside the test namespaces.

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

const VIP: &str = "192.168.77.100";

/// An lvsd VRRP instance running on its own thread inside a namespace.
struct LvsdNode {
    handle: InstanceHandle,
    shutdown: watch::Sender<bool>,
    crash: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LvsdNode {
    fn start(ns: &Netns, config: InstanceConfig) -> Self {
        let path = ns.path();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (crash, crash_rx) = oneshot::channel::<()>();
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
                tokio::select! {
                    result = &mut run => result.expect("instance"),
                    // A crash: the future is dropped, nothing is cleaned up.
                    _ = crash_rx => {}
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
            thread: Some(thread),
        }
    }

    fn state(&self) -> State {
        *self.handle.state.borrow()
    }

    /// SIGTERM equivalent: resign with priority 0 and remove the VIPs.
    fn stop(mut self) {
        self.shutdown.send_replace(true);
        if let Some(t) = self.thread.take() {
            t.join().expect("instance thread");
        }
    }

    /// SIGKILL equivalent: the instance vanishes silently, VIPs stay.
    fn crash(mut self) {
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

struct Pair {
    lan: Lan,
    lvsd_ns: Netns,
    ka_ns: Netns,
    dir: tempfile::TempDir,
}

fn pair(label: &str) -> Pair {
    let lan = Lan::new(&format!("{label}-lan")).expect("lan");
    let lvsd_ns = Netns::new(&format!("{label}-l")).expect("netns");
    let ka_ns = Netns::new(&format!("{label}-k")).expect("netns");
    for (ns, addr) in [(&lvsd_ns, "192.168.77.1/24"), (&ka_ns, "192.168.77.2/24")] {
        lan.attach(ns, "eth0").expect("attach");
        ns.addr("eth0", addr).expect("addr");
        ns.ip(&["link", "set", "lo", "up"]).expect("lo");
    }
    Pair {
        lan,
        lvsd_ns,
        ka_ns,
        dir: tempfile::tempdir().expect("tempdir"),
    }
}

/// keepalived's configuration for the same instance.
fn keepalived_conf(version: Version, priority: u8, unicast: bool) -> String {
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

fn lvsd_config(version: Version, priority: u8, unicast: bool) -> InstanceConfig {
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

fn start_keepalived(ns: &Netns, dir: &Path, conf: &str) -> ChildGuard {
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
fn signal_keepalived(ns: &Netns, signal: &str) {
    for pid in ns.pids() {
        let _ = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status();
    }
}

fn has_vip(ns: &Netns) -> bool {
    ns.sh("ip -4 addr show dev eth0")
        .map(|out| out.contains(&format!("inet {VIP}/")))
        .unwrap_or(false)
}

/// Polls `condition` every 10 ms until it holds; returns how long it took.
fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) -> Duration {
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

#[test]
fn v2_multicast_lvsd_master_keepalived_backup_then_takeover() {
    let p = pair("vrrp-v2");
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V2, 100, false),
    );
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, 150, false));
    // Election: the higher priority (lvsd) wins, only it holds the VIP.
    wait_for("lvsd master", Duration::from_secs(8), || {
        lvsd.state() == State::Master
    });
    wait_for("VIP on lvsd", Duration::from_secs(2), || {
        has_vip(&p.lvsd_ns)
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !has_vip(&p.ka_ns),
        "keepalived holds the VIP while lvsd is master"
    );
    assert_eq!(lvsd.state(), State::Master);
    // Graceful stop: priority 0, keepalived takes over after its skew time (0.61 s).
    lvsd.stop();
    assert!(!has_vip(&p.lvsd_ns), "lvsd left the VIP behind");
    let took = wait_for("keepalived takeover", Duration::from_secs(2), || {
        has_vip(&p.ka_ns)
    });
    assert!(took < Duration::from_millis(1500), "takeover took {took:?}");
    // lvsd comes back with the higher priority and preempts.
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, 150, false));
    wait_for("lvsd preempts", Duration::from_secs(8), || {
        lvsd.state() == State::Master
    });
    wait_for("keepalived releases", Duration::from_secs(3), || {
        !has_vip(&p.ka_ns)
    });
    // Crash: keepalived waits the master-down interval (3 × 1 s + skew).
    lvsd.crash();
    let took = wait_for(
        "keepalived takeover after crash",
        Duration::from_secs(6),
        || has_vip(&p.ka_ns),
    );
    assert!(
        took >= Duration::from_secs(2),
        "took over too early: {took:?}"
    );
    drop(p.lan);
}

#[test]
fn v3_unicast_keepalived_master_lvsd_backup_then_takeover_after_sigkill() {
    let p = pair("vrrp-v3u");
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V3, 150, true),
    );
    wait_for("keepalived master", Duration::from_secs(5), || {
        has_vip(&p.ka_ns)
    });
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V3, 100, true));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        lvsd.state(),
        State::Backup,
        "lvsd must stay backup to a higher master"
    );
    assert!(!has_vip(&p.lvsd_ns));
    assert!(has_vip(&p.ka_ns));
    assert!(
        lvsd.handle.counters.dropped().is_empty(),
        "{:?}",
        lvsd.handle.counters.dropped()
    );
    // SIGKILL of keepalived: lvsd takes over after 3 × 0.1 s + skew (0.36 s).
    signal_keepalived(&p.ka_ns, "-KILL");
    let took = wait_for("lvsd takeover", Duration::from_secs(2), || {
        has_vip(&p.lvsd_ns)
    });
    assert_eq!(lvsd.state(), State::Master);
    assert!(took < Duration::from_millis(1000), "takeover took {took:?}");
    lvsd.stop();
    drop(p.lan);
}

#[test]
fn v3_multicast_keepalived_resigns_with_sigterm_and_lvsd_takes_over_within_skew() {
    let p = pair("vrrp-v3m");
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V3, 150, false),
    );
    wait_for("keepalived master", Duration::from_secs(5), || {
        has_vip(&p.ka_ns)
    });
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V3, 100, false));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lvsd.state(), State::Backup);
    signal_keepalived(&p.ka_ns, "-TERM");
    // Priority 0 → lvsd waits only its skew time, 156/256 × 0.1 s ≈ 61 ms.
    let took = wait_for("lvsd takeover", Duration::from_secs(2), || {
        has_vip(&p.lvsd_ns)
    });
    assert!(took < Duration::from_millis(500), "takeover took {took:?}");
    lvsd.stop();
    drop(p.lan);
}
