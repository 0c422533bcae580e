//! keepalived.conf checkers → the checks crate's specifications.
//!
//! keepalived's rules (keepalived.conf(5), check/check_api.c): a checker
//! probes `connect_ip`/`connect_port`, else the real server's address and
//! port (SMTP_CHECK 25 and DNS_CHECK 53 when the real server has no port);
//! `delay_loop` comes from the checker, else the real server, else the
//! virtual server; `warmup` defaults to the delay loop; `alpha` may be set
//! on the checker or the virtual server; MISC_CHECK scripts run as the
//! checker's `user`, else `script_user`.

use std::net::SocketAddr;

use checks::spec::{
    parse_hex_str, DnsCheck, DnsType, FileCheck, HttpCheck, HttpProtocol, MiscCheck, SmtpCheck,
    StatusRange, TlsOptions, UdpCheck, UrlCheck, DEFAULT_DNS_PORT, DEFAULT_SMTP_PORT,
};
use checks::{CheckKind, CheckSpec, Endpoint, Timing};
use conf::model::{self as m, CheckerKind};

/// What a checker needs from the rest of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct CheckContext<'a> {
    /// The whole configuration (SSL block, track files, global_defs).
    pub config: &'a m::Config,
    /// The virtual server.
    pub vs: &'a m::VirtualServer,
    /// The real server.
    pub real: &'a m::RealServer,
    /// The port the real server is programmed with.
    pub real_port: u16,
}

/// The specification of one checker, or why it cannot run.
pub fn check_spec(ctx: CheckContext<'_>, c: &m::Checker) -> Result<CheckSpec, String> {
    let kind = kind(ctx, c)?;
    let default_port = match c.kind {
        CheckerKind::SMTP_CHECK if ctx.real.port.is_none() => DEFAULT_SMTP_PORT,
        CheckerKind::DNS_CHECK if ctx.real.port.is_none() => DEFAULT_DNS_PORT,
        _ => ctx.real_port,
    };
    let target = SocketAddr::new(
        c.connect_ip.unwrap_or(ctx.real.address),
        c.connect_port.unwrap_or(default_port),
    );
    let delay_loop = c
        .delay_loop
        .or(ctx.real.delay_loop)
        .unwrap_or(ctx.vs.delay_loop);
    let family = kind.family();
    let mut timing = Timing::defaults_for(family).with_delay_loop(family, delay_loop);
    timing.connect_timeout = c.connect_timeout;
    timing.retry = c.effective_retry();
    timing.delay_before_retry = c.effective_delay_before_retry(delay_loop);
    timing.warmup = c.warmup.unwrap_or(delay_loop);
    timing.alpha = c.alpha || ctx.vs.alpha;
    timing.log_all_failures = c.log_all_failures;
    Ok(CheckSpec {
        kind,
        endpoint: Endpoint {
            target,
            bind_addr: c.bindto,
            bind_port: c.bind_port,
            bind_if: c.bind_if.clone(),
            fwmark: c.fwmark,
        },
        timing,
    })
}

