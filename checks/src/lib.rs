//! Health checkers for real servers and their scheduler, with keepalived
//! 2.2.7 semantics (keepalived.conf(5)).
//!
//! - [`spec`]: what to check ([`CheckSpec`]), independent of the parser.
//! - [`probe`]: one probe of a check, bounded by `connect_timeout` as a whole.
//! - [`state`]: the pure state machines (retries, alpha, all checkers pass).
//! - [`sched`]: runs deduplicated checks on tokio and reports transitions.
//!
//! Where this differs from keepalived 2.2.7, on purpose:
//! - `connect_timeout` bounds a whole probe (each `url` fetch of HTTP_GET),
//!   so a trickling server fails at the deadline (keepalived issue #1822).
//! - Identical checks of several virtual servers run once (issues #2358, #2111).
//! - TCP_CHECK closes with a RST (SO_LINGER 0): no TIME_WAIT on the director.
//! - HTTP_GET checks all its urls in one probe; `fast_recovery`'s one-url-per-
//!   `delay_loop` pacing, `regex` and SSL client certificates are not implemented.
//! - SSL_GET verifies the certificate only when a CA file is given.

mod inflight;
pub mod outcome;
pub mod probe;
pub mod sched;
pub mod spec;
pub mod state;

pub use outcome::{Failure, Outcome, Phase};
pub use sched::{
    NetworkProber, ProbeReport, Prober, RealServerChecks, Report, Scheduler, SchedulerOptions,
    Transition,
};
pub use spec::{CheckKind, CheckSpec, Endpoint, Timing};
pub use state::{CheckerState, Verdict};
