//! lvsd: a keepalived-compatible LVS director daemon.
//!
//! The binary's command line lives in [`cli`]; the VRRP core, the LVS
//! reconciler and the control plane arrive as modules beside it.

pub mod cli;
