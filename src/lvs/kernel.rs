//! The I/O edge of the reconciler: reading the kernel's table, whole or a
//! service at a time.

use ipvs_sys::{Client, Dest, Error, Service, ServiceKey};

use super::diff::{table_entry, Table};

/// Read access to an IPVS table: the kernel's through a [`Client`], or a
/// [`Table`] standing in for it in unit tests.
pub trait KernelView {
    /// Every service.
    fn services(&mut self) -> Result<Vec<Service>, Error>;
    /// The service with `key`, if there is one.
    fn service(&mut self, key: &ServiceKey) -> Result<Option<Service>, Error>;
    /// Hands each of `services` in turn to `each` with its destinations
    /// (in the kernel's order, not by key), in a buffer reused from one
    /// service to the next.
    fn dests_each(
        &mut self,
        services: &[Service],
        each: &mut dyn FnMut(&Service, &mut Vec<Dest>),
    ) -> Result<(), Error>;
}

impl KernelView for Client {
    fn services(&mut self) -> Result<Vec<Service>, Error> {
        Client::services(self)
    }

    fn service(&mut self, key: &ServiceKey) -> Result<Option<Service>, Error> {
        match Client::service(self, key) {
            Ok(s) => Ok(Some(s)),
            Err(Error::NoSuchService(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn dests_each(
        &mut self,
        services: &[Service],
        each: &mut dyn FnMut(&Service, &mut Vec<Dest>),
    ) -> Result<(), Error> {
        Client::dests_each(self, services, |s, d| {
            each(s, d);
            Ok(())
        })
    }
}

#[cfg(test)]
impl KernelView for Table {
    fn services(&mut self) -> Result<Vec<Service>, Error> {
        Ok(self.values().map(|e| e.service.clone()).collect())
    }

    fn service(&mut self, key: &ServiceKey) -> Result<Option<Service>, Error> {
        Ok(self.get(key).map(|e| e.service.clone()))
    }

    fn dests_each(
        &mut self,
        services: &[Service],
        each: &mut dyn FnMut(&Service, &mut Vec<Dest>),
    ) -> Result<(), Error> {
        let mut dests = Vec::new();
        for s in services {
            dests.clear();
            if let Some(e) = self.get(&s.key) {
                // The kernel lists destinations newest first, not by key.
                dests.extend(e.dests.values().rev().cloned());
            }
            each(s, &mut dests);
        }
        Ok(())
    }
}

/// The whole table: every service with its destinations. Each service's
/// destinations go into the table as soon as they are read, so the read
/// never holds a second copy of the whole table.
pub fn read_table(kernel: &mut impl KernelView) -> Result<Table, Error> {
    let services = kernel.services()?;
    let mut table = Table::new();
    kernel.dests_each(&services, &mut |service, dests| {
        let (key, entry) = table_entry(service.clone(), std::mem::take(dests));
        table.insert(key, entry);
    })?;
    Ok(table)
}
