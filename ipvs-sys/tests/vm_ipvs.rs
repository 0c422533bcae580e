//! ipvs-sys against the real kernel (runs inside the VM; feature `vm-tests`).
//! Every test programs its own network namespace (IPVS state is per namespace)
//! and reads every change back twice: through ipvs-sys and through the real
//! `ipvsadm` 1.31, the judge of what is in the kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ipvs_sys::format::{self, ListMode, ListOptions, ServiceEntry};
use ipvs_sys::*;

mod support;
use support::*;

/// Every `ipvsadm -L` column mode, with ipvs-sys's equivalent.
const MODES: [(ListMode, &[&str]); 6] = [
    (ListMode::Default, &[]),
    (ListMode::Stats, &["--stats"]),
    (ListMode::Rate, &["--rate"]),
    (ListMode::Thresholds, &["--thresholds"]),
    (ListMode::PersistentConn, &["--persistent-conn"]),
    (ListMode::TunInfo, &["--tun-info"]),
];

/// ipvs-sys's rendering equals ipvsadm's in every listing mode, with and
/// without `--exact`, for the whole table and for each single service.
fn assert_listings_match(ns: &Ns, c: &mut Client) {
    let t = table(c);
    let info = c.info().unwrap();
    for (mode, flags) in MODES {
        for exact in [false, true] {
            let mut args = vec!["-Ln"];
            args.extend_from_slice(flags);
            if exact {
                args.push("--exact");
            }
            let o = ListOptions {
                mode,
                exact,
                ..ListOptions::default()
            };
            assert_eq!(format::list(&info, &t, &o), ns.ipvsadm(&args), "{args:?}");
        }
    }
    for entry in &t {
        let (opt, arg) = single_service_args(&entry.0.key);
        let mut args = vec!["-Ln", opt, &arg];
        if entry.0.key.family() == Family::V6 && opt == "-f" {
            args.push("-6");
        }
        for (mode, flags) in MODES {
            let mut args = args.clone();
            args.extend_from_slice(flags);
            let o = ListOptions {
                mode,
                ..ListOptions::default()
            };
            let one = (
                c.service(&entry.0.key).unwrap(),
                c.dests(&entry.0.key).unwrap(),
            );
            assert_eq!(format::list_one(&one, &o), ns.ipvsadm(&args), "{args:?}");
        }
    }
    assert_eq!(format::save(&t), ns.ipvsadm(&["-S", "-n"]));
}

fn single_service_args(key: &ServiceKey) -> (&'static str, String) {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let opt = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            (opt, format::addrport(addr, *port))
        }
        ServiceKey::Fwmark { mark, .. } => ("-f", mark.to_string()),
    }
}

#[test]
fn feature_table_written_by_ipvs_sys_reads_back_identically() {
    let ns = Ns::new("table");
    let mut c = ns.client();
    apply_rules(&mut c, RULES);
    // The kernel, as ipvsadm sees it, holds exactly the rules.
    assert_eq!(ns.ipvsadm(&["-S", "-n"]), RULES);
    // ipvs-sys reads back exactly what it programmed.
    let want: Vec<ServiceEntry> = {
        let mut want = Vec::new();
        for op in rules::parse(RULES).unwrap() {
            match op {
                Op::AddService(s) => want.push((s, Vec::new())),
                Op::AddDest(k, d) => {
                    let entry = want.iter_mut().find(|(s, _)| s.key == k).unwrap();
                    entry.1.push(d);
                }
                other => panic!("unexpected op {other:?}"),
            }
        }
        programmed(want)
    };
    let mut got = programmed(table(&mut c));
    // A destination on a local address is reported as LOCALNODE.
    for (s, ds) in &mut got {
        for d in ds {
            if d.fwd == FwdMethod::Local {
                assert_eq!(d.key.addr.to_string(), "10.255.255.254", "{s:?}");
                d.fwd = FwdMethod::Route;
            }
        }
    }
    assert_eq!(got, want);
    apply_rules(&mut c, THRESHOLDS);
    let th = ns.ipvsadm(&["-Ln", "--thresholds"]);
    assert!(th.contains(&format!(
        "  -> {:<28} {:<10} {:<10} ",
        "10.1.1.1:8080", 100, 10
    )));
    assert!(th.contains(&format!(
        "  -> {:<28} {:<10} {:<10} ",
        "[2001:db8:1::2]:8080", 5000, 0
    )));
    assert_listings_match(&ns, &mut c);
}

