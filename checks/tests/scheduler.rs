//! The scheduler with the real network prober: a real server that stops
//! listening goes down after retry + 1 refused probes, and comes back up
//! with one success, each transition carrying its reason.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use checks::spec::CheckFamily;
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