fn kind(ctx: CheckContext<'_>, c: &m::Checker) -> Result<CheckKind, String> {
    Ok(match c.kind {
        CheckerKind::TCP_CHECK => CheckKind::Tcp,
        CheckerKind::PING_CHECK => CheckKind::Ping,
        CheckerKind::HTTP_GET | CheckerKind::SSL_GET => CheckKind::Http(Box::new(http(ctx, c)?)),
        CheckerKind::MISC_CHECK => {
            let command = c.misc_path.clone().ok_or("MISC_CHECK without misc_path")?;
            let user = if c.user.is_empty() {
                &ctx.config.global_defs.script_user
            } else {
                &c.user
            };
            CheckKind::Misc(Box::new(MiscCheck {
                command,
                timeout: c.misc_timeout,
                dynamic: c.misc_dynamic,
                user: user.first().cloned(),
                group: user.get(1).cloned(),
            }))
        }
        CheckerKind::SMTP_CHECK => CheckKind::Smtp(Box::new(SmtpCheck {
            helo_name: c
                .helo_name
                .clone()
                .or_else(|| ctx.config.global_defs.smtp_helo_name.clone())
                .unwrap_or_else(local_hostname),
        })),
        CheckerKind::DNS_CHECK => {
            let mut dns = DnsCheck::default();
            if let Some(t) = &c.dns_type {
                dns.qtype =
                    DnsType::parse(t).ok_or_else(|| format!("DNS_CHECK type {t}: unknown"))?;
            }
            if let Some(name) = &c.name {
                dns.name = name.clone();
            }
            CheckKind::Dns(Box::new(dns))
        }
        CheckerKind::UDP_CHECK => {
            let mut udp = UdpCheck::default();
            if let Some(p) = &c.payload {
                let bytes = parse_hex_str(p, false)
                    .ok_or_else(|| format!("UDP_CHECK payload {p}: not hex"))?;
                udp.payload = Some(bytes.into_iter().map(|b| b.value).collect());
            }
            if let Some(pattern) = c.require_reply.first() {
                udp.require_reply = true;
                udp.reply_pattern = parse_hex_str(pattern, true)
                    .ok_or_else(|| format!("UDP_CHECK require_reply {pattern}: not hex"))?;
            } else if !c.require_reply.is_empty() {
                udp.require_reply = true;
            }
            if let Some(min) = c.min_reply_length {
                udp.min_reply_length = usize::try_from(min).unwrap_or(usize::MAX);
            }
            if let Some(max) = c.max_reply_length {
                udp.max_reply_length = usize::try_from(max).unwrap_or(usize::MAX);
            }
            CheckKind::Udp(Box::new(udp))
        }
        CheckerKind::FILE_CHECK => {
            let name = c
                .track_file
                .as_deref()
                .ok_or("FILE_CHECK without track_file")?;
            let file = ctx
                .config
                .vrrp_track_files
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| {
                    format!("FILE_CHECK track_file {name}: no vrrp_track_file {name}")
                })?;
            CheckKind::File(Box::new(FileCheck {
                path: file.file.clone().into(),
                weight: c.weight.or(file.weight).unwrap_or(0),
                reverse: c.other.contains_key("reverse"),
                dynamic: false,
            }))
        }
    })
}

