//! Health checkers for real servers and their scheduler, with keepalived
//! 2.2.7 semantics (keepalived.conf(5)).
//!
//! - [`spec`]: what to check ([`CheckSpec`]), independent of the parser.
//! - [`probe`]: one probe of a check, bounded by `connect_timeout` as a whole.
//! - [`state`]: the pure state machines (retries, alpha, all checkers pass).
//! - [`sched`]: runs deduplicated checks on tokio and reports transitions.

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
