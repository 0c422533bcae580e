//! From the conf crate's model to what the daemon runs: the LVS engine's
//! virtual servers, the checkers' specifications and the sync daemon.
//! Everything that cannot be programmed is an error naming the virtual
//! server, so a reload with such a file changes nothing.

pub mod checks;
pub mod lvs;
pub mod vrrp;

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, RandomState};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use ::checks::RealServerChecks;
use conf::model as m;
use ipvs_sys::{Daemon, DaemonState};

use conf::statements::Statement;

use crate::daemon::{ConfigSource, DirectorConfig, Load, Running};

/// Builds the daemon's configuration from a validated model.
pub fn director_config(config: &m::Config) -> Result<DirectorConfig, Vec<String>> {
    let mut build = Build::default();
    for vs in &config.virtual_servers {
        build.virtual_server(config, vs);
    }
    build.finish(config)
}

/// A daemon configuration being built, virtual server by virtual server,
/// with every error found on the way.
#[derive(Debug, Default)]
struct Build {
    out: DirectorConfig,
    errors: Vec<String>,
}

impl Build {
    /// Adds the IPVS services of `vs` (several for a `group`) and the checks
    /// of their real servers.
    fn virtual_server(&mut self, config: &m::Config, vs: &m::VirtualServer) {
        let keys = match lvs::service_keys(vs, &config.virtual_server_groups) {
            Ok(keys) => keys,
            Err(e) => {
                self.errors.push(e);
                return;
            }
        };
        for key in keys {
            let name = ipvs_sys::error::KeyDisplay(&key).to_string();
            let server = match lvs::virtual_server(vs, key) {
                Ok(s) => s,
                Err(e) => {
                    self.errors.push(format!("virtual_server {name}: {e}"));
                    continue;
                }
            };
            let vs_index = self.out.virtual_servers.len();
            // keepalived suspends the checkers of an address-based virtual
            // server only (a fwmark service has no address to watch).
            if let (true, ipvs_sys::ServiceKey::Addr { addr, .. }) = (vs.ha_suspend, key) {
                self.out.ha_suspend.insert(vs_index, addr);
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
                        Ok(spec) => specs.push(Arc::new(spec)),
                        Err(e) => self.errors.push(format!(
                            "virtual_server {name}: real_server {}: {e}",
                            ipvs_sys::format::addrport(&real.address, plan.dest.key.port)
                        )),
                    }
                }
                self.out.checks.push(RealServerChecks {
                    key: (vs_index, real_index),
                    checks: specs.into(),
                });
            }
            self.out.virtual_servers.push(Arc::new(server));
        }
    }

    /// Adds again what an unchanged `virtual_server` statement gave last
    /// time: the services `made.servers` of the running configuration, their
    /// checks and `ha_suspend`. False when the running configuration does
    /// not hold them (it is not the one `made` describes).
    fn reuse(&mut self, running: &Running<'_>, made: &Made) -> bool {
        let holds = |i: usize| running.engine.server(i).map(|vs| vs.plan.service.key);
        let Some(checks) = running.config.checks.get(made.checks.clone()) else {
            return false;
        };
        let fits = holds(made.servers.start) == Some(made.first_key)
            && holds(made.servers.end - 1).is_some()
            && checks.iter().all(|c| made.servers.contains(&c.key.0));
        if !fits {
            return false;
        }
        let first = self.out.virtual_servers.len();
        for (offset, old) in made.servers.clone().enumerate() {
            if let Some(vs) = running.engine.server(old) {
                self.out.virtual_servers.push(vs.clone());
            }
            if let Some(addr) = running.config.ha_suspend.get(&old) {
                self.out.ha_suspend.insert(first + offset, *addr);
            }
        }
        for real in checks {
            self.out.checks.push(RealServerChecks {
                key: (real.key.0 - made.servers.start + first, real.key.1),
                checks: real.checks.clone(),
            });
        }
        true
    }

    /// What the statements built since `start` made (`None` if no service).
    fn made_since(&self, start: (usize, usize)) -> Option<Made> {
        let servers = start.0..self.out.virtual_servers.len();
        let first_key = self.out.virtual_servers.get(start.0)?.plan.service.key;
        Some(Made {
            servers,
            checks: start.1..self.out.checks.len(),
            first_key,
        })
    }

    /// Where the next statement's services and checks will start.
    fn mark(&self) -> (usize, usize) {
        (self.out.virtual_servers.len(), self.out.checks.len())
    }

    /// Adds the settings outside the virtual servers (VRRP, `lvs_flush`,
    /// timeouts, the sync daemon); the configuration, or every error.
    fn finish(mut self, config: &m::Config) -> Result<DirectorConfig, Vec<String>> {
        let (out, errors) = (&mut self.out, &mut self.errors);
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
        if self.errors.is_empty() {
            Ok(self.out)
        } else {
            Err(self.errors)
        }
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
///
/// A reload parses and converts only the `virtual_server` statements that
/// changed (by the hash of their text) and takes the others from what runs,
/// when the file can be cut into statements safely
/// ([`conf::statements::top_level`]), everything else in it is as before, and
/// neither the last load nor this one has any diagnostic. Otherwise it reads
/// the whole file, as keepalived does on every reload.
#[derive(Debug)]
pub struct FileSource {
    /// The file.
    path: PathBuf,
    /// `--config-id`, `--strict`.
    options: conf::LoadOptions,
    /// What runs.
    parts: Parts,
    /// What the last load made of the file's statements.
    known: Option<Statements>,
    /// Hashes statements' texts.
    hasher: TextHasher,
}

/// What a load made of a file's `virtual_server` statements.
#[derive(Debug)]
struct Statements {
    /// The hash of every other statement (`global_defs`, groups, …), on
    /// which converting a virtual server depends.
    context: u64,
    /// By the hash of a `virtual_server` statement's text.
    made: HashMap<u64, Made, BuildHasherDefault<conf::parse::PointerHasher>>,
    /// How many services and real servers the load gave: what runs must
    /// have as many to be what this describes.
    servers: usize,
    checks: usize,
}

/// What one `virtual_server` statement made, by index in the configuration
/// the load gave.
#[derive(Debug, Clone)]
struct Made {
    servers: Range<usize>,
    checks: Range<usize>,
    /// The first service's key, to recognise it in the running configuration.
    first_key: ipvs_sys::ServiceKey,
}

/// The statements of a file, each `virtual_server` one with its hash.
struct Cut<'t> {
    statements: Vec<Statement<'t>>,
    hashes: Vec<Option<u64>>,
    context: u64,
}

