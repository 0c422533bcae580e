//! Split brain: nftables in the LAN namespace drops protocol 112 between
//! the directors until both are master, then heals. Exactly one master must
//! remain within 3 advert intervals, and only it holds the VIP. Both
//! roles: lvsd higher, then keepalived higher.

mod vrrp_support;

use std::time::Duration;

use lvsd::vrrp::machine::State;
use lvsd::vrrp::packet::Version;
use vrrp_support::*;

fn partition(p: &Pair) {
    p.lan
        .netns()
        .sh("nft add table bridge vrrp_split && \
             nft add chain bridge vrrp_split filter_vrrp '{ type filter hook forward priority 0; }' && \
             nft add rule bridge vrrp_split filter_vrrp ip protocol 112 drop")
        .expect("nft partition");
}

fn heal(p: &Pair) {
    p.lan
        .netns()
        .sh("nft delete table bridge vrrp_split")
        .expect("nft heal");
}

fn split_and_heal(label: &str, lvsd_priority: u8, keepalived_priority: u8) {
    let p = pair(label);
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V2, keepalived_priority, false),
    );
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(Version::V2, lvsd_priority, false));
    let lvsd_wins = lvsd_priority > keepalived_priority;
    wait_for("one master", Duration::from_secs(8), || {
        has_vip(&p.lvsd_ns) != has_vip(&p.ka_ns)
    });
    partition(&p);
    wait_for("both master", Duration::from_secs(8), || {
        has_vip(&p.lvsd_ns) && has_vip(&p.ka_ns) && lvsd.state() == State::Master
    });
    heal(&p);
    // Within 3 advert intervals (3 s), exactly one master holds the VIP.
    wait_for("split brain healed", Duration::from_secs(3), || {
        has_vip(&p.lvsd_ns) != has_vip(&p.ka_ns)
    });
    assert_eq!(has_vip(&p.lvsd_ns), lvsd_wins);
    assert_eq!(lvsd.state() == State::Master, lvsd_wins);
    // And it stays that way.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(has_vip(&p.lvsd_ns), lvsd_wins);
    assert_eq!(has_vip(&p.ka_ns), !lvsd_wins);
    lvsd.stop();
}

#[test]
fn split_brain_heals_to_lvsd_when_it_has_the_higher_priority() {
    split_and_heal("vrrp-sbl", 150, 100);
}

#[test]
fn split_brain_heals_to_keepalived_when_it_has_the_higher_priority() {
    split_and_heal("vrrp-sbk", 100, 150);
}
