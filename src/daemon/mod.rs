//! The director daemon's event loop (`lvsd run`).
//!
//! One task owns all state. Everything else talks to it through channels:
//! the checkers send verdicts, VRRP sends state changes, the control socket
//! sends requests, signals arrive as events, and a timer asks for a periodic
//! reconcile. Effects (IPVS operations, notify scripts) leave through the
//! LVS runtime and the notify queue. The loop never blocks on I/O itself.

pub mod addresses;
pub mod health;
pub mod heap;
pub mod notify;
pub mod sd_notify;
pub mod serve;
pub mod vrrp;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::control::{Incoming, Request, Response};
use crate::lvs::by_key::ByKey;
use crate::lvs::runtime::{LvsRuntime, Pass, RuntimeError};
use crate::lvs::status::{virtual_server_status, LastCheck};
use crate::lvs::{Effect, Verdict, VirtualServer};
use crate::status::Status;

/// How often the kernel table is re-read and repaired even without events
/// (hand edits with ipvsadm are undone within this interval).
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(10);

/// The part of a configuration the loop runs (built from the conf model).
#[derive(Debug, Clone, Default)]
pub struct DirectorConfig {
    /// Virtual servers, in configuration order (a `group` gives several).
    /// Shared with the engine once running.
    pub virtual_servers: Vec<Arc<VirtualServer>>,
    /// The checks of every real server, keyed by (virtual server index,
    /// real server index).
    pub checks: Vec<::checks::RealServerChecks<(usize, usize)>>,
    /// `lvs_sync_daemon`: the VRRP instance it follows and the daemon to
    /// run (its role is set from the instance's state).
    pub sync_daemon: Option<(String, ipvs_sys::Daemon)>,
    /// `lvs_flush`: empty the whole IPVS table at start instead of adopting it.
    pub flush_at_start: bool,
    /// `lvs_flush_on_stop`: empty the whole table at stop, not only our services.
    pub flush_on_stop: bool,
    /// `lvs_timeouts`: tcp, tcpfin, udp (0 = leave as is).
    pub timeouts: Option<ipvs_sys::Timeouts>,
    /// The VRRP instances.
    pub vrrp: Vec<crate::vrrp::config::InstanceConfig>,
    /// `ha_suspend`: virtual servers (by index) whose checks run only
    /// while their address is configured on this node.
    pub ha_suspend: BTreeMap<usize, IpAddr>,
}

/// Loads (and re-loads) the configuration; errors are `file:line:col:
/// severity: message` lines.
pub trait ConfigSource: Send {
    /// Reads and validates the configuration; a reload may take from
    /// `running` what did not change.
    fn load(&mut self, running: Option<Running<'_>>) -> Result<Load, Vec<String>>;
}

/// What the daemon runs: the engine's virtual servers (in configuration
/// order) and the rest of the configuration they came with.
#[derive(Debug, Clone, Copy)]
pub struct Running<'a> {
    /// The virtual servers, by index.
    pub engine: &'a crate::lvs::engine::Engine,
    /// The rest, without virtual servers: their checks (in the same
    /// order), `ha_suspend`, VRRP, the sync daemon.
    pub config: &'a DirectorConfig,
}

/// A configuration loaded.
#[derive(Debug)]
pub struct Load {
    pub config: DirectorConfig,
    /// Built from a parse of the whole file (the daemon then copies it
    /// compactly); false when mostly taken from what runs.
    pub whole: bool,
}

/// An event for the loop.
#[derive(Debug)]
pub enum Event {
    /// Probes finished since the last batch (status only; no reconcile).
    Probes(health::ProbeBatch),
    /// A checker verdict for real server `real` of virtual server `vs`.
    Check {
        /// The runner that sent it.
        generation: health::Generation,
        /// Virtual server index.
        vs: usize,
        /// Real server index.
        real: usize,
        /// Up or down (and misc_dynamic weight).
        verdict: Verdict,
        /// For status.
        last: LastCheck,
    },
    /// A VRRP instance changed state.
    VrrpState {
        /// Instance name.
        instance: String,
        /// It is now MASTER.
        master: bool,
    },
    /// The namespace's local addresses, at start and after each change.
    LocalAddresses(BTreeSet<IpAddr>),
    /// A control-socket request.
    Control(Incoming),
    /// SIGHUP.
    Reload,
    /// SIGTERM or SIGINT.
    Shutdown,
}

