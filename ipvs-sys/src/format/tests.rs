//! Formatter tests. Expected text comes from ipvsadm 1.31's printf formats (as
//! compiled into Debian's /usr/sbin/ipvsadm) and REFERENCE.md's sample listing;
//! byte-for-byte goldens from the real ipvsadm are added in the VM phase.

use super::*;

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: addr.parse().unwrap(),
        port,
    }
}

fn info() -> Info {
    Info {
        version: 0x010201,
        conn_tab_size: 4096,
    }
}

#[test]
fn reference_sample_listing() {
    let s = Service::new(tcp("10.0.0.1", 80), "wrr");
    let mut d = Dest::new("10.0.0.2".parse().unwrap(), 80, FwdMethod::Route);
    d.weight = 3;
    let got = list(&info(), &[(s, vec![d])], &ListOptions::default());
    let want = concat!(
        "IP Virtual Server version 1.2.1 (size=4096)\n",
        "Prot LocalAddress:Port Scheduler Flags\n",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        "TCP  10.0.0.1:80 wrr\n",
        "  -> 10.0.0.2:80                  Route   3      0          0         \n",
    );
    assert_eq!(got, want);
}

#[test]
fn service_flags_persistence_mask_pe_ops() {
    let mut s = Service::new(tcp("10.0.0.1", 0), "sh");
    s.flags = ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::ONEPACKET);
    s.persistence = Some(Persistence {
        timeout: 300,
        netmask: 0xffff_ff00,
    });
    s.pe_name = Some("sip".into());
    let got = list_one(&(s.clone(), vec![]), &ListOptions::default());
    assert!(got.ends_with(
        "TCP  10.0.0.1:0 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0 pe sip ops\n"
    ));
    assert!(!got.starts_with("IP Virtual Server"));
    assert_eq!(
        save(&[(s, vec![])]),
        "-A -t 10.0.0.1:0 -s sh -p 300 -M 255.255.255.0 --pe sip -o -b sh-fallback,sh-port\n"
    );
}

#[test]
fn other_schedulers_use_generic_flag_names() {
    let mut s = Service::new(
        ServiceKey::Fwmark {
            family: Family::V6,
            mark: 7,
        },
        "rr",
    );
    s.flags = ServiceFlags(ServiceFlags::SCHED3);
    s.persistence = Some(Persistence {
        timeout: 60,
        netmask: 64,
    });
    let got = list_one(&(s, vec![]), &ListOptions::default());
    assert!(got.ends_with("FWM  7 IPv6 rr (flag-3) persistent 60 mask 64\n"));
}

#[test]
fn largenum_units_and_exact() {
    let mut s = String::new();
    largenum(&mut s, 99_999_999, false);
    largenum(&mut s, 123_456_789, false);
    largenum(&mut s, 1_234_567_890, false);
    // "%9llu", "%8lluK", "%8lluM"
    assert_eq!(s, " 99999999  123456K    1234M");
    let mut e = String::new();
    largenum(&mut e, 5, true);
    largenum(&mut e, 1_234_567_890, true);
    assert_eq!(e, "        5 1234567890");
}

#[test]
fn stats_mode_columns() {
    let mut s = Service::new(tcp("10.0.0.1", 80), "rr");
    s.stats = Some(Stats {
        conns: 1,
        inpkts: 2,
        outpkts: 3,
        inbytes: 4,
        outbytes: 5,
        ..Stats::default()
    });
    let o = ListOptions {
        mode: ListMode::Stats,
        ..ListOptions::default()
    };
    let got = list(&info(), &[(s, vec![])], &o);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        lines[1],
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes"
    );
    assert_eq!(lines[2], "  -> RemoteAddress:Port");
    assert_eq!(
        lines[3],
        // "%-33s" then "%9llu" per counter.
        format!(
            "TCP  10.0.0.1:80{}1        2        3        4        5",
            " ".repeat(17 + 8)
        )
    );
}

