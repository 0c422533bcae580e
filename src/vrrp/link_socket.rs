//! An `AF_PACKET` socket for sending whole Ethernet frames (gratuitous ARP,
//! unsolicited NA) on one interface, as keepalived does.
//! Also the one place that registers sockets with tokio's reactor.
// unsafe: nix has no safe constructor for `sockaddr_ll` (LinkAddr), built
// here from a fully initialised libc struct; and tokio's AsyncFd::register
// is unsafe since tokio #8587 (the registered socket must own its fd).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::libc;
use nix::sys::socket::{
    sendto, socket, AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike,
};

/// A packet socket bound to nothing, sending to one interface index.
#[derive(Debug)]
pub struct LinkSocket {
    fd: OwnedFd,
    target: LinkAddr,
}

impl LinkSocket {
    /// Opens the socket for interface `ifindex` (needs CAP_NET_RAW).
    pub fn open(ifindex: u32) -> io::Result<Self> {
        // Protocol 0: send only, receive nothing.
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        let raw = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: 0,
            sll_ifindex: ifindex as i32,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 6,
            sll_addr: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `raw` is a valid, initialised sockaddr_ll of `len` bytes.
        let target = unsafe {
            LinkAddr::from_raw(std::ptr::addr_of!(raw).cast::<libc::sockaddr>(), Some(len))
        }
        .ok_or_else(|| io::Error::other("cannot build sockaddr_ll"))?;
        Ok(LinkSocket { fd, target })
    }

    /// Sends one complete Ethernet frame.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        sendto(self.fd.as_raw_fd(), frame, &self.target, MsgFlags::empty())?;
        Ok(())
    }
}

/// Registers a socket that `inner` owns with the tokio reactor.
pub fn register_async<T: AsRawFd>(inner: T) -> io::Result<tokio::io::unix::AsyncFd<T>> {
    // SAFETY (tokio #8587): `inner` owns its descriptor (socket2::Socket or
    // RouteSocket's OwnedFd), so it stays open exactly as long as the AsyncFd.
    unsafe { tokio::io::unix::AsyncFd::register(inner) }.map_err(|e| e.into())
}
