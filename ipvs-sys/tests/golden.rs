//! Golden bytes: netlink messages the real ipvsadm 1.31 (libipvs, libnl-3)
//! exchanged with a 6.1 kernel, captured on an nlmon device in the VM by
//! tests/vectors/capture.sh (README.md there). Every request decodes and
//! re-encodes byte for byte — both through the codec and through the
//! [`Op`] that lvsd would send for the same change — and every reply decodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ipvs_sys::codec::{self, cmd, request, GenlMessage, NlMessage};
use ipvs_sys::*;
use std::path::PathBuf;

/// genetlink.h `GENL_ID_CTRL`.
const GENL_ID_CTRL: u16 = 0x10;

/// One capture: the ipvsadm command line, and (is_request, bytes) in order.
struct Vector {
    name: String,
    command: String,
    packets: Vec<(bool, Vec<u8>)>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn vectors() -> Vec<Vector> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "nl") {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut v = Vector {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                command: String::new(),
                packets: Vec::new(),
            };
            for line in text.lines() {
                match line.split_at(2) {
                    ("# ", c) => v.command = c.to_string(),
                    ("> ", h) => v.packets.push((true, unhex(h))),
                    ("< ", h) => v.packets.push((false, unhex(h))),
                    _ => panic!("{}: bad line {line}", v.name),
                }
            }
            out.push(v);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 25, "vectors missing in {}", dir.display());
    out
}

fn vector(name: &str) -> Vector {
    vectors().into_iter().find(|v| v.name == name).unwrap()
}

fn only_genl(bytes: &[u8]) -> GenlMessage {
    match codec::decode_messages(bytes).unwrap().as_slice() {
        [NlMessage::Genl(m)] => m.clone(),
        other => panic!("not one genl message: {other:?}"),
    }
}

/// The IPVS requests of a capture (family resolution left out).
fn ipvs_requests(v: &Vector) -> Vec<GenlMessage> {
    v.packets
        .iter()
        .filter(|(req, _)| *req)
        .map(|(_, b)| only_genl(b))
        .filter(|m| m.nl_type != GENL_ID_CTRL)
        .collect()
}

fn service_key_of(payload: &[u8]) -> ServiceKey {
    codec::decode_service_msg(payload).unwrap().key
}

/// What lvsd sends for the same change as a captured request, or `None`
/// for requests that are not changes (dumps, gets).
fn equivalent_op(m: &GenlMessage) -> Option<Op> {
    let p = &m.payload[..];
    let dest = || codec::decode_dest_msg(p, service_key_of(p).family()).unwrap();
    Some(match m.cmd {
        cmd::NEW_SERVICE => Op::AddService(codec::decode_service_msg(p).unwrap()),
        cmd::SET_SERVICE => Op::EditService(codec::decode_service_msg(p).unwrap()),
        cmd::DEL_SERVICE => Op::DelService(service_key_of(p)),
        cmd::NEW_DEST => Op::AddDest(service_key_of(p), dest()),
        cmd::SET_DEST => Op::EditDest(service_key_of(p), dest()),
        cmd::DEL_DEST => Op::DelDest(service_key_of(p), dest().key),
        cmd::NEW_DAEMON => Op::StartDaemon(codec::decode_daemon_msg(p).unwrap()),
        cmd::DEL_DAEMON => Op::StopDaemon(codec::decode_daemon_msg(p).unwrap().state),
        cmd::SET_CONFIG => Op::SetTimeouts(codec::decode_timeouts(p).unwrap()),
        cmd::ZERO if p.is_empty() => Op::Zero(None),
        cmd::ZERO => Op::Zero(Some(service_key_of(p))),
        cmd::FLUSH => Op::Flush,
        _ => return None,
    })
}

#[test]
fn every_message_reencodes_byte_exactly() {
    let mut genl = 0;
    for v in vectors() {
        assert!(!v.packets.is_empty(), "{}: empty capture", v.name);
        for (_, bytes) in &v.packets {
            let mut again = Vec::new();
            for m in codec::decode_messages(bytes).unwrap() {
                match m {
                    NlMessage::Genl(g) => {
                        genl += 1;
                        again.extend(g.encode());
                    }
                    // ACK, error and DONE frames: not built by this crate;
                    // their length decides the re-encoded prefix.
                    _ => {
                        let len = u32::from_ne_bytes(bytes[again.len()..][..4].try_into().unwrap());
                        again.extend_from_slice(&bytes[again.len()..][..len as usize]);
                    }
                }
            }
            assert_eq!(&again, bytes, "{}: {}", v.name, v.command);
        }
    }
    assert!(genl > 100, "{genl} generic netlink messages");
}

/// `IPVS_CMD_ATTR_SERVICE`.
const ATTR_SERVICE: u16 = 1;
/// `IPVS_CMD_ATTR_DEST`.
const ATTR_DEST: u16 = 2;