#[test]
fn sorting_follows_libipvs() {
    let a = Service::new(tcp("10.0.0.2", 80), "rr");
    let b = Service::new(tcp("10.0.0.1", 81), "rr");
    let c = Service::new(
        ServiceKey::Fwmark {
            family: Family::V4,
            mark: 1,
        },
        "rr",
    );
    let u = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "10.0.0.0".parse().unwrap(),
            port: 1,
        },
        "rr",
    );
    let got = save(&[(c, vec![]), (u, vec![]), (a, vec![]), (b, vec![])]);
    let firsts: Vec<&str> = got.lines().map(|l| l.split(' ').nth(2).unwrap()).collect();
    // fwmark 0 (address services) before fwmark 1; TCP(6) before UDP(17); then address.
    assert_eq!(firsts, ["10.0.0.1:81", "10.0.0.2:80", "10.0.0.0:1", "1"]);
}

#[test]
fn tunnel_rules_and_info() {
    let s = Service::new(tcp("10.0.0.1", 80), "wlc");
    let gue = Dest::new(
        "10.0.0.3".parse().unwrap(),
        80,
        FwdMethod::Tunnel {
            tun_type: TunnelType::Gue,
            port: 6080,
            flags: tun_flags::REMCSUM,
        },
    );
    let nat = Dest::new("10.0.0.2".parse().unwrap(), 8080, FwdMethod::Masq);
    let entries = [(s, vec![gue, nat])];
    assert_eq!(
        save(&entries),
        "-A -t 10.0.0.1:80 -s wlc\n\
-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 1\n\
-a -t 10.0.0.1:80 -r 10.0.0.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum\n"
    );
    let o = ListOptions {
        mode: ListMode::TunInfo,
        ..ListOptions::default()
    };
    let got = list(&info(), &entries, &o);
    assert!(got.contains(
        "  -> 10.0.0.3:80                  Tunnel  gue:6080:r+c  1      0          0         \n"
    ));
}

#[test]
fn timeout_and_daemon_lines() {
    assert_eq!(
        timeouts(&Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
    let d = Daemon {
        state: DaemonState::Master,
        mcast_ifn: "eth0".into(),
        sync_id: 3,
        sync_maxlen: Some(1472),
        mcast_group: Some("224.0.0.81".parse().unwrap()),
        mcast_port: Some(8848),
        mcast_ttl: Some(1),
        unknown: vec![],
    };
    assert_eq!(
        daemons(&[d]),
        "master sync daemon (mcast=eth0, syncid=3, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
    );
}

/// Names as /etc/hosts and /etc/services would give them.
struct Table;

impl Names for Table {
    fn host(&self, addr: &IpAddr) -> Option<String> {
        match addr.to_string().as_str() {
            "10.0.0.3" => Some("web-vip.example".into()),
            "10.0.1.1" => Some("real-one".into()),
            "2001:db8::3" => Some("v6-vip".into()),
            "10.0.1.9" => Some("a-very-long-host-name-for-a-real-server.example".into()),
            _ => None,
        }
    }

    fn service(&self, port: u16, protocol: Protocol) -> Option<String> {
        match (port, protocol) {
            (80, Protocol::Tcp) => Some("http".into()),
            (53, Protocol::Udp) => Some("domain".into()),
            (5672, Protocol::Sctp) => Some("amqp".into()),
            _ => None,
        }
    }
}

/// The shapes are those of the real ipvsadm 1.31's `-L` in the VM (names
/// from /etc/hosts and Debian's /etc/services); tests/vm_ipvs_cli.rs compares
/// whole listings byte for byte.
#[test]
fn names_replace_numbers_where_lookups_succeed() {
    let mut web = Service::new(tcp("10.0.0.3", 80), "rr");
    web.persistence = None;
    let dests = vec![
        Dest::new("10.0.1.1".parse().unwrap(), 80, FwdMethod::Route),
        Dest::new("10.0.1.2".parse().unwrap(), 80, FwdMethod::Route),
        Dest::new("10.0.1.9".parse().unwrap(), 80, FwdMethod::Route),
    ];
    let udp80 = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "10.0.0.3".parse().unwrap(),
            port: 80,
        },
        "rr",
    );
    let v6 = Service::new(tcp("2001:db8::3", 80), "rr");
    let v6_dest = Dest::new("2001:db8::1".parse().unwrap(), 80, FwdMethod::Route);
    let fwm = Service::new(
        ServiceKey::Fwmark {
            family: Family::V4,
            mark: 7,
        },
        "rr",
    );
    let fwm_dest = Dest::new("10.0.1.1".parse().unwrap(), 80, FwdMethod::Route);
    let got = list_named(
        &info(),
        &[
            (web, dests),
            (udp80, vec![]),
            (v6, vec![v6_dest]),
            (fwm, vec![fwm_dest]),
        ],
        &ListOptions::default(),
        &Table,
    );
    let lines: Vec<&str> = got.lines().skip(3).collect();
    assert_eq!(
        lines,
        [
            "TCP  web-vip.example:http rr",
            "  -> real-one:http                Route   1      0          0         ",
            "  -> 10.0.1.2:http                Route   1      0          0         ",
            // dname[28] = '\0': a long name is cut to the column.
            "  -> a-very-long-host-name-for-a- Route   1      0          0         ",
            // No service name for udp/80: the number stays.
            "UDP  web-vip.example:80 rr",
            "TCP  [v6-vip]:http rr",
            "  -> [2001:db8::1]:http           Route   1      0          0         ",
            // A fwmark service has no protocol: its ports stay numbers.
            "FWM  7 rr",
            "  -> real-one:80                  Route   1      0          0         ",
        ]
    );
    // Without names the listing is the numeric one.
    let plain = list_named(&info(), &[], &ListOptions::default(), &Numeric);
    assert_eq!(plain, list(&info(), &[], &ListOptions::default()));
}

