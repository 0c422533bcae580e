//! Runs INSIDE the VM (integration/test.sh boots it with `vmrun`): proves the
//! guest kernel has IPVS by resolving the generic-netlink family "IPVS" with
//! neli and reading IPVS_CMD_GET_INFO, whose reply carries the version and
//! the connection-table size (include/uapi/linux/ip_vs.h).
#![allow(clippy::unwrap_used)]

use integration::netns::Netns;
use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::genl::{Genlmsghdr, GenlmsghdrBuilder};
use neli::nl::NlPayload;
use neli::router::synchronous::NlRouter;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;

const IPVS_GENL_VERSION: u8 = 1;
const IPVS_CMD_GET_INFO: u8 = 15;
const IPVS_CMD_SET_INFO: u8 = 14;
const IPVS_INFO_ATTR_VERSION: u16 = 1;
const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

/// (version, connection table size) as the kernel reports them.
fn ipvs_info() -> (u32, u32) {
    let (router, _) = NlRouter::connect(NlFamily::Generic, None, Groups::empty()).unwrap();
    let family = router
        .resolve_genl_family("IPVS")
        .unwrap_or_else(|e| panic!("generic netlink family IPVS not found: {e}"));
    let request = GenlmsghdrBuilder::<u8, u16>::default()
        .cmd(IPVS_CMD_GET_INFO)
        .version(IPVS_GENL_VERSION)
        .attrs(GenlBuffer::<u16, Buffer>::new())
        .build()
        .unwrap();
    let replies = router
        .send::<_, _, u16, Genlmsghdr<u8, u16>>(family, NlmF::empty(), NlPayload::Payload(request))
        .unwrap();
    for reply in replies {
        let reply = reply.unwrap();
        if let NlPayload::Payload(genl) = reply.nl_payload() {
            assert_eq!(*genl.cmd(), IPVS_CMD_SET_INFO);
            let attrs = genl.attrs().get_attr_handle();
            let version = attrs
                .get_attr_payload_as::<u32>(IPVS_INFO_ATTR_VERSION)
                .unwrap();
            let size = attrs
                .get_attr_payload_as::<u32>(IPVS_INFO_ATTR_CONN_TAB_SIZE)
                .unwrap();
            return (version, size);
        }
    }
    panic!("no IPVS_CMD_SET_INFO reply");
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn ipvs_info_over_generic_netlink() {
    println!("guest uname -r: {}", kernel_release());
    let (version, size) = ipvs_info();
    // IP_VS_VERSION_CODE 0x010201 = "1.2.1"; the Debian kernel is built with
    // CONFIG_IP_VS_TAB_BITS=12, so the table has 1 << 12 buckets.
    assert_eq!(version, 0x01_02_01, "IPVS version {version:#x}");
    assert_eq!(size, 1 << 12);
}

/// IPVS state is per network namespace: a test's own namespace answers too,
/// which is what lets VM tests run side by side.
#[test]
fn ipvs_info_inside_a_test_namespace() {
    let ns = Netns::new("smoke").unwrap();
    let (version, _) = ns.enter(ipvs_info).unwrap();
    assert_eq!(version, 0x01_02_01);
    let listing = ns.exec(&["ipvsadm", "-Ln"]).unwrap();
    let text = String::from_utf8(listing.stdout).unwrap();
    assert!(
        text.starts_with("IP Virtual Server version 1.2.1 (size=4096)\n"),
        "{text}"
    );
}
