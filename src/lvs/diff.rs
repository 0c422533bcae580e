//! The minimal list of IPVS operations that turns the kernel's table into the
//! desired one. Pure: tables in, [`Op`]s out; the caller applies them with
//! one batched `ipvs-sys` apply.
//!
//! Rules, from what operators of keepalived expect and where it falls short:
//! - An existing entry that already matches is not touched, so its counters
//!   and connections survive a restart of lvsd (adoption instead of flush).
//! - A service or real server that differs only in its settings is edited in
//!   place, never deleted and re-added.
//! - An entry of a managed service deleted by hand is added back on the next
//!   pass (keepalived issue #1877); a real server added by hand to a managed
//!   service is removed, since the configuration owns that service.
//! - A service nobody configured is left alone, unless it is `retired`: one
//!   this lvsd programmed before a reload removed it from the configuration.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use ipvs_sys::{Dest, Op, Service, ServiceFlags, ServiceKey};

use super::desired::DesiredService;

/// A table of services with their destinations, by service key.
pub type Table = BTreeMap<ServiceKey, DesiredService>;

/// Builds a [`Table`] from services and their destinations (a kernel dump).
pub fn table_from_entries(entries: impl IntoIterator<Item = (Service, Vec<Dest>)>) -> Table {
    entries
        .into_iter()
        .map(|(service, dests)| table_entry(service, dests))
        .collect()
}

/// One service of a [`Table`], keyed.
pub fn table_entry(service: Service, dests: Vec<Dest>) -> (ServiceKey, DesiredService) {
    let dests = dests.into_iter().map(|d| (d.key, d)).collect();
    (service.key, DesiredService { service, dests })
}

/// The operations that make `actual` match `desired` for every desired
/// service, and remove the `retired` services that are still present.
pub fn reconcile(desired: &Table, actual: &Table, retired: &BTreeSet<ServiceKey>) -> Vec<Op> {
    let mut ops = PassOps::default();
    for (key, want) in desired {
        match actual.get(key) {
            Some(have) => ops.service(want, Some(&have.service), have.dests.values()),
            None => ops.service(want, None, std::iter::empty()),
        }
    }
    for key in retired {
        if actual.contains_key(key) && !desired.contains_key(key) {
            ops.retire(*key);
        }
    }
    ops.into_ops()
}

/// The operations of one pass, gathered service by service (so a pass can
/// diff each service as it reads it from the kernel, holding neither
/// table whole) and handed out in a safe order: services added or edited
/// first, then destinations added or edited, then destinations deleted,
/// then services deleted, so a service switching to its sorry server never
/// passes through an empty state.
#[derive(Debug, Default)]
pub struct PassOps {
    services: Vec<Op>,
    dest_upserts: Vec<Op>,
    dest_deletes: Vec<Op>,
    service_deletes: Vec<Op>,
}

impl PassOps {
    /// Diffs one desired service against the kernel's entry for its key:
    /// `have` is the kernel's service (`None`: absent) and `have_dests` its
    /// destinations, in key order.
    pub fn service<'a>(
        &mut self,
        want: &DesiredService,
        have: Option<&Service>,
        have_dests: impl IntoIterator<Item = &'a Dest>,
    ) {
        let key = want.service.key;
        match have {
            None => self.services.push(Op::AddService(want.service.clone())),
            Some(have) if !same_service_settings(&want.service, have) => {
                self.services.push(Op::EditService(want.service.clone()))
            }
            Some(_) => {}
        }
        // Both sides in key order: one merge walk.
        let mut wanted = want.dests.values().peekable();
        let mut present = have_dests.into_iter().peekable();
        loop {
            let order = match (wanted.peek(), present.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(w), Some(p)) => w.key.cmp(&p.key),
            };
            match order {
                Ordering::Less => {
                    if let Some(w) = wanted.next() {
                        self.dest_upserts.push(Op::AddDest(key, w.clone()));
                    }
                }
                Ordering::Greater => {
                    if let Some(p) = present.next() {
                        self.dest_deletes.push(Op::DelDest(key, p.key));
                    }
                }
                Ordering::Equal => {
                    if let (Some(w), Some(p)) = (wanted.next(), present.next()) {
                        if !same_dest_settings(w, p) {
                            self.dest_upserts.push(Op::EditDest(key, w.clone()));
                        }
                    }
                }
            }
        }
    }

    /// Removes a service that is present but no longer configured.
    pub fn retire(&mut self, key: ServiceKey) {
        self.service_deletes.push(Op::DelService(key));
    }

    /// The operations, in the order they must be applied.
    pub fn into_ops(self) -> Vec<Op> {
        let mut ops = self.services;
        ops.extend(self.dest_upserts);
        ops.extend(self.dest_deletes);
        ops.extend(self.service_deletes);
        ops
    }
}