/// Compares lvsd's request payload with ipvsadm's, attribute by attribute.
/// Every attribute must be byte-identical except one documented difference:
/// where only the service's key matters (destination, delete, zero and get
/// requests), libipvs still sends its whole service nest (key plus an empty
/// scheduler name, flags, timeout and netmask, from ipvs_nl_fill_service_attr)
/// while lvsd sends the key alone; the kernel reads only the key there
/// (ip_vs_genl_parse_service with full_entry false). That nest must decode to
/// the same key. Likewise libipvs deletes a destination with its whole dest
/// nest; lvsd's (family, address, port) is exactly the start of it, and the
/// kernel ignores the rest (ip_vs_genl_parse_dest with full_entry false).
fn assert_same_request(name: &str, cmd_: u8, ours: &[u8], theirs: &[u8]) {
    let a = codec::parse_attrs(ours).unwrap();
    let b = codec::parse_attrs(theirs).unwrap();
    assert_eq!(
        a.iter().map(|x| x.0).collect::<Vec<_>>(),
        b.iter().map(|x| x.0).collect::<Vec<_>>(),
        "{name}: attribute list"
    );
    let key_only = !matches!(cmd_, cmd::NEW_SERVICE | cmd::SET_SERVICE);
    for ((ty, x), (_, y)) in a.iter().zip(&b) {
        if *ty == ATTR_SERVICE && key_only {
            let kx = codec::decode_service_body(x).unwrap().key;
            let ky = codec::decode_service_body(y).unwrap().key;
            assert_eq!(kx, ky, "{name}: service key");
            assert_eq!(
                x[..],
                request::service_key(&kx)[4..],
                "{name}: our key nest"
            );
        } else if *ty == ATTR_DEST && cmd_ == cmd::DEL_DEST {
            assert!(y.starts_with(x), "{name}: dest key nest {x:?} {y:?}");
        } else {
            assert_eq!(x, y, "{name}: attribute {ty}");
        }
    }
}

#[test]
fn every_change_request_is_what_lvsd_sends() {
    let mut changes = 0;
    let mut identical = 0;
    for v in vectors() {
        for m in ipvs_requests(&v) {
            let Some(op) = equivalent_op(&m) else {
                continue;
            };
            changes += 1;
            let r = op.to_request();
            assert_eq!(r.cmd, m.cmd, "{}", v.name);
            assert_same_request(&v.name, m.cmd, &r.payload, &m.payload);
            if r.payload == m.payload {
                identical += 1;
                // Whole message, header included, as the client frames it.
                let framed = GenlMessage {
                    payload: r.payload,
                    ..m.clone()
                };
                assert_eq!(framed.encode(), m.encode());
            }
        }
    }
    assert!(changes >= 20, "{changes} change requests");
    // Service adds and edits, daemons, timeouts, zero-all and flush are
    // byte-identical as a whole.
    assert!(
        identical >= 12,
        "{identical} byte-identical change requests"
    );
}

#[test]
fn key_only_requests_match() {
    for v in vectors() {
        for m in ipvs_requests(&v) {
            match m.cmd {
                cmd::GET_DEST | cmd::GET_SERVICE if !m.payload.is_empty() => {
                    let ours = request::service_key(&service_key_of(&m.payload));
                    assert_same_request(&v.name, m.cmd, &ours, &m.payload);
                }
                cmd::GET_SERVICE | cmd::GET_INFO | cmd::GET_CONFIG | cmd::GET_DAEMON => {
                    assert!(m.payload.is_empty(), "{}: cmd {}", v.name, m.cmd)
                }
                _ => {}
            }
        }
    }
}

