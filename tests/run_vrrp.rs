//! `lvsd run --vrrp-only` as a process, beside a real keepalived, in
//! network namespaces on the host (which has no IPVS: --vrrp-only must not
//! need it). It takes the VIP as the higher priority, reports its state on
//! the control socket, keeps its VIP through a reload of an unchanged
//! configuration (keepalived issue #2159), restarts an instance whose
//! configuration changed, and resigns on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod vrrp_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration::netns::{ChildGuard, Lan, Netns};
use lvsd::vrrp::packet::Version;
use vrrp_support::*;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

/// The lvsd node's keepalived.conf: VRRPv3, 0.1 s adverts.
fn lvsd_conf(priority: u8) -> String {
    format!(
        "global_defs {{ vrrp_version 3 }}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.1
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"
    )
}

fn status(socket: &Path) -> serde_json::Value {
    let out = Command::new(LVSD)
        .args(["status", "--json", "--socket", socket.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn reload(socket: &Path) -> String {
    let out = Command::new(LVSD)
        .args(["reload", "--socket", socket.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `lvsd run --vrrp-only [extra] -f CONF --control-socket SOCKET` in `ns`,
/// started through `launcher` (e.g. `env NAME=VALUE`; empty for none).
fn run_vrrp_only_with(
    ns: &Netns,
    launcher: &[&str],
    conf: &Path,
    socket: &Path,
    extra: &[&str],
) -> ChildGuard {
    let mut argv = launcher.to_vec();
    argv.extend([LVSD, "run", "--vrrp-only"]);
    argv.extend_from_slice(extra);
    argv.extend([
        "-f",
        conf.to_str().unwrap(),
        "--control-socket",
        socket.to_str().unwrap(),
    ]);
    ns.spawn(&argv).unwrap()
}

/// `lvsd run --vrrp-only [extra] -f CONF --control-socket SOCKET` in `ns`.
fn run_vrrp_only(ns: &Netns, conf: &Path, socket: &Path, extra: &[&str]) -> ChildGuard {
    run_vrrp_only_with(ns, &[], conf, socket, extra)
}

/// SIGTERM, then a clean exit.
fn terminate(daemon: &mut ChildGuard) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.pid()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(daemon.child().wait().unwrap().success());
}

#[test]
fn lvsd_run_vrrp_only_beside_keepalived() {
    let p = pair("runv");
    let ka_dir = p.dir.path().join("ka");
    std::fs::create_dir(&ka_dir).unwrap();
    let _ka = start_keepalived(&p.ka_ns, &ka_dir, &keepalived_conf(Version::V3, 100, false));
    let conf = p.dir.path().join("lvsd.conf");
    let socket = p.dir.path().join("lvsd.sock");
    std::fs::write(&conf, lvsd_conf(150)).unwrap();
    // systemd's side of sd_notify(3).
    let notify_path = p.dir.path().join("notify.sock");
    let systemd = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let next_notify = || {
        let mut buf = [0u8; 512];
        let n = systemd.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let notify_env = format!("NOTIFY_SOCKET={}", notify_path.display());
    let mut daemon = run_vrrp_only_with(&p.lvsd_ns, &["env", &notify_env], &conf, &socket, &[]);

    // The higher priority wins: lvsd holds the VIP, keepalived does not.
    wait_for("lvsd to hold the VIP", Duration::from_secs(10), || {
        has_vip(&p.lvsd_ns)
    });
    wait_for("keepalived to be backup", Duration::from_secs(5), || {
        !has_vip(&p.ka_ns)
    });
    wait_for("the control socket", Duration::from_secs(5), || {
        socket.exists()
    });
    assert!(next_notify().starts_with("READY=1"));
    let s = status(&socket);
    assert_eq!(s["vrrp"][0]["name"], "VI_1");
    assert_eq!(s["vrrp"][0]["state"], "MASTER");
    // As master, the master is this node, and it advertises.
    assert_eq!(s["vrrp"][0]["master"], "192.168.77.1");
    assert_eq!(s["vrrp"][0]["effective_priority"], 150);
    assert!(s["vrrp"][0]["adverts_sent"].as_u64().unwrap() > 0, "{s}");
    let transitions = s["vrrp"][0]["transitions"].clone();

    // Reload, unchanged: the instance keeps running, state and VIP kept.
    let out = reload(&socket);
    assert_eq!(out.trim(), "reloaded: no change");
    assert!(next_notify().starts_with("RELOADING=1\nMONOTONIC_USEC="));
    assert!(next_notify().starts_with("READY=1"));
    assert!(has_vip(&p.lvsd_ns));
    let s = status(&socket);
    assert_eq!(s["vrrp"][0]["state"], "MASTER");
    assert_eq!(
        s["vrrp"][0]["transitions"], transitions,
        "the instance flapped"
    );

    // Reload with a lower priority: the instance restarts and keepalived
    // (100, preempting) takes the VIP.
    std::fs::write(&conf, lvsd_conf(90)).unwrap();
    let out = reload(&socket);
    assert!(
        out.contains("vrrp_instance VI_1: changed, restarted"),
        "{out}"
    );
    wait_for("keepalived to take over", Duration::from_secs(10), || {
        has_vip(&p.ka_ns)
    });
    wait_for("lvsd to be backup", Duration::from_secs(5), || {
        status(&socket)["vrrp"][0]["state"] == "BACKUP"
    });
    assert!(!has_vip(&p.lvsd_ns));
    // As backup, the master is keepalived's node, heard in its adverts.
    wait_for("lvsd to hear keepalived", Duration::from_secs(5), || {
        status(&socket)["vrrp"][0]["master"] == "192.168.77.2"
    });
    let s = status(&socket);
    assert_eq!(s["vrrp"][0]["effective_priority"], 90);
    assert!(
        s["vrrp"][0]["adverts_received"].as_u64().unwrap() > 0,
        "{s}"
    );

    // SIGTERM: lvsd exits cleanly; keepalived stays master.
    terminate(&mut daemon);
    // The second reload's pair, then the stop.
    assert!(next_notify().starts_with("RELOADING=1"));
    assert!(next_notify().starts_with("READY=1"));
    assert_eq!(next_notify(), "STOPPING=1");
    assert!(has_vip(&p.ka_ns));
    assert!(!socket.exists(), "the control socket is removed at exit");
}

/// `--dont-release-vrrp` (keepalived -V): at SIGTERM the master neither
/// resigns nor removes its VIP, so the address keeps answering; without it
/// the VIP goes at once (the test above).
#[test]
fn dont_release_vrrp_leaves_the_vip_at_exit() {
    let p = pair("runk");
    let conf = p.dir.path().join("lvsd.conf");
    let socket = p.dir.path().join("lvsd.sock");
    std::fs::write(&conf, lvsd_conf(150)).unwrap();
    let mut daemon = run_vrrp_only(&p.lvsd_ns, &conf, &socket, &["--dont-release-vrrp"]);
    wait_for("lvsd to hold the VIP", Duration::from_secs(10), || {
        has_vip(&p.lvsd_ns)
    });
    terminate(&mut daemon);
    assert!(has_vip(&p.lvsd_ns), "the VIP was released");
    // The client still reaches it.
    p.client
        .exec(&["ping", "-c", "1", "-W", "2", VIP])
        .expect("ping the VIP left in place");
}

/// A VIP with `dev` on another interface is announced there, with that
/// interface's MAC: after lvsd takes over from keepalived, a client on the
/// second LAN has the new master's eth1 MAC for the VIP without asking
/// again (keepalived sends each VIP's gratuitous ARP on the VIP's
/// interface; the NAT gateway of a director pair is such a VIP).
#[test]
fn a_vip_on_another_interface_is_announced_there() {
    let p = pair("rundev");
    let lan2 = Lan::new("rundev-lan2").unwrap();
    let client2 = Netns::new("rundev-c2").unwrap();
    for (ns, dev, addr) in [
        (&p.lvsd_ns, "eth1", "10.0.2.1/24"),
        (&p.ka_ns, "eth1", "10.0.2.2/24"),
        (&client2, "eth0", "10.0.2.10/24"),
    ] {
        lan2.attach(ns, dev).unwrap();
        ns.addr(dev, addr).unwrap();
    }
    let conf = |priority: u8| {
        format!(
            "global_defs {{ vrrp_version 3 script_user root enable_script_security }}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.1
    virtual_ipaddress {{
        {VIP}/24
        10.0.2.254/24 dev eth1
    }}
}}
"
        )
    };
    let gateway_neighbour = || neighbour(&client2, "10.0.2.254");
    let ka_dir = p.dir.path().join("ka");
    std::fs::create_dir(&ka_dir).unwrap();
    let _ka = start_keepalived(&p.ka_ns, &ka_dir, &conf(150));
    wait_for(
        "keepalived to hold the VIP",
        Duration::from_secs(10),
        || has_vip(&p.ka_ns),
    );
    client2
        .exec(&["ping", "-c", "1", "-W", "2", "10.0.2.254"])
        .expect("the gateway VIP answers");
    assert_eq!(gateway_neighbour(), Some(mac_of(&p.ka_ns, "eth1")));

    let lvsd_conf = p.dir.path().join("lvsd.conf");
    std::fs::write(&lvsd_conf, conf(100)).unwrap();
    let socket = p.dir.path().join("lvsd.sock");
    let _daemon = run_vrrp_only(&p.lvsd_ns, &lvsd_conf, &socket, &[]);
    wait_for("the control socket", Duration::from_secs(10), || {
        socket.exists()
    });
    signal_keepalived(&p.ka_ns, "-TERM");
    wait_for("lvsd to take over", Duration::from_secs(10), || {
        has_vip(&p.lvsd_ns)
    });
    // No traffic from the client: only lvsd's gratuitous ARP on eth1 can
    // move its entry.
    let lvsd_eth1 = mac_of(&p.lvsd_ns, "eth1");
    wait_for(
        "the client's gateway entry to move",
        Duration::from_secs(3),
        || gateway_neighbour().as_deref() == Some(lvsd_eth1.as_str()),
    );
}

/// keepalived puts an instance in FAULT when its own interface goes down,
/// with no track_interface needed, and leaves FAULT when it comes back.
#[test]
fn the_instance_interface_going_down_is_a_fault() {
    let p = pair("runf");
    let conf = p.dir.path().join("lvsd.conf");
    let socket = p.dir.path().join("lvsd.sock");
    std::fs::write(&conf, lvsd_conf(150)).unwrap();
    let _daemon = run_vrrp_only(&p.lvsd_ns, &conf, &socket, &[]);
    wait_for("lvsd to hold the VIP", Duration::from_secs(10), || {
        has_vip(&p.lvsd_ns)
    });
    wait_for("the control socket", Duration::from_secs(5), || {
        socket.exists()
    });
    p.lvsd_ns.ip(&["link", "set", "eth0", "down"]).unwrap();
    wait_for("FAULT", Duration::from_secs(5), || {
        status(&socket)["vrrp"][0]["state"] == "FAULT"
    });
    assert!(!has_vip(&p.lvsd_ns));
    p.lvsd_ns.ip(&["link", "set", "eth0", "up"]).unwrap();
    wait_for("MASTER again", Duration::from_secs(10), || {
        status(&socket)["vrrp"][0]["state"] == "MASTER" && has_vip(&p.lvsd_ns)
    });
}

/// `--log-format json`: every line the daemon logs is one JSON object with
/// its time, level and message (what log shippers read), the state
/// transitions among them.
#[test]
fn json_logs_are_one_object_per_line() {
    let p = pair("runj");
    let conf = p.dir.path().join("lvsd.conf");
    let socket = p.dir.path().join("lvsd.sock");
    let log = p.dir.path().join("lvsd.log");
    std::fs::write(&conf, lvsd_conf(150)).unwrap();
    // sh only redirects the daemon's stderr and becomes it (exec): the
    // child's pid is lvsd's.
    let redirect = [
        "sh",
        "-c",
        r#"log=$1; shift; exec "$@" 2>"$log""#,
        "sh",
        log.to_str().unwrap(),
    ];
    let json = ["--log-format", "json"];
    let mut daemon = run_vrrp_only_with(&p.lvsd_ns, &redirect, &conf, &socket, &json);
    wait_for("lvsd to hold the VIP", Duration::from_secs(10), || {
        has_vip(&p.lvsd_ns)
    });
    terminate(&mut daemon);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["level"].is_string(), "{line}");
        assert!(line["fields"]["message"].is_string(), "{line}");
    }
    let messages: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("VI_1: ") && m.ends_with("-> Master")),
        "{messages:?}"
    );
}
