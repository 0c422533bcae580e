//! Plain specifications of health checks, independent of the configuration
//! parser. Defaults follow keepalived.conf(5) of keepalived 2.2.7.
//!
//! A [`CheckSpec`] is `Eq + Hash`: two real servers (possibly under different
//! virtual servers) whose checks have the same target and the same settings
//! share one running check (keepalived runs one per virtual server, its
//! issues #2358 and #2111).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// `connect_timeout` default: 5 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `delay_loop` default: 60 seconds.
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// `retry` default for most checkers: 1.
pub const DEFAULT_RETRY: u32 = 1;
/// `retry` default for DNS_CHECK: 3.
pub const DEFAULT_DNS_RETRY: u32 = 3;
/// `retry` default for MISC_CHECK: 0.
pub const DEFAULT_MISC_RETRY: u32 = 0;
/// `delay_before_retry` default for HTTP_GET and SSL_GET: 3 seconds.
pub const DEFAULT_HTTP_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(3);
/// `delay_before_retry` default for other checkers (DNS_CHECK uses `delay_loop`).
pub const DEFAULT_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(1);
/// DNS_CHECK `type` default: SOA.
pub const DEFAULT_DNS_TYPE: DnsType = DnsType::Soa;
/// DNS_CHECK `name` default: the root.
pub const DEFAULT_DNS_NAME: &str = ".";
/// UDP_CHECK `max_reply_length` default.
pub const DEFAULT_UDP_MAX_REPLY_LENGTH: usize = 255;
/// SMTP_CHECK port when the real server has none.
pub const DEFAULT_SMTP_PORT: u16 = 25;
/// DNS_CHECK port when the real server has none.
pub const DEFAULT_DNS_PORT: u16 = 53;
/// HTTP_GET status codes accepted when no `status_code` is given: 200-299.
pub const DEFAULT_STATUS_CODES: StatusRange = StatusRange {
    low: 200,
    high: 299,
};

/// One health check of one real server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckSpec {
    /// What to probe and how.
    pub kind: CheckKind,
    /// Where to connect from and to (unused by MISC_CHECK and FILE_CHECK).
    pub endpoint: Endpoint,
    /// When to probe and how failures count.
    pub timing: Timing,
}

/// The address and socket options of a network checker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The address probed: `connect_ip`/`connect_port`, defaulting to the
    /// real server's address and port.
    pub target: SocketAddr,
    /// `bindto`: source address.
    pub bind_addr: Option<IpAddr>,
    /// `bind_port`: source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: SO_BINDTODEVICE.
    pub bind_if: Option<String>,
    /// `fwmark`: SO_MARK on every checker packet.
    pub fwmark: Option<u32>,
}

impl Endpoint {
    /// An endpoint with no source options.
    pub fn to(target: SocketAddr) -> Endpoint {
        Endpoint {
            target,
            bind_addr: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
        }
    }
}

/// Timing and failure counting common to every checker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timing {
    /// `connect_timeout`: bounds the whole probe (connect, request and
    /// response), not only the connect; a trickling server fails at the
    /// deadline (unlike keepalived, its issue #1822).
    pub connect_timeout: Duration,
    /// `retry`: extra attempts before an up server is declared down.
    pub retry: u32,
    /// `delay_before_retry`: pause between those attempts.
    pub delay_before_retry: Duration,
    /// `delay_loop`: period of the checks.
    pub delay_loop: Duration,
    /// `warmup`: the first check runs after a random delay in `[0, warmup)`.
    pub warmup: Duration,
    /// `alpha`: the checker starts in the failed state.
    pub alpha: bool,
    /// `log_all_failures`: report every failed attempt, not only transitions.
    pub log_all_failures: bool,
}