/// Daemon options from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep the IPVS services at exit (`--dont-release-ipvs`).
    pub dont_release_ipvs: bool,
    /// Keep the VIPs at exit, without resigning (`--dont-release-vrrp`).
    pub dont_release_vrrp: bool,
    /// Periodic reconcile interval.
    pub reconcile_interval: Duration,
    /// Where the configuration came from, for messages.
    pub config_path: PathBuf,
}

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The initial configuration is invalid.
    #[error("{}", .0.join("\n"))]
    Config(Vec<String>),
    /// The kernel could not be programmed at all.
    #[error(transparent)]
    Lvs(#[from] RuntimeError),
}

/// The loop's state.
#[derive(Debug)]
pub struct Director<S: ConfigSource> {
    source: S,
    options: Options,
    lvs: LvsRuntime,
    /// The configuration without its virtual servers: those are moved into
    /// the engine (`self.lvs.engine().servers()`), not kept twice.
    config: DirectorConfig,
    last_checks: Vec<Vec<LastCheck>>,
    /// Reloads applied and refused, for status.
    reloads: u64,
    reload_errors: u64,
    notify: notify::Queue,
    /// Where the check runner sends its events.
    events: mpsc::Sender<Event>,
    checks: Option<health::CheckRunner>,
    /// The generation of the last runner started (`None` before the first).
    generation: Option<health::Generation>,
    /// Every check of the configuration with its last known state, the
    /// suspended ones included, so that resuming or reloading carries them.
    check_states: Option<::checks::Scheduler<health::RealKey>>,
    /// Virtual servers whose checks are suspended (`ha_suspend`).
    suspended: BTreeSet<usize>,
    /// The local addresses, once known (followed only with `ha_suspend`).
    local_addresses: Option<BTreeSet<IpAddr>>,
    address_watch: Option<tokio::task::JoinHandle<()>>,
    vrrp: Option<vrrp::VrrpSupervisor>,
    /// Verdicts changed since the last reconcile.
    dirty: bool,
}

impl<S: ConfigSource> Director<S> {
    /// Loads the configuration and prepares the LVS runtime over `client`;
    /// the checkers will report on `events`, the receiving end of which
    /// goes to [`Director::run`].
    pub fn new(
        mut source: S,
        options: Options,
        client: Option<ipvs_sys::Client>,
        notify: notify::Queue,
        events: mpsc::Sender<Event>,
    ) -> Result<Self, DaemonError> {
        let mut config = load_compact(&mut source, None).map_err(DaemonError::Config)?;
        let last_checks = empty_checks(&config.virtual_servers);
        let servers = std::mem::take(&mut config.virtual_servers);
        let (lvs, effects) = LvsRuntime::new(servers, client);
        let d = Director {
            source,
            options,
            lvs,
            last_checks,
            config,
            reloads: 0,
            reload_errors: 0,
            notify,
            events,
            checks: None,
            generation: None,
            check_states: None,
            suspended: BTreeSet::new(),
            local_addresses: None,
            address_watch: None,
            vrrp: None,
            dirty: false,
        };
        d.run_effects(effects);
        Ok(d)
    }

