//! Codec tests. Expected bytes are built from the layout in ip_vs.h / netlink.h
//! (little-endian host: x86_64), not from this codec.

use super::*;
use proptest::prelude::*;

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A TLV built by hand: len (LE u16), type (LE u16), payload, zero padding.
fn tlv(ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((payload.len() + 4) as u16).to_le_bytes());
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(payload);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

#[test]
fn service_key_bytes_follow_ip_vs_h() {
    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: v4("10.1.2.3"),
        port: 80,
    };
    let got = request::service_key(&key);
    let mut inner = Vec::new();
    inner.extend(tlv(1, &[2, 0])); // IPVS_SVC_ATTR_AF = AF_INET
    inner.extend(tlv(2, &[6, 0])); // IPVS_SVC_ATTR_PROTOCOL = IPPROTO_TCP
    let mut addr = [0u8; 16];
    addr[..4].copy_from_slice(&[10, 1, 2, 3]);
    inner.extend(tlv(3, &addr)); // IPVS_SVC_ATTR_ADDR nf_inet_addr
    inner.extend(tlv(4, &[0, 80])); // IPVS_SVC_ATTR_PORT, network order
                                    // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED
    assert_eq!(got, tlv(1 | 0x8000, &inner));
}

#[test]
fn fwmark_key_has_no_addr() {
    let key = ServiceKey::Fwmark {
        family: Family::V6,
        mark: 0x0102_0304,
    };
    let got = request::service_key(&key);
    let mut inner = Vec::new();
    inner.extend(tlv(1, &[10, 0]));
    inner.extend(tlv(5, &0x0102_0304u32.to_le_bytes()));
    assert_eq!(got, tlv(1 | 0x8000, &inner));
}

fn full_service() -> Service {
    let mut s = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: v4("192.0.2.1"),
            port: 53,
        },
        "sh",
    );
    s.flags = ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::ONEPACKET);
    s.persistence = Some(Persistence {
        timeout: 300,
        netmask: 0xffff_ff00,
    });
    s.pe_name = Some("sip".into());
    s
}

#[test]
fn service_body_carries_flags_mask_and_netmask() {
    let s = full_service();
    let mut b = Vec::new();
    encode_service_body(&mut b, &s);
    let attrs = parse_attrs(&b).unwrap();
    let get = |t| attrs.iter().find(|(ty, _)| *ty == t).unwrap().1;
    assert_eq!(get(svc_attr::SCHED_NAME), b"sh\0");
    assert_eq!(get(svc_attr::PE_NAME), b"sip\0");
    // struct ip_vs_flags { flags; mask }: persistent|onepacket|sched1|sched2 = 0x1d
    assert_eq!(
        get(svc_attr::FLAGS),
        &[0x1d, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
    );
    assert_eq!(get(svc_attr::TIMEOUT), &300u32.to_le_bytes());
    // __be32 netmask 255.255.255.0
    assert_eq!(get(svc_attr::NETMASK), &[255, 255, 255, 0]);
}

#[test]
fn service_round_trip_with_stats_and_unknown() {
    let mut s = full_service();
    let mut b = Vec::new();
    encode_service_body(&mut b, &s);
    let st = Stats {
        conns: 7,
        inpkts: 1 << 40,
        outpkts: 3,
        inbytes: 1 << 50,
        outbytes: 5,
        cps: 1,
        inpps: 2,
        outpps: 3,
        inbps: 4,
        outbps: 5,
    };
    put_nested(&mut b, svc_attr::STATS64, |n| encode_stats(n, &st, true));
    put_attr(&mut b, 99, &[1, 2, 3]);
    let d = decode_service_body(&b).unwrap();
    s.flags = ServiceFlags(s.flags.0 | ServiceFlags::PERSISTENT);
    s.stats = Some(st);
    s.unknown = vec![(99, vec![1, 2, 3])];
    assert_eq!(d, s);
}

#[test]
fn stats32_fallback_widens_and_stats64_wins() {
    let mut b = Vec::new();
    encode_service_key(
        &mut b,
        &ServiceKey::Fwmark {
            family: Family::V4,
            mark: 1,
        },
    );
    put_str(&mut b, svc_attr::SCHED_NAME, "rr");
    let s32 = Stats {
        conns: 9,
        inbytes: 1 << 33,
        ..Stats::default()
    };
    put_nested(&mut b, svc_attr::STATS, |n| encode_stats(n, &s32, false));
    assert_eq!(decode_service_body(&b).unwrap().stats, Some(s32));
    let s64 = Stats {
        conns: 1 << 35,
        ..Stats::default()
    };
    put_nested(&mut b, svc_attr::STATS64, |n| encode_stats(n, &s64, true));
    assert_eq!(decode_service_body(&b).unwrap().stats, Some(s64));
}

#[test]
fn v6_service_prefix_is_plain_integer() {
    let mut s = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: "2001:db8::1".parse().unwrap(),
            port: 443,
        },
        "mh",
    );
    s.persistence = Some(Persistence {
        timeout: 60,
        netmask: 64,
    });
    let mut b = Vec::new();
    encode_service_body(&mut b, &s);
    let attrs = parse_attrs(&b).unwrap();
    let nm = attrs
        .iter()
        .find(|(t, _)| *t == svc_attr::NETMASK)
        .unwrap()
        .1;
    assert_eq!(nm, &64u32.to_le_bytes());
    let d = decode_service_body(&b).unwrap();
    assert_eq!(d.persistence, s.persistence);
    assert_eq!(d.key, s.key);
}

