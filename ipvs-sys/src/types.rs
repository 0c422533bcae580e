//! Typed IPVS objects, mirroring `/usr/include/linux/ip_vs.h`.

use std::net::IpAddr;

/// `AF_INET` / `AF_INET6` (linux/socket.h).
pub const AF_INET: u16 = 2;
/// `AF_INET6` (linux/socket.h).
pub const AF_INET6: u16 = 10;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl Family {
    /// The kernel's numeric `AF_*` value.
    pub fn to_raw(self) -> u16 {
        match self {
            Family::V4 => AF_INET,
            Family::V6 => AF_INET6,
        }
    }
    /// From an `AF_*` value; `None` for anything else.
    pub fn from_raw(af: u16) -> Option<Family> {
        match af {
            AF_INET => Some(Family::V4),
            AF_INET6 => Some(Family::V6),
            _ => None,
        }
    }
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// Transport protocol of a virtual service (IPPROTO_* values, linux/in.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `IPPROTO_TCP` (6).
    Tcp,
    /// `IPPROTO_UDP` (17).
    Udp,
    /// `IPPROTO_SCTP` (132).
    Sctp,
}

impl Protocol {
    /// The `IPPROTO_*` number.
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
    /// From an `IPPROTO_*` number.
    pub fn from_raw(p: u16) -> Option<Protocol> {
        match p {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }
    /// The lower-case name ipvsadm uses (`TCP`, `UDP`, `SCTP` in listings).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// How a virtual service is addressed: protocol+address+port, or a firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// `-t/-u/--sctp-service ADDR:PORT`.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address (its family is the service's family).
        addr: IpAddr,
        /// Virtual port (0 = any port, with persistence).
        port: u16,
    },
    /// `-f MARK`; the family must be given (a fwmark service is per family).
    Fwmark {
        /// Address family of the service.
        family: Family,
        /// Firewall mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`, ip_vs.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// `IP_VS_SVC_F_PERSISTENT`.
    pub const PERSISTENT: u32 = 0x0001;
    /// `IP_VS_SVC_F_HASHED` (kernel-internal, reported in dumps).
    pub const HASHED: u32 = 0x0002;
    /// `IP_VS_SVC_F_ONEPACKET`.
    pub const ONEPACKET: u32 = 0x0004;
    /// `IP_VS_SVC_F_SCHED1` (sh-fallback, mh-fallback).
    pub const SCHED1: u32 = 0x0008;
    /// `IP_VS_SVC_F_SCHED2` (sh-port, mh-port).
    pub const SCHED2: u32 = 0x0010;
    /// `IP_VS_SVC_F_SCHED3`.
    pub const SCHED3: u32 = 0x0020;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

/// Persistence: timeout in seconds and the client netmask (v4) or prefix length (v6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Persistence {
    /// Persistent timeout in seconds.
    pub timeout: u32,
    /// IPv4: the mask as a host-order integer (`0xffffff00` = 255.255.255.0);
    /// IPv6: the prefix length (1..=128).
    pub netmask: u32,
}

/// Counters and rates (`IPVS_STATS_ATTR_*`). From STATS64 when the kernel sends it,
/// else from STATS (32-bit counters widened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Connection rate.
    pub cps: u64,
    /// Incoming packet rate.
    pub inpps: u64,
    /// Outgoing packet rate.
    pub outpps: u64,
    /// Incoming byte rate.
    pub inbps: u64,
    /// Outgoing byte rate.
    pub outbps: u64,
}

