//! The `lvsd` command line.

use clap::Parser;

/// keepalived-compatible LVS director: VRRP, health checks and IPVS in one process.
#[derive(Debug, Parser)]
#[command(name = "lvsd", version, about)]
pub struct Cli {}
