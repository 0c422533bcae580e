//! UDP_CHECK: sends `payload` and, with `require_reply`, wants a reply of
//! the right length matching the pattern. Without `require_reply` the check
//! passes unless an ICMP error (port or host unreachable) arrives before
//! `connect_timeout`, as in keepalived.

use super::{net, Deadline};
use crate::outcome::{Failure, Phase};
use crate::spec::{Endpoint, MaskedByte, UdpCheck};

/// Whether `reply` matches `pattern` up to the shorter of the two.
pub fn reply_matches(reply: &[u8], pattern: &[MaskedByte]) -> bool {
    reply
        .iter()
        .zip(pattern)
        .all(|(byte, p)| byte & p.mask == p.value & p.mask)
}

/// Judges a received reply.
pub fn judge_reply(check: &UdpCheck, reply: &[u8]) -> Result<(), Failure> {
    if !check.require_reply {
        return Ok(());
    }
    if reply.len() < check.min_reply_length || reply.len() > check.max_reply_length {
        return Err(Failure::UdpReplyLength(reply.len()));
    }
    if !reply_matches(reply, &check.reply_pattern) {
        return Err(Failure::UdpReplyMismatch);
    }
    Ok(())
}

pub(crate) async fn check(
    check: &UdpCheck,
    endpoint: &Endpoint,
    deadline: Deadline,
) -> Result<(), Failure> {
    let socket = deadline
        .step(Phase::Connect, net::udp_connect(endpoint))
        .await?;
    let payload = match &check.payload {
        Some(p) => p.clone(),
        // keepalived sends random data when no payload is configured.
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos().to_le_bytes()[..8].to_vec())
            .unwrap_or_else(|_| vec![0; 8]),
    };
    deadline.step(Phase::Request, socket.send(&payload)).await?;
    let mut buf = vec![0u8; check.max_reply_length.max(1) + 1];
    match deadline.step(Phase::Reply, socket.recv(&mut buf)).await {
        Ok(n) => judge_reply(check, &buf[..n]),
        Err(Failure::Timeout(_)) if !check.require_reply => Ok(()),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_hex_str;

    #[test]
    fn replies_are_judged_by_length_and_pattern() {
        let check = UdpCheck {
            require_reply: true,
            reply_pattern: parse_hex_str("ab xX", true).unwrap(),
            min_reply_length: 2,
            max_reply_length: 4,
            ..UdpCheck::default()
        };
        assert_eq!(judge_reply(&check, &[0xab, 0x01, 0x02]), Ok(()));
        assert_eq!(
            judge_reply(&check, &[0xab]),
            Err(Failure::UdpReplyLength(1))
        );
        assert_eq!(
            judge_reply(&check, &[0xab; 5]),
            Err(Failure::UdpReplyLength(5))
        );
        assert_eq!(
            judge_reply(&check, &[0xac, 0]),
            Err(Failure::UdpReplyMismatch)
        );
        assert_eq!(judge_reply(&UdpCheck::default(), &[]), Ok(()));
    }
}
