//! The IPVS generic-netlink interface: typed objects, a pure codec and a client over neli.
//!
//! Layers: [`types`] (typed services, destinations, stats, …), [`codec`] (pure
//! typed ⇄ netlink attribute bytes, per `/usr/include/linux/ip_vs.h`), [`error`]
//! (errno → errors naming the object).

pub mod codec;
pub mod error;
pub mod types;

pub use error::Error;
pub use types::*;
