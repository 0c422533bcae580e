//! vrrp_sync_group in running lvsd instances against keepalived: when one
//! member goes to FAULT (its weight-0 script fails) the other follows, and
//! keepalived takes over both VIPs; when it recovers, both come back.

mod vrrp_support;

use std::net::IpAddr;
use std::time::Duration;

use integration::netns::Netns;
use lvsd::vrrp::config::{Tracked, VirtualAddress};
use lvsd::vrrp::machine::State;
use lvsd::vrrp::packet::Version;
use lvsd::vrrp::sync_group::coordinate;
use lvsd::vrrp::track::ScriptConfig;
use vrrp_support::*;

const VIP2: &str = "192.168.77.101";

fn holds(ns: &Netns, vip: &str) -> bool {
    ns.sh("ip -4 addr show dev eth0")
        .is_ok_and(|out| out.contains(&format!("inet {vip}/")))
}

#[test]
fn a_fault_of_one_member_takes_the_whole_group_to_fault() {
    let p = pair("vrrp-sg");
    let ka_conf = format!(
        "global_defs {{\n    vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority 100\n    advert_int 0.1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\
         vrrp_instance VI_2 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n    \
         priority 100\n    advert_int 0.1\n    virtual_ipaddress {{\n        {VIP2}/24\n    }}\n}}\n"
    );
    let _ka = start_keepalived(&p.ka_ns, p.dir.path(), &ka_conf);
    let flag = p.dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");

    let first = lvsd_config(Version::V3, 150, false);
    let mut second = lvsd_config(Version::V3, 150, false);
    second.name = "VI_2".into();
    second.vrid = 52;
    let mut vip2 = VirtualAddress::host(IpAddr::V4(VIP2.parse().expect("vip2")));
    vip2.prefix_len = 24;
    second.vips = vec![vip2];
    let mut script = ScriptConfig::new("chk", &format!("test -f {}", flag.display()));
    script.interval = Duration::from_millis(100);
    second.scripts = vec![script];
    second.track_scripts = vec![Tracked {
        name: "chk".into(),
        weight: 0,
    }];
    let one = LvsdNode::start(&p.lvsd_ns, first);
    let two = LvsdNode::start(&p.lvsd_ns, second);
    let members = vec![
        (
            "VI_1".to_string(),
            one.handle.state.clone(),
            one.handle.events.clone(),
        ),
        (
            "VI_2".to_string(),
            two.handle.state.clone(),
            two.handle.events.clone(),
        ),
    ];
    let coordinator = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(coordinate(members));
    });

    wait_for("both master", Duration::from_secs(3), || {
        one.state() == State::Master && two.state() == State::Master
    });
    std::fs::remove_file(&flag).expect("remove flag");
    wait_for("VI_2 fault", Duration::from_secs(2), || {
        two.state() == State::Fault
    });
    wait_for("VI_1 follows", Duration::from_secs(1), || {
        one.state() == State::Fault
    });
    wait_for("keepalived holds both", Duration::from_secs(2), || {
        holds(&p.ka_ns, VIP) && holds(&p.ka_ns, VIP2)
    });
    assert!(!holds(&p.lvsd_ns, VIP) && !holds(&p.lvsd_ns, VIP2));
    std::fs::write(&flag, "").expect("flag");
    wait_for("both master again", Duration::from_secs(3), || {
        one.state() == State::Master && two.state() == State::Master
    });
    wait_for("keepalived releases both", Duration::from_secs(2), || {
        !holds(&p.ka_ns, VIP) && !holds(&p.ka_ns, VIP2)
    });
    one.stop();
    two.stop();
    coordinator.join().expect("coordinator");
}
