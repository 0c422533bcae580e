//! The desired IPVS entry of one virtual server, from its configuration and
//! the checkers' verdicts, with keepalived's quorum and sorry-server rules.
//!
//! Pure: `(plan, verdicts, quorum state) -> (desired service, quorum change)`.
//! The daemon keeps the [`QuorumState`] of each virtual server between calls;
//! hysteresis needs that memory.

use std::collections::BTreeMap;

use ipvs_sys::{Dest, DestKey, FwdMethod, Service};

/// A destination as configured: a [`Dest`] without the connection counts,
/// counters and unknown attributes only the kernel's replies carry (at
/// 10,000 real servers the plans are 1.3 MB smaller for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestPlan {
    /// Address and port.
    pub key: DestKey,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Configured weight.
    pub weight: i32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold.
    pub l_threshold: u32,
}

impl DestPlan {
    /// The destination to program, with `weight`.
    pub fn with_weight(&self, weight: i32) -> Dest {
        let mut d = Dest::new(self.key.addr, self.key.port, self.fwd);
        d.weight = weight;
        d.u_threshold = self.u_threshold;
        d.l_threshold = self.l_threshold;
        d
    }
}

impl From<Dest> for DestPlan {
    fn from(d: Dest) -> DestPlan {
        DestPlan {
            key: d.key,
            fwd: d.fwd,
            weight: d.weight,
            u_threshold: d.u_threshold,
            l_threshold: d.l_threshold,
        }
    }
}

/// One configured real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerPlan {
    /// Address, port, forwarding method, configured weight and thresholds.
    pub dest: DestPlan,
    /// `inhibit_on_failure`: a failed server stays with weight 0 instead of
    /// being removed, so its established connections are not cut.
    pub inhibit_on_failure: bool,
}

/// The `sorry_server` of a virtual server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryServerPlan {
    /// Address, port and forwarding method (`sorry_server_lvs_method`).
    pub dest: DestPlan,
    /// `sorry_server_inhibit`: while not needed the sorry server stays in the
    /// table with weight 0 instead of being absent.
    pub inhibit: bool,
}

/// A configured virtual server, ready to turn into IPVS entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerPlan {
    /// Key, scheduler, flags, persistence and persistence engine.
    pub service: Service,
    /// The real servers, in configuration order.
    pub reals: Vec<RealServerPlan>,
    /// The sorry server, if any.
    pub sorry: Option<SorryServerPlan>,
    /// `quorum`: the live weight below which the service has lost quorum.
    pub quorum: u32,
    /// `hysteresis`: quorum is lost below `quorum − hysteresis` and regained
    /// at `quorum + hysteresis`.
    pub hysteresis: u32,
}

impl VirtualServerPlan {
    /// True when `other` has the same real servers (by address) in the
    /// same order: what is kept per real server then carries over by
    /// position.
    pub fn same_reals(&self, other: &VirtualServerPlan) -> bool {
        self.reals.len() == other.reals.len()
            && self
                .reals
                .iter()
                .zip(&other.reals)
                .all(|(a, b)| a.dest.key == b.dest.key)
    }
}

/// What the checkers say about one real server (the checks crate's verdict).
pub use checks::Verdict;

/// A real server that is up, with its configured weight.
pub const UP: Verdict = Verdict {
    up: true,
    dynamic_weight: None,
};
/// A real server that is down.
pub const DOWN: Verdict = Verdict {
    up: false,
    dynamic_weight: None,
};

/// Whether a virtual server has quorum; starts up, as in keepalived
/// (`quorum_state_up` is set before the first evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumState {
    /// The service has quorum.
    pub up: bool,
}

impl Default for QuorumState {
    fn default() -> Self {
        QuorumState { up: true }
    }
}

/// A change of quorum, for `quorum_up` / `quorum_down` notify commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumChange {
    /// The live weight reached `quorum + hysteresis`.
    Gained,
    /// The live weight fell below `quorum − hysteresis`.
    Lost,
}

/// The IPVS entries one virtual server should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    /// The service itself.
    pub service: Service,
    /// Its destinations, by address and port.
    pub dests: BTreeMap<DestKey, Dest>,
}

