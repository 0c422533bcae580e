//! Test harness for lvsd.
//!
//! - [`netns`]: network namespaces, veth pairs, bridges and processes inside
//!   them, for host tests (VRRP, checkers) that must never touch the root
//!   namespace's interfaces.
//! - [`vm`]: boots Debian's IPVS-capable kernel under qemu and runs a host
//!   test binary inside it (the host kernels have no IPVS).

pub mod cpio;
pub mod netns;
pub mod vm;
