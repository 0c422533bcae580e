//! From the conf crate's model to what the daemon runs: the LVS engine's
//! virtual servers, the checkers' specifications and the sync daemon.
//! Everything that cannot be programmed is an error naming the virtual
//! server, so a reload with such a file changes nothing.

pub mod checks;
pub mod lvs;
pub mod vrrp;

use std::path::PathBuf;

use ::checks::RealServerChecks;
use conf::model as m;
use ipvs_sys::{Daemon, DaemonState};

use crate::daemon::{ConfigSource, DirectorConfig};

/// Builds the daemon's configuration from a validated model.
pub fn director_config(config: &m::Config) -> Result<DirectorConfig, Vec<String>> {
    let mut errors = Vec::new();
    let mut out = DirectorConfig::default();
    for vs in &config.virtual_servers {
        let keys = match lvs::service_keys(vs, &config.virtual_server_groups) {
            Ok(keys) => keys,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for key in keys {
            let name = ipvs_sys::error::KeyDisplay(&key).to_string();
            let server = match lvs::virtual_server(vs, key) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(format!("virtual_server {name}: {e}"));
                    continue;
                }
            };
            let vs_index = out.virtual_servers.len();
            // keepalived suspends the checkers of an address-based virtual
            // server only (a fwmark service has no address to watch).
            if let (true, ipvs_sys::ServiceKey::Addr { addr, .. }) = (vs.ha_suspend, key) {
                out.ha_suspend.insert(vs_index, addr);
            }
            for (real_index, (real, plan)) in
                vs.real_servers.iter().zip(&server.plan.reals).enumerate()
            {
                let ctx = checks::CheckContext {
                    config,
                    vs,
                    real,
                    real_port: plan.dest.key.port,
                };
                let mut specs = Vec::new();
                for c in &real.checkers {
                    match checks::check_spec(ctx, c) {
                        Ok(spec) => specs.push(std::sync::Arc::new(spec)),
                        Err(e) => errors.push(format!(
                            "virtual_server {name}: real_server {}: {e}",
                            ipvs_sys::format::addrport(&real.address, plan.dest.key.port)
                        )),
                    }
                }
                out.checks.push(RealServerChecks {
                    key: (vs_index, real_index),
                    checks: specs,
                });
            }
            out.virtual_servers.push(server);
        }
    }
    match vrrp::instances(config) {
        Ok(instances) => out.vrrp = instances,
        Err(e) => errors.extend(e),
    }
    out.flush_at_start = config.global_defs.lvs_flush;
    out.flush_on_stop = config.global_defs.other.contains_key("lvs_flush_on_stop");
    match timeouts(&config.global_defs.lvs_timeouts) {
        Ok(t) => out.timeouts = t,
        Err(e) => errors.push(e),
    }
    match sync_daemon(&config.global_defs.lvs_sync_daemon) {
        Ok(sync) => out.sync_daemon = sync,
        Err(e) => errors.push(e),
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// `lvs_timeouts [tcp N] [tcpfin N] [udp N]` (seconds; keepalived.conf(5)).
fn timeouts(words: &[String]) -> Result<Option<ipvs_sys::Timeouts>, String> {
    if words.is_empty() {
        return Ok(None);
    }
    let mut t = ipvs_sys::Timeouts::default();
    let mut it = words.iter();
    while let Some(word) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("lvs_timeouts: {word} needs a value"))?;
        let secs: u32 = value
            .parse()
            .map_err(|_| format!("lvs_timeouts: {word} {value}: not a number of seconds"))?;
        match word.as_str() {
            "tcp" => t.tcp = secs,
            "tcpfin" => t.tcp_fin = secs,
            "udp" => t.udp = secs,
            _ => return Err(format!("lvs_timeouts: unknown timeout {word}")),
        }
    }
    Ok(Some(t))
}

/// `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N]
/// [ttl N] [group ADDR]` (keepalived.conf(5), global_defs).
fn sync_daemon(words: &[String]) -> Result<Option<(String, Daemon)>, String> {
    let [interface, instance, options @ ..] = words else {
        return if words.is_empty() {
            Ok(None)
        } else {
            Err("lvs_sync_daemon: expected INTERFACE VRRP_INSTANCE".into())
        };
    };
    let mut daemon = Daemon {
        state: DaemonState::Backup,
        mcast_ifn: interface.clone(),
        sync_id: 0,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
        unknown: Vec::new(),
    };
    let mut it = options.iter();
    while let Some(word) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("lvs_sync_daemon: {word} needs a value"))?;
        let bad = || format!("lvs_sync_daemon: {word} {value}: bad value");
        match word.as_str() {
            "id" => daemon.sync_id = value.parse::<u8>().map_err(|_| bad())?.into(),
            "maxlen" => daemon.sync_maxlen = Some(value.parse().map_err(|_| bad())?),
            "port" => daemon.mcast_port = Some(value.parse().map_err(|_| bad())?),
            "ttl" => daemon.mcast_ttl = Some(value.parse().map_err(|_| bad())?),
            "group" => daemon.mcast_group = Some(value.parse().map_err(|_| bad())?),
            _ => return Err(format!("lvs_sync_daemon: unknown option {word}")),
        }
    }
    Ok(Some((instance.clone(), daemon)))
}

