//! lvsd's VRRP instance against the real keepalived (Debian 2.2.7), in
//! network namespaces on one bridge: election, takeover after a graceful
//! stop (priority 0) and after a crash, in both roles, v2 multicast with
//! auth PASS and v3 unicast; hostile packets dropped and counted.
//! Addresses exist only inside the test namespaces.

mod vrrp_support;

use std::time::Duration;

use lvsd::vrrp::machine::State;
use lvsd::vrrp::packet::Version;
use vrrp_support::*;

#[test]
fn v2_multicast_lvsd_master_keepalived_backup_then_takeover() {
    let p = pair("vrrp-v2");
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V2, 100, false),
    );
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, 150, false));
    // Election: the higher priority (lvsd) wins, only it holds the VIP.
    wait_for("lvsd master", Duration::from_secs(8), || {
        lvsd.state() == State::Master
    });
    wait_for("VIP on lvsd", Duration::from_secs(2), || {
        has_vip(&p.lvsd_ns)
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !has_vip(&p.ka_ns),
        "keepalived holds the VIP while lvsd is master"
    );
    assert_eq!(lvsd.state(), State::Master);
    // Graceful stop: priority 0, keepalived takes over after its skew time (0.61 s).
    lvsd.stop();
    assert!(!has_vip(&p.lvsd_ns), "lvsd left the VIP behind");
    let took = wait_for("keepalived takeover", Duration::from_secs(2), || {
        has_vip(&p.ka_ns)
    });
    assert!(took < Duration::from_millis(1500), "takeover took {took:?}");
    // lvsd comes back with the higher priority and preempts.
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, 150, false));
    wait_for("lvsd preempts", Duration::from_secs(8), || {
        lvsd.state() == State::Master
    });
    wait_for("keepalived releases", Duration::from_secs(3), || {
        !has_vip(&p.ka_ns)
    });
    // Crash: keepalived waits the master-down interval (3 × 1 s + skew).
    lvsd.crash();
    let took = wait_for(
        "keepalived takeover after crash",
        Duration::from_secs(6),
        || has_vip(&p.ka_ns),
    );
    assert!(
        took >= Duration::from_secs(2),
        "took over too early: {took:?}"
    );
    // Like keepalived after SIGKILL, the crashed node still holds the VIP;
    // the next start removes the leftover before anything else.
    assert!(has_vip(&p.lvsd_ns));
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, 50, false));
    assert!(!has_vip(&p.lvsd_ns), "leftover VIP not removed at start");
    assert_eq!(lvsd.state(), State::Backup);
    lvsd.stop();
    drop(p.lan);
}

#[test]
fn v3_unicast_keepalived_master_lvsd_backup_then_takeover_after_sigkill() {
    let p = pair("vrrp-v3u");
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V3, 150, true),
    );
    wait_for("keepalived master", Duration::from_secs(5), || {
        has_vip(&p.ka_ns)
    });
    // The client learns the VIP's MAC from keepalived.
    p.client
        .exec(&["ping", "-c", "1", "-W", "1", VIP])
        .expect("ping VIP");
    assert_eq!(client_neighbour(&p.client), Some(mac_of(&p.ka_ns, "eth0")));
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V3, 100, true));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        lvsd.state(),
        State::Backup,
        "lvsd must stay backup to a higher master"
    );
    assert!(!has_vip(&p.lvsd_ns));
    assert!(has_vip(&p.ka_ns));
    assert!(
        lvsd.handle.counters.dropped().is_empty(),
        "{:?}",
        lvsd.handle.counters.dropped()
    );
    // SIGKILL of keepalived: lvsd takes over after 3 × 0.1 s + skew (0.36 s).
    signal_keepalived(&p.ka_ns, "-KILL");
    let took = wait_for("lvsd takeover", Duration::from_secs(2), || {
        has_vip(&p.lvsd_ns)
    });
    assert_eq!(lvsd.state(), State::Master);
    assert!(took < Duration::from_millis(1000), "takeover took {took:?}");
    // lvsd's gratuitous ARPs moved the client's neighbour entry to lvsd.
    let lvsd_mac = mac_of(&p.lvsd_ns, "eth0");
    wait_for("client ARP entry updated", Duration::from_secs(1), || {
        client_neighbour(&p.client).as_ref() == Some(&lvsd_mac)
    });
    p.client
        .exec(&["ping", "-c", "1", "-W", "1", VIP])
        .expect("ping VIP after takeover");
    lvsd.stop();
    drop(p.lan);
}