#[test]
fn dest_tunnel_bytes_and_round_trip() {
    let mut d = Dest::new(
        "2001:db8::5".parse().unwrap(),
        8080,
        FwdMethod::Tunnel {
            tun_type: TunnelType::Gue,
            port: 6080,
            flags: tun_flags::CSUM,
        },
    );
    d.weight = 3;
    d.u_threshold = 100;
    d.l_threshold = 10;
    let mut b = Vec::new();
    encode_dest_body(&mut b, &d);
    let attrs = parse_attrs(&b).unwrap();
    let get = |t| attrs.iter().find(|(ty, _)| *ty == t).unwrap().1;
    assert_eq!(get(dest_attr::ADDR_FAMILY), &[10, 0]);
    assert_eq!(get(dest_attr::PORT), &[0x1f, 0x90]);
    assert_eq!(get(dest_attr::FWD_METHOD), &[2, 0, 0, 0]);
    assert_eq!(get(dest_attr::TUN_TYPE), &[1]);
    assert_eq!(get(dest_attr::TUN_PORT), &6080u16.to_be_bytes());
    assert_eq!(get(dest_attr::TUN_FLAGS), &[1, 0]);
    assert_eq!(decode_dest_body(&b, Family::V4).unwrap(), d);
}

#[test]
fn dest_all_methods_round_trip() {
    for fwd in [
        FwdMethod::Masq,
        FwdMethod::Local,
        FwdMethod::Route,
        FwdMethod::Bypass,
    ] {
        let d = Dest::new(v4("10.0.0.9"), 80, fwd);
        let mut b = Vec::new();
        encode_dest_body(&mut b, &d);
        assert_eq!(decode_dest_body(&b, Family::V4).unwrap(), d);
    }
}

