//! The scheduler: every check on one tokio runtime, no thread per check.
//!
//! - Identical checks ([`CheckSpec`] equal: same target, same settings) of
//!   several real servers, e.g. the same server under several virtual
//!   servers, run once and feed all of them.
//! - The first probe of each check runs after a random delay in
//!   `[0, warmup)`, so thousands of checks do not fire together.
//! - After a probe, the next runs `delay_loop` later, or
//!   `delay_before_retry` later while retrying (see [`crate::state`]),
//!   counted from the end of the probe as keepalived does.
//! - The clock is read once per turn of the loop, as keepalived's loop
//!   reads it once per turn: a probe's start is the reading of the turn
//!   that started it (unless it waited for a slot), its end the reading of
//!   the turn that collected it with every other probe finished by then.
//! - At most `max_concurrent` probes run at once.
//! - Due probes start together on a 10 ms grid (`WAKEUP_QUANTUM`), so
//!   the loop's one timer moves at most a hundred times a second.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::inflight::InFlight;
use crate::outcome::{Failure, Outcome};
use crate::spec::CheckSpec;
use crate::state::{verdict, CheckerState, Verdict};

/// A probe in flight.
pub type ProbeFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// Runs one probe of a check, started at `started` (its deadlines count
/// from there); the network implementation is [`NetworkProber`], tests
/// substitute scripted ones.
pub trait Prober: Send + Sync + 'static {
    fn probe(&self, spec: Arc<CheckSpec>, started: Instant) -> ProbeFuture;
}

/// Probes for real, with [`crate::probe::probe`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkProber;

impl Prober for NetworkProber {
    fn probe(&self, spec: Arc<CheckSpec>, started: Instant) -> ProbeFuture {
        Box::pin(async move { crate::probe::probe_started(&spec, started).await })
    }
}

/// The checks of one real server, identified by the caller's key.
#[derive(Debug, Clone)]
pub struct RealServerChecks<K> {
    pub key: K,
    /// Shared with the scheduler, which keeps them as they are: a daemon
    /// holding its configuration and a running scheduler has one copy of
    /// each specification, and restarting the scheduler copies none. The
    /// list itself is shared too, so copying a real server's checks (a
    /// reload keeps those of unchanged virtual servers) allocates nothing.
    pub checks: Arc<[Arc<CheckSpec>]>,
}

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Probes running at once, at most.
    pub max_concurrent: usize,
    /// Seed of the warmup spread (fixed in tests for reproducibility).
    pub seed: u64,
    /// Report every probe, not only failures with `log_all_failures`.
    pub report_every_probe: bool,
}

impl Default for SchedulerOptions {
    fn default() -> SchedulerOptions {
        SchedulerOptions {
            max_concurrent: 1024,
            seed: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x853c_49e6_748f_ea9b),
            report_every_probe: false,
        }
    }
}

/// A change of a real server's verdict.
#[derive(Debug, Clone)]
pub struct Transition<K> {
    pub real: K,
    /// The new verdict (up/down, dynamic weight).
    pub verdict: Verdict,
    /// The check whose probe caused the change.
    pub check: Arc<CheckSpec>,
    /// Why it failed (`None` when it came up or its weight changed).
    pub reason: Option<Failure>,
    /// How long the probe took.
    pub latency: Duration,
    /// When the probe ended.
    pub at: SystemTime,
}

/// One probe, reported with `report_every_probe`, or for a failure of a
/// check with `log_all_failures`.
#[derive(Debug, Clone)]
pub struct ProbeReport {
    /// Index of the (deduplicated) check, see [`Scheduler::checks`].
    pub check: usize,
    pub outcome: Outcome,
    /// When it was due (its warmup offset, or the end of the previous
    /// probe plus the delay), and when it started (after waiting for a
    /// slot): `started - scheduled` is its lateness.
    pub scheduled: Instant,
    pub started: Instant,
    pub latency: Duration,
    /// The check is up and retrying after this failure.
    pub retrying: bool,
    /// The check's state after this probe.
    pub up: bool,
}

/// What the scheduler tells its owner.
#[derive(Debug, Clone)]
pub enum Report<K> {
    Transition(Transition<K>),
    /// The probes to report of one turn of the scheduler's loop, in the
    /// order they were recorded (one message per turn, not per probe).
    Probes(Vec<ProbeReport>),
}