#[test]
fn v3_multicast_keepalived_resigns_with_sigterm_and_lvsd_takes_over_within_skew() {
    let p = pair("vrrp-v3m");
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V3, 150, false),
    );
    wait_for("keepalived master", Duration::from_secs(5), || {
        has_vip(&p.ka_ns)
    });
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V3, 100, false));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lvsd.state(), State::Backup);
    signal_keepalived(&p.ka_ns, "-TERM");
    // Priority 0 → lvsd waits only its skew time, 156/256 × 0.1 s ≈ 61 ms.
    let took = wait_for("lvsd takeover", Duration::from_secs(2), || {
        has_vip(&p.lvsd_ns)
    });
    assert!(took < Duration::from_millis(500), "takeover took {took:?}");
    lvsd.stop();
    drop(p.lan);
}

#[test]
fn lvsd_pair_elects_and_fails_over_v2() {
    let p = pair("vrrp-ll");
    // Both directors are lvsd here (the "keepalived" namespace runs lvsd).
    let mut low = lvsd_config(Version::V2, 100, false);
    low.unicast_src = None;
    let high = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, 150, false));
    let backup = LvsdNode::start(&p.ka_ns, low);
    wait_for("high master", Duration::from_secs(8), || {
        high.state() == State::Master
    });
    assert_eq!(backup.state(), State::Backup);
    assert!(has_vip(&p.lvsd_ns) && !has_vip(&p.ka_ns));
    high.stop();
    let took = wait_for("backup takeover", Duration::from_secs(2), || {
        has_vip(&p.ka_ns)
    });
    assert!(took < Duration::from_millis(1500), "takeover took {took:?}");
    assert_eq!(backup.state(), State::Master);
    backup.stop();
    assert!(!has_vip(&p.ka_ns));
    drop(p.lan);
}

#[test]
fn ipv6_v3_election_and_takeovers_with_keepalived() {
    let p = pair("vrrp-v6");
    add_ipv6(&p);
    let ka = start_keepalived(&p.ka_ns, p.dir.path(), &keepalived_conf_v6(100));
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config_v6(150));
    wait_for("lvsd master", Duration::from_secs(5), || {
        lvsd.state() == State::Master
    });
    wait_for("VIP6 on lvsd", Duration::from_secs(1), || {
        has_vip6(&p.lvsd_ns)
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !has_vip6(&p.ka_ns),
        "keepalived holds the VIP while lvsd is master"
    );
    assert!(
        lvsd.handle.counters.dropped().is_empty(),
        "{:?}",
        lvsd.handle.counters.dropped()
    );
    p.client
        .exec(&["ping", "-6", "-c", "1", "-W", "1", VIP6])
        .expect("ping VIP6");
    assert_eq!(
        client_neighbour6(&p.client),
        Some(mac_of(&p.lvsd_ns, "eth0"))
    );
    // Graceful stop: keepalived takes over within its skew time.
    lvsd.stop();
    assert!(!has_vip6(&p.lvsd_ns));
    let took = wait_for("keepalived takeover", Duration::from_secs(2), || {
        has_vip6(&p.ka_ns)
    });
    assert!(took < Duration::from_millis(500), "takeover took {took:?}");
    // lvsd as backup; keepalived killed: lvsd takes over, its unsolicited
    // NAs move the client's neighbour entry.
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config_v6(50));
    p.client
        .exec(&["ping", "-6", "-c", "1", "-W", "1", VIP6])
        .expect("ping VIP6");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lvsd.state(), State::Backup);
    signal_keepalived(&p.ka_ns, "-KILL");
    drop(ka);
    let took = wait_for("lvsd takeover", Duration::from_secs(2), || {
        has_vip6(&p.lvsd_ns)
    });
    assert!(took < Duration::from_millis(1000), "takeover took {took:?}");
    let lvsd_mac = mac_of(&p.lvsd_ns, "eth0");
    wait_for("client neighbour updated", Duration::from_secs(1), || {
        client_neighbour6(&p.client).as_ref() == Some(&lvsd_mac)
    });
    lvsd.stop();
}

#[test]
fn nopreempt_lvsd_does_not_take_over_from_a_lower_keepalived_master() {
    let p = pair("vrrp-np");
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V3, 100, false),
    );
    wait_for("keepalived master", Duration::from_secs(5), || {
        has_vip(&p.ka_ns)
    });
    let mut config = lvsd_config(Version::V3, 150, false);
    config.nopreempt = true;
    let fifo = p.dir.path().join("notify_fifo");
    std::fs::write(&fifo, "").expect("fifo file");
    config.notify.fifo = Some(fifo.clone());
    let lvsd = LvsdNode::start(&p.lvsd_ns, config);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lvsd.state(), State::Backup, "nopreempt lvsd preempted");
    assert!(has_vip(&p.ka_ns) && !has_vip(&p.lvsd_ns));
    // Without nopreempt the same priority does preempt (keepalived: at
    // the master-down interval after start).
    lvsd.stop();
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V3, 150, false));
    wait_for("lvsd preempts", Duration::from_secs(2), || {
        lvsd.state() == State::Master
    });
    wait_for("keepalived releases", Duration::from_secs(2), || {
        !has_vip(&p.ka_ns)
    });
    lvsd.stop();
    // notify_fifo got keepalived's line format, in transition order.
    let lines = std::fs::read_to_string(&fifo).expect("fifo");
    assert_eq!(
        lines.lines().collect::<Vec<_>>(),
        ["INSTANCE \"VI_1\" BACKUP 150", "INSTANCE \"VI_1\" STOP 150"]
    );
}