#[test]
fn dest_without_family_uses_service_family() {
    let mut b = Vec::new();
    put_attr(
        &mut b,
        dest_attr::ADDR,
        &[10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    put_attr(&mut b, dest_attr::PORT, &[0, 80]);
    put_attr(&mut b, dest_attr::FWD_METHOD, &3u32.to_le_bytes());
    let d = decode_dest_body(&b, Family::V4).unwrap();
    assert_eq!(d.key.addr, v4("10.0.0.1"));
    assert_eq!(d.fwd, FwdMethod::Route);
}

#[test]
fn daemon_round_trip() {
    let d = Daemon {
        state: DaemonState::Backup,
        mcast_ifn: "eth1".into(),
        sync_id: 7,
        sync_maxlen: Some(1400),
        mcast_group: Some("ff02::1:2".parse().unwrap()),
        mcast_port: Some(8848),
        mcast_ttl: Some(2),
        unknown: vec![],
    };
    let b = request::daemon(&d);
    assert_eq!(decode_daemon_msg(&b).unwrap(), d);
    let attrs = parse_attrs(find_attr(&b, cmd_attr::DAEMON).unwrap().unwrap()).unwrap();
    assert_eq!(attrs[0], (daemon_attr::STATE, &[2u8, 0, 0, 0][..]));
    assert_eq!(attrs[1], (daemon_attr::MCAST_IFN, &b"eth1\0"[..]));
}

#[test]
fn info_and_timeouts() {
    let mut b = Vec::new();
    encode_info(
        &mut b,
        &Info {
            version: 0x010201,
            conn_tab_size: 4096,
        },
    );
    let i = decode_info(&b).unwrap();
    assert_eq!(i.version_triple(), (1, 2, 1));
    assert_eq!(i.conn_tab_size, 4096);
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    let p = request::timeouts(&t);
    assert_eq!(
        &p[..8],
        &tlv(cmd_attr::TIMEOUT_TCP, &900u32.to_le_bytes())[..]
    );
    assert_eq!(decode_timeouts(&p).unwrap(), t);
}

/// Bytes produced by Debian 12's libnl-3.so.200 (3.7.0), called through Python
/// ctypes: nlmsg_alloc(); nla_nest_start(m, 1); nla_put_u16(m, 1, 2);
/// nla_nest_end(); then the nlmsghdr's nlmsg_len bytes, hex-dumped.
const LIBNL_NEST_U16: &str = "1c0000000000000000000000000000000c0001800600010002000000";

#[test]
fn nested_attribute_matches_libnl() {
    let mut b = Vec::new();
    put_nested(&mut b, 1, |n| put_attr(n, 1, &2u16.to_ne_bytes()));
    let libnl: Vec<u8> = (0..LIBNL_NEST_U16.len() / 2)
        .map(|i| u8::from_str_radix(&LIBNL_NEST_U16[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(&libnl[16..], &b[..]);
}

#[test]
fn nested_flag_bit_is_masked() {
    let mut inner = Vec::new();
    encode_service_key(
        &mut inner,
        &ServiceKey::Fwmark {
            family: Family::V4,
            mark: 3,
        },
    );
    put_str(&mut inner, svc_attr::SCHED_NAME, "wlc");
    let b = tlv(cmd_attr::SERVICE | NLA_F_NESTED, &inner);
    let s = decode_service_msg(&b).unwrap();
    assert_eq!(s.scheduler, "wlc");
}

#[test]
fn whole_message_round_trip() {
    let m = GenlMessage {
        nl_type: 0x1c,
        flags: NLM_F_REQUEST | NLM_F_ACK,
        seq: 42,
        pid: 0,
        cmd: cmd::NEW_SERVICE,
        version: GENL_VERSION,
        payload: request::service(&full_service()),
    };
    let bytes = m.encode();
    assert_eq!(&bytes[..4], &(bytes.len() as u32).to_le_bytes());
    assert_eq!(&bytes[16..20], &[cmd::NEW_SERVICE, 1, 0, 0]);
    let mut two = bytes.clone();
    // An ACK: nlmsghdr + nlmsgerr { error 0, original header }.
    let mut ack = Vec::new();
    ack.extend_from_slice(&36u32.to_le_bytes());
    ack.extend_from_slice(&NLMSG_ERROR.to_le_bytes());
    ack.extend_from_slice(&0u16.to_le_bytes());
    ack.extend_from_slice(&42u32.to_le_bytes());
    ack.extend_from_slice(&0u32.to_le_bytes());
    ack.extend_from_slice(&(-17i32).to_le_bytes());
    ack.extend_from_slice(&bytes[..16]);
    two.extend(ack);
    let msgs = decode_messages(&two).unwrap();
    // The borrowing iterator sees the same messages without copying them.
    let borrowed: Vec<NlMessageRef<'_>> = messages(&two).collect::<Result<_, _>>().unwrap();
    assert!(matches!(borrowed[0], NlMessageRef::Genl(g) if g.payload == m.payload.as_slice()));
    let owned: Vec<NlMessage> = borrowed.iter().map(NlMessageRef::to_owned).collect();
    assert_eq!(owned, msgs);
    assert_eq!(msgs[0], NlMessage::Genl(m));
    assert_eq!(
        msgs[1],
        NlMessage::Error {
            seq: 42,
            errno: -17
        }
    );
}

#[test]
fn attrs_yield_in_order_then_one_error_then_nothing() {
    let mut b = tlv(1 | NLA_F_NESTED, &[1, 2, 3]);
    b.extend(tlv(2, &[]));
    b.extend([12, 0, 3, 0, 9]); // claims 12 bytes, has 5
    let mut it = attrs(&b);
    assert_eq!(it.next(), Some(Ok((1, &[1u8, 2, 3][..]))));
    assert_eq!(it.next(), Some(Ok((2, &[][..]))));
    assert_eq!(it.next(), Some(Err(DecodeError::Truncated(12))));
    assert_eq!(it.next(), None);
    // A tail shorter than a header is ignored, as nla_for_each_attr does.
    let mut short = tlv(5, &[7]);
    short.extend([1, 0]);
    assert_eq!(parse_attrs(&short), Ok(vec![(5, &[7u8][..])]));
}

#[test]
fn messages_stop_after_a_bad_header() {
    let mut it = messages(&[1, 2, 3]);
    assert!(matches!(it.next(), Some(Err(DecodeError::Header(_)))));
    assert_eq!(it.next(), None);
}

#[test]
fn truncated_attr_is_error_not_panic() {
    assert_eq!(
        parse_attrs(&[8, 0, 1, 0, 0]),
        Err(DecodeError::Truncated(0))
    );
    assert!(decode_service_body(&[]).is_err());
    assert!(decode_messages(&[1, 2, 3]).is_err());
}

proptest! {
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_messages(&bytes);
        let _ = decode_service_body(&bytes);
        let _ = decode_dest_body(&bytes, Family::V6);
        let _ = decode_daemon_body(&bytes);
        let _ = decode_info(&bytes);
        let _ = decode_timeouts(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_wellformed_tlvs(
        attrs in proptest::collection::vec((0u16..20, proptest::collection::vec(any::<u8>(), 0..24)), 0..12)
    ) {
        let mut b = Vec::new();
        for (t, p) in &attrs { put_attr(&mut b, *t, p); }
        let _ = decode_service_body(&b);
        let _ = decode_dest_body(&b, Family::V4);
        let _ = decode_daemon_body(&b);
        let mut nested = Vec::new();
        put_attr(&mut nested, svc_attr::STATS64, &b);
        let _ = decode_service_body(&nested);
    }

    #[test]
    fn dest_round_trips(a in any::<[u8;4]>(), port in any::<u16>(), w in 0i32..65536,
                        u in any::<u32>(), l in any::<u32>(), m in 0u32..5) {
        let fwd = match m { 0 => FwdMethod::Masq, 1 => FwdMethod::Local, 2 => FwdMethod::Tunnel { tun_type: TunnelType::Gre, port: 0, flags: tun_flags::REMCSUM }, 3 => FwdMethod::Route, _ => FwdMethod::Bypass };
        let mut d = Dest::new(IpAddr::V4(Ipv4Addr::from(a)), port, fwd);
        d.weight = w; d.u_threshold = u; d.l_threshold = l;
        let mut b = Vec::new();
        encode_dest_body(&mut b, &d);
        prop_assert_eq!(decode_dest_body(&b, Family::V4).unwrap(), d);
    }
}

fn arb_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>(), 0usize..3).prop_map(|(a, port, p)| ServiceKey::Addr {
            protocol: [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][p],
            addr: IpAddr::V4(Ipv4Addr::from(a)),
            port,
        }),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, port)| ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: IpAddr::V6(Ipv6Addr::from(a)),
            port,
        }),
        (any::<bool>(), 1u32..).prop_map(|(v6, mark)| ServiceKey::Fwmark {
            family: if v6 { Family::V6 } else { Family::V4 },
            mark,
        }),
    ]
}

proptest! {
    #[test]
    fn service_round_trips(key in arb_key(), sched in "[a-z]{1,15}", bits in 0u32..8,
                           persist in proptest::option::of((any::<u32>(), 1u32..=128)),
                           pe in proptest::option::of("[a-z]{1,15}")) {
        let mut s = Service::new(key, sched);
        // ONEPACKET, SCHED1, SCHED2, SCHED3 in any combination.
        s.flags = ServiceFlags(((bits & 1) * ServiceFlags::ONEPACKET) | ((bits >> 1) << 3));
        s.persistence = persist.map(|(timeout, netmask)| Persistence { timeout, netmask });
        s.pe_name = pe;
        let b = request::service(&s);
        let d = decode_service_msg(&b).unwrap();
        let mut want = s.clone();
        if want.persistence.is_some() {
            want.flags.0 |= ServiceFlags::PERSISTENT;
        }
        prop_assert_eq!(d, want);
    }
}