#[test]
fn table_written_by_ipvsadm_decodes_like_ours() {
    let theirs = Ns::new("theirs");
    theirs.restore_with_ipvsadm(RULES);
    let ours = Ns::new("ours");
    let mut ours_client = ours.client();
    apply_rules(&mut ours_client, RULES);
    let mut their_client = theirs.client();
    assert_eq!(
        programmed(table(&mut their_client)),
        programmed(table(&mut ours_client))
    );
    assert_listings_match(&theirs, &mut their_client);
}

#[test]
fn edits_and_deletes_read_back() {
    let ns = Ns::new("edit");
    let mut c = ns.client();
    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: "10.2.0.1".parse().unwrap(),
        port: 80,
    };
    c.add_service(&Service::new(key, "rr")).unwrap();
    let mut d = Dest::new("10.2.1.1".parse().unwrap(), 80, FwdMethod::Masq);
    c.add_dest(&key, &d).unwrap();
    c.add_dest(
        &key,
        &Dest::new("10.2.1.2".parse().unwrap(), 80, FwdMethod::Route),
    )
    .unwrap();

    let mut s = Service::new(key, "sh");
    s.flags = ServiceFlags(ServiceFlags::SCHED2);
    s.persistence = Some(Persistence {
        timeout: 100,
        netmask: 0xffff_0000,
    });
    c.edit_service(&s).unwrap();
    let got = c.service(&key).unwrap();
    assert_eq!(got.scheduler, "sh");
    assert_eq!(got.persistence, s.persistence);
    assert!(got
        .flags
        .has(ServiceFlags::SCHED2 | ServiceFlags::PERSISTENT));
    assert_eq!(
        ns.ipvsadm(&["-S", "-n"]).lines().next().unwrap(),
        "-A -t 10.2.0.1:80 -s sh -p 100 -M 255.255.0.0 -b sh-port"
    );

    d.weight = 7;
    d.u_threshold = 50;
    d.l_threshold = 20;
    c.edit_dest(&key, &d).unwrap();
    let back = c.dests(&key).unwrap();
    let back = back.iter().find(|x| x.key == d.key).unwrap();
    assert_eq!(
        (back.weight, back.u_threshold, back.l_threshold),
        (7, 50, 20)
    );
    assert!(ns.ipvsadm(&["-Ln", "--thresholds"]).contains(&format!(
        "  -> {:<28} {:<10} {:<10} ",
        "10.2.1.1:80", 50, 20
    )));
    assert_listings_match(&ns, &mut c);

    c.del_dest(&key, &d.key).unwrap();
    assert_eq!(c.dests(&key).unwrap().len(), 1);
    assert!(!ns.ipvsadm(&["-Ln"]).contains("10.2.1.1:80"));
    c.del_service(&key).unwrap();
    assert!(c.services().unwrap().is_empty());
    assert_eq!(ns.ipvsadm(&["-S", "-n"]), "");
}

#[test]
fn error_paths_are_typed_and_leave_table_unchanged() {
    let ns = Ns::new("err");
    let mut c = ns.client();
    let tcp = |a: &str| ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: a.parse().unwrap(),
        port: 80,
    };
    let key = tcp("10.2.0.1");
    c.add_service(&Service::new(key, "rr")).unwrap();
    let dest = Dest::new("10.2.1.1".parse().unwrap(), 80, FwdMethod::Masq);
    c.add_dest(&key, &dest).unwrap();
    let before = ns.ipvsadm(&["-S", "-n"]);
    let before_typed = programmed(table(&mut c));

    let e = c.add_service(&Service::new(key, "wlc")).unwrap_err();
    assert!(matches!(&e, Error::ServiceExists(k) if *k == key), "{e:?}");
    assert_eq!(e.to_string(), "service TCP 10.2.0.1:80 already exists");

    let missing = tcp("10.2.0.2");
    let e = c.del_service(&missing).unwrap_err();
    assert!(
        matches!(&e, Error::NoSuchService(k) if *k == missing),
        "{e:?}"
    );
    let e = c.add_dest(&missing, &dest).unwrap_err();
    assert!(
        matches!(&e, Error::NoSuchService(k) if *k == missing),
        "{e:?}"
    );

    let e = c.add_dest(&key, &dest).unwrap_err();
    assert!(matches!(&e, Error::DestExists { .. }), "{e:?}");
    let other = DestKey {
        addr: "10.2.1.9".parse().unwrap(),
        port: 80,
    };
    let e = c.del_dest(&key, &other).unwrap_err();
    assert!(matches!(&e, Error::NoSuchDest { .. }), "{e:?}");

    let e = c
        .add_service(&Service::new(tcp("10.2.0.3"), "foo"))
        .unwrap_err();
    assert!(
        matches!(&e, Error::NoSuchScheduler(s) if s == "foo"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "scheduler \"foo\" is not available (kernel module ip_vs_foo missing)"
    );
    let mut with_pe = Service::new(tcp("10.2.0.4"), "rr");
    with_pe.persistence = Some(Persistence {
        timeout: 60,
        netmask: u32::MAX,
    });
    with_pe.pe_name = Some("foo".into());
    let e = c.add_service(&with_pe).unwrap_err();
    assert!(matches!(&e, Error::NoSuchSchedulerOrPe { .. }), "{e:?}");

    // A batch reports which operations failed; the others are applied.
    let ok = tcp("10.2.0.5");
    let ops = [
        Op::AddService(Service::new(key, "rr")),
        Op::AddService(Service::new(ok, "rr")),
        Op::AddService(Service::new(tcp("10.2.0.6"), "foo")),
        Op::DelService(ok),
    ];
    let e = c.apply(&ops).unwrap_err();
    assert_eq!(e.total, 4);
    let failed: Vec<usize> = e.failures.iter().map(|f| f.0).collect();
    assert_eq!(failed, vec![0, 2]);
    assert!(matches!(e.failures[0].1, Error::ServiceExists(_)));
    assert!(matches!(e.failures[1].1, Error::NoSuchScheduler(_)));

    assert_eq!(ns.ipvsadm(&["-S", "-n"]), before);
    assert_eq!(programmed(table(&mut c)), before_typed);
}

