#!/bin/bash
# PID 1 inside the lvs-pulse test VM (after the initramfs switched into the host's / over 9p + overlay).
# Mounts the pseudo filesystems, loads IPVS, runs the Node script named in the results share's spec.json
# with node + tsx from the host tree, writes its exit status next to its results, and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mkdir -p /run/netns /mnt/lvsp-results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 lvspresults /mnt/lvsp-results
export LVSP_RESULTS=/mnt/lvsp-results LVSP_IN_VM=1
ip link set lo up
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_mh ip_vs_fo ip_vs_ovf nf_conntrack; do
  modprobe "$m" 2>/dev/null || echo "lvsp-guest: modprobe $m failed"
done
modprobe ip_vs_twos 2>/dev/null
SPEC=$LVSP_RESULTS/spec.json
NODE=$(sed -n 's/.*"node":"\([^"]*\)".*/\1/p' "$SPEC")
CWD=$(sed -n 's/.*"cwd":"\([^"]*\)".*/\1/p' "$SPEC")
cd "$CWD" || echo "lvsp-guest: no cwd $CWD"
"$NODE" --import tsx "$CWD/scripts/vm/guest-run.ts" "$SPEC" > "$LVSP_RESULTS/guest.log" 2>&1
echo $? > "$LVSP_RESULTS/exit-code"
sync
umount /mnt/lvsp-results 2>/dev/null
echo o > /proc/sysrq-trigger
sleep 10
