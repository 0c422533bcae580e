//! The VRRP state machine driven by a virtual clock: `now` is a base
//! instant plus offsets; nothing sleeps.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lvsd::vrrp::config::{InstanceConfig, Tracked, TrackedFile, VirtualAddress};
use lvsd::vrrp::machine::{Action, Event, Machine, NotifyKind, Reject, State};
use lvsd::vrrp::packet::{Advert, Auth, Family, Version};
use lvsd::vrrp::sync_group::SyncGroup;

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 100));
const SELF: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 1));
const HIGHER_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 2));
const LOWER_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 0));

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(version: Version, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, "eth0");
    c.version = version;
    c.priority = priority;
    if version == Version::V2 {
        c.auth_pass = Some("s3cr3t".into());
    } else {
        c.advert_int_cs = 10;
    }
    c.vips = vec![VirtualAddress::host(VIP)];
    c
}

fn advert(version: Version, priority: u8, interval_cs: u16) -> Advert {
    Advert {
        version,
        vrid: 51,
        priority,
        interval_cs,
        auth: if version == Version::V2 {
            Auth::pass("s3cr3t")
        } else {
            Auth::None
        },
        addresses: vec![VIP],
    }
}

/// A machine plus a virtual clock.
struct Rig {
    machine: Machine,
    t0: Instant,
    now: Instant,
}

impl Rig {
    fn new(config: InstanceConfig) -> Self {
        let t0 = Instant::now();
        Rig {
            machine: Machine::new(config, SELF),
            t0,
            now: t0,
        }
    }

    fn at(&mut self, offset: Duration) -> &mut Self {
        assert!(self.t0 + offset >= self.now, "clock goes forward only");
        self.now = self.t0 + offset;
        self
    }

    fn send(&mut self, event: Event) -> Vec<Action> {
        self.machine.handle(event, self.now)
    }

    fn advert_from(&mut self, source: IpAddr, advert: Advert) -> Vec<Action> {
        self.send(Event::Advert { source, advert })
    }

    /// Runs every timer due up to `offset` (as the I/O loop would).
    fn run_until(&mut self, offset: Duration) -> Vec<Action> {
        let end = self.t0 + offset;
        let mut all = Vec::new();
        while let Some(deadline) = self.machine.next_deadline().filter(|d| *d <= end) {
            self.now = deadline.max(self.now);
            all.extend(self.machine.handle(Event::Timer, self.now));
        }
        self.now = end;
        all
    }

    fn deadline_offset(&self) -> Option<Duration> {
        self.machine.next_deadline().map(|d| d - self.t0)
    }
}

fn notifies(actions: &[Action]) -> Vec<NotifyKind> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect()
}

#[test]
fn startup_waits_the_master_down_interval_then_becomes_master() {
    let mut rig = Rig::new(config(Version::V2, 100));
    let actions = rig.send(Event::Startup);
    assert_eq!(rig.machine.state(), State::Backup);
    assert_eq!(notifies(&actions), vec![NotifyKind::Backup]);
    // 3 × 1 s + (256 − 100)/256 s = 3.609375 s.
    assert_eq!(
        rig.deadline_offset(),
        Some(Duration::from_micros(3_609_375))
    );
    assert!(rig.run_until(ms(3609)).is_empty());
    let actions = rig.run_until(ms(3610));
    assert_eq!(
        actions,
        vec![
            Action::AddVips,
            Action::SendAdvert { priority: 100 },
            Action::SendGratuitous { repeat: 5 },
            Action::Transition {
                from: State::Backup,
                to: State::Master
            },
            Action::Notify {
                kind: NotifyKind::Master,
                priority: 100
            },
        ]
    );
    // Adverts every second from then on.
    let adverts = rig
        .run_until(ms(3610 + 3000))
        .into_iter()
        .filter(|a| matches!(a, Action::SendAdvert { priority: 100 }))
        .count();
    assert_eq!(adverts, 3);
}

#[test]
fn address_owner_becomes_master_at_once() {
    let mut rig = Rig::new(config(Version::V2, 255));
    rig.send(Event::Startup);
    assert_eq!(rig.machine.state(), State::Master);
}

