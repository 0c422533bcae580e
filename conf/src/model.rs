//! The typed configuration model, shared by every lvsd component.
//!
//! One model for both input forms: keepalived.conf (read by [`crate::parse`]) and
//! TOML (serde, `deny_unknown_fields`). Field names are keepalived's keywords;
//! blocks that repeat become vectors (`vrrp_instances`, `real_servers`, `checkers`).
//! Durations are [`Duration`] (humantime strings in TOML, e.g. `advert_int = "100ms"`),
//! addresses are `std::net` types. Defaults are keepalived 2.2.7's, named in [`defaults`].
//!
//! Keywords that keepalived documents but lvsd does not act on are kept, word for
//! word, in the `other` map of their block, so nothing is lost and nothing is
//! reported as unknown.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::iproute::{
    Family, IpLine, Nexthop, NumOrName, Range, Realms, Route, RouteType, RttTime, Rule, RuleType,
    Target,
};

/// keepalived 2.2.7 defaults (keepalived.conf(5) and keepalived's sources).
pub mod defaults {
    use std::time::Duration;

    /// `vrrp_instance.priority`.
    pub const PRIORITY: u8 = 100;
    /// `vrrp_instance.advert_int`: 1 s.
    pub const ADVERT_INT: Duration = Duration::from_secs(1);
    /// `vrrp_script.interval`: 1 s.
    pub const SCRIPT_INTERVAL: Duration = Duration::from_secs(1);
    /// `vrrp_script.weight`: 0 (the script only moves the instance to FAULT).
    pub const SCRIPT_WEIGHT: i32 = 0;
    /// `vrrp_script.rise` / `fall`.
    pub const SCRIPT_RISE: u32 = 1;
    pub const SCRIPT_FALL: u32 = 1;
    /// `virtual_server.delay_loop`: 60 s.
    pub const DELAY_LOOP: Duration = Duration::from_secs(60);
    /// `virtual_server.lvs_sched`: the IPVS default, weighted least-connection.
    pub const LVS_SCHED: &str = "wlc";
    /// `virtual_server.quorum`.
    pub const QUORUM: u32 = 1;
    /// `virtual_server.hysteresis`.
    pub const HYSTERESIS: u32 = 0;
    /// `persistence_timeout` written without a value: 6 minutes.
    pub const PERSISTENCE_TIMEOUT: Duration = Duration::from_secs(360);
    /// `real_server.weight`.
    pub const RS_WEIGHT: i32 = 1;
    /// Checker `connect_timeout`: 5 s.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Checker `retry`: 1, but 3 for DNS_CHECK and 0 for MISC_CHECK.
    pub const RETRY: u32 = 1;
    pub const DNS_RETRY: u32 = 3;
    pub const MISC_RETRY: u32 = 0;
    /// Checker `delay_before_retry`: 3 s for HTTP_GET/SSL_GET, 1 s otherwise
    /// (DNS_CHECK: the delay_loop).
    pub const HTTP_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(3);
    pub const DELAY_BEFORE_RETRY: Duration = Duration::from_secs(1);
    /// DNS_CHECK `type` and `name`.
    pub const DNS_TYPE: &str = "SOA";
    pub const DNS_NAME: &str = ".";
    /// VRRP version used when neither the instance nor global_defs says.
    pub const VRRP_VERSION: u8 = 2;
}

fn default_priority() -> u8 {
    defaults::PRIORITY
}
fn default_advert_int() -> Duration {
    defaults::ADVERT_INT
}
fn default_script_interval() -> Duration {
    defaults::SCRIPT_INTERVAL
}
fn default_script_weight() -> i32 {
    defaults::SCRIPT_WEIGHT
}
fn default_rise() -> u32 {
    defaults::SCRIPT_RISE
}
fn default_fall() -> u32 {
    defaults::SCRIPT_FALL
}
fn default_delay_loop() -> Duration {
    defaults::DELAY_LOOP
}
fn default_lvs_sched() -> String {
    defaults::LVS_SCHED.to_string()
}
fn default_quorum() -> u32 {
    defaults::QUORUM
}
fn default_rs_weight() -> i32 {
    defaults::RS_WEIGHT
}
fn default_connect_timeout() -> Duration {
    defaults::CONNECT_TIMEOUT
}

/// Words of keywords lvsd accepts but does not interpret, by keyword.
pub type Other = BTreeMap<String, Vec<String>>;

