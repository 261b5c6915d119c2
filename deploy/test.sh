#!/usr/bin/env bash
# Run the whole test suite: formatting, lints, unit tests and the
# end-to-end tests that boot real guests. Needs root and the images that
# deploy/install.sh builds; rebuilds the agent and repacks the images
# first so the guests run the agent from this checkout.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${SLICER_PREFIX:-/usr/local}
export PATH="$HOME/.cargo/bin:$prefix/bin:$PATH"
cd "$repo"

if [ "$(id -u)" != 0 ]; then
  echo "deploy/test.sh must run as root (the end-to-end tests boot VMs)" >&2
  exit 1
fi

echo "==> refreshing the agent in the images" >&2
cargo build --release --locked -p slicer-controller --bin slicer
"$repo/deploy/build-agent.sh" "$prefix/lib/slicer/slicer-agent"
for flavour in min full; do
  target/release/slicer image build --flavour "$flavour" --agent "$prefix/lib/slicer/slicer-agent"
done

echo "==> cargo fmt / clippy" >&2
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

boot_log=$(mktemp /tmp/slicer-e2e-boots.XXXXXX)
trap 'rm -f "$boot_log"' EXIT
export SLICER_E2E_BOOT_LOG="$boot_log"

echo "==> cargo test" >&2
# Two test threads: each end-to-end test boots a TCG guest on a 2-core host.
status=0
cargo test --workspace --locked --no-fail-fast -- --test-threads=2 || status=$?
echo "end-to-end: booted $(wc -l < "$boot_log") real guests" >&2
exit "$status"
