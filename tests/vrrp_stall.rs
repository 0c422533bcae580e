//! A backup that is not scheduled past its master-down deadline while the
//! master's adverts queue up on its socket must read them before acting on
//! the deadline, and stay backup (keepalived: the advert timer is the VRRP
//! socket's read timeout, and a readable socket is read, not timed out).
//! Acting on the timer first made lvsd take over, announce the VIP to the
//! LAN and give it back at the next advert: a client lost the VIP in the
//! failover benchmark on a loaded host (BENCHMARKS.md, VRRP failover).

mod vrrp_support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lvsd::vrrp::machine::State;
use lvsd::vrrp::packet::{encode_ipv4, Advert, Auth, Ipv4Header, Version, VRRP_GROUP_V4};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vrrp_support::*;

/// The master, played by the client namespace's address.
const MASTER: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 10);
/// v3, advert_int 0.1 s: lvsd's master-down interval is 3 × 100 ms plus the
/// skew of priority 100, 61 ms.
const INTERVAL: Duration = Duration::from_millis(100);
const STALLS: usize = 6;

#[test]
fn a_stalled_backup_reads_the_waiting_adverts_before_its_timer() {
    let p = pair("vrrp-st");
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V3, 100, false));
    let advert = Advert {
        version: Version::V3,
        vrid: 51,
        priority: 150,
        interval_cs: 10,
        auth: Auth::None,
        addresses: vec![IpAddr::V4(VIP.parse().expect("vip"))],
    };
    let packet = encode_ipv4(&Ipv4Header::vrrp(MASTER, VRRP_GROUP_V4, 1), &advert);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // The master's adverts, every interval, until the test ends.
        let master = scope.spawn(|| {
            p.client
                .enter(|| {
                    // IPPROTO_RAW implies IP_HDRINCL: the packet goes out as built.
                    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255)))
                        .expect("raw socket");
                    socket.bind_device(Some(b"eth0")).expect("bind device");
                    let to = SockAddr::from(SocketAddr::new(IpAddr::V4(VRRP_GROUP_V4), 0));
                    while !stop.load(Ordering::SeqCst) {
                        socket.send_to(&packet, &to).expect("send advert");
                        std::thread::sleep(INTERVAL);
                    }
                })
                .expect("enter client namespace")
        });
        wait_for("lvsd hears the master", Duration::from_secs(5), || {
            lvsd.state() == State::Backup && lvsd.handle.counters.adverts_received() >= 3
        });
        for _ in 0..STALLS {
            // Past the master-down deadline (361 ms), five adverts waiting.
            lvsd.stall(Duration::from_millis(550));
            std::thread::sleep(Duration::from_millis(250));
        }
        // Read while the master still sends (without it lvsd takes over).
        let sent = lvsd.handle.counters.adverts_sent();
        let received = lvsd.handle.counters.adverts_received();
        let state = lvsd.state();
        let vip = has_vip(&p.lvsd_ns);
        stop.store(true, Ordering::SeqCst);
        master.join().expect("master thread");
        // A backup never sends: one advert would be a takeover, however short.
        assert_eq!(
            sent, 0,
            "lvsd became master after a stall with the master's adverts waiting"
        );
        assert_eq!(state, State::Backup);
        assert!(!vip);
        // The adverts of the stalls were all read (about 8 per stall and pause).
        assert!(received >= (STALLS * 7) as u64, "{received} adverts read");
    });
    lvsd.stop();
    drop(p.lan);
}
