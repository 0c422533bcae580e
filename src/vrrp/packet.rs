//! VRRP advertisement codec: RFC 3768 (v2) and RFC 5798 (v3), plus the
//! IPv4 / IPv6 headers around it, as keepalived 2.2.7 sends them.
//!
//! Pure: bytes in, structs out, and back. The I/O edge hands raw-socket
//! payloads here and filters on the typed errors.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP (RFC 3768 §5.2.4, RFC 5798 §5.1.1.3).
pub const IPPROTO_VRRP: u8 = 112;
/// The only TTL / hop limit a VRRP packet may carry (RFC 5798 §5.1.1.3 / §5.1.2.3).
pub const VRRP_TTL: u8 = 255;
/// IPv4 multicast group of VRRP.
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP.
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// IP TOS / traffic class keepalived sets on adverts (internetwork control).
pub const VRRP_TOS: u8 = 0xc0;
/// Advertisement type, the only one defined (RFC 3768 §5.3.2).
const TYPE_ADVERTISEMENT: u8 = 1;
/// v2 authentication data length (RFC 3768 §5.3.10).
const AUTH_DATA_LEN: usize = 8;
/// Fixed VRRP header length (both versions).
const VRRP_HEADER_LEN: usize = 8;
const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;

/// Protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768, IPv4 only, interval in seconds, authentication field.
    V2,
    /// RFC 5798, IPv4 or IPv6, interval in centiseconds, pseudo-header checksum.
    V3,
}

impl Version {
    fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// v2 authentication (RFC 3768 §5.3.6; AH, type 2, is obsolete and unsupported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Type 0.
    None,
    /// Type 1: a clear-text password, the first 8 bytes NUL padded.
    Pass([u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// A PASS authentication from a configured password; like keepalived,
    /// only the first 8 bytes are used.
    pub fn pass(password: &str) -> Self {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (slot, byte) in data.iter_mut().zip(password.bytes()) {
            *slot = byte;
        }
        Auth::Pass(data)
    }

    fn type_code(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
        }
    }

    fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::Pass(data) => *data,
        }
    }
}

/// Address family of an advert's address list (v3 carries one family only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

/// One VRRP advertisement, independent of the IP header that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    /// 0 = the master resigns, 255 = the address owner.
    pub priority: u8,
    /// Advertisement interval in centiseconds. v2 carries whole seconds
    /// (8 bits), v3 12 bits of centiseconds.
    pub interval_cs: u16,
    /// v2 only; v3 has no authentication (RFC 5798 §9) and decodes as `Auth::None`.
    pub auth: Auth,
    /// The virtual addresses, all of one family.
    pub addresses: Vec<IpAddr>,
}

/// Why a VRRP packet was rejected; each is counted by the receiver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("packet truncated: {needed} bytes needed, {got} present")]
    Truncated { needed: usize, got: usize },
    #[error("not an IPv{expected} packet (version nibble {got})")]
    IpVersion { expected: u8, got: u8 },
    #[error("IP protocol {0} is not VRRP")]
    NotVrrp(u8),
    #[error("bad IPv4 header checksum")]
    IpChecksum,
    #[error("TTL / hop limit {0}, must be 255")]
    Ttl(u8),
    #[error("unsupported VRRP version {0}")]
    VrrpVersion(u8),
    #[error("unknown VRRP packet type {0}")]
    PacketType(u8),
    #[error("{count} addresses do not fit a {len}-byte VRRP message")]
    AddressCount { count: u8, len: usize },
    #[error("VRRP checksum mismatch: carried {carried:#06x}, computed {computed:#06x}")]
    Checksum { carried: u16, computed: u16 },
    #[error("unsupported v2 authentication type {0}")]
    AuthType(u8),
    #[error("VRRPv2 is IPv4 only")]
    V2OverIpv6,
}

/// The IP addresses a checksum is computed for: the packet's source and
/// destination. For unicast keepalived (since 1.3.6) puts the peer's
/// address, i.e. the real destination, in the v3 IPv4 pseudo-header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    pub source: IpAddr,
    pub destination: IpAddr,
}

