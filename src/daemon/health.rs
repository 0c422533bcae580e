//! Runs the checks crate's scheduler for the daemon and turns its reports
//! into events: a verdict change is an [`Event::Check`] (the loop
//! reconciles), the probes in between travel in batches as
//! [`Event::Probes`] (the loop only updates the status).
//!
//! The scheduler has a thread of its own with a single-threaded runtime,
//! as keepalived gives its checkers a process of their own: thousands of
//! probes a second then wake no other thread (on a shared multi-threaded
//! runtime every probe task bounced between workers), and a busy checker
//! never delays a VRRP advert or the daemon's loop.

use std::sync::Arc;
use std::time::Duration;

use checks::{
    NetworkProber, Outcome, Prober, RealServerChecks, Report, Scheduler, SchedulerOptions, Verdict,
};
use tokio::sync::{mpsc, oneshot};

use super::Event;
use crate::lvs::status::LastCheck;

/// A real server's key: (virtual server index, real server index).
pub type RealKey = (usize, usize);

/// Which runner an event comes from: the daemon starts runner 0, then
/// 1, 2, … each time it restarts the checks. A reload may renumber the
/// virtual servers, so what a stopped runner sent before it stopped, still
/// queued, names real servers by the old indices: the daemon drops it (the
/// new runner starts from the states the old one ended with).
pub type Generation = u64;

/// How long probe results may wait to travel as one batch. Status lags by
/// at most this much; a verdict change never waits (it flushes the batch
/// before it, keeping the order).
const PROBE_BATCH_PERIOD: Duration = Duration::from_millis(100);

/// One finished probe, for status. Nothing in it is allocated for a
/// probe that passed: at 10,000 checks the batches carry thousands a
/// second.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// Index of the probed check in its batch's `users`.
    pub check: usize,
    /// Why it failed; `None` when it passed.
    pub failure: Option<checks::Failure>,
    /// How long it took.
    pub latency_ms: f64,
}

/// Probes finished since the last batch, with the table that maps their
/// checks to real servers (that of the runner which made them, so a batch
/// still queued when the checks restart is read with its own table).
#[derive(Debug, Clone)]
pub struct ProbeBatch {
    /// The runner that made them (see [`Generation`]).
    pub generation: Generation,
    /// The real servers using each check, by check index.
    pub users: Arc<[Vec<RealKey>]>,
    pub probes: Vec<ProbeResult>,
}