#[test]
fn a_higher_master_keeps_the_backup_waiting() {
    let mut rig = Rig::new(config(Version::V2, 100));
    rig.send(Event::Startup);
    for s in 1..10 {
        rig.at(ms(s * 1000));
        rig.advert_from(HIGHER_PEER, advert(Version::V2, 150, 100));
        rig.run_until(ms(s * 1000 + 999));
        assert_eq!(rig.machine.state(), State::Backup);
    }
    // The master goes silent: takeover at the last advert + master-down interval.
    assert!(rig.run_until(ms(9000 + 3609)).is_empty());
    rig.run_until(ms(9000 + 3610));
    assert_eq!(rig.machine.state(), State::Master);
}

#[test]
fn preempt_takes_over_from_a_lower_master_nopreempt_does_not() {
    let mut preempting = Rig::new(config(Version::V2, 150));
    let mut patient = Rig::new({
        let mut c = config(Version::V2, 150);
        c.nopreempt = true;
        c
    });
    for rig in [&mut preempting, &mut patient] {
        rig.send(Event::Startup);
        for s in 0..10 {
            rig.at(ms(s * 1000));
            rig.advert_from(HIGHER_PEER, advert(Version::V2, 100, 100));
            rig.run_until(ms(s * 1000 + 999));
        }
    }
    // The lower master's adverts are discarded: master-down interval after startup.
    assert_eq!(preempting.machine.state(), State::Master);
    assert_eq!(patient.machine.state(), State::Backup);
}

#[test]
fn preempt_delay_tolerates_a_lower_master_for_the_delay() {
    let mut c = config(Version::V2, 150);
    c.preempt_delay = Duration::from_secs(10);
    let mut rig = Rig::new(c);
    rig.send(Event::Startup);
    let mut became_master_at = None;
    for s in 0..30 {
        rig.at(ms(s * 1000));
        if rig.machine.state() == State::Backup {
            rig.advert_from(HIGHER_PEER, advert(Version::V2, 100, 100));
        }
        rig.run_until(ms(s * 1000 + 999));
        if rig.machine.state() == State::Master && became_master_at.is_none() {
            became_master_at = Some(s);
        }
    }
    // Tolerated until 10 s after startup; the advert at 10 s is discarded and
    // the last accepted one (9 s) times out at 9 + 3.2 s.
    assert_eq!(became_master_at, Some(12));
}

#[test]
fn priority_zero_makes_the_backup_take_over_after_the_skew_time() {
    let mut rig = Rig::new(config(Version::V2, 100));
    rig.send(Event::Startup);
    rig.at(ms(1000));
    rig.advert_from(HIGHER_PEER, advert(Version::V2, 150, 100));
    rig.at(ms(1500));
    rig.advert_from(HIGHER_PEER, advert(Version::V2, 0, 100));
    // Skew of priority 100: 609.375 ms.
    assert!(rig.run_until(ms(1500 + 609)).is_empty());
    rig.run_until(ms(1500 + 610));
    assert_eq!(rig.machine.state(), State::Master);
}

#[test]
fn v3_backup_adopts_the_master_interval() {
    let mut c = config(Version::V3, 100);
    c.advert_int_cs = 100;
    let mut rig = Rig::new(c);
    rig.send(Event::Startup);
    rig.at(ms(100));
    rig.advert_from(HIGHER_PEER, advert(Version::V3, 150, 10));
    assert_eq!(rig.machine.master_adver_int_cs(), 10);
    // 3 × 100 ms + 156 × 100 ms / 256 = 360.9375 ms.
    assert_eq!(
        rig.deadline_offset(),
        Some(Duration::from_micros(100_000 + 360_937))
    );
    rig.run_until(ms(100 + 361));
    assert_eq!(rig.machine.state(), State::Master);
    // As master it advertises at its own interval again.
    assert_eq!(rig.machine.master_adver_int_cs(), 100);
}

