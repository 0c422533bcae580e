//! The LVS engine: the daemon's state for its virtual servers. It takes
//! checker verdicts and configuration reloads, keeps each virtual server's
//! desired entries and quorum, and returns effects (notify scripts) and IPVS
//! operations. Pure; the daemon runs the effects and applies the operations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ipvs_sys::{DestKey, Error, Op, Service, ServiceKey};

use super::by_key::ByKey;
use super::desired::{
    desired_service, DesiredService, QuorumChange, QuorumState, Verdict, VirtualServerPlan, DOWN,
    UP,
};
use super::diff::{PassOps, Table};
use super::kernel::KernelView;

/// Notify scripts of one real server (`notify_up`, `notify_down`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealServerNotify {
    /// Run when the real server comes up.
    pub up: Option<String>,
    /// Run when it goes down.
    pub down: Option<String>,
}

/// A virtual server as the engine manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// What to program.
    pub plan: VirtualServerPlan,
    /// `alpha` per real server (same order as `plan.reals`): start down
    /// until the first successful check.
    pub alpha: Vec<bool>,
    /// Notify scripts per real server (same order as `plan.reals`); empty
    /// when no real server has any.
    pub real_notify: Vec<RealServerNotify>,
    /// `quorum_up` script.
    pub quorum_up: Option<String>,
    /// `quorum_down` script.
    pub quorum_down: Option<String>,
    /// `omega`: at shutdown, run the down notifications of its real servers
    /// that are up and its `quorum_down` if it has quorum.
    pub omega: bool,
}

/// Something the daemon must do besides programming IPVS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run a notify script (keepalived runs these through `/bin/sh -c`).
    Notify {
        /// The command line as configured.
        script: String,
        /// Why it runs, for the log.
        reason: String,
    },
}

/// A virtual server of the configuration being replaced.
#[derive(Debug)]
struct Previous {
    slot: Slot,
    /// Changed since the last applied pass.
    pending: bool,
}

#[derive(Debug, Clone)]
struct Slot {
    /// Shared with the configuration it came from: a reload that keeps a
    /// virtual server hands the same one over, copying nothing.
    vs: Arc<VirtualServer>,
    verdicts: Vec<Verdict>,
    quorum: QuorumState,
}

/// The engine's state.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    slots: Vec<Slot>,
    /// Services programmed under an earlier configuration and no longer
    /// configured: removed from the kernel on the next reconcile.
    retired: BTreeSet<ServiceKey>,
    /// The virtual servers (by index) whose desired entries may have
    /// changed since the last applied pass; `None`: any of them (before
    /// the first pass). A pass over what changed reads and diffs only these.
    changed: Option<BTreeSet<usize>>,
    /// Real servers of the last (re)load that had no verdict to carry.
    fresh_reals: usize,
}

impl Engine {
    /// An engine for `servers`; returns the quorum notifications of the
    /// initial evaluation (a virtual server whose real servers all start
    /// down with `alpha` loses quorum at once, as in keepalived).
    pub fn new<V: Into<Arc<VirtualServer>>>(servers: Vec<V>) -> (Engine, Vec<Effect>) {
        let mut engine = Engine::default();
        let effects = engine.load(servers, &[]);
        (engine, effects)
    }

    /// Replaces the configuration (a reload). Real servers present before
    /// and after, by service key and address, keep their verdict, so a
    /// failed server is not re-added by a reload (keepalived issue #1720),
    /// and virtual servers keep their quorum state. Services that are gone
    /// are retired.
    pub fn reload<V: Into<Arc<VirtualServer>>>(&mut self, servers: Vec<V>) -> Vec<Effect> {
        let servers: Vec<Arc<VirtualServer>> = servers.into_iter().map(Into::into).collect();
        let previous: Vec<Previous> = std::mem::take(&mut self.slots)
            .into_iter()
            .enumerate()
            .map(|(index, slot)| Previous {
                pending: self.is_changed(index),
                slot,
            })
            .collect();
        let kept = ByKey::new(&servers, |vs| vs.plan.service.key);
        let is_kept = |at: usize, key: &ServiceKey| kept.find(at, key).is_some();
        self.retired.retain(|k| !is_kept(usize::MAX, k));
        for (at, p) in previous.iter().enumerate() {
            let key = p.slot.vs.plan.service.key;
            if !is_kept(at, &key) {
                self.retired.insert(key);
            }
        }
        drop(kept);
        self.load(servers, &previous)
    }

