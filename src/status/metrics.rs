//! `/metrics`: the snapshot in the Prometheus text exposition format, built
//! with prometheus-client from each scrape's snapshot.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{Status, Traffic};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    instance: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceStateLabels {
    instance: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceReasonLabels {
    instance: String,
    reason: String,
}

#[derive(Debug, Clone, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

#[derive(Debug, Clone, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RealLabels {
    service: String,
    real_server: String,
}

type G = Family<InstanceLabels, Gauge>;

/// The VRRP states, each exported as a 0/1 series so that a dashboard can
/// show the current one and alert on any.
const VRRP_STATES: [&str; 4] = ["INIT", "BACKUP", "MASTER", "FAULT"];

/// Renders `status` as Prometheus text.
pub fn render(status: &Status) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("lvsd");

    let reloads = Counter::<u64>::default();
    reloads.inc_by(status.reloads);
    registry.register("reloads", "Configuration reloads applied", reloads);
    let reload_errors = Counter::<u64>::default();
    reload_errors.inc_by(status.reload_errors);
    registry.register(
        "reload_errors",
        "Reloads refused because of configuration errors",
        reload_errors,
    );

    let vrrp_state = Family::<InstanceStateLabels, Gauge>::default();
    let (priority, effective) = (G::default(), G::default());
    let transitions = Family::<InstanceLabels, Counter>::default();
    let (sent, received) = (
        Family::<InstanceLabels, Counter>::default(),
        Family::<InstanceLabels, Counter>::default(),
    );
    let dropped = Family::<InstanceReasonLabels, Counter>::default();
    for v in &status.vrrp {
        let l = InstanceLabels {
            instance: v.name.clone(),
        };
        for s in VRRP_STATES {
            vrrp_state
                .get_or_create(&InstanceStateLabels {
                    instance: v.name.clone(),
                    state: s.to_string(),
                })
                .set(i64::from(v.state == s));
        }
        priority.get_or_create(&l).set(i64::from(v.priority));
        effective
            .get_or_create(&l)
            .set(i64::from(v.effective_priority));
        transitions.get_or_create(&l).inc_by(v.transitions);
        sent.get_or_create(&l).inc_by(v.adverts_sent);
        received.get_or_create(&l).inc_by(v.adverts_received);
        for (reason, count) in &v.dropped {
            dropped
                .get_or_create(&InstanceReasonLabels {
                    instance: v.name.clone(),
                    reason: reason.clone(),
                })
                .inc_by(*count);
        }
    }
    registry.register(
        "vrrp_state",
        "1 for the VRRP instance's current state",
        vrrp_state,
    );
    registry.register("vrrp_priority", "Configured VRRP priority", priority);
    registry.register(
        "vrrp_effective_priority",
        "VRRP priority after track weights",
        effective,
    );
    registry.register(
        "vrrp_transitions",
        "VRRP state transitions since start",
        transitions,
    );
    registry.register("vrrp_adverts_sent", "VRRP adverts sent", sent);
    registry.register(
        "vrrp_adverts_received",
        "VRRP adverts received that passed every check",
        received,
    );
    registry.register(
        "vrrp_packets_dropped",
        "Received VRRP packets dropped, by reason",
        dropped,
    );

    let quorum = Family::<ServiceLabels, Gauge>::default();
    let svc_traffic = TrafficGauges::<ServiceLabels>::default();
    let (up, weight, latency, failures) = (
        Family::<RealLabels, Gauge>::default(),
        Family::<RealLabels, Gauge>::default(),
        Family::<RealLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default(),
        Family::<RealLabels, Counter>::default(),
    );
    let (active, inactive) = (
        Family::<RealLabels, Gauge>::default(),
        Family::<RealLabels, Gauge>::default(),
    );
    let real_traffic = TrafficGauges::<RealLabels>::default();
    for vs in &status.virtual_servers {
        let sl = ServiceLabels {
            service: vs.service.clone(),
        };
        quorum.get_or_create(&sl).set(i64::from(vs.quorum_up));
        if let Some(t) = &vs.traffic {
            svc_traffic.set(&sl, t);
        }
        for rs in &vs.real_servers {
            let rl = RealLabels {
                service: vs.service.clone(),
                real_server: rs.address.clone(),
            };
            up.get_or_create(&rl).set(i64::from(rs.healthy));
            weight
                .get_or_create(&rl)
                .set(i64::from(rs.kernel_weight.unwrap_or(0)));
            if let Some(ms) = rs.last_latency_ms {
                latency.get_or_create(&rl).set(ms / 1000.0);
            }
            failures.get_or_create(&rl).inc_by(rs.check_failures);
            active.get_or_create(&rl).set(i64::from(rs.active_conns));
            inactive
                .get_or_create(&rl)
                .set(i64::from(rs.inactive_conns));
            if let Some(t) = &rs.traffic {
                real_traffic.set(&rl, t);
            }
        }
    }
    registry.register(
        "virtual_server_quorum_up",
        "1 while the virtual server has quorum",
        quorum,
    );
    svc_traffic.register(&mut registry, "virtual_server");
    registry.register(
        "real_server_up",
        "1 while every checker of the real server passes",
        up,
    );
    registry.register(
        "real_server_weight",
        "Weight of the real server in the kernel (0 when absent)",
        weight,
    );
    registry.register(
        "real_server_check_latency_seconds",
        "Latency of the last check",
        latency,
    );
    registry.register(
        "real_server_check_failures",
        "Failed checks since start",
        failures,
    );
    registry.register(
        "real_server_active_connections",
        "Active connections (IPVS)",
        active,
    );
    registry.register(
        "real_server_inactive_connections",
        "Inactive connections (IPVS)",
        inactive,
    );
    real_traffic.register(&mut registry, "real_server");

    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}

