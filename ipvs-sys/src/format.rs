//! Pure ipvsadm 1.31-compatible text rendering of typed IPVS objects.
//!
//! Layouts follow the format strings of ipvsadm 1.31 (`ipvsadm.c`
//! print_title / print_service_entry / print_largenum / list_timeout /
//! list_daemon) as compiled into Debian's /usr/sbin/ipvsadm. `-L` without `-n`
//! shows host and service names: the lookups themselves are the caller's
//! ([`Names`]); this crate stays pure. Byte-exactness is proven against the real
//! ipvsadm in the VM for every mode (tests/vm_ipvs.rs, and the workspace's
//! tests/vm_ipvs_cli.rs for the `lvsd ipvs` binary).

use crate::types::*;
use std::cmp::Ordering;
use std::fmt::Write;
use std::net::IpAddr;

/// Which columns `-L` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListMode {
    /// Plain `-Ln`.
    #[default]
    Default,
    /// `--stats`.
    Stats,
    /// `--rate`.
    Rate,
    /// `--thresholds`.
    Thresholds,
    /// `--persistent-conn`.
    PersistentConn,
    /// `--tun-info`.
    TunInfo,
}

/// Listing options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOptions {
    /// Column set.
    pub mode: ListMode,
    /// `--exact`: full numbers instead of K/M/G/T.
    pub exact: bool,
    /// Sort services and destinations like ipvsadm (`--nosort` turns it off).
    pub sort: bool,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            mode: ListMode::Default,
            exact: false,
            sort: true,
        }
    }
}

/// A service with its destinations, as listed.
pub type ServiceEntry = (Service, Vec<Dest>);

/// `addr:port`, IPv6 in brackets (ipvsadm addrport_to_anyname with -n: "%s%s%s:%u").
pub fn addrport(addr: &IpAddr, port: u16) -> String {
    let mut out = String::with_capacity(24);
    push_addrport_named(&mut out, addr, port, None, &Numeric);
    out
}

// Text building blocks. A listing of 10,000 destinations is mostly these, so
// they append to one String without a temporary per field (no format!, no
// core::fmt padding), which matters most where the CPU is slow (the VM).

/// Appends the decimal digits of `n` (printf "%u").
fn push_uint(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits: always UTF-8.
    if let Ok(text) = std::str::from_utf8(&digits[at..]) {
        out.push_str(text);
    }
}

/// Appends `n` with a minus sign when negative (printf "%d").
fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_uint(out, n.unsigned_abs());
}

/// Pads what was appended since `start` with spaces to `width` bytes, as
/// printf's "%-Ns" does (it counts bytes, not characters).
fn pad_from(out: &mut String, start: usize, width: usize) {
    const SPACES: &str = "                                                                ";
    let mut missing = width.saturating_sub(out.len() - start);
    while missing > 0 {
        let n = missing.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        missing -= n;
    }
}

/// A left-aligned column: " " is not included (printf "%-Ns").
fn push_col(out: &mut String, s: &str, width: usize) {
    let start = out.len();
    out.push_str(s);
    pad_from(out, start, width);
}

/// A left-aligned number column (printf "%-Nd" / "%-Nu").
fn push_col_int(out: &mut String, n: i64, width: usize) {
    let start = out.len();
    push_int(out, n);
    pad_from(out, start, width);
}

/// Appends an address as inet_ntop writes it: the dotted quad digit by
/// digit, IPv6 through its Display (RFC 5952, as inet_ntop).
fn push_addr(out: &mut String, addr: &IpAddr) {
    match addr {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_uint(out, o.into());
            }
        }
        IpAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// Name lookups for listings without `-n`. ipvsadm 1.31
/// (addrport_to_anyname) names an address with gethostbyaddr and a port
/// with getservbyport for the service's protocol (`tcp`, `udp`, `sctp`;
/// none for a fwmark service), each falling back to the number.
pub trait Names {
    /// The host name of `addr`, if it has one.
    fn host(&self, addr: &IpAddr) -> Option<String>;
    /// The service name of `port` for `protocol`, if it has one.
    fn service(&self, port: u16, protocol: Protocol) -> Option<String>;
}

