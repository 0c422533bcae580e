//! keepalived.conf virtual servers → the LVS engine's plans.
//!
//! keepalived's rules (check/ipwrapper.c, check/check_data.c): a
//! `virtual_server group NAME` becomes one IPVS service per group member
//! (address ranges expanded); a real server without a port takes the
//! virtual server's; the forwarding method is the real server's
//! `lvs_method`, else the virtual server's, else NAT; `inhibit_on_failure`
//! may be set on either; a sorry server takes the virtual server's port
//! when it has none.

use std::net::IpAddr;

use conf::model::{self as m, LvsMethod, ServiceKey as ConfKey};
use ipvs_sys::{
    Dest, Family, FwdMethod, Persistence, Protocol, Service, ServiceFlags, ServiceKey, TunnelType,
};

use crate::lvs::{
    RealServerNotify, RealServerPlan, SorryServerPlan, VirtualServer, VirtualServerPlan,
};

/// The IPVS services one configured virtual server stands for (several for
/// a `group`), or why it cannot be programmed.
pub fn service_keys(
    vs: &m::VirtualServer,
    groups: &[m::VirtualServerGroup],
) -> Result<Vec<ServiceKey>, String> {
    let protocol = protocol(vs.proto());
    match vs.key() {
        Some(ConfKey::Address { addr, port }) => Ok(vec![ServiceKey::Addr {
            protocol,
            addr,
            port,
        }]),
        Some(ConfKey::Fwmark(mark)) => Ok(vec![ServiceKey::Fwmark {
            family: fwmark_family(vs),
            mark,
        }]),
        Some(ConfKey::Group(name)) => {
            let group = groups.iter().find(|g| g.name == name).ok_or_else(|| {
                format!("virtual_server group {name}: no virtual_server_group {name}")
            })?;
            let mut keys = Vec::new();
            for member in &group.members {
                match (member.address, member.port, member.fwmark) {
                    (Some(first), Some(port), None) => {
                        for addr in expand_range(first, member.range_last)
                            .map_err(|e| format!("virtual_server_group {name}: {e}"))?
                        {
                            keys.push(ServiceKey::Addr {
                                protocol,
                                addr,
                                port,
                            });
                        }
                    }
                    (None, None, Some(mark)) => keys.push(ServiceKey::Fwmark {
                        family: fwmark_family(vs),
                        mark,
                    }),
                    _ => {
                        return Err(format!(
                            "virtual_server_group {name}: incomplete member {member:?}"
                        ))
                    }
                }
            }
            Ok(keys)
        }
        None => Err("virtual_server without an address and port, fwmark or group".into()),
    }
}

/// `ADDR-LAST`: the last component (IPv4 octet, IPv6 group) runs up to LAST.
fn expand_range(first: IpAddr, last: Option<u16>) -> Result<Vec<IpAddr>, String> {
    let Some(last) = last else {
        return Ok(vec![first]);
    };
    match first {
        IpAddr::V4(a) => {
            let o = a.octets();
            let last =
                u8::try_from(last).map_err(|_| format!("range end {last} is not an octet"))?;
            if last < o[3] {
                return Err(format!("range {a}-{last} runs backwards"));
            }
            Ok((o[3]..=last)
                .map(|x| IpAddr::from([o[0], o[1], o[2], x]))
                .collect())
        }
        IpAddr::V6(a) => {
            let g = a.segments();
            if last < g[7] {
                return Err(format!("range {a}-{last:x} runs backwards"));
            }
            Ok((g[7]..=last)
                .map(|x| {
                    let mut s = g;
                    s[7] = x;
                    IpAddr::from(s)
                })
                .collect())
        }
    }
}

fn protocol(p: m::Protocol) -> Protocol {
    match p {
        m::Protocol::TCP => Protocol::Tcp,
        m::Protocol::UDP => Protocol::Udp,
        m::Protocol::SCTP => Protocol::Sctp,
    }
}

/// A fwmark service's family: `ip_family inet6`, else that of its real
/// servers, else IPv4 (keepalived check_data.c).
fn fwmark_family(vs: &m::VirtualServer) -> Family {
    match vs.ip_family.as_deref() {
        Some("inet6") => Family::V6,
        Some(_) => Family::V4,
        None => vs
            .real_servers
            .first()
            .map_or(Family::V4, |r| Family::of(&r.address)),
    }
}

/// keepalived's forwarding methods; TUN is IP-in-IP (tunnel options are
/// not in keepalived.conf(5) of 2.2.7).
fn fwd(method: LvsMethod) -> FwdMethod {
    match method {
        LvsMethod::NAT => FwdMethod::Masq,
        LvsMethod::DR => FwdMethod::Route,
        LvsMethod::TUN => FwdMethod::Tunnel {
            tun_type: TunnelType::Ipip,
            port: 0,
            flags: 0,
        },
    }
}