    /// Sets up `servers`, carrying verdicts and quorum from `previous`; a
    /// virtual server whose plan, verdicts and quorum are all as before
    /// (and were applied) is not marked changed.
    fn load<V: Into<Arc<VirtualServer>>>(
        &mut self,
        servers: Vec<V>,
        previous: &[Previous],
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut changed = self.changed.as_ref().map(|_| BTreeSet::new());
        let before_by_key = ByKey::new(previous, |p| p.slot.vs.plan.service.key);
        self.fresh_reals = 0;
        for (at, vs) in servers.into_iter().enumerate() {
            let vs: Arc<VirtualServer> = vs.into();
            let before = before_by_key
                .find(at, &vs.plan.service.key)
                .map(|b| &previous[b]);
            let verdicts = match before {
                // The same real servers in the same order: their verdicts as they are.
                Some(p) if p.slot.vs.plan.same_reals(&vs.plan) => p.slot.verdicts.clone(),
                _ => self.carry_verdicts(&vs, before.map(|p| &p.slot)),
            };
            let quorum = before.map(|p| p.slot.quorum).unwrap_or_default();
            let mut slot = Slot {
                vs,
                verdicts,
                quorum,
            };
            effects.extend(slot.evaluate_quorum());
            let same = before.is_some_and(|p| {
                !p.pending
                    && (Arc::ptr_eq(&p.slot.vs, &slot.vs) || p.slot.vs.plan == slot.vs.plan)
                    && p.slot.verdicts == slot.verdicts
                    && p.slot.quorum == slot.quorum
            });
            if let (Some(changed), false) = (changed.as_mut(), same) {
                changed.insert(self.slots.len());
            }
            self.slots.push(slot);
        }
        self.changed = changed;
        effects
    }

    /// Whether virtual server `index` may have changed since the last
    /// applied pass.
    fn is_changed(&self, index: usize) -> bool {
        self.changed.as_ref().is_none_or(|c| c.contains(&index))
    }