/// No lookups: `-n`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Numeric;

impl Names for Numeric {
    fn host(&self, _: &IpAddr) -> Option<String> {
        None
    }

    fn service(&self, _: u16, _: Protocol) -> Option<String> {
        None
    }
}

/// Appends `host:service` (IPv6 host in brackets) with names where `names`
/// has them, cut to ipvsadm's 60-byte buffer.
fn push_addrport_named(
    out: &mut String,
    addr: &IpAddr,
    port: u16,
    protocol: Option<Protocol>,
    names: &dyn Names,
) {
    let start = out.len();
    if addr.is_ipv6() {
        out.push('[');
    }
    match names.host(addr) {
        Some(host) => out.push_str(&host),
        None => push_addr(out, addr),
    }
    if addr.is_ipv6() {
        out.push(']');
    }
    out.push(':');
    match protocol.and_then(|p| names.service(port, p)) {
        Some(service) => out.push_str(&service),
        None => push_uint(out, port.into()),
    }
    truncate_from(out, start, 59);
}

/// Cuts what was appended since `start` to `n` bytes, as ipvsadm cuts names
/// by bytes; a cut inside a UTF-8 character (a name from /etc/hosts) moves
/// back to the character's start.
fn truncate_from(s: &mut String, start: usize, n: usize) {
    if s.len() - start > n {
        let mut at = start + n;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
}

/// The protocol whose service names a service's ports use (none: fwmark).
fn key_protocol(key: &ServiceKey) -> Option<Protocol> {
    match key {
        ServiceKey::Addr { protocol, .. } => Some(*protocol),
        ServiceKey::Fwmark { .. } => None,
    }
}

/// Appends the service name column: `TCP  1.2.3.4:80`, `FWM  5`, `FWM  5 IPv6`.
fn push_svc_name(out: &mut String, key: &ServiceKey, names: &dyn Names) {
    let start = out.len();
    match key {
        ServiceKey::Fwmark { family, mark } => {
            out.push_str("FWM  ");
            push_uint(out, (*mark).into());
            if *family == Family::V6 {
                out.push_str(" IPv6");
            }
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            push_col(out, protocol.name(), 4);
            out.push(' ');
            push_addrport_named(out, addr, *port, Some(*protocol), names);
            // ipvsadm: svc_name[33] = '\0' for non-IPv6 services.
            if !addr.is_ipv6() {
                truncate_from(out, start, 33);
            }
        }
    }
}

/// The `-S` form of a service: `-t 1.2.3.4:80`, `-f 5 -6`.
fn rule_svc_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Fwmark { family, mark } => match family {
            Family::V4 => format!("-f {mark}"),
            Family::V6 => format!("-f {mark} -6"),
        },
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let opt = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            format!("{opt} {}", addrport(addr, *port))
        }
    }
}

