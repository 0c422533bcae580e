//! Test harness: network namespaces on the host and a qemu VM with an IPVS kernel.
