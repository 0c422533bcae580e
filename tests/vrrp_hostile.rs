//! Hostile VRRP input against a running lvsd master: wrong TTL, bad
//! checksum, wrong auth, wrong VRID, wrong version, truncated, and a
//! non-peer in unicast mode. Each is dropped and counted and the state does
//! not change; a well-formed higher-priority advert sent the same way does
//! take effect, proving the packets reach the instance.

mod vrrp_support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use integration::netns::Netns;
use lvsd::vrrp::machine::State;
use lvsd::vrrp::packet::{
    encode_ipv4, Advert, Auth, Endpoints, Ipv4Header, Version, IPPROTO_VRRP, VRRP_GROUP_V4,
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vrrp_support::*;

const ATTACKER: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 10);

fn advert(version: Version, vrid: u8, auth: Auth) -> Advert {
    Advert {
        version,
        vrid,
        priority: 254,
        interval_cs: 100,
        auth,
        addresses: vec![IpAddr::V4(VIP.parse().expect("vip"))],
    }
}

/// Sends whole IPv4 packets (our own header) from the client namespace.
fn inject(ns: &Netns, destination: Ipv4Addr, packets: Vec<Vec<u8>>) {
    ns.enter(move || {
        // IPPROTO_RAW implies IP_HDRINCL: the packet is sent as built.
        let socket =
            Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255))).expect("raw socket");
        socket.bind_device(Some(b"eth0")).expect("bind device");
        let to = SockAddr::from(SocketAddr::new(IpAddr::V4(destination), 0));
        for packet in packets {
            socket.send_to(&packet, &to).expect("send");
        }
    })
    .expect("enter client namespace");
}

fn packet(ttl: u8, destination: Ipv4Addr, advert: &Advert) -> Vec<u8> {
    let mut header = Ipv4Header::vrrp(ATTACKER, destination, 1);
    header.ttl = ttl;
    encode_ipv4(&header, advert)
}

#[test]
fn hostile_multicast_adverts_are_dropped_and_counted() {
    let p = pair("vrrp-h");
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, 100, false));
    wait_for("lvsd master", Duration::from_secs(8), || {
        lvsd.state() == State::Master
    });
    let good = advert(Version::V2, 51, Auth::pass("s3cr3t"));
    let mut bad_checksum = packet(255, VRRP_GROUP_V4, &good);
    let last = bad_checksum.len() - 1;
    bad_checksum[last] ^= 0xff; // inside the auth data, covered by the checksum
    let truncated = {
        let message = good.encode(Endpoints {
            source: IpAddr::V4(ATTACKER),
            destination: IpAddr::V4(VRRP_GROUP_V4),
        });
        let cut = &message[..10];
        let mut bytes = Ipv4Header::vrrp(ATTACKER, VRRP_GROUP_V4, 1)
            .encode(IPPROTO_VRRP, cut.len())
            .to_vec();
        bytes.extend_from_slice(cut);
        bytes
    };
    inject(
        &p.client,
        VRRP_GROUP_V4,
        vec![
            packet(64, VRRP_GROUP_V4, &good),
            bad_checksum,
            packet(
                255,
                VRRP_GROUP_V4,
                &advert(Version::V2, 51, Auth::pass("wrong")),
            ),
            packet(
                255,
                VRRP_GROUP_V4,
                &advert(Version::V2, 52, Auth::pass("s3cr3t")),
            ),
            packet(255, VRRP_GROUP_V4, &advert(Version::V3, 51, Auth::None)),
            truncated,
        ],
    );
    let expected: Vec<(String, u64)> = [
        ("Auth", 1),
        ("OtherVrid", 1),
        ("WrongVersion", 1),
        ("checksum", 1),
        ("truncated", 1),
        ("ttl", 1),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .to_vec();
    wait_for("all six counted", Duration::from_secs(2), || {
        lvsd.handle
            .counters
            .dropped()
            .into_iter()
            .collect::<Vec<_>>()
            == expected
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        lvsd.state(),
        State::Master,
        "a hostile packet changed the state"
    );
    assert!(has_vip(&p.lvsd_ns));
    // The same path with a valid priority-254 advert does make lvsd yield.
    inject(
        &p.client,
        VRRP_GROUP_V4,
        vec![packet(255, VRRP_GROUP_V4, &good)],
    );
    wait_for("lvsd yields", Duration::from_secs(2), || {
        lvsd.state() == State::Backup
    });
    lvsd.stop();
    drop(p.lan);
}

#[test]
fn unicast_adverts_from_a_non_peer_are_dropped_and_counted() {
    let p = pair("vrrp-hu");
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, 100, true));
    wait_for("lvsd master", Duration::from_secs(8), || {
        lvsd.state() == State::Master
    });
    let lvsd_address = Ipv4Addr::new(192, 168, 77, 1);
    let good = advert(Version::V2, 51, Auth::pass("s3cr3t"));
    inject(
        &p.client,
        lvsd_address,
        vec![packet(255, lvsd_address, &good)],
    );
    wait_for("non-peer counted", Duration::from_secs(2), || {
        lvsd.handle.counters.dropped().get("NotAPeer") == Some(&1)
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lvsd.state(), State::Master);
    lvsd.stop();
    drop(p.lan);
}
