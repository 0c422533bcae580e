//! Pure parser for the `ipvsadm -S -n` / `ipvsadm -R` rules format (one ipvsadm
//! command line per line), producing [`Op`]s for batched apply.
//!
//! Defaults follow ipvsadm 1.31: scheduler `wlc`, `-p` without a value = 300 s,
//! persistence mask /32 (v4) or /128 (v6), forwarding `-g` (direct routing),
//! weight 1, and for `-g`/`-i` on non-fwmark services the real server port is
//! forced to the virtual port.

use crate::batch::Op;
use crate::types::*;
use std::net::{IpAddr, Ipv4Addr};

/// ipvsadm DEF_SCHED.
pub const DEFAULT_SCHEDULER: &str = "wlc";
/// ipvsadm default persistence timeout (IPVS_SVC_PERSISTENT_TIMEOUT).
pub const DEFAULT_PERSISTENCE: u32 = 300;

/// A parse error with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct RuleError {
    /// Line number (1-based).
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cmd {
    AddSvc,
    EditSvc,
    DelSvc,
    AddDest,
    EditDest,
    DelDest,
    Clear,
    Zero,
}

/// Parses `host:port` / `[v6]:port` (numeric only).
fn parse_addrport(s: &str) -> Result<(IpAddr, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once(']')
            .ok_or_else(|| format!("bad address `{s}'"))?;
        (h, p.strip_prefix(':'))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (s, None),
        }
    };
    let addr: IpAddr = host.parse().map_err(|_| format!("bad address `{s}'"))?;
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("bad port in `{s}'"))?,
        None => 0,
    };
    Ok((addr, port))
}

fn parse_sched_flags(sched: &str, s: &str) -> Result<u32, String> {
    let mut f = 0;
    for name in s.split(',') {
        f |= match (sched, name) {
            (_, "flag-1") => ServiceFlags::SCHED1,
            (_, "flag-2") => ServiceFlags::SCHED2,
            (_, "flag-3") => ServiceFlags::SCHED3,
            ("sh", "sh-fallback") | ("mh", "mh-fallback") => ServiceFlags::SCHED1,
            ("sh", "sh-port") | ("mh", "mh-port") => ServiceFlags::SCHED2,
            _ => return Err(format!("invalid scheduler flag `{name}'")),
        };
    }
    Ok(f)
}

