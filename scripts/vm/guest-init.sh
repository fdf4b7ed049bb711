#!/bin/bash
# PID 1 inside the lvs-pulse test VM (after the initramfs switched into the host's / over 9p + overlay).
# Mounts the pseudo filesystems, loads IPVS, runs the bundled guest script (guest.cjs in the results share)
# with the host's node, writes its exit status next to its results, and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mkdir -p /run/netns /mnt/lvsp-results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 lvspresults /mnt/lvsp-results
export LVSP_RESULTS=/mnt/lvsp-results LVSP_IN_VM=1
echo "lvsp-guest: up $(cut -d" " -f1 /proc/uptime) s"
ip link set lo up
# One modprobe process for all (each process start is slow under TCG); schedulers load on demand.
modprobe -a veth bridge nf_conntrack ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc ip_vs_sh || echo "lvsp-guest: modprobe failed"
echo "lvsp-guest: modules loaded $(cut -d" " -f1 /proc/uptime) s"
SPEC=$LVSP_RESULTS/spec.json
NODE=$(sed -n 's/.*"node":"\([^"]*\)".*/\1/p' "$SPEC")
CWD=$(sed -n 's/.*"cwd":"\([^"]*\)".*/\1/p' "$SPEC")
cd "$CWD" || echo "lvsp-guest: no cwd $CWD"
# The guest script was bundled to plain JavaScript on the host (node + tsx would take ~15 s to start here).
"$NODE" --enable-source-maps "$LVSP_RESULTS/guest.cjs" > "$LVSP_RESULTS/guest.log" 2>&1
echo $? > "$LVSP_RESULTS/exit-code"
echo "lvsp-guest: script done $(cut -d" " -f1 /proc/uptime) s"
sync
umount /mnt/lvsp-results 2>/dev/null
echo o > /proc/sysrq-trigger
sleep 10
