#!/usr/bin/env bash
# Build a slicer guest image from Debian packages only:
#   vmlinuz      Debian cloud kernel (bzImage) that QEMU boots
#   vmlinux      the same kernel as an uncompressed ELF (Firecracker, Cloud Hypervisor)
#   initrd.img   busybox initramfs that loads the virtio/vsock modules and
#                switch_roots into /dev/vda
#   rootfs.ext4  root filesystem: "min" (busybox + bash + slicer-agent as PID 1)
#                or "full" (debootstrap'd Debian with systemd, agent as a unit)
#   manifest.json  written last; its presence means the image is complete
#
# Called by `slicer image build`; usable alone:
#   build.sh --flavour min|full --agent PATH [--name NAME] [--data-dir DIR] [--force]
set -euo pipefail

flavour=min name="" data_dir=${SLICER_DATA_DIR:-/var/lib/slicer} agent="" force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --flavour) flavour=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --force) force=1; shift ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$flavour" in min|full) ;; *) echo "build.sh: --flavour must be min or full, not '$flavour'" >&2; exit 2 ;; esac
[ -n "$agent" ] && [ -x "$agent" ] || { echo "build.sh: --agent must name the static slicer-agent binary (got '$agent')" >&2; exit 2; }
name=${name:-$flavour}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$data_dir/images/$name"
cache="$data_dir/cache"
mkdir -p "$cache" "$data_dir/images"

started=$(date +%s.%N)
step_started=$started
step() {
  local now; now=$(date +%s.%N)
  printf '[%6.1fs] %s\n' "$(echo "$now - $started" | bc)" "$*" >&2
  step_started=$now
}

agent_sha=$(sha256sum "$agent" | cut -d' ' -f1)
if [ "$force" = 0 ] && [ -f "$out/manifest.json" ] && grep -q "\"agent_sha256\": \"$agent_sha\"" "$out/manifest.json"; then
  echo "image $name is up to date ($out)" >&2
  exit 0
fi

work=$(mktemp -d "$data_dir/images/.build-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- 1. kernel package -----------------------------------------------------
step "resolving the Debian cloud kernel package"
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
  apt-get update -q >&2
  kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$kpkg" ] || { echo "build.sh: cannot resolve linux-image-cloud-amd64" >&2; exit 1; }
kver=${kpkg#linux-image-}
kdeb=$(ls "$cache"/"${kpkg}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$kdeb" ]; then
  step "downloading $kpkg"
  (cd "$cache" && apt-get download -q "$kpkg" >&2)
  kdeb=$(ls "$cache"/"${kpkg}"_*.deb | head -n1)
fi
ktree="$cache/kernel-$kver"
if [ ! -f "$ktree/boot/vmlinuz-$kver" ]; then
  step "unpacking $(basename "$kdeb")"
  rm -rf "$ktree.tmp" && mkdir -p "$ktree.tmp"
  dpkg-deb -x "$kdeb" "$ktree.tmp"
  rm -rf "$ktree" && mv "$ktree.tmp" "$ktree"
fi
cp "$ktree/boot/vmlinuz-$kver" "$work/vmlinuz"

# --- 2. vmlinux ------------------------------------------------------------
step "extracting the ELF vmlinux from the bzImage"
"$here/extract-vmlinux.sh" "$work/vmlinuz" > "$work/vmlinux"

# --- 3. initramfs ----------------------------------------------------------
step "building the initramfs"
"$here/initramfs.sh" "$ktree" "$kver" "$work/initrd.img"

# --- 4. root filesystem ----------------------------------------------------
step "building the $flavour root filesystem"
"$here/rootfs-$flavour.sh" "$agent" "$ktree" "$kver" "$cache" "$work/rootfs.ext4"

# --- 5. manifest, then swap into place -------------------------------------
duration=$(echo "$(date +%s.%N) - $started" | bc)
cat > "$work/manifest.json" <<JSON
{
  "name": "$name",
  "flavour": "$flavour",
  "kernel_version": "$kver",
  "kernel_package": "$(basename "$kdeb" .deb)",
  "agent_sha256": "$agent_sha",
  "built_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "rootfs_bytes": $(stat -c %s "$work/rootfs.ext4"),
  "build_seconds": $duration
}
JSON
chmod 0755 "$work"
rm -rf "$out.old"
[ -e "$out" ] && mv "$out" "$out.old"
mv "$work" "$out"
rm -rf "$out.old"
trap - EXIT
step "image $name ready in $out"
