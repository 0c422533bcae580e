//! VRRP (RFC 3768 v2, RFC 5798 v3): packet codec, pure state machine, and I/O at the edge.
//!
//! - [`packet`]: advert codec (v2/v3, IPv4/IPv6, PASS, checksums).
//! - [`frames`]: gratuitous ARP and unsolicited NA frames.
//! - [`config`]: the instance configuration with keepalived's defaults.
//! - [`machine`]: the per-instance state machine, `(state, event, now) -> actions`.
//! - [`sync_group`]: `vrrp_sync_group` coordination across instances.

pub mod config;
pub mod frames;
pub mod machine;
pub mod packet;
pub mod sync_group;