#[test]
fn timeouts_zero_and_flush() {
    let ns = Ns::new("misc");
    let mut c = ns.client();
    let defaults = c.timeouts().unwrap();
    assert_eq!(
        format::timeouts(&defaults),
        ns.ipvsadm(&["-L", "--timeout"])
    );
    c.set_timeouts(&Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    })
    .unwrap();
    let t = c.timeouts().unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (901, 121, 301));
    assert_eq!(
        ns.ipvsadm(&["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 901 121 301\n"
    );
    assert_eq!(format::timeouts(&t), ns.ipvsadm(&["-L", "--timeout"]));
    // 0 leaves a value unchanged.
    c.set_timeouts(&Timeouts {
        tcp: 0,
        tcp_fin: 0,
        udp: 50,
    })
    .unwrap();
    let t = c.timeouts().unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (901, 121, 50));

    let info = c.info().unwrap();
    assert_eq!(
        ns.ipvsadm(&["-Ln"]).lines().next().unwrap(),
        format!(
            "IP Virtual Server version {}.{}.{} (size={})",
            info.version_triple().0,
            info.version_triple().1,
            info.version_triple().2,
            info.conn_tab_size
        )
    );

    apply_rules(&mut c, RULES);
    c.zero(None).unwrap();
    c.zero(Some(&ServiceKey::Fwmark {
        family: Family::V4,
        mark: 7,
    }))
    .unwrap();
    assert_eq!(ns.ipvsadm(&["-S", "-n"]), RULES);
    c.flush().unwrap();
    assert!(c.services().unwrap().is_empty());
    assert_eq!(ns.ipvsadm(&["-S", "-n"]), "");
}

#[test]
fn sync_daemons_start_list_stop() {
    let ns = Ns::new("sync");
    let mut c = ns.client();
    assert!(c.daemons().unwrap().is_empty());
    assert_eq!(format::daemons(&[]), ns.ipvsadm(&["-L", "--daemon"]));
    let master = Daemon {
        state: DaemonState::Master,
        mcast_ifn: "dummy0".into(),
        sync_id: 5,
        sync_maxlen: Some(1200),
        mcast_group: Some("239.1.2.3".parse().unwrap()),
        mcast_port: Some(8849),
        mcast_ttl: Some(3),
        unknown: Vec::new(),
    };
    c.start_daemon(&master).unwrap();
    let backup = Daemon {
        state: DaemonState::Backup,
        mcast_ifn: "dummy0".into(),
        sync_id: 9,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
        unknown: Vec::new(),
    };
    c.start_daemon(&backup).unwrap();
    let listed = c.daemons().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let m = listed
        .iter()
        .find(|d| d.state == DaemonState::Master)
        .unwrap();
    assert_eq!(
        (
            &m.mcast_ifn[..],
            m.sync_id,
            m.sync_maxlen,
            m.mcast_group,
            m.mcast_port,
            m.mcast_ttl
        ),
        (
            "dummy0",
            5,
            Some(1200),
            master.mcast_group,
            Some(8849),
            Some(3)
        )
    );
    let b = listed
        .iter()
        .find(|d| d.state == DaemonState::Backup)
        .unwrap();
    assert_eq!((&b.mcast_ifn[..], b.sync_id), ("dummy0", 9));
    let text = ns.ipvsadm(&["-L", "--daemon"]);
    assert!(
        text.contains("master sync daemon (mcast=dummy0, syncid=5"),
        "{text}"
    );
    assert_eq!(format::daemons(&listed), text);

    let e = c.start_daemon(&master).unwrap_err();
    assert!(matches!(e, Error::Kernel { errno: 17, .. }), "{e:?}");

    c.stop_daemon(DaemonState::Master).unwrap();
    let left = c.daemons().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].state, DaemonState::Backup);
    assert_eq!(format::daemons(&left), ns.ipvsadm(&["-L", "--daemon"]));
    c.stop_daemon(DaemonState::Backup).unwrap();
    assert!(c.daemons().unwrap().is_empty());
    assert_eq!(ns.ipvsadm(&["-L", "--daemon"]), "");
}