#[test]
fn master_steps_down_to_a_higher_priority_and_answers_a_lower_one() {
    let mut rig = Rig::new(config(Version::V3, 200));
    rig.send(Event::Startup);
    rig.run_until(ms(1000));
    assert_eq!(rig.machine.state(), State::Master);
    let answer = rig.advert_from(HIGHER_PEER, advert(Version::V3, 100, 10));
    assert_eq!(answer, vec![Action::SendAdvert { priority: 200 }]);
    let actions = rig.advert_from(HIGHER_PEER, advert(Version::V3, 201, 10));
    assert_eq!(
        actions[..2],
        [
            Action::RemoveVips,
            Action::Transition {
                from: State::Master,
                to: State::Backup
            }
        ]
    );
    assert_eq!(notifies(&actions), vec![NotifyKind::Backup]);
}

#[test]
fn equal_priority_tie_break_by_primary_address() {
    for (peer, expected) in [(HIGHER_PEER, State::Backup), (LOWER_PEER, State::Master)] {
        let mut rig = Rig::new(config(Version::V2, 100));
        rig.send(Event::Startup);
        rig.run_until(ms(4000));
        assert_eq!(rig.machine.state(), State::Master);
        rig.advert_from(peer, advert(Version::V2, 100, 100));
        assert_eq!(rig.machine.state(), expected, "peer {peer}");
    }
}

#[test]
fn a_master_resigning_peer_is_answered_immediately() {
    let mut rig = Rig::new(config(Version::V2, 100));
    rig.send(Event::Startup);
    rig.run_until(ms(4000));
    let actions = rig.advert_from(HIGHER_PEER, advert(Version::V2, 0, 100));
    assert_eq!(actions, vec![Action::SendAdvert { priority: 100 }]);
    assert_eq!(rig.machine.state(), State::Master);
}

#[test]
fn hostile_adverts_are_dropped_with_a_reason_and_change_nothing() {
    let mut unicast = config(Version::V2, 100);
    unicast.unicast_src = Some(SELF);
    unicast.unicast_peers = vec![HIGHER_PEER];
    unicast.check_unicast_src = true;
    let mut wrong_auth = advert(Version::V2, 250, 100);
    wrong_auth.auth = Auth::pass("guess");
    let mut no_auth = advert(Version::V2, 250, 100);
    no_auth.auth = Auth::None;
    let mut other_vrid = advert(Version::V2, 250, 100);
    other_vrid.vrid = 52;
    let cases = [
        (HIGHER_PEER, wrong_auth, Reject::Auth),
        (HIGHER_PEER, no_auth, Reject::Auth),
        (HIGHER_PEER, other_vrid, Reject::OtherVrid),
        (
            HIGHER_PEER,
            advert(Version::V3, 250, 100),
            Reject::WrongVersion,
        ),
        (HIGHER_PEER, advert(Version::V2, 250, 200), Reject::Interval),
        (LOWER_PEER, advert(Version::V2, 250, 100), Reject::NotAPeer),
    ];
    for (source, hostile, reason) in cases {
        let mut rig = Rig::new(unicast.clone());
        rig.send(Event::Startup);
        rig.run_until(ms(4000));
        assert_eq!(rig.machine.state(), State::Master);
        let deadline = rig.machine.next_deadline();
        let actions = rig.advert_from(source, hostile);
        assert_eq!(actions, vec![Action::Dropped(reason)]);
        assert_eq!(rig.machine.state(), State::Master);
        assert_eq!(rig.machine.next_deadline(), deadline);
    }
    // The same priority-250 advert from the peer does make it step down.
    let mut rig = Rig::new(unicast);
    rig.send(Event::Startup);
    rig.run_until(ms(4000));
    rig.advert_from(HIGHER_PEER, advert(Version::V2, 250, 100));
    assert_eq!(rig.machine.state(), State::Backup);
}