    /// Runs until a shutdown event (or every sender is gone).
    /// Events that arrive together (many verdicts at once) are handled as
    /// one batch followed by one reconcile.
    pub async fn run(mut self, mut events: mpsc::Receiver<Event>) -> Result<(), DaemonError> {
        // VRRP first: the VIPs must not wait for the IPVS table.
        let instances = self.config.vrrp.clone();
        self.vrrp = Some(vrrp::VrrpSupervisor::start(instances, self.events.clone()).await);
        let mut start = Vec::new();
        if self.config.flush_at_start {
            start.push(ipvs_sys::Op::Flush);
        }
        if let Some(t) = self.config.timeouts {
            start.push(ipvs_sys::Op::SetTimeouts(t));
        }
        self.lvs.apply(start)?;
        self.reconcile(Pass::Everything).await?;
        self.follow_addresses_if_needed();
        let effects = self.start_checks(None);
        self.run_effects(effects);
        heap::release_freed_memory();
        sd_notify::notify(sd_notify::Notify::Ready);
        let mut tick = tokio::time::interval(self.options.reconcile_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; we just reconciled
        'outer: loop {
            tokio::select! {
                event = events.recv() => {
                    let mut next = event;
                    loop {
                        match next {
                            None | Some(Event::Shutdown) => break 'outer,
                            Some(event) => self.handle(event).await,
                        }
                        match events.try_recv() {
                            Ok(event) => next = Some(event),
                            Err(_) => break,
                        }
                    }
                    self.reconcile_if_dirty().await;
                }
                _ = tick.tick() => {
                    self.reconcile_logged(Pass::Everything).await;
                    // The periodic pass read the whole kernel table, a
                    // service at a time, and the checker's probes churn;
                    // the heap keeps what they freed until trimmed.
                    heap::release_freed_memory();
                }
            }
        }
        self.shutdown().await
    }

    async fn handle(&mut self, event: Event) {
        match event {
            // From a runner stopped since (see `health::Generation`).
            Event::Check { generation, .. } if Some(generation) != self.generation => {}
            Event::Probes(batch) if Some(batch.generation) != self.generation => {}
            Event::Check {
                vs,
                real,
                verdict,
                last,
                ..
            } => {
                if let Some(slot) = self.last_checks.get_mut(vs).and_then(|v| v.get_mut(real)) {
                    slot.result = last.result;
                    slot.latency_ms = last.latency_ms;
                    slot.failures += last.failures;
                }
                let effects = self.lvs.engine_mut().set_verdict(vs, real, verdict);
                self.run_effects(effects);
                self.dirty = true;
            }
            Event::Probes(batch) => {
                for ((vs, real), probe) in batch.by_real() {
                    if let Some(slot) = self.last_checks.get_mut(vs).and_then(|v| v.get_mut(real)) {
                        slot.record(probe.failure.as_ref(), probe.latency_ms);
                    }
                }
            }
            Event::VrrpState { instance, master } => {
                if let Some((follow, daemon)) = &self.config.sync_daemon {
                    if *follow == instance {
                        let mut wanted = daemon.clone();
                        wanted.state = crate::lvs::syncd::role_for(master);
                        if let Err(e) = self.lvs.set_sync_daemon(Some(wanted)) {
                            tracing::error!(error = %e, "sync daemon change failed");
                        }
                    }
                }
            }
            Event::LocalAddresses(addresses) => {
                self.local_addresses = Some(addresses);
                if self.wanted_suspensions() != self.suspended {
                    let previous = match self.checks.take() {
                        Some(runner) => runner.stop().await,
                        None => None,
                    };
                    let effects = self.start_checks(previous);
                    self.run_effects(effects);
                }
            }
            Event::Control((request, reply)) => {
                // Answer from the state after every event before this one.
                self.reconcile_if_dirty().await;
                let response = match request {
                    Request::Status => Response::Status(self.status().await),
                    Request::Reload => self.reload().await,
                };
                let _ = reply.send(response);
            }
            Event::Reload => {
                let _ = self.reload().await;
            }
            Event::Shutdown => {}
        }
    }

    /// A reload, framed for systemd by RELOADING=1 and READY=1.
    async fn reload(&mut self) -> Response {
        sd_notify::notify(sd_notify::Notify::Reloading);
        let response = self.apply_reload().await;
        sd_notify::notify(sd_notify::Notify::Ready);
        response
    }

