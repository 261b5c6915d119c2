#!/usr/bin/env bash
# Print the uncompressed ELF kernel inside a bzImage (the method of the
# kernel's scripts/extract-vmlinux): find each compression magic, try to
# decompress from there, keep the first result that is an ELF file.
set -euo pipefail
img=$1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' \n')" = "177ELF" ]; }

try() { # magic-bytes marker decompressor
  local pos
  for pos in $(tr "$1\n$2" "\n$2=" < "$img" | grep -abo "^$2" | cut -d: -f1); do
    tail -c+"$pos" "$img" | $3 > "$tmp" 2>/dev/null || true
    if [ -s "$tmp" ] && is_elf "$tmp"; then cat "$tmp"; exit 0; fi
  done
}
try '\037\213\010' xy gunzip
try '\3757zXZ\000' abcde unxz
try '(\265/\375' xxx unzstd
try '\002!L\030' xxx 'lz4 -dc'
try 'BZh' xy bunzip2
try '\135\0\0\0' xxx unlzma
echo "extract-vmlinux: no ELF kernel found in $img" >&2
exit 1
