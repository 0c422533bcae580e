//! Pure codec: typed IPVS values ⇄ generic-netlink attribute payloads.
//!
//! Layout authority: `/usr/include/linux/ip_vs.h` (attribute numbers, widths) and
//! `/usr/include/linux/netlink.h` (nlattr TLV: u16 len incl. 4-byte header, u16 type,
//! payload padded to 4 bytes; `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER` in the top bits).
//! Kernel ip_vs_ctl.c puts addresses as the 16-byte `union nf_inet_addr`, ports in
//! network order, everything else in host order.

use crate::types::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Generic-netlink family name (ip_vs.h `IPVS_GENL_NAME`).
pub const GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
#[allow(missing_docs)]
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_*`.
#[allow(missing_docs)]
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// `IPVS_SVC_ATTR_*`.
#[allow(missing_docs)]
pub mod svc_attr {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// `IPVS_DEST_ATTR_*`.
#[allow(missing_docs)]
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// `IPVS_DAEMON_ATTR_*`.
#[allow(missing_docs)]
pub mod daemon_attr {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
    pub const SYNC_MAXLEN: u16 = 4;
    pub const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub const MCAST_PORT: u16 = 7;
    pub const MCAST_TTL: u16 = 8;
}

/// `IPVS_STATS_ATTR_*`.
#[allow(missing_docs)]
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
    pub const PAD: u16 = 11;
}

/// `IPVS_INFO_ATTR_*`.
#[allow(missing_docs)]
pub mod info_attr {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

/// netlink.h `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// netlink.h `NLA_F_NET_BYTEORDER`.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// netlink.h `NLA_TYPE_MASK`.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// A decoding failure (never a panic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An attribute header or length runs past the buffer.
    #[error("truncated attribute at offset {0}")]
    Truncated(usize),
    /// An attribute has the wrong payload size.
    #[error("attribute {attr} of {ctx} has {len} bytes, expected {expected}")]
    BadLength {
        /// Context (service, dest, …).
        ctx: &'static str,
        /// Attribute type.
        attr: u16,
        /// Actual length.
        len: usize,
        /// Expected description.
        expected: &'static str,
    },
    /// A required attribute is missing.
    #[error("{ctx} lacks attribute {attr}")]
    Missing {
        /// Context.
        ctx: &'static str,
        /// Attribute type.
        attr: u16,
    },
    /// A value is out of the known range.
    #[error("{ctx}: invalid value {value} for attribute {attr}")]
    BadValue {
        /// Context.
        ctx: &'static str,
        /// Attribute type.
        attr: u16,
        /// The value.
        value: u64,
    },
    /// Message header problems.
    #[error("bad message header: {0}")]
    Header(&'static str),
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends one attribute (header, payload, padding) to `buf`.
pub fn put_attr(buf: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    // nla_len is u16; callers never build payloads near 64 KiB (largest is a nested dest).
    let len = (4 + payload.len()).min(u16::MAX as usize) as u16;
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(align4(buf.len()), 0);
}

/// Appends a nested attribute whose payload is built by `f`, with `NLA_F_NESTED`
/// set in the type as libnl 3.7's nla_nest_start does (what ipvsadm 1.31 on Debian
/// 12 sends; observed by calling libnl-3.so.200 directly, see codec tests). The
/// kernel's ip_vs_ctl.c parses nests with nla_parse_nested_deprecated and accepts
/// both; its replies carry no flag (nla_nest_start_noflag).
pub fn put_nested(buf: &mut Vec<u8>, ty: u16, f: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    f(&mut inner);
    put_attr(buf, ty | NLA_F_NESTED, &inner);
}

/// The attributes of a payload, in order, borrowed from it: yields
/// `(type & NLA_TYPE_MASK, payload)`, or one [`DecodeError::Truncated`] and
/// then nothing when a header or length runs past the buffer. A tail shorter
/// than an attribute header is ignored (as the kernel's nla_for_each_attr).
/// Allocates nothing, so decoding a dump costs no heap per attribute.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    buf: &'a [u8],
    off: usize,
}

/// Iterates the attributes of `buf` (see [`Attrs`]).
pub fn attrs(buf: &[u8]) -> Attrs<'_> {
    Attrs { buf, off: 0 }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.off..)?;
        if rest.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let ty = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            let at = self.off;
            self.off = self.buf.len();
            return Some(Err(DecodeError::Truncated(at)));
        }
        self.off += align4(len).min(rest.len());
        Some(Ok((ty, &rest[4..len])))
    }
}

/// All attributes of a payload (see [`Attrs`]), collected.
pub fn parse_attrs(buf: &[u8]) -> Result<Vec<(u16, &[u8])>, DecodeError> {
    attrs(buf).collect()
}

