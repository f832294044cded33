#!/bin/sh
# same-bytes.sh DISK: DISK (in the case's output folder) is byte for byte as
# setup left it: its sha256 is the one setup kept in before.sha256. The
# negative control: a copy of DISK with one byte changed must not pass.
set -eu
disk=$KEEL_TEST_OUT/$1
before=$(cat "$KEEL_TEST_OUT/before.sha256")
# same FILE: FILE's sha256 is the one setup kept.
same() { [ "$(sha256sum < "$1")" = "$before" ]; }

if ! same "$disk"; then
  echo "$1: expected sha256 ${before%% *} (as setup made it), got $(sha256sum < "$disk" | cut -d' ' -f1)" >&2
  exit 1
fi
echo "$1: unchanged, sha256 ${before%% *}"

changed=$KEEL_TEST_OUT/changed.img
cp --sparse=always "$disk" "$changed"
printf x | dd of="$changed" bs=1 seek=33554432 conv=notrunc status=none # one byte at 32 MiB
if same "$changed"; then
  echo "negative control: a copy of $1 with a byte changed at 32 MiB passed the comparison" >&2
  exit 1
fi
rm -f "$changed"
echo "negative control: a copy with one byte changed fails the comparison"
