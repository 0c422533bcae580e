//! `lvsd status`: the snapshot as a table for operators.

use std::fmt::Write;

use super::Status;

/// Renders `status`; `now` (unix seconds) makes "last transition" relative.
pub fn render(status: &Status, now: u64) -> String {
    let mut out = String::new();
    if !status.vrrp.is_empty() {
        out.push_str("VRRP instance        Interface  VRID State   Prio Eff  Master                  Last transition\n");
        for v in &status.vrrp {
            let master = v.master.map_or_else(|| "-".to_string(), |a| a.to_string());
            let since = v.last_transition.map_or_else(
                || "-".to_string(),
                |t| format!("{} ago", ago(now.saturating_sub(t))),
            );
            let _ = writeln!(
                out,
                "{:<20} {:<10} {:<4} {:<7} {:<4} {:<4} {:<23} {}",
                v.name,
                v.interface,
                v.vrid,
                v.state,
                v.priority,
                v.effective_priority,
                master,
                since
            );
        }
    }
    for vs in &status.virtual_servers {
        if !out.is_empty() {
            out.push('\n');
        }
        let quorum = if vs.quorum_up {
            "quorum up"
        } else {
            "QUORUM LOST"
        };
        let sorry = if vs.sorry_server_active {
            ", sorry server in service"
        } else {
            ""
        };
        let _ = writeln!(out, "{} {} ({quorum}{sorry})", vs.service, vs.scheduler);
        out.push_str("  -> RealServer                   Health Weight Kernel Last check                 Latency  ActiveConn InActConn\n");
        for rs in &vs.real_servers {
            let health = if rs.healthy { "up" } else { "DOWN" };
            let kernel = rs
                .kernel_weight
                .map_or_else(|| "-".to_string(), |w| w.to_string());
            let last = rs.last_check.as_deref().unwrap_or("-");
            let latency = rs
                .last_latency_ms
                .map_or_else(|| "-".to_string(), |ms| format!("{ms:.1}ms"));
            let _ = writeln!(
                out,
                "  -> {:<28} {:<6} {:<6} {:<6} {:<26} {:<8} {:<10} {}",
                rs.address,
                health,
                rs.configured_weight,
                kernel,
                last,
                latency,
                rs.active_conns,
                rs.inactive_conns
            );
        }
    }
    if out.is_empty() {
        out.push_str("no VRRP instance and no virtual server configured\n");
    }
    out
}

/// A short human duration: `42s`, `3m12s`, `5h02m`, `2d03h`.
fn ago(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..=86399 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{:02}h", secs / 86400, secs % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{RealServerStatus, VirtualServerStatus, VrrpStatus};

    #[test]
    fn instances_and_servers_are_listed_with_their_health() {
        let status = Status {
            vrrp: vec![VrrpStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                state: "MASTER".into(),
                priority: 150,
                effective_priority: 148,
                master: Some("10.0.0.1".parse().unwrap()),
                last_transition: Some(1000),
                transitions: 2,
            }],
            virtual_servers: vec![VirtualServerStatus {
                service: "TCP 10.0.0.3:80".into(),
                scheduler: "wrr".into(),
                quorum_up: true,
                sorry_server_active: false,
                traffic: None,
                real_servers: vec![RealServerStatus {
                    address: "10.0.1.2:80".into(),
                    healthy: false,
                    configured_weight: 3,
                    kernel_weight: None,
                    last_check: Some("connection refused".into()),
                    last_latency_ms: Some(0.25),
                    check_failures: 4,
                    active_conns: 0,
                    inactive_conns: 2,
                    traffic: None,
                }],
            }],
            ..Status::default()
        };
        let text = render(&status, 1192);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "VI_1                 eth0       51   MASTER  150  148  10.0.0.1                3m12s ago"
        );
        assert_eq!(lines[3], "TCP 10.0.0.3:80 wrr (quorum up)");
        assert_eq!(
            lines[5],
            "  -> 10.0.1.2:80                  DOWN   3      -      connection refused         0.2ms    0          2"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(ago(59), "59s");
        assert_eq!(ago(60), "1m00s");
        assert_eq!(ago(3 * 3600 + 120), "3h02m");
        assert_eq!(ago(2 * 86400 + 3 * 3600), "2d03h");
    }
}
