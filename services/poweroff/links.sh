#!/bin/sh
# Host build step: the busybox links poweroff.sh uses, and no documentation.
set -eu
r=$KEEL_ROOTFS
mkdir -p "$r/sbin"
ln -s busybox "$r/bin/sh"
for a in sleep echo kill; do ln -s busybox "$r/bin/$a"; done
ln -s /bin/busybox "$r/sbin/poweroff"
rm -rf "$r/usr/share/doc" "$r/usr/share/man"
