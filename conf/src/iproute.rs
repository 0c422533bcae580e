//! `static_routes` / `virtual_routes` and `static_rules` / `virtual_rules` lines:
//! the typed form, the reader (words of one line → [`Route`] / [`Rule`]) and the
//! writer ([`std::fmt::Display`], keepalived syntax).
//!
//! The grammar is keepalived 2.2.7's (keepalived.conf(5) "Static routes/addresses/rules"
//! and the `alloc_route` / `alloc_rule` readers, checked against `keepalived -t`), which
//! follows `ip route add` / `ip rule add` without their abbreviations. Where keepalived
//! drops a line (bad address, unknown word, mixed families, …) lvsd reports an error at
//! the offending word and drops it too; the rest of the configuration still loads.
//!
//! Consistency checks that concern the whole line ([`Route::problems`],
//! [`Rule::problems`]) work on the model, so that the TOML form gets them as well.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::diag::{Diagnostic, Severity};
use crate::lexer::Token;
use crate::model::IpPrefix;

/// Serializes a type as its [`fmt::Display`] text and reads it back with [`FromStr`].
macro_rules! serde_as_text {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

/// Address family, written `inet` / `inet6`. keepalived: a route or rule with no
/// address and no family keyword is IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    fn of(addr: &IpAddr) -> Family {
        if addr.is_ipv6() {
            Family::Inet6
        } else {
            Family::Inet
        }
    }

    fn word(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        }
    }
}

/// A route destination or rule selector: a prefix, or `default` / `all` / `any`
/// (every address of the line's family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Prefix(IpPrefix),
    Default,
    All,
    Any,
}

/// Only so that a route can be built field by field; a route always has a destination.
impl Default for Target {
    fn default() -> Self {
        Target::Default
    }
}

impl Target {
    fn family(&self) -> Option<Family> {
        match self {
            Target::Prefix(p) => Some(Family::of(&p.addr)),
            _ => None,
        }
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(Target::Default),
            "all" => Ok(Target::All),
            "any" => Ok(Target::Any),
            _ => s.parse().map(Target::Prefix),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Prefix(p) => p.fmt(f),
            Target::Default => f.write_str("default"),
            Target::All => f.write_str("all"),
            Target::Any => f.write_str("any"),
        }
    }
}

/// A value iproute2 takes as a number or as a name from its tables
/// (`/etc/iproute2/rt_tables`, `rt_protos`, `rt_scopes`, `rt_realms`, `group`, protocols).
/// Numbers may be written in hex (`0x14`), as `strtoul(…, 0)` reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum NumOrName {
    Num(u32),
    Name(String),
}

/// A number, or text read like the keepalived.conf word (so a name is checked).
impl<'de> Deserialize<'de> for NumOrName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(NumOrName::Num(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// `strtoul(…, 0)` without octal: decimal, or hex after `0x`.
fn parse_u32(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

impl FromStr for NumOrName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(n) = parse_u32(s) {
            return Ok(NumOrName::Num(n));
        }
        let mut chars = s.chars();
        let name_like = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if name_like {
            Ok(NumOrName::Name(s.to_string()))
        } else {
            Err(format!("`{s}` is neither a number nor a name"))
        }
    }
}

impl fmt::Display for NumOrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumOrName::Num(n) => n.fmt(f),
            NumOrName::Name(s) => f.write_str(s),
        }
    }
}

/// `realms [FROM/]TO`: routing realms, each a number or a name from `rt_realms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realms {
    pub from: Option<NumOrName>,
    pub to: NumOrName,
}

impl FromStr for Realms {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a realm or FROM/TO realms");
        let realm = |t: &str| match t.parse::<NumOrName>() {
            Ok(NumOrName::Num(n)) if n > u32::from(u16::MAX) => Err(bad()),
            Ok(r) => Ok(r),
            Err(_) => Err(bad()),
        };
        match s.split_once('/') {
            Some((from, to)) => Ok(Realms {
                from: Some(realm(from)?),
                to: realm(to)?,
            }),
            None => Ok(Realms {
                from: None,
                to: realm(s)?,
            }),
        }
    }
}

impl fmt::Display for Realms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.from {
            Some(from) => write!(f, "{from}/{}", self.to),
            None => self.to.fmt(f),
        }
    }
}

/// An inclusive range `START-END` (`uidrange`, `sport`, `dport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range<T> {
    pub start: T,
    pub end: T,
}

impl<T: FromStr + PartialOrd + Copy> FromStr for Range<T> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a range START-END");
        let (start, end) = s.split_once('-').ok_or_else(bad)?;
        let start: T = start.parse().map_err(|_| bad())?;
        let end: T = end.parse().map_err(|_| bad())?;
        if start > end {
            return Err(format!("`{s}`: the range ends before it starts"));
        }
        Ok(Range { start, end })
    }
}

impl<T: fmt::Display> fmt::Display for Range<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// An `rtt` / `rttvar` / `rto_min` time: a number, raw (kernel units) or with a
/// unit (`s`, `sec`, `secs`, `ms`, `msec`, `msecs`), as iproute2's `get_time_rtt` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RttTime(String);

impl FromStr for RttTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (number, unit) = s.split_at(digits);
        let unit_ok = matches!(unit, "" | "s" | "sec" | "secs" | "ms" | "msec" | "msecs");
        if number.parse::<u32>().is_ok() && unit_ok {
            Ok(RttTime(s.to_string()))
        } else {
            Err(format!("`{s}` is not a time (N, Ns or Nms)"))
        }
    }
}

impl fmt::Display for RttTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

serde_as_text!(Target, Realms, Range<u16>, Range<u32>, RttTime);

/// Route types (`ip route add TYPE PREFIX`); keepalived's default is unicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Nat,
    Xresolve,
}

const ROUTE_TYPES: &[(&str, RouteType)] = &[
    ("unicast", RouteType::Unicast),
    ("local", RouteType::Local),
    ("broadcast", RouteType::Broadcast),
    ("anycast", RouteType::Anycast),
    ("multicast", RouteType::Multicast),
    ("blackhole", RouteType::Blackhole),
    ("unreachable", RouteType::Unreachable),
    ("prohibit", RouteType::Prohibit),
    ("throw", RouteType::Throw),
    ("nat", RouteType::Nat),
    ("xresolve", RouteType::Xresolve),
];

