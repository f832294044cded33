#!/bin/sh
# Host build step: what Debian's update-ca-certificates would make at install
# time. Every Mozilla certificate the package ships (Debian's default choice)
# gets a NAME.pem link and an OpenSSL subject-hash link (HASH.0, HASH.1, ...)
# in /etc/ssl/certs, and goes into the bundle, in C-locale name order.
# It runs on every rebuild, so it starts no command per certificate: one
# perl (perl-base is Essential in Debian) makes every link.
set -eu
root=$KEEL_ROOTFS
src=usr/share/ca-certificates
certs=$root/etc/ssl/certs
command -v openssl >/dev/null || { echo "openssl is needed to hash the certificates (apt-get install openssl)" >&2; exit 1; }
[ -d "$root/$src/mozilla" ] || { echo "no $src/mozilla in the unpacked ca-certificates" >&2; exit 1; }
mkdir -p "$certs"
hashes=$KEEL_WORK/hashes
rm -rf "$hashes" && mkdir -p "$hashes"
list=$(cd "$root/$src" && LC_ALL=C ls mozilla/*.crt 2>/dev/null || true)
[ -n "$list" ] || { echo "no certificates found" >&2; exit 1; }
# NAME.pem in the image points at the certificate's path in the image; the
# scratch copy, which openssl rehash reads, at the unpacked file.
# shellcheck disable=SC2086 # certificate names have no spaces
n=$(perl -e '
  my ($src, $root, $certs, $hashes) = splice(@ARGV, 0, 4);
  for my $crt (@ARGV) {
    (my $name = $crt) =~ s{^.*/}{}; $name =~ s{\.crt$}{};
    symlink("/$src/$crt", "$certs/$name.pem") or die "build-bundle.sh: $certs/$name.pem: $!\n";
    symlink("$root/$src/$crt", "$hashes/$name.pem") or die "build-bundle.sh: $hashes/$name.pem: $!\n";
  }
  print scalar(@ARGV), "\n";
' "$src" "$root" "$certs" "$hashes" $list)
printf '%s\n' $list > "$root/etc/ca-certificates.conf"
# The bundle: each certificate, ending in a newline (-s: $ is each file's last line).
(cd "$root/$src" && sed -s -e '$a\' $list) > "$certs/ca-certificates.crt"
# The subject-hash links, from one openssl run over links to the files here
# (the image's own links point at paths that exist only in the image);
# openssl's links name the NAME.pem beside them, as the image's do.
openssl rehash "$hashes"
cp -P "$hashes"/*.[0-9]* "$certs/"
chmod 0644 "$certs/ca-certificates.crt" "$root/etc/ca-certificates.conf"
# update-ca-certificates cannot run without openssl, which the image lacks.
rm -rf "$root/usr/sbin" "$root/etc/ca-certificates" "$root/usr/share/doc" "$root/usr/share/man"
echo "ca-certificates: $n certificates in /etc/ssl/certs/ca-certificates.crt" >&2