#[test]
fn strict_checks_the_address_list_and_blocks_vip_traffic() {
    let mut c = config(Version::V3, 100);
    c.strict = true;
    let mut rig = Rig::new(c);
    rig.send(Event::Startup);
    let mut other = advert(Version::V3, 250, 10);
    other.addresses = vec![IpAddr::V4(Ipv4Addr::new(192, 168, 77, 101))];
    assert_eq!(
        rig.advert_from(HIGHER_PEER, other),
        vec![Action::Dropped(Reject::AddressList)]
    );
    let actions = rig.run_until(ms(1000));
    assert!(
        actions.contains(&Action::BlockVipTraffic(true)),
        "{actions:?}"
    );
    // Without strict, accept is the default and nothing is blocked.
    let mut rig = Rig::new(config(Version::V3, 100));
    rig.send(Event::Startup);
    let actions = rig.run_until(ms(1000));
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::BlockVipTraffic(_))));
}

#[test]
fn track_weights_change_the_effective_priority_and_the_skew() {
    let mut c = config(Version::V2, 100);
    c.track_scripts = vec![
        Tracked {
            name: "chk_up".into(),
            weight: 2,
        },
        Tracked {
            name: "chk_down".into(),
            weight: -60,
        },
    ];
    c.track_files = vec![TrackedFile {
        path: PathBuf::from("/tmp/f"),
        weight: 3,
    }];
    let mut rig = Rig::new(c);
    assert_eq!(rig.machine.effective_priority(), 102);
    rig.send(Event::Script {
        name: "chk_down".into(),
        ok: false,
    });
    assert_eq!(rig.machine.effective_priority(), 42);
    rig.send(Event::Script {
        name: "chk_up".into(),
        ok: false,
    });
    assert_eq!(rig.machine.effective_priority(), 40);
    rig.send(Event::File {
        path: PathBuf::from("/tmp/f"),
        value: 5,
    });
    assert_eq!(rig.machine.effective_priority(), 55);
    // Skew from the effective priority: (256 − 55)/256 s.
    assert_eq!(rig.machine.skew_time(), Duration::from_micros(785_156));
    rig.send(Event::Startup);
    rig.run_until(ms(4000));
    let actions = rig.run_until(ms(5000));
    assert!(
        actions.contains(&Action::SendAdvert { priority: 55 }),
        "{actions:?}"
    );
    // Clamped to 254 at most.
    rig.send(Event::File {
        path: PathBuf::from("/tmp/f"),
        value: 1000,
    });
    assert_eq!(rig.machine.effective_priority(), 254);
}

#[test]
fn tracked_interface_down_means_fault_and_resignation() {
    let mut c = config(Version::V2, 100);
    c.track_interfaces = vec![Tracked {
        name: "eth1".into(),
        weight: 0,
    }];
    let mut rig = Rig::new(c);
    rig.send(Event::Startup);
    rig.run_until(ms(4000));
    assert_eq!(rig.machine.state(), State::Master);
    let actions = rig.send(Event::Interface {
        name: "eth1".into(),
        up: false,
    });
    assert_eq!(
        actions,
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::Transition {
                from: State::Master,
                to: State::Fault
            },
            Action::Notify {
                kind: NotifyKind::Fault,
                priority: 100
            },
        ]
    );
    assert_eq!(rig.machine.next_deadline(), None);
    // Adverts from others are ignored in FAULT.
    assert!(rig
        .advert_from(HIGHER_PEER, advert(Version::V2, 0, 100))
        .is_empty());
    let actions = rig.send(Event::Interface {
        name: "eth1".into(),
        up: true,
    });
    assert_eq!(notifies(&actions), vec![NotifyKind::Backup]);
    assert_eq!(rig.machine.state(), State::Backup);
}

#[test]
fn a_failing_weight_zero_script_at_startup_starts_in_fault() {
    let mut c = config(Version::V2, 100);
    c.track_scripts = vec![Tracked {
        name: "chk".into(),
        weight: 0,
    }];
    let mut rig = Rig::new(c);
    rig.send(Event::Script {
        name: "chk".into(),
        ok: false,
    });
    rig.send(Event::Startup);
    assert_eq!(rig.machine.state(), State::Fault);
}

