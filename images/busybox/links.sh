#!/bin/sh
# Host build step: one symlink per busybox applet; documentation dropped.
set -eu
root=$KEEL_ROOTFS
bb=$root/bin/busybox
[ -x "$bb" ] || { echo "no bin/busybox in the unpacked package" >&2; exit 1; }
"$bb" --list-full | LC_ALL=C sort | while read -r applet; do
  [ -e "$root/$applet" ] || [ -L "$root/$applet" ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -s /bin/busybox "$root/$applet"
done
rm -rf "$root/usr/share/doc" "$root/usr/share/man"
mkdir -p "$root/root" "$root/tmp"
chmod 1777 "$root/tmp"
