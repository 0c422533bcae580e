//! The probes in flight, polled by the scheduler's own task.
//!
//! A tokio task per probe (a `JoinSet` with a semaphore permit and a map
//! from task id to check) cost, per probe, an allocation for the task, its
//! state machine's atomic transitions, the set's locked bookkeeping and a
//! hash map entry. In the TCG guest of the director benchmark that user
//! space work was 18 % of the checker's CPU against keepalived's 6 %
//! (`PROFILE=1 bench/director/run.sh`). Here each probe is a slot of a
//! vector holding its future: a probe's waker names its slot and puts it
//! on a ready list, and the scheduler polls exactly the slots on that
//! list, much as keepalived's single thread runs the callbacks of the file
//! descriptors epoll returned. Slots and their wakers are reused, so a
//! probe costs one allocation: its boxed future.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use tokio::time::Instant;

use crate::outcome::{Failure, Outcome};
use crate::sched::ProbeFuture as Probe;

/// Probes in flight, each with the caller's `tag` (which check, when due).
pub(crate) struct InFlight<T> {
    slots: Vec<Slot<T>>,
    /// Indices of empty slots.
    free: Vec<usize>,
    ready: Arc<ReadyList>,
    /// The ready list taken for one poll (kept for its capacity).
    polling: Vec<usize>,
}

struct Slot<T> {
    /// Puts this slot on the ready list; made once per slot.
    waker: Waker,
    probe: Option<(Probe, T)>,
}

/// Slots whose probes were woken since the scheduler last polled, and the
/// scheduler's waker. Wakers may be called from any thread (a probe could
/// hand its waker to another runtime), hence the lock; on the scheduler's
/// single thread it is never contended.
#[derive(Default)]
struct ReadyList(Mutex<Ready>);

#[derive(Default)]
struct Ready {
    slots: Vec<usize>,
    /// Per slot: already on `slots` (a probe woken twice is polled once).
    queued: Vec<bool>,
    scheduler: Option<Waker>,
}

impl ReadyList {
    fn lock(&self) -> MutexGuard<'_, Ready> {
        // A panic while holding this lock leaves plain indices behind,
        // nothing half-updated that could mislead the next user.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Ready {
    /// Queues `slot` unless it is queued; true if it was not.
    fn queue(&mut self, slot: usize) -> bool {
        if self.queued.len() <= slot {
            self.queued.resize(slot + 1, false);
        }
        let fresh = !std::mem::replace(&mut self.queued[slot], true);
        if fresh {
            self.slots.push(slot);
        }
        fresh
    }
}

struct SlotWaker {
    slot: usize,
    ready: Arc<ReadyList>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let scheduler = {
            let mut ready = self.ready.lock();
            if !ready.queue(self.slot) {
                return;
            }
            ready.scheduler.take()
        };
        if let Some(scheduler) = scheduler {
            scheduler.wake();
        }
    }
}

impl<T> InFlight<T> {
    pub(crate) fn new() -> InFlight<T> {
        InFlight {
            slots: Vec::new(),
            free: Vec::new(),
            ready: Arc::default(),
            polling: Vec::new(),
        }
    }

