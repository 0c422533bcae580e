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
    if !status.virtual_servers.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        // ipvsadm -Ln's columns first (same widths), the health columns after.
        out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
        out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn  Health Conf Last check (latency)\n");
    }
    for vs in &status.virtual_servers {
        let mut notes = Vec::new();
        if !vs.quorum_up {
            notes.push("QUORUM LOST");
        }
        if vs.sorry_server_active {
            notes.push("sorry server in service");
        }
        if vs.checks_suspended {
            notes.push("checks suspended: address not local");
        }
        let summary = if vs.summary.is_empty() {
            format!("{} {}", vs.service, vs.scheduler)
        } else {
            vs.summary.clone()
        };
        if notes.is_empty() {
            let _ = writeln!(out, "{summary}");
        } else {
            let _ = writeln!(out, "{summary}  [{}]", notes.join(", "));
        }
        for rs in &vs.real_servers {
            let health = if rs.healthy { "up" } else { "DOWN" };
            // Not in the kernel table: ipvsadm would not list it at all.
            let kernel = rs
                .kernel_weight
                .map_or_else(|| "-".to_string(), |w| w.to_string());
            let mut last = rs.last_check.clone().unwrap_or_else(|| "-".into());
            if let Some(ms) = rs.last_latency_ms {
                let _ = write!(last, " ({ms:.1}ms)");
            }
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10} {:<6} {:<4} {}",
                rs.address,
                rs.forward,
                kernel,
                rs.active_conns,
                rs.inactive_conns,
                health,
                rs.configured_weight,
                last
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
                adverts_sent: 0,
                adverts_received: 0,
                dropped: Default::default(),
            }],
            virtual_servers: vec![VirtualServerStatus {
                service: "TCP 10.0.0.3:80".into(),
                scheduler: "wrr".into(),
                summary: "TCP  10.0.0.3:80 wrr persistent 300".into(),
                quorum_up: false,
                sorry_server_active: false,
                checks_suspended: false,
                traffic: None,
                real_servers: vec![RealServerStatus {
                    address: "10.0.1.2:80".into(),
                    forward: "Route".into(),
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
        assert_eq!(lines[3], "Prot LocalAddress:Port Scheduler Flags");
        assert_eq!(
            lines[5],
            "TCP  10.0.0.3:80 wrr persistent 300  [QUORUM LOST]"
        );
        assert_eq!(
            lines[6],
            "  -> 10.0.1.2:80                  Route   -      0          2          DOWN   3    connection refused (0.2ms)"
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
