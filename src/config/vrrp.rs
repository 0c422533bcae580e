//! keepalived.conf `vrrp_instance` blocks → the VRRP core's
//! [`InstanceConfig`], with keepalived's fallbacks to `global_defs`
//! (keepalived.conf(5)): `vrrp_version`, `vrrp_garp_master_delay`/`repeat`,
//! `vrrp_strict`, `vrrp_check_unicast_src`, `default_interface`,
//! `script_user` for scripts without their own `user`.

use std::net::IpAddr;
use std::time::Duration;

use conf::model::{self as m, AuthType, VrrpState};

use crate::vrrp::config::{
    InitialState, InstanceConfig, NotifyConfig, Scope, Tracked, TrackedFile, VirtualAddress,
};
use crate::vrrp::packet::{Family, Version};
use crate::vrrp::track::{split_command, ScriptConfig};

/// The instance configurations, or one error per instance that cannot run.
pub fn instances(config: &m::Config) -> Result<Vec<InstanceConfig>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for i in &config.vrrp_instances {
        match instance(config, i) {
            Ok(c) => out.push(c),
            Err(e) => errors.push(format!("vrrp_instance {}: {e}", i.name)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn instance(config: &m::Config, i: &m::VrrpInstance) -> Result<InstanceConfig, String> {
    let g = &config.global_defs;
    let vrid = i.virtual_router_id.ok_or("no virtual_router_id")?;
    let interface = i
        .interface
        .clone()
        .or_else(|| g.default_interface.clone())
        .ok_or("no interface (and no default_interface in global_defs)")?;
    let mut c = InstanceConfig::new(&i.name, vrid, &interface);
    c.version = match i.effective_version(g) {
        2 => Version::V2,
        3 => Version::V3,
        v => return Err(format!("vrrp_version {v}: expected 2 or 3")),
    };
    // The family is the VIPs' (keepalived: an instance is IPv4 or IPv6).
    c.family = match i.virtual_ipaddress.first().map(|v| v.address.addr) {
        Some(IpAddr::V6(_)) => Family::Ipv6,
        _ => Family::Ipv4,
    };
    c.priority = i.priority;
    c.advert_int_cs = u16::try_from(i.advert_int.as_millis() / 10)
        .ok()
        .filter(|cs| *cs > 0)
        .ok_or_else(|| format!("advert_int {:?} is out of range", i.advert_int))?;
    c.initial_state = match i.state {
        Some(VrrpState::MASTER) => InitialState::Master,
        Some(VrrpState::BACKUP) | None => InitialState::Backup,
    };
    c.nopreempt = i.nopreempt;
    c.preempt_delay = i.preempt_delay.unwrap_or(Duration::ZERO);
    c.auth_pass = i
        .authentication
        .as_ref()
        .filter(|a| a.auth_type == Some(AuthType::PASS))
        .and_then(|a| a.auth_pass.clone());
    c.unicast_src = i.unicast_src_ip;
    c.unicast_peers = i.unicast_peer.clone();
    c.check_unicast_src = g.vrrp_check_unicast_src;
    c.vips = i
        .virtual_ipaddress
        .iter()
        .map(virtual_address)
        .collect::<Result<_, _>>()?;
    c.track_interfaces = i
        .track_interface
        .iter()
        .map(|t| Tracked {
            name: t.name.clone(),
            weight: signed(t, 0),
        })
        .collect();
    // keepalived watches the instance's own interface whatever the
    // track_interface list says: down means FAULT (a weight given to it
    // there is ignored), unless `dont_track_primary`.
    if !i.dont_track_primary {
        c.track_interfaces.retain(|t| t.name != c.interface);
        c.track_interfaces.push(Tracked {
            name: c.interface.clone(),
            weight: 0,
        });
    }
    for t in &i.track_script {
        let script = config
            .vrrp_scripts
            .iter()
            .find(|s| s.name == t.name)
            .ok_or_else(|| format!("track_script {}: no vrrp_script {}", t.name, t.name))?;
        // keepalived 2.2.7 disables a script whose program it cannot find
        // ("Cannot find script [[ in path - disabling", "Disabling track
        // script … since not found/accessible"): it has no weight and no
        // fault, instead of failing on every run. 004-haproxy-ha's
        // `[[ -f … ]] && exit 1 || exit 0` is such a script.
        if !program_found(&script.script) {
            tracing::warn!(
                "vrrp_instance {}: disabling track script {} since {:?} is not found or not executable",
                i.name,
                script.name,
                script.script
            );
            continue;
        }
        c.track_scripts.push(Tracked {
            name: t.name.clone(),
            weight: signed(t, script.weight),
        });
        let user = if script.user.is_empty() {
            &g.script_user
        } else {
            &script.user
        };
        c.scripts.push(ScriptConfig {
            name: script.name.clone(),
            command: script.script.clone(),
            interval: script.interval,
            timeout: script.timeout,
            rise: script.rise,
            fall: script.fall,
            user: user.first().cloned(),
        });
    }
    for t in &i.track_file {
        let file = config
            .vrrp_track_files
            .iter()
            .find(|f| f.name == t.name)
            .ok_or_else(|| format!("track_file {}: no vrrp_track_file {}", t.name, t.name))?;
        c.track_files.push(TrackedFile {
            path: file.file.clone().into(),
            weight: signed(t, file.weight.unwrap_or(1)),
        });
    }
    if let Some(d) = i.garp_master_delay.or(g.vrrp_garp_master_delay) {
        c.garp_master_delay = d;
    }
    if let Some(r) = i.garp_master_repeat.or(g.vrrp_garp_master_repeat) {
        c.garp_master_repeat = r;
    }
    c.use_vmac = i.use_vmac.as_ref().map(|name| {
        if name.is_empty() {
            format!("vrrp.{vrid}")
        } else {
            name.clone()
        }
    });
    c.accept = match (i.accept, i.no_accept) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    c.strict = g.vrrp_strict;
    c.notify = NotifyConfig {
        master: i.notify_master.clone(),
        backup: i.notify_backup.clone(),
        fault: i.notify_fault.clone(),
        stop: i.notify_stop.clone(),
        generic: i.notify.clone(),
        fifo: g
            .other
            .get("vrrp_notify_fifo")
            .or_else(|| g.other.get("notify_fifo"))
            .and_then(|v| v.first())
            .map(Into::into),
    };
    c.sync_group = config
        .vrrp_sync_groups
        .iter()
        .find(|sg| sg.group.contains(&i.name))
        .map(|sg| sg.name.clone());
    Ok(c)
}

/// Whether a script's program exists and is executable: a path as given,
/// a bare name through `PATH` (keepalived's default path when unset). Like
/// keepalived, scripts run without a shell, so a shell keyword is no program.
fn program_found(command: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &std::path::Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let Some(program) = split_command(command).into_iter().next() else {
        return false;
    };
    if program.contains('/') {
        return executable(std::path::Path::new(&program));
    }
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .any(|dir| executable(&std::path::Path::new(dir).join(&program)))
}

/// A tracked object's weight (its own, else `default`); `reverse` turns
/// it around (keepalived: the weight applies while the object is down).
fn signed(t: &m::Tracked, default: i32) -> i32 {
    let w = t.weight.unwrap_or(default);
    if t.reverse {
        -w
    } else {
        w
    }
}

fn virtual_address(v: &m::VirtualAddress) -> Result<VirtualAddress, String> {
    let mut out = VirtualAddress::host(v.address.addr);
    if let Some(len) = v.address.prefix_len {
        out.prefix_len = len;
    }
    out.broadcast = match v.brd {
        None => None,
        Some(IpAddr::V4(b)) => Some(b),
        Some(IpAddr::V6(b)) => return Err(format!("brd {b}: IPv6 has no broadcast")),
    };
    out.dev = v.dev.clone();
    out.label = v.label.clone();
    out.scope = match v.scope.as_deref() {
        None | Some("global") => Scope::Global,
        Some("site") => Scope::Site,
        Some("link") => Scope::Link,
        Some("host") => Scope::Host,
        Some("nowhere") => Scope::Nowhere,
        Some(other) => {
            return Err(format!(
                "scope {other}: expected global, site, link, host or nowhere"
            ))
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(path: &str) -> m::Config {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let loaded = conf::load(&path, &conf::RealFs, &conf::LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.config
    }

    #[test]
    fn every_seed_instance_maps() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/tests/seeds");
        let mut mapped = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let loaded = conf::load(&path, &conf::RealFs, &conf::LoadOptions::default());
            if loaded.has_errors() {
                continue;
            }
            mapped += instances(&loaded.config)
                .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
                .len();
        }
        assert!(mapped >= 10, "only {mapped} instances mapped");
    }

    #[test]
    fn the_own_interface_is_tracked_for_fault_unless_dont_track_primary() {
        let text = |extra: &str| {
            format!(
                "vrrp_instance VI_1 {{ interface eth0 virtual_router_id 51 {extra}
                 track_interface {{ eth0 weight 10 eth1 weight -5 }} }}"
            )
        };
        let map = |extra: &str| {
            let loaded =
                conf::load_keepalived_str("t.conf", &text(extra), &conf::LoadOptions::default());
            assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
            instances(&loaded.config)
                .unwrap()
                .remove(0)
                .track_interfaces
        };
        let tracked = |list: Vec<Tracked>| -> Vec<(String, i32)> {
            list.into_iter().map(|t| (t.name, t.weight)).collect()
        };
        assert_eq!(
            tracked(map("")),
            [("eth1".to_string(), -5), ("eth0".to_string(), 0)]
        );
        assert_eq!(
            tracked(map("dont_track_primary")),
            [("eth0".to_string(), 10), ("eth1".to_string(), -5)]
        );
    }

    #[test]
    fn the_haproxy_pair_maps_scripts_interfaces_and_notify() {
        let c = load("conf/tests/seeds/004-haproxy-ha.conf");
        let i = &instances(&c).unwrap()[0];
        assert!(!i.track_scripts.is_empty());
        assert_eq!(i.scripts.len(), i.track_scripts.len());
        assert!(i.notify.master.is_some());
        assert!(!i.vips.is_empty());
    }

    #[test]
    fn a_script_whose_program_is_missing_is_disabled_as_in_keepalived() {
        let loaded = conf::load_keepalived_str(
            "t.conf",
            "vrrp_script ok { script \"/bin/true\" weight 2 }
             vrrp_script path { script \"true\" weight 3 }
             vrrp_script keyword { script \"[[ -f /x ]] && exit 1 || exit 0\" weight -2 }
             vrrp_script missing { script \"/nonexistent/check.sh\" }
             vrrp_instance VI_1 {
                interface eth0
                virtual_router_id 51
                track_script { ok path keyword missing }
             }",
            &conf::LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let i = &instances(&loaded.config).unwrap()[0];
        let names: Vec<_> = i.track_scripts.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["ok", "path"]);
        assert_eq!(i.scripts.len(), 2);
    }

    #[test]
    fn fallbacks_come_from_global_defs() {
        let loaded = conf::load_keepalived_str(
            "t.conf",
            "global_defs { vrrp_version 3 vrrp_garp_master_delay 2 vrrp_strict }
             vrrp_instance V6 {
                interface eth0
                virtual_router_id 52
                advert_int 0.1
                use_vmac
                virtual_ipaddress { fd00::100/64 dev eth0 scope link }
             }",
            &conf::LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let i = &instances(&loaded.config).unwrap()[0];
        assert_eq!(
            (i.version, i.family, i.advert_int_cs),
            (Version::V3, Family::Ipv6, 10)
        );
        assert_eq!(i.garp_master_delay, Duration::from_secs(2));
        assert!(i.strict && !i.accepts_vip_traffic());
        assert_eq!(i.use_vmac.as_deref(), Some("vrrp.52"));
        assert_eq!((i.vips[0].prefix_len, i.vips[0].scope), (64, Scope::Link));
    }
}
