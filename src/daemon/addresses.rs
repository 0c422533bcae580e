//! The local addresses of the namespace, followed over rtnetlink for
//! `ha_suspend`: keepalived's checker process listens to address
//! notifications and suspends the checkers of a virtual server whose
//! address is not configured locally (check_daemon's
//! update_checker_activity); this task reports the address set to the loop
//! after the initial dump and after every change.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::IpAddr;

use tokio::sync::mpsc;

use super::Event;
use crate::vrrp::link_socket::register_async;
use crate::vrrp::netlink::{NetlinkError, RouteMessage, RouteSocket, RTMGRP_IFADDR};

/// Counts of each address: the same address (an IPv6 link-local) may sit on
/// several interfaces, and it is gone only when the last one goes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AddressSet {
    counts: BTreeMap<IpAddr, usize>,
}

impl AddressSet {
    /// Applies one notification; true when the set of addresses changed.
    pub fn apply(&mut self, message: &RouteMessage) -> bool {
        match message {
            RouteMessage::Address(a) => {
                let count = self.counts.entry(a.address).or_insert(0);
                *count += 1;
                *count == 1
            }
            RouteMessage::AddressRemoved(a) => match self.counts.get_mut(&a.address) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    false
                }
                Some(_) => {
                    self.counts.remove(&a.address);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// The addresses present.
    pub fn addresses(&self) -> BTreeSet<IpAddr> {
        self.counts.keys().copied().collect()
    }
}

/// Why the address watch stopped.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A netlink socket or dump failed.
    #[error("address watch: {0}")]
    Netlink(#[from] NetlinkError),
    /// Registering or polling the subscription failed.
    #[error("address watch: {0}")]
    Io(#[from] io::Error),
}

/// Follows the namespace's addresses until the loop is gone. The
/// subscription is opened before the dump, so no change is missed between.
pub async fn watch(events: mpsc::Sender<Event>) -> Result<(), WatchError> {
    let subscription = RouteSocket::open(RTMGRP_IFADDR, true)?;
    let mut dump_socket = RouteSocket::open(0, false)?;
    let mut set = AddressSet::default();
    for a in dump_socket.addresses()? {
        set.apply(&RouteMessage::Address(a));
    }
    drop(dump_socket);
    let subscription = register_async(subscription)?;
    if events
        .send(Event::LocalAddresses(set.addresses()))
        .await
        .is_err()
    {
        return Ok(());
    }
    loop {
        let mut guard = subscription.readable().await?;
        let received = guard.try_io(|fd| {
            fd.get_ref().receive().map_err(|e| match e {
                // EAGAIN must reach tokio as WouldBlock to clear readiness.
                NetlinkError::Socket(errno) => io::Error::from(errno),
                other => io::Error::other(other),
            })
        });
        let messages = match received {
            Ok(Ok(messages)) => messages,
            Ok(Err(e)) => {
                // ENOBUFS: notifications were lost; the next dump is exact.
                tracing::warn!("address notifications: {e}; reading the addresses again");
                let mut fresh = AddressSet::default();
                for a in RouteSocket::open(0, false)?.addresses()? {
                    fresh.apply(&RouteMessage::Address(a));
                }
                set = fresh;
                vec![RouteMessage::Other]
            }
            Err(_would_block) => continue,
        };
        let mut changed = false;
        for m in &messages {
            changed |= set.apply(m);
        }
        if (changed || matches!(messages.as_slice(), [RouteMessage::Other]))
            && events
                .send(Event::LocalAddresses(set.addresses()))
                .await
                .is_err()
        {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::netlink::InterfaceAddress;

    fn on(ifindex: u32, address: &str) -> InterfaceAddress {
        InterfaceAddress {
            ifindex,
            address: address.parse().unwrap(),
            prefix_len: 64,
            scope: 0,
            label: None,
        }
    }

    #[test]
    fn an_address_on_two_interfaces_goes_with_the_last() {
        let mut set = AddressSet::default();
        assert!(set.apply(&RouteMessage::Address(on(2, "fe80::1"))));
        assert!(!set.apply(&RouteMessage::Address(on(3, "fe80::1"))));
        assert!(!set.apply(&RouteMessage::AddressRemoved(on(2, "fe80::1"))));
        assert_eq!(set.addresses().len(), 1);
        assert!(set.apply(&RouteMessage::AddressRemoved(on(3, "fe80::1"))));
        assert!(set.addresses().is_empty());
        // A removal never seen added changes nothing.
        assert!(!set.apply(&RouteMessage::AddressRemoved(on(3, "10.0.0.1"))));
    }
}