/// One's-complement sum of 16-bit big-endian words (RFC 1071), not yet folded.
fn sum_words(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for word in &mut chunks {
        sum += u32::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Internet checksum of `data` (RFC 1071).
pub fn internet_checksum(data: &[u8]) -> u16 {
    fold(sum_words(data, 0))
}

/// Sum of the pseudo-header for an upper-layer message of `length` bytes
/// (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6).
fn pseudo_header_sum(endpoints: Endpoints, protocol: u8, length: usize) -> u32 {
    let mut sum = 0;
    for address in [endpoints.source, endpoints.destination] {
        sum = match address {
            IpAddr::V4(a) => sum_words(&a.octets(), sum),
            IpAddr::V6(a) => sum_words(&a.octets(), sum),
        };
    }
    // length fits 16 bits for anything that fits one frame; for IPv6 it is a
    // 32-bit field whose upper half is then zero.
    sum + u32::from(protocol) + (length as u32 & 0xffff) + ((length as u32) >> 16)
}

/// The checksum a VRRP message must carry. v2: over the message alone
/// (RFC 3768 §5.3.8); v3: with the IP pseudo-header (RFC 5798 §5.2.8).
/// `message` must have its checksum field zeroed.
fn vrrp_checksum(version: Version, message: &[u8], endpoints: Endpoints) -> u16 {
    match version {
        Version::V2 => internet_checksum(message),
        Version::V3 => fold(sum_words(
            message,
            pseudo_header_sum(endpoints, IPPROTO_VRRP, message.len()),
        )),
    }
}

/// ICMPv6 checksum over `message` (checksum field zeroed) with its pseudo-header.
pub(crate) fn icmpv6_checksum(message: &[u8], source: Ipv6Addr, destination: Ipv6Addr) -> u16 {
    let endpoints = Endpoints {
        source: IpAddr::V6(source),
        destination: IpAddr::V6(destination),
    };
    fold(sum_words(
        message,
        pseudo_header_sum(endpoints, 58, message.len()),
    ))
}

fn need(bytes: &[u8], needed: usize) -> Result<(), DecodeError> {
    if bytes.len() < needed {
        Err(DecodeError::Truncated {
            needed,
            got: bytes.len(),
        })
    } else {
        Ok(())
    }
}

impl Advert {
    /// Address family of the advert (IPv4 when it lists no address).
    pub fn family(&self) -> Family {
        match self.addresses.first() {
            Some(IpAddr::V6(_)) => Family::Ipv6,
            _ => Family::Ipv4,
        }
    }

    /// Decodes a VRRP message (the IP payload). `family` is that of the
    /// carrying IP packet; `endpoints` its addresses, for the v3 checksum.
    /// Trailing bytes beyond the address list and auth data are ignored, as
    /// keepalived does (RFC 5798 §7.1 only requires the length to suffice).
    pub fn decode(bytes: &[u8], family: Family, endpoints: Endpoints) -> Result<Self, DecodeError> {
        need(bytes, VRRP_HEADER_LEN)?;
        let version = match bytes[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            other => return Err(DecodeError::VrrpVersion(other)),
        };
        let packet_type = bytes[0] & 0x0f;
        if packet_type != TYPE_ADVERTISEMENT {
            return Err(DecodeError::PacketType(packet_type));
        }
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let vrid = bytes[1];
        let priority = bytes[2];
        let count = bytes[3];
        let trailer = match version {
            Version::V2 => AUTH_DATA_LEN,
            Version::V3 => 0,
        };
        let length = VRRP_HEADER_LEN + usize::from(count) * family.address_len() + trailer;
        if bytes.len() < length {
            return Err(DecodeError::AddressCount {
                count,
                len: bytes.len(),
            });
        }
        let message = &bytes[..length];
        let carried = u16::from_be_bytes([message[6], message[7]]);
        let mut zeroed = message.to_vec();
        zeroed[6] = 0;
        zeroed[7] = 0;
        let computed = vrrp_checksum(version, &zeroed, endpoints);
        if carried != computed {
            return Err(DecodeError::Checksum { carried, computed });
        }
        let (auth, interval_cs) = match version {
            Version::V2 => {
                let auth = match message[4] {
                    0 => Auth::None,
                    1 => {
                        let mut data = [0u8; AUTH_DATA_LEN];
                        data.copy_from_slice(&message[length - AUTH_DATA_LEN..]);
                        Auth::Pass(data)
                    }
                    other => return Err(DecodeError::AuthType(other)),
                };
                (auth, u16::from(message[5]) * 100)
            }
            // The upper 4 bits are reserved and ignored on receipt (RFC 5798 §5.2.4).
            Version::V3 => (
                Auth::None,
                u16::from_be_bytes([message[4], message[5]]) & 0x0fff,
            ),
        };
        let addresses = message[VRRP_HEADER_LEN..length - trailer]
            .chunks_exact(family.address_len())
            .map(|raw| match family {
                Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
                Family::Ipv6 => {
                    let mut octets = [0u8; 16];
                    octets.copy_from_slice(raw);
                    IpAddr::V6(Ipv6Addr::from(octets))
                }
            })
            .collect();
        Ok(Advert {
            version,
            vrid,
            priority,
            interval_cs,
            auth,
            addresses,
        })
    }

    /// Encodes the VRRP message, checksum included. Addresses of the other
    /// family than the first are skipped; a count above 255 is truncated to 255.
    pub fn encode(&self, endpoints: Endpoints) -> Vec<u8> {
        let family = self.family();
        let addresses: Vec<&IpAddr> = self
            .addresses
            .iter()
            .filter(|a| {
                matches!(
                    (a, family),
                    (IpAddr::V4(_), Family::Ipv4) | (IpAddr::V6(_), Family::Ipv6)
                )
            })
            .take(255)
            .collect();
        let mut out = Vec::with_capacity(VRRP_HEADER_LEN + addresses.len() * 16 + AUTH_DATA_LEN);
        out.push(self.version.number() << 4 | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(addresses.len() as u8);
        match self.version {
            Version::V2 => {
                out.push(self.auth.type_code());
                out.push(u8::try_from(self.interval_cs / 100).unwrap_or(u8::MAX));
            }
            Version::V3 => out.extend_from_slice(&(self.interval_cs & 0x0fff).to_be_bytes()),
        }
        out.extend_from_slice(&[0, 0]);
        for address in addresses {
            match address {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth.data());
        }
        let checksum = vrrp_checksum(self.version, &out, endpoints);
        out[6..8].copy_from_slice(&checksum.to_be_bytes());
        out
    }
}

/// The IPv4 header fields of a received or sent VRRP packet that are not
/// implied (RFC 791). Options are not kept: keepalived sends none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    pub tos: u8,
    pub identification: u16,
    /// Flags and fragment offset (keepalived: 0, no DF).
    pub flags_fragment: u16,
    pub ttl: u8,
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
}

impl Ipv4Header {
    /// The header keepalived puts on its adverts (TOS 0xc0, TTL 255, no DF).
    pub fn vrrp(source: Ipv4Addr, destination: Ipv4Addr, identification: u16) -> Self {
        Ipv4Header {
            tos: VRRP_TOS,
            identification,
            flags_fragment: 0,
            ttl: VRRP_TTL,
            source,
            destination,
        }
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            source: IpAddr::V4(self.source),
            destination: IpAddr::V4(self.destination),
        }
    }

    /// Serialises the header for a payload of `payload_len` bytes of `protocol`.
    pub fn encode(&self, protocol: u8, payload_len: usize) -> [u8; IPV4_HEADER_LEN] {
        let mut h = [0u8; IPV4_HEADER_LEN];
        h[0] = 0x45;
        h[1] = self.tos;
        let total = u16::try_from(IPV4_HEADER_LEN + payload_len).unwrap_or(u16::MAX);
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&self.identification.to_be_bytes());
        h[6..8].copy_from_slice(&self.flags_fragment.to_be_bytes());
        h[8] = self.ttl;
        h[9] = protocol;
        h[12..16].copy_from_slice(&self.source.octets());
        h[16..20].copy_from_slice(&self.destination.octets());
        let checksum = internet_checksum(&h);
        h[10..12].copy_from_slice(&checksum.to_be_bytes());
        h
    }
}

