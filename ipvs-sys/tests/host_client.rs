//! Runs on any host: opens a real generic-netlink socket and resolves "IPVS"
//! through the kernel's nlctrl. Without the ip_vs module (the development host)
//! the typed `FamilyNotFound` error must come back; with it, `info` must work.

use ipvs_sys::{Client, Error};

#[test]
fn resolving_ipvs_family_gives_typed_result() {
    match Client::new() {
        Err(Error::FamilyNotFound) => {
            assert!(!std::path::Path::new("/proc/net/ip_vs").exists());
        }
        Ok(mut c) => {
            let info = c.info().unwrap();
            assert_eq!(info.version_triple().0, 1);
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}