    /// Re-reads the configuration; on errors nothing changes.
    /// The log line of a success gives, in milliseconds: reading the file,
    /// the time until the kernel pass that applied the new configuration
    /// ended, the kernel passes, and the whole reload (restarting the
    /// checks included).
    async fn apply_reload(&mut self) -> Response {
        let started = Instant::now();
        let running = Running {
            engine: self.lvs.engine(),
            config: &self.config,
        };
        let loaded = load_compact(&mut self.source, Some(running));
        let loaded_at = Instant::now();
        match loaded {
            Err(errors) => {
                self.reload_errors += 1;
                for e in &errors {
                    tracing::error!(config = %self.options.config_path.display(), "reload refused: {e}");
                }
                Response::ReloadRefused { errors }
            }
            Ok(mut config) => {
                let engine = self.lvs.engine();
                let old: Vec<&Arc<VirtualServer>> =
                    (0..engine.len()).filter_map(|i| engine.server(i)).collect();
                let mut changes = describe_changes(&old, &config.virtual_servers);
                let last_checks = carry_checks(
                    &old,
                    std::mem::take(&mut self.last_checks),
                    &config.virtual_servers,
                );
                drop(old);
                if let Some(v) = self.vrrp.as_mut() {
                    changes.extend(v.reload(config.vrrp.clone()).await);
                }
                // The checks stop while the kernel pass runs; what they send
                // meanwhile is dropped (`health::Generation`).
                let stopping = self.checks.take().map(health::CheckRunner::stopping);
                let servers = std::mem::take(&mut config.virtual_servers);
                let effects = self.lvs.engine_mut().reload(servers);
                self.last_checks = last_checks;
                self.config = config;
                self.reloads += 1;
                self.run_effects(effects);
                // When every real server kept its verdict, the kernel pass
                // comes first: restarting the checks changes no verdict but
                // those of checks whose settings changed (they start afresh,
                // and the pass after the restart applies that). A real
                // server new to its service may be a backend whose check is
                // failing elsewhere (the same one in a new virtual server):
                // the checks restart first, so that it takes that check's
                // state and a dead backend is never added, not even for a
                // moment.
                let kernel_first = self.lvs.engine().fresh_reals() == 0;
                let mut kernel = Duration::ZERO;
                if kernel_first {
                    let pass = Instant::now();
                    self.reconcile_logged(Pass::Changes).await;
                    kernel += pass.elapsed();
                }
                let mut applied = started.elapsed();
                let previous = match stopping {
                    Some(stopping) => stopping.finished().await,
                    None => None,
                };
                self.follow_addresses_if_needed();
                let effects = self.start_checks(previous);
                self.run_effects(effects);
                let pass = Instant::now();
                if kernel_first {
                    self.reconcile_if_dirty().await;
                } else {
                    self.reconcile_logged(Pass::Changes).await;
                    applied = started.elapsed();
                }
                kernel += pass.elapsed();
                heap::release_freed_memory();
                tracing::info!(
                    changes = changes.len(),
                    load_ms = millis(loaded_at - started),
                    applied_ms = millis(applied),
                    kernel_ms = millis(kernel),
                    total_ms = millis(started.elapsed()),
                    kernel_first,
                    "configuration reloaded"
                );
                Response::Reloaded { changes }
            }
        }
    }

    /// Starts the checkers of the current configuration but those of
    /// suspended virtual servers, inheriting the last known state of every
    /// identical check (from `previous`, the scheduler just stopped, and
    /// from before any suspension); the engine takes the scheduler's
    /// verdicts, so the two never disagree (a check whose settings changed
    /// starts afresh, as a new one does in keepalived). A suspended server
    /// keeps its verdict, as keepalived's disabled checker does.
    fn start_checks(
        &mut self,
        previous: Option<::checks::Scheduler<health::RealKey>>,
    ) -> Vec<Effect> {
        // Without ha_suspend every check runs, so the scheduler just
        // stopped holds every state. With it (or just after it), a snapshot
        // over all checks also carries the suspended ones' states.
        let snapshot =
            (!self.config.ha_suspend.is_empty() || self.check_states.is_some()).then(|| {
                let mut states = ::checks::Scheduler::new(
                    self.config.checks.clone(),
                    ::checks::SchedulerOptions::default(),
                );
                for older in [self.check_states.as_ref(), previous.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    states.inherit(older);
                }
                states
            });
        let suspended = self.wanted_suspensions();
        self.log_suspension_changes(&suspended);
        self.suspended = suspended;
        let running: Vec<_> = self
            .config
            .checks
            .iter()
            .filter(|r| !self.suspended.contains(&r.key.0))
            .cloned()
            .collect();
        let events = self.events.clone();
        let inherit_from = snapshot.as_ref().or(previous.as_ref());
        let generation = self.generation.map_or(0, |g| g.wrapping_add(1));
        self.generation = Some(generation);
        let verdicts = match health::CheckRunner::start(running, inherit_from, events, generation) {
            Ok((runner, verdicts)) => {
                self.checks = Some(runner);
                verdicts
            }
            Err(e) => {
                tracing::error!("{e}; the real servers keep their last verdicts");
                Vec::new()
            }
        };
        self.check_states = snapshot.filter(|_| !self.config.ha_suspend.is_empty());
        let mut effects = Vec::new();
        for ((vs, real), verdict) in verdicts {
            effects.extend(self.lvs.engine_mut().set_verdict(vs, real, verdict));
        }
        self.dirty = true;
        effects
    }