/// Why the scheduler's loop woke.
enum Turn {
    /// Probes are due by this grid point.
    Due(Instant),
    /// Probes finished by this reading of the clock.
    Finished(Instant),
}

#[derive(Debug)]
struct CheckSlot {
    spec: Arc<CheckSpec>,
    state: CheckerState,
    /// Indices of the real servers using this check.
    reals: Vec<usize>,
}

#[derive(Debug)]
struct RealSlot<K> {
    key: K,
    checks: Vec<usize>,
    verdict: Verdict,
}

/// The checks of a set of real servers and their state.
#[derive(Debug)]
pub struct Scheduler<K> {
    checks: Vec<CheckSlot>,
    reals: Vec<RealSlot<K>>,
    options: SchedulerOptions,
}

/// What the scheduler keeps of a probe in flight.
#[derive(Debug, Clone, Copy)]
struct InFlightProbe {
    check: usize,
    /// When it was due.
    scheduled: Instant,
    /// When it started (its turn's clock reading).
    started: Instant,
}

impl<K: Clone + Send + 'static> Scheduler<K> {
    /// Deduplicates the checks of `reals` and sets their initial states
    /// (up, or down with `alpha`).
    pub fn new(reals: Vec<RealServerChecks<K>>, options: SchedulerOptions) -> Scheduler<K> {
        let mut checks: Vec<CheckSlot> = Vec::new();
        // Keyed by the caller's own Arc: a specification is never cloned
        // (10,000 real servers make 10,000 of them on every reload).
        let mut index: SpecMap<Arc<CheckSpec>, usize> = SpecMap::default();
        let mut real_slots = Vec::with_capacity(reals.len());
        for (real_index, real) in reals.into_iter().enumerate() {
            let mut ids = Vec::with_capacity(real.checks.len());
            for spec in real.checks.iter().cloned() {
                let id = *index.entry(spec.clone()).or_insert_with(|| {
                    checks.push(CheckSlot {
                        state: CheckerState::new(spec.timing.alpha),
                        spec,
                        reals: Vec::new(),
                    });
                    checks.len() - 1
                });
                if !checks[id].reals.contains(&real_index) {
                    checks[id].reals.push(real_index);
                }
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let verdict = verdict(ids.iter().map(|&i| &checks[i].state));
            real_slots.push(RealSlot {
                key: real.key,
                checks: ids,
                verdict,
            });
        }
        // Grown by doubling: 10,000 checks left room for 16,384 (0.6 MB).
        checks.shrink_to_fit();
        Scheduler {
            checks,
            reals: real_slots,
            options,
        }
    }

    /// The deduplicated checks, in index order.
    pub fn checks(&self) -> impl Iterator<Item = &CheckSpec> {
        self.checks.iter().map(|c| c.spec.as_ref())
    }

    /// The real servers using each deduplicated check, in check index
    /// order (each in the order given).
    pub fn users(&self) -> impl Iterator<Item = impl Iterator<Item = &K>> {
        self.checks
            .iter()
            .map(|c| c.reals.iter().map(|&r| &self.reals[r].key))
    }

    /// Current verdicts of the real servers, in the order given.
    pub fn verdicts(&self) -> impl Iterator<Item = (&K, Verdict)> {
        self.reals.iter().map(|r| (&r.key, r.verdict))
    }

    /// Takes over the state of every check that `old` also runs (same
    /// specification), so that a configuration reload neither resets a
    /// failed check to up nor re-adds its real server (keepalived issue
    /// #1720). The real servers' verdicts follow.
    pub fn inherit(&mut self, old: &Scheduler<K>) {
        let states: SpecMap<&CheckSpec, &CheckerState> = old
            .checks
            .iter()
            .map(|c| (c.spec.as_ref(), &c.state))
            .collect();
        for slot in &mut self.checks {
            if let Some(state) = states.get(slot.spec.as_ref()) {
                slot.state = (*state).clone();
            }
        }
        let checks = &self.checks;
        for real in &mut self.reals {
            real.verdict = verdict(real.checks.iter().map(|&i| &checks[i].state));
        }
    }

    /// The first due time of every check, spread over `[0, warmup)`.
    fn initial_schedule(&self, start: Instant) -> BinaryHeap<Reverse<(Instant, usize)>> {
        let mut rng = SplitMix64(self.options.seed);
        self.checks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let warmup = c.spec.timing.warmup;
                let offset = if warmup.is_zero() {
                    Duration::ZERO
                } else {
                    let nanos = u64::try_from(warmup.as_nanos()).unwrap_or(u64::MAX);
                    Duration::from_nanos(rng.next() % nanos)
                };
                Reverse((start + offset, i))
            })
            .collect()
    }

    /// Runs the checks until `reports` is closed, sending verdict changes
    /// (and probe reports) to it.
    ///
    /// The loop, and the probes it polls itself ([`InFlight`]), run
    /// outside tokio's cooperative budget: under it one task gets ~128
    /// socket and timer operations per turn of the runtime, so at 10,000
    /// probes a second (back when each probe was a task of its own and the
    /// loop collected them) finished probes waited, their next runs were
    /// late and the backlog grew. The loop still yields whenever nothing
    /// is due and no probe has finished.
    pub async fn run<P: Prober>(self, prober: P, reports: mpsc::Sender<Report<K>>) -> Self {
        tokio::task::unconstrained(self.run_loop(prober, reports)).await
    }

    async fn run_loop<P: Prober>(mut self, prober: P, reports: mpsc::Sender<Report<K>>) -> Self {
        let limit = self.options.max_concurrent.max(1);
        let mut due = self.initial_schedule(Instant::now());
        let mut in_flight: InFlight<InFlightProbe> = InFlight::new();
        let mut finished = Vec::new();
        // This turn's probe reports, sent together at its end (or before a
        // transition, to keep their order).
        let mut probes = Vec::new();
        // One timer for the next due probes, on a grid of WAKEUP_QUANTUM
        // and moved only when the next due grid point changes. Moving
        // tokio's earliest timer wakes its driver through an eventfd
        // write even from its own thread; a timer per due probe made
        // about 500 such writes a second at 10,000 checks (each one a
        // syscall, and a VM exit in a guest), the grid at most 1/QUANTUM.
        let origin = Instant::now();
        let wakeup = tokio::time::sleep_until(origin);
        tokio::pin!(wakeup);
        let mut armed: Option<Instant> = None;
        loop {
            // No timer while every slot is taken: the due probes then
            // start as the probes in flight finish.
            let next = due
                .peek()
                .filter(|_| in_flight.len() < limit)
                .map(|Reverse((at, _))| on_grid(origin, *at, WAKEUP_QUANTUM));
            if next != armed {
                if let Some(at) = next {
                    wakeup.as_mut().reset(at);
                }
                armed = next;
            }
            let turn = tokio::select! {
                () = reports.closed() => return self,
                () = &mut wakeup, if armed.is_some() => {
                    // Re-armed on the next turn, whatever is due then;
                    // everything due by this grid point runs now.
                    Turn::Due(Instant::now().max(armed.take().unwrap_or(origin)))
                }
                ended = std::future::poll_fn(|cx| in_flight.poll_finished(cx, &mut finished)) => {
                    // One clock reading for every probe finished by now,
                    // as keepalived reads the time once per turn of its
                    // loop (each reading is a syscall, and a VM exit in a
                    // guest whose clock source is the HPET). keepalived
                    // also counts the delay to the next probe from the
                    // probe's end, not from when its loop got round to it.
                    Turn::Finished(ended)
                }
            };
            let now = match turn {
                Turn::Due(now) => now,
                Turn::Finished(ended) => {
                    for (probe, outcome) in finished.drain(..) {
                        let next_in = self
                            .record(probe, ended, outcome, &mut probes, &reports)
                            .await;
                        due.push(Reverse((ended + next_in, probe.check)));
                    }
                    ended
                }
            };
            // Due probes start at this turn's reading, those that waited
            // for a slot included.
            while in_flight.len() < limit {
                let Some(Reverse((at, check))) = due.peek().copied() else {
                    break;
                };
                if at > now {
                    break;
                }
                due.pop();
                let probe = prober.probe(self.checks[check].spec.clone(), now);
                let tag = InFlightProbe {
                    check,
                    scheduled: at,
                    started: now,
                };
                in_flight.push(probe, tag);
            }
            if !probes.is_empty() {
                let _ = reports
                    .send(Report::Probes(std::mem::take(&mut probes)))
                    .await;
            }
        }
    }

    /// Applies the outcome of `probe`, which the loop saw end at `ended`;
    /// returns the delay to the next probe. A probe to report goes to
    /// `probes`, which are sent before any transition the probe causes.
    async fn record(
        &mut self,
        probe: InFlightProbe,
        ended: Instant,
        outcome: Outcome,
        probes: &mut Vec<ProbeReport>,
        reports: &mpsc::Sender<Report<K>>,
    ) -> Duration {
        let slot = &mut self.checks[probe.check];
        let step = slot.state.record(&slot.spec.timing, &outcome);
        let latency = ended.saturating_duration_since(probe.started);
        let wants_report = self.options.report_every_probe
            || (slot.spec.timing.log_all_failures && !outcome.is_pass());
        if wants_report {
            let report = ProbeReport {
                check: probe.check,
                outcome: outcome.clone(),
                scheduled: probe.scheduled,
                started: probe.started,
                latency,
                retrying: step.retrying,
                up: slot.state.is_up(),
            };
            probes.push(report);
        }
        if step.flipped.is_none() && !step.weight_changed {
            return step.next_in;
        }
        if !probes.is_empty() {
            let _ = reports.send(Report::Probes(std::mem::take(probes))).await;
        }
        let spec = slot.spec.clone();
        let users = slot.reals.clone();
        let at = SystemTime::now();
        for real in users {
            let new = verdict(
                self.reals[real]
                    .checks
                    .iter()
                    .map(|&i| &self.checks[i].state),
            );
            if new == self.reals[real].verdict {
                continue;
            }
            self.reals[real].verdict = new;
            let transition = Transition {
                real: self.reals[real].key.clone(),
                verdict: new,
                check: spec.clone(),
                reason: outcome.failure().cloned(),
                latency,
                at,
            };
            let _ = reports.send(Report::Transition(transition)).await;
        }
        step.next_in
    }
}

