#!/bin/sh
# Stage 2 of the lvsd test VM: the host's root filesystem (read-only, with a
# tmpfs overlay) is now /. Mount the API filesystems, expose the guest
# kernel's modules under /lib/modules so that modprobe and the kernel's own
# request_module() find them (IPVS loads ip_vs_<scheduler> on demand), run
# the command the host wrote into the run directory, and report its exit
# status on the output port behind a per-run marker.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
# /tmp stays the host's (read-only lower layer + the tmpfs overlay): a
# workspace cloned under /tmp must be visible in the guest.
mkdir -p /run/netns /run/lock
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null

arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p"; }
RUN=$(arg lvsd.run)
NONCE=$(arg lvsd.nonce)
KDIR=$(arg lvsd.kdir)

finish() {
    echo "LVSD-VM-EXIT-$NONCE=$1"
    sync
    echo o > /proc/sysrq-trigger
    sleep 10
}

echo "lvsd-vm: stage 2 on $(uname -r), running $RUN/cmd.sh"
# The second serial port carries the command's output, untranslated.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec >/dev/ttyS1 2>&1 </dev/null

hostname lvsd-vm
ip link set lo up
KVER=$(uname -r)
mkdir -p "/lib/modules/$KVER"
mount --bind "$KDIR/lib/modules/$KVER" "/lib/modules/$KVER" || finish 125
sysctl -qw kernel.panic=-1 2>/dev/null
# A director loads IPVS at start (keepalived runs `modprobe ip_vs`); so does
# the VM, unless the run asked for a kernel without it (vmrun --no-ipvs).
if [ -z "$(arg lvsd.noipvs)" ]; then
    modprobe ip_vs || echo "lvsd-vm: modprobe ip_vs failed"
else
    # Make the module unloadable, as on a kernel built without IPVS.
    mount --bind /dev/null "/lib/modules/$KVER/kernel/net/netfilter/ipvs/ip_vs.ko"
fi

# Through a pipe, so that the command's output is not a terminal (no
# colours, no tty line discipline), as under CI on the host.
{ sh "$RUN/cmd.sh"; echo $? > /run/lvsd-vm-status; } 2>&1 | cat
finish "$(cat /run/lvsd-vm-status 2>/dev/null || echo 125)"
