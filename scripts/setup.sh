#!/bin/sh
# Makes this machine ready to build and run keel (and, with --for-tests, to
# run its tests): installs the Debian tools keel runs (when missing, with
# apt-get, as root) and the npm dependencies, then compiles the TypeScript.
# Safe to run again; does little when all is there.
set -eu
cd "$(dirname "$0")/.."

# command:package pairs for every host tool building and booting images uses;
# a command that starts with / is a file the package installs.
tools="
qemu-system-x86_64:qemu-system-x86
qemu-img:qemu-utils
musl-gcc:musl-tools
make:make
cc:gcc
ccache:ccache
perl:perl
busybox:busybox-static
cpio:cpio
depmod:kmod
xz:xz-utils
zstd:zstd
setpriv:util-linux
xorriso:xorriso
syslinux:syslinux
/usr/lib/ISOLINUX/isolinux.bin:isolinux
/usr/lib/syslinux/modules/bios/ldlinux.c32:syslinux-common
/usr/lib/systemd/boot/efi/linuxx64.efi.stub:systemd-boot-efi
/usr/share/OVMF/OVMF_CODE_4M.fd:ovmf
objcopy:binutils
mcopy:mtools
mkfs.fat:dosfstools
mksquashfs:squashfs-tools
mkfs.erofs:erofs-utils
mke2fs:e2fsprogs
fakeroot:fakeroot
gpgv:gpgv
/usr/share/keyrings/debian-archive-keyring.gpg:debian-archive-keyring
openssl:openssl
readelf:binutils
"
# With --for-tests (npm test), also the tests' real peers: docker-registry,
# skopeo, umoci and htpasswd; gpg and gpg-agent sign the tests' throwaway
# Debian archives; ssh logs in to the sshd example; chromium renders
# keel build --report's page.
if [ "${1:-}" = "--for-tests" ]; then
  tools="$tools
docker-registry:docker-registry
skopeo:skopeo
umoci:umoci
htpasswd:apache2-utils
gpg:gpg
gpg-agent:gpg-agent
gpgconf:gpgconf
ssh:openssh-client
ssh-keygen:openssh-client
chromium:chromium
ip:iproute2
bc:bc
flex:flex
bison:bison
/usr/include/gelf.h:libelf-dev
/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf:fonts-liberation
"
fi
missing=""
for pair in $tools; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  case $cmd in
    /*) [ -e "$cmd" ] || missing="$missing $pkg" ;;
    *) if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ] && ! [ -x "/sbin/$cmd" ]; then
         missing="$missing $pkg"
       fi ;;
  esac
done
# CA certificates for HTTPS mirrors and registries.
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing="$missing ca-certificates"

if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "keel setup: missing Debian packages:$missing" >&2
    echo "keel setup: run as root, or: sudo apt-get install -y$missing" >&2
    exit 1
  fi
  echo "keel setup: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# npm dependencies, when missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "keel setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# Compile the CLI (incremental: quick when nothing changed), and the manifest
# validators ahead of time (when their schema changed).
npx tsc -p tsconfig.json
if [ ! -f dist/pkg/manifest/validators.cjs ] || [ dist/pkg/manifest/schema.js -nt dist/pkg/manifest/validators.cjs ]; then
  node scripts/gen-validators.mjs
fi
