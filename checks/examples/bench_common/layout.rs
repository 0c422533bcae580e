//! Address layout shared by the benchmark's server and checker: target `i`
//! of `count` is 127.1.H.L:PORT with 100 ports per address.

use std::net::{Ipv4Addr, SocketAddr};

pub const PORTS_PER_ADDR: usize = 100;
pub const BASE_PORT: u16 = 20000;

pub fn target(i: usize) -> SocketAddr {
    let addr = i / PORTS_PER_ADDR + 1;
    let ip = Ipv4Addr::new(127, 1, (addr >> 8) as u8, (addr & 0xff) as u8);
    SocketAddr::from((ip, BASE_PORT + (i % PORTS_PER_ADDR) as u16))
}
