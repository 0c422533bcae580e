//! The IPVS generic-netlink interface: typed objects, a pure codec and a client over neli.