fn http(ctx: CheckContext<'_>, c: &m::Checker) -> Result<HttpCheck, String> {
    let protocol = match c.http_protocol.as_deref() {
        None | Some("1.0") => HttpProtocol::Http10,
        Some("1.0C") | Some("1.0c") => HttpProtocol::Http10Close,
        Some("1.1") => HttpProtocol::Http11,
        Some(other) => return Err(format!("http_protocol {other}: expected 1.0, 1.0C or 1.1")),
    };
    let urls = c
        .url
        .iter()
        .map(|u| {
            let digest = u.digest.as_deref().map(parse_digest).transpose()?;
            let status_codes = u
                .status_code
                .iter()
                .map(|s| parse_status(s))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(UrlCheck {
                path: u.path.clone(),
                status_codes,
                digest,
                virtualhost: u.virtualhost.clone(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let tls = (c.kind == CheckerKind::SSL_GET).then(|| TlsOptions {
        enable_sni: c.enable_sni,
        ca_file: ctx
            .config
            .ssl
            .as_ref()
            .and_then(|s| s.ca.clone())
            .map(Into::into),
    });
    Ok(HttpCheck {
        protocol,
        urls,
        virtualhost: c.virtualhost.clone().or_else(|| ctx.vs.virtualhost.clone()),
        tls,
    })
}

/// `digest`: 32 hex digits of an MD5.
fn parse_digest(s: &str) -> Result<[u8; 16], String> {
    let bad = || format!("digest {s}: expected 32 hex digits");
    if s.len() != 32 {
        return Err(bad());
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = s
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(bad)?;
    }
    Ok(out)
}

/// `status_code 200` or `status_code 200-299`.
fn parse_status(s: &str) -> Result<StatusRange, String> {
    let code = |t: &str| {
        t.trim()
            .parse::<u16>()
            .map_err(|_| format!("status_code {s}: not a code or range"))
    };
    match s.split_once('-') {
        Some((lo, hi)) => {
            let (low, high) = (code(lo)?, code(hi)?);
            if low > high {
                return Err(format!("status_code {s}: range runs backwards"));
            }
            Ok(StatusRange { low, high })
        }
        None => Ok(StatusRange::single(code(s)?)),
    }
}

/// keepalived's default HELO name is the local host name.
fn local_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn specs(text: &str) -> Vec<CheckSpec> {
        let loaded = conf::load_keepalived_str("t.conf", text, &conf::LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let c = &loaded.config;
        let vs = &c.virtual_servers[0];
        let real = &vs.real_servers[0];
        let ctx = CheckContext {
            config: c,
            vs,
            real,
            real_port: real.port.or(vs.port).unwrap_or(0),
        };
        real.checkers
            .iter()
            .map(|k| check_spec(ctx, k).unwrap())
            .collect()
    }

    #[test]
    fn http_get_takes_urls_timing_and_the_virtual_servers_delay_loop() {
        let s = specs(
            "virtual_server 10.0.0.3 80 {
                delay_loop 7
                virtualhost www.example.com
                real_server 10.0.1.1 8080 {
                    HTTP_GET {
                        url { path /health status_code 200-204 digest 9b3a0c85a887a256d6939da88aabd8cd }
                        url { path /ready status_code 503 }
                        connect_timeout 2
                        nb_get_retry 4
                    }
                }
            }",
        );
        let h = &s[0];
        assert_eq!(h.endpoint.target, "10.0.1.1:8080".parse().unwrap());
        let CheckKind::Http(http) = &h.kind else {
            panic!("{:?}", h.kind)
        };
        assert_eq!(http.urls.len(), 2);
        assert_eq!(
            http.urls[0].status_codes,
            [StatusRange {
                low: 200,
                high: 204
            }]
        );
        assert_eq!(http.urls[0].digest.unwrap()[0], 0x9b);
        assert!(http.urls[1].accepts(503) && !http.urls[1].accepts(200));
        assert_eq!(http.virtualhost.as_deref(), Some("www.example.com"));
        assert!(http.tls.is_none());
        assert_eq!(h.timing.delay_loop, Duration::from_secs(7));
        assert_eq!(h.timing.warmup, Duration::from_secs(7));
        assert_eq!(h.timing.connect_timeout, Duration::from_secs(2));
        assert_eq!(h.timing.retry, 4);
        assert_eq!(h.timing.delay_before_retry, Duration::from_secs(3));
    }

    #[test]
    fn connect_options_and_default_ports() {
        let s = specs(
            "virtual_server 10.0.0.3 25 {
                lvs_method DR
                real_server 10.0.1.1 {
                    TCP_CHECK { connect_ip 10.0.2.1 connect_port 2525 bindto 10.0.0.9 bind_if eth1 fwmark 5 }
                    SMTP_CHECK { helo_name lb.example }
                    DNS_CHECK { type A name example.org }
                }
            }",
        );
        assert_eq!(s[0].endpoint.target, "10.0.2.1:2525".parse().unwrap());
        assert_eq!(s[0].endpoint.bind_addr, Some("10.0.0.9".parse().unwrap()));
        assert_eq!(s[0].endpoint.bind_if.as_deref(), Some("eth1"));
        assert_eq!(s[0].endpoint.fwmark, Some(5));
        // No real server port: SMTP 25 and DNS 53, whatever the service's port.
        assert_eq!(s[1].endpoint.target.port(), 25);
        assert_eq!(s[2].endpoint.target.port(), 53);
        let CheckKind::Dns(d) = &s[2].kind else {
            panic!()
        };
        assert_eq!((d.qtype, d.name.as_str()), (DnsType::A, "example.org"));
        assert_eq!(s[2].timing.retry, 3);
    }

    #[test]
    fn status_and_digest_errors_name_the_value() {
        assert!(parse_status("299-200").unwrap_err().contains("299-200"));
        assert!(parse_status("abc").unwrap_err().contains("abc"));
        assert!(parse_digest("12").unwrap_err().contains("32 hex digits"));
    }
}