/// A whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub global_defs: GlobalDefs,
    /// The `SSL` block: client certificate for SSL_GET checks.
    #[serde(default, rename = "SSL", skip_serializing_if = "Option::is_none")]
    pub ssl: Option<Ssl>,
    #[serde(default)]
    pub static_ipaddress: Vec<VirtualAddress>,
    /// `static_routes` lines (ip-route syntax, see [`crate::iproute`]).
    #[serde(default)]
    pub static_routes: Vec<Route>,
    /// `static_rules` lines (ip-rule syntax, see [`crate::iproute`]).
    #[serde(default)]
    pub static_rules: Vec<Rule>,
    /// `track_group NAME { group { INSTANCE… } }`: the instances that track a static
    /// address, route or rule naming the group.
    #[serde(default)]
    pub track_groups: Vec<TrackGroup>,
    #[serde(default)]
    pub vrrp_scripts: Vec<VrrpScript>,
    #[serde(default)]
    pub vrrp_track_files: Vec<VrrpTrackFile>,
    #[serde(default)]
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    #[serde(default)]
    pub vrrp_instances: Vec<VrrpInstance>,
    #[serde(default)]
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServer>,
}

/// `global_defs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalDefs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    #[serde(default)]
    pub notification_email: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_email_from: Option<String>,
    /// `smtp_server HOST [PORT]`.
    #[serde(default)]
    pub smtp_server: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_helo_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub smtp_connect_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp_mcast_group4: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp_mcast_group6: Option<Ipv6Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp_version: Option<u8>,
    #[serde(default)]
    pub vrrp_strict: bool,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub vrrp_garp_master_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp_garp_master_repeat: Option<u32>,
    #[serde(default)]
    pub vrrp_skip_check_adv_addr: bool,
    #[serde(default)]
    pub vrrp_check_unicast_src: bool,
    #[serde(default)]
    pub enable_script_security: bool,
    /// `script_user USER [GROUP]`.
    #[serde(default)]
    pub script_user: Vec<String>,
    /// `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]`.
    #[serde(default)]
    pub lvs_sync_daemon: Vec<String>,
    #[serde(default)]
    pub lvs_flush: bool,
    /// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`.
    #[serde(default)]
    pub lvs_timeouts: Vec<String>,
    #[serde(default)]
    pub dynamic_interfaces: bool,
    #[serde(default)]
    pub other: Other,
}

/// `track_group NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackGroup {
    pub name: String,
    /// Member instance names.
    #[serde(default)]
    pub group: Vec<String>,
}

/// `vrrp_script NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpScript {
    pub name: String,
    /// The command line, as keepalived would run it.
    #[serde(default)]
    pub script: String,
    #[serde(default = "default_script_interval", with = "humantime_serde")]
    pub interval: Duration,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub timeout: Option<Duration>,
    #[serde(default = "default_script_weight")]
    pub weight: i32,
    #[serde(default = "default_rise")]
    pub rise: u32,
    #[serde(default = "default_fall")]
    pub fall: u32,
    /// `user USER [GROUP]`.
    #[serde(default)]
    pub user: Vec<String>,
    #[serde(default)]
    pub init_fail: bool,
}

/// `vrrp_track_file NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpTrackFile {
    pub name: String,
    #[serde(default)]
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    #[serde(default)]
    pub other: Other,
}

/// `vrrp_sync_group NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpSyncGroup {
    pub name: String,
    /// Member instance names.
    #[serde(default)]
    pub group: Vec<String>,
    #[serde(default)]
    pub track_interface: Vec<Tracked>,
    #[serde(default)]
    pub track_script: Vec<Tracked>,
    #[serde(default)]
    pub track_file: Vec<Tracked>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    #[serde(default)]
    pub smtp_alert: bool,
    #[serde(default)]
    pub global_tracking: bool,
    #[serde(default)]
    pub other: Other,
}

/// VRRP initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VrrpState {
    MASTER,
    BACKUP,
}

/// `authentication { auth_type … auth_pass … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<AuthType>,
    /// Up to 8 characters are used (RFC 2338 §5.3.10); keepalived truncates longer ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_pass: Option<String>,
}

/// `auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    PASS,
    AH,
}

/// A tracked object (interface, script, file, process, BFD) with an optional weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracked {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// `reverse`: the weight applies in the opposite direction.
    #[serde(default)]
    pub reverse: bool,
}