#[test]
fn a_cut_never_splits_a_character() {
    let mut s = "ab\u{e9}cd".to_string(); // é is two bytes, at 2..4
    truncate_from(&mut s, 0, 3);
    assert_eq!(s, "ab");
    // Only what was appended since `start` counts.
    let mut s = "xx ab\u{e9}cd".to_string();
    truncate_from(&mut s, 3, 4);
    assert_eq!(s, "xx ab\u{e9}");
    truncate_from(&mut s, 3, 9);
    assert_eq!(s, "xx ab\u{e9}");
}

/// printf's "%-28s" pads by bytes: a name with a two-byte character gets
/// one space less than a character count would give.
#[test]
fn columns_are_padded_by_bytes_like_printf() {
    struct Accented;
    impl Names for Accented {
        fn host(&self, _: &IpAddr) -> Option<String> {
            Some("caf\u{e9}".into())
        }
        fn service(&self, _: u16, _: Protocol) -> Option<String> {
            None
        }
    }
    let svc = Service::new(tcp("10.0.0.3", 80), "rr");
    let dest = Dest::new("10.0.1.1".parse().unwrap(), 80, FwdMethod::Masq);
    let got = list_one_named(&(svc, vec![dest]), &ListOptions::default(), &Accented);
    let line = got.lines().nth(3).unwrap();
    // "café:80" is 8 bytes and 7 characters: 20 spaces, not 21.
    assert_eq!(
        line,
        "  -> caf\u{e9}:80".to_string() + &" ".repeat(20) + " Masq    1      0          0         "
    );
    assert_eq!(line.len(), 5 + 28 + 1 + 7 + 1 + 6 + 1 + 10 + 1 + 10);
}

#[test]
fn numbers_are_written_like_printf() {
    let mut s = String::new();
    push_uint(&mut s, 0);
    s.push(' ');
    push_uint(&mut s, u64::MAX);
    s.push(' ');
    push_int(&mut s, i64::from(i32::MIN));
    s.push(' ');
    push_col_int(&mut s, -7, 6);
    s.push('|');
    assert_eq!(s, "0 18446744073709551615 -2147483648 -7    |");
    let mut a = String::new();
    push_addr(&mut a, &"0.255.10.100".parse().unwrap());
    a.push(' ');
    push_addr(&mut a, &"2001:db8::1".parse().unwrap());
    assert_eq!(a, "0.255.10.100 2001:db8::1");
}
