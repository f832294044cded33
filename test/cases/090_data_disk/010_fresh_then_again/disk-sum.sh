#!/bin/sh
# Between the boots: the disk's sha256 as the first boot left it.
set -eu
sha256sum < "$KEEL_TEST_OUT/data.img" > "$KEEL_TEST_OUT/after-boot-1.sha256"
cat "$KEEL_TEST_OUT/after-boot-1.sha256"