/// Decodes a whole IPv4 VRRP packet, as a raw IPv4 socket receives it.
/// Checks the IP header, the protocol, TTL 255 and the VRRP message.
pub fn decode_ipv4(bytes: &[u8]) -> Result<(Ipv4Header, Advert), DecodeError> {
    need(bytes, IPV4_HEADER_LEN)?;
    if bytes[0] >> 4 != 4 {
        return Err(DecodeError::IpVersion {
            expected: 4,
            got: bytes[0] >> 4,
        });
    }
    let header_len = usize::from(bytes[0] & 0x0f) * 4;
    need(bytes, header_len.max(IPV4_HEADER_LEN))?;
    if internet_checksum(&bytes[..header_len]) != 0 {
        return Err(DecodeError::IpChecksum);
    }
    let total_len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    need(bytes, total_len)?;
    let protocol = bytes[9];
    if protocol != IPPROTO_VRRP {
        return Err(DecodeError::NotVrrp(protocol));
    }
    let header = Ipv4Header {
        tos: bytes[1],
        identification: u16::from_be_bytes([bytes[4], bytes[5]]),
        flags_fragment: u16::from_be_bytes([bytes[6], bytes[7]]),
        ttl: bytes[8],
        source: Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]),
        destination: Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]),
    };
    // RFC 3768 §7.1 / RFC 5798 §7.1: TTL must be 255.
    if header.ttl != VRRP_TTL {
        return Err(DecodeError::Ttl(header.ttl));
    }
    let payload = &bytes[header_len..total_len.max(header_len)];
    let advert = Advert::decode(payload, Family::Ipv4, header.endpoints())?;
    Ok((header, advert))
}

