#!/bin/sh
# Host build step of the kernel-source package: compiles Debian's kernel
# source (the linux-source-6.1 package, unpacked by keel in $KEEL_ROOTFS)
# with a small configuration and writes LinuxKit's kernel image layout:
#   /kernel       the bzImage
#   /kernel.tar   lib/modules/VERSION/ (the modules and their indexes when the
#                 configuration has any; otherwise only modules.builtin)
# The configuration is `make allnoconfig` with base.config, then
# config.fragment, forced on (KCONFIG_ALLCONFIG); every option either file
# sets must come out as written, or the build stops naming it.
# Run by `keel pkg build`; `sh build.sh --config-only` with KEEL_ROOTFS and
# KEEL_WORK set stops after the configuration check.
set -eu
umask 022

root=$KEEL_ROOTFS
work=$KEEL_WORK
epoch=${SOURCE_DATE_EPOCH:-0}
pkgdir=$(pwd)
config_only=0
[ "${1:-}" = "--config-only" ] && config_only=1

# Host tools, each with the Debian package that has it.
missing=""
PATH=$PATH:/usr/sbin:/sbin
for pair in gcc:gcc make:make bc:bc flex:flex bison:bison cpio:cpio xz:xz-utils \
  perl:perl depmod:kmod /usr/include/gelf.h:libelf-dev; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  case $cmd in
    /*) [ -e "$cmd" ] || missing="$missing $pkg" ;;
    *) command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg" ;;
  esac
done
if [ -n "$missing" ]; then
  echo "kernel-source: building a kernel needs host tools: apt-get install$missing" >&2
  exit 1
fi

set -- "$root"/usr/src/linux-source-*.tar.xz
if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
  echo "kernel-source: expected one usr/src/linux-source-*.tar.xz from the linux-source package" >&2
  exit 1
fi
tarball=$1

# The source tree (1.5 GB unpacked).
src=$work/src
rm -rf "$src"
mkdir -p "$src"
xz -dc -T0 "$tarball" | tar -x -C "$src" --strip-components=1 --no-same-owner
cd "$src"

# Reproducible: the build's date, user, host and number go into the kernel's
# banner (uname -v); LOCALVERSION set (empty) keeps setlocalversion from
# adding a "+" when the tree happens to sit in a git checkout.
KBUILD_BUILD_TIMESTAMP=$(LC_ALL=C date -u -d "@$epoch" '+%a %b %e %H:%M:%S UTC %Y')
KBUILD_BUILD_USER=keel
KBUILD_BUILD_HOST=keel
KBUILD_BUILD_VERSION=1
export KBUILD_BUILD_TIMESTAMP KBUILD_BUILD_USER KBUILD_BUILD_HOST KBUILD_BUILD_VERSION
kmake() {
  make -s ARCH=x86_64 LOCALVERSION= "$@"
}

# The requested options: base.config, then config.fragment; for an option
# named twice, the later line wins (as in a kconfig fragment).
wanted=$work/wanted.config
bad=$work/bad-lines
: > "$wanted"
: > "$bad"
for f in base.config config.fragment; do
  [ -f "$pkgdir/$f" ] || continue
  grep -nvE '^[[:space:]]*$|^#|^CONFIG_[A-Za-z0-9_]+=' "$pkgdir/$f" | sed "s|^|  $f:|" >> "$bad"
  { cat "$pkgdir/$f"; echo; } >> "$wanted"
done
if [ -s "$bad" ]; then
  echo "kernel-source: lines that are not CONFIG_NAME=VALUE or '# CONFIG_NAME is not set':" >&2
  cat "$bad" >&2
  exit 1
fi
# NAME<TAB>VALUE, last one wins; "n" for "# CONFIG_NAME is not set".
requested=$work/requested
sed -nE 's/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/\1\t\2/p; s/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1\tn/p' "$wanted" |
  awk -F '\t' '{ v[$1] = $2; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
    END { for (i = 1; i <= n; i++) print order[i] "\t" v[order[i]] }' > "$requested"

# kconfig warns for each option config.fragment sets again ("override:
# reassigning"): that is the point of the fragment, so only other lines show.
if ! KCONFIG_ALLCONFIG=$wanted kmake allnoconfig > "$work/kconfig.log" 2>&1; then
  cat "$work/kconfig.log" >&2
  exit 1
fi
grep -v 'warning: override: reassigning to symbol' "$work/kconfig.log" >&2 || true

# kconfig drops an option whose dependencies are not met without a word:
# compare what was asked with what .config holds.
dropped=$work/dropped
: > "$dropped"
while IFS="$(printf '\t')" read -r name want; do
  got=$(sed -nE "s/^$name=(.*)$/\\1/p" .config)
  [ -n "$got" ] || got=n
  [ "$want" = "$got" ] || printf '%s\t%s\t%s\n' "$name" "$want" "$got" >> "$dropped"
done < "$requested"
if [ -s "$dropped" ]; then
  # Where each dropped option is defined, its "depends on", and the "if" and
  # "menu" blocks around it in that file, with the value of every symbol
  # they name: what to set next.
  # (other architectures' Kconfig files define some of the same symbols)
  { find . -path ./arch -prune -o -name 'Kconfig*' -type f -print; echo ./arch/Kconfig
    find ./arch/x86 -name 'Kconfig*' -type f; } | LC_ALL=C sort > "$work/kconfig-files"
  explained=$work/explained
  awk -v files="$work/kconfig-files" -v dropped="$dropped" -v config=.config '
    BEGIN {
      while ((getline l < files) > 0) ARGV[ARGC++] = l
      while ((getline l < dropped) > 0) { split(l, f, "\t"); want[f[1]] = 1 }
      while ((getline l < config) > 0) {
        if (l ~ /^CONFIG_[A-Za-z0-9_]+=/) { i = index(l, "="); val[substr(l, 8, i - 8)] = substr(l, i + 1) }
      }
    }
    FNR == 1 { depth = 0; cur = ""; collect = 0 }
    function close_entry() { if (cur != "") deps[cur] = d; cur = ""; collect = 0 }
    function values(expr,   out, rest, m) {
      out = ""; rest = expr
      while (match(rest, /[A-Z][A-Z0-9_]+/)) {
        m = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
        if (m in shown) continue
        shown[m] = 1
        out = out (out == "" ? "" : ", ") m "=" ((m in val) ? val[m] : "n")
      }
      return out
    }
    /^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+[[:space:]]*$/ {
      close_entry()
      sym = $2
      if (("CONFIG_" sym) in want && !(("CONFIG_" sym) in loc)) {
        cur = "CONFIG_" sym; loc[cur] = FILENAME ":" FNR; d = ""
        for (i = 1; i <= depth; i++) if (cond[i] != "") d = d (d == "" ? "" : " && ") "(" cond[i] ")"
        collect = 1
      }
      next
    }
    /^[[:space:]]*if[[:space:]]/ { close_entry(); c = $0; sub(/^[[:space:]]*if[[:space:]]+/, "", c); sub(/[[:space:]]*#.*/, "", c); cond[++depth] = c; next }
    /^[[:space:]]*(menu|choice)([[:space:]]|$)/ { close_entry(); cond[++depth] = ""; inmenu = depth; next }
    /^[[:space:]]*(endif|endmenu|endchoice)([[:space:]]|$)/ { close_entry(); if (depth > 0) depth--; inmenu = 0; next }
    /^[[:space:]]*(comment|source)[[:space:]]/ { close_entry(); next }
    /^[[:space:]]*depends on[[:space:]]/ {
      e = $0; sub(/^[[:space:]]*depends on[[:space:]]+/, "", e); sub(/[[:space:]]*#.*/, "", e)
      if (collect) d = d (d == "" ? "" : " && ") "(" e ")"
      else if (inmenu == depth && depth > 0) cond[depth] = cond[depth] (cond[depth] == "" ? "" : " && ") e
      next
    }
    END {
      close_entry()
      for (s in loc) { delete shown; printf "%s\t%s\t%s\t%s\n", s, loc[s], deps[s], values(deps[s]) }
    }
  ' > "$explained"
  echo "kernel-source: kconfig did not take these options (base.config, then config.fragment); each needs what it depends on set too, in config.fragment:" >&2
  while IFS="$(printf '\t')" read -r name want got; do
    line=$(grep "^$name$(printf '\t')" "$explained" || true)
    if [ -z "$line" ]; then
      echo "  $name: asked for $want; there is no such option in this kernel" >&2
      continue
    fi
    where=$(echo "$line" | cut -f2)
    deps=$(echo "$line" | cut -f3)
    now=$(echo "$line" | cut -f4)
    hint=""
    [ "$want" = m ] && ! grep -q '^CONFIG_MODULES=y' .config && hint="; =m needs CONFIG_MODULES=y"
    echo "  $name: asked for $want, got $got (${where#./})${deps:+; depends on $deps}${now:+; now $now}$hint" >&2
  done < "$dropped"
  exit 1
fi
echo "kernel-source: configuration checked: $(wc -l < "$requested") options as asked" >&2
[ "$config_only" -eq 0 ] || exit 0

jobs=$(nproc)
modules=0
grep -q '^CONFIG_MODULES=y' .config && modules=1
if [ "$modules" -eq 1 ]; then
  kmake -j"$jobs" bzImage modules
else
  kmake -j"$jobs" bzImage
fi
version=$(kmake kernelrelease)

stage=$work/modules
rm -rf "$stage"
mkdir -p "$stage/lib/modules/$version"
if [ "$modules" -eq 1 ]; then
  kmake INSTALL_MOD_PATH="$stage" DEPMOD=true modules_install
  # links back into the build tree
  rm -f "$stage/lib/modules/$version/build" "$stage/lib/modules/$version/source"
else
  # what is built in, so tools that look a module up there find it
  cp modules.builtin modules.builtin.modinfo "$stage/lib/modules/$version/"
  : > "$stage/lib/modules/$version/modules.order"
fi
# Indexes (empty ones for a kernel without modules, so init reports
# "modules loaded: 0" rather than a missing file). The binary indexes are
# only for kmod's tools, which a keel image lacks.
depmod -b "$stage" "$version"
rm -f "$stage/lib/modules/$version"/*.bin
count=$(find "$stage" -name '*.ko*' | wc -l)

# Replace the unpacked source package with the kernel image layout.
find "$root" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
cp arch/x86/boot/bzImage "$root/kernel"
chmod 0644 "$root/kernel"
(cd "$stage" && find lib -print0 | LC_ALL=C sort -z | tar --format=gnu --mtime="@$epoch" \
  --owner=0 --group=0 --numeric-owner --no-recursion --null -T - -cf "$root/kernel.tar")
echo "kernel-source: $version: bzImage $(wc -c < "$root/kernel") bytes, $count modules, kernel.tar $(wc -c < "$root/kernel.tar") bytes" >&2