impl FileSource {
    pub fn new(path: PathBuf, options: conf::LoadOptions, parts: Parts) -> Self {
        FileSource {
            path,
            options,
            parts,
            known: None,
            hasher: TextHasher::new(),
        }
    }

    /// The whole file through the conf crate (includes, macros, TOML…).
    fn load_whole(&self) -> Result<DirectorConfig, Vec<String>> {
        let loaded = conf::load(&self.path, &conf::RealFs, &self.options);
        accept(&loaded)?;
        director_config(&loaded.config)
    }

    /// A file cut into statements: only the changed virtual servers when
    /// the last load's statements can be reused, else every statement.
    fn load_cut(
        &mut self,
        cut: &Cut<'_>,
        running: Option<Running<'_>>,
    ) -> Result<(DirectorConfig, bool), Vec<String>> {
        let name = self.path.to_string_lossy().into_owned();
        let known = self.known.as_ref().filter(|k| k.context == cut.context);
        let running = running.filter(|r| {
            known.is_some_and(|k| r.engine.len() == k.servers && r.config.checks.len() == k.checks)
        });
        if let (Some(known), Some(running)) = (known, running) {
            let reused: Vec<Option<&Made>> = cut
                .hashes
                .iter()
                .map(|h| h.and_then(|h| known.made.get(&h)))
                .collect();
            let changed: Vec<Statement<'_>> = cut
                .statements
                .iter()
                .zip(&reused)
                .filter(|(_, r)| r.is_none())
                .map(|(s, _)| *s)
                .collect();
            let loaded = conf::load_statements(&name, &changed, &self.options);
            if loaded.diagnostics.is_empty() {
                if let Some((config, made)) = assemble(&loaded.config, cut, &reused, Some(running))
                {
                    let config = config?;
                    self.known = Some(made);
                    return Ok((config, false));
                }
            }
        }
        let loaded = conf::load_statements(&name, &cut.statements, &self.options);
        accept(&loaded)?;
        let none = vec![None; cut.statements.len()];
        match assemble(&loaded.config, cut, &none, None) {
            Some((config, made)) => {
                let config = config?;
                self.known = loaded.diagnostics.is_empty().then_some(made);
                Ok((config, true))
            }
            // The model's virtual servers are not the statements' (no
            // clean file is known to do this): nothing to reuse next time.
            None => {
                let config = director_config(&loaded.config)?;
                self.known = None;
                Ok((config, true))
            }
        }
    }

