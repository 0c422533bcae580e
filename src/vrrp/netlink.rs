//! Route netlink (rtnetlink, `man 7 rtnetlink`) for the VRRP edge: adding
//! and removing VIPs with prefix, broadcast, label and scope, listing
//! addresses (leftover VIPs, primary address), and link up/down events
//! from the `RTMGRP_LINK` multicast group.
//!
//! The message codec is pure; [`RouteSocket`] is the thin blocking or
//! non-blocking socket around it (nix, no unsafe).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    bind, recv, send, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};

use super::config::VirtualAddress;

const NLMSG_HEADER_LEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_CREATE: u16 = 0x400;
const IFA_F_NODAD: u8 = 0x02;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_MACVLAN_MODE: u16 = 1;
/// macvlan `private` mode: the vMAC interface talks to no sibling.
const MACVLAN_MODE_PRIVATE: u32 = 1;
const NLA_F_NESTED: u16 = 0x8000;
const NLM_F_EXCL: u16 = 0x200;
const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;
/// `RTMGRP_LINK`: link change notifications.
pub const RTMGRP_LINK: u32 = 1;
/// `RTMGRP_IPV4_IFADDR` | `RTMGRP_IPV6_IFADDR`: address added/removed
/// notifications of both families (rtnetlink(7)).
pub const RTMGRP_IFADDR: u32 = 0x10 | 0x100;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// Errors of the netlink edge.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink socket: {0}")]
    Socket(#[from] nix::Error),
    #[error("kernel refused the request: {0}")]
    Kernel(nix::Error),
    #[error("malformed netlink message")]
    Malformed,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn push_attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align4(buf.len()), 0);
}

fn finish(mut buf: Vec<u8>) -> Vec<u8> {
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
    buf
}

fn header(kind: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf
}

fn address_bytes(address: IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Add (`add = true`) or delete a VIP on the interface with index `ifindex`,
/// as `ip addr add ADDR/PREFIX [brd B] [scope S] [label L] dev D` does.
pub fn address_request(add: bool, vip: &VirtualAddress, ifindex: u32, seq: u32) -> Vec<u8> {
    let (kind, flags) = if add {
        (
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
        )
    } else {
        (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK)
    };
    let mut buf = header(kind, flags, seq);
    buf.push(if vip.address.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    });
    buf.push(vip.prefix_len);
    // keepalived adds IPv6 VIPs with IFA_F_NODAD: usable at once.
    buf.push(if vip.address.is_ipv6() {
        IFA_F_NODAD
    } else {
        0
    });
    buf.push(vip.scope.rt_scope());
    buf.extend_from_slice(&ifindex.to_ne_bytes());
    let raw = address_bytes(vip.address);
    push_attr(&mut buf, IFA_LOCAL, &raw);
    push_attr(&mut buf, IFA_ADDRESS, &raw);
    if let Some(brd) = vip.broadcast {
        push_attr(&mut buf, IFA_BROADCAST, &brd.octets());
    }
    if let Some(label) = &vip.label {
        let mut name = label.as_bytes().to_vec();
        name.push(0);
        push_attr(&mut buf, IFA_LABEL, &name);
    }
    finish(buf)
}