    /// Logs each `ha_suspend` virtual server whose checks stop or resume
    /// with `suspended` (and those suspended from the start).
    fn log_suspension_changes(&self, suspended: &BTreeSet<usize>) {
        for (vs, address) in &self.config.ha_suspend {
            let now = suspended.contains(vs);
            if now == self.suspended.contains(vs) && !(now && self.checks.is_none()) {
                continue;
            }
            let name = self
                .lvs
                .engine()
                .servers()
                .nth(*vs)
                .map_or_else(String::new, |(v, _, _)| {
                    ipvs_sys::error::KeyDisplay(&v.plan.service.key).to_string()
                });
            if now {
                tracing::info!(
                    "virtual server {name}: checks suspended, {address} is not local (ha_suspend)"
                );
            } else {
                tracing::info!("virtual server {name}: checks resumed, {address} is local");
            }
        }
    }

    /// The `ha_suspend` virtual servers whose address is not local (none
    /// while the local addresses are unknown).
    fn wanted_suspensions(&self) -> BTreeSet<usize> {
        let Some(local) = &self.local_addresses else {
            return BTreeSet::new();
        };
        self.config
            .ha_suspend
            .iter()
            .filter(|(_, address)| !local.contains(address))
            .map(|(vs, _)| *vs)
            .collect()
    }

    /// With `ha_suspend` in the configuration: reads the local addresses
    /// now (so that checks start suspended where they must) and follows
    /// them from then on.
    fn follow_addresses_if_needed(&mut self) {
        if self.config.ha_suspend.is_empty() || self.address_watch.is_some() {
            return;
        }
        let dumped = crate::vrrp::netlink::RouteSocket::open(0, false)
            .and_then(|mut socket| socket.addresses());
        match dumped {
            Ok(list) => {
                self.local_addresses = Some(list.into_iter().map(|a| a.address).collect());
            }
            Err(e) => tracing::warn!("ha_suspend: cannot read the local addresses: {e}"),
        }
        let events = self.events.clone();
        self.address_watch = Some(tokio::spawn(async move {
            if let Err(e) = addresses::watch(events).await {
                tracing::error!("ha_suspend: {e}; checks are no longer suspended or resumed");
            }
        }));
    }

    async fn reconcile_if_dirty(&mut self) {
        if self.dirty {
            self.reconcile_logged(Pass::Changes).await;
        }
    }

    async fn reconcile_logged(&mut self, pass: Pass) {
        if let Err(e) = self.reconcile(pass).await {
            tracing::error!(error = %e, "reconcile failed");
        }
    }

    async fn reconcile(&mut self, pass: Pass) -> Result<(), RuntimeError> {
        self.dirty = false;
        let report = self.lvs.reconcile(pass)?;
        for op in &report.ops {
            tracing::info!(?op, "IPVS");
        }
        Ok(())
    }