#[test]
fn captured_requests_decode_to_the_command_line() {
    let svc = |name: &str| {
        let v = vector(name);
        let m = ipvs_requests(&v).pop().unwrap();
        assert_eq!(m.cmd, cmd::NEW_SERVICE, "{name}");
        codec::decode_service_msg(&m.payload).unwrap()
    };
    let s = svc("add-service-tcp");
    assert_eq!(s.scheduler, "wlc");
    assert_eq!(
        s.persistence,
        Some(Persistence {
            timeout: 300,
            netmask: 0xffff_ff00
        })
    );
    let s = svc("add-service-udp6");
    assert_eq!(
        s.key,
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "2001:db8::1".parse().unwrap(),
            port: 53
        }
    );
    assert!(s.flags.has(ServiceFlags::SCHED1 | ServiceFlags::SCHED2));
    let s = svc("add-service-fwmark");
    assert_eq!(
        s.key,
        ServiceKey::Fwmark {
            family: Family::V4,
            mark: 7
        }
    );
    assert!(s.flags.has(ServiceFlags::ONEPACKET));
    assert_eq!(svc("add-service-sip").pe_name.as_deref(), Some("sip"));

    let v = vector("add-dest-gue");
    let m = ipvs_requests(&v).pop().unwrap();
    let d = codec::decode_dest_msg(&m.payload, Family::V4).unwrap();
    assert_eq!(
        d.fwd,
        FwdMethod::Tunnel {
            tun_type: TunnelType::Gue,
            port: 6080,
            flags: tun_flags::CSUM
        }
    );
    let v = vector("add-dest-masq");
    let m = ipvs_requests(&v).pop().unwrap();
    let d = codec::decode_dest_msg(&m.payload, Family::V4).unwrap();
    assert_eq!(
        (d.fwd, d.weight, d.u_threshold, d.l_threshold),
        (FwdMethod::Masq, 3, 100, 10)
    );

    let v = vector("start-daemon");
    let m = ipvs_requests(&v).pop().unwrap();
    let d = codec::decode_daemon_msg(&m.payload).unwrap();
    assert_eq!(
        (
            d.state,
            &d.mcast_ifn[..],
            d.sync_id,
            d.sync_maxlen,
            d.mcast_group,
            d.mcast_port,
            d.mcast_ttl
        ),
        (
            DaemonState::Master,
            "dummy0",
            3,
            Some(1200),
            Some("239.1.2.3".parse().unwrap()),
            Some(8849),
            Some(2)
        )
    );
    let v = vector("set-timeouts");
    let m = ipvs_requests(&v).pop().unwrap();
    let t = codec::decode_timeouts(&m.payload).unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 120, 300));
}

/// Replies: every data message decodes; errors carry the kernel's errno.
#[test]
fn replies_decode() {
    let mut services = 0;
    let mut dests = 0;
    for v in vectors() {
        let family_by_key: Vec<ServiceKey> = ipvs_requests(&v)
            .iter()
            .filter(|m| m.cmd == cmd::GET_DEST)
            .map(|m| service_key_of(&m.payload))
            .collect();
        for (_, bytes) in v.packets.iter().filter(|(req, _)| !*req) {
            for m in codec::decode_messages(bytes).unwrap() {
                let NlMessage::Genl(g) = m else { continue };
                if g.nl_type == GENL_ID_CTRL {
                    continue;
                }
                match g.cmd {
                    cmd::NEW_SERVICE => {
                        codec::decode_service_msg(&g.payload).unwrap();
                        services += 1;
                    }
                    cmd::NEW_DEST => {
                        let fam = family_by_key.first().map_or(Family::V4, |k| k.family());
                        codec::decode_dest_msg(&g.payload, fam).unwrap();
                        dests += 1;
                    }
                    cmd::NEW_DAEMON => {
                        codec::decode_daemon_msg(&g.payload).unwrap();
                    }
                    cmd::SET_CONFIG => {
                        codec::decode_timeouts(&g.payload).unwrap();
                    }
                    cmd::SET_INFO | cmd::GET_INFO => {
                        let i = codec::decode_info(&g.payload).unwrap();
                        assert_eq!(i.version_triple(), (1, 2, 1), "{}", v.name);
                    }
                    other => panic!("{}: unexpected reply cmd {other}", v.name),
                }
            }
        }
    }
    assert!(
        services >= 5 && dests >= 5,
        "{services} services, {dests} dests"
    );

    let errno_of = |name: &str| {
        let v = vector(name);
        v.packets
            .iter()
            .filter(|(req, _)| !*req)
            .flat_map(|(_, b)| codec::decode_messages(b).unwrap())
            .filter_map(|m| match m {
                NlMessage::Error { errno, .. } if errno != 0 => Some(errno),
                _ => None,
            })
            .next()
    };
    assert_eq!(errno_of("add-service-exists"), Some(-17));
    assert_eq!(errno_of("add-service-nosched"), Some(-2));
    assert_eq!(errno_of("del-service-missing"), Some(-3));
    assert_eq!(errno_of("add-service-tcp"), None);
}

/// The dump of `ipvsadm -Ln` decodes to the table the captures built.
#[test]
fn list_dump_decodes_to_the_table() {
    let v = vector("list");
    let mut keys = Vec::new();
    for (_, bytes) in v.packets.iter().filter(|(req, _)| !*req) {
        for m in codec::decode_messages(bytes).unwrap() {
            if let NlMessage::Genl(g) = m {
                if g.nl_type != GENL_ID_CTRL && g.cmd == cmd::NEW_SERVICE {
                    keys.push(codec::decode_service_msg(&g.payload).unwrap());
                }
            }
        }
    }
    let tcp = keys
        .iter()
        .find(|s| s.key.family() == Family::V4 && s.scheduler == "wrr")
        .expect("edited TCP service in the dump");
    assert_eq!(tcp.persistence.map(|p| p.timeout), Some(100));
    assert!(keys.iter().any(|s| s.pe_name.as_deref() == Some("sip")));
    assert!(keys.iter().any(|s| s.scheduler == "mh"
        && matches!(
            s.key,
            ServiceKey::Addr {
                protocol: Protocol::Sctp,
                ..
            }
        )));
}