/// Encodes a whole IPv4 VRRP packet (header + message).
pub fn encode_ipv4(header: &Ipv4Header, advert: &Advert) -> Vec<u8> {
    let message = advert.encode(header.endpoints());
    let mut out = header.encode(IPPROTO_VRRP, message.len()).to_vec();
    out.extend_from_slice(&message);
    out
}

/// The IPv6 header fields of a VRRP packet (RFC 8200). A raw IPv6 socket
/// delivers only the payload; the hop limit then comes from a control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    pub traffic_class: u8,
    pub flow_label: u32,
    pub hop_limit: u8,
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
}

impl Ipv6Header {
    fn endpoints(&self) -> Endpoints {
        Endpoints {
            source: IpAddr::V6(self.source),
            destination: IpAddr::V6(self.destination),
        }
    }

    /// Serialises the header for a payload of `payload_len` bytes of `next_header`.
    pub fn encode(&self, next_header: u8, payload_len: usize) -> [u8; IPV6_HEADER_LEN] {
        let mut h = [0u8; IPV6_HEADER_LEN];
        let first =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0xf_ffff);
        h[0..4].copy_from_slice(&first.to_be_bytes());
        let len = u16::try_from(payload_len).unwrap_or(u16::MAX);
        h[4..6].copy_from_slice(&len.to_be_bytes());
        h[6] = next_header;
        h[7] = self.hop_limit;
        h[8..24].copy_from_slice(&self.source.octets());
        h[24..40].copy_from_slice(&self.destination.octets());
        h
    }
}