/// `vrrp_instance NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpInstance {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<VrrpState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// 1..=255; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_router_id: Option<u8>,
    /// 1..=255 (255 is the address owner).
    #[serde(default = "default_priority")]
    pub priority: u8,
    #[serde(default = "default_advert_int", with = "humantime_serde")]
    pub advert_int: Duration,
    /// VRRP version 2 or 3; `None` follows global_defs.vrrp_version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    #[serde(default)]
    pub nopreempt: bool,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub preempt_delay: Option<Duration>,
    #[serde(default)]
    pub accept: bool,
    #[serde(default)]
    pub no_accept: bool,
    #[serde(default)]
    pub dont_track_primary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_src_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unicast_src_ip: Option<IpAddr>,
    #[serde(default)]
    pub unicast_peer: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    #[serde(default)]
    pub virtual_ipaddress: Vec<VirtualAddress>,
    #[serde(default)]
    pub virtual_ipaddress_excluded: Vec<VirtualAddress>,
    /// `virtual_routes` lines (ip-route syntax, see [`crate::iproute`]).
    #[serde(default)]
    pub virtual_routes: Vec<Route>,
    /// `virtual_rules` lines (ip-rule syntax, see [`crate::iproute`]).
    #[serde(default)]
    pub virtual_rules: Vec<Rule>,
    #[serde(default)]
    pub track_interface: Vec<Tracked>,
    #[serde(default)]
    pub track_script: Vec<Tracked>,
    #[serde(default)]
    pub track_file: Vec<Tracked>,
    #[serde(default)]
    pub track_process: Vec<Tracked>,
    /// `use_vmac [NAME]`: `Some("")` is keepalived's default name (`vrrp.VRID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_vmac: Option<String>,
    #[serde(default)]
    pub vmac_xmit_base: bool,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub garp_master_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp_master_repeat: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    #[serde(default)]
    pub smtp_alert: bool,
    #[serde(default)]
    pub other: Other,
}

impl VrrpInstance {
    /// The VRRP version in effect: the instance's, else global_defs', else 2.
    pub fn effective_version(&self, global: &GlobalDefs) -> u8 {
        self.version
            .or(global.vrrp_version)
            .unwrap_or(defaults::VRRP_VERSION)
    }
}

/// An address with an optional prefix length, written `ADDR[/LEN]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    pub addr: IpAddr,
    pub prefix_len: Option<u8>,
}

impl FromStr for IpPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr_text, len_text) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| format!("`{addr_text}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len_text {
            None => None,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max => Some(n),
                _ => return Err(format!("`{l}` is not a prefix length (0..={max})")),
            },
        };
        Ok(IpPrefix { addr, prefix_len })
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix_len {
            Some(len) => write!(f, "{}/{len}", self.addr),
            None => write!(f, "{}", self.addr),
        }
    }
}

impl Serialize for IpPrefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpPrefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One `virtual_ipaddress` / `static_ipaddress` line:
/// `ADDR[/LEN] [brd ADDR] [dev IF] [scope SCOPE] [label LABEL] [peer ADDR] [no_track]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualAddress {
    pub address: IpPrefix,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brd: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
    #[serde(default)]
    pub no_track: bool,
}

/// `virtual_server_group NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServerGroup {
    pub name: String,
    #[serde(default)]
    pub members: Vec<GroupMember>,
}

/// A `virtual_server_group` line: `ADDR[-LAST] PORT` or `fwmark N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMember {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// Last value of the address's final component (IPv4 octet / IPv6 group) for a range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_last: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
}

/// IPVS forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LvsMethod {
    NAT,
    DR,
    TUN,
}

/// Service protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    TCP,
    UDP,
    SCTP,
}

/// How a virtual server is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceKey {
    Address { addr: IpAddr, port: u16 },
    Fwmark(u32),
    Group(String),
}

/// `sorry_server ADDR PORT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorryServer {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// `virtual_server ADDR PORT` | `virtual_server fwmark N` | `virtual_server group NAME`.
/// Exactly one of (`address`, `port`), `fwmark`, `group` is set; see [`VirtualServer::key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `inet` or `inet6`, for fwmark services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_family: Option<String>,
    #[serde(default = "default_delay_loop", with = "humantime_serde")]
    pub delay_loop: Duration,
    #[serde(default = "default_lvs_sched")]
    pub lvs_sched: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lvs_method: Option<LvsMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// `persistence_timeout [SECS]` (no value: [`defaults::PERSISTENCE_TIMEOUT`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub persistence_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_granularity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<SorryServer>,
    #[serde(default)]
    pub sorry_server_inhibit: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorry_server_lvs_method: Option<LvsMethod>,
    #[serde(default = "default_quorum")]
    pub quorum: u32,
    #[serde(default)]
    pub hysteresis: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_down: Option<String>,
    #[serde(default)]
    pub alpha: bool,
    #[serde(default)]
    pub omega: bool,
    #[serde(default)]
    pub inhibit_on_failure: bool,
    #[serde(default)]
    pub ha_suspend: bool,
    #[serde(default)]
    pub ops: bool,
    #[serde(default)]
    pub smtp_alert: bool,
    #[serde(default)]
    pub real_servers: Vec<RealServer>,
    #[serde(default)]
    pub other: Other,
}

