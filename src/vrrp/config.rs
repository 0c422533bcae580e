//! The VRRP instance configuration the core runs on, with keepalived 2.2.7's
//! defaults. Independent of the keepalived.conf model: the daemon maps the
//! `conf` crate's `vrrp_instance` onto [`InstanceConfig`].

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use super::packet::{Family, Version};
use super::track::ScriptConfig;

/// `state` in `vrrp_instance`. keepalived 2.2.7 starts a `MASTER` instance in
/// BACKUP too and waits the master-down interval (seen in the captures), so
/// this only matters for `nopreempt`, which requires `BACKUP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    #[default]
    Backup,
    Master,
}

/// Address scope of a VIP (`scope` in `virtual_ipaddress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

impl Scope {
    /// The rtnetlink `ifa_scope` value.
    pub fn rt_scope(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
        }
    }
}

/// One `virtual_ipaddress` entry: `ADDR[/PREFIX] [brd B] [dev D] [scope S] [label L]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualAddress {
    pub address: IpAddr,
    /// keepalived's default is /32 (IPv4) or /128 (IPv6) when none is given.
    pub prefix_len: u8,
    pub broadcast: Option<Ipv4Addr>,
    /// Defaults to the instance's interface.
    pub dev: Option<String>,
    pub scope: Scope,
    pub label: Option<String>,
}

impl VirtualAddress {
    /// A host address (`/32` or `/128`) with every option at its default.
    pub fn host(address: IpAddr) -> Self {
        VirtualAddress {
            address,
            prefix_len: if address.is_ipv4() { 32 } else { 128 },
            broadcast: None,
            dev: None,
            scope: Scope::Global,
            label: None,
        }
    }
}

/// A tracked item's weight (keepalived `weight N`): 0 means a failure puts
/// the instance in FAULT; positive adds to the priority while the item is
/// up, negative adds while it is down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub name: String,
    pub weight: i32,
}

/// `track_file`: the file holds an integer; `weight` multiplies it (default 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFile {
    pub path: PathBuf,
    pub weight: i32,
}

/// The notify hooks of an instance (each a command line run by `sh -c`-less argv split).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyConfig {
    pub master: Option<String>,
    pub backup: Option<String>,
    pub fault: Option<String>,
    pub stop: Option<String>,
    /// `notify`: called with `INSTANCE name STATE priority` appended.
    pub generic: Option<String>,
    pub fifo: Option<PathBuf>,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    pub name: String,
    pub vrid: u8,
    pub version: Version,
    pub family: Family,
    pub interface: String,
    /// Configured (base) priority, 1–255; default 100.
    pub priority: u8,
    /// Advertisement interval in centiseconds; default 1 s.
    pub advert_int_cs: u16,
    pub initial_state: InitialState,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    /// v2 `auth_type PASS` password (first 8 bytes used).
    pub auth_pass: Option<String>,
    pub unicast_src: Option<IpAddr>,
    pub unicast_peers: Vec<IpAddr>,
    pub check_unicast_src: bool,
    pub vips: Vec<VirtualAddress>,
    pub track_interfaces: Vec<Tracked>,
    pub track_scripts: Vec<Tracked>,
    /// The `vrrp_script` definitions named in `track_scripts`.
    pub scripts: Vec<ScriptConfig>,
    pub track_files: Vec<TrackedFile>,
    /// Delay before the second gratuitous burst after becoming master; default 5 s.
    pub garp_master_delay: Duration,
    /// Gratuitous frames per burst; default 5.
    pub garp_master_repeat: u32,
    /// Periodic gratuitous refresh while master; default off.
    pub garp_master_refresh: Option<Duration>,
    /// Frames per refresh; default 1.
    pub garp_master_refresh_repeat: u32,
    /// `use_vmac [NAME]`: the macvlan's name (keepalived's default `vrrp.VRID`).
    pub use_vmac: Option<String>,
    /// `accept` / `no_accept`; `None` = keepalived's default (accept unless strict).
    pub accept: Option<bool>,
    /// `vrrp_strict` (global_defs).
    pub strict: bool,
    pub notify: NotifyConfig,
    /// Name of the `vrrp_sync_group` this instance belongs to.
    pub sync_group: Option<String>,
}

impl InstanceConfig {
    /// An instance with keepalived's defaults for everything but what it must name.
    pub fn new(name: &str, vrid: u8, interface: &str) -> Self {
        InstanceConfig {
            name: name.to_string(),
            vrid,
            version: Version::V2,
            family: Family::Ipv4,
            interface: interface.to_string(),
            priority: 100,
            advert_int_cs: 100,
            initial_state: InitialState::Backup,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            auth_pass: None,
            unicast_src: None,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            vips: Vec::new(),
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            scripts: Vec::new(),
            track_files: Vec::new(),
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: None,
            garp_master_refresh_repeat: 1,
            use_vmac: None,
            accept: None,
            strict: false,
            notify: NotifyConfig::default(),
            sync_group: None,
        }
    }

    /// Whether traffic to the VIPs is accepted while master: `accept`, or
    /// keepalived's default, which is to accept unless `vrrp_strict`.
    pub fn accepts_vip_traffic(&self) -> bool {
        self.accept.unwrap_or(!self.strict)
    }

    /// Unicast mode: any `unicast_peer` configured.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// The advert interval as a duration.
    pub fn advert_interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_int_cs) * 10)
    }
}
