//! Link-layer frames a new master sends to move the VIPs' neighbour
//! entries to itself: gratuitous ARP (IPv4) and unsolicited neighbour
//! advertisements (IPv6), built exactly as keepalived 2.2.7 builds them
//! (checked against captured frames).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::packet::{icmpv6_checksum, Ipv6Header};

/// An Ethernet MAC address.
pub type Mac = [u8; 6];

/// Ethernet broadcast.
pub const BROADCAST: Mac = [0xff; 6];
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERNET_HEADER_LEN: usize = 14;
/// All-nodes multicast, the destination of an unsolicited NA (RFC 4861 §7.2.6).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ICMPV6_NEIGHBOR_ADVERTISEMENT: u8 = 136;
const NA_FLAG_OVERRIDE: u32 = 0x2000_0000;
const OPTION_TARGET_LINK_LAYER_ADDRESS: u8 = 2;

/// The virtual router MAC for `use_vmac` (RFC 5798 §7.3): 00-00-5E-00-01-VRID
/// for IPv4, 00-00-5E-00-02-VRID for IPv6.
pub fn virtual_mac(vrid: u8, ipv6: bool) -> Mac {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// The Ethernet multicast MAC of an IPv4 group (RFC 1112 §6.4).
pub fn ipv4_multicast_mac(group: Ipv4Addr) -> Mac {
    let o = group.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// The Ethernet multicast MAC of an IPv6 group (RFC 2464 §7).
pub fn ipv6_multicast_mac(group: Ipv6Addr) -> Mac {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// An Ethernet II header.
pub fn ethernet_header(destination: Mac, source: Mac, ethertype: u16) -> [u8; ETHERNET_HEADER_LEN] {
    let mut h = [0u8; ETHERNET_HEADER_LEN];
    h[0..6].copy_from_slice(&destination);
    h[6..12].copy_from_slice(&source);
    h[12..14].copy_from_slice(&ethertype.to_be_bytes());
    h
}

/// A gratuitous ARP for `vip` owned by `mac`: an ARP *request* with sender
/// and target protocol address both the VIP and target hardware address
/// broadcast, to the broadcast MAC — keepalived's form (RFC 5227 §3 calls
/// this an ARP announcement). 42 bytes; the kernel does not pad packet-socket
/// frames on veth, and keepalived does not pad either.
pub fn gratuitous_arp(mac: Mac, vip: Ipv4Addr) -> Vec<u8> {
    let mut frame = ethernet_header(BROADCAST, mac, ETHERTYPE_ARP).to_vec();
    frame.extend_from_slice(&1u16.to_be_bytes()); // hardware type Ethernet
    frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    frame.push(6);
    frame.push(4);
    frame.extend_from_slice(&1u16.to_be_bytes()); // opcode request
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&vip.octets());
    frame.extend_from_slice(&BROADCAST);
    frame.extend_from_slice(&vip.octets());
    frame
}

/// An unsolicited neighbour advertisement for `vip` owned by `mac`
/// (RFC 4861 §7.2.6): from the VIP to all-nodes, hop limit 255, only the
/// Override flag (keepalived leaves Router and Solicited clear), with the
/// target link-layer address option.
pub fn unsolicited_na(mac: Mac, vip: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.push(ICMPV6_NEIGHBOR_ADVERTISEMENT);
    icmp.push(0);
    icmp.extend_from_slice(&[0, 0]);
    icmp.extend_from_slice(&NA_FLAG_OVERRIDE.to_be_bytes());
    icmp.extend_from_slice(&vip.octets());
    icmp.push(OPTION_TARGET_LINK_LAYER_ADDRESS);
    icmp.push(1); // length in units of 8 bytes
    icmp.extend_from_slice(&mac);
    let checksum = icmpv6_checksum(&icmp, vip, ALL_NODES);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());

    let header = Ipv6Header {
        traffic_class: 0,
        flow_label: 0,
        hop_limit: 255,
        source: vip,
        destination: ALL_NODES,
    };
    let mut frame = ethernet_header(ipv6_multicast_mac(ALL_NODES), mac, ETHERTYPE_IPV6).to_vec();
    frame.extend_from_slice(&header.encode(58, icmp.len()));
    frame.extend_from_slice(&icmp);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_macs() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(7, true), [0, 0, 0x5e, 0, 2, 7]);
        assert_eq!(
            ipv4_multicast_mac(Ipv4Addr::new(224, 0, 0, 18)),
            [1, 0, 0x5e, 0, 0, 0x12]
        );
    }
}
