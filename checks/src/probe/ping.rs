//! PING_CHECK: one ICMP echo (RFC 792, RFC 4443 for IPv6). An unprivileged
//! ICMP datagram socket is used where `net.ipv4.ping_group_range` allows
//! it, a raw socket otherwise.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::{net, Deadline};
use crate::outcome::{Failure, Phase};
use crate::spec::Endpoint;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const IDENTIFIER: u16 = 0x6c76; // "lv"

/// The Internet checksum (RFC 1071).
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = match pair {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `sequence` and a small payload.
pub fn echo_request(v6: bool, sequence: u16) -> Vec<u8> {
    let mut packet = vec![if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 }, 0, 0, 0];
    packet.extend_from_slice(&IDENTIFIER.to_be_bytes());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(b"lvsd-ping-check!");
    if !v6 {
        // ICMPv6 checksums cover a pseudo-header and are filled in by the kernel.
        let sum = internet_checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// Whether `packet` (ICMP header first) is the reply to `sequence`.
pub fn is_echo_reply(packet: &[u8], v6: bool, sequence: u16) -> bool {
    let reply_type = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    packet.len() >= 8 && packet[0] == reply_type && packet[6..8] == sequence.to_be_bytes()
}

/// Opens an ICMP socket: datagram if permitted, else raw. Returns whether
/// it is raw (IPv4 raw sockets receive the IP header).
fn open(endpoint: &Endpoint) -> io::Result<(Socket, bool)> {
    let (domain, protocol) = if endpoint.target.is_ipv4() {
        (Domain::IPV4, Protocol::ICMPV4)
    } else {
        (Domain::IPV6, Protocol::ICMPV6)
    };
    match net::socket(domain, Type::DGRAM, protocol) {
        Ok(s) => Ok((s, false)),
        // EACCES: our group is outside net.ipv4.ping_group_range.
        Err(e)
            if [nix::errno::Errno::EACCES, nix::errno::Errno::EPERM]
                .map(|n| n as i32)
                .contains(&e.raw_os_error().unwrap_or(0)) =>
        {
            net::socket(domain, Type::RAW, protocol).map(|s| (s, true))
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn check(endpoint: &Endpoint, deadline: Deadline) -> Result<(), Failure> {
    let v6 = endpoint.target.is_ipv6();
    let mut no_port = endpoint.clone();
    no_port.target = SocketAddr::new(endpoint.target.ip(), 0);
    no_port.bind_port = None;
    let (socket, raw) = open(&no_port).map_err(|e| Failure::from_io(&e, Phase::Connect))?;
    net::configure(&socket, &no_port).map_err(|e| Failure::from_io(&e, Phase::Connect))?;
    let std_socket: std::net::UdpSocket = socket.into();
    let socket =
        UdpSocket::from_std(std_socket).map_err(|e| Failure::from_io(&e, Phase::Connect))?;
    deadline
        .step(Phase::Connect, socket.connect(no_port.target))
        .await?;
    // A sequence number per probe, so concurrent probes of one target each
    // recognise their own reply.
    static NEXT_SEQUENCE: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(1);
    let sequence = NEXT_SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    deadline
        .step(Phase::Request, socket.send(&echo_request(v6, sequence)))
        .await?;
    let mut buf = [0u8; 1500];
    loop {
        let n = deadline.step(Phase::Reply, socket.recv(&mut buf)).await?;
        let packet = &buf[..n];
        let icmp = if raw && !v6 {
            let header_len = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
            packet.get(header_len..).unwrap_or_default()
        } else {
            packet
        };
        if is_echo_reply(icmp, v6, sequence) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_has_a_valid_checksum() {
        let packet = echo_request(false, 7);
        assert_eq!(packet[0], 8);
        // A correct checksum makes the sum over the whole packet zero.
        assert_eq!(internet_checksum(&packet), 0);
        let mut reply = packet.clone();
        reply[0] = 0;
        assert!(is_echo_reply(&reply, false, 7));
        assert!(!is_echo_reply(&reply, false, 8));
        assert!(!is_echo_reply(&packet, false, 7));
    }
}