#[test]
fn use_vmac_puts_the_vip_behind_the_virtual_router_mac() {
    let p = pair("vrrp-vm");
    let mut config = lvsd_config(Version::V3, 150, false);
    config.use_vmac = Some("vrrp.51".into());
    let lvsd = LvsdNode::start(&p.lvsd_ns, config);
    wait_for("lvsd master", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    let vmac = "00:00:5e:00:01:33";
    assert_eq!(mac_of(&p.lvsd_ns, "vrrp.51"), vmac);
    let on_vmac = p.lvsd_ns.sh("ip -4 addr show dev vrrp.51").expect("addr");
    assert!(on_vmac.contains(&format!("inet {VIP}/24")), "{on_vmac}");
    p.client
        .exec(&["ping", "-c", "1", "-W", "1", VIP])
        .expect("ping VIP");
    let arp_ignore = p
        .lvsd_ns
        .sh("cat /proc/sys/net/ipv4/conf/eth0/arp_ignore")
        .expect("sysctl");
    assert_eq!(
        arp_ignore.trim(),
        "1",
        "base interface still answers ARP for the VIP"
    );
    assert_eq!(client_neighbour(&p.client).as_deref(), Some(vmac));
    lvsd.stop();
    assert!(
        p.lvsd_ns.ip(&["link", "show", "vrrp.51"]).is_err(),
        "vMAC interface left behind"
    );
}

#[test]
fn strict_no_accept_master_drops_traffic_to_the_vip() {
    let p = pair("vrrp-na");
    let mut config = lvsd_config(Version::V3, 150, false);
    config.strict = true;
    let lvsd = LvsdNode::start(&p.lvsd_ns, config);
    wait_for("lvsd master", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    assert!(has_vip(&p.lvsd_ns));
    assert!(
        p.client.exec(&["ping", "-c", "1", "-W", "1", VIP]).is_err(),
        "no_accept master answered on the VIP"
    );
    lvsd.stop();
    assert!(
        p.lvsd_ns
            .sh("nft list tables")
            .expect("nft")
            .trim()
            .is_empty(),
        "filter table left behind"
    );
    // With `accept`, the same strict master answers.
    let mut config = lvsd_config(Version::V3, 150, false);
    config.strict = true;
    config.accept = Some(true);
    let lvsd = LvsdNode::start(&p.lvsd_ns, config);
    wait_for("lvsd master", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    p.client
        .exec(&["ping", "-c", "1", "-W", "1", VIP])
        .expect("accept master answers");
    lvsd.stop();
}

#[test]
fn gratuitous_arp_bursts_follow_garp_master_delay_and_repeat() {
    let p = pair("vrrp-ga");
    let capture = p.dir.path().join("arp.txt");
    let _tcpdump = p
        .client
        .spawn(&[
            "sh",
            "-c",
            &format!(
                "exec tcpdump -i eth0 -n -e -l arp > {} 2>/dev/null",
                capture.display()
            ),
        ])
        .expect("tcpdump");
    std::thread::sleep(Duration::from_millis(700));
    let mut config = lvsd_config(Version::V3, 255, false);
    config.garp_master_delay = Duration::from_secs(1);
    config.garp_master_repeat = 3;
    let lvsd = LvsdNode::start(&p.lvsd_ns, config);
    assert_eq!(
        lvsd.state(),
        State::Master,
        "the address owner is master at once"
    );
    let lvsd_mac = mac_of(&p.lvsd_ns, "eth0");
    let count = || {
        std::fs::read_to_string(&capture)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.contains(&lvsd_mac)
                    && l.contains(&format!("Request who-has {VIP} "))
                    && l.contains(&format!("tell {VIP},"))
            })
            .count()
    };
    wait_for("first burst", Duration::from_secs(1), || count() == 3);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), 3, "second burst before garp_master_delay");
    wait_for("second burst", Duration::from_secs(2), || count() == 6);
    lvsd.stop();
}