/// What `ops`, all applied successfully, do to `table`: the kernel, as the
/// unit tests model it (the real one runs in the VM tests). Operations on
/// the counters, timeouts and sync daemons leave the table as it is.
#[cfg(test)]
pub(crate) fn apply_ops(table: &mut Table, ops: &[Op]) {
    for op in ops {
        match op {
            Op::AddService(s) | Op::EditService(s) => {
                table
                    .entry(s.key)
                    .and_modify(|e| e.service = s.clone())
                    .or_insert_with(|| DesiredService {
                        service: s.clone(),
                        dests: BTreeMap::new(),
                    });
            }
            Op::DelService(k) => {
                table.remove(k);
            }
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                if let Some(e) = table.get_mut(k) {
                    e.dests.insert(d.key, d.clone());
                }
            }
            Op::DelDest(k, d) => {
                if let Some(e) = table.get_mut(k) {
                    e.dests.remove(d);
                }
            }
            Op::Flush => table.clear(),
            Op::Zero(_) | Op::SetTimeouts(_) | Op::StartDaemon(_) | Op::StopDaemon(_) => {}
        }
    }
}

/// Flags the kernel sets or derives itself: HASHED is internal, PERSISTENT
/// follows from the persistence timeout (ipvs-sys sets it when encoding).
const DERIVED_FLAGS: u32 = ServiceFlags::HASHED | ServiceFlags::PERSISTENT;

/// Whether two services have the same settings (key, counters and unknown
/// attributes aside).
fn same_service_settings(a: &Service, b: &Service) -> bool {
    a.scheduler == b.scheduler
        && a.flags.0 & !DERIVED_FLAGS == b.flags.0 & !DERIVED_FLAGS
        && a.persistence == b.persistence
        && a.pe_name == b.pe_name
}