/// Parses one line; `Ok(None)` for blank lines and comments.
pub fn parse_line(line: &str) -> Result<Option<Op>, String> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    if toks.is_empty() || toks[0].starts_with('#') {
        return Ok(None);
    }
    let mut cmd = None;
    let mut proto = None;
    let mut vaddr = None;
    let mut fwmark = None;
    let mut v6 = false;
    let mut sched = None;
    let mut persistent = None;
    let mut netmask = None;
    let mut pe = None;
    let mut ops = false;
    let mut sflags = None;
    let mut real = None;
    let mut fwd = 3u32;
    let mut weight = 1i32;
    let (mut uth, mut lth) = (0u32, 0u32);
    let (mut tun_type, mut tun_port, mut tun_flags) = (TunnelType::Ipip, 0u16, 0u16);
    let mut i = 0;
    let need = |i: usize| -> Result<&str, String> {
        toks.get(i + 1)
            .copied()
            .ok_or_else(|| format!("option `{}' needs a value", toks[i]))
    };
    let num =
        |s: &str| -> Result<u32, String> { s.parse().map_err(|_| format!("bad number `{s}'")) };
    while i < toks.len() {
        let t = toks[i];
        let mut set_cmd = |c: Cmd| -> Result<(), String> {
            if cmd.replace(c).is_some() {
                return Err("more than one command".into());
            }
            Ok(())
        };
        match t {
            "-A" | "--add-service" => set_cmd(Cmd::AddSvc)?,
            "-E" | "--edit-service" => set_cmd(Cmd::EditSvc)?,
            "-D" | "--delete-service" => set_cmd(Cmd::DelSvc)?,
            "-a" | "--add-server" => set_cmd(Cmd::AddDest)?,
            "-e" | "--edit-server" => set_cmd(Cmd::EditDest)?,
            "-d" | "--delete-server" => set_cmd(Cmd::DelDest)?,
            "-C" | "--clear" => set_cmd(Cmd::Clear)?,
            "-Z" | "--zero" => set_cmd(Cmd::Zero)?,
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" => {
                proto = Some(match t {
                    "-t" | "--tcp-service" => Protocol::Tcp,
                    "-u" | "--udp-service" => Protocol::Udp,
                    _ => Protocol::Sctp,
                });
                vaddr = Some(parse_addrport(need(i)?)?);
                i += 1;
            }
            "-f" | "--fwmark-service" => {
                fwmark = Some(num(need(i)?)?);
                i += 1;
            }
            "-6" | "--ipv6" => v6 = true,
            "-s" | "--scheduler" => {
                sched = Some(need(i)?.to_string());
                i += 1;
            }
            "-p" | "--persistent" => {
                // Optional value: taken when the next token is a number.
                match toks.get(i + 1).and_then(|v| v.parse::<u32>().ok()) {
                    Some(v) => {
                        persistent = Some(v);
                        i += 1;
                    }
                    None => persistent = Some(DEFAULT_PERSISTENCE),
                }
            }
            "-M" | "--netmask" => {
                let v = need(i)?;
                netmask = Some(match v.parse::<Ipv4Addr>() {
                    Ok(m) => u32::from(m),
                    Err(_) => num(v)?,
                });
                i += 1;
            }
            "--pe" => {
                pe = Some(need(i)?.to_string());
                i += 1;
            }
            "-o" | "--ops" => ops = true,
            "-b" | "--sched-flags" => {
                sflags = Some(need(i)?.to_string());
                i += 1;
            }
            "-r" | "--real-server" => {
                real = Some(parse_addrport(need(i)?)?);
                i += 1;
            }
            "-g" | "--gatewaying" => fwd = 3,
            "-i" | "--ipip" => fwd = 2,
            "-m" | "--masquerading" => fwd = 0,
            "-w" | "--weight" => {
                weight = need(i)?
                    .parse()
                    .map_err(|_| format!("bad weight `{}'", toks[i + 1]))?;
                i += 1;
            }
            "-x" | "--u-threshold" => {
                uth = num(need(i)?)?;
                i += 1;
            }
            "-y" | "--l-threshold" => {
                lth = num(need(i)?)?;
                i += 1;
            }
            "--tun-type" => {
                tun_type = match need(i)? {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    other => return Err(format!("illegal tunnel type `{other}'")),
                };
                i += 1;
            }
            "--tun-port" => {
                tun_port = num(need(i)?)?
                    .try_into()
                    .map_err(|_| "illegal tunnel port specified".to_string())?;
                i += 1;
            }
            "--tun-nocsum" => tun_flags = tun_flags::NOCSUM,
            "--tun-csum" => tun_flags = tun_flags::CSUM,
            "--tun-remcsum" => tun_flags = tun_flags::REMCSUM,
            other => return Err(format!("invalid option `{other}'")),
        }
        i += 1;
    }
    let cmd = cmd.ok_or("no command")?;
    let key = match (fwmark, proto, vaddr) {
        (Some(mark), _, _) => Some(ServiceKey::Fwmark {
            family: if v6 { Family::V6 } else { Family::V4 },
            mark,
        }),
        (None, Some(protocol), Some((addr, port))) => Some(ServiceKey::Addr {
            protocol,
            addr,
            port,
        }),
        _ => None,
    };
    let key_req = || key.ok_or_else(|| "no service specified".to_string());
    Ok(Some(match cmd {
        Cmd::Clear => Op::Flush,
        Cmd::Zero => Op::Zero(key),
        Cmd::DelSvc => Op::DelService(key_req()?),
        Cmd::AddSvc | Cmd::EditSvc => {
            let key = key_req()?;
            let sched = sched.unwrap_or_else(|| DEFAULT_SCHEDULER.to_string());
            let mut s = Service::new(key, sched.clone());
            let mut flags = 0;
            if let Some(b) = sflags {
                flags |= parse_sched_flags(&sched, &b)?;
            }
            if ops {
                flags |= ServiceFlags::ONEPACKET;
            }
            if let Some(timeout) = persistent {
                flags |= ServiceFlags::PERSISTENT;
                s.persistence = Some(Persistence {
                    timeout,
                    netmask: netmask.unwrap_or(match key.family() {
                        Family::V4 => u32::MAX,
                        Family::V6 => 128,
                    }),
                });
            }
            s.flags = ServiceFlags(flags);
            s.pe_name = pe;
            if cmd == Cmd::AddSvc {
                Op::AddService(s)
            } else {
                Op::EditService(s)
            }
        }
        Cmd::AddDest | Cmd::EditDest | Cmd::DelDest => {
            let key = key_req()?;
            let (addr, mut port) = real.ok_or("no real server specified")?;
            if let ServiceKey::Addr { port: vport, .. } = key {
                // ipvsadm: "-g" and "-i" use the virtual port.
                if fwd == 3 || fwd == 2 {
                    port = vport;
                }
            }
            if cmd == Cmd::DelDest {
                Op::DelDest(key, DestKey { addr, port })
            } else {
                let method = match fwd {
                    0 => FwdMethod::Masq,
                    2 => FwdMethod::Tunnel {
                        tun_type,
                        port: tun_port,
                        flags: tun_flags,
                    },
                    _ => FwdMethod::Route,
                };
                let mut d = Dest::new(addr, port, method);
                d.weight = weight;
                d.u_threshold = uth;
                d.l_threshold = lth;
                if cmd == Cmd::AddDest {
                    Op::AddDest(key, d)
                } else {
                    Op::EditDest(key, d)
                }
            }
        }
    }))
}