fn route_type_word(t: RouteType) -> &'static str {
    ROUTE_TYPES
        .iter()
        .find(|(_, rt)| *rt == t)
        .map_or("unicast", |(w, _)| w)
}

/// Rule actions other than `table`, `goto`, `nop` and `l3mdev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleType {
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One `nexthop` of a multipath route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nexthop {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// 1..=256 (`ip route`: the kernel stores weight − 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub onlink: bool,
    /// IPv4 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realms: Option<Realms>,
}

/// The route metrics (`ip route … mtu N advmss N …`), each optionally `lock`ed.
pub const ROUTE_METRICS: &[&str] = &[
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "congctl",
];

/// One `static_routes` / `virtual_routes` line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `inet` / `inet6`, kept only when no address of the line gives the family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub route_type: Option<RouteType>,
    /// The destination (`[to] PREFIX`); required.
    pub to: Target,
    /// Preferred source address (`src`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// Source prefix (`from`, IPv6 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<IpPrefix>,
    /// Gateway (`via`; `gw` is keepalived's deprecated spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    /// Output interface (`dev` or `oif`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<NumOrName>,
    /// keepalived's default: `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<NumOrName>,
    /// `metric`, `priority` or `preference`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// keepalived sets `keepalived` (18) on a tracked route, whatever is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<NumOrName>,
    /// `tos` / `dsfield`: a byte, written in hex as iproute2 reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// IPv4 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realms: Option<Realms>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub onlink: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advmss: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt: Option<RttTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rttvar: Option<RttTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reordering: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwnd: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssthresh: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_min: Option<RttTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initcwnd: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initrwnd: Option<u32>,
    /// Congestion control algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congctl: Option<String>,
    /// Metrics written with `lock` (names from [`ROUTE_METRICS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lock: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hoplimit: Option<u8>,
    /// `features ecn`, the only feature keepalived takes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ecn: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quickack: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fastopen_no_cookie: Option<bool>,
    /// IPv6 router preference: `low`, `medium`, `high` or a number (IPv6 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pref: Option<NumOrName>,
    /// `ttl-propagate enabled|disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_propagate: Option<bool>,
    /// Seconds (IPv6 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
    /// `append` (as `ip route append`); keepalived's default is to prepend.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub append: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_track: bool,
    /// `static_routes` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<Nexthop>,
}

/// One `static_rules` / `virtual_rules` line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `inet` / `inet6`, kept only when no address of the line gives the family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Target>,
    /// `preference`, `order` or `priority`; keepalived assigns one (with a warning) when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<u32>,
    /// `tos` / `dsfield`: a byte, written in hex as iproute2 reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// The mask of `fwmark MARK/MASK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmask: Option<u32>,
    /// Input interface (`iif` or `dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uidrange: Option<Range<u32>>,
    /// 0..=255, numbers only in keepalived 2.2.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipproto: Option<NumOrName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<Range<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<Range<u16>>,
    /// Action: look up this table (`table` / `lookup`; not 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<NumOrName>,
    /// Action: jump to the rule of this preference (greater than the rule's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto: Option<u32>,
    /// Action: do nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nop: bool,
    /// Action: the VRF table of the L3 master device.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub l3mdev: bool,
    /// Action: `[type] blackhole|unreachable|prohibit`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub rule_type: Option<RuleType>,
    /// With a `table` action only (IPv4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realms: Option<Realms>,
    /// With a `table` action only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_prefixlength: Option<u32>,
    /// With a `table` action only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_ifgroup: Option<NumOrName>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_track: bool,
    /// `static_rules` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_group: Option<String>,
}