/// Which parts of the configuration the daemon runs (keepalived `-P`
/// runs VRRP only, `-C` the checkers and IPVS only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// VRRP instances.
    pub vrrp: bool,
    /// Virtual servers, checkers and the IPVS settings.
    pub lvs: bool,
}

impl Parts {
    /// Drops what is not run from `config`.
    pub fn select(self, mut config: DirectorConfig) -> DirectorConfig {
        if !self.vrrp {
            config.vrrp.clear();
        }
        if !self.lvs {
            let vrrp = std::mem::take(&mut config.vrrp);
            config = DirectorConfig {
                vrrp,
                ..DirectorConfig::default()
            };
        }
        config
    }
}

/// A keepalived.conf (or TOML) file as the daemon's configuration source.
/// Warnings are logged; errors refuse the file.
#[derive(Debug, Clone)]
pub struct FileSource {
    /// The file.
    pub path: PathBuf,
    /// `--config-id`, `--strict`.
    pub options: conf::LoadOptions,
    /// What runs.
    pub parts: Parts,
}

impl ConfigSource for FileSource {
    fn load(&mut self) -> Result<DirectorConfig, Vec<String>> {
        let loaded = conf::load(&self.path, &conf::RealFs, &self.options);
        for d in loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity != conf::Severity::Error)
        {
            tracing::warn!("{d}");
        }
        if loaded.has_errors() {
            return Err(loaded
                .diagnostics
                .iter()
                .filter(|d| d.severity == conf::Severity::Error)
                .map(ToString::to_string)
                .collect());
        }
        director_config(&loaded.config).map(|c| self.parts.select(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(text: &str) -> Result<DirectorConfig, Vec<String>> {
        let loaded = conf::load_keepalived_str("t.conf", text, &conf::LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        director_config(&loaded.config)
    }

    #[test]
    fn every_seed_config_with_virtual_servers_builds() {
        // The seed configurations, as copied into the conf crate's tests.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/tests/seeds");
        let mut built = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "conf") {
                continue;
            }
            let loaded = conf::load(&path, &conf::RealFs, &conf::LoadOptions::default());
            if loaded.has_errors() || loaded.config.virtual_servers.is_empty() {
                continue;
            }
            let d = director_config(&loaded.config)
                .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            assert_eq!(
                d.checks.len(),
                d.virtual_servers
                    .iter()
                    .map(|v| v.plan.reals.len())
                    .sum::<usize>()
            );
            built += 1;
        }
        assert!(built >= 3, "only {built} seed configs with virtual servers");
    }

    #[test]
    fn checks_are_keyed_by_service_and_real_server() {
        let d = build(
            "virtual_server_group g { 10.0.0.1-2 80 }
             virtual_server group g {
                real_server 10.0.1.1 80 { TCP_CHECK { } }
                real_server 10.0.1.2 80 { TCP_CHECK { } HTTP_GET { url { path / } } }
             }",
        )
        .unwrap();
        assert_eq!(d.virtual_servers.len(), 2);
        let keys: Vec<_> = d.checks.iter().map(|c| (c.key, c.checks.len())).collect();
        assert_eq!(keys, [((0, 0), 1), ((0, 1), 2), ((1, 0), 1), ((1, 1), 2)]);
    }

    #[test]
    fn the_sync_daemon_line_is_parsed_and_errors_name_the_option() {
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let (instance, d) = sync_daemon(&words("eth1 VI_1 id 5 port 8849 group 224.0.0.81"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (instance.as_str(), d.mcast_ifn.as_str(), d.sync_id),
            ("VI_1", "eth1", 5)
        );
        assert_eq!(d.mcast_port, Some(8849));
        assert_eq!(d.mcast_group, Some("224.0.0.81".parse().unwrap()));
        assert_eq!(sync_daemon(&[]).unwrap(), None);
        assert!(sync_daemon(&words("eth1 VI_1 id"))
            .unwrap_err()
            .contains("id needs a value"));
        assert!(sync_daemon(&words("eth1 VI_1 id 300"))
            .unwrap_err()
            .contains("id 300"));
    }

    #[test]
    fn global_lvs_settings_are_read() {
        let d = build("global_defs { lvs_flush lvs_flush_on_stop lvs_timeouts tcp 900 udp 60 }")
            .unwrap();
        assert!(d.flush_at_start && d.flush_on_stop);
        let t = d.timeouts.unwrap();
        assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 0, 60));
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert!(timeouts(&words("tcp x")).unwrap_err().contains("tcp x"));
    }

    #[test]
    fn a_bad_checker_is_an_error_naming_the_real_server() {
        let errors = build(
            "virtual_server 10.0.0.3 80 {
                protocol TCP
                real_server 10.0.1.1 80 { HTTP_GET { url { path / status_code 300-200 } } }
             }",
        )
        .unwrap_err();
        assert_eq!(
            errors,
            ["virtual_server TCP 10.0.0.3:80: real_server 10.0.1.1:80: status_code 300-200: range runs backwards"]
        );
    }
}