fn get_u8(ctx: &'static str, attr: u16, p: &[u8]) -> Result<u8, DecodeError> {
    match p {
        [a] => Ok(*a),
        _ => Err(bad_len(ctx, attr, p, "1")),
    }
}
fn get_u16(ctx: &'static str, attr: u16, p: &[u8]) -> Result<u16, DecodeError> {
    <[u8; 2]>::try_from(p)
        .map(u16::from_ne_bytes)
        .map_err(|_| bad_len(ctx, attr, p, "2"))
}
fn get_be16(ctx: &'static str, attr: u16, p: &[u8]) -> Result<u16, DecodeError> {
    <[u8; 2]>::try_from(p)
        .map(u16::from_be_bytes)
        .map_err(|_| bad_len(ctx, attr, p, "2"))
}
fn get_u32(ctx: &'static str, attr: u16, p: &[u8]) -> Result<u32, DecodeError> {
    <[u8; 4]>::try_from(p)
        .map(u32::from_ne_bytes)
        .map_err(|_| bad_len(ctx, attr, p, "4"))
}
fn get_u64(ctx: &'static str, attr: u16, p: &[u8]) -> Result<u64, DecodeError> {
    <[u8; 8]>::try_from(p)
        .map(u64::from_ne_bytes)
        .map_err(|_| bad_len(ctx, attr, p, "8"))
}
fn bad_len(ctx: &'static str, attr: u16, p: &[u8], expected: &'static str) -> DecodeError {
    DecodeError::BadLength {
        ctx,
        attr,
        len: p.len(),
        expected,
    }
}
/// NUL-terminated (or not) string attribute; lossy on invalid UTF-8.
fn get_str(p: &[u8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
}
fn put_str(buf: &mut Vec<u8>, ty: u16, s: &str) {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    put_attr(buf, ty, &v);
}

/// `union nf_inet_addr` (16 bytes); v4 in the first 4. Also accepts a bare 4-byte v4.
fn get_addr(ctx: &'static str, attr: u16, af: Family, p: &[u8]) -> Result<IpAddr, DecodeError> {
    match (af, p.len()) {
        (Family::V4, 4 | 16) => Ok(IpAddr::V4(Ipv4Addr::new(p[0], p[1], p[2], p[3]))),
        (Family::V6, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(p);
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => Err(bad_len(ctx, attr, p, "16 (nf_inet_addr)")),
    }
}
fn addr_bytes(a: &IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => b.copy_from_slice(&v6.octets()),
    }
    b
}

/// Encodes the service key attributes (what identifies a service) into `buf`.
pub fn encode_service_key(buf: &mut Vec<u8>, key: &ServiceKey) {
    put_attr(buf, svc_attr::AF, &key.family().to_raw().to_ne_bytes());
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            put_attr(buf, svc_attr::PROTOCOL, &protocol.to_raw().to_ne_bytes());
            put_attr(buf, svc_attr::ADDR, &addr_bytes(addr));
            put_attr(buf, svc_attr::PORT, &port.to_be_bytes());
        }
        ServiceKey::Fwmark { mark, .. } => {
            put_attr(buf, svc_attr::FWMARK, &mark.to_ne_bytes());
        }
    }
}

fn netmask_bytes(family: Family, netmask: u32) -> [u8; 4] {
    // Kernel reads the attribute as __be32: a v4 mask is in network order; a v6
    // "netmask" is the prefix length as a plain integer (ip_vs_ctl.c checks 1..128).
    match family {
        Family::V4 => netmask.to_be_bytes(),
        Family::V6 => netmask.to_ne_bytes(),
    }
}

