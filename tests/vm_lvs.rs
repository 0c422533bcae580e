//! The LVS reconciler against the real kernel (runs inside the VM; feature
//! `vm-tests`). Each test programs its own network namespace and uses the
//! real `ipvsadm` as the judge of what is in the kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::IpAddr;

use integration::netns::Netns;
use ipvs_sys::{Client, Dest, FwdMethod, Op, Persistence, Protocol, Service, ServiceKey};
use lvsd::lvs::{
    desired_service, read_table, reconcile, QuorumState, RealServerPlan, SorryServerPlan, Table,
    Verdict, VirtualServerPlan, DOWN, UP,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip(addr),
        port,
    }
}

fn web_plan() -> VirtualServerPlan {
    let mut service = Service::new(tcp("10.0.0.3", 80), "wrr");
    service.persistence = Some(Persistence {
        timeout: 50,
        netmask: u32::MAX,
    });
    let real = |addr: &str, weight: i32, inhibit: bool| {
        let mut dest = Dest::new(ip(addr), 80, FwdMethod::Route);
        dest.weight = weight;
        RealServerPlan {
            dest: dest.into(),
            inhibit_on_failure: inhibit,
        }
    };
    VirtualServerPlan {
        service,
        reals: vec![real("10.0.1.1", 3, false), real("10.0.1.2", 1, true)],
        sorry: Some(SorryServerPlan {
            dest: Dest::new(ip("10.0.1.99"), 80, FwdMethod::Masq).into(),
            inhibit: false,
        }),
        quorum: 1,
        hysteresis: 0,
    }
}

fn desired(plan: &VirtualServerPlan, verdicts: &[Verdict], q: &mut QuorumState) -> Table {
    let (d, _) = desired_service(plan, verdicts, q);
    Table::from([(d.service.key, d)])
}

/// Reconciles the namespace's kernel table to `want` and returns the ops.
fn converge(client: &mut Client, want: &Table, retired: &BTreeSet<ServiceKey>) -> Vec<Op> {
    let have = read_table(client).unwrap();
    let ops = reconcile(want, &have, retired);
    client.apply(&ops).unwrap();
    ops
}

fn ipvsadm(ns: &Netns) -> String {
    ns.sh("ipvsadm -Ln").unwrap()
}

#[test]
fn reconcile_converges_in_the_kernel_and_then_does_nothing() {
    let ns = Netns::new("lvs-conv").unwrap();
    let mut client = Client::in_netns(&ns.path()).unwrap();
    let plan = web_plan();
    let want = desired(&plan, &[UP, UP], &mut QuorumState::default());

    let ops = converge(&mut client, &want, &BTreeSet::new());
    assert_eq!(ops.len(), 3, "{ops:?}");
    let listing = ipvsadm(&ns);
    assert!(
        listing.contains("TCP  10.0.0.3:80 wrr persistent 50"),
        "{listing}"
    );
    assert!(
        listing.contains("  -> 10.0.1.1:80                  Route   3"),
        "{listing}"
    );
    assert!(
        listing.contains("  -> 10.0.1.2:80                  Route   1"),
        "{listing}"
    );

    // Read back from the kernel, the table needs no further change.
    assert_eq!(
        reconcile(&want, &read_table(&mut client).unwrap(), &BTreeSet::new()),
        []
    );
}

#[test]
fn an_existing_table_is_adopted_and_hand_edits_are_repaired() {
    let ns = Netns::new("lvs-adopt").unwrap();
    // Another process (an earlier lvsd, or an operator) made the table, plus
    // a foreign service nobody configured.
    ns.sh("ipvsadm -A -t 10.0.0.3:80 -s wrr -p 50 && \
         ipvsadm -a -t 10.0.0.3:80 -r 10.0.1.1:80 -g -w 3 && \
         ipvsadm -a -t 10.0.0.3:80 -r 10.0.1.2:80 -g -w 1 && \
         ipvsadm -A -u 10.0.0.7:53 -s rr")
        .unwrap();
    let mut client = Client::in_netns(&ns.path()).unwrap();
    let plan = web_plan();
    let want = desired(&plan, &[UP, UP], &mut QuorumState::default());
    assert_eq!(
        converge(&mut client, &want, &BTreeSet::new()),
        [],
        "adoption must not touch a matching table"
    );

    // An operator deletes a real server and changes a weight by hand (#1877).
    ns.sh("ipvsadm -d -t 10.0.0.3:80 -r 10.0.1.1:80 && ipvsadm -e -t 10.0.0.3:80 -r 10.0.1.2:80 -g -w 9")
        .unwrap();
    let ops = converge(&mut client, &want, &BTreeSet::new());
    assert_eq!(ops.len(), 2, "{ops:?}");
    let listing = ipvsadm(&ns);
    assert!(
        listing.contains("  -> 10.0.1.1:80                  Route   3"),
        "{listing}"
    );
    assert!(
        listing.contains("  -> 10.0.1.2:80                  Route   1"),
        "{listing}"
    );
    // The foreign service is left alone.
    assert!(listing.contains("UDP  10.0.0.7:53 rr"), "{listing}");
}

