//! Faults that need a private network: a black hole (SYN dropped by
//! nftables), SO_MARK and SO_BINDTODEVICE, and ICMP echo. Each test runs its
//! probes on a thread inside its own namespace (`integration::netns`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use checks::probe::probe;
use checks::spec::{CheckKind, HttpCheck, UrlCheck};
use checks::{CheckSpec, Endpoint, Failure, Outcome, Phase, Timing};
use integration::netns::Netns;

fn spec(kind: CheckKind, target: &str) -> CheckSpec {
    let family = kind.family();
    CheckSpec {
        kind,
        endpoint: Endpoint::to(target.parse::<SocketAddr>().unwrap()),
        timing: Timing {
            connect_timeout: Duration::from_millis(300),
            ..Timing::defaults_for(family)
        },
    }
}

/// Runs `f` on a current-thread runtime inside `ns`.
fn inside<F, Fut>(ns: &Netns, f: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send,
    Fut: Future,
    Fut::Output: Send,
{
    ns.enter(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
    .unwrap()
}

fn nft(ns: &Netns, script: &str) {
    ns.exec(&["nft", script]).unwrap();
}

#[test]
fn black_hole_times_out_in_connect() {
    let ns = Netns::new("chk-bh").unwrap();
    nft(&ns, "add table inet t");
    nft(
        &ns,
        "add chain inet t in { type filter hook input priority 0; policy accept; }",
    );
    nft(&ns, "add rule inet t in tcp dport 80 drop");
    let http = CheckKind::Http(Box::new(HttpCheck {
        urls: vec![UrlCheck::path("/")],
        ..HttpCheck::default()
    }));
    let (tcp, http) = inside(&ns, || async {
        let tcp = probe(&spec(CheckKind::Tcp, "127.0.0.1:80")).await;
        let http = probe(&spec(http, "127.0.0.1:80")).await;
        (tcp, http)
    });
    assert_eq!(tcp, Outcome::Fail(Failure::Timeout(Phase::Connect)));
    assert_eq!(http, Outcome::Fail(Failure::Timeout(Phase::Connect)));
    // Without the rule the same port is refused, not silent.
    nft(&ns, "flush ruleset");
    let tcp = inside(&ns, || async {
        probe(&spec(CheckKind::Tcp, "127.0.0.1:80")).await
    });
    assert_eq!(tcp, Outcome::Fail(Failure::Refused));
}

#[test]
fn fwmark_and_bind_if_reach_the_socket() {
    let ns = Netns::new("chk-mark").unwrap();
    nft(&ns, "add table inet t");
    nft(
        &ns,
        "add chain inet t out { type filter hook output priority 0; policy accept; }",
    );
    // Only packets carrying mark 7 are dropped.
    nft(&ns, "add rule inet t out meta mark 7 drop");
    // A second interface, d0, on a link to a peer namespace.
    let peer = Netns::new("chk-peer").unwrap();
    integration::netns::veth(&ns, "d0", &peer, "e0").unwrap();
    ns.addr("d0", "10.7.0.1/24").unwrap();
    let (plain, marked, via_lo, via_d0) = inside(&ns, || async {
        let _listener = tokio::net::TcpListener::bind("127.0.0.1:81").await.unwrap();
        let plain = probe(&spec(CheckKind::Tcp, "127.0.0.1:81")).await;
        let mut with_mark = spec(CheckKind::Tcp, "127.0.0.1:81");
        with_mark.endpoint.fwmark = Some(7);
        let marked = probe(&with_mark).await;
        let mut on_lo = spec(CheckKind::Tcp, "127.0.0.1:81");
        on_lo.endpoint.bind_if = Some("lo".into());
        let via_lo = probe(&on_lo).await;
        let mut on_d0 = on_lo.clone();
        on_d0.endpoint.bind_if = Some("d0".into());
        let via_d0 = probe(&on_d0).await;
        (plain, marked, via_lo, via_d0)
    });
    assert_eq!(plain, Outcome::PASS);
    assert_eq!(marked, Outcome::Fail(Failure::Timeout(Phase::Connect)));
    assert_eq!(via_lo, Outcome::PASS);
    // Bound to d0, the SYN to 127.0.0.1 leaves by d0 and nothing answers.
    assert_eq!(via_d0, Outcome::Fail(Failure::Timeout(Phase::Connect)));
}

#[test]
fn ping_check_with_raw_and_datagram_sockets_and_a_dropped_echo() {
    let ns = Netns::new("chk-ping").unwrap();
    // A new namespace's ping_group_range admits no group: raw socket path.
    let raw = inside(&ns, || async {
        probe(&spec(CheckKind::Ping, "127.0.0.1:0")).await
    });
    assert_eq!(raw, Outcome::PASS);
    ns.sysctl("net.ipv4.ping_group_range=0 2147483647").unwrap();
    let datagram = inside(&ns, || async {
        probe(&spec(CheckKind::Ping, "127.0.0.1:0")).await
    });
    assert_eq!(datagram, Outcome::PASS);
    nft(&ns, "add table inet t");
    nft(
        &ns,
        "add chain inet t in { type filter hook input priority 0; policy accept; }",
    );
    nft(&ns, "add rule inet t in icmp type echo-reply drop");
    let dropped = inside(&ns, || async {
        probe(&spec(CheckKind::Ping, "127.0.0.1:0")).await
    });
    assert_eq!(dropped, Outcome::Fail(Failure::Timeout(Phase::Reply)));
}