/// Encodes a full service (key + scheduler, flags, timeout, netmask, pe) as the
/// payload of `IPVS_CMD_ATTR_SERVICE`. The kernel requires sched_name, flags,
/// timeout and netmask together for NEW/SET (ip_vs_genl_parse_service, full_entry).
pub fn encode_service_body(buf: &mut Vec<u8>, svc: &Service) {
    encode_service_key(buf, &svc.key);
    put_str(buf, svc_attr::SCHED_NAME, &svc.scheduler);
    if let Some(pe) = &svc.pe_name {
        put_str(buf, svc_attr::PE_NAME, pe);
    }
    let mut flags = svc.flags.0 & !ServiceFlags::HASHED;
    if svc.persistence.is_some() {
        flags |= ServiceFlags::PERSISTENT;
    } else {
        flags &= !ServiceFlags::PERSISTENT;
    }
    // struct ip_vs_flags { __u32 flags; __u32 mask; }; mask = all bits, so the
    // kernel replaces the user-settable flags.
    let mut f = [0u8; 8];
    f[..4].copy_from_slice(&flags.to_ne_bytes());
    f[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    put_attr(buf, svc_attr::FLAGS, &f);
    let (timeout, netmask) = match svc.persistence {
        Some(p) => (p.timeout, p.netmask),
        None => (
            0,
            match svc.key.family() {
                Family::V4 => u32::MAX,
                Family::V6 => 128,
            },
        ),
    };
    put_attr(buf, svc_attr::TIMEOUT, &timeout.to_ne_bytes());
    put_attr(
        buf,
        svc_attr::NETMASK,
        &netmask_bytes(svc.key.family(), netmask),
    );
    for (ty, p) in &svc.unknown {
        put_attr(buf, *ty, p);
    }
}

fn decode_stats(p: &[u8], wide: bool) -> Result<Stats, DecodeError> {
    let ctx = "stats";
    let mut s = Stats::default();
    for a in attrs(p) {
        let (ty, v) = a?;
        let val = |narrow_u64: bool| -> Result<u64, DecodeError> {
            if wide || narrow_u64 {
                get_u64(ctx, ty, v)
            } else {
                get_u32(ctx, ty, v).map(u64::from)
            }
        };
        match ty {
            stats_attr::CONNS => s.conns = val(false)?,
            stats_attr::INPKTS => s.inpkts = val(false)?,
            stats_attr::OUTPKTS => s.outpkts = val(false)?,
            // Byte counters are u64 even in the 32-bit STATS (ip_vs_ctl.c ip_vs_genl_fill_stats).
            stats_attr::INBYTES => s.inbytes = val(true)?,
            stats_attr::OUTBYTES => s.outbytes = val(true)?,
            stats_attr::CPS => s.cps = val(false)?,
            stats_attr::INPPS => s.inpps = val(false)?,
            stats_attr::OUTPPS => s.outpps = val(false)?,
            stats_attr::INBPS => s.inbps = val(false)?,
            stats_attr::OUTBPS => s.outbps = val(false)?,
            _ => {}
        }
    }
    Ok(s)
}

/// STATS64 preferred, STATS as fallback (kernels before 4.1 lack STATS64);
/// only the one used is decoded (a dump carries both for every object).
fn decode_preferred_stats(
    stats64: Option<&[u8]>,
    stats32: Option<&[u8]>,
) -> Result<Option<Stats>, DecodeError> {
    match (stats64, stats32) {
        (Some(p), _) => decode_stats(p, true).map(Some),
        (None, Some(p)) => decode_stats(p, false).map(Some),
        (None, None) => Ok(None),
    }
}

/// Encodes stats (for tests and golden round-trips): STATS64 layout if `wide`.
pub fn encode_stats(buf: &mut Vec<u8>, s: &Stats, wide: bool) {
    let n = |buf: &mut Vec<u8>, ty: u16, v: u64, force64: bool| {
        if wide || force64 {
            put_attr(buf, ty, &v.to_ne_bytes());
        } else {
            put_attr(buf, ty, &(v as u32).to_ne_bytes());
        }
    };
    n(buf, stats_attr::CONNS, s.conns, false);
    n(buf, stats_attr::INPKTS, s.inpkts, false);
    n(buf, stats_attr::OUTPKTS, s.outpkts, false);
    n(buf, stats_attr::INBYTES, s.inbytes, true);
    n(buf, stats_attr::OUTBYTES, s.outbytes, true);
    n(buf, stats_attr::CPS, s.cps, false);
    n(buf, stats_attr::INPPS, s.inpps, false);
    n(buf, stats_attr::OUTPPS, s.outpps, false);
    n(buf, stats_attr::INBPS, s.inbps, false);
    n(buf, stats_attr::OUTBPS, s.outbps, false);
}

/// Decodes the payload of an `IPVS_CMD_ATTR_SERVICE` nest. One pass over the
/// attributes; where the kernel would never repeat one, the first counts for
/// the key and the last for everything else.
pub fn decode_service_body(p: &[u8]) -> Result<Service, DecodeError> {
    let ctx = "service";
    let (mut af, mut fwmark, mut proto, mut addr, mut port) = (None, None, None, None, None);
    let mut svc = Service::new(
        ServiceKey::Fwmark {
            family: Family::V4,
            mark: 0,
        },
        "",
    );
    let mut timeout = 0u32;
    let mut netmask = None;
    let mut stats32 = None;
    let mut stats64 = None;
    for a in attrs(p) {
        let (ty, v) = a?;
        match ty {
            svc_attr::AF => {
                af.get_or_insert(v);
            }
            svc_attr::PROTOCOL => {
                proto.get_or_insert(v);
            }
            svc_attr::ADDR => {
                addr.get_or_insert(v);
            }
            svc_attr::PORT => {
                port.get_or_insert(v);
            }
            svc_attr::FWMARK => {
                fwmark.get_or_insert(v);
            }
            svc_attr::SCHED_NAME => svc.scheduler = get_str(v),
            svc_attr::PE_NAME => svc.pe_name = Some(get_str(v)).filter(|s| !s.is_empty()),
            svc_attr::FLAGS => {
                if v.len() < 4 {
                    return Err(bad_len(ctx, ty, v, "8 (ip_vs_flags)"));
                }
                svc.flags = ServiceFlags(u32::from_ne_bytes([v[0], v[1], v[2], v[3]]));
            }
            svc_attr::TIMEOUT => timeout = get_u32(ctx, ty, v)?,
            svc_attr::NETMASK => {
                netmask = Some(<[u8; 4]>::try_from(v).map_err(|_| bad_len(ctx, ty, v, "4"))?)
            }
            svc_attr::STATS => stats32 = Some(v),
            svc_attr::STATS64 => stats64 = Some(v),
            _ => svc.unknown.push((ty, v.to_vec())),
        }
    }
    let missing = |attr| DecodeError::Missing { ctx, attr };
    let af_raw = get_u16(ctx, svc_attr::AF, af.ok_or(missing(svc_attr::AF))?)?;
    let family = Family::from_raw(af_raw).ok_or(DecodeError::BadValue {
        ctx,
        attr: svc_attr::AF,
        value: af_raw.into(),
    })?;
    let fwmark = match fwmark {
        Some(v) => get_u32(ctx, svc_attr::FWMARK, v)?,
        None => 0,
    };
    svc.key = if fwmark != 0 {
        ServiceKey::Fwmark {
            family,
            mark: fwmark,
        }
    } else {
        let proto_raw = get_u16(
            ctx,
            svc_attr::PROTOCOL,
            proto.ok_or(missing(svc_attr::PROTOCOL))?,
        )?;
        let protocol = Protocol::from_raw(proto_raw).ok_or(DecodeError::BadValue {
            ctx,
            attr: svc_attr::PROTOCOL,
            value: proto_raw.into(),
        })?;
        let addr = get_addr(
            ctx,
            svc_attr::ADDR,
            family,
            addr.ok_or(missing(svc_attr::ADDR))?,
        )?;
        let port = match port {
            Some(v) => get_be16(ctx, svc_attr::PORT, v)?,
            None => 0,
        };
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        }
    };
    svc.stats = decode_preferred_stats(stats64, stats32)?;
    if svc.flags.has(ServiceFlags::PERSISTENT) {
        svc.persistence = Some(Persistence {
            timeout,
            netmask: match (family, netmask) {
                (Family::V4, Some(b)) => u32::from_be_bytes(b),
                (Family::V6, Some(b)) => u32::from_ne_bytes(b),
                (Family::V4, None) => u32::MAX,
                (Family::V6, None) => 128,
            },
        });
    }
    Ok(svc)
}

