#!/usr/bin/env bash
# Build the initramfs: static busybox, the virtio/vsock modules in
# dependency order, and an /init that loads them, mounts the root disk and
# switch_roots into it. Usage: initramfs.sh KERNEL_TREE KVER OUTPUT
set -euo pipefail
ktree=$1 kver=$2 output=$3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# Load order from notes/guest-rig.md; modules built into the kernel are skipped.
modules="virtio_ring virtio virtio_mmio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
virtio_blk failover net_failover virtio_net vsock vmw_vsock_virtio_transport_common
vmw_vsock_virtio_transport virtio-rng"

mkdir -p "$root"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount umount insmod switch_root mkdir echo cat sleep poweroff; do
  ln -s busybox "$root/bin/$applet"
done

: > "$root/lib/modules/load-order"
for m in $modules; do
  f=$(find "$ktree/lib/modules/$kver/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \) | head -n1)
  if [ -z "$f" ]; then
    alt=${m//-/_}
    f=$(find "$ktree/lib/modules/$kver/kernel" \( -name "$alt.ko" -o -name "$alt.ko.xz" -o -name "$alt.ko.zst" \) | head -n1)
  fi
  if [ -z "$f" ]; then
    if grep -q "/${m//-/_}.ko\|/$m.ko" "$ktree/lib/modules/$kver/modules.builtin" 2>/dev/null; then continue; fi
    echo "initramfs: module $m not found in $ktree" >&2; exit 1
  fi
  case "$f" in
    *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$f" > "$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
  echo "$m" >> "$root/lib/modules/load-order"
done

cat > "$root/init" <<'INIT'
#!/bin/sh
# slicer initramfs: load the virtio/vsock modules, mount the root disk,
# hand over to its init. Never hang: on failure, say why and power off.
fail() { echo "slicer-initramfs: $*" > /dev/console; poweroff -f; sleep 5; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/load-order); do
  insmod "/lib/modules/$m.ko" 2>/dev/null || echo "slicer-initramfs: insmod $m failed" > /dev/console
done
root=/dev/vda init=/sbin/init
for arg in $(cat /proc/cmdline); do
  case "$arg" in root=*) root=${arg#root=} ;; init=*) init=${arg#init=} ;; esac
done
i=0
while [ ! -b "$root" ]; do
  i=$((i + 1)); [ $i -gt 500 ] && fail "root device $root did not appear"
  sleep 0.01
done
mount -t ext4 -o rw "$root" /newroot || fail "cannot mount $root"
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot "$init" || fail "switch_root to $init failed"
INIT
chmod 0755 "$root/init"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -9 > "$output"