    /// The status, built when asked for (`lvsd status`, the HTTP
    /// endpoint) from the engine, the checkers' last results and the
    /// kernel's table, read for it (its counters are those of the moment).
    /// Nothing is kept between requests: at 10,000 real servers a snapshot
    /// is megabytes, and rebuilding one after every pass cost CPU whether
    /// anyone asked or not.
    async fn status(&self) -> Status {
        let kernel = self.lvs.kernel_table().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "status without the kernel's counters");
            crate::lvs::Table::new()
        });
        let checks = &self.last_checks;
        let mut virtual_servers = virtual_server_status(self.lvs.engine(), &kernel, |vs, real| {
            checks
                .get(vs)
                .and_then(|v| v.get(real))
                .cloned()
                .unwrap_or_default()
        });
        for vs in &self.suspended {
            if let Some(s) = virtual_servers.get_mut(*vs) {
                s.checks_suspended = true;
            }
        }
        Status {
            reloads: self.reloads,
            reload_errors: self.reload_errors,
            vrrp: self.vrrp.as_ref().map(|v| v.status()).unwrap_or_default(),
            virtual_servers,
        }
    }

    fn run_effects(&self, effects: Vec<Effect>) {
        for Effect::Notify { script, reason } in effects {
            self.notify.submit(script, reason);
        }
    }

    async fn shutdown(mut self) -> Result<(), DaemonError> {
        sd_notify::notify(sd_notify::Notify::Stopping);
        // VRRP first: resigning at once lets the backup take over in skew time.
        if let Some(v) = self.vrrp.take() {
            v.shutdown(!self.options.dont_release_vrrp).await;
        }
        if let Some(runner) = self.checks.take() {
            let _ = runner.stop().await;
        }
        if let Some(watch) = self.address_watch.take() {
            watch.abort();
        }
        let release = !self.options.dont_release_ipvs;
        let (report, effects) = self.lvs.shutdown(release && !self.config.flush_on_stop)?;
        if release && self.config.flush_on_stop {
            self.lvs.apply(vec![ipvs_sys::Op::Flush])?;
        }
        for op in &report.ops {
            tracing::info!(?op, "IPVS (shutdown)");
        }
        self.run_effects(effects);
        if self.config.sync_daemon.is_some() {
            self.lvs.set_sync_daemon(None)?;
        }
        self.notify.drain().await;
        Ok(())
    }
}

/// Loads the configuration; a loader that panics refuses it, and the
/// daemon lives on. A configuration parsed whole is copied compactly:
/// parsing allocates many times what it keeps, interleaved with what it
/// keeps, and once the parse's allocations are freed the trim after a
/// load hands their pages back (10,000 real servers: the configuration
/// then holds 6 MB instead of 16 MB). What a reload takes from the
/// running configuration was compact already.
fn load_compact<S: ConfigSource>(
    source: &mut S,
    running: Option<Running<'_>>,
) -> Result<DirectorConfig, Vec<String>> {
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.load(running)))
        .unwrap_or_else(|_| Err(vec!["loading the configuration failed".to_string()]))?;
    Ok(if loaded.whole {
        compact_copy(&loaded.config)
    } else {
        loaded.config
    })
}

/// A copy of `config` in fresh allocations made on this thread, the
/// virtual servers and check specifications included (`clone` would share
/// them).
fn compact_copy(config: &DirectorConfig) -> DirectorConfig {
    let mut copy = config.clone();
    for vs in &mut copy.virtual_servers {
        *vs = Arc::new(VirtualServer::clone(vs));
    }
    for real in &mut copy.checks {
        real.checks = real
            .checks
            .iter()
            .map(|spec| Arc::new(::checks::CheckSpec::clone(spec)))
            .collect();
    }
    copy
}

/// `span` in milliseconds, to 0.1 ms.
fn millis(span: Duration) -> f64 {
    (span.as_secs_f64() * 10_000.0).round() / 10.0
}

fn empty_checks(servers: &[Arc<VirtualServer>]) -> Vec<Vec<LastCheck>> {
    servers
        .iter()
        .map(|v| vec![LastCheck::default(); v.plan.reals.len()])
        .collect()
}

/// Finds virtual servers by service key (a reload looks the old ones up).
fn by_service<T: AsRef<VirtualServer>>(servers: &[T]) -> ByKey<'_, T> {
    ByKey::new(servers, |vs| vs.as_ref().plan.service.key)
}

