#!/usr/bin/env bash
# The "min" root filesystem: static busybox, static bash, and slicer-agent
# as /sbin/init. Usage: rootfs-min.sh AGENT KERNEL_TREE KVER CACHE OUTPUT
set -euo pipefail
agent=$1 output=$5
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc/slicer,proc,sys,dev,run,tmp,root,home/slicer,var/tmp,var/log,mnt}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
[ -x /bin/bash-static ] || { echo "rootfs-min: /bin/bash-static missing (apt-get install bash-static)" >&2; exit 1; }
rm -f "$root/bin/bash" "$root/bin/sh"
cp /bin/bash-static "$root/bin/bash"
ln -s bash "$root/bin/sh"
install -m 0755 "$agent" "$root/usr/local/bin/slicer-agent"
rm -f "$root/sbin/init"
ln -s /usr/local/bin/slicer-agent "$root/sbin/init"

cat > "$root/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/bash
slicer:x:1000:1000:slicer:/home/slicer:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<GROUP
root:x:0:
slicer:x:1000:
nogroup:x:65534:
GROUP
echo "slicer" > "$root/etc/hostname"
echo "127.0.0.1 localhost" > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
chown 1000:1000 "$root/home/slicer"
rm -f "$output"
mkfs.ext4 -F -q -d "$root" -L slicer-root "$output" 512M