/// Kernel counters exceed i64 only after centuries of traffic; saturate.
fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// What a label set of a metric family needs.
trait Labels:
    EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static
{
}
impl<
        T: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
    > Labels for T
{
}

/// The IPVS counters and rates of services or real servers.
#[derive(Debug, Default)]
struct TrafficGauges<L: Labels> {
    conns: Family<L, Counter>,
    packets_in: Family<L, Counter>,
    packets_out: Family<L, Counter>,
    bytes_in: Family<L, Counter>,
    bytes_out: Family<L, Counter>,
    cps: Family<L, Gauge>,
    bps_in: Family<L, Gauge>,
    bps_out: Family<L, Gauge>,
}

impl<L: Labels> TrafficGauges<L> {
    fn set(&self, labels: &L, t: &Traffic) {
        self.conns.get_or_create(labels).inc_by(t.conns);
        self.packets_in.get_or_create(labels).inc_by(t.in_packets);
        self.packets_out.get_or_create(labels).inc_by(t.out_packets);
        self.bytes_in.get_or_create(labels).inc_by(t.in_bytes);
        self.bytes_out.get_or_create(labels).inc_by(t.out_bytes);
        self.cps.get_or_create(labels).set(clamp(t.cps));
        self.bps_in.get_or_create(labels).set(clamp(t.in_bps));
        self.bps_out.get_or_create(labels).set(clamp(t.out_bps));
    }

    fn register(self, registry: &mut Registry, what: &str) {
        let r = registry;
        r.register(
            format!("{what}_connections"),
            "Connections scheduled (IPVS counter)",
            self.conns,
        );
        r.register(
            format!("{what}_packets_in"),
            "Packets in (IPVS counter)",
            self.packets_in,
        );
        r.register(
            format!("{what}_packets_out"),
            "Packets out (IPVS counter)",
            self.packets_out,
        );
        r.register(
            format!("{what}_bytes_in"),
            "Bytes in (IPVS counter)",
            self.bytes_in,
        );
        r.register(
            format!("{what}_bytes_out"),
            "Bytes out (IPVS counter)",
            self.bytes_out,
        );
        r.register(
            format!("{what}_connections_per_second"),
            "Connection rate (IPVS)",
            self.cps,
        );
        r.register(
            format!("{what}_bytes_in_per_second"),
            "Byte rate in (IPVS)",
            self.bps_in,
        );
        r.register(
            format!("{what}_bytes_out_per_second"),
            "Byte rate out (IPVS)",
            self.bps_out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{RealServerStatus, VirtualServerStatus, VrrpStatus};

    fn sample() -> Status {
        Status {
            reloads: 3,
            reload_errors: 1,
            vrrp: vec![VrrpStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                state: "BACKUP".into(),
                priority: 100,
                effective_priority: 98,
                master: None,
                last_transition: None,
                transitions: 5,
                adverts_sent: 0,
                adverts_received: 40,
                dropped: [("ttl".to_string(), 2)].into_iter().collect(),
            }],
            virtual_servers: vec![VirtualServerStatus {
                service: "TCP 10.0.0.3:80".into(),
                scheduler: "rr".into(),
                summary: "TCP  10.0.0.3:80 rr".into(),
                quorum_up: true,
                sorry_server_active: false,
                checks_suspended: false,
                traffic: Some(Traffic {
                    conns: 12,
                    in_bytes: 4096,
                    ..Traffic::default()
                }),
                real_servers: vec![RealServerStatus {
                    address: "10.0.1.1:80".into(),
                    forward: "Route".into(),
                    healthy: true,
                    configured_weight: 2,
                    kernel_weight: Some(2),
                    last_check: Some("ok".into()),
                    last_latency_ms: Some(1.5),
                    check_failures: 0,
                    active_conns: 7,
                    inactive_conns: 1,
                    traffic: None,
                }],
            }],
        }
    }

    #[test]
    fn every_family_carries_the_snapshot_values() {
        let text = render(&sample()).unwrap();
        for line in [
            "lvsd_reloads_total 3",
            "lvsd_reload_errors_total 1",
            "lvsd_vrrp_state{instance=\"VI_1\",state=\"BACKUP\"} 1",
            "lvsd_vrrp_state{instance=\"VI_1\",state=\"MASTER\"} 0",
            "lvsd_vrrp_priority{instance=\"VI_1\"} 100",
            "lvsd_vrrp_effective_priority{instance=\"VI_1\"} 98",
            "lvsd_vrrp_transitions_total{instance=\"VI_1\"} 5",
            "lvsd_vrrp_adverts_received_total{instance=\"VI_1\"} 40",
            "lvsd_vrrp_packets_dropped_total{instance=\"VI_1\",reason=\"ttl\"} 2",
            "lvsd_virtual_server_quorum_up{service=\"TCP 10.0.0.3:80\"} 1",
            "lvsd_virtual_server_connections_total{service=\"TCP 10.0.0.3:80\"} 12",
            "lvsd_virtual_server_bytes_in_total{service=\"TCP 10.0.0.3:80\"} 4096",
            "lvsd_real_server_up{service=\"TCP 10.0.0.3:80\",real_server=\"10.0.1.1:80\"} 1",
            "lvsd_real_server_weight{service=\"TCP 10.0.0.3:80\",real_server=\"10.0.1.1:80\"} 2",
            "lvsd_real_server_check_latency_seconds{service=\"TCP 10.0.0.3:80\",real_server=\"10.0.1.1:80\"} 0.0015",
            "lvsd_real_server_active_connections{service=\"TCP 10.0.0.3:80\",real_server=\"10.0.1.1:80\"} 7",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
