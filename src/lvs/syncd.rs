//! The IPVS connection-sync daemon following a VRRP instance
//! (`lvs_sync_daemon INTERFACE INSTANCE [id N] [maxlen N] [port N] [ttl N]
//! [group ADDR]` in global_defs).
//!
//! keepalived (vrrp/vrrp_ipvs / check/ipvswrapper.c, `ipvs_syncd_master` and
//! `ipvs_syncd_backup`): when the instance becomes MASTER the backup sync
//! daemon stops and the master one starts; in any other state the master
//! one stops and the backup one starts, so the node keeps receiving the
//! connection table of the current master. Pure: the role and the kernel's
//! running daemons in, operations out.

use ipvs_sys::{Daemon, DaemonState, Op};

/// Which role the sync daemon should have for the instance's VRRP state.
pub fn role_for(instance_is_master: bool) -> DaemonState {
    if instance_is_master {
        DaemonState::Master
    } else {
        DaemonState::Backup
    }
}

/// The operations that leave exactly `wanted` running (with its settings)
/// among the sync daemons, given the `running` ones the kernel lists. A
/// daemon of the wanted role with other settings is restarted; the kernel
/// cannot edit one in place.
pub fn sync_daemon_ops(wanted: Option<&Daemon>, running: &[Daemon]) -> Vec<Op> {
    let mut ops = Vec::new();
    for d in running {
        let keep = wanted.is_some_and(|w| same_settings(w, d));
        if !keep {
            ops.push(Op::StopDaemon(d.state));
        }
    }
    if let Some(w) = wanted {
        if !running.iter().any(|d| same_settings(w, d)) {
            ops.push(Op::StartDaemon(w.clone()));
        }
    }
    ops
}

/// The kernel reports defaults for options that were not given (maxlen,
/// port 8848, ttl 1); an option left unset matches whatever it reports.
fn same_settings(want: &Daemon, have: &Daemon) -> bool {
    fn matches<T: PartialEq>(want: &Option<T>, have: &Option<T>) -> bool {
        want.is_none() || want == have
    }
    want.state == have.state
        && want.mcast_ifn == have.mcast_ifn
        && want.sync_id == have.sync_id
        && matches(&want.sync_maxlen, &have.sync_maxlen)
        && matches(&want.mcast_group, &have.mcast_group)
        && matches(&want.mcast_port, &have.mcast_port)
        && matches(&want.mcast_ttl, &have.mcast_ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(state: DaemonState, ifn: &str, id: u32) -> Daemon {
        Daemon {
            state,
            mcast_ifn: ifn.into(),
            sync_id: id,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
            unknown: Vec::new(),
        }
    }

    #[test]
    fn becoming_master_swaps_backup_for_master() {
        let want = daemon(role_for(true), "eth1", 5);
        let running = [daemon(DaemonState::Backup, "eth1", 5)];
        assert_eq!(
            sync_daemon_ops(Some(&want), &running),
            [
                Op::StopDaemon(DaemonState::Backup),
                Op::StartDaemon(want.clone())
            ]
        );
    }

    #[test]
    fn the_running_daemon_with_kernel_defaults_is_kept() {
        let want = daemon(role_for(false), "eth1", 5);
        let mut reported = daemon(DaemonState::Backup, "eth1", 5);
        reported.mcast_port = Some(8848);
        reported.mcast_ttl = Some(1);
        assert_eq!(sync_daemon_ops(Some(&want), &[reported]), []);
    }

    #[test]
    fn changed_settings_restart_and_no_wish_stops_all() {
        let want = daemon(DaemonState::Master, "eth1", 6);
        let running = [daemon(DaemonState::Master, "eth1", 5)];
        assert_eq!(
            sync_daemon_ops(Some(&want), &running),
            [
                Op::StopDaemon(DaemonState::Master),
                Op::StartDaemon(want.clone())
            ]
        );
        assert_eq!(
            sync_daemon_ops(None, &running),
            [Op::StopDaemon(DaemonState::Master)]
        );
    }
}
