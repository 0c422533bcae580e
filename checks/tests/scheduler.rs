//! The scheduler with the real network prober: a real server that stops
//! listening goes down after retry + 1 refused probes, and comes back up
//! with one success, each transition carrying its reason.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod servers;

use std::sync::Arc;
use std::time::Duration;

use checks::spec::{CheckFamily, HttpCheck, MiscCheck, UrlCheck};
use checks::{
    CheckKind, CheckSpec, Endpoint, Failure, NetworkProber, RealServerChecks, Report, Scheduler,
    SchedulerOptions, Timing, Transition,
};
use tokio::sync::mpsc;

/// The next transition, and how many probes failed before it.
async fn next_transition(
    rx: &mut mpsc::Receiver<Report<&'static str>>,
) -> (Transition<&'static str>, usize) {
    let wait = async {
        let mut failed = 0;
        loop {
            match rx.recv().await {
                Some(Report::Transition(t)) => return (t, failed),
                Some(Report::Probes(probes)) => {
                    failed += probes.iter().filter(|p| !p.outcome.is_pass()).count();
                }
                None => panic!("scheduler ended"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap()
}

#[tokio::test]
async fn real_server_flips_down_and_up_with_reasons() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let timing = Timing {
        connect_timeout: Duration::from_secs(1),
        retry: 2,
        delay_before_retry: Duration::from_millis(20),
        delay_loop: Duration::from_millis(50),
        warmup: Duration::ZERO,
        ..Timing::defaults_for(CheckFamily::Other)
    };
    let scheduler = Scheduler::new(
        vec![RealServerChecks {
            key: "rs",
            checks: vec![Arc::new(CheckSpec {
                kind: CheckKind::Tcp,
                endpoint: Endpoint::to(addr),
                timing,
            })]
            .into(),
        }],
        SchedulerOptions {
            report_every_probe: true,
            ..SchedulerOptions::default()
        },
    );
    let (tx, mut rx) = mpsc::channel(1024);
    let task = tokio::spawn(scheduler.run(NetworkProber, tx));

    drop(listener);
    let (down, failed) = next_transition(&mut rx).await;
    assert_eq!(failed, 3, "retry 2: down at the third consecutive failure");
    assert!(!down.verdict.up);
    assert_eq!(down.reason, Some(Failure::Refused));

    let _listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (up, _) = next_transition(&mut rx).await;
    assert!(up.verdict.up);
    assert_eq!(up.reason, None);
    drop(rx);
    task.await.unwrap();
}

/// The scheduler polls every probe itself, whatever wakes it: child
/// processes (MISC_CHECK, woken through SIGCHLD) and an HTTP exchange in
/// several steps, side by side on one scheduler, each reaching its own
/// verdict.
#[tokio::test]
async fn checks_of_every_shape_reach_their_verdicts_side_by_side() {
    let (http, _) = servers::http(servers::Http::ByPath).await;
    let timing = Timing {
        connect_timeout: Duration::from_secs(2),
        retry: 0,
        delay_loop: Duration::from_millis(100),
        warmup: Duration::ZERO,
        ..Timing::defaults_for(CheckFamily::Other)
    };
    let misc = |command: &str, dynamic: bool| {
        CheckKind::Misc(Box::new(MiscCheck {
            command: command.into(),
            timeout: Some(Duration::from_secs(5)),
            dynamic,
            user: None,
            group: None,
        }))
    };
    let real = |key, kind, target| RealServerChecks {
        key,
        checks: vec![Arc::new(CheckSpec {
            kind,
            endpoint: Endpoint::to(target),
            timing: timing.clone(),
        })]
        .into(),
    };
    let nowhere = "127.0.0.1:9".parse().unwrap();
    let scheduler = Scheduler::new(
        vec![
            real("misc-fails", misc("/bin/false", false), nowhere),
            real("misc-weight", misc("sh -c 'exit 7'", true), nowhere),
            real(
                "http-503",
                CheckKind::Http(Box::new(HttpCheck {
                    urls: vec![UrlCheck::path("/down")],
                    ..HttpCheck::default()
                })),
                http,
            ),
        ],
        SchedulerOptions::default(),
    );
    let (tx, mut rx) = mpsc::channel(1024);
    let task = tokio::spawn(scheduler.run(NetworkProber, tx));
    let mut verdicts = std::collections::BTreeMap::new();
    while verdicts.len() < 3 {
        let (t, _) = next_transition(&mut rx).await;
        verdicts.insert(t.real, (t.verdict.up, t.verdict.dynamic_weight, t.reason));
    }
    assert!(matches!(verdicts["misc-fails"], (false, None, Some(_))));
    // misc_dynamic: exit status 7 is up with weight 7 - 2.
    assert_eq!(verdicts["misc-weight"], (true, Some(5), None));
    assert_eq!(
        verdicts["http-503"],
        (
            false,
            None,
            Some(Failure::Status {
                path: "/down".into(),
                code: 503
            })
        )
    );
    drop(rx);
    task.await.unwrap();
}