    /// Probes in flight.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Adds a probe; it is first polled by the next [`InFlight::poll_finished`].
    pub(crate) fn push(&mut self, probe: Probe, tag: T) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = self.slots.len();
                let waker = Waker::from(Arc::new(SlotWaker {
                    slot,
                    ready: self.ready.clone(),
                }));
                self.slots.push(Slot { waker, probe: None });
                slot
            }
        };
        self.slots[slot].probe = Some((probe, tag));
        self.ready.lock().queue(slot);
    }

    /// Polls the probes woken since the last call and moves those that
    /// finished to `finished`; ready if any did, with the time they ended:
    /// one reading of the clock, taken as the first of them is seen
    /// finished (keepalived reads the time once per turn of its loop, as it
    /// wakes, before it runs the callbacks; reading it after polling every
    /// woken probe would count the others' work, a hundred closes at
    /// 10,000 checks a second, in each probe's latency). A probe that
    /// panicked is a failed probe, as a probe task that died was.
    pub(crate) fn poll_finished(
        &mut self,
        cx: &mut Context<'_>,
        finished: &mut Vec<(T, Outcome)>,
    ) -> Poll<Instant> {
        {
            let mut ready = self.ready.lock();
            if !ready
                .scheduler
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                ready.scheduler = Some(cx.waker().clone());
            }
            std::mem::swap(&mut self.polling, &mut ready.slots);
            for &slot in &self.polling {
                ready.queued[slot] = false;
            }
        }
        let mut ended = None;
        for &index in &self.polling {
            let Some(slot) = self.slots.get_mut(index) else {
                continue;
            };
            // A stale wake-up of a slot emptied since is harmless.
            let Some((probe, _)) = slot.probe.as_mut() else {
                continue;
            };
            let mut probe_cx = Context::from_waker(&slot.waker);
            let outcome =
                match catch_unwind(AssertUnwindSafe(|| probe.as_mut().poll(&mut probe_cx))) {
                    Ok(Poll::Pending) => continue,
                    Ok(Poll::Ready(outcome)) => outcome,
                    Err(_) => Outcome::Fail(Failure::Io("probe panicked".into())),
                };
            ended.get_or_insert_with(Instant::now);
            if let Some((_, tag)) = slot.probe.take() {
                finished.push((tag, outcome));
                self.free.push(index);
            }
        }
        self.polling.clear();
        ended.map_or(Poll::Pending, Poll::Ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::oneshot;

    fn probe_until(rx: oneshot::Receiver<Outcome>) -> Probe {
        Box::pin(async move { rx.await.unwrap_or(Outcome::Fail(Failure::Refused)) })
    }

    async fn next(set: &mut InFlight<u32>) -> Vec<(u32, Outcome)> {
        let mut finished = Vec::new();
        std::future::poll_fn(|cx| set.poll_finished(cx, &mut finished)).await;
        finished
    }

    #[tokio::test]
    async fn each_probe_finishes_with_its_tag_when_woken() {
        let mut set = InFlight::new();
        let (tx1, rx1) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        set.push(probe_until(rx1), 1);
        set.push(probe_until(rx2), 2);
        assert_eq!(set.len(), 2);
        tx2.send(Outcome::PASS).unwrap();
        assert_eq!(next(&mut set).await, [(2, Outcome::PASS)]);
        assert_eq!(set.len(), 1);
        // The freed slot is reused; the old one's waker reaches the new probe.
        let (tx3, rx3) = oneshot::channel();
        set.push(probe_until(rx3), 3);
        assert_eq!(set.slots.len(), 2);
        drop(tx1);
        tx3.send(Outcome::PASS).unwrap();
        let mut got = next(&mut set).await;
        if got.len() < 2 {
            got.extend(next(&mut set).await);
        }
        got.sort_by_key(|(tag, _)| *tag);
        assert_eq!(
            got,
            [(1, Outcome::Fail(Failure::Refused)), (3, Outcome::PASS)]
        );
        assert_eq!(set.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_woken_by_a_timer_or_from_another_thread_is_polled() {
        let start = Instant::now();
        let mut set = InFlight::new();
        set.push(
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Outcome::PASS
            }),
            7,
        );
        // Ready with the time it finished.
        let mut finished = Vec::new();
        let ended = std::future::poll_fn(|cx| set.poll_finished(cx, &mut finished)).await;
        assert_eq!(ended - start, Duration::from_secs(3));
        assert_eq!(finished, [(7, Outcome::PASS)]);
        set.push(
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Outcome::PASS
            }),
            7,
        );
        let (tx, rx) = oneshot::channel();
        set.push(probe_until(rx), 8);
        std::thread::spawn(move || tx.send(Outcome::PASS));
        let mut got = next(&mut set).await;
        got.extend(next(&mut set).await);
        got.sort_by_key(|(tag, _)| *tag);
        assert_eq!(got, [(7, Outcome::PASS), (8, Outcome::PASS)]);
    }

    #[tokio::test]
    async fn a_panicking_probe_is_a_failed_probe() {
        let mut set = InFlight::new();
        fn checker_bug() -> Outcome {
            panic!("checker bug")
        }
        set.push(Box::pin(async { checker_bug() }), 1);
        let got = next(&mut set).await;
        assert_eq!(
            got,
            [(1, Outcome::Fail(Failure::Io("probe panicked".into())))]
        );
        assert_eq!(set.len(), 0);
    }

    #[test]
    fn a_slot_woken_twice_is_queued_once() {
        let mut ready = Ready::default();
        assert!(ready.queue(3));
        assert!(!ready.queue(3));
        assert!(ready.queue(0));
        assert_eq!(ready.slots, [3, 0]);
    }
}