/// The desired entries of `plan` given each real server's verdict (by index
/// in `plan.reals`; a missing verdict counts as up, as a real server without
/// checkers is in keepalived), updating `quorum`.
///
/// keepalived (check/ipwrapper.c, `update_quorum_state`): the live weight is
/// the sum of the weights of the real servers that are up; quorum is lost
/// when it falls below `quorum − hysteresis` and regained when it reaches
/// `quorum + hysteresis`. While quorum is lost and a sorry server exists, the
/// sorry server goes in and the real servers go out.
pub fn desired_service(
    plan: &VirtualServerPlan,
    verdicts: &[Verdict],
    quorum: &mut QuorumState,
) -> (DesiredService, Option<QuorumChange>) {
    let verdict = |i: usize| verdicts.get(i).copied().unwrap_or(UP);
    let live_weight: i64 = plan
        .reals
        .iter()
        .enumerate()
        .filter(|(i, _)| verdict(*i).up)
        .map(|(i, r)| i64::from(verdict(i).dynamic_weight.unwrap_or(r.dest.weight).max(0)))
        .sum();

    let lost_below = i64::from(plan.quorum) - i64::from(plan.hysteresis);
    let gained_at = i64::from(plan.quorum) + i64::from(plan.hysteresis);
    let change = if quorum.up && (live_weight == 0 || live_weight < lost_below) {
        quorum.up = false;
        Some(QuorumChange::Lost)
    } else if !quorum.up && live_weight > 0 && live_weight >= gained_at {
        quorum.up = true;
        Some(QuorumChange::Gained)
    } else {
        None
    };

    let sorry_in_use = !quorum.up && plan.sorry.is_some();
    let mut dests = BTreeMap::new();
    for (i, real) in plan.reals.iter().enumerate() {
        let v = verdict(i);
        let weight = if v.up && !sorry_in_use {
            Some(v.dynamic_weight.unwrap_or(real.dest.weight))
        } else if real.inhibit_on_failure {
            Some(0)
        } else {
            None
        };
        if let Some(weight) = weight {
            dests.insert(real.dest.key, real.dest.with_weight(weight));
        }
    }
    if let Some(sorry) = &plan.sorry {
        // A sorry server that is also a real server: the real server's entry
        // wins while quorum holds (keepalived refuses such a config; be safe).
        if sorry_in_use {
            dests.insert(sorry.dest.key, sorry.dest.with_weight(sorry.dest.weight));
        } else if sorry.inhibit {
            dests
                .entry(sorry.dest.key)
                .or_insert_with(|| sorry.dest.with_weight(0));
        }
    }
    (
        DesiredService {
            service: plan.service.clone(),
            dests,
        },
        change,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs_sys::{FwdMethod, Protocol, ServiceKey};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn real(addr: &str, weight: i32, inhibit: bool) -> RealServerPlan {
        let mut dest = Dest::new(ip(addr), 80, FwdMethod::Route);
        dest.weight = weight;
        RealServerPlan {
            dest: dest.into(),
            inhibit_on_failure: inhibit,
        }
    }

    fn plan(
        reals: Vec<RealServerPlan>,
        sorry: bool,
        quorum: u32,
        hysteresis: u32,
    ) -> VirtualServerPlan {
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip("10.0.0.3"),
            port: 80,
        };
        VirtualServerPlan {
            service: Service::new(key, "wrr"),
            reals,
            sorry: sorry.then(|| SorryServerPlan {
                dest: Dest::new(ip("10.0.0.99"), 80, FwdMethod::Masq).into(),
                inhibit: false,
            }),
            quorum,
            hysteresis,
        }
    }

    fn weights(d: &DesiredService) -> Vec<(String, i32)> {
        d.dests
            .values()
            .map(|d| (d.key.addr.to_string(), d.weight))
            .collect()
    }

    #[test]
    fn up_servers_are_in_with_their_weight_and_failed_ones_out() {
        let p = plan(
            vec![real("10.0.1.1", 3, false), real("10.0.1.2", 1, false)],
            false,
            1,
            0,
        );
        let mut q = QuorumState::default();
        let (d, change) = desired_service(&p, &[UP, DOWN], &mut q);
        assert_eq!(weights(&d), [("10.0.1.1".into(), 3)]);
        assert_eq!(change, None);
        assert_eq!(d.service, p.service);
    }

    #[test]
    fn inhibit_on_failure_keeps_a_failed_server_at_weight_zero() {
        let p = plan(
            vec![real("10.0.1.1", 3, true), real("10.0.1.2", 2, false)],
            false,
            1,
            0,
        );
        let mut q = QuorumState::default();
        let (d, _) = desired_service(&p, &[DOWN, UP], &mut q);
        assert_eq!(
            weights(&d),
            [("10.0.1.1".into(), 0), ("10.0.1.2".into(), 2)]
        );
    }

    #[test]
    fn misc_dynamic_weight_replaces_the_configured_one() {
        let p = plan(vec![real("10.0.1.1", 3, false)], false, 1, 0);
        let v = Verdict {
            up: true,
            dynamic_weight: Some(7),
        };
        let (d, _) = desired_service(&p, &[v], &mut QuorumState::default());
        assert_eq!(weights(&d), [("10.0.1.1".into(), 7)]);
    }

    #[test]
    fn missing_verdicts_count_as_up() {
        let p = plan(vec![real("10.0.1.1", 3, false)], false, 1, 0);
        let (d, _) = desired_service(&p, &[], &mut QuorumState::default());
        assert_eq!(weights(&d), [("10.0.1.1".into(), 3)]);
    }

    #[test]
    fn all_down_brings_the_sorry_server_in_and_recovery_takes_it_out() {
        let p = plan(
            vec![real("10.0.1.1", 1, false), real("10.0.1.2", 1, true)],
            true,
            1,
            0,
        );
        let mut q = QuorumState::default();
        let (d, change) = desired_service(&p, &[DOWN, DOWN], &mut q);
        assert_eq!(change, Some(QuorumChange::Lost));
        // The inhibited real server stays at weight 0; the sorry server is in.
        assert_eq!(
            weights(&d),
            [("10.0.0.99".into(), 1), ("10.0.1.2".into(), 0)]
        );

        let (d, change) = desired_service(&p, &[UP, DOWN], &mut q);
        assert_eq!(change, Some(QuorumChange::Gained));
        assert_eq!(
            weights(&d),
            [("10.0.1.1".into(), 1), ("10.0.1.2".into(), 0)]
        );
    }

    #[test]
    fn while_quorum_is_lost_live_real_servers_go_out() {
        // quorum 5: one live server of weight 2 is not enough.
        let p = plan(
            vec![real("10.0.1.1", 2, false), real("10.0.1.2", 3, false)],
            true,
            5,
            0,
        );
        let mut q = QuorumState::default();
        let (d, change) = desired_service(&p, &[UP, DOWN], &mut q);
        assert_eq!(change, Some(QuorumChange::Lost));
        assert_eq!(weights(&d), [("10.0.0.99".into(), 1)]);
    }

    #[test]
    fn hysteresis_holds_the_state_inside_the_band() {
        // quorum 4, hysteresis 1: lost below 3, regained at 5.
        let p = plan(
            vec![
                real("10.0.1.1", 2, false),
                real("10.0.1.2", 1, false),
                real("10.0.1.3", 2, false),
            ],
            true,
            4,
            1,
        );
        let mut q = QuorumState::default();
        let (u, d) = (UP, DOWN);
        // live 3: inside the band, still up.
        assert_eq!(desired_service(&p, &[u, u, d], &mut q).1, None);
        assert!(q.up);
        // live 2: below 3, lost.
        assert_eq!(
            desired_service(&p, &[u, d, d], &mut q).1,
            Some(QuorumChange::Lost)
        );
        // live 4: inside the band, still lost, sorry server still in.
        let (des, change) = desired_service(&p, &[u, d, u], &mut q);
        assert_eq!(change, None);
        assert_eq!(weights(&des), [("10.0.0.99".into(), 1)]);
        // live 5: regained.
        assert_eq!(
            desired_service(&p, &[u, u, u], &mut q).1,
            Some(QuorumChange::Gained)
        );
    }

    #[test]
    fn without_a_sorry_server_quorum_loss_only_notifies() {
        let p = plan(
            vec![real("10.0.1.1", 1, false), real("10.0.1.2", 1, false)],
            false,
            2,
            0,
        );
        let mut q = QuorumState::default();
        let (d, change) = desired_service(&p, &[UP, DOWN], &mut q);
        assert_eq!(change, Some(QuorumChange::Lost));
        assert_eq!(weights(&d), [("10.0.1.1".into(), 1)]);
    }

    #[test]
    fn sorry_server_inhibit_keeps_it_at_weight_zero_while_unused() {
        let mut p = plan(vec![real("10.0.1.1", 1, false)], true, 1, 0);
        if let Some(s) = p.sorry.as_mut() {
            s.inhibit = true;
        }
        let mut q = QuorumState::default();
        let (d, _) = desired_service(&p, &[UP], &mut q);
        assert_eq!(
            weights(&d),
            [("10.0.0.99".into(), 0), ("10.0.1.1".into(), 1)]
        );
    }
}