/// A dump request for every address of the namespace.
pub fn address_dump_request(seq: u32) -> Vec<u8> {
    let mut buf = header(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
    buf.extend_from_slice(&[0u8; 8]);
    finish(buf)
}

/// Creates the `use_vmac` interface: a macvlan (private mode) named `name`
/// on `parent` with the virtual router MAC, brought up (RFC 5798 §7.3).
pub fn macvlan_request(name: &str, parent: u32, mac: [u8; 6], seq: u32) -> Vec<u8> {
    let mut buf = header(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
    );
    buf.extend_from_slice(&[0, 0, 0, 0]); // family, pad, type
    buf.extend_from_slice(&0i32.to_ne_bytes()); // index
    buf.extend_from_slice(&IFF_UP.to_ne_bytes()); // flags
    buf.extend_from_slice(&IFF_UP.to_ne_bytes()); // change
    let mut ifname = name.as_bytes().to_vec();
    ifname.push(0);
    push_attr(&mut buf, IFLA_IFNAME, &ifname);
    push_attr(&mut buf, IFLA_LINK, &parent.to_ne_bytes());
    push_attr(&mut buf, IFLA_ADDRESS, &mac);
    let mut data = Vec::new();
    push_attr(
        &mut data,
        IFLA_MACVLAN_MODE,
        &MACVLAN_MODE_PRIVATE.to_ne_bytes(),
    );
    let mut info = Vec::new();
    push_attr(&mut info, IFLA_INFO_KIND, b"macvlan\0");
    push_attr(&mut info, IFLA_INFO_DATA | NLA_F_NESTED, &data);
    push_attr(&mut buf, IFLA_LINKINFO | NLA_F_NESTED, &info);
    finish(buf)
}

/// Deletes the link with index `ifindex`.
pub fn delete_link_request(ifindex: u32, seq: u32) -> Vec<u8> {
    let mut buf = header(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    buf.extend_from_slice(&[0, 0, 0, 0]);
    buf.extend_from_slice(&ifindex.to_ne_bytes());
    buf.extend_from_slice(&[0u8; 8]);
    finish(buf)
}

/// A dump request for every link of the namespace.
pub fn link_dump_request(seq: u32) -> Vec<u8> {
    let mut buf = header(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
    buf.extend_from_slice(&[0u8; 16]);
    finish(buf)
}

/// One address from an `RTM_NEWADDR` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    pub ifindex: u32,
    pub address: IpAddr,
    pub prefix_len: u8,
    pub scope: u8,
    pub label: Option<String>,
}

/// A link state change from an `RTM_NEWLINK` / `RTM_DELLINK` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub ifindex: u32,
    pub name: String,
    /// Administratively up and running (carrier), keepalived's notion of up;
    /// a deleted link is down.
    pub up: bool,
    /// The hardware address (Ethernet links).
    pub mac: Option<[u8; 6]>,
}

/// A decoded netlink message of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMessage {
    Address(InterfaceAddress),
    /// `RTM_DELADDR`: the address was removed.
    AddressRemoved(InterfaceAddress),
    Link(LinkState),
    /// `NLMSG_ERROR`: 0 is an acknowledgement, otherwise a negative errno.
    Ack {
        seq: u32,
        errno: i32,
    },
    Done,
    Other,
}

fn attributes(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([data[0], data[1]]));
        let kind = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            return None;
        }
        let value = &data[4..len];
        data = &data[align4(len).min(data.len())..];
        Some((kind, value))
    })
}