/// Client namespace → director (NAT service) → server namespace; real TCP
/// exchanges make non-zero counters, which must list identically.
#[test]
fn traffic_counters_list_like_ipvsadm() {
    let lab = NatLab::new();
    let mut c = lab.director.client();
    let t = lab.exchange_and_wait_counters(&mut c, 5);
    let director = &lab.director;
    // Rates move every 2 s (the kernel estimator); a listing pair that
    // straddles an update is taken again.
    let info = c.info().unwrap();
    for (mode, flags) in MODES {
        for exact in [false, true] {
            let mut args = vec!["-Ln"];
            args.extend_from_slice(flags);
            if exact {
                args.push("--exact");
            }
            let o = ListOptions {
                mode,
                exact,
                ..ListOptions::default()
            };
            let mut last = None;
            for _ in 0..5 {
                let ours = format::list(&info, &table(&mut c), &o);
                let theirs = director.ipvsadm(&args);
                if ours == theirs {
                    last = None;
                    break;
                }
                last = Some((ours, theirs));
            }
            if let Some((ours, theirs)) = last {
                assert_eq!(ours, theirs, "{args:?}");
            }
        }
    }
    let key = t[0].0.key;
    c.zero(Some(&key)).unwrap();
    let zeroed = c.service(&key).unwrap().stats.unwrap();
    assert_eq!((zeroed.conns, zeroed.inpkts, zeroed.outbytes), (0, 0, 0));
    assert!(director
        .ipvsadm(&["-Ln", "--stats"])
        .contains(&format!("{:<33}{:>9}{:>9}", "TCP  192.168.50.1:80", 0, 0)));
}

/// `Client::table` dumps destinations over a socket of its own with a small
/// receive length, two datagrams per receive: a large table, and a service
/// whose destinations span several datagrams (60 of ~356 bytes against a
/// 4 KiB receive length), read back the same as one dump per service on the
/// client's own socket, and as ipvsadm.
#[test]
fn large_table_dumps_over_the_dump_socket_like_one_by_one() {
    let ns = Ns::new("large");
    let mut c = ns.client();
    let mut rules = String::new();
    for s in 0..300u32 {
        let vip = format!("10.3.{}.{}:80", s / 250, s % 250);
        rules.push_str(&format!("-A -t {vip} -s wlc\n"));
        for d in 1..=3 {
            rules.push_str(&format!(
                "-a -t {vip} -r 10.4.{}.{d}:8080 -m -w {d}\n",
                s % 250
            ));
        }
    }
    rules.push_str("-A -t 10.3.9.9:443 -s rr\n");
    for d in 1..=60 {
        rules.push_str(&format!("-a -t 10.3.9.9:443 -r 10.5.0.{d}:8443 -m -w 1\n"));
    }
    apply_rules(&mut c, &rules);
    let dumped = c.table().unwrap();
    assert_eq!(dumped.len(), 301);
    assert!(dumped.iter().any(|(_, d)| d.len() == 60));
    assert_eq!(dumped, table(&mut c));
    assert_eq!(format::save(&dumped), ns.ipvsadm(&["-S", "-n"]));
    // A receive length too small for the kernel's dump datagrams (one
    // destination is ~356 bytes): each cut datagram is seen and the service
    // dumped again with the client's own length, nothing lost.
    c.set_dump_recv_len(256);
    assert_eq!(c.table().unwrap(), dumped);
}