/// Unknown attributes kept from a reply: `(type, payload)`.
pub type UnknownAttrs = Vec<(u16, Vec<u8>)>;

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// How the service is addressed.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, `mh`, …).
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` flags (PERSISTENT is derived from `persistence` when encoding).
    pub flags: ServiceFlags,
    /// Persistence, when the service is persistent.
    pub persistence: Option<Persistence>,
    /// Persistence engine name (`sip`), if any.
    pub pe_name: Option<String>,
    /// Statistics (only in replies).
    pub stats: Option<Stats>,
    /// Attributes this crate does not know, kept verbatim.
    pub unknown: UnknownAttrs,
}

impl Service {
    /// A new service with the given key and scheduler, no flags, no persistence.
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Service {
        Service {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::default(),
            persistence: None,
            pe_name: None,
            stats: None,
            unknown: Vec::new(),
        }
    }
}

/// Tunnel encapsulation type (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelType {
    /// IPIP (0).
    Ipip,
    /// GUE (1).
    Gue,
    /// GRE (2).
    Gre,
}

impl TunnelType {
    /// Numeric value.
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
        }
    }
    /// From the numeric value.
    pub fn from_raw(v: u8) -> Option<TunnelType> {
        match v {
            0 => Some(TunnelType::Ipip),
            1 => Some(TunnelType::Gue),
            2 => Some(TunnelType::Gre),
            _ => None,
        }
    }
}

/// Tunnel checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
pub mod tun_flags {
    /// No checksum.
    pub const NOCSUM: u16 = 0;
    /// Checksum.
    pub const CSUM: u16 = 1 << 0;
    /// Remote checksum offload.
    pub const REMCSUM: u16 = 1 << 1;
}

/// Forwarding method (`IP_VS_CONN_F_FWD_MASK` bits of the dest's conn flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FwdMethod {
    /// NAT (`IP_VS_CONN_F_MASQ`).
    Masq,
    /// Local node (`IP_VS_CONN_F_LOCALNODE`).
    Local,
    /// IP tunnel (`IP_VS_CONN_F_TUNNEL`).
    Tunnel {
        /// Encapsulation type.
        tun_type: TunnelType,
        /// Destination UDP port for GUE (0 otherwise).
        port: u16,
        /// `tun_flags::*`.
        flags: u16,
    },
    /// Direct routing (`IP_VS_CONN_F_DROUTE`).
    Route,
    /// Cache bypass (`IP_VS_CONN_F_BYPASS`).
    Bypass,
}

impl FwdMethod {
    /// The `IP_VS_CONN_F_*` forwarding bits.
    pub fn to_raw(self) -> u32 {
        match self {
            FwdMethod::Masq => 0,
            FwdMethod::Local => 1,
            FwdMethod::Tunnel { .. } => 2,
            FwdMethod::Route => 3,
            FwdMethod::Bypass => 4,
        }
    }
}

/// Identifies a destination inside a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestKey {
    /// Real server address (may differ in family from a fwmark service's family).
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

/// A real server (destination).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dest {
    /// Address and port.
    pub key: DestKey,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Weight (ipvsadm accepts 0..=65535; the kernel field is an int).
    pub weight: i32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold.
    pub l_threshold: u32,
    /// Active connections (replies only).
    pub active_conns: u32,
    /// Inactive connections (replies only).
    pub inact_conns: u32,
    /// Persistent connections (replies only).
    pub persist_conns: u32,
    /// Statistics (replies only).
    pub stats: Option<Stats>,
    /// Attributes this crate does not know, kept verbatim.
    pub unknown: UnknownAttrs,
}

impl Dest {
    /// A new destination with weight 1 and no thresholds.
    pub fn new(addr: IpAddr, port: u16, fwd: FwdMethod) -> Dest {
        Dest {
            key: DestKey { addr, port },
            fwd,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            active_conns: 0,
            inact_conns: 0,
            persist_conns: 0,
            stats: None,
            unknown: Vec::new(),
        }
    }
}

/// `IPVS_CMD_GET_INFO` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`-style version (0x010201 = 1.2.1).
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// `(major, minor, patch)` of the version.
    pub fn version_triple(&self) -> (u32, u32, u32) {
        (
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff,
        )
    }
}

/// Connection timeouts in seconds (`IPVS_CMD_ATTR_TIMEOUT_*`); 0 on set = unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timeouts {
    /// TCP established.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// Sync daemon role (`IP_VS_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonState {
    /// Master (1).
    Master,
    /// Backup (2).
    Backup,
}

impl DaemonState {
    /// Numeric state.
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }
}

/// A sync daemon (`IPVS_DAEMON_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Daemon {
    /// Master or backup.
    pub state: DaemonState,
    /// Multicast interface.
    pub mcast_ifn: String,
    /// Sync ID.
    pub sync_id: u32,
    /// UDP payload size (0 = default).
    pub sync_maxlen: Option<u16>,
    /// Multicast group (v4 or v6).
    pub mcast_group: Option<IpAddr>,
    /// Multicast port.
    pub mcast_port: Option<u16>,
    /// Multicast TTL.
    pub mcast_ttl: Option<u8>,
    /// Attributes this crate does not know, kept verbatim.
    pub unknown: UnknownAttrs,
}
