#!/usr/bin/env bash
# Machine setup shared by the test command and the demo: installs the Debian
# packages lvsd's tests and demo use, if any is missing, and fetches Debian's
# kernel for the VM runner into target/vm-kernel. Idempotent; run as root.
#
# What each package is for: qemu-system-x86/kmod/busybox-static/cpio: the VM
# runner and its initramfs; iproute2/nftables/iputils-ping/ethtool: namespace
# topologies and fault injection; ipvsadm: the judge of the kernel's IPVS
# table; keepalived: the VRRP peer and config oracle; tcpdump: captures;
# strace: netlink captures; netcat-openbsd: traffic in VM tests; python3:
# kernel extraction, JSON reading, demo web servers; time: peak memory;
# psmisc, procps: killall, ps, pgrep in the seed configs' track scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(qemu-system-x86 kmod busybox-static cpio iproute2 nftables iputils-ping ethtool
          ipvsadm keepalived tcpdump strace netcat-openbsd python3 time psmisc procps)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "packages: all present"
fi
# keepalived's package may start a system instance on install; lvsd's tests
# run their own keepalived processes inside namespaces only, never this one.
if systemctl is-active --quiet keepalived 2>/dev/null; then systemctl stop keepalived; fi
bash integration/vm/fetch-kernel.sh "$PWD/target/vm-kernel"
