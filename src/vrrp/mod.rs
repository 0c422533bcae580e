//! VRRP (RFC 3768 v2, RFC 5798 v3): packet codec, pure state machine, and I/O at the edge.
//!
//! - [`packet`]: advert codec (v2/v3, IPv4/IPv6, PASS, checksums).
//! - [`frames`]: gratuitous ARP and unsolicited NA frames.
//! - [`config`]: the instance configuration with keepalived's defaults.
//! - [`machine`]: the per-instance state machine, `(state, event, now) -> actions`.
//! - [`sync_group`]: `vrrp_sync_group` coordination across instances.
//! - [`instance`]: the tokio edge of one instance (sockets, VIPs, GARP, notify).
//! - [`track`]: vrrp_script runner and track_file watcher.
//! - [`netlink`]: rtnetlink messages for VIPs and link events.

pub mod config;
pub mod frames;
pub mod instance;
pub mod link_socket;
pub mod machine;
pub mod netlink;
pub mod packet;
pub mod sync_group;
pub mod track;
