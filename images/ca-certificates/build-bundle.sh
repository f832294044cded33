#!/bin/sh
# Host build step: what Debian's update-ca-certificates would make at install
# time. Every Mozilla certificate the package ships (Debian's default choice)
# gets a NAME.pem link and an OpenSSL subject-hash link (HASH.0, HASH.1, ...)
# in /etc/ssl/certs, and goes into the bundle, in C-locale name order.
set -eu
root=$KEEL_ROOTFS
src=usr/share/ca-certificates
certs=$root/etc/ssl/certs
command -v openssl >/dev/null || { echo "openssl is needed to hash the certificates (apt-get install openssl)" >&2; exit 1; }
[ -d "$root/$src/mozilla" ] || { echo "no $src/mozilla in the unpacked ca-certificates" >&2; exit 1; }
mkdir -p "$certs"
hashes=$KEEL_WORK/hashes
rm -rf "$hashes" && mkdir -p "$hashes"
bundle=$certs/ca-certificates.crt
: > "$bundle"
: > "$root/etc/ca-certificates.conf"
n=0
for crt in $(cd "$root/$src" && LC_ALL=C ls mozilla/*.crt); do
  name=$(basename "$crt" .crt)
  ln -s "/$src/$crt" "$certs/$name.pem"
  echo "$crt" >> "$root/etc/ca-certificates.conf"
  # The bundle: each certificate, ending in a newline.
  sed -e '$a\' "$root/$src/$crt" >> "$bundle"
  ln -s "$root/$src/$crt" "$hashes/$name.pem"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no certificates found" >&2; exit 1; }
# The subject-hash links, from one openssl run over links to the files here
# (the image's own links point at paths that exist only in the image).
openssl rehash "$hashes"
for link in "$hashes"/*.[0-9]*; do
  ln -s "$(readlink "$link")" "$certs/$(basename "$link")"
done
chmod 0644 "$bundle" "$root/etc/ca-certificates.conf"
# update-ca-certificates cannot run without openssl, which the image lacks.
rm -rf "$root/usr/sbin" "$root/etc/ca-certificates" "$root/usr/share/doc" "$root/usr/share/man"
echo "ca-certificates: $n certificates in /etc/ssl/certs/ca-certificates.crt" >&2