    fn cut<'t>(&self, text: &'t str) -> Option<Cut<'t>> {
        let statements = conf::statements::top_level(text)?;
        let is_server = |s: &Statement<'_>| s.keyword == "virtual_server";
        let context = statements
            .iter()
            .filter(|s| !is_server(s))
            .fold(0, |h, s| self.hasher.hash(h, s.text));
        let hashes = statements
            .iter()
            .map(|s| is_server(s).then(|| self.hasher.hash(0, s.text)))
            .collect();
        Some(Cut {
            statements,
            hashes,
            context,
        })
    }
}

/// A keyed 64-bit hash of texts, quick over megabytes of statements. Each
/// 8-byte word `w` moves the state `h` to `((h ^ w) <<< 23) * K` (K odd):
/// a bijection of `h` for a given word and of the word for a given `h`, so
/// two texts of one length that differ in one word never collide. The key
/// is drawn per process, so no file can be written to collide with another.
#[derive(Debug, Clone, Copy)]
struct TextHasher {
    key: u64,
}

impl TextHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn new() -> Self {
        TextHasher {
            key: RandomState::new().hash_one(0x5eed_u64),
        }
    }

    /// `text` hashed on from `previous` (0 to start).
    fn hash(&self, previous: u64, text: &str) -> u64 {
        let step = |h: u64, w: u64| (h ^ w).rotate_left(23).wrapping_mul(Self::K);
        let mut words = text.as_bytes().chunks_exact(8);
        let mut h = step(self.key, previous);
        for word in words.by_ref() {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            h = step(h, u64::from_le_bytes(bytes));
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        h = step(step(h, u64::from_le_bytes(tail)), text.len() as u64);
        // splitmix64's finalizer spreads the last steps over every bit.
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

/// Builds the configuration from the statements of `cut`, the virtual
/// servers `reused` taken from `running`, the others from `config` (the
/// model of the other statements, in order), with what each statement
/// made. `None` when the model does not match the statements or `running`
/// lacks what is reused.
fn assemble(
    config: &m::Config,
    cut: &Cut<'_>,
    reused: &[Option<&Made>],
    running: Option<Running<'_>>,
) -> Option<(Result<DirectorConfig, Vec<String>>, Statements)> {
    let mut build = Build::default();
    let mut parsed = config.virtual_servers.iter();
    let mut made = HashMap::default();
    for (hash, reuse) in cut.hashes.iter().zip(reused) {
        let Some(hash) = hash else {
            continue;
        };
        let mark = build.mark();
        match reuse {
            Some(m) => {
                if !build.reuse(&running?, m) {
                    return None;
                }
            }
            None => build.virtual_server(config, parsed.next()?),
        }
        if let Some(m) = build.made_since(mark) {
            made.insert(*hash, m);
        }
    }
    if parsed.next().is_some() {
        return None;
    }
    let made = Statements {
        context: cut.context,
        made,
        servers: build.out.virtual_servers.len(),
        checks: build.out.checks.len(),
    };
    Some((build.finish(config), made))
}

/// Logs the warnings of `loaded`; its errors, if any.
fn accept(loaded: &conf::Loaded) -> Result<(), Vec<String>> {
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
    Ok(())
}

impl ConfigSource for FileSource {
    fn load(&mut self, running: Option<Running<'_>>) -> Result<Load, Vec<String>> {
        let cuttable = conf::Format::of(&self.path) == conf::Format::Keepalived && self.parts.lvs;
        let text = cuttable
            .then(|| conf::FileSource::read(&conf::RealFs, &self.path).ok())
            .flatten();
        let (config, whole) = match text.as_deref().and_then(|t| self.cut(t)) {
            Some(cut) => self.load_cut(&cut, running)?,
            None => {
                let config = self.load_whole()?;
                self.known = None;
                (config, true)
            }
        };
        Ok(Load {
            config: self.parts.select(config),
            whole,
        })
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

    #[test]
    fn texts_differing_in_one_word_or_in_length_hash_apart() {
        let hasher = TextHasher::new();
        let text = "virtual_server 10.0.0.1 80 {\n  real_server 10.0.1.1 80 { weight 1 }\n}\n";
        let base = hasher.hash(0, text);
        assert_eq!(base, hasher.hash(0, text));
        for at in 0..text.len() {
            let mut changed = text.as_bytes().to_vec();
            changed[at] ^= 0x20;
            let changed = String::from_utf8(changed).unwrap();
            assert_ne!(hasher.hash(0, &changed), base, "{changed:?}");
        }
        assert_ne!(hasher.hash(0, &text[..text.len() - 1]), base);
        assert_ne!(hasher.hash(0, &format!("{text}\0")), base);
        assert_ne!(hasher.hash(1, text), base);
        assert_ne!(TextHasher::new().hash(0, text), base);
    }

    /// Virtual servers of every kind the statements cut: addresses, a
    /// group, a fwmark, `ha_suspend`, several real servers and checkers.
    fn servers_text(weight: u32, extra: &str) -> String {
        let mut text = String::from(
            "global_defs {\n  router_id t\n}\n\
             virtual_server_group g {\n  10.0.9.1-2 80\n}\n",
        );
        for s in 1..=4 {
            let w = if s == 3 { weight } else { 1 };
            text.push_str(&format!(
                "virtual_server 10.0.0.{s} 80 {{\n  protocol TCP\n  lvs_sched wlc\n  ha_suspend\n\
                 real_server 10.0.1.{s} 80 {{\n    weight {w}\n    TCP_CHECK {{ connect_timeout 3 }}\n  }}\n\
                 real_server 10.0.2.{s} 80 {{\n    HTTP_GET {{ url {{ path / status_code 200 }} }}\n  }}\n}}\n"
            ));
            if s == 2 {
                text.push_str(extra);
            }
        }
        text.push_str(
            "virtual_server group g {\n  protocol TCP\n  real_server 10.0.3.1 80 {\n    TCP_CHECK { }\n  }\n}\n\
             virtual_server fwmark 7 {\n  real_server 10.0.4.1 80 {\n    MISC_CHECK {\n      misc_path \"/bin/true\"\n    }\n  }\n}\n",
        );
        text
    }

    /// A file source over a file of its own.
    struct Fixture {
        dir: tempfile::TempDir,
        source: FileSource,
    }

    impl Fixture {
        fn new(text: &str) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("keepalived.conf");
            std::fs::write(&path, text).unwrap();
            let source = FileSource::new(
                path,
                conf::LoadOptions::default(),
                Parts {
                    vrrp: true,
                    lvs: true,
                },
            );
            Fixture { dir, source }
        }

        fn rewrite(&self, text: &str) {
            std::fs::write(self.dir.path().join("keepalived.conf"), text).unwrap();
        }
    }

    /// What a daemon that loaded `config` runs.
    fn running(config: &DirectorConfig) -> (crate::lvs::Engine, DirectorConfig) {
        let (engine, _) = crate::lvs::Engine::new(config.virtual_servers.clone());
        let rest = DirectorConfig {
            virtual_servers: Vec::new(),
            ..config.clone()
        };
        (engine, rest)
    }

    fn reload(f: &mut Fixture, before: &DirectorConfig, text: &str) -> Result<Load, Vec<String>> {
        f.rewrite(text);
        let (engine, rest) = running(before);
        f.source.load(Some(Running {
            engine: &engine,
            config: &rest,
        }))
    }

    /// The whole file loaded by a source that knows nothing.
    fn whole(text: &str) -> DirectorConfig {
        let load = Fixture::new(text).source.load(None).unwrap();
        assert!(load.whole);
        load.config
    }

    #[test]
    fn a_reload_converts_only_the_changed_virtual_servers_and_gives_what_the_whole_file_gives() {
        let mut f = Fixture::new(&servers_text(1, ""));
        let first = f.source.load(None).unwrap();
        assert!(first.whole);
        assert_eq!(first.config.virtual_servers.len(), 7);
        let (engine, rest) = running(&first.config);
        for (text, changed) in [
            // One real server's weight: that virtual server alone is new.
            (servers_text(5, ""), vec![2]),
            // A virtual server inserted in the middle: those after it move.
            (
                servers_text(1, "virtual_server 10.0.0.9 80 {\n  protocol TCP\n}\n"),
                vec![2],
            ),
            // A comment inside a block changes its text.
            (
                servers_text(1, "").replacen("lvs_sched wlc\n", "lvs_sched wlc # x\n", 1),
                vec![0],
            ),
        ] {
            f.rewrite(&text);
            let load = f
                .source
                .load(Some(Running {
                    engine: &engine,
                    config: &rest,
                }))
                .unwrap();
            assert!(!load.whole, "{text}");
            assert_eq!(
                format!("{:?}", load.config),
                format!("{:?}", whole(&text)),
                "{text}"
            );
            // Unchanged virtual servers share the running check specifications;
            // the changed one's were built anew.
            for real in &load.config.checks {
                let vs = &load.config.virtual_servers[real.key.0];
                let old = first
                    .config
                    .virtual_servers
                    .iter()
                    .position(|o| o.plan.service.key == vs.plan.service.key);
                let shared = old.is_some_and(|o| {
                    first.config.checks.iter().any(|c| {
                        c.key.0 == o
                            && c.checks
                                .iter()
                                .zip(real.checks.iter())
                                .all(|(a, b)| std::sync::Arc::ptr_eq(a, b))
                    })
                });
                assert_eq!(
                    shared,
                    !changed.contains(&real.key.0),
                    "{text}: {:?}",
                    real.key
                );
            }
            // The file as it was: the source knows the last load, not the first.
            f.rewrite(&servers_text(1, ""));
            let back = f
                .source
                .load(Some(Running {
                    engine: &engine,
                    config: &rest,
                }))
                .unwrap();
            assert_eq!(format!("{:?}", back.config), format!("{:?}", first.config));
        }
    }

    #[test]
    fn a_reload_reads_the_whole_file_when_anything_else_changed_or_is_wrong() {
        let text = servers_text(1, "");
        let mut f = Fixture::new(&text);
        let first = f.source.load(None).unwrap().config;
        // The statements the virtual servers depend on.
        let group = text.replace("10.0.9.1-2 80", "10.0.9.1-3 80");
        let load = reload(&mut f, &first, &group).unwrap();
        assert!(load.whole);
        assert_eq!(load.config.virtual_servers.len(), 8);
        // An error in the changed statement: refused, with its line.
        let broken = group.replacen("weight 1", "weight x", 1);
        let errors = reload(&mut f, &load.config, &broken).unwrap_err();
        assert!(
            errors.iter().any(|e| e.contains("keepalived.conf:12:")),
            "{errors:?}"
        );
        // A warning: read as a whole, so it is reported as for the whole file.
        let warned = group.replacen("protocol TCP\n", "", 1);
        let warned_load = reload(&mut f, &load.config, &warned).unwrap();
        assert!(warned_load.whole);
        // ... and the next reload too, since the running one has a warning.
        let again = reload(&mut f, &warned_load.config, &warned).unwrap();
        assert!(again.whole);
        // A running configuration that is not the one last loaded.
        let fixed = reload(&mut f, &load.config, &group).unwrap();
        assert!(fixed.whole);
        let stale = reload(&mut f, &first, &group).unwrap();
        assert!(stale.whole);
        assert_eq!(
            format!("{:?}", stale.config),
            format!("{:?}", whole(&group))
        );
        // The preprocessor.
        let macros = format!("$W=2\n{}", group.replacen("weight 1", "weight $W", 1));
        let load = reload(&mut f, &stale.config, &macros).unwrap();
        assert!(load.whole);
        assert_eq!(load.config.virtual_servers[0].plan.reals[0].dest.weight, 2);
    }
}
