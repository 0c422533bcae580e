//! Runs the checks crate's scheduler for the daemon and turns its reports
//! into events: a verdict change is an [`Event::Check`] (the loop
//! reconciles), every probe an [`Event::Probe`] (the loop only updates the
//! status).

use std::collections::HashMap;

use checks::{
    CheckSpec, NetworkProber, Prober, RealServerChecks, Report, Scheduler, SchedulerOptions,
    Verdict,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Event;
use crate::lvs::status::LastCheck;

/// A real server's key: (virtual server index, real server index).
pub type RealKey = (usize, usize);

/// The running scheduler and the task forwarding its reports.
#[derive(Debug)]
pub struct CheckRunner {
    scheduler: JoinHandle<Scheduler<RealKey>>,
    forwarder: JoinHandle<()>,
}

/// The result text of a probe or transition for status.
fn result_text(failure: Option<&checks::Failure>) -> String {
    failure.map_or_else(|| "ok".to_string(), ToString::to_string)
}

impl CheckRunner {
    /// Starts checking `reals` with the real network prober, taking over the
    /// states of the checks `previous` (the scheduler before a reload) also
    /// ran. Returns the runner and every real server's verdict at start.
    pub fn start(
        reals: Vec<RealServerChecks<RealKey>>,
        previous: Option<&Scheduler<RealKey>>,
        events: mpsc::Sender<Event>,
    ) -> (CheckRunner, Vec<(RealKey, Verdict)>) {
        let options = SchedulerOptions::default();
        CheckRunner::start_with(reals, previous, NetworkProber, options, events)
    }

    /// [`CheckRunner::start`] with `prober` (tests use a scripted one).
    pub fn start_with<P: Prober>(
        reals: Vec<RealServerChecks<RealKey>>,
        previous: Option<&Scheduler<RealKey>>,
        prober: P,
        mut options: SchedulerOptions,
        events: mpsc::Sender<Event>,
    ) -> (CheckRunner, Vec<(RealKey, Verdict)>) {
        options.report_every_probe = true;
        let mut users = users_of_checks(&reals);
        let mut scheduler = Scheduler::new(reals, options);
        if let Some(previous) = previous {
            scheduler.inherit(previous);
        }
        let initial = scheduler.verdicts().map(|(k, v)| (*k, v)).collect();
        // Which real servers each deduplicated check serves, in the
        // scheduler's check order.
        let users: Vec<Vec<RealKey>> = scheduler
            .checks()
            .map(|spec| users.remove(spec).unwrap_or_default())
            .collect();
        let (tx, mut rx) = mpsc::channel::<Report<RealKey>>(1024);
        let scheduler = tokio::spawn(scheduler.run(prober, tx));
        let forwarder = tokio::spawn(async move {
            while let Some(report) = rx.recv().await {
                let event = match report {
                    Report::Transition(t) => Event::Check {
                        vs: t.real.0,
                        real: t.real.1,
                        verdict: t.verdict,
                        last: LastCheck {
                            result: Some(result_text(t.reason.as_ref())),
                            latency_ms: Some(t.latency.as_secs_f64() * 1000.0),
                            failures: 0,
                        },
                    },
                    Report::Probe(p) => Event::Probe {
                        reals: users.get(p.check).cloned().unwrap_or_default(),
                        result: result_text(p.outcome.failure()),
                        failed: !p.outcome.is_pass(),
                        latency_ms: p.latency.as_secs_f64() * 1000.0,
                    },
                };
                if events.send(event).await.is_err() {
                    break;
                }
            }
        });
        (
            CheckRunner {
                scheduler,
                forwarder,
            },
            initial,
        )
    }

    /// Stops checking; returns the scheduler with its states (for a reload
    /// to carry them over), or `None` if its task failed.
    pub async fn stop(self) -> Option<Scheduler<RealKey>> {
        self.forwarder.abort();
        let _ = self.forwarder.await;
        self.scheduler.await.ok()
    }
}

/// The real servers using each check.
fn users_of_checks(reals: &[RealServerChecks<RealKey>]) -> HashMap<CheckSpec, Vec<RealKey>> {
    let mut users: HashMap<CheckSpec, Vec<RealKey>> = HashMap::new();
    for real in reals {
        for check in &real.checks {
            let keys = users.entry(check.clone()).or_default();
            if !keys.contains(&real.key) {
                keys.push(real.key);
            }
        }
    }
    users
}
