//! The `--json` rendering of the IPVS table; the schema is documented in
//! `ipvs-sys/JSON.md` (version 1). Field names are stable; new fields may be added.

use crate::format::ServiceEntry;
use crate::types::*;
use serde_json::{json, Map, Value};

/// Schema version written as `"schema"`.
pub const SCHEMA_VERSION: u32 = 1;

fn stats(s: &Option<Stats>) -> Value {
    match s {
        None => Value::Null,
        Some(s) => json!({
            "conns": s.conns, "inpkts": s.inpkts, "outpkts": s.outpkts,
            "inbytes": s.inbytes, "outbytes": s.outbytes,
            "cps": s.cps, "inpps": s.inpps, "outpps": s.outpps,
            "inbps": s.inbps, "outbps": s.outbps,
        }),
    }
}

fn family(f: Family) -> &'static str {
    match f {
        Family::V4 => "inet",
        Family::V6 => "inet6",
    }
}

fn service(s: &Service) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("family".into(), json!(family(s.key.family())));
    match s.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            m.insert(
                "protocol".into(),
                json!(protocol.name().to_ascii_lowercase()),
            );
            m.insert("address".into(), json!(addr.to_string()));
            m.insert("port".into(), json!(port));
        }
        ServiceKey::Fwmark { mark, .. } => {
            m.insert("fwmark".into(), json!(mark));
        }
    }
    m.insert("scheduler".into(), json!(s.scheduler));
    m.insert("flags".into(), json!(s.flags.0));
    m.insert(
        "one_packet".into(),
        json!(s.flags.has(ServiceFlags::ONEPACKET)),
    );
    m.insert(
        "persistence".into(),
        match s.persistence {
            None => Value::Null,
            Some(p) => json!({"timeout": p.timeout, "netmask": p.netmask}),
        },
    );
    m.insert("pe".into(), json!(s.pe_name));
    m.insert("stats".into(), stats(&s.stats));
    m
}

fn dest(d: &Dest) -> Value {
    let (method, tunnel) = match d.fwd {
        FwdMethod::Masq => ("masq", Value::Null),
        FwdMethod::Local => ("local", Value::Null),
        FwdMethod::Route => ("route", Value::Null),
        FwdMethod::Bypass => ("bypass", Value::Null),
        FwdMethod::Tunnel {
            tun_type,
            port,
            flags,
        } => (
            "tunnel",
            json!({
                "type": match tun_type { TunnelType::Ipip => "ipip", TunnelType::Gue => "gue", TunnelType::Gre => "gre" },
                "port": port,
                "flags": flags,
            }),
        ),
    };
    json!({
        "address": d.key.addr.to_string(),
        "port": d.key.port,
        "forward": method,
        "tunnel": tunnel,
        "weight": d.weight,
        "upper_threshold": d.u_threshold,
        "lower_threshold": d.l_threshold,
        "active_conns": d.active_conns,
        "inactive_conns": d.inact_conns,
        "persistent_conns": d.persist_conns,
        "stats": stats(&d.stats),
    })
}

/// The whole table: `{"schema":1,"version":"1.2.1","conn_tab_size":N,"services":[…]}`.
pub fn table(info: Option<&Info>, entries: &[ServiceEntry]) -> Value {
    let services: Vec<Value> = entries
        .iter()
        .map(|(s, ds)| {
            let mut m = service(s);
            m.insert(
                "destinations".into(),
                Value::Array(ds.iter().map(dest).collect()),
            );
            Value::Object(m)
        })
        .collect();
    let mut top = Map::new();
    top.insert("schema".into(), json!(SCHEMA_VERSION));
    if let Some(i) = info {
        let (a, b, c) = i.version_triple();
        top.insert("version".into(), json!(format!("{a}.{b}.{c}")));
        top.insert("conn_tab_size".into(), json!(i.conn_tab_size));
    }
    top.insert("services".into(), Value::Array(services));
    Value::Object(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_fields() {
        let mut s = Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: "10.0.0.1".parse().unwrap(),
                port: 80,
            },
            "rr",
        );
        s.persistence = Some(Persistence {
            timeout: 30,
            netmask: u32::MAX,
        });
        let d = Dest::new(
            "10.0.0.2".parse().unwrap(),
            80,
            FwdMethod::Tunnel {
                tun_type: TunnelType::Gue,
                port: 6080,
                flags: 1,
            },
        );
        let v = table(
            Some(&Info {
                version: 0x010201,
                conn_tab_size: 4096,
            }),
            &[(s, vec![d])],
        );
        assert_eq!(v["schema"], 1);
        assert_eq!(v["version"], "1.2.1");
        assert_eq!(v["services"][0]["protocol"], "tcp");
        assert_eq!(v["services"][0]["persistence"]["timeout"], 30);
        let dj = &v["services"][0]["destinations"][0];
        assert_eq!(dj["forward"], "tunnel");
        assert_eq!(dj["tunnel"]["type"], "gue");
        assert_eq!(dj["tunnel"]["port"], 6080);
        assert_eq!(dj["weight"], 1);
    }
}