/// Encodes a destination as the payload of `IPVS_CMD_ATTR_DEST` (NEW/SET: all of
/// addr, port, fwd_method, weight, thresholds are required by ip_vs_genl_parse_dest).
pub fn encode_dest_body(buf: &mut Vec<u8>, d: &Dest) {
    encode_dest_key(buf, &d.key);
    put_attr(buf, dest_attr::FWD_METHOD, &d.fwd.to_raw().to_ne_bytes());
    put_attr(buf, dest_attr::WEIGHT, &d.weight.to_ne_bytes());
    // libipvs (ipvs_nl_fill_dest_attr, 1.31) always sends the tunnel attributes,
    // zero for non-tunnel methods, between WEIGHT and U_THRESH; same order here.
    let (tun_type, port, flags) = match d.fwd {
        FwdMethod::Tunnel {
            tun_type,
            port,
            flags,
        } => (tun_type.to_raw(), port, flags),
        _ => (0, 0, 0),
    };
    put_attr(buf, dest_attr::TUN_TYPE, &[tun_type]);
    put_attr(buf, dest_attr::TUN_PORT, &port.to_be_bytes());
    put_attr(buf, dest_attr::TUN_FLAGS, &flags.to_ne_bytes());
    put_attr(buf, dest_attr::U_THRESH, &d.u_threshold.to_ne_bytes());
    put_attr(buf, dest_attr::L_THRESH, &d.l_threshold.to_ne_bytes());
    for (ty, p) in &d.unknown {
        put_attr(buf, *ty, p);
    }
}

/// Encodes only what identifies a destination (for DEL_DEST).
pub fn encode_dest_key(buf: &mut Vec<u8>, k: &DestKey) {
    put_attr(
        buf,
        dest_attr::ADDR_FAMILY,
        &Family::of(&k.addr).to_raw().to_ne_bytes(),
    );
    put_attr(buf, dest_attr::ADDR, &addr_bytes(&k.addr));
    put_attr(buf, dest_attr::PORT, &k.port.to_be_bytes());
}