/// ipvsadm print_sched_flags: names depend on the scheduler, comma separated.
fn sched_flags(sched: &str, flags: ServiceFlags) -> String {
    let names: [&str; 3] = match sched {
        "sh" => ["sh-fallback", "sh-port", "flag-3"],
        "mh" => ["mh-fallback", "mh-port", "flag-3"],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    let bits = [
        ServiceFlags::SCHED1,
        ServiceFlags::SCHED2,
        ServiceFlags::SCHED3,
    ];
    let set: Vec<&str> = bits
        .iter()
        .zip(names)
        .filter(|(b, _)| flags.has(**b))
        .map(|(_, n)| n)
        .collect();
    set.join(",")
}

fn has_sched_flags(flags: ServiceFlags) -> bool {
    flags.0 & (ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::SCHED3) != 0
}

/// A v4 netmask printed with inet_ntoa, a v6 prefix as an integer; `None` when
/// it is the default (/32 or /128) and ipvsadm prints nothing.
fn mask_text(family: Family, netmask: u32) -> Option<String> {
    match family {
        Family::V4 if netmask != u32::MAX => Some(std::net::Ipv4Addr::from(netmask).to_string()),
        Family::V6 if netmask != 128 => Some(netmask.to_string()),
        _ => None,
    }
}

/// ipvsadm print_largenum.
fn largenum(out: &mut String, i: u64, exact: bool) {
    if exact {
        let len = i.to_string().len();
        let width = if len <= 8 { 9 } else { len + 1 };
        let _ = write!(out, "{i:>width$}");
        return;
    }
    let _ = match i {
        0..=99_999_999 => write!(out, "{i:>9}"),
        100_000_000..=999_999_999 => write!(out, "{:>8}K", i / 1000),
        1_000_000_000..=99_999_999_999 => write!(out, "{:>8}M", i / 1_000_000),
        100_000_000_000..=99_999_999_999_999 => write!(out, "{:>8}G", i / 1_000_000_000),
        _ => write!(out, "{:>8}T", i / 1_000_000_000_000),
    };
}

/// ipvsadm's Forward column: `Masq`, `Route`, `Tunnel`, `Local`.
pub fn fwd_name(f: &FwdMethod) -> &'static str {
    match f {
        FwdMethod::Masq => "Masq",
        FwdMethod::Local => "Local",
        FwdMethod::Tunnel { .. } => "Tunnel",
        FwdMethod::Route => "Route",
        // ipvsadm's fwd_name has no case for bypass (prints "(null)" via glibc).
        FwdMethod::Bypass => "(null)",
    }
}

fn fwd_switch(f: &FwdMethod) -> &'static str {
    match f {
        FwdMethod::Masq => "-m",
        FwdMethod::Tunnel { .. } => "-i",
        FwdMethod::Local | FwdMethod::Route => "-g",
        FwdMethod::Bypass => "(null)",
    }
}

fn tun_name(t: TunnelType) -> &'static str {
    match t {
        TunnelType::Ipip => "ipip",
        TunnelType::Gue => "gue",
        TunnelType::Gre => "gre",
    }
}

/// ipvsadm 1.31 `--tun-info` checksum marks (observed in the VM against ipvsadm).
fn tun_flag_name(flags: u16) -> &'static str {
    match flags {
        tun_flags::CSUM => "+c",
        tun_flags::REMCSUM => "r+c",
        _ => "-c",
    }
}

fn tun_flag_opt(flags: u16) -> &'static str {
    match flags {
        tun_flags::CSUM => "--tun-csum",
        tun_flags::REMCSUM => "--tun-remcsum",
        _ => "--tun-nocsum",
    }
}

/// ipvsadm `fwd_tun_info`: `ipip`, `gue:PORT:FLAGS`, `gre:FLAGS`; `n/a` otherwise.
fn tun_info(f: &FwdMethod) -> String {
    match f {
        FwdMethod::Tunnel {
            tun_type: TunnelType::Ipip,
            ..
        } => "ipip".into(),
        FwdMethod::Tunnel {
            tun_type: TunnelType::Gue,
            port,
            flags,
        } => format!("gue:{port}:{}", tun_flag_name(*flags)),
        FwdMethod::Tunnel {
            tun_type: TunnelType::Gre,
            flags,
            ..
        } => format!("gre:{}", tun_flag_name(*flags)),
        _ => "n/a".into(),
    }
}

