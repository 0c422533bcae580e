//! Host tests (root) of the namespace harness: a three-namespace routed
//! topology carrying real TCP, a bridged LAN, and cleanup — also on panic —
//! that leaves nothing in the root namespace.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration::netns::{veth, Lan, Netns};

/// Interfaces, addresses and routes of the root namespace, to prove that
/// the harness never touches it.
fn root_snapshot() -> String {
    let mut s = String::new();
    for args in [
        &["-o", "link", "show"][..],
        &["-o", "addr", "show"],
        &["route", "show", "table", "all"],
    ] {
        let out = Command::new("ip").args(args).output().unwrap();
        // Link counters and flags change under traffic; keep names and addresses only.
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let key: Vec<&str> = line.split_whitespace().take(4).collect();
            s.push_str(&key.join(" "));
            s.push('\n');
        }
    }
    s
}

#[test]
fn tcp_across_a_routed_three_namespace_topology() {
    let before = root_snapshot();
    let names;
    {
        let client = Netns::new("client").unwrap();
        let router = Netns::new("router").unwrap();
        let server = Netns::new("server").unwrap();
        names = [
            client.name().to_string(),
            router.name().to_string(),
            server.name().to_string(),
        ];

        // client 10.71.1.2 — 10.71.1.1 router 10.71.2.1 — 10.71.2.2 server
        veth(&client, "eth0", &router, "c0").unwrap();
        veth(&router, "s0", &server, "eth0").unwrap();
        client.addr("eth0", "10.71.1.2/24").unwrap();
        router.addr("c0", "10.71.1.1/24").unwrap();
        router.addr("s0", "10.71.2.1/24").unwrap();
        server.addr("eth0", "10.71.2.2/24").unwrap();
        client
            .ip(&["route", "add", "default", "via", "10.71.1.1"])
            .unwrap();
        server
            .ip(&["route", "add", "default", "via", "10.71.2.1"])
            .unwrap();
        router.sysctl("net.ipv4.ip_forward=1").unwrap();

        let listener = server
            .enter(|| TcpListener::bind("10.71.2.2:7000").unwrap())
            .unwrap();
        let echo = std::thread::spawn(move || {
            let (mut conn, peer) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf).unwrap();
            conn.write_all(&buf).unwrap();
            peer
        });
        let mut stream = client
            .enter(|| {
                TcpStream::connect_timeout(
                    &"10.71.2.2:7000".parse().unwrap(),
                    Duration::from_secs(5),
                )
            })
            .unwrap()
            .unwrap();
        stream.write_all(b"hello").unwrap();
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"hello");
        // The server saw the client's own address: the packet was routed, not NATed.
        assert_eq!(echo.join().unwrap().ip().to_string(), "10.71.1.2");

        // While they live, the namespaces exist.
        for n in &names {
            assert!(Path::new("/run/netns").join(n).exists());
        }
    }
    for n in &names {
        assert!(!Path::new("/run/netns").join(n).exists(), "{n} left behind");
    }
    assert_eq!(root_snapshot(), before, "the root namespace changed");
}

#[test]
fn hosts_on_a_bridged_lan_reach_each_other() {
    let lan = Lan::new("lan").unwrap();
    let a = Netns::new("a").unwrap();
    let b = Netns::new("b").unwrap();
    lan.attach(&a, "eth0").unwrap();
    lan.attach(&b, "eth0").unwrap();
    a.addr("eth0", "192.168.71.1/24").unwrap();
    b.addr("eth0", "192.168.71.2/24").unwrap();
    let out = a.exec(&["ping", "-c", "1", "-W", "5", "192.168.71.2"]);
    let out = match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => panic!("ping across the bridge failed: {e}"),
    };
    assert!(out.contains("1 received"), "{out}");
    // b learnt a's MAC through ARP over the bridge.
    let neigh = b.sh("ip neigh show 192.168.71.1").unwrap();
    assert!(neigh.contains("lladdr"), "{neigh}");
}

#[test]
fn namespace_and_its_processes_are_removed_on_panic() {
    let (name, pid) = std::thread::spawn(|| {
        let ns = Netns::new("panic").unwrap();
        let child = ns.spawn(&["sleep", "600"]).unwrap();
        let info = (ns.name().to_string(), child.pid());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _ns = ns;
            let _child = child;
            panic!("test failure inside the namespace");
        }));
        assert!(result.is_err());
        info
    })
    .join()
    .unwrap();
    assert!(
        !Path::new("/run/netns").join(&name).exists(),
        "{name} left behind"
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} left running"
    );
}

#[test]
fn processes_run_inside_their_namespace() {
    let ns = Netns::new("proc").unwrap();
    ns.ip(&[
        "link", "add", "dummy7", "type", "veth", "peer", "name", "dummy8",
    ])
    .unwrap();
    let links = ns.sh("ip -o link show").unwrap();
    assert!(links.contains("dummy7"), "{links}");
    let root = String::from_utf8(
        Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!root.contains("dummy7"));
}
