//! The LVS reconciler: from the configured virtual servers and the checkers'
//! verdicts to the minimal list of IPVS operations.
//!
//! [`desired`] computes what one virtual server's IPVS entries should be
//! (health, inhibit_on_failure, misc_dynamic weights, quorum with hysteresis,
//! sorry server); [`diff`] compares the desired table with the kernel's and
//! returns the operations; [`engine`] keeps the state between verdicts and
//! reloads and returns notify effects. All three are pure; the daemon applies the result with
//! one batched `ipvs-sys` apply.

pub mod by_key;
pub mod desired;
pub mod diff;
pub mod engine;
pub mod kernel;
pub mod runtime;
pub mod status;
pub mod syncd;

pub use desired::{
    desired_service, DesiredService, DestPlan, QuorumChange, QuorumState, RealServerPlan,
    SorryServerPlan, Verdict, VirtualServerPlan, DOWN, UP,
};
pub use diff::{reconcile, table_from_entries, Table};
pub use engine::{Effect, Engine, RealServerNotify, VirtualServer};
pub use kernel::read_table;