impl VirtualServer {
    /// The service's identity, or `None` when the header was incomplete.
    pub fn key(&self) -> Option<ServiceKey> {
        match (self.address, self.port, self.fwmark, &self.group) {
            (Some(addr), Some(port), None, None) => Some(ServiceKey::Address { addr, port }),
            (None, None, Some(mark), None) => Some(ServiceKey::Fwmark(mark)),
            (None, None, None, Some(name)) => Some(ServiceKey::Group(name.clone())),
            _ => None,
        }
    }

    /// The forwarding method in effect (keepalived: NAT).
    pub fn method(&self) -> LvsMethod {
        self.lvs_method.unwrap_or(LvsMethod::NAT)
    }

    /// The protocol in effect: keepalived 2.2.7 programs an address
    /// service without `protocol` as UDP (check_parser, "no protocol set -
    /// defaulting to UDP"); validation warns about it.
    pub fn proto(&self) -> Protocol {
        self.protocol.unwrap_or(Protocol::UDP)
    }
}

/// `real_server ADDR [PORT]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default = "default_rs_weight")]
    pub weight: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lvs_method: Option<LvsMethod>,
    #[serde(default)]
    pub inhibit_on_failure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_up: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_down: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uthreshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lthreshold: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub delay_loop: Option<Duration>,
    #[serde(default)]
    pub smtp_alert: bool,
    /// Every health checker of this real server, in file order.
    #[serde(default)]
    pub checkers: Vec<Checker>,
    #[serde(default)]
    pub other: Other,
}

/// The checker types of keepalived 2.2.7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types)]
pub enum CheckerKind {
    TCP_CHECK,
    HTTP_GET,
    SSL_GET,
    MISC_CHECK,
    SMTP_CHECK,
    DNS_CHECK,
    UDP_CHECK,
    PING_CHECK,
    FILE_CHECK,
}

/// One health checker. Connection options are common; the kind-specific fields
/// are set only for their kind (the keepalived reader enforces that).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checker {
    pub kind: CheckerKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindto: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_if: Option<String>,
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub warmup: Option<Duration>,
    /// `None`: the kind's default, see [`Checker::effective_retry`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    /// `None`: the kind's default, see [`Checker::effective_delay_before_retry`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub delay_before_retry: Option<Duration>,
    /// `None`: the virtual server's delay_loop.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub delay_loop: Option<Duration>,
    #[serde(default)]
    pub log_all_failures: bool,
    #[serde(default)]
    pub alpha: bool,
    /// HTTP_GET / SSL_GET.
    #[serde(default)]
    pub url: Vec<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_protocol: Option<String>,
    #[serde(default)]
    pub enable_sni: bool,
    #[serde(default)]
    pub fast_recovery: bool,
    /// MISC_CHECK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misc_path: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub misc_timeout: Option<Duration>,
    #[serde(default)]
    pub misc_dynamic: bool,
    #[serde(default)]
    pub user: Vec<String>,
    /// SMTP_CHECK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo_name: Option<String>,
    /// DNS_CHECK (`type`, default SOA; `name`, default ".").
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub dns_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// UDP_CHECK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default)]
    pub require_reply: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_reply_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reply_length: Option<u32>,
    /// FILE_CHECK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    #[serde(default)]
    pub other: Other,
}

impl Checker {
    /// `retry` in effect (keepalived.conf(5): 1; DNS_CHECK 3; MISC_CHECK 0).
    pub fn effective_retry(&self) -> u32 {
        self.retry.unwrap_or(match self.kind {
            CheckerKind::DNS_CHECK => defaults::DNS_RETRY,
            CheckerKind::MISC_CHECK => defaults::MISC_RETRY,
            _ => defaults::RETRY,
        })
    }

    /// `delay_before_retry` in effect (3 s for HTTP/SSL, the delay loop for DNS, else 1 s).
    pub fn effective_delay_before_retry(&self, delay_loop: Duration) -> Duration {
        self.delay_before_retry.unwrap_or(match self.kind {
            CheckerKind::HTTP_GET | CheckerKind::SSL_GET => defaults::HTTP_DELAY_BEFORE_RETRY,
            CheckerKind::DNS_CHECK => delay_loop,
            _ => defaults::DELAY_BEFORE_RETRY,
        })
    }
}

/// An HTTP_GET / SSL_GET `url` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Url {
    #[serde(default)]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Codes and ranges as written (`200`, `200-299`); none means 2xx.
    #[serde(default)]
    pub status_code: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(default)]
    pub regex_no_match: bool,
    #[serde(default)]
    pub other: Other,
}

/// The top-level `SSL` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ssl {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}