    /// Index of the virtual server with `key`.
    pub fn find(&self, key: &ServiceKey) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.vs.plan.service.key == *key)
    }

    /// Records the verdict of real server `real` of virtual server `vs`
    /// (indices in configuration order); returns the notify effects.
    /// Unknown indices are ignored (a verdict racing a reload).
    pub fn set_verdict(&mut self, vs: usize, real: usize, verdict: Verdict) -> Vec<Effect> {
        let Some(slot) = self.slots.get_mut(vs) else {
            return Vec::new();
        };
        let Some(old) = slot.verdicts.get_mut(real) else {
            return Vec::new();
        };
        // Nothing changes, and quorum (a function of the verdicts) is not
        // evaluated again: the checks restarting after a reload confirm
        // every carried verdict, 10,000 of them at 10,000 real servers.
        if *old == verdict {
            return Vec::new();
        }
        let was_up = old.up;
        *old = verdict;
        if let Some(changed) = self.changed.as_mut() {
            changed.insert(vs);
        }
        let mut effects = Vec::new();
        if was_up != verdict.up {
            let notify = slot.vs.real_notify.get(real);
            let script = if verdict.up {
                notify.and_then(|n| n.up.clone())
            } else {
                notify.and_then(|n| n.down.clone())
            };
            if let Some(script) = script {
                let dest = slot.vs.plan.reals[real].dest.key;
                let word = if verdict.up { "up" } else { "down" };
                effects.push(Effect::Notify {
                    script,
                    reason: format!("real server {} is {word}", show_dest(&dest)),
                });
            }
        }
        effects.extend(slot.evaluate_quorum());
        effects
    }

    /// The desired kernel table.
    pub fn desired_table(&self) -> Table {
        (0..self.slots.len())
            .filter_map(|i| self.desired_at(i))
            .map(|d| (d.service.key, d))
            .collect()
    }

    /// The desired entries of virtual server `index`.
    fn desired_at(&self, index: usize) -> Option<DesiredService> {
        let s = self.slots.get(index)?;
        let mut q = s.quorum;
        Some(desired_service(&s.vs.plan, &s.verdicts, &mut q).0)
    }

    /// The operations that bring `kernel` to the desired table, reading it
    /// a service at a time (neither table is ever held whole: at 10,000 real
    /// servers each is megabytes, and a periodic pass would rebuild both).
    ///
    /// `everything`: diff every virtual server, and remove retired services
    /// still present; a periodic pass does this, and so repairs what others
    /// changed (keepalived #1877). Otherwise only the virtual servers changed
    /// since the last applied pass are read and diffed (a verdict or a reload
    /// that changes one virtual server among 1,000 costs two netlink
    /// requests), and everything before the first applied pass. Services
    /// nobody configured are left alone. Call [`Engine::applied`] once the
    /// operations succeeded.
    pub fn pass(&self, kernel: &mut impl KernelView, everything: bool) -> Result<Vec<Op>, Error> {
        let mut ops = PassOps::default();
        // The kernel's services that are desired, and which virtual server
        // each one is.
        let mut present: Vec<Service> = Vec::new();
        let mut index_of: BTreeMap<ServiceKey, usize> = BTreeMap::new();
        let mut absent = Vec::new();
        let mut retired = Vec::new();
        match self.changed.as_ref().filter(|_| !everything) {
            None => {
                let mut unseen: BTreeMap<ServiceKey, usize> = self
                    .slots
                    .iter()
                    .enumerate()
                    .map(|(index, s)| (s.vs.plan.service.key, index))
                    .collect();
                for service in kernel.services()? {
                    if let Some(index) = unseen.remove(&service.key) {
                        index_of.insert(service.key, index);
                        present.push(service);
                    } else if self.retired.contains(&service.key) {
                        retired.push(service.key);
                    }
                }
                absent.extend(unseen.into_values());
            }
            Some(changed) => {
                for &index in changed {
                    let Some(slot) = self.slots.get(index) else {
                        continue;
                    };
                    match kernel.service(&slot.vs.plan.service.key)? {
                        Some(service) => {
                            index_of.insert(service.key, index);
                            present.push(service);
                        }
                        None => absent.push(index),
                    }
                }
                for key in &self.retired {
                    if kernel.service(key)?.is_some() {
                        retired.push(*key);
                    }
                }
            }
        }
        for index in absent {
            if let Some(want) = self.desired_at(index) {
                ops.service(&want, None, std::iter::empty());
            }
        }
        kernel.dests_each(&present, &mut |service, dests| {
            let want = index_of.get(&service.key).and_then(|i| self.desired_at(*i));
            if let Some(want) = want {
                dests.sort_unstable_by_key(|d| d.key);
                ops.service(&want, Some(service), dests.iter());
            }
        })?;
        for key in retired {
            ops.retire(key);
        }
        Ok(ops.into_ops())
    }

    /// Whether a pass over what changed has anything to read: a virtual
    /// server changed, or a retired service to remove, since the last
    /// applied pass.
    pub fn has_changes(&self) -> bool {
        self.changed.as_ref().is_none_or(|c| !c.is_empty()) || !self.retired.is_empty()
    }

    /// The last pass's operations all succeeded: the retired services are
    /// gone from the kernel and every virtual server is as desired.
    pub fn applied(&mut self) {
        self.retired.clear();
        self.changed = Some(BTreeSet::new());
    }

    /// What to do at shutdown: the operations that remove the services this
    /// daemon manages (none with `--dont-release-ipvs`; keepalived removes
    /// its own services on stop), and the `omega` notifications of the
    /// virtual servers that ask for them.
    /// `present`: the services the kernel holds.
    pub fn shutdown(
        &self,
        present: &BTreeSet<ServiceKey>,
        release_ipvs: bool,
    ) -> (Vec<Op>, Vec<Effect>) {
        let ops = if release_ipvs {
            self.slots
                .iter()
                .map(|s| s.vs.plan.service.key)
                .chain(self.retired.iter().copied())
                .filter(|k| present.contains(k))
                .map(Op::DelService)
                .collect()
        } else {
            Vec::new()
        };
        let mut effects = Vec::new();
        for slot in self.slots.iter().filter(|s| s.vs.omega) {
            {
                for (i, v) in slot.verdicts.iter().enumerate() {
                    let script = slot.vs.real_notify.get(i).and_then(|n| n.down.clone());
                    if let (true, Some(script)) = (v.up, script) {
                        effects.push(Effect::Notify {
                            script,
                            reason: format!(
                                "real server {} is down (shutdown)",
                                show_dest(&slot.vs.plan.reals[i].dest.key)
                            ),
                        });
                    }
                }
                if let (true, Some(script)) = (slot.quorum.up, slot.vs.quorum_down.clone()) {
                    effects.push(Effect::Notify {
                        script,
                        reason: "quorum down (shutdown)".into(),
                    });
                }
            }
        }
        (ops, effects)
    }

    /// Each virtual server with its real servers' current verdicts and its
    /// quorum state, in configuration order.
    pub fn servers(&self) -> impl Iterator<Item = (&VirtualServer, &[Verdict], bool)> {
        self.slots
            .iter()
            .map(|s| (&*s.vs, s.verdicts.as_slice(), s.quorum.up))
    }

    /// Real servers of the last load or reload new to their service, with
    /// no verdict from before (they start up, or down with `alpha`).
    pub fn fresh_reals(&self) -> usize {
        self.fresh_reals
    }

    /// How many virtual servers there are.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True without virtual servers.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Virtual server `index` (configuration order).
    pub fn server(&self, index: usize) -> Option<&Arc<VirtualServer>> {
        self.slots.get(index).map(|s| &s.vs)
    }

    /// The verdicts of `vs`'s real servers: that of the same address in
    /// `before`, else up (down with `alpha`), counted as fresh.
    fn carry_verdicts(&mut self, vs: &VirtualServer, before: Option<&Slot>) -> Vec<Verdict> {
        let carried: BTreeMap<DestKey, Verdict> = before
            .map(|old| {
                old.vs
                    .plan
                    .reals
                    .iter()
                    .map(|r| r.dest.key)
                    .zip(old.verdicts.iter().copied())
                    .collect()
            })
            .unwrap_or_default();
        vs.plan
            .reals
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let alpha = vs.alpha.get(i).copied().unwrap_or(false);
                carried.get(&r.dest.key).copied().unwrap_or_else(|| {
                    self.fresh_reals += 1;
                    if alpha {
                        DOWN
                    } else {
                        UP
                    }
                })
            })
            .collect()
    }

    /// Whether virtual server `vs` has quorum.
    pub fn quorum_up(&self, vs: usize) -> Option<bool> {
        self.slots.get(vs).map(|s| s.quorum.up)
    }
}

