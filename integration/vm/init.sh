#!/bin/busybox sh
# Stage 1 of the lvsd test VM, run as /init from a busybox initramfs.
# It loads the modules needed to reach the host's filesystem (virtio-pci,
# 9p, overlay), mounts the host root read-only over 9p with a tmpfs overlay
# on top (guest writes never reach the host), and switches to it to run
# stage 2 with the host's own binaries.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
    echo "lvsd-vm stage1: $*"
    echo o > /proc/sysrq-trigger
    sleep 10
}

for m in $(cat /modules/order); do
    insmod "/modules/$m.ko" || fail "insmod $m failed"
done

mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower \
    || fail "cannot mount the host root over 9p"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot \
    || fail "cannot mount the overlay root"
mkdir -p /newroot/.lvsd-vm
cp /stage2.sh /newroot/.lvsd-vm/stage2.sh
umount /proc /sys /dev
exec switch_root /newroot /bin/sh /.lvsd-vm/stage2.sh