/// Something wrong with a whole route or rule, at one of its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// The field, relative to the line (`via`, `nexthops/1/via`).
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    fn error(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            field: field.into(),
            message: message.into(),
            hint: None,
        }
    }

    fn warning(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(field, message)
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The first address family among `addresses` (field, family), and a problem for
/// each later address of the other family.
fn family_problems(
    explicit: Option<Family>,
    addresses: &[(String, Option<Family>)],
    what: &str,
    out: &mut Vec<Problem>,
) -> Option<Family> {
    let mut family = explicit;
    let mut by = explicit.map(|f| format!("`{}`", f.word()));
    for (field, f) in addresses {
        match (family, f) {
            (_, None) => {}
            (None, Some(f)) => {
                family = Some(*f);
                by = Some(format!("`{field}`"));
            }
            (Some(a), Some(b)) if a != *b => out.push(
                Problem::error(
                    field.clone(),
                    format!(
                        "{what} mixes IPv4 and IPv6 (it is {} by {})",
                        if a == Family::Inet { "IPv4" } else { "IPv6" },
                        by.as_deref().unwrap_or("default")
                    ),
                )
                .hint("a route or rule is of one family; split it in two"),
            ),
            _ => {}
        }
    }
    family
}

/// A field valid for one family only.
fn family_only(family: Option<Family>, only: Family, field: &str, out: &mut Vec<Problem>) {
    if family.is_some_and(|f| f != only) {
        out.push(Problem::error(
            field,
            format!(
                "`{field}` is for {} only",
                if only == Family::Inet { "IPv4" } else { "IPv6" }
            ),
        ));
    }
}

fn static_only(track_group: &Option<String>, in_static: bool, out: &mut Vec<Problem>) {
    if track_group.is_some() && !in_static {
        out.push(
            Problem::error(
                "track_group",
                "`track_group` is for static routes and rules only",
            )
            .hint("a virtual route or rule follows its vrrp_instance"),
        );
    }
}

/// keepalived tracks a static line for its track_group through the line's interface
/// ("Static route cannot have track group if no oif specified").
fn group_without_interface(
    line: &dyn IpLine,
    interface: Option<&String>,
    what: &str,
    keyword: &str,
    out: &mut Vec<Problem>,
) {
    if line.track_group().is_some() && interface.is_none() {
        out.push(
            Problem::warning(
                "track_group",
                format!("a {what} without `{keyword}` cannot be tracked; keepalived ignores its track_group"),
            )
            .hint(format!("add `{keyword} IFNAME`")),
        );
    }
}

/// `RTPROT_KEEPALIVED`, the routing protocol number keepalived marks its routes and rules with.
pub const RTPROT_KEEPALIVED: u32 = 18;

/// keepalived marks what it tracks as its own (protocol `keepalived`, 18), whatever
/// the line says ("cannot be tracked if protocol is not RTPROT_KEEPALIVED").
fn tracked_protocol(protocol: Option<NumOrName>, no_track: bool, out: &mut Vec<Problem>) {
    let own = match &protocol {
        Some(NumOrName::Num(n)) => *n == RTPROT_KEEPALIVED,
        Some(NumOrName::Name(name)) => name == "keepalived",
        None => true,
    };
    if !own && !no_track {
        out.push(
            Problem::warning(
                "protocol",
                "a tracked line gets protocol `keepalived` (18); this protocol is replaced",
            )
            .hint("add `no_track` to keep the protocol"),
        );
    }
}

/// What routes and rules share: a family written as `inet`/`inet6` or given by the
/// addresses of the line, and the whole-line checks.
pub trait IpLine {
    /// `inet` / `inet6` as written (kept only when the addresses do not say).
    fn written_family(&self) -> &Option<Family>;
    fn written_family_mut(&mut self) -> &mut Option<Family>;
    /// Each address field of the line and its family, in the order that decides the
    /// line's family when nothing is written.
    fn addresses(&self) -> Vec<(String, Option<Family>)>;
    /// What keepalived 2.2.7 rejects (errors: it drops the line) or warns about in a
    /// line of the block `block` (`static_routes`, `virtual_rules`, …).
    fn problems(&self, block: &str) -> Vec<Problem>;
    /// The `track_group` named (static lines only).
    fn track_group(&self) -> Option<&str>;

    /// The family the line's addresses give, if any.
    fn address_family(&self) -> Option<Family> {
        self.addresses().iter().find_map(|(_, f)| *f)
    }

    /// The family in effect: `inet`/`inet6` as written, else the addresses', else IPv4.
    fn effective_family(&self) -> Family {
        self.written_family()
            .or_else(|| self.address_family())
            .unwrap_or(Family::Inet)
    }
}

/// The [`IpLine`] accessors of a type with `family` and `track_group` fields.
macro_rules! line_fields {
    () => {
        fn written_family(&self) -> &Option<Family> {
            &self.family
        }

        fn written_family_mut(&mut self) -> &mut Option<Family> {
            &mut self.family
        }

        fn track_group(&self) -> Option<&str> {
            self.track_group.as_deref()
        }
    };
}

impl IpLine for Route {
    line_fields!();

    fn addresses(&self) -> Vec<(String, Option<Family>)> {
        let mut out = vec![
            ("to".to_string(), self.to.family()),
            ("src".to_string(), self.src.as_ref().map(Family::of)),
            ("from".to_string(), self.from.map(|p| Family::of(&p.addr))),
            ("via".to_string(), self.via.as_ref().map(Family::of)),
        ];
        for (i, hop) in self.nexthops.iter().enumerate() {
            out.push((
                format!("nexthops/{i}/via"),
                hop.via.as_ref().map(Family::of),
            ));
        }
        out
    }

    fn problems(&self, block: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        let family = family_problems(self.family, &self.addresses(), "the route", &mut out);
        if self.from.is_some() {
            family_only(family, Family::Inet6, "from", &mut out);
        }
        if self.realms.is_some() {
            family_only(family, Family::Inet, "realms", &mut out);
        }
        for (i, hop) in self.nexthops.iter().enumerate() {
            if hop.realms.is_some() {
                family_only(
                    family,
                    Family::Inet,
                    &format!("nexthops/{i}/realms"),
                    &mut out,
                );
            }
            if hop.weight.is_some_and(|w| !(1..=256).contains(&w)) {
                out.push(Problem::error(
                    format!("nexthops/{i}/weight"),
                    "a nexthop weight is 1..=256",
                ));
            }
        }
        if self.pref.is_some() {
            family_only(family, Family::Inet6, "pref", &mut out);
        }
        if self.expires.is_some() {
            family_only(family, Family::Inet6, "expires", &mut out);
        }
        if let Some(NumOrName::Name(p)) = &self.pref {
            if !matches!(p.as_str(), "low" | "medium" | "high") {
                out.push(Problem::error(
                    "pref",
                    "`pref` is low, medium, high or a number",
                ));
            }
        }
        for name in &self.lock {
            if !ROUTE_METRICS.contains(&name.as_str()) {
                out.push(Problem::error(
                    "lock",
                    format!("`{name}` is no route metric"),
                ));
            }
        }
        tracked_protocol(self.protocol.clone(), self.no_track, &mut out);
        static_only(&self.track_group, block.starts_with("static"), &mut out);
        if self.dev.is_none() && !self.no_track {
            // keepalived: "cannot track route … with no interface specified, not tracking".
            out.push(
                Problem::warning("", "a route without `dev` is not tracked")
                    .hint("add `dev IFNAME`, or `no_track` to say so"),
            );
        }
        group_without_interface(self, self.dev.as_ref(), "route", "dev", &mut out);
        out
    }
}

impl Rule {
    /// The actions written (keepalived takes exactly one).
    fn actions(&self) -> Vec<&'static str> {
        [
            ("table", self.table.is_some()),
            ("goto", self.goto.is_some()),
            ("nop", self.nop),
            ("l3mdev", self.l3mdev),
            ("type", self.rule_type.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

impl IpLine for Rule {
    line_fields!();

    fn addresses(&self) -> Vec<(String, Option<Family>)> {
        vec![
            ("from".to_string(), self.from.and_then(|t| t.family())),
            ("to".to_string(), self.to.and_then(|t| t.family())),
        ]
    }

    fn problems(&self, block: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        let family = family_problems(self.family, &self.addresses(), "the rule", &mut out);
        let actions = self.actions();
        match actions.as_slice() {
            [] => out.push(
                Problem::error("", "the rule has no action")
                    .hint("add one of `table N`, `goto N`, `nop`, `blackhole`, `unreachable`, `prohibit`, `l3mdev`"),
            ),
            [_] => {}
            [_, second, ..] => out.push(Problem::error(
                *second,
                format!("a rule takes one action; `{}` and `{second}` are given", actions[0]),
            )),
        }
        if self.table.as_ref() == Some(&NumOrName::Num(0)) {
            out.push(Problem::error("table", "table 0 is not valid"));
        }
        if let Some(target) = self.goto {
            match self.preference {
                Some(pref) if pref >= target => out.push(Problem::error(
                    "goto",
                    format!("goto {target} must jump forward, past the rule's preference {pref}"),
                )),
                None => out.push(
                    Problem::error("goto", "a `goto` rule needs a `preference`")
                        .hint("add `preference N` with N below the goto target"),
                ),
                _ => {}
            }
        }
        let table_action = self.table.is_some() || self.l3mdev;
        for (field, set) in [
            ("realms", self.realms.is_some()),
            (
                "suppress_prefixlength",
                self.suppress_prefixlength.is_some(),
            ),
            ("suppress_ifgroup", self.suppress_ifgroup.is_some()),
        ] {
            if set && !table_action {
                out.push(Problem::error(
                    field,
                    format!("`{field}` applies to a `table` action only"),
                ));
            }
        }
        if self.realms.is_some() {
            family_only(family, Family::Inet, "realms", &mut out);
        }
        if self.l3mdev && self.table.is_some() {
            out.push(Problem::error("l3mdev", "an l3mdev rule takes no `table`"));
        }
        let protocol = self.protocol.map(|p| NumOrName::Num(p.into()));
        tracked_protocol(protocol, self.no_track, &mut out);
        static_only(&self.track_group, block.starts_with("static"), &mut out);
        group_without_interface(self, self.iif.as_ref(), "rule", "iif", &mut out);
        if self.preference.is_none() {
            out.push(
                Problem::warning(
                    "",
                    "the rule has no preference; keepalived assigns one, which is probably not what you want",
                )
                .hint("add `preference N`"),
            );
        }
        out
    }
}

// ---- writing -------------------------------------------------------------------------

/// Writes `word value` when the value is set.
fn opt<T: fmt::Display>(f: &mut fmt::Formatter<'_>, word: &str, value: &Option<T>) -> fmt::Result {
    match value {
        Some(v) => write!(f, " {word} {v}"),
        None => Ok(()),
    }
}

/// A free-form word (interface, group, algorithm) as keepalived reads it back.
fn quoted(word: &Option<String>) -> Option<String> {
    word.as_deref().map(crate::emit::quote)
}

fn flag(f: &mut fmt::Formatter<'_>, word: &str, set: bool) -> fmt::Result {
    if set {
        write!(f, " {word}")?;
    }
    Ok(())
}

fn on_off(
    f: &mut fmt::Formatter<'_>,
    word: &str,
    value: Option<bool>,
    words: [&str; 2],
) -> fmt::Result {
    match value {
        Some(v) => write!(f, " {word} {}", words[usize::from(v)]),
        None => Ok(()),
    }
}

/// keepalived 2.2.7 skips the word after `inet`/`inet6`, so the family goes last
/// (before the nexthops of a route; it is kept only when no address gives it).
fn family_last(f: &mut fmt::Formatter<'_>, family: Option<Family>) -> fmt::Result {
    match family {
        Some(family) => write!(f, " {}", family.word()),
        None => Ok(()),
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = self.route_type {
            write!(f, "{} ", route_type_word(t))?;
        }
        write!(f, "{}", self.to)?;
        opt(f, "src", &self.src)?;
        opt(f, "from", &self.from)?;
        opt(f, "via", &self.via)?;
        opt(f, "dev", &quoted(&self.dev))?;
        opt(f, "scope", &self.scope)?;
        opt(f, "table", &self.table)?;
        opt(f, "metric", &self.metric)?;
        opt(f, "protocol", &self.protocol)?;
        opt(f, "tos", &self.tos.map(|t| format!("0x{t:02x}")))?;
        opt(f, "realms", &self.realms)?;
        flag(f, "onlink", self.onlink)?;
        opt(f, "vrf", &quoted(&self.vrf))?;
        let locked = |name: &str| self.lock.iter().any(|l| l == name);
        let metrics: [(&str, Option<String>); 12] = [
            ("mtu", self.mtu.map(|v| v.to_string())),
            ("advmss", self.advmss.map(|v| v.to_string())),
            ("rtt", self.rtt.as_ref().map(ToString::to_string)),
            ("rttvar", self.rttvar.as_ref().map(ToString::to_string)),
            ("reordering", self.reordering.map(|v| v.to_string())),
            ("window", self.window.map(|v| v.to_string())),
            ("cwnd", self.cwnd.map(|v| v.to_string())),
            ("ssthresh", self.ssthresh.map(|v| v.to_string())),
            ("rto_min", self.rto_min.as_ref().map(ToString::to_string)),
            ("initcwnd", self.initcwnd.map(|v| v.to_string())),
            ("initrwnd", self.initrwnd.map(|v| v.to_string())),
            ("congctl", quoted(&self.congctl)),
        ];
        for (name, value) in metrics {
            if let Some(value) = value {
                let lock = if locked(name) { " lock" } else { "" };
                write!(f, " {name}{lock} {value}")?;
            }
        }
        opt(f, "hoplimit", &self.hoplimit)?;
        flag(f, "features ecn", self.ecn)?;
        opt(f, "quickack", &self.quickack.map(u8::from))?;
        opt(
            f,
            "fastopen_no_cookie",
            &self.fastopen_no_cookie.map(u8::from),
        )?;
        opt(f, "pref", &self.pref)?;
        on_off(
            f,
            "ttl-propagate",
            self.ttl_propagate,
            ["disabled", "enabled"],
        )?;
        opt(f, "expires", &self.expires)?;
        flag(f, "append", self.append)?;
        flag(f, "no_track", self.no_track)?;
        opt(f, "track_group", &quoted(&self.track_group))?;
        family_last(f, self.family)?;
        for hop in &self.nexthops {
            f.write_str(" nexthop")?;
            opt(f, "via", &hop.via)?;
            opt(f, "dev", &quoted(&hop.dev))?;
            opt(f, "weight", &hop.weight)?;
            flag(f, "onlink", hop.onlink)?;
            opt(f, "realms", &hop.realms)?;
        }
        Ok(())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words = Vec::new();
        if self.not {
            words.push("not".to_string());
        }
        let mut push = |word: &str, value: Option<String>| {
            if let Some(v) = value {
                words.push(format!("{word} {v}"));
            }
        };
        push("from", self.from.map(|t| t.to_string()));
        push("to", self.to.map(|t| t.to_string()));
        push("preference", self.preference.map(|p| p.to_string()));
        push("tos", self.tos.map(|t| format!("0x{t:02x}")));
        push(
            "fwmark",
            self.fwmark.map(|m| match self.fwmask {
                Some(mask) => format!("{m}/{mask}"),
                None => m.to_string(),
            }),
        );
        push("iif", quoted(&self.iif));
        push("oif", quoted(&self.oif));
        push("tunnel-id", self.tunnel_id.map(|t| t.to_string()));
        push("uidrange", self.uidrange.map(|r| r.to_string()));
        push("protocol", self.protocol.map(|p| p.to_string()));
        push("ipproto", self.ipproto.as_ref().map(ToString::to_string));
        push("sport", self.sport.map(|r| r.to_string()));
        push("dport", self.dport.map(|r| r.to_string()));
        push("table", self.table.as_ref().map(ToString::to_string));
        push("goto", self.goto.map(|g| g.to_string()));
        push("realms", self.realms.as_ref().map(ToString::to_string));
        push(
            "suppress_prefixlength",
            self.suppress_prefixlength.map(|s| s.to_string()),
        );
        push(
            "suppress_ifgroup",
            self.suppress_ifgroup.as_ref().map(ToString::to_string),
        );
        push("track_group", quoted(&self.track_group));
        for (word, set) in [
            ("nop", self.nop),
            ("l3mdev", self.l3mdev),
            ("no_track", self.no_track),
        ] {
            if set {
                words.push(word.to_string());
            }
        }
        if let Some(t) = self.rule_type {
            words.push(
                match t {
                    RuleType::Blackhole => "blackhole",
                    RuleType::Unreachable => "unreachable",
                    RuleType::Prohibit => "prohibit",
                }
                .to_string(),
            );
        }
        if let Some(family) = self.family {
            words.push(family.word().to_string());
        }
        f.write_str(&words.join(" "))
    }
}

// ---- reading -------------------------------------------------------------------------

/// The words of a route line other than its metrics ([`ROUTE_METRICS`]) and types.
const ROUTE_OPTIONS: &[&str] = &[
    "inet",
    "inet6",
    "to",
    "src",
    "from",
    "via",
    "gw",
    "or",
    "dev",
    "oif",
    "scope",
    "table",
    "metric",
    "priority",
    "preference",
    "protocol",
    "tos",
    "dsfield",
    "realms",
    "onlink",
    "vrf",
    "lock",
    "hoplimit",
    "features",
    "quickack",
    "fastopen_no_cookie",
    "pref",
    "ttl-propagate",
    "expires",
    "append",
    "prepend",
    "add",
    "no_track",
    "track_group",
    "nexthop",
    "weight",
];

/// Every word a route line takes (for "did you mean" and the corpus check).
pub fn route_keywords() -> impl Iterator<Item = &'static str> {
    ROUTE_OPTIONS
        .iter()
        .chain(ROUTE_METRICS)
        .copied()
        .chain(ROUTE_TYPES.iter().map(|(word, _)| *word))
}

/// Every word a rule line takes.
pub const RULE_KEYWORDS: &[&str] = &[
    "inet",
    "inet6",
    "not",
    "from",
    "to",
    "table",
    "lookup",
    "preference",
    "order",
    "priority",
    "tos",
    "dsfield",
    "fwmark",
    "realms",
    "suppress_prefixlength",
    "sup_pl",
    "suppress_ifgroup",
    "sup_group",
    "dev",
    "iif",
    "oif",
    "tunnel-id",
    "uidrange",
    "l3mdev",
    "protocol",
    "ipproto",
    "sport",
    "dport",
    "no_track",
    "track_group",
    "type",
    "goto",
    "nop",
    "blackhole",
    "unreachable",
    "prohibit",
];

/// A route or rule read from one line, with where each of its fields was written
/// (field relative to the line, as in [`Problem::field`]; `""` is the line itself).
#[derive(Debug)]
pub struct Read<T> {
    pub value: T,
    pub spans: Vec<(String, crate::diag::Span)>,
}

/// The words of one line, read left to right.
struct Reader<'a> {
    line: &'a [Token],
    next: usize,
    /// `static_routes`, `virtual_rules`, …: named in messages.
    block: &'a str,
    diagnostics: &'a mut Vec<Diagnostic>,
    spans: Vec<(String, crate::diag::Span)>,
    failed: bool,
}

impl<'a> Reader<'a> {
    fn new(line: &'a [Token], block: &'a str, diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        let mut spans = Vec::new();
        if let Some(first) = line.first() {
            spans.push((String::new(), first.span.clone()));
        }
        Reader {
            line,
            next: 0,
            block,
            diagnostics,
            spans,
            failed: false,
        }
    }

    fn take(&mut self) -> Option<&'a Token> {
        let token = self.line.get(self.next)?;
        self.next += 1;
        Some(token)
    }

    fn peek_text(&self) -> Option<&'a str> {
        self.line.get(self.next).map(Token::text)
    }

    fn error(&mut self, token: &Token, message: String) {
        self.failed = true;
        self.diagnostics
            .push(Diagnostic::error(&token.span, token.text(), message));
    }

    fn warning(&mut self, token: &Token, message: String, hint: &str) {
        self.diagnostics
            .push(Diagnostic::warning(&token.span, token.text(), message).hint(hint));
    }

    fn mark(&mut self, field: &str, token: &Token) {
        self.spans.push((field.to_string(), token.span.clone()));
    }

    /// The word after `keyword`, which must be there.
    fn value(&mut self, keyword: &Token) -> Option<&'a Token> {
        let value = self.take();
        if value.is_none() {
            let text = keyword.text();
            self.error(
                keyword,
                format!("`{text}` needs a value (`{}`)", self.block),
            );
        }
        value
    }

    /// The word after `keyword` read as `T`, recorded as `field`.
    fn parsed<T: FromStr<Err = String>>(&mut self, keyword: &Token, field: &str) -> Option<T> {
        let token = self.value(keyword)?;
        self.mark(field, token);
        match token.text().parse() {
            Ok(v) => Some(v),
            Err(e) => {
                let message = format!("{e} (`{}` in `{}`)", keyword.text(), self.block);
                self.error(token, message);
                None
            }
        }
    }

    fn ip(&mut self, keyword: &Token, field: &str) -> Option<IpAddr> {
        let token = self.value(keyword)?;
        self.mark(field, token);
        match token.text().parse() {
            Ok(a) => Some(a),
            Err(_) => {
                let message = format!(
                    "`{}` is not an IP address (`{}` in `{}`)",
                    token.text(),
                    keyword.text(),
                    self.block
                );
                self.error(token, message);
                None
            }
        }
    }

    /// A number within `lo..=hi` (decimal, or hex after `0x`).
    fn number<T: TryFrom<u64>>(
        &mut self,
        keyword: &Token,
        field: &str,
        lo: u64,
        hi: u64,
    ) -> Option<T> {
        let token = self.value(keyword)?;
        self.mark(field, token);
        let text = token.text();
        let n = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => text.parse::<u64>().ok(),
        };
        let message = match n {
            Some(n) if (lo..=hi).contains(&n) => match T::try_from(n) {
                Ok(v) => return Some(v),
                Err(_) => format!(
                    "`{text}` is out of range for `{}` ({lo}..={hi})",
                    keyword.text()
                ),
            },
            Some(_) => format!(
                "`{text}` is out of range for `{}` ({lo}..={hi})",
                keyword.text()
            ),
            None => format!(
                "`{text}` is not a number (`{}` in `{}`)",
                keyword.text(),
                self.block
            ),
        };
        self.error(token, message);
        None
    }

    /// `tos` / `dsfield`: hex, with or without `0x`, as iproute2's `rtnl_dsfield_a2n`.
    fn dsfield(&mut self, keyword: &Token, field: &str) -> Option<u8> {
        let token = self.value(keyword)?;
        self.mark(field, token);
        let text = token.text();
        let hex = text.strip_prefix("0x").unwrap_or(text);
        match u8::from_str_radix(hex, 16) {
            Ok(v) => Some(v),
            Err(_) => {
                let message = format!(
                    "`{text}` is not a TOS byte in hex (`{}` in `{}`)",
                    keyword.text(),
                    self.block
                );
                self.error(token, message);
                None
            }
        }
    }

    /// One of two words (`enabled`/`disabled`, `1`/`0`) → true / false.
    fn choice(&mut self, keyword: &Token, field: &str, yes: &str, no: &str) -> Option<bool> {
        let token = self.value(keyword)?;
        self.mark(field, token);
        match token.text() {
            t if t == yes => Some(true),
            t if t == no => Some(false),
            t => {
                let message = format!("`{t}` is not `{yes}` or `{no}` (`{}`)", keyword.text());
                self.error(token, message);
                None
            }
        }
    }

    fn word(&mut self, keyword: &Token, field: &str) -> Option<String> {
        let token = self.value(keyword)?;
        self.mark(field, token);
        Some(token.text().to_string())
    }

    /// `inet` / `inet6`: sets the family; keepalived 2.2.7 then skips the next word.
    fn family(&mut self, keyword: &'a Token, family: &mut Option<Family>) {
        let f = if keyword.text() == "inet6" {
            Family::Inet6
        } else {
            Family::Inet
        };
        self.mark("family", keyword);
        *family = Some(f);
        if let Some(next) = self.line.get(self.next) {
            self.warning(
                keyword,
                format!(
                    "keepalived 2.2.7 skips the word after `{}` (here `{}`); lvsd reads it",
                    keyword.text(),
                    next.text()
                ),
                "write the family last on the line, or leave it out: the addresses give it",
            );
        }
    }

    fn unknown<'k>(
        &mut self,
        token: &Token,
        what: &str,
        keywords: impl IntoIterator<Item = &'k str>,
    ) {
        let text = token.text();
        self.failed = true;
        let mut d = Diagnostic::error(
            &token.span,
            text,
            format!("unknown keyword `{text}` in a {what} (`{}`)", self.block),
        );
        if let Some(near) = crate::diag::nearest(text, keywords) {
            d = d.hint(format!("did you mean `{near}`?"));
        }
        self.diagnostics.push(d);
        // Its arguments are unknown too: the rest of the line is not read.
        self.next = self.line.len();
    }

    fn unsupported(&mut self, token: &Token) {
        let message = format!(
            "`{}` (lightweight tunnels, MPLS) is not supported by lvsd",
            token.text()
        );
        self.error(token, message);
    }

    /// Reports the whole-line problems: errors (the line is dropped) or, with
    /// `warnings`, everything. Returns true when there was an error.
    fn problems(&mut self, problems: Vec<Problem>, warnings: bool) -> bool {
        let mut failed = false;
        for p in problems {
            if p.severity == Severity::Warning && !warnings {
                continue;
            }
            failed |= p.severity == Severity::Error;
            let at = self
                .spans
                .iter()
                .rev()
                .find(|(f, _)| *f == p.field)
                .or_else(|| self.spans.first());
            let Some((_, span)) = at else { continue };
            let text = self
                .line
                .iter()
                .find(|t| t.span == *span)
                .map_or("", Token::text);
            let mut d = Diagnostic {
                severity: p.severity,
                span: span.clone(),
                message: format!("{} (`{}`)", p.message, self.block),
                text: text.to_string(),
                hint: None,
            };
            d.hint = p.hint;
            self.diagnostics.push(d);
        }
        failed
    }

    /// The line read, unless a word or a whole-line check failed. The family is kept
    /// only where it says something the addresses do not.
    fn finish<T: IpLine>(mut self, mut value: T) -> Option<Read<T>> {
        if self.failed || self.problems(value.problems(self.block), false) {
            return None;
        }
        if value.address_family().is_some() {
            *value.written_family_mut() = None;
        }
        Some(Read {
            value,
            spans: self.spans,
        })
    }
}

