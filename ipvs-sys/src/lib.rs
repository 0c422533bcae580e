//! The IPVS generic-netlink interface: typed objects, a pure codec and a client over neli.
//!
//! Layers: [`types`] (typed services, destinations, stats, …), [`codec`] (pure
//! typed ⇄ netlink attribute bytes, per `/usr/include/linux/ip_vs.h`), [`error`]
//! (errno → errors naming the object), [`batch`] (operations → requests),
//! [`client`] (blocking transport over a neli socket, namespace-aware).

pub mod batch;
pub mod client;
pub mod codec;
pub mod error;
pub mod format;
pub mod json;
pub mod rules;
pub mod types;

pub use batch::{BatchError, Op};
pub use client::Client;
pub use error::Error;
pub use types::*;
