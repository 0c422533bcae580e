//! DNS_CHECK: one query over UDP (RFC 1035 section 4.1), up when the reply
//! to it carries rcode NOERROR.

use super::{net, Deadline};
use crate::outcome::{Failure, Phase};
use crate::spec::{DnsCheck, Endpoint};

/// Builds a query with recursion desired for `name` (`.` is the root) of
/// type `qtype`, class IN. Labels longer than 63 bytes are rejected.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, Failure> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    q.extend_from_slice(&[0; 6]); // AN, NS, AR counts
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| *l <= 63)
            .ok_or_else(|| Failure::Invalid(format!("DNS label too long: {label}")))?;
        q.push(len);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // IN
    Ok(q)
}

/// The rcode of a reply to query `id`; `None` if the datagram is not a
/// reply to it (to be ignored).
pub fn parse_reply_rcode(reply: &[u8], id: u16) -> Option<u8> {
    if reply.len() < 12 || reply[..2] != id.to_be_bytes() || reply[2] & 0x80 == 0 {
        return None;
    }
    Some(reply[3] & 0x0f)
}

pub(crate) async fn check(
    check: &DnsCheck,
    endpoint: &Endpoint,
    deadline: Deadline,
) -> Result<(), Failure> {
    let id = query_id();
    let query = build_query(id, &check.name, check.qtype.code())?;
    let socket = deadline
        .step(Phase::Connect, net::udp_connect(endpoint))
        .await?;
    deadline.step(Phase::Request, socket.send(&query)).await?;
    let mut buf = [0u8; 4096];
    loop {
        let n = deadline.step(Phase::Reply, socket.recv(&mut buf)).await?;
        match parse_reply_rcode(&buf[..n], id) {
            Some(0) => return Ok(()),
            Some(rcode) => return Err(Failure::DnsRcode(rcode)),
            None => continue,
        }
    }
}

/// A query id that differs between queries (RFC 5452 wants it unpredictable;
/// the clock's nanoseconds mixed with a counter are enough for a health check
/// that also matches the reply's source by connecting the socket).
fn query_id() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = nanos.wrapping_mul(0x9e37_79b9) ^ COUNTER.fetch_add(0x6d2b, Ordering::Relaxed);
    (mixed >> 16) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_wire_format() {
        let q = build_query(0x1234, "www.example.org", 1).unwrap();
        let mut expected = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(b"\x03www\x07example\x03org\x00\x00\x01\x00\x01");
        assert_eq!(q, expected);
        let root = build_query(1, ".", 6).unwrap();
        assert_eq!(&root[12..], b"\x00\x00\x06\x00\x01");
        assert!(build_query(1, &"a".repeat(64), 1).is_err());
    }

    #[test]
    fn reply_rcode() {
        let mut reply = vec![0x12, 0x34, 0x81, 0x82, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_reply_rcode(&reply, 0x1234), Some(2));
        assert_eq!(parse_reply_rcode(&reply, 0x1235), None);
        reply[2] = 0x01; // a query, not a reply
        assert_eq!(parse_reply_rcode(&reply, 0x1234), None);
    }
}