fn parse_ip(family: u8, raw: &[u8]) -> Option<IpAddr> {
    match (family, raw.len()) {
        (AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
        (AF_INET6, 16) => {
            let octets: [u8; 16] = raw.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

fn c_string(raw: &[u8]) -> String {
    let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Splits a datagram into its messages and decodes them.
pub fn parse_messages(mut buf: &[u8]) -> Result<Vec<RouteMessage>, NetlinkError> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HEADER_LEN {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < NLMSG_HEADER_LEN || len > buf.len() {
            return Err(NetlinkError::Malformed);
        }
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let body = &buf[NLMSG_HEADER_LEN..len];
        out.push(match kind {
            NLMSG_ERROR if body.len() >= 4 => RouteMessage::Ack {
                seq,
                errno: i32::from_ne_bytes([body[0], body[1], body[2], body[3]]),
            },
            NLMSG_DONE => RouteMessage::Done,
            RTM_NEWADDR | RTM_DELADDR if body.len() >= 8 => {
                let family = body[0];
                let mut address = None;
                let mut local = None;
                let mut label = None;
                for (attr, value) in attributes(&body[8..]) {
                    match attr {
                        IFA_ADDRESS => address = parse_ip(family, value),
                        IFA_LOCAL => local = parse_ip(family, value),
                        IFA_LABEL => label = Some(c_string(value)),
                        _ => {}
                    }
                }
                match local.or(address) {
                    Some(address) => {
                        let entry = InterfaceAddress {
                            ifindex: u32::from_ne_bytes([body[4], body[5], body[6], body[7]]),
                            address,
                            prefix_len: body[1],
                            scope: body[3],
                            label,
                        };
                        if kind == RTM_NEWADDR {
                            RouteMessage::Address(entry)
                        } else {
                            RouteMessage::AddressRemoved(entry)
                        }
                    }
                    None => RouteMessage::Other,
                }
            }
            RTM_NEWLINK | RTM_DELLINK if body.len() >= 16 => {
                let ifindex = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
                let flags = u32::from_ne_bytes([body[8], body[9], body[10], body[11]]);
                let mut name = String::new();
                let mut mac = None;
                for (attr, value) in attributes(&body[16..]) {
                    match attr {
                        IFLA_IFNAME => name = c_string(value),
                        IFLA_ADDRESS => mac = value.try_into().ok(),
                        _ => {}
                    }
                }
                let running = flags & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING;
                RouteMessage::Link(LinkState {
                    ifindex,
                    name,
                    up: kind == RTM_NEWLINK && running,
                    mac,
                })
            }
            _ => RouteMessage::Other,
        });
        buf = &buf[align4(len).min(buf.len())..];
    }
    Ok(out)
}

/// A NETLINK_ROUTE socket of the current network namespace.
#[derive(Debug)]
pub struct RouteSocket {
    fd: OwnedFd,
    seq: u32,
}

impl RouteSocket {
    /// Opens a socket subscribed to `groups` (0 for requests only).
    pub fn open(groups: u32, nonblocking: bool) -> Result<Self, NetlinkError> {
        let mut flags = SockFlag::SOCK_CLOEXEC;
        if nonblocking {
            flags |= SockFlag::SOCK_NONBLOCK;
        }
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            flags,
            SockProtocol::NetlinkRoute,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
        Ok(RouteSocket { fd, seq: 1 })
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Receives one datagram and decodes it.
    pub fn receive(&self) -> Result<Vec<RouteMessage>, NetlinkError> {
        let mut buf = vec![0u8; 65536];
        let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
        parse_messages(&buf[..n])
    }

    /// Sends a request and waits for its acknowledgement (blocking socket).
    fn request(&mut self, build: impl FnOnce(u32) -> Vec<u8>) -> Result<(), NetlinkError> {
        let seq = self.next_seq();
        send(self.fd.as_raw_fd(), &build(seq), MsgFlags::empty())?;
        loop {
            for message in self.receive()? {
                if let RouteMessage::Ack { seq: s, errno } = message {
                    if s == seq {
                        return if errno == 0 {
                            Ok(())
                        } else {
                            Err(NetlinkError::Kernel(nix::Error::from_raw(-errno)))
                        };
                    }
                }
            }
        }
    }

    /// Adds a VIP (replacing an identical one).
    pub fn add_address(&mut self, vip: &VirtualAddress, ifindex: u32) -> Result<(), NetlinkError> {
        self.request(|seq| address_request(true, vip, ifindex, seq))
    }

    /// Removes a VIP; an address that is not there is not an error.
    pub fn delete_address(
        &mut self,
        vip: &VirtualAddress,
        ifindex: u32,
    ) -> Result<(), NetlinkError> {
        match self.request(|seq| address_request(false, vip, ifindex, seq)) {
            Err(NetlinkError::Kernel(nix::Error::EADDRNOTAVAIL)) => Ok(()),
            other => other,
        }
    }

    /// Creates the vMAC macvlan (see [`macvlan_request`]).
    pub fn add_macvlan(
        &mut self,
        name: &str,
        parent: u32,
        mac: [u8; 6],
    ) -> Result<(), NetlinkError> {
        self.request(|seq| macvlan_request(name, parent, mac, seq))
    }

    /// Deletes a link.
    pub fn delete_link(&mut self, ifindex: u32) -> Result<(), NetlinkError> {
        self.request(|seq| delete_link_request(ifindex, seq))
    }

    /// Every address of the namespace.
    pub fn addresses(&mut self) -> Result<Vec<InterfaceAddress>, NetlinkError> {
        let messages = self.dump(address_dump_request)?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                RouteMessage::Address(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> Result<Vec<LinkState>, NetlinkError> {
        let messages = self.dump(link_dump_request)?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                RouteMessage::Link(l) => Some(l),
                _ => None,
            })
            .collect())
    }

    fn dump(&mut self, build: fn(u32) -> Vec<u8>) -> Result<Vec<RouteMessage>, NetlinkError> {
        let seq = self.next_seq();
        send(self.fd.as_raw_fd(), &build(seq), MsgFlags::empty())?;
        let mut out = Vec::new();
        loop {
            for message in self.receive()? {
                match message {
                    RouteMessage::Address(_) | RouteMessage::Link(_) => out.push(message),
                    RouteMessage::Done => return Ok(out),
                    RouteMessage::Ack { errno, .. } if errno != 0 => {
                        return Err(NetlinkError::Kernel(nix::Error::from_raw(-errno)))
                    }
                    _ => {}
                }
            }
        }
    }
}

impl AsRawFd for RouteSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::config::Scope;

    #[test]
    fn address_request_carries_every_option() {
        let vip = VirtualAddress {
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
            prefix_len: 24,
            broadcast: Some(Ipv4Addr::new(10, 0, 0, 255)),
            dev: None,
            scope: Scope::Link,
            label: Some("eth1:1".into()),
        };
        let msg = address_request(true, &vip, 7, 9);
        assert_eq!(
            msg.len(),
            u32::from_ne_bytes(msg[0..4].try_into().unwrap()) as usize
        );
        assert_eq!(u16::from_ne_bytes([msg[4], msg[5]]), RTM_NEWADDR);
        assert_eq!(&msg[16..24], &[AF_INET, 24, 0, 253, 7, 0, 0, 0]);
        let attrs: Vec<(u16, Vec<u8>)> = attributes(&msg[24..])
            .map(|(k, v)| (k, v.to_vec()))
            .collect();
        assert_eq!(
            attrs,
            vec![
                (IFA_LOCAL, vec![10, 0, 0, 3]),
                (IFA_ADDRESS, vec![10, 0, 0, 3]),
                (IFA_BROADCAST, vec![10, 0, 0, 255]),
                (IFA_LABEL, b"eth1:1\0".to_vec()),
            ]
        );
    }

    #[test]
    fn added_and_removed_addresses_are_told_apart() {
        let vip = VirtualAddress {
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
            prefix_len: 24,
            broadcast: None,
            dev: None,
            scope: Scope::Global,
            label: None,
        };
        let expected = InterfaceAddress {
            ifindex: 7,
            address: vip.address,
            prefix_len: 24,
            scope: 0,
            label: None,
        };
        // The kernel's notifications have the layout of these requests.
        assert_eq!(
            parse_messages(&address_request(true, &vip, 7, 1)).unwrap(),
            vec![RouteMessage::Address(expected.clone())]
        );
        assert_eq!(
            parse_messages(&address_request(false, &vip, 7, 2)).unwrap(),
            vec![RouteMessage::AddressRemoved(expected)]
        );
    }

    #[test]
    fn malformed_lengths_are_errors() {
        let mut msg = address_dump_request(1);
        msg[0] = 200;
        assert!(parse_messages(&msg).is_err());
    }
}
