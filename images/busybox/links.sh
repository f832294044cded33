#!/bin/sh
# Host build step: one symlink per busybox applet; documentation dropped.
# It runs on every rebuild of four packages, so it starts one command per
# link (ln) and no more: folders are made in one go first.
set -eu
root=$KEEL_ROOTFS
bb=$root/bin/busybox
[ -x "$bb" ] || { echo "no bin/busybox in the unpacked package" >&2; exit 1; }
applets=$("$bb" --list-full | LC_ALL=C sort)
# shellcheck disable=SC2086 # applet paths have no spaces
(cd "$root" && printf '%s\n' $applets | sed -n 's|/[^/]*$||p' | LC_ALL=C sort -u | xargs -r mkdir -p)
for applet in $applets; do
  [ -e "$root/$applet" ] || [ -L "$root/$applet" ] && continue
  ln -s /bin/busybox "$root/$applet"
done
rm -rf "$root/usr/share/doc" "$root/usr/share/man"
mkdir -p "$root/root" "$root/tmp"
chmod 1777 "$root/tmp"