#[test]
fn failures_inhibit_and_the_sorry_server_follow_the_verdicts() {
    let ns = Netns::new("lvs-sorry").unwrap();
    let mut client = Client::in_netns(&ns.path()).unwrap();
    let plan = web_plan();
    let mut quorum = QuorumState::default();

    let want = desired(&plan, &[UP, DOWN], &mut quorum);
    converge(&mut client, &want, &BTreeSet::new());
    let listing = ipvsadm(&ns);
    // The inhibited real server stays with weight 0.
    assert!(
        listing.contains("  -> 10.0.1.2:80                  Route   0"),
        "{listing}"
    );

    let want = desired(&plan, &[DOWN, DOWN], &mut quorum);
    converge(&mut client, &want, &BTreeSet::new());
    let listing = ipvsadm(&ns);
    assert!(
        listing.contains("  -> 10.0.1.99:80                 Masq    1"),
        "{listing}"
    );
    assert!(!listing.contains("10.0.1.1:80"), "{listing}");

    let want = desired(&plan, &[UP, DOWN], &mut quorum);
    converge(&mut client, &want, &BTreeSet::new());
    let listing = ipvsadm(&ns);
    assert!(!listing.contains("10.0.1.99"), "{listing}");
    assert!(
        listing.contains("  -> 10.0.1.1:80                  Route   3"),
        "{listing}"
    );
}

#[test]
fn a_retired_service_is_removed_after_a_reload() {
    let ns = Netns::new("lvs-retire").unwrap();
    let mut client = Client::in_netns(&ns.path()).unwrap();
    let plan = web_plan();
    let want = desired(&plan, &[], &mut QuorumState::default());
    converge(&mut client, &want, &BTreeSet::new());

    // The new configuration no longer has the service.
    let retired = BTreeSet::from([plan.service.key]);
    let ops = converge(&mut client, &Table::new(), &retired);
    assert_eq!(ops, [Op::DelService(plan.service.key)]);
    assert!(!ipvsadm(&ns).contains("10.0.0.3"));
}

#[test]
fn the_sync_daemon_follows_the_vrrp_role() {
    use ipvs_sys::Daemon;
    use lvsd::lvs::syncd::{role_for, sync_daemon_ops};

    let ns = Netns::new("lvs-syncd").unwrap();
    ns.sh("ip link add d0 type dummy && ip link set d0 multicast on up && ip addr add 10.0.0.1/24 dev d0")
        .unwrap();
    let mut client = Client::in_netns(&ns.path()).unwrap();
    let wanted = |master: bool| Daemon {
        state: role_for(master),
        mcast_ifn: "d0".into(),
        sync_id: 7,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
        unknown: Vec::new(),
    };
    let step = |client: &mut Client, master: bool| {
        let running = client.daemons().unwrap();
        let ops = sync_daemon_ops(Some(&wanted(master)), &running);
        client.apply(&ops).unwrap();
        ops
    };

    // BACKUP at start.
    assert_eq!(step(&mut client, false).len(), 1);
    let listing = ns.sh("ipvsadm -L --daemon").unwrap();
    assert!(
        listing.contains("backup sync daemon (mcast=d0, syncid=7"),
        "{listing}"
    );
    // The running daemon, with the kernel's defaults, is left alone.
    assert_eq!(step(&mut client, false), []);

    // MASTER: the backup daemon stops and the master one starts.
    assert_eq!(step(&mut client, true).len(), 2);
    let listing = ns.sh("ipvsadm -L --daemon").unwrap();
    assert!(
        listing.contains("master sync daemon (mcast=d0, syncid=7"),
        "{listing}"
    );
    assert!(!listing.contains("backup sync daemon"), "{listing}");

    // Shutdown: nothing wanted, everything stops.
    let running = client.daemons().unwrap();
    client.apply(&sync_daemon_ops(None, &running)).unwrap();
    assert_eq!(ns.sh("ipvsadm -L --daemon").unwrap().trim(), "");
}