/// Whether two destinations have the same settings (connection counts and
/// counters aside).
fn same_dest_settings(a: &Dest, b: &Dest) -> bool {
    a.fwd == b.fwd
        && a.weight == b.weight
        && a.u_threshold == b.u_threshold
        && a.l_threshold == b.l_threshold
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs_sys::{DestKey, FwdMethod, Persistence, Protocol, Stats};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn key(addr: &str) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip(addr),
            port: 80,
        }
    }

    fn dest(addr: &str, weight: i32) -> Dest {
        let mut d = Dest::new(ip(addr), 80, FwdMethod::Route);
        d.weight = weight;
        d
    }

    fn entry(addr: &str, sched: &str, dests: Vec<Dest>) -> (Service, Vec<Dest>) {
        (Service::new(key(addr), sched), dests)
    }

    /// The same table as the kernel reports it: HASHED set, counters filled.
    fn as_kernel_reports(t: &Table) -> Table {
        let mut t = t.clone();
        for e in t.values_mut() {
            e.service.flags.0 |= ServiceFlags::HASHED;
            e.service.stats = Some(Stats {
                conns: 42,
                ..Stats::default()
            });
            for d in e.dests.values_mut() {
                d.active_conns = 5;
                d.stats = Some(Stats::default());
            }
        }
        t
    }

    #[test]
    fn an_empty_kernel_gets_every_service_then_its_dests() {
        let want = table_from_entries([entry(
            "10.0.0.1",
            "rr",
            vec![dest("10.0.1.1", 1), dest("10.0.1.2", 2)],
        )]);
        let ops = reconcile(&want, &Table::new(), &BTreeSet::new());
        assert_eq!(
            ops,
            [
                Op::AddService(Service::new(key("10.0.0.1"), "rr")),
                Op::AddDest(key("10.0.0.1"), dest("10.0.1.1", 1)),
                Op::AddDest(key("10.0.0.1"), dest("10.0.1.2", 2)),
            ]
        );
    }

    #[test]
    fn a_matching_kernel_table_is_adopted_untouched() {
        let mut svc = Service::new(key("10.0.0.1"), "wrr");
        svc.persistence = Some(Persistence {
            timeout: 360,
            netmask: u32::MAX,
        });
        let want = table_from_entries([(svc, vec![dest("10.0.1.1", 1)])]);
        let mut have = as_kernel_reports(&want);
        // The kernel reports the persistent flag that ipvs-sys derives.
        for e in have.values_mut() {
            e.service.flags.0 |= ServiceFlags::PERSISTENT;
        }
        assert_eq!(reconcile(&want, &have, &BTreeSet::new()), []);
    }

    #[test]
    fn changed_settings_are_edited_in_place() {
        let want = table_from_entries([entry("10.0.0.1", "wlc", vec![dest("10.0.1.1", 5)])]);
        let have = as_kernel_reports(&table_from_entries([entry(
            "10.0.0.1",
            "rr",
            vec![dest("10.0.1.1", 1)],
        )]));
        assert_eq!(
            reconcile(&want, &have, &BTreeSet::new()),
            [
                Op::EditService(Service::new(key("10.0.0.1"), "wlc")),
                Op::EditDest(key("10.0.0.1"), dest("10.0.1.1", 5)),
            ]
        );
    }

    #[test]
    fn a_dest_deleted_by_hand_comes_back_and_one_added_by_hand_goes() {
        let want = table_from_entries([entry(
            "10.0.0.1",
            "rr",
            vec![dest("10.0.1.1", 1), dest("10.0.1.2", 1)],
        )]);
        let have = as_kernel_reports(&table_from_entries([entry(
            "10.0.0.1",
            "rr",
            vec![dest("10.0.1.1", 1), dest("10.0.1.9", 1)],
        )]));
        assert_eq!(
            reconcile(&want, &have, &BTreeSet::new()),
            [
                Op::AddDest(key("10.0.0.1"), dest("10.0.1.2", 1)),
                Op::DelDest(
                    key("10.0.0.1"),
                    DestKey {
                        addr: ip("10.0.1.9"),
                        port: 80
                    }
                ),
            ]
        );
    }

    #[test]
    fn foreign_services_stay_and_retired_ones_go() {
        let want = table_from_entries([entry("10.0.0.1", "rr", vec![])]);
        let have = as_kernel_reports(&table_from_entries([
            entry("10.0.0.1", "rr", vec![]),
            entry("10.0.0.2", "rr", vec![dest("10.0.1.1", 1)]),
            entry("10.0.0.3", "rr", vec![]),
        ]));
        let retired = BTreeSet::from([key("10.0.0.3"), key("10.0.0.4")]);
        assert_eq!(
            reconcile(&want, &have, &retired),
            [Op::DelService(key("10.0.0.3"))]
        );
    }

    #[test]
    fn switching_to_the_sorry_server_adds_before_it_deletes() {
        let want = table_from_entries([entry("10.0.0.1", "rr", vec![dest("10.0.0.99", 1)])]);
        let have = as_kernel_reports(&table_from_entries([entry(
            "10.0.0.1",
            "rr",
            vec![dest("10.0.1.1", 1)],
        )]));
        let ops = reconcile(&want, &have, &BTreeSet::new());
        assert!(matches!(ops[0], Op::AddDest(..)), "{ops:?}");
        assert!(matches!(ops[1], Op::DelDest(..)), "{ops:?}");
    }

    #[test]
    fn applying_the_ops_to_the_actual_table_reaches_the_desired_one() {
        // apply_ops models the kernel, for the property that reconcile
        // converges (the real kernel is exercised in the VM tests).
        let want = table_from_entries([
            entry(
                "10.0.0.1",
                "rr",
                vec![dest("10.0.1.1", 1), dest("10.0.1.2", 3)],
            ),
            entry("10.0.0.2", "sh", vec![dest("10.0.1.3", 0)]),
        ]);
        let mut have = table_from_entries([
            entry(
                "10.0.0.1",
                "wrr",
                vec![dest("10.0.1.2", 1), dest("10.0.1.4", 1)],
            ),
            entry("10.0.0.5", "rr", vec![]),
        ]);
        let ops = reconcile(&want, &have, &BTreeSet::from([key("10.0.0.5")]));
        apply_ops(&mut have, &ops);
        assert_eq!(have, want);
        assert_eq!(reconcile(&want, &have, &BTreeSet::new()), []);
    }
}