/// The scheduler's timer resolution: a probe starts at most this long
/// after it is due (keepalived's own timer thread wakes per timer; at
/// `delay_loop` in seconds the difference is not seen).
const WAKEUP_QUANTUM: Duration = Duration::from_millis(10);

/// The first point of the grid `origin + k × quantum` at or after `at`.
fn on_grid(origin: Instant, at: Instant, quantum: Duration) -> Instant {
    let offset = at.saturating_duration_since(origin).as_nanos();
    let step = quantum.as_nanos().max(1);
    let steps = offset.div_ceil(step);
    let nanos = u64::try_from(steps * step).unwrap_or(u64::MAX);
    origin + Duration::from_nanos(nanos)
}

/// A map keyed by check specifications, with [`SpecHasher`]: a reload
/// builds two of 10,000 entries each.
type SpecMap<K, V> = HashMap<K, V, BuildHasherDefault<SpecHasher>>;

/// A multiply-rotate hash of each word written (the scheme of rustc's
/// FxHash), several times faster than the standard SipHash for the many
/// small fields of a [`CheckSpec`]. The keys are the daemon's own
/// configuration, not input an attacker chooses, so SipHash's resistance
/// to chosen collisions buys nothing here.
#[derive(Default, Clone, Copy)]
struct SpecHasher(u64);

