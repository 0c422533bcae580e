//! Runs the VRRP instances for the daemon: one task per instance (the VRRP
//! core's [`instance::run`]), their state changes forwarded to the loop as
//! [`Event::VrrpState`] and kept for status.
//!
//! A reload keeps every instance whose configuration is unchanged running,
//! with its state and VIPs (keepalived issue #2159); changed instances are
//! restarted and removed ones stopped (they resign with priority 0).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::Event;
use crate::status::VrrpStatus;
use crate::vrrp::config::InstanceConfig;
use crate::vrrp::instance;
use crate::vrrp::machine::State;

#[derive(Debug)]
struct Running {
    config: InstanceConfig,
    shutdown: watch::Sender<bool>,
    /// Set before `shutdown` to stop without releasing (`--dont-release-vrrp`).
    keep_vips: Arc<AtomicBool>,
    /// `None` when the instance failed before it started.
    handle: Option<instance::InstanceHandle>,
    task: JoinHandle<Result<(), instance::InstanceError>>,
    forwarder: JoinHandle<()>,
}

/// The running instances.
#[derive(Debug)]
pub struct VrrpSupervisor {
    running: BTreeMap<String, Running>,
    /// One coordinator per `vrrp_sync_group` (members change state together).
    coordinators: Vec<JoinHandle<()>>,
    status: Arc<Mutex<BTreeMap<String, VrrpStatus>>>,
    events: mpsc::Sender<Event>,
}

impl VrrpSupervisor {
    /// Starts `configs`.
    pub async fn start(
        configs: Vec<InstanceConfig>,
        events: mpsc::Sender<Event>,
    ) -> VrrpSupervisor {
        let mut s = VrrpSupervisor {
            running: BTreeMap::new(),
            coordinators: Vec::new(),
            status: Arc::default(),
            events,
        };
        for c in configs {
            s.spawn(c).await;
        }
        s.coordinate_sync_groups();
        s
    }

    /// (Re)starts one coordinator per sync group over its running members.
    fn coordinate_sync_groups(&mut self) {
        for c in self.coordinators.drain(..) {
            c.abort();
        }
        let mut groups: BTreeMap<&str, Vec<crate::vrrp::sync_group::Member>> = BTreeMap::new();
        for (name, r) in &self.running {
            if let (Some(group), Some(handle)) = (&r.config.sync_group, &r.handle) {
                groups.entry(group).or_default().push((
                    name.clone(),
                    handle.state.clone(),
                    handle.events.clone(),
                ));
            }
        }
        for (_, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
            self.coordinators
                .push(tokio::spawn(crate::vrrp::sync_group::coordinate(members)));
        }
    }

    async fn spawn(&mut self, config: InstanceConfig) {
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (ready_tx, ready_rx) = oneshot::channel();
        let name = config.name.clone();
        let keep_vips = Arc::new(AtomicBool::new(false));
        let run = instance::run_with_release(
            config.clone(),
            shutdown_rx,
            Some(ready_tx),
            Arc::clone(&keep_vips),
        );
        let instance_name = name.clone();
        let task = tokio::spawn(async move {
            let result = run.await;
            if let Err(e) = &result {
                tracing::error!(instance = %instance_name, error = %e, "VRRP instance stopped");
            }
            result
        });
        let status = Arc::clone(&self.status);
        let initial = VrrpStatus {
            name: name.clone(),
            interface: config.interface.clone(),
            vrid: config.vrid,
            state: State::Init.notify_word().into(),
            priority: config.priority,
            effective_priority: config.priority,
            master: None,
            last_transition: None,
            transitions: 0,
            adverts_sent: 0,
            adverts_received: 0,
            dropped: BTreeMap::new(),
        };
        if let Ok(mut map) = status.lock() {
            map.insert(name.clone(), initial);
        }
        let events = self.events.clone();
        // An instance that fails to start logs its error from its task.
        let handle = ready_rx.await.ok();
        let state = handle.as_ref().map(|h| h.state.clone());
        let forwarder = tokio::spawn(async move {
            let Some(mut state) = state else { return };
            loop {
                let now = *state.borrow_and_update();
                if let Ok(mut map) = status.lock() {
                    if let Some(s) = map.get_mut(&name) {
                        if s.state != now.notify_word() {
                            s.state = now.notify_word().into();
                            s.transitions += 1;
                            s.last_transition = SystemTime::now()
                                .duration_since(UNIX_EPOCH)
                                .ok()
                                .map(|d| d.as_secs());
                        }
                    }
                }
                let event = Event::VrrpState {
                    instance: name.clone(),
                    master: now == State::Master,
                };
                if events.send(event).await.is_err() || state.changed().await.is_err() {
                    break;
                }
            }
        });
        self.running.insert(
            config.name.clone(),
            Running {
                config,
                shutdown,
                keep_vips,
                handle,
                task,
                forwarder,
            },
        );
    }

    /// Applies a new set of instances; returns one line per change.
    pub async fn reload(&mut self, configs: Vec<InstanceConfig>) -> Vec<String> {
        let mut changes = Vec::new();
        let wanted: BTreeMap<&str, &InstanceConfig> =
            configs.iter().map(|c| (c.name.as_str(), c)).collect();
        let stale: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| wanted.get(name.as_str()) != Some(&&r.config))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            let restarted = wanted.contains_key(name.as_str());
            self.stop(&name, true).await;
            changes.push(format!(
                "vrrp_instance {name}: {}",
                if restarted {
                    "changed, restarted"
                } else {
                    "removed"
                }
            ));
        }
        for c in configs {
            if !self.running.contains_key(&c.name) {
                if !changes
                    .iter()
                    .any(|l| l.starts_with(&format!("vrrp_instance {}:", c.name)))
                {
                    changes.push(format!("vrrp_instance {}: added", c.name));
                }
                self.spawn(c).await;
            }
        }
        self.coordinate_sync_groups();
        changes
    }

    async fn stop(&mut self, name: &str, release: bool) {
        if let Some(r) = self.running.remove(name) {
            r.keep_vips.store(!release, Ordering::SeqCst);
            let _ = r.shutdown.send(true);
            if let Err(e) = r.task.await {
                tracing::error!(instance = name, error = %e, "VRRP instance task failed");
            }
            r.forwarder.abort();
            if let Ok(mut map) = self.status.lock() {
                map.remove(name);
            }
        }
    }

    /// Stops every instance: each resigns (priority 0), removes its VIPs
    /// and runs notify_stop — unless `release` is false
    /// (`--dont-release-vrrp`), when each leaves its VIPs in place.
    pub async fn shutdown(mut self, release: bool) {
        for c in self.coordinators.drain(..) {
            c.abort();
        }
        let names: Vec<String> = self.running.keys().cloned().collect();
        for name in names {
            self.stop(&name, release).await;
        }
    }

    /// The instances' status, in name order, with the live view and
    /// counters of each running instance.
    pub fn status(&self) -> Vec<VrrpStatus> {
        let mut list: Vec<VrrpStatus> = self
            .status
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        for s in &mut list {
            let Some(handle) = self.running.get(&s.name).and_then(|r| r.handle.as_ref()) else {
                continue;
            };
            let counters = &handle.counters;
            let live = counters.live();
            s.effective_priority = live.effective_priority;
            s.master = live.master;
            s.adverts_sent = counters.adverts_sent();
            s.adverts_received = counters.adverts_received();
            s.dropped = counters.dropped();
        }
        list
    }
}