/// Scheduler flags written as their own keywords (`sh-port`, `flag-1`…) and `ops`.
fn service_flags(vs: &m::VirtualServer) -> ServiceFlags {
    let mut bits = 0;
    for (word, bit) in [
        ("flag-1", ServiceFlags::SCHED1),
        ("sh-fallback", ServiceFlags::SCHED1),
        ("mh-fallback", ServiceFlags::SCHED1),
        ("flag-2", ServiceFlags::SCHED2),
        ("sh-port", ServiceFlags::SCHED2),
        ("mh-port", ServiceFlags::SCHED2),
        ("flag-3", ServiceFlags::SCHED3),
    ] {
        if vs.other.contains_key(word) {
            bits |= bit;
        }
    }
    if vs.ops {
        bits |= ServiceFlags::ONEPACKET;
    }
    ServiceFlags(bits)
}

/// `persistence_granularity`: an IPv4 netmask, or an IPv6 prefix length;
/// per-client by default.
fn persistence(vs: &m::VirtualServer, family: Family) -> Result<Option<Persistence>, String> {
    let Some(timeout) = vs.persistence_timeout else {
        return Ok(None);
    };
    let timeout = u32::try_from(timeout.as_secs())
        .map_err(|_| "persistence_timeout is too large".to_string())?;
    let netmask = match (family, vs.persistence_granularity.as_deref()) {
        (Family::V4, None) => u32::MAX,
        (Family::V6, None) => 128,
        (Family::V4, Some(g)) => {
            let mask: std::net::Ipv4Addr = g
                .parse()
                .map_err(|_| format!("persistence_granularity {g}: not an IPv4 netmask"))?;
            u32::from(mask)
        }
        (Family::V6, Some(g)) => match g.trim_start_matches('/').parse::<u32>() {
            Ok(p) if (1..=128).contains(&p) => p,
            _ => {
                return Err(format!(
                    "persistence_granularity {g}: not an IPv6 prefix length"
                ))
            }
        },
    };
    Ok(Some(Persistence { timeout, netmask }))
}

fn vs_port(key: &ServiceKey) -> u16 {
    match key {
        ServiceKey::Addr { port, .. } => *port,
        ServiceKey::Fwmark { .. } => 0,
    }
}

/// The engine's virtual server for IPVS service `key` of `vs`.
pub fn virtual_server(vs: &m::VirtualServer, key: ServiceKey) -> Result<VirtualServer, String> {
    let mut service = Service::new(key, vs.lvs_sched.clone());
    service.flags = service_flags(vs);
    service.persistence = persistence(vs, key.family())?;
    service.pe_name = vs.persistence_engine.clone();
    let port = vs_port(&key);
    let reals = vs
        .real_servers
        .iter()
        .map(|r| {
            let mut dest = Dest::new(
                r.address,
                r.port.unwrap_or(port),
                fwd(r.lvs_method.unwrap_or(vs.method())),
            );
            dest.weight = r.weight;
            dest.u_threshold = r.uthreshold.unwrap_or(0);
            dest.l_threshold = r.lthreshold.unwrap_or(0);
            RealServerPlan {
                dest: dest.into(),
                inhibit_on_failure: r.inhibit_on_failure || vs.inhibit_on_failure,
            }
        })
        .collect();
    let sorry = vs.sorry_server.as_ref().map(|s| SorryServerPlan {
        dest: Dest::new(
            s.address,
            s.port.unwrap_or(port),
            fwd(vs.sorry_server_lvs_method.unwrap_or(vs.method())),
        )
        .into(),
        inhibit: vs.sorry_server_inhibit,
    });
    Ok(VirtualServer {
        plan: VirtualServerPlan {
            service,
            reals,
            sorry,
            quorum: vs.quorum,
            hysteresis: vs.hysteresis,
        },
        alpha: vs
            .real_servers
            .iter()
            .map(|r| vs.alpha || r.checkers.iter().any(|c| c.alpha))
            .collect(),
        real_notify: real_notify(&vs.real_servers),
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        omega: vs.omega,
    })
}

