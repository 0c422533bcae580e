//! VM tests against a real kernel with ip_vs. Each test runs in its own network
//! namespace (created with `ip netns add`, removed on drop) and reads every change
//! back through ipvs-sys and through the real `ipvsadm` (Debian 1.31).
//! Built only with `--features vm-tests`. NOT YET RUN: the VM harness was not
//! ready when this was written; expect fixes once it runs.
#![allow(clippy::unwrap_used)]

use ipvs_sys::format::{self, ListMode, ListOptions};
use ipvs_sys::*;
use std::process::Command;

struct Netns(String);

impl Netns {
    fn new(label: &str) -> Netns {
        let name = format!("ipvs-{label}-{}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(st.success(), "ip netns add {name}");
        Netns(name)
    }
    fn client(&self) -> Client {
        Client::in_netns(std::path::Path::new(&format!("/run/netns/{}", self.0))).unwrap()
    }
    fn ipvsadm(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, "ipvsadm"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "ipvsadm {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn tcp(a: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: a.parse().unwrap(),
        port,
    }
}

fn table(c: &mut Client) -> Vec<format::ServiceEntry> {
    let mut v = Vec::new();
    for s in c.services().unwrap() {
        let d = c.dests(&s.key).unwrap();
        v.push((s, d));
    }
    v
}

const SCHEDULERS: [&str; 13] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf",
];

#[test]
fn every_scheduler_and_method_matches_ipvsadm() {
    let ns = Netns::new("all");
    let mut c = ns.client();
    let mut ops = Vec::new();
    for (i, sched) in SCHEDULERS.iter().enumerate() {
        let key = tcp("10.1.0.1", 1000 + i as u16);
        let mut s = Service::new(key, *sched);
        if *sched == "sh" || *sched == "mh" {
            s.flags = ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::SCHED2);
        }
        if i % 3 == 0 {
            s.persistence = Some(Persistence {
                timeout: 120,
                netmask: 0xffff_ff00,
            });
        }
        ops.push(Op::AddService(s));
        let mut d = Dest::new("10.1.1.1".parse().unwrap(), 80, FwdMethod::Masq);
        d.weight = 2;
        d.u_threshold = 100;
        d.l_threshold = 10;
        ops.push(Op::AddDest(key, d));
        ops.push(Op::AddDest(
            key,
            Dest::new(
                "10.1.1.2".parse().unwrap(),
                1000 + i as u16,
                FwdMethod::Tunnel {
                    tun_type: TunnelType::Gue,
                    port: 6080,
                    flags: tun_flags::CSUM,
                },
            ),
        ));
    }
    let v6 = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: "2001:db8::1".parse().unwrap(),
        port: 53,
    };
    let mut s6 = Service::new(v6, "wlc");
    s6.persistence = Some(Persistence {
        timeout: 60,
        netmask: 64,
    });
    ops.push(Op::AddService(s6));
    ops.push(Op::AddDest(
        v6,
        Dest::new("2001:db8::2".parse().unwrap(), 53, FwdMethod::Route),
    ));
    let fw = ServiceKey::Fwmark {
        family: Family::V4,
        mark: 7,
    };
    let mut sf = Service::new(fw, "rr");
    sf.flags = ServiceFlags(ServiceFlags::ONEPACKET);
    ops.push(Op::AddService(sf));
    c.apply(&ops).unwrap();

    let t = table(&mut c);
    assert_eq!(t.len(), 15);
    let info = c.info().unwrap();
    for mode in [
        ListMode::Default,
        ListMode::Stats,
        ListMode::Rate,
        ListMode::Thresholds,
        ListMode::PersistentConn,
        ListMode::TunInfo,
    ] {
        let flag = match mode {
            ListMode::Default => None,
            ListMode::Stats => Some("--stats"),
            ListMode::Rate => Some("--rate"),
            ListMode::Thresholds => Some("--thresholds"),
            ListMode::PersistentConn => Some("--persistent-conn"),
            ListMode::TunInfo => Some("--tun-info"),
        };
        let mut args = vec!["-Ln"];
        args.extend(flag);
        let o = ListOptions {
            mode,
            ..ListOptions::default()
        };
        assert_eq!(
            format::list(&info, &t, &o),
            ns.ipvsadm(&args),
            "mode {mode:?}"
        );
    }
    assert_eq!(format::save(&t), ns.ipvsadm(&["-S", "-n"]));
}

#[test]
fn error_paths_are_typed_and_leave_table_unchanged() {
    let ns = Netns::new("err");
    let mut c = ns.client();
    let key = tcp("10.2.0.1", 80);
    c.add_service(&Service::new(key, "rr")).unwrap();
    let before = ns.ipvsadm(&["-Ln"]);
    assert!(matches!(
        c.add_service(&Service::new(key, "rr")),
        Err(Error::ServiceExists(k)) if k == key
    ));
    let missing = tcp("10.2.0.2", 80);
    assert!(matches!(
        c.del_service(&missing),
        Err(Error::NoSuchService(k)) if k == missing
    ));
    let e = c
        .add_service(&Service::new(tcp("10.2.0.3", 80), "foo"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "scheduler \"foo\" is not available (kernel module ip_vs_foo missing)"
    );
    assert_eq!(ns.ipvsadm(&["-Ln"]), before);
}

#[test]
fn timeouts_zero_and_flush() {
    let ns = Netns::new("misc");
    let mut c = ns.client();
    c.set_timeouts(&Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    })
    .unwrap();
    let t = c.timeouts().unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (901, 121, 301));
    assert_eq!(format::timeouts(&t), ns.ipvsadm(&["-L", "--timeout"]));
    c.add_service(&Service::new(tcp("10.3.0.1", 80), "rr"))
        .unwrap();
    c.zero(None).unwrap();
    c.flush().unwrap();
    assert!(c.services().unwrap().is_empty());
}
