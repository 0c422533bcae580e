//! The virtual-server part of the status snapshot: the engine's view (health,
//! configured weights, quorum) joined with the kernel's (weights, connections,
//! counters) and the checkers' last results.

use ipvs_sys::error::KeyDisplay;
use ipvs_sys::format::{addrport, fwd_name, service_summary};

use super::diff::Table;
use super::engine::Engine;
use crate::status::{RealServerStatus, Traffic, VirtualServerStatus};

/// The last check of one real server, as the checkers report it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LastCheck {
    /// `ok`, or why it failed.
    pub result: Option<String>,
    /// Latency in milliseconds.
    pub latency_ms: Option<f64>,
    /// Failed checks since start.
    pub failures: u64,
}

impl LastCheck {
    /// Records a probe: its result (`ok`, or why it failed), its latency,
    /// and a failure in the count. The text is replaced only when it
    /// changes, so a passing probe allocates nothing.
    pub fn record(&mut self, failure: Option<&checks::Failure>, latency_ms: f64) {
        match failure {
            None if self.result.as_deref() == Some(PASSED) => {}
            None => self.result = Some(PASSED.to_string()),
            Some(f) => {
                self.result = Some(f.to_string());
                self.failures += 1;
            }
        }
        self.latency_ms = Some(latency_ms);
    }
}

/// The result text of a probe that passed.
pub const PASSED: &str = "ok";

/// Status of every virtual server; `last_check(vs, real)` gives the
/// checkers' last result for real server `real` of virtual server `vs`.
pub fn virtual_server_status(
    engine: &Engine,
    kernel: &Table,
    last_check: impl Fn(usize, usize) -> LastCheck,
) -> Vec<VirtualServerStatus> {
    engine
        .servers()
        .enumerate()
        .map(|(vs_index, (vs, verdicts, quorum_up))| {
            let key = vs.plan.service.key;
            let in_kernel = kernel.get(&key);
            let real_servers = vs
                .plan
                .reals
                .iter()
                .enumerate()
                .map(|(i, real)| {
                    let kdest = in_kernel.and_then(|k| k.dests.get(&real.dest.key));
                    let check = last_check(vs_index, i);
                    RealServerStatus {
                        address: addrport(&real.dest.key.addr, real.dest.key.port),
                        forward: fwd_name(&real.dest.fwd).to_string(),
                        healthy: verdicts.get(i).is_none_or(|v| v.up),
                        configured_weight: real.dest.weight,
                        kernel_weight: kdest.map(|d| d.weight),
                        last_check: check.result,
                        last_latency_ms: check.latency_ms,
                        check_failures: check.failures,
                        active_conns: kdest.map_or(0, |d| d.active_conns),
                        inactive_conns: kdest.map_or(0, |d| d.inact_conns),
                        traffic: kdest.and_then(|d| d.stats.as_ref()).map(Traffic::from),
                    }
                })
                .collect();
            let sorry_server_active = vs.plan.sorry.as_ref().is_some_and(|s| {
                in_kernel
                    .and_then(|k| k.dests.get(&s.dest.key))
                    .is_some_and(|d| d.weight > 0)
                    && !quorum_up
            });
            VirtualServerStatus {
                service: KeyDisplay(&key).to_string(),
                scheduler: vs.plan.service.scheduler.clone(),
                summary: service_summary(&vs.plan.service),
                quorum_up,
                sorry_server_active,
                checks_suspended: false,
                traffic: in_kernel
                    .and_then(|k| k.service.stats.as_ref())
                    .map(Traffic::from),
                real_servers,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::desired::{RealServerPlan, SorryServerPlan, VirtualServerPlan, DOWN};
    use crate::lvs::engine::VirtualServer;
    use ipvs_sys::{Dest, FwdMethod, Protocol, Service, ServiceKey, Stats};

    #[test]
    fn a_probe_records_its_result_latency_and_failure() {
        let mut last = LastCheck::default();
        last.record(Some(&checks::Failure::Refused), 0.5);
        let refused = checks::Failure::Refused.to_string();
        assert_eq!(last.result.as_deref(), Some(refused.as_str()));
        assert_eq!((last.latency_ms, last.failures), (Some(0.5), 1));
        last.record(None, 0.25);
        last.record(None, 0.75);
        assert_eq!(last.result.as_deref(), Some("ok"));
        assert_eq!((last.latency_ms, last.failures), (Some(0.75), 1));
    }

    #[test]
    fn health_weights_and_counters_are_joined() {
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "10.0.0.3".parse().unwrap(),
            port: 80,
        };
        let mut d1 = Dest::new("10.0.1.1".parse().unwrap(), 80, FwdMethod::Route);
        d1.weight = 3;
        let d2 = Dest::new("10.0.1.2".parse().unwrap(), 8080, FwdMethod::Route);
        let vs = VirtualServer {
            plan: VirtualServerPlan {
                service: Service::new(key, "wlc"),
                reals: vec![
                    RealServerPlan {
                        dest: d1.into(),
                        inhibit_on_failure: false,
                    },
                    RealServerPlan {
                        dest: d2.into(),
                        inhibit_on_failure: false,
                    },
                ],
                sorry: Some(SorryServerPlan {
                    dest: Dest::new("10.0.1.99".parse().unwrap(), 80, FwdMethod::Masq).into(),
                    inhibit: false,
                }),
                quorum: 1,
                hysteresis: 0,
            },
            alpha: vec![false, false],
            real_notify: vec![],
            quorum_up: None,
            quorum_down: None,
            omega: false,
        };
        let (mut engine, _) = Engine::new(vec![vs]);
        engine.set_verdict(0, 1, DOWN);
        let mut kernel = engine.desired_table();
        let entry = kernel.get_mut(&key).unwrap();
        entry.service.stats = Some(Stats {
            conns: 9,
            ..Stats::default()
        });
        for d in entry.dests.values_mut() {
            d.active_conns = 4;
        }
        let status = virtual_server_status(&engine, &kernel, |_, i| LastCheck {
            result: Some(if i == 0 { "ok" } else { "connection refused" }.into()),
            latency_ms: Some(1.0),
            failures: i as u64,
        });
        assert_eq!(status.len(), 1);
        let s = &status[0];
        assert_eq!(s.service, "TCP 10.0.0.3:80");
        assert_eq!(s.summary, "TCP  10.0.0.3:80 wlc");
        assert!(s.quorum_up && !s.sorry_server_active);
        assert_eq!(s.traffic.unwrap().conns, 9);
        let r = &s.real_servers;
        assert_eq!(r[0].address, "10.0.1.1:80");
        assert_eq!(r[0].forward, "Route");
        assert!(r[0].healthy);
        assert_eq!(
            (
                r[0].configured_weight,
                r[0].kernel_weight,
                r[0].active_conns
            ),
            (3, Some(3), 4)
        );
        assert_eq!(r[1].address, "10.0.1.2:8080");
        assert!(!r[1].healthy);
        assert_eq!((r[1].kernel_weight, r[1].check_failures), (None, 1));
        assert_eq!(r[1].last_check.as_deref(), Some("connection refused"));
    }
}
