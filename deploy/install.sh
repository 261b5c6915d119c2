#!/usr/bin/env bash
# Install everything slicer needs on a Debian 12 host, build it, build the
# guest images, then boot a VM and run a command in it (the main job).
#
#   sudo deploy/install.sh            # everything, both images
#   SLICER_SKIP_FULL_IMAGE=1 ...      # skip the systemd ("full") image
#
# Idempotent: what is already there is kept.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${SLICER_PREFIX:-/usr/local}
log() { printf '\n==> %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  echo "deploy/install.sh must run as root (it installs packages and boots VMs)" >&2
  exit 1
fi

log "Debian packages"
packages=(qemu-system-x86 busybox-static bash-static debootstrap e2fsprogs xfsprogs lz4 zstd xz-utils cpio bc
          iproute2 iputils-ping kmod ca-certificates curl gcc libc6-dev pkg-config git)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "all present"
fi

log "Rust toolchain"
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  export PATH="$HOME/.cargo/bin:$PATH"
fi
cargo --version

log "vhost-device-vsock (vsock backend for QEMU)"
if ! command -v vhost-device-vsock >/dev/null; then
  cargo install --locked --root "$prefix" vhost-device-vsock@0.3.0
fi
command -v vhost-device-vsock

log "Building slicer and the static guest agent"
cd "$repo"
cargo build --release --locked -p slicer-controller --bin slicer
install -D -m 0755 target/release/slicer "$prefix/bin/slicer"
install -d "$prefix/lib/slicer/image"
install -m 0755 deploy/image/*.sh "$prefix/lib/slicer/image/"
install -m 0644 deploy/image/slicer-agent.service "$prefix/lib/slicer/image/"
"$repo/deploy/build-agent.sh" "$prefix/lib/slicer/slicer-agent"

log "Guest images"
"$prefix/bin/slicer" image build --flavour min --agent "$prefix/lib/slicer/slicer-agent"
if [ "${SLICER_SKIP_FULL_IMAGE:-0}" != 1 ]; then
  "$prefix/bin/slicer" image build --flavour full --agent "$prefix/lib/slicer/slicer-agent"
fi

log "Main job: a daemon with a host group, and slicer vm exec in its VM"
# A private data directory (sharing the built images) so the demo leaves
# nothing in /var/lib/slicer's store.
demo=$(mktemp -d /var/tmp/slicer-demo.XXXXXX)
ln -s "${SLICER_DATA_DIR:-/var/lib/slicer}/images" "$demo/images"
cat > "$demo/slicer.yaml" <<'YAML'
config:
  host_groups:
    - name: demo
      count: 1
      vcpu: 1
      ram_mb: 256
      storage: image
      storage_size: 1G
YAML
export SLICER_DATA_DIR="$demo"
"$prefix/bin/slicer" up "$demo/slicer.yaml" </dev/null > "$demo/daemon.log" 2>&1 &
daemon=$!
stop_demo() {
  kill -TERM "$daemon" 2>/dev/null && wait "$daemon" || true
  rm -rf "$demo"
}
trap stop_demo EXIT
ready=0
for _ in $(seq 1 240); do
  if "$prefix/bin/slicer" vm exec demo-1 -- true </dev/null >/dev/null 2>&1; then ready=1; break; fi
  if ! kill -0 "$daemon" 2>/dev/null; then break; fi
  sleep 0.5
done
if [ "$ready" != 1 ]; then
  echo "the demo VM did not answer; daemon log:" >&2
  tail -n 40 "$demo/daemon.log" >&2
  exit 1
fi
"$prefix/bin/slicer" vm list
"$prefix/bin/slicer" vm exec demo-1 -- 'echo "hello from $(hostname)"; uname -sr' </dev/null