impl ProbeBatch {
    /// Each probe with the real servers it speaks for.
    pub fn by_real(&self) -> impl Iterator<Item = (RealKey, &ProbeResult)> {
        self.probes.iter().flat_map(|p| {
            self.users
                .get(p.check)
                .into_iter()
                .flatten()
                .map(move |real| (*real, p))
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The thread or its runtime could not be created.
    #[error("cannot start the checker thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The scheduler's thread, stopped through `stop`.
#[derive(Debug)]
pub struct CheckRunner {
    stop: oneshot::Sender<()>,
    stopped: oneshot::Receiver<Scheduler<RealKey>>,
}

/// The probes gathered so far, as one event.
fn batch(
    generation: Generation,
    users: &Arc<[Vec<RealKey>]>,
    probes: &mut Vec<ProbeResult>,
) -> Event {
    Event::Probes(ProbeBatch {
        generation,
        users: users.clone(),
        probes: std::mem::take(probes),
    })
}

/// The result text of a probe or transition for status.
fn result_text(failure: Option<&checks::Failure>) -> String {
    failure.map_or_else(
        || crate::lvs::status::PASSED.to_string(),
        ToString::to_string,
    )
}

impl CheckRunner {
    /// Starts checking `reals` with the real network prober, taking over the
    /// states of the checks `previous` (the scheduler before a reload) also
    /// ran. Returns the runner and every real server's verdict at start.
    pub fn start(
        reals: Vec<RealServerChecks<RealKey>>,
        previous: Option<&Scheduler<RealKey>>,
        events: mpsc::Sender<Event>,
        generation: Generation,
    ) -> Result<(CheckRunner, Vec<(RealKey, Verdict)>), StartError> {
        let options = SchedulerOptions::default();
        let to = (events, generation);
        CheckRunner::start_with(reals, previous, NetworkProber, options, to)
    }

    /// [`CheckRunner::start`] with `prober` (tests use a scripted one),
    /// sending to `events` as runner `generation`.
    pub fn start_with<P: Prober>(
        reals: Vec<RealServerChecks<RealKey>>,
        previous: Option<&Scheduler<RealKey>>,
        prober: P,
        mut options: SchedulerOptions,
        (events, generation): (mpsc::Sender<Event>, Generation),
    ) -> Result<(CheckRunner, Vec<(RealKey, Verdict)>), StartError> {
        options.report_every_probe = true;
        let mut scheduler = Scheduler::new(reals, options);
        if let Some(previous) = previous {
            scheduler.inherit(previous);
        }
        let initial = scheduler.verdicts().map(|(k, v)| (*k, v)).collect();
        let users: Arc<[Vec<RealKey>]> = scheduler
            .users()
            .map(|keys| keys.copied().collect())
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stop_rx) = oneshot::channel();
        let (stopped_tx, stopped) = oneshot::channel();
        std::thread::Builder::new()
            .name("lvsd-checks".into())
            .spawn(move || {
                let scheduler = runtime.block_on(async move {
                    let (tx, rx) = mpsc::channel::<Report<RealKey>>(1024);
                    let forwarder = tokio::spawn(forward(rx, (users, generation), events, stop_rx));
                    // The scheduler returns once the forwarder is gone
                    // (stopped, or the daemon's loop ended).
                    let scheduler = scheduler.run(prober, tx).await;
                    forwarder.abort();
                    scheduler
                });
                let _ = stopped_tx.send(scheduler);
            })?;
        Ok((CheckRunner { stop, stopped }, initial))
    }

    /// Stops checking; returns the scheduler with its states (for a reload
    /// to carry them over), or `None` if its thread failed.
    pub async fn stop(self) -> Option<Scheduler<RealKey>> {
        self.stopping().finished().await
    }

    /// Tells the checks to stop, without waiting for them: the scheduler
    /// and its states come from [`Stopping::finished`].
    pub fn stopping(self) -> Stopping {
        let _ = self.stop.send(());
        Stopping {
            stopped: self.stopped,
        }
    }
}

/// A runner told to stop.
#[derive(Debug)]
pub struct Stopping {
    stopped: oneshot::Receiver<Scheduler<RealKey>>,
}

impl Stopping {
    /// The scheduler once stopped, or `None` if its thread failed.
    pub async fn finished(self) -> Option<Scheduler<RealKey>> {
        self.stopped.await.ok()
    }
}

/// Turns the scheduler's reports into events until `stop` fires or the
/// daemon's loop is gone: transitions one by one, probes in batches.
async fn forward(
    mut reports: mpsc::Receiver<Report<RealKey>>,
    (users, generation): (Arc<[Vec<RealKey>]>, Generation),
    events: mpsc::Sender<Event>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut probes: Vec<ProbeResult> = Vec::new();
    let mut flush = tokio::time::interval(PROBE_BATCH_PERIOD);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut outgoing = Vec::new();
        tokio::select! {
            _ = &mut stop => return,
            _ = flush.tick() => {
                if !probes.is_empty() {
                    outgoing.push(batch(generation, &users, &mut probes));
                }
            }
            report = reports.recv() => match report {
                None => return,
                Some(Report::Probes(reported)) => probes.extend(reported.into_iter().map(|p| ProbeResult {
                    check: p.check,
                    latency_ms: p.latency.as_secs_f64() * 1000.0,
                    failure: match p.outcome {
                        Outcome::Fail(f) => Some(f),
                        Outcome::Pass { .. } => None,
                    },
                })),
                Some(Report::Transition(t)) => {
                    // The probes before it first, so that status never
                    // shows an older probe after the verdict.
                    if !probes.is_empty() {
                        outgoing.push(batch(generation, &users, &mut probes));
                    }
                    outgoing.push(Event::Check {
                        generation,
                        vs: t.real.0,
                        real: t.real.1,
                        verdict: t.verdict,
                        last: LastCheck {
                            result: Some(result_text(t.reason.as_ref())),
                            latency_ms: Some(t.latency.as_secs_f64() * 1000.0),
                            failures: 0,
                        },
                    });
                }
            },
        }
        for event in outgoing {
            // The daemon's loop stops the checks in the middle of its own
            // work (a reload) and reads no event meanwhile: a full queue
            // must not keep that stop waiting.
            tokio::select! {
                _ = &mut stop => return,
                sent = events.send(event) => {
                    if sent.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use checks::spec::CheckFamily;
    use checks::{CheckKind, CheckSpec, Endpoint, Failure, Outcome, Prober, Timing};

    use super::*;

    /// Fails and passes in turn, at once: every probe flips a verdict.
    struct Flapping(Arc<AtomicU64>);

    impl Prober for Flapping {
        fn probe(
            &self,
            _spec: Arc<CheckSpec>,
            _started: tokio::time::Instant,
        ) -> checks::sched::ProbeFuture {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            let outcome = if n % 2 == 0 {
                Outcome::Fail(Failure::Refused)
            } else {
                Outcome::PASS
            };
            Box::pin(async move { outcome })
        }
    }

    fn flapping_reals(n: u16) -> Vec<RealServerChecks<RealKey>> {
        (0..n)
            .map(|i| RealServerChecks {
                key: (0, usize::from(i)),
                checks: vec![Arc::new(CheckSpec {
                    kind: CheckKind::Tcp,
                    endpoint: Endpoint::to(SocketAddr::from(([127, 0, 0, 1], 1000 + i))),
                    timing: Timing {
                        retry: 0,
                        delay_loop: Duration::from_millis(1),
                        warmup: Duration::ZERO,
                        ..Timing::defaults_for(CheckFamily::Other)
                    },
                })]
                .into(),
            })
            .collect()
    }

    #[tokio::test]
    async fn stopping_never_waits_for_a_daemon_that_reads_no_events() {
        let probes = Arc::new(AtomicU64::new(0));
        let (events, mut daemon) = mpsc::channel(4);
        let watch = events.clone();
        let (runner, _) = CheckRunner::start_with(
            flapping_reals(50),
            None,
            Flapping(probes.clone()),
            SchedulerOptions::default(),
            (events, 0),
        )
        .unwrap();
        // The daemon reads one event, then none: its queue fills up.
        assert!(daemon.recv().await.is_some());
        while watch.capacity() > 0 {
            tokio::task::yield_now().await;
        }
        // More verdict changes after that: the forwarder takes the next one
        // and blocks on the full queue. (The scheduler blocks in its turn
        // once its own queue is full, so do not wait for too many.)
        let full_at = probes.load(Ordering::Relaxed);
        while probes.load(Ordering::Relaxed) < full_at + 100 {
            tokio::task::yield_now().await;
        }
        let stopped = tokio::time::timeout(Duration::from_secs(10), runner.stop()).await;
        assert!(
            matches!(stopped, Ok(Some(_))),
            "the checker thread did not stop"
        );
    }
}
