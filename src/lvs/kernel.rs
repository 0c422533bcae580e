//! The I/O edge of the reconciler: reading the kernel's table.

use ipvs_sys::{Client, Error};

use super::diff::{table_from_entries, Table};

/// The kernel's IPVS table (of the client's network namespace): every
/// service with its destinations.
pub fn read_table(client: &mut Client) -> Result<Table, Error> {
    let services = client.services()?;
    let mut entries = Vec::with_capacity(services.len());
    for service in services {
        let dests = client.dests(&service.key)?;
        entries.push((service, dests));
    }
    Ok(table_from_entries(entries))
}
