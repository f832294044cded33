#!/bin/sh
# Host build step: no documentation, and resolv.conf where dhcpcd writes it.
# (chronyd makes /run/chrony itself, owned by its user.)
set -eu
r=$KEEL_ROOTFS
[ -x "$r/usr/sbin/chronyd" ] || { echo "no usr/sbin/chronyd in chrony" >&2; exit 1; }
mkdir -p "$r/var/lib/chrony"
rm -rf "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/lintian" "$r/etc/init.d" "$r/lib/systemd" "$r/usr/lib/systemd"
ln -sf /run/resolvconf/resolv.conf "$r/etc/resolv.conf"