/// Decodes a whole IPv6 VRRP packet (no extension headers, as VRRP sends).
pub fn decode_ipv6(bytes: &[u8]) -> Result<(Ipv6Header, Advert), DecodeError> {
    need(bytes, IPV6_HEADER_LEN)?;
    if bytes[0] >> 4 != 6 {
        return Err(DecodeError::IpVersion {
            expected: 6,
            got: bytes[0] >> 4,
        });
    }
    let first = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let payload_len = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
    need(bytes, IPV6_HEADER_LEN + payload_len)?;
    if bytes[6] != IPPROTO_VRRP {
        return Err(DecodeError::NotVrrp(bytes[6]));
    }
    let mut source = [0u8; 16];
    source.copy_from_slice(&bytes[8..24]);
    let mut destination = [0u8; 16];
    destination.copy_from_slice(&bytes[24..40]);
    let header = Ipv6Header {
        traffic_class: ((first >> 20) & 0xff) as u8,
        flow_label: first & 0xf_ffff,
        hop_limit: bytes[7],
        source: Ipv6Addr::from(source),
        destination: Ipv6Addr::from(destination),
    };
    if header.hop_limit != VRRP_TTL {
        return Err(DecodeError::Ttl(header.hop_limit));
    }
    let payload = &bytes[IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len];
    let advert = Advert::decode(payload, Family::Ipv6, header.endpoints())?;
    Ok((header, advert))
}

/// Encodes a whole IPv6 VRRP packet (header + message).
pub fn encode_ipv6(header: &Ipv6Header, advert: &Advert) -> Vec<u8> {
    let message = advert.encode(header.endpoints());
    let mut out = header.encode(IPPROTO_VRRP, message.len()).to_vec();
    out.extend_from_slice(&message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    fn endpoints() -> Endpoints {
        Endpoints {
            source: v4([192, 168, 77, 1]),
            destination: v4([224, 0, 0, 18]),
        }
    }

    fn sample(version: Version) -> Advert {
        Advert {
            version,
            vrid: 51,
            priority: 150,
            interval_cs: 100,
            auth: if version == Version::V2 {
                Auth::pass("s3cr3t")
            } else {
                Auth::None
            },
            addresses: vec![v4([192, 168, 77, 100])],
        }
    }

    #[test]
    fn round_trip_both_versions() {
        for version in [Version::V2, Version::V3] {
            let advert = sample(version);
            let bytes = advert.encode(endpoints());
            assert_eq!(
                Advert::decode(&bytes, Family::Ipv4, endpoints()),
                Ok(advert)
            );
        }
    }

    #[test]
    fn v3_checksum_depends_on_destination_v2_does_not() {
        let unicast = Endpoints {
            destination: v4([192, 168, 77, 2]),
            ..endpoints()
        };
        let v3 = sample(Version::V3).encode(endpoints());
        assert!(matches!(
            Advert::decode(&v3, Family::Ipv4, unicast),
            Err(DecodeError::Checksum { .. })
        ));
        let v2 = sample(Version::V2).encode(endpoints());
        assert!(Advert::decode(&v2, Family::Ipv4, unicast).is_ok());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = sample(Version::V2).encode(endpoints());
        for len in 0..bytes.len() {
            assert!(
                Advert::decode(&bytes[..len], Family::Ipv4, endpoints()).is_err(),
                "len {len}"
            );
        }
        let packet = encode_ipv4(
            &Ipv4Header::vrrp(Ipv4Addr::new(192, 168, 77, 1), VRRP_GROUP_V4, 7),
            &sample(Version::V3),
        );
        for len in 0..packet.len() {
            assert!(decode_ipv4(&packet[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn typed_errors() {
        let mut bytes = sample(Version::V2).encode(endpoints());
        bytes[0] = 0x41;
        assert_eq!(
            Advert::decode(&bytes, Family::Ipv4, endpoints()),
            Err(DecodeError::VrrpVersion(4))
        );
        bytes[0] = 0x22;
        assert_eq!(
            Advert::decode(&bytes, Family::Ipv4, endpoints()),
            Err(DecodeError::PacketType(2))
        );
        let mut header = Ipv4Header::vrrp(Ipv4Addr::new(192, 168, 77, 1), VRRP_GROUP_V4, 1);
        header.ttl = 64;
        let packet = encode_ipv4(&header, &sample(Version::V2));
        assert_eq!(decode_ipv4(&packet), Err(DecodeError::Ttl(64)));
    }

    #[test]
    fn pass_uses_the_first_eight_bytes() {
        assert_eq!(Auth::pass("0123456789"), Auth::Pass(*b"01234567"));
        assert_eq!(Auth::pass("ab"), Auth::Pass(*b"ab\0\0\0\0\0\0"));
    }
}