const METRIC_U32: &[&str] = &[
    "mtu",
    "advmss",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "initcwnd",
    "initrwnd",
];

/// Reads one route line of `block` (`static_routes` / `virtual_routes`). Errors are
/// reported at the offending word and the route is dropped, as keepalived drops it;
/// warnings about the whole route are left to validation.
pub fn read_route(
    line: &[Token],
    block: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Read<Route>> {
    let mut r = Reader::new(line, block, diagnostics);
    let mut route = Route::default();
    let mut dest: Option<Target> = None;
    while let Some(token) = r.take() {
        let text = token.text();
        match text {
            "inet" | "inet6" => r.family(token, &mut route.family),
            "src" => route.src = r.ip(token, "src"),
            "from" => route.from = r.parsed(token, "from"),
            "via" | "gw" => {
                if text == "gw" {
                    r.warning(
                        token,
                        "`gw` is deprecated; use `via`".into(),
                        "replace `gw` with `via`",
                    );
                }
                if let Some(f @ ("inet" | "inet6")) = r.peek_text() {
                    let word = r.take();
                    route.family = Some(if f == "inet6" {
                        Family::Inet6
                    } else {
                        Family::Inet
                    });
                    if let Some(word) = word {
                        r.mark("family", word);
                    }
                }
                route.via = r.ip(token, "via");
            }
            "or" => {
                r.warning(
                    token,
                    "`or` is deprecated; use `nexthop`".into(),
                    "write `nexthop via A nexthop via B`",
                );
                if !route.nexthops.is_empty() {
                    r.error(
                        token,
                        format!("the route already has alternative gateways (`{block}`)"),
                    );
                }
                let first = Nexthop {
                    via: route.via.take(),
                    ..Nexthop::default()
                };
                let second = Nexthop {
                    via: r.ip(token, "nexthops/1/via"),
                    ..Nexthop::default()
                };
                route.nexthops = vec![first, second];
            }
            "dev" | "oif" => route.dev = r.word(token, "dev"),
            "scope" => route.scope = r.parsed(token, "scope"),
            "table" => route.table = r.parsed(token, "table"),
            "metric" | "priority" | "preference" => {
                route.metric = r.number(token, "metric", 0, u32::MAX.into())
            }
            "protocol" => route.protocol = r.parsed(token, "protocol"),
            "tos" | "dsfield" => route.tos = r.dsfield(token, "tos"),
            "realms" => route.realms = r.parsed(token, "realms"),
            "onlink" => route.onlink = true,
            "vrf" => route.vrf = r.word(token, "vrf"),
            "hoplimit" => route.hoplimit = r.number(token, "hoplimit", 0, 255),
            "features" => {
                if let Some(value) = r.value(token) {
                    r.mark("ecn", value);
                    if value.text() == "ecn" {
                        route.ecn = true;
                    } else {
                        let message =
                            format!("feature `{}` is not supported (only `ecn`)", value.text());
                        r.error(value, message);
                    }
                }
            }
            "quickack" => route.quickack = r.choice(token, "quickack", "1", "0"),
            "fastopen_no_cookie" => {
                route.fastopen_no_cookie = r.choice(token, "fastopen_no_cookie", "1", "0")
            }
            "pref" => route.pref = r.parsed(token, "pref"),
            "ttl-propagate" => {
                route.ttl_propagate = r.choice(token, "ttl_propagate", "enabled", "disabled")
            }
            "expires" => route.expires = r.number(token, "expires", 0, u32::MAX.into()),
            "append" => route.append = true,
            // The default (`ip route add` prepends).
            "prepend" | "add" => {}
            "no_track" => route.no_track = true,
            "track_group" => route.track_group = r.word(token, "track_group"),
            "nexthop" => {
                r.next -= 1;
                break;
            }
            "encap" | "as" => r.unsupported(token),
            _ if ROUTE_METRICS.contains(&text) => {
                if r.peek_text() == Some("lock") {
                    if let Some(lock) = r.take() {
                        r.mark("lock", lock);
                    }
                    if !route.lock.iter().any(|l| l == text) {
                        route.lock.push(text.to_string());
                    }
                }
                if METRIC_U32.contains(&text) {
                    let v = r.number(token, text, 0, u32::MAX.into());
                    match text {
                        "mtu" => route.mtu = v,
                        "advmss" => route.advmss = v,
                        "reordering" => route.reordering = v,
                        "window" => route.window = v,
                        "cwnd" => route.cwnd = v,
                        "ssthresh" => route.ssthresh = v,
                        "initcwnd" => route.initcwnd = v,
                        _ => route.initrwnd = v,
                    }
                } else if text == "congctl" {
                    route.congctl = r.word(token, "congctl");
                } else {
                    let v = r.parsed(token, text);
                    match text {
                        "rtt" => route.rtt = v,
                        "rttvar" => route.rttvar = v,
                        _ => route.rto_min = v,
                    }
                }
            }
            _ => {
                // `[to] [TYPE] PREFIX`
                let mut word = token;
                if text == "to" {
                    match r.value(token) {
                        Some(w) => word = w,
                        None => continue,
                    }
                }
                if let Some((_, t)) = ROUTE_TYPES.iter().find(|(w, _)| *w == word.text()) {
                    route.route_type = Some(*t);
                    r.mark("type", word);
                    match r.value(word) {
                        Some(w) => word = w,
                        None => continue,
                    }
                }
                match word.text().parse::<Target>() {
                    Ok(target) if dest.is_none() => {
                        r.mark("to", word);
                        dest = Some(target);
                    }
                    Ok(_) => {
                        let message = format!("the route already has a destination (`{block}`)");
                        r.error(word, message);
                    }
                    Err(_)
                        if word.text().parse::<f64>().is_ok()
                            || word.text().contains(['.', ':', '/']) =>
                    {
                        let message = format!(
                            "`{}` is not an IP prefix (destination in `{block}`)",
                            word.text()
                        );
                        r.error(word, message);
                    }
                    Err(_) => r.unknown(word, "route", route_keywords()),
                }
            }
        }
    }
    read_nexthops(&mut r, &mut route);
    match dest {
        Some(to) => route.to = to,
        None => {
            if let Some(first) = line.first() {
                if !r.failed {
                    r.error(first, format!("the route has no destination (`{block}`)"));
                }
            }
            return None;
        }
    }
    r.finish(route)
}

/// `nexthop [via [inet|inet6] ADDR] [dev IF] [weight N] [onlink] [realms R]`…, the end of the line.
fn read_nexthops(r: &mut Reader<'_>, route: &mut Route) {
    while r.peek_text() == Some("nexthop") {
        r.take();
        let i = route.nexthops.len();
        let mut hop = Nexthop::default();
        while let Some(word) = r.peek_text() {
            let field = |name: &str| format!("nexthops/{i}/{name}");
            let Some(token) = (match word {
                "via" | "dev" | "weight" | "onlink" | "realms" | "encap" | "as" => r.take(),
                _ => None,
            }) else {
                break;
            };
            match word {
                "via" => {
                    if let Some(f @ ("inet" | "inet6")) = r.peek_text() {
                        r.take();
                        route.family = Some(if f == "inet6" {
                            Family::Inet6
                        } else {
                            Family::Inet
                        });
                    }
                    hop.via = r.ip(token, &field("via"));
                }
                "dev" => hop.dev = r.word(token, &field("dev")),
                "weight" => hop.weight = r.number(token, &field("weight"), 1, 256),
                "onlink" => hop.onlink = true,
                "realms" => hop.realms = r.parsed(token, &field("realms")),
                _ => r.unsupported(token),
            }
        }
        route.nexthops.push(hop);
    }
    if let Some(token) = r.take() {
        let message = format!(
            "`{}` after the nexthops: a nexthop takes via, dev, weight, onlink and realms",
            token.text()
        );
        r.error(token, message);
    }
}

/// Reads one rule line of `block` (`static_rules` / `virtual_rules`), like [`read_route`].
pub fn read_rule(
    line: &[Token],
    block: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Read<Rule>> {
    let mut r = Reader::new(line, block, diagnostics);
    let mut rule = Rule::default();
    while let Some(token) = r.take() {
        let text = token.text();
        match text {
            "inet" | "inet6" => r.family(token, &mut rule.family),
            "from" => rule.from = r.parsed(token, "from"),
            "to" => rule.to = r.parsed(token, "to"),
            "table" | "lookup" => rule.table = r.parsed(token, "table"),
            "not" => rule.not = true,
            "preference" | "order" | "priority" => {
                rule.preference = r.number(token, "preference", 0, u32::MAX.into())
            }
            "tos" | "dsfield" => rule.tos = r.dsfield(token, "tos"),
            "fwmark" => {
                if let Some(value) = r.value(token) {
                    r.mark("fwmark", value);
                    let (mark, mask) = match value.text().split_once('/') {
                        Some((m, k)) => (parse_u32(m), Some(parse_u32(k))),
                        None => (parse_u32(value.text()), None),
                    };
                    match (mark, mask) {
                        (Some(m), None) => rule.fwmark = Some(m),
                        (Some(m), Some(Some(k))) => {
                            rule.fwmark = Some(m);
                            rule.fwmask = Some(k);
                        }
                        _ => {
                            let message = format!(
                                "`{}` is not a firewall mark MARK[/MASK] (`{block}`)",
                                value.text()
                            );
                            r.error(value, message);
                        }
                    }
                }
            }
            "realms" => rule.realms = r.parsed(token, "realms"),
            "suppress_prefixlength" | "sup_pl" => {
                rule.suppress_prefixlength =
                    r.number(token, "suppress_prefixlength", 0, i32::MAX as u64)
            }
            "suppress_ifgroup" | "sup_group" => {
                rule.suppress_ifgroup = r.parsed(token, "suppress_ifgroup")
            }
            "dev" | "iif" => rule.iif = r.word(token, "iif"),
            "oif" => rule.oif = r.word(token, "oif"),
            "tunnel-id" => rule.tunnel_id = r.number(token, "tunnel_id", 0, u64::MAX),
            "uidrange" => rule.uidrange = r.parsed(token, "uidrange"),
            "l3mdev" => {
                r.mark("l3mdev", token);
                rule.l3mdev = true;
            }
            "protocol" => rule.protocol = r.number(token, "protocol", 0, 255),
            "ipproto" => rule.ipproto = r.parsed(token, "ipproto"),
            "sport" | "dport" => {
                let range = port_range(&mut r, token);
                if text == "sport" {
                    rule.sport = range;
                } else {
                    rule.dport = range;
                }
            }
            "no_track" => rule.no_track = true,
            "track_group" => rule.track_group = r.word(token, "track_group"),
            _ => {
                // `[type] ACTION`
                let mut word = token;
                if text == "type" {
                    match r.value(token) {
                        Some(w) => word = w,
                        None => continue,
                    }
                }
                match word.text() {
                    "goto" => {
                        r.mark("goto", word);
                        rule.goto = r.number(word, "goto", 0, u32::MAX.into());
                    }
                    "nop" => {
                        r.mark("nop", word);
                        rule.nop = true;
                    }
                    action @ ("blackhole" | "unreachable" | "prohibit") => {
                        r.mark("type", word);
                        rule.rule_type = Some(match action {
                            "blackhole" => RuleType::Blackhole,
                            "unreachable" => RuleType::Unreachable,
                            _ => RuleType::Prohibit,
                        });
                    }
                    other if ROUTE_TYPES.iter().any(|(w, _)| *w == other) => {
                        let message = format!("`{other}` is not a rule action (`{block}`)");
                        r.error(word, message);
                    }
                    _ => r.unknown(word, "rule", RULE_KEYWORDS.iter().copied()),
                }
            }
        }
    }
    r.finish(rule)
}

/// `sport` / `dport`: `START-END`. A single port is read as `N-N`, with a warning:
/// keepalived 2.2.7 rejects it ("invalid sport range") and drops the selector.
fn port_range(r: &mut Reader<'_>, keyword: &Token) -> Option<Range<u16>> {
    let field = keyword.text();
    let Some(token) = r.line.get(r.next) else {
        r.value(keyword);
        return None;
    };
    if let Ok(port) = token.text().parse::<u16>() {
        r.take();
        r.mark(field, token);
        r.warning(
            token,
            format!("keepalived 2.2.7 rejects a single port in `{field}` and ignores the selector"),
            &format!("write `{field} {port}-{port}`"),
        );
        return Some(Range {
            start: port,
            end: port,
        });
    }
    r.parsed(keyword, field)
}