impl Timing {
    /// keepalived's defaults for a checker of this family.
    pub fn defaults_for(family: CheckFamily) -> Timing {
        let (retry, delay_before_retry) = match family {
            CheckFamily::Http => (DEFAULT_RETRY, DEFAULT_HTTP_DELAY_BEFORE_RETRY),
            CheckFamily::Dns => (DEFAULT_DNS_RETRY, DEFAULT_DELAY_LOOP),
            CheckFamily::Misc => (DEFAULT_MISC_RETRY, DEFAULT_DELAY_BEFORE_RETRY),
            CheckFamily::Other => (DEFAULT_RETRY, DEFAULT_DELAY_BEFORE_RETRY),
        };
        Timing {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry,
            delay_before_retry,
            delay_loop: DEFAULT_DELAY_LOOP,
            // Enabled by default with the maximum at delay_loop.
            warmup: DEFAULT_DELAY_LOOP,
            alpha: false,
            log_all_failures: false,
        }
    }

    /// Sets `delay_loop`, and with it the defaults derived from it
    /// (`warmup`, and DNS_CHECK's `delay_before_retry`).
    pub fn with_delay_loop(mut self, family: CheckFamily, delay_loop: Duration) -> Timing {
        self.delay_loop = delay_loop;
        self.warmup = delay_loop;
        if family == CheckFamily::Dns {
            self.delay_before_retry = delay_loop;
        }
        self
    }
}

/// Checker families whose defaults differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckFamily {
    /// HTTP_GET and SSL_GET.
    Http,
    /// DNS_CHECK.
    Dns,
    /// MISC_CHECK.
    Misc,
    /// Every other checker.
    Other,
}

/// The checker and its own options. The options are boxed: a
/// configuration holds one specification per checker, and at 10,000
/// TCP_CHECKs (which have none) inline options would cost 80 bytes each.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// TCP_CHECK: connect, then close.
    Tcp,
    /// HTTP_GET, or SSL_GET when `tls` is set.
    Http(Box<HttpCheck>),
    /// MISC_CHECK.
    Misc(Box<MiscCheck>),
    /// SMTP_CHECK.
    Smtp(Box<SmtpCheck>),
    /// DNS_CHECK.
    Dns(Box<DnsCheck>),
    /// UDP_CHECK.
    Udp(Box<UdpCheck>),
    /// PING_CHECK.
    Ping,
    /// FILE_CHECK.
    File(Box<FileCheck>),
}

impl CheckKind {
    /// Which defaults apply.
    pub fn family(&self) -> CheckFamily {
        match self {
            CheckKind::Http(_) => CheckFamily::Http,
            CheckKind::Dns(_) => CheckFamily::Dns,
            CheckKind::Misc(_) => CheckFamily::Misc,
            _ => CheckFamily::Other,
        }
    }

    /// keepalived's configuration keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http(h) if h.tls.is_some() => "SSL_GET",
            CheckKind::Http(_) => "HTTP_GET",
            CheckKind::Misc(_) => "MISC_CHECK",
            CheckKind::Smtp(_) => "SMTP_CHECK",
            CheckKind::Dns(_) => "DNS_CHECK",
            CheckKind::Udp(_) => "UDP_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File(_) => "FILE_CHECK",
        }
    }
}

/// `http_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpProtocol {
    /// `1.0` (keepalived's default).
    #[default]
    Http10,
    /// `1.0C`: 1.0 with `Connection: close`.
    Http10Close,
    /// `1.1` (always with `Connection: close`).
    Http11,
}

/// An inclusive range of HTTP status codes (`200-299`, or `503` alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

impl StatusRange {
    /// A single code.
    pub const fn single(code: u16) -> StatusRange {
        StatusRange {
            low: code,
            high: code,
        }
    }

    pub fn contains(&self, code: u16) -> bool {
        (self.low..=self.high).contains(&code)
    }
}

/// One `url` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UrlCheck {
    /// `path`.
    pub path: String,
    /// `status_code`; empty means [`DEFAULT_STATUS_CODES`].
    pub status_codes: Vec<StatusRange>,
    /// `digest`: MD5 of the body, 16 bytes.
    pub digest: Option<[u8; 16]>,
    /// `virtualhost` of the url block (overrides the checker's).
    pub virtualhost: Option<String>,
}

