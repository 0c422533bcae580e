//! The pure state machines: one per check (failure counting, retries) and
//! one per real server (all of its checkers must pass).
//!
//! keepalived semantics (check_api.c, 2.2.7): a checker starts up, or down
//! with `alpha`. While up, a failed probe is retried after
//! `delay_before_retry`, and the checker goes down after `retry` + 1
//! consecutive failures. While down, probes run every `delay_loop` and one
//! success brings it up again.

use std::time::Duration;

use crate::outcome::{Failure, Outcome};
use crate::spec::Timing;

/// What the scheduler should do after a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The checker changed state: `Some(true)` up, `Some(false)` down.
    pub flipped: Option<bool>,
    /// The dynamic weight changed while up (misc_dynamic, dynamic FILE_CHECK).
    pub weight_changed: bool,
    /// Delay until the next probe.
    pub next_in: Duration,
    /// This failure is an intermediate one (more retries to go).
    pub retrying: bool,
}

/// The state of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerState {
    up: bool,
    consecutive_failures: u32,
    dynamic_weight: Option<i32>,
    last_failure: Option<Failure>,
}

impl CheckerState {
    /// Up, or down with `alpha`.
    pub fn new(alpha: bool) -> CheckerState {
        CheckerState {
            up: !alpha,
            consecutive_failures: 0,
            dynamic_weight: None,
            last_failure: None,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn dynamic_weight(&self) -> Option<i32> {
        self.dynamic_weight
    }

    /// The reason of the latest failure, if the latest probe failed.
    pub fn last_failure(&self) -> Option<&Failure> {
        self.last_failure.as_ref()
    }

    /// Takes a probe result into account.
    pub fn record(&mut self, timing: &Timing, outcome: &Outcome) -> Step {
        match outcome {
            Outcome::Pass { dynamic_weight } => {
                self.consecutive_failures = 0;
                self.last_failure = None;
                let flipped = (!self.up).then_some(true);
                let weight_changed = self.up && self.dynamic_weight != *dynamic_weight;
                self.up = true;
                self.dynamic_weight = *dynamic_weight;
                Step {
                    flipped,
                    weight_changed,
                    next_in: timing.delay_loop,
                    retrying: false,
                }
            }
            Outcome::Fail(failure) => {
                self.last_failure = Some(failure.clone());
                if !self.up {
                    return Step {
                        flipped: None,
                        weight_changed: false,
                        next_in: timing.delay_loop,
                        retrying: false,
                    };
                }
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                if self.consecutive_failures > timing.retry {
                    self.up = false;
                    self.consecutive_failures = 0;
                    self.dynamic_weight = None;
                    Step {
                        flipped: Some(false),
                        weight_changed: false,
                        next_in: timing.delay_loop,
                        retrying: false,
                    }
                } else {
                    Step {
                        flipped: None,
                        weight_changed: false,
                        next_in: timing.delay_before_retry,
                        retrying: true,
                    }
                }
            }
        }
    }
}

/// The verdict on one real server from all of its checkers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Every checker is up (a real server without checkers is up).
    pub up: bool,
    /// Sum of the weights asked by dynamic checkers that are up (a single
    /// `misc_dynamic` MISC_CHECK gives exit status − 2), `None` if none asked.
    pub dynamic_weight: Option<i32>,
}

/// Combines the states of a real server's checkers.
pub fn verdict<'a>(checkers: impl IntoIterator<Item = &'a CheckerState>) -> Verdict {
    let mut up = true;
    let mut weight: Option<i32> = None;
    for c in checkers {
        up &= c.is_up();
        if let Some(w) = c.dynamic_weight() {
            weight = Some(weight.unwrap_or(0).saturating_add(w));
        }
    }
    Verdict {
        up,
        dynamic_weight: if up { weight } else { None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Phase;
    use crate::spec::CheckFamily;

    fn timing(retry: u32) -> Timing {
        Timing {
            retry,
            delay_loop: Duration::from_secs(10),
            delay_before_retry: Duration::from_secs(2),
            ..Timing::defaults_for(CheckFamily::Other)
        }
    }

    fn fail() -> Outcome {
        Outcome::Fail(Failure::Refused)
    }

    #[test]
    fn starts_up_or_down_with_alpha() {
        assert!(CheckerState::new(false).is_up());
        assert!(!CheckerState::new(true).is_up());
    }

    #[test]
    fn goes_down_after_retry_plus_one_failures_with_delay_before_retry() {
        let t = timing(2);
        let mut s = CheckerState::new(false);
        for _ in 0..2 {
            let step = s.record(&t, &fail());
            assert_eq!(step.flipped, None);
            assert!(step.retrying);
            assert_eq!(step.next_in, Duration::from_secs(2));
            assert!(s.is_up());
        }
        let step = s.record(&t, &fail());
        assert_eq!(step.flipped, Some(false));
        assert_eq!(step.next_in, Duration::from_secs(10));
        assert_eq!(s.last_failure(), Some(&Failure::Refused));
        // Down: further failures are at delay_loop and flip nothing.
        let step = s.record(&t, &Outcome::Fail(Failure::Timeout(Phase::Connect)));
        assert_eq!(
            (step.flipped, step.next_in),
            (None, Duration::from_secs(10))
        );
    }

    #[test]
    fn retry_zero_fails_at_once_and_a_success_resets_the_count() {
        let mut s = CheckerState::new(false);
        assert_eq!(s.record(&timing(0), &fail()).flipped, Some(false));
        let mut s = CheckerState::new(false);
        let t = timing(1);
        s.record(&t, &fail());
        s.record(&t, &Outcome::PASS);
        assert_eq!(s.record(&t, &fail()).flipped, None);
        assert_eq!(s.record(&t, &fail()).flipped, Some(false));
    }

    #[test]
    fn one_success_brings_it_up() {
        let t = timing(3);
        let mut s = CheckerState::new(true);
        let step = s.record(&t, &Outcome::PASS);
        assert_eq!(step.flipped, Some(true));
        assert_eq!(step.next_in, Duration::from_secs(10));
        assert!(s.is_up());
    }

    #[test]
    fn dynamic_weight_changes_are_reported_while_up() {
        let t = timing(0);
        let mut s = CheckerState::new(false);
        let w = |n| Outcome::Pass {
            dynamic_weight: Some(n),
        };
        assert!(s.record(&t, &w(8)).weight_changed);
        assert!(!s.record(&t, &w(8)).weight_changed);
        assert!(s.record(&t, &w(3)).weight_changed);
        assert_eq!(s.dynamic_weight(), Some(3));
    }

    #[test]
    fn real_server_needs_every_checker() {
        let t = timing(0);
        let mut a = CheckerState::new(false);
        let mut b = CheckerState::new(false);
        a.record(
            &t,
            &Outcome::Pass {
                dynamic_weight: Some(5),
            },
        );
        assert_eq!(
            verdict([&a, &b]),
            Verdict {
                up: true,
                dynamic_weight: Some(5)
            }
        );
        b.record(&t, &fail());
        assert_eq!(
            verdict([&a, &b]),
            Verdict {
                up: false,
                dynamic_weight: None
            }
        );
        assert!(verdict([]).up);
    }
}