/// Decodes the payload of an `IPVS_CMD_ATTR_DEST` nest. `svc_family` is used when
/// the kernel omits `ADDR_FAMILY` (kernels before 3.18).
pub fn decode_dest_body(p: &[u8], svc_family: Family) -> Result<Dest, DecodeError> {
    let ctx = "dest";
    let (mut family, mut addr) = (None, None);
    // Filled in below once the family is known.
    let mut d = Dest::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, FwdMethod::Masq);
    d.weight = 0;
    let mut fwd_raw = 0u32;
    let (mut tun_type, mut tun_port, mut tun_flags) = (0u8, 0u16, 0u16);
    let mut stats32 = None;
    let mut stats64 = None;
    for a in attrs(p) {
        let (ty, v) = a?;
        match ty {
            dest_attr::ADDR => {
                addr.get_or_insert(v);
            }
            dest_attr::ADDR_FAMILY => {
                family.get_or_insert(v);
            }
            dest_attr::PORT => d.key.port = get_be16(ctx, ty, v)?,
            dest_attr::FWD_METHOD => fwd_raw = get_u32(ctx, ty, v)?,
            dest_attr::WEIGHT => d.weight = get_u32(ctx, ty, v)? as i32,
            dest_attr::U_THRESH => d.u_threshold = get_u32(ctx, ty, v)?,
            dest_attr::L_THRESH => d.l_threshold = get_u32(ctx, ty, v)?,
            dest_attr::ACTIVE_CONNS => d.active_conns = get_u32(ctx, ty, v)?,
            dest_attr::INACT_CONNS => d.inact_conns = get_u32(ctx, ty, v)?,
            dest_attr::PERSIST_CONNS => d.persist_conns = get_u32(ctx, ty, v)?,
            dest_attr::STATS => stats32 = Some(v),
            dest_attr::STATS64 => stats64 = Some(v),
            dest_attr::TUN_TYPE => tun_type = get_u8(ctx, ty, v)?,
            dest_attr::TUN_PORT => tun_port = get_be16(ctx, ty, v)?,
            dest_attr::TUN_FLAGS => tun_flags = get_u16(ctx, ty, v)?,
            _ => d.unknown.push((ty, v.to_vec())),
        }
    }
    let family = match family {
        Some(v) => {
            let raw = get_u16(ctx, dest_attr::ADDR_FAMILY, v)?;
            Family::from_raw(raw).ok_or(DecodeError::BadValue {
                ctx,
                attr: dest_attr::ADDR_FAMILY,
                value: raw.into(),
            })?
        }
        None => svc_family,
    };
    d.key.addr = get_addr(
        ctx,
        dest_attr::ADDR,
        family,
        addr.ok_or(DecodeError::Missing {
            ctx,
            attr: dest_attr::ADDR,
        })?,
    )?;
    d.stats = decode_preferred_stats(stats64, stats32)?;
    // ip_vs.h IP_VS_CONN_F_FWD_MASK = 0x0007.
    d.fwd = match fwd_raw & 0x7 {
        0 => FwdMethod::Masq,
        1 => FwdMethod::Local,
        2 => FwdMethod::Tunnel {
            tun_type: TunnelType::from_raw(tun_type).ok_or(DecodeError::BadValue {
                ctx,
                attr: dest_attr::TUN_TYPE,
                value: tun_type.into(),
            })?,
            port: tun_port,
            flags: tun_flags,
        },
        3 => FwdMethod::Route,
        4 => FwdMethod::Bypass,
        other => {
            return Err(DecodeError::BadValue {
                ctx,
                attr: dest_attr::FWD_METHOD,
                value: other.into(),
            })
        }
    };
    Ok(d)
}

/// Encodes a sync daemon as the payload of `IPVS_CMD_ATTR_DAEMON`.
pub fn encode_daemon_body(buf: &mut Vec<u8>, d: &Daemon) {
    put_attr(buf, daemon_attr::STATE, &d.state.to_raw().to_ne_bytes());
    put_str(buf, daemon_attr::MCAST_IFN, &d.mcast_ifn);
    put_attr(buf, daemon_attr::SYNC_ID, &d.sync_id.to_ne_bytes());
    if let Some(m) = d.sync_maxlen {
        put_attr(buf, daemon_attr::SYNC_MAXLEN, &m.to_ne_bytes());
    }
    if let Some(p) = d.mcast_port {
        // ip_vs_ctl.c: c.mcast_port = nla_get_u16(a) (host order).
        put_attr(buf, daemon_attr::MCAST_PORT, &p.to_ne_bytes());
    }
    if let Some(t) = d.mcast_ttl {
        put_attr(buf, daemon_attr::MCAST_TTL, &[t]);
    }
    // The group comes last, as libipvs 1.31 sends it (golden vector
    // tests/vectors/start-daemon.nl).
    match d.mcast_group {
        // in_addr is network order; in6_addr likewise.
        Some(IpAddr::V4(a)) => put_attr(buf, daemon_attr::MCAST_GROUP, &a.octets()),
        Some(IpAddr::V6(a)) => put_attr(buf, daemon_attr::MCAST_GROUP6, &a.octets()),
        None => {}
    }
    for (ty, p) in &d.unknown {
        put_attr(buf, *ty, p);
    }
}