impl Slot {
    fn evaluate_quorum(&mut self) -> Option<Effect> {
        let (_, change) = desired_service(&self.vs.plan, &self.verdicts, &mut self.quorum);
        let (script, word) = match change? {
            QuorumChange::Gained => (self.vs.quorum_up.clone(), "gained"),
            QuorumChange::Lost => (self.vs.quorum_down.clone(), "lost"),
        };
        Some(Effect::Notify {
            script: script?,
            reason: format!("quorum {word}"),
        })
    }
}

fn show_dest(d: &DestKey) -> String {
    std::net::SocketAddr::new(d.addr, d.port).to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lvs::desired::{RealServerPlan, SorryServerPlan};
    use crate::lvs::diff::table_from_entries;
    use ipvs_sys::{Dest, FwdMethod, Protocol, Service};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    pub(crate) fn key(addr: &str) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip(addr),
            port: 80,
        }
    }

    /// A virtual server with real servers `reals` (port 80, notify scripts).
    pub(crate) fn vs(addr: &str, reals: &[&str], alpha: bool) -> VirtualServer {
        VirtualServer {
            plan: VirtualServerPlan {
                service: Service::new(key(addr), "rr"),
                reals: reals
                    .iter()
                    .map(|r| RealServerPlan {
                        dest: Dest::new(ip(r), 80, FwdMethod::Route).into(),
                        inhibit_on_failure: false,
                    })
                    .collect(),
                sorry: Some(SorryServerPlan {
                    dest: Dest::new(ip("10.9.9.9"), 80, FwdMethod::Masq).into(),
                    inhibit: false,
                }),
                quorum: 1,
                hysteresis: 0,
            },
            alpha: vec![alpha; reals.len()],
            real_notify: reals
                .iter()
                .map(|r| RealServerNotify {
                    up: Some(format!("/bin/up {r}")),
                    down: Some(format!("/bin/down {r}")),
                })
                .collect(),
            quorum_up: Some("/bin/qup".into()),
            quorum_down: Some("/bin/qdown".into()),
            omega: true,
        }
    }

    fn scripts(effects: &[Effect]) -> Vec<&str> {
        effects
            .iter()
            .map(|e| match e {
                Effect::Notify { script, .. } => script.as_str(),
            })
            .collect()
    }

    fn dests(t: &Table, k: &str) -> Vec<String> {
        t[&key(k)]
            .dests
            .keys()
            .map(|d| d.addr.to_string())
            .collect()
    }

    #[test]
    fn alpha_starts_down_and_loses_quorum_at_once() {
        let (e, effects) = Engine::new(vec![vs("10.0.0.1", &["10.0.1.1"], true)]);
        assert_eq!(scripts(&effects), ["/bin/qdown"]);
        assert_eq!(dests(&e.desired_table(), "10.0.0.1"), ["10.9.9.9"]);
    }

    #[test]
    fn verdict_changes_notify_in_order_and_change_the_table() {
        let (mut e, effects) = Engine::new(vec![vs("10.0.0.1", &["10.0.1.1", "10.0.1.2"], false)]);
        assert!(effects.is_empty());
        assert_eq!(scripts(&e.set_verdict(0, 0, DOWN)), ["/bin/down 10.0.1.1"]);
        // The same verdict again changes nothing.
        assert!(e.set_verdict(0, 0, DOWN).is_empty());
        assert_eq!(
            scripts(&e.set_verdict(0, 1, DOWN)),
            ["/bin/down 10.0.1.2", "/bin/qdown"]
        );
        assert_eq!(dests(&e.desired_table(), "10.0.0.1"), ["10.9.9.9"]);
        assert_eq!(
            scripts(&e.set_verdict(0, 1, UP)),
            ["/bin/up 10.0.1.2", "/bin/qup"]
        );
        assert_eq!(dests(&e.desired_table(), "10.0.0.1"), ["10.0.1.2"]);
        // Out-of-range indices (a verdict racing a reload) are ignored.
        assert!(e.set_verdict(5, 0, UP).is_empty());
    }

    #[test]
    fn a_reload_keeps_verdicts_so_a_failed_server_is_not_readded() {
        let (mut e, _) = Engine::new(vec![
            vs("10.0.0.1", &["10.0.1.1", "10.0.1.2"], false),
            vs("10.0.0.2", &["10.0.1.3"], false),
        ]);
        assert_eq!(e.fresh_reals(), 3);
        // The same real servers in another order: every verdict is kept.
        e.reload(vec![
            vs("10.0.0.1", &["10.0.1.2", "10.0.1.1"], false),
            vs("10.0.0.2", &["10.0.1.3"], false),
        ]);
        assert_eq!(e.fresh_reals(), 0);
        // 10.0.1.2 in the other service too: new to that one.
        e.reload(vec![
            vs("10.0.0.1", &["10.0.1.1", "10.0.1.2"], false),
            vs("10.0.0.2", &["10.0.1.3", "10.0.1.2"], false),
        ]);
        assert_eq!(e.fresh_reals(), 1);
        e.set_verdict(0, 1, DOWN);
        // The new configuration adds a real server, reorders, and drops 10.0.0.2.
        let effects = e.reload(vec![vs(
            "10.0.0.1",
            &["10.0.1.4", "10.0.1.2", "10.0.1.1"],
            false,
        )]);
        assert!(effects.is_empty(), "{effects:?}");
        let t = e.desired_table();
        assert_eq!(dests(&t, "10.0.0.1"), ["10.0.1.1", "10.0.1.4"]);
        // 10.0.1.4 is new to its service: it had no verdict to keep.
        assert_eq!(e.fresh_reals(), 1);

        // The dropped service is removed from the kernel, once.
        let actual = table_from_entries([
            (Service::new(key("10.0.0.1"), "rr"), vec![]),
            (Service::new(key("10.0.0.2"), "rr"), vec![]),
        ]);
        let ops = e.pass(&mut actual.clone(), true).unwrap();
        assert!(ops.contains(&Op::DelService(key("10.0.0.2"))), "{ops:?}");
        e.applied();
        assert!(!e
            .pass(&mut actual.clone(), true)
            .unwrap()
            .contains(&Op::DelService(key("10.0.0.2"))));
    }

    /// The services (by address) that `ops` touch.
    fn touched(ops: &[Op]) -> BTreeSet<String> {
        ops.iter()
            .filter_map(|op| match op {
                Op::AddService(s) | Op::EditService(s) => Some(s.key),
                Op::AddDest(k, _) | Op::EditDest(k, _) | Op::DelDest(k, _) | Op::DelService(k) => {
                    Some(*k)
                }
                _ => None,
            })
            .map(|k| match k {
                ServiceKey::Addr { addr, .. } => addr.to_string(),
                ServiceKey::Fwmark { mark, .. } => mark.to_string(),
            })
            .collect()
    }

    #[test]
    fn after_an_applied_pass_only_changed_virtual_servers_are_diffed() {
        let servers = || {
            vec![
                vs("10.0.0.1", &["10.0.1.1", "10.0.1.2"], false),
                vs("10.0.0.2", &["10.0.1.3"], false),
                vs("10.0.0.3", &["10.0.1.4"], false),
            ]
        };
        let (mut e, _) = Engine::new(servers());
        // Before any applied pass, everything is diffed.
        let changed = |e: &Engine, kernel: &Table| e.pass(&mut kernel.clone(), false).unwrap();
        let empty = Table::new();
        assert_eq!(touched(&changed(&e, &empty)).len(), 3);
        assert!(e.has_changes());
        e.applied();
        assert!(!e.has_changes());
        assert!(changed(&e, &empty).is_empty());
        // A verdict: only its virtual server (a full pass would also add
        // the other two, missing from `empty`).
        e.set_verdict(0, 1, DOWN);
        assert!(e.has_changes());
        assert_eq!(
            touched(&changed(&e, &empty)),
            ["10.0.0.1".to_string()].into()
        );
        assert_eq!(touched(&e.pass(&mut empty.clone(), true).unwrap()).len(), 3);
        // Not applied yet: a reload keeps it changed, and adds what the
        // reload changed (10.0.0.3's real server) and what it retired.
        let mut next = servers();
        next[2] = vs("10.0.0.3", &["10.0.1.5"], false);
        next.remove(1);
        e.reload(next);
        let actual = table_from_entries([(Service::new(key("10.0.0.2"), "rr"), vec![])]);
        assert_eq!(
            touched(&changed(&e, &actual)),
            ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
                .map(String::from)
                .into()
        );
        e.applied();
        // A reload that changes nothing changes nothing to diff.
        let same = e.servers().map(|(v, _, _)| v.clone()).collect();
        e.reload(same);
        assert!(changed(&e, &empty).is_empty());
    }

    #[test]
    fn a_pass_over_the_kernel_converges_repairs_by_hand_changes_and_leaves_foreign_services() {
        use crate::lvs::diff::apply_ops;
        let (mut e, _) = Engine::new(vec![
            vs("10.0.0.1", &["10.0.1.1", "10.0.1.2", "10.0.1.3"], false),
            vs("10.0.0.2", &["10.0.1.4"], false),
        ]);
        // The kernel: 10.0.0.1 adopted with one real server missing and one
        // weight off, plus a service nobody configured.
        let mut wrong = Dest::new(ip("10.0.1.3"), 80, FwdMethod::Route);
        wrong.weight = 9;
        let mut kernel = table_from_entries([
            (
                Service::new(key("10.0.0.1"), "rr"),
                vec![Dest::new(ip("10.0.1.1"), 80, FwdMethod::Route), wrong],
            ),
            (Service::new(key("10.0.0.9"), "rr"), vec![]),
        ]);
        let ops = e.pass(&mut kernel, false).unwrap();
        assert_eq!(
            touched(&ops),
            ["10.0.0.1", "10.0.0.2"].map(String::from).into()
        );
        apply_ops(&mut kernel, &ops);
        e.applied();
        let mut want = e.desired_table();
        want.insert(key("10.0.0.9"), kernel[&key("10.0.0.9")].clone());
        assert_eq!(kernel, want);
        assert_eq!(e.pass(&mut kernel, true).unwrap(), []);
        // A real server deleted by hand: a pass over what changed (nothing)
        // does not read it; the periodic pass over everything restores it.
        let gone = kernel
            .get_mut(&key("10.0.0.1"))
            .and_then(|s| s.dests.pop_first())
            .unwrap();
        assert_eq!(e.pass(&mut kernel, false).unwrap(), []);
        assert_eq!(
            e.pass(&mut kernel, true).unwrap(),
            [Op::AddDest(key("10.0.0.1"), gone.1)]
        );
    }

    #[test]
    fn shutdown_releases_own_services_and_omega_notifies() {
        let (mut e, _) = Engine::new(vec![vs("10.0.0.1", &["10.0.1.1", "10.0.1.2"], false)]);
        e.set_verdict(0, 1, DOWN);
        let present = BTreeSet::from([key("10.0.0.1"), key("10.0.0.7")]);
        let (ops, effects) = e.shutdown(&present, true);
        assert_eq!(ops, [Op::DelService(key("10.0.0.1"))]);
        assert_eq!(scripts(&effects), ["/bin/down 10.0.1.1", "/bin/qdown"]);

        let mut quiet = vs("10.0.0.1", &["10.0.1.1", "10.0.1.2"], false);
        quiet.omega = false;
        let (e, _) = Engine::new(vec![quiet]);
        let (ops, effects) = e.shutdown(&present, false);
        assert!(ops.is_empty() && effects.is_empty());
    }
}
