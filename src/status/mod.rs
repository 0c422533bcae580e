//! The daemon's observable state: one [`Status`] snapshot, published by the
//! daemon after every change, rendered as JSON (`/status`, `lvsd status
//! --json`), as a table (`lvsd status`) and as Prometheus metrics
//! (`/metrics`). Rendering is pure; [`http`] serves it.

pub mod http;
pub mod metrics;
pub mod text;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A snapshot of everything the daemon reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Configuration reloads that were applied.
    pub reloads: u64,
    /// Reloads refused because the new configuration had errors.
    pub reload_errors: u64,
    /// The VRRP instances, in configuration order.
    pub vrrp: Vec<VrrpStatus>,
    /// The virtual servers, in configuration order.
    pub virtual_servers: Vec<VirtualServerStatus>,
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpStatus {
    /// `vrrp_instance` name.
    pub name: String,
    /// Interface the instance runs on.
    pub interface: String,
    /// Virtual router id.
    pub vrid: u8,
    /// INIT, BACKUP, MASTER or FAULT.
    pub state: String,
    /// Configured priority.
    pub priority: u8,
    /// Priority after track weights.
    pub effective_priority: u8,
    /// Primary address of the current master, as last heard (or our own).
    pub master: Option<IpAddr>,
    /// Unix time (seconds) of the last state transition.
    pub last_transition: Option<u64>,
    /// State transitions since start.
    pub transitions: u64,
    /// Adverts sent.
    #[serde(default)]
    pub adverts_sent: u64,
    /// Adverts received that passed every check.
    #[serde(default)]
    pub adverts_received: u64,
    /// Received packets dropped, by reason (ttl, checksum, auth, ...).
    #[serde(default)]
    pub dropped: BTreeMap<String, u64>,
}

/// Traffic counters and rates of a service or real server (from the kernel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in.
    pub in_packets: u64,
    /// Packets out.
    pub out_packets: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Bytes out.
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Packets per second in.
    pub in_pps: u64,
    /// Packets per second out.
    pub out_pps: u64,
    /// Bytes per second in.
    pub in_bps: u64,
    /// Bytes per second out.
    pub out_bps: u64,
}

impl From<&ipvs_sys::Stats> for Traffic {
    fn from(s: &ipvs_sys::Stats) -> Self {
        Traffic {
            conns: s.conns,
            in_packets: s.inpkts,
            out_packets: s.outpkts,
            in_bytes: s.inbytes,
            out_bytes: s.outbytes,
            cps: s.cps,
            in_pps: s.inpps,
            out_pps: s.outpps,
            in_bps: s.inbps,
            out_bps: s.outbps,
        }
    }
}

/// One virtual server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// ipvsadm's name for it: `TCP 10.0.0.3:80`, `FWM 7`, `UDP [2001:db8::1]:53`.
    pub service: String,
    /// Scheduler.
    pub scheduler: String,
    /// The service line of `ipvsadm -Ln`: name, scheduler, flags, persistence.
    #[serde(default)]
    pub summary: String,
    /// Whether the live weight meets `quorum`.
    pub quorum_up: bool,
    /// Whether the sorry server is in service.
    pub sorry_server_active: bool,
    /// Its checks are suspended: `ha_suspend` and its address is not local.
    #[serde(default)]
    pub checks_suspended: bool,
    /// Kernel counters, when the service is in the kernel.
    pub traffic: Option<Traffic>,
    /// The real servers, in configuration order.
    pub real_servers: Vec<RealServerStatus>,
}

/// One real server of a virtual server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServerStatus {
    /// `10.0.1.1:80` or `[2001:db8::1]:80`.
    pub address: String,
    /// Forwarding method as ipvsadm names it (`Route`, `Masq`, `Tunnel`).
    #[serde(default)]
    pub forward: String,
    /// All checkers pass.
    pub healthy: bool,
    /// Weight from the configuration.
    pub configured_weight: i32,
    /// Weight in the kernel table, if the server is in it.
    pub kernel_weight: Option<i32>,
    /// Last check outcome: `ok`, or the reason it failed.
    pub last_check: Option<String>,
    /// Latency of the last check, in milliseconds.
    pub last_latency_ms: Option<f64>,
    /// Failed checks since start.
    pub check_failures: u64,
    /// Active connections (kernel).
    pub active_conns: u32,
    /// Inactive connections (kernel).
    pub inactive_conns: u32,
    /// Kernel counters.
    pub traffic: Option<Traffic>,
}