/// Decodes the payload of an `IPVS_CMD_ATTR_DAEMON` nest.
pub fn decode_daemon_body(p: &[u8]) -> Result<Daemon, DecodeError> {
    let ctx = "daemon";
    let mut d = Daemon {
        state: DaemonState::Master,
        mcast_ifn: String::new(),
        sync_id: 0,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
        unknown: Vec::new(),
    };
    let mut have_state = false;
    for a in attrs(p) {
        let (ty, v) = a?;
        match ty {
            daemon_attr::STATE => {
                have_state = true;
                d.state = match get_u32(ctx, ty, v)? {
                    1 => DaemonState::Master,
                    2 => DaemonState::Backup,
                    other => {
                        return Err(DecodeError::BadValue {
                            ctx,
                            attr: ty,
                            value: other.into(),
                        })
                    }
                }
            }
            daemon_attr::MCAST_IFN => d.mcast_ifn = get_str(v),
            daemon_attr::SYNC_ID => d.sync_id = get_u32(ctx, ty, v)?,
            daemon_attr::SYNC_MAXLEN => d.sync_maxlen = Some(get_u16(ctx, ty, v)?),
            daemon_attr::MCAST_GROUP => {
                let b = <[u8; 4]>::try_from(v).map_err(|_| bad_len(ctx, ty, v, "4"))?;
                let a = Ipv4Addr::from(b);
                if !a.is_unspecified() {
                    d.mcast_group = Some(IpAddr::V4(a));
                }
            }
            daemon_attr::MCAST_GROUP6 => {
                let b = <[u8; 16]>::try_from(v).map_err(|_| bad_len(ctx, ty, v, "16"))?;
                let a = Ipv6Addr::from(b);
                if !a.is_unspecified() {
                    d.mcast_group = Some(IpAddr::V6(a));
                }
            }
            daemon_attr::MCAST_PORT => d.mcast_port = Some(get_u16(ctx, ty, v)?),
            daemon_attr::MCAST_TTL => d.mcast_ttl = Some(get_u8(ctx, ty, v)?),
            _ => d.unknown.push((ty, v.to_vec())),
        }
    }
    if !have_state {
        return Err(DecodeError::Missing {
            ctx,
            attr: daemon_attr::STATE,
        });
    }
    Ok(d)
}

/// Decodes a `GET_INFO` reply payload (attributes after the genlmsghdr).
pub fn decode_info(p: &[u8]) -> Result<Info, DecodeError> {
    let mut i = Info::default();
    for a in attrs(p) {
        let (ty, v) = a?;
        match ty {
            info_attr::VERSION => i.version = get_u32("info", ty, v)?,
            info_attr::CONN_TAB_SIZE => i.conn_tab_size = get_u32("info", ty, v)?,
            _ => {}
        }
    }
    Ok(i)
}

/// Encodes an info payload (used for tests/golden round-trips).
pub fn encode_info(buf: &mut Vec<u8>, i: &Info) {
    put_attr(buf, info_attr::VERSION, &i.version.to_ne_bytes());
    put_attr(
        buf,
        info_attr::CONN_TAB_SIZE,
        &i.conn_tab_size.to_ne_bytes(),
    );
}

/// Encodes timeouts as top-level command attributes (SET_CONFIG / GET_CONFIG reply).
pub fn encode_timeouts(buf: &mut Vec<u8>, t: &Timeouts) {
    put_attr(buf, cmd_attr::TIMEOUT_TCP, &t.tcp.to_ne_bytes());
    put_attr(buf, cmd_attr::TIMEOUT_TCP_FIN, &t.tcp_fin.to_ne_bytes());
    put_attr(buf, cmd_attr::TIMEOUT_UDP, &t.udp.to_ne_bytes());
}

/// Decodes a `GET_CONFIG` reply payload.
pub fn decode_timeouts(p: &[u8]) -> Result<Timeouts, DecodeError> {
    let mut t = Timeouts::default();
    for a in attrs(p) {
        let (ty, v) = a?;
        match ty {
            cmd_attr::TIMEOUT_TCP => t.tcp = get_u32("timeouts", ty, v)?,
            cmd_attr::TIMEOUT_TCP_FIN => t.tcp_fin = get_u32("timeouts", ty, v)?,
            cmd_attr::TIMEOUT_UDP => t.udp = get_u32("timeouts", ty, v)?,
            _ => {}
        }
    }
    Ok(t)
}