#[test]
fn shutdown_of_a_master_resigns_with_priority_zero() {
    let mut rig = Rig::new(config(Version::V2, 100));
    rig.send(Event::Startup);
    rig.run_until(ms(4000));
    let actions = rig.send(Event::Shutdown);
    assert_eq!(
        actions,
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::Transition {
                from: State::Master,
                to: State::Init
            },
            Action::Notify {
                kind: NotifyKind::Stop,
                priority: 100
            },
        ]
    );
    assert_eq!(rig.machine.next_deadline(), None);
}

#[test]
fn gratuitous_bursts_follow_delay_and_refresh() {
    let mut c = config(Version::V2, 255);
    c.garp_master_delay = Duration::from_secs(5);
    c.garp_master_repeat = 3;
    c.garp_master_refresh = Some(Duration::from_secs(60));
    c.garp_master_refresh_repeat = 2;
    let mut rig = Rig::new(c);
    let first = rig.send(Event::Startup);
    assert!(first.contains(&Action::SendGratuitous { repeat: 3 }));
    let bursts = |actions: Vec<Action>| -> Vec<u32> {
        actions
            .into_iter()
            .filter_map(|a| match a {
                Action::SendGratuitous { repeat } => Some(repeat),
                _ => None,
            })
            .collect()
    };
    assert!(bursts(rig.run_until(ms(4999))).is_empty());
    assert_eq!(bursts(rig.run_until(ms(5000))), vec![3]);
    assert_eq!(bursts(rig.run_until(ms(121_000))), vec![2, 2]);
}

#[test]
fn notifications_come_in_transition_order() {
    let mut c = config(Version::V2, 100);
    c.track_interfaces = vec![Tracked {
        name: "eth1".into(),
        weight: 0,
    }];
    let mut rig = Rig::new(c);
    let mut all = rig.send(Event::Startup);
    all.extend(rig.run_until(ms(4000)));
    rig.at(ms(4100));
    all.extend(rig.advert_from(HIGHER_PEER, advert(Version::V2, 200, 100)));
    all.extend(rig.send(Event::Interface {
        name: "eth1".into(),
        up: false,
    }));
    all.extend(rig.send(Event::Interface {
        name: "eth1".into(),
        up: true,
    }));
    all.extend(rig.run_until(ms(9000)));
    all.extend(rig.send(Event::Shutdown));
    use NotifyKind::*;
    assert_eq!(
        notifies(&all),
        vec![Backup, Master, Backup, Fault, Backup, Master, Stop]
    );
}

#[test]
fn sync_group_members_follow_each_other() {
    let group = SyncGroup {
        name: "G".into(),
        members: vec!["VI_1".into(), "VI_2".into()],
    };
    let mut one = Rig::new(config(Version::V2, 100));
    let mut two = Rig::new({
        let mut c = config(Version::V2, 100);
        c.name = "VI_2".into();
        c.vrid = 52;
        c
    });
    one.send(Event::Startup);
    two.send(Event::Startup);
    // VI_2 keeps hearing its master; VI_1's master goes silent.
    two.at(ms(3000));
    two.advert_from(
        HIGHER_PEER,
        Advert {
            vrid: 52,
            ..advert(Version::V2, 200, 100)
        },
    );
    let actions = one.run_until(ms(3610));
    assert_eq!(one.machine.state(), State::Master);
    let follow = group.propagate("VI_1", &actions);
    assert_eq!(
        follow,
        vec![("VI_2".to_string(), Event::GroupFollow(State::Master))]
    );
    for (_, event) in follow {
        two.send(event);
    }
    assert_eq!(two.machine.state(), State::Master);
    // A fault of VI_2 takes VI_1 to FAULT as well.
    let actions = two.send(Event::GroupFollow(State::Fault));
    for (_, event) in group.propagate("VI_2", &actions) {
        one.send(event);
    }
    assert_eq!(one.machine.state(), State::Fault);
}

#[test]
fn ipv6_family_mismatch_is_dropped() {
    let mut c = config(Version::V3, 100);
    c.family = Family::Ipv6;
    let mut rig = Rig::new(c);
    rig.send(Event::Startup);
    assert_eq!(
        rig.advert_from(HIGHER_PEER, advert(Version::V3, 200, 10)),
        vec![Action::Dropped(Reject::Family)]
    );
}