/// Last check results of real servers that survive a reload, by service
/// and real server address; `old_checks` are moved, not copied, when a
/// virtual server keeps its real servers in the same order.
fn carry_checks(
    old: &[&Arc<VirtualServer>],
    old_checks: Vec<Vec<LastCheck>>,
    new: &[Arc<VirtualServer>],
) -> Vec<Vec<LastCheck>> {
    let before = by_service(old);
    let mut old_checks: Vec<Option<Vec<LastCheck>>> = old_checks.into_iter().map(Some).collect();
    new.iter()
        .enumerate()
        .map(|(i, vs)| {
            let reals = &vs.plan.reals;
            let Some(b) = before.find(i, &vs.plan.service.key) else {
                return vec![LastCheck::default(); reals.len()];
            };
            let old_reals = &old[b].plan.reals;
            let Some(checks) = old_checks.get_mut(b) else {
                return vec![LastCheck::default(); reals.len()];
            };
            if old[b].plan.same_reals(&vs.plan) {
                if let Some(taken) = checks.take() {
                    return taken;
                }
            }
            let by_address: HashMap<_, usize> = old_reals
                .iter()
                .enumerate()
                .map(|(j, r)| (r.dest.key, j))
                .collect();
            reals
                .iter()
                .map(|r| {
                    by_address
                        .get(&r.dest.key)
                        .and_then(|j| checks.as_ref()?.get(*j).cloned())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

/// One line per virtual server added, removed or changed.
fn describe_changes(old: &[&Arc<VirtualServer>], new: &[Arc<VirtualServer>]) -> Vec<String> {
    use ipvs_sys::error::KeyDisplay;
    let before = by_service(old);
    let after = by_service(new);
    let mut lines = Vec::new();
    for (i, vs) in new.iter().enumerate() {
        let key = vs.plan.service.key;
        match before.find(i, &key).map(|b| old[b]) {
            None => lines.push(format!("virtual server {}: added", KeyDisplay(&key))),
            // (`Arc`'s equality compares the pointers first.)
            Some(o) if o != vs => {
                lines.push(format!("virtual server {}: changed", KeyDisplay(&key)))
            }
            Some(_) => {}
        }
    }
    for (i, o) in old.iter().enumerate() {
        let key = o.plan.service.key;
        if after.find(i, &key).is_none() {
            lines.push(format!("virtual server {}: removed", KeyDisplay(&key)));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scripted(Result<DirectorConfig, Vec<String>>);

    impl ConfigSource for Scripted {
        fn load(&mut self, _: Option<Running<'_>>) -> Result<Load, Vec<String>> {
            self.0.clone().map(|config| Load {
                config,
                whole: true,
            })
        }
    }

    struct Panicking;

    impl ConfigSource for Panicking {
        fn load(&mut self, _: Option<Running<'_>>) -> Result<Load, Vec<String>> {
            panic!("a bug in the loader")
        }
    }

    #[test]
    fn a_compact_load_gives_the_loaded_configuration_or_its_errors() {
        let config = DirectorConfig {
            flush_on_stop: true,
            ha_suspend: BTreeMap::from([(3, IpAddr::from([192, 0, 2, 1]))]),
            ..DirectorConfig::default()
        };
        let loaded = load_compact(&mut Scripted(Ok(config)), None).unwrap();
        assert!(loaded.flush_on_stop);
        assert_eq!(loaded.ha_suspend.len(), 1);
        let errors = vec!["a.conf:3:1: error: unknown block".to_string()];
        assert_eq!(
            load_compact(&mut Scripted(Err(errors.clone())), None).unwrap_err(),
            errors
        );
    }

    #[test]
    fn a_compact_copy_shares_no_check_specification_with_the_original() {
        let spec = ::checks::CheckSpec {
            kind: ::checks::CheckKind::Tcp,
            endpoint: ::checks::Endpoint::to(std::net::SocketAddr::from(([192, 0, 2, 7], 80))),
            timing: ::checks::Timing::defaults_for(::checks::spec::CheckFamily::Other),
        };
        let config = DirectorConfig {
            checks: vec![::checks::RealServerChecks {
                key: (0, 0),
                checks: vec![Arc::new(spec)].into(),
            }],
            ..DirectorConfig::default()
        };
        let copy = compact_copy(&config);
        let (original, copied) = (&config.checks[0].checks[0], &copy.checks[0].checks[0]);
        assert_eq!(original, copied);
        assert!(!Arc::ptr_eq(original, copied));
    }

    #[test]
    fn a_loader_that_panics_refuses_the_configuration_and_the_daemon_lives() {
        assert_eq!(
            load_compact(&mut Panicking, None).unwrap_err(),
            ["loading the configuration failed"]
        );
    }

    fn last(result: &str) -> LastCheck {
        LastCheck {
            result: Some(result.to_string()),
            ..LastCheck::default()
        }
    }

    #[test]
    fn a_reload_carries_last_checks_by_service_and_address_and_lists_its_changes() {
        use crate::lvs::engine::tests::vs;
        let old = [
            vs("10.0.0.1", &["10.0.1.1", "10.0.1.2"], false),
            vs("10.0.0.2", &["10.0.1.3"], false),
            vs("10.0.0.3", &["10.0.1.4"], false),
        ]
        .map(Arc::new);
        let old_refs: Vec<&Arc<VirtualServer>> = old.iter().collect();
        let old_checks = vec![vec![last("a"), last("b")], vec![last("c")], vec![last("d")]];
        // 10.0.0.2 moves first with a new real server, 10.0.0.1 keeps its
        // real servers in another order, 10.0.0.3 is gone, 10.0.0.4 is new.
        let new = [
            vs("10.0.0.2", &["10.0.1.9", "10.0.1.3"], false),
            vs("10.0.0.1", &["10.0.1.2", "10.0.1.1"], false),
            vs("10.0.0.4", &["10.0.1.4"], false),
        ]
        .map(Arc::new);
        let results = |checks: &[Vec<LastCheck>]| -> Vec<Vec<Option<String>>> {
            checks
                .iter()
                .map(|v| v.iter().map(|c| c.result.clone()).collect())
                .collect()
        };
        let carried = carry_checks(&old_refs, old_checks.clone(), &new);
        let s = |t: &str| Some(t.to_string());
        assert_eq!(
            results(&carried),
            [vec![None, s("c")], vec![s("b"), s("a")], vec![None]]
        );
        let changes = describe_changes(&old_refs, &new);
        assert_eq!(
            changes,
            [
                "virtual server TCP 10.0.0.2:80: changed",
                "virtual server TCP 10.0.0.1:80: changed",
                "virtual server TCP 10.0.0.4:80: added",
                "virtual server TCP 10.0.0.3:80: removed"
            ]
        );
        // The same servers in the same order: moved as they are, no change.
        let same = old.clone();
        assert_eq!(
            results(&carry_checks(&old_refs, old_checks.clone(), &same)),
            results(&old_checks)
        );
        assert!(describe_changes(&old_refs, &same).is_empty());
    }

    #[tokio::test]
    async fn verdicts_from_a_check_runner_stopped_since_are_dropped() {
        use crate::lvs::engine::tests::vs;
        let mut server = vs("10.0.0.1", &["10.0.1.1"], false);
        server.real_notify.clear();
        let config = DirectorConfig {
            virtual_servers: vec![Arc::new(server)],
            ..DirectorConfig::default()
        };
        let options = Options {
            dont_release_ipvs: true,
            dont_release_vrrp: true,
            reconcile_interval: DEFAULT_RECONCILE_INTERVAL,
            config_path: "t.conf".into(),
        };
        let (queue, _) = notify::Queue::start(Duration::from_secs(1));
        let (events, _rx) = mpsc::channel(8);
        let mut d = Director::new(Scripted(Ok(config)), options, None, queue, events).unwrap();
        let check = |generation, verdict| Event::Check {
            generation,
            vs: 0,
            real: 0,
            verdict,
            last: LastCheck::default(),
        };
        let verdict = |d: &Director<Scripted>| d.lvs.engine().servers().next().unwrap().1[0];
        d.start_checks(None);
        d.handle(check(0, crate::lvs::DOWN)).await;
        assert_eq!(verdict(&d), crate::lvs::DOWN);
        // The checks restart (a reload): runner 1 from now on.
        let previous = d.checks.take().unwrap().stop().await;
        d.start_checks(previous);
        d.handle(check(0, crate::lvs::UP)).await;
        assert_eq!(verdict(&d), crate::lvs::DOWN, "a stale verdict was applied");
        d.handle(check(1, crate::lvs::UP)).await;
        assert_eq!(verdict(&d), crate::lvs::UP);
        if let Some(runner) = d.checks.take() {
            runner.stop().await;
        }
    }
}