/// Finds the first top-level attribute `ty` in a message payload.
pub fn find_attr(p: &[u8], ty: u16) -> Result<Option<&[u8]>, DecodeError> {
    for a in attrs(p) {
        let (t, v) = a?;
        if t == ty {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Decodes a `GET_SERVICE` dump/reply message payload (one `ATTR_SERVICE` nest).
pub fn decode_service_msg(p: &[u8]) -> Result<Service, DecodeError> {
    let nest = find_attr(p, cmd_attr::SERVICE)?.ok_or(DecodeError::Missing {
        ctx: "service message",
        attr: cmd_attr::SERVICE,
    })?;
    decode_service_body(nest)
}

/// Decodes a `GET_DEST` dump message payload (one `ATTR_DEST` nest).
pub fn decode_dest_msg(p: &[u8], svc_family: Family) -> Result<Dest, DecodeError> {
    let nest = find_attr(p, cmd_attr::DEST)?.ok_or(DecodeError::Missing {
        ctx: "dest message",
        attr: cmd_attr::DEST,
    })?;
    decode_dest_body(nest, svc_family)
}

/// Decodes a `GET_DAEMON` dump message payload.
pub fn decode_daemon_msg(p: &[u8]) -> Result<Daemon, DecodeError> {
    let nest = find_attr(p, cmd_attr::DAEMON)?.ok_or(DecodeError::Missing {
        ctx: "daemon message",
        attr: cmd_attr::DAEMON,
    })?;
    decode_daemon_body(nest)
}

/// Request payloads (attributes after the genlmsghdr) for each command.
pub mod request {
    use super::*;

    /// NEW_SERVICE / SET_SERVICE payload.
    pub fn service(svc: &Service) -> Vec<u8> {
        let mut b = Vec::new();
        put_nested(&mut b, cmd_attr::SERVICE, |n| encode_service_body(n, svc));
        b
    }
    /// DEL_SERVICE / GET_SERVICE (single) / ZERO (one service) / GET_DEST dump payload.
    pub fn service_key(key: &ServiceKey) -> Vec<u8> {
        let mut b = Vec::new();
        put_nested(&mut b, cmd_attr::SERVICE, |n| encode_service_key(n, key));
        b
    }
    /// NEW_DEST / SET_DEST payload.
    pub fn dest(svc: &ServiceKey, d: &Dest) -> Vec<u8> {
        let mut b = service_key(svc);
        put_nested(&mut b, cmd_attr::DEST, |n| encode_dest_body(n, d));
        b
    }
    /// DEL_DEST payload.
    pub fn dest_key(svc: &ServiceKey, d: &DestKey) -> Vec<u8> {
        let mut b = service_key(svc);
        put_nested(&mut b, cmd_attr::DEST, |n| encode_dest_key(n, d));
        b
    }
    /// NEW_DAEMON payload.
    pub fn daemon(d: &Daemon) -> Vec<u8> {
        let mut b = Vec::new();
        put_nested(&mut b, cmd_attr::DAEMON, |n| encode_daemon_body(n, d));
        b
    }
    /// DEL_DAEMON payload (ip_vs_genl_del_daemon reads the state).
    pub fn daemon_stop(state: DaemonState) -> Vec<u8> {
        let mut b = Vec::new();
        // The kernel reads only the state; an empty interface name and sync id
        // 0 follow as libipvs 1.31 sends them (tests/vectors/stop-daemon.nl).
        put_nested(&mut b, cmd_attr::DAEMON, |n| {
            put_attr(n, daemon_attr::STATE, &state.to_raw().to_ne_bytes());
            put_str(n, daemon_attr::MCAST_IFN, "");
            put_attr(n, daemon_attr::SYNC_ID, &0u32.to_ne_bytes());
        });
        b
    }
    /// SET_CONFIG payload.
    pub fn timeouts(t: &Timeouts) -> Vec<u8> {
        let mut b = Vec::new();
        encode_timeouts(&mut b, t);
        b
    }
}

/// netlink.h `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// netlink.h `NLM_F_MULTI`.
pub const NLM_F_MULTI: u16 = 0x2;
/// netlink.h `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// netlink.h `NLM_F_DUMP` (ROOT|MATCH).
pub const NLM_F_DUMP: u16 = 0x300;
/// netlink.h `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// netlink.h `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 3;

/// A whole generic netlink message: nlmsghdr + genlmsghdr + attribute
/// payload, the payload owned ([`GenlMessage`]) or borrowed from a receive
/// buffer ([`GenlRef`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Genl<P> {
    /// nlmsg_type (the resolved family id for IPVS messages).
    pub nl_type: u16,
    /// nlmsg_flags.
    pub flags: u16,
    /// nlmsg_seq.
    pub seq: u32,
    /// nlmsg_pid.
    pub pid: u32,
    /// genlmsghdr.cmd.
    pub cmd: u8,
    /// genlmsghdr.version.
    pub version: u8,
    /// Attributes after the genlmsghdr.
    pub payload: P,
}

/// A generic netlink message owning its payload.
pub type GenlMessage = Genl<Vec<u8>>;

/// A generic-netlink data message borrowed from a receive buffer (see
/// [`messages`]); [`GenlRef::to_owned`] gives the [`GenlMessage`].
pub type GenlRef<'a> = Genl<&'a [u8]>;

/// One netlink message from a receive buffer, with its generic-netlink
/// data message as `G`: owned ([`NlMessage`]) or borrowed from the buffer
/// ([`NlMessageRef`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Netlink<G> {
    /// A generic-netlink data message.
    Genl(G),
    /// NLMSG_ERROR: `errno` 0 is an ACK; negative values are kernel errors.
    Error {
        /// Sequence number of the reply.
        seq: u32,
        /// The (negative) error, 0 for ACK.
        errno: i32,
    },
    /// NLMSG_DONE closing a dump.
    Done {
        /// Sequence number.
        seq: u32,
    },
    /// Anything else (kept for diagnosis).
    Other {
        /// nlmsg_type.
        nl_type: u16,
        /// nlmsg_seq.
        seq: u32,
    },
}

/// One netlink message, owning its data.
pub type NlMessage = Netlink<GenlMessage>;

/// One netlink message borrowed from a receive buffer: [`NlMessage`] without
/// the copy of a data message's payload.
pub type NlMessageRef<'a> = Netlink<GenlRef<'a>>;

impl GenlMessage {
    /// Serialises nlmsghdr (16 bytes) + genlmsghdr (4 bytes) + payload.
    pub fn encode(&self) -> Vec<u8> {
        let len = 16 + 4 + self.payload.len();
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(&(len as u32).to_ne_bytes());
        b.extend_from_slice(&self.nl_type.to_ne_bytes());
        b.extend_from_slice(&self.flags.to_ne_bytes());
        b.extend_from_slice(&self.seq.to_ne_bytes());
        b.extend_from_slice(&self.pid.to_ne_bytes());
        b.push(self.cmd);
        b.push(self.version);
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&self.payload);
        b.resize(align4(b.len()), 0);
        b
    }
}

