#!/bin/sh
# Host build step: one symlink per busybox applet; documentation dropped.
# It runs on every rebuild of four packages, so it starts no command per
# link: one perl (perl-base is Essential in Debian, on every Debian host)
# makes them all, after the folders are made in one go.
set -eu
root=$KEEL_ROOTFS
bb=$root/bin/busybox
[ -x "$bb" ] || { echo "no bin/busybox in the unpacked package" >&2; exit 1; }
applets=$("$bb" --list-full | LC_ALL=C sort)
# shellcheck disable=SC2086 # applet paths have no spaces
(cd "$root" && printf '%s\n' $applets | sed -n 's|/[^/]*$||p' | LC_ALL=C sort -u | xargs -r mkdir -p)
# A path the package already has (busybox itself, a real program) is kept.
# shellcheck disable=SC2086
(cd "$root" && perl -e 'for (@ARGV) { next if -e $_ || -l $_; symlink("/bin/busybox", $_) or die "links.sh: $_: $!\n" }' $applets)
rm -rf "$root/usr/share/doc" "$root/usr/share/man"
mkdir -p "$root/root" "$root/tmp"
chmod 1777 "$root/tmp"