#[tokio::test]
async fn the_runtime_applies_verdicts_and_releases_on_shutdown() {
    use lvsd::lvs::runtime::{LvsRuntime, Pass};
    use lvsd::lvs::{Effect, RealServerNotify, VirtualServer};

    let ns = Netns::new("lvs-rt").unwrap();
    // A foreign service that must survive everything.
    ns.sh("ipvsadm -A -t 10.0.0.8:25 -s rr").unwrap();
    let plan = web_plan();
    let server = VirtualServer {
        alpha: vec![false; plan.reals.len()],
        real_notify: vec![
            RealServerNotify {
                up: None,
                down: Some("echo down".into()),
            };
            plan.reals.len()
        ],
        quorum_up: None,
        quorum_down: None,
        omega: true,
        plan,
    };
    let client = Client::in_netns(&ns.path()).unwrap();
    let (mut rt, effects) = LvsRuntime::new(vec![server], Some(client));
    assert!(effects.is_empty());

    let report = rt.reconcile(Pass::Everything).unwrap();
    assert_eq!((report.ops.len(), report.failures.len()), (3, 0));
    assert_eq!(rt.reconcile(Pass::Everything).unwrap().ops, []);

    let effects = rt.engine_mut().set_verdict(0, 0, DOWN);
    assert!(matches!(&effects[..], [Effect::Notify { script, .. }] if script == "echo down"));
    let report = rt.reconcile(Pass::Changes).unwrap();
    assert_eq!(report.ops.len(), 1, "{:?}", report.ops);
    assert!(!ipvsadm(&ns).contains("10.0.1.1:80"));

    let (report, omega) = rt.shutdown(true).unwrap();
    assert_eq!(report.ops, [Op::DelService(tcp("10.0.0.3", 80))]);
    assert_eq!(
        omega.len(),
        1,
        "only the up server is notified down: {omega:?}"
    );
    let listing = ipvsadm(&ns);
    assert!(!listing.contains("10.0.0.3"), "{listing}");
    assert!(listing.contains("TCP  10.0.0.8:25 rr"), "{listing}");
}

mod director {
    use super::*;
    use lvsd::control::{Request, Response};
    use lvsd::daemon::notify::Queue;
    use lvsd::daemon::{ConfigSource, Director, DirectorConfig, Event, Load, Options, Running};
    use lvsd::lvs::status::LastCheck;
    use lvsd::lvs::{RealServerNotify, VirtualServer};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::sync::{mpsc, oneshot};

    /// A configuration the test swaps between reloads.
    #[derive(Clone)]
    struct Swappable(Arc<Mutex<Result<DirectorConfig, Vec<String>>>>);

    impl ConfigSource for Swappable {
        fn load(&mut self, _: Option<Running<'_>>) -> Result<Load, Vec<String>> {
            let config = self.0.lock().unwrap().clone()?;
            Ok(Load {
                config,
                whole: true,
            })
        }
    }

    fn config(plans: Vec<VirtualServerPlan>) -> DirectorConfig {
        DirectorConfig {
            virtual_servers: plans
                .into_iter()
                .map(|plan| {
                    Arc::new(VirtualServer {
                        alpha: vec![false; plan.reals.len()],
                        real_notify: vec![RealServerNotify::default(); plan.reals.len()],
                        quorum_up: None,
                        quorum_down: None,
                        omega: false,
                        plan,
                    })
                })
                .collect(),
            // Verdicts come from the test itself.
            checks: Vec::new(),
            ..DirectorConfig::default()
        }
    }

    async fn ask(events: &mpsc::Sender<Event>, request: Request) -> Response {
        let (tx, rx) = oneshot::channel();
        events.send(Event::Control((request, tx))).await.unwrap();
        rx.await.unwrap()
    }

