//! Failover figures (a benchmark, not a timed test: `#[ignore]`, run by
//! `bench/failover-vrrp-core.sh`). Same run, same namespaces: how long the
//! backup takes to hold the VIP after the master gets SIGTERM (priority-0
//! resignation) or SIGKILL, for lvsd as backup of keepalived and keepalived
//! as backup of lvsd, v2 advert_int 1 s and v3 advert_int 0.1 s.

mod vrrp_support;

use std::time::{Duration, Instant};

use lvsd::vrrp::machine::State;
use lvsd::vrrp::packet::Version;
use vrrp_support::*;

const RUNS: usize = 7;

/// 1.5 s plus a pseudo-random part of an advert interval, so that the
/// signal does not always land at the same phase of the master's adverts.
fn settle(version: Version) {
    let interval_ns: u32 = match version {
        Version::V2 => 1_000_000_000,
        Version::V3 => 100_000_000,
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::thread::sleep(
        Duration::from_millis(1500) + Duration::from_nanos(u64::from(nanos % interval_ns)),
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// keepalived master (150), lvsd backup (100): signal keepalived, time
/// until lvsd is MASTER (its VIP is added just before).
fn lvsd_backup(version: Version, signal: &str) -> Duration {
    let p = pair("vrrp-bl");
    let ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(version, 150, false),
    );
    wait_for("keepalived master", Duration::from_secs(8), || {
        has_vip(&p.ka_ns)
    });
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(version, 100, false));
    settle(version);
    assert_eq!(lvsd.state(), State::Backup);
    let start = Instant::now();
    signal_keepalived(&p.ka_ns, signal);
    while lvsd.state() != State::Master {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_micros(500));
    }
    let took = start.elapsed();
    drop(ka);
    lvsd.stop();
    took
}

/// lvsd master (150), keepalived backup (100): stop or crash lvsd, time
/// until the VIP shows on keepalived's side (polled with `ip`, ~5 ms).
fn keepalived_backup(version: Version, graceful: bool) -> Duration {
    let p = pair("vrrp-bk");
    let _ka = start_keepalived(
        &p.ka_ns,
        p.dir.path(),
        &keepalived_conf(version, 100, false),
    );
    let lvsd = LvsdNode::start(&p.lvsd_ns, lvsd_config(version, 150, false));
    wait_for("lvsd master", Duration::from_secs(8), || {
        lvsd.state() == State::Master
    });
    settle(version);
    let start = Instant::now();
    if graceful {
        lvsd.stop();
    } else {
        lvsd.crash();
    }
    while !has_vip(&p.ka_ns) {
        assert!(start.elapsed() < Duration::from_secs(10));
    }
    start.elapsed()
}

#[test]
#[ignore = "benchmark: run by bench/failover-vrrp-core.sh"]
fn failover_figures() {
    let mut rows = Vec::new();
    for (version, label) in [(Version::V2, "v2 1 s"), (Version::V3, "v3 0.1 s")] {
        for (signal, name) in [("-TERM", "SIGTERM"), ("-KILL", "SIGKILL")] {
            let lvsd: Vec<_> = (0..RUNS).map(|_| lvsd_backup(version, signal)).collect();
            let ka: Vec<_> = (0..RUNS)
                .map(|_| keepalived_backup(version, signal == "-TERM"))
                .collect();
            rows.push(format!(
                "| {label} | {name} | {} | {} |",
                median(lvsd).as_millis(),
                median(ka).as_millis()
            ));
        }
    }
    println!("| case | master gets | lvsd backup takes over (ms, median of {RUNS}) | keepalived backup takes over (ms, median of {RUNS}) |");
    println!("|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
