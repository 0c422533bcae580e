//! Tracking in a running lvsd instance against keepalived (v3, 0.1 s):
//! a weight-0 vrrp_script puts lvsd in FAULT, a hanging script is killed
//! and never delays adverts, track_file and track_interface move the
//! priority or the state, and notify hooks run in transition order.

mod vrrp_support;

use std::path::PathBuf;
use std::time::Duration;

use lvsd::vrrp::config::{Tracked, TrackedFile};
use lvsd::vrrp::machine::State;
use lvsd::vrrp::packet::Version;
use lvsd::vrrp::track::ScriptConfig;
use vrrp_support::*;

fn with_keepalived_backup(label: &str) -> (Pair, integration::netns::ChildGuard) {
    let p = pair(label);
    let ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(Version::V3, 100, false),
    );
    (p, ka)
}

#[test]
fn weight_zero_script_failure_is_fault_and_recovery_preempts() {
    let (p, _ka) = with_keepalived_backup("vrrp-ts");
    let flag = p.dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");
    let mut config = lvsd_config(Version::V3, 150, false);
    let mut script = ScriptConfig::new("chk", &format!("test -f {}", flag.display()));
    script.interval = Duration::from_millis(100);
    config.scripts = vec![script];
    config.track_scripts = vec![Tracked {
        name: "chk".into(),
        weight: 0,
    }];
    let log = p.dir.path().join("notify.log");
    let hook = |word: &str| format!("sh -c \"echo {word} >> {}\"", log.display());
    config.notify.master = Some(hook("master"));
    config.notify.backup = Some(hook("backup"));
    config.notify.fault = Some(hook("fault"));
    config.notify.stop = Some(hook("stop"));
    let lvsd = LvsdNode::start(&p.lvsd_ns, config);
    wait_for("lvsd master", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    std::fs::remove_file(&flag).expect("remove flag");
    wait_for("lvsd fault", Duration::from_secs(2), || {
        lvsd.state() == State::Fault
    });
    assert!(!has_vip(&p.lvsd_ns));
    wait_for("keepalived takeover", Duration::from_secs(2), || {
        has_vip(&p.ka_ns)
    });
    std::fs::write(&flag, "").expect("flag");
    wait_for("lvsd master again", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    wait_for("keepalived releases", Duration::from_secs(2), || {
        !has_vip(&p.ka_ns)
    });
    lvsd.stop();
    let order = std::fs::read_to_string(&log).expect("notify log");
    assert_eq!(
        order.split_whitespace().collect::<Vec<_>>(),
        ["backup", "master", "fault", "backup", "master", "stop"]
    );
}

#[test]
fn a_hanging_script_is_killed_and_never_delays_adverts() {
    let (p, _ka) = with_keepalived_backup("vrrp-th");
    let mut config = lvsd_config(Version::V3, 150, false);
    let mut script = ScriptConfig::new("hang", "sleep 30");
    script.interval = Duration::from_millis(300);
    script.timeout = Some(Duration::from_secs(1));
    config.scripts = vec![script];
    // +2 while OK: the failure only lowers 152 to 150, still above 100.
    config.track_scripts = vec![Tracked {
        name: "hang".into(),
        weight: 2,
    }];
    let lvsd = LvsdNode::start(&p.lvsd_ns, config);
    wait_for("lvsd master", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    // keepalived's master-down interval is ~0.36 s: any advert delayed by
    // the 1 s hanging script would make it take over.
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !has_vip(&p.ka_ns),
            "keepalived took over: adverts were delayed"
        );
    }
    // Killed at the timeout: never more than one sleep alive at a time.
    // (pgrep would see the whole host: count the namespace's own processes.)
    let sleeps = p
        .lvsd_ns
        .pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        })
        .count();
    assert!(sleeps <= 1, "{sleeps} hanging scripts alive");
    lvsd.stop();
}

#[test]
fn track_file_and_track_interface() {
    let (p, _ka) = with_keepalived_backup("vrrp-tf");
    // A veth pair inside lvsd's namespace stands for the tracked uplink.
    p.lvsd_ns
        .ip(&[
            "link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1",
        ])
        .expect("veth");
    p.lvsd_ns
        .ip(&["link", "set", "dummy1", "up"])
        .expect("peer up");
    p.lvsd_ns
        .ip(&["link", "set", "dummy0", "up"])
        .expect("dummy up");
    let file = p.dir.path().join("prio");
    std::fs::write(&file, "0\n").expect("file");
    let mut config = lvsd_config(Version::V3, 150, false);
    config.track_files = vec![TrackedFile {
        path: PathBuf::from(&file),
        weight: 60,
    }];
    config.track_interfaces = vec![Tracked {
        name: "dummy0".into(),
        weight: 0,
    }];
    let lvsd = LvsdNode::start(&p.lvsd_ns, config);
    wait_for("lvsd master", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    // 150 − 60 = 90 < 100: keepalived preempts.
    std::fs::write(&file, "-1\n").expect("file");
    wait_for("keepalived preempts", Duration::from_secs(3), || {
        has_vip(&p.ka_ns)
    });
    wait_for("lvsd backup", Duration::from_secs(1), || {
        lvsd.state() == State::Backup
    });
    std::fs::write(&file, "0\n").expect("file");
    wait_for("lvsd master again", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    // A tracked interface going down (rtnetlink event) is a FAULT.
    p.lvsd_ns
        .ip(&["link", "set", "dummy0", "down"])
        .expect("dummy down");
    wait_for("lvsd fault", Duration::from_secs(1), || {
        lvsd.state() == State::Fault
    });
    wait_for("keepalived takes over", Duration::from_secs(2), || {
        has_vip(&p.ka_ns)
    });
    p.lvsd_ns
        .ip(&["link", "set", "dummy0", "up"])
        .expect("dummy up");
    wait_for("lvsd recovers", Duration::from_secs(3), || {
        lvsd.state() == State::Master
    });
    lvsd.stop();
}
