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
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
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

/// `host:service` (IPv6 host in brackets) with names where `names` has
/// them, cut to ipvsadm's 60-byte buffer.
fn addrport_named(
    addr: &IpAddr,
    port: u16,
    protocol: Option<Protocol>,
    names: &dyn Names,
) -> String {
    let host = names.host(addr).unwrap_or_else(|| addr.to_string());
    let service = protocol
        .and_then(|p| names.service(port, p))
        .unwrap_or_else(|| port.to_string());
    let mut s = match addr {
        IpAddr::V4(_) => format!("{host}:{service}"),
        IpAddr::V6(_) => format!("[{host}]:{service}"),
    };
    truncate(&mut s, 59);
    s
}

/// ipvsadm cuts names by bytes; a cut inside a UTF-8 character (a name
/// from /etc/hosts) moves back to the character's start.
fn truncate(s: &mut String, n: usize) {
    if s.len() > n {
        let mut at = n;
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

/// The service name column: `TCP  1.2.3.4:80`, `FWM  5`, `FWM  5 IPv6`.
fn svc_name(key: &ServiceKey, names: &dyn Names) -> String {
    match key {
        ServiceKey::Fwmark { family, mark } => match family {
            Family::V4 => format!("FWM  {mark}"),
            Family::V6 => format!("FWM  {mark} IPv6"),
        },
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let name = addrport_named(addr, *port, Some(*protocol), names);
            let mut s = format!("{:<4} {name}", protocol.name());
            // ipvsadm: svc_name[33] = '\0' for non-IPv6 services.
            if !addr.is_ipv6() {
                truncate(&mut s, 33);
            }
            s
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
    let name = svc_name(&s.key, names);
    let st = s.stats.unwrap_or_default();
    match o.mode {
        ListMode::Stats => {
            let _ = write!(out, "{name:<33}");
            for v in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                largenum(out, v, o.exact);
            }
        }
        ListMode::Rate => {
            let _ = write!(out, "{name:<33}");
            for v in [st.cps, st.inpps, st.outpps, st.inbps, st.outbps] {
                largenum(out, v, o.exact);
            }
        }
        _ => out.push_str(&summary(s, names)),
    }
    out.push('\n');
}

/// The service line of ipvsadm's default listing, without the newline:
/// `TCP  10.0.0.3:80 wrr persistent 300`, `FWM  7 sh (sh-port)`.
pub fn service_summary(s: &Service) -> String {
    summary(s, &Numeric)
}

fn summary(s: &Service, names: &dyn Names) -> String {
    let mut out = format!("{} {}", svc_name(&s.key, names), s.scheduler);
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
    out
}

fn dest_line(out: &mut String, s: &Service, d: &Dest, o: &ListOptions, names: &dyn Names) {
    let mut dname = addrport_named(&d.key.addr, d.key.port, key_protocol(&s.key), names);
    if !s.key.family().eq(&Family::V6) {
        truncate(&mut dname, 28);
    }
    let st = d.stats.unwrap_or_default();
    let _ = match o.mode {
        ListMode::Stats => {
            let _ = write!(out, "  -> {dname:<28}");
            for v in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                largenum(out, v, o.exact);
            }
            writeln!(out)
        }
        ListMode::Rate => {
            let _ = write!(
                out,
                "  -> {dname:<28} {:>8} {:>8} {:>8}",
                st.cps, st.inpps, st.outpps
            );
            largenum(out, st.inbps, o.exact);
            largenum(out, st.outbps, o.exact);
            writeln!(out)
        }
        ListMode::Thresholds => writeln!(
            out,
            "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
            d.u_threshold, d.l_threshold, d.active_conns, d.inact_conns
        ),
        ListMode::PersistentConn => writeln!(
            out,
            "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
            d.weight, d.persist_conns, d.active_conns, d.inact_conns
        ),
        ListMode::TunInfo => writeln!(
            out,
            "  -> {dname:<28} {:<7} {:<13} {:<6} {:<10} {:<10}",
            fwd_name(&d.fwd),
            tun_info(&d.fwd),
            d.weight,
            d.active_conns,
            d.inact_conns
        ),
        ListMode::Default => writeln!(
            out,
            "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
            fwd_name(&d.fwd),
            d.weight,
            d.active_conns,
            d.inact_conns
        ),
    };
}

fn service_block(out: &mut String, entry: &ServiceEntry, o: &ListOptions, names: &dyn Names) {
    let (s, dests) = entry;
    service_line(out, s, o, names);
    let mut ds: Vec<&Dest> = dests.iter().collect();
    if o.sort {
        ds.sort_by(|a, b| cmp_dests(a, b));
    }
    for d in ds {
        dest_line(out, s, d, o, names);
    }
}

fn sorted(entries: &[ServiceEntry], sort: bool) -> Vec<&ServiceEntry> {
    let mut v: Vec<&ServiceEntry> = entries.iter().collect();
    if sort {
        v.sort_by(|a, b| cmp_services(&a.0, &b.0));
    }
    v
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
    let mut out = String::new();
    let (ma, mi, pa) = info.version_triple();
    let _ = writeln!(
        out,
        "IP Virtual Server version {ma}.{mi}.{pa} (size={})",
        info.conn_tab_size
    );
    title(&mut out, o.mode);
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