    #[tokio::test]
    async fn verdicts_reloads_hand_edits_and_shutdown_drive_the_kernel() {
        let ns = Netns::new("lvs-director").unwrap();
        let source = Swappable(Arc::new(Mutex::new(Ok(config(vec![web_plan()])))));
        let options = Options {
            dont_release_ipvs: false,
            dont_release_vrrp: false,
            reconcile_interval: Duration::from_millis(200),
            config_path: "test.conf".into(),
        };
        let (queue, _) = Queue::start(Duration::from_secs(5));
        let client = Client::in_netns(&ns.path()).unwrap();
        let (events, rx) = mpsc::channel(16);
        let director =
            Director::new(source.clone(), options, Some(client), queue, events.clone()).unwrap();
        let task = tokio::spawn(director.run(rx));

        // The first reconcile programs the table before any request is
        // answered.
        assert!(matches!(
            ask(&events, Request::Status).await,
            Response::Status(_)
        ));
        assert!(ipvsadm(&ns).contains("  -> 10.0.1.1:80                  Route   3"));

        // A failed check takes the real server out.
        events
            .send(Event::Check {
                // As from the first check runner, which has no checks here.
                generation: 0,
                vs: 0,
                real: 0,
                verdict: DOWN,
                last: LastCheck {
                    result: Some("connection refused".into()),
                    latency_ms: Some(0.3),
                    failures: 1,
                },
            })
            .await
            .unwrap();
        let Response::Status(s) = ask(&events, Request::Status).await else {
            panic!("no status")
        };
        let real = &s.virtual_servers[0].real_servers[0];
        assert!(!real.healthy);
        assert_eq!(real.kernel_weight, None);
        assert_eq!(real.last_check.as_deref(), Some("connection refused"));
        assert!(!ipvsadm(&ns).contains("10.0.1.1:80"));

        // A hand edit is repaired by the periodic pass (#1877).
        ns.sh("ipvsadm -d -t 10.0.0.3:80 -r 10.0.1.2:80").unwrap();
        let repaired = tokio::time::timeout(Duration::from_secs(10), async {
            while !ipvsadm(&ns).contains("10.0.1.2:80") {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(repaired.is_ok(), "{}", ipvsadm(&ns));

        // A broken configuration changes nothing.
        *source.0.lock().unwrap() = Err(vec!["test.conf:3:1: error: unbalanced '}'".into()]);
        let before = ipvsadm(&ns);
        match ask(&events, Request::Reload).await {
            Response::ReloadRefused { errors } => {
                assert_eq!(errors, ["test.conf:3:1: error: unbalanced '}'"])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ipvsadm(&ns), before);

        // A valid one applies the difference; the failed server stays out (#1720).
        let mut changed = web_plan();
        changed.service.scheduler = "wlc".into();
        let mut second = web_plan();
        second.service.key = tcp("10.0.0.4", 443);
        *source.0.lock().unwrap() = Ok(config(vec![changed, second]));
        match ask(&events, Request::Reload).await {
            Response::Reloaded { changes } => assert_eq!(
                changes,
                [
                    "virtual server TCP 10.0.0.3:80: changed",
                    "virtual server TCP 10.0.0.4:443: added"
                ]
            ),
            other => panic!("{other:?}"),
        }
        let listing = ipvsadm(&ns);
        assert!(
            listing.contains("TCP  10.0.0.3:80 wlc persistent 50"),
            "{listing}"
        );
        assert!(
            listing.contains("TCP  10.0.0.4:443 wrr persistent 50"),
            "{listing}"
        );
        let mut judge = Client::in_netns(&ns.path()).unwrap();
        let table = read_table(&mut judge).unwrap();
        let reals: Vec<String> = table[&tcp("10.0.0.3", 80)]
            .dests
            .keys()
            .map(|d| d.addr.to_string())
            .collect();
        assert_eq!(reals, ["10.0.1.2"], "failed server re-added:\n{listing}");
        // The new service's checks start afresh: both real servers are in.
        assert_eq!(table[&tcp("10.0.0.4", 443)].dests.len(), 2, "{listing}");

        // Shutdown releases what the daemon programmed.
        events.send(Event::Shutdown).await.unwrap();
        task.await.unwrap().unwrap();
        assert!(!ipvsadm(&ns).contains("TCP"), "{}", ipvsadm(&ns));
    }
}
