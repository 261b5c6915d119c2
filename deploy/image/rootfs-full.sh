#!/usr/bin/env bash
# The "full" root filesystem: Debian bookworm with systemd (debootstrap,
# cached), the kernel's modules, and slicer-agent as an early systemd unit.
# Usage: rootfs-full.sh AGENT KERNEL_TREE KVER CACHE OUTPUT
set -euo pipefail
agent=$1 ktree=$2 kver=$3 cache=$4 output=$5
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite=bookworm

# Debian's mirror as apt on this host knows it (no other host is assumed).
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "rootfs-full: cannot find a Debian mirror in /etc/apt" >&2; exit 1; }

tree="$cache/full-tree-$suite"
if [ ! -f "$tree/.complete" ]; then
  echo "rootfs-full: debootstrap $suite from $mirror (once; cached in $tree)" >&2
  rm -rf "$tree"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,udev,dbus,iproute2,procps,ca-certificates,less,kmod \
    "$suite" "$tree" "$mirror" >&2
  rm -rf "$tree/var/cache/apt/archives/"*.deb
  touch "$tree/.complete"
fi

stage=$(mktemp -d "$cache/full-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp -a "$tree/." "$stage/"
rm -f "$stage/.complete"

mkdir -p "$stage/lib/modules"
cp -a "$ktree/lib/modules/$kver" "$stage/lib/modules/"
install -D -m 0755 "$agent" "$stage/usr/local/bin/slicer-agent"
install -D -m 0644 "$here/slicer-agent.service" "$stage/etc/systemd/system/slicer-agent.service"
mkdir -p "$stage/etc/systemd/system/sysinit.target.wants" "$stage/etc/slicer"
ln -sf ../slicer-agent.service "$stage/etc/systemd/system/sysinit.target.wants/slicer-agent.service"

# Units that only slow a boot under emulation, or wait for things a VM lacks.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
            getty@tty1.service serial-getty@ttyS0.service systemd-networkd-wait-online.service \
            fstrim.timer dpkg-db-backup.timer; do
  ln -sf /dev/null "$stage/etc/systemd/system/$unit"
done

echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$stage/etc/fstab"
echo "slicer" > "$stage/etc/hostname"
printf '127.0.0.1 localhost\n' > "$stage/etc/hosts"
: > "$stage/etc/machine-id"
if ! grep -q '^slicer:' "$stage/etc/passwd"; then
  chroot "$stage" /usr/sbin/useradd --create-home --uid 1000 --shell /bin/bash slicer
fi
rm -f "$output"
mkfs.ext4 -F -q -d "$stage" -L slicer-root "$output" 2G
