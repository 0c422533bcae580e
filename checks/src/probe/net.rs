//! Checker sockets with keepalived's common options: `bindto`, `bind_port`,
//! `bind_if` (SO_BINDTODEVICE) and `fwmark` (SO_MARK), set through socket2
//! before the socket is handed to tokio.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpStream, UdpSocket};

use crate::spec::Endpoint;

fn domain_of(addr: &SocketAddr) -> Domain {
    if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    }
}

/// A new socket, non-blocking (and close-on-exec) from its creation:
/// SOCK_NONBLOCK saves the two fcntl calls per probe that setting it
/// afterwards costs.
pub(crate) fn socket(domain: Domain, ty: Type, protocol: Protocol) -> io::Result<Socket> {
    Socket::new(domain, ty.nonblocking(), Some(protocol))
}

/// Applies the source options of `endpoint` to a socket from [`socket`].
pub(crate) fn configure(socket: &Socket, endpoint: &Endpoint) -> io::Result<()> {
    if let Some(dev) = &endpoint.bind_if {
        socket.bind_device(Some(dev.as_bytes()))?;
    }
    if let Some(mark) = endpoint.fwmark {
        socket.set_mark(mark)?;
    }
    if endpoint.bind_addr.is_some() || endpoint.bind_port.is_some() {
        let ip = endpoint.bind_addr.unwrap_or(if endpoint.target.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        });
        if endpoint.bind_port.is_some() {
            // Several checks may share the source port towards different targets.
            socket.set_reuse_address(true)?;
        }
        socket.bind(&SockAddr::from(SocketAddr::new(
            ip,
            endpoint.bind_port.unwrap_or(0),
        )))?;
    }
    Ok(())
}

/// What a TCP connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpUse {
    /// TCP_CHECK: connect, then close; no data, so Nagle does not matter.
    ConnectOnly,
    /// Request/response exchanges (HTTP, TLS, SMTP): Nagle off, so a small
    /// write following another unacknowledged one is not held back.
    Exchange,
}

/// Connects a TCP socket to the endpoint's target.
pub(crate) async fn tcp_connect(endpoint: &Endpoint, usage: TcpUse) -> io::Result<TcpStream> {
    let socket = socket(domain_of(&endpoint.target), Type::STREAM, Protocol::TCP)?;
    configure(&socket, endpoint)?;
    let std_stream: std::net::TcpStream = socket.into();
    let socket = tokio::net::TcpSocket::from_std_stream(std_stream);
    let stream = socket.connect(endpoint.target).await?;
    if usage == TcpUse::Exchange {
        stream.set_nodelay(true)?;
    }
    Ok(stream)
}

/// A UDP socket connected to the endpoint's target, so ICMP errors are
/// reported on it (ECONNREFUSED for port unreachable).
pub(crate) async fn udp_connect(endpoint: &Endpoint) -> io::Result<UdpSocket> {
    let socket = socket(domain_of(&endpoint.target), Type::DGRAM, Protocol::UDP)?;
    configure(&socket, endpoint)?;
    let std_socket: std::net::UdpSocket = socket.into();
    let socket = UdpSocket::from_std(std_socket)?;
    socket.connect(endpoint.target).await?;
    Ok(socket)
}