impl UrlCheck {
    /// A url block with only a path.
    pub fn path(path: &str) -> UrlCheck {
        UrlCheck {
            path: path.to_string(),
            status_codes: Vec::new(),
            digest: None,
            virtualhost: None,
        }
    }

    /// Whether `code` is an expected status.
    pub fn accepts(&self, code: u16) -> bool {
        if self.status_codes.is_empty() {
            DEFAULT_STATUS_CODES.contains(code)
        } else {
            self.status_codes.iter().any(|r| r.contains(code))
        }
    }
}

/// TLS options of SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TlsOptions {
    /// `enable_sni`: send the virtual host as server name.
    pub enable_sni: bool,
    /// Verify the certificate against this CA bundle (PEM). `None`, as in
    /// keepalived, accepts any certificate.
    pub ca_file: Option<PathBuf>,
}

/// HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HttpCheck {
    /// `http_protocol`.
    pub protocol: HttpProtocol,
    /// `url` blocks; all must pass.
    pub urls: Vec<UrlCheck>,
    /// `virtualhost` of the checker (or of its real or virtual server).
    pub virtualhost: Option<String>,
    /// SSL_GET when set.
    pub tls: Option<TlsOptions>,
}

/// MISC_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MiscCheck {
    /// `misc_path`: program and arguments, split like a command line.
    pub command: String,
    /// `misc_timeout`; keepalived defaults it to `delay_loop`.
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit status 2–255 means up with weight status − 2.
    pub dynamic: bool,
    /// `user USERNAME [GROUPNAME]` (script_user); `None` runs as this process.
    pub user: Option<String>,
    /// Group of the user, when given.
    pub group: Option<String>,
}

/// SMTP_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmtpCheck {
    /// `helo_name`; keepalived defaults it to the local host name.
    pub helo_name: String,
}

/// DNS query types of DNS_CHECK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsType {
    A,
    Ns,
    Cname,
    Soa,
    Mx,
    Txt,
    Aaaa,
}

impl DnsType {
    /// The RR type code (RFC 1035 section 3.2.2, RFC 3596 for AAAA).
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
        }
    }

    /// Parses keepalived's `type` keyword (case-insensitive).
    pub fn parse(s: &str) -> Option<DnsType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "A" => DnsType::A,
            "NS" => DnsType::Ns,
            "CNAME" => DnsType::Cname,
            "SOA" => DnsType::Soa,
            "MX" => DnsType::Mx,
            "TXT" => DnsType::Txt,
            "AAAA" => DnsType::Aaaa,
            _ => return None,
        })
    }
}

/// DNS_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsCheck {
    /// `type`.
    pub qtype: DnsType,
    /// `name`.
    pub name: String,
}

impl Default for DnsCheck {
    fn default() -> DnsCheck {
        DnsCheck {
            qtype: DEFAULT_DNS_TYPE,
            name: DEFAULT_DNS_NAME.to_string(),
        }
    }
}

/// A byte of `require_reply`: some of its nibbles may be wildcards (`X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskedByte {
    pub value: u8,
    /// Bits that must match.
    pub mask: u8,
}

/// UDP_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdpCheck {
    /// `payload`; keepalived sends random bytes when absent.
    pub payload: Option<Vec<u8>>,
    /// `require_reply` given.
    pub require_reply: bool,
    /// The `require_reply` HEX_STR, compared up to the shorter length.
    pub reply_pattern: Vec<MaskedByte>,
    /// `min_reply_length` (default 0).
    pub min_reply_length: usize,
    /// `max_reply_length` (default 255).
    pub max_reply_length: usize,
}

impl Default for UdpCheck {
    fn default() -> UdpCheck {
        UdpCheck {
            payload: None,
            require_reply: false,
            reply_pattern: Vec::new(),
            min_reply_length: 0,
            max_reply_length: DEFAULT_UDP_MAX_REPLY_LENGTH,
        }
    }
}

