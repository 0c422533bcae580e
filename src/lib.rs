//! lvsd: a keepalived-compatible LVS director daemon.
//!
//! The binary's command line lives in [`cli`], each subcommand in [`cmd`];
//! the VRRP core is [`vrrp`], the LVS reconciler [`lvs`].

pub mod cli;
pub mod cmd;
pub mod config;
pub mod control;
pub mod daemon;
pub mod lvs;
pub mod status;
pub mod vrrp;