impl GenlRef<'_> {
    /// The owned message.
    pub fn to_owned(&self) -> GenlMessage {
        GenlMessage {
            nl_type: self.nl_type,
            flags: self.flags,
            seq: self.seq,
            pid: self.pid,
            cmd: self.cmd,
            version: self.version,
            payload: self.payload.to_vec(),
        }
    }
}

impl NlMessageRef<'_> {
    /// The owned message.
    pub fn to_owned(&self) -> NlMessage {
        match *self {
            Netlink::Genl(g) => Netlink::Genl(g.to_owned()),
            Netlink::Error { seq, errno } => Netlink::Error { seq, errno },
            Netlink::Done { seq } => Netlink::Done { seq },
            Netlink::Other { nl_type, seq } => Netlink::Other { nl_type, seq },
        }
    }
}

/// The netlink messages of a receive buffer, in order, borrowed from it;
/// after a malformed header it yields one error and then nothing.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    buf: &'a [u8],
}

/// Iterates the netlink messages of a receive buffer (see [`Messages`]).
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf }
}

impl<'a> Messages<'a> {
    fn parse(&mut self) -> Result<NlMessageRef<'a>, DecodeError> {
        let buf = self.buf;
        if buf.len() < 16 {
            return Err(DecodeError::Header("short nlmsghdr"));
        }
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            return Err(DecodeError::Header("nlmsg_len out of range"));
        }
        let nl_type = u16::from_ne_bytes([buf[4], buf[5]]);
        let flags = u16::from_ne_bytes([buf[6], buf[7]]);
        let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let pid = u32::from_ne_bytes([buf[12], buf[13], buf[14], buf[15]]);
        let body = &buf[16..len];
        let m = match nl_type {
            NLMSG_ERROR => {
                if body.len() < 4 {
                    return Err(DecodeError::Header("short nlmsgerr"));
                }
                NlMessageRef::Error {
                    seq,
                    errno: i32::from_ne_bytes([body[0], body[1], body[2], body[3]]),
                }
            }
            NLMSG_DONE => NlMessageRef::Done { seq },
            t if t >= 16 => {
                if body.len() < 4 {
                    return Err(DecodeError::Header("short genlmsghdr"));
                }
                NlMessageRef::Genl(GenlRef {
                    nl_type,
                    flags,
                    seq,
                    pid,
                    cmd: body[0],
                    version: body[1],
                    payload: &body[4..],
                })
            }
            _ => NlMessageRef::Other { nl_type, seq },
        };
        self.buf = &buf[align4(len).min(buf.len())..];
        Ok(m)
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NlMessageRef<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let m = self.parse();
        if m.is_err() {
            self.buf = &[];
        }
        Some(m)
    }
}

/// Splits a receive buffer into owned netlink messages (never panics).
pub fn decode_messages(buf: &[u8]) -> Result<Vec<NlMessage>, DecodeError> {
    messages(buf).map(|m| m.map(|m| m.to_owned())).collect()
}

#[cfg(test)]
mod tests;
