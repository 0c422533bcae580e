//! The result of one probe and the reasons a probe fails.

use std::fmt;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server passed; `dynamic_weight` is the weight a `misc_dynamic`
    /// MISC_CHECK or a dynamic FILE_CHECK asked for.
    Pass { dynamic_weight: Option<i32> },
    /// The server failed, for this reason.
    Fail(Failure),
}

impl Outcome {
    /// A plain pass.
    pub const PASS: Outcome = Outcome::Pass {
        dynamic_weight: None,
    };

    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass { .. })
    }

    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Fail(f) => Some(f),
            Outcome::Pass { .. } => None,
        }
    }
}

/// The step of a probe that ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Connect,
    TlsHandshake,
    Request,
    Headers,
    Body,
    Banner,
    Reply,
    Script,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::TlsHandshake => "TLS handshake",
            Phase::Request => "request",
            Phase::Headers => "response headers",
            Phase::Body => "response body",
            Phase::Banner => "banner",
            Phase::Reply => "reply",
            Phase::Script => "script",
        })
    }
}

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The connection was refused (TCP RST, or ICMP port unreachable for UDP).
    #[error("connection refused")]
    Refused,
    /// `connect_timeout` (or `misc_timeout`) expired during this phase.
    #[error("timeout during {0}")]
    Timeout(Phase),
    /// The network or host is unreachable.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The connection was reset or closed early.
    #[error("connection closed during {0}")]
    Closed(Phase),
    /// Another socket error.
    #[error("socket error: {0}")]
    Io(String),
    /// HTTP status not in `status_code`.
    #[error("status {code} for {path}")]
    Status { path: String, code: u16 },
    /// The MD5 of the body differs from `digest`.
    #[error("digest mismatch for {path}: got {got}")]
    DigestMismatch { path: String, got: String },
    /// The HTTP response could not be parsed.
    #[error("malformed HTTP response: {0}")]
    MalformedHttp(String),
    /// The TLS handshake failed.
    #[error("TLS handshake error: {0}")]
    Tls(String),
    /// The script exited with a failure status.
    #[error("script exit {0}")]
    ScriptExit(i32),
    /// The script was killed by a signal.
    #[error("script killed by signal {0}")]
    ScriptSignal(i32),
    /// The script could not be started.
    #[error("script not started: {0}")]
    ScriptSpawn(String),
    /// An SMTP reply other than the one expected.
    #[error("SMTP {stage}: reply {reply:?}")]
    Smtp { stage: &'static str, reply: String },
    /// DNS reply with an rcode other than NOERROR.
    #[error("DNS rcode {}", rcode_name(*.0))]
    DnsRcode(u8),
    /// A DNS reply that does not answer our query.
    #[error("malformed DNS reply: {0}")]
    DnsMalformed(String),
    /// UDP_CHECK with require_reply: reply length out of bounds.
    #[error("UDP reply length {0} out of bounds")]
    UdpReplyLength(usize),
    /// UDP_CHECK with require_reply: reply differs from the pattern.
    #[error("UDP reply does not match")]
    UdpReplyMismatch,
    /// The track file says down.
    #[error("track file value {0}")]
    FileValue(i64),
    /// The track file cannot be read or parsed.
    #[error("track file unreadable: {0}")]
    FileUnreadable(String),
    /// A configuration that cannot be probed (e.g. unknown user).
    #[error("invalid check: {0}")]
    Invalid(String),
}

/// RFC 1035 section 4.1.1 and RFC 6895 names of response codes.
pub fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => n.to_string(),
    }
}

impl Failure {
    /// Classifies a socket error seen during `phase`.
    pub fn from_io(error: &std::io::Error, phase: Phase) -> Failure {
        use std::io::ErrorKind;
        match error.kind() {
            ErrorKind::ConnectionRefused => Failure::Refused,
            ErrorKind::TimedOut => Failure::Timeout(phase),
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof => Failure::Closed(phase),
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                Failure::Unreachable(error.to_string())
            }
            _ => Failure::Io(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_like_a_log_line() {
        assert_eq!(
            Failure::Status {
                path: "/".into(),
                code: 503
            }
            .to_string(),
            "status 503 for /"
        );
        assert_eq!(Failure::DnsRcode(2).to_string(), "DNS rcode SERVFAIL");
        assert_eq!(
            Failure::Timeout(Phase::Body).to_string(),
            "timeout during response body"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Failure::from_io(&refused, Phase::Connect), Failure::Refused);
    }
}
