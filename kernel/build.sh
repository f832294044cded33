#!/bin/sh
# Host build step of the kernel package: turns the unpacked Debian kernel in
# $KEEL_ROOTFS into LinuxKit's kernel image layout:
#   /kernel       the bzImage
#   /kernel.tar   lib/modules/VERSION/ with the modules of modules.txt and
#                 their dependencies (gzip'd, .ko.gz), and fresh depmod indexes
# Everything else the Debian package installed is dropped. This runs on every
# rebuild of the package, so it starts few commands: none per module.
set -eu
umask 022

root=$KEEL_ROOTFS
work=$KEEL_WORK
epoch=${SOURCE_DATE_EPOCH:-0}

command -v depmod >/dev/null || { echo "kernel build needs depmod: apt-get install kmod" >&2; exit 1; }

set -- "$root"/lib/modules/*
[ "$#" -eq 1 ] && [ -d "$1" ] || { echo "expected exactly one kernel version under lib/modules" >&2; exit 1; }
version=$(basename "$1")
src=$root/lib/modules/$version
[ -f "$root/boot/vmlinuz-$version" ] || { echo "no boot/vmlinuz-$version in the package" >&2; exit 1; }

# Dependency indexes for the whole module set, to find what the wanted modules need.
depmod -b "$root" "$version"

stage=$work/modules
rm -rf "$stage"
mkdir -p "$stage/lib/modules/$version"
wanted=$work/wanted
: > "$wanted"
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' modules.txt | while read -r glob; do
  found=0
  for m in "$src"/kernel/$glob; do
    [ -f "$m" ] || continue
    found=1
    echo "kernel/${m#"$src"/kernel/}" >> "$wanted"
  done
  [ "$found" -eq 1 ] || echo "warning: no module matches $glob" >&2
done

# Close over dependencies with modules.dep ("path: dep dep ...").
closure=$work/closure
sort -u "$wanted" > "$closure"
while :; do
  awk -v list="$closure" '
    BEGIN { while ((getline l < list) > 0) want[l] = 1 }
    { key = $1; sub(/:$/, "", key); if (key in want) for (i = 2; i <= NF; i++) print $i }
  ' "$src/modules.dep" | cat - "$closure" | sort -u > "$closure.next"
  if cmp -s "$closure" "$closure.next"; then break; fi
  mv "$closure.next" "$closure"
done

# One cp for the lot; --parents makes each module's folders (mode 0755).
(cd "$src" && xargs -r cp --parents -t "$stage/lib/modules/$version" < "$closure")
for f in modules.builtin modules.builtin.modinfo modules.order; do
  [ -f "$src/$f" ] && cp "$src/$f" "$stage/lib/modules/$version/$f"
done
depmod -b "$stage" "$version"
# The binary indexes are only for kmod's tools, which a keel image lacks.
rm -f "$stage/lib/modules/$version"/*.bin
# Modules are stored gzip'd (a third of the size, and the initramfs is held
# in memory); keel's init decompresses them itself, since this kernel cannot.
# depmod ran on the plain files (Debian's kmod reads no gzip); the paths in
# its indexes are renamed to match. Level 6, not 9: on these modules -9
# takes ten times the CPU (2.7 s against 0.26 s) to save 1% (17 KB of 1.6 MB).
find "$stage/lib/modules/$version/kernel" -name '*.ko' -print0 | xargs -0 -r -n 32 -P "$(nproc)" gzip -6 -n
sed -i -E 's/\.ko(:| |$)/.ko.gz\1/g' "$stage/lib/modules/$version/modules.dep" "$stage/lib/modules/$version/modules.order"

# Replace the package's tree with the kernel image layout.
cp "$root/boot/vmlinuz-$version" "$work/kernel"
find "$root" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
cp "$work/kernel" "$root/kernel"
chmod 0644 "$root/kernel"
(cd "$stage" && find lib -print0 | LC_ALL=C sort -z | tar --format=gnu --mtime="@$epoch" \
  --owner=0 --group=0 --numeric-owner --no-recursion --null -T - -cf "$root/kernel.tar")
echo "kernel $version: $(wc -l < "$closure") modules, kernel.tar $(wc -c < "$root/kernel.tar") bytes" >&2