/// The notify scripts of each real server; none at all (no allocation: at
/// 10,000 real servers a list of empty entries was half a megabyte) when no
/// real server has one.
fn real_notify(reals: &[m::RealServer]) -> Vec<RealServerNotify> {
    if reals
        .iter()
        .all(|r| r.notify_up.is_none() && r.notify_down.is_none())
    {
        return Vec::new();
    }
    reals
        .iter()
        .map(|r| RealServerNotify {
            up: r.notify_up.clone(),
            down: r.notify_down.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> conf::Config {
        let loaded = conf::load_keepalived_str("t.conf", text, &conf::LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.config
    }

    #[test]
    fn a_dr_service_with_persistence_and_sorry_server() {
        let c = load(
            "virtual_server 10.0.0.3 80 {
                protocol TCP
                lvs_sched wrr
                lvs_method DR
                persistence_timeout 50
                persistence_granularity 255.255.255.0
                sorry_server 10.0.0.99 8080
                quorum 2
                hysteresis 1
                real_server 10.0.1.1 80 { weight 3 inhibit_on_failure }
                real_server 10.0.1.2 { uthreshold 100 notify_down \"/bin/down x\" }
                real_server 10.0.1.3 8080 { lvs_method NAT }
            }",
        );
        let vs = &c.virtual_servers[0];
        let keys = service_keys(vs, &c.virtual_server_groups).unwrap();
        assert_eq!(
            keys,
            [ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: "10.0.0.3".parse().unwrap(),
                port: 80
            }]
        );
        let v = virtual_server(vs, keys[0]).unwrap();
        assert_eq!(v.plan.service.scheduler, "wrr");
        assert_eq!(
            v.plan.service.persistence,
            Some(Persistence {
                timeout: 50,
                netmask: 0xffff_ff00
            })
        );
        let r = &v.plan.reals;
        assert_eq!(
            (r[0].dest.fwd, r[0].dest.weight, r[0].inhibit_on_failure),
            (FwdMethod::Route, 3, true)
        );
        // Port and method fall back to the virtual server's; thresholds carry.
        assert_eq!(
            (r[1].dest.key.port, r[1].dest.fwd, r[1].dest.u_threshold),
            (80, FwdMethod::Route, 100)
        );
        assert_eq!((r[2].dest.key.port, r[2].dest.fwd), (8080, FwdMethod::Masq));
        let sorry = v.plan.sorry.as_ref().unwrap();
        assert_eq!(
            (sorry.dest.key.port, sorry.dest.fwd),
            (8080, FwdMethod::Route)
        );
        assert_eq!((v.plan.quorum, v.plan.hysteresis), (2, 1));
        assert_eq!(v.real_notify[1].down.as_deref(), Some("/bin/down x"));
        assert_eq!(v.real_notify.len(), 3);
        // Without any script there is no list at all.
        let quiet = load("virtual_server 10.0.0.3 80 { real_server 10.0.1.1 80 { } }");
        let v = virtual_server(&quiet.virtual_servers[0], keys[0]).unwrap();
        assert!(v.real_notify.is_empty());
    }

    #[test]
    fn a_group_expands_ranges_and_fwmarks() {
        let c = load(
            "virtual_server_group web {
                10.0.0.1-3 80
                fwmark 7
            }
            virtual_server group web {
                lvs_sched sh
                sh-port
                protocol UDP
                real_server 10.0.1.1 80 { }
            }",
        );
        let keys = service_keys(&c.virtual_servers[0], &c.virtual_server_groups).unwrap();
        let shown: Vec<String> = keys
            .iter()
            .map(|k| ipvs_sys::error::KeyDisplay(k).to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "UDP 10.0.0.1:80",
                "UDP 10.0.0.2:80",
                "UDP 10.0.0.3:80",
                "FWM 7"
            ]
        );
        let v = virtual_server(&c.virtual_servers[0], keys[0]).unwrap();
        assert!(v.plan.service.flags.has(ServiceFlags::SCHED2));
    }

    #[test]
    fn a_missing_group_is_an_error_naming_it() {
        // conf's validation reports it too; the glue must not trust that.
        let c = conf::load_keepalived_str(
            "t.conf",
            "virtual_server group nope { real_server 10.0.1.1 80 { } }",
            &conf::LoadOptions::default(),
        )
        .config;
        let err = service_keys(&c.virtual_servers[0], &c.virtual_server_groups).unwrap_err();
        assert_eq!(
            err,
            "virtual_server group nope: no virtual_server_group nope"
        );
    }

    #[test]
    fn ranges_expand_in_both_families() {
        assert_eq!(
            expand_range("10.0.0.254".parse().unwrap(), Some(255))
                .unwrap()
                .len(),
            2
        );
        assert!(expand_range("10.0.0.5".parse().unwrap(), Some(256)).is_err());
        let v6 = expand_range("2001:db8::a".parse().unwrap(), Some(0xc)).unwrap();
        assert_eq!(v6.last().unwrap().to_string(), "2001:db8::c");
    }
}