/// FILE_CHECK over a `track_file`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileCheck {
    /// The file of the `track_file` block.
    pub path: PathBuf,
    /// `weight` multiplier (0 when not given).
    pub weight: i32,
    /// `weight … reverse`.
    pub reverse: bool,
    /// `dynamic`: the value adjusts the real server's weight.
    pub dynamic: bool,
}

/// Parses keepalived's free-form HEX_STR (`Ab12f 3 456` is AB 12 0F 03 45 06):
/// each whitespace-separated word is read two digits at a time, and an odd
/// last digit is a byte on its own. With `wildcards`, `x`/`X` is a nibble that
/// matches anything.
pub fn parse_hex_str(s: &str, wildcards: bool) -> Option<Vec<MaskedByte>> {
    let nibble = |c: char| -> Option<(u8, u8)> {
        if wildcards && (c == 'x' || c == 'X') {
            Some((0, 0))
        } else {
            c.to_digit(16).map(|d| (d as u8, 0xf))
        }
    };
    let mut out = Vec::new();
    for word in s.split_whitespace() {
        let digits: Vec<char> = word.chars().collect();
        for pair in digits.chunks(2) {
            let byte = match pair {
                [hi, lo] => {
                    let (hv, hm) = nibble(*hi)?;
                    let (lv, lm) = nibble(*lo)?;
                    MaskedByte {
                        value: (hv << 4) | lv,
                        mask: (hm << 4) | lm,
                    }
                }
                [only] => {
                    let (v, m) = nibble(*only)?;
                    MaskedByte { value: v, mask: m }
                }
                _ => return None,
            };
            out.push(byte);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn defaults_follow_keepalived_man_page() {
        let http = Timing::defaults_for(CheckFamily::Http);
        assert_eq!(http.connect_timeout, Duration::from_secs(5));
        assert_eq!(http.retry, 1);
        assert_eq!(http.delay_before_retry, Duration::from_secs(3));
        assert_eq!(http.delay_loop, Duration::from_secs(60));
        assert_eq!(http.warmup, http.delay_loop);
        let dns = Timing::defaults_for(CheckFamily::Dns)
            .with_delay_loop(CheckFamily::Dns, Duration::from_secs(7));
        assert_eq!(dns.retry, 3);
        assert_eq!(dns.delay_before_retry, Duration::from_secs(7));
        assert_eq!(Timing::defaults_for(CheckFamily::Misc).retry, 0);
        assert_eq!(
            Timing::defaults_for(CheckFamily::Other).delay_before_retry,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn identical_specs_deduplicate() {
        let target: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let spec = |port: u16| CheckSpec {
            kind: CheckKind::Tcp,
            endpoint: Endpoint::to(SocketAddr::new(target.ip(), port)),
            timing: Timing::defaults_for(CheckFamily::Other),
        };
        let set: HashSet<CheckSpec> = [spec(80), spec(80), spec(81)].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn status_ranges() {
        let mut url = UrlCheck::path("/");
        assert!(url.accepts(204) && !url.accepts(301));
        url.status_codes = vec![
            StatusRange::single(503),
            StatusRange {
                low: 400,
                high: 404,
            },
        ];
        assert!(url.accepts(503) && url.accepts(402) && !url.accepts(200));
    }

    #[test]
    fn hex_str_as_in_man_page() {
        let bytes = parse_hex_str("Ab12f 3 456 546443123", false).unwrap();
        let values: Vec<u8> = bytes.iter().map(|b| b.value).collect();
        assert_eq!(
            values,
            [0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]
        );
        let masked = parse_hex_str("aX", true).unwrap();
        assert_eq!(
            masked,
            [MaskedByte {
                value: 0xa0,
                mask: 0xf0
            }]
        );
        assert!(parse_hex_str("zz", false).is_none());
    }
}