/// Parses a whole rules text.
pub fn parse(text: &str) -> Result<Vec<Op>, RuleError> {
    let mut ops = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(op)) => ops.push(op),
            Ok(None) => {}
            Err(msg) => return Err(RuleError { line: n + 1, msg }),
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format;

    #[test]
    fn save_output_parses_back_to_the_same_table() {
        let mut s = Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Sctp,
                addr: "2001:db8::1".parse().unwrap(),
                port: 443,
            },
            "mh",
        );
        s.flags =
            ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::ONEPACKET | ServiceFlags::PERSISTENT);
        s.persistence = Some(Persistence {
            timeout: 60,
            netmask: 64,
        });
        let mut d1 = Dest::new(
            "10.0.0.3".parse().unwrap(),
            443,
            FwdMethod::Tunnel {
                tun_type: TunnelType::Gre,
                port: 0,
                flags: tun_flags::CSUM,
            },
        );
        d1.weight = 5;
        let d2 = Dest::new("2001:db8::2".parse().unwrap(), 8443, FwdMethod::Masq);
        let mut f = Service::new(
            ServiceKey::Fwmark {
                family: Family::V4,
                mark: 9,
            },
            "rr",
        );
        f.flags = ServiceFlags(ServiceFlags::PERSISTENT);
        f.persistence = Some(Persistence {
            timeout: 300,
            netmask: 0xffff_0000,
        });
        let table = vec![
            (s.clone(), vec![d1.clone(), d2.clone()]),
            (f.clone(), vec![]),
        ];
        let text = format::save(&table);
        let ops = parse(&text).unwrap();
        assert_eq!(
            ops,
            vec![
                Op::AddService(s.clone()),
                Op::AddDest(s.key, d1),
                Op::AddDest(s.key, d2),
                Op::AddService(f),
            ]
        );
    }

    #[test]
    fn ipvsadm_defaults() {
        let ops = parse("-A -t 10.0.0.1:80 -p\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080\n").unwrap();
        let Op::AddService(s) = &ops[0] else {
            panic!("{ops:?}")
        };
        assert_eq!(s.scheduler, "wlc");
        assert_eq!(
            s.persistence,
            Some(Persistence {
                timeout: 300,
                netmask: u32::MAX
            })
        );
        let Op::AddDest(_, d) = &ops[1] else {
            panic!("{ops:?}")
        };
        // -g default forces the virtual port.
        assert_eq!(d.key.port, 80);
        assert_eq!(d.fwd, FwdMethod::Route);
        assert_eq!(d.weight, 1);
    }

    #[test]
    fn errors_carry_line_numbers() {
        let e = parse("-C\n-A -t 10.0.0.1:80 --bogus\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("--bogus"));
        assert!(parse("-A -t 10.0.0.1:80 -s sh -b mh-port").is_err());
        assert_eq!(parse("# c\n\n-C").unwrap(), vec![Op::Flush]);
    }
}