fn addr_key(a: &IpAddr) -> [u32; 4] {
    match a {
        IpAddr::V4(v) => [u32::from(*v), 0, 0, 0],
        IpAddr::V6(v) => {
            let o = v.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// libipvs ipvs_cmp_services: the C subtractions of unsigned values read as int.
fn cmp_services(a: &Service, b: &Service) -> Ordering {
    let parts = |s: &Service| -> (u32, u16, u16, [u32; 4], u16) {
        match s.key {
            ServiceKey::Fwmark { family, mark } => (mark, family.to_raw(), 0, [0; 4], 0),
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => (
                0,
                Family::of(&addr).to_raw(),
                protocol.to_raw(),
                addr_key(&addr),
                port,
            ),
        }
    };
    let (fa, afa, pa, aa, porta) = parts(a);
    let (fb, afb, pb, ab, portb) = parts(b);
    let c_int = |x: u32, y: u32| (x.wrapping_sub(y) as i32).cmp(&0);
    c_int(fa, fb)
        .then((i32::from(afa) - i32::from(afb)).cmp(&0))
        .then((i32::from(pa) - i32::from(pb)).cmp(&0))
        .then_with(|| {
            aa.iter()
                .zip(ab.iter())
                .map(|(x, y)| c_int(*x, *y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
        .then((i32::from(porta) - i32::from(portb)).cmp(&0))
}

/// libipvs ipvs_cmp_dests: address then port.
fn cmp_dests(a: &Dest, b: &Dest) -> Ordering {
    let c_int = |x: u32, y: u32| (x.wrapping_sub(y) as i32).cmp(&0);
    addr_key(&a.key.addr)
        .iter()
        .zip(addr_key(&b.key.addr).iter())
        .map(|(x, y)| c_int(*x, *y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
        .then((i32::from(a.key.port) - i32::from(b.key.port)).cmp(&0))
}

/// ipvsadm print_title.
fn title(out: &mut String, mode: ListMode) {
    let _ = match mode {
        ListMode::Stats => writeln!(
            out,
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        ),
        ListMode::Rate => writeln!(
            out,
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        ),
        ListMode::Thresholds => writeln!(
            out,
            "{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        ),
        ListMode::PersistentConn => writeln!(
            out,
            "{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn"
        ),
        ListMode::TunInfo => writeln!(
            out,
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn"
        ),
        ListMode::Default => writeln!(
            out,
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
        ),
    };
}

fn service_line(out: &mut String, s: &Service, o: &ListOptions, names: &dyn Names) {
    let st = s.stats.unwrap_or_default();
    let start = out.len();
    match o.mode {
        ListMode::Stats => {
            push_svc_name(out, &s.key, names);
            pad_from(out, start, 33);
            for v in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                largenum(out, v, o.exact);
            }
        }
        ListMode::Rate => {
            push_svc_name(out, &s.key, names);
            pad_from(out, start, 33);
            for v in [st.cps, st.inpps, st.outpps, st.inbps, st.outbps] {
                largenum(out, v, o.exact);
            }
        }
        _ => push_summary(out, s, names),
    }
    out.push('\n');
}

/// The service line of ipvsadm's default listing, without the newline:
/// `TCP  10.0.0.3:80 wrr persistent 300`, `FWM  7 sh (sh-port)`.
pub fn service_summary(s: &Service) -> String {
    let mut out = String::new();
    push_summary(&mut out, s, &Numeric);
    out
}

fn push_summary(out: &mut String, s: &Service, names: &dyn Names) {
    push_svc_name(out, &s.key, names);
    out.push(' ');
    out.push_str(&s.scheduler);
    if has_sched_flags(s.flags) {
        let _ = write!(out, " ({})", sched_flags(&s.scheduler, s.flags));
    }
    if let Some(p) = s.persistence {
        let _ = write!(out, " persistent {}", p.timeout);
        if let Some(m) = mask_text(s.key.family(), p.netmask) {
            let _ = write!(out, " mask {m}");
        }
        if let Some(pe) = &s.pe_name {
            let _ = write!(out, " pe {pe}");
        }
    }
    if s.flags.has(ServiceFlags::ONEPACKET) {
        out.push_str(" ops");
    }
}

fn dest_line(out: &mut String, s: &Service, d: &Dest, o: &ListOptions, names: &dyn Names) {
    out.push_str("  -> ");
    let start = out.len();
    push_addrport_named(out, &d.key.addr, d.key.port, key_protocol(&s.key), names);
    // ipvsadm: dname[28] = '\0' for non-IPv6 services.
    if !s.key.family().eq(&Family::V6) {
        truncate_from(out, start, 28);
    }
    pad_from(out, start, 28);
    let st = d.stats.unwrap_or_default();
    // ipvsadm's columns: each one space, then right-aligned in its width.
    let int = |out: &mut String, v: i64, width: usize| {
        out.push(' ');
        push_col_int(out, v, width);
    };
    let text = |out: &mut String, v: &str, width: usize| {
        out.push(' ');
        push_col(out, v, width);
    };
    // Every mode but the counters ends with the connection counts.
    let conns = |out: &mut String| {
        int(out, d.active_conns.into(), 10);
        int(out, d.inact_conns.into(), 10);
    };
    match o.mode {
        ListMode::Stats => {
            for v in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                largenum(out, v, o.exact);
            }
        }
        ListMode::Rate => {
            let _ = write!(out, " {:>8} {:>8} {:>8}", st.cps, st.inpps, st.outpps);
            largenum(out, st.inbps, o.exact);
            largenum(out, st.outbps, o.exact);
        }
        ListMode::Thresholds => {
            int(out, d.u_threshold.into(), 10);
            int(out, d.l_threshold.into(), 10);
            conns(out);
        }
        ListMode::PersistentConn => {
            int(out, d.weight.into(), 9);
            int(out, d.persist_conns.into(), 11);
            conns(out);
        }
        ListMode::TunInfo => {
            text(out, fwd_name(&d.fwd), 7);
            text(out, &tun_info(&d.fwd), 13);
            int(out, d.weight.into(), 6);
            conns(out);
        }
        ListMode::Default => {
            text(out, fwd_name(&d.fwd), 7);
            int(out, d.weight.into(), 6);
            conns(out);
        }
    }
    out.push('\n');
}

/// Appends one service of a `-L` listing and its destinations (sorted
/// like ipvsadm unless `o.sort` is off), for listings written as the
/// table is read: [`list_head`], then this for each service in the order
/// [`sort_services`] gives.
pub fn list_service(
    out: &mut String,
    s: &Service,
    dests: &[Dest],
    o: &ListOptions,
    names: &dyn Names,
) {
    service_line(out, s, o, names);
    let mut ds: Vec<&Dest> = dests.iter().collect();
    if o.sort {
        ds.sort_by(|a, b| cmp_dests(a, b));
    }
    for d in ds {
        dest_line(out, s, d, o, names);
    }
}

fn service_block(out: &mut String, entry: &ServiceEntry, o: &ListOptions, names: &dyn Names) {
    list_service(out, &entry.0, &entry.1, o, names);
}

fn sorted(entries: &[ServiceEntry], sort: bool) -> Vec<&ServiceEntry> {
    let mut v: Vec<&ServiceEntry> = entries.iter().collect();
    if sort {
        v.sort_by(|a, b| cmp_services(&a.0, &b.0));
    }
    v
}

/// Sorts services in the order ipvsadm lists them (libipvs ipvs_sort_services).
pub fn sort_services(services: &mut [Service]) {
    services.sort_by(cmp_services);
}

/// Appends the head of a `-L` listing: the version line and the title.
pub fn list_head(out: &mut String, info: &Info, o: &ListOptions) {
    let (ma, mi, pa) = info.version_triple();
    let _ = writeln!(
        out,
        "IP Virtual Server version {ma}.{mi}.{pa} (size={})",
        info.conn_tab_size
    );
    title(out, o.mode);
}

/// Sorts services and their destinations in place the way ipvsadm lists them
/// (for `--json`, which shares the text listing's order).
pub fn sort_table(entries: &mut [ServiceEntry]) {
    entries.sort_by(|a, b| cmp_services(&a.0, &b.0));
    for (_, ds) in entries.iter_mut() {
        ds.sort_by(cmp_dests);
    }
}

/// `ipvsadm -Ln [mode]`: version header, title, every service.
pub fn list(info: &Info, entries: &[ServiceEntry], o: &ListOptions) -> String {
    list_named(info, entries, o, &Numeric)
}

/// `ipvsadm -L [mode]`, with names from `names`.
pub fn list_named(
    info: &Info,
    entries: &[ServiceEntry],
    o: &ListOptions,
    names: &dyn Names,
) -> String {
    // About 70 bytes a line: one allocation for the whole listing.
    let lines = entries.len() + entries.iter().map(|e| e.1.len()).sum::<usize>();
    let mut out = String::with_capacity(128 + 72 * lines);
    list_head(&mut out, info, o);
    for e in sorted(entries, o.sort) {
        service_block(&mut out, e, o, names);
    }
    out
}

/// `ipvsadm -Ln -t ADDR:PORT` (one service): title and the service, no version line.
pub fn list_one(entry: &ServiceEntry, o: &ListOptions) -> String {
    list_one_named(entry, o, &Numeric)
}

/// `ipvsadm -L -t ADDR:PORT`, with names from `names`.
pub fn list_one_named(entry: &ServiceEntry, o: &ListOptions, names: &dyn Names) -> String {
    let mut out = String::new();
    title(&mut out, o.mode);
    service_block(&mut out, entry, o, names);
    out
}

/// `ipvsadm -S -n`: the rules that recreate the table.
pub fn save(entries: &[ServiceEntry]) -> String {
    let mut out = String::new();
    for (s, dests) in sorted(entries, true) {
        let name = rule_svc_name(&s.key);
        let _ = write!(out, "-A {name} -s {}", s.scheduler);
        if let Some(p) = s.persistence {
            let _ = write!(out, " -p {}", p.timeout);
            if let Some(m) = mask_text(s.key.family(), p.netmask) {
                let _ = write!(out, " -M {m}");
            }
            if let Some(pe) = &s.pe_name {
                let _ = write!(out, " --pe {pe}");
            }
        }
        if s.flags.has(ServiceFlags::ONEPACKET) {
            out.push_str(" -o");
        }
        if has_sched_flags(s.flags) {
            let _ = write!(out, " -b {}", sched_flags(&s.scheduler, s.flags));
        }
        out.push('\n');
        let mut ds: Vec<&Dest> = dests.iter().collect();
        ds.sort_by(|a, b| cmp_dests(a, b));
        for d in ds {
            let dname = addrport(&d.key.addr, d.key.port);
            let base = format!(
                "-a {name} -r {dname} {} -w {}",
                fwd_switch(&d.fwd),
                d.weight
            );
            let _ = match d.fwd {
                FwdMethod::Tunnel {
                    tun_type: TunnelType::Gue,
                    port,
                    flags,
                } => writeln!(
                    out,
                    "{base} --tun-type gue --tun-port {port} {}",
                    tun_flag_opt(flags)
                ),
                FwdMethod::Tunnel {
                    tun_type: TunnelType::Gre,
                    flags,
                    ..
                } => writeln!(out, "{base} --tun-type gre {}", tun_flag_opt(flags)),
                FwdMethod::Tunnel {
                    tun_type: TunnelType::Ipip,
                    ..
                } => writeln!(out, "{base} --tun-type {}", tun_name(TunnelType::Ipip)),
                _ => writeln!(out, "{base}"),
            };
        }
    }
    out
}

/// `ipvsadm -L --timeout`.
pub fn timeouts(t: &Timeouts) -> String {
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        t.tcp, t.tcp_fin, t.udp
    )
}

/// `ipvsadm -L --daemon`.
pub fn daemons(ds: &[Daemon]) -> String {
    let mut out = String::new();
    for d in ds {
        let role = match d.state {
            DaemonState::Master => "master",
            DaemonState::Backup => "backup",
        };
        let _ = write!(
            out,
            "{role} sync daemon (mcast={}, syncid={}",
            d.mcast_ifn, d.sync_id
        );
        if let Some(m) = d.sync_maxlen.filter(|m| *m != 0) {
            let _ = write!(out, ", maxlen={m}");
        }
        if let Some(g) = d.mcast_group {
            let _ = write!(out, ", group={g}");
        }
        if let Some(p) = d.mcast_port.filter(|p| *p != 0) {
            let _ = write!(out, ", port={p}");
        }
        if let Some(t) = d.mcast_ttl.filter(|t| *t != 0) {
            let _ = write!(out, ", ttl={t}");
        }
        out.push_str(")\n");
    }
    out
}

#[cfg(test)]
mod tests;
