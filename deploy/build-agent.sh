#!/usr/bin/env bash
# Build slicer-agent as one static binary (static glibc: no musl toolchain
# can be fetched here, and the agent avoids NSS) and install it at OUTPUT.
#   deploy/build-agent.sh /usr/local/lib/slicer/slicer-agent
set -euo pipefail
output=${1:?usage: build-agent.sh OUTPUT}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -p slicer-agent --target "$target"
binary="target/$target/release/slicer-agent"
if ! ldd "$binary" 2>&1 | grep -q -E "statically linked|not a dynamic executable"; then
  echo "build-agent.sh: $binary is dynamically linked" >&2
  exit 1
fi
install -D -m 0755 "$binary" "$output"
echo "slicer-agent installed at $output" >&2