impl SpecHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for SpecHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// SplitMix64: a small, well-mixed generator for the warmup spread.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Phase;
    use crate::spec::{CheckFamily, CheckKind, Endpoint, Timing};
    use std::collections::VecDeque;
    use std::net::SocketAddr;
    use std::sync::Mutex;

    /// Answers probes from a script per target (then passes), taking
    /// `latency` of virtual time, and logs when each probe started.
    #[derive(Clone, Default)]
    struct Scripted {
        script: Arc<Mutex<HashMap<SocketAddr, VecDeque<Outcome>>>>,
        started: Arc<Mutex<Vec<(SocketAddr, Duration)>>>,
        latency: Duration,
        origin: Option<Instant>,
    }

    impl Scripted {
        fn new(latency: Duration) -> Scripted {
            Scripted {
                latency,
                origin: Some(Instant::now()),
                ..Scripted::default()
            }
        }
        fn plan(&self, target: SocketAddr, outcomes: Vec<Outcome>) {
            self.script.lock().unwrap().insert(target, outcomes.into());
        }
        fn starts(&self, target: SocketAddr) -> Vec<u64> {
            self.started
                .lock()
                .unwrap()
                .iter()
                .filter(|(t, _)| *t == target)
                .map(|(_, at)| at.as_millis() as u64)
                .collect()
        }
    }

    impl Prober for Scripted {
        fn probe(&self, spec: Arc<CheckSpec>, _started: Instant) -> ProbeFuture {
            let target = spec.endpoint.target;
            let origin = self.origin.unwrap();
            self.started
                .lock()
                .unwrap()
                .push((target, Instant::now() - origin));
            let outcome = self
                .script
                .lock()
                .unwrap()
                .get_mut(&target)
                .and_then(|q| q.pop_front())
                .unwrap_or(Outcome::PASS);
            let latency = self.latency;
            Box::pin(async move {
                tokio::time::sleep(latency).await;
                outcome
            })
        }
    }

    fn addr(n: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], n))
    }

    fn tcp(target: SocketAddr, timing: Timing) -> Arc<CheckSpec> {
        Arc::new(CheckSpec {
            kind: CheckKind::Tcp,
            endpoint: Endpoint::to(target),
            timing,
        })
    }

    fn timing(retry: u32, before_retry: u64, delay_loop: u64, warmup: u64) -> Timing {
        Timing {
            retry,
            delay_before_retry: Duration::from_secs(before_retry),
            delay_loop: Duration::from_secs(delay_loop),
            warmup: Duration::from_secs(warmup),
            ..Timing::defaults_for(CheckFamily::Other)
        }
    }

    fn options() -> SchedulerOptions {
        SchedulerOptions {
            max_concurrent: 64,
            seed: 7,
            report_every_probe: false,
        }
    }

    /// Runs `scheduler` for `secs` of virtual time; returns the transitions
    /// with their virtual time in ms.
    async fn run_for(
        scheduler: Scheduler<&'static str>,
        prober: Scripted,
        secs: u64,
    ) -> Vec<(u64, Transition<&'static str>)> {
        let origin = prober.origin.unwrap();
        let (tx, mut rx) = mpsc::channel(4096);
        let task = tokio::spawn(scheduler.run(prober, tx));
        let mut out = Vec::new();
        let end = origin + Duration::from_secs(secs);
        while let Ok(Some(report)) = tokio::time::timeout_at(end, rx.recv()).await {
            if let Report::Transition(t) = report {
                out.push(((Instant::now() - origin).as_millis() as u64, t));
            }
        }
        drop(rx);
        task.await.unwrap();
        out
    }

    #[test]
    fn identical_checks_are_probed_once_for_all_their_real_servers() {
        // Equal specifications, each in its own allocation (as a parsed
        // configuration gives them).
        let shared = || tcp(addr(1), timing(0, 1, 10, 0));
        let scheduler = Scheduler::new(
            vec![
                RealServerChecks {
                    key: "rs1",
                    checks: vec![shared(), shared()].into(),
                },
                RealServerChecks {
                    key: "rs2",
                    checks: vec![tcp(addr(2), timing(0, 1, 10, 0))].into(),
                },
                RealServerChecks {
                    key: "rs3",
                    checks: vec![shared()].into(),
                },
            ],
            options(),
        );
        let checks: Vec<&CheckSpec> = scheduler.checks().collect();
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0], shared().as_ref());
        let users: Vec<Vec<&str>> = scheduler
            .users()
            .map(|keys| keys.copied().collect())
            .collect();
        assert_eq!(users, [vec!["rs1", "rs3"], vec!["rs2"]]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_scheduler_inherits_the_states_of_unchanged_checks() {
        let prober = Scripted::new(Duration::from_millis(10));
        prober.plan(addr(1), vec![Outcome::Fail(Failure::Refused)]);
        let old = Scheduler::new(
            vec![RealServerChecks {
                key: "rs1",
                checks: vec![tcp(addr(1), timing(0, 1, 10, 0))].into(),
            }],
            options(),
        );
        let (tx, mut rx) = mpsc::channel(16);
        let task = tokio::spawn(old.run(prober, tx));
        let Some(Report::Transition(t)) = rx.recv().await else {
            panic!("no transition")
        };
        assert!(!t.verdict.up);
        drop(rx);
        let old = task.await.unwrap();

        // The reloaded configuration keeps rs1's check, changes rs2's.
        let mut new = Scheduler::new(
            vec![
                RealServerChecks {
                    key: "rs1",
                    checks: vec![tcp(addr(1), timing(0, 1, 10, 0))].into(),
                },
                RealServerChecks {
                    key: "rs2",
                    checks: vec![tcp(addr(2), timing(0, 1, 10, 0))].into(),
                },
            ],
            options(),
        );
        new.inherit(&old);
        let verdicts: Vec<(&str, bool)> = new.verdicts().map(|(k, v)| (*k, v.up)).collect();
        assert_eq!(verdicts, [("rs1", false), ("rs2", true)]);
    }

    #[tokio::test(start_paused = true)]
    async fn down_after_retry_plus_one_failures_then_up_after_one_success() {
        let prober = Scripted::new(Duration::from_millis(100));
        let refused = Outcome::Fail(Failure::Refused);
        prober.plan(addr(1), vec![refused.clone(), refused.clone(), refused]);
        let scheduler = Scheduler::new(
            vec![RealServerChecks {
                key: "rs1",
                checks: vec![tcp(addr(1), timing(2, 2, 10, 0))].into(),
            }],
            options(),
        );
        let transitions = run_for(scheduler, prober.clone(), 30).await;
        // Probes: 0 (fail), +0.1+2 (fail), +0.1+2 (fail → down), +0.1+10
        // (pass → up), then every 10.1 s.
        assert_eq!(prober.starts(addr(1)), [0, 2100, 4200, 14300, 24400]);
        assert_eq!(transitions.len(), 2);
        let (at, down) = &transitions[0];
        assert_eq!(*at, 4300);
        assert_eq!(down.real, "rs1");
        assert!(!down.verdict.up);
        assert_eq!(down.reason, Some(Failure::Refused));
        assert_eq!(down.latency, Duration::from_millis(100));
        let (at, up) = &transitions[1];
        assert_eq!(*at, 14400);
        assert!(up.verdict.up);
        assert_eq!(up.reason, None);
    }

    #[test]
    fn due_times_round_up_to_the_grid() {
        let origin = Instant::now();
        let q = Duration::from_millis(10);
        let ms = |n| Duration::from_millis(n);
        assert_eq!(on_grid(origin, origin, q), origin);
        assert_eq!(
            on_grid(origin, origin + Duration::from_nanos(1), q),
            origin + ms(10)
        );
        assert_eq!(on_grid(origin, origin + ms(10), q), origin + ms(10));
        assert_eq!(on_grid(origin, origin + ms(25), q), origin + ms(30));
    }

    #[tokio::test(start_paused = true)]
    async fn warmup_spreads_first_probes() {
        let prober = Scripted::new(Duration::ZERO);
        let reals = (1..=200)
            .map(|n| RealServerChecks {
                key: "rs",
                checks: vec![tcp(addr(n), timing(1, 1, 60, 10))].into(),
            })
            .collect();
        run_for(Scheduler::new(reals, options()), prober.clone(), 11).await;
        let firsts: Vec<u64> = (1..=200).map(|n| prober.starts(addr(n))[0]).collect();
        // Within the warmup, give or take the timer's grid.
        let grid = WAKEUP_QUANTUM.as_millis() as u64;
        assert!(firsts.iter().all(|&ms| ms < 10_000 + grid));
        // Spread: every 1 s bucket of the 10 s window gets some.
        for bucket in 0..10 {
            let in_bucket = firsts.iter().filter(|&&ms| ms / 1000 == bucket).count();
            assert!(in_bucket >= 5, "bucket {bucket} has {in_bucket}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn identical_checks_run_once_for_all_their_real_servers() {
        let prober = Scripted::new(Duration::from_millis(10));
        prober.plan(
            addr(5),
            vec![Outcome::Fail(Failure::Timeout(Phase::Connect))],
        );
        let shared = tcp(addr(5), timing(0, 1, 5, 0));
        let scheduler = Scheduler::new(
            vec![
                RealServerChecks {
                    key: "vs1/rs",
                    checks: vec![shared.clone()].into(),
                },
                RealServerChecks {
                    key: "vs2/rs",
                    checks: vec![shared].into(),
                },
            ],
            options(),
        );
        assert_eq!(scheduler.checks().count(), 1);
        let transitions = run_for(scheduler, prober.clone(), 12).await;
        assert_eq!(prober.starts(addr(5)), [0, 5010, 10020]);
        let downs: Vec<&str> = transitions
            .iter()
            .filter(|(_, t)| !t.verdict.up)
            .map(|(_, t)| t.real)
            .collect();
        assert_eq!(downs, ["vs1/rs", "vs2/rs"]);
        assert!(transitions
            .iter()
            .all(|(_, t)| t.reason != Some(Failure::Refused)));
    }

    #[tokio::test(start_paused = true)]
    async fn alpha_real_server_needs_every_checker_to_pass() {
        let prober = Scripted::new(Duration::ZERO);
        // The second checker fails twice (it is down already: alpha).
        let failing = Outcome::Fail(Failure::Status {
            path: "/".into(),
            code: 503,
        });
        prober.plan(addr(2), vec![failing.clone(), failing]);
        let mut alpha = timing(1, 1, 3, 0);
        alpha.alpha = true;
        let scheduler = Scheduler::new(
            vec![RealServerChecks {
                key: "rs",
                checks: vec![tcp(addr(1), alpha.clone()), tcp(addr(2), alpha)].into(),
            }],
            options(),
        );
        assert!(!scheduler.verdicts().next().unwrap().1.up);
        let transitions = run_for(scheduler, prober, 10).await;
        // Up only once the second checker passes at its third probe (6 s).
        assert_eq!(transitions.len(), 1);
        assert_eq!(transitions[0].0, 6000);
        assert!(transitions[0].1.verdict.up);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        let prober = Scripted::new(Duration::from_secs(1));
        let reals = (1..=5)
            .map(|n| RealServerChecks {
                key: "rs",
                checks: vec![tcp(addr(n), timing(1, 1, 100, 0))].into(),
            })
            .collect();
        let mut opts = options();
        opts.max_concurrent = 2;
        run_for(Scheduler::new(reals, opts), prober.clone(), 4).await;
        // All were due at 0; the prober sees them as slots free up.
        let mut firsts: Vec<u64> = (1..=5).map(|n| prober.starts(addr(n))[0]).collect();
        firsts.sort();
        assert_eq!(firsts, [0, 0, 1000, 1000, 2000]);
    }

    #[tokio::test(start_paused = true)]
    async fn dynamic_weight_changes_are_transitions() {
        let prober = Scripted::new(Duration::ZERO);
        let weight = |w| Outcome::Pass {
            dynamic_weight: Some(w),
        };
        prober.plan(addr(1), vec![weight(10), weight(10), weight(3)]);
        let scheduler = Scheduler::new(
            vec![RealServerChecks {
                key: "rs",
                checks: vec![tcp(addr(1), timing(0, 1, 1, 0))].into(),
            }],
            options(),
        );
        let transitions = run_for(scheduler, prober, 4).await;
        let weights: Vec<(u64, Option<i32>)> = transitions
            .iter()
            .map(|(at, t)| (*at, t.verdict.dynamic_weight))
            .collect();
        assert_eq!(weights, [(0, Some(10)), (2000, Some(3)), (3000, None)]);
    }

    #[tokio::test(start_paused = true)]
    async fn log_all_failures_reports_every_failed_probe() {
        let prober = Scripted::new(Duration::ZERO);
        let refused = Outcome::Fail(Failure::Refused);
        prober.plan(addr(1), vec![refused.clone(), Outcome::PASS, refused]);
        let mut logged = timing(3, 1, 2, 0);
        logged.log_all_failures = true;
        let scheduler = Scheduler::new(
            vec![RealServerChecks {
                key: "rs",
                checks: vec![tcp(addr(1), logged)].into(),
            }],
            options(),
        );
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(scheduler.run(prober, tx));
        let mut probes = Vec::new();
        let end = Instant::now() + Duration::from_secs(6);
        while let Ok(Some(report)) = tokio::time::timeout_at(end, rx.recv()).await {
            if let Report::Probes(batch) = report {
                probes.extend(batch.into_iter().map(|p| (p.outcome, p.retrying, p.up)));
            }
        }
        drop(rx);
        task.await.unwrap();
        // Two failures, neither enough to go down (retry 3); passes are not reported.
        assert_eq!(
            probes,
            [
                (Outcome::Fail(Failure::Refused), true, true),
                (Outcome::Fail(Failure::Refused), true, true)
            ]
        );
    }
}
